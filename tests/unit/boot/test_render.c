/* Inventory resolution and rendered documents: which profile a machine gets and why, the
 * installer one-shot, variables, and the exact iPXE / pxelinux / GRUB / kickstart text. Also
 * pxelinux's and GRUB's config file names. */
#include <errno.h>
#include <stdlib.h>

#include "boot/inventory.h"
#include "boot/render.h"
#include "core/config.h"
#include "test.h"
#include "test_config.h"

static struct pxed_config *load(void)
{
	const char *o[] = {
		"http.listen=0.0.0.0:8080",
		"profile.rocky9.kernel=rocky9/vmlinuz",
		"profile.rocky9.initrd=rocky9/initrd.img",
		"profile.rocky9.cmdline=inst.repo=${http}/rocky9 inst.ks=${ks-url} ip=dhcp",
		"profile.rocky9.install=yes",
		"profile.diskless.kernel=diskless/bzImage",
		"profile.diskless.initrd=diskless/a.img, diskless/b.img",
		"profile.diskless.cmdline=root=/dev/nfs nfsroot=${server}:/diskless/${ip} ${extra}",
		"profile.diskless.var.extra=console=${console}",
		"profile.diskless.var.console=ttyS0",
		"profile.rescue.kernel=http://mirror.example/rescue/vmlinuz",
		"group.lab.match-mac=52:54:00:aa:*",
		"group.lab.profile=rescue",
		"node.n21.mac=52:54:00:00:00:21",
		"node.n21.ip=198.18.0.21",
		"node.n21.profile=diskless",
		"node.n21.hostname=slave21",
		"node.n22.mac=52:54:00:00:00:22",
		"node.n22.profile=rocky9",
		"node.n23.mac=52:54:00:00:00:23",
	};
	return test_config_or_die(o, sizeof(o) / sizeof(o[0]));
}

static void resolve(const struct pxed_config *c, uint8_t last, bool reinstall, struct boot_ctx *b)
{
	uint8_t mac[6] = {0x52, 0x54, 0, 0, 0, last};
	struct boot_facts f = {.mac = mac,
			       .server = "198.18.0.1",
			       .arch = 0,
			       .reinstall = reinstall,
			       .ks_token = "t0k"};
	inventory_resolve(c, &f, b);
}

static void test_resolution(void)
{
	struct pxed_config *c = load();
	struct boot_ctx b;
	resolve(c, 0x21, false, &b);
	CHECK_EQ(b.action, BOOT_PROFILE);
	CHECK_STR(b.profile->name, "diskless");
	CHECK(strstr(b.why, "node n21") != NULL);
	CHECK_STR(b.ip, "198.18.0.21"); /* from the node's fixed address */
	resolve(c, 0x22, false, &b);	/* installer without reinstall: local boot */
	CHECK_EQ(b.action, BOOT_LOCAL);
	resolve(c, 0x22, true, &b);
	CHECK_EQ(b.action, BOOT_PROFILE);
	resolve(c, 0x23, false, &b); /* node without a profile, no default: refused */
	CHECK_EQ(b.action, BOOT_REFUSE);
	uint8_t mac[6] = {0x52, 0x54, 0, 0xaa, 1, 2};
	struct boot_facts f = {.mac = mac, .server = "198.18.0.1", .arch = 7};
	inventory_resolve(c, &f, &b);
	CHECK_EQ(b.action, BOOT_PROFILE);
	CHECK_STR(b.profile->name, "rescue");
	CHECK(strstr(b.why, "group lab") != NULL);
	CHECK(b.node == NULL);
	config_unref(c);
}

static void test_ipxe(void)
{
	struct pxed_config *c = load();
	struct boot_ctx b;
	struct sbuf s;
	resolve(c, 0x21, false, &b);
	sbuf_init(&s);
	CHECK_EQ(render_ipxe(&b, &s), 0);
	CHECK(!strncmp(s.p, "#!ipxe\n", 7));
	CHECK(strstr(s.p,
		     "kernel http://198.18.0.1:8080/diskless/bzImage initrd=a.img initrd=b.img "
		     "root=/dev/nfs nfsroot=198.18.0.1:/diskless/198.18.0.21 console=ttyS0\n") !=
	      NULL);
	CHECK(strstr(s.p, "initrd http://198.18.0.1:8080/diskless/a.img\ninitrd "
			  "http://198.18.0.1:8080/diskless/b.img\nboot\n") != NULL);
	sbuf_free(&s);
	resolve(c, 0x22, false, &b);
	sbuf_init(&s);
	CHECK_EQ(render_ipxe(&b, &s), 0);
	CHECK(strstr(s.p, "\nexit\n") != NULL);
	CHECK(strstr(s.p, "kernel") == NULL);
	sbuf_free(&s);
	resolve(c, 0x23, false, &b);
	sbuf_init(&s);
	CHECK_EQ(render_ipxe(&b, &s), -ENOENT);
	sbuf_free(&s);
	config_unref(c);
}

static void test_pxelinux_grub(void)
{
	struct pxed_config *c = load();
	struct boot_ctx b;
	struct sbuf s;
	resolve(c, 0x22, true, &b);
	sbuf_init(&s);
	CHECK_EQ(render_pxelinux(&b, &s), 0);
	CHECK(strstr(s.p, "DEFAULT pxed\n") != NULL);
	CHECK(strstr(s.p, "  KERNEL rocky9/vmlinuz\n  INITRD rocky9/initrd.img\n") != NULL);
	CHECK(strstr(s.p, "  APPEND inst.repo=http://198.18.0.1:8080/rocky9 "
			  "inst.ks=http://198.18.0.1:8080/ks/n22?token=t0k ip=dhcp\n") != NULL);
	sbuf_free(&s);
	resolve(c, 0x22, false, &b);
	sbuf_init(&s);
	CHECK_EQ(render_pxelinux(&b, &s), 0);
	CHECK(strstr(s.p, "LOCALBOOT 0") != NULL);
	sbuf_free(&s);
	resolve(c, 0x21, false, &b);
	sbuf_init(&s);
	CHECK_EQ(render_grub(&b, &s), 0);
	CHECK(strstr(s.p, "linux (http,198.18.0.1:8080)/diskless/bzImage root=/dev/nfs") != NULL);
	CHECK(strstr(s.p, "initrd (http,198.18.0.1:8080)/diskless/a.img "
			  "(http,198.18.0.1:8080)/diskless/b.img\n") != NULL);
	sbuf_free(&s);
	config_unref(c);
}

static void test_template(void)
{
	struct pxed_config *c = load();
	struct boot_ctx b;
	struct sbuf s;
	resolve(c, 0x21, false, &b);
	sbuf_init(&s);
	CHECK_EQ(render_template(&b,
				 "network --hostname=${hostname} --ip=${ip}\n"
				 "# ${unknown} stays, ${mac-hyphen} $${ip}\n",
				 &s),
		 0);
	CHECK_STR(s.p, "network --hostname=slave21 --ip=198.18.0.21\n"
		       "# ${unknown} stays, 52-54-00-00-00-21 ${ip}\n");
	sbuf_free(&s);
	config_unref(c);
}

static void test_expand_loop(void)
{
	const char *o[] = {"profile.p.kernel=k", "profile.p.var.a=${b}", "profile.p.var.b=${a}",
			   "node.n.mac=52:54:00:00:00:01", "node.n.profile=p"};
	struct config_errors e = {0};
	struct pxed_config *c = config_load(NULL, o, 5, false, &e);
	CHECK(c != NULL);
	if (!c)
		return;
	struct boot_ctx b;
	resolve(c, 1, false, &b);
	struct sbuf s;
	sbuf_init(&s);
	CHECK_EQ(boot_expand_into(&b, "${a}", &s), -ELOOP);
	sbuf_free(&s);
	config_unref(c);
}

static void test_cfg_names(void)
{
	struct cfg_name n;
	render_parse_cfg_name("pxelinux.cfg/01-52-54-00-00-00-21", &n);
	CHECK_EQ(n.kind, CFG_MAC);
	CHECK(!n.grub && n.mac[5] == 0x21);
	render_parse_cfg_name("bios/pxelinux.cfg/C6120015", &n);
	CHECK_EQ(n.kind, CFG_HEXIP);
	CHECK_EQ(n.hexip, 0xC6120015u);
	CHECK_EQ(n.digits, 8);
	render_parse_cfg_name("pxelinux.cfg/C61", &n);
	CHECK_EQ(n.kind, CFG_HEXIP);
	CHECK_EQ(n.hexip, 0xC6100000u);
	CHECK_EQ(n.digits, 3);
	render_parse_cfg_name("pxelinux.cfg/default", &n);
	CHECK_EQ(n.kind, CFG_DEFAULT);
	render_parse_cfg_name("pxelinux.cfg/564d1d2a-0e5f-4c5e-9bd2-01a2b3c4d5e6", &n);
	CHECK_EQ(n.kind, CFG_OTHER);
	render_parse_cfg_name("notpxelinux.cfg/default", &n);
	CHECK_EQ(n.kind, CFG_NONE);
	render_parse_cfg_name("pxelinux.0", &n);
	CHECK_EQ(n.kind, CFG_NONE);
	render_parse_cfg_name("grub/grub.cfg-01-52-54-00-00-00-21", &n);
	CHECK(n.grub && n.kind == CFG_MAC);
	render_parse_cfg_name("grub/grub.cfg", &n);
	CHECK(n.grub && n.kind == CFG_DEFAULT);
	render_parse_cfg_name("grub.cfg-C6120015", &n);
	CHECK(n.grub && n.kind == CFG_HEXIP);
	char hex[9];
	render_hexip(0xC0A80115u, hex);
	CHECK_STR(hex, "C0A80115");
}

/* diskless = nfs: root= parameters appended when the cmdline has none; diskless = ram: the
 * image and overlay initrds after the profile's own. */
static struct pxed_config *load_diskless(void)
{
	const char *o[] = {
		"diskless.root=/srv/dl",
		"diskless.nfs-server=10.0.0.5",
		"profile.nfs.kernel=dl/bzImage",
		"profile.nfs.cmdline=console=ttyS0",
		"profile.nfs.diskless=nfs",
		"profile.own.kernel=dl/bzImage",
		"profile.own.cmdline=root=/dev/nfs nfsroot=${nfs-root}",
		"profile.own.diskless=nfs",
		"profile.shr.kernel=dl/bzImage",
		"profile.shr.diskless=nfs",
		"profile.shr.shared-root=yes",
		"profile.shr.nfs-options=vers=4",
		"profile.ram.kernel=dl/bzImage",
		"profile.ram.initrd=dl/base.img",
		"profile.ram.cmdline=rdinit=/sbin/init",
		"profile.ram.diskless=ram",
		"profile.ram.template=/srv/tmpl",
		"node.a.mac=52:54:00:00:01:01",
		"node.a.profile=nfs",
		"node.b.mac=52:54:00:00:01:02",
		"node.b.profile=own",
		"node.c.mac=52:54:00:00:01:03",
		"node.c.profile=shr",
		"node.d.mac=52:54:00:00:01:04",
		"node.d.profile=ram",
		"group.unknown-ram.match-mac=52:54:00:00:02:*",
		"group.unknown-ram.profile=ram",
	};
	return test_config_or_die(o, sizeof(o) / sizeof(o[0]));
}

static void resolve_dl(const struct pxed_config *c, uint8_t b4, uint8_t last, struct boot_ctx *b)
{
	uint8_t mac[6] = {0x52, 0x54, 0, 0, b4, last};
	struct boot_facts f = {.mac = mac, .server = "198.18.0.1", .arch = 0};
	inventory_resolve(c, &f, b);
}

static void test_diskless(void)
{
	struct pxed_config *c = load_diskless();
	struct boot_ctx b;
	struct sbuf s;
	char out[256];
	resolve_dl(c, 1, 1, &b);
	sbuf_init(&s);
	CHECK_EQ(render_cmdline(&b, &s), 0);
	CHECK_STR(s.p,
		  "console=ttyS0 root=/dev/nfs nfsroot=10.0.0.5:/srv/dl/a,vers=3,tcp ip=dhcp rw");
	sbuf_free(&s);
	CHECK_EQ(diskless_root_path(&b, out, sizeof(out)), 0);
	CHECK_STR(out, "10.0.0.5:/srv/dl/a");
	CHECK_STR(boot_var(&b, "nfs-path", out, sizeof(out)), "/srv/dl/a");
	CHECK_STR(boot_var(&b, "nfs-options", out, sizeof(out)), "vers=3,tcp");
	CHECK(boot_var(&b, "nfs-rw", out, sizeof(out)) == NULL);
	CHECK(boot_var(&b, "image-url", out, sizeof(out)) == NULL);
	resolve_dl(c, 1, 2, &b); /* its own root= wins */
	sbuf_init(&s);
	render_cmdline(&b, &s);
	CHECK_STR(s.p, "root=/dev/nfs nfsroot=10.0.0.5:/srv/dl/b");
	sbuf_free(&s);
	resolve_dl(c, 1, 3, &b); /* shared root */
	sbuf_init(&s);
	render_ipxe(&b, &s);
	CHECK(strstr(s.p, "kernel http://198.18.0.1/dl/bzImage root=/dev/nfs "
			  "nfsroot=10.0.0.5:/srv/dl/shared/shr,vers=4 ip=dhcp ro "
			  "pxed.rw=10.0.0.5:/srv/dl/c\n") != NULL);
	sbuf_free(&s);
	CHECK_STR(boot_var(&b, "nfs-rw", out, sizeof(out)), "10.0.0.5:/srv/dl/c");
	resolve_dl(c, 1, 4, &b); /* ram */
	CHECK_EQ(diskless_root_path(&b, out, sizeof(out)), -1);
	sbuf_init(&s);
	render_ipxe(&b, &s);
	CHECK(strstr(s.p, "kernel http://198.18.0.1/dl/bzImage initrd=base.img initrd=ram.cpio.gz "
			  "initrd=d.cpio.gz rdinit=/sbin/init\n"
			  "initrd http://198.18.0.1/dl/base.img\n"
			  "initrd http://198.18.0.1/diskless/image/ram.cpio.gz\n"
			  "initrd http://198.18.0.1/diskless/overlay/d.cpio.gz\nboot\n") != NULL);
	sbuf_free(&s);
	sbuf_init(&s);
	render_pxelinux(&b, &s);
	CHECK(strstr(s.p, "  INITRD dl/base.img,http://198.18.0.1/diskless/image/ram.cpio.gz,"
			  "http://198.18.0.1/diskless/overlay/d.cpio.gz\n") != NULL);
	sbuf_free(&s);
	sbuf_init(&s);
	render_grub(&b, &s);
	CHECK(strstr(s.p, "  initrd (http,198.18.0.1)/dl/base.img "
			  "(http,198.18.0.1)/diskless/image/ram.cpio.gz "
			  "(http,198.18.0.1)/diskless/overlay/d.cpio.gz\n") != NULL);
	sbuf_free(&s);
	resolve_dl(c, 2, 9, &b); /* unknown machine of a ram profile: no overlay */
	sbuf_init(&s);
	render_ipxe(&b, &s);
	CHECK(strstr(s.p, "diskless/image/ram.cpio.gz\nboot\n") != NULL);
	CHECK(strstr(s.p, "overlay") == NULL);
	sbuf_free(&s);
	config_unref(c);
}

int main(void)
{
	RUN(test_diskless);
	RUN(test_resolution);
	RUN(test_ipxe);
	RUN(test_pxelinux_grub);
	RUN(test_template);
	RUN(test_expand_loop);
	RUN(test_cfg_names);
	return test_summary();
}
