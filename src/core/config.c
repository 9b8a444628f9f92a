/* Configuration loading; see config.h. Keys are a table: each names its section, key, type,
 * where it lives in struct pxed_config, its bounds and its default. */
#include "core/config.h"
#include "core/config_values.h"

#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <arpa/inet.h>

enum key_type {
	K_STR,
	K_PATH,
	K_BOOL,
	K_UINT,
	K_U16,
	K_ENDPOINT,
	K_NETLIST,
	K_PORTS,
	K_LOGLVL,
	K_BLKSIZE,
	K_U64,
	K_IP,	    /* one IPv4 address */
	K_IPLIST,   /* struct config_addr_list */
	K_NET,	    /* struct net4 */
	K_RANGE,    /* appends to a subnet's ranges */
	K_ROUTE,    /* appends to a subnet's routes */
	K_OPTION,   /* appends to a struct config_option_list */
	K_MACLIST,  /* appends to a node's MACs */
	K_HOSTNAME, /* RFC 1123 host name */
	K_DHCPMODE, /* off|server|proxy */
	K_UNKNOWN,  /* allow|deny */
	K_LOADER,   /* ipxe|pxelinux|grub */
	K_DISKLESS, /* none|nfs|ram */
	K_EXPORTS,  /* kernel|ganesha */
	K_VAR,	    /* var.NAME = value: appends to a struct config_vars */
};

/* Which object a key's offset is relative to. */
enum key_obj { O_ROOT, O_SUBNET, O_NODE, O_PROFILE, O_GROUP, O_NKINDS };

struct key_def {
	const char *section;
	const char *key;
	enum key_type type;
	enum key_obj obj;
	size_t off;
	unsigned long long min, max;
	const char *def; /* default as text, parsed like a config value; NULL: zero */
};

#define OFF(field) offsetof(struct pxed_config, field)

static const struct key_def keys[] = {
	{"server", "user", K_STR, O_ROOT, OFF(server.user), 0, 0, NULL},
	{"server", "state-dir", K_PATH, O_ROOT, OFF(server.state_dir), 0, 0, "/var/lib/pxed"},
	{"server", "log-level", K_LOGLVL, O_ROOT, OFF(server.log_level), 0, 0, "info"},
	{"server", "syslog", K_BOOL, O_ROOT, OFF(server.log_syslog), 0, 0, "no"},
	{"tftp", "enabled", K_BOOL, O_ROOT, OFF(tftp.enabled), 0, 0, "yes"},
	{"tftp", "root", K_PATH, O_ROOT, OFF(tftp.root), 0, 0, "/srv/tftp"},
	{"tftp", "listen", K_ENDPOINT, O_ROOT, OFF(tftp.listen), 69, 0, "0.0.0.0:69"},
	{"tftp", "port-range", K_PORTS, O_ROOT, OFF(tftp.port_lo), 0, 0, NULL},
	{"tftp", "single-port", K_BOOL, O_ROOT, OFF(tftp.single_port), 0, 0, "no"},
	{"tftp", "max-transfers", K_UINT, O_ROOT, OFF(tftp.max_transfers), 1, 100000, "2000"},
	{"tftp", "max-per-client", K_UINT, O_ROOT, OFF(tftp.max_per_client), 1, 100000, "32"},
	{"tftp", "allow", K_NETLIST, O_ROOT, OFF(tftp.allow), 0, 0, NULL},
	{"tftp", "write", K_BOOL, O_ROOT, OFF(tftp.write), 0, 0, "no"},
	{"tftp", "write-create", K_BOOL, O_ROOT, OFF(tftp.write_create), 0, 0, "no"},
	{"tftp", "blksize-max", K_BLKSIZE, O_ROOT, OFF(tftp.blksize_max), 8, 65464, "mtu"},
	{"tftp", "windowsize-max", K_U16, O_ROOT, OFF(tftp.windowsize_max), 1, 64, "64"},
	{"tftp", "retransmit-ms", K_UINT, O_ROOT, OFF(tftp.retransmit_ms), 10, 60000, "1000"},
	{"tftp", "retransmit-min-ms", K_UINT, O_ROOT, OFF(tftp.retransmit_min_ms), 1, 60000, "50"},
	{"tftp", "retransmit-max-ms", K_UINT, O_ROOT, OFF(tftp.retransmit_max_ms), 10, 120000,
	 "5000"},
	{"tftp", "retries", K_UINT, O_ROOT, OFF(tftp.retries), 1, 100, "8"},
	{"dhcp", "mode", K_DHCPMODE, O_ROOT, OFF(dhcp.mode), 0, 0, "off"},
	{"dhcp", "interfaces", K_STR, O_ROOT, OFF(dhcp.interfaces), 0, 0, NULL},
	{"dhcp", "listen", K_ENDPOINT, O_ROOT, OFF(dhcp.listen), 67, 0, "0.0.0.0:67"},
	{"dhcp", "client-port", K_U16, O_ROOT, OFF(dhcp.client_port), 1, 65535, "68"},
	{"dhcp", "proxy-port", K_U16, O_ROOT, OFF(dhcp.proxy_port), 1, 65535, "4011"},
	{"dhcp", "server-id", K_IP, O_ROOT, OFF(dhcp.server_id), 0, 0, NULL},
	{"dhcp", "next-server", K_IP, O_ROOT, OFF(dhcp.next_server), 0, 0, NULL},
	{"dhcp", "lease-time", K_UINT, O_ROOT, OFF(dhcp.lease_time), 60, 31536000, "3600"},
	{"dhcp", "decline-time", K_UINT, O_ROOT, OFF(dhcp.decline_time), 1, 31536000, "3600"},
	{"dhcp", "authoritative", K_BOOL, O_ROOT, OFF(dhcp.authoritative), 0, 0, "yes"},
	{"dhcp", "ping-check", K_BOOL, O_ROOT, OFF(dhcp.ping_check), 0, 0, "no"},
	{"dhcp", "ping-timeout-ms", K_UINT, O_ROOT, OFF(dhcp.ping_timeout_ms), 10, 5000, "300"},
	{"dhcp", "offer-hold", K_UINT, O_ROOT, OFF(dhcp.offer_hold_s), 1, 3600, "30"},
	{"dhcp", "commit-batch", K_UINT, O_ROOT, OFF(dhcp.commit_batch), 1, 4096, "256"},
	{"dhcp", "batch-interval-ms", K_UINT, O_ROOT, OFF(dhcp.batch_interval_ms), 0, 100, "4"},
	{"dhcp", "boot-bios", K_STR, O_ROOT, OFF(dhcp.boot.bios), 0, 0, NULL},
	{"dhcp", "boot-uefi-x64", K_STR, O_ROOT, OFF(dhcp.boot.uefi_x64), 0, 0, NULL},
	{"dhcp", "boot-uefi-ia32", K_STR, O_ROOT, OFF(dhcp.boot.uefi_ia32), 0, 0, NULL},
	{"dhcp", "boot-uefi-arm64", K_STR, O_ROOT, OFF(dhcp.boot.uefi_arm64), 0, 0, NULL},
	{"dhcp", "boot-http-x64", K_STR, O_ROOT, OFF(dhcp.boot.http_x64), 0, 0, NULL},
	{"dhcp", "boot-http-arm64", K_STR, O_ROOT, OFF(dhcp.boot.http_arm64), 0, 0, NULL},
	{"dhcp", "boot-ipxe", K_STR, O_ROOT, OFF(dhcp.boot.ipxe), 0, 0, NULL},
	{"http", "enabled", K_BOOL, O_ROOT, OFF(http.enabled), 0, 0, "no"},
	{"http", "listen", K_ENDPOINT, O_ROOT, OFF(http.listen), 80, 0, "0.0.0.0:80"},
	{"http", "root", K_PATH, O_ROOT, OFF(http.root), 0, 0, NULL},
	{"http", "max-connections", K_UINT, O_ROOT, OFF(http.max_connections), 1, 100000, "4096"},
	{"http", "timeout", K_UINT, O_ROOT, OFF(http.timeout_s), 1, 3600, "60"},
	{"boot", "default-profile", K_STR, O_ROOT, OFF(boot.default_profile), 0, 0, NULL},
	{"boot", "templates", K_PATH, O_ROOT, OFF(boot.templates), 0, 0, NULL},
	{"boot", "server", K_STR, O_ROOT, OFF(boot.server), 0, 0, NULL},
	{"diskless", "root", K_PATH, O_ROOT, OFF(diskless.root), 0, 0, "/srv/pxed/diskless"},
	{"diskless", "images", K_PATH, O_ROOT, OFF(diskless.images), 0, 0, NULL},
	{"diskless", "nfs-server", K_STR, O_ROOT, OFF(diskless.nfs_server), 0, 0, NULL},
	{"diskless", "nfs-options", K_STR, O_ROOT, OFF(diskless.nfs_options), 0, 0, "vers=3,tcp"},
	{"diskless", "exports", K_EXPORTS, O_ROOT, OFF(diskless.exports_format), 0, 0, "kernel"},
	{"diskless", "exports-file", K_PATH, O_ROOT, OFF(diskless.exports_file), 0, 0, NULL},
	{"diskless", "exports-reload", K_STR, O_ROOT, OFF(diskless.exports_reload), 0, 0, NULL},
	{"diskless", "export-network", K_NET, O_ROOT, OFF(diskless.export_net), 0, 0, NULL},
	{"tftp", "netascii-max-bytes", K_U64, O_ROOT, OFF(tftp.netascii_max_bytes), 0, 1ull << 32,
	 "16777216"},
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

#define SOFF(field) offsetof(struct config_subnet, field)
#define NOFF(field) offsetof(struct config_node, field)
#define POFF(field) offsetof(struct config_profile, field)
#define GOFF(field) offsetof(struct config_group, field)

/* Named section kinds: where their array and count live. Every object struct starts with
 * `char *name; int line;`. */
struct obj_kind {
	const char *name;
	enum key_obj kind;
	size_t size;
	size_t arr_off, n_off;
};

static const struct obj_kind kinds[] = {
	{"subnet", O_SUBNET, sizeof(struct config_subnet), OFF(subnets), OFF(nsubnets)},
	{"node", O_NODE, sizeof(struct config_node), OFF(nodes), OFF(nnodes)},
	{"profile", O_PROFILE, sizeof(struct config_profile), OFF(profiles), OFF(nprofiles)},
	{"group", O_GROUP, sizeof(struct config_group), OFF(groups), OFF(ngroups)},
};

#define NOBJKINDS (sizeof(kinds) / sizeof(kinds[0]))

/* Keys of the named sections [subnet NAME] and [node NAME]. */
static const struct key_def obj_keys[] = {
	{"subnet", "network", K_NET, O_SUBNET, SOFF(net), 0, 0, NULL},
	{"subnet", "interface", K_STR, O_SUBNET, SOFF(interface), 0, 0, NULL},
	{"subnet", "range", K_RANGE, O_SUBNET, 0, 0, 0, NULL},
	{"subnet", "router", K_IPLIST, O_SUBNET, SOFF(routers), 0, 0, NULL},
	{"subnet", "dns", K_IPLIST, O_SUBNET, SOFF(dns), 0, 0, NULL},
	{"subnet", "ntp", K_IPLIST, O_SUBNET, SOFF(ntp), 0, 0, NULL},
	{"subnet", "domain", K_HOSTNAME, O_SUBNET, SOFF(domain), 0, 0, NULL},
	{"subnet", "mtu", K_U16, O_SUBNET, SOFF(mtu), 68, 65535, NULL},
	{"subnet", "lease-time", K_UINT, O_SUBNET, SOFF(lease_time), 60, 31536000, NULL},
	{"subnet", "unknown-clients", K_UNKNOWN, O_SUBNET, SOFF(unknown), 0, 0, NULL},
	{"subnet", "route", K_ROUTE, O_SUBNET, 0, 0, 0, NULL},
	{"subnet", "option", K_OPTION, O_SUBNET, SOFF(options), 0, 0, NULL},
	{"subnet", "boot-bios", K_STR, O_SUBNET, SOFF(boot.bios), 0, 0, NULL},
	{"subnet", "boot-uefi-x64", K_STR, O_SUBNET, SOFF(boot.uefi_x64), 0, 0, NULL},
	{"subnet", "boot-uefi-ia32", K_STR, O_SUBNET, SOFF(boot.uefi_ia32), 0, 0, NULL},
	{"subnet", "boot-uefi-arm64", K_STR, O_SUBNET, SOFF(boot.uefi_arm64), 0, 0, NULL},
	{"subnet", "boot-http-x64", K_STR, O_SUBNET, SOFF(boot.http_x64), 0, 0, NULL},
	{"subnet", "boot-http-arm64", K_STR, O_SUBNET, SOFF(boot.http_arm64), 0, 0, NULL},
	{"subnet", "boot-ipxe", K_STR, O_SUBNET, SOFF(boot.ipxe), 0, 0, NULL},
	{"node", "mac", K_MACLIST, O_NODE, 0, 0, 0, NULL},
	{"node", "ip", K_IP, O_NODE, NOFF(ip), 0, 0, NULL},
	{"node", "hostname", K_HOSTNAME, O_NODE, NOFF(hostname), 0, 0, NULL},
	{"node", "arch", K_STR, O_NODE, NOFF(arch), 0, 0, NULL},
	{"node", "boot-file", K_STR, O_NODE, NOFF(boot_file), 0, 0, NULL},
	{"node", "boot-ipxe", K_STR, O_NODE, NOFF(ipxe_file), 0, 0, NULL},
	{"node", "root-path", K_STR, O_NODE, NOFF(root_path), 0, 0, NULL},
	{"node", "option", K_OPTION, O_NODE, NOFF(options), 0, 0, NULL},
	{"node", "profile", K_STR, O_NODE, NOFF(profile), 0, 0, NULL},
	{"node", "var.*", K_VAR, O_NODE, NOFF(vars), 0, 0, NULL},
	{"profile", "kernel", K_STR, O_PROFILE, POFF(kernel), 0, 0, NULL},
	{"profile", "initrd", K_STR, O_PROFILE, POFF(initrd), 0, 0, NULL},
	{"profile", "cmdline", K_STR, O_PROFILE, POFF(cmdline), 0, 0, NULL},
	{"profile", "loader", K_LOADER, O_PROFILE, POFF(loader), 0, 0, NULL},
	{"profile", "kickstart", K_STR, O_PROFILE, POFF(kickstart), 0, 0, NULL},
	{"profile", "install", K_BOOL, O_PROFILE, POFF(install), 0, 0, NULL},
	{"profile", "diskless", K_DISKLESS, O_PROFILE, POFF(diskless), 0, 0, NULL},
	{"profile", "description", K_STR, O_PROFILE, POFF(description), 0, 0, NULL},
	{"profile", "template", K_PATH, O_PROFILE, POFF(template), 0, 0, NULL},
	{"profile", "shared-root", K_BOOL, O_PROFILE, POFF(shared_root), 0, 0, NULL},
	{"profile", "per-node", K_STR, O_PROFILE, POFF(per_node), 0, 0, NULL},
	{"profile", "nfs-options", K_STR, O_PROFILE, POFF(nfs_options), 0, 0, NULL},
	{"profile", "mounts", K_STR, O_PROFILE, POFF(mounts), 0, 0, NULL},
	{"profile", "overlay", K_PATH, O_PROFILE, POFF(overlay), 0, 0, NULL},
	{"profile", "squashfs", K_BOOL, O_PROFILE, POFF(squashfs), 0, 0, NULL},
	{"profile", "var.*", K_VAR, O_PROFILE, POFF(vars), 0, 0, NULL},
	{"group", "match-mac", K_STR, O_GROUP, GOFF(match_mac), 0, 0, NULL},
	{"group", "match-arch", K_STR, O_GROUP, GOFF(match_arch), 0, 0, NULL},
	{"group", "profile", K_STR, O_GROUP, GOFF(profile), 0, 0, NULL},
	{"group", "var.*", K_VAR, O_GROUP, GOFF(vars), 0, 0, NULL},
};

#define NOBJKEYS (sizeof(obj_keys) / sizeof(obj_keys[0]))

struct load_ctx {
	struct pxed_config *cfg;
	struct config_errors *errs;
	const char *file;  /* for messages */
	int line;	   /* current line in file */
	int seen[NKEYS];   /* line where each root key was set in the file, 0 = not yet */
	char section[160]; /* section of the previous key, to notice a new section */
	void *obj;	   /* current named object ([subnet X], [node X]) or NULL */
	enum key_obj obj_kind;
	bool skip_section; /* the current section is unknown or a duplicate */
};

static void add_error(struct config_errors *errs, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void add_error(struct config_errors *errs, const char *fmt, ...)
{
	if (errs->n == sizeof(errs->msg) / sizeof(errs->msg[0])) {
		errs->dropped++;
		return;
	}
	va_list ap;
	va_start(ap, fmt);
	char *m = NULL;
	if (vasprintf(&m, fmt, ap) < 0)
		m = NULL;
	va_end(ap);
	if (m)
		errs->msg[errs->n++] = m;
}

static bool parse_bool(const char *v, bool *out)
{
	static const char *yes[] = {"yes", "true", "on", "1"};
	static const char *no[] = {"no", "false", "off", "0"};
	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = true;
			return true;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = false;
			return true;
		}
	}
	return false;
}

static bool parse_ull(const char *v, unsigned long long min, unsigned long long max,
		      unsigned long long *out)
{
	unsigned long long x = 0;
	if (!*v)
		return false;
	for (const char *p = v; *p; p++) {
		if (*p < '0' || *p > '9')
			return false;
		if (x > (max - (unsigned long long)(*p - '0')) / 10)
			return false;
		x = x * 10 + (unsigned long long)(*p - '0');
	}
	if (x < min)
		return false;
	*out = x;
	return true;
}

/* Store a string key, replacing any previous value. */
static void set_str(void *obj, size_t off, const char *v)
{
	char **slot = (char **)((char *)obj + off);
	free(*slot);
	*slot = *v ? strdup(v) : NULL;
}

static const char *apply_number(void *slot, const struct key_def *k, const char *v, char *buf,
				size_t cap)
{
	unsigned long long n;
	if (!parse_ull(v, k->min, k->max, &n)) {
		snprintf(buf, cap, "expected a whole number from %llu to %llu", k->min, k->max);
		return buf;
	}
	if (k->type == K_UINT)
		*(unsigned *)slot = (unsigned)n;
	else if (k->type == K_U16)
		*(uint16_t *)slot = (uint16_t)n;
	else
		*(uint64_t *)slot = n;
	return NULL;
}

/* Keys that append to a list inside a named object. */
static const char *apply_append(void *obj, const struct key_def *k, const char *v)
{
	const char *why = NULL;
	if (k->type == K_RANGE) {
		struct config_subnet *sn = obj;
		if (sn->nranges == CONFIG_MAX_RANGES)
			return "too many ranges (at most 16)";
		if (cv_parse_range(v, &sn->ranges[sn->nranges], &why) == 0)
			sn->nranges++;
	} else if (k->type == K_ROUTE) {
		struct config_subnet *sn = obj;
		if (sn->nroutes == CONFIG_MAX_ROUTES)
			return "too many routes (at most 16)";
		if (cv_parse_route(v, &sn->routes[sn->nroutes], &why) == 0)
			sn->nroutes++;
	} else if (k->type == K_MACLIST) {
		struct config_node *nd = obj;
		char tok[32];
		const char *p = v;
		while (*p && !why) {
			p += strspn(p, ", \t");
			size_t n = strcspn(p, ", \t");
			if (!n)
				break;
			if (nd->nmacs == CONFIG_MAX_MACS || n >= sizeof(tok))
				return "too many MACs (at most 8)";
			memcpy(tok, p, n);
			tok[n] = 0;
			if (cv_parse_mac(tok, nd->macs[nd->nmacs], &why) == 0)
				nd->nmacs++;
			p += n;
		}
	} else { /* K_OPTION */
		struct config_option_list *l = (void *)((char *)obj + k->off);
		if (l->n == CONFIG_MAX_OPTIONS)
			return "too many options (at most 32)";
		if (cv_parse_option(v, &l->opt[l->n], &why) == 0)
			l->n++;
	}
	return why;
}

/* Parse value v for key k into the object obj. Returns NULL or an explanation. */
static const char *apply_value(void *obj, const struct key_def *k, const char *v, char *buf,
			       size_t cap)
{
	void *slot = (char *)obj + k->off;
	const char *why = NULL;
	switch (k->type) {
	case K_STR: set_str(obj, k->off, v); return NULL;
	case K_PATH:
		if (v[0] != '/')
			return "must be an absolute path";
		set_str(obj, k->off, v);
		{
			char *s = *(char **)slot;
			size_t len = strlen(s);
			while (len > 1 && s[len - 1] == '/')
				s[--len] = 0;
		}
		return NULL;
	case K_HOSTNAME:
		if (!cv_valid_hostname(v))
			return "not a valid host name (letters, digits, '-', dots; RFC 1123)";
		set_str(obj, k->off, v);
		return NULL;
	case K_BOOL: return parse_bool(v, slot) ? NULL : "expected yes or no";
	case K_UINT:
	case K_U16:
	case K_U64: return apply_number(slot, k, v, buf, cap);
	case K_BLKSIZE:
		if (strcasecmp(v, "mtu") == 0) {
			*(uint16_t *)slot = 0;
			return NULL;
		}
		if (!parse_ull(v, k->min, k->max, (unsigned long long[]){0}))
			return "expected \"mtu\" or a block size from 8 to 65464";
		*(uint16_t *)slot = (uint16_t)strtoul(v, NULL, 10);
		return NULL;
	case K_ENDPOINT:
		return netaddr_parse_endpoint(v, (uint16_t)k->min, slot, &why) ? why : NULL;
	case K_NETLIST: return netaddr_parse_netlist(v, slot, &why) ? why : NULL;
	case K_NET: return netaddr_parse_net4(v, slot, &why) ? why : NULL;
	case K_IP: return cv_parse_ip(v, slot, &why) ? why : NULL;
	case K_IPLIST:
		((struct config_addr_list *)slot)->n = 0;
		return cv_parse_iplist(v, slot, &why) ? why : NULL;
	case K_PORTS:
		if (!*v) {
			((uint16_t *)slot)[0] = ((uint16_t *)slot)[1] = 0;
			return NULL;
		}
		return netaddr_parse_port_range(v, &((uint16_t *)slot)[0], &((uint16_t *)slot)[1],
						&why)
			       ? why
			       : NULL;
	case K_LOGLVL: {
		int l = log_level_parse(v);
		if (l < 0)
			return "expected error, warning, info or debug";
		*(enum log_level *)slot = (enum log_level)l;
		return NULL;
	}
	case K_DHCPMODE: {
		static const char *m[] = {"off", "server", "proxy"};
		for (int i = 0; i < 3; i++)
			if (!strcasecmp(v, m[i])) {
				*(enum dhcp_mode *)slot = (enum dhcp_mode)i;
				return NULL;
			}
		return "expected off, server or proxy";
	}
	case K_UNKNOWN:
		if (!strcasecmp(v, "allow") || !strcasecmp(v, "deny")) {
			*(enum unknown_clients *)slot =
				!strcasecmp(v, "deny") ? UNKNOWN_DENY : UNKNOWN_ALLOW;
			return NULL;
		}
		return "expected allow or deny";
	case K_RANGE:
	case K_ROUTE:
	case K_MACLIST:
	case K_OPTION: return apply_append(obj, k, v);
	case K_LOADER: {
		static const char *m[] = {"ipxe", "pxelinux", "grub"};
		for (int i = 0; i < 3; i++)
			if (!strcasecmp(v, m[i])) {
				*(enum boot_loader *)slot = (enum boot_loader)i;
				return NULL;
			}
		return "expected ipxe, pxelinux or grub";
	}
	case K_DISKLESS: {
		static const char *m[] = {"none", "nfs", "ram"};
		for (int i = 0; i < 3; i++)
			if (!strcasecmp(v, m[i])) {
				*(enum diskless_mode *)slot = (enum diskless_mode)i;
				return NULL;
			}
		return "expected none, nfs or ram";
	}
	case K_EXPORTS:
		if (!strcasecmp(v, "kernel") || !strcasecmp(v, "ganesha")) {
			*(enum exports_format *)slot =
				!strcasecmp(v, "ganesha") ? EXPORTS_GANESHA : EXPORTS_KERNEL;
			return NULL;
		}
		return "expected kernel or ganesha";
	case K_VAR: return "internal error: variables go through apply_var";
	}
	return "internal error: unknown key type";
}

/* `var.NAME = value`: set (or replace) ${NAME} in the object's variables. */
static const char *apply_var(void *obj, const struct key_def *k, const char *key, const char *v)
{
	struct config_vars *vars = (struct config_vars *)((char *)obj + k->off);
	const char *name = key + 4;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
			return "variable names use letters, digits, '_' and '-'";
	for (size_t i = 0; i < vars->n; i++)
		if (!strcmp(vars->key[i], name)) {
			free(vars->val[i]);
			vars->val[i] = strdup(v);
			return NULL;
		}
	if (vars->n == CONFIG_MAX_VARS)
		return "too many variables (at most 32)";
	vars->key[vars->n] = strdup(name);
	vars->val[vars->n] = strdup(v);
	vars->n++;
	return NULL;
}

static const struct key_def *find_key(const char *section, const char *key)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].section, section) == 0 && strcmp(keys[i].key, key) == 0)
			return &keys[i];
	bool var = !strncmp(key, "var.", 4) && key[4];
	for (size_t i = 0; i < NOBJKEYS; i++)
		if (strcmp(obj_keys[i].section, section) == 0 &&
		    (strcmp(obj_keys[i].key, key) == 0 || (var && obj_keys[i].type == K_VAR)))
			return &obj_keys[i];
	return NULL;
}

static bool known_section(const char *section)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].section, section) == 0)
			return true;
	return false;
}

/* Cut an inline comment (" # ..." or " ; ...") and trailing blanks off v, in place. */
static void strip_inline_comment(char *v)
{
	for (char *p = v; *p; p++) {
		if ((*p == '#' || *p == ';') && (p == v || p[-1] == ' ' || p[-1] == '\t')) {
			*p = 0;
			break;
		}
	}
	size_t n = strlen(v);
	while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		v[--n] = 0;
}

static bool valid_name(const char *s)
{
	if (!*s || strlen(s) > 63)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' || *s == '.'))
			return false;
	return true;
}

static const struct obj_kind *kind_by_name(const char *name, size_t len)
{
	for (size_t i = 0; i < NOBJKINDS; i++)
		if (strlen(kinds[i].name) == len && !strncmp(kinds[i].name, name, len))
			return &kinds[i];
	return NULL;
}

static const struct obj_kind *kind_of(enum key_obj k)
{
	for (size_t i = 0; i < NOBJKINDS; i++)
		if (kinds[i].kind == k)
			return &kinds[i];
	return NULL;
}

/* Find or create the named object of "[kind name]". Returns NULL (with an error) on a
 * duplicate definition or a bad name; with !create, NULL when it does not exist. */
static void *named_object(struct load_ctx *ctx, const struct obj_kind *k, const char *name,
			  bool create)
{
	struct pxed_config *c = ctx->cfg;
	size_t *n = (size_t *)((char *)c + k->n_off);
	char **arrp = (char **)((char *)c + k->arr_off);
	for (size_t i = 0; i < *n; i++) {
		char *o = *arrp + i * k->size;
		if (strcmp(*(char **)o, name) == 0) {
			if (!create)
				return o;
			add_error(ctx->errs, "%s:%d: [%s %s] defined twice (first at line %d)",
				  ctx->file, ctx->line, k->name, name,
				  *(int *)(o + sizeof(char *)));
			return NULL;
		}
	}
	if (!create)
		return NULL;
	if (!valid_name(name)) {
		add_error(ctx->errs, "%s:%d: bad name \"%s\" (letters, digits, '-', '_', '.')",
			  ctx->file, ctx->line, name);
		return NULL;
	}
	char *grown = realloc(*arrp, (*n + 1) * k->size);
	if (!grown)
		return NULL;
	char *o = grown + *n * k->size;
	memset(o, 0, k->size);
	*(char **)o = strdup(name);
	*(int *)(o + sizeof(char *)) = ctx->line;
	*arrp = grown;
	(*n)++;
	return o;
}

/* A new section header took effect: set up ctx->obj for its keys. With reuse (for -o), an
 * existing named object is reopened instead of being a duplicate. */
static void enter_section(struct load_ctx *ctx, const char *section, bool reuse)
{
	snprintf(ctx->section, sizeof(ctx->section), "%s", section);
	ctx->obj = NULL;
	ctx->skip_section = false;
	ctx->obj_kind = O_ROOT;
	const char *sp = strchr(section, ' ');
	size_t tlen = sp ? (size_t)(sp - section) : strlen(section);
	const struct obj_kind *k = kind_by_name(section, tlen);
	if (k) {
		const char *name = sp ? sp + strspn(sp, " ") : "";
		ctx->obj_kind = k->kind;
		if (!*name) {
			add_error(ctx->errs, "%s:%d: [%s] needs a name, e.g. [%s lab]", ctx->file,
				  ctx->line, k->name, k->name);
			ctx->skip_section = true;
			return;
		}
		ctx->obj = reuse ? named_object(ctx, k, name, false) : NULL;
		if (!ctx->obj)
			ctx->obj = named_object(ctx, k, name, true);
		ctx->skip_section = ctx->obj == NULL;
		return;
	}
	if (!known_section(section)) {
		add_error(ctx->errs, "%s:%d: unknown section [%s]", ctx->file, ctx->line, section);
		ctx->skip_section = true;
	}
}

/* inih callback: one key = value of the file. */
static int on_ini_value(void *user, const char *section, const char *name, const char *value)
{
	struct load_ctx *ctx = user;
	if (!name) /* section header alone (INI_CALL_HANDLER_ON_NEW_SECTION builds) */
		return 1;
	char v[4096];
	snprintf(v, sizeof(v), "%s", value ? value : "");
	strip_inline_comment(v);
	if (!*section) {
		add_error(ctx->errs, "%s:%d: key \"%s\" outside any [section]", ctx->file,
			  ctx->line, name);
		return 1;
	}
	if (strcmp(ctx->section, section) != 0)
		enter_section(ctx, section, false);
	if (ctx->skip_section)
		return 1;
	const char *kind = ctx->obj_kind == O_ROOT ? section : kind_of(ctx->obj_kind)->name;
	const struct key_def *k = find_key(kind, name);
	if (!k) {
		add_error(ctx->errs, "%s:%d: unknown key \"%s\" in [%s]", ctx->file, ctx->line,
			  name, section);
		return 1;
	}
	if (k->obj == O_ROOT) {
		size_t idx = (size_t)(k - keys);
		if (ctx->seen[idx]) {
			add_error(ctx->errs, "%s:%d: %s.%s set twice (first at line %d)", ctx->file,
				  ctx->line, section, name, ctx->seen[idx]);
			return 1;
		}
		ctx->seen[idx] = ctx->line;
	}
	char buf[128];
	const char *why = k->type == K_VAR
				  ? apply_var(ctx->obj, k, name, v)
				  : apply_value(k->obj == O_ROOT ? (void *)ctx->cfg : ctx->obj, k,
						v, buf, sizeof(buf));
	if (why && k->obj == O_ROOT)
		add_error(ctx->errs, "%s:%d: %s.%s = \"%s\": %s", ctx->file, ctx->line, section,
			  name, v, why);
	else if (why)
		add_error(ctx->errs, "%s:%d: [%s] %s = \"%s\": %s", ctx->file, ctx->line, section,
			  name, v, why);
	return 1;
}

struct line_reader {
	FILE *f;
	struct load_ctx *ctx;
};

/* inih stream reader that counts lines, so handler errors carry file:line. */
static char *read_line(char *str, int num, void *stream)
{
	struct line_reader *r = stream;
	char *s = fgets(str, num, r->f);
	if (s)
		r->ctx->line++;
	return s;
}

static void load_file(struct load_ctx *ctx, const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		add_error(ctx->errs, "%s: cannot open: %s", path, strerror(errno));
		return;
	}
	struct line_reader r = {f, ctx};
	ctx->file = path;
	ctx->line = 0;
	int rc = ini_parse_stream(read_line, &r, on_ini_value, ctx);
	if (rc > 0)
		add_error(ctx->errs, "%s:%d: syntax error (expected [section] or key = value)",
			  path, rc);
	fclose(f);
}

/* Apply one "section.key=value" override; named sections as "node.NAME.key=value". */
static void load_override(struct load_ctx *ctx, const char *o)
{
	const char *eq = strchr(o, '=');
	const char *dot = strchr(o, '.');
	if (!eq || !dot || dot > eq) {
		add_error(ctx->errs, "-o %s: expected section.key=value", o);
		return;
	}
	const char *kdot = eq;
	while (kdot > o && *kdot != '.')
		kdot--;
	const char *var = strstr(o, ".var.");
	if (var && var < eq)
		kdot = var; /* node.NAME.var.KEY=value: the key is var.KEY */
	char section[160], key[64];
	snprintf(section, sizeof(section), "%.*s", (int)(kdot - o), o);
	snprintf(key, sizeof(key), "%.*s", (int)(eq - kdot - 1), kdot + 1);
	char *sdot = strchr(section, '.');
	void *obj = ctx->cfg;
	if (sdot) { /* node.NAME or subnet.NAME: the object must exist or is created */
		*sdot = ' ';
		ctx->file = "-o";
		ctx->line = 0;
		enter_section(ctx, section, true);
		if (ctx->skip_section || !ctx->obj) {
			add_error(ctx->errs, "-o %s: unknown section [%s]", o, section);
			return;
		}
		obj = ctx->obj;
		*sdot = 0;
	}
	const struct key_def *k = find_key(section, key);
	if (!k || (k->obj == O_ROOT) != (sdot == NULL)) {
		add_error(ctx->errs, "-o %s: unknown key %s.%s", o, section, key);
		return;
	}
	char buf[128];
	const char *why = k->type == K_VAR ? apply_var(obj, k, key, eq + 1)
					   : apply_value(obj, k, eq + 1, buf, sizeof(buf));
	if (why)
		add_error(ctx->errs, "-o %s: %s", o, why);
}

static bool in_net(const struct net4 *n, uint32_t host_addr)
{
	return (host_addr & n->mask) == n->addr;
}

/* Subnets: a network, ranges inside it, no overlaps between subnets. */
static void validate_subnets(struct pxed_config *c, struct config_errors *errs, const char *where)
{
	for (size_t i = 0; i < c->nsubnets; i++) {
		const struct config_subnet *sn = &c->subnets[i];
		if (!sn->net.mask)
			add_error(errs, "%s:%d: [subnet %s] needs network = a.b.c.d/len", where,
				  sn->line, sn->name);
		for (size_t r = 0; r < sn->nranges; r++)
			if (sn->net.mask && (!in_net(&sn->net, sn->ranges[r].lo) ||
					     !in_net(&sn->net, sn->ranges[r].hi)))
				add_error(errs,
					  "%s:%d: [subnet %s] range %zu is outside its network",
					  where, sn->line, sn->name, r + 1);
		for (size_t j = 0; j < i; j++) {
			const struct config_subnet *o = &c->subnets[j];
			uint32_t m = sn->net.mask & o->net.mask;
			if (sn->net.mask && o->net.mask && (sn->net.addr & m) == (o->net.addr & m))
				add_error(errs, "%s:%d: [subnet %s] overlaps [subnet %s]", where,
					  sn->line, sn->name, o->name);
		}
	}
}

/* Nodes: at least one MAC, MACs and IPs unique, IP inside a subnet when serving DHCP. */
static void validate_nodes(struct pxed_config *c, struct config_errors *errs, const char *where)
{
	for (size_t i = 0; i < c->nnodes; i++) {
		const struct config_node *nd = &c->nodes[i];
		if (!nd->nmacs)
			add_error(errs, "%s:%d: [node %s] needs mac = ...", where, nd->line,
				  nd->name);
		if (nd->ip.s_addr && c->dhcp.mode == DHCP_MODE_SERVER &&
		    !config_subnet_for(c, nd->ip))
			add_error(errs, "%s:%d: [node %s] ip %s is in no [subnet]", where, nd->line,
				  nd->name, inet_ntoa(nd->ip));
		for (size_t j = 0; j < i; j++) {
			const struct config_node *o = &c->nodes[j];
			if (nd->ip.s_addr && nd->ip.s_addr == o->ip.s_addr)
				add_error(errs, "%s:%d: [node %s] has the same ip as [node %s]",
					  where, nd->line, nd->name, o->name);
			for (size_t a = 0; a < nd->nmacs; a++)
				for (size_t b = 0; b < o->nmacs; b++)
					if (!memcmp(nd->macs[a], o->macs[b], 6))
						add_error(errs,
							  "%s:%d: [node %s] has a MAC of [node %s]",
							  where, nd->line, nd->name, o->name);
		}
	}
}

/* Profiles need a kernel; references between sections must resolve. */
static void validate_inventory(struct pxed_config *c, struct config_errors *errs, const char *where)
{
	for (size_t i = 0; i < c->nprofiles; i++)
		if (!c->profiles[i].kernel)
			add_error(errs, "%s:%d: [profile %s] needs kernel = ...", where,
				  c->profiles[i].line, c->profiles[i].name);
	for (size_t i = 0; i < c->nnodes; i++)
		if (c->nodes[i].profile && !config_profile_by_name(c, c->nodes[i].profile))
			add_error(errs, "%s:%d: [node %s] profile %s does not exist", where,
				  c->nodes[i].line, c->nodes[i].name, c->nodes[i].profile);
	for (size_t i = 0; i < c->ngroups; i++) {
		const struct config_group *g = &c->groups[i];
		if (!g->profile || !config_profile_by_name(c, g->profile))
			add_error(errs, "%s:%d: [group %s] needs profile = an existing [profile]",
				  where, g->line, g->name);
		if (!g->match_mac && !g->match_arch)
			add_error(errs, "%s:%d: [group %s] needs match-mac and/or match-arch",
				  where, g->line, g->name);
	}
	if (c->boot.default_profile && !config_profile_by_name(c, c->boot.default_profile))
		add_error(errs, "%s: boot.default-profile %s does not exist", where,
			  c->boot.default_profile);
	for (size_t i = 0; i < c->nprofiles; i++) {
		const struct config_profile *p = &c->profiles[i];
		const char *why = NULL;
		if (p->diskless == DISKLESS_RAM && !p->template)
			add_error(errs,
				  "%s:%d: [profile %s] diskless = ram needs template = DIR or TAR",
				  where, p->line, p->name);
		if (p->mounts && config_mounts_parse(p->mounts, NULL, 0, &why) < 0)
			add_error(errs, "%s:%d: [profile %s] mounts: %s", where, p->line, p->name,
				  why);
		if (p->diskless != DISKLESS_NFS && (p->shared_root || p->mounts || p->per_node))
			add_error(errs,
				  "%s:%d: [profile %s] shared-root, per-node and mounts need "
				  "diskless = nfs",
				  where, p->line, p->name);
		if (p->diskless != DISKLESS_RAM && (p->overlay || p->squashfs))
			add_error(errs,
				  "%s:%d: [profile %s] overlay and squashfs need diskless = ram",
				  where, p->line, p->name);
	}
}

/* A blank or control byte (a tab would split the fstab or exports line the path goes into). */
static bool has_blank(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == 0x7f)
			return true;
	return false;
}

/* "DIR:MOUNTPOINT[:ro|rw], ...": DIR and MOUNTPOINT absolute, no ':' or spaces inside. */
int config_mounts_parse(const char *s, struct config_mount *out, size_t cap, const char **why)
{
	size_t n = 0;
	const char *p = s;
	while (*p) {
		while (*p == ' ' || *p == ',' || *p == '\t')
			p++;
		if (!*p)
			break;
		const char *e = p;
		while (*e && *e != ',')
			e++;
		char item[512];
		size_t len = (size_t)(e - p);
		while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (len >= sizeof(item)) {
			*why = "entry too long";
			return -1;
		}
		memcpy(item, p, len);
		item[len] = 0;
		char *dir = item, *mp = strchr(item, ':'), *mode = NULL;
		if (!mp) {
			*why = "expected DIR:MOUNTPOINT[:ro|rw]";
			return -1;
		}
		*mp++ = 0;
		mode = strchr(mp, ':');
		if (mode)
			*mode++ = 0;
		if (strlen(dir) >= sizeof(out->dir) || strlen(mp) >= sizeof(out->mountpoint)) {
			*why = "path too long";
			return -1;
		}
		if (dir[0] != '/' || mp[0] != '/' || has_blank(dir) || has_blank(mp) ||
		    strstr(dir, "/..") || strstr(mp, "/..")) {
			*why = "DIR and MOUNTPOINT must be absolute paths without blanks, control "
			       "characters or \"..\"";
			return -1;
		}
		bool rw = false;
		if (mode && !strcmp(mode, "rw"))
			rw = true;
		else if (mode && strcmp(mode, "ro")) {
			*why = "the mode after the mount point is ro or rw";
			return -1;
		}
		if (out && n < cap) {
			memcpy(out[n].dir, dir, strlen(dir) + 1);
			memcpy(out[n].mountpoint, mp, strlen(mp) + 1);
			out[n].rw = rw;
		}
		n++;
		if (n > CONFIG_MAX_MOUNTS) {
			*why = "too many mounts (at most 16)";
			return -1;
		}
		p = e;
	}
	return (int)n;
}

/* Cross-key checks after everything is loaded. */
static void validate(struct pxed_config *c, struct config_errors *errs, const char *where)
{
	const struct config_tftp *t = &c->tftp;
	if (t->retransmit_min_ms > t->retransmit_max_ms)
		add_error(errs,
			  "%s: tftp.retransmit-min-ms (%u) is above tftp.retransmit-max-ms (%u)",
			  where, t->retransmit_min_ms, t->retransmit_max_ms);
	if (t->max_per_client > t->max_transfers)
		add_error(errs, "%s: tftp.max-per-client (%u) is above tftp.max-transfers (%u)",
			  where, t->max_per_client, t->max_transfers);
	if (t->single_port && t->port_lo)
		add_error(errs, "%s: tftp.single-port and tftp.port-range exclude each other",
			  where);
	if (c->dhcp.mode == DHCP_MODE_SERVER && c->nsubnets == 0)
		add_error(errs, "%s: dhcp.mode = server needs at least one [subnet NAME]", where);
	validate_subnets(c, errs, where);
	validate_nodes(c, errs, where);
	validate_inventory(c, errs, where);
}

static void open_root(struct pxed_config *c, struct config_errors *errs, const char *where)
{
	if (!c->tftp.enabled)
		return;
	c->tftp_root_fd = open(c->tftp.root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (c->tftp_root_fd < 0)
		add_error(errs, "%s: tftp.root %s: %s", where, c->tftp.root, strerror(errno));
}

struct pxed_config *config_load(const char *path, const char *const *overrides, size_t n,
				bool open_root_dir, struct config_errors *errs)
{
	struct pxed_config *c = calloc(1, sizeof(*c));
	struct load_ctx ctx = {.cfg = c, .errs = errs};
	if (!c)
		return NULL;
	c->refs = 1;
	c->tftp_root_fd = -1;
	size_t before = errs->n;
	char buf[128];
	for (size_t i = 0; i < NKEYS; i++)
		if (keys[i].def && apply_value(c, &keys[i], keys[i].def, buf, sizeof(buf)))
			add_error(errs, "internal error: bad default for %s.%s", keys[i].section,
				  keys[i].key);
	if (path) {
		c->source = strdup(path);
		load_file(&ctx, path);
	}
	for (size_t i = 0; i < n; i++)
		load_override(&ctx, overrides[i]);
	const char *where = path ? path : "(command line)";
	if (!c->http.root && c->tftp.root) /* one tree for both by default */
		c->http.root = strdup(c->tftp.root);
	validate(c, errs, where);
	if (open_root_dir && errs->n == before)
		open_root(c, errs, where);
	if (errs->n != before) {
		config_unref(c);
		return NULL;
	}
	return c;
}

/* Free the strings and variables of one named object. */
static void free_object(char *o, enum key_obj kind)
{
	free(*(char **)o);
	for (size_t k = 0; k < NOBJKEYS; k++) {
		if (obj_keys[k].obj != kind)
			continue;
		if (obj_keys[k].type == K_STR || obj_keys[k].type == K_PATH ||
		    obj_keys[k].type == K_HOSTNAME)
			free(*(char **)(o + obj_keys[k].off));
		if (obj_keys[k].type == K_VAR) {
			struct config_vars *v = (struct config_vars *)(o + obj_keys[k].off);
			for (size_t i = 0; i < v->n; i++) {
				free(v->key[i]);
				free(v->val[i]);
			}
		}
	}
}

struct pxed_config *config_ref(struct pxed_config *c)
{
	c->refs++;
	return c;
}

void config_unref(struct pxed_config *c)
{
	if (!c || --c->refs > 0)
		return;
	for (size_t i = 0; i < NKEYS; i++)
		if (keys[i].type == K_STR || keys[i].type == K_PATH || keys[i].type == K_HOSTNAME)
			free(*(char **)((char *)c + keys[i].off));
	for (size_t t = 0; t < NOBJKINDS; t++) {
		const struct obj_kind *kd = &kinds[t];
		char *arr = *(char **)((char *)c + kd->arr_off);
		size_t n = *(size_t *)((char *)c + kd->n_off);
		for (size_t i = 0; i < n; i++)
			free_object(arr + i * kd->size, kd->kind);
		free(arr);
	}
	if (c->tftp_root_fd >= 0)
		close(c->tftp_root_fd);
	free(c->source);
	free(c);
}

const struct config_node *config_node_by_mac(const struct pxed_config *c, const uint8_t mac[6])
{
	for (size_t i = 0; i < c->nnodes; i++)
		for (size_t m = 0; m < c->nodes[i].nmacs; m++)
			if (!memcmp(c->nodes[i].macs[m], mac, 6))
				return &c->nodes[i];
	return NULL;
}

const struct config_node *config_node_by_name(const struct pxed_config *c, const char *name)
{
	for (size_t i = 0; i < c->nnodes; i++)
		if (!strcmp(c->nodes[i].name, name))
			return &c->nodes[i];
	return NULL;
}

const struct config_profile *config_profile_by_name(const struct pxed_config *c, const char *name)
{
	for (size_t i = 0; name && i < c->nprofiles; i++)
		if (!strcmp(c->profiles[i].name, name))
			return &c->profiles[i];
	return NULL;
}

const char *config_var(const struct config_vars *v, const char *key)
{
	for (size_t i = 0; i < v->n; i++)
		if (!strcmp(v->key[i], key))
			return v->val[i];
	return NULL;
}

const struct config_subnet *config_subnet_for(const struct pxed_config *c, struct in_addr addr)
{
	uint32_t a = ntohl(addr.s_addr);
	for (size_t i = 0; i < c->nsubnets; i++)
		if (c->subnets[i].net.mask && in_net(&c->subnets[i].net, a))
			return &c->subnets[i];
	return NULL;
}

void config_errors_clear(struct config_errors *errs)
{
	for (size_t i = 0; i < errs->n; i++)
		free(errs->msg[i]);
	errs->n = 0;
	errs->dropped = 0;
}

/* Render one key's value as text. */
static void value_str(const struct pxed_config *c, const struct key_def *k, char *out, size_t cap)
{
	const void *slot = (const char *)c + k->off;
	char a[32];
	switch (k->type) {
	case K_STR:
	case K_PATH:
	case K_HOSTNAME:
		snprintf(out, cap, "%s", *(char *const *)slot ? *(char *const *)slot : "");
		break;
	case K_IP:
		snprintf(out, cap, "%s",
			 ((const struct in_addr *)slot)->s_addr
				 ? inet_ntop(AF_INET, slot, a, sizeof(a))
				 : "");
		break;
	case K_DHCPMODE: {
		static const char *m[] = {"off", "server", "proxy"};
		snprintf(out, cap, "%s", m[*(const enum dhcp_mode *)slot]);
		break;
	}
	case K_EXPORTS:
		snprintf(out, cap, "%s",
			 *(const enum exports_format *)slot == EXPORTS_GANESHA ? "ganesha"
									       : "kernel");
		break;
	default: snprintf(out, cap, "(see the file)"); break;
	case K_BOOL: snprintf(out, cap, "%s", *(const bool *)slot ? "yes" : "no"); break;
	case K_UINT: snprintf(out, cap, "%u", *(const unsigned *)slot); break;
	case K_U16: snprintf(out, cap, "%u", *(const uint16_t *)slot); break;
	case K_U64: snprintf(out, cap, "%llu", (unsigned long long)*(const uint64_t *)slot); break;
	case K_BLKSIZE:
		if (*(const uint16_t *)slot)
			snprintf(out, cap, "%u", *(const uint16_t *)slot);
		else
			snprintf(out, cap, "mtu");
		break;
	case K_ENDPOINT: netaddr_str(slot, out, cap); break;
	case K_PORTS:
		if (c->tftp.port_lo)
			snprintf(out, cap, "%u-%u", c->tftp.port_lo, c->tftp.port_hi);
		else
			snprintf(out, cap, "%s", "");
		break;
	case K_NETLIST: {
		const struct netlist *l = slot;
		size_t o = 0;
		out[0] = 0;
		for (size_t i = 0; i < l->n && o < cap; i++) {
			struct in_addr ia = {htonl(l->nets[i].addr)};
			int plen = __builtin_popcount(l->nets[i].mask);
			o += (size_t)snprintf(out + o, cap - o, "%s%s/%d", i ? ", " : "",
					      inet_ntop(AF_INET, &ia, a, sizeof(a)), plen);
		}
		break;
	}
	case K_LOGLVL: {
		static const char *n[] = {"error", "warning", "info", "debug"};
		snprintf(out, cap, "%s", n[*(const enum log_level *)slot]);
		break;
	}
	}
}

void config_dump(const struct pxed_config *c, char *out, size_t cap)
{
	size_t o = 0;
	out[0] = 0;
	for (size_t i = 0; i < NKEYS && o < cap; i++) {
		char v[512];
		value_str(c, &keys[i], v, sizeof(v));
		o += (size_t)snprintf(out + o, cap - o, "%s.%s = %s\n", keys[i].section,
				      keys[i].key, v);
	}
	for (size_t i = 0; i < c->nsubnets && o < cap; i++)
		o += (size_t)snprintf(out + o, cap - o, "[subnet %s] %zu ranges\n",
				      c->subnets[i].name, c->subnets[i].nranges);
	for (size_t i = 0; i < c->nnodes && o < cap; i++)
		o += (size_t)snprintf(out + o, cap - o, "[node %s] %zu MACs, ip %s\n",
				      c->nodes[i].name, c->nodes[i].nmacs,
				      c->nodes[i].ip.s_addr ? inet_ntoa(c->nodes[i].ip)
							    : "dynamic");
}
