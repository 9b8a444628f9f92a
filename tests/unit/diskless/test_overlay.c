/* Unit tests of diskless/overlay.c: built-ins, .pxed templates, replacement by the overlay
 * directory, parent directories, determinism of the packed archive. */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot/inventory.h"
#include "core/config.h"
#include "diskless/overlay.h"
#include "test.h"
#include "test_config.h"

static struct pxed_config *load(void)
{
	const char *o[] = {
		"profile.ram.kernel=k/vmlinuz",	     "profile.ram.diskless=ram",
		"profile.ram.template=/nonexistent", "profile.ram.var.rack=r7",
		"node.n1.mac=52:54:00:00:00:01",     "node.n1.ip=198.18.0.21",
		"node.n1.hostname=node-one",	     "node.n1.profile=ram",
		"node.n1.var.interface=enp1s0",
	};
	return test_config_or_die(o, sizeof(o) / sizeof(o[0]));
}

static void ctx(const struct pxed_config *c, struct boot_ctx *b)
{
	uint8_t mac[6] = {0x52, 0x54, 0, 0, 0, 1};
	struct boot_facts f = {.mac = mac, .server = "198.18.0.1", .arch = 0xffff};
	inventory_resolve(c, &f, b);
}

static const struct overlay_entry *find(const struct overlay *o, const char *path)
{
	for (size_t i = 0; i < o->n; i++)
		if (!strcmp(o->v[i].path, path))
			return &o->v[i];
	return NULL;
}

static void test_builtins(void)
{
	struct pxed_config *c = load();
	struct boot_ctx b;
	struct overlay o;
	ctx(c, &b);
	overlay_init(&o);
	CHECK_EQ(overlay_builtins(&o, &b), 0);
	CHECK_STR(find(&o, "etc/hostname")->data, "node-one\n");
	CHECK(strstr(find(&o, "etc/hosts")->data, "198.18.0.21\tnode-one\n") != NULL);
	CHECK(strstr(find(&o, "etc/fstab")->data, "tmpfs\t/tmp\ttmpfs") != NULL);
	CHECK(strstr(find(&o, "etc/network/interfaces")->data, "iface enp1s0 inet dhcp") != NULL);
	overlay_free(&o);
	config_unref(c);
}

static void write_file(const char *path, const char *s, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	CHECK(fd >= 0);
	if (fd >= 0) {
		CHECK_EQ(write(fd, s, strlen(s)), (long long)strlen(s));
		fchmod(fd, mode);
		close(fd);
	}
}

static void test_dir_and_pack(void)
{
	struct pxed_config *c = load();
	struct boot_ctx b;
	struct overlay o;
	char dir[] = "/tmp/pxed-test-overlay.XXXXXX", p[256], err[300] = "";
	CHECK(mkdtemp(dir) != NULL);
	snprintf(p, sizeof(p), "%s/etc", dir);
	mkdir(p, 0750);
	snprintf(p, sizeof(p), "%s/etc/info.pxed", dir);
	write_file(p, "${hostname} ${rack} $${literal}\n", 0640);
	snprintf(p, sizeof(p), "%s/etc/hostname", dir);
	write_file(p, "override\n", 0644);
	snprintf(p, sizeof(p), "%s/etc/raw", dir);
	write_file(p, "${hostname}\n", 0600);
	ctx(c, &b);
	overlay_init(&o);
	CHECK_EQ(overlay_build(&o, &b, dir, NULL, err, sizeof(err)), 0);
	CHECK_STR(find(&o, "etc/info")->data, "node-one r7 ${literal}\n");
	CHECK_EQ(find(&o, "etc/info")->mode & 07777, 0640);
	CHECK(find(&o, "etc/info.pxed") == NULL);
	CHECK_STR(find(&o, "etc/hostname")->data, "override\n");
	CHECK_STR(find(&o, "etc/raw")->data, "${hostname}\n");
	CHECK_EQ(find(&o, "etc")->mode & 07777, 0750);
	CHECK(S_ISDIR(find(&o, "etc")->mode));
	uint8_t *a = NULL, *a2 = NULL;
	size_t alen = 0, alen2 = 0;
	char k1[65], k2[65];
	CHECK_EQ(overlay_pack(&o, &a, &alen, k1), 0);
	CHECK(find(&o, "etc/network") != NULL); /* parent added */
	CHECK(alen > 20 && a[0] == 0x1f && a[1] == 0x8b);
	CHECK(a[4] == 0 && a[5] == 0 && a[6] == 0 && a[7] == 0); /* gzip MTIME 0 */
	overlay_free(&o);
	/* a second render gives the same bytes */
	overlay_init(&o);
	CHECK_EQ(overlay_build(&o, &b, dir, NULL, err, sizeof(err)), 0);
	CHECK_EQ(overlay_pack(&o, &a2, &alen2, k2), 0);
	CHECK_EQ(alen, alen2);
	CHECK(a && a2 && alen == alen2 && memcmp(a, a2, alen) == 0);
	CHECK_STR(k1, k2);
	free(a);
	free(a2);
	overlay_free(&o);
	/* unsafe names are refused */
	overlay_init(&o);
	CHECK_EQ(overlay_add(&o, "../x", S_IFREG | 0644, "", 0), -EINVAL);
	CHECK_EQ(overlay_add(&o, "/etc/x", S_IFREG | 0644, "", 0), -EINVAL);
	overlay_free(&o);
	snprintf(p, sizeof(p), "rm -rf '%s'", dir);
	CHECK_EQ(system(p), 0);
	config_unref(c);
}

int main(void)
{
	RUN(test_builtins);
	RUN(test_dir_and_pack);
	return test_summary();
}
