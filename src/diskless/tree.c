/* diskless/tree.c: the pure parts of tree handling (listings, sync plan, personal files); the
 * file system adapter is tree_io.c. See tree.h. */
#include "diskless/tree.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"

int tree_list_add(struct tree_list *l, const struct tree_entry *e)
{
	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 256;
		struct tree_entry *ne = realloc(l->e, nc * sizeof(*ne));
		if (!ne)
			return -ENOMEM;
		l->e = ne;
		l->cap = nc;
	}
	struct tree_entry c = *e;
	c.path = strdup(e->path);
	c.link = e->link ? strdup(e->link) : NULL;
	if (!c.path || (e->link && !c.link)) {
		free(c.path);
		free(c.link);
		return -ENOMEM;
	}
	l->e[l->n++] = c;
	return 0;
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct tree_entry *)a)->path, ((const struct tree_entry *)b)->path);
}

void tree_list_sort(struct tree_list *l)
{
	if (l->n)
		qsort(l->e, l->n, sizeof(*l->e), cmp_entry);
}

const struct tree_entry *tree_list_find(const struct tree_list *l, const char *path)
{
	if (!l || !l->n)
		return NULL;
	struct tree_entry key = {.path = (char *)path};
	return bsearch(&key, l->e, l->n, sizeof(*l->e), cmp_entry);
}

void tree_list_free(struct tree_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++) {
		free(l->e[i].path);
		free(l->e[i].link);
	}
	free(l->e);
	l->e = NULL;
	l->n = l->cap = 0;
}

static const char *const builtin_per_node[] = {
	"etc/hostname",
	"etc/hosts",
	"etc/fstab",
	"etc/pxed-node",
	"etc/machine-id",
	"etc/ssh/ssh_host_*",
	"var",
	"home",
	"root",
	"tmp",
	NULL,
};

static const char *const managed[] = {
	"etc/hostname", "etc/hosts", "etc/fstab", "etc/pxed-node", "fastboot", NULL,
};

/* Does pattern pat (n bytes) match path or one of its ancestors? */
static bool glob_covers(const char *pat, size_t n, const char *path)
{
	char g[512], pre[4096];
	while (n && pat[0] == '/')
		pat++, n--;
	while (n && (pat[n - 1] == ' ' || pat[n - 1] == '\t'))
		n--;
	if (n >= 3 && !strncmp(pat + n - 3, "/**", 3))
		n -= 3;
	while (n && pat[n - 1] == '/')
		n--;
	if (!n || n >= sizeof(g) || strlen(path) >= sizeof(pre))
		return false;
	memcpy(g, pat, n);
	g[n] = 0;
	strcpy(pre, path);
	for (;;) {
		if (fnmatch(g, pre, FNM_PATHNAME) == 0)
			return true;
		char *s = strrchr(pre, '/');
		if (!s)
			return false;
		*s = 0;
	}
}

bool tree_is_per_node(const char *path, const char *extra)
{
	for (size_t i = 0; builtin_per_node[i]; i++)
		if (glob_covers(builtin_per_node[i], strlen(builtin_per_node[i]), path))
			return true;
	const char *p = extra;
	while (p && *p) {
		p += strspn(p, ", \t");
		size_t n = strcspn(p, ",");
		if (n && glob_covers(p, n, path))
			return true;
		p += n;
	}
	return false;
}

bool tree_is_managed(const char *path)
{
	for (size_t i = 0; managed[i]; i++)
		if (!strcmp(path, managed[i]))
			return true;
	return false;
}

/* Does the tree entry d differ from the template entry s? */
static bool differs(const struct tree_entry *s, const struct tree_entry *d, unsigned flags)
{
	if (s->kind != d->kind || s->mode != d->mode || s->uid != d->uid || s->gid != d->gid)
		return true;
	switch (s->kind) {
	case TK_DIR: return false;
	case TK_LNK: return strcmp(s->link ? s->link : "", d->link ? d->link : "") != 0;
	case TK_CHR:
	case TK_BLK: return s->rdev != d->rdev;
	case TK_REG:
		if (s->size != d->size)
			return true;
		if ((flags & TREE_CHECKSUM) && s->has_sum && d->has_sum)
			return s->sum != d->sum;
		return s->mtime_s != d->mtime_s || s->mtime_ns != d->mtime_ns;
	default: return false;
	}
}

static int push(struct tree_plan *p, enum tree_op op, const char *path,
		const struct tree_entry *src, const struct tree_entry *dst)
{
	if (p->n == p->cap) {
		size_t nc = p->cap ? p->cap * 2 : 64;
		struct tree_action *na = realloc(p->a, nc * sizeof(*na));
		if (!na)
			return -ENOMEM;
		p->a = na;
		p->cap = nc;
	}
	p->a[p->n++] = (struct tree_action){op, path, src, dst};
	return 0;
}

/* Is path beneath dir ("dir/...")? */
static bool beneath(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	return !strncmp(path, dir, n) && path[n] == '/';
}

/* The decision for a path only in the tree: delete, would-delete, or keep (-1). */
static int tree_only(const struct tree_entry *d, const struct tree_list *manifest,
		     const char *per_node, unsigned flags)
{
	if (!tree_list_find(manifest, d->path) ||
	    (!(flags & TREE_NO_PER_NODE) && tree_is_per_node(d->path, per_node)))
		return -1;
	return (flags & TREE_FORCE) ? TREE_DELETE : TREE_WOULD_DELETE;
}

/* Deletions of tree entries i..: descending, skipping directories that keep something. */
static int plan_deletes(const struct tree_list *tree, const signed char *del, struct tree_plan *out)
{
	for (size_t k = tree->n; k-- > 0;) {
		if (del[k] < 0)
			continue;
		const struct tree_entry *d = &tree->e[k];
		bool keeps = false;
		for (size_t j = k + 1; j < tree->n && beneath(tree->e[j].path, d->path); j++)
			if (del[j] < 0) {
				keeps = true;
				break;
			}
		if (d->kind == TK_DIR && keeps)
			continue;
		if (push(out, (enum tree_op)del[k], d->path, NULL, d) < 0)
			return -ENOMEM;
	}
	return 0;
}

int tree_plan_sync(const struct tree_list *tmpl, const struct tree_list *tree,
		   const struct tree_list *manifest, const char *per_node, unsigned flags,
		   struct tree_plan *out)
{
	signed char *del = calloc(tree->n + 1, 1);
	if (!del)
		return -ENOMEM;
	size_t i = 0, j = 0;
	int rc = 0;
	while (rc == 0 && (i < tmpl->n || j < tree->n)) {
		const struct tree_entry *s = i < tmpl->n ? &tmpl->e[i] : NULL;
		const struct tree_entry *d = j < tree->n ? &tree->e[j] : NULL;
		int c = !s ? 1 : !d ? -1 : strcmp(s->path, d->path);
		if (c < 0) {
			rc = push(out, TREE_ADD, s->path, s, NULL);
			i++;
		} else if (c > 0) {
			del[j] = (signed char)tree_only(d, manifest, per_node, flags);
			j++;
		} else {
			del[j] = -1;
			bool own = !(flags & TREE_NO_PER_NODE);
			if ((own && tree_is_managed(s->path)) || !differs(s, d, flags))
				;
			else if (d->kind == TK_DIR && s->kind != TK_DIR)
				rc = push(out, TREE_CONFLICT, s->path, s, d);
			else if (own && tree_is_per_node(s->path, per_node))
				rc = push(out, TREE_KEEP, s->path, s, d);
			else
				rc = push(out, TREE_UPDATE, s->path, s, d);
			i++, j++;
		}
	}
	if (rc == 0)
		rc = plan_deletes(tree, del, out);
	free(del);
	return rc;
}

void tree_plan_free(struct tree_plan *p)
{
	if (!p)
		return;
	free(p->a);
	p->a = NULL;
	p->n = p->cap = 0;
}

void tree_action_format(const struct tree_action *a, char *out, size_t cap)
{
	switch (a->op) {
	case TREE_ADD: snprintf(out, cap, "+ %s", a->path); break;
	case TREE_UPDATE: snprintf(out, cap, "M %s", a->path); break;
	case TREE_DELETE: snprintf(out, cap, "- %s", a->path); break;
	case TREE_WOULD_DELETE:
		snprintf(out, cap, "- %s (would delete, needs --force)", a->path);
		break;
	case TREE_KEEP: snprintf(out, cap, "= %s (per-node, kept)", a->path); break;
	case TREE_CONFLICT:
		snprintf(out, cap,
			 "! %s (a directory in the tree, not in the template: left alone)",
			 a->path);
		break;
	}
}

/* Mount options: the profile's, else diskless.nfs-options, prefixed by mode. */
static void mount_opts(const struct pxed_config *c, const struct config_profile *p,
		       const char *mode, char *out, size_t cap)
{
	const char *o = p->nfs_options ? p->nfs_options : c->diskless.nfs_options;
	snprintf(out, cap, "%s%s%s", mode, o && *o ? "," : "", o ? o : "");
}

static int fstab_render(const struct pxed_config *c, const struct config_node *node,
			const struct config_profile *p, const char *server, char *out, size_t cap)
{
	char ro[300], rw[300];
	mount_opts(c, p, "ro", ro, sizeof(ro));
	mount_opts(c, p, "rw", rw, sizeof(rw));
	const char *root = c->diskless.root;
	size_t o = 0;
	int n;
	if (p->shared_root)
		n = snprintf(out, cap,
			     "# generated by pxed for node %s: edits are replaced by pxed diskless "
			     "sync\n"
			     "%s:%s/shared/%s / nfs %s 0 0\n"
			     "%s:%s/%s/etc /etc nfs %s 0 0\n"
			     "%s:%s/%s/var /var nfs %s 0 0\n",
			     node->name, server, root, p->name, ro, server, root, node->name, rw,
			     server, root, node->name, rw);
	else
		n = snprintf(out, cap,
			     "# generated by pxed for node %s: edits are replaced by pxed diskless "
			     "sync\n"
			     "%s:%s/%s / nfs %s 0 0\n",
			     node->name, server, root, node->name, rw);
	if (n < 0 || (size_t)n >= cap)
		return -ENOSPC;
	o = (size_t)n;
	struct config_mount m[CONFIG_MAX_MOUNTS];
	const char *why = NULL;
	int nm = p->mounts ? config_mounts_parse(p->mounts, m, CONFIG_MAX_MOUNTS, &why) : 0;
	for (int k = 0; k < nm; k++) {
		n = snprintf(out + o, cap - o, "%s:%s %s nfs %s 0 0\n", server, m[k].dir,
			     m[k].mountpoint, m[k].rw ? rw : ro);
		if (n < 0 || (size_t)n >= cap - o)
			return -ENOSPC;
		o += (size_t)n;
	}
	n = snprintf(out + o, cap - o,
		     "proc /proc proc defaults 0 0\ntmpfs /tmp tmpfs defaults,mode=1777 0 0\n");
	return n < 0 || (size_t)n >= cap - o ? -ENOSPC : 0;
}

int tree_personal_render(const struct pxed_config *c, const struct config_node *node,
			 const struct config_profile *p, const char *server,
			 struct tree_personal *out)
{
	const char *host = node->hostname ? node->hostname : node->name;
	char ip[16] = "127.0.1.1", mac[18] = "";
	if (node->ip.s_addr)
		inet_ntop(AF_INET, &node->ip, ip, sizeof(ip));
	if (node->nmacs) {
		const uint8_t *m = node->macs[0];
		snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3],
			 m[4], m[5]);
	}
	int n1 = snprintf(out->hostname, sizeof(out->hostname), "%s\n", host);
	int n2 = snprintf(out->hosts, sizeof(out->hosts),
			  "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
			  "%s\t%s%s%s\n",
			  ip, host, strcmp(host, node->name) ? " " : "",
			  strcmp(host, node->name) ? node->name : "");
	int n3 = snprintf(out->stamp, sizeof(out->stamp), "node=%s\nmac=%s\n", node->name, mac);
	if (n1 < 0 || (size_t)n1 >= sizeof(out->hostname) || n2 < 0 ||
	    (size_t)n2 >= sizeof(out->hosts) || n3 < 0 || (size_t)n3 >= sizeof(out->stamp))
		return -ENOSPC;
	return fstab_render(c, node, p, server, out->fstab, sizeof(out->fstab));
}
