/* Boot service; see boot_service.h. */
#include "boot/boot_service.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "boot/inventory.h"
#include "boot/render.h"
#include "boot/sbuf.h"
#include "core/config.h"
#include "core/escape.h"
#include "core/log.h"
#include "dhcp/dhcp_io.h"
#include "diskless/image.h"
#include "diskless/overlay.h"
#include "http/http_io.h"
#include "store/store.h"
#include "tftp/tftp_io.h"

struct image_state;
struct overlay_state;

struct boot_service {
	struct pxed_config *cfg;
	struct store *store;
	struct dhcp_server *dhcp;
	/* RAM-root images: built on worker threads that report through a pipe */
	struct event_base *base;
	int done_pipe[2];
	struct event *done_ev;
	struct image_state *images;
	struct overlay_state *overlays;
	atomic_bool cancel;
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
	svc->done_pipe[0] = svc->done_pipe[1] = -1;
	return svc;
}

void boot_service_reload(struct boot_service *svc, struct pxed_config *cfg)
{
	config_unref(svc->cfg);
	svc->cfg = config_ref(cfg);
}

static void images_free(struct boot_service *svc);

void boot_service_free(struct boot_service *svc)
{
	if (!svc)
		return;
	images_free(svc);
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
						 const char *name, struct store_node *st,
						 const char **why)
{
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
	const struct config_node *n = authorized_node(svc, req, req->path + 4, &st, &why);
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
	const struct config_node *n = authorized_node(svc, req, req->path + 4, &st, &why);
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
	    !strncmp(target, "GET /diskless/overlay/", 22) || !strncmp(target, "GET /up/", 8) ||
	    !strncmp(target, "HEAD ", 5))
		return;
	char detail[400];
	snprintf(detail, sizeof(detail), "%.300s %d %llu bytes %.3f s%s", target, status, bytes,
		 seconds, complete ? "" : " ABORTED");
	boot_service_event(svc, ntohl(peer->sin_addr.s_addr), NULL, "http", detail);
}

static int images_start(struct boot_service *svc, struct event_base *base);
static int on_http_image(void *ctx, const struct http_request_info *req,
			 struct http_response *resp);
static int on_http_overlay(void *ctx, const struct http_request_info *req,
			   struct http_response *resp);

void boot_service_attach_http(struct boot_service *svc, struct http_server *http)
{
	http_server_set_observer(http, on_http_done, svc);
	http_server_route(http, "/boot/", on_http_boot, svc);
	http_server_route(http, "/ks/", on_http_ks, svc);
	http_server_route(http, "/up/", on_http_up, svc);
	if (images_start(svc, http_server_base(http)) == 0) {
		http_server_route(http, "/diskless/image/", on_http_image, svc);
		http_server_route(http, "/diskless/overlay/", on_http_overlay, svc);
	}
}

/* ---- RAM-root images and overlays ------------------------------------------------------------ */

#define IMAGE_FRESH_MS 1000 /* a check younger than this is not repeated for a request */

struct image_job;

/* What pxed knows about the image of one ram profile. */
struct image_state {
	char profile[128];
	struct image_job *job; /* build or check running, or NULL */
	bool ok;	       /* the last check succeeded: cpio (and squashfs) are current */
	int64_t checked_ms;    /* when the last check finished (monotonic), 0: never */
	char key[65];
	char cpio[4096];
	char squashfs[4096];
	char memo_stat[96], memo_sha[65];
	struct image_state *next;
};

/* One check-and-build on a worker thread; the requests waiting for it. */
struct image_job {
	struct boot_service *svc;
	struct image_state *st;
	struct image_spec spec;
	struct image_result res;
	int rc;
	pthread_t th;
	struct http_deferred **waiters;
	size_t nwait, capwait;
	int64_t start_ms;
};

/* Per-node overlay content keys: Last-Modified is when the content first had its key. */
struct overlay_state {
	char node[80];
	char key[65];
	int64_t since;
	struct overlay_state *next;
};

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct image_state *image_state(struct boot_service *svc, const char *profile)
{
	for (struct image_state *st = svc->images; st; st = st->next)
		if (!strcmp(st->profile, profile))
			return st;
	struct image_state *st = calloc(1, sizeof(*st));
	if (!st)
		return NULL;
	snprintf(st->profile, sizeof(st->profile), "%s", profile);
	st->next = svc->images;
	svc->images = st;
	return st;
}

static void *image_worker(void *arg)
{
	struct image_job *job = arg;
	job->rc = image_ensure(&job->spec, &job->res);
	ssize_t w;
	do
		w = write(job->svc->done_pipe[1], &job, sizeof(job));
	while (w < 0 && errno == EINTR);
	return NULL;
}

/* Start a check (and build when needed) of profile p's image, unless one runs. */
static struct image_job *image_job_start(struct boot_service *svc, const struct config_profile *p)
{
	struct image_state *st = image_state(svc, p->name);
	if (!st)
		return NULL;
	if (st->job)
		return st->job;
	struct image_job *job = calloc(1, sizeof(*job));
	if (!job)
		return NULL;
	job->svc = svc;
	job->st = st;
	job->start_ms = mono_ms();
	snprintf(job->spec.profile, sizeof(job->spec.profile), "%s", p->name);
	snprintf(job->spec.template_path, sizeof(job->spec.template_path), "%s",
		 p->template ? p->template : "");
	image_dir(svc->cfg->diskless.images, svc->cfg->server.state_dir, job->spec.images_dir,
		  sizeof(job->spec.images_dir));
	job->spec.squashfs = p->squashfs;
	job->spec.cancel = &svc->cancel;
	memcpy(job->spec.memo_stat, st->memo_stat, sizeof(st->memo_stat));
	memcpy(job->spec.memo_sha, st->memo_sha, sizeof(st->memo_sha));
	int e = pthread_create(&job->th, NULL, image_worker, job);
	if (e) {
		log_err("diskless: image of %s: cannot start a worker thread: %s", p->name,
			strerror(e));
		free(job);
		return NULL;
	}
	st->job = job;
	return job;
}

/* Serve the state's current image (after a check): the resumed handler and the fresh path. */
static int serve_image(struct boot_service *svc, const struct http_request_info *req,
		       struct http_response *resp, struct image_state *st, bool squashfs)
{
	char ip[INET_ADDRSTRLEN], etag[72];
	addr_str(&req->peer, ip, sizeof(ip));
	if (!st->ok)
		return 500; /* the reason was logged when the build failed */
	const char *path = squashfs ? st->squashfs : st->cpio;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat sb;
	if (fd < 0 || fstat(fd, &sb) < 0) {
		log_err("diskless: image %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return 500;
	}
	snprintf(etag, sizeof(etag), "\"%s\"", st->key);
	http_response_set_file(resp, fd, etag, sb.st_mtim.tv_sec,
			       squashfs ? "application/octet-stream" : "application/gzip");
	log_debug("diskless: image of %s (%.16s) to %s", st->profile, st->key, ip);
	(void)svc;
	return 200;
}

/* "/diskless/image/NAME.cpio.gz" or ".squashfs": the ram profile, NULL if none. */
static const struct config_profile *image_profile(struct boot_service *svc, const char *path,
						  bool *squashfs)
{
	char name[160];
	const char *rest = path + strlen("/diskless/image/");
	size_t len = strlen(rest);
	if (len > 8 && !strcmp(rest + len - 8, ".cpio.gz") && len - 8 < sizeof(name)) {
		*squashfs = false;
		snprintf(name, sizeof(name), "%.*s", (int)(len - 8), rest);
	} else if (len > 9 && !strcmp(rest + len - 9, ".squashfs") && len - 9 < sizeof(name)) {
		*squashfs = true;
		snprintf(name, sizeof(name), "%.*s", (int)(len - 9), rest);
	} else {
		return NULL;
	}
	const struct config_profile *p = config_profile_by_name(svc->cfg, name);
	if (!p || p->diskless != DISKLESS_RAM || (*squashfs && !p->squashfs))
		return NULL;
	return p;
}

/* Resumed requests: answer from the state the finished job left. */
static int on_image_ready(void *ctx, const struct http_request_info *req,
			  struct http_response *resp)
{
	struct boot_service *svc = ctx;
	bool sq;
	const struct config_profile *p = image_profile(svc, req->path, &sq);
	struct image_state *st = p ? image_state(svc, p->name) : NULL;
	return st ? serve_image(svc, req, resp, st, sq) : 404;
}

/* GET /diskless/image/PROFILE.cpio.gz (.squashfs): checked (and built) on a worker thread
 * unless checked within IMAGE_FRESH_MS; concurrent requests wait for the same job. */
static int on_http_image(void *ctx, const struct http_request_info *req, struct http_response *resp)
{
	struct boot_service *svc = ctx;
	bool sq;
	const struct config_profile *p = image_profile(svc, req->path, &sq);
	if (!p)
		return 404;
	struct image_state *st = image_state(svc, p->name);
	if (!st)
		return 503;
	if (!st->job && st->ok && st->checked_ms && mono_ms() - st->checked_ms < IMAGE_FRESH_MS)
		return serve_image(svc, req, resp, st, sq);
	struct image_job *job = image_job_start(svc, p);
	if (!job)
		return 503;
	if (job->nwait == job->capwait) {
		size_t cap = job->capwait ? 2 * job->capwait : 8;
		struct http_deferred **v = realloc(job->waiters, cap * sizeof(*v));
		if (!v)
			return 503;
		job->waiters = v;
		job->capwait = cap;
	}
	struct http_deferred *d = http_response_defer(resp);
	if (!d)
		return 503;
	job->waiters[job->nwait++] = d;
	return HTTP_DEFERRED;
}

/* A job finished: record, log, answer its waiters. */
static void image_job_done(struct boot_service *svc, struct image_job *job)
{
	struct image_state *st = job->st;
	struct image_result *r = &job->res;
	pthread_join(job->th, NULL);
	st->job = NULL;
	st->checked_ms = mono_ms();
	st->ok = job->rc == 0;
	memcpy(st->memo_stat, job->spec.memo_stat, sizeof(st->memo_stat));
	memcpy(st->memo_sha, job->spec.memo_sha, sizeof(st->memo_sha));
	if (job->rc == 0) {
		memcpy(st->key, r->key, sizeof(st->key));
		memcpy(st->cpio, r->cpio, sizeof(st->cpio));
		memcpy(st->squashfs, r->squashfs, sizeof(st->squashfs));
		if (r->built)
			log_info("diskless: image of %s built: %s (%zu entries%s) in %.1f s",
				 st->profile, r->cpio, r->entries,
				 r->init_added ? ", /init -> /sbin/init added" : "",
				 (double)(mono_ms() - job->start_ms) / 1000);
		if (r->skipped)
			log_warn("diskless: image of %s: %zu unsafe entries skipped (first: %s)",
				 st->profile, r->skipped, r->first_skipped);
	} else if (job->rc != -ECANCELED) {
		char esc[600];
		str_escape(esc, sizeof(esc), r->err, strlen(r->err));
		log_err("diskless: image of %s failed: %s", st->profile, esc);
	}
	for (size_t i = 0; i < job->nwait; i++)
		http_deferred_resume(job->waiters[i], on_image_ready, svc);
	free(job->waiters);
	free(job);
}

static void on_image_done(evutil_socket_t fd, short what, void *arg)
{
	struct boot_service *svc = arg;
	struct image_job *jobs[64];
	(void)what;
	ssize_t n = read(fd, jobs, sizeof(jobs));
	for (ssize_t i = 0; n > 0 && i < n / (ssize_t)sizeof(jobs[0]); i++)
		image_job_done(svc, jobs[i]);
}

/* Check (and build) every ram profile's image in the background. */
static void on_images_initial(evutil_socket_t fd, short what, void *arg)
{
	struct boot_service *svc = arg;
	(void)fd;
	(void)what;
	for (size_t i = 0; i < svc->cfg->nprofiles; i++)
		if (svc->cfg->profiles[i].diskless == DISKLESS_RAM)
			image_job_start(svc, &svc->cfg->profiles[i]);
}

/* The done pipe and its event; then a background build of every ram profile. */
static int images_start(struct boot_service *svc, struct event_base *base)
{
	if (svc->done_ev)
		return 0;
	if (pipe2(svc->done_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
		log_err("diskless: pipe: %s: RAM-root images not served", strerror(errno));
		return -errno;
	}
	/* the workers' writes must not fail on a full pipe: they block instead */
	fcntl(svc->done_pipe[1], F_SETFL, fcntl(svc->done_pipe[1], F_GETFL) & ~O_NONBLOCK);
	svc->base = base;
	svc->done_ev = event_new(base, svc->done_pipe[0], EV_READ | EV_PERSIST, on_image_done, svc);
	if (!svc->done_ev || event_add(svc->done_ev, NULL) < 0) {
		log_err("diskless: cannot watch the image pipe: RAM-root images not served");
		return -ENOMEM;
	}
	/* from the running loop: after the privilege drop, so the files belong to server.user */
	struct timeval now = {0, 0};
	if (event_base_once(base, -1, EV_TIMEOUT, on_images_initial, svc, &now) < 0)
		log_warn("diskless: RAM images are not built in advance (built on first request)");
	return 0;
}

/* Stop: builds still running are cancelled and joined; their waiters get 503. */
static void images_free(struct boot_service *svc)
{
	atomic_store(&svc->cancel, true);
	for (struct image_state *st = svc->images; st; st = st->next) {
		struct image_job *job = st->job;
		if (!job)
			continue;
		pthread_join(job->th, NULL);
		for (size_t i = 0; i < job->nwait; i++)
			http_deferred_free(job->waiters[i]);
		free(job->waiters);
		free(job);
	}
	while (svc->images) {
		struct image_state *st = svc->images;
		svc->images = st->next;
		free(st);
	}
	while (svc->overlays) {
		struct overlay_state *o = svc->overlays;
		svc->overlays = o->next;
		free(o);
	}
	if (svc->done_ev)
		event_free(svc->done_ev);
	for (int i = 0; i < 2; i++)
		if (svc->done_pipe[i] >= 0)
			close(svc->done_pipe[i]);
}

/* When this node's overlay first had this content key (its Last-Modified). */
static int64_t overlay_since(struct boot_service *svc, const char *node, const char *key)
{
	struct overlay_state *o;
	for (o = svc->overlays; o && strcmp(o->node, node); o = o->next)
		;
	if (!o && (o = calloc(1, sizeof(*o)))) {
		snprintf(o->node, sizeof(o->node), "%s", node);
		o->next = svc->overlays;
		svc->overlays = o;
	}
	if (!o)
		return (int64_t)time(NULL);
	if (strcmp(o->key, key)) {
		snprintf(o->key, sizeof(o->key), "%s", key);
		o->since = (int64_t)time(NULL);
	}
	return o->since;
}

void boot_service_keys_dir(const struct pxed_config *cfg, const char *node, char *out, size_t cap)
{
	snprintf(out, cap, "%s/diskless/keys/%s", cfg->server.state_dir, node);
}

/* GET /diskless/overlay/NODE.cpio.gz: rendered per request (it is small), only for the node
 * itself (it holds the node's ssh host key). */
static int on_http_overlay(void *ctx, const struct http_request_info *req,
			   struct http_response *resp)
{
	struct boot_service *svc = ctx;
	char name[80], ip[INET_ADDRSTRLEN], server[INET_ADDRSTRLEN], esc[200], err[600];
	const char *rest = req->path + strlen("/diskless/overlay/"), *why;
	size_t len = strlen(rest);
	struct store_node sn;
	addr_str(&req->peer, ip, sizeof(ip));
	addr_str(&req->local, server, sizeof(server));
	if (len <= 8 || strcmp(rest + len - 8, ".cpio.gz") || len - 8 >= sizeof(name))
		return 404;
	snprintf(name, sizeof(name), "%.*s", (int)(len - 8), rest);
	const struct config_node *n = authorized_node(svc, req, name, &sn, &why);
	if (!n) {
		str_escape(esc, sizeof(esc), req->path, strlen(req->path));
		log_warn("diskless: overlay \"%s\" refused to %s: %s", esc, ip, why);
		return strcmp(why, "no such node") ? 403 : 404;
	}
	struct boot_ctx b;
	bool own = !strcmp(why, "the node's own address");
	resolve(svc, n->nmacs ? n->macs[0] : NULL, own ? ip : NULL, server, 0xffff, &b);
	if (!b.profile || b.profile->diskless != DISKLESS_RAM)
		return 404;
	char keys[4300];
	boot_service_keys_dir(svc->cfg, n->name, keys, sizeof(keys));
	struct overlay o;
	uint8_t *bytes = NULL;
	size_t blen = 0;
	char key[65], etag[72];
	overlay_init(&o);
	err[0] = '\0';
	int rc = overlay_build(&o, &b, b.profile->overlay, keys, err, sizeof(err));
	if (rc == 0 && (rc = overlay_pack(&o, &bytes, &blen, key)) < 0)
		snprintf(err, sizeof(err), "packing: %s", strerror(-rc));
	if (rc < 0) {
		str_escape(esc, sizeof(esc), err, strlen(err));
		log_err("diskless: overlay of %s: %s", n->name, esc);
		overlay_free(&o);
		return 500;
	}
	if (o.warn[0])
		log_warn("diskless: overlay of %s: %s", n->name, o.warn);
	snprintf(etag, sizeof(etag), "\"%s\"", key);
	http_response_set_body(resp, bytes, blen, "application/gzip");
	http_response_set_validators(resp, etag, overlay_since(svc, n->name, key));
	log_info("diskless: overlay of %s (%.16s, %zu bytes) to %s (%s)", n->name, key, blen, ip,
		 why);
	boot_service_event(svc, 0, NULL, "overlay", n->name);
	free(bytes);
	overlay_free(&o);
	return 200;
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
