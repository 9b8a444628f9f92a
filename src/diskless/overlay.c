/* diskless/overlay.c: see overlay.h. */
#include "diskless/overlay.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "boot/inventory.h"
#include "boot/sbuf.h"
#include "diskless/image.h"

extern char **environ;

void overlay_init(struct overlay *o)
{
	memset(o, 0, sizeof(*o));
}

void overlay_free(struct overlay *o)
{
	for (size_t i = 0; i < o->n; i++) {
		free(o->v[i].path);
		free(o->v[i].data);
	}
	free(o->v);
	memset(o, 0, sizeof(*o));
}

int overlay_add(struct overlay *o, const char *path, uint32_t mode, const void *data, size_t len)
{
	char clean[1024];
	if (image_clean_name(path, clean, sizeof(clean)) < 0 || !clean[0])
		return -EINVAL;
	struct overlay_entry *e = NULL;
	for (size_t i = 0; i < o->n && !e; i++)
		if (strcmp(o->v[i].path, clean) == 0)
			e = &o->v[i];
	char *copy = malloc(len + 1);
	if (!copy)
		return -ENOMEM;
	if (len)
		memcpy(copy, data, len);
	copy[len] = '\0';
	if (e) {
		free(e->data);
	} else {
		if (o->n == o->cap) {
			size_t cap = o->cap ? 2 * o->cap : 32;
			struct overlay_entry *v = realloc(o->v, cap * sizeof(*v));
			if (!v) {
				free(copy);
				return -ENOMEM;
			}
			o->v = v;
			o->cap = cap;
		}
		e = &o->v[o->n];
		e->path = strdup(clean);
		if (!e->path) {
			free(copy);
			return -ENOMEM;
		}
		o->n++;
	}
	e->mode = mode;
	e->data = copy;
	e->len = len;
	return 0;
}

static int add_text(struct overlay *o, const char *path, const struct boot_ctx *b, const char *tmpl)
{
	struct sbuf s;
	sbuf_init(&s);
	int rc = boot_expand_into(b, tmpl, &s);
	if (rc == 0 && s.failed)
		rc = -ENOMEM;
	if (rc == 0)
		rc = overlay_add(o, path, S_IFREG | 0644, s.p ? s.p : "", s.len);
	sbuf_free(&s);
	return rc;
}

int overlay_builtins(struct overlay *o, const struct boot_ctx *b)
{
	char buf[256];
	const char *ip = boot_var(b, "ip", buf, sizeof(buf));
	const char *ifc = boot_var(b, "interface", buf, sizeof(buf));
	char iface[64];
	snprintf(iface, sizeof(iface), "%s", ifc && ifc[0] ? ifc : "eth0");
	bool have_ip = ip && ip[0];
	char interfaces[512];
	snprintf(interfaces, sizeof(interfaces),
		 "# written by pxed\nauto lo\niface lo inet loopback\n\nauto %s\niface %s inet "
		 "dhcp\n",
		 iface, iface);
	int rc = add_text(o, "etc/hostname", b, "${hostname}\n");
	if (rc == 0)
		rc = add_text(o, "etc/hosts", b,
			      have_ip ? "127.0.0.1\tlocalhost\n::1\tlocalhost\n${ip}\t${hostname}\n"
				      : "127.0.0.1\tlocalhost ${hostname}\n::1\tlocalhost\n");
	if (rc == 0)
		rc = add_text(o, "etc/fstab", b,
			      "# written by pxed: RAM root\nproc\t/proc\tproc\tdefaults\t0 0\n"
			      "tmpfs\t/tmp\ttmpfs\tdefaults,mode=1777\t0 0\n");
	if (rc == 0)
		rc = overlay_add(o, "etc/network/interfaces", S_IFREG | 0644, interfaces,
				 strlen(interfaces));
	return rc;
}

/* The whole of a regular file (at most OVERLAY_FILE_MAX bytes). */
static char *slurp(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0 || (uint64_t)st.st_size > OVERLAY_FILE_MAX) {
		close(fd);
		errno = EFBIG;
		return NULL;
	}
	char *p = malloc((size_t)st.st_size + 1);
	ssize_t n = p ? read(fd, p, (size_t)st.st_size) : -1;
	close(fd);
	if (n < 0) {
		free(p);
		return NULL;
	}
	p[n] = '\0';
	*len = (size_t)n;
	return p;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int add_one(struct overlay *o, const struct boot_ctx *b, const char *abs, const char *rel,
		   char *err, size_t cap);

static int add_tree(struct overlay *o, const struct boot_ctx *b, const char *abs, const char *rel,
		    char *err, size_t cap)
{
	struct dirent **names;
	int n = scandir(abs, &names, NULL, by_name), rc = 0;
	if (n < 0) {
		snprintf(err, cap, "overlay %s: %s", abs, strerror(errno));
		return -errno;
	}
	for (int i = 0; i < n; i++) {
		const char *nm = names[i]->d_name;
		if (rc == 0 && strcmp(nm, ".") && strcmp(nm, "..")) {
			char a[4096], r[1024];
			snprintf(a, sizeof(a), "%.3000s/%s", abs, nm);
			snprintf(r, sizeof(r), "%.700s%s%s", rel, rel[0] ? "/" : "", nm);
			rc = add_one(o, b, a, r, err, cap);
		}
		free(names[i]);
	}
	free(names);
	return rc;
}

static int add_one(struct overlay *o, const struct boot_ctx *b, const char *abs, const char *rel,
		   char *err, size_t cap)
{
	struct stat st;
	size_t len = 0, sl = strlen(OVERLAY_TEMPLATE_SUFFIX), rl = strlen(rel);
	int rc = 0;
	if (lstat(abs, &st) < 0) {
		snprintf(err, cap, "overlay %s: %s", abs, strerror(errno));
		return -errno;
	}
	if (S_ISDIR(st.st_mode)) {
		rc = overlay_add(o, rel, S_IFDIR | (st.st_mode & 07777), "", 0);
		return rc < 0 ? rc : add_tree(o, b, abs, rel, err, cap);
	}
	if (S_ISLNK(st.st_mode)) {
		char t[4096];
		ssize_t n = readlink(abs, t, sizeof(t) - 1);
		if (n < 0) {
			snprintf(err, cap, "overlay %s: %s", abs, strerror(errno));
			return -errno;
		}
		return overlay_add(o, rel, S_IFLNK | 0777, t, (size_t)n);
	}
	if (!S_ISREG(st.st_mode))
		return 0; /* devices, fifos, sockets: not for an overlay */
	char *data = slurp(abs, &len);
	if (!data) {
		snprintf(err, cap, "overlay %s: %s", abs, strerror(errno));
		return -errno;
	}
	if (rl > sl && strcmp(rel + rl - sl, OVERLAY_TEMPLATE_SUFFIX) == 0) {
		char name[1024];
		struct sbuf s;
		snprintf(name, sizeof(name), "%.*s", (int)(rl - sl), rel);
		sbuf_init(&s);
		rc = boot_expand_into(b, data, &s);
		if (rc == 0 && s.failed)
			rc = -ENOMEM;
		if (rc < 0)
			snprintf(err, cap, "overlay template %s: %s", abs,
				 rc == -ELOOP ? "variables nested too deep" : strerror(-rc));
		else
			rc = overlay_add(o, name, S_IFREG | (st.st_mode & 07777), s.p ? s.p : "",
					 s.len);
		sbuf_free(&s);
	} else {
		rc = overlay_add(o, rel, S_IFREG | (st.st_mode & 07777), data, len);
	}
	free(data);
	return rc;
}

int overlay_add_dir(struct overlay *o, const struct boot_ctx *b, const char *dir, char *err,
		    size_t cap)
{
	return add_tree(o, b, dir, "", err, cap);
}

/* mkdir -p with mode for the last components created. */
static int mkdirs(const char *path, mode_t mode)
{
	char p[4096];
	snprintf(p, sizeof(p), "%s", path);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	if (mkdir(p, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int run_keygen(const char *key)
{
	pid_t pid;
	int status = 0;
	char *argv[] = {"ssh-keygen", "-q", "-t", "ed25519",   "-N", "",
			"-C",	      "",   "-f", (char *)key, NULL};
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	int e = posix_spawnp(&pid, "ssh-keygen", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (e)
		return -e;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

int overlay_ssh_keys(struct overlay *o, const char *keys_dir, char *err, size_t cap)
{
	char key[4200], pub[4300];
	size_t klen = 0, plen = 0;
	snprintf(key, sizeof(key), "%.4000s/ssh_host_ed25519_key", keys_dir);
	snprintf(pub, sizeof(pub), "%s.pub", key);
	if (access(key, F_OK) < 0 || access(pub, F_OK) < 0) {
		int rc = mkdirs(keys_dir, 0700);
		if (rc < 0) {
			snprintf(err, cap, "ssh host key directory %s: %s", keys_dir,
				 strerror(-rc));
			return rc;
		}
		unlink(key);
		unlink(pub);
		rc = run_keygen(key);
		if (rc == -ENOENT) {
			snprintf(o->warn, sizeof(o->warn),
				 "ssh-keygen not found: no ssh host key in the overlay");
			return 0;
		}
		if (rc < 0) {
			snprintf(err, cap, "ssh-keygen -f %s failed", key);
			return rc;
		}
		chmod(key, 0600);
	}
	char *k = slurp(key, &klen), *p = slurp(pub, &plen);
	int rc = k && p ? 0 : -errno;
	if (rc < 0)
		snprintf(err, cap, "ssh host key %s: %s", key, strerror(errno));
	if (rc == 0)
		rc = overlay_add(o, "etc/ssh/ssh_host_ed25519_key", S_IFREG | 0600, k, klen);
	if (rc == 0)
		rc = overlay_add(o, "etc/ssh/ssh_host_ed25519_key.pub", S_IFREG | 0644, p, plen);
	free(k);
	free(p);
	return rc;
}

/* Sort with '/' lowest: a directory right before its contents. */
static int cmp_entry(const void *a, const void *b)
{
	const unsigned char *p = (const unsigned char *)((const struct overlay_entry *)a)->path;
	const unsigned char *q = (const unsigned char *)((const struct overlay_entry *)b)->path;
	for (; *p && *p == *q; p++, q++)
		;
	int cp = *p == '/' ? 1 : *p ? *p + 1 : 0, cq = *q == '/' ? 1 : *q ? *q + 1 : 0;
	return cp - cq;
}

static int add_parents(struct overlay *o)
{
	for (size_t i = 0; i < o->n; i++) { /* o->n grows: added parents get checked too */
		char p[1024];
		snprintf(p, sizeof(p), "%s", o->v[i].path);
		char *slash = strrchr(p, '/');
		if (!slash)
			continue;
		*slash = '\0';
		bool have = false;
		for (size_t j = 0; j < o->n && !have; j++)
			have = strcmp(o->v[j].path, p) == 0;
		if (!have && overlay_add(o, p, S_IFDIR | 0755, "", 0) < 0)
			return -ENOMEM;
	}
	return 0;
}

struct membuf {
	uint8_t *p;
	size_t len, cap;
};

static la_ssize_t mem_write(struct archive *a, void *ud, const void *buf, size_t n)
{
	(void)a;
	struct membuf *m = ud;
	if (m->len + n > m->cap) {
		size_t cap = m->cap ? m->cap : 65536;
		while (cap < m->len + n)
			cap *= 2;
		uint8_t *p = realloc(m->p, cap);
		if (!p)
			return -1;
		m->p = p;
		m->cap = cap;
	}
	memcpy(m->p + m->len, buf, n);
	m->len += n;
	return (la_ssize_t)n;
}

static int pack_entries(struct overlay *o, struct archive *w)
{
	for (size_t i = 0; i < o->n; i++) {
		struct overlay_entry *v = &o->v[i];
		struct archive_entry *e = archive_entry_new();
		if (!e)
			return -ENOMEM;
		archive_entry_set_pathname(e, v->path);
		archive_entry_set_mode(e, v->mode);
		archive_entry_set_ino(e, (la_int64_t)i + 1);
		archive_entry_set_nlink(e, S_ISDIR(v->mode) ? 2 : 1);
		archive_entry_set_mtime(e, 0, 0);
		if (S_ISLNK(v->mode))
			archive_entry_set_symlink(e, v->data);
		archive_entry_set_size(e, S_ISREG(v->mode) ? (la_int64_t)v->len : 0);
		int r = archive_write_header(w, e);
		archive_entry_free(e);
		if (r < ARCHIVE_WARN)
			return -EIO;
		if (S_ISREG(v->mode) && v->len &&
		    archive_write_data(w, v->data, v->len) != (la_ssize_t)v->len)
			return -EIO;
	}
	return 0;
}

int overlay_pack(struct overlay *o, uint8_t **out, size_t *len, char key[65])
{
	struct membuf m = {0};
	int rc = add_parents(o);
	if (rc < 0)
		return rc;
	qsort(o->v, o->n, sizeof(o->v[0]), cmp_entry);
	struct archive *w = archive_write_new();
	if (!w)
		return -ENOMEM;
	if (archive_write_set_format_cpio_newc(w) != ARCHIVE_OK ||
	    archive_write_add_filter_gzip(w) != ARCHIVE_OK)
		rc = -EIO;
	if (rc == 0) {
		archive_write_set_filter_option(w, "gzip", "timestamp", NULL);
		archive_write_set_bytes_in_last_block(w, 1);
		if (archive_write_open(w, &m, NULL, mem_write, NULL) != ARCHIVE_OK)
			rc = -EIO;
	}
	if (rc == 0)
		rc = pack_entries(o, w);
	if (rc == 0 && archive_write_close(w) != ARCHIVE_OK)
		rc = -EIO;
	archive_write_free(w);
	if (rc < 0) {
		free(m.p);
		return rc;
	}
	struct image_sha256 s;
	uint8_t d[32];
	image_sha256_init(&s);
	image_sha256_update(&s, m.p, m.len);
	image_sha256_final(&s, d);
	image_hex(d, 32, key);
	*out = m.p;
	*len = m.len;
	return 0;
}

int overlay_build(struct overlay *o, const struct boot_ctx *b, const char *overlay_dir,
		  const char *keys_dir, char *err, size_t cap)
{
	int rc = overlay_builtins(o, b);
	if (rc < 0) {
		snprintf(err, cap, "overlay built-ins: %s", strerror(-rc));
		return rc;
	}
	if (keys_dir && (rc = overlay_ssh_keys(o, keys_dir, err, cap)) < 0)
		return rc;
	if (overlay_dir && (rc = overlay_add_dir(o, b, overlay_dir, err, cap)) < 0)
		return rc;
	return 0;
}
