/* pxed diskless create|sync|exports: per-node NFS roots and their exports (docs/diskless.md).
 * image|overlay go to cmd_diskless_image. Also the diskless part of `pxed check`. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "boot/sbuf.h"
#include "cli/cli.h"
#include "core/config.h"
#include "diskless/exports.h"
#include "diskless/tree.h"

static void usage(void)
{
	fprintf(stderr, "usage: pxed diskless create NODE [--from TEMPLATE] [--dry-run] [-c FILE] "
			"[-o k=v]...\n"
			"       pxed diskless sync NODE|--all|--shared PROFILE [--from TEMPLATE] "
			"[--dry-run] [--force] [--checksum] [-c FILE] [-o k=v]...\n"
			"       pxed diskless exports [--print] [-c FILE] [-o k=v]...\n"
			"       pxed diskless image|overlay ... (docs/diskless-ram.md)\n");
}

struct dl_args {
	const char *node, *from, *shared;
	bool all, dry_run, force, checksum, print;
	struct cli_config_args cfg;
};

/* Split the diskless options from -c/-o; returns 0 or -1 (usage printed). */
static int parse(int argc, char **argv, struct dl_args *a)
{
	memset(a, 0, sizeof(*a));
	char **rest = calloc((size_t)argc + 1, sizeof(char *));
	int nr = 0, rc = 0;
	if (!rest)
		return -1;
	for (int i = 0; i < argc; i++) {
		const char *s = argv[i];
		if (!strcmp(s, "--from") && i + 1 < argc)
			a->from = argv[++i];
		else if (!strcmp(s, "--shared") && i + 1 < argc)
			a->shared = argv[++i];
		else if (!strcmp(s, "--all"))
			a->all = true;
		else if (!strcmp(s, "--dry-run") || !strcmp(s, "-n"))
			a->dry_run = true;
		else if (!strcmp(s, "--force"))
			a->force = true;
		else if (!strcmp(s, "--checksum"))
			a->checksum = true;
		else if (!strcmp(s, "--print"))
			a->print = true;
		else if ((!strcmp(s, "-c") || !strcmp(s, "--config") || !strcmp(s, "-o")) &&
			 i + 1 < argc) {
			rest[nr++] = argv[i++];
			rest[nr++] = argv[i];
		} else if (s[0] != '-' && !a->node)
			a->node = s;
		else
			rest[nr++] = argv[i];
	}
	if (cli_parse_config_args(nr, rest, &a->cfg, NULL) < 0)
		rc = -1;
	free(rest);
	return rc;
}

static struct pxed_config *load(struct dl_args *a)
{
	struct config_errors errs = {0};
	struct pxed_config *c = config_load(a->cfg.file, a->cfg.overrides, a->cfg.n, false, &errs);
	for (size_t i = 0; i < errs.n; i++)
		fprintf(stderr, "%s\n", errs.msg[i]);
	config_errors_clear(&errs);
	return c;
}

static void run_opts(const struct dl_args *a, struct tree_run *r)
{
	memset(r, 0, sizeof(*r));
	r->dry_run = a->dry_run;
	r->force = a->force;
	r->checksum = a->checksum;
}

static int one_node(const struct pxed_config *c, const char *name, const struct dl_args *a,
		    bool create, bool skip_shared)
{
	const struct config_node *n = config_node_by_name(c, name);
	if (!n) {
		fprintf(stderr, "pxed: no [node %s] in the configuration\n", name);
		return 1;
	}
	struct tree_run r;
	run_opts(a, &r);
	r.skip_shared = skip_shared;
	return diskless_tree_update(c, n, a->from, create, &r);
}

static int do_sync(const struct pxed_config *c, const struct dl_args *a)
{
	if (a->shared) {
		const struct config_profile *p = config_profile_by_name(c, a->shared);
		if (!p || p->diskless != DISKLESS_NFS || !p->shared_root) {
			fprintf(stderr, "pxed: [profile %s] %s\n", a->shared,
				p ? "is not diskless = nfs with shared-root = yes"
				  : "does not exist");
			return 1;
		}
		struct tree_run r;
		run_opts(a, &r);
		return diskless_shared_update(c, p, a->from, &r);
	}
	if (!a->all)
		return one_node(c, a->node, a, false, false);
	int rc = 0, seen = 0;
	for (size_t i = 0; i < c->nnodes; i++) {
		const struct config_profile *p = diskless_node_profile(c, &c->nodes[i]);
		if (!p || p->diskless != DISKLESS_NFS)
			continue;
		bool again = false; /* each shared root is refreshed once */
		for (size_t j = 0; j < i && p->shared_root; j++)
			again |= diskless_node_profile(c, &c->nodes[j]) == p;
		seen++;
		rc |= one_node(c, c->nodes[i].name, a, false, again);
	}
	if (!seen)
		fprintf(stderr, "pxed: no node boots a diskless = nfs profile\n");
	return rc;
}

/* Write path atomically: temp file in the same directory, fsync, rename. */
static int write_file_atomic(const char *path, const char *data, size_t len)
{
	char tmp[4200];
	snprintf(tmp, sizeof(tmp), "%s.pxed-tmp.%ld", path, (long)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	int rc = write(fd, data, len) == (ssize_t)len && fsync(fd) == 0 ? 0 : -EIO;
	if (close(fd) < 0 && !rc)
		rc = -errno;
	if (!rc && rename(tmp, path) < 0)
		rc = -errno;
	if (rc)
		unlink(tmp);
	return rc;
}

/* Run cmd with /bin/sh -c; prints and returns its exit status (or -1). */
static int run_reload(const char *cmd)
{
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (WIFEXITED(st)) {
		fprintf(stderr, "pxed: ran \"%s\": exit status %d\n", cmd, WEXITSTATUS(st));
		return WEXITSTATUS(st);
	}
	fprintf(stderr, "pxed: ran \"%s\": killed by signal %d\n", cmd, WTERMSIG(st));
	return -1;
}

static const char *exports_file(const struct pxed_config *c)
{
	return c->diskless.exports_file ? c->diskless.exports_file
					: exports_default_file(c->diskless.exports_format);
}

static int do_exports(const struct pxed_config *c, const struct dl_args *a)
{
	struct sbuf out;
	char err[300];
	sbuf_init(&out);
	int rc = exports_generate(c, &out, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "pxed: diskless exports: %s\n",
			rc == -EINVAL ? err : strerror(-rc));
		sbuf_free(&out);
		return 1;
	}
	if (a->print) {
		fputs(out.p ? out.p : "", stdout);
		sbuf_free(&out);
		return 0;
	}
	const char *path = exports_file(c);
	rc = write_file_atomic(path, out.p ? out.p : "", out.len);
	sbuf_free(&out);
	if (rc < 0) {
		fprintf(stderr, "pxed: cannot write %s: %s\n", path, strerror(-rc));
		return 1;
	}
	fprintf(stderr, "pxed: wrote %s\n", path);
	const char *cmd = c->diskless.exports_reload
				  ? c->diskless.exports_reload
				  : exports_default_reload(c->diskless.exports_format);
	if (!cmd || !*cmd || !strcmp(cmd, "none"))
		return 0;
	return run_reload(cmd) == 0 ? 0 : 1;
}

int cmd_diskless(int argc, char **argv)
{
	if (argc >= 1 && (!strcmp(argv[0], "image") || !strcmp(argv[0], "overlay")))
		return cmd_diskless_image(argc, argv);
	if (argc < 1) {
		usage();
		return 2;
	}
	const char *sub = argv[0];
	bool create = !strcmp(sub, "create"), sync = !strcmp(sub, "sync");
	bool exports = !strcmp(sub, "exports");
	struct dl_args a;
	if ((!create && !sync && !exports) || parse(argc - 1, argv + 1, &a) < 0) {
		usage();
		return 2;
	}
	int rc = 2;
	if ((create && (!a.node || a.all || a.shared || a.force || a.checksum)) ||
	    (sync && !!a.node + a.all + !!a.shared != 1) || (exports && a.node) ||
	    (!exports && a.print)) {
		usage();
		goto out;
	}
	struct pxed_config *c = load(&a);
	if (!c)
		goto out;
	if (create)
		rc = one_node(c, a.node, &a, true, false);
	else if (sync)
		rc = do_sync(c, &a);
	else
		rc = do_exports(c, &a);
	config_unref(c);
out:
	free(a.cfg.overrides);
	return rc;
}

/* ---- pxed check ---- */

struct seen_exports {
	const struct pxed_config *c;
	int problems;
	const char *file;
};

/* An exported path under diskless.root must be a node's tree or a shared root. */
static void check_export(void *ctx, const char *path)
{
	struct seen_exports *s = ctx;
	const char *root = s->c->diskless.root;
	size_t n = strlen(root);
	if (strncmp(path, root, n) || path[n] != '/')
		return;
	const char *rest = path + n + 1;
	if (!strncmp(rest, "shared/", 7)) {
		const struct config_profile *p = config_profile_by_name(s->c, rest + 7);
		if (p && p->diskless == DISKLESS_NFS && p->shared_root)
			return;
	} else {
		const struct config_node *nd = config_node_by_name(s->c, rest);
		const struct config_profile *p = nd ? diskless_node_profile(s->c, nd) : NULL;
		if (p && p->diskless == DISKLESS_NFS)
			return;
	}
	printf("diskless: %s exports %s, which belongs to no diskless node\n", s->file, path);
	s->problems++;
}

static char *read_small(const char *path)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return NULL;
	struct sbuf b;
	sbuf_init(&b);
	char buf[8192];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		sbuf_add(&b, buf, n);
	fclose(f);
	if (!b.p)
		sbuf_puts(&b, "");
	return b.p;
}

static int check_exports_file(const struct pxed_config *c)
{
	const char *file = exports_file(c);
	char *text = read_small(file);
	int problems = 0;
	if (!text) {
		printf("diskless: %s: %s (run pxed diskless exports)\n", file, strerror(errno));
		return 1;
	}
	struct seen_exports s = {c, 0, file};
	exports_parse_paths(text, c->diskless.exports_format, check_export, &s);
	problems += s.problems;
	struct sbuf want;
	char err[300];
	sbuf_init(&want);
	if (exports_generate(c, &want, err, sizeof(err)) < 0) {
		printf("diskless: %s\n", err);
		problems++;
	} else if (strcmp(want.p ? want.p : "", text)) {
		printf("diskless: %s is stale: run pxed diskless exports\n", file);
		problems++;
	}
	sbuf_free(&want);
	free(text);
	return problems;
}

/* Every tree under diskless.root is a node's, stamped with its name. */
static int check_trees(const struct pxed_config *c, int rootfd)
{
	int problems = 0, d2 = dup(rootfd);
	DIR *d = d2 >= 0 ? fdopendir(d2) : NULL;
	struct dirent *de;
	while (d && (de = readdir(d))) {
		const char *n = de->d_name;
		if (n[0] == '.' || !strcmp(n, "shared"))
			continue;
		const struct config_node *nd = config_node_by_name(c, n);
		const struct config_profile *p = nd ? diskless_node_profile(c, nd) : NULL;
		char buf[300] = "";
		int fd = openat(rootfd, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		int sf = fd >= 0 ? openat(fd, "etc", O_RDONLY | O_DIRECTORY | O_NOFOLLOW) : -1;
		int ff = sf >= 0 ? openat(sf, "pxed-node", O_RDONLY | O_NOFOLLOW | O_NONBLOCK) : -1;
		ssize_t r = ff >= 0 ? read(ff, buf, sizeof(buf) - 1) : -1;
		buf[r > 0 ? r : 0] = 0;
		if (ff >= 0)
			close(ff);
		if (sf >= 0)
			close(sf);
		if (fd >= 0)
			close(fd);
		const char *who = strncmp(buf, "node=", 5) ? NULL : buf + 5;
		size_t wl = who ? strcspn(who, "\n") : 0;
		if (!nd || !p || p->diskless != DISKLESS_NFS)
			printf("diskless: %s/%s is no diskless node's tree\n", c->diskless.root, n);
		else if (!who)
			printf("diskless: %s/%s has no etc/pxed-node stamp\n", c->diskless.root, n);
		else if (wl != strlen(n) || strncmp(who, n, wl))
			printf("diskless: %s/%s is stamped for node %.*s\n", c->diskless.root, n,
			       (int)wl, who);
		else
			continue;
		problems++;
	}
	if (d)
		closedir(d);
	return problems;
}

/* Every diskless profile's template must exist (a directory for nfs; a directory or a regular
 * file, the tar, for ram). */
static int check_templates(const struct pxed_config *c)
{
	int problems = 0;
	for (size_t i = 0; i < c->nprofiles; i++) {
		const struct config_profile *p = &c->profiles[i];
		struct stat st;
		if (p->diskless == DISKLESS_NONE || !p->template)
			continue;
		if (stat(p->template, &st) < 0) {
			printf("diskless: [profile %s] template %s: %s\n", p->name, p->template,
			       strerror(errno));
			problems++;
		} else if (!S_ISDIR(st.st_mode) &&
			   (p->diskless == DISKLESS_NFS || !S_ISREG(st.st_mode))) {
			printf("diskless: [profile %s] template %s is not a directory%s\n", p->name,
			       p->template, p->diskless == DISKLESS_RAM ? " or a tar file" : "");
			problems++;
		}
	}
	return problems;
}

int diskless_check(const struct pxed_config *c)
{
	int problems = check_templates(c);
	if (!diskless_any_nfs(c))
		return problems;
	int rootfd = open(c->diskless.root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0) {
		printf("diskless: diskless.root %s: %s\n", c->diskless.root, strerror(errno));
		problems++;
	}
	for (size_t i = 0; i < c->nnodes; i++) {
		const struct config_node *n = &c->nodes[i];
		const struct config_profile *p = diskless_node_profile(c, n);
		struct stat st;
		if (!p || p->diskless != DISKLESS_NFS || rootfd < 0)
			continue;
		if (fstatat(rootfd, n->name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISDIR(st.st_mode)) {
			printf("diskless: node %s has no tree %s/%s (run pxed diskless create "
			       "%s)\n",
			       n->name, c->diskless.root, n->name, n->name);
			problems++;
		}
	}
	if (rootfd >= 0) {
		problems += check_trees(c, rootfd);
		close(rootfd);
	}
	return problems + check_exports_file(c);
}
