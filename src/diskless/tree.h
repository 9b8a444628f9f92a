/* Per-node NFS root trees: the pure sync decision (template listing + tree listing + manifest +
 * per-node globs -> ordered action list) and the adapter that walks, copies and personalises
 * trees through descriptors beneath the tree root, never following a symlink inside it. */
#ifndef PXED_DISKLESS_TREE_H
#define PXED_DISKLESS_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pxed_config;
struct config_node;
struct config_profile;

enum tree_kind { TK_REG, TK_DIR, TK_LNK, TK_CHR, TK_BLK, TK_FIFO, TK_SOCK };

/* One file system object, by its path relative to the tree ("etc/hostname", no leading '/'). */
struct tree_entry {
	char *path; /* owned */
	char *link; /* TK_LNK: the target (owned); else NULL */
	enum tree_kind kind;
	uint32_t mode; /* permission bits incl. setuid/setgid/sticky (07777) */
	uint32_t uid, gid;
	uint64_t size;
	int64_t mtime_s;
	long mtime_ns;
	uint64_t rdev;
	bool has_sum; /* sum is valid (--checksum listings) */
	uint64_t sum; /* FNV-1a 64 of the content */
};

/* A listing, kept sorted by path (strcmp) after tree_list_sort. */
struct tree_list {
	size_t n, cap;
	struct tree_entry *e;
};

/** Append a copy of e (path and link are copied). Returns 0 or -ENOMEM. */
int tree_list_add(struct tree_list *l, const struct tree_entry *e);
/** Sort by path. */
void tree_list_sort(struct tree_list *l);
/** Entry with this path (list sorted), or NULL. */
const struct tree_entry *tree_list_find(const struct tree_list *l, const char *path);
/** Free the entries. Accepts a zeroed list. */
void tree_list_free(struct tree_list *l);

enum tree_op {
	TREE_ADD,	   /* "+ path": in the template, not in the tree */
	TREE_UPDATE,	   /* "M path": differs from the template */
	TREE_DELETE,	   /* "- path": came from the template, gone from it (--force) */
	TREE_WOULD_DELETE, /* "- path (would delete, needs --force)" */
	TREE_KEEP,	   /* "= path (per-node, kept)": differs, but the node owns it */
	TREE_CONFLICT, /* "! path": the tree has a directory where the template has no directory */
};

struct tree_action {
	enum tree_op op;
	const char *path;	      /* borrowed from the listings */
	const struct tree_entry *src; /* template entry (ADD, UPDATE, KEEP, CONFLICT), else NULL */
	const struct tree_entry *dst; /* tree entry when it exists, else NULL */
};

struct tree_plan {
	size_t n, cap;
	struct tree_action *a;
};

enum tree_plan_flags {
	TREE_FORCE = 1 << 0,	   /* delete template-owned paths that left the template */
	TREE_CHECKSUM = 1 << 1,	   /* compare content sums instead of size + mtime */
	TREE_NO_PER_NODE = 1 << 2, /* a shared root: the template owns everything */
};

/**
 * True when path belongs to the node (sync never overwrites it): the built-in list
 * (etc/hostname, etc/hosts, etc/fstab, etc/pxed-node, etc/machine-id, etc/ssh/ssh_host_KEYS,
 * everything beneath var, home, root and tmp) or one of the comma-separated globs of extra (a
 * profile's `per-node`; leading '/' ignored; "DIR" and DIR followed by slash-star-star both
 * cover everything beneath DIR). A
 * pattern matching an ancestor of path covers path too. Pure.
 */
bool tree_is_per_node(const char *path, const char *extra);

/** True for the files pxed writes itself when personalising (etc/hostname, etc/hosts,
 * etc/fstab, etc/pxed-node, fastboot): never reported by a sync. */
bool tree_is_managed(const char *path);

/**
 * The sync decision. Pure: borrows the sorted listings tmpl (the template), tree (the node's
 * tree) and manifest (paths that came from the template at the last create/sync; only paths
 * are used), and per_node (extra globs, may be NULL). Writes into out (zeroed by the caller)
 * adds, updates, keeps and conflicts in ascending path order (parents before children), then
 * deletions in descending order (children before parents). A directory is never deleted
 * while something beneath it stays. Quick check: kind, size, mtime, mode, owner, symlink
 * target, device number (directories: mode and owner only); with TREE_CHECKSUM regular files
 * compare sums instead of size + mtime. Returns 0 or -ENOMEM.
 */
int tree_plan_sync(const struct tree_list *tmpl, const struct tree_list *tree,
		   const struct tree_list *manifest, const char *per_node, unsigned flags,
		   struct tree_plan *out);
/** Free out's array (the paths are borrowed). Accepts a zeroed plan. */
void tree_plan_free(struct tree_plan *p);

/** One line for an action ("+ etc/x"), no newline. */
void tree_action_format(const struct tree_action *a, char *out, size_t cap);

/* Files a personalised tree contains, computed from the configuration. Pure. */
struct tree_personal {
	char hostname[256];
	char hosts[1024];
	char fstab[4096];
	char stamp[512];
};

/**
 * Content of etc/hostname, etc/hosts, etc/fstab and etc/pxed-node for node (booting profile p,
 * NFS server address server). For shared-root profiles the fstab mounts the shared root
 * read-only on / and the node's etc and var. Returns 0, or -ENOSPC when the profile's mounts
 * do not fit.
 */
int tree_personal_render(const struct pxed_config *c, const struct config_node *node,
			 const struct config_profile *p, const char *server,
			 struct tree_personal *out);

/* ---- adapter: file system access ---- */

/* Options of one create/sync run. */
struct tree_run {
	bool dry_run;
	bool force;
	bool checksum;
	bool quiet;	    /* no per-path lines */
	bool skip_shared;   /* do not refresh the shared root (already done in this run) */
	unsigned counts[6]; /* per enum tree_op, after the run */
	unsigned personal;  /* personalised files written */
	unsigned errors;    /* paths that failed (each reported on stderr) */
};

/**
 * Scan the directory dirfd recursively into out (paths relative to it, unsorted order, then
 * sorted). Never follows symlinks. With only_prefixes (NULL-terminated list such as {"etc",
 * "var", NULL}) keeps just those top-level names and what is under them. With checksum, sums
 * regular files. Returns 0 or a negative errno (stops at the first error).
 */
int tree_scan(int dirfd, const char *const *only_prefixes, bool checksum, struct tree_list *out);

/**
 * Create or sync the node's tree <diskless.root>/<node> from the template directory tmpl
 * (NULL: the profile's template) and personalise it; for shared-root profiles also refresh
 * the shared root first. Prints one line per change on stdout and errors on stderr. Returns
 * 0, 1 (some paths failed / refused) or a negative errno.
 */
int diskless_tree_update(const struct pxed_config *c, const struct config_node *node,
			 const char *tmpl, bool create, struct tree_run *run);

/** Refresh the shared root <diskless.root>/shared/<profile> from the profile's template. */
int diskless_shared_update(const struct pxed_config *c, const struct config_profile *p,
			   const char *tmpl, struct tree_run *run);

#endif
