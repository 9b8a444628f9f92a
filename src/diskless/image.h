/* RAM-root images: a profile's template (a directory, a root-filesystem tar, a `docker save`
 * tar or an OCI image-layout tar) packed into a gzip-compressed cpio (newc) archive that the
 * Linux kernel unpacks as its initramfs, optionally also a squashfs. See docs/diskless-ram.md.
 *
 * Pure parts (names, whiteouts, the merged tree of layers, the content key, the JSON of image
 * manifests, SHA-256) are separated from the I/O (walking, reading tars, writing archives) and
 * unit-tested in tests/unit/diskless/test_image.c. Nothing here logs or keeps global state:
 * image_ensure may run on a worker thread. */
#ifndef PXED_DISKLESS_IMAGE_H
#define PXED_DISKLESS_IMAGE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Bump when the archive produced from the same inputs changes: it is part of the key. */
#define IMAGE_FORMAT_VERSION 1

/* ---- SHA-256 (nettle) ---------------------------------------------------------------------- */

#include <nettle/sha2.h>

struct image_sha256 {
	struct sha256_ctx ctx;
};
void image_sha256_init(struct image_sha256 *s);
void image_sha256_update(struct image_sha256 *s, const void *p, size_t n);
/** Finish: 32 bytes into out. */
void image_sha256_final(struct image_sha256 *s, uint8_t out[32]);
/** Lowercase hex of p[0..n) into out (2n + 1 bytes). */
void image_hex(const uint8_t *p, size_t n, char *out);

/* ---- names and whiteouts (pure) ----------------------------------------------------------- */

/**
 * Clean an archive member name into a relative path without "./", empty components or a
 * trailing '/': "./etc//passwd/" -> "etc/passwd", "." and "./" -> "" (the root). Refuses
 * absolute names (-EINVAL), any ".." component (-EACCES), control bytes (-EINVAL) and results
 * that do not fit cap (-ENAMETOOLONG). Writes out only on success.
 */
int image_clean_name(const char *in, char *out, size_t cap);

enum image_whiteout {
	IMAGE_WH_NONE,	 /* an ordinary entry */
	IMAGE_WH_DELETE, /* DIR/.wh.NAME: DIR/NAME (and what is beneath) is deleted */
	IMAGE_WH_OPAQUE, /* DIR/.wh..wh..opq: what lower layers had in DIR is hidden */
};

/**
 * Classify a cleaned layer entry name (OCI image spec, "layer.md" whiteouts). For DELETE,
 * target gets the path to delete; for OPAQUE, the directory ("" for the root). cap bytes.
 */
enum image_whiteout image_whiteout(const char *clean, char *target, size_t cap);

/* ---- the merged tree (pure) --------------------------------------------------------------- */

enum image_type {
	IMAGE_FILE,
	IMAGE_DIR,
	IMAGE_SYMLINK,
	IMAGE_HARDLINK, /* another name of the regular file at target */
	IMAGE_CHR,
	IMAGE_BLK,
	IMAGE_FIFO,
	IMAGE_SOCK,
};

/* One path of the image. */
struct image_node {
	char *path; /* cleaned, relative, never "" */
	enum image_type type;
	uint32_t perm; /* mode & 07777 */
	uint32_t uid, gid;
	int64_t mtime_s;
	long mtime_ns;
	uint64_t size;	/* regular files */
	uint64_t rdev;	/* device nodes (dev_t) */
	char *target;	/* symlink target, hard-link target path */
	int layer;	/* layer that wrote it (0 for directories and plain tars) */
	int64_t off;	/* data: offset in the spool file, or -1 */
	char *src;	/* data: source file (directory templates), or NULL */
	bool dead;	/* deleted (whiteout, replaced); skipped everywhere */
	uint32_t ino;	/* assigned when emitting */
	uint32_t nlink; /* assigned when emitting */
	struct image_node *hnext;
};

struct image_tree {
	struct image_node **nodes; /* in insertion order, dead ones included */
	size_t n, cap;
	struct image_node **hash;
	size_t nbuckets;
	size_t skipped; /* entries refused (unsafe names, dangling hard links) */
	char first_skipped[200];
};

void image_tree_init(struct image_tree *t);
/** Free every node. Accepts a zeroed tree. */
void image_tree_free(struct image_tree *t);
/** The live node at path, or NULL. */
struct image_node *image_tree_get(const struct image_tree *t, const char *path);
/**
 * Add (or replace) the node at n->path: copies n and its strings. A non-directory replacing a
 * directory also deletes what was beneath it; a hard link whose target is not a live regular
 * file (or hard link) is refused with -ENOENT (counted as skipped). 0 or -ENOMEM.
 */
int image_tree_put(struct image_tree *t, const struct image_node *n);
/** Delete path and everything beneath it (a whiteout). */
void image_tree_delete(struct image_tree *t, const char *path);
/** Hide what layers below `layer` have beneath dir (an opaque whiteout; "" is the root). */
void image_tree_opaque(struct image_tree *t, const char *dir, int layer);
/** Count a refused entry (name kept for the first one). */
void image_tree_skip(struct image_tree *t, const char *name, const char *why);
/**
 * The /init rule: when the tree has no "init" but has "sbin/init", add the symlink
 * init -> /sbin/init (root-owned, 0777). Returns true when it added it.
 */
bool image_tree_add_init(struct image_tree *t);
/** Live nodes sorted by path (bytewise; a directory comes before what is in it). Returns a
 * malloc'd array of *n pointers (borrowed from t), or NULL when empty or out of memory. */
struct image_node **image_tree_sorted(const struct image_tree *t, size_t *n);
/** Also create missing parent directories (0755 root) of every live node. 0 or -ENOMEM. */
int image_tree_fill_parents(struct image_tree *t);

/**
 * Content key of a directory template from its sorted listing: SHA-256 over the format
 * version and, per node, path, type, mode, uid, gid, size, mtime_ns, link target. 64 hex
 * digits + NUL into key.
 */
void image_key_listing(struct image_node *const *v, size_t n, char key[65]);
/** Content key of a tar template from the SHA-256 of the file (hex). */
void image_key_tar(const char *file_sha256_hex, char key[65]);

/* ---- image manifests (pure) --------------------------------------------------------------- */

/**
 * In the JSON text j[0..len), find the first member named key (at any depth) whose value is
 * an array; collect its elements: strings themselves (member NULL), or for object elements the
 * string value of their top-level member `member`. Up to cap strings of at most 255 bytes into
 * out (escapes decoded, control bytes as '?'). Parsed with json-c (a repeated member: the last
 * one counts). Returns how many, or -EINVAL (malformed JSON, key not found), -ENOMEM.
 */
int image_json_strings(const char *j, size_t len, const char *key, const char *member,
		       char (*out)[256], size_t cap);

/* ---- building (I/O) ----------------------------------------------------------------------- */

#define IMAGE_MAX_LAYERS 128

/* What to build, copied out of the configuration (the builder may run on another thread). */
struct image_spec {
	char profile[128];
	char template_path[4096]; /* directory or tar file */
	char images_dir[4096];
	bool squashfs;
	bool force;	     /* build even when the output for the key exists */
	atomic_bool *cancel; /* may be NULL; set: the build stops with -ECANCELED */
	/* tar templates: memo of the file's SHA-256 (in/out, may stay empty) */
	char memo_stat[96];
	char memo_sha[65];
};

/* What image_ensure produced. */
struct image_result {
	char key[65];
	char cpio[4096];     /* <images>/<profile>-<key16>.cpio.gz */
	char squashfs[4096]; /* <images>/<profile>-<key16>.squashfs, or "" */
	bool built;	     /* false: an existing output was current */
	bool init_added;     /* /init -> /sbin/init was added */
	size_t entries;
	size_t skipped;
	char first_skipped[200];
	char err[512]; /* why it failed */
};

/** Compute the content key of spec's template (walk or hash). 0 or -errno with r->err set. */
int image_key(struct image_spec *spec, struct image_result *r);

/**
 * Make sure the archive(s) for the current content of spec's template exist: compute the key;
 * build when the output is missing (or spec->force); write atomically (temporary file, fsync,
 * rename), then remove older outputs of the profile. Returns 0 or a negative errno, with
 * r->err saying why.
 */
int image_ensure(struct image_spec *spec, struct image_result *r);

/** Path of the images directory: diskless.images, else <state-dir>/images. */
void image_dir(const char *images, const char *state_dir, char *out, size_t cap);

/* One built archive found in an images directory. */
struct image_listing {
	char profile[128];
	char key16[17];
	char file[256];
	uint64_t size;
	int64_t mtime;
};
/** List <profile>-<key16>.cpio.gz / .squashfs files of dir. Returns the count (up to cap) or
 * -errno. */
int image_list(const char *dir, struct image_listing *out, size_t cap);

#endif
