/* TFTP adapter; see tftp_io.h. Owns sockets, timers, files and log lines; every decision about
 * packets is delegated to the pure modules. */
#include "tftp/tftp_io.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/config.h"
#include "core/escape.h"
#include "core/log.h"
#include "core/netaddr.h"
#include "boot/sbuf.h"
#include "core/path.h"
#include "tftp/tftp_opts.h"
#include "tftp/tftp_source.h"
#include "tftp/tftp_wire.h"
#include "tftp/tftp_xfer.h"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif

#define HASH_BUCKETS	4096
#define MAX_SEGS	64    /* UDP GSO segments per send */
#define UDP_MAX_PAYLOAD 65507 /* IPv4 */
#define RECV_BATCH	32

struct tftp_transfer {
	struct tftp_server *srv;
	struct pxed_config *cfg;
	struct tftp_transfer *prev, *next; /* all transfers */
	struct tftp_transfer *hnext;	   /* hash chain, keyed by client IP */
	int fd;				   /* own socket, or the listen socket */
	bool own_fd;
	struct event *rev, *tev;
	uint64_t timer_at; /* when tev fires (ms, monotonic); 0: not pending */
	struct sockaddr_in peer, local;
	bool is_write;
	struct tftp_rxfer rx;
	struct tftp_wxfer wx;
	struct tftp_negotiated neg;
	struct tftp_source *src;
	int dirfd, wfd; /* write: parent directory and temporary file */
	char tmpname[96];
	const char *base; /* write: final name, inside rel */
	uint64_t start_ms;
	uint64_t bytes;
	char rel[1024];
	char name_esc[300];
	char peer_str[32];
	bool rendered;
};

struct tftp_server {
	struct event_base *base;
	struct pxed_config *cfg;
	int lfd;
	struct sockaddr_in laddr;
	struct event *lev;
	struct tftp_source_cache cache;
	struct tftp_transfer *xfers;
	unsigned nxfers;
	struct tftp_transfer *hash[HASH_BUCKETS];
	uint16_t port_cursor;
	bool gso_ok;
	uint64_t drops[TFTP_DROP_MAX];
	tftp_render_fn render;
	void *render_ctx;
	tftp_observe_fn observe;
	void *observe_ctx;
	uint8_t hdrbuf[4 * MAX_SEGS]; /* DATA headers of one GSO send */
	uint8_t rxbuf[RECV_BATCH][65536];
};

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

const char *tftp_drop_str(enum tftp_drop why)
{
	static const char *names[TFTP_DROP_MAX] = {
		[TFTP_DROP_MALFORMED] = "malformed packet",
		[TFTP_DROP_NOT_ALLOWED] = "client not in tftp.allow",
		[TFTP_DROP_OVERLOAD] = "tftp.max-transfers reached",
		[TFTP_DROP_DUP_REQUEST] = "repeated request for a running transfer",
		[TFTP_DROP_NO_TRANSFER] = "no transfer for this client",
		[TFTP_DROP_UNEXPECTED_OP] = "unexpected opcode",
		[TFTP_DROP_BAD_SOURCE] = "bad source address",
	};
	return (unsigned)why < TFTP_DROP_MAX ? names[why] : "?";
}

static void drop(struct tftp_server *srv, enum tftp_drop why, const char *peer)
{
	srv->drops[why]++;
	if (why == TFTP_DROP_NOT_ALLOWED || why == TFTP_DROP_OVERLOAD)
		log_info("tftp %s: dropped: %s", peer, tftp_drop_str(why));
	else
		log_debug("tftp %s: dropped: %s", peer, tftp_drop_str(why));
}

uint64_t tftp_server_drops(const struct tftp_server *srv, enum tftp_drop why)
{
	return (unsigned)why < TFTP_DROP_MAX ? srv->drops[why] : 0;
}

unsigned tftp_server_active(const struct tftp_server *srv)
{
	return srv->nxfers;
}

/* ---- transfer table -------------------------------------------------------------------- */

static unsigned hash_ip(struct in_addr a)
{
	uint32_t x = a.s_addr * 2654435761u;
	return (x >> 16) % HASH_BUCKETS;
}

static struct tftp_transfer *find_peer(struct tftp_server *srv, const struct sockaddr_in *p)
{
	for (struct tftp_transfer *t = srv->hash[hash_ip(p->sin_addr)]; t; t = t->hnext)
		if (t->peer.sin_addr.s_addr == p->sin_addr.s_addr &&
		    t->peer.sin_port == p->sin_port)
			return t;
	return NULL;
}

static unsigned count_client(struct tftp_server *srv, struct in_addr a)
{
	unsigned n = 0;
	for (struct tftp_transfer *t = srv->hash[hash_ip(a)]; t; t = t->hnext)
		n += t->peer.sin_addr.s_addr == a.s_addr;
	return n;
}

static void table_add(struct tftp_server *srv, struct tftp_transfer *t)
{
	unsigned h = hash_ip(t->peer.sin_addr);
	t->hnext = srv->hash[h];
	srv->hash[h] = t;
	t->next = srv->xfers;
	if (srv->xfers)
		srv->xfers->prev = t;
	srv->xfers = t;
	srv->nxfers++;
}

static void table_del(struct tftp_server *srv, struct tftp_transfer *t)
{
	for (struct tftp_transfer **pp = &srv->hash[hash_ip(t->peer.sin_addr)]; *pp;
	     pp = &(*pp)->hnext) {
		if (*pp == t) {
			*pp = t->hnext;
			break;
		}
	}
	if (t->prev)
		t->prev->next = t->next;
	else
		srv->xfers = t->next;
	if (t->next)
		t->next->prev = t->prev;
	srv->nxfers--;
}

/* ---- sending ---------------------------------------------------------------------------- */

/* Send errors that behave like packet loss: a full socket buffer, or a local firewall
 * dropping the packet (EPERM from an nftables/iptables output rule). The timer resends. */
static bool send_transient(int rc)
{
	return rc == -EAGAIN || rc == -ENOBUFS || rc == -EPERM;
}

/* Send one datagram gathered from iov[0..niov) (or, with seg, a GSO train of seg-sized
 * datagrams) to the transfer's peer. */
static int send_iov(struct tftp_transfer *t, const struct iovec *iov, size_t niov, uint16_t seg)
{
	union {
		char buf[CMSG_SPACE(sizeof(uint16_t)) + CMSG_SPACE(sizeof(struct in_pktinfo))];
		struct cmsghdr align;
	} ctl;
	struct msghdr m = {.msg_iov = (struct iovec *)iov, .msg_iovlen = niov};
	size_t ctl_len = 0;
	if (!t->own_fd || seg)
		memset(&ctl, 0, sizeof(ctl));
	if (!t->own_fd) {
		m.msg_name = &t->peer;
		m.msg_namelen = sizeof(t->peer);
		/* Reply from the address the request came to (multi-homed servers). */
		struct cmsghdr *c = (struct cmsghdr *)ctl.buf;
		c->cmsg_level = IPPROTO_IP;
		c->cmsg_type = IP_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(struct in_pktinfo));
		struct in_pktinfo pi = {.ipi_spec_dst = t->local.sin_addr};
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
		ctl_len += CMSG_SPACE(sizeof(struct in_pktinfo));
	}
	if (seg) {
		struct cmsghdr *c = (struct cmsghdr *)(ctl.buf + ctl_len);
		c->cmsg_level = SOL_UDP;
		c->cmsg_type = UDP_SEGMENT;
		c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
		memcpy(CMSG_DATA(c), &seg, sizeof(seg));
		ctl_len += CMSG_SPACE(sizeof(uint16_t));
	}
	if (ctl_len) {
		m.msg_control = ctl.buf;
		m.msg_controllen = ctl_len;
	}
	ssize_t r = sendmsg(t->fd, &m, MSG_DONTWAIT);
	if (r < 0)
		return -errno;
	return 0;
}

/* Send one datagram from buf[0..len). */
static int send_raw(struct tftp_transfer *t, const uint8_t *buf, size_t len)
{
	struct iovec iov = {(void *)buf, len};
	return send_iov(t, &iov, 1, 0);
}

/* Send nseg DATA datagrams, each gathered from a header and a payload iovec (iov holds
 * 2 * nseg), all of seg bytes but maybe the last: one GSO send when the kernel can, else one
 * sendmmsg. Returns 0, or -errno when nothing could be queued. */
static int send_train(struct tftp_transfer *t, struct iovec *iov, size_t seg, size_t nseg)
{
	struct tftp_server *srv = t->srv;
	if (nseg == 1)
		return send_iov(t, iov, 2, 0);
	if (srv->gso_ok) {
		int rc = send_iov(t, iov, 2 * nseg, (uint16_t)seg);
		if (rc != -EIO && rc != -EINVAL && rc != -ENOPROTOOPT && rc != -EOPNOTSUPP)
			return rc;
		srv->gso_ok = false;
		log_info("tftp: UDP segmentation offload unavailable (%s); using sendmmsg",
			 strerror(-rc));
	}
	struct mmsghdr mm[MAX_SEGS];
	memset(mm, 0, sizeof(mm));
	for (size_t i = 0; i < nseg; i++) {
		mm[i].msg_hdr.msg_iov = &iov[2 * i];
		mm[i].msg_hdr.msg_iovlen = 2;
		if (!t->own_fd) {
			mm[i].msg_hdr.msg_name = &t->peer;
			mm[i].msg_hdr.msg_namelen = sizeof(t->peer);
		}
	}
	int r = sendmmsg(t->fd, mm, (unsigned)nseg, MSG_DONTWAIT);
	return r < 0 ? -errno : 0;
}

/* Send DATA blocks [first, first + count): each datagram gathers its 4-byte header and its
 * bytes straight from the source (the file's mapping), one GSO send per chunk of at most
 * MAX_SEGS blocks and 64 KiB. */
static int send_blocks(struct tftp_transfer *t, uint64_t first, uint64_t count)
{
	struct tftp_server *srv = t->srv;
	size_t bs = t->rx.blksize, seg = bs + 4;
	size_t per = UDP_MAX_PAYLOAD / seg;
	const uint8_t *bytes = tftp_source_bytes(t->src);
	if (per > MAX_SEGS)
		per = MAX_SEGS;
	while (count) {
		size_t n = count < per ? (size_t)count : per;
		struct iovec iov[2 * MAX_SEGS];
		for (size_t i = 0; i < n; i++) {
			uint64_t idx = first + i;
			uint8_t *hdr = srv->hdrbuf + 4 * i;
			size_t len = (size_t)tftp_rxfer_block_len(&t->rx, idx);
			tftp_build_data_hdr(hdr, 4, (uint16_t)idx);
			iov[2 * i] = (struct iovec){hdr, 4};
			iov[2 * i + 1] =
				(struct iovec){len ? (void *)(bytes + (idx - 1) * bs) : NULL, len};
		}
		int rc = send_train(t, iov, seg, n);
		if (rc < 0 && !send_transient(rc))
			return rc; /* transient: like a lost packet, the timer resends */
		tftp_source_sent(&srv->cache, t->src, (n - 1) * bs + iov[2 * n - 1].iov_len,
				 srv->nxfers);
		first += n;
		count -= n;
	}
	return 0;
}

static void send_error(int fd, const struct sockaddr_in *to, const struct sockaddr_in *from,
		       uint16_t code, const char *msg)
{
	uint8_t buf[256];
	int n = tftp_build_error(buf, sizeof(buf), code, msg);
	if (n < 0)
		return;
	struct iovec iov = {buf, (size_t)n};
	union {
		char b[CMSG_SPACE(sizeof(struct in_pktinfo))];
		struct cmsghdr align;
	} ctl;
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
	if (to) {
		m.msg_name = (void *)to;
		m.msg_namelen = sizeof(*to);
	}
	if (from) {
		memset(&ctl, 0, sizeof(ctl));
		struct cmsghdr *c = (struct cmsghdr *)ctl.b;
		c->cmsg_level = IPPROTO_IP;
		c->cmsg_type = IP_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(struct in_pktinfo));
		struct in_pktinfo pi = {.ipi_spec_dst = from->sin_addr};
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
		m.msg_control = ctl.b;
		m.msg_controllen = sizeof(ctl.b);
	}
	(void)sendmsg(fd, &m, MSG_DONTWAIT);
}

/* ---- transfer lifecycle ------------------------------------------------------------------ */

static void xfer_free(struct tftp_transfer *t)
{
	struct tftp_server *srv = t->srv;
	table_del(srv, t);
	if (t->rev)
		event_free(t->rev);
	if (t->tev)
		event_free(t->tev);
	if (t->own_fd && t->fd >= 0)
		close(t->fd);
	if (t->wfd >= 0)
		close(t->wfd);
	if (t->tmpname[0] && t->dirfd >= 0)
		unlinkat(t->dirfd, t->tmpname, 0);
	if (t->dirfd >= 0)
		close(t->dirfd);
	tftp_source_put(&srv->cache, t->src);
	config_unref(t->cfg);
	free(t);
}

/* The one log line of a finished transfer, then free it. */
static void xfer_finish(struct tftp_transfer *t, bool ok, const char *why)
{
	double secs = (double)(now_ms() - t->start_ms) / 1000.0;
	char opts[160];
	tftp_negotiated_str(&t->neg, opts, sizeof(opts));
	uint64_t bytes = t->is_write ? t->wx.bytes : t->bytes;
	if (!t->is_write && !ok) { /* what the client acknowledged */
		uint64_t acked = t->rx.acked * t->rx.blksize;
		bytes = acked < t->rx.size ? acked : t->rx.size;
	}
	uint64_t resent = t->is_write ? 0 : t->rx.retransmitted;
	if (ok)
		log_info("tftp %s \"%s\": %s %llu bytes in %.3f s (%s, %llu blocks resent): ok",
			 t->peer_str, t->name_esc, t->is_write ? "received" : "sent",
			 (unsigned long long)bytes, secs, opts, (unsigned long long)resent);
	else
		log_warn("tftp %s \"%s\": %s %llu bytes in %.3f s (%s, %llu blocks resent): "
			 "failed: %s",
			 t->peer_str, t->name_esc, t->is_write ? "received" : "sent",
			 (unsigned long long)bytes, secs, opts, (unsigned long long)resent, why);
	if (t->srv->observe)
		t->srv->observe(t->srv->observe_ctx, &t->peer, t->rel, bytes, secs, ok,
				t->rendered);
	xfer_free(t);
}

/* Make the timer fire by `at` (ms). A timer already due no later stays as it is: the state
 * machine answers an early expiry with its real deadline, so a transfer whose deadline moves
 * on with every ACK re-arms about once per timeout instead of once per packet. */
static void arm_timer(struct tftp_transfer *t, uint64_t at)
{
	if (!at || (t->timer_at && t->timer_at <= at))
		return;
	t->timer_at = at;
	uint64_t now = now_ms();
	uint64_t d = at > now ? at - now : 0;
	struct timeval tv = {(time_t)(d / 1000), (suseconds_t)(d % 1000) * 1000};
	evtimer_add(t->tev, &tv);
}

static int send_oack(struct tftp_transfer *t)
{
	uint8_t buf[512];
	int n = tftp_build_oack_negotiated(buf, sizeof(buf), &t->neg);
	return n < 0 ? n : send_raw(t, buf, (size_t)n);
}

static int send_ack(struct tftp_transfer *t, uint64_t idx)
{
	uint8_t buf[4];
	tftp_build_ack(buf, sizeof(buf), (uint16_t)idx);
	return send_raw(t, buf, 4);
}

/* Finish a write: the temporary file becomes the named one. */
static int commit_write(struct tftp_transfer *t)
{
	if (fsync(t->wfd) < 0 || renameat(t->dirfd, t->tmpname, t->dirfd, t->base) < 0)
		return -errno;
	t->tmpname[0] = 0;
	return 0;
}

/* Carry out one action of the state machine. Frees t when the transfer ends. */
static void run_action(struct tftp_transfer *t, const struct tftp_action *a)
{
	int rc = 0;
	switch (a->kind) {
	case TFTP_ACT_NONE: break;
	case TFTP_ACT_SEND_OACK: rc = send_oack(t); break;
	case TFTP_ACT_SEND_DATA: rc = send_blocks(t, a->first, a->count); break;
	case TFTP_ACT_SEND_ACK:
		/* the file is in place (fsync'd and renamed) before the client hears it is done */
		if (a->final_ack && !a->retransmit && commit_write(t) < 0) {
			send_error(t->fd, t->own_fd ? NULL : &t->peer, NULL, TFTP_ENOSPACE,
				   "Disk full or write error");
			xfer_finish(t, false, "cannot store the received file");
			return;
		}
		rc = send_ack(t, a->first);
		break;
	case TFTP_ACT_DONE:
		if (!t->is_write)
			t->bytes = t->rx.size;
		xfer_finish(t, true, NULL);
		return;
	case TFTP_ACT_FAIL: xfer_finish(t, false, tftp_fail_str(a->fail)); return;
	}
	if (rc == -EFAULT) { /* the mapped file shrank under the transfer */
		xfer_finish(t, false, tftp_fail_str(TFTP_FAIL_IO));
		return;
	}
	if (rc < 0 && !send_transient(rc)) {
		char why[128];
		snprintf(why, sizeof(why), "send: %s", strerror(-rc));
		xfer_finish(t, false, why);
		return;
	}
	arm_timer(t, a->timer_at);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct tftp_transfer *t = arg;
	struct tftp_action a;
	t->timer_at = 0;
	if (t->is_write)
		tftp_wxfer_on_timeout(&t->wx, now_ms(), &a);
	else
		tftp_rxfer_on_timeout(&t->rx, now_ms(), &a);
	run_action(t, &a);
}

/* Store one received DATA block at its offset. */
static int write_block(struct tftp_transfer *t, uint64_t idx, const uint8_t *p, size_t len)
{
	off_t off = (off_t)((idx - 1) * t->wx.blksize);
	while (len) {
		ssize_t w = pwrite(t->wfd, p, len, off);
		if (w < 0)
			return -errno;
		p += w;
		len -= (size_t)w;
		off += w;
	}
	return 0;
}

/* A datagram from the transfer's peer. Returns false when the transfer ended (t freed). */
static bool xfer_input(struct tftp_transfer *t, const uint8_t *buf, size_t len)
{
	struct tftp_pkt p;
	struct tftp_action a;
	uint64_t now = now_ms();
	if (tftp_parse(buf, len, &p) < 0) {
		drop(t->srv, TFTP_DROP_MALFORMED, t->peer_str);
		return true;
	}
	if (p.op == TFTP_ERROR && p.error.code == TFTP_EOPTNEG && !t->is_write &&
	    t->rx.acked == 0 && t->rx.sent_hi == 0) {
		/* RFC 2347: UEFI and others ask for the OACK (tsize) only, then end with error 8. */
		char opts[160];
		log_info("tftp %s \"%s\": size query (client ended after the OACK: %s)",
			 t->peer_str, t->name_esc,
			 tftp_negotiated_str(&t->neg, opts, sizeof(opts)));
		xfer_free(t);
		return false;
	}
	if (p.op == TFTP_ERROR) {
		char m[128];
		str_escape(m, sizeof(m), p.error.msg.p, p.error.msg.len);
		char why[200];
		snprintf(why, sizeof(why), "client sent error %u \"%s\"", p.error.code, m);
		xfer_finish(t, false, why);
		return false;
	}
	if (!t->is_write && p.op == TFTP_ACK) {
		tftp_rxfer_on_ack(&t->rx, p.ack.block, now, &a);
	} else if (t->is_write && p.op == TFTP_DATA) {
		tftp_wxfer_on_data(&t->wx, p.data.block, (uint16_t)p.data.len, now, &a);
		if (a.kind == TFTP_ACT_SEND_ACK && !a.retransmit &&
		    write_block(t, a.first, p.data.data, p.data.len) < 0) {
			send_error(t->fd, t->own_fd ? NULL : &t->peer, NULL, TFTP_ENOSPACE,
				   "Disk full or write error");
			xfer_finish(t, false, "write error");
			return false;
		}
	} else {
		drop(t->srv, TFTP_DROP_UNEXPECTED_OP, t->peer_str);
		return true;
	}
	bool ends = a.kind == TFTP_ACT_DONE || a.kind == TFTP_ACT_FAIL;
	run_action(t, &a);
	return !ends;
}

/* Readable own socket: drain it. */
static void on_xfer_read(evutil_socket_t fd, short what, void *arg)
{
	struct tftp_transfer *t = arg;
	uint8_t *buf = t->srv->rxbuf[0];
	/* One datagram per wake-up: in lock-step there is never a second one waiting, so a
	 * draining loop would cost an extra failing recv per block; the level-triggered
	 * event fires again when more are queued. */
	ssize_t n = recv(fd, buf, sizeof(t->srv->rxbuf[0]), MSG_DONTWAIT);
	if (n < 0) {
		if (errno == ECONNREFUSED) /* ICMP port unreachable: the client is gone */
			xfer_finish(t, false, "client port unreachable");
		return;
	}
	xfer_input(t, buf, (size_t)n);
}

/* ---- new requests ---------------------------------------------------------------------- */

/* Bind a transfer socket on the request's local address, from tftp.port-range if set. */
static int open_xfer_socket(struct tftp_server *srv, const struct pxed_config *cfg,
			    const struct sockaddr_in *local, const struct sockaddr_in *peer)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int pmtu = IP_PMTUDISC_DONT;
	setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &pmtu, sizeof(pmtu));
	struct sockaddr_in a = *local;
	unsigned span =
		cfg->tftp.port_lo ? (unsigned)(cfg->tftp.port_hi - cfg->tftp.port_lo) + 1 : 1;
	int rc = -EADDRINUSE;
	for (unsigned i = 0; i < span && rc == -EADDRINUSE; i++) {
		if (cfg->tftp.port_lo) {
			unsigned p = cfg->tftp.port_lo + (srv->port_cursor++ % span);
			a.sin_port = htons((uint16_t)p);
		} else {
			a.sin_port = 0;
		}
		rc = bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ? -errno : 0;
	}
	if (rc == 0 && connect(fd, (const struct sockaddr *)peer, sizeof(*peer)) < 0)
		rc = -errno;
	if (rc < 0) {
		close(fd);
		return rc;
	}
	return fd;
}

/* MTU of the interface a request came in on; 0 when unknown. */
static unsigned if_mtu(int fd, int ifindex)
{
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	if (ifindex <= 0 || !if_indextoname((unsigned)ifindex, ifr.ifr_name))
		return 0;
	if (ioctl(fd, SIOCGIFMTU, &ifr) < 0)
		return 0;
	return (unsigned)ifr.ifr_mtu;
}

/* Map an errno from confinement or open to the TFTP error the client gets. */
static void errno_to_tftp(int err, uint16_t *code, const char **msg)
{
	switch (err) {
	case ENOENT:
	case ENOTDIR:
		*code = TFTP_ENOTFOUND;
		*msg = "File not found";
		break;
	case EISDIR:
		*code = TFTP_ENOTFOUND;
		*msg = "Not a regular file";
		break;
	case EFBIG:
		*code = TFTP_EACCESS;
		*msg = "File too large for netascii mode";
		break;
	case ENAMETOOLONG:
		*code = TFTP_EACCESS;
		*msg = "File name too long";
		break;
	case EEXIST:
		*code = TFTP_EEXISTS;
		*msg = "File already exists";
		break;
	default:
		*code = TFTP_EACCESS;
		*msg = "Access violation";
		break;
	}
}

struct req_ctx {
	struct tftp_server *srv;
	struct pxed_config *cfg;
	struct sockaddr_in peer, local;
	int ifindex;
	char peer_str[32];
};

/* Refuse a request with an ERROR from the listen socket, and log why. */
static void refuse(struct req_ctx *rc, const char *name_esc, uint16_t code, const char *msg,
		   const char *detail)
{
	send_error(rc->srv->lfd, &rc->peer, &rc->local, code, msg);
	log_info("tftp %s \"%s\": refused: %s (error %u)", rc->peer_str, name_esc,
		 detail ? detail : msg, code);
}

/* Open the destination of a WRQ: a temporary file beside the final name. */
static int open_write_target(struct tftp_transfer *t)
{
	const struct pxed_config *cfg = t->cfg;
	int dfd = path_open_parent_beneath(cfg->tftp_root_fd, t->rel, &t->base);
	if (dfd < 0)
		return dfd;
	t->dirfd = dfd;
	struct stat st;
	if (fstatat(dfd, t->base, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (!S_ISREG(st.st_mode))
			return -EACCES;
	} else if (!cfg->tftp.write_create) {
		return -EACCES;
	}
	static unsigned seq;
	snprintf(t->tmpname, sizeof(t->tmpname), ".pxed-upload.%d.%u", (int)getpid(), ++seq);
	t->wfd =
		openat(dfd, t->tmpname, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (t->wfd < 0) {
		t->tmpname[0] = 0;
		return -errno;
	}
	return 0;
}

static struct tftp_transfer *xfer_alloc(struct req_ctx *rc, bool is_write, const char *rel,
					const char *name_esc)
{
	struct tftp_transfer *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->srv = rc->srv;
	t->cfg = config_ref(rc->cfg);
	t->fd = -1;
	t->dirfd = -1;
	t->wfd = -1;
	t->peer = rc->peer;
	t->local = rc->local;
	t->is_write = is_write;
	t->start_ms = now_ms();
	snprintf(t->rel, sizeof(t->rel), "%s", rel);
	snprintf(t->name_esc, sizeof(t->name_esc), "%s", name_esc);
	snprintf(t->peer_str, sizeof(t->peer_str), "%s", rc->peer_str);
	return t;
}

/* Give t its socket and events and run the first action. */
static void xfer_launch(struct tftp_transfer *t, struct req_ctx *rc)
{
	struct tftp_server *srv = rc->srv;
	const struct config_tftp *c = &rc->cfg->tftp;
	struct tftp_timing tm = {c->retransmit_ms,
				 c->retransmit_min_ms,
				 c->retransmit_max_ms,
				 c->retries,
				 t->neg.has_timeout ? t->neg.timeout : 0,
				 t->neg.windowsize > 1};
	bool oack = t->neg.has_blksize || t->neg.has_tsize || t->neg.has_timeout ||
		    t->neg.has_windowsize;
	if (c->single_port) {
		t->fd = srv->lfd;
	} else {
		int fd = open_xfer_socket(srv, rc->cfg, &rc->local, &rc->peer);
		if (fd < 0) {
			refuse(rc, t->name_esc, TFTP_ENOTDEFINED, "Server out of ports",
			       strerror(-fd));
			xfer_free(t);
			return;
		}
		t->fd = fd;
		t->own_fd = true;
		t->rev = event_new(srv->base, fd, EV_READ | EV_PERSIST, on_xfer_read, t);
		event_add(t->rev, NULL);
	}
	t->tev = evtimer_new(srv->base, on_timer, t);
	struct tftp_action a;
	if (t->is_write)
		tftp_wxfer_start(&t->wx, t->neg.blksize, oack, &tm, now_ms(), &a);
	else
		tftp_rxfer_start(&t->rx, t->src->size, t->neg.blksize, t->neg.windowsize, oack, &tm,
				 now_ms(), &a);
	char opts[160];
	log_debug("tftp %s \"%s\": %s started (%s)", t->peer_str, t->name_esc,
		  t->is_write ? "write" : "read", tftp_negotiated_str(&t->neg, opts, sizeof(opts)));
	run_action(t, &a);
}

/* Limits for negotiation: blksize from config or the receiving interface's MTU. */
static void limits_for(struct req_ctx *rc, bool is_write, struct tftp_limits *lim)
{
	const struct config_tftp *c = &rc->cfg->tftp;
	unsigned bs = c->blksize_max;
	if (!bs) {
		unsigned mtu = if_mtu(rc->srv->lfd, rc->ifindex);
		bs = mtu > 32 ? mtu - 32 : 1468; /* IPv4 20 + UDP 8 + TFTP 4 */
		if (bs > TFTP_BLKSIZE_MAX)
			bs = TFTP_BLKSIZE_MAX;
	}
	lim->blksize_max = (uint16_t)bs;
	lim->windowsize_max = is_write ? 1 : c->windowsize_max;
}

/* The file beneath tftp.root, or else a rendered document. */
static int open_read_source(struct req_ctx *rc, struct tftp_transfer *t, const char *rel,
			    bool netascii)
{
	struct tftp_server *srv = rc->srv;
	const struct config_tftp *c = &rc->cfg->tftp;
	int err = tftp_source_get(&srv->cache, rc->cfg->tftp_root_fd, rel, netascii,
				  c->netascii_max_bytes, &t->src);
	if (err != -ENOENT || !srv->render)
		return err;
	struct sbuf doc;
	sbuf_init(&doc);
	int rc2 = srv->render(srv->render_ctx, rel, &rc->peer, &rc->local, &doc);
	if (rc2 == 0)
		rc2 = tftp_source_memory(doc.p ? doc.p : "", doc.len, netascii, &t->src);
	sbuf_free(&doc);
	if (rc2 == 0)
		t->rendered = true;
	return rc2;
}

/* An RRQ or WRQ on the listen socket. */
static void handle_request(struct req_ctx *rc, const struct tftp_pkt *p)
{
	struct tftp_server *srv = rc->srv;
	const struct config_tftp *c = &rc->cfg->tftp;
	bool is_write = p->op == TFTP_WRQ;
	char name_esc[300], rel[1024];
	str_escape(name_esc, sizeof(name_esc), p->req.file.p, p->req.file.len);
	if (!netlist_allows(&c->allow, rc->peer.sin_addr)) {
		drop(srv, TFTP_DROP_NOT_ALLOWED, rc->peer_str);
		return;
	}
	if (srv->nxfers >= c->max_transfers) {
		drop(srv, TFTP_DROP_OVERLOAD, rc->peer_str);
		return;
	}
	if (count_client(srv, rc->peer.sin_addr) >= c->max_per_client) {
		refuse(rc, name_esc, TFTP_ENOTDEFINED, "Too many transfers from this client",
		       "tftp.max-per-client reached");
		return;
	}
	if (p->req.mode == TFTP_MODE_MAIL) {
		refuse(rc, name_esc, TFTP_EBADOP, "Mail mode not supported", NULL);
		return;
	}
	if (is_write && !c->write) {
		refuse(rc, name_esc, TFTP_EACCESS, "Write access denied", "writes are disabled");
		return;
	}
	int n = path_confine(p->req.file.p, p->req.file.len, PATH_BACKSLASH, c->root, rel,
			     sizeof(rel));
	uint16_t code;
	const char *msg;
	if (n < 0) {
		errno_to_tftp(-n, &code, &msg);
		refuse(rc, name_esc, code, msg,
		       n == -EACCES   ? "path refused (\"..\", control character or overlong name)"
		       : n == -EINVAL ? "malformed path"
				      : NULL);
		return;
	}
	struct tftp_transfer *t = xfer_alloc(rc, is_write, rel, name_esc);
	if (!t)
		return;
	table_add(srv, t);
	int err;
	if (is_write)
		err = open_write_target(t);
	else
		err = open_read_source(rc, t, rel, p->req.mode == TFTP_MODE_NETASCII);
	if (err < 0) {
		errno_to_tftp(-err, &code, &msg);
		refuse(rc, name_esc, code, msg, strerror(-err));
		xfer_free(t);
		return;
	}
	struct tftp_limits lim;
	limits_for(rc, is_write, &lim);
	tftp_negotiate(&p->req, is_write, &lim, t->src ? t->src->size : 0, !is_write, &t->neg);
	xfer_launch(t, rc);
}

/* One datagram on the listen socket. */
static void listen_input(struct req_ctx *rc, const uint8_t *buf, size_t len)
{
	struct tftp_server *srv = rc->srv;
	struct tftp_transfer *t = find_peer(srv, &rc->peer);
	if (rc->peer.sin_port == 0) {
		drop(srv, TFTP_DROP_BAD_SOURCE, rc->peer_str);
		return;
	}
	uint16_t op = len >= 2 ? (uint16_t)(buf[0] << 8 | buf[1]) : 0;
	bool is_req = op == TFTP_RRQ || op == TFTP_WRQ;
	if (t && !is_req && t->fd == srv->lfd) { /* single-port: demultiplex by peer */
		xfer_input(t, buf, len);
		return;
	}
	if (t && is_req) {
		drop(srv, TFTP_DROP_DUP_REQUEST, rc->peer_str);
		return;
	}
	struct tftp_pkt p;
	int rcode = tftp_parse(buf, len, &p);
	if (rcode < 0 || !is_req) {
		drop(srv, rcode < 0 ? TFTP_DROP_MALFORMED : TFTP_DROP_NO_TRANSFER, rc->peer_str);
		if (rcode < 0 && is_req)
			send_error(srv->lfd, &rc->peer, &rc->local, TFTP_EBADOP,
				   "Malformed request");
		return;
	}
	handle_request(rc, &p);
}

static void on_listen_read(evutil_socket_t fd, short what, void *arg)
{
	struct tftp_server *srv = arg;
	struct mmsghdr mm[RECV_BATCH];
	struct iovec iov[RECV_BATCH];
	struct sockaddr_in peers[RECV_BATCH];
	union {
		char b[CMSG_SPACE(sizeof(struct in_pktinfo))];
		struct cmsghdr align;
	} ctl[RECV_BATCH];
	memset(mm, 0, sizeof(mm));
	for (int i = 0; i < RECV_BATCH; i++) {
		iov[i].iov_base = srv->rxbuf[i];
		iov[i].iov_len = sizeof(srv->rxbuf[i]);
		mm[i].msg_hdr = (struct msghdr){.msg_name = &peers[i],
						.msg_namelen = sizeof(peers[i]),
						.msg_iov = &iov[i],
						.msg_iovlen = 1,
						.msg_control = ctl[i].b,
						.msg_controllen = sizeof(ctl[i].b)};
	}
	int n = recvmmsg(fd, mm, RECV_BATCH, MSG_DONTWAIT, NULL);
	struct pxed_config *cfg = config_ref(srv->cfg);
	for (int i = 0; i < n; i++) {
		struct req_ctx rc = {.srv = srv, .cfg = cfg, .peer = peers[i]};
		rc.local = srv->laddr;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mm[i].msg_hdr); c;
		     c = CMSG_NXTHDR(&mm[i].msg_hdr, c)) {
			if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
				struct in_pktinfo pi;
				memcpy(&pi, CMSG_DATA(c), sizeof(pi));
				rc.local.sin_addr = pi.ipi_spec_dst;
				rc.ifindex = pi.ipi_ifindex;
			}
		}
		netaddr_str(&rc.peer, rc.peer_str, sizeof(rc.peer_str));
		listen_input(&rc, srv->rxbuf[i], mm[i].msg_len);
	}
	config_unref(cfg);
}

/* ---- server ---------------------------------------------------------------------------- */

static int bind_listen(const struct sockaddr_in *addr)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int one = 1, big = 4 << 20, pmtu = IP_PMTUDISC_DONT;
	setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &pmtu, sizeof(pmtu));
	if (bind(fd, (const struct sockaddr *)addr, sizeof(*addr)) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

struct tftp_server *tftp_server_new(struct event_base *base, struct pxed_config *cfg)
{
	char where[32];
	netaddr_str(&cfg->tftp.listen, where, sizeof(where));
	struct tftp_server *srv = calloc(1, sizeof(*srv));
	if (!srv)
		return NULL;
	srv->base = base;
	srv->gso_ok = true;
	srv->lfd = bind_listen(&cfg->tftp.listen);
	if (srv->lfd < 0) {
		log_err("tftp: cannot listen on %s: %s", where, strerror(-srv->lfd));
		free(srv);
		return NULL;
	}
	srv->laddr = cfg->tftp.listen;
	srv->cfg = config_ref(cfg);
	srv->lev = event_new(base, srv->lfd, EV_READ | EV_PERSIST, on_listen_read, srv);
	event_add(srv->lev, NULL);
	log_info("tftp: serving %s on %s (%s)", cfg->tftp.root, where,
		 cfg->tftp.single_port ? "single port" : "a socket per transfer");
	return srv;
}

void tftp_server_set_renderer(struct tftp_server *srv, tftp_render_fn fn, void *ctx)
{
	srv->render = fn;
	srv->render_ctx = ctx;
}

void tftp_server_set_observer(struct tftp_server *srv, tftp_observe_fn fn, void *ctx)
{
	srv->observe = fn;
	srv->observe_ctx = ctx;
}

void tftp_server_reload(struct tftp_server *srv, struct pxed_config *cfg)
{
	const struct sockaddr_in *a = &cfg->tftp.listen, *b = &srv->laddr;
	if (a->sin_addr.s_addr != b->sin_addr.s_addr || a->sin_port != b->sin_port)
		log_warn("tftp: tftp.listen changed: keeping the old socket until a restart");
	config_unref(srv->cfg);
	srv->cfg = config_ref(cfg);
}

void tftp_server_free(struct tftp_server *srv)
{
	if (!srv)
		return;
	srv->observe = NULL; /* the observer may already be gone at shutdown */
	while (srv->xfers)
		xfer_finish(srv->xfers, false, "server shutting down");
	event_free(srv->lev);
	close(srv->lfd);
	config_unref(srv->cfg);
	free(srv);
}
