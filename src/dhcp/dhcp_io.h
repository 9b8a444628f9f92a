/* DHCP adapter: sockets for the server/proxy port (67) and the PXE boot-server port (4011), a
 * packet socket for link-layer unicast to clients without an address, the lease table, and
 * group commit of leases to the store before any ACK leaves (replies that bind nothing go out
 * before the commit). Batches: recvmmsg in, sendmmsg out; under load the sockets are read on a
 * timer (docs/dhcp.md, "Durability and throughput"). Decisions are dhcp_policy's. */
#ifndef PXED_DHCP_IO_H
#define PXED_DHCP_IO_H

#include <stdbool.h>
#include <stdint.h>

struct event_base;
struct pxed_config;
struct store;
struct dhcp_server;

/**
 * Bind the DHCP sockets (needs privileges), load every lease from st into memory. Borrows
 * base and st (which must outlive the server); takes a reference to cfg. Returns NULL after
 * logging why.
 */
struct dhcp_server *dhcp_server_new(struct event_base *base, struct pxed_config *cfg,
				    struct store *st);
/** Use cfg from now on (takes a reference). Interface and port changes need a restart. */
void dhcp_server_reload(struct dhcp_server *srv, struct pxed_config *cfg);
/** The MAC of the client holding ip (host order) in the lease table; false if none. */
bool dhcp_server_mac_of(struct dhcp_server *srv, uint32_t ip, uint8_t mac[6]);

/** Stop and free. Accepts NULL. */
void dhcp_server_free(struct dhcp_server *srv);

struct dhcp_stats {
	uint64_t received, replied, committed, commits, drops;
};
void dhcp_server_stats(const struct dhcp_server *srv, struct dhcp_stats *out);

#endif
