/* DHCP server, proxyDHCP and PXE boot-server decisions; see dhcp_policy.h.
 * RFC 2131 §4.3 (server behaviour), RFC 2132 (options), PXE 2.1 (proxyDHCP, port 4011). */
#include "dhcp/dhcp_policy.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "boot/inventory.h"
#include "core/config.h"
#include "dhcp/dhcp_route.h"
#include "dhcp/dhcp_wire.h"
#include "dhcp/lease_table.h"
#include "dhcp/pxe_opts.h"
#include "diskless/exports.h"

/* Everything one decision looks at. */
struct pctx {
	const struct pxed_config *cfg;
	struct lease_table *lt;
	const struct dhcp_in *in;
	int64_t now;
	struct dhcp_msg msg;
	struct pxe_client pc;
	const struct config_subnet *sn;
	const struct config_node *node;
	struct lease_key key;
	uint32_t server_id;
	uint32_t next_server;
	struct dhcp_result *out;
	/* ${...} values for the boot file, formatted only when a template uses one */
	uint32_t boot_ip;
	bool vars_ready;
	struct boot_vars vars;
	char v_server[16], v_ip[16], v_mac[3 * 16];
};

/* Copy src into dst (cap bytes), truncated, always NUL-terminated: the hot path's snprintf
 * "%s". */
static void copy_str(char *dst, size_t cap, const char *src)
{
	size_t n = strnlen(src, cap - 1);
	memcpy(dst, src, n);
	dst[n] = 0;
}

static void set_reason(struct pctx *p, const char *why)
{
	copy_str(p->out->reason, sizeof(p->out->reason), why);
}

/* Dotted quad of ip (host order) into out (16 bytes), without printf. */
static void fmt_ip(uint32_t ip, char out[16])
{
	char *o = out;
	for (int i = 3; i >= 0; i--) {
		unsigned b = (ip >> (8 * i)) & 0xff;
		if (b >= 100)
			*o++ = (char)('0' + b / 100);
		if (b >= 10)
			*o++ = (char)('0' + b / 10 % 10);
		*o++ = (char)('0' + b % 10);
		if (i)
			*o++ = '.';
	}
	*o = 0;
}

const char *dhcp_drop_str(enum dhcp_drop d)
{
	static const char *names[DHCP_DROP_MAX] = {
		[DHCP_DROP_NONE] = "-",
		[DHCP_DROP_MALFORMED] = "malformed message",
		[DHCP_DROP_NOT_REQUEST] = "not a BOOTREQUEST",
		[DHCP_DROP_BAD_TYPE] = "bad or unexpected message type",
		[DHCP_DROP_NO_SUBNET] = "no [subnet] for this network",
		[DHCP_DROP_UNKNOWN_CLIENT] = "unknown client (unknown-clients = deny)",
		[DHCP_DROP_POOL_EXHAUSTED] = "no free address in the ranges",
		[DHCP_DROP_OTHER_SERVER] = "client chose another server",
		[DHCP_DROP_NO_BINDING] = "no binding for this client",
		[DHCP_DROP_NOT_PXE] = "not a PXE client",
		[DHCP_DROP_NO_BOOT_FILE] = "no boot file for this client",
		[DHCP_DROP_BOOTP_UNKNOWN] = "BOOTP client without a fixed address",
		[DHCP_DROP_TOO_BIG] = "reply larger than the client accepts",
	};
	return (unsigned)d < DHCP_DROP_MAX && names[d] ? names[d] : "?";
}

const char *dhcp_type_str(uint8_t type)
{
	static const char *names[] = {"BOOTP", "DISCOVER", "OFFER",   "REQUEST", "DECLINE",
				      "ACK",   "NAK",	   "RELEASE", "INFORM"};
	return type < sizeof(names) / sizeof(names[0]) ? names[type] : "TYPE?";
}

static int drop(struct pctx *p, enum dhcp_drop why)
{
	p->out->verdict = DHCP_V_DROP;
	p->out->drop = why;
	set_reason(p, dhcp_drop_str(why));
	return 0;
}

static int silent(struct pctx *p, const char *why)
{
	p->out->verdict = DHCP_V_SILENT;
	set_reason(p, why);
	return 0;
}

static bool in_subnet(const struct config_subnet *sn, uint32_t ip)
{
	return sn && sn->net.mask && (ip & sn->net.mask) == sn->net.addr;
}

static bool in_ranges(const struct config_subnet *sn, uint32_t ip)
{
	for (size_t i = 0; sn && i < sn->nranges; i++)
		if (ip >= sn->ranges[i].lo && ip <= sn->ranges[i].hi)
			return true;
	return false;
}

static const struct config_subnet *subnet_by_ip(const struct pxed_config *c, uint32_t ip)
{
	struct in_addr a = {htonl(ip)};
	return config_subnet_for(c, a);
}

/* The subnet a message belongs to: the relay's (giaddr), else the client's own address for
 * unicast renewals, else the receiving interface (by name, then by its address). */
static const struct config_subnet *select_subnet(const struct pctx *p)
{
	const struct dhcp_hdr *h = &p->msg.hdr;
	if (h->giaddr)
		return subnet_by_ip(p->cfg, h->giaddr);
	if (h->ciaddr && subnet_by_ip(p->cfg, h->ciaddr))
		return subnet_by_ip(p->cfg, h->ciaddr);
	for (size_t i = 0; p->in->ifname && i < p->cfg->nsubnets; i++)
		if (p->cfg->subnets[i].interface &&
		    !strcmp(p->cfg->subnets[i].interface, p->in->ifname))
			return &p->cfg->subnets[i];
	return subnet_by_ip(p->cfg, p->in->if_addr);
}

/* A static address of some [node] other than this client's own. */
static bool reserved_for_other(void *ctx, uint32_t ip)
{
	const struct pctx *p = ctx;
	for (size_t i = 0; i < p->cfg->nnodes; i++) {
		const struct config_node *n = &p->cfg->nodes[i];
		if (n != p->node && n->ip.s_addr && ntohl(n->ip.s_addr) == ip)
			return true;
	}
	return false;
}

static uint32_t lease_time(const struct pctx *p)
{
	return p->sn && p->sn->lease_time ? p->sn->lease_time : p->cfg->dhcp.lease_time;
}

static uint32_t node_ip(const struct pctx *p)
{
	return p->node && p->node->ip.s_addr ? ntohl(p->node->ip.s_addr) : 0;
}

/* Is ip a good address for this client on this subnet right now? */
static bool acceptable(struct pctx *p, uint32_t ip)
{
	uint32_t fixed = node_ip(p);
	if (fixed && in_subnet(p->sn, fixed))
		return ip == fixed;
	return in_ranges(p->sn, ip) && !reserved_for_other(p, ip) &&
	       lt_ip_available(p->lt, ip, &p->key, p->now);
}

/* RFC 2131 §4.3.1: the node's fixed address, else the client's current or previous address,
 * else the requested one, else a free one from the ranges. */
static int choose_address(struct pctx *p, uint32_t *ip, const char **why, bool *fresh)
{
	uint32_t fixed = node_ip(p), req = 0;
	*fresh = false;
	if (fixed && in_subnet(p->sn, fixed)) {
		*ip = fixed;
		*why = "fixed address of the node";
		return 0;
	}
	const struct dhcp_lease *old = lt_by_client(p->lt, &p->key);
	if (old && old->state != LEASE_DECLINED && acceptable(p, old->ip)) {
		*ip = old->ip;
		*why = "the client's previous address";
		return 0;
	}
	if (dhcp_opt_ip(&p->msg, DHCP_OPT_REQUESTED_IP, &req) == 0 && acceptable(p, req)) {
		*ip = req;
		*why = "the address the client asked for";
		return 0;
	}
	if (lt_find_free(p->lt, p->sn->ranges, p->sn->nranges, p->sn->net.addr, p->sn->net.mask,
			 reserved_for_other, p, &p->key, p->now, ip) < 0)
		return -1;
	*fresh = true;
	*why = "a free address from the range";
	return 0;
}

/* Fill a lease record for this client at ip. */
static void make_lease(struct pctx *p, uint32_t ip, enum lease_state st, int64_t ends,
		       struct dhcp_lease *l)
{
	const struct dhcp_hdr *h = &p->msg.hdr;
	const uint8_t *cid;
	size_t cid_len = 0;
	memset(l, 0, sizeof(*l));
	l->ip = ip;
	l->state = st;
	l->htype = h->htype;
	l->hlen = h->hlen;
	memcpy(l->chaddr, h->chaddr, h->hlen);
	if (dhcp_opt_client_id(&p->msg, &cid, &cid_len) == 0 && cid_len <= LEASE_CLIENT_ID_MAX) {
		l->client_id_len = (uint8_t)cid_len;
		memcpy(l->client_id, cid, cid_len);
	}
	l->starts = p->now;
	l->ends = ends;
	l->arch = p->out->boot.arch;
	if (p->node) {
		copy_str(l->node, sizeof(l->node), p->node->name);
		copy_str(l->hostname, sizeof(l->hostname),
			 p->node->hostname ? p->node->hostname : p->node->name);
	} else {
		size_t n;
		const uint8_t *hn = dhcp_opt(&p->msg, DHCP_OPT_HOSTNAME, &n);
		if (hn) {
			n = n < sizeof(l->hostname) - 1 ? n : sizeof(l->hostname) - 1;
			for (size_t i = 0; i < n; i++) /* keep it printable for `pxed leases` */
				l->hostname[i] = hn[i] >= 0x20 && hn[i] < 0x7f ? (char)hn[i] : '?';
		}
	}
}

static void add_iplist(struct dhcp_reply_builder *rb, uint8_t code,
		       const struct config_addr_list *l)
{
	if (l->n && !dhcp_rb_has(rb, code))
		dhcp_rb_add(rb, code, l->a, 4 * l->n);
}

/* RFC 3442 option 121: width, significant destination octets, router. */
static void add_routes(struct dhcp_reply_builder *rb, const struct config_subnet *sn)
{
	uint8_t buf[CONFIG_MAX_ROUTES * 9];
	size_t o = 0;
	for (size_t i = 0; i < sn->nroutes; i++) {
		const struct config_route *r = &sn->routes[i];
		int width = __builtin_popcount(r->dest.mask);
		buf[o++] = (uint8_t)width;
		for (int b = 0; b < (width + 7) / 8; b++)
			buf[o++] = (uint8_t)(r->dest.addr >> (24 - 8 * b));
		memcpy(buf + o, &r->gw.s_addr, 4);
		o += 4;
	}
	if (o)
		dhcp_rb_add(rb, DHCP_OPT_CLASSLESS_ROUTE, buf, o);
}

static void add_custom(struct dhcp_reply_builder *rb, const struct config_option_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		if (!dhcp_rb_has(rb, l->opt[i].code))
			dhcp_rb_add(rb, l->opt[i].code, l->opt[i].data, l->opt[i].len);
}

static const struct boot_vars *boot_vars_fill(const void *ctx);

/* Root path (17) of a node whose profile is diskless = nfs and that has no root-path of its
 * own: "SERVER:TREE,OPTIONS" (the kernel's nfsroot= syntax, which initramfs-tools also takes
 * from option 17). Only resolved when the configuration has an NFS profile at all. */
static void add_diskless_root_path(struct pctx *p, struct dhcp_reply_builder *rb)
{
	if (!p->cfg->nprofiles || !diskless_any_nfs(p->cfg) || p->msg.hdr.hlen != 6)
		return;
	const struct boot_vars *v = boot_vars_fill(p);
	uint16_t arch = p->pc.arch_src != PXE_ARCH_SRC_NONE ? p->pc.arch : 0;
	struct boot_facts f = {.mac = p->msg.hdr.chaddr, .server = v->server, .arch = arch};
	struct boot_ctx bc;
	char rp[600];
	inventory_resolve(p->cfg, &f, &bc);
	if (bc.action == BOOT_REFUSE || !bc.profile || bc.profile->diskless != DISKLESS_NFS ||
	    diskless_root_path(&bc, rp, sizeof(rp)) < 0)
		return;
	const char *o =
		bc.profile->nfs_options ? bc.profile->nfs_options : p->cfg->diskless.nfs_options;
	size_t n = strlen(rp);
	if (o && *o && n + 1 + strlen(o) < sizeof(rp))
		snprintf(rp + n, sizeof(rp) - n, ",%s", o);
	dhcp_rb_add_str(rb, DHCP_OPT_ROOT_PATH, rp);
}

/* Network options of the subnet and node (node values win). */
static void add_network_options(struct pctx *p, struct dhcp_reply_builder *rb)
{
	const struct config_subnet *sn = p->sn;
	if (p->node) {
		add_custom(rb, &p->node->options);
		const char *hn = p->node->hostname ? p->node->hostname : p->node->name;
		dhcp_rb_add_str(rb, DHCP_OPT_HOSTNAME, hn);
		if (p->node->root_path)
			dhcp_rb_add_str(rb, DHCP_OPT_ROOT_PATH, p->node->root_path);
		else
			add_diskless_root_path(p, rb);
	}
	if (!sn)
		return;
	add_custom(rb, &sn->options);
	if (!dhcp_rb_has(rb, DHCP_OPT_SUBNET_MASK))
		dhcp_rb_add_u32(rb, DHCP_OPT_SUBNET_MASK, sn->net.mask);
	add_iplist(rb, DHCP_OPT_ROUTER, &sn->routers);
	add_iplist(rb, DHCP_OPT_DNS, &sn->dns);
	add_iplist(rb, DHCP_OPT_NTP, &sn->ntp);
	if (sn->domain && !dhcp_rb_has(rb, DHCP_OPT_DOMAIN))
		dhcp_rb_add_str(rb, DHCP_OPT_DOMAIN, sn->domain);
	if (sn->mtu && !dhcp_rb_has(rb, DHCP_OPT_MTU))
		dhcp_rb_add_u16(rb, DHCP_OPT_MTU, sn->mtu);
	if (!dhcp_rb_has(rb, DHCP_OPT_BROADCAST))
		dhcp_rb_add_ip(rb, DHCP_OPT_BROADCAST, sn->net.addr | ~sn->net.mask);
	if (!dhcp_rb_has(rb, DHCP_OPT_CLASSLESS_ROUTE))
		add_routes(rb, sn);
}

/* The ${...} values (boot_vars.fill): formatted on first use, once per decision. */
static const struct boot_vars *boot_vars_fill(const void *ctx)
{
	static const char hex[] = "0123456789abcdef";
	struct pctx *p = (struct pctx *)ctx; /* the policy's own context: memoizes the values */
	if (p->vars_ready)
		return &p->vars;
	fmt_ip(p->next_server, p->v_server);
	p->v_ip[0] = 0;
	if (p->boot_ip)
		fmt_ip(p->boot_ip, p->v_ip);
	char *m = p->v_mac;
	for (unsigned i = 0; i < p->msg.hdr.hlen && i < 16; i++) {
		if (i)
			*m++ = ':';
		*m++ = hex[p->msg.hdr.chaddr[i] >> 4];
		*m++ = hex[p->msg.hdr.chaddr[i] & 15];
	}
	*m = 0;
	const char *name = p->node ? p->node->name : "";
	p->vars = (struct boot_vars){p->v_server, p->v_ip, p->v_mac, name,
				     p->node && p->node->hostname ? p->node->hostname : name};
	p->vars_ready = true;
	return &p->vars;
}

/* Decide the boot file for this client into out->boot. The machine's profile (for loaders
 * derived from it when none is configured) is resolved only when no file was configured and
 * the configuration has profiles at all. */
static void decide_boot(struct pctx *p, uint32_t yiaddr)
{
	p->boot_ip = yiaddr;
	p->vars_ready = false;
	struct boot_vars_src lazy = {boot_vars_fill, p};
	struct boot_choice *b = &p->out->boot;
	boot_choose_lazy(p->cfg, p->sn, p->node, &p->pc, &lazy, b);
	if (b->has_file || !p->cfg->nprofiles)
		return;
	const struct boot_vars *v = boot_vars_fill(p);
	uint16_t arch = p->pc.arch_src != PXE_ARCH_SRC_NONE ? p->pc.arch : 0;
	struct boot_facts f = {.mac = p->msg.hdr.hlen == 6 ? p->msg.hdr.chaddr : NULL,
			       .server = v->server,
			       .arch = arch};
	struct boot_ctx bc;
	inventory_resolve(p->cfg, &f, &bc);
	boot_from_profile(p->cfg, bc.action == BOOT_REFUSE ? NULL : bc.profile, v, b);
}

/* siaddr/file/66/67, vendor class 60, PXE vendor options 43, machine id 97. */
static void add_boot_options(struct pctx *p, struct dhcp_reply_builder *rb, bool proxy,
			     const uint8_t *v43, size_t v43_len)
{
	const struct boot_choice *b = &p->out->boot;
	rb->hdr.siaddr = p->next_server;
	if (b->has_file) {
		size_t n = strlen(b->file);
		if (n < DHCP_FILE_LEN)
			memcpy(rb->hdr.file, b->file, n);
		unsigned fl = b->stage == BOOT_STAGE_HTTP || n >= DHCP_FILE_LEN
				      ? 0
				      : DHCP_RB_IF_REQUESTED;
		dhcp_rb_add_flags(rb, DHCP_OPT_BOOTFILE, b->file, n, fl);
		char server[16];
		fmt_ip(p->next_server, server);
		dhcp_rb_add_flags(rb, DHCP_OPT_TFTP_SERVER, server, strlen(server),
				  DHCP_RB_IF_REQUESTED);
	}
	if (p->pc.vc.kind == PXE_VC_PXE) {
		uint8_t plain[16];
		int n = pxe_build_vendor_plain(plain, sizeof(plain));
		dhcp_rb_add_str(rb, DHCP_OPT_VENDOR_CLASS, "PXEClient");
		if (v43)
			dhcp_rb_add(rb, DHCP_OPT_VENDOR, v43, v43_len);
		else if (n > 0)
			dhcp_rb_add(rb, DHCP_OPT_VENDOR, plain, (size_t)n);
	} else if (p->pc.vc.kind == PXE_VC_HTTP) {
		dhcp_rb_add_str(rb, DHCP_OPT_VENDOR_CLASS, "HTTPClient");
	}
	if (p->pc.is_ipxe && !proxy) {
		/* iPXE: the reply is complete, do not wait for proxyDHCP offers */
		static const uint8_t no_pxedhcp[] = {PXE_IPXE_SUBOPT_NO_PXEDHCP, 1, 1};
		dhcp_rb_add(rb, DHCP_OPT_IPXE_ENCAP, no_pxedhcp, sizeof(no_pxedhcp));
	}
	pxe_echo_client_ids(rb, &p->msg);
}

/* Encode the reply and route it. */
static int finish_reply(struct pctx *p, struct dhcp_reply_builder *rb, uint8_t type)
{
	size_t prl_len = 0;
	const uint8_t *prl = dhcp_opt(&p->msg, DHCP_OPT_PARAM_REQ, &prl_len);
	dhcp_rb_echo(rb, &p->msg, DHCP_OPT_RELAY_AGENT); /* RFC 3046 §2.2 */
	bool bflag;
	if (p->in->boot_port) {
		memset(&p->out->dest, 0, sizeof(p->out->dest));
		p->out->dest.ip = p->in->src_ip ? p->in->src_ip : 0xffffffffu;
		p->out->dest.broadcast = !p->in->src_ip;
		p->out->dest.port = p->in->src_port;
	} else {
		dhcp_route(&p->msg, type, rb->hdr.yiaddr, p->cfg->dhcp.client_port,
			   ntohs(p->cfg->dhcp.listen.sin_port), &p->out->dest, &bflag);
		if (bflag)
			rb->hdr.flags |= DHCP_FLAG_BROADCAST;
	}
	size_t max = dhcp_msg_max_reply(&p->msg, p->in->if_mtu);
	if (max > sizeof(p->out->reply))
		max = sizeof(p->out->reply);
	int n = dhcp_rb_finish(rb, prl, prl ? prl_len : 0, max, p->out->reply,
			       sizeof(p->out->reply));
	if (n < 0)
		return drop(p, DHCP_DROP_TOO_BIG);
	p->out->reply_len = (size_t)n;
	/* options left out for room: look only at the bitmap bytes that have any (hot path) */
	for (unsigned byte = 0; byte < sizeof(rb->dropped); byte++) {
		for (unsigned bit = 0; rb->dropped[byte] && bit < 8; bit++) {
			unsigned code = byte * 8 + bit;
			if (dhcp_rb_dropped(rb, (uint8_t)code) &&
			    p->out->ndropped < sizeof(p->out->dropped))
				p->out->dropped[p->out->ndropped++] = (uint8_t)code;
		}
	}
	p->out->max_reply = max;
	p->out->verdict = DHCP_V_REPLY;
	p->out->type_out = type;
	p->out->yiaddr = rb->hdr.yiaddr;
	return 0;
}

/* Start a reply of type with the server identifier. */
static void begin_reply(struct pctx *p, struct dhcp_reply_builder *rb, uint8_t type)
{
	dhcp_rb_init_reply(rb, &p->msg, type);
	dhcp_rb_add_ip(rb, DHCP_OPT_SERVER_ID, p->server_id);
}

/* OFFER or ACK of ip with lease times and every option. */
static int offer_or_ack(struct pctx *p, uint8_t type, uint32_t ip)
{
	struct dhcp_reply_builder rb;
	begin_reply(p, &rb, type);
	rb.hdr.yiaddr = ip;
	uint32_t lt = lease_time(p);
	dhcp_rb_add_u32(&rb, DHCP_OPT_LEASE_TIME, lt);
	dhcp_rb_add_u32(&rb, DHCP_OPT_T1, lt / 2);     /* RFC 2131 §4.4.5: 0.5 */
	dhcp_rb_add_u32(&rb, DHCP_OPT_T2, lt / 8 * 7); /* 0.875 */
	decide_boot(p, ip);
	add_network_options(p, &rb);
	add_boot_options(p, &rb, false, NULL, 0);
	return finish_reply(p, &rb, type);
}

static int nak(struct pctx *p, const char *why)
{
	struct dhcp_reply_builder rb;
	begin_reply(p, &rb, DHCP_NAK);
	dhcp_rb_add_str(&rb, DHCP_OPT_MESSAGE, why);
	set_reason(p, why);
	return finish_reply(p, &rb, DHCP_NAK);
}

static int do_discover(struct pctx *p)
{
	uint32_t ip;
	const char *why;
	bool fresh;
	if (choose_address(p, &ip, &why, &fresh) < 0)
		return drop(p, DHCP_DROP_POOL_EXHAUSTED);
	/* Hold the address for this client until it REQUESTs it (not persisted: an offer is
	 * not a binding). A client's live binding is never downgraded to an offer. */
	const struct dhcp_lease *cur = lt_by_ip(p->lt, ip);
	struct lease_key ck;
	if (cur)
		lease_key_of(&ck, cur);
	if (!(cur && cur->state == LEASE_BOUND && cur->ends > p->now && ck.len == p->key.len &&
	      !memcmp(ck.b, p->key.b, ck.len))) {
		struct dhcp_lease l;
		make_lease(p, ip, LEASE_OFFERED, p->now + p->cfg->dhcp.offer_hold_s, &l);
		lt_put(p->lt, &l);
	}
	p->out->probe = fresh && p->cfg->dhcp.ping_check;
	set_reason(p, why);
	return offer_or_ack(p, DHCP_OFFER, ip);
}

/* Bind ip to the client durably and ACK it. */
static int bind_and_ack(struct pctx *p, uint32_t ip, const char *why)
{
	int rc = offer_or_ack(p, DHCP_ACK, ip);
	if (p->out->verdict != DHCP_V_REPLY)
		return rc;
	make_lease(p, ip, LEASE_BOUND, p->now + lease_time(p), &p->out->lease);
	lt_put(p->lt, &p->out->lease);
	p->out->persist = true;
	set_reason(p, why);
	return 0;
}

/* RFC 2131 §4.3.2: SELECTING, INIT-REBOOT, RENEWING / REBINDING. */
static int do_request(struct pctx *p)
{
	uint32_t sid = 0, req = 0, ci = p->msg.hdr.ciaddr;
	bool has_sid = dhcp_opt_ip(&p->msg, DHCP_OPT_SERVER_ID, &sid) == 0;
	bool has_req = dhcp_opt_ip(&p->msg, DHCP_OPT_REQUESTED_IP, &req) == 0;
	if (has_sid && sid != p->server_id) {
		/* The client took another server's offer: release what we held for it. */
		const struct dhcp_lease *old = lt_by_client(p->lt, &p->key);
		if (old && old->state == LEASE_OFFERED)
			lt_remove(p->lt, old->ip);
		p->out->drop = DHCP_DROP_OTHER_SERVER;
		return silent(p, "client chose another server");
	}
	uint32_t ip = has_req ? req : ci;
	const char *state = has_sid ? "selecting" : has_req ? "init-reboot" : "renewing";
	if (!ip)
		return nak(p, "no address requested");
	if (!in_subnet(p->sn, ip)) {
		if (!p->cfg->dhcp.authoritative && !has_sid)
			return silent(p, "address of another network; not authoritative");
		return nak(p, "address not on this network");
	}
	if (!acceptable(p, ip)) {
		const struct dhcp_lease *l = lt_by_ip(p->lt, ip);
		if (!l && !has_sid && !p->cfg->dhcp.authoritative) {
			p->out->drop = DHCP_DROP_NO_BINDING;
			return silent(p, "no record of this client; not authoritative");
		}
		return nak(p, "address not available to this client");
	}
	return bind_and_ack(p, ip, state);
}

/* RFC 2131 §4.3.3: the address is in use elsewhere; quarantine it. */
static int do_decline(struct pctx *p)
{
	uint32_t ip = 0, sid = 0;
	if (dhcp_opt_ip(&p->msg, DHCP_OPT_SERVER_ID, &sid) == 0 && sid != p->server_id)
		return silent(p, "DECLINE for another server");
	const struct dhcp_lease *l;
	if (dhcp_opt_ip(&p->msg, DHCP_OPT_REQUESTED_IP, &ip) < 0 || !(l = lt_by_ip(p->lt, ip)))
		return silent(p, "DECLINE of an address we did not give");
	struct lease_key k;
	lease_key_of(&k, l);
	if (k.len != p->key.len || memcmp(k.b, p->key.b, k.len))
		return silent(p, "DECLINE from a client that does not hold the address");
	make_lease(p, ip, LEASE_DECLINED, p->now + p->cfg->dhcp.decline_time, &p->out->lease);
	p->out->lease.hostname[0] = 0;
	lt_put(p->lt, &p->out->lease);
	p->out->persist = true;
	p->out->yiaddr = ip;
	return silent(p, "address declined: quarantined");
}

/* RFC 2131 §4.3.4: the client gives its address back. */
static int do_release(struct pctx *p)
{
	uint32_t ip = p->msg.hdr.ciaddr;
	struct dhcp_lease *l = lt_by_ip(p->lt, ip);
	if (!l) {
		p->out->drop = DHCP_DROP_NO_BINDING;
		return silent(p, "RELEASE of an address we did not give");
	}
	struct lease_key k;
	lease_key_of(&k, l);
	if (k.len != p->key.len || memcmp(k.b, p->key.b, k.len))
		return silent(p, "RELEASE from a client that does not hold the address");
	p->out->lease = *l;
	p->out->lease.state = LEASE_RELEASED;
	p->out->lease.ends = p->now;
	lt_put(p->lt, &p->out->lease);
	p->out->persist = true;
	p->out->yiaddr = ip;
	return silent(p, "released");
}

/* RFC 2131 §4.3.5: configuration only, no address, no lease time. */
static int do_inform(struct pctx *p)
{
	struct dhcp_reply_builder rb;
	begin_reply(p, &rb, DHCP_ACK);
	rb.hdr.ciaddr = p->msg.hdr.ciaddr;
	decide_boot(p, p->msg.hdr.ciaddr);
	add_network_options(p, &rb);
	add_boot_options(p, &rb, false, NULL, 0);
	set_reason(p, "inform");
	return finish_reply(p, &rb, DHCP_ACK);
}

/* RFC 951 BOOTP: only clients with a fixed address; the binding is permanent. */
static int do_bootp(struct pctx *p)
{
	uint32_t ip = node_ip(p);
	if (!ip || !in_subnet(p->sn, ip))
		return drop(p, DHCP_DROP_BOOTP_UNKNOWN);
	struct dhcp_reply_builder rb;
	dhcp_rb_init_reply(&rb, &p->msg, 0);
	rb.hdr.yiaddr = ip;
	decide_boot(p, ip);
	add_network_options(p, &rb);
	add_boot_options(p, &rb, false, NULL, 0);
	set_reason(p, "BOOTP, fixed address of the node");
	return finish_reply(p, &rb, 0);
}

/* Option 43 answering a boot server request (PXE 2.1 §2.2.6): the client's PXE_BOOT_ITEM
 * echoed. Returns its length, or 0 when the client asked for no item. */
static int boot_item_answer(struct pctx *p, uint8_t *buf, size_t cap)
{
	size_t n;
	const uint8_t *v = dhcp_opt(&p->msg, DHCP_OPT_VENDOR, &n);
	struct pxe_vendor_info vi;
	if (!v || pxe_parse_vendor(v, n, &vi) < 0 || !vi.has_boot_item)
		return 0;
	int len = pxe_build_vendor_boot_item(vi.item_type, vi.item_layer, buf, cap);
	return len > 0 ? len : 0;
}

/* proxyDHCP OFFER on port 67, or boot-server ACK on port 4011: boot information only, no
 * address (PXE 2.1 §2.2.5, §2.2.6). */
static int do_boot_only(struct pctx *p, uint8_t type)
{
	if (p->pc.vc.kind != PXE_VC_PXE && p->pc.vc.kind != PXE_VC_HTTP)
		return drop(p, DHCP_DROP_NOT_PXE);
	decide_boot(p, p->msg.hdr.ciaddr);
	if (!p->out->boot.has_file)
		return drop(p, DHCP_DROP_NO_BOOT_FILE);
	struct dhcp_reply_builder rb;
	begin_reply(p, &rb, type);
	rb.hdr.ciaddr = type == DHCP_ACK ? p->msg.hdr.ciaddr : 0;
	uint8_t item[8];
	int ilen = p->in->boot_port ? boot_item_answer(p, item, sizeof(item)) : 0;
	add_boot_options(p, &rb, true, ilen > 0 ? item : NULL, ilen > 0 ? (size_t)ilen : 0);
	snprintf(p->out->reason, sizeof(p->out->reason), "%s (%.100s)",
		 p->in->boot_port ? "boot server" : "proxyDHCP", p->out->boot.reason);
	return finish_reply(p, &rb, type);
}

static int server_dispatch(struct pctx *p, int type)
{
	switch (type) {
	case 0: return do_bootp(p);
	case DHCP_DISCOVER: return do_discover(p);
	case DHCP_REQUEST: return do_request(p);
	case DHCP_DECLINE: return do_decline(p);
	case DHCP_RELEASE: return do_release(p);
	case DHCP_INFORM: return do_inform(p);
	default: return drop(p, DHCP_DROP_BAD_TYPE);
	}
}

static int proxy_dispatch(struct pctx *p, int type)
{
	if (p->in->boot_port) {
		if (type == DHCP_REQUEST || type == DHCP_DISCOVER || type == DHCP_INFORM)
			return do_boot_only(p, DHCP_ACK);
		return drop(p, DHCP_DROP_BAD_TYPE);
	}
	if (type == DHCP_DISCOVER)
		return do_boot_only(p, DHCP_OFFER);
	if (type == DHCP_REQUEST) /* the real DHCP server answers it */
		return silent(p, "proxyDHCP: REQUEST is for the DHCP server");
	return drop(p, DHCP_DROP_BAD_TYPE);
}

int dhcp_policy(const struct pxed_config *cfg, struct lease_table *lt, const struct dhcp_in *in,
		int64_t now, struct dhcp_result *out)
{
	struct pctx p = {.cfg = cfg, .lt = lt, .in = in, .now = now, .out = out};
	memset(out, 0, sizeof(*out));
	out->type_in = 0xff; /* not parsed yet: logged as "?" */
	if (dhcp_parse(in->pkt, in->len, &p.msg) < 0)
		return drop(&p, DHCP_DROP_MALFORMED);
	const struct dhcp_hdr *h = &p.msg.hdr;
	out->hlen = h->hlen > 16 ? 16 : h->hlen;
	memcpy(out->chaddr, h->chaddr, out->hlen);
	if (h->op != DHCP_BOOTREQUEST)
		return drop(&p, DHCP_DROP_NOT_REQUEST);
	int type = dhcp_msg_type(&p.msg);
	if (type < 0)
		return drop(&p, DHCP_DROP_BAD_TYPE);
	out->type_in = (uint8_t)type;
	pxe_client_info(&p.msg, &p.pc);
	const uint8_t *cid;
	size_t cid_len = 0;
	if (dhcp_opt_client_id(&p.msg, &cid, &cid_len) < 0 || cid_len > LEASE_CLIENT_ID_MAX)
		cid_len = 0;
	lease_key_make(&p.key, cid, cid_len, h->htype, h->chaddr, h->hlen);
	if (h->htype == DHCP_HTYPE_ETHER && h->hlen == 6)
		p.node = config_node_by_mac(cfg, h->chaddr);
	out->node = p.node ? p.node->name : NULL;
	p.server_id = cfg->dhcp.server_id.s_addr ? ntohl(cfg->dhcp.server_id.s_addr) : in->if_addr;
	p.next_server =
		cfg->dhcp.next_server.s_addr ? ntohl(cfg->dhcp.next_server.s_addr) : p.server_id;
	p.sn = select_subnet(&p);
	out->subnet = p.sn ? p.sn->name : NULL;
	if (cfg->dhcp.mode == DHCP_MODE_PROXY || in->boot_port)
		return proxy_dispatch(&p, type);
	if (!p.sn)
		return drop(&p, DHCP_DROP_NO_SUBNET);
	if (!p.node && p.sn->unknown == UNKNOWN_DENY)
		return drop(&p, DHCP_DROP_UNKNOWN_CLIENT);
	return server_dispatch(&p, type);
}
