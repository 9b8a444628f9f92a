/* Configuration loading: values, defaults, -o overrides, and every error as file:line. */
#include <stdlib.h>
#include <unistd.h>

#include "core/config.h"
#include "test.h"

static char *write_tmp(const char *text)
{
	static char path[64];
	snprintf(path, sizeof(path), "/tmp/pxed-test-config.XXXXXX");
	int fd = mkstemp(path);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		abort();
	close(fd);
	return path;
}

static bool has_error(const struct config_errors *e, const char *needle)
{
	for (size_t i = 0; i < e->n; i++)
		if (strstr(e->msg[i], needle))
			return true;
	fprintf(stderr, "  missing error \"%s\"; have:\n", needle);
	for (size_t i = 0; i < e->n; i++)
		fprintf(stderr, "    %s\n", e->msg[i]);
	return false;
}

static void test_defaults(void)
{
	struct config_errors e = {0};
	struct pxed_config *c = config_load(NULL, NULL, 0, false, &e);
	CHECK(c != NULL);
	CHECK_STR(c->tftp.root, "/srv/tftp");
	CHECK_EQ(ntohs(c->tftp.listen.sin_port), 69);
	CHECK_EQ(c->tftp.listen.sin_addr.s_addr, 0);
	CHECK(!c->tftp.write);
	CHECK_EQ(c->tftp.blksize_max, 0);
	CHECK_EQ(c->tftp.allow.n, 0);
	CHECK(c->server.user == NULL);
	config_unref(c);
}

static void test_file_and_overrides(void)
{
	const char *p = write_tmp("# comment\n"
				  "[server]\n"
				  "user = nobody   # inline comment\n"
				  "[tftp]\n"
				  "root = /srv/tftp/\n"
				  "listen = 127.0.0.1:6969\n"
				  "port-range = 40000-40099\n"
				  "allow = 127.0.0.0/8, 198.18.0.0/15\n"
				  "write = yes\n"
				  "blksize-max = 1468\n");
	const char *o[] = {"tftp.max-transfers=77", "tftp.root=/tmp"};
	struct config_errors e = {0};
	struct pxed_config *c = config_load(p, o, 2, false, &e);
	CHECK(c != NULL);
	if (!c)
		return;
	CHECK_STR(c->server.user, "nobody");
	CHECK_STR(c->tftp.root, "/tmp"); /* -o wins over the file */
	CHECK_EQ(ntohs(c->tftp.listen.sin_port), 6969);
	CHECK_EQ(c->tftp.port_lo, 40000);
	CHECK_EQ(c->tftp.port_hi, 40099);
	CHECK_EQ(c->tftp.allow.n, 2);
	CHECK(c->tftp.write);
	CHECK_EQ(c->tftp.blksize_max, 1468);
	CHECK_EQ(c->tftp.max_transfers, 77);
	char dump[8192];
	config_dump(c, dump, sizeof(dump));
	CHECK(strstr(dump, "tftp.allow = 127.0.0.0/8, 198.18.0.0/15") != NULL);
	CHECK(strstr(dump, "tftp.port-range = 40000-40099") != NULL);
	config_unref(c);
	unlink(p);
}

static void test_errors_have_file_line(void)
{
	const char *p = write_tmp("[tftp]\n"
				  "max-transfers = banana\n"
				  "listen = 1.2.3:69\n"
				  "bogus = 1\n"
				  "root = relative/path\n"
				  "max-transfers = 5\n"
				  "[nope]\n"
				  "x = 1\n"
				  "[server]\n"
				  "log-level = loud\n");
	struct config_errors e = {0};
	struct pxed_config *c = config_load(p, NULL, 0, false, &e);
	CHECK(c == NULL);
	char want[128];
	snprintf(want, sizeof(want), "%s:2: tftp.max-transfers", p);
	CHECK(has_error(&e, want));
	snprintf(want, sizeof(want), "%s:3: tftp.listen", p);
	CHECK(has_error(&e, want));
	snprintf(want, sizeof(want), "%s:4: unknown key \"bogus\"", p);
	CHECK(has_error(&e, want));
	snprintf(want, sizeof(want), "%s:5: tftp.root", p);
	CHECK(has_error(&e, want));
	snprintf(want, sizeof(want), "%s:6: tftp.max-transfers set twice (first at line 2)", p);
	CHECK(has_error(&e, want));
	snprintf(want, sizeof(want), "%s:8: unknown section [nope]", p);
	CHECK(has_error(&e, want));
	snprintf(want, sizeof(want), "%s:10: server.log-level", p);
	CHECK(has_error(&e, want));
	CHECK_EQ(e.n, 7);
	config_errors_clear(&e);
	unlink(p);
}

static void test_syntax_error(void)
{
	const char *p = write_tmp("[tftp]\nroot = /tmp\nthis line has no equals sign\n");
	struct config_errors e = {0};
	CHECK(config_load(p, NULL, 0, false, &e) == NULL);
	char want[128];
	snprintf(want, sizeof(want), "%s:3: syntax error", p);
	CHECK(has_error(&e, want));
	config_errors_clear(&e);
	unlink(p);
}

static void test_override_errors(void)
{
	const char *o[] = {"tftp.write=maybe", "nodot=1", "tftp.nokey=1", "tftp.allow=10.0.0.0/33"};
	struct config_errors e = {0};
	CHECK(config_load(NULL, o, 4, false, &e) == NULL);
	CHECK(has_error(&e, "-o tftp.write=maybe: expected yes or no"));
	CHECK(has_error(&e, "-o nodot=1: expected section.key=value"));
	CHECK(has_error(&e, "-o tftp.nokey=1: unknown key"));
	CHECK(has_error(&e, "-o tftp.allow=10.0.0.0/33"));
	config_errors_clear(&e);
}

static void test_cross_checks_and_missing(void)
{
	const char *o[] = {"tftp.single-port=yes", "tftp.port-range=1000-2000",
			   "tftp.max-per-client=10", "tftp.max-transfers=5"};
	struct config_errors e = {0};
	CHECK(config_load(NULL, o, 4, false, &e) == NULL);
	CHECK(has_error(&e, "exclude each other"));
	CHECK(has_error(&e, "max-per-client (10) is above"));
	config_errors_clear(&e);
	CHECK(config_load("/nonexistent/pxed.conf", NULL, 0, false, &e) == NULL);
	CHECK(has_error(&e, "/nonexistent/pxed.conf: cannot open"));
	config_errors_clear(&e);
	const char *o2[] = {"tftp.root=/nonexistent-root"};
	CHECK(config_load(NULL, o2, 1, true, &e) == NULL);
	CHECK(has_error(&e, "tftp.root /nonexistent-root"));
	config_errors_clear(&e);
}

static void test_refcount(void)
{
	struct config_errors e = {0};
	const char *o[] = {"tftp.root=/tmp"};
	struct pxed_config *c = config_load(NULL, o, 1, true, &e);
	CHECK(c && c->tftp_root_fd >= 0);
	if (!c)
		return;
	config_ref(c);
	config_unref(c);
	CHECK_EQ(c->refs, 1);
	config_unref(c);
	config_unref(NULL);
}

static void test_dhcp_sections(void)
{
	const char *p = write_tmp("[dhcp]\n"
				  "mode = server\n"
				  "boot-bios = undionly.kpxe\n"
				  "boot-ipxe = http://198.18.0.1/boot.ipxe\n"
				  "[subnet lab]\n"
				  "network = 198.18.0.0/24\n"
				  "range = 198.18.0.100 198.18.0.150\n"
				  "range = 198.18.0.200-198.18.0.210\n"
				  "router = 198.18.0.1\n"
				  "dns = 198.18.0.1, 198.18.0.2\n"
				  "domain = lab.example\n"
				  "unknown-clients = deny   # like dhcpd\n"
				  "route = 198.18.5.0/24 198.18.0.254\n"
				  "option = 150 ip 198.18.0.1\n"
				  "option = 209 text \"pxelinux.cfg/default\"\n"
				  "[node slave21]\n"
				  "mac = 00:40:63:c2:ca:c9, 52-54-00-00-00-21\n"
				  "ip = 198.18.0.21\n"
				  "root-path = 198.18.0.1:/diskless/198.18.0.21\n");
	const char *o[] = {"node.slave21.hostname=s21", "node.slave22.mac=52:54:00:00:00:22"};
	struct config_errors e = {0};
	struct pxed_config *c = config_load(p, o, 2, false, &e);
	CHECK(c != NULL);
	for (size_t i = 0; i < e.n; i++)
		fprintf(stderr, "  unexpected: %s\n", e.msg[i]);
	if (!c)
		return;
	CHECK_EQ(c->dhcp.mode, DHCP_MODE_SERVER);
	CHECK_STR(c->dhcp.boot.bios, "undionly.kpxe");
	CHECK_EQ(c->nsubnets, 1);
	const struct config_subnet *sn = &c->subnets[0];
	CHECK_STR(sn->name, "lab");
	CHECK_EQ(sn->nranges, 2);
	CHECK_EQ(sn->ranges[1].hi & 0xff, 210);
	CHECK_EQ(sn->dns.n, 2);
	CHECK_EQ(sn->unknown, UNKNOWN_DENY);
	CHECK_EQ(sn->nroutes, 1);
	CHECK_EQ(sn->options.n, 2);
	CHECK_EQ(sn->options.opt[0].code, 150);
	CHECK_EQ(sn->options.opt[0].len, 4);
	CHECK_EQ(sn->options.opt[1].len, 20);
	CHECK_EQ(c->nnodes, 2);
	const uint8_t mac[6] = {0x52, 0x54, 0, 0, 0, 0x21};
	const struct config_node *nd = config_node_by_mac(c, mac);
	CHECK(nd != NULL && !strcmp(nd->name, "slave21"));
	CHECK(nd && nd->nmacs == 2 && nd->hostname && !strcmp(nd->hostname, "s21"));
	CHECK(config_node_by_name(c, "slave22") != NULL);
	CHECK(config_subnet_for(c, nd->ip) == sn);
	config_unref(c);
	unlink(p);
}

static void test_dhcp_section_errors(void)
{
	const char *p = write_tmp("[dhcp]\n"
				  "mode = server\n"
				  "[subnet a]\n"
				  "range = 198.18.1.1 198.18.1.9\n"
				  "[subnet b]\n"
				  "network = 198.18.0.0/24\n"
				  "range = 198.18.1.1 198.18.1.9\n"
				  "[subnet c]\n"
				  "network = 198.18.0.128/25\n"
				  "[node n1]\n"
				  "mac = 52:54:00:00:00:01\n"
				  "ip = 10.0.0.1\n"
				  "[node n2]\n"
				  "mac = 52:54:00:00:00:01\n"
				  "[node n1]\n"
				  "mac = zz:54:00:00:00:01\n"
				  "option = 53 u8 1\n"
				  "[node]\n"
				  "x = 1\n"
				  "[subnet b]\n"
				  "mtu = 10\n");
	struct config_errors e = {0};
	CHECK(config_load(p, NULL, 0, false, &e) == NULL);
	char want[160];
	snprintf(want, sizeof(want), "%s:4: [subnet a] needs network", p);
	CHECK(has_error(&e, want));
	snprintf(want, sizeof(want), "%s:6: [subnet b] range 1 is outside its network", p);
	CHECK(has_error(&e, want));
	snprintf(want, sizeof(want), "[subnet c] overlaps [subnet b]");
	CHECK(has_error(&e, want));
	snprintf(want, sizeof(want), "%s:11: [node n1] ip 10.0.0.1 is in no [subnet]", p);
	CHECK(has_error(&e, want));
	snprintf(want, sizeof(want), "[node n2] has a MAC of [node n1]");
	CHECK(has_error(&e, want));
	snprintf(want, sizeof(want), "%s:16: [node n1] defined twice (first at line 11)", p);
	CHECK(has_error(&e, want));
	snprintf(want, sizeof(want), "%s:19: [node] needs a name", p);
	CHECK(has_error(&e, want));
	snprintf(want, sizeof(want), "%s:21: [subnet b] defined twice", p);
	CHECK(has_error(&e, want));
	config_errors_clear(&e);
	unlink(p);
}

static void test_option_values(void)
{
	struct config_errors e = {0};
	const char *o[] = {"subnet.s.network=198.18.0.0/16", "subnet.s.option=1 ip 1.2.3.4",
			   "subnet.s.option=43 hex 01:04:00:00:00:00:ff",
			   "subnet.s.option=9 u32 70000", "subnet.s.option=9 u8 256"};
	CHECK(config_load(NULL, o, 5, false, &e) == NULL);
	CHECK(has_error(&e, "-o subnet.s.option=9 u8 256: number out of range"));
	CHECK_EQ(e.n, 1);
	config_errors_clear(&e);
	struct pxed_config *c = config_load(NULL, o, 4, false, &e);
	CHECK(c != NULL);
	if (!c)
		return;
	CHECK_EQ(c->subnets[0].options.opt[1].len, 7);
	CHECK_EQ(c->subnets[0].options.opt[2].data[1], 0x01);
	CHECK_EQ(c->subnets[0].options.opt[2].data[2], 0x11);
	config_unref(c);
}

static void test_inventory_sections(void)
{
	const char *p = write_tmp("[boot]\n"
				  "default-profile = rescue\n"
				  "[profile rescue]\n"
				  "kernel = rescue/vmlinuz\n"
				  "initrd = rescue/initrd.img, rescue/extra.img\n"
				  "cmdline = console=ttyS0 ip=dhcp\n"
				  "var.release = 9.4\n"
				  "[profile rocky9]\n"
				  "kernel = rocky9/vmlinuz\n"
				  "loader = pxelinux\n"
				  "install = yes\n"
				  "kickstart = rocky9.ks\n"
				  "[group racks]\n"
				  "match-mac = 52:54:00:*\n"
				  "profile = rocky9\n"
				  "var.rack = r1\n"
				  "[node n1]\n"
				  "mac = 52:54:00:00:00:01\n"
				  "profile = rocky9\n"
				  "var.disk = /dev/vda\n"
				  "var.disk = /dev/sda\n");
	const char *o[] = {"node.n1.var.role=web", "profile.rescue.var.release=9.5"};
	struct config_errors e = {0};
	struct pxed_config *c = config_load(p, o, 2, false, &e);
	for (size_t i = 0; i < e.n; i++)
		fprintf(stderr, "  unexpected: %s\n", e.msg[i]);
	CHECK(c != NULL);
	if (!c)
		return;
	CHECK_EQ(c->nprofiles, 2);
	const struct config_profile *r = config_profile_by_name(c, "rescue");
	CHECK(r && !strcmp(r->initrd, "rescue/initrd.img, rescue/extra.img"));
	CHECK_STR(config_var(&r->vars, "release"), "9.5");
	const struct config_profile *k = config_profile_by_name(c, "rocky9");
	CHECK(k && k->loader == LOADER_PXELINUX && k->install);
	CHECK_EQ(c->ngroups, 1);
	CHECK_STR(c->groups[0].match_mac, "52:54:00:*");
	CHECK_STR(config_var(&c->groups[0].vars, "rack"), "r1");
	const struct config_node *n = config_node_by_name(c, "n1");
	CHECK_STR(config_var(&n->vars, "disk"), "/dev/sda");
	CHECK_STR(config_var(&n->vars, "role"), "web");
	CHECK_STR(c->boot.default_profile, "rescue");
	config_unref(c);
	unlink(p);
	p = write_tmp("[profile a]\ncmdline = x\n[node n]\nmac = 52:54:00:00:00:01\n"
		      "profile = nope\n[group g]\nprofile = a\n[boot]\ndefault-profile = zz\n"
		      "[profile b]\nkernel = k\nloader = lilo\nvar.bad name = 1\n");
	CHECK(config_load(p, NULL, 0, false, &e) == NULL);
	CHECK(has_error(&e, "[profile a] needs kernel"));
	CHECK(has_error(&e, "[node n] profile nope does not exist"));
	CHECK(has_error(&e, "[group g] needs match-mac and/or match-arch"));
	CHECK(has_error(&e, "boot.default-profile zz does not exist"));
	CHECK(has_error(&e, "expected ipxe, pxelinux or grub"));
	CHECK(has_error(&e, "variable names use letters"));
	config_errors_clear(&e);
	unlink(p);
}

/* A profile's `mounts`: entries, defaults, and what is refused. */
static void test_mounts_parse(void)
{
	struct config_mount m[CONFIG_MAX_MOUNTS];
	const char *why = NULL;
	CHECK_EQ(config_mounts_parse("/srv/home:/home:rw, /srv/opt:/opt", m, CONFIG_MAX_MOUNTS,
				     &why),
		 2);
	CHECK_STR(m[0].dir, "/srv/home");
	CHECK_STR(m[0].mountpoint, "/home");
	CHECK(m[0].rw);
	CHECK_STR(m[1].dir, "/srv/opt");
	CHECK_STR(m[1].mountpoint, "/opt");
	CHECK(!m[1].rw);
	CHECK_EQ(config_mounts_parse(" ,\t/a:/b:ro ,", m, 1, &why), 1);
	CHECK_EQ(config_mounts_parse("/a:/b, /c:/d", NULL, 0, &why), 2);
	CHECK_EQ(config_mounts_parse("", m, CONFIG_MAX_MOUNTS, &why), 0);
	CHECK_EQ(config_mounts_parse("/a:/b:rx", m, CONFIG_MAX_MOUNTS, &why), -1);
	CHECK_EQ(config_mounts_parse("a:/b", m, CONFIG_MAX_MOUNTS, &why), -1);
	CHECK_EQ(config_mounts_parse("/a/../etc:/b", m, CONFIG_MAX_MOUNTS, &why), -1);
	CHECK_EQ(config_mounts_parse("/a b:/b", m, CONFIG_MAX_MOUNTS, &why), -1);
	/* a tab or control byte inside would split the fstab / exports line (found writing
	 * tests/fuzz/fuzz_config_mounts.c: "/srv/a\t*(rw):/mnt" exported /srv/a to everyone) */
	why = NULL;
	CHECK_EQ(config_mounts_parse("/srv/a\t*(rw):/mnt", m, CONFIG_MAX_MOUNTS, &why), -1);
	CHECK(why && strstr(why, "without blanks"));
	CHECK_EQ(config_mounts_parse("/srv/a:/mnt\tx", m, CONFIG_MAX_MOUNTS, &why), -1);
	CHECK_EQ(config_mounts_parse("/srv/a\n/x:/mnt", m, CONFIG_MAX_MOUNTS, &why), -1);
	CHECK_EQ(config_mounts_parse("/srv/a\x7f:/mnt", m, CONFIG_MAX_MOUNTS, &why), -1);
}

int main(void)
{
	RUN(test_mounts_parse);
	RUN(test_inventory_sections);
	RUN(test_dhcp_sections);
	RUN(test_dhcp_section_errors);
	RUN(test_option_values);
	RUN(test_defaults);
	RUN(test_file_and_overrides);
	RUN(test_errors_have_file_line);
	RUN(test_syntax_error);
	RUN(test_override_errors);
	RUN(test_cross_checks_and_missing);
	RUN(test_refcount);
	return test_summary();
}
