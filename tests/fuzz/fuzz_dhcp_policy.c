/* Fuzz the whole DHCP decision: any datagram, in server and proxy mode and on the boot-server
 * port, against a small configuration and a lease table that persists across inputs (so
 * sequences build up state). Checks: a reply never exceeds its buffer or the client's limit,
 * always parses back, and persisted leases lie in the subnet. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "dhcp/dhcp_policy.h"
#include "dhcp/dhcp_wire.h"
#include "dhcp/lease_table.h"

static struct pxed_config *make_config(const char *mode)
{
	const char *o[] = {
		mode,
		"subnet.lab.network=198.18.0.0/24",
		"subnet.lab.range=198.18.0.100 198.18.0.103",
		"subnet.lab.router=198.18.0.1",
		"subnet.lab.route=198.18.5.0/24 198.18.0.254",
		"subnet.lab.option=150 ip 198.18.0.1",
		"dhcp.boot-bios=undionly.kpxe",
		"dhcp.boot-uefi-x64=ipxe.efi",
		"dhcp.boot-http-x64=http://${server}/ipxe.efi",
		"dhcp.boot-ipxe=http://${server}/boot/${mac}.ipxe",
		"node.n.mac=52:54:00:00:00:21",
		"node.n.ip=198.18.0.21",
	};
	struct config_errors e = {0};
	struct pxed_config *c = config_load(NULL, o, sizeof(o) / sizeof(o[0]), false, &e);
	if (!c)
		abort();
	return c;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pxed_config *server, *proxy;
	static struct lease_table *lt;
	static int64_t now = 1000000;
	static struct dhcp_result r;
	if (!server) {
		server = make_config("dhcp.mode=server");
		proxy = make_config("dhcp.mode=proxy");
		lt = lt_new();
	}
	if (lt_count(lt) > 5000) { /* keep memory bounded across a long run */
		lt_free(lt);
		lt = lt_new();
	}
	now += 7;
	for (int variant = 0; variant < 3; variant++) {
		struct dhcp_in in = {.pkt = data,
				     .len = size,
				     .src_ip = 0xc6120032,
				     .src_port = 68,
				     .if_addr = 0xc6120001,
				     .ifname = "br0",
				     .if_mtu = variant == 1 ? 576 : 1500,
				     .boot_port = variant == 2};
		dhcp_policy(variant == 1 ? proxy : server, lt, &in, now, &r);
		if (r.verdict != DHCP_V_REPLY)
			continue;
		if (r.reply_len > sizeof(r.reply) || r.reply_len < 300)
			abort();
		struct dhcp_msg m;
		if (dhcp_parse(r.reply, r.reply_len, &m) != 0 || m.hdr.op != DHCP_BOOTREPLY)
			abort();
		if (variant == 1 && r.reply_len > 576 - 28)
			abort();
		if (r.persist && (r.lease.ip & 0xffffff00u) != 0xc6120000u)
			abort();
	}
	return 0;
}
