/* IPv4 endpoint / network / allow-list parsing; see netaddr.h. */
#include "core/netaddr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Parse a decimal number in [min, max] from s[0..len); digits only. */
static bool parse_uint(const char *s, size_t len, unsigned long min, unsigned long max,
		       unsigned long *out)
{
	unsigned long v = 0;
	if (len == 0 || len > 10)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v < min || v > max)
		return false;
	*out = v;
	return true;
}

static bool parse_ip(const char *s, size_t len, struct in_addr *out)
{
	char tmp[INET_ADDRSTRLEN];
	if (len == 0 || len >= sizeof(tmp))
		return false;
	memcpy(tmp, s, len);
	tmp[len] = 0;
	return inet_pton(AF_INET, tmp, out) == 1;
}

int netaddr_parse_endpoint(const char *s, uint16_t default_port, struct sockaddr_in *out,
			   const char **why)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(default_port)};
	const char *colon = strchr(s, ':');
	size_t iplen = colon ? (size_t)(colon - s) : strlen(s);
	if (!parse_ip(s, iplen, &sa.sin_addr)) {
		*why = "expected an IPv4 address, optionally with :port";
		return -EINVAL;
	}
	if (colon) {
		unsigned long port;
		if (!parse_uint(colon + 1, strlen(colon + 1), 1, 65535, &port)) {
			*why = "port must be a number from 1 to 65535";
			return -EINVAL;
		}
		sa.sin_port = htons((uint16_t)port);
	}
	*out = sa;
	return 0;
}

int netaddr_parse_net4(const char *s, struct net4 *out, const char **why)
{
	const char *slash = strchr(s, '/');
	size_t iplen = slash ? (size_t)(slash - s) : strlen(s);
	struct in_addr a;
	unsigned long plen = 32;
	if (!parse_ip(s, iplen, &a)) {
		*why = "expected a network like 198.18.0.0/15";
		return -EINVAL;
	}
	if (slash && !parse_uint(slash + 1, strlen(slash + 1), 0, 32, &plen)) {
		*why = "prefix length must be 0..32";
		return -EINVAL;
	}
	uint32_t mask = plen == 0 ? 0 : 0xffffffffu << (32 - plen);
	out->mask = mask;
	out->addr = ntohl(a.s_addr) & mask;
	return 0;
}

int netaddr_parse_netlist(const char *s, struct netlist *out, const char **why)
{
	struct netlist l = {0};
	const char *p = s;
	while (*p) {
		while (*p == ',' || *p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		size_t n = strcspn(p, ", \t");
		char item[64];
		if (n >= sizeof(item)) {
			*why = "network too long";
			return -EINVAL;
		}
		if (l.n == NETLIST_MAX) {
			*why = "too many networks (at most 32)";
			return -EINVAL;
		}
		memcpy(item, p, n);
		item[n] = 0;
		if (netaddr_parse_net4(item, &l.nets[l.n], why) < 0)
			return -EINVAL;
		l.n++;
		p += n;
	}
	*out = l;
	return 0;
}

bool netlist_allows(const struct netlist *l, struct in_addr addr)
{
	if (l->n == 0)
		return true;
	uint32_t a = ntohl(addr.s_addr);
	for (size_t i = 0; i < l->n; i++)
		if ((a & l->nets[i].mask) == l->nets[i].addr)
			return true;
	return false;
}

int netaddr_parse_port_range(const char *s, uint16_t *lo, uint16_t *hi, const char **why)
{
	const char *dash = strchr(s, '-');
	unsigned long a, b;
	if (!dash || !parse_uint(s, (size_t)(dash - s), 1, 65535, &a) ||
	    !parse_uint(dash + 1, strlen(dash + 1), 1, 65535, &b) || a > b) {
		*why = "expected a port range like 40000-40999";
		return -EINVAL;
	}
	*lo = (uint16_t)a;
	*hi = (uint16_t)b;
	return 0;
}

char *netaddr_str(const struct sockaddr_in *sa, char *out, size_t cap)
{
	char ip[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &sa->sin_addr, ip, sizeof(ip));
	snprintf(out, cap, "%s:%u", ip, ntohs(sa->sin_port));
	return out;
}
