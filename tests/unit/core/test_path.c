/* Tests for core/path: path_confine against traversal payloads (each input placed right before
 * an unreadable page), then the open functions against a real directory tree in /tmp with
 * symlinks inside and out, a FIFO, a device and a socket; the openat2-less fallback is tested
 * in a child whose seccomp filter makes openat2 fail with ENOSYS. */
#include "core/path.h"
#include "test.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>

#define U  PATH_URL_DECODE
#define B  PATH_BACKSLASH
#define UB (PATH_URL_DECODE | PATH_BACKSLASH)

#define TFTP_ROOT "/srv/tftp"

/* One path_confine case; in may hold NULs (its length is taken with sizeof). */
struct confine_case {
	const char *in;
	size_t len;
	unsigned flags;
	const char *prefix;
	int want;	 /* result length, or negative errno */
	const char *out; /* expected result when want >= 0 */
};

#define OK(s, f, p, o)                                        \
	{                                                     \
		s, sizeof(s) - 1, f, p, (int)sizeof(o) - 1, o \
	}
#define BAD(s, f, p, e)                         \
	{                                       \
		s, sizeof(s) - 1, f, p, e, NULL \
	}

/* Attack payloads: every one is rejected or yields a harmless confined name. */
static const struct confine_case attacks[] = {
	/* plain dot-dot traversal */
	BAD("../etc/passwd", 0, NULL, -EACCES),
	BAD("..", 0, NULL, -EACCES),
	BAD("a/../../b", 0, NULL, -EACCES),
	BAD("a/..", 0, NULL, -EACCES),
	BAD("/..", 0, NULL, -EACCES),
	BAD("/../etc/passwd", 0, NULL, -EACCES),
	BAD("../", 0, NULL, -EACCES),
	BAD("./../a", 0, NULL, -EACCES),
	BAD("a/./../b", 0, NULL, -EACCES), /* resolvable inside, still rejected */
	BAD("a/b/c/../../../../etc", 0, NULL, -EACCES),
	BAD("..//..//etc", 0, NULL, -EACCES),
	BAD("pxelinux.cfg/../../../etc/shadow", 0, NULL, -EACCES),
	BAD("../etc/passwd", U | B, NULL, -EACCES),
	OK("....//", 0, NULL, "...."),
	OK("....//....//etc/passwd", 0, NULL, "..../..../etc/passwd"),
	OK("...", 0, NULL, "..."),
	OK("..;/etc", 0, NULL, "..;/etc"),
	OK(". ./a", 0, NULL, ". ./a"),
	/* backslashes */
	BAD("..\\..\\windows", B, NULL, -EACCES),
	BAD("\\..\\etc", B, NULL, -EACCES),
	BAD("a\\..\\..\\b", B, NULL, -EACCES),
	BAD("..\\", B, NULL, -EACCES),
	BAD("..\\/etc", B, NULL, -EACCES),
	OK("..\\..\\windows", 0, NULL, "..\\..\\windows"), /* one literal name */
	OK("a\\b", 0, NULL, "a\\b"),
	/* URL-encoded traversal */
	BAD("%2e%2e/%2e%2e/etc/passwd", U, NULL, -EACCES),
	BAD("%2e%2e%2fetc", U, NULL, -EACCES),
	BAD("..%2f", U, NULL, -EACCES),
	BAD("..%2F..%2Fetc", U, NULL, -EACCES),
	BAD("%2E%2E/etc", U, NULL, -EACCES),
	BAD(".%2e/etc", U, NULL, -EACCES),
	BAD("%2e./etc", U, NULL, -EACCES),
	BAD("a/%2e%2e", U, NULL, -EACCES),
	BAD("a%2fb", U, NULL, -EACCES), /* encoded slash is never a separator */
	BAD("%2f", U, NULL, -EACCES),
	BAD("..%5c..%5cwindows", UB, NULL, -EACCES),
	BAD("%5c..%5cetc", UB, NULL, -EACCES),
	BAD("a%5Cb", UB, NULL, -EACCES),
	OK("..%5c..%5cwin", U, NULL, "..\\..\\win"), /* literal backslashes: one name */
	OK("%2e%2e", 0, NULL, "%2e%2e"),	     /* no decoding asked */
	/* double encoding decodes once: a literal, harmless name */
	OK("%252e%252e", U, NULL, "%2e%2e"),
	OK("%252e%252e/%252e%252e/etc", U, NULL, "%2e%2e/%2e%2e/etc"),
	OK("%252f", U, NULL, "%2f"),
	OK("%25", U, NULL, "%"),
	/* NUL, raw or encoded */
	BAD("a/%00b", U, NULL, -EACCES),
	BAD("a%00", U, NULL, -EACCES),
	BAD("pxelinux.0%00.cfg", U, NULL, -EACCES),
	BAD("a\0b", 0, NULL, -EACCES),
	BAD("pxelinux.0\0../../etc/passwd", 0, NULL, -EACCES),
	BAD("\0", 0, NULL, -EACCES),
	BAD("a\0", B, NULL, -EACCES),
	/* control bytes */
	BAD("a\x01"
	    "b",
	    0, NULL, -EACCES),
	BAD("\x1b[31mred", 0, NULL, -EACCES),
	BAD("a\x7f", 0, NULL, -EACCES),
	BAD("\n", 0, NULL, -EACCES),
	BAD("a\nb", 0, NULL, -EACCES),
	BAD("a\r\n", 0, NULL, -EACCES),
	BAD("a\tb", 0, NULL, -EACCES),
	BAD("a\x1f", 0, NULL, -EACCES),
	BAD("%0a", U, NULL, -EACCES),
	BAD("a%0d%0aSet-Cookie:x", U, NULL, -EACCES),
	BAD("%7f", U, NULL, -EACCES),
	BAD("%1b", U, NULL, -EACCES),
	BAD("%09", U, NULL, -EACCES),
	/* malformed escapes */
	BAD("%4", U, NULL, -EINVAL),
	BAD("%zz", U, NULL, -EINVAL),
	BAD("a%", U, NULL, -EINVAL),
	BAD("%", U, NULL, -EINVAL),
	BAD("%%32e", U, NULL, -EINVAL),
	BAD("%g0", U, NULL, -EINVAL),
	BAD("% 2e", U, NULL, -EINVAL),
	BAD("%+2e", U, NULL, -EINVAL),
	BAD("%u002e%u002e", U, NULL, -EINVAL),
	OK("%4", 0, NULL, "%4"), /* '%' is ordinary without decoding */
	/* UTF-8 overlong dots and slashes stay opaque bytes */
	OK("%c0%ae%c0%ae/etc", U, NULL, "\xc0\xae\xc0\xae/etc"),
	OK("%c0%af", U, NULL, "\xc0\xaf"),
	OK("%e0%80%ae%e0%80%ae/x", U, NULL, "\xe0\x80\xae\xe0\x80\xae/x"),
	OK("\xc0\xae\xc0\xae/etc", 0, NULL, "\xc0\xae\xc0\xae/etc"),
	OK("%ef%bc%8e%ef%bc%8e", U, NULL, "\xef\xbc\x8e\xef\xbc\x8e"), /* fullwidth dots */
	OK("\x80\xff", 0, NULL, "\x80\xff"),
	OK("%ff", U, NULL, "\xff"),
	/* absolute names are taken relative to the root */
	OK("/etc/passwd", 0, NULL, "etc/passwd"),
	OK("//etc//passwd", 0, NULL, "etc/passwd"),
	OK("\\etc\\passwd", B, NULL, "etc/passwd"),
	OK("file:///etc/passwd", 0, NULL, "file:/etc/passwd"),
	OK("C:\\boot\\x", B, NULL, "C:/boot/x"),
	OK("~root/.ssh/id_rsa", 0, NULL, "~root/.ssh/id_rsa"),
	/* root prefix */
	OK("/srv/tftp/pxelinux.0", 0, TFTP_ROOT, "pxelinux.0"),
	OK("/srv/tftp/pxelinux.0", 0, TFTP_ROOT "/", "pxelinux.0"),
	OK("/srv/tftp//pxelinux.cfg/default", 0, TFTP_ROOT, "pxelinux.cfg/default"),
	OK("/srv/tftpX/a", 0, TFTP_ROOT, "srv/tftpX/a"),
	OK("/srv/tft", 0, TFTP_ROOT, "srv/tft"),
	BAD("/srv/tftp", 0, TFTP_ROOT, -ENOENT),
	BAD("/srv/tftp/", 0, TFTP_ROOT, -ENOENT),
	BAD("/srv/tftp/../etc/passwd", 0, TFTP_ROOT, -EACCES),
	BAD("/srv/tftp/..", 0, TFTP_ROOT, -EACCES),
	OK("\\srv\\tftp\\pxelinux.0", B, TFTP_ROOT, "pxelinux.0"),
	BAD("%2fsrv%2ftftp%2fa", U, TFTP_ROOT, -EACCES),
	OK("/srv/tftp/srv/tftp/a", 0, TFTP_ROOT, "srv/tftp/a"), /* stripped once */
	OK("srv/tftp/a", 0, TFTP_ROOT, "srv/tftp/a"),		/* not absolute */
	OK("//srv/tftp/a", 0, TFTP_ROOT, "srv/tftp/a"),
	OK("/srv/tftp/a", 0, NULL, "srv/tftp/a"),
	OK("/srv/tftp/a", 0, "", "srv/tftp/a"),
	OK("/srv/tftp/a", 0, "/", "srv/tftp/a"),
	OK("/srv/%74ftp/a", U, TFTP_ROOT, "a"), /* compared after decoding */
	BAD("/srv/tftp\0/a", 0, TFTP_ROOT, -EACCES),
	/* dots and slashes */
	OK("./././a", 0, NULL, "a"),
	OK("a//b", 0, NULL, "a/b"),
	OK("a/b/", 0, NULL, "a/b"),
	OK("a/./b/.", 0, NULL, "a/b"),
	OK("a/%2e/b", U, NULL, "a/b"),
	BAD("", 0, NULL, -ENOENT),
	BAD("/", 0, NULL, -ENOENT),
	BAD(".", 0, NULL, -ENOENT),
	BAD("./", 0, NULL, -ENOENT),
	BAD("/./././/", 0, NULL, -ENOENT),
	BAD("\\.\\", B, NULL, -ENOENT),
	BAD("%2e", U, NULL, -ENOENT),
	/* the HTTP layer strips the query and fragment first; here they are name bytes */
	OK("a?b#c", 0, NULL, "a?b#c"),
	OK("a%3fb", U, NULL, "a?b"),
};

/* Names real clients ask for. */
static const struct confine_case valid[] = {
	OK("pxelinux.0", 0, NULL, "pxelinux.0"),
	OK("pxelinux.cfg/01-52-54-00-12-34-56", 0, NULL, "pxelinux.cfg/01-52-54-00-12-34-56"),
	OK("pxelinux.cfg/C0A80115", B, NULL, "pxelinux.cfg/C0A80115"),
	OK("EFI/BOOT/grubx64.efi", 0, NULL, "EFI/BOOT/grubx64.efi"),
	OK("boot\\x86\\wdsnbp.com", B, NULL, "boot/x86/wdsnbp.com"),
	OK("/boot/x64/wdsmgfw.efi", B, TFTP_ROOT, "boot/x64/wdsmgfw.efi"),
	OK("rocky9/images/pxeboot/vmlinuz", U, NULL, "rocky9/images/pxeboot/vmlinuz"),
	OK("ks/52%3a54%3a00%3a12%3a34%3a56", U, NULL, "ks/52:54:00:12:34:56"),
	OK("%41bc", U, NULL, "Abc"),
	OK("my%20file.iso", U, NULL, "my file.iso"),
	OK("ipxe/boot.ipxe", UB, NULL, "ipxe/boot.ipxe"),
	OK("undionly.kpxe", 0, NULL, "undionly.kpxe"),
	OK(".hidden", 0, NULL, ".hidden"),
};

/* Run one case with its input right before a guard page; on failure out must be untouched. */
static void run_case(const struct confine_case *c)
{
	void *base;
	size_t map_len;
	char out[PATH_MAX + 64];
	memset(out, 0xa5, sizeof(out));
	const char *in = guard_copy(c->in, c->len, &base, &map_len);
	int r = path_confine(in, c->len, c->flags, c->prefix, out, sizeof(out));
	if (r != c->want)
		fprintf(stderr, "  input \"%.*s\" flags %u: got %d\n", (int)c->len, c->in, c->flags,
			r);
	CHECK_EQ(r, c->want);
	if (c->want >= 0 && r >= 0) {
		CHECK_STR(out, c->out);
		CHECK_EQ(strlen(out), (size_t)r);
		CHECK_EQ((unsigned char)out[r + 1], 0xa5); /* nothing written past the NUL */
	} else {
		CHECK((unsigned char)out[0] == 0xa5 && !memcmp(out, out + 1, sizeof(out) - 1));
	}
	guard_free(base, map_len);
}

static void test_attacks(void)
{
	size_t n = sizeof(attacks) / sizeof(attacks[0]);
	CHECK(n >= 60);
	for (size_t i = 0; i < n; i++)
		run_case(&attacks[i]);
}

static void test_valid(void)
{
	for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++)
		run_case(&valid[i]);
}

/* Confine a runtime-built input (through a guard page) with a given cap. */
static int confine_buf(const char *in, size_t len, unsigned flags, char *out, size_t cap)
{
	void *base;
	size_t map_len;
	const char *g = guard_copy(in, len, &base, &map_len);
	int r = path_confine(g, len, flags, NULL, out, cap);
	guard_free(base, map_len);
	return r;
}

static void test_component_length(void)
{
	char in[NAME_MAX + 8], out[NAME_MAX + 8];
	memset(in, 'a', sizeof(in));
	CHECK_EQ(confine_buf(in, NAME_MAX, 0, out, sizeof(out)), NAME_MAX);
	CHECK_EQ(confine_buf(in, NAME_MAX + 1, 0, out, sizeof(out)), -EACCES);
	/* 85 escapes decode to 85 bytes: fine; the length limit is on decoded bytes */
	char esc[3 * (NAME_MAX + 1)];
	for (size_t i = 0; i < NAME_MAX + 1; i++)
		memcpy(esc + 3 * i, "%61", 3);
	CHECK_EQ(confine_buf(esc, 3 * NAME_MAX, U, out, sizeof(out)), NAME_MAX);
	CHECK_EQ(confine_buf(esc, sizeof(esc), U, out, sizeof(out)), -EACCES);
}

/* Paths near and over PATH_MAX, and a huge run of slashes that normalises to one name. */
static void test_long_paths(void)
{
	static char in[3 * PATH_MAX], out[2 * PATH_MAX];
	/* components of 99 'a' plus '/': 100 bytes each */
	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (i % 100 == 99) ? '/' : 'a';
	CHECK_EQ(confine_buf(in, PATH_MAX - 1, 0, out, sizeof(out)), PATH_MAX - 1);
	CHECK_EQ(strlen(out), PATH_MAX - 1);
	CHECK_EQ(confine_buf(in, PATH_MAX, 0, out, sizeof(out)), -ENAMETOOLONG);
	CHECK_EQ(confine_buf(in, sizeof(in), 0, out, sizeof(out)), -ENAMETOOLONG);
	CHECK_EQ(confine_buf(in, PATH_MAX + 99, 0, out, sizeof(out)), -ENAMETOOLONG);
	/* a ".." far beyond PATH_MAX is still found */
	memcpy(in + sizeof(in) - 3, "/..", 3);
	CHECK_EQ(confine_buf(in, sizeof(in), 0, out, sizeof(out)), -EACCES);

	memset(in, '/', sizeof(in));
	in[sizeof(in) - 1] = 'a';
	CHECK_EQ(confine_buf(in, sizeof(in), 0, out, sizeof(out)), 1);
	CHECK_STR(out, "a");
	for (size_t i = 0; i + 1 < sizeof(in); i += 2)
		memcpy(in + i, "./", 2);
	CHECK_EQ(confine_buf(in, sizeof(in) - 1, 0, out, sizeof(out)), -ENOENT);
}

/* The result must fit cap including its NUL, and nothing is written when it does not. */
static void test_cap(void)
{
	char out[8];
	memset(out, 'x', sizeof(out));
	CHECK_EQ(path_confine("abc", 3, 0, NULL, out, 3), -ENAMETOOLONG);
	CHECK_EQ(out[0], 'x');
	CHECK_EQ(path_confine("abc", 3, 0, NULL, out, 0), -ENAMETOOLONG);
	CHECK_EQ(path_confine("abc", 3, 0, NULL, out, 4), 3);
	CHECK_STR(out, "abc");
	CHECK_EQ(out[4], 'x');
	/* dropped "." components may be longer than what is left of cap */
	memset(out, 'x', sizeof(out));
	CHECK_EQ(path_confine("a/./././.", 9, 0, NULL, out, 2), 1);
	CHECK_STR(out, "a");
	CHECK_EQ(out[2], 'x');
	CHECK_EQ(path_confine("ab/.", 4, 0, NULL, out, 3), 2);
	CHECK_STR(out, "ab");
}

static void test_bad_arguments(void)
{
	char out[16];
	CHECK_EQ(path_confine("a", 1, 1u << 7, NULL, out, sizeof(out)), -EINVAL);
	CHECK_EQ(path_confine("a", 1, 0, NULL, NULL, 16), -EINVAL);
	CHECK_EQ(path_confine(NULL, 1, 0, NULL, out, sizeof(out)), -EINVAL);
	CHECK_EQ(path_confine(NULL, 0, 0, NULL, out, sizeof(out)), -ENOENT);
}

/* A result confined again (no flags) is unchanged: the normal form is a fixed point. */
static void test_idempotent(void)
{
	const struct confine_case *sets[] = {attacks, valid};
	size_t counts[] = {sizeof(attacks) / sizeof(attacks[0]), sizeof(valid) / sizeof(valid[0])};
	for (size_t s = 0; s < 2; s++) {
		for (size_t i = 0; i < counts[s]; i++) {
			const struct confine_case *c = &sets[s][i];
			char a[PATH_MAX], b[PATH_MAX];
			int r = path_confine(c->in, c->len, c->flags, c->prefix, a, sizeof(a));
			if (r < 0)
				continue;
			CHECK_EQ(path_confine(a, (size_t)r, 0, NULL, b, sizeof(b)), r);
			CHECK_STR(a, b);
		}
	}
}

/* ---- file-system tests ---- */

struct tree {
	char top[64];	 /* mkdtemp directory */
	char root[96];	 /* top/root: the served root */
	char canary[96]; /* top/canary: outside the root */
	int rootfd;
	int inotify; /* watches the canary for opens */
	bool have_dev;
	bool have_sock;
};

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	ssize_t n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -EIO;
}

/* Bind a Unix socket at path (then close it: the socket inode stays). */
static bool make_socket(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path))
		return false;
	strcpy(sa.sun_path, path);
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return false;
	bool ok = bind(s, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(s);
	return ok;
}

/* Build: top/canary, top/root/{file, sub/inner, links, fifo, dev, sock}. */
static bool tree_make(struct tree *t)
{
	char p[256];
	strcpy(t->top, "/tmp/pxed-path-XXXXXX");
	if (!mkdtemp(t->top))
		return false;
	snprintf(t->root, sizeof(t->root), "%s/root", t->top);
	snprintf(t->canary, sizeof(t->canary), "%s/canary", t->top);
	bool ok = write_file(t->canary, "CANARY") == 0 && mkdir(t->root, 0755) == 0;
#define AT(name) (snprintf(p, sizeof(p), "%s/%s", t->root, name), p)
	ok = ok && write_file(AT("file"), "hello") == 0;
	ok = ok && mkdir(AT("sub"), 0755) == 0;
	ok = ok && write_file(AT("sub/inner"), "inner") == 0;
	ok = ok && symlink("sub/inner", AT("link_in")) == 0;
	ok = ok && symlink("sub", AT("link_dir_in")) == 0;
	ok = ok && symlink("../canary", AT("link_out")) == 0;
	ok = ok && symlink(t->canary, AT("link_abs")) == 0;
	ok = ok && symlink("..", AT("link_dotdot")) == 0;
	ok = ok && symlink("../file", AT("sub/link_up")) == 0;
	ok = ok && symlink("../../canary", AT("sub/link_up_out")) == 0;
	ok = ok && symlink("link_loop", AT("link_loop")) == 0;
	ok = ok && symlink("/proc/self/root", AT("link_proc")) == 0;
	ok = ok && symlink("link_out", AT("link_chain")) == 0;
	ok = ok && mkfifo(AT("fifo"), 0644) == 0;
#undef AT
	if (!ok)
		return false;
	snprintf(p, sizeof(p), "%s/dev", t->root);
	t->have_dev = mknod(p, S_IFCHR | 0666, makedev(1, 3)) == 0; /* /dev/null; needs root */
	snprintf(p, sizeof(p), "%s/sock", t->root);
	t->have_sock = make_socket(p);
	t->rootfd = open(t->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	t->inotify = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (t->rootfd < 0 || t->inotify < 0)
		return false;
	return inotify_add_watch(t->inotify, t->canary, IN_OPEN | IN_ACCESS) >= 0;
}

static int rm_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	return type == FTW_DP ? rmdir(path) : unlink(path);
}

static void tree_free(struct tree *t)
{
	if (t->rootfd >= 0)
		close(t->rootfd);
	if (t->inotify >= 0)
		close(t->inotify);
	CHECK_EQ(nftw(t->top, rm_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
}

/* Read a small file from fd into buf (NUL-terminated); closes fd. */
static const char *slurp(int fd, char *buf, size_t cap)
{
	ssize_t n = read(fd, buf, cap - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

/* Expect open to give an fd whose content is want, or the negative errno want_err. */
static void expect_open(int fd, const char *want, int want_err, const char *what)
{
	char buf[64];
	if (want) {
		CHECK(fd >= 0);
		if (fd < 0) {
			fprintf(stderr, "  %s: %s\n", what, strerror(-fd));
			return;
		}
		CHECK_STR(slurp(fd, buf, sizeof(buf)), want);
		return;
	}
	if (fd >= 0) {
		fprintf(stderr, "  %s: opened, content \"%s\"\n", what,
			slurp(fd, buf, sizeof(buf)));
		CHECK(!"must not open");
		return;
	}
	if (want_err && fd != -want_err)
		fprintf(stderr, "  %s: got %s\n", what, strerror(-fd));
	CHECK(want_err == 0 || fd == -want_err);
}

/* Opens that work the same with openat2 and with the walk. */
static void check_common_opens(const struct tree *t, int (*op)(int, const char *, int))
{
	expect_open(op(t->rootfd, "file", 0), "hello", 0, "file");
	expect_open(op(t->rootfd, "sub/inner", 0), "inner", 0, "sub/inner");
	expect_open(op(t->rootfd, "missing", 0), NULL, ENOENT, "missing");
	expect_open(op(t->rootfd, "sub/missing/x", 0), NULL, ENOENT, "sub/missing/x");
	expect_open(op(t->rootfd, "file/x", 0), NULL, ENOTDIR, "file/x");
	expect_open(op(t->rootfd, "link_loop", 0), NULL, ELOOP, "link_loop");
	/* not in normal form: refused before any lookup */
	const char *bad[] = {"../canary", "/etc/passwd", "sub/../file", "",    ".",
			     "./file",	  "sub//inner",	 "sub/",	"a\nb"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_open(op(t->rootfd, bad[i], 0), NULL, EINVAL, bad[i]);
	expect_open(op(t->rootfd, NULL, 0), NULL, EINVAL, "NULL");
	expect_open(op(t->rootfd, "file", O_WRONLY), NULL, EINVAL, "O_WRONLY");
	expect_open(op(t->rootfd, "file", O_RDWR), NULL, EINVAL, "O_RDWR");
	expect_open(op(t->rootfd, "new", O_CREAT), NULL, EINVAL, "O_CREAT");
	expect_open(op(t->rootfd, "file", O_TRUNC), NULL, EINVAL, "O_TRUNC");
	expect_open(op(t->rootfd, "sub", O_TMPFILE), NULL, EINVAL, "O_TMPFILE");
	int fd = op(t->rootfd, "sub", O_DIRECTORY);
	CHECK(fd >= 0);
	if (fd >= 0)
		close(fd);
}

/* Names that leave the root through a symlink: refused by openat2 and the walk alike. */
static const char *const escapes[] = {
	"link_out",  "link_abs",	"link_dotdot/canary", "link_dotdot",
	"link_proc", "sub/link_up_out", "link_chain",
};

static void test_open_beneath(const struct tree *t)
{
	check_common_opens(t, path_open_beneath);
	/* symlinks that stay inside are followed */
	expect_open(path_open_beneath(t->rootfd, "link_in", 0), "inner", 0, "link_in");
	expect_open(path_open_beneath(t->rootfd, "link_dir_in/inner", 0), "inner", 0,
		    "link_dir_in/inner");
	expect_open(path_open_beneath(t->rootfd, "sub/link_up", 0), "hello", 0, "sub/link_up");
	for (size_t i = 0; i < sizeof(escapes) / sizeof(escapes[0]); i++) {
		expect_open(path_open_beneath(t->rootfd, escapes[i], 0), NULL, EXDEV, escapes[i]);
		expect_open(path_open_beneath(t->rootfd, escapes[i], O_PATH), NULL, EXDEV,
			    escapes[i]);
	}
	/* the caller's O_NOFOLLOW refuses even inside links */
	expect_open(path_open_beneath(t->rootfd, "link_in", O_NOFOLLOW), NULL, ELOOP, "nofollow");
}

static void test_open_walk(const struct tree *t)
{
	check_common_opens(t, path_open_beneath_walk);
	const char *links[] = {"link_in", "link_dir_in/inner", "sub/link_up"};
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
		expect_open(path_open_beneath_walk(t->rootfd, links[i], 0), NULL, 0, links[i]);
		expect_open(path_open_beneath_walk(t->rootfd, links[i], O_PATH), NULL, 0, links[i]);
	}
	for (size_t i = 0; i < sizeof(escapes) / sizeof(escapes[0]); i++) {
		expect_open(path_open_beneath_walk(t->rootfd, escapes[i], 0), NULL, 0, escapes[i]);
		expect_open(path_open_beneath_walk(t->rootfd, escapes[i], O_PATH), NULL, 0,
			    escapes[i]);
	}
	expect_open(path_open_beneath_walk(t->rootfd, "link_in", O_PATH), NULL, ELOOP,
		    "walk O_PATH link");
}

/* path_open_regular_beneath on one name: expect content want, or errno want_err. */
static void expect_regular(const struct tree *t, const char *rel, int extra, const char *want,
			   int want_err)
{
	struct stat st;
	memset(&st, 0xa5, sizeof(st));
	int fd = path_open_regular_beneath(t->rootfd, rel, extra, &st);
	if (want && fd >= 0) {
		CHECK(S_ISREG(st.st_mode));
		CHECK_EQ(st.st_size, (off_t)strlen(want));
		int fl = fcntl(fd, F_GETFL);
		CHECK_EQ(!!(fl & O_NONBLOCK), !!(extra & O_NONBLOCK));
		CHECK_EQ(fl & O_ACCMODE, O_RDONLY);
		CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	} else if (!want) {
		unsigned char *b = (unsigned char *)&st;
		CHECK(b[0] == 0xa5 && !memcmp(b, b + 1, sizeof(st) - 1));
	}
	expect_open(fd, want, want_err, rel);
}

static void test_open_regular(const struct tree *t)
{
	alarm(20); /* a FIFO that blocked would hang the test: fail it instead */
	expect_regular(t, "file", 0, "hello", 0);
	expect_regular(t, "file", O_NONBLOCK, "hello", 0);
	expect_regular(t, "link_in", 0, "inner", 0);
	expect_regular(t, "sub", 0, NULL, EISDIR);
	expect_regular(t, "link_dir_in", 0, NULL, EISDIR);
	expect_regular(t, "fifo", 0, NULL, EACCES);
	if (t->have_dev)
		expect_regular(t, "dev", 0, NULL, EACCES);
	else
		fprintf(stderr, "  (no device node: not root?)\n");
	if (t->have_sock)
		expect_regular(t, "sock", 0, NULL, EACCES);
	expect_regular(t, "link_out", 0, NULL, EXDEV);
	expect_regular(t, "link_abs", 0, NULL, EXDEV);
	expect_regular(t, "missing", 0, NULL, ENOENT);
	expect_regular(t, "../canary", 0, NULL, EINVAL);
	expect_regular(t, "file", O_PATH, NULL, EINVAL);
	expect_regular(t, "file", O_DIRECTORY, NULL, EINVAL);
	expect_regular(t, "file", O_WRONLY, NULL, EINVAL);
	int fd = path_open_regular_beneath(t->rootfd, "file", 0, NULL);
	CHECK(fd >= 0);
	if (fd >= 0)
		close(fd);
	alarm(0);
}

/* Create name with O_EXCL | O_NOFOLLOW beneath dirfd, write text. */
static int create_in(int dirfd, const char *name, const char *text)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	ssize_t n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -EIO;
}

static void expect_parent_fails(const struct tree *t, const char *rel, int want_err)
{
	const char *base = "untouched";
	int fd = path_open_parent_beneath(t->rootfd, rel, &base);
	if (fd >= 0)
		close(fd);
	if (want_err && fd != -want_err)
		fprintf(stderr, "  parent %s: got %d\n", rel, fd);
	CHECK(fd < 0 && (want_err == 0 || fd == -want_err));
	CHECK_STR(base, "untouched");
}

static void test_open_parent(const struct tree *t)
{
	const char *base = NULL;
	int dfd = path_open_parent_beneath(t->rootfd, "upload.tmp", &base);
	CHECK(dfd >= 0);
	CHECK_STR(base, "upload.tmp");
	if (dfd >= 0) {
		CHECK_EQ(create_in(dfd, base, "one"), 0);
		CHECK_EQ(renameat(dfd, base, dfd, "upload"), 0);
		close(dfd);
	}
	expect_regular(t, "upload", 0, "one", 0);

	const char *rel = "sub/new";
	dfd = path_open_parent_beneath(t->rootfd, rel, &base);
	CHECK(dfd >= 0);
	CHECK(base == rel + 4);
	if (dfd >= 0) {
		CHECK_EQ(create_in(dfd, base, "two"), 0);
		CHECK_EQ(create_in(dfd, base, "again"), -EEXIST);
		close(dfd);
	}
	expect_regular(t, "sub/new", 0, "two", 0);

	/* a directory link inside the root is followed for the parent */
	dfd = path_open_parent_beneath(t->rootfd, "link_dir_in/new2", &base);
	CHECK(dfd >= 0);
	if (dfd >= 0) {
		CHECK_EQ(create_in(dfd, base, "three"), 0);
		/* the last component is never followed */
		CHECK_EQ(create_in(dfd, "link_up", "x"), -EEXIST);
		close(dfd);
	}
	expect_regular(t, "sub/new2", 0, "three", 0);

	expect_parent_fails(t, "link_dotdot/evil", EXDEV);
	expect_parent_fails(t, "link_out/evil", 0);
	expect_parent_fails(t, "missing/x", ENOENT);
	expect_parent_fails(t, "file/x", ENOTDIR);
	expect_parent_fails(t, "../x", EINVAL);
	expect_parent_fails(t, "sub/..", EINVAL);
	expect_parent_fails(t, "sub/", EINVAL);
	expect_parent_fails(t, "", EINVAL);
}

/* Nothing above may have opened the canary outside the root. */
static void check_canary(const struct tree *t)
{
	char ev[4096];
	ssize_t n = read(t->inotify, ev, sizeof(ev));
	CHECK(n < 0 && errno == EAGAIN);
}

/* In a child, make openat2 fail with ENOSYS (seccomp) so that path_open_beneath and friends
 * take the component walk; run the checks there and report through the exit status. */
static void test_fallback(const struct tree *t)
{
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		test_failures = 0;
		struct sock_filter filt[] = {
			BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
			BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat2, 0, 1),
			BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
			BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		};
		struct sock_fprog prog = {.len = sizeof(filt) / sizeof(filt[0]), .filter = filt};
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
		    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
			_exit(2);
		CHECK_EQ(syscall(SYS_openat2, -1, "", NULL, 0), -1);
		CHECK_EQ(errno, ENOSYS);
		check_common_opens(t, path_open_beneath);
		expect_open(path_open_beneath(t->rootfd, "link_in", 0), NULL, ELOOP, "fb link_in");
		for (size_t i = 0; i < sizeof(escapes) / sizeof(escapes[0]); i++)
			expect_open(path_open_beneath(t->rootfd, escapes[i], 0), NULL, 0,
				    escapes[i]);
		expect_regular(t, "file", 0, "hello", 0);
		expect_regular(t, "sub/inner", 0, "inner", 0);
		expect_regular(t, "link_in", 0, NULL, ELOOP);
		expect_regular(t, "sub", 0, NULL, EISDIR);
		expect_regular(t, "fifo", 0, NULL, EACCES);
		expect_parent_fails(t, "link_dotdot/evil", 0);
		const char *base;
		int dfd = path_open_parent_beneath(t->rootfd, "sub/fb", &base);
		CHECK(dfd >= 0);
		if (dfd >= 0) {
			CHECK_EQ(create_in(dfd, base, "four"), 0);
			close(dfd);
		}
		expect_regular(t, "sub/fb", 0, "four", 0);
		_exit(test_failures ? 1 : 0);
	}
	int status = 0;
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void test_filesystem(void)
{
	struct tree t = {.rootfd = -1, .inotify = -1};
	bool made = tree_make(&t);
	CHECK(made);
	if (made) {
		test_open_beneath(&t);
		test_open_walk(&t);
		test_open_regular(&t);
		test_open_parent(&t);
		test_fallback(&t);
		check_canary(&t);
	}
	tree_free(&t);
}

int main(void)
{
	RUN(test_attacks);
	RUN(test_valid);
	RUN(test_component_length);
	RUN(test_long_paths);
	RUN(test_cap);
	RUN(test_bad_arguments);
	RUN(test_idempotent);
	RUN(test_filesystem);
	return test_summary();
}
