/* DHCP adapter; see dhcp_io.h. */
#include "dhcp/dhcp_io.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
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
#include "dhcp/dhcp_policy.h"
#include "dhcp/lease_table.h"
#include "store/store.h"

#define BATCH	128
#define MAX_IFS 64
#define PKT_MAX 2048
/* Under load the sockets are read on a timer instead of per datagram (see on_read): every
 * POLL_US (dhcp.batch-interval-ms) at most, entered when datagrams have been arriving less than
 * POLL_US / 2 apart on average, left when a read finds nothing. 0: always per datagram. */
#define POLL_US	 poll_us(s)
#define POLL_MAX (4 * BATCH) /* datagrams handled per poll at most, before the next timer */

struct ifinfo {
	int index;
	char name[IF_NAMESIZE];
	unsigned mtu;
};

struct dhcp_sock {
	struct dhcp_server *srv;
	int fd;
	bool boot_port;
	struct event *ev;      /* readable: one wake-up per datagram (or burst) */
	struct event *poll_ev; /* timer: one wake-up per POLL_US while busy */
	bool polling;	       /* ev is off, poll_ev drives the reads */
	uint64_t last_us;      /* monotonic time of the previous wake-up */
	uint64_t gap_us;       /* average time between wake-ups (EWMA, 1/8) */
	int last_batch_max;    /* the most the last read could return: it returned that many? */
};

union pktinfo_cmsg {
	char b[CMSG_SPACE(sizeof(struct in_pktinfo))];
	struct cmsghdr align;
};

/* recvmmsg's vectors, set up once (each call resets only what the kernel changed). */
struct rxq {
	struct mmsghdr mm[BATCH];
	struct iovec iov[BATCH];
	struct sockaddr_in peer[BATCH];
	union pktinfo_cmsg ctl[BATCH];
};

/* Replies waiting to go out together: sendmmsg on the packet socket for link-layer unicast,
 * then on the UDP socket. Flushed after each half of a receive batch (and for each held
 * OFFER), so never more than BATCH in all, frames that fell back to UDP included. */
struct txq {
	unsigned n, nl2;
	struct mmsghdr mm[BATCH];
	struct iovec iov[BATCH];
	struct sockaddr_in to[BATCH];
	union pktinfo_cmsg ctl[BATCH];
	uint8_t type[BATCH]; /* message type, for the failure log line */
	struct mmsghdr l2mm[BATCH];
	struct iovec l2iov[BATCH];
	struct sockaddr_ll ll[BATCH];
	/* the reply each frame carries, to broadcast it instead when the frame cannot go */
	const struct dhcp_in *l2in[BATCH];
	const struct dhcp_result *l2res[BATCH];
	int l2ifindex[BATCH];
	uint8_t frame[BATCH][20 + 8 + DHCP_REPLY_MAX];
};

struct dhcp_server {
	struct event_base *base;
	struct pxed_config *cfg;
	struct store *store;
	struct lease_table *lt;
	struct dhcp_sock main, boot;
	int pfd; /* AF_PACKET for link-layer unicast, -1 if unavailable */
	size_t nallowed;
	int allowed[MAX_IFS]; /* ifindexes of dhcp.interfaces; none: every interface */
	size_t nifs;
	struct ifinfo ifs[MAX_IFS];
	struct dhcp_stats stats;
	uint64_t drops[DHCP_DROP_MAX];
	uint8_t rx[BATCH][PKT_MAX];
	struct rxq rxq;
	struct txq txq;
	struct dhcp_result res[BATCH];
	struct dhcp_in in[BATCH];
	int ifindex[BATCH];
	int icmp_fd; /* raw ICMP for dhcp.ping-check, -1 if off */
	struct event *icmp_ev;
	uint16_t icmp_seq;
	struct probe *probes; /* offers waiting for their address probe */
};

/* An OFFER held back while pxed pings its address (dhcp.ping-check). */
struct probe {
	struct probe *next;
	struct dhcp_server *srv;
	struct dhcp_sock *sock;
	struct event *timer;
	uint32_t ip;
	uint16_t seq;
	int attempts;
	int ifindex;
	struct dhcp_in in;
	uint8_t pkt[PKT_MAX];
	struct dhcp_result res;
};

/* ---- interfaces ---------------------------------------------------------------------- */

static const struct ifinfo *if_get(struct dhcp_server *srv, int index)
{
	for (size_t i = 0; i < srv->nifs; i++)
		if (srv->ifs[i].index == index)
			return &srv->ifs[i];
	if (srv->nifs == MAX_IFS)
		srv->nifs = 0; /* crude eviction: start over */
	struct ifinfo *f = &srv->ifs[srv->nifs];
	struct ifreq ifr;
	memset(f, 0, sizeof(*f));
	memset(&ifr, 0, sizeof(ifr));
	if (!if_indextoname((unsigned)index, f->name))
		snprintf(f->name, sizeof(f->name), "if%d", index);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", f->name);
	if (ioctl(srv->main.fd, SIOCGIFMTU, &ifr) == 0)
		f->mtu = (unsigned)ifr.ifr_mtu;
	f->index = index;
	srv->nifs++;
	return f;
}

static bool if_allowed(const struct dhcp_server *srv, int index)
{
	if (!srv->nallowed)
		return true;
	for (size_t i = 0; i < srv->nallowed; i++)
		if (srv->allowed[i] == index)
			return true;
	return false;
}

/* Resolve dhcp.interfaces to indexes. Returns 0 or -1 after logging an unknown name. */
/* dhcp.batch-interval-ms of the current configuration, in microseconds. */
static uint64_t poll_us(const struct dhcp_sock *s)
{
	return (uint64_t)s->srv->cfg->dhcp.batch_interval_ms * 1000u;
}

static int load_interfaces(struct dhcp_server *srv, const struct pxed_config *cfg)
{
	srv->nallowed = 0;
	srv->nifs = 0;
	const char *p = cfg->dhcp.interfaces;
	while (p && *p) {
		p += strspn(p, ", \t");
		size_t n = strcspn(p, ", \t");
		if (!n)
			break;
		char name[IF_NAMESIZE];
		snprintf(name, sizeof(name), "%.*s", (int)n, p);
		unsigned idx = if_nametoindex(name);
		if (!idx) {
			log_err("dhcp: interface %s in dhcp.interfaces does not exist", name);
			return -1;
		}
		if (srv->nallowed < MAX_IFS)
			srv->allowed[srv->nallowed++] = (int)idx;
		p += n;
	}
	return 0;
}

/* ---- sockets --------------------------------------------------------------------------- */

static int open_udp(const struct sockaddr_in *addr, uint16_t port, const char *bind_dev)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int one = 1, big = 8 << 20;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one));
	setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	if (bind_dev &&
	    setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, bind_dev, (socklen_t)strlen(bind_dev)) < 0)
		goto out_err;
	struct sockaddr_in a = *addr;
	a.sin_port = htons(port);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		goto out_err;
	return fd;
out_err:;
	int e = errno;
	close(fd);
	return -e;
}

/* RFC 1071 checksum over a buffer, folded. */
static uint16_t csum(const void *data, size_t len, uint32_t sum)
{
	const uint8_t *p = data;
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)(p[len - 1] << 8);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* An IPv4/UDP datagram straight to the client's MAC, for a client that has no address yet:
 * built into frame, returns its length. */
static size_t build_l2(struct dhcp_server *srv, uint8_t *frame, uint32_t src,
		       const struct dhcp_dest *d, const uint8_t *payload, size_t len)
{
	struct iphdr *ip = (struct iphdr *)frame;
	struct udphdr *udp = (struct udphdr *)(frame + 20);
	memset(frame, 0, 28);
	ip->version = 4;
	ip->ihl = 5;
	ip->ttl = 64;
	ip->protocol = IPPROTO_UDP;
	ip->saddr = htonl(src);
	ip->daddr = htonl(d->ip);
	ip->tot_len = htons((uint16_t)(28 + len));
	ip->check = htons((uint16_t)~csum(ip, 20, 0));
	udp->source = htons(ntohs(srv->cfg->dhcp.listen.sin_port));
	udp->dest = htons(d->port);
	udp->len = htons((uint16_t)(8 + len));
	memcpy(frame + 28, payload, len);
	uint8_t pseudo[12];
	memcpy(pseudo, &ip->saddr, 4);
	memcpy(pseudo + 4, &ip->daddr, 4);
	pseudo[8] = 0;
	pseudo[9] = IPPROTO_UDP;
	memcpy(pseudo + 10, &udp->len, 2);
	uint16_t c = (uint16_t)~csum(frame + 20, 8 + len, csum(pseudo, 12, 0));
	udp->check = htons(c ? c : 0xffff);
	return 28 + len;
}

/* Queue r as a UDP datagram to d (link-layer unicast becomes a broadcast). */
static void queue_udp(struct dhcp_server *srv, int ifindex, const struct dhcp_in *in,
		      const struct dhcp_result *r, struct dhcp_dest d)
{
	struct txq *q = &srv->txq;
	unsigned k = q->n++;
	if (d.l2_unicast) { /* no packet socket (or the frame failed): broadcast instead */
		d.ip = 0xffffffffu;
		d.broadcast = true;
	}
	q->to[k] = (struct sockaddr_in){
		.sin_family = AF_INET, .sin_port = htons(d.port), .sin_addr.s_addr = htonl(d.ip)};
	q->iov[k] = (struct iovec){(void *)r->reply, r->reply_len};
	q->type[k] = r->type_out;
	struct msghdr *m = &q->mm[k].msg_hdr;
	*m = (struct msghdr){.msg_name = &q->to[k],
			     .msg_namelen = sizeof(q->to[k]),
			     .msg_iov = &q->iov[k],
			     .msg_iovlen = 1};
	if (ifindex > 0) { /* out of the interface the request came in on, from its address */
		struct cmsghdr *c = &q->ctl[k].align;
		memset(&q->ctl[k], 0, sizeof(q->ctl[k]));
		c->cmsg_level = IPPROTO_IP;
		c->cmsg_type = IP_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(struct in_pktinfo));
		struct in_pktinfo pi = {.ipi_ifindex = ifindex,
					.ipi_spec_dst.s_addr = htonl(in->if_addr)};
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
		m->msg_control = q->ctl[k].b;
		m->msg_controllen = sizeof(q->ctl[k].b);
	}
}

/* Queue one reply per its destination; it goes out with the next flush_replies. r and in are
 * borrowed until then. */
static void queue_reply(struct dhcp_server *srv, int ifindex, const struct dhcp_in *in,
			const struct dhcp_result *r)
{
	struct txq *q = &srv->txq;
	const struct dhcp_dest *d = &r->dest;
	if (!(d->l2_unicast && srv->pfd >= 0 && ifindex > 0 && d->hlen == 6)) {
		queue_udp(srv, ifindex, in, r, *d);
		return;
	}
	unsigned k = q->nl2++;
	size_t len = build_l2(srv, q->frame[k], in->if_addr, d, r->reply, r->reply_len);
	q->ll[k] = (struct sockaddr_ll){.sll_family = AF_PACKET,
					.sll_protocol = htons(ETH_P_IP),
					.sll_ifindex = ifindex,
					.sll_halen = 6};
	memcpy(q->ll[k].sll_addr, d->chaddr, 6);
	q->l2iov[k] = (struct iovec){q->frame[k], len};
	q->l2mm[k].msg_hdr = (struct msghdr){.msg_name = &q->ll[k],
					     .msg_namelen = sizeof(q->ll[k]),
					     .msg_iov = &q->l2iov[k],
					     .msg_iovlen = 1};
	q->l2in[k] = in;
	q->l2res[k] = r;
	q->l2ifindex[k] = ifindex;
}

/* sendmmsg all n messages; a message the kernel refuses is skipped and reported to failed
 * (which gets its index and errno). Returns the number sent. */
static unsigned send_all(int fd, struct mmsghdr *mm, unsigned n,
			 void (*failed)(struct dhcp_server *, unsigned, int),
			 struct dhcp_server *srv)
{
	unsigned i = 0, sent = 0;
	while (i < n) {
		int rc = sendmmsg(fd, mm + i, n - i, MSG_DONTWAIT);
		if (rc > 0) {
			i += (unsigned)rc;
			sent += (unsigned)rc;
		} else if (rc < 0 && errno == EINTR) {
			continue;
		} else {
			failed(srv, i, rc < 0 ? errno : EIO);
			i++;
		}
	}
	return sent;
}

/* A link-layer frame could not go: the reply is broadcast instead (like without a packet
 * socket). */
static void l2_failed(struct dhcp_server *srv, unsigned k, int err)
{
	struct txq *q = &srv->txq;
	queue_udp(srv, q->l2ifindex[k], q->l2in[k], q->l2res[k], q->l2res[k]->dest);
}

static void udp_failed(struct dhcp_server *srv, unsigned k, int err)
{
	log_warn("dhcp: sending %s failed: %s", dhcp_type_str(srv->txq.type[k]), strerror(err));
}

/* Send every queued reply: one sendmmsg per socket for the whole batch. */
static void flush_replies(struct dhcp_server *srv, struct dhcp_sock *s)
{
	struct txq *q = &srv->txq;
	if (q->nl2)
		srv->stats.replied += send_all(srv->pfd, q->l2mm, q->nl2, l2_failed, srv);
	if (q->n)
		srv->stats.replied += send_all(s->fd, q->mm, q->n, udp_failed, srv);
	q->n = q->nl2 = 0;
}

/* Send one reply now (an OFFER held for its address probe). */
static void send_reply(struct dhcp_server *srv, struct dhcp_sock *s, int ifindex,
		       const struct dhcp_in *in, const struct dhcp_result *r)
{
	queue_reply(srv, ifindex, in, r);
	flush_replies(srv, s);
}

/* ---- logging ----------------------------------------------------------------------------- */

static void fmt_mac(const uint8_t *m, unsigned n, char *out, size_t cap)
{
	size_t o = 0;
	out[0] = 0;
	for (unsigned i = 0; i < n && o + 4 <= cap; i++)
		o += (size_t)snprintf(out + o, cap - o, "%s%02x", i ? ":" : "", m[i]);
}

static void log_dropped_options(const struct dhcp_result *r, const char *mac)
{
	char list[80] = "";
	size_t o = 0;
	for (unsigned i = 0; i < r->ndropped && o < sizeof(list); i++)
		o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%u", i ? "," : "",
				      r->dropped[i]);
	log_debug("dhcp %s: left out option(s) %s (reply limit %zu bytes)", mac, list,
		  r->max_reply);
}

static void log_decision(const struct dhcp_result *r, const struct dhcp_in *in)
{
	enum log_level lvl = r->verdict == DHCP_V_DROP ? LOG_LVL_DEBUG : LOG_LVL_INFO;
	if (r->drop == DHCP_DROP_POOL_EXHAUSTED || r->drop == DHCP_DROP_TOO_BIG)
		lvl = LOG_LVL_WARN;
	if (!log_enabled(lvl))
		return;
	char mac[64], ip[INET_ADDRSTRLEN] = "-", file[300] = "";
	fmt_mac(r->chaddr, r->hlen, mac, sizeof(mac));
	struct in_addr a = {htonl(r->yiaddr)};
	if (r->yiaddr)
		inet_ntop(AF_INET, &a, ip, sizeof(ip));
	if (r->boot.has_file) {
		char esc[280];
		str_escape(esc, sizeof(esc), r->boot.file, strlen(r->boot.file));
		snprintf(file, sizeof(file), " file=%s", esc);
	}
	const char *arch = r->boot.arch_name ? r->boot.arch_name : "-";
	const char *src = r->boot.arch_src ? r->boot.arch_src : "-";
	char archf[80] = "";
	static const char *stages[] = {"none", "pxe", "http", "ipxe"};
	if (r->boot.arch_name)
		snprintf(archf, sizeof(archf), " arch=%s(%s) stage=%s", arch, src,
			 stages[r->boot.stage]);
	if (!mac[0])
		snprintf(mac, sizeof(mac), "-");
	if (r->verdict == DHCP_V_REPLY)
		log_msg(lvl, "dhcp %s %s%s%s node=%s -> %s %s%s (%s)", mac,
			dhcp_type_str(r->type_in), in->boot_port ? "@4011" : "", archf,
			r->node ? r->node : "-", dhcp_type_str(r->type_out), ip, file, r->reason);
	else
		log_msg(lvl, "dhcp %s %s%s node=%s -> %s %s (%s)", mac, dhcp_type_str(r->type_in),
			in->boot_port ? "@4011" : "", r->node ? r->node : "-",
			r->verdict == DHCP_V_DROP ? "dropped" : "no reply", ip, r->reason);
	if (r->ndropped && log_enabled(LOG_LVL_DEBUG))
		log_dropped_options(r, mac);
}

/* ---- the batch --------------------------------------------------------------------------- */

/* Point the receive vectors at srv->rx (once). */
static void rx_init(struct dhcp_server *srv)
{
	struct rxq *q = &srv->rxq;
	for (int i = 0; i < BATCH; i++) {
		q->iov[i] = (struct iovec){srv->rx[i], PKT_MAX};
		q->mm[i].msg_hdr = (struct msghdr){.msg_name = &q->peer[i],
						   .msg_namelen = sizeof(q->peer[i]),
						   .msg_iov = &q->iov[i],
						   .msg_iovlen = 1,
						   .msg_control = q->ctl[i].b,
						   .msg_controllen = sizeof(q->ctl[i].b)};
	}
}

/* Receive up to BATCH datagrams (at most dhcp.commit-batch: each batch is one commit); fill
 * srv->in[]. Returns the count. */
static int receive_batch(struct dhcp_server *srv, struct dhcp_sock *s)
{
	struct rxq *q = &srv->rxq;
	unsigned max = srv->cfg->dhcp.commit_batch;
	if (max < 1 || max > BATCH)
		max = BATCH;
	s->last_batch_max = (int)max;
	int n = recvmmsg(s->fd, q->mm, max, MSG_DONTWAIT, NULL);
	for (int i = 0; i < n; i++) {
		struct dhcp_in *in = &srv->in[i];
		struct msghdr *m = &q->mm[i].msg_hdr;
		memset(in, 0, sizeof(*in));
		in->pkt = srv->rx[i];
		in->len = q->mm[i].msg_len;
		in->src_ip = ntohl(q->peer[i].sin_addr.s_addr);
		in->src_port = ntohs(q->peer[i].sin_port);
		in->boot_port = s->boot_port;
		srv->ifindex[i] = 0;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c)) {
			if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
				struct in_pktinfo pi;
				memcpy(&pi, CMSG_DATA(c), sizeof(pi));
				in->if_addr = ntohl(pi.ipi_spec_dst.s_addr);
				srv->ifindex[i] = pi.ipi_ifindex;
			}
		}
		/* what the kernel changed, back for the next call */
		m->msg_namelen = sizeof(q->peer[i]);
		m->msg_controllen = sizeof(q->ctl[i].b);
		m->msg_flags = 0;
		const struct ifinfo *f = if_get(srv, srv->ifindex[i]);
		in->ifname = f->name;
		in->if_mtu = f->mtu;
	}
	return n < 0 ? 0 : n;
}

/* ---- address probe (dhcp.ping-check) ------------------------------------------------------ */

static void probe_free(struct probe *pr)
{
	struct dhcp_server *srv = pr->srv;
	for (struct probe **pp = &srv->probes; *pp; pp = &(*pp)->next)
		if (*pp == pr) {
			*pp = pr->next;
			break;
		}
	if (pr->timer)
		event_free(pr->timer);
	free(pr);
}

/* Send one ICMP echo request to ip. */
static int send_echo(struct dhcp_server *srv, uint32_t ip, uint16_t seq)
{
	uint8_t pkt[16] = {8, 0, 0, 0}; /* echo request */
	uint16_t id = (uint16_t)getpid();
	pkt[4] = (uint8_t)(id >> 8);
	pkt[5] = (uint8_t)id;
	pkt[6] = (uint8_t)(seq >> 8);
	pkt[7] = (uint8_t)seq;
	memcpy(pkt + 8, "pxed-dhcp", 8);
	uint16_t c = (uint16_t)~csum(pkt, sizeof(pkt), 0);
	pkt[2] = (uint8_t)(c >> 8);
	pkt[3] = (uint8_t)c;
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(ip)};
	return sendto(srv->icmp_fd, pkt, sizeof(pkt), MSG_DONTWAIT, (struct sockaddr *)&to,
		      sizeof(to)) < 0
		       ? -errno
		       : 0;
}

/* No answer in time: the address is free, the held OFFER goes out. */
static void on_probe_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct probe *pr = arg; /* the decision was logged when the probe started */
	send_reply(pr->srv, pr->sock, pr->ifindex, &pr->in, &pr->res);
	probe_free(pr);
}

/* Hold the OFFER in r and ping its address. Returns 0 when held, -1 to send it now. */
static int probe_start(struct dhcp_server *srv, struct dhcp_sock *s, int ifindex,
		       const struct dhcp_in *in, const struct dhcp_result *r, int attempts)
{
	struct probe *pr = calloc(1, sizeof(*pr));
	if (!pr)
		return -1;
	pr->srv = srv;
	pr->sock = s;
	pr->ifindex = ifindex;
	pr->ip = r->yiaddr;
	pr->seq = ++srv->icmp_seq;
	pr->attempts = attempts;
	pr->in = *in;
	memcpy(pr->pkt, in->pkt, in->len);
	pr->in.pkt = pr->pkt;
	pr->res = *r;
	pr->timer = evtimer_new(srv->base, on_probe_timeout, pr);
	if (!pr->timer || send_echo(srv, pr->ip, pr->seq) < 0) {
		if (pr->timer)
			event_free(pr->timer);
		free(pr);
		return -1;
	}
	unsigned ms = srv->cfg->dhcp.ping_timeout_ms;
	struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
	evtimer_add(pr->timer, &tv);
	pr->next = srv->probes;
	srv->probes = pr;
	return 0;
}

/* Someone answered: the address is in use by a host pxed does not know. Quarantine it
 * durably and decide again for the waiting client. */
static void probe_conflict(struct probe *pr)
{
	struct dhcp_server *srv = pr->srv;
	char ip[INET_ADDRSTRLEN];
	struct in_addr a = {htonl(pr->ip)};
	inet_ntop(AF_INET, &a, ip, sizeof(ip));
	log_warn("dhcp: %s answers ping: in use by an unknown host, quarantined for %u s", ip,
		 srv->cfg->dhcp.decline_time);
	struct dhcp_lease l = {.ip = pr->ip, .state = LEASE_DECLINED, .arch = 0xffff};
	int64_t now = (int64_t)time(NULL);
	l.starts = now;
	l.ends = now + srv->cfg->dhcp.decline_time;
	snprintf(l.hostname, sizeof(l.hostname), "(answered ping)");
	lt_put(srv->lt, &l);
	store_put_lease(srv->store, &l);
	if (store_commit(srv->store) < 0)
		log_err("dhcp: lease store commit failed: %s", store_errmsg(srv->store));
	struct dhcp_result *r = &pr->res;
	dhcp_policy(srv->cfg, srv->lt, &pr->in, now, r);
	log_decision(r, &pr->in);
	if (r->verdict == DHCP_V_REPLY && r->probe && pr->attempts < 3 &&
	    probe_start(srv, pr->sock, pr->ifindex, &pr->in, r, pr->attempts + 1) == 0) {
		probe_free(pr);
		return;
	}
	if (r->verdict == DHCP_V_REPLY)
		send_reply(srv, pr->sock, pr->ifindex, &pr->in, r);
	probe_free(pr);
}

static void on_icmp(evutil_socket_t fd, short what, void *arg)
{
	struct dhcp_server *srv = arg;
	uint8_t buf[512];
	struct sockaddr_in from;
	socklen_t fl = sizeof(from);
	ssize_t n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
	if (n < 28)
		return;
	size_t ihl = (size_t)(buf[0] & 0x0f) * 4;
	if ((size_t)n < ihl + 8 || buf[ihl] != 0 /* echo reply */)
		return;
	uint16_t id = (uint16_t)(buf[ihl + 4] << 8 | buf[ihl + 5]);
	uint16_t seq = (uint16_t)(buf[ihl + 6] << 8 | buf[ihl + 7]);
	if (id != (uint16_t)getpid())
		return;
	for (struct probe *pr = srv->probes; pr; pr = pr->next)
		if (pr->seq == seq && pr->ip == ntohl(from.sin_addr.s_addr)) {
			probe_conflict(pr);
			return;
		}
}

/* A boot event for a known node ("dhcp-offer", "dhcp-ack", ...), staged with the batch. */
static void stage_event(struct dhcp_server *srv, const struct dhcp_result *r,
			const struct dhcp_in *in)
{
	char kind[32], detail[640], ip[INET_ADDRSTRLEN] = "-";
	const char *t =
		r->verdict == DHCP_V_REPLY ? dhcp_type_str(r->type_out) : dhcp_type_str(r->type_in);
	snprintf(kind, sizeof(kind), "dhcp-%s", t);
	for (char *c = kind; *c; c++)
		*c = (char)(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
	struct in_addr a = {htonl(r->yiaddr)};
	if (r->yiaddr)
		inet_ntop(AF_INET, &a, ip, sizeof(ip));
	snprintf(detail, sizeof(detail), "%s%s %s arch=%s(%s) file=%s (%s)",
		 dhcp_type_str(r->type_in), in->boot_port ? "@4011" : "", ip,
		 r->boot.arch_name ? r->boot.arch_name : "-",
		 r->boot.arch_src ? r->boot.arch_src : "-", r->boot.has_file ? r->boot.file : "-",
		 r->reason);
	struct store_event ev = {.time_ms = (int64_t)time(NULL) * 1000,
				 .node = r->node,
				 .mac = r->chaddr,
				 .mac_len = r->hlen,
				 .kind = kind,
				 .detail = detail};
	store_add_event(srv->store, &ev);
}

/* Log the decision on batch entry i and queue its reply (or hold an OFFER for its probe). */
static void answer(struct dhcp_server *srv, struct dhcp_sock *s, int i)
{
	struct dhcp_result *r = &srv->res[i];
	log_decision(r, &srv->in[i]);
	if (r->verdict != DHCP_V_REPLY)
		return;
	if (r->probe && srv->icmp_fd >= 0 &&
	    probe_start(srv, s, srv->ifindex[i], &srv->in[i], r, 0) == 0)
		return; /* the OFFER goes out when the probe times out */
	queue_reply(srv, srv->ifindex[i], &srv->in[i], r);
}

static uint64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Read and handle one batch (at most dhcp.commit-batch datagrams): decide every datagram;
 * answer what needs no durable change at once (OFFERs, NAKs, INFORM and boot-server ACKs);
 * make the batch's lease changes durable with one commit (one fsync); only then send the ACKs
 * that bind a lease. Returns the number of datagrams read. */
static int handle_batch(struct dhcp_sock *s)
{
	struct dhcp_server *srv = s->srv;
	int n = receive_batch(srv, s);
	int64_t now = (int64_t)time(NULL);
	int staged = 0, persist = 0;
	for (int i = 0; i < n; i++) {
		struct dhcp_result *r = &srv->res[i];
		srv->stats.received++;
		if (!if_allowed(srv, srv->ifindex[i])) {
			r->verdict = DHCP_V_DROP;
			r->persist = false;
			continue;
		}
		dhcp_policy(srv->cfg, srv->lt, &srv->in[i], now, r);
		if (r->verdict == DHCP_V_DROP) {
			srv->stats.drops++;
			srv->drops[r->drop]++;
		}
		if (r->node && (r->verdict == DHCP_V_REPLY || r->persist))
			stage_event(srv, r, &srv->in[i]);
		if (r->persist) {
			persist++;
			staged += store_put_lease(srv->store, &r->lease) == 0;
		} else {
			answer(srv, s, i);
		}
	}
	flush_replies(srv, s);
	if (!persist && !store_staged(srv->store))
		return n;
	/* a failed put makes the whole batch fail here: nothing is acknowledged */
	if (store_commit(srv->store) < 0) {
		log_err("dhcp: lease store commit failed: %s; not acknowledging %d leases",
			store_errmsg(srv->store), persist);
		return n;
	}
	srv->stats.commits++;
	srv->stats.committed += (uint64_t)staged;
	for (int i = 0; i < n; i++)
		if (srv->res[i].persist)
			answer(srv, s, i); /* an ACK is sent only after its lease is durable */
	flush_replies(srv, s);
	return n;
}

/* Switch s to reading on a timer: the next read in POLL_US from t0 (at once if the batch took
 * longer than that). */
static void poll_next(struct dhcp_sock *s, uint64_t t0)
{
	uint64_t spent = mono_us() - t0;
	struct timeval tv = {0, spent < POLL_US ? (suseconds_t)(POLL_US - spent) : 0};
	evtimer_add(s->poll_ev, &tv);
}

/* A datagram arrived. When they arrive faster than one per POLL_US / 2 on average, waking
 * up for each costs more than it saves: switch to reading every POLL_US, so that one wake-up,
 * one commit (one fsync) and one sendmmsg serve all that arrived meanwhile. This adds at most
 * POLL_US to a reply's delay, and only under load. */
static void on_read(evutil_socket_t fd, short what, void *arg)
{
	struct dhcp_sock *s = arg;
	uint64_t t0 = mono_us();
	uint64_t gap = t0 - s->last_us;
	s->gap_us = (7 * s->gap_us + (gap < 1000000 ? gap : 1000000)) / 8;
	s->last_us = t0;
	handle_batch(s);
	if (POLL_US && s->gap_us < POLL_US / 2 && !s->polling) {
		event_del(s->ev);
		s->polling = true;
		poll_next(s, t0);
	}
}

/* The poll timer: read what arrived (in batches, until the socket is empty or POLL_MAX
 * datagrams were handled); when nothing did, go back to waking up per datagram. */
static void on_poll(evutil_socket_t fd, short what, void *arg)
{
	struct dhcp_sock *s = arg;
	uint64_t t0 = mono_us();
	int n, total = 0;
	s->last_us = t0;
	do {
		n = handle_batch(s);
		total += n;
	} while (n > 0 && n == s->last_batch_max && total < POLL_MAX);
	if (total > 0) {
		poll_next(s, t0);
		return;
	}
	s->polling = false;
	s->gap_us = POLL_US; /* back to per-datagram reads until the pace is known again */
	event_add(s->ev, NULL);
}

/* ---- lifecycle ----------------------------------------------------------------------------- */

static int load_lease(void *ctx, const struct dhcp_lease *l)
{
	return lt_put(ctx, l) ? 0 : -ENOMEM;
}

static int open_sock(struct dhcp_server *srv, struct dhcp_sock *s, uint16_t port, bool boot)
{
	const char *dev = srv->nallowed == 1 ? srv->cfg->dhcp.interfaces : NULL;
	char devname[IF_NAMESIZE];
	if (dev) {
		snprintf(devname, sizeof(devname), "%.*s",
			 (int)strcspn(dev + strspn(dev, ", \t"), ", \t"),
			 dev + strspn(dev, ", \t"));
		dev = devname;
	}
	s->srv = srv;
	s->boot_port = boot;
	s->fd = open_udp(&srv->cfg->dhcp.listen, port, dev);
	if (s->fd < 0) {
		log_err("dhcp: cannot listen on UDP port %u: %s", port, strerror(-s->fd));
		return -1;
	}
	s->ev = event_new(srv->base, s->fd, EV_READ | EV_PERSIST, on_read, s);
	s->poll_ev = evtimer_new(srv->base, on_poll, s);
	if (!s->ev || !s->poll_ev) {
		log_err("dhcp: out of memory");
		return -1;
	}
	s->gap_us = POLL_US;
	s->last_us = mono_us();
	event_add(s->ev, NULL);
	return 0;
}

struct dhcp_server *dhcp_server_new(struct event_base *base, struct pxed_config *cfg,
				    struct store *st)
{
	struct dhcp_server *srv = calloc(1, sizeof(*srv));
	if (!srv)
		return NULL;
	srv->base = base;
	srv->cfg = config_ref(cfg);
	srv->store = st;
	srv->main.fd = srv->boot.fd = srv->pfd = srv->icmp_fd = -1;
	rx_init(srv);
	srv->lt = lt_new();
	if (!srv->lt || load_interfaces(srv, cfg) < 0)
		goto out_free;
	if (store_load_leases(st, load_lease, srv->lt) < 0) {
		log_err("dhcp: cannot load leases: %s", store_errmsg(st));
		goto out_free;
	}
	if (open_sock(srv, &srv->main, ntohs(cfg->dhcp.listen.sin_port), false) < 0 ||
	    open_sock(srv, &srv->boot, cfg->dhcp.proxy_port, true) < 0)
		goto out_free;
	if (cfg->dhcp.ping_check) {
		srv->icmp_fd =
			socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ICMP);
		if (srv->icmp_fd < 0) {
			log_warn("dhcp: ping-check off: no ICMP socket (%s)", strerror(errno));
		} else {
			srv->icmp_ev =
				event_new(base, srv->icmp_fd, EV_READ | EV_PERSIST, on_icmp, srv);
			event_add(srv->icmp_ev, NULL);
		}
	}
	srv->pfd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (srv->pfd < 0)
		log_warn("dhcp: no packet socket (%s): replies to clients without an address "
			 "will be broadcast",
			 strerror(errno));
	log_info("dhcp: %s on port %u and %u, %zu leases loaded",
		 cfg->dhcp.mode == DHCP_MODE_PROXY ? "proxyDHCP" : "DHCP server",
		 ntohs(cfg->dhcp.listen.sin_port), cfg->dhcp.proxy_port, lt_count(srv->lt));
	return srv;
out_free:
	dhcp_server_free(srv);
	return NULL;
}

void dhcp_server_reload(struct dhcp_server *srv, struct pxed_config *cfg)
{
	if (cfg->dhcp.listen.sin_port != srv->cfg->dhcp.listen.sin_port ||
	    cfg->dhcp.proxy_port != srv->cfg->dhcp.proxy_port ||
	    (cfg->dhcp.interfaces
		     ? strcmp(cfg->dhcp.interfaces,
			      srv->cfg->dhcp.interfaces ? srv->cfg->dhcp.interfaces : "")
		     : srv->cfg->dhcp.interfaces != NULL))
		log_warn("dhcp: ports or interfaces changed: they take effect after a restart");
	config_unref(srv->cfg);
	srv->cfg = config_ref(cfg);
	srv->nifs = 0;		   /* MTUs may have changed */
	lt_reset_cursors(srv->lt); /* ranges and reservations may have changed */
}

bool dhcp_server_mac_of(struct dhcp_server *srv, uint32_t ip, uint8_t mac[6])
{
	const struct dhcp_lease *l = srv ? lt_by_ip(srv->lt, ip) : NULL;
	if (!l || l->hlen != 6 || l->state == LEASE_DECLINED)
		return false;
	memcpy(mac, l->chaddr, 6);
	return true;
}

void dhcp_server_stats(const struct dhcp_server *srv, struct dhcp_stats *out)
{
	*out = srv->stats;
}

void dhcp_server_free(struct dhcp_server *srv)
{
	if (!srv)
		return;
	struct dhcp_sock *socks[] = {&srv->main, &srv->boot};
	for (int i = 0; i < 2; i++) {
		if (socks[i]->ev)
			event_free(socks[i]->ev);
		if (socks[i]->poll_ev)
			event_free(socks[i]->poll_ev);
		if (socks[i]->fd >= 0)
			close(socks[i]->fd);
	}
	if (srv->pfd >= 0)
		close(srv->pfd);
	while (srv->probes)
		probe_free(srv->probes);
	if (srv->icmp_ev)
		event_free(srv->icmp_ev);
	if (srv->icmp_fd >= 0)
		close(srv->icmp_fd);
	lt_free(srv->lt);
	config_unref(srv->cfg);
	free(srv);
}
