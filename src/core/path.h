/* Path confinement: the one function that turns an untrusted path from the network (TFTP file
 * name, HTTP request target) into a safe relative path, and the one way to open it beneath a
 * root directory. Shared by TFTP and HTTP. */
#ifndef PXED_CORE_PATH_H
#define PXED_CORE_PATH_H

#include <stddef.h>

struct stat;

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

/*
 * Details of the functions above, beyond their contracts:
 *
 * path_confine
 *  - Error codes: -EINVAL for a malformed escape ('%' not followed by two hex digits, e.g. "%4",
 *    "%zz", a trailing '%'), for unknown flag bits, for out == NULL; -EACCES for %00, %2F/%2f
 *    and, with PATH_BACKSLASH, %5C/%5c (an escape never yields a separator); -ENAMETOOLONG
 *    also when the result is PATH_MAX bytes or longer, whatever cap is.
 *  - Decoding happens exactly once: "%252e" becomes the harmless literal name "%2e".
 *  - Assumption for HTTP: the caller has already cut the request target at the first '?' or
 *    '#' (query and fragment are not part of the path); here both are ordinary name bytes.
 *  - Bytes >= 0x80 pass through unchanged. Nothing decodes UTF-8, so an overlong form such as
 *    "%c0%ae" stays the two bytes C0 AE, never '.'.
 *  - Without PATH_BACKSLASH a '\\' is an ordinary name byte (as on any POSIX file system).
 *  - root_prefix is compared byte for byte with the decoded, backslash-mapped input; its
 *    trailing '/' are ignored; NULL, "" and "/" strip nothing beyond the leading '/'.
 *  - Other names made of dots ("...", "....") are ordinary names and are kept.
 *
 * path_open_beneath, path_open_parent_beneath, path_open_regular_beneath
 *  - rel must be in path_confine's normal form (relative, no empty, "." or ".." component, no
 *    control byte, components <= NAME_MAX, shorter than PATH_MAX), else -EINVAL.
 *  - extra_flags may not ask for writing, creating or truncating (O_WRONLY, O_RDWR, O_CREAT,
 *    O_TRUNC, O_APPEND, O_EXCL, O_TMPFILE): -EINVAL.
 *  - openat2 is retried a few times when it returns EAGAIN (a ".." inside a symlink target
 *    raced with a rename or mount).
 */

/**
 * Open rel beneath rootfd like path_open_beneath, refusing anything but a regular file:
 * -EISDIR for a directory, -EACCES for a device, FIFO or socket. The type is first checked on
 * an O_PATH descriptor (opening that has no side effects on devices), then the file is opened
 * with O_NONBLOCK | O_NOCTTY (a FIFO swapped in meanwhile cannot block) and checked again;
 * O_NONBLOCK is then cleared unless extra_flags asked for it. extra_flags as for
 * path_open_beneath, without O_PATH or O_DIRECTORY (-EINVAL). On success fills *st (when not
 * NULL) from fstat of the returned fd and returns the fd; else a negative errno.
 */
int path_open_regular_beneath(int rootfd, const char *rel, int extra_flags, struct stat *st);

/**
 * The fallback of path_open_beneath on kernels without openat2, callable directly (tests; a
 * strict mode that refuses every symlink): walks rel one component at a time with
 * O_PATH | O_DIRECTORY | O_NOFOLLOW, opens the last with O_NOFOLLOW. Any symlink fails
 * (-ELOOP or -ENOTDIR). Same rel and extra_flags rules; returns an fd or a negative errno.
 */
int path_open_beneath_walk(int rootfd, const char *rel, int extra_flags);

#endif
