/* diskless/exports.c: see exports.h. */
#include "diskless/exports.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot/inventory.h"
#include "boot/sbuf.h"

const struct config_profile *diskless_node_profile(const struct pxed_config *c,
						   const struct config_node *node)
{
	struct boot_facts f = {.mac = node->nmacs ? node->macs[0] : NULL, .arch = 0xffff};
	struct boot_ctx b;
	if (!node->nmacs) {
		if (node->profile)
			return config_profile_by_name(c, node->profile);
		return c->boot.default_profile ? config_profile_by_name(c, c->boot.default_profile)
					       : NULL;
	}
	inventory_resolve(c, &f, &b);
	return b.profile;
}

bool diskless_any_nfs(const struct pxed_config *c)
{
	for (size_t i = 0; i < c->nprofiles; i++)
		if (c->profiles[i].diskless == DISKLESS_NFS)
			return true;
	return false;
}

const char *exports_default_file(enum exports_format f)
{
	return f == EXPORTS_GANESHA ? "/etc/ganesha/pxed-exports.conf"
				    : "/etc/exports.d/pxed.exports";
}

const char *exports_default_reload(enum exports_format f)
{
	return f == EXPORTS_GANESHA ? NULL : "exportfs -ra";
}

uint16_t exports_id_of(const char *path)
{
	uint32_t h = 2166136261u;
	for (const unsigned char *p = (const unsigned char *)path; *p; p++)
		h = (h ^ *p) * 16777619u;
	return (uint16_t)(2 + h % 65534u);
}

#define MAX_CLIENTS 32

/* One export being assembled. */
struct exp {
	char path[512];
	bool rw, squash, node;
	size_t nclients;
	char clients[MAX_CLIENTS][20];
	uint16_t id;
};

struct exps {
	size_t n, cap;
	struct exp *e;
};

static struct exp *exp_get(struct exps *x, const char *path)
{
	for (size_t i = 0; i < x->n; i++)
		if (!strcmp(x->e[i].path, path))
			return &x->e[i];
	if (x->n == x->cap) {
		size_t nc = x->cap ? x->cap * 2 : 16;
		struct exp *ne = realloc(x->e, nc * sizeof(*ne));
		if (!ne)
			return NULL;
		x->e = ne;
		x->cap = nc;
	}
	struct exp *e = &x->e[x->n++];
	memset(e, 0, sizeof(*e));
	snprintf(e->path, sizeof(e->path), "%s", path);
	return e;
}

static void exp_client(struct exp *e, const char *client)
{
	for (size_t i = 0; i < e->nclients; i++)
		if (!strcmp(e->clients[i], client))
			return;
	if (e->nclients < MAX_CLIENTS)
		snprintf(e->clients[e->nclients++], sizeof(e->clients[0]), "%s", client);
}

static void net_str(const struct net4 *n, char *out, size_t cap)
{
	struct in_addr a = {htonl(n->addr)};
	char s[16];
	inet_ntop(AF_INET, &a, s, sizeof(s));
	snprintf(out, cap, "%s/%d", s, __builtin_popcount(n->mask));
}

/* Clients of the shared exports of profile p: export-network, subnets, node addresses. */
static void shared_clients(const struct pxed_config *c, const struct config_profile *p,
			   struct exp *e)
{
	char s[20];
	for (size_t i = 0; i < c->nnodes; i++) {
		const struct config_node *n = &c->nodes[i];
		if (diskless_node_profile(c, n) != p)
			continue;
		const struct config_subnet *sn = n->ip.s_addr ? config_subnet_for(c, n->ip) : NULL;
		if (c->diskless.export_net.mask || c->diskless.export_net.addr)
			net_str(&c->diskless.export_net, s, sizeof(s));
		else if (sn)
			net_str(&sn->net, s, sizeof(s));
		else if (n->ip.s_addr)
			inet_ntop(AF_INET, &n->ip, s, sizeof(s));
		else
			continue;
		exp_client(e, s);
	}
}

/* The exports of one node (its tree, its profile's shared root and mounts). */
static int node_exports(const struct pxed_config *c, const struct config_node *n,
			const struct config_profile *p, struct exps *x, char *err, size_t cap)
{
	char path[512], ip[16];
	if (!n->ip.s_addr) {
		snprintf(err, cap,
			 "[node %s] has no fixed ip: its NFS root can only be exported to one "
			 "address (set ip = a.b.c.d)",
			 n->name);
		return -EINVAL;
	}
	inet_ntop(AF_INET, &n->ip, ip, sizeof(ip));
	snprintf(path, sizeof(path), "%s/%s", c->diskless.root, n->name);
	struct exp *e = exp_get(x, path);
	if (!e)
		return -ENOMEM;
	e->rw = e->node = true;
	exp_client(e, ip);
	if (p->shared_root) {
		snprintf(path, sizeof(path), "%s/shared/%s", c->diskless.root, p->name);
		if (!(e = exp_get(x, path)))
			return -ENOMEM;
		shared_clients(c, p, e);
	}
	struct config_mount m[CONFIG_MAX_MOUNTS];
	const char *why = NULL;
	int nm = p->mounts ? config_mounts_parse(p->mounts, m, CONFIG_MAX_MOUNTS, &why) : 0;
	for (int k = 0; k < nm; k++) {
		if (!(e = exp_get(x, m[k].dir)))
			return -ENOMEM;
		e->rw |= m[k].rw;
		e->squash = true;
		shared_clients(c, p, e);
	}
	return 0;
}

static int cmp_path(const void *a, const void *b)
{
	return strcmp(((const struct exp *)a)->path, ((const struct exp *)b)->path);
}

/* Export_Ids: each path's hash, probing upward (in path order) past ids already taken. */
static void assign_ids(struct exps *x)
{
	for (size_t i = 0; i < x->n; i++) {
		uint16_t id = exports_id_of(x->e[i].path);
		for (bool taken = true; taken;) {
			taken = false;
			for (size_t j = 0; j < i; j++)
				if (x->e[j].id == id)
					taken = true;
			if (taken)
				id = id == 65535 ? 2 : (uint16_t)(id + 1);
		}
		x->e[i].id = id;
	}
}

static void emit_kernel(const struct exp *e, struct sbuf *out)
{
	sbuf_puts(out, e->path);
	for (size_t i = 0; i < e->nclients; i++)
		sbuf_printf(out, " %s(%s,%s,no_subtree_check,sync)", e->clients[i],
			    e->rw ? "rw" : "ro", e->squash ? "root_squash" : "no_root_squash");
	sbuf_puts(out, "\n");
}

static void emit_ganesha(const struct exp *e, struct sbuf *out)
{
	sbuf_printf(out,
		    "EXPORT {\n\tExport_Id = %u;\n\tPath = \"%s\";\n\tPseudo = \"%s\";\n"
		    "\tProtocols = 3, 4;\n\tTransports = TCP;\n\tAccess_Type = None;\n"
		    "\tSquash = %s;\n\tSecType = sys;\n\tFSAL { Name = VFS; }\n"
		    "\tCLIENT {\n\t\tClients = ",
		    e->id, e->path, e->path, e->squash ? "Root_Squash" : "No_Root_Squash");
	for (size_t i = 0; i < e->nclients; i++)
		sbuf_printf(out, "%s%s", i ? ", " : "", e->clients[i]);
	sbuf_printf(out, ";\n\t\tAccess_Type = %s;\n\t}\n}\n", e->rw ? "RW" : "RO");
}

int exports_generate(const struct pxed_config *c, struct sbuf *out, char *err, size_t cap)
{
	struct exps x = {0};
	int rc = 0;
	for (size_t i = 0; i < c->nnodes && rc == 0; i++) {
		const struct config_profile *p = diskless_node_profile(c, &c->nodes[i]);
		if (p && p->diskless == DISKLESS_NFS)
			rc = node_exports(c, &c->nodes[i], p, &x, err, cap);
	}
	if (rc == 0) {
		if (x.n)
			qsort(x.e, x.n, sizeof(*x.e), cmp_path);
		assign_ids(&x);
		bool g = c->diskless.exports_format == EXPORTS_GANESHA;
		sbuf_puts(out,
			  "# generated by pxed diskless exports from the inventory: do not edit\n");
		for (size_t i = 0; i < x.n; i++) {
			if (!x.e[i].nclients)
				continue;
			(g ? emit_ganesha : emit_kernel)(&x.e[i], out);
		}
		if (out->failed)
			rc = -ENOMEM;
	}
	free(x.e);
	return rc;
}

/* Paths of exports(5) text: first word of each logical line. */
static int parse_kernel(const char *t, void (*fn)(void *, const char *), void *ctx)
{
	int n = 0;
	bool cont = false;
	while (*t) {
		size_t len = strcspn(t, "\n");
		const char *p = t;
		bool was_cont = cont;
		cont = len && t[len - 1] == '\\';
		p += strspn(p, " \t");
		if (!was_cont && *p != '#' && *p != '\n' && *p) {
			char path[1024];
			size_t w;
			if (*p == '"') {
				p++;
				w = strcspn(p, "\"\n");
			} else {
				w = strcspn(p, " \t\n");
			}
			if (w && w < sizeof(path)) {
				memcpy(path, p, w);
				path[w] = 0;
				fn(ctx, path);
				n++;
			}
		}
		t += len;
		if (*t)
			t++;
	}
	return n;
}

/* Paths of ganesha text: every Path = "..." (or unquoted up to ';'). */
static int parse_ganesha(const char *t, void (*fn)(void *, const char *), void *ctx)
{
	int n = 0;
	for (const char *p = t; (p = strstr(p, "Path")); p += 4) {
		if (p > t && (p[-1] == '_' || (p[-1] >= 'A' && p[-1] <= 'z')))
			continue; /* Pseudo_Path and the like */
		const char *q = p + 4;
		q += strspn(q, " \t");
		if (*q != '=')
			continue;
		q++;
		q += strspn(q, " \t");
		bool quoted = *q == '"';
		q += quoted;
		size_t w = strcspn(q, quoted ? "\"\n" : "; \t\n");
		char path[1024];
		if (w && w < sizeof(path)) {
			memcpy(path, q, w);
			path[w] = 0;
			fn(ctx, path);
			n++;
		}
	}
	return n;
}

int exports_parse_paths(const char *text, enum exports_format f,
			void (*fn)(void *ctx, const char *path), void *ctx)
{
	return f == EXPORTS_GANESHA ? parse_ganesha(text, fn, ctx) : parse_kernel(text, fn, ctx);
}
