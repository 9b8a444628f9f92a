/* DHCP decisions, pure: a received message plus the configuration, the lease table and the
 * time in; a verdict, the encoded reply, where to send it, and the lease change to make
 * durable before sending out. The adapter (dhcp_io.c) does the sockets and the store; this
 * file never sends, logs or reads a clock. */
#ifndef PXED_DHCP_POLICY_H
#define PXED_DHCP_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dhcp/boot.h"
#include "dhcp/lease.h"

struct pxed_config;
struct lease_table;

#define DHCP_REPLY_MAX 1500

/* What the adapter knows about a received datagram. Addresses in host byte order. */
struct dhcp_in {
	const uint8_t *pkt;
	size_t len;
	uint32_t src_ip;
	uint16_t src_port;
	uint32_t if_addr;   /* our address on the receiving interface */
	const char *ifname; /* receiving interface */
	unsigned if_mtu;    /* 0 unknown */
	bool boot_port;	    /* arrived on the PXE boot-server port (4011) */
};

/* Where a reply goes (RFC 2131 §4.1). */
struct dhcp_dest {
	uint32_t ip; /* host order */
	uint16_t port;
	bool broadcast;	 /* 255.255.255.255 on the receiving interface */
	bool l2_unicast; /* to ip at chaddr: the client has no address yet, link-layer unicast */
	uint8_t hlen;
	uint8_t chaddr[16];
};

enum dhcp_verdict {
	DHCP_V_DROP,   /* no reply; see drop */
	DHCP_V_REPLY,  /* send reply to dest (after committing lease when persist) */
	DHCP_V_SILENT, /* handled, no reply (RELEASE, DECLINE, REQUEST for another server) */
};

/* Why a message got no answer (counted and logged by the adapter). */
enum dhcp_drop {
	DHCP_DROP_NONE,
	DHCP_DROP_MALFORMED,	  /* did not parse */
	DHCP_DROP_NOT_REQUEST,	  /* op is not BOOTREQUEST */
	DHCP_DROP_BAD_TYPE,	  /* missing/unknown message type, or a server-only type */
	DHCP_DROP_NO_SUBNET,	  /* no [subnet] for the interface / giaddr / ciaddr */
	DHCP_DROP_UNKNOWN_CLIENT, /* unknown-clients = deny and the MAC is no [node] */
	DHCP_DROP_POOL_EXHAUSTED, /* no free address in the subnet's ranges */
	DHCP_DROP_OTHER_SERVER,	  /* REQUEST/DECLINE/RELEASE naming another server */
	DHCP_DROP_NO_BINDING,	  /* REQUEST/RELEASE for an address we have no record of */
	DHCP_DROP_NOT_PXE,	  /* proxy / boot-server mode: not a PXE or HTTP client */
	DHCP_DROP_NO_BOOT_FILE,	  /* proxy mode: nothing to offer this architecture */
	DHCP_DROP_BOOTP_UNKNOWN,  /* BOOTP request from a client without a fixed address */
	DHCP_DROP_TOO_BIG,	  /* reply does not fit the client's maximum message size */
	DHCP_DROP_MAX
};

struct dhcp_result {
	enum dhcp_verdict verdict;
	enum dhcp_drop drop;
	uint8_t type_in;  /* message type received (0 = BOOTP) */
	uint8_t type_out; /* message type sent (0 = BOOTP reply or none) */
	uint8_t chaddr[16];
	uint8_t hlen;
	uint32_t yiaddr;
	bool persist; /* lease must be durable before the reply goes out */
	struct dhcp_lease lease;
	bool probe;	    /* a dynamic address newly chosen: the adapter may ping it first */
	const char *node;   /* node name or NULL; points into the config */
	const char *subnet; /* subnet name or NULL */
	struct boot_choice boot;
	char reason[160]; /* the decision in words, for the log line */
	uint8_t ndropped; /* options left out for lack of room (logged at debug) */
	uint8_t dropped[16];
	size_t max_reply; /* the size limit the reply was built for */
	struct dhcp_dest dest;
	size_t reply_len;
	uint8_t reply[DHCP_REPLY_MAX];
};

/**
 * Decide what to do with one message received by the DHCP server (dhcp.mode = server) or the
 * proxyDHCP server (dhcp.mode = proxy), on port 67 or, with in->boot_port, on the PXE
 * boot-server port. May change lt (offers are held in it; ACKs, RELEASEs and DECLINEs update
 * it); every change that must survive a crash is also returned in out->lease with persist set.
 * now is wall-clock seconds. Always fills *out; returns 0.
 */
int dhcp_policy(const struct pxed_config *cfg, struct lease_table *lt, const struct dhcp_in *in,
		int64_t now, struct dhcp_result *out);

const char *dhcp_drop_str(enum dhcp_drop d);
const char *dhcp_type_str(uint8_t type);

#endif
