/* The pure sync decision of diskless trees: which paths are added, updated, deleted or kept,
 * in which order, per-node globs, and the personal files (hostname, hosts, fstab, stamp). */
#include <errno.h>
#include <stdlib.h>

#include "core/config.h"
#include "diskless/tree.h"
#include "test.h"
#include "test_config.h"

static void add(struct tree_list *l, const char *path, enum tree_kind k, uint64_t size,
		int64_t mtime)
{
	struct tree_entry e = {.path = (char *)path,
			       .kind = k,
			       .mode = k == TK_DIR ? 0755 : 0644,
			       .size = size,
			       .mtime_s = mtime};
	if (k == TK_LNK)
		e.link = "busybox";
	tree_list_add(l, &e);
}

/* The plan as text, one formatted action per line. */
static char *plan_text(const struct tree_plan *p)
{
	static char out[4096];
	size_t o = 0;
	out[0] = 0;
	for (size_t i = 0; i < p->n; i++) {
		char line[512];
		tree_action_format(&p->a[i], line, sizeof(line));
		o += (size_t)snprintf(out + o, sizeof(out) - o, "%s\n", line);
	}
	return out;
}

static void base_template(struct tree_list *t)
{
	add(t, "bin", TK_DIR, 0, 1);
	add(t, "bin/busybox", TK_REG, 100, 1);
	add(t, "bin/sh", TK_LNK, 0, 1);
	add(t, "etc", TK_DIR, 0, 1);
	add(t, "etc/hostname", TK_REG, 9, 1);
	add(t, "etc/passwd", TK_REG, 30, 1);
	add(t, "etc/ssh", TK_DIR, 0, 1);
	add(t, "etc/ssh/ssh_host_rsa_key", TK_REG, 5, 1);
	add(t, "usr", TK_DIR, 0, 1);
	add(t, "usr/doc", TK_DIR, 0, 1);
	add(t, "usr/doc/README", TK_REG, 3, 1);
	add(t, "var", TK_DIR, 0, 1);
	add(t, "var/log", TK_DIR, 0, 1);
	tree_list_sort(t);
}

static void test_create_and_idempotent(void)
{
	struct tree_list t = {0}, empty = {0};
	base_template(&t);
	struct tree_plan p = {0};
	CHECK_EQ(tree_plan_sync(&t, &empty, &empty, NULL, 0, &p), 0);
	CHECK_EQ(p.n, t.n); /* everything added, parents first */
	CHECK_STR(p.a[0].path, "bin");
	CHECK_STR(p.a[1].path, "bin/busybox");
	CHECK_EQ(p.a[0].op, TREE_ADD);
	tree_plan_free(&p);
	/* the tree equals the template: nothing to do */
	CHECK_EQ(tree_plan_sync(&t, &t, &t, NULL, 0, &p), 0);
	CHECK_EQ(p.n, 0);
	tree_plan_free(&p);
	tree_list_free(&t);
}

static void test_changes(void)
{
	struct tree_list t = {0}, tree = {0}, man = {0};
	base_template(&tree);
	base_template(&man);
	add(&tree, "etc/own", TK_REG, 4, 1);	    /* the node's own file */
	add(&tree, "var/log/syslog", TK_REG, 4, 1); /* per-node */
	tree_list_sort(&tree);
	base_template(&t);
	/* template changes: passwd changed, new file, README and usr/doc gone, key changed,
	 * hostname differs (managed by pxed: silent) */
	for (size_t i = 0; i < t.n; i++) {
		if (!strcmp(t.e[i].path, "etc/passwd"))
			t.e[i].mtime_s = 2;
		if (!strcmp(t.e[i].path, "etc/ssh/ssh_host_rsa_key"))
			t.e[i].size = 6;
		if (!strcmp(t.e[i].path, "etc/hostname"))
			t.e[i].size = 20;
	}
	struct tree_list t2 = {0};
	for (size_t i = 0; i < t.n; i++)
		if (strncmp(t.e[i].path, "usr/doc", 7))
			tree_list_add(&t2, &t.e[i]);
	add(&t2, "etc/newfile", TK_REG, 1, 1);
	tree_list_sort(&t2);
	struct tree_plan p = {0};
	CHECK_EQ(tree_plan_sync(&t2, &tree, &man, NULL, 0, &p), 0);
	CHECK_STR(plan_text(&p), "+ etc/newfile\n"
				 "M etc/passwd\n"
				 "= etc/ssh/ssh_host_rsa_key (per-node, kept)\n"
				 "- usr/doc/README (would delete, needs --force)\n"
				 "- usr/doc (would delete, needs --force)\n");
	tree_plan_free(&p);
	CHECK_EQ(tree_plan_sync(&t2, &tree, &man, NULL, TREE_FORCE, &p), 0);
	CHECK_STR(plan_text(&p), "+ etc/newfile\n"
				 "M etc/passwd\n"
				 "= etc/ssh/ssh_host_rsa_key (per-node, kept)\n"
				 "- usr/doc/README\n"
				 "- usr/doc\n");
	tree_plan_free(&p);
	/* a shared root: the template owns everything, hostname included */
	CHECK_EQ(tree_plan_sync(&t2, &tree, &man, NULL, TREE_NO_PER_NODE, &p), 0);
	CHECK(strstr(plan_text(&p), "M etc/hostname\n") != NULL);
	CHECK(strstr(plan_text(&p), "M etc/ssh/ssh_host_rsa_key\n") != NULL);
	tree_plan_free(&p);
	tree_list_free(&t);
	tree_list_free(&t2);
	tree_list_free(&tree);
	tree_list_free(&man);
}

static void test_dir_kept_when_child_stays(void)
{
	struct tree_list t = {0}, tree = {0}, man = {0};
	add(&tree, "opt", TK_DIR, 0, 1);
	add(&tree, "opt/a", TK_REG, 1, 1);
	add(&tree, "opt/mine", TK_REG, 1, 1); /* not from the template */
	add(&man, "opt", TK_DIR, 0, 1);
	add(&man, "opt/a", TK_REG, 1, 1);
	tree_list_sort(&tree);
	tree_list_sort(&man);
	struct tree_plan p = {0};
	CHECK_EQ(tree_plan_sync(&t, &tree, &man, NULL, TREE_FORCE, &p), 0);
	CHECK_STR(plan_text(&p), "- opt/a\n");
	tree_plan_free(&p);
	tree_list_free(&tree);
	tree_list_free(&man);
}

static void test_kinds_and_checksum(void)
{
	struct tree_list t = {0}, tree = {0};
	add(&t, "a", TK_REG, 1, 1);
	add(&t, "d", TK_REG, 1, 1); /* the tree has a directory there */
	add(&t, "l", TK_LNK, 0, 1);
	add(&t, "x", TK_DIR, 0, 1); /* the tree has a file there */
	add(&tree, "a", TK_REG, 1, 1);
	add(&tree, "d", TK_DIR, 0, 1);
	add(&tree, "l", TK_LNK, 0, 1);
	add(&tree, "x", TK_REG, 1, 1);
	tree.e[2].link[0] = 'B'; /* another target */
	t.e[0].has_sum = tree.e[0].has_sum = true;
	t.e[0].sum = 1;
	tree.e[0].sum = 2;
	struct tree_plan p = {0};
	CHECK_EQ(tree_plan_sync(&t, &tree, &tree, NULL, 0, &p), 0);
	CHECK_STR(plan_text(&p), "! d (a directory in the tree, not in the template: left alone)\n"
				 "M l\n"
				 "M x\n");
	tree_plan_free(&p);
	CHECK_EQ(tree_plan_sync(&t, &tree, &tree, NULL, TREE_CHECKSUM, &p), 0);
	CHECK(strncmp(plan_text(&p), "M a\n", 4) == 0);
	tree_plan_free(&p);
	tree_list_free(&t);
	tree_list_free(&tree);
}

static void test_per_node_globs(void)
{
	CHECK(tree_is_per_node("etc/hostname", NULL));
	CHECK(tree_is_per_node("etc/ssh/ssh_host_ed25519_key.pub", NULL));
	CHECK(!tree_is_per_node("etc/ssh/sshd_config", NULL));
	CHECK(tree_is_per_node("var/lib/dpkg/status", NULL));
	CHECK(tree_is_per_node("home/u/.profile", NULL));
	CHECK(!tree_is_per_node("variable", NULL));
	CHECK(!tree_is_per_node("etc/myapp/conf", NULL));
	CHECK(tree_is_per_node("etc/myapp/conf", "/opt/x, etc/myapp/**"));
	CHECK(tree_is_per_node("etc/myapp", "etc/myapp/**"));
	CHECK(tree_is_per_node("opt/x/y/z", "/opt/x, etc/myapp/**"));
	CHECK(tree_is_per_node("etc/a.conf", "etc/*.conf"));
	CHECK(!tree_is_per_node("etc/sub/a.conf", "etc/*.conf"));
	CHECK(tree_is_managed("etc/fstab"));
	CHECK(!tree_is_managed("etc/passwd"));
}

static struct pxed_config *load(void)
{
	const char *o[] = {
		"diskless.root=/srv/dl",
		"profile.p.kernel=k",
		"profile.p.diskless=nfs",
		"profile.p.mounts=/srv/home:/home:rw, /srv/opt:/opt",
		"profile.p.nfs-options=vers=4",
		"profile.s.kernel=k",
		"profile.s.diskless=nfs",
		"profile.s.shared-root=yes",
		"node.n1.mac=52:54:00:00:00:01",
		"node.n1.ip=10.0.0.21",
		"node.n1.profile=p",
		"node.n1.hostname=slave21",
		"node.n2.mac=52:54:00:00:00:02",
		"node.n2.profile=s",
	};
	return test_config_or_die(o, sizeof(o) / sizeof(o[0]));
}

static void test_personal(void)
{
	struct pxed_config *c = load();
	struct tree_personal tp;
	const struct config_node *n1 = config_node_by_name(c, "n1");
	CHECK_EQ(tree_personal_render(c, n1, config_profile_by_name(c, "p"), "10.0.0.1", &tp), 0);
	CHECK_STR(tp.hostname, "slave21\n");
	CHECK(strstr(tp.hosts, "10.0.0.21\tslave21 n1\n") != NULL);
	CHECK_STR(tp.stamp, "node=n1\nmac=52:54:00:00:00:01\n");
	CHECK(strstr(tp.fstab, "\n10.0.0.1:/srv/dl/n1 / nfs rw,vers=4 0 0\n"
			       "10.0.0.1:/srv/home /home nfs rw,vers=4 0 0\n"
			       "10.0.0.1:/srv/opt /opt nfs ro,vers=4 0 0\n"
			       "proc /proc proc defaults 0 0\n"
			       "tmpfs /tmp tmpfs defaults,mode=1777 0 0\n") != NULL);
	const struct config_node *n2 = config_node_by_name(c, "n2");
	CHECK_EQ(tree_personal_render(c, n2, config_profile_by_name(c, "s"), "10.0.0.1", &tp), 0);
	CHECK(strstr(tp.fstab, "\n10.0.0.1:/srv/dl/shared/s / nfs ro,vers=3,tcp 0 0\n"
			       "10.0.0.1:/srv/dl/n2/etc /etc nfs rw,vers=3,tcp 0 0\n"
			       "10.0.0.1:/srv/dl/n2/var /var nfs rw,vers=3,tcp 0 0\n") != NULL);
	CHECK(strstr(tp.hosts, "127.0.1.1\tn2\n") != NULL); /* no fixed address */
	config_unref(c);
}

int main(void)
{
	RUN(test_create_and_idempotent);
	RUN(test_changes);
	RUN(test_dir_kept_when_child_stays);
	RUN(test_kinds_and_checksum);
	RUN(test_per_node_globs);
	RUN(test_personal);
	return test_summary();
}
