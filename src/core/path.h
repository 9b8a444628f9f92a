/* Path confinement: the one function that turns an untrusted path from the network (TFTP file
 * name, HTTP request target) into a safe relative path, and the one way to open it beneath a
 * root directory. Shared by TFTP and HTTP. */
#ifndef PXED_CORE_PATH_H
#define PXED_CORE_PATH_H

#include <stddef.h>

enum path_flags {
	/* Decode %XX escapes first (HTTP). Without it '%' is an ordinary character. */
	PATH_URL_DECODE = 1 << 0,
	/* Map '\\' to '/' (TFTP: Windows-style clients and some firmware send backslashes). */
	PATH_BACKSLASH = 1 << 1,
};

/**
 * Confine an untrusted path. Pure: no file system access.
 *
 * Input raw[0..len). Steps: optional %XX decoding (malformed escapes, %00 and escapes of '/'
 * are rejected), backslash mapping, then if the path begins with root_prefix (e.g. the tftp
 * root "/srv/tftp", followed by '/' or end) that prefix is removed (dnsmasq accepts absolute
 * names inside the root); leading '/' are removed (absolute names are taken relative to the
 * root, like tftp-hpa -s); then the path is split on '/', empty and "." components dropped.
 * Rejected with -EACCES: any ".." component, any byte < 0x20 or 0x7f, a NUL anywhere in
 * raw[0..len), a component longer than 255 bytes. Rejected with -ENOENT: nothing left (empty
 * path or only slashes / dots). -ENAMETOOLONG when the result does not fit out (cap bytes incl.
 * NUL). root_prefix may be NULL.
 *
 * On success writes the normalised relative path ("a/b/c", no leading or trailing '/', no "."
 * or ".." components) as a C string into out and returns its length.
 */
int path_confine(const char *raw, size_t len, unsigned flags, const char *root_prefix, char *out,
		 size_t cap);

/**
 * Open rel (a path_confine result) beneath the directory rootfd for reading, without ever
 * leaving it: openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS); symlinks that stay inside the
 * root are followed, ones that leave it fail with -EXDEV. On kernels without openat2 falls
 * back to a component walk with O_NOFOLLOW (all symlinks refused). extra_flags is or-ed into
 * O_RDONLY | O_CLOEXEC (e.g. O_NONBLOCK). Returns an fd or a negative errno.
 */
int path_open_beneath(int rootfd, const char *rel, int extra_flags);

/**
 * For writes (TFTP WRQ): open the parent directory of rel beneath rootfd (same resolution
 * rules as path_open_beneath, O_PATH | O_DIRECTORY) and point *base at rel's last component
 * (inside rel). The caller then creates files with openat(dirfd, name, O_NOFOLLOW | O_EXCL
 * ...) and renames with renameat(dirfd, ..., dirfd, base): single components never leave the
 * root. Returns the directory fd or a negative errno.
 */
int path_open_parent_beneath(int rootfd, const char *rel, const char **base);

#endif
