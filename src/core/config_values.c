/* Configuration value parsers; see config_values.h. */
#include "core/config_values.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int fail(const char **why, const char *msg)
{
	*why = msg;
	return -EINVAL;
}

int cv_parse_ip(const char *s, struct in_addr *out, const char **why)
{
	if (inet_pton(AF_INET, s, out) != 1)
		return fail(why, "expected an IPv4 address like 198.18.0.1");
	return 0;
}

/* Split the next token (separated by commas/blanks) of *p into tok (cap bytes). */
static bool next_token(const char **p, char *tok, size_t cap)
{
	while (**p == ',' || **p == ' ' || **p == '\t')
		(*p)++;
	size_t n = strcspn(*p, ", \t");
	if (n == 0 || n >= cap)
		return false;
	memcpy(tok, *p, n);
	tok[n] = 0;
	*p += n;
	return true;
}

int cv_parse_iplist(const char *s, struct config_addr_list *l, const char **why)
{
	struct config_addr_list tmp = *l;
	char tok[64];
	const char *p = s;
	bool any = false;
	while (next_token(&p, tok, sizeof(tok))) {
		if (tmp.n == CONFIG_MAX_ADDRS)
			return fail(why, "too many addresses (at most 8)");
		if (cv_parse_ip(tok, &tmp.a[tmp.n], why) < 0)
			return -EINVAL;
		tmp.n++;
		any = true;
	}
	if (!any || *p)
		return fail(why, "expected IPv4 addresses separated by commas");
	*l = tmp;
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int cv_parse_mac(const char *s, uint8_t mac[6], const char **why)
{
	uint8_t m[6];
	if (strlen(s) != 17)
		return fail(why, "expected a MAC address like 52:54:00:12:34:56");
	for (int i = 0; i < 6; i++) {
		int hi = hexval(s[i * 3]), lo = hexval(s[i * 3 + 1]);
		char sep = i < 5 ? s[i * 3 + 2] : ':';
		if (hi < 0 || lo < 0 || (sep != ':' && sep != '-'))
			return fail(why, "expected a MAC address like 52:54:00:12:34:56");
		m[i] = (uint8_t)(hi << 4 | lo);
	}
	memcpy(mac, m, 6);
	return 0;
}

int cv_parse_range(const char *s, struct config_range *r, const char **why)
{
	char a[32], b[32];
	size_t n = strcspn(s, " \t-");
	const char *rest = s + n;
	while (*rest == ' ' || *rest == '\t' || *rest == '-')
		rest++;
	if (n == 0 || n >= sizeof(a) || !*rest || strlen(rest) >= sizeof(b))
		return fail(why, "expected a range like 198.18.0.100 198.18.0.200");
	memcpy(a, s, n);
	a[n] = 0;
	strcpy(b, rest);
	struct in_addr lo, hi;
	if (inet_pton(AF_INET, a, &lo) != 1 || inet_pton(AF_INET, b, &hi) != 1)
		return fail(why, "expected a range like 198.18.0.100 198.18.0.200");
	if (ntohl(lo.s_addr) > ntohl(hi.s_addr))
		return fail(why, "range start is above its end");
	r->lo = ntohl(lo.s_addr);
	r->hi = ntohl(hi.s_addr);
	return 0;
}

int cv_parse_route(const char *s, struct config_route *r, const char **why)
{
	char a[40], b[32];
	size_t n = strcspn(s, " \t");
	const char *rest = s + n;
	while (*rest == ' ' || *rest == '\t')
		rest++;
	if (n == 0 || n >= sizeof(a) || !*rest || strlen(rest) >= sizeof(b))
		return fail(why, "expected a route like 198.18.5.0/24 198.18.0.1");
	memcpy(a, s, n);
	a[n] = 0;
	strcpy(b, rest);
	struct config_route t;
	if (netaddr_parse_net4(a, &t.dest, why) < 0 || cv_parse_ip(b, &t.gw, why) < 0)
		return -EINVAL;
	*r = t;
	return 0;
}

/* Option codes pxed computes itself and that a config line must not override. */
static bool reserved_code(unsigned code)
{
	static const unsigned char res[] = {0, 50, 51, 52, 53, 54, 55, 57, 58, 59, 61, 82, 255};
	for (size_t i = 0; i < sizeof(res); i++)
		if (res[i] == code)
			return true;
	return false;
}

static int put_uint(struct config_dhcp_option *o, const char *v, unsigned bytes, const char **why)
{
	char *end;
	unsigned long long x = strtoull(v, &end, 10);
	unsigned long long max = bytes == 4 ? 0xffffffffull : (1ull << (8 * bytes)) - 1;
	if (!*v || *end || *v == '-' || x > max)
		return fail(why, "number out of range for the option type");
	for (unsigned i = 0; i < bytes; i++)
		o->data[i] = (uint8_t)(x >> (8 * (bytes - 1 - i)));
	o->len = (uint16_t)bytes;
	return 0;
}

static int put_hex(struct config_dhcp_option *o, const char *v, const char **why)
{
	size_t n = 0;
	for (const char *p = v; *p;) {
		if (*p == ':' || *p == ' ') {
			p++;
			continue;
		}
		int hi = hexval(p[0]), lo = p[1] ? hexval(p[1]) : -1;
		if (hi < 0 || lo < 0 || n == sizeof(o->data))
			return fail(why, "expected hex bytes like 01:02:ff");
		o->data[n++] = (uint8_t)(hi << 4 | lo);
		p += 2;
	}
	o->len = (uint16_t)n;
	return 0;
}

static int put_value(struct config_dhcp_option *o, const char *type, const char *v,
		     const char **why)
{
	if (!strcasecmp(type, "text") || !strcasecmp(type, "string")) {
		size_t n = strlen(v);
		if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
			v++;
			n -= 2;
		}
		if (n > sizeof(o->data))
			return fail(why, "text longer than 255 bytes");
		memcpy(o->data, v, n);
		o->len = (uint16_t)n;
		return 0;
	}
	if (!strcasecmp(type, "ip")) {
		struct config_addr_list l = {0};
		if (cv_parse_iplist(v, &l, why) < 0)
			return -EINVAL;
		memcpy(o->data, l.a, 4 * l.n);
		o->len = (uint16_t)(4 * l.n);
		return 0;
	}
	if (!strcasecmp(type, "u8"))
		return put_uint(o, v, 1, why);
	if (!strcasecmp(type, "u16"))
		return put_uint(o, v, 2, why);
	if (!strcasecmp(type, "u32"))
		return put_uint(o, v, 4, why);
	if (!strcasecmp(type, "bool")) {
		bool yes = !strcasecmp(v, "yes") || !strcmp(v, "1") || !strcasecmp(v, "true");
		if (!yes && strcasecmp(v, "no") && strcmp(v, "0") && strcasecmp(v, "false"))
			return fail(why, "expected yes or no");
		o->data[0] = yes;
		o->len = 1;
		return 0;
	}
	if (!strcasecmp(type, "hex"))
		return put_hex(o, v, why);
	return fail(why, "option type must be ip, text, u8, u16, u32, bool or hex");
}

int cv_parse_option(const char *s, struct config_dhcp_option *o, const char **why)
{
	char code_s[8], type[16];
	const char *p = s;
	size_t n = strcspn(p, " \t");
	if (n == 0 || n >= sizeof(code_s))
		return fail(why, "expected CODE TYPE VALUE, e.g. 150 ip 198.18.0.1");
	memcpy(code_s, p, n);
	code_s[n] = 0;
	p += n + strspn(p + n, " \t");
	n = strcspn(p, " \t");
	if (n == 0 || n >= sizeof(type))
		return fail(why, "expected CODE TYPE VALUE, e.g. 150 ip 198.18.0.1");
	memcpy(type, p, n);
	type[n] = 0;
	p += n + strspn(p + n, " \t");
	char *end;
	unsigned long code = strtoul(code_s, &end, 10);
	if (*end || code < 1 || code > 254)
		return fail(why, "option code must be 1..254");
	if (reserved_code((unsigned)code))
		return fail(why, "pxed sets this option itself; use the matching key instead");
	if (!*p)
		return fail(why, "option value missing");
	struct config_dhcp_option t = {.code = (uint8_t)code};
	if (put_value(&t, type, p, why) < 0)
		return -EINVAL;
	*o = t;
	return 0;
}

bool cv_valid_hostname(const char *s)
{
	size_t total = strlen(s);
	if (total == 0 || total > 253)
		return false;
	const char *label = s;
	for (const char *p = s;; p++) {
		if (*p == '.' || *p == 0) {
			size_t len = (size_t)(p - label);
			if (len == 0 || len > 63 || label[0] == '-' || p[-1] == '-')
				return false;
			if (*p == 0)
				return true;
			label = p + 1;
		} else if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			     (*p >= '0' && *p <= '9') || *p == '-')) {
			return false;
		}
	}
}
