/* DHCP decisions with injected time: DORA, renew, reboot, release, decline, exhaustion,
 * unknown clients, fixed addresses, boot files per architecture and stage (from packets
 * captured from real firmware), proxyDHCP and the PXE boot-server port, relays. */
#include <arpa/inet.h>
#include <stdlib.h>

#include "core/config.h"
#include "dhcp/dhcp_policy.h"
#include "dhcp/dhcp_wire.h"
#include "dhcp/lease_table.h"
#include "dhcp/pxe_opts.h"
#include "test.h"

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))
#define SERVER	       IP(198, 18, 0, 1)
#define NOW	       1000000

static const char *base_opts[] = {
	"dhcp.mode=server",
	"subnet.lab.network=198.18.0.0/24",
	"subnet.lab.range=198.18.0.100 198.18.0.102",
	"subnet.lab.router=198.18.0.1",
	"subnet.lab.dns=198.18.0.1",
	"subnet.lab.domain=lab.example",
	"dhcp.boot-bios=undionly.kpxe",
	"dhcp.boot-uefi-x64=ipxe.efi",
	"dhcp.boot-http-x64=http://${server}/ipxe.efi",
	"dhcp.boot-ipxe=http://${server}/boot/${mac}.ipxe",
	"node.n21.mac=52:54:00:00:00:21",
	"node.n21.ip=198.18.0.21",
	"node.n21.root-path=198.18.0.1:/diskless/n21",
	"node.n21.option=209 text pxelinux.cfg/n21",
};

static struct pxed_config *load(const char **extra, size_t n)
{
	const char *o[64];
	size_t k = 0;
	for (size_t i = 0; i < sizeof(base_opts) / sizeof(base_opts[0]); i++)
		o[k++] = base_opts[i];
	for (size_t i = 0; i < n; i++)
		o[k++] = extra[i];
	struct config_errors e = {0};
	struct pxed_config *c = config_load(NULL, o, k, false, &e);
	for (size_t i = 0; i < e.n; i++)
		fprintf(stderr, "config: %s\n", e.msg[i]);
	if (!c)
		abort();
	return c;
}

/* A request built like a client would: type, MAC, extra options. */
struct req {
	uint8_t type;
	uint8_t mac_last;
	uint32_t ciaddr, giaddr, requested, server_id;
	bool broadcast;
	const char *vendor_class;
	bool relay82;
};

static size_t build(const struct req *r, uint8_t *out, size_t cap)
{
	struct dhcp_reply_builder rb;
	dhcp_rb_init(&rb);
	rb.hdr.op = DHCP_BOOTREQUEST;
	rb.hdr.htype = 1;
	rb.hdr.hlen = 6;
	rb.hdr.xid = 0x1234;
	rb.hdr.ciaddr = r->ciaddr;
	rb.hdr.giaddr = r->giaddr;
	rb.hdr.flags = r->broadcast ? DHCP_FLAG_BROADCAST : 0;
	const uint8_t mac[6] = {0x52, 0x54, 0, 0, 0, r->mac_last};
	memcpy(rb.hdr.chaddr, mac, 6);
	dhcp_rb_add_u8(&rb, DHCP_OPT_MSG_TYPE, r->type);
	if (r->requested)
		dhcp_rb_add_ip(&rb, DHCP_OPT_REQUESTED_IP, r->requested);
	if (r->server_id)
		dhcp_rb_add_ip(&rb, DHCP_OPT_SERVER_ID, r->server_id);
	if (r->vendor_class)
		dhcp_rb_add_str(&rb, DHCP_OPT_VENDOR_CLASS, r->vendor_class);
	if (r->relay82) {
		static const uint8_t o82[] = {1, 4, 'p', 'o', 'r', 't'};
		dhcp_rb_add(&rb, DHCP_OPT_RELAY_AGENT, o82, sizeof(o82));
	}
	static const uint8_t prl[] = {6, 3, 1, 15, 12, 17};
	dhcp_rb_add(&rb, DHCP_OPT_PARAM_REQ, prl, sizeof(prl));
	int n = dhcp_rb_finish(&rb, NULL, 0, cap, out, cap);
	if (n < 0)
		abort();
	return (size_t)n;
}

static void run(const struct pxed_config *c, struct lease_table *lt, const struct req *r,
		int64_t now, struct dhcp_result *res)
{
	uint8_t pkt[1024];
	size_t n = build(r, pkt, sizeof(pkt));
	struct dhcp_in in = {
		.pkt = pkt, .len = n, .if_addr = SERVER, .ifname = "br0", .if_mtu = 1500};
	dhcp_policy(c, lt, &in, now, res);
}

static const uint8_t *reply_opt(const struct dhcp_result *r, struct dhcp_msg *m, uint8_t code,
				size_t *len)
{
	if (dhcp_parse(r->reply, r->reply_len, m) < 0)
		return NULL;
	return dhcp_opt(m, code, len);
}

static void test_dora(void)
{
	struct pxed_config *c = load(NULL, 0);
	struct lease_table *lt = lt_new();
	struct dhcp_result r;
	struct dhcp_msg m;
	size_t n;
	run(c, lt, &(struct req){.type = DHCP_DISCOVER, .mac_last = 1}, NOW, &r);
	CHECK_EQ(r.verdict, DHCP_V_REPLY);
	CHECK_EQ(r.type_out, DHCP_OFFER);
	CHECK_EQ(r.yiaddr, IP(198, 18, 0, 100));
	CHECK(!r.persist); /* an offer is not a binding */
	CHECK(r.dest.l2_unicast);
	CHECK_EQ(r.dest.ip, IP(198, 18, 0, 100));
	CHECK_EQ(r.dest.port, 68);
	const uint8_t *o = reply_opt(&r, &m, DHCP_OPT_SERVER_ID, &n);
	CHECK(o && n == 4 && o[0] == 198 && o[3] == 1);
	CHECK_STR(r.boot.file, "undionly.kpxe"); /* ordinary clients get the BIOS file */
	CHECK_EQ(m.hdr.siaddr, SERVER);
	/* options follow the parameter request list: 6 3 1 15 ... after 53 and 54 */
	CHECK_EQ(r.reply[240 + 3 + 6], DHCP_OPT_DNS);
	/* a second client gets another address while the first offer is held */
	struct dhcp_result r2;
	run(c, lt, &(struct req){.type = DHCP_DISCOVER, .mac_last = 2, .broadcast = true}, NOW,
	    &r2);
	CHECK_EQ(r2.yiaddr, IP(198, 18, 0, 101));
	CHECK(r2.dest.broadcast);
	run(c, lt,
	    &(struct req){.type = DHCP_REQUEST,
			  .mac_last = 1,
			  .requested = r.yiaddr,
			  .server_id = SERVER},
	    NOW + 1, &r);
	CHECK_EQ(r.type_out, DHCP_ACK);
	CHECK(r.persist);
	CHECK_EQ(r.lease.state, LEASE_BOUND);
	CHECK_EQ(r.lease.ends, NOW + 1 + 3600);
	o = reply_opt(&r, &m, DHCP_OPT_LEASE_TIME, &n);
	CHECK(o && n == 4 && o[2] == 0x0e && o[3] == 0x10);
	o = reply_opt(&r, &m, DHCP_OPT_T1, &n);
	CHECK(o && o[2] == 0x07 && o[3] == 0x08);
	/* the same client again gets the same address */
	run(c, lt, &(struct req){.type = DHCP_DISCOVER, .mac_last = 1}, NOW + 2, &r);
	CHECK_EQ(r.yiaddr, IP(198, 18, 0, 100));
	lt_free(lt);
	config_unref(c);
}

static void test_fixed_node(void)
{
	struct pxed_config *c = load(NULL, 0);
	struct lease_table *lt = lt_new();
	struct dhcp_result r;
	struct dhcp_msg m;
	size_t n;
	run(c, lt, &(struct req){.type = DHCP_DISCOVER, .mac_last = 0x21}, NOW, &r);
	CHECK_EQ(r.yiaddr, IP(198, 18, 0, 21));
	CHECK_STR(r.node, "n21");
	const uint8_t *o = reply_opt(&r, &m, DHCP_OPT_HOSTNAME, &n);
	CHECK(o && n == 3 && !memcmp(o, "n21", 3));
	o = reply_opt(&r, &m, DHCP_OPT_ROOT_PATH, &n);
	CHECK(o && n == strlen("198.18.0.1:/diskless/n21"));
	o = reply_opt(&r, &m, 209, &n);
	CHECK(o && n == strlen("pxelinux.cfg/n21"));
	/* asking for another address gets a NAK */
	run(c, lt,
	    &(struct req){.type = DHCP_REQUEST, .mac_last = 0x21, .requested = IP(198, 18, 0, 100)},
	    NOW, &r);
	CHECK_EQ(r.type_out, DHCP_NAK);
	CHECK(r.dest.broadcast);
	/* nobody else gets the node's address, even when asking for it */
	run(c, lt,
	    &(struct req){.type = DHCP_DISCOVER, .mac_last = 9, .requested = IP(198, 18, 0, 21)},
	    NOW, &r);
	CHECK(r.yiaddr != IP(198, 18, 0, 21));
	lt_free(lt);
	config_unref(c);
}

static void test_unknown_denied(void)
{
	const char *x[] = {"subnet.lab.unknown-clients=deny"};
	struct pxed_config *c = load(x, 1);
	struct lease_table *lt = lt_new();
	struct dhcp_result r;
	run(c, lt, &(struct req){.type = DHCP_DISCOVER, .mac_last = 7}, NOW, &r);
	CHECK_EQ(r.verdict, DHCP_V_DROP);
	CHECK_EQ(r.drop, DHCP_DROP_UNKNOWN_CLIENT);
	run(c, lt, &(struct req){.type = DHCP_DISCOVER, .mac_last = 0x21}, NOW, &r);
	CHECK_EQ(r.verdict, DHCP_V_REPLY);
	lt_free(lt);
	config_unref(c);
}

static void test_reboot_renew_release_decline(void)
{
	struct pxed_config *c = load(NULL, 0);
	struct lease_table *lt = lt_new();
	struct dhcp_result r;
	uint32_t a100 = IP(198, 18, 0, 100);
	/* INIT-REBOOT for an address on another network: NAK (authoritative) */
	run(c, lt, &(struct req){.type = DHCP_REQUEST, .mac_last = 1, .requested = IP(10, 0, 0, 5)},
	    NOW, &r);
	CHECK_EQ(r.type_out, DHCP_NAK);
	/* INIT-REBOOT for a free address in the range: ACK */
	run(c, lt, &(struct req){.type = DHCP_REQUEST, .mac_last = 1, .requested = a100}, NOW, &r);
	CHECK_EQ(r.type_out, DHCP_ACK);
	/* another client asking for it is refused */
	run(c, lt, &(struct req){.type = DHCP_REQUEST, .mac_last = 2, .requested = a100}, NOW, &r);
	CHECK_EQ(r.type_out, DHCP_NAK);
	/* RENEWING: unicast to ciaddr, new end time */
	run(c, lt, &(struct req){.type = DHCP_REQUEST, .mac_last = 1, .ciaddr = a100}, NOW + 100,
	    &r);
	CHECK_EQ(r.type_out, DHCP_ACK);
	CHECK_EQ(r.dest.ip, a100);
	CHECK(!r.dest.l2_unicast && !r.dest.broadcast);
	CHECK_EQ(r.lease.ends, NOW + 100 + 3600);
	/* RELEASE: silent, durable, and the address is free again */
	run(c, lt, &(struct req){.type = DHCP_RELEASE, .mac_last = 1, .ciaddr = a100}, NOW + 200,
	    &r);
	CHECK_EQ(r.verdict, DHCP_V_SILENT);
	CHECK(r.persist);
	CHECK_EQ(r.lease.state, LEASE_RELEASED);
	CHECK(lt_ip_available(lt, a100, NULL, NOW + 201));
	/* DECLINE: quarantined; the next client gets another address */
	run(c, lt,
	    &(struct req){
		    .type = DHCP_REQUEST, .mac_last = 3, .requested = a100, .server_id = SERVER},
	    NOW + 300, &r);
	CHECK_EQ(r.type_out, DHCP_ACK);
	run(c, lt,
	    &(struct req){
		    .type = DHCP_DECLINE, .mac_last = 3, .requested = a100, .server_id = SERVER},
	    NOW + 301, &r);
	CHECK_EQ(r.verdict, DHCP_V_SILENT);
	CHECK_EQ(r.lease.state, LEASE_DECLINED);
	CHECK(r.persist);
	run(c, lt, &(struct req){.type = DHCP_DISCOVER, .mac_last = 3}, NOW + 302, &r);
	CHECK(r.yiaddr != a100);
	/* after the quarantine the address comes back */
	CHECK(lt_ip_available(lt, a100, NULL, NOW + 301 + 3600 + 1));
	lt_free(lt);
	config_unref(c);
}

static void test_exhaustion_and_other_server(void)
{
	struct pxed_config *c = load(NULL, 0);
	struct lease_table *lt = lt_new();
	struct dhcp_result r;
	for (uint8_t i = 1; i <= 3; i++) {
		run(c, lt, &(struct req){.type = DHCP_DISCOVER, .mac_last = i}, NOW, &r);
		CHECK_EQ(r.verdict, DHCP_V_REPLY);
	}
	run(c, lt, &(struct req){.type = DHCP_DISCOVER, .mac_last = 4}, NOW, &r);
	CHECK_EQ(r.drop, DHCP_DROP_POOL_EXHAUSTED);
	/* client 1 takes another server's offer: our held address is freed at once */
	run(c, lt,
	    &(struct req){.type = DHCP_REQUEST,
			  .mac_last = 1,
			  .requested = IP(198, 18, 0, 100),
			  .server_id = IP(198, 18, 0, 99)},
	    NOW, &r);
	CHECK_EQ(r.verdict, DHCP_V_SILENT);
	run(c, lt, &(struct req){.type = DHCP_DISCOVER, .mac_last = 4}, NOW, &r);
	CHECK_EQ(r.yiaddr, IP(198, 18, 0, 100));
	/* offers expire after dhcp.offer-hold */
	run(c, lt, &(struct req){.type = DHCP_DISCOVER, .mac_last = 5}, NOW + 31, &r);
	CHECK_EQ(r.verdict, DHCP_V_REPLY);
	lt_free(lt);
	config_unref(c);
}

static void test_relay(void)
{
	struct pxed_config *c = load(NULL, 0);
	struct lease_table *lt = lt_new();
	struct dhcp_result r;
	struct dhcp_msg m;
	size_t n;
	run(c, lt,
	    &(struct req){.type = DHCP_DISCOVER,
			  .mac_last = 1,
			  .giaddr = IP(198, 18, 0, 254),
			  .relay82 = true},
	    NOW, &r);
	CHECK_EQ(r.verdict, DHCP_V_REPLY);
	CHECK_EQ(r.dest.ip, IP(198, 18, 0, 254));
	CHECK_EQ(r.dest.port, 67);
	const uint8_t *o = reply_opt(&r, &m, DHCP_OPT_RELAY_AGENT, &n);
	CHECK(o && n == 6 && o[2] == 'p');
	/* giaddr on no configured subnet: dropped */
	run(c, lt, &(struct req){.type = DHCP_DISCOVER, .mac_last = 1, .giaddr = IP(10, 1, 1, 1)},
	    NOW, &r);
	CHECK_EQ(r.drop, DHCP_DROP_NO_SUBNET);
	lt_free(lt);
	config_unref(c);
}

/* Feed a packet captured from real firmware (tests/fuzz/dhcp_packet/corpus). */
static bool run_capture(const struct pxed_config *c, struct lease_table *lt, const char *name,
			bool boot_port, struct dhcp_result *r)
{
	char path[256];
	snprintf(path, sizeof(path), "../../fuzz/dhcp_packet/corpus/%s", name);
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "cannot open %s\n", path);
		return false;
	}
	uint8_t pkt[2048];
	size_t n = fread(pkt, 1, sizeof(pkt), f);
	fclose(f);
	struct dhcp_in in = {.pkt = pkt,
			     .len = n,
			     .if_addr = SERVER,
			     .ifname = "br0",
			     .if_mtu = 1500,
			     .boot_port = boot_port,
			     .src_ip = IP(198, 18, 0, 50),
			     .src_port = 68};
	dhcp_policy(c, lt, &in, NOW, r);
	return true;
}

static void test_firmware_captures(void)
{
	struct pxed_config *c = load(NULL, 0);
	struct lease_table *lt = lt_new();
	struct dhcp_result r;
	struct dhcp_msg m;
	size_t n;
	CHECK(run_capture(c, lt, "discover-ipxe-bios.bin", false, &r));
	CHECK_EQ(r.verdict, DHCP_V_REPLY);
	CHECK_EQ(r.boot.stage, BOOT_STAGE_IPXE);
	CHECK(!strncmp(r.boot.file, "http://198.18.0.1/boot/", 23));
	/* ${mac} expands to the whole aa:bb:cc:dd:ee:ff */
	CHECK_EQ(strlen(r.boot.file), 23 + 17 + 5);
	CHECK(r.boot.file[23 + 2] == ':' && r.boot.file[23 + 14] == ':');
	CHECK(reply_opt(&r, &m, DHCP_OPT_IPXE_ENCAP, &n) != NULL);
	CHECK(run_capture(c, lt, "discover-ovmf-x64.bin", false, &r));
	CHECK_EQ(r.boot.stage, BOOT_STAGE_PXE);
	CHECK_STR(r.boot.arch_name, "uefi-x64");
	CHECK_STR(r.boot.file, "ipxe.efi");
	const uint8_t *o = reply_opt(&r, &m, DHCP_OPT_VENDOR_CLASS, &n);
	CHECK(o && n == 9 && !memcmp(o, "PXEClient", 9));
	CHECK(reply_opt(&r, &m, DHCP_OPT_VENDOR, &n) != NULL);
	CHECK(reply_opt(&r, &m, DHCP_OPT_CLIENT_UUID, &n) != NULL); /* 97 echoed */
	CHECK(run_capture(c, lt, "discover-ovmf-x64-http.bin", false, &r));
	CHECK_EQ(r.boot.stage, BOOT_STAGE_HTTP);
	CHECK_STR(r.boot.file, "http://198.18.0.1/ipxe.efi");
	o = reply_opt(&r, &m, DHCP_OPT_VENDOR_CLASS, &n);
	CHECK(o && n == 10 && !memcmp(o, "HTTPClient", 10));
	o = reply_opt(&r, &m, DHCP_OPT_BOOTFILE, &n);
	CHECK(o && n == strlen("http://198.18.0.1/ipxe.efi"));
	lt_free(lt);
	config_unref(c);
}

/* iPXE without a boot-ipxe script is never handed iPXE again (no chainload loop). */
static void test_ipxe_no_loop(void)
{
	const char *x[] = {"dhcp.boot-ipxe="};
	struct pxed_config *c = load(x, 1);
	struct lease_table *lt = lt_new();
	struct dhcp_result r;
	CHECK(run_capture(c, lt, "discover-ipxe-bios.bin", false, &r));
	CHECK_EQ(r.verdict, DHCP_V_REPLY);
	CHECK(!r.boot.has_file);
	CHECK(strstr(r.boot.reason, "not chainloading") != NULL);
	lt_free(lt);
	config_unref(c);
}

/* Boot file variables are formatted only when a template uses them; without a configured file
 * the loader comes from the machine's profile, and only when profiles exist at all. */
static void test_boot_vars_and_profile(void)
{
	const char *x[] = {"dhcp.boot-bios=${ip}/${hostname}-${mac}.0"};
	struct pxed_config *c = load(x, 1);
	struct lease_table *lt = lt_new();
	struct dhcp_result r;
	run(c, lt, &(struct req){.type = DHCP_DISCOVER, .mac_last = 0x21}, NOW, &r);
	CHECK_STR(r.boot.file, "198.18.0.21/n21-52:54:00:00:00:21.0");
	CHECK_STR(r.boot.reason, "boot-bios");
	run(c, lt, &(struct req){.type = DHCP_DISCOVER, .mac_last = 7}, NOW, &r);
	CHECK_STR(r.boot.file, "198.18.0.100/-52:54:00:00:00:07.0");
	lt_free(lt);
	config_unref(c);

	const char *none[] = {"dhcp.boot-bios=", "dhcp.boot-ipxe="};
	c = load(none, 2);
	lt = lt_new();
	run(c, lt, &(struct req){.type = DHCP_DISCOVER, .mac_last = 1}, NOW, &r);
	CHECK_EQ(r.verdict, DHCP_V_REPLY);
	CHECK(!r.boot.has_file);
	CHECK_STR(r.boot.reason, "no boot file configured for bios");
	lt_free(lt);
	config_unref(c);

	const char *prof[] = {"dhcp.boot-bios=", "dhcp.boot-ipxe=", "profile.p.kernel=k",
			      "boot.default-profile=p", "http.enabled=yes"};
	c = load(prof, 5);
	lt = lt_new();
	run(c, lt, &(struct req){.type = DHCP_DISCOVER, .mac_last = 1}, NOW, &r);
	CHECK(r.boot.has_file);
	CHECK_STR(r.boot.file, "undionly.kpxe");
	CHECK_STR(r.boot.reason, "profile p (loader ipxe)");
	CHECK(run_capture(c, lt, "discover-ipxe-bios.bin", false, &r));
	CHECK_EQ(r.boot.stage, BOOT_STAGE_IPXE);
	CHECK(!strncmp(r.boot.file, "http://198.18.0.1/boot/", 23));
	CHECK_EQ(strlen(r.boot.file), 23 + 17 + 5); /* ${mac}.ipxe */
	lt_free(lt);
	config_unref(c);
}

/* A node of a diskless = nfs profile without a root-path of its own gets option 17 made from
 * its tree: SERVER:diskless.root/NODE,OPTIONS. An explicit node root-path still wins. */
static void test_diskless_root_path(void)
{
	const char *x[] = {
		"profile.nfs.kernel=k",		  "profile.nfs.diskless=nfs",
		"node.n22.mac=52:54:00:00:00:22", "node.n22.ip=198.18.0.22",
		"node.n22.profile=nfs",		  "node.n21.profile=nfs",
		"diskless.root=/srv/dl",	  "diskless.nfs-options=vers=4.1,nolock"};
	struct pxed_config *c = load(x, 8);
	struct lease_table *lt = lt_new();
	struct dhcp_result r;
	struct dhcp_msg m;
	size_t n;
	run(c, lt, &(struct req){.type = DHCP_DISCOVER, .mac_last = 0x22}, NOW, &r);
	const uint8_t *o = reply_opt(&r, &m, DHCP_OPT_ROOT_PATH, &n);
	const char *want = "198.18.0.1:/srv/dl/n22,vers=4.1,nolock";
	CHECK(o && n == strlen(want) && !memcmp(o, want, n));
	run(c, lt, &(struct req){.type = DHCP_DISCOVER, .mac_last = 0x21}, NOW, &r);
	o = reply_opt(&r, &m, DHCP_OPT_ROOT_PATH, &n);
	CHECK(o && n == strlen("198.18.0.1:/diskless/n21"));
	/* an unknown client: no profile, no root path */
	run(c, lt, &(struct req){.type = DHCP_DISCOVER, .mac_last = 5}, NOW, &r);
	CHECK(!reply_opt(&r, &m, DHCP_OPT_ROOT_PATH, &n));
	lt_free(lt);
	config_unref(c);
}

static void test_proxy(void)
{
	const char *x[] = {"dhcp.mode=proxy"};
	struct pxed_config *c = load(x, 1);
	struct lease_table *lt = lt_new();
	struct dhcp_result r;
	struct dhcp_msg m;
	size_t n;
	CHECK(run_capture(c, lt, "discover-ovmf-x64.bin", false, &r));
	CHECK_EQ(r.type_out, DHCP_OFFER);
	CHECK_EQ(r.yiaddr, 0);
	CHECK(!r.persist);
	CHECK(reply_opt(&r, &m, DHCP_OPT_LEASE_TIME, &n) == NULL);
	CHECK_EQ(m.hdr.siaddr, SERVER);
	CHECK(!memcmp(m.hdr.file, "ipxe.efi", 9));
	CHECK(r.dest.broadcast || r.dest.l2_unicast);
	/* an ordinary client gets nothing from a proxy */
	run(c, lt, &(struct req){.type = DHCP_DISCOVER, .mac_last = 1}, NOW, &r);
	CHECK_EQ(r.drop, DHCP_DROP_NOT_PXE);
	/* a REQUEST on 67 is for the real DHCP server */
	run(c, lt, &(struct req){.type = DHCP_REQUEST, .mac_last = 1, .vendor_class = "PXEClient"},
	    NOW, &r);
	CHECK_EQ(r.verdict, DHCP_V_SILENT);
	/* the boot-server port answers with an ACK to the sender */
	CHECK(run_capture(c, lt, "discover-ovmf-x64.bin", true, &r));
	CHECK_EQ(r.type_out, DHCP_ACK);
	CHECK_EQ(r.dest.ip, IP(198, 18, 0, 50));
	CHECK_EQ(r.dest.port, 68);
	CHECK_EQ(lt_count(lt), 0);
	lt_free(lt);
	config_unref(c);
}

static void test_malformed(void)
{
	struct pxed_config *c = load(NULL, 0);
	struct lease_table *lt = lt_new();
	struct dhcp_result r;
	uint8_t junk[100] = {1, 1, 6};
	struct dhcp_in in = {.pkt = junk, .len = sizeof(junk), .if_addr = SERVER};
	dhcp_policy(c, lt, &in, NOW, &r);
	CHECK_EQ(r.drop, DHCP_DROP_MALFORMED);
	uint8_t pkt[1024];
	size_t n = build(&(struct req){.type = DHCP_OFFER, .mac_last = 1}, pkt, sizeof(pkt));
	in.pkt = pkt;
	in.len = n;
	dhcp_policy(c, lt, &in, NOW, &r);
	CHECK_EQ(r.drop, DHCP_DROP_BAD_TYPE);
	lt_free(lt);
	config_unref(c);
}

int main(void)
{
	RUN(test_dora);
	RUN(test_fixed_node);
	RUN(test_unknown_denied);
	RUN(test_reboot_renew_release_decline);
	RUN(test_exhaustion_and_other_server);
	RUN(test_relay);
	RUN(test_firmware_captures);
	RUN(test_ipxe_no_loop);
	RUN(test_boot_vars_and_profile);
	RUN(test_diskless_root_path);
	RUN(test_proxy);
	RUN(test_malformed);
	return test_summary();
}
