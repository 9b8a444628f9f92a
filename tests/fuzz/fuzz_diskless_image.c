/* Fuzz the pure parts of RAM-root images (src/diskless/image.c). Input: byte 0 = mode (bits 0-1)
 * and byte 1 = a small capacity, then the payload:
 *  - mode 0, names: '\n'-separated archive member names (exact-size NUL-terminated copies).
 *  - mode 1, JSON: the payload is the JSON text of manifest.json / index.json / an OCI
 *    manifest, handed over as counted bytes in an exact-size buffer (ASan sees over-reads).
 *  - modes 2-3, layer tree: a byte-coded sequence of tree operations, see run_ops.
 *
 * Checked with abort():
 *  - image_clean_name: the result (or error) equals a reference implementation; a result is
 *    relative, has no empty, "." or ".." component, no trailing '/', no control byte; cleaning
 *    it again gives the same name; out is untouched on failure; a small cap gives the same
 *    result or -ENAMETOOLONG.
 *  - image_whiteout on a cleaned name: .wh..wh..opq is OPAQUE with the directory as target,
 *    .wh.NAME (NAME non-empty) is DELETE of DIR/NAME, anything else NONE; a small cap gives the
 *    NUL-terminated prefix.
 *  - image_json_strings (Layers, RepoTags, manifests/digest, layers/digest, config/digest):
 *    -EINVAL or a count <= cap of NUL-terminated strings, rows past the count untouched; the
 *    same with a smaller cap (a prefix), with whitespace around the text, and when called
 *    again; the strings found, written back as a JSON array, parse to the same strings.
 *  - the tree: after any sequence of put (every type, hard links), delete, opaque and raw
 *    layer entries (clean, whiteout, put as the image builder does), the live nodes equal a
 *    simple reference model (path, type, layer) and image_tree_get finds each of them; the
 *    skipped count matches; image_tree_sorted lists each live node once, ordered with '/'
 *    lowest and a parent before its children, every path clean; after fill_parents every
 *    node's parent exists (a created one is a directory); add_init adds init -> /sbin/init
 *    exactly when the model says so. */
#include "diskless/image.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FILL	0x5a
#define NAMECAP 4096

/* ---- names ------------------------------------------------------------------------------- */

/* Reference image_clean_name: components in order; ".." -> -EACCES, control byte in a kept
 * component -> -EINVAL, the join (4096-byte scratch, one byte less for a single first
 * component) too long -> -ENAMETOOLONG; then the cap. */
static int ref_clean(const char *in, char *out, size_t cap)
{
	static char tmp[NAMECAP];
	size_t o = 0;
	if (in[0] == '/')
		return -EINVAL;
	const char *p = in;
	while (*p) {
		const char *s = p;
		while (*p && *p != '/')
			p++;
		size_t len = (size_t)(p - s);
		while (*p == '/')
			p++;
		if (len == 2 && s[0] == '.' && s[1] == '.')
			return -EACCES;
		if (len == 0 || (len == 1 && s[0] == '.'))
			continue;
		for (size_t i = 0; i < len; i++) {
			unsigned char c = (unsigned char)s[i];
			if (c < 0x20 || c == 0x7f)
				return -EINVAL;
		}
		size_t joined = o + (o ? 1 : 0) + len;
		if (o ? joined >= NAMECAP : len + 2 > NAMECAP)
			return -ENAMETOOLONG;
		if (o)
			tmp[o++] = '/';
		memcpy(tmp + o, s, len);
		o += len;
	}
	if (o >= cap)
		return -ENAMETOOLONG;
	memcpy(out, tmp, o);
	out[o] = '\0';
	return 0;
}

static bool untouched(const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)b[i] != FILL)
			return false;
	return true;
}

static void check_clean_form(const char *s)
{
	if (s[0] == '/')
		abort();
	if (!s[0])
		return;
	for (const char *p = s;;) {
		size_t n = strcspn(p, "/");
		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			abort();
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
				abort();
		if (!p[n])
			break;
		p += n + 1;
	}
}

static void check_whiteout(const char *clean, size_t small)
{
	static char target[NAMECAP], want[NAMECAP + 8];
	const char *slash = strrchr(clean, '/');
	const char *base = slash ? slash + 1 : clean;
	size_t dirlen = slash ? (size_t)(slash - clean) : 0;
	enum image_whiteout k = image_whiteout(clean, target, sizeof(target));
	enum image_whiteout expect = IMAGE_WH_NONE;
	if (!strcmp(base, ".wh..wh..opq")) {
		expect = IMAGE_WH_OPAQUE;
		snprintf(want, sizeof(want), "%.*s", (int)dirlen, clean);
	} else if (!strncmp(base, ".wh.", 4) && base[4]) {
		expect = IMAGE_WH_DELETE;
		snprintf(want, sizeof(want), "%.*s%s%s", (int)dirlen, clean, slash ? "/" : "",
			 base + 4);
		if (!want[0])
			abort();
	}
	if (k != expect || (k != IMAGE_WH_NONE && strcmp(target, want) != 0))
		abort();
	if (k == IMAGE_WH_NONE || !small)
		return;
	char s[64];
	memset(s, FILL, sizeof(s));
	if (image_whiteout(clean, s, small) != k)
		abort();
	size_t wl = strlen(want), sl = wl < small - 1 ? wl : small - 1;
	if (memcmp(s, want, sl) != 0 || s[sl] != '\0' || !untouched(s + sl + 1, sizeof(s) - sl - 1))
		abort();
}

static void check_name(const char *in, size_t small)
{
	static char out[NAMECAP], ref[NAMECAP], again[NAMECAP];
	memset(out, FILL, sizeof(out));
	int r = image_clean_name(in, out, sizeof(out));
	int want = ref_clean(in, ref, sizeof(ref));
	if (r != want)
		abort();
	if (r < 0) {
		if (!untouched(out, sizeof(out)))
			abort();
	} else {
		if (strcmp(out, ref) != 0)
			abort();
		check_clean_form(out);
		if (image_clean_name(out, again, sizeof(again)) != 0 || strcmp(out, again) != 0)
			abort();
		if (out[0])
			check_whiteout(out, small);
	}
	char s[64];
	memset(s, FILL, sizeof(s));
	int rs = image_clean_name(in, s, small);
	if (r == 0 && strlen(out) < small) {
		if (rs != 0 || strcmp(s, out) != 0)
			abort();
	} else if (r == 0) {
		if (rs != -ENAMETOOLONG || !untouched(s, sizeof(s)))
			abort();
	} else if (rs != r || !untouched(s, sizeof(s))) {
		abort();
	}
}

static void run_names(const char *p, const char *end, size_t small)
{
	while (p <= end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		char *c = malloc(n + 1);
		memcpy(c, p, n);
		c[n] = '\0'; /* a NUL inside ends the name early: fine */
		check_name(c, small);
		free(c);
		p += n + 1;
	}
}

/* ---- JSON -------------------------------------------------------------------------------- */

#define JCAP 64

static const struct {
	const char *key, *member;
} queries[] = {
	{"Layers", NULL},     {"RepoTags", NULL},   {"manifests", "digest"},
	{"layers", "digest"}, {"config", "digest"}, {"layers", "mediaType"},
};

static int json_query(const char *j, size_t len, const char *key, const char *member,
		      char (*out)[256], size_t cap)
{
	char *copy = malloc(len ? len : 1);
	memcpy(copy, j, len);
	memset(out, FILL, JCAP * 256);
	int r = image_json_strings(copy, len, key, member, out, cap);
	free(copy);
	if (r == -EINVAL)
		return r; /* rows may hold what was collected before the error */
	if (r < 0 || (size_t)r > cap)
		abort();
	for (int i = 0; i < r; i++)
		if (!memchr(out[i], '\0', 256))
			abort();
	if (!untouched((char *)out[r], (JCAP - (size_t)r) * 256))
		abort();
	return r;
}

static bool same_rows(char (*a)[256], char (*b)[256], int n)
{
	for (int i = 0; i < n; i++)
		if (strcmp(a[i], b[i]) != 0)
			return false;
	return true;
}

/* The strings a[0..n) as a JSON array under key (objects with member when member != NULL). */
static size_t write_back(char (*a)[256], int n, const char *key, const char *member, char *buf)
{
	size_t o = (size_t)sprintf(buf, "{\"x\": 1, \"%s\": [", key);
	for (int i = 0; i < n; i++) {
		o += (size_t)sprintf(buf + o, "%s", i ? ", " : "");
		if (member)
			o += (size_t)sprintf(buf + o, "{\"size\": 3, \"%s\": ", member);
		buf[o++] = '"';
		for (const char *s = a[i]; *s; s++) {
			if (*s == '"' || *s == '\\')
				buf[o++] = '\\';
			buf[o++] = *s;
		}
		buf[o++] = '"';
		if (member)
			o += (size_t)sprintf(buf + o, ", \"a\": [\"%s\"]}", member);
	}
	o += (size_t)sprintf(buf + o, "]}");
	return o;
}

static void run_json(const char *j, size_t len, size_t small)
{
	static char big[JCAP][256], little[JCAP][256], again[JCAP][256];
	static char buf[JCAP * (2 * 256 + 128) + 64];
	char *padded = malloc(len + 3);
	padded[0] = ' ';
	padded[1] = '\n';
	memcpy(padded + 2, j, len);
	padded[len + 2] = '\t';
	small %= 8;
	for (size_t q = 0; q < sizeof(queries) / sizeof(queries[0]); q++) {
		const char *key = queries[q].key, *member = queries[q].member;
		int r = json_query(j, len, key, member, big, JCAP);
		if (json_query(j, len, key, member, again, JCAP) != r ||
		    (r > 0 && !same_rows(big, again, r)))
			abort();
		if (json_query(padded, len + 3, key, member, again, JCAP) != r ||
		    (r > 0 && !same_rows(big, again, r)))
			abort();
		int rs = json_query(j, len, key, member, little, small);
		if (r < 0) {
			if (rs != r)
				abort();
			continue;
		}
		int want = (size_t)r < small ? r : (int)small;
		if (rs != want || !same_rows(big, little, rs))
			abort();
		size_t n = write_back(big, r, key, member, buf);
		if (json_query(buf, n, key, member, again, JCAP) != r || !same_rows(big, again, r))
			abort();
	}
	free(padded);
}

/* ---- the tree ---------------------------------------------------------------------------- */

#define MAXOPS 400

/* Reference model: the live paths. */
struct mnode {
	char *path;
	enum image_type type;
	int layer;
};
struct model {
	struct mnode *v;
	size_t n, cap;
	size_t skipped;
};

static bool m_beneath(const char *path, const char *dir)
{
	size_t dl = strlen(dir);
	return !dl || (strncmp(path, dir, dl) == 0 && path[dl] == '/');
}

static struct mnode *m_get(struct model *m, const char *path)
{
	for (size_t i = 0; i < m->n; i++)
		if (!strcmp(m->v[i].path, path))
			return &m->v[i];
	return NULL;
}

/* Remove path itself (when self) and what is beneath it, only nodes of layers below
 * below_layer when that is >= 0. */
static void m_remove(struct model *m, const char *path, bool self, int below_layer)
{
	size_t o = 0;
	for (size_t i = 0; i < m->n; i++) {
		struct mnode *x = &m->v[i];
		bool hit = ((self && !strcmp(x->path, path)) || m_beneath(x->path, path)) &&
			   (below_layer < 0 || x->layer < below_layer);
		if (hit)
			free(x->path);
		else
			m->v[o++] = *x;
	}
	m->n = o;
}

static void m_delete(struct model *m, const char *path)
{
	m_remove(m, path, true, -1);
}

static void m_opaque(struct model *m, const char *dir, int layer)
{
	m_remove(m, dir, false, layer);
}

/* image_tree_put: a refused hard link is counted; a non-directory replacing a directory also
 * deletes what was beneath it; otherwise only the old node goes. */
static void m_put(struct model *m, const char *path, enum image_type type, const char *target,
		  int layer)
{
	if (type == IMAGE_HARDLINK) {
		struct mnode *tg = target ? m_get(m, target) : NULL;
		if (!tg || (tg->type != IMAGE_FILE && tg->type != IMAGE_HARDLINK) ||
		    !strcmp(target, path)) {
			m->skipped++;
			return;
		}
	}
	struct mnode *old = m_get(m, path);
	if (old && old->type == IMAGE_DIR && type != IMAGE_DIR) {
		m_delete(m, path);
	} else if (old) {
		free(old->path);
		*old = m->v[--m->n];
	}
	if (m->n == m->cap) {
		m->cap = m->cap ? 2 * m->cap : 64;
		m->v = realloc(m->v, m->cap * sizeof(*m->v));
		if (!m->v)
			abort();
	}
	m->v[m->n++] = (struct mnode){strdup(path), type, layer};
}

static void m_free(struct model *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->v[i].path);
	free(m->v);
}

static const char *const comps[] = {"a", "b", "a-b", "a.b", "etc", "sbin", "init", "x y"};

/* A clean path from the bytes at *p: a length byte (0..3 components), then one byte each. */
static bool take_path(const uint8_t **p, const uint8_t *end, char *out, size_t cap)
{
	if (*p >= end)
		return false;
	unsigned k = **p % 4;
	(*p)++;
	size_t o = 0;
	out[0] = '\0';
	for (unsigned i = 0; i < k && *p < end; i++, (*p)++)
		o += (size_t)snprintf(out + o, cap - o, "%s%s", o ? "/" : "", comps[**p % 8]);
	return true;
}

/* Sort rank of a byte: the end of the string, then '/', then every other byte in order. */
static int rank(unsigned char c)
{
	if (c == '/')
		return 1;
	return c ? c + 1 : 0;
}

static void check_tree(struct image_tree *t, struct model *m)
{
	if (t->skipped != m->skipped)
		abort();
	for (size_t i = 0; i < m->n; i++) {
		struct image_node *n = image_tree_get(t, m->v[i].path);
		if (!n || n->dead || n->type != m->v[i].type || n->layer != m->v[i].layer ||
		    strcmp(n->path, m->v[i].path) != 0)
			abort();
	}
	size_t n = 0;
	struct image_node **v = image_tree_sorted(t, &n);
	if (n != m->n || (n && !v) || (!n && v))
		abort();
	for (size_t i = 0; i < n; i++) {
		if (v[i]->dead || !v[i]->path[0])
			abort();
		check_clean_form(v[i]->path);
		if (i) {
			/* strictly increasing with '/' lowest */
			const unsigned char *a = (const unsigned char *)v[i - 1]->path,
					    *b = (const unsigned char *)v[i]->path;
			for (; *a && *a == *b; a++, b++)
				;
			if (rank(*a) >= rank(*b))
				abort();
		}
	}
	free(v);
}

static void check_parents(struct image_tree *t, size_t before)
{
	size_t n = 0;
	struct image_node **v = image_tree_sorted(t, &n);
	for (size_t i = 0; i < n; i++) {
		char parent[NAMECAP];
		snprintf(parent, sizeof(parent), "%s", v[i]->path);
		char *slash = strrchr(parent, '/');
		if (!slash)
			continue;
		*slash = '\0';
		/* live, so in the list, and before the child (check_tree checks the order) */
		struct image_node *p = image_tree_get(t, parent);
		if (!p || p->dead)
			abort();
	}
	/* nodes fill_parents created are 0755 root directories */
	for (size_t i = before; i < t->n; i++) {
		struct image_node *x = t->nodes[i];
		if (x->type != IMAGE_DIR || x->perm != 0755 || x->uid || x->gid)
			abort();
	}
	free(v);
}

/* What the image builder does with one layer member name (apply_entry). */
static void raw_entry(struct image_tree *t, struct model *m, const char *raw, int layer,
		      enum image_type type)
{
	char name[NAMECAP], wh[NAMECAP];
	if (image_clean_name(raw, name, sizeof(name)) < 0) {
		image_tree_skip(t, raw, "bad name");
		m->skipped++;
		return;
	}
	if (!name[0])
		return;
	if (layer > 0) {
		enum image_whiteout k = image_whiteout(name, wh, sizeof(wh));
		if (k == IMAGE_WH_DELETE) {
			image_tree_delete(t, wh);
			m_delete(m, wh);
			return;
		}
		if (k == IMAGE_WH_OPAQUE) {
			image_tree_opaque(t, wh, layer);
			m_opaque(m, wh, layer);
			return;
		}
	}
	struct image_node n = {.path = name, .type = type, .perm = 0644, .off = -1, .layer = layer};
	if (type == IMAGE_SYMLINK)
		n.target = "x";
	if (image_tree_put(t, &n) != 0)
		abort();
	m_put(m, name, type, NULL, layer);
}

/* Operations, one byte each (low 3 bits the operation, high bits its variant) + operands:
 *  0 put FILE PATH; 1 put DIR PATH; 2 put SYMLINK PATH PATH; 3 put HARDLINK PATH PATH;
 *  4 delete PATH; 5 opaque PATH (layer: current); 6 next layer (variant 1: get of PATH);
 *  7 raw layer entry: a length byte and that many bytes of name (variant: type). */
static void run_ops(const uint8_t *p, const uint8_t *end)
{
	struct image_tree t;
	struct model m = {0};
	char a[256], b[256];
	int layer = 0;
	image_tree_init(&t);
	for (int ops = 0; p < end && ops < MAXOPS; ops++) {
		uint8_t op = *p++;
		unsigned variant = op >> 3;
		switch (op & 7) {
		case 0:
		case 1: {
			if (!take_path(&p, end, a, sizeof(a)) || !a[0])
				break;
			static const enum image_type plain[] = {IMAGE_FILE, IMAGE_CHR, IMAGE_BLK,
								IMAGE_FIFO, IMAGE_SOCK};
			enum image_type ty = (op & 7) == 1 ? IMAGE_DIR : plain[variant % 5];
			struct image_node n = {.path = a,
					       .type = ty,
					       .perm = variant & 07777,
					       .uid = variant,
					       .off = -1,
					       .layer = layer};
			if (image_tree_put(&t, &n) != 0)
				abort();
			m_put(&m, a, ty, NULL, layer);
			break;
		}
		case 2:
		case 3: {
			if (!take_path(&p, end, a, sizeof(a)) ||
			    !take_path(&p, end, b, sizeof(b)) || !a[0])
				break;
			bool hard = (op & 7) == 3;
			struct image_node n = {.path = a,
					       .type = hard ? IMAGE_HARDLINK : IMAGE_SYMLINK,
					       .perm = 0777,
					       .target = b,
					       .off = -1,
					       .layer = layer};
			int r = image_tree_put(&t, &n);
			if (r != 0 && !(hard && r == -ENOENT))
				abort();
			m_put(&m, a, n.type, b, layer);
			break;
		}
		case 4:
			if (take_path(&p, end, a, sizeof(a)) && a[0]) {
				image_tree_delete(&t, a);
				m_delete(&m, a);
			}
			break;
		case 5:
			if (take_path(&p, end, a, sizeof(a))) {
				image_tree_opaque(&t, a, layer);
				m_opaque(&m, a, layer);
			}
			break;
		case 6:
			if (variant & 1) {
				if (take_path(&p, end, a, sizeof(a)) && a[0]) {
					struct image_node *g = image_tree_get(&t, a);
					struct mnode *w = m_get(&m, a);
					if (!g != !w || (g && g->type != w->type))
						abort();
				}
			} else {
				layer++;
			}
			break;
		case 7: {
			if (p >= end)
				break;
			size_t len = *p++ % 48;
			if (len > (size_t)(end - p))
				len = (size_t)(end - p);
			char *raw = malloc(len + 1);
			memcpy(raw, p, len);
			raw[len] = '\0';
			p += len;
			static const enum image_type types[] = {IMAGE_FILE, IMAGE_DIR,
								IMAGE_SYMLINK, IMAGE_FIFO};
			raw_entry(&t, &m, raw, layer, types[variant % 4]);
			free(raw);
			break;
		}
		}
	}
	check_tree(&t, &m);

	size_t before = t.n;
	if (image_tree_fill_parents(&t) != 0)
		abort();
	check_parents(&t, before);
	/* the model learns the parents the tree created */
	for (size_t i = before; i < t.n; i++)
		m_put(&m, t.nodes[i]->path, IMAGE_DIR, NULL, t.nodes[i]->layer);
	check_tree(&t, &m);

	bool want_init = !m_get(&m, "init") && m_get(&m, "sbin/init");
	if (image_tree_add_init(&t) != want_init)
		abort();
	if (want_init) {
		struct image_node *i = image_tree_get(&t, "init");
		if (!i || i->type != IMAGE_SYMLINK || strcmp(i->target, "/sbin/init") != 0 ||
		    i->perm != 0777)
			abort();
		m_put(&m, "init", IMAGE_SYMLINK, NULL, 0);
	}
	if (image_tree_add_init(&t))
		abort();
	check_tree(&t, &m);
	image_tree_free(&t);
	m_free(&m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	const char *p = (const char *)data + 2, *end = (const char *)data + size;
	size_t small = data[1] % 64;
	switch (data[0] & 3) {
	case 0: run_names(p, end, small); break;
	case 1: run_json(p, (size_t)(end - p), small); break;
	default: run_ops(data + 2, data + size); break;
	}
	return 0;
}
