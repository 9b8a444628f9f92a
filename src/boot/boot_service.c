/* Boot service; see boot_service.h. */
#include "boot/boot_service.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "boot/inventory.h"
#include "boot/render.h"
#include "boot/sbuf.h"
#include "core/config.h"
#include "core/escape.h"
#include "core/log.h"
#include "dhcp/dhcp_io.h"
#include "http/http_io.h"
#include "store/store.h"
#include "tftp/tftp_io.h"

struct boot_service {
	struct pxed_config *cfg;
	struct store *store;
	struct dhcp_server *dhcp;
};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct boot_service *boot_service_new(struct pxed_config *cfg, struct store *st,
				      struct dhcp_server *dhcp)
{
	struct boot_service *svc = calloc(1, sizeof(*svc));
	if (!svc)
		return NULL;
	svc->cfg = config_ref(cfg);
	svc->store = st;
	svc->dhcp = dhcp;
	return svc;
}

void boot_service_reload(struct boot_service *svc, struct pxed_config *cfg)
{
	config_unref(svc->cfg);
	svc->cfg = config_ref(cfg);
}

void boot_service_free(struct boot_service *svc)
{
	if (!svc)
		return;
	config_unref(svc->cfg);
	free(svc);
}

/* Node state, creating the row (with a fresh kickstart token) on first use. */
static int node_state(struct boot_service *svc, const char *name, struct store_node *out)
{
	if (!svc->store)
		return -ENOENT;
	if (store_node_get(svc->store, name, out) == 0)
		return 0;
	uint8_t rnd[16];
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return -EIO;
	memset(out, 0, sizeof(*out));
	snprintf(out->name, sizeof(out->name), "%s", name);
	for (int i = 0; i < 16; i++)
		snprintf(out->token + 2 * i, 3, "%02x", rnd[i]);
	out->updated_ms = now_ms();
	if (store_node_put(svc->store, out) < 0 || store_commit(svc->store) < 0)
		return -EIO;
	return 0;
}

int boot_service_set_reinstall(struct boot_service *svc, const char *node, bool on)
{
	struct store_node st;
	if (!config_node_by_name(svc->cfg, node))
		return -ENOENT;
	int rc = node_state(svc, node, &st);
	if (rc < 0)
		return rc;
	st.reinstall = on;
	st.updated_ms = now_ms();
	if (store_node_put(svc->store, &st) < 0 || store_commit(svc->store) < 0)
		return -EIO;
	log_info("boot: node %s: reinstall %s", node, on ? "requested" : "cleared");
	boot_service_event(svc, 0, NULL, on ? "reinstall-requested" : "reinstall-done", node);
	return 0;
}

/* Resolve a machine, with its node state from the store. */
static void resolve(struct boot_service *svc, const uint8_t *mac, const char *ip,
		    const char *server, uint16_t arch, struct boot_ctx *b)
{
	struct boot_facts f = {.mac = mac, .ip = ip, .server = server, .arch = arch};
	inventory_resolve(svc->cfg, &f, b);
	struct store_node st;
	if (b->node && node_state(svc, b->node->name, &st) == 0) {
		f.reinstall = st.reinstall;
		f.ks_token = st.token;
		inventory_resolve(svc->cfg, &f, b);
	}
}

/* The kernel's neighbour (ARP) entry for ip: how pxed knows a machine on the LAN whose
 * address another DHCP server gave (proxy mode). */
static bool neigh_mac(uint32_t ip, uint8_t mac[6])
{
	FILE *f = fopen("/proc/net/arp", "r");
	if (!f)
		return false;
	char line[256], want[INET_ADDRSTRLEN];
	struct in_addr a = {htonl(ip)};
	inet_ntop(AF_INET, &a, want, sizeof(want));
	bool found = false;
	while (!found && fgets(line, sizeof(line), f)) {
		char addr[64], hw[64];
		unsigned flags, m[6];
		if (sscanf(line, "%63s %*s %x %63s", addr, &flags, hw) == 3 &&
		    !strcmp(addr, want) && (flags & 0x2) &&
		    sscanf(hw, "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]) ==
			    6) {
			for (int i = 0; i < 6; i++)
				mac[i] = (uint8_t)m[i];
			found = true;
		}
	}
	fclose(f);
	return found;
}

/* Node owning a dotted-quad address: through the DHCP lease's MAC, else by fixed IP, else
 * through the kernel's neighbour table. */
static const struct config_node *node_at(struct boot_service *svc, uint32_t ip, uint8_t mac[6],
					 bool *have_mac)
{
	*have_mac = (svc->dhcp && dhcp_server_mac_of(svc->dhcp, ip, mac)) || neigh_mac(ip, mac);
	if (*have_mac) {
		const struct config_node *n = config_node_by_mac(svc->cfg, mac);
		if (n)
			return n;
	}
	for (size_t i = 0; i < svc->cfg->nnodes; i++)
		if (svc->cfg->nodes[i].ip.s_addr && ntohl(svc->cfg->nodes[i].ip.s_addr) == ip)
			return &svc->cfg->nodes[i];
	return NULL;
}

void boot_service_event(struct boot_service *svc, uint32_t ip, const uint8_t *mac, const char *kind,
			const char *detail)
{
	if (!svc->store)
		return;
	uint8_t m[6];
	bool have_mac = false;
	const struct config_node *n = NULL;
	if (mac)
		n = config_node_by_mac(svc->cfg, mac);
	else if (ip)
		n = node_at(svc, ip, m, &have_mac);
	else if (detail) /* node-level events name the node in detail */
		n = config_node_by_name(svc->cfg, detail);
	if (!n && !mac && !have_mac)
		return; /* only known machines have a timeline */
	struct store_event ev = {.time_ms = now_ms(),
				 .node = n ? n->name : NULL,
				 .mac = mac	   ? mac
					: have_mac ? m
						   : NULL,
				 .mac_len = mac || have_mac ? 6 : 0,
				 .kind = kind,
				 .detail = detail};
	if (store_add_event(svc->store, &ev) < 0 || store_commit(svc->store) < 0)
		log_warn("boot: cannot record event %s: %s", kind, store_errmsg(svc->store));
}

/* ---- TFTP ---------------------------------------------------------------------------------- */

/* pxelinux.cfg/... and grub.cfg... for known machines (file-not-found otherwise, so the loader
 * falls through to its next name exactly as with files). */
static int on_tftp_render(void *ctx, const char *rel, const struct sockaddr_in *peer,
			  const struct sockaddr_in *local, struct sbuf *out)
{
	struct boot_service *svc = ctx;
	struct cfg_name cn;
	render_parse_cfg_name(rel, &cn);
	if (cn.kind == CFG_NONE || cn.kind == CFG_OTHER)
		return -ENOENT;
	char ip[INET_ADDRSTRLEN], server[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &peer->sin_addr, ip, sizeof(ip));
	inet_ntop(AF_INET, &local->sin_addr, server, sizeof(server));
	struct boot_ctx b;
	uint8_t mac[6];
	bool have_mac = false;
	if (cn.kind == CFG_MAC) {
		resolve(svc, cn.mac, ip, server, 0xffff, &b);
		if (!b.node && !b.group) /* unknown: fall through to hex-IP and default */
			return -ENOENT;
	} else if (cn.kind == CFG_HEXIP) {
		char hip[INET_ADDRSTRLEN];
		struct in_addr a = {htonl(cn.hexip)};
		inet_ntop(AF_INET, &a, hip, sizeof(hip));
		if (cn.digits != 8)
			return -ENOENT;
		resolve(svc, NULL, hip, server, 0xffff, &b);
		if (!b.node)
			return -ENOENT;
	} else { /* default */
		const struct config_node *n =
			node_at(svc, ntohl(peer->sin_addr.s_addr), mac, &have_mac);
		resolve(svc, have_mac ? mac : NULL, ip, server, 0xffff, &b);
		(void)n;
	}
	int rc = cn.grub ? render_grub(&b, out) : render_pxelinux(&b, out);
	if (rc == 0)
		log_info("boot: %s \"%s\" rendered for %s (%s)", cn.grub ? "grub" : "pxelinux", rel,
			 b.node ? b.node->name : ip, b.why);
	return rc;
}

static void on_tftp_done(void *ctx, const struct sockaddr_in *peer, const char *rel, uint64_t bytes,
			 double seconds, bool ok, bool rendered)
{
	struct boot_service *svc = ctx;
	char detail[1200], esc[1100];
	str_escape(esc, sizeof(esc), rel, strlen(rel));
	snprintf(detail, sizeof(detail), "%s %llu bytes %.3f s%s%s", esc, (unsigned long long)bytes,
		 seconds, rendered ? " (rendered)" : "", ok ? "" : " FAILED");
	boot_service_event(svc, ntohl(peer->sin_addr.s_addr), NULL, "tftp", detail);
}

void boot_service_attach_tftp(struct boot_service *svc, struct tftp_server *tftp)
{
	tftp_server_set_renderer(tftp, on_tftp_render, svc);
	tftp_server_set_observer(tftp, on_tftp_done, svc);
}

/* ---- HTTP --------------------------------------------------------------------------------- */

char *boot_read_template(const struct pxed_config *cfg, const char *name)
{
	char path[4096];
	if (name[0] == '/' || (!cfg->boot.templates && !cfg->source))
		snprintf(path, sizeof(path), "%s", name);
	else if (cfg->boot.templates)
		snprintf(path, sizeof(path), "%s/%s", cfg->boot.templates, name);
	else {
		const char *slash = strrchr(cfg->source, '/');
		snprintf(path, sizeof(path), "%.*s%s", slash ? (int)(slash - cfg->source + 1) : 0,
			 cfg->source, name);
	}
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	struct sbuf s;
	sbuf_init(&s);
	s.max = 1u << 20;
	char buf[4096];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0 && !s.failed)
		sbuf_add(&s, buf, n);
	fclose(f);
	if (s.failed) {
		sbuf_free(&s);
		errno = EFBIG;
		return NULL;
	}
	return s.p ? s.p : strdup("");
}

/* "aa:bb:cc:dd:ee:ff", "aa-bb-..." or with %3A escapes, followed by suffix. */
static bool parse_mac_path(const char *s, const char *suffix, uint8_t mac[6])
{
	char clean[64];
	size_t o = 0;
	for (const char *p = s; *p && o + 1 < sizeof(clean); p++) {
		if (p[0] == '%' && p[1] == '3' && (p[2] == 'a' || p[2] == 'A')) {
			clean[o++] = ':';
			p += 2;
		} else {
			clean[o++] = *p;
		}
	}
	clean[o] = 0;
	size_t sl = strlen(suffix);
	if (o != 17 + sl || strcmp(clean + 17, suffix))
		return false;
	unsigned v[6];
	char sep[5];
	if (sscanf(clean, "%2x%c%2x%c%2x%c%2x%c%2x%c%2x", &v[0], &sep[0], &v[1], &sep[1], &v[2],
		   &sep[2], &v[3], &sep[3], &v[4], &sep[4], &v[5]) != 11)
		return false;
	for (int i = 0; i < 5; i++)
		if (sep[i] != ':' && sep[i] != '-')
			return false;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
	return true;
}

static void addr_str(const struct sockaddr_in *a, char *out, size_t cap)
{
	inet_ntop(AF_INET, &a->sin_addr, out, (socklen_t)cap);
}

/* GET /boot/<mac>.ipxe: the node's iPXE script. */
static int on_http_boot(void *ctx, const struct http_request_info *req, struct http_response *resp)
{
	struct boot_service *svc = ctx;
	uint8_t mac[6];
	if (!parse_mac_path(req->path + 6, ".ipxe", mac))
		return 404;
	char ip[INET_ADDRSTRLEN], server[INET_ADDRSTRLEN];
	addr_str(&req->peer, ip, sizeof(ip));
	addr_str(&req->local, server, sizeof(server));
	struct boot_ctx b;
	resolve(svc, mac, ip, server, 0xffff, &b);
	if (b.node && b.profile && b.profile->kickstart) {
		/* the script carries the node's kickstart token: only for the node itself */
		uint8_t pm[6];
		bool have;
		if (node_at(svc, ntohl(req->peer.sin_addr.s_addr), pm, &have) != b.node) {
			log_warn("boot: iPXE script of %s refused to %s: not the node's address",
				 b.node->name, ip);
			return 403;
		}
	}
	struct sbuf out;
	sbuf_init(&out);
	int rc = render_ipxe(&b, &out);
	int status = rc == 0 ? 200 : rc == -ENOENT ? 404 : 500;
	if (rc == 0)
		http_response_set_body(resp, out.p, out.len, "text/plain");
	log_info("boot: iPXE script for %s: %s (%s)", b.node ? b.node->name : b.mac_str,
		 rc == 0 ? (b.action == BOOT_LOCAL ? "local boot" : b.profile->name) : "refused",
		 b.why);
	char detail[300];
	snprintf(detail, sizeof(detail), "/boot/%s.ipxe: %s", b.mac_str,
		 rc == 0 ? (b.action == BOOT_LOCAL ? "local boot" : b.profile->name) : "refused");
	boot_service_event(svc, 0, mac, "http-script", detail);
	sbuf_free(&out);
	return status;
}

/* The node named in /ks/NAME or /up/NAME, if this request may act for it: from the node's
 * own address (fixed IP or current lease), or with its token. */
static const struct config_node *authorized_node(struct boot_service *svc,
						 const struct http_request_info *req,
						 size_t prefix_len, struct store_node *st,
						 const char **why)
{
	char name[80];
	snprintf(name, sizeof(name), "%s", req->path + prefix_len);
	const struct config_node *n = config_node_by_name(svc->cfg, name);
	*why = "no such node";
	if (!n || node_state(svc, n->name, st) < 0)
		return NULL;
	uint32_t peer = ntohl(req->peer.sin_addr.s_addr);
	uint8_t mac[6];
	bool have_mac;
	if (node_at(svc, peer, mac, &have_mac) == n) {
		*why = "the node's own address";
		return n;
	}
	const char *q = req->query ? strstr(req->query, "token=") : NULL;
	if (q && st->token[0]) {
		q += 6;
		size_t len = strcspn(q, "&");
		unsigned diff = len != strlen(st->token);
		for (size_t i = 0; i < len && i < sizeof(st->token); i++)
			diff |= (unsigned)(q[i] ^ st->token[i]);
		if (!diff) {
			*why = "the node's token";
			return n;
		}
	}
	*why = "neither the node's address nor its token";
	return NULL;
}

/* GET /ks/NAME: the node's rendered kickstart, only for that node. Fetching it ends a
 * requested reinstall (the installer is running). */
static int on_http_ks(void *ctx, const struct http_request_info *req, struct http_response *resp)
{
	struct boot_service *svc = ctx;
	struct store_node st;
	const char *why;
	char ip[INET_ADDRSTRLEN], server[INET_ADDRSTRLEN];
	addr_str(&req->peer, ip, sizeof(ip));
	addr_str(&req->local, server, sizeof(server));
	const struct config_node *n = authorized_node(svc, req, 4, &st, &why);
	if (!n) {
		char esc[200];
		str_escape(esc, sizeof(esc), req->path, strlen(req->path));
		log_warn("boot: kickstart \"%s\" refused to %s: %s", esc, ip, why);
		return strcmp(why, "no such node") ? 403 : 404;
	}
	struct boot_ctx b;
	resolve(svc, n->nmacs ? n->macs[0] : NULL, NULL, server, 0xffff, &b);
	if (b.action == BOOT_LOCAL && st.reinstall == false && b.profile && b.profile->install)
		b.action = BOOT_PROFILE; /* the kickstart itself may be read any time by its node */
	if (!b.profile || !b.profile->kickstart)
		return 404;
	char *tmpl = boot_read_template(svc->cfg, b.profile->kickstart);
	if (!tmpl) {
		log_err("boot: kickstart template %s: %s", b.profile->kickstart, strerror(errno));
		return 500;
	}
	struct sbuf out;
	sbuf_init(&out);
	int rc = render_template(&b, tmpl, &out);
	free(tmpl);
	if (rc == 0)
		http_response_set_body(resp, out.p, out.len, "text/plain");
	sbuf_free(&out);
	log_info("boot: kickstart of %s sent to %s (%s)", n->name, ip, why);
	boot_service_event(svc, 0, NULL, "kickstart", n->name);
	if (rc == 0 && st.reinstall)
		boot_service_set_reinstall(svc, n->name, false);
	return rc == 0 ? 200 : 500;
}

/* GET /up/NAME: "I am up" from the node (or its installer's %post). */
static int on_http_up(void *ctx, const struct http_request_info *req, struct http_response *resp)
{
	struct boot_service *svc = ctx;
	struct store_node st;
	const char *why;
	const struct config_node *n = authorized_node(svc, req, 4, &st, &why);
	if (!n)
		return strcmp(why, "no such node") ? 403 : 404;
	char ip[INET_ADDRSTRLEN];
	addr_str(&req->peer, ip, sizeof(ip));
	log_info("boot: node %s is up (%s)", n->name, ip);
	boot_service_event(svc, 0, NULL, "up", n->name);
	http_response_set_body(resp, "ok\n", 3, "text/plain");
	return 200;
}

/* Static files fetched over HTTP join the machine's timeline (routes record their own). */
static void on_http_done(void *ctx, const struct sockaddr_in *peer, const char *target, int status,
			 unsigned long long bytes, double seconds, bool complete)
{
	struct boot_service *svc = ctx;
	if (!strncmp(target, "GET /boot/", 10) || !strncmp(target, "GET /ks/", 8) ||
	    !strncmp(target, "GET /up/", 8) || !strncmp(target, "HEAD ", 5))
		return;
	char detail[400];
	snprintf(detail, sizeof(detail), "%.300s %d %llu bytes %.3f s%s", target, status, bytes,
		 seconds, complete ? "" : " ABORTED");
	boot_service_event(svc, ntohl(peer->sin_addr.s_addr), NULL, "http", detail);
}

void boot_service_attach_http(struct boot_service *svc, struct http_server *http)
{
	http_server_set_observer(http, on_http_done, svc);
	http_server_route(http, "/boot/", on_http_boot, svc);
	http_server_route(http, "/ks/", on_http_ks, svc);
	http_server_route(http, "/up/", on_http_up, svc);
}

/* ---- status ------------------------------------------------------------------------------- */

struct status_ctx {
	struct sbuf *out;
	int n;
};

static void fmt_time(int64_t ms, char *out, size_t cap)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	localtime_r(&t, &tm);
	strftime(out, cap, "%Y-%m-%d %H:%M:%S", &tm);
}

static int timeline_row(void *ctx, const struct store_event_row *ev)
{
	struct status_ctx *sc = ctx;
	char when[32];
	fmt_time(ev->time_ms, when, sizeof(when));
	sbuf_printf(sc->out, "%s.%03d  %-20s %s\n", when, (int)(ev->time_ms % 1000), ev->kind,
		    ev->detail ? ev->detail : "");
	sc->n++;
	return 0;
}

static int first_row(void *ctx, const struct store_event_row *ev)
{
	struct store_event_row *dst = ctx;
	static char kind[64], detail[256];
	snprintf(kind, sizeof(kind), "%s", ev->kind ? ev->kind : "");
	snprintf(detail, sizeof(detail), "%s", ev->detail ? ev->detail : "");
	*dst = *ev;
	dst->kind = kind;
	dst->detail = detail;
	return 1;
}

int boot_service_status(struct boot_service *svc, const char *node, struct sbuf *out)
{
	if (node) {
		if (!config_node_by_name(svc->cfg, node))
			return -ENOENT;
		sbuf_printf(out, "timeline of %s (newest first)\n", node);
		struct status_ctx sc = {out, 0};
		if (svc->store)
			store_events(svc->store, node, 0, 200, timeline_row, &sc);
		if (!sc.n)
			sbuf_puts(out, "(no events yet)\n");
		return 0;
	}
	sbuf_printf(out, "%-16s %-17s %-15s %-16s %-9s %-20s %s\n", "NODE", "MAC", "IP", "PROFILE",
		    "REINSTALL", "LAST EVENT", "WHEN / DETAIL");
	for (size_t i = 0; i < svc->cfg->nnodes; i++) {
		const struct config_node *n = &svc->cfg->nodes[i];
		char mac[18] = "-", ip[INET_ADDRSTRLEN] = "-", when[32] = "-";
		if (n->nmacs)
			snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", n->macs[0][0],
				 n->macs[0][1], n->macs[0][2], n->macs[0][3], n->macs[0][4],
				 n->macs[0][5]);
		if (n->ip.s_addr)
			inet_ntop(AF_INET, &n->ip, ip, sizeof(ip));
		struct store_node st = {0};
		bool have_st = svc->store && store_node_get(svc->store, n->name, &st) == 0;
		struct store_event_row last = {0};
		bool have_ev = svc->store &&
			       store_events(svc->store, n->name, 0, 1, first_row, &last) == 1;
		if (have_ev)
			fmt_time(last.time_ms, when, sizeof(when));
		struct boot_ctx b;
		resolve(svc, n->nmacs ? n->macs[0] : NULL, NULL, "-", 0xffff, &b);
		sbuf_printf(out, "%-16s %-17s %-15s %-16s %-9s %-20s %s %.60s\n", n->name, mac, ip,
			    b.profile ? b.profile->name : "-",
			    have_st && st.reinstall ? "yes" : "no", have_ev ? last.kind : "-", when,
			    have_ev ? last.detail : "");
	}
	return out->failed ? -ENOMEM : 0;
}
