/* Path confinement: see path.h.
 *
 * path_confine walks the untrusted input twice with the same code: once to validate it and
 * measure the result, then (only if that succeeded and the result fits) to write it. So the
 * caller's buffer is written only on success, and the two passes cannot disagree. */
#include "core/path.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PATH_KNOWN_FLAGS (PATH_URL_DECODE | PATH_BACKSLASH)

/* How often openat2 is retried when it reports a race on ".." (EAGAIN). */
#define PATH_OPENAT2_TRIES 8

/* Cursor over the untrusted input that yields decoded, validated bytes. */
struct path_cursor {
	const char *raw;
	size_t len;
	size_t pos;
	unsigned flags;
};

/* State of one component walk (shared by the measuring and the writing pass). */
struct path_walk {
	char *out;   /* NULL while measuring */
	size_t cap;  /* bytes of out that may be written (the result's length) */
	size_t len;  /* output length so far (also counted past cap) */
	size_t mark; /* output length before the current component */
	size_t comp; /* bytes in the current component */
	size_t dots; /* '.' bytes in the current component */
};

/* Value of one hex digit, or -1. */
static int hex_digit(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode the %XX escape at c->pos (which holds '%'). Returns 1 with *byte set, -EINVAL when
 * two hex digits do not follow, -EACCES for %00, an escaped '/' and (with PATH_BACKSLASH) an
 * escaped '\\': an escape must never produce a separator. */
static int cursor_unescape(struct path_cursor *c, unsigned char *byte)
{
	if (c->len - c->pos < 3)
		return -EINVAL;
	int hi = hex_digit((unsigned char)c->raw[c->pos + 1]);
	int lo = hex_digit((unsigned char)c->raw[c->pos + 2]);
	if (hi < 0 || lo < 0)
		return -EINVAL;
	unsigned char b = (unsigned char)(hi << 4 | lo);
	if (b == 0 || b == '/' || (b == '\\' && (c->flags & PATH_BACKSLASH)))
		return -EACCES;
	c->pos += 3;
	*byte = b;
	return 1;
}

/* Next byte of the decoded, backslash-mapped input: 1 with *byte set, 0 at the end, or a
 * negative errno. NUL, other control bytes and DEL are -EACCES whether raw or escaped. */
static int cursor_next(struct path_cursor *c, unsigned char *byte)
{
	if (c->pos >= c->len)
		return 0;
	unsigned char b = (unsigned char)c->raw[c->pos];
	if (b == '%' && (c->flags & PATH_URL_DECODE)) {
		int r = cursor_unescape(c, &b);
		if (r < 0)
			return r;
	} else {
		c->pos++;
		if (b == '\\' && (c->flags & PATH_BACKSLASH))
			b = '/';
	}
	if (b < 0x20 || b == 0x7f)
		return -EACCES;
	*byte = b;
	return 1;
}

/* Raw offset where the path proper starts: just past root_prefix (ignoring its trailing '/')
 * when the decoded input begins with it followed by '/' or the end; else 0. A prefix that does
 * not match is left alone ("/srv/tftpX/a" keeps "srv/tftpX/a"). */
static size_t prefix_end(const char *raw, size_t len, unsigned flags, const char *prefix)
{
	if (!prefix)
		return 0;
	size_t plen = strlen(prefix);
	while (plen > 0 && prefix[plen - 1] == '/')
		plen--;
	if (plen == 0)
		return 0;
	struct path_cursor c = {.raw = raw, .len = len, .pos = 0, .flags = flags};
	unsigned char b;
	for (size_t i = 0; i < plen; i++) {
		if (cursor_next(&c, &b) != 1 || b != (unsigned char)prefix[i])
			return 0;
	}
	size_t at = c.pos;
	int r = cursor_next(&c, &b);
	if (r == 0 || (r == 1 && b == '/'))
		return at;
	return 0;
}

/* Append one output byte; bytes past cap are only counted (they belong to a component that
 * will be dropped, or the measuring pass rejects the result as too long). */
static void walk_emit(struct path_walk *w, char b)
{
	if (w->out && w->len < w->cap)
		w->out[w->len] = b;
	w->len++;
}

/* Add a byte of the current component, preceded by '/' when it starts a later component. */
static void walk_put(struct path_walk *w, unsigned char b)
{
	if (w->comp == 0 && w->len > 0)
		walk_emit(w, '/');
	walk_emit(w, (char)b);
	w->comp++;
	if (b == '.')
		w->dots++;
}

/* Close the current component: drop it when empty or ".", reject ".." and overlong ones. */
static int walk_end_component(struct path_walk *w)
{
	if (w->comp > NAME_MAX)
		return -EACCES;
	if (w->comp == w->dots && w->comp == 2)
		return -EACCES;
	if (w->comp == w->dots && w->comp < 2)
		w->len = w->mark;
	w->mark = w->len;
	w->comp = 0;
	w->dots = 0;
	return 0;
}

/* Walk raw[start..len) component by component into w. Returns 0 or a negative errno. */
static int walk_run(const char *raw, size_t len, unsigned flags, size_t start, struct path_walk *w)
{
	struct path_cursor c = {.raw = raw, .len = len, .pos = start, .flags = flags};
	for (;;) {
		unsigned char b;
		int r = cursor_next(&c, &b);
		if (r < 0)
			return r;
		if (r == 1 && b != '/') {
			walk_put(w, b);
			continue;
		}
		int e = walk_end_component(w);
		if (e < 0)
			return e;
		if (r == 0)
			return 0;
	}
}

int path_confine(const char *raw, size_t len, unsigned flags, const char *root_prefix, char *out,
		 size_t cap)
{
	if ((flags & ~(unsigned)PATH_KNOWN_FLAGS) || !out || (!raw && len))
		return -EINVAL;
	/* Bytes before the prefix end were validated by prefix_end's cursor. */
	size_t start = prefix_end(raw, len, flags, root_prefix);
	struct path_walk w = {.out = NULL};
	int r = walk_run(raw, len, flags, start, &w);
	if (r < 0)
		return r;
	if (w.len == 0)
		return -ENOENT;
	if (w.len >= PATH_MAX || w.len >= cap)
		return -ENAMETOOLONG;
	/* Second pass: writes only out[0..measured); bytes of dropped "." components that would
	 * land beyond are skipped, so out is written exactly up to the result's NUL. */
	size_t measured = w.len;
	w = (struct path_walk){.out = out, .cap = measured};
	walk_run(raw, len, flags, start, &w); /* cannot fail: same input as above */
	out[measured] = '\0';
	return (int)measured;
}

/* Check that rel is in path_confine's normal form: non-empty, relative, components of 1 to
 * NAME_MAX bytes that are neither "." nor "..", no control bytes, shorter than PATH_MAX. Such
 * a path can only go down (symlinks aside). Returns 0 or -EINVAL. */
static int rel_check(const char *rel)
{
	if (!rel || strnlen(rel, PATH_MAX) >= PATH_MAX)
		return -EINVAL;
	const char *p = rel;
	for (;;) {
		size_t n = strcspn(p, "/");
		if (n == 0 || n > NAME_MAX || (n == 1 && p[0] == '.') ||
		    (n == 2 && p[0] == '.' && p[1] == '.'))
			return -EINVAL;
		for (size_t i = 0; i < n; i++) {
			if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
				return -EINVAL;
		}
		if (p[n] == '\0')
			return 0;
		p += n + 1;
	}
}

/* Flags a read-only open accepts from the caller: nothing that writes, creates or truncates. */
static int extra_flags_check(int extra_flags)
{
	if (extra_flags & (O_ACCMODE | O_CREAT | O_TRUNC | O_APPEND | O_EXCL))
		return -EINVAL;
	if ((extra_flags & O_TMPFILE) == O_TMPFILE)
		return -EINVAL;
	return 0;
}

/* openat2(rootfd, rel, flags, RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS), retried when the
 * kernel could not rule out a ".." race (EAGAIN). Returns an fd or a negative errno
 * (-ENOSYS on kernels before 5.6). */
static int open_openat2(int rootfd, const char *rel, int flags)
{
	/* The libc open() wrappers add O_LARGEFILE on 32-bit targets; a raw syscall must do it
	 * itself (files over 2 GiB, e.g. ISO images). openat2 refuses it with O_PATH. */
	if (!(flags & O_PATH))
		flags |= O_LARGEFILE;
	struct open_how how = {
		.flags = (unsigned long long)(unsigned)flags,
		.mode = 0,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
	};
	for (int i = 0; i < PATH_OPENAT2_TRIES; i++) {
		long fd = syscall(SYS_openat2, rootfd, rel, &how, sizeof(how));
		if (fd >= 0)
			return (int)fd;
		if (errno != EAGAIN)
			return -errno;
	}
	return -EAGAIN;
}

/* Last step of the walk: with O_PATH | O_NOFOLLOW a symlink opens as itself, so refuse it. */
static int walk_last_check(int fd, int flags)
{
	struct stat st;
	if (!(flags & O_PATH))
		return fd; /* O_NOFOLLOW already failed with ELOOP on a symlink */
	if (fstat(fd, &st) < 0) {
		int err = -errno;
		close(fd);
		return err;
	}
	if (S_ISLNK(st.st_mode)) {
		close(fd);
		return -ELOOP;
	}
	return fd;
}

/* The component walk: directories with O_PATH | O_DIRECTORY | O_NOFOLLOW, the last component
 * with flags | O_NOFOLLOW. rel must have passed rel_check (so no "..", names <= NAME_MAX). */
static int open_walk(int rootfd, const char *rel, int flags)
{
	int dirfd = rootfd;
	const char *p = rel;
	for (;;) {
		char name[NAME_MAX + 1];
		size_t n = strcspn(p, "/");
		bool last = p[n] == '\0';
		memcpy(name, p, n);
		name[n] = '\0';
		int f = last ? flags | O_NOFOLLOW : O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
		int fd = openat(dirfd, name, f);
		int err = errno;
		if (dirfd != rootfd)
			close(dirfd);
		if (fd < 0)
			return -err;
		if (last)
			return walk_last_check(fd, flags);
		dirfd = fd;
		p += n + 1;
	}
}

/* Open rel beneath rootfd with the given full open flags: openat2, or the walk without it. */
static int open_beneath(int rootfd, const char *rel, int flags)
{
	int fd = open_openat2(rootfd, rel, flags);
	if (fd == -ENOSYS)
		fd = open_walk(rootfd, rel, flags);
	return fd;
}

int path_open_beneath(int rootfd, const char *rel, int extra_flags)
{
	int r = rel_check(rel);
	if (r < 0)
		return r;
	r = extra_flags_check(extra_flags);
	if (r < 0)
		return r;
	return open_beneath(rootfd, rel, O_RDONLY | O_CLOEXEC | extra_flags);
}

int path_open_beneath_walk(int rootfd, const char *rel, int extra_flags)
{
	int r = rel_check(rel);
	if (r < 0)
		return r;
	r = extra_flags_check(extra_flags);
	if (r < 0)
		return r;
	return open_walk(rootfd, rel, O_RDONLY | O_CLOEXEC | extra_flags);
}

/* 0 for a regular file, -EISDIR for a directory, -EACCES for anything else. */
static int regular_check(const struct stat *st)
{
	if (S_ISREG(st->st_mode))
		return 0;
	return S_ISDIR(st->st_mode) ? -EISDIR : -EACCES;
}

/* Look at rel without opening it for I/O (O_PATH has no side effects on devices or FIFOs). */
static int type_check_beneath(int rootfd, const char *rel)
{
	struct stat st;
	int fd = path_open_beneath(rootfd, rel, O_PATH);
	if (fd < 0)
		return fd;
	int r = fstat(fd, &st) < 0 ? -errno : regular_check(&st);
	close(fd);
	return r;
}

int path_open_regular_beneath(int rootfd, const char *rel, int extra_flags, struct stat *st)
{
	if (extra_flags & (O_PATH | O_DIRECTORY))
		return -EINVAL;
	int r = type_check_beneath(rootfd, rel);
	if (r < 0)
		return r;
	/* The file may have been swapped since: open so that nothing can block or take a
	 * controlling tty, and check again on the open file. */
	int fd = path_open_beneath(rootfd, rel, extra_flags | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return fd;
	struct stat got;
	if (fstat(fd, &got) < 0) {
		r = -errno;
		goto out_close;
	}
	r = regular_check(&got);
	if (r < 0)
		goto out_close;
	if (!(extra_flags & O_NONBLOCK)) {
		int fl = fcntl(fd, F_GETFL);
		if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
			r = -errno;
			goto out_close;
		}
	}
	if (st)
		*st = got;
	return fd;

out_close:
	close(fd);
	return r;
}

int path_open_parent_beneath(int rootfd, const char *rel, const char **base)
{
	char dir[PATH_MAX];
	int r = rel_check(rel);
	if (r < 0)
		return r;
	const char *slash = strrchr(rel, '/');
	int fd;
	if (!slash) {
		/* The parent is the root itself; "." relative to rootfd cannot leave it. */
		fd = openat(rootfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			return -errno;
	} else {
		size_t n = (size_t)(slash - rel);
		memcpy(dir, rel, n); /* n < PATH_MAX: rel_check bounded rel */
		dir[n] = '\0';
		fd = open_beneath(rootfd, dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			return fd;
	}
	*base = slash ? slash + 1 : rel;
	return fd;
}
