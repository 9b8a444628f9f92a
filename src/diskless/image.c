/* diskless/image.c: see image.h. The pure parts first (SHA-256, names, whiteouts, the merged
 * tree, keys, JSON), then the I/O (directory walk, tar layers, the cpio writer, outputs). */
#include "diskless/image.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* ---- SHA-256: nettle ----------------------------------------------------------------------- */

void image_sha256_init(struct image_sha256 *s)
{
	sha256_init(&s->ctx);
}

void image_sha256_update(struct image_sha256 *s, const void *p, size_t n)
{
	sha256_update(&s->ctx, n, p);
}

void image_sha256_final(struct image_sha256 *s, uint8_t out[32])
{
	sha256_digest(&s->ctx, SHA256_DIGEST_SIZE, out);
}

void image_hex(const uint8_t *p, size_t n, char *out)
{
	static const char dig[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = dig[p[i] >> 4];
		out[2 * i + 1] = dig[p[i] & 15];
	}
	out[2 * n] = '\0';
}

/* ---- names and whiteouts ------------------------------------------------------------------ */

int image_clean_name(const char *in, char *out, size_t cap)
{
	char tmp[4096];
	size_t o = 0;
	if (in[0] == '/')
		return -EINVAL;
	for (const char *p = in; *p;) {
		size_t len = strcspn(p, "/");
		if ((len == 2 && p[0] == '.' && p[1] == '.'))
			return -EACCES;
		if (len && !(len == 1 && p[0] == '.')) {
			for (size_t i = 0; i < len; i++)
				if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
					return -EINVAL;
			if (o + len + 2 > sizeof(tmp))
				return -ENAMETOOLONG;
			if (o)
				tmp[o++] = '/';
			memcpy(tmp + o, p, len);
			o += len;
		}
		p += len;
		while (*p == '/')
			p++;
	}
	if (o + 1 > cap)
		return -ENAMETOOLONG;
	memcpy(out, tmp, o);
	out[o] = '\0';
	return 0;
}

enum image_whiteout image_whiteout(const char *clean, char *target, size_t cap)
{
	const char *slash = strrchr(clean, '/');
	const char *base = slash ? slash + 1 : clean;
	int dirlen = slash ? (int)(slash - clean) : 0;
	if (strncmp(base, ".wh.", 4) != 0)
		return IMAGE_WH_NONE;
	if (strcmp(base, ".wh..wh..opq") == 0) {
		snprintf(target, cap, "%.*s", dirlen, clean);
		return IMAGE_WH_OPAQUE;
	}
	if (!base[4])
		return IMAGE_WH_NONE;
	snprintf(target, cap, "%.*s%s%s", dirlen, clean, slash ? "/" : "", base + 4);
	return IMAGE_WH_DELETE;
}

/* ---- the merged tree ---------------------------------------------------------------------- */

static size_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return (size_t)h;
}

void image_tree_init(struct image_tree *t)
{
	memset(t, 0, sizeof(*t));
}

static void node_free(struct image_node *n)
{
	if (!n)
		return;
	free(n->path);
	free(n->target);
	free(n->src);
	free(n);
}

void image_tree_free(struct image_tree *t)
{
	for (size_t i = 0; i < t->n; i++)
		node_free(t->nodes[i]);
	free(t->nodes);
	free(t->hash);
	memset(t, 0, sizeof(*t));
}

struct image_node *image_tree_get(const struct image_tree *t, const char *path)
{
	if (!t->nbuckets)
		return NULL;
	for (struct image_node *n = t->hash[hash_str(path) % t->nbuckets]; n; n = n->hnext)
		if (!n->dead && strcmp(n->path, path) == 0)
			return n;
	return NULL;
}

static int tree_grow(struct image_tree *t)
{
	if (t->n < t->cap)
		return 0;
	size_t cap = t->cap ? 2 * t->cap : 256;
	struct image_node **v = realloc(t->nodes, cap * sizeof(*v));
	struct image_node **h = calloc(cap, sizeof(*h));
	if (!v || !h) {
		if (v)
			t->nodes = v;
		free(h);
		return -ENOMEM;
	}
	t->nodes = v;
	t->cap = cap;
	free(t->hash);
	t->hash = h;
	t->nbuckets = cap;
	for (size_t i = 0; i < t->n; i++) { /* rehash (dead ones too: simpler, harmless) */
		size_t b = hash_str(v[i]->path) % cap;
		v[i]->hnext = h[b];
		h[b] = v[i];
	}
	return 0;
}

/* Is path beneath dir ("" is the root: everything)? */
static bool beneath(const char *path, const char *dir)
{
	size_t dl = strlen(dir);
	if (!dl)
		return true;
	return strncmp(path, dir, dl) == 0 && path[dl] == '/';
}

void image_tree_delete(struct image_tree *t, const char *path)
{
	for (size_t i = 0; i < t->n; i++)
		if (!t->nodes[i]->dead &&
		    (strcmp(t->nodes[i]->path, path) == 0 || beneath(t->nodes[i]->path, path)))
			t->nodes[i]->dead = true;
}

void image_tree_opaque(struct image_tree *t, const char *dir, int layer)
{
	for (size_t i = 0; i < t->n; i++)
		if (!t->nodes[i]->dead && t->nodes[i]->layer < layer &&
		    beneath(t->nodes[i]->path, dir))
			t->nodes[i]->dead = true;
}

void image_tree_skip(struct image_tree *t, const char *name, const char *why)
{
	if (!t->skipped++)
		snprintf(t->first_skipped, sizeof(t->first_skipped), "%.120s: %s", name, why);
}

int image_tree_put(struct image_tree *t, const struct image_node *n)
{
	if (n->type == IMAGE_HARDLINK) {
		struct image_node *tg = n->target ? image_tree_get(t, n->target) : NULL;
		if (!tg || (tg->type != IMAGE_FILE && tg->type != IMAGE_HARDLINK) ||
		    strcmp(n->target, n->path) == 0) {
			image_tree_skip(t, n->path, "hard link to a missing file");
			return -ENOENT;
		}
	}
	struct image_node *old = image_tree_get(t, n->path);
	if (old) {
		if (old->type == IMAGE_DIR && n->type != IMAGE_DIR)
			image_tree_delete(t, n->path);
		old->dead = true;
	}
	if (tree_grow(t) < 0)
		return -ENOMEM;
	struct image_node *c = malloc(sizeof(*c));
	if (!c)
		return -ENOMEM;
	*c = *n;
	c->path = strdup(n->path);
	c->target = n->target ? strdup(n->target) : NULL;
	c->src = n->src ? strdup(n->src) : NULL;
	c->dead = false;
	if (!c->path || (n->target && !c->target) || (n->src && !c->src)) {
		node_free(c);
		return -ENOMEM;
	}
	size_t b = hash_str(c->path) % t->nbuckets;
	c->hnext = t->hash[b];
	t->hash[b] = c;
	t->nodes[t->n++] = c;
	return 0;
}

bool image_tree_add_init(struct image_tree *t)
{
	if (image_tree_get(t, "init") || !image_tree_get(t, "sbin/init"))
		return false;
	struct image_node n = {.path = "init",
			       .type = IMAGE_SYMLINK,
			       .perm = 0777,
			       .target = "/sbin/init",
			       .off = -1};
	return image_tree_put(t, &n) == 0;
}

static int cmp_node(const void *a, const void *b)
{
	const struct image_node *x = *(struct image_node *const *)a;
	const struct image_node *y = *(struct image_node *const *)b;
	/* compare with '/' lowest, so "a/b" sorts right after "a" and before "a-b" */
	const unsigned char *p = (const unsigned char *)x->path,
			    *q = (const unsigned char *)y->path;
	for (; *p && *p == *q; p++, q++)
		;
	int cp = *p == '/' ? 1 : *p ? *p + 1 : 0, cq = *q == '/' ? 1 : *q ? *q + 1 : 0;
	return cp - cq;
}

struct image_node **image_tree_sorted(const struct image_tree *t, size_t *n)
{
	size_t live = 0;
	*n = 0;
	for (size_t i = 0; i < t->n; i++)
		live += !t->nodes[i]->dead;
	if (!live)
		return NULL;
	struct image_node **v = malloc(live * sizeof(*v));
	if (!v)
		return NULL;
	for (size_t i = 0, j = 0; i < t->n; i++)
		if (!t->nodes[i]->dead)
			v[j++] = t->nodes[i];
	qsort(v, live, sizeof(*v), cmp_node);
	*n = live;
	return v;
}

int image_tree_fill_parents(struct image_tree *t)
{
	for (size_t i = 0; i < t->n; i++) { /* t->n grows as parents are added: they get checked */
		if (t->nodes[i]->dead)
			continue;
		char parent[4096];
		snprintf(parent, sizeof(parent), "%s", t->nodes[i]->path);
		char *slash = strrchr(parent, '/');
		if (!slash)
			continue;
		*slash = '\0';
		if (image_tree_get(t, parent))
			continue;
		struct image_node d = {.path = parent, .type = IMAGE_DIR, .perm = 0755, .off = -1};
		if (image_tree_put(t, &d) < 0)
			return -ENOMEM;
	}
	return 0;
}

static const char type_char[] = "fdlhcbps";

void image_key_listing(struct image_node *const *v, size_t n, char key[65])
{
	struct image_sha256 s;
	uint8_t d[32];
	char line[160];
	image_sha256_init(&s);
	snprintf(line, sizeof(line), "pxed-image v%d dir\n", IMAGE_FORMAT_VERSION);
	image_sha256_update(&s, line, strlen(line));
	for (size_t i = 0; i < n; i++) {
		const struct image_node *e = v[i];
		image_sha256_update(&s, e->path, strlen(e->path) + 1);
		snprintf(line, sizeof(line), "%c %o %u %u %" PRIu64 " %" PRId64 ".%09ld %" PRIu64,
			 type_char[e->type], e->perm, e->uid, e->gid, e->size, e->mtime_s,
			 e->mtime_ns, e->rdev);
		image_sha256_update(&s, line, strlen(line) + 1);
		if (e->target)
			image_sha256_update(&s, e->target, strlen(e->target));
		image_sha256_update(&s, "\n", 1);
	}
	image_sha256_final(&s, d);
	image_hex(d, 32, key);
}

void image_key_tar(const char *file_sha256_hex, char key[65])
{
	struct image_sha256 s;
	uint8_t d[32];
	char line[160];
	image_sha256_init(&s);
	snprintf(line, sizeof(line), "pxed-image v%d tar %s\n", IMAGE_FORMAT_VERSION,
		 file_sha256_hex);
	image_sha256_update(&s, line, strlen(line));
	image_sha256_final(&s, d);
	image_hex(d, 32, key);
}

/* ---- JSON of image manifests: json-c ------------------------------------------------------ */

/* One string value into a row: at most 255 bytes, control bytes (which a name must not carry)
 * as '?'. */
static void json_row(const char *v, size_t len, char row[256])
{
	size_t n = len < 255 ? len : 255;
	for (size_t i = 0; i < n; i++)
		row[i] = (unsigned char)v[i] < 0x20 || v[i] == 0x7f ? '?' : v[i];
	row[n] = '\0';
}

/* Collect the elements of array a (strings, or the string `member` of object elements). */
static int json_collect(json_object *a, const char *member, char (*out)[256], size_t cap)
{
	size_t n = 0, len = json_object_array_length(a);
	for (size_t i = 0; i < len && n < cap; i++) {
		json_object *e = json_object_array_get_idx(a, i), *v = e;
		if (member && (!json_object_is_type(e, json_type_object) ||
			       !json_object_object_get_ex(e, member, &v)))
			continue;
		if (!json_object_is_type(v, json_type_string))
			continue;
		json_row(json_object_get_string(v), (size_t)json_object_get_string_len(v),
			 out[n++]);
	}
	return (int)n;
}

/* Depth-first, in document order: the first member named key whose value is an array. */
static json_object *json_find_array(json_object *o, const char *key)
{
	if (json_object_is_type(o, json_type_object)) {
		json_object_object_foreach(o, k, v)
		{
			if (!strcmp(k, key) && json_object_is_type(v, json_type_array))
				return v;
			json_object *f = json_find_array(v, key);
			if (f)
				return f;
		}
	} else if (json_object_is_type(o, json_type_array)) {
		size_t len = json_object_array_length(o);
		for (size_t i = 0; i < len; i++) {
			json_object *f = json_find_array(json_object_array_get_idx(o, i), key);
			if (f)
				return f;
		}
	}
	return NULL;
}

int image_json_strings(const char *js, size_t len, const char *key, const char *member,
		       char (*out)[256], size_t cap)
{
	if (len > INT32_MAX)
		return -EINVAL;
	json_tokener *tok = json_tokener_new();
	if (!tok)
		return -ENOMEM;
	json_object *root = json_tokener_parse_ex(tok, js, (int)len);
	if (!root && json_tokener_get_error(tok) == json_tokener_continue)
		root = json_tokener_parse_ex(tok, "", 1); /* the NUL ends a top-level number */
	json_tokener_free(tok);
	if (!root)
		return -EINVAL;
	json_object *a = json_find_array(root, key);
	int n = a ? json_collect(a, member, out, cap) : -EINVAL;
	json_object_put(root);
	return n;
}

/* ---- building: shared state ----------------------------------------------------------------- */

struct build {
	struct image_spec *spec;
	struct image_result *r;
	struct image_tree tree;
	int spool; /* unlinked temporary file with the data of tar members, or -1 */
	int64_t spool_len;
};

static int failf(struct image_result *r, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int failf(struct image_result *r, int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->err, sizeof(r->err), fmt, ap);
	va_end(ap);
	return err < 0 ? err : -EIO;
}

static bool cancelled(const struct image_spec *spec)
{
	return spec->cancel && atomic_load(spec->cancel);
}

/* ---- directory templates -------------------------------------------------------------------- */

struct hl_seen {
	dev_t dev;
	ino_t ino;
	char *path;
};

struct walk {
	struct build *b;
	struct hl_seen *seen;
	size_t nseen, capseen;
};

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int walk_entry(struct walk *w, const char *abs, const char *rel, const struct stat *st);

/* Add what is in directory abs (rel inside the image) in name order. */
static int walk_dir(struct walk *w, const char *abs, const char *rel)
{
	struct dirent **names;
	int n = scandir(abs, &names, NULL, by_name), rc = 0;
	if (n < 0)
		return failf(w->b->r, -errno, "%s: %s", abs, strerror(errno));
	for (int i = 0; i < n; i++) {
		const char *nm = names[i]->d_name;
		char a[4096], r[4096];
		struct stat st;
		if (rc == 0 && strcmp(nm, ".") && strcmp(nm, "..")) {
			snprintf(a, sizeof(a), "%s/%s", abs, nm);
			snprintf(r, sizeof(r), "%s%s%s", rel, rel[0] ? "/" : "", nm);
			if (strlen(a) >= sizeof(a) - 1 || strlen(r) >= sizeof(r) - 1)
				rc = failf(w->b->r, -ENAMETOOLONG, "%s: name too long", a);
			else if (lstat(a, &st) < 0)
				rc = failf(w->b->r, -errno, "%s: %s", a, strerror(errno));
			else
				rc = walk_entry(w, a, r, &st);
		}
		free(names[i]);
	}
	free(names);
	return rc;
}

static int walk_entry(struct walk *w, const char *abs, const char *rel, const struct stat *st)
{
	char target[4096];
	struct image_node n = {.path = (char *)rel,
			       .perm = st->st_mode & 07777,
			       .uid = st->st_uid,
			       .gid = st->st_gid,
			       .mtime_s = st->st_mtim.tv_sec,
			       .mtime_ns = st->st_mtim.tv_nsec,
			       .off = -1};
	if (cancelled(w->b->spec))
		return failf(w->b->r, -ECANCELED, "cancelled");
	switch (st->st_mode & S_IFMT) {
	case S_IFDIR: n.type = IMAGE_DIR; break;
	case S_IFLNK: {
		ssize_t len = readlink(abs, target, sizeof(target) - 1);
		if (len < 0)
			return failf(w->b->r, -errno, "%s: %s", abs, strerror(errno));
		target[len] = '\0';
		n.type = IMAGE_SYMLINK;
		n.target = target;
		break;
	}
	case S_IFCHR: n.type = IMAGE_CHR, n.rdev = st->st_rdev; break;
	case S_IFBLK: n.type = IMAGE_BLK, n.rdev = st->st_rdev; break;
	case S_IFIFO: n.type = IMAGE_FIFO; break;
	case S_IFSOCK: n.type = IMAGE_SOCK; break;
	default:
		n.type = IMAGE_FILE;
		n.size = (uint64_t)st->st_size;
		n.src = (char *)abs;
		if (st->st_nlink > 1) {
			for (size_t i = 0; i < w->nseen; i++)
				if (w->seen[i].dev == st->st_dev && w->seen[i].ino == st->st_ino) {
					n.type = IMAGE_HARDLINK;
					n.target = w->seen[i].path;
					n.size = 0;
					n.src = NULL;
					break;
				}
			if (n.type == IMAGE_FILE) {
				if (w->nseen == w->capseen) {
					size_t cap = w->capseen ? 2 * w->capseen : 64;
					struct hl_seen *v = realloc(w->seen, cap * sizeof(*v));
					if (!v)
						return -ENOMEM;
					w->seen = v;
					w->capseen = cap;
				}
				w->seen[w->nseen] =
					(struct hl_seen){st->st_dev, st->st_ino, strdup(rel)};
				if (!w->seen[w->nseen++].path)
					return -ENOMEM;
			}
		}
	}
	int rc = image_tree_put(&w->b->tree, &n);
	if (rc == -ENOMEM)
		return failf(w->b->r, rc, "out of memory");
	return n.type == IMAGE_DIR ? walk_dir(w, abs, rel) : 0;
}

static int read_dir_template(struct build *b)
{
	struct walk w = {.b = b};
	int rc = walk_dir(&w, b->spec->template_path, "");
	for (size_t i = 0; i < w.nseen; i++)
		free(w.seen[i].path);
	free(w.seen);
	return rc;
}

/* ---- tar templates ---------------------------------------------------------------------------- */

static struct archive *open_outer(struct build *b)
{
	struct archive *a = archive_read_new();
	if (!a)
		return NULL;
	archive_read_support_filter_all(a);
	archive_read_support_format_all(a);
	if (archive_read_open_filename(a, b->spec->template_path, 65536) != ARCHIVE_OK) {
		failf(b->r, -EINVAL, "%s: %s", b->spec->template_path, archive_error_string(a));
		archive_read_free(a);
		return NULL;
	}
	return a;
}

/* Copy the data of the current member of a to the spool; its offset into *off. */
static int spool_data(struct build *b, struct archive *a, uint64_t *size, int64_t *off)
{
	char buf[65536];
	la_ssize_t n;
	*off = b->spool_len;
	*size = 0;
	while ((n = archive_read_data(a, buf, sizeof(buf))) > 0) {
		if (pwrite(b->spool, buf, (size_t)n, b->spool_len) != n)
			return failf(b->r, -errno, "spool: %s", strerror(errno));
		b->spool_len += n;
		*size += (uint64_t)n;
	}
	if (n < 0)
		return failf(b->r, -EIO, "%s: %s", b->spec->template_path, archive_error_string(a));
	return 0;
}

/* One member of a root-filesystem tar or a layer. */
static int apply_entry(struct build *b, struct archive *a, struct archive_entry *e, int layer)
{
	char name[4096], target[4096], wh[4096];
	const char *raw = archive_entry_pathname(e);
	int rc = raw ? image_clean_name(raw, name, sizeof(name)) : -EINVAL;
	if (rc < 0) {
		image_tree_skip(&b->tree, raw ? raw : "(no name)",
				rc == -EACCES ? "\"..\" in the name" : "absolute or bad name");
		return 0;
	}
	if (!name[0])
		return 0; /* the root itself */
	if (layer > 0) {
		enum image_whiteout k = image_whiteout(name, wh, sizeof(wh));
		if (k == IMAGE_WH_DELETE) {
			image_tree_delete(&b->tree, wh);
			return 0;
		}
		if (k == IMAGE_WH_OPAQUE) {
			image_tree_opaque(&b->tree, wh, layer);
			return 0;
		}
	}
	struct image_node n = {.path = name,
			       .perm = archive_entry_perm(e) & 07777,
			       .uid = (uint32_t)archive_entry_uid(e),
			       .gid = (uint32_t)archive_entry_gid(e),
			       .mtime_s = archive_entry_mtime(e),
			       .mtime_ns = archive_entry_mtime_nsec(e),
			       .layer = layer,
			       .off = -1};
	const char *hl = archive_entry_hardlink(e), *sl = archive_entry_symlink(e);
	if (hl) {
		if (image_clean_name(hl, target, sizeof(target)) < 0 || !target[0]) {
			image_tree_skip(&b->tree, name, "unsafe hard-link target");
			return 0;
		}
		n.type = IMAGE_HARDLINK;
		n.target = target;
	} else {
		switch (archive_entry_filetype(e)) {
		case AE_IFDIR: n.type = IMAGE_DIR; break;
		case AE_IFLNK:
			n.type = IMAGE_SYMLINK;
			snprintf(target, sizeof(target), "%s", sl ? sl : "");
			n.target = target;
			break;
		case AE_IFCHR: n.type = IMAGE_CHR, n.rdev = archive_entry_rdev(e); break;
		case AE_IFBLK: n.type = IMAGE_BLK, n.rdev = archive_entry_rdev(e); break;
		case AE_IFIFO: n.type = IMAGE_FIFO; break;
		case AE_IFSOCK: n.type = IMAGE_SOCK; break;
		default:
			n.type = IMAGE_FILE;
			if ((rc = spool_data(b, a, &n.size, &n.off)) < 0)
				return rc;
		}
	}
	rc = image_tree_put(&b->tree, &n);
	return rc == -ENOMEM ? failf(b->r, rc, "out of memory") : 0;
}

static int apply_archive(struct build *b, struct archive *a, int layer, const char *what)
{
	struct archive_entry *e;
	int r;
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
		if (cancelled(b->spec))
			return failf(b->r, -ECANCELED, "cancelled");
		int rc = apply_entry(b, a, e, layer);
		if (rc < 0)
			return rc;
	}
	if (r != ARCHIVE_EOF)
		return failf(b->r, -EINVAL, "%s: %s", what, archive_error_string(a));
	return 0;
}

/* A small member kept from the scan (manifests, indexes, configs). */
struct stash {
	char name[256];
	char *data;
	size_t len;
};

#define STASH_MAX      64
#define STASH_FILE_MAX (1 << 20)

static const struct stash *stash_get(const struct stash *s, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s[i].name, name) == 0)
			return &s[i];
	return NULL;
}

/* Read the outer tar once: keep small JSON-like members. */
static int scan_outer(struct build *b, struct stash *s, size_t *ns)
{
	struct archive *a = open_outer(b);
	struct archive_entry *e;
	int r;
	if (!a)
		return -EINVAL;
	*ns = 0;
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
		char name[256];
		const char *raw = archive_entry_pathname(e);
		int64_t size = archive_entry_size(e);
		if (!raw || image_clean_name(raw, name, sizeof(name)) < 0 || *ns >= STASH_MAX ||
		    size > STASH_FILE_MAX || archive_entry_filetype(e) != AE_IFREG)
			continue;
		if (strcmp(name, "manifest.json") && strcmp(name, "index.json") &&
		    strcmp(name, "oci-layout") && strncmp(name, "blobs/", 6))
			continue;
		struct stash *st = &s[(*ns)++];
		snprintf(st->name, sizeof(st->name), "%s", name);
		st->data = malloc((size_t)size + 1);
		if (!st->data) {
			archive_read_free(a);
			return -ENOMEM;
		}
		la_ssize_t got = archive_read_data(a, st->data, (size_t)size);
		st->len = got > 0 ? (size_t)got : 0;
		st->data[st->len] = '\0';
	}
	archive_read_free(a);
	return 0;
}

/* Layer member names of a docker save or OCI layout tar, in order; 0 layers: a plain tar. */
static int find_layers(struct build *b, const struct stash *s, size_t ns, char (*layers)[256])
{
	const struct stash *m = stash_get(s, ns, "manifest.json");
	const struct stash *idx = stash_get(s, ns, "index.json");
	if (m) {
		int n = image_json_strings(m->data, m->len, "Layers", NULL, layers,
					   IMAGE_MAX_LAYERS);
		if (n < 0)
			return failf(b->r, -EINVAL, "%s: manifest.json: no \"Layers\" list",
				     b->spec->template_path);
		return n;
	}
	if (!idx || !stash_get(s, ns, "oci-layout"))
		return 0;
	const struct stash *cur = idx;
	for (int depth = 0; depth < 4; depth++) {
		char d[1][256], blob[300];
		int n = image_json_strings(cur->data, cur->len, "layers", "digest", layers,
					   IMAGE_MAX_LAYERS);
		if (n >= 0 && cur != idx) {
			for (int i = 0; i < n; i++) { /* sha256:HEX -> blobs/sha256/HEX */
				char *c = strchr(layers[i], ':');
				char tmp[256];
				snprintf(tmp, sizeof(tmp), "%s", layers[i]);
				if (c)
					tmp[c - layers[i]] = '/';
				snprintf(layers[i], 256, "blobs/%.240s", tmp);
			}
			return n;
		}
		if (image_json_strings(cur->data, cur->len, "manifests", "digest", d, 1) < 1)
			break;
		char *c = strchr(d[0], ':');
		if (c)
			*c = '/';
		snprintf(blob, sizeof(blob), "blobs/%s", d[0]);
		cur = stash_get(s, ns, blob);
		if (!cur)
			return failf(b->r, -EINVAL, "%s: OCI layout: manifest %s missing",
				     b->spec->template_path, blob);
	}
	return failf(b->r, -EINVAL, "%s: OCI layout: no image manifest with layers",
		     b->spec->template_path);
}

struct nested {
	struct archive *outer;
	char buf[65536];
};

static la_ssize_t nested_read(struct archive *a, void *ud, const void **buf)
{
	(void)a;
	struct nested *n = ud;
	*buf = n->buf;
	return archive_read_data(n->outer, n->buf, sizeof(n->buf));
}

/* Find member name in the outer tar and apply it as layer number layer. */
static int apply_layer(struct build *b, const char *member, int layer)
{
	struct archive *a = open_outer(b);
	struct archive_entry *e;
	char want[256], name[256];
	int r, rc = failf(b->r, -ENOENT, "%s: layer %s not in the tar", b->spec->template_path,
			  member);
	if (!a)
		return -EINVAL;
	if (image_clean_name(member, want, sizeof(want)) < 0) {
		archive_read_free(a);
		return failf(b->r, -EINVAL, "%s: unsafe layer name %s", b->spec->template_path,
			     member);
	}
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
		const char *raw = archive_entry_pathname(e);
		if (!raw || image_clean_name(raw, name, sizeof(name)) < 0 || strcmp(name, want))
			continue;
		struct nested *nd = malloc(sizeof(*nd));
		struct archive *in = archive_read_new();
		if (!nd || !in) {
			free(nd);
			archive_read_free(in);
			rc = -ENOMEM;
			break;
		}
		nd->outer = a;
		archive_read_support_filter_all(in);
		archive_read_support_format_tar(in);
		archive_read_support_format_gnutar(in);
		if (archive_read_open(in, nd, NULL, nested_read, NULL) != ARCHIVE_OK)
			rc = failf(b->r, -EINVAL, "layer %s: %s", member, archive_error_string(in));
		else
			rc = apply_archive(b, in, layer, member);
		archive_read_free(in);
		free(nd);
		break;
	}
	archive_read_free(a);
	return rc;
}

static int read_tar_template(struct build *b)
{
	struct stash s[STASH_MAX];
	size_t ns = 0;
	char(*layers)[256] = calloc(IMAGE_MAX_LAYERS, 256);
	int rc = layers ? scan_outer(b, s, &ns) : -ENOMEM;
	if (rc == 0)
		rc = find_layers(b, s, ns, layers);
	if (rc == 0) {
		struct archive *a = open_outer(b);
		rc = a ? apply_archive(b, a, 0, b->spec->template_path) : -EINVAL;
		archive_read_free(a);
	} else if (rc > 0) {
		int n = rc;
		rc = 0;
		for (int i = 0; i < n && rc == 0; i++)
			rc = apply_layer(b, layers[i], i + 1);
	}
	for (size_t i = 0; i < ns; i++)
		free(s[i].data);
	free(layers);
	return rc;
}

/* ---- writing ------------------------------------------------------------------------------- */

static const mode_t type_mode[] = {
	[IMAGE_FILE] = AE_IFREG,     [IMAGE_DIR] = AE_IFDIR,   [IMAGE_SYMLINK] = AE_IFLNK,
	[IMAGE_HARDLINK] = AE_IFREG, [IMAGE_CHR] = AE_IFCHR,   [IMAGE_BLK] = AE_IFBLK,
	[IMAGE_FIFO] = AE_IFIFO,     [IMAGE_SOCK] = AE_IFSOCK,
};

/* The regular file a hard link finally names. */
static struct image_node *link_root(const struct image_tree *t, struct image_node *n)
{
	for (int i = 0; i < 16 && n && n->type == IMAGE_HARDLINK; i++)
		n = image_tree_get(t, n->target);
	return n && n->type == IMAGE_FILE ? n : NULL;
}

/* Write the data of regular file n (size bytes exactly; a source that shrank is padded). */
static int write_data(struct build *b, struct archive *w, const struct image_node *n)
{
	char buf[65536];
	uint64_t done = 0;
	int fd = n->src ? open(n->src, O_RDONLY | O_NOFOLLOW | O_CLOEXEC) : b->spool;
	if (fd < 0)
		return failf(b->r, -errno, "%s: %s", n->src, strerror(errno));
	while (done < n->size) {
		size_t want = n->size - done < sizeof(buf) ? (size_t)(n->size - done) : sizeof(buf);
		ssize_t got =
			pread(fd, buf, want, (off_t)(n->src ? done : (uint64_t)n->off + done));
		if (got <= 0) {
			memset(buf, 0, want);
			got = (ssize_t)want;
		}
		if (archive_write_data(w, buf, (size_t)got) != got) {
			if (n->src)
				close(fd);
			return failf(b->r, -EIO, "write: %s", archive_error_string(w));
		}
		done += (uint64_t)got;
	}
	if (n->src)
		close(fd);
	return 0;
}

static int write_node(struct build *b, struct archive *w, struct image_node *n, bool tar)
{
	struct archive_entry *e = archive_entry_new();
	struct image_node *root = n->type == IMAGE_HARDLINK ? link_root(&b->tree, n) : NULL;
	if (!e)
		return -ENOMEM;
	if (n->type == IMAGE_HARDLINK && !root) {
		archive_entry_free(e);
		return 0;
	}
	archive_entry_set_pathname(e, n->path);
	archive_entry_set_mode(e, type_mode[n->type] | n->perm);
	archive_entry_set_uid(e, n->uid);
	archive_entry_set_gid(e, n->gid);
	archive_entry_set_mtime(e, n->mtime_s, n->mtime_ns);
	archive_entry_set_ino(e, root ? root->ino : n->ino);
	archive_entry_set_nlink(e, root ? root->nlink : n->type == IMAGE_DIR ? 2 : n->nlink);
	archive_entry_set_size(e, n->type == IMAGE_FILE ? (la_int64_t)n->size : 0);
	if (n->type == IMAGE_SYMLINK)
		archive_entry_set_symlink(e, n->target);
	if (n->type == IMAGE_CHR || n->type == IMAGE_BLK)
		archive_entry_set_rdev(e, (dev_t)n->rdev);
	if (tar && root)
		archive_entry_set_hardlink(e, root->path);
	int rc = 0;
	if (archive_write_header(w, e) < ARCHIVE_WARN)
		rc = failf(b->r, -EIO, "%s: %s", n->path, archive_error_string(w));
	else if (n->type == IMAGE_FILE && n->size)
		rc = write_data(b, w, n);
	archive_entry_free(e);
	return rc;
}

/* Write the sorted nodes: for cpio, hard links share the inode of their file (the kernel links
 * them, data on the file's entry); for tar, hard links come last and name their file. */
static int write_tree(struct build *b, struct archive *w, struct image_node **v, size_t n, bool tar)
{
	for (size_t i = 0; i < n; i++) {
		v[i]->ino = (uint32_t)i + 1;
		v[i]->nlink = 1;
	}
	for (size_t i = 0; i < n; i++) {
		struct image_node *root =
			v[i]->type == IMAGE_HARDLINK ? link_root(&b->tree, v[i]) : NULL;
		if (root)
			root->nlink++;
	}
	for (int pass = 0; pass < (tar ? 2 : 1); pass++)
		for (size_t i = 0; i < n; i++) {
			if (tar && (v[i]->type == IMAGE_HARDLINK) != (pass == 1))
				continue;
			if (cancelled(b->spec))
				return failf(b->r, -ECANCELED, "cancelled");
			int rc = write_node(b, w, v[i], tar);
			if (rc < 0)
				return rc;
		}
	return 0;
}

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	fsync(fd);
	close(fd);
	return 0;
}

/* Write the gzip cpio to a temporary file of the images directory, then rename it. */
static int write_cpio(struct build *b, struct image_node **v, size_t n)
{
	char tmp[4200];
	snprintf(tmp, sizeof(tmp), "%.3900s/.%.100s.XXXXXX", b->spec->images_dir, b->spec->profile);
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return failf(b->r, -errno, "%s: %s", tmp, strerror(errno));
	struct archive *w = archive_write_new();
	int rc = w ? 0 : -ENOMEM;
	if (rc == 0 && (archive_write_set_format_cpio_newc(w) != ARCHIVE_OK ||
			archive_write_add_filter_gzip(w) != ARCHIVE_OK))
		rc = failf(b->r, -EIO, "libarchive: %s", archive_error_string(w));
	if (rc == 0) {
		archive_write_set_filter_option(w, "gzip", "timestamp", NULL);
		archive_write_set_bytes_in_last_block(w, 1);
		if (archive_write_open_fd(w, fd) != ARCHIVE_OK)
			rc = failf(b->r, -EIO, "%s: %s", tmp, archive_error_string(w));
	}
	if (rc == 0)
		rc = write_tree(b, w, v, n, false);
	if (rc == 0 && archive_write_close(w) != ARCHIVE_OK)
		rc = failf(b->r, -EIO, "%s: %s", tmp, archive_error_string(w));
	archive_write_free(w);
	if (rc == 0 && (fchmod(fd, 0644) < 0 || fsync(fd) < 0))
		rc = failf(b->r, -errno, "%s: %s", tmp, strerror(errno));
	close(fd);
	if (rc == 0 && rename(tmp, b->r->cpio) < 0)
		rc = failf(b->r, -errno, "%s: %s", b->r->cpio, strerror(errno));
	if (rc < 0)
		unlink(tmp);
	else
		fsync_dir(b->spec->images_dir);
	return rc;
}

/* Pipe the tree as a tar into sqfstar (squashfs-tools 4.6+), then rename its output. */
static int write_squashfs(struct build *b, struct image_node **v, size_t n)
{
	char tmp[4200];
	int p[2], rc = 0, status = 0;
	pid_t pid;
	snprintf(tmp, sizeof(tmp), "%s.tmp", b->r->squashfs);
	unlink(tmp);
	if (pipe2(p, O_CLOEXEC) < 0)
		return failf(b->r, -errno, "pipe: %s", strerror(errno));
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[0], 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	char *argv[] = {"sqfstar", "-quiet", "-no-progress", tmp, NULL};
	int e = posix_spawnp(&pid, "sqfstar", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(p[0]);
	if (e) {
		close(p[1]);
		return failf(b->r, -e,
			     "squashfs = yes needs sqfstar (squashfs-tools 4.6 or later): %s",
			     strerror(e));
	}
	struct archive *w = archive_write_new();
	if (!w || archive_write_set_format_pax_restricted(w) != ARCHIVE_OK ||
	    archive_write_open_fd(w, p[1]) != ARCHIVE_OK)
		rc = failf(b->r, -EIO, "libarchive: %s", w ? archive_error_string(w) : "no memory");
	if (rc == 0)
		rc = write_tree(b, w, v, n, true);
	if (rc == 0 && archive_write_close(w) != ARCHIVE_OK)
		rc = failf(b->r, -EIO, "sqfstar: %s", archive_error_string(w));
	archive_write_free(w);
	close(p[1]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (rc == 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
		rc = failf(b->r, -EIO, "sqfstar failed (status %d)", status);
	if (rc == 0 && rename(tmp, b->r->squashfs) < 0)
		rc = failf(b->r, -errno, "%s: %s", b->r->squashfs, strerror(errno));
	if (rc < 0)
		unlink(tmp);
	return rc;
}

/* ---- keys, outputs ---------------------------------------------------------------------------- */

static int sha256_file(const char *path, char hex[65], struct image_result *r)
{
	uint8_t buf[65536], d[32];
	struct image_sha256 s;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return failf(r, -errno, "%s: %s", path, strerror(errno));
	image_sha256_init(&s);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		image_sha256_update(&s, buf, (size_t)n);
	close(fd);
	if (n < 0)
		return failf(r, -errno, "%s: %s", path, strerror(errno));
	image_sha256_final(&s, d);
	image_hex(d, 32, hex);
	return 0;
}

void image_dir(const char *images, const char *state_dir, char *out, size_t cap)
{
	if (images)
		snprintf(out, cap, "%s", images);
	else
		snprintf(out, cap, "%s/images", state_dir ? state_dir : ".");
}

/* Read the template into b->tree (the /init rule applied). */
static int read_template(struct build *b, const struct stat *st)
{
	int rc;
	if (S_ISDIR(st->st_mode)) {
		rc = read_dir_template(b);
	} else {
		char tmpl[4200];
		snprintf(tmpl, sizeof(tmpl), "%s/.spool.XXXXXX", b->spec->images_dir);
		b->spool = mkostemp(tmpl, O_CLOEXEC);
		if (b->spool < 0)
			return failf(b->r, -errno, "%s: %s", tmpl, strerror(errno));
		unlink(tmpl);
		rc = read_tar_template(b);
	}
	if (rc == 0 && image_tree_fill_parents(&b->tree) < 0)
		rc = failf(b->r, -ENOMEM, "out of memory");
	if (rc == 0)
		b->r->init_added = image_tree_add_init(&b->tree);
	return rc;
}

int image_key(struct image_spec *spec, struct image_result *r)
{
	struct stat st;
	memset(r, 0, sizeof(*r));
	if (!spec->template_path[0])
		return failf(r, -EINVAL, "profile %s has no template", spec->profile);
	if (stat(spec->template_path, &st) < 0)
		return failf(r, -errno, "template %s: %s", spec->template_path, strerror(errno));
	if (S_ISDIR(st.st_mode)) {
		struct build b = {.spec = spec, .r = r, .spool = -1};
		struct walk w = {.b = &b};
		image_tree_init(&b.tree);
		int rc = walk_dir(&w, spec->template_path, "");
		for (size_t i = 0; i < w.nseen; i++)
			free(w.seen[i].path);
		free(w.seen);
		size_t n = 0;
		struct image_node **v = rc == 0 ? image_tree_sorted(&b.tree, &n) : NULL;
		if (rc == 0)
			image_key_listing(v, n, r->key);
		free(v);
		image_tree_free(&b.tree);
		return rc;
	}
	if (!S_ISREG(st.st_mode))
		return failf(r, -EINVAL, "template %s: neither a directory nor a tar file",
			     spec->template_path);
	char memo[96];
	snprintf(memo, sizeof(memo), "%ju:%ju:%jd:%jd.%09ld", (uintmax_t)st.st_dev,
		 (uintmax_t)st.st_ino, (intmax_t)st.st_size, (intmax_t)st.st_mtim.tv_sec,
		 st.st_mtim.tv_nsec);
	if (strcmp(memo, spec->memo_stat) != 0 || !spec->memo_sha[0]) {
		int rc = sha256_file(spec->template_path, spec->memo_sha, r);
		if (rc < 0) {
			spec->memo_sha[0] = '\0';
			return rc;
		}
		snprintf(spec->memo_stat, sizeof(spec->memo_stat), "%s", memo);
	}
	image_key_tar(spec->memo_sha, r->key);
	return 0;
}

/* Remove the outputs of spec's profile other than the current key. */
static void remove_old(const struct image_spec *spec, const char *key16)
{
	struct image_listing l[64];
	int n = image_list(spec->images_dir, l, 64);
	for (int i = 0; i < n; i++) {
		if (strcmp(l[i].profile, spec->profile) || strcmp(l[i].key16, key16) == 0)
			continue;
		char path[4400];
		snprintf(path, sizeof(path), "%s/%s", spec->images_dir, l[i].file);
		unlink(path);
	}
}

int image_ensure(struct image_spec *spec, struct image_result *r)
{
	struct stat st, out;
	char key16[17];
	int rc = image_key(spec, r);
	if (rc < 0)
		return rc;
	snprintf(key16, sizeof(key16), "%.16s", r->key);
	snprintf(r->cpio, sizeof(r->cpio), "%.3900s/%.128s-%s.cpio.gz", spec->images_dir,
		 spec->profile, key16);
	if (spec->squashfs)
		snprintf(r->squashfs, sizeof(r->squashfs), "%.3900s/%.128s-%s.squashfs",
			 spec->images_dir, spec->profile, key16);
	bool need_cpio = spec->force || stat(r->cpio, &out) < 0;
	bool need_sq = spec->squashfs && (spec->force || stat(r->squashfs, &out) < 0);
	if (!need_cpio && !need_sq)
		return 0;
	if (mkdir(spec->images_dir, 0755) < 0 && errno != EEXIST)
		return failf(r, -errno, "images directory %s: %s", spec->images_dir,
			     strerror(errno));
	if (stat(spec->template_path, &st) < 0)
		return failf(r, -errno, "template %s: %s", spec->template_path, strerror(errno));
	struct build b = {.spec = spec, .r = r, .spool = -1};
	image_tree_init(&b.tree);
	rc = read_template(&b, &st);
	size_t n = 0;
	struct image_node **v = rc == 0 ? image_tree_sorted(&b.tree, &n) : NULL;
	if (rc == 0 && need_cpio)
		rc = write_cpio(&b, v, n);
	if (rc == 0 && need_sq)
		rc = write_squashfs(&b, v, n);
	r->entries = n;
	r->skipped = b.tree.skipped;
	snprintf(r->first_skipped, sizeof(r->first_skipped), "%s", b.tree.first_skipped);
	free(v);
	image_tree_free(&b.tree);
	if (b.spool >= 0)
		close(b.spool);
	if (rc == 0) {
		r->built = true;
		remove_old(spec, key16);
	}
	return rc;
}

/* "<profile>-<16 hex>.cpio.gz" or ".squashfs": fills l (without size). */
static bool parse_output_name(const char *name, struct image_listing *l)
{
	size_t len = strlen(name), sl;
	if (len > 8 && strcmp(name + len - 8, ".cpio.gz") == 0)
		sl = 8;
	else if (len > 9 && strcmp(name + len - 9, ".squashfs") == 0)
		sl = 9;
	else
		return false;
	if (name[0] == '.' || len < sl + 18 || name[len - sl - 17] != '-' ||
	    len - sl - 17 >= sizeof(l->profile) || len >= sizeof(l->file))
		return false;
	const char *k = name + len - sl - 16;
	for (int i = 0; i < 16; i++)
		if (!strchr("0123456789abcdef", k[i]) || !k[i])
			return false;
	snprintf(l->profile, sizeof(l->profile), "%.*s", (int)(len - sl - 17), name);
	snprintf(l->key16, sizeof(l->key16), "%.16s", k);
	snprintf(l->file, sizeof(l->file), "%s", name);
	return true;
}

int image_list(const char *dir, struct image_listing *out, size_t cap)
{
	struct dirent **names;
	int n = scandir(dir, &names, NULL, by_name), cnt = 0;
	if (n < 0)
		return -errno;
	for (int i = 0; i < n; i++) {
		struct image_listing l;
		struct stat st;
		char path[4400];
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
		if ((size_t)cnt < cap && parse_output_name(names[i]->d_name, &l) &&
		    stat(path, &st) == 0) {
			l.size = (uint64_t)st.st_size;
			l.mtime = st.st_mtim.tv_sec;
			out[cnt++] = l;
		}
		free(names[i]);
	}
	free(names);
	return cnt;
}
