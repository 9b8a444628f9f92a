/* IPv4 address helpers for configuration: "addr:port" endpoints, "a.b.c.d/len" networks and
 * allow-lists. Pure. */
#ifndef PXED_CORE_NETADDR_H
#define PXED_CORE_NETADDR_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct net4 {
	uint32_t addr; /* host byte order, already masked */
	uint32_t mask; /* host byte order */
};

#define NETLIST_MAX 32

/* An allow-list; n == 0 means "everyone". */
struct netlist {
	size_t n;
	struct net4 nets[NETLIST_MAX];
};

/**
 * Parse "a.b.c.d:port" or "a.b.c.d" (port = default_port) into *out.
 * Returns 0, or -EINVAL with a static reason in *why.
 */
int netaddr_parse_endpoint(const char *s, uint16_t default_port, struct sockaddr_in *out,
			   const char **why);

/** Parse "a.b.c.d/len" or "a.b.c.d" (/32). Returns 0 or -EINVAL with *why. */
int netaddr_parse_net4(const char *s, struct net4 *out, const char **why);

/** Parse a list of networks separated by commas and/or spaces. Returns 0 or -EINVAL. */
int netaddr_parse_netlist(const char *s, struct netlist *out, const char **why);

/** True when addr (network byte order) is in the list, or the list is empty. */
bool netlist_allows(const struct netlist *l, struct in_addr addr);

/** Parse "lo-hi" (1..65535, lo <= hi). Returns 0 or -EINVAL with *why. */
int netaddr_parse_port_range(const char *s, uint16_t *lo, uint16_t *hi, const char **why);

/** Format "a.b.c.d:port" into out (>= 22 bytes). Returns out. */
char *netaddr_str(const struct sockaddr_in *sa, char *out, size_t cap);

#endif
