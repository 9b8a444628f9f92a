/* diskless/tree_io.c: the file system adapter of tree.h. Every write in a node's tree goes
 * through a directory descriptor opened component by component with O_NOFOLLOW beneath the
 * tree root (path_open_beneath_walk), names are single components, files are replaced by a
 * temporary file + renameat: a symlink planted in the tree (etc -> /etc) is never followed. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "core/config.h"
#include "core/path.h"
#include "diskless/exports.h"
#include "diskless/tree.h"

/* ---- scanning ---- */

static enum tree_kind kind_of(mode_t m)
{
	return S_ISDIR(m)    ? TK_DIR
	       : S_ISLNK(m)  ? TK_LNK
	       : S_ISCHR(m)  ? TK_CHR
	       : S_ISBLK(m)  ? TK_BLK
	       : S_ISFIFO(m) ? TK_FIFO
	       : S_ISSOCK(m) ? TK_SOCK
			     : TK_REG;
}

static int sum_file(int dfd, const char *name, uint64_t *sum)
{
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	uint64_t h = 14695981039346656037ull;
	char buf[65536];
	ssize_t r;
	while ((r = read(fd, buf, sizeof(buf))) > 0)
		for (ssize_t i = 0; i < r; i++)
			h = (h ^ (unsigned char)buf[i]) * 1099511628211ull;
	int err = r < 0 ? -errno : 0;
	close(fd);
	*sum = h;
	return err;
}

static int scan_dir(int dfd, const char *prefix, const char *const *only, bool checksum,
		    struct tree_list *out);

/* Record name (in directory dfd, path rel) and descend into directories. */
static int scan_one(int dfd, const char *name, const char *rel, bool checksum,
		    struct tree_list *out)
{
	struct stat st;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	char link[4096];
	struct tree_entry e = {.path = (char *)rel,
			       .kind = kind_of(st.st_mode),
			       .mode = st.st_mode & 07777,
			       .uid = st.st_uid,
			       .gid = st.st_gid,
			       .size = (uint64_t)st.st_size,
			       .mtime_s = st.st_mtim.tv_sec,
			       .mtime_ns = st.st_mtim.tv_nsec,
			       .rdev = st.st_rdev};
	if (e.kind == TK_LNK) {
		ssize_t n = readlinkat(dfd, name, link, sizeof(link) - 1);
		if (n < 0)
			return -errno;
		link[n] = 0;
		e.link = link;
	}
	if (e.kind == TK_REG && checksum) {
		int rc = sum_file(dfd, name, &e.sum);
		if (rc < 0)
			return rc;
		e.has_sum = true;
	}
	int rc = tree_list_add(out, &e);
	if (rc < 0 || e.kind != TK_DIR)
		return rc;
	int sub = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (sub < 0)
		return -errno;
	rc = scan_dir(sub, rel, NULL, checksum, out);
	close(sub);
	return rc;
}

static bool wanted(const char *name, const char *const *only)
{
	if (!only)
		return true;
	for (size_t i = 0; only[i]; i++)
		if (!strcmp(only[i], name))
			return true;
	return false;
}

/* Takes nothing: dfd stays open (the DIR stream works on a duplicate). */
static int scan_dir(int dfd, const char *prefix, const char *const *only, bool checksum,
		    struct tree_list *out)
{
	int dup_fd = dup(dfd);
	if (dup_fd < 0)
		return -errno;
	DIR *d = fdopendir(dup_fd);
	if (!d) {
		close(dup_fd);
		return -errno;
	}
	rewinddir(d); /* the duplicate shares its offset with dfd */
	int rc = 0;
	struct dirent *de;
	while (rc == 0 && (de = readdir(d))) {
		const char *n = de->d_name;
		if (!strcmp(n, ".") || !strcmp(n, "..") || !wanted(n, only))
			continue;
		if (strchr(n, '\n')) {
			fprintf(stderr, "pxed: skipping a name with a newline in %s/\n",
				*prefix ? prefix : ".");
			continue;
		}
		char rel[4096];
		if ((size_t)snprintf(rel, sizeof(rel), "%s%s%s", prefix, *prefix ? "/" : "", n) >=
		    sizeof(rel))
			return closedir(d), -ENAMETOOLONG;
		rc = scan_one(dfd, n, rel, checksum, out);
	}
	closedir(d);
	return rc;
}

int tree_scan(int dirfd, const char *const *only_prefixes, bool checksum, struct tree_list *out)
{
	int rc = scan_dir(dirfd, "", only_prefixes, checksum, out);
	tree_list_sort(out);
	return rc;
}

/* ---- writing beneath a root ---- */

/* Directory of rel beneath rootfd (no symlink anywhere), *base its last component. */
static int open_parent(int rootfd, const char *rel, const char **base)
{
	const char *s = strrchr(rel, '/');
	if (!s) {
		*base = rel;
		int fd = fcntl(rootfd, F_DUPFD_CLOEXEC, 0);
		return fd < 0 ? -errno : fd;
	}
	char dir[4096];
	size_t n = (size_t)(s - rel);
	if (n >= sizeof(dir))
		return -ENAMETOOLONG;
	memcpy(dir, rel, n);
	dir[n] = 0;
	*base = s + 1;
	return path_open_beneath_walk(rootfd, dir, O_DIRECTORY);
}

static unsigned tmp_counter;

static void tmp_name(char *out, size_t cap)
{
	snprintf(out, cap, ".pxed-tmp.%ld.%u", (long)getpid(), tmp_counter++);
}

/* chown that only matters as root (an unprivileged run keeps its own uid). */
static int own(int rc)
{
	if (rc < 0 && (errno != EPERM || geteuid() == 0))
		return -errno;
	return 0;
}

static int copy_fd(int in, int out)
{
	for (;;) {
		ssize_t n = copy_file_range(in, NULL, out, NULL, 1 << 30, 0);
		if (n == 0)
			return 0;
		if (n > 0)
			continue;
		if (errno != EXDEV && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
			return -errno;
		break;
	}
	char buf[65536];
	ssize_t r;
	while ((r = read(in, buf, sizeof(buf))) > 0)
		for (ssize_t o = 0; o < r;) {
			ssize_t w = write(out, buf + o, (size_t)(r - o));
			if (w < 0)
				return -errno;
			o += w;
		}
	return r < 0 ? -errno : 0;
}

/* Write a temporary regular file in pfd with the content of src (fd) or data, then rename. */
static int put_file(int pfd, const char *base, int src, const char *data, size_t len,
		    const struct tree_entry *meta, mode_t mode)
{
	char tmp[64];
	tmp_name(tmp, sizeof(tmp));
	int fd = openat(pfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	int rc = 0;
	if (src >= 0)
		rc = copy_fd(src, fd);
	else
		rc = write(fd, data, len) == (ssize_t)len ? 0 : -EIO;
	if (rc == 0 && meta)
		rc = own(fchown(fd, meta->uid, meta->gid));
	if (rc == 0 && fchmod(fd, meta ? meta->mode : mode) < 0)
		rc = -errno;
	if (rc == 0 && meta) {
		struct timespec ts[2] = {{meta->mtime_s, meta->mtime_ns},
					 {meta->mtime_s, meta->mtime_ns}};
		if (futimens(fd, ts) < 0)
			rc = -errno;
	}
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && renameat(pfd, tmp, pfd, base) < 0)
		rc = -errno;
	if (rc < 0)
		unlinkat(pfd, tmp, 0);
	return rc;
}

/* A symlink or device node created under a temporary name, owned, timed, renamed. */
static int put_node(int pfd, const char *base, const struct tree_entry *s)
{
	char tmp[64];
	tmp_name(tmp, sizeof(tmp));
	int rc = 0;
	if (s->kind == TK_LNK)
		rc = symlinkat(s->link, pfd, tmp);
	else
		rc = mknodat(pfd, tmp,
			     (s->kind == TK_CHR	  ? S_IFCHR
			      : s->kind == TK_BLK ? S_IFBLK
						  : S_IFIFO) |
				     (s->mode & 07777),
			     (dev_t)s->rdev);
	if (rc < 0)
		return -errno;
	rc = own(fchownat(pfd, tmp, s->uid, s->gid, AT_SYMLINK_NOFOLLOW));
	if (rc == 0 && s->kind != TK_LNK && fchmodat(pfd, tmp, s->mode & 07777, 0) < 0)
		rc = -errno;
	struct timespec ts[2] = {{s->mtime_s, s->mtime_ns}, {s->mtime_s, s->mtime_ns}};
	if (rc == 0 && utimensat(pfd, tmp, ts, AT_SYMLINK_NOFOLLOW) < 0)
		rc = -errno;
	if (rc == 0 && renameat(pfd, tmp, pfd, base) < 0)
		rc = -errno;
	if (rc < 0)
		unlinkat(pfd, tmp, 0);
	return rc;
}

static int put_dir(int pfd, const char *base, uint32_t mode, uint32_t uid, uint32_t gid,
		   bool set_owner)
{
	if (mkdirat(pfd, base, 0700) < 0) {
		if (errno != EEXIST)
			return -errno;
		struct stat st;
		if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return -errno;
		if (!S_ISDIR(st.st_mode) &&
		    (unlinkat(pfd, base, 0) < 0 || mkdirat(pfd, base, 0700) < 0))
			return -errno;
	}
	int fd = openat(pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = set_owner ? own(fchown(fd, uid, gid)) : 0;
	if (rc == 0 && fchmod(fd, mode) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

/* Copy template entry s (beneath srcfd) to the same path beneath dstfd. */
static int put_entry(int srcfd, int dstfd, const struct tree_entry *s)
{
	const char *base;
	int pfd = open_parent(dstfd, s->path, &base);
	if (pfd < 0)
		return pfd;
	int rc = 0;
	if (s->kind == TK_DIR) {
		rc = put_dir(pfd, base, s->mode, s->uid, s->gid, true);
	} else if (s->kind == TK_REG) {
		int in = path_open_beneath_walk(srcfd, s->path, O_NONBLOCK);
		rc = in < 0 ? in : put_file(pfd, base, in, NULL, 0, s, 0);
		if (in >= 0)
			close(in);
	} else if (s->kind == TK_SOCK) {
		rc = -EOPNOTSUPP;
	} else if ((s->kind == TK_CHR || s->kind == TK_BLK) && geteuid() != 0) {
		rc = -EPERM;
	} else {
		rc = put_node(pfd, base, s);
	}
	close(pfd);
	return rc;
}

static int remove_entry(int dstfd, const struct tree_entry *d)
{
	const char *base;
	int pfd = open_parent(dstfd, d->path, &base);
	if (pfd < 0)
		return pfd;
	int rc = unlinkat(pfd, base, d->kind == TK_DIR ? AT_REMOVEDIR : 0) < 0 ? -errno : 0;
	close(pfd);
	return rc;
}

/* Directory mtimes from the template, children first (writing into a directory changes it). */
static void set_dir_times(int dstfd, const struct tree_list *tmpl)
{
	for (size_t k = tmpl->n; k-- > 0;) {
		const struct tree_entry *s = &tmpl->e[k];
		if (s->kind != TK_DIR)
			continue;
		const char *base;
		int pfd = open_parent(dstfd, s->path, &base);
		if (pfd < 0)
			continue;
		int fd = openat(pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0) {
			struct timespec ts[2] = {{s->mtime_s, s->mtime_ns},
						 {s->mtime_s, s->mtime_ns}};
			futimens(fd, ts);
			close(fd);
		}
		close(pfd);
	}
}

/* ---- manifest (<diskless.root>/.pxed/NODE.manifest, .pxed/shared/PROFILE.manifest) ---- */

static int manifest_read(int rootfd, const char *rel, struct tree_list *out)
{
	int fd = path_open_beneath_walk(rootfd, rel, O_NONBLOCK);
	if (fd == -ENOENT)
		return 0;
	if (fd < 0)
		return fd;
	FILE *f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return -errno;
	}
	char line[4200];
	int rc = 0;
	while (rc == 0 && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		struct tree_entry e = {.path = line};
		if (line[0])
			rc = tree_list_add(out, &e);
	}
	fclose(f);
	tree_list_sort(out);
	return rc;
}

/* Atomically replace dir/name beneath rootfd (dir created 0700 when missing) with data. */
static int write_atomic(int rootfd, const char *dir, const char *name, const char *data, size_t len)
{
	int pfd = rootfd, rc = 0;
	char sub[256];
	snprintf(sub, sizeof(sub), "%s", dir);
	for (char *p = sub, *s; p && *p; p = s) {
		s = strchr(p, '/');
		if (s)
			*s++ = 0;
		if (mkdirat(pfd, p, 0700) < 0 && errno != EEXIST)
			rc = -errno;
		int nfd = rc ? -1 : openat(pfd, p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (nfd < 0 && !rc)
			rc = -errno;
		if (pfd != rootfd)
			close(pfd);
		if (rc)
			return rc;
		pfd = nfd;
	}
	char tmp[64];
	tmp_name(tmp, sizeof(tmp));
	int fd = openat(pfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		rc = -errno;
	else if (write(fd, data, len) != (ssize_t)len || fsync(fd) < 0)
		rc = -EIO;
	if (fd >= 0 && close(fd) < 0 && !rc)
		rc = -errno;
	if (!rc && renameat(pfd, tmp, pfd, name) < 0)
		rc = -errno;
	if (rc && fd >= 0)
		unlinkat(pfd, tmp, 0);
	if (!rc)
		fsync(pfd);
	if (pfd != rootfd)
		close(pfd);
	return rc;
}

/* The new manifest: template paths plus the template-owned paths left in place. */
static int manifest_write(int rootfd, const char *dir, const char *name,
			  const struct tree_list *tmpl, const struct tree_plan *plan)
{
	size_t cap = 1, o = 0;
	for (size_t i = 0; i < tmpl->n; i++)
		cap += strlen(tmpl->e[i].path) + 1;
	for (size_t i = 0; i < plan->n; i++)
		cap += strlen(plan->a[i].path) + 1;
	char *buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	for (size_t i = 0; i < tmpl->n; i++)
		o += (size_t)sprintf(buf + o, "%s\n", tmpl->e[i].path);
	for (size_t i = 0; i < plan->n; i++)
		if (plan->a[i].op == TREE_WOULD_DELETE)
			o += (size_t)sprintf(buf + o, "%s\n", plan->a[i].path);
	int rc = write_atomic(rootfd, dir, name, buf, o);
	free(buf);
	return rc;
}

/* ---- one sync pass ---- */

struct pass {
	int rootfd; /* diskless.root */
	int srcfd;  /* template */
	int dstfd;  /* the tree, -1 when it does not exist yet (dry run) */
	const char *const *only;
	const char *per_node;
	unsigned flags;
	const char *mdir, *mname; /* manifest */
};

static void report_err(const char *path, int err)
{
	fprintf(stderr, "pxed: %s: %s\n", path, strerror(-err));
}

static int apply(const struct pass *ps, const struct tree_action *a, struct tree_run *run)
{
	if (run->dry_run || ps->dstfd < 0)
		return 0;
	int rc = 0;
	if (a->op == TREE_ADD || a->op == TREE_UPDATE)
		rc = put_entry(ps->srcfd, ps->dstfd, a->src);
	else if (a->op == TREE_DELETE)
		rc = remove_entry(ps->dstfd, a->dst);
	if (rc == -EPERM && a->src && (a->src->kind == TK_CHR || a->src->kind == TK_BLK))
		fprintf(stderr, "pxed: %s: device node skipped (not running as root)\n", a->path);
	else if (rc == -EOPNOTSUPP)
		fprintf(stderr, "pxed: %s: socket skipped\n", a->path);
	else if (rc < 0) {
		report_err(a->path, rc);
		run->errors++;
	}
	return rc;
}

static int run_pass(const struct pass *ps, struct tree_run *run)
{
	struct tree_list tmpl = {0}, tree = {0}, man = {0};
	struct tree_plan plan = {0};
	int rc = tree_scan(ps->srcfd, ps->only, run->checksum, &tmpl);
	if (rc == 0 && ps->dstfd >= 0)
		rc = tree_scan(ps->dstfd, ps->only, run->checksum, &tree);
	if (rc == 0)
		rc = manifest_read(ps->rootfd, ps->mname, &man);
	unsigned flags =
		ps->flags | (run->force ? TREE_FORCE : 0) | (run->checksum ? TREE_CHECKSUM : 0);
	if (rc == 0)
		rc = tree_plan_sync(&tmpl, &tree, &man, ps->per_node, flags, &plan);
	for (size_t i = 0; rc == 0 && i < plan.n; i++) {
		char line[4200];
		tree_action_format(&plan.a[i], line, sizeof(line));
		if (!run->quiet)
			printf("%s\n", line);
		run->counts[plan.a[i].op]++;
		apply(ps, &plan.a[i], run);
	}
	if (rc == 0 && !run->dry_run && ps->dstfd >= 0) {
		set_dir_times(ps->dstfd, &tmpl);
		const char *slash = strrchr(ps->mname, '/');
		rc = manifest_write(ps->rootfd, ps->mdir, slash ? slash + 1 : ps->mname, &tmpl,
				    &plan);
		if (rc < 0)
			report_err(ps->mname, rc);
	}
	tree_plan_free(&plan);
	tree_list_free(&tmpl);
	tree_list_free(&tree);
	tree_list_free(&man);
	return rc;
}

/* ---- personalisation ---- */

static void changed(struct tree_run *run, char op, const char *rel)
{
	run->personal++;
	if (!run->quiet)
		printf("%c %s\n", op, rel);
}

static int ensure_dir(int fd, const char *rel, mode_t mode, struct tree_run *run)
{
	const char *base;
	if (fd < 0) {
		changed(run, '+', rel);
		return 0;
	}
	int pfd = open_parent(fd, rel, &base);
	if (pfd < 0)
		return pfd;
	struct stat st;
	int rc = 0;
	if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		changed(run, '+', rel);
		if (!run->dry_run)
			rc = put_dir(pfd, base, mode, 0, 0, false);
	} else if (!S_ISDIR(st.st_mode)) {
		fprintf(stderr, "pxed: %s: exists and is not a directory (left alone)\n", rel);
		run->errors++;
	}
	close(pfd);
	return rc;
}

static int ensure_file(int fd, const char *rel, const char *content, struct tree_run *run)
{
	size_t len = strlen(content);
	char old[8192];
	ssize_t n = -1;
	if (fd < 0) {
		changed(run, '+', rel);
		return 0;
	}
	int in = path_open_beneath_walk(fd, rel, O_NONBLOCK);
	struct stat st;
	if (in >= 0 && fstat(in, &st) == 0 && S_ISREG(st.st_mode))
		n = read(in, old, sizeof(old));
	if (in >= 0)
		close(in);
	if (n == (ssize_t)len && !memcmp(old, content, len))
		return 0;
	changed(run, in >= 0 ? 'M' : '+', rel);
	if (run->dry_run)
		return 0;
	const char *base;
	int pfd = open_parent(fd, rel, &base);
	if (pfd < 0)
		return pfd;
	int rc = put_file(pfd, base, -1, content, len, NULL, 0644);
	close(pfd);
	return rc;
}

static int ensure_dev(int fd, const char *rel, unsigned maj, unsigned min, mode_t mode,
		      struct tree_run *run)
{
	if (geteuid() != 0)
		return 0;
	struct tree_entry e = {.path = (char *)rel,
			       .kind = TK_CHR,
			       .mode = mode,
			       .mtime_ns = UTIME_NOW,
			       .rdev = makedev(maj, min)};
	const char *base;
	if (fd < 0) {
		changed(run, '+', rel);
		return 0;
	}
	int pfd = open_parent(fd, rel, &base);
	if (pfd < 0)
		return pfd;
	struct stat st;
	int rc = 0;
	if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		changed(run, '+', rel);
		if (!run->dry_run)
			rc = put_node(pfd, base, &e);
	}
	close(pfd);
	return rc;
}

static int check(int rc, const char *rel, struct tree_run *run)
{
	if (rc < 0) {
		report_err(rel, rc);
		run->errors++;
	}
	return rc;
}

/* Stub directories, console and null, /fastboot: a root file system the node can boot. */
static void personalise_root(int fd, struct tree_run *run)
{
	static const char *const dirs[] = {"proc", "sys", "dev", "run", "mnt",
					   "home", "etc", "var", NULL};
	for (size_t i = 0; dirs[i]; i++)
		check(ensure_dir(fd, dirs[i], 0755, run), dirs[i], run);
	check(ensure_dir(fd, "tmp", 01777, run), "tmp", run);
	check(ensure_dir(fd, "var/tmp", 01777, run), "var/tmp", run);
	check(ensure_dir(fd, "root", 0700, run), "root", run);
	check(ensure_dev(fd, "dev/console", 5, 1, 0600, run), "dev/console", run);
	check(ensure_dev(fd, "dev/null", 1, 3, 0666, run), "dev/null", run);
	check(ensure_file(fd, "fastboot", "", run), "fastboot", run);
}

static void personalise_node(int fd, const struct tree_personal *tp, struct tree_run *run)
{
	const char *const names[] = {"etc/hostname", "etc/hosts", "etc/fstab", "etc/pxed-node"};
	const char *const data[] = {tp->hostname, tp->hosts, tp->fstab, tp->stamp};
	for (size_t i = 0; i < 4; i++)
		check(ensure_file(fd, names[i], data[i], run), names[i], run);
}

/* ---- create / sync ---- */

/* Node name in the stamp etc/pxed-node of the tree fd: 1 found (name filled), 0 none. */
static int read_stamp(int fd, char *name, size_t cap)
{
	int in = path_open_beneath_walk(fd, "etc/pxed-node", O_NONBLOCK);
	if (in < 0)
		return 0;
	char buf[512];
	ssize_t n = read(in, buf, sizeof(buf) - 1);
	close(in);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	const char *p = strstr(buf, "node=");
	if (!p || (p != buf && p[-1] != '\n'))
		return 0;
	p += 5;
	snprintf(name, cap, "%.*s", (int)strcspn(p, "\n"), p);
	return 1;
}

static bool dir_empty(int fd)
{
	int d2 = dup(fd);
	DIR *d = d2 >= 0 ? fdopendir(d2) : NULL;
	if (!d) {
		if (d2 >= 0)
			close(d2);
		return false;
	}
	struct dirent *de;
	bool empty = true;
	rewinddir(d);
	while (empty && (de = readdir(d)))
		empty = !strcmp(de->d_name, ".") || !strcmp(de->d_name, "..");
	closedir(d);
	return empty;
}

/* Open (create, unless dry run) the directory name beneath rootfd; -ENOENT when missing. */
static int open_tree(int rootfd, const char *name, bool create, bool dry_run)
{
	int fd = openat(rootfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0 || errno != ENOENT || !create)
		return fd >= 0 ? fd : -errno;
	if (dry_run)
		return -ENOENT;
	if (mkdirat(rootfd, name, 0755) < 0)
		return -errno;
	fd = openat(rootfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	return fd >= 0 ? fd : -errno;
}

static int open_root(const struct pxed_config *c, bool create)
{
	const char *r = c->diskless.root;
	int fd = open(r, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && create && mkdir(r, 0755) == 0)
		fd = open(r, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		fprintf(stderr, "pxed: diskless.root %s: %s\n", r, strerror(errno));
	return fd;
}

static int open_template(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		fprintf(stderr, "pxed: template %s: %s\n", path, strerror(errno));
	return fd;
}

static void summary(const char *what, const struct tree_run *run)
{
	printf("%s: %u added, %u updated, %u deleted, %u kept (per-node), %u would delete, "
	       "%u conflicts, %u personalised, %u errors%s\n",
	       what, run->counts[TREE_ADD], run->counts[TREE_UPDATE], run->counts[TREE_DELETE],
	       run->counts[TREE_KEEP], run->counts[TREE_WOULD_DELETE], run->counts[TREE_CONFLICT],
	       run->personal, run->errors, run->dry_run ? " (dry run: nothing changed)" : "");
}

int diskless_shared_update(const struct pxed_config *c, const struct config_profile *p,
			   const char *tmpl, struct tree_run *run)
{
	struct tree_run r = {.dry_run = run->dry_run,
			     .force = run->force,
			     .checksum = run->checksum,
			     .quiet = run->quiet};
	tmpl = tmpl ? tmpl : p->template;
	if (!tmpl) {
		fprintf(stderr,
			"pxed: [profile %s] has no template: give --from DIR or set "
			"template = DIR\n",
			p->name);
		return 1;
	}
	int rootfd = open_root(c, !run->dry_run), srcfd = -1, sfd = -1, dst = -1, rc = 1;
	if (rootfd < 0 || (srcfd = open_template(tmpl)) < 0)
		goto out;
	sfd = open_tree(rootfd, "shared", true, run->dry_run);
	dst = sfd >= 0 ? open_tree(sfd, p->name, true, run->dry_run) : sfd;
	if (dst < 0 && dst != -ENOENT) {
		fprintf(stderr, "pxed: %s/shared/%s: %s\n", c->diskless.root, p->name,
			strerror(-dst));
		goto out;
	}
	char mname[300];
	snprintf(mname, sizeof(mname), ".pxed/shared/%s.manifest", p->name);
	struct pass ps = {rootfd, srcfd, dst, NULL, NULL, TREE_NO_PER_NODE, ".pxed/shared", mname};
	printf("== %s/shared/%s (shared root of profile %s, from %s)\n", c->diskless.root, p->name,
	       p->name, tmpl);
	if (run_pass(&ps, &r) < 0)
		r.errors++;
	personalise_root(dst, &r);
	char what[300];
	snprintf(what, sizeof(what), "shared/%s", p->name);
	summary(what, &r);
	rc = r.errors ? 1 : 0;
out:
	if (dst >= 0)
		close(dst);
	if (sfd >= 0)
		close(sfd);
	if (srcfd >= 0)
		close(srcfd);
	if (rootfd >= 0)
		close(rootfd);
	return rc;
}

/* Check the tree of node (fd) may be written: its stamp names node, or it is empty. */
static int owned(const struct pxed_config *c, int fd, const char *node)
{
	char who[256];
	if (read_stamp(fd, who, sizeof(who))) {
		if (!strcmp(who, node))
			return 0;
		fprintf(stderr,
			"pxed: %s/%s belongs to node %s (etc/pxed-node): refusing to touch it\n",
			c->diskless.root, node, who);
		return 1;
	}
	if (dir_empty(fd))
		return 0;
	struct stat st;
	if (fstatat(fd, "etc", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) {
		fprintf(stderr,
			"pxed: %s/%s/etc is a symlink (planted on the node?): refusing to touch "
			"the "
			"tree; remove the symlink and restore etc/pxed-node\n",
			c->diskless.root, node);
		return 1;
	}
	fprintf(stderr,
		"pxed: %s/%s exists but has no etc/pxed-node stamp (not made by pxed): "
		"refusing to touch it; move it away first\n",
		c->diskless.root, node);
	return 1;
}

static const char *nfs_server(const struct pxed_config *c)
{
	return c->diskless.nfs_server ? c->diskless.nfs_server : c->boot.server;
}

/* The node tree itself, after the checks of diskless_tree_update. */
static int node_pass(const struct pxed_config *c, const struct config_node *node,
		     const struct config_profile *p, int rootfd, int srcfd, bool create,
		     struct tree_run *run)
{
	struct tree_personal tp;
	if (tree_personal_render(c, node, p, nfs_server(c), &tp) < 0) {
		fprintf(stderr, "pxed: [node %s]: personal files too long\n", node->name);
		return 1;
	}
	int fd = open_tree(rootfd, node->name, create, run->dry_run);
	if (fd == -ENOENT && !create) {
		fprintf(stderr, "pxed: no tree %s/%s: run pxed diskless create %s\n",
			c->diskless.root, node->name, node->name);
		return 1;
	}
	if (fd < 0 && fd != -ENOENT) {
		fprintf(stderr, "pxed: %s/%s: %s\n", c->diskless.root, node->name, strerror(-fd));
		return 1;
	}
	if (fd >= 0 && owned(c, fd, node->name)) {
		close(fd);
		return 1;
	}
	/* The stamp first: an interrupted create stays recognisably this node's. */
	check(ensure_dir(fd, "etc", 0755, run), "etc", run);
	check(ensure_file(fd, "etc/pxed-node", tp.stamp, run), "etc/pxed-node", run);
	static const char *const only[] = {"etc", "var", NULL};
	char mname[300];
	snprintf(mname, sizeof(mname), ".pxed/%s.manifest", node->name);
	struct pass ps = {rootfd,      srcfd, fd,      p->shared_root ? only : NULL,
			  p->per_node, 0,     ".pxed", mname};
	if (run_pass(&ps, run) < 0)
		run->errors++;
	if (p->shared_root) {
		check(ensure_dir(fd, "var", 0755, run), "var", run);
		check(ensure_dir(fd, "var/tmp", 01777, run), "var/tmp", run);
	} else {
		personalise_root(fd, run);
	}
	personalise_node(fd, &tp, run);
	if (fd >= 0)
		close(fd);
	return 0;
}

int diskless_tree_update(const struct pxed_config *c, const struct config_node *node,
			 const char *tmpl, bool create, struct tree_run *run)
{
	const struct config_profile *p = diskless_node_profile(c, node);
	if (!p || p->diskless != DISKLESS_NFS) {
		fprintf(stderr, "pxed: [node %s] boots %s%s, which is not diskless = nfs\n",
			node->name, p ? "profile " : "no profile", p ? p->name : "");
		return 1;
	}
	if (!strcmp(node->name, "shared") || node->name[0] == '.') {
		fprintf(stderr,
			"pxed: [node %s]: the names \"shared\" and .* are reserved under "
			"diskless.root\n",
			node->name);
		return 1;
	}
	if (!nfs_server(c)) {
		fprintf(stderr, "pxed: set diskless.nfs-server (or boot.server): the node's fstab "
				"needs the NFS server address\n");
		return 1;
	}
	tmpl = tmpl ? tmpl : p->template;
	if (!tmpl) {
		fprintf(stderr,
			"pxed: [profile %s] has no template: give --from DIR or set "
			"template = DIR\n",
			p->name);
		return 1;
	}
	if (p->shared_root && !run->skip_shared && diskless_shared_update(c, p, tmpl, run))
		return 1;
	int rootfd = open_root(c, create && !run->dry_run), srcfd = -1, rc = 1;
	if (rootfd < 0 || (srcfd = open_template(tmpl)) < 0)
		goto out;
	printf("== %s/%s (node %s, profile %s, from %s)\n", c->diskless.root, node->name,
	       node->name, p->name, tmpl);
	rc = node_pass(c, node, p, rootfd, srcfd, create, run);
	if (rc == 0) {
		summary(node->name, run);
		rc = run->errors ? 1 : 0;
	}
out:
	if (srcfd >= 0)
		close(srcfd);
	if (rootfd >= 0)
		close(rootfd);
	return rc;
}
