/* Per-node overlays of RAM-root nodes: a small gzip cpio the node's kernel unpacks as a second
 * initrd over the image. Built-ins (/etc/hostname, /etc/hosts, /etc/fstab,
 * /etc/network/interfaces), the node's ssh host key (generated once, kept in the state
 * directory) and the files of the profile's `overlay` directory (NAME.pxed templates rendered
 * with boot_expand_into and stored as NAME, the rest copied). The archive is deterministic
 * (sorted entries, fixed mtimes, root-owned, gzip without a timestamp), so the SHA-256 of its
 * bytes is a stable entity tag. See docs/diskless-ram.md. */
#ifndef PXED_DISKLESS_OVERLAY_H
#define PXED_DISKLESS_OVERLAY_H

#include <stddef.h>
#include <stdint.h>

struct boot_ctx;

#define OVERLAY_TEMPLATE_SUFFIX ".pxed"
#define OVERLAY_FILE_MAX	(16u << 20) /* largest file taken from an overlay directory */

/* One entry: a regular file, a directory or a symlink (data = target). */
struct overlay_entry {
	char *path;    /* relative, cleaned: "etc/hostname" */
	uint32_t mode; /* S_IFREG/S_IFDIR/S_IFLNK | permissions */
	char *data;
	size_t len;
};

struct overlay {
	struct overlay_entry *v;
	size_t n, cap;
	char warn[256]; /* something skipped that the caller should log, or "" */
};

void overlay_init(struct overlay *o);
/** Free the entries. Accepts a zeroed overlay. */
void overlay_free(struct overlay *o);

/** Add (or replace) path with a copy of data[0..len). 0, -EINVAL (unsafe path), -ENOMEM. */
int overlay_add(struct overlay *o, const char *path, uint32_t mode, const void *data, size_t len);

/**
 * Add the built-in files for the machine b: etc/hostname (${hostname}), etc/hosts (localhost
 * and "${ip} ${hostname}"), etc/fstab (proc, tmpfs /tmp), etc/network/interfaces (lo, and dhcp
 * on ${interface}, default eth0). 0 or -ENOMEM.
 */
int overlay_builtins(struct overlay *o, const struct boot_ctx *b);

/**
 * Add every file beneath dir (recursively, symlinks not followed): NAME.pxed rendered for b
 * and stored as NAME, other files and symlinks copied, directories with their modes. 0 or
 * -errno with err (cap bytes) saying which file.
 */
int overlay_add_dir(struct overlay *o, const struct boot_ctx *b, const char *dir, char *err,
		    size_t cap);

/**
 * Add the node's ssh host key pair (etc/ssh/ssh_host_ed25519_key 0600 and .pub 0644) from
 * keys_dir (created 0700), generating it first with `ssh-keygen -q -t ed25519 -N ''` when it
 * is not there. Without ssh-keygen: 0 with o->warn set, nothing added. -errno with err set on
 * other failures.
 */
int overlay_ssh_keys(struct overlay *o, const char *keys_dir, char *err, size_t cap);

/**
 * The deterministic gzip cpio of o (missing parent directories added as 0755): a malloc'd
 * buffer into *out and *len, and the SHA-256 of those bytes as 64 hex digits into key. 0 or
 * -ENOMEM / -EIO.
 */
int overlay_pack(struct overlay *o, uint8_t **out, size_t *len, char key[65]);

/**
 * Everything for one node: built-ins, ssh keys (keys_dir may be NULL: none), then the
 * profile's overlay directory (may be NULL). 0 or -errno with err set.
 */
int overlay_build(struct overlay *o, const struct boot_ctx *b, const char *overlay_dir,
		  const char *keys_dir, char *err, size_t cap);

#endif
