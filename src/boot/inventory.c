/* Inventory resolution and variables; see inventory.h. */
#include "boot/inventory.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "boot/sbuf.h"
#include "core/config.h"
#include "dhcp/pxe_opts.h"

bool inventory_mac_matches(const char *globs, const char *mac)
{
	const char *p = globs;
	while (p && *p) {
		p += strspn(p, ", \t");
		size_t n = strcspn(p, ", \t");
		char g[64];
		if (n && n < sizeof(g)) {
			memcpy(g, p, n);
			g[n] = 0;
			if (fnmatch(g, mac, FNM_CASEFOLD) == 0)
				return true;
		}
		p += n;
	}
	return false;
}

static bool arch_matches(const char *names, uint16_t arch)
{
	const char *name = pxe_arch_name(arch);
	const struct pxe_arch *a = pxe_arch_lookup(arch);
	const char *p = names;
	while (p && *p) {
		p += strspn(p, ", \t");
		size_t n = strcspn(p, ", \t");
		if (n && ((strlen(name) == n && !strncmp(p, name, n)) ||
			  (a && strlen(a->family) == n && !strncmp(p, a->family, n))))
			return true;
		p += n;
	}
	return false;
}

static const struct config_group *match_group(const struct pxed_config *c, const char *mac,
					      uint16_t arch)
{
	for (size_t i = 0; i < c->ngroups; i++) {
		const struct config_group *g = &c->groups[i];
		if (g->match_mac && !inventory_mac_matches(g->match_mac, mac))
			continue;
		if (g->match_arch && !arch_matches(g->match_arch, arch))
			continue;
		return g;
	}
	return NULL;
}

static const struct config_node *node_by_ip(const struct pxed_config *c, const char *ip)
{
	struct in_addr a;
	if (!ip || inet_pton(AF_INET, ip, &a) != 1)
		return NULL;
	for (size_t i = 0; i < c->nnodes; i++)
		if (c->nodes[i].ip.s_addr && c->nodes[i].ip.s_addr == a.s_addr)
			return &c->nodes[i];
	return NULL;
}

/* Fill the identity fields of out from the facts. */
static void set_identity(const struct pxed_config *cfg, const struct boot_facts *f,
			 struct boot_ctx *out)
{
	out->cfg = cfg;
	out->arch = f->arch;
	out->reinstall = f->reinstall;
	if (f->mac) {
		memcpy(out->mac, f->mac, 6);
		snprintf(out->mac_str, sizeof(out->mac_str), "%02x:%02x:%02x:%02x:%02x:%02x",
			 f->mac[0], f->mac[1], f->mac[2], f->mac[3], f->mac[4], f->mac[5]);
		out->node = config_node_by_mac(cfg, f->mac);
	}
	if (!out->node && !f->mac)
		out->node = node_by_ip(cfg, f->ip);
	if (!f->mac && out->node && out->node->nmacs) {
		const uint8_t *m = out->node->macs[0];
		memcpy(out->mac, m, 6);
		snprintf(out->mac_str, sizeof(out->mac_str), "%02x:%02x:%02x:%02x:%02x:%02x", m[0],
			 m[1], m[2], m[3], m[4], m[5]);
	}
	if (f->ip)
		snprintf(out->ip, sizeof(out->ip), "%s", f->ip);
	else if (out->node && out->node->ip.s_addr)
		inet_ntop(AF_INET, &out->node->ip, out->ip, sizeof(out->ip));
	snprintf(out->server, sizeof(out->server), "%s",
		 cfg->boot.server ? cfg->boot.server
		 : f->server	  ? f->server
				  : "");
	unsigned port = ntohs(cfg->http.listen.sin_port);
	if (port == 80)
		snprintf(out->http, sizeof(out->http), "http://%s", out->server);
	else
		snprintf(out->http, sizeof(out->http), "http://%s:%u", out->server, port);
	if (f->ks_token)
		snprintf(out->ks_token, sizeof(out->ks_token), "%s", f->ks_token);
}

int inventory_resolve(const struct pxed_config *cfg, const struct boot_facts *f,
		      struct boot_ctx *out)
{
	memset(out, 0, sizeof(*out));
	set_identity(cfg, f, out);
	const char *pname = NULL;
	if (out->node && out->node->profile) {
		pname = out->node->profile;
		snprintf(out->why, sizeof(out->why), "node %s: profile %s", out->node->name, pname);
	} else if ((out->group = match_group(cfg, out->mac_str, f->arch))) {
		pname = out->group->profile;
		snprintf(out->why, sizeof(out->why), "group %s: profile %s", out->group->name,
			 pname);
	} else if (cfg->boot.default_profile) {
		pname = cfg->boot.default_profile;
		snprintf(out->why, sizeof(out->why), "%s: boot.default-profile %s",
			 out->node ? "node without a profile" : "unknown machine", pname);
	}
	out->profile = config_profile_by_name(cfg, pname);
	if (!out->profile) {
		out->action = BOOT_REFUSE;
		snprintf(out->why, sizeof(out->why),
			 "%s: no profile (set profile, a [group] or "
			 "boot.default-profile)",
			 out->node ? out->node->name : "unknown machine");
		return 0;
	}
	out->action = BOOT_PROFILE;
	if (out->profile->install && !out->reinstall) {
		out->action = BOOT_LOCAL;
		size_t n = strlen(out->why);
		snprintf(out->why + n, sizeof(out->why) - n,
			 "; installer, no reinstall requested: local boot");
	}
	return 0;
}

void boot_url(const struct boot_ctx *b, const char *path, char *out, size_t cap)
{
	if (strstr(path, "://"))
		snprintf(out, cap, "%s", path);
	else
		snprintf(out, cap, "%s/%s", b->http, path[0] == '/' ? path + 1 : path);
}

/* Space-separated URLs of the profile's initrds. */
static void initrd_urls(const struct boot_ctx *b, char *out, size_t cap)
{
	size_t o = 0;
	out[0] = 0;
	const char *p = b->profile ? b->profile->initrd : NULL;
	while (p && *p && o < cap) {
		p += strspn(p, ", \t");
		size_t n = strcspn(p, ", \t");
		if (!n)
			break;
		char path[512], url[640];
		snprintf(path, sizeof(path), "%.*s", (int)n, p);
		boot_url(b, path, url, sizeof(url));
		o += (size_t)snprintf(out + o, cap - o, "%s%s", o ? " " : "", url);
		p += n;
	}
}

/* diskless.root/<node>, or the shared root of a shared-root profile; false when neither. */
static bool nfs_path(const struct boot_ctx *b, char *out, size_t cap)
{
	const struct config_profile *p = b->profile;
	if (!p || p->diskless != DISKLESS_NFS || (!p->shared_root && !b->node))
		return false;
	int n = p->shared_root ? snprintf(out, cap, "%s/shared/%s", b->cfg->diskless.root, p->name)
			       : snprintf(out, cap, "%s/%s", b->cfg->diskless.root, b->node->name);
	return n > 0 && (size_t)n < cap;
}

static const char *nfs_server(const struct boot_ctx *b)
{
	const struct pxed_config *c = b->cfg;
	return c->diskless.nfs_server ? c->diskless.nfs_server
	       : c->boot.server	      ? c->boot.server
				      : b->server;
}

int diskless_root_path(const struct boot_ctx *b, char *out, size_t cap)
{
	char path[512];
	if (!nfs_path(b, path, sizeof(path)))
		return -1;
	int n = snprintf(out, cap, "%s:%s", nfs_server(b), path);
	return n > 0 && (size_t)n < cap ? 0 : -1;
}

/* nfs-* (diskless = nfs) and image-url / overlay-url (diskless = ram). */
static const char *diskless_var(const struct boot_ctx *b, const char *key, char *buf, size_t cap)
{
	const struct config_profile *p = b->profile;
	if (!p || p->diskless == DISKLESS_NONE)
		return NULL;
	if (p->diskless == DISKLESS_RAM) {
		if (!strcmp(key, "image-url"))
			snprintf(buf, cap, "%s/diskless/image/%s.cpio.gz", b->http, p->name);
		else if (!strcmp(key, "overlay-url") && b->node)
			snprintf(buf, cap, "%s/diskless/overlay/%s.cpio.gz", b->http,
				 b->node->name);
		else
			return NULL;
		return buf;
	}
	if (!strcmp(key, "nfs-server"))
		return nfs_server(b);
	if (!strcmp(key, "nfs-options")) {
		const char *o = p->nfs_options ? p->nfs_options : b->cfg->diskless.nfs_options;
		return o ? o : "";
	}
	if (!strcmp(key, "nfs-path"))
		return nfs_path(b, buf, cap) ? buf : NULL;
	if (!strcmp(key, "nfs-root"))
		return diskless_root_path(b, buf, cap) == 0 ? buf : NULL;
	if (!strcmp(key, "nfs-rw") && p->shared_root && b->node) {
		snprintf(buf, cap, "%s:%s/%s", nfs_server(b), b->cfg->diskless.root, b->node->name);
		return buf;
	}
	return NULL;
}

/* Built-in variables. */
static const char *builtin(const struct boot_ctx *b, const char *key, char *buf, size_t cap)
{
	const char *name = b->node ? b->node->name : "";
	if (!strcmp(key, "server"))
		return b->server;
	if (!strcmp(key, "http"))
		return b->http;
	if (!strcmp(key, "ip"))
		return b->ip;
	if (!strcmp(key, "mac"))
		return b->mac_str;
	if (!strcmp(key, "mac-hyphen")) {
		snprintf(buf, cap, "%s", b->mac_str);
		for (char *c = buf; *c; c++)
			*c = *c == ':' ? '-' : *c;
		return buf;
	}
	if (!strcmp(key, "name"))
		return name;
	if (!strcmp(key, "hostname"))
		return b->node && b->node->hostname ? b->node->hostname : name;
	if (!strcmp(key, "profile"))
		return b->profile ? b->profile->name : "";
	if (!strcmp(key, "arch"))
		return pxe_arch_name(b->arch);
	if (!strcmp(key, "ks-url") || !strcmp(key, "up-url")) {
		snprintf(buf, cap, "%s/%s/%s?token=%s", b->http, key[0] == 'k' ? "ks" : "up", name,
			 b->ks_token);
		return buf;
	}
	if (!strcmp(key, "kernel-url") && b->profile) {
		boot_url(b, b->profile->kernel, buf, cap);
		return buf;
	}
	if (!strcmp(key, "initrd-urls")) {
		initrd_urls(b, buf, cap);
		return buf;
	}
	return diskless_var(b, key, buf, cap);
}

const char *boot_var(const struct boot_ctx *b, const char *key, char *buf, size_t cap)
{
	const char *v = NULL;
	if (b->node)
		v = config_var(&b->node->vars, key);
	if (!v && b->group)
		v = config_var(&b->group->vars, key);
	if (!v && b->profile)
		v = config_var(&b->profile->vars, key);
	return v ? v : builtin(b, key, buf, cap);
}

static int expand(const struct boot_ctx *b, const char *tmpl, struct sbuf *out, int depth)
{
	if (depth > 8)
		return -ELOOP;
	const char *p = tmpl;
	while (*p) {
		const char *d = strstr(p, "${");
		const char *e = d ? strchr(d + 2, '}') : NULL;
		if (!d || !e) {
			sbuf_puts(out, p);
			break;
		}
		if (d > p && d[-1] == '$') { /* "$${x}" is a literal "${x}" */
			sbuf_add(out, p, (size_t)(d - p - 1));
			sbuf_add(out, d, (size_t)(e - d + 1));
			p = e + 1;
			continue;
		}
		sbuf_add(out, p, (size_t)(d - p));
		char key[64], buf[1024];
		size_t kl = (size_t)(e - d - 2);
		const char *v = NULL;
		if (kl < sizeof(key)) {
			memcpy(key, d + 2, kl);
			key[kl] = 0;
			v = boot_var(b, key, buf, sizeof(buf));
		}
		if (v) {
			int rc = expand(b, v, out, depth + 1);
			if (rc < 0)
				return rc;
		} else {
			sbuf_add(out, d, (size_t)(e - d + 1)); /* unknown: keep literally */
		}
		p = e + 1;
	}
	return out->failed ? -ENOMEM : 0;
}

int boot_expand_into(const struct boot_ctx *b, const char *tmpl, struct sbuf *out)
{
	return expand(b, tmpl, out, 0);
}
