/*
 * tftp-floor - a minimal TFTP read server used only as a benchmark reference (not part of pxed).
 *
 * What a TFTP server cannot do less of on this kernel: one epoll loop, one connected UDP socket
 * per transfer, one recv() per ACK and one send per DATA block (a window as one UDP GSO send,
 * like pxed). DATA payloads come from one preallocated buffer: no file I/O, no timers, no
 * retransmission, no logging, no limits. The file named in the RRQ is only stat()ed (beneath
 * --root) for its size, so transfers have the right length and tsize. Options: blksize
 * (8..65464), tsize, windowsize (1..64); anything else is ignored. A lost packet stalls its
 * transfer for good: run it on loopback only.
 *
 * Its server CPU per GiB and its MB/s under the same load as the real servers are the floor
 * those figures can approach: the rest is the kernel's UDP path (on loopback including the
 * delivery into the client's socket) and the client.
 *
 * Build: cc -O2 -o tftp-floor bench/tftp-floor.c
 * Run:   tftp-floor --listen 127.0.0.1:69 --root DIR
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif

enum { OP_RRQ = 1, OP_DATA = 3, OP_ACK = 4, OP_ERROR = 5, OP_OACK = 6 };

#define MAX_BLKSIZE 65464
#define MAX_WINDOW  64
#define UDP_MAX	    65507 /* IPv4 */

struct xfer {
	int fd;
	uint64_t size, nblocks, acked, sent_hi;
	unsigned blksize, window;
};

static uint8_t *payload; /* MAX_BLKSIZE bytes of zeros: every block's contents */

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static uint64_t block_len(const struct xfer *x, uint64_t i)
{
	uint64_t off = (i - 1) * x->blksize;
	if (off >= x->size)
		return 0;
	return x->size - off < x->blksize ? x->size - off : x->blksize;
}

/* Send blocks [from, from + count): one sendmsg per 64 KiB chunk, gathering each block's
 * header and the shared payload (UDP GSO when a chunk holds more than one block). */
static void send_window(struct xfer *x, uint64_t from)
{
	uint64_t count = x->nblocks - from + 1;
	if (count > x->window)
		count = x->window;
	size_t seg = x->blksize + 4, per = UDP_MAX / seg;
	if (per > MAX_WINDOW)
		per = MAX_WINDOW;
	while (count) {
		size_t n = count < per ? (size_t)count : per;
		uint8_t hdr[MAX_WINDOW][4];
		struct iovec iov[2 * MAX_WINDOW];
		for (size_t i = 0; i < n; i++) {
			uint64_t b = from + i;
			hdr[i][0] = 0;
			hdr[i][1] = OP_DATA;
			hdr[i][2] = (uint8_t)(b >> 8);
			hdr[i][3] = (uint8_t)b;
			iov[2 * i] = (struct iovec){hdr[i], 4};
			iov[2 * i + 1] = (struct iovec){payload, (size_t)block_len(x, b)};
		}
		union {
			char b[CMSG_SPACE(sizeof(uint16_t))];
			struct cmsghdr align;
		} ctl;
		struct msghdr m = {.msg_iov = iov, .msg_iovlen = 2 * n};
		if (n > 1) {
			uint16_t s = (uint16_t)seg;
			m.msg_control = ctl.b;
			m.msg_controllen = sizeof(ctl.b);
			struct cmsghdr *c = CMSG_FIRSTHDR(&m);
			c->cmsg_level = SOL_UDP;
			c->cmsg_type = UDP_SEGMENT;
			c->cmsg_len = CMSG_LEN(sizeof(s));
			memcpy(CMSG_DATA(c), &s, sizeof(s));
		}
		sendmsg(x->fd, &m, MSG_DONTWAIT);
		if (from + n - 1 > x->sent_hi)
			x->sent_hi = from + n - 1;
		from += n;
		count -= n;
	}
}

/* Parse "file\0mode\0[opt\0val\0]..." of an RRQ into x; the OACK goes into oack. */
static int parse_rrq(const uint8_t *buf, size_t len, int rootfd, struct xfer *x, uint8_t *oack,
		     size_t *oack_len)
{
	const char *p = (const char *)buf + 2, *end = (const char *)buf + len;
	const char *file = p, *f[40];
	int nf = 0;
	while (p < end && nf < 40) {
		const char *z = memchr(p, 0, (size_t)(end - p));
		if (!z)
			break;
		f[nf++] = p;
		p = z + 1;
	}
	if (nf < 2)
		return -1;
	while (*file == '/')
		file++;
	struct stat st;
	if (fstatat(rootfd, file, &st, 0) < 0 || !S_ISREG(st.st_mode))
		return -1;
	x->size = (uint64_t)st.st_size;
	x->blksize = 512;
	x->window = 1;
	size_t o = 2;
	oack[0] = 0;
	oack[1] = OP_OACK;
	for (int i = 2; i + 1 < nf; i += 2) {
		long v = atol(f[i + 1]);
		char val[32];
		if (!strcasecmp(f[i], "blksize") && v >= 8) {
			x->blksize = v > MAX_BLKSIZE ? MAX_BLKSIZE : (unsigned)v;
			snprintf(val, sizeof(val), "%u", x->blksize);
		} else if (!strcasecmp(f[i], "windowsize") && v >= 1) {
			x->window = v > MAX_WINDOW ? MAX_WINDOW : (unsigned)v;
			snprintf(val, sizeof(val), "%u", x->window);
		} else if (!strcasecmp(f[i], "tsize")) {
			snprintf(val, sizeof(val), "%llu", (unsigned long long)x->size);
		} else {
			continue;
		}
		size_t kl = strlen(f[i]) + 1, vl = strlen(val) + 1;
		if (o + kl + vl > 512)
			break;
		memcpy(oack + o, f[i], kl);
		memcpy(oack + o + kl, val, vl);
		o += kl + vl;
	}
	x->nblocks = x->size / x->blksize + 1;
	*oack_len = o > 2 ? o : 0;
	return 0;
}

static void start(int ep, int rootfd, const struct sockaddr_in *local, const uint8_t *buf,
		  size_t len, const struct sockaddr_in *peer)
{
	struct xfer *x = calloc(1, sizeof(*x));
	uint8_t oack[512];
	size_t oack_len;
	if (!x)
		return;
	if (len < 4 || buf[1] != OP_RRQ || parse_rrq(buf, len, rootfd, x, oack, &oack_len) < 0) {
		free(x);
		return;
	}
	struct sockaddr_in a = *local;
	a.sin_port = 0;
	x->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (x->fd < 0 || bind(x->fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    connect(x->fd, (const struct sockaddr *)peer, sizeof(*peer)) < 0) {
		if (x->fd >= 0)
			close(x->fd);
		free(x);
		return;
	}
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = x};
	epoll_ctl(ep, EPOLL_CTL_ADD, x->fd, &ev);
	if (oack_len)
		send(x->fd, oack, oack_len, MSG_DONTWAIT);
	else
		send_window(x, 1);
}

static void finish(struct xfer *x)
{
	close(x->fd); /* also leaves the epoll set */
	free(x);
}

/* One datagram on a transfer socket: an ACK moves the window, anything else ends it. */
static void on_xfer(struct xfer *x)
{
	uint8_t buf[516];
	ssize_t n = recv(x->fd, buf, sizeof(buf), MSG_DONTWAIT);
	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			finish(x);
		return;
	}
	if (n < 4 || buf[1] != OP_ACK) {
		finish(x);
		return;
	}
	uint16_t b = (uint16_t)(buf[2] << 8 | buf[3]);
	/* the first index above acked whose low 16 bits are b, if sent */
	uint64_t idx = (x->acked & ~(uint64_t)0xffff) | b;
	if (idx < x->acked)
		idx += 0x10000;
	if (idx == x->acked && !(x->acked == 0 && x->sent_hi == 0))
		return; /* duplicate */
	if (idx > x->sent_hi)
		return;
	x->acked = idx;
	if (x->acked == x->nblocks) {
		finish(x);
		return;
	}
	send_window(x, idx + 1);
}

int main(int argc, char **argv)
{
	const char *listen_at = "127.0.0.1:69", *root = ".";
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--listen"))
			listen_at = argv[i + 1];
		else if (!strcmp(argv[i], "--root"))
			root = argv[i + 1];
	}
	char host[64];
	snprintf(host, sizeof(host), "%s", listen_at);
	char *colon = strrchr(host, ':');
	struct sockaddr_in la = {.sin_family = AF_INET};
	if (!colon || inet_pton(AF_INET, (*colon = 0, host), &la.sin_addr) != 1) {
		fprintf(stderr, "usage: tftp-floor --listen ADDR:PORT --root DIR\n");
		return 2;
	}
	la.sin_port = htons((uint16_t)atoi(colon + 1));
	int rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		die(root);
	payload = calloc(1, MAX_BLKSIZE);
	int lfd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int big = 4 << 20;
	setsockopt(lfd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	if (!payload || lfd < 0 || bind(lfd, (struct sockaddr *)&la, sizeof(la)) < 0)
		die("listen");
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event lev = {.events = EPOLLIN, .data.ptr = NULL};
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &lev);
	struct epoll_event evs[256];
	for (;;) {
		int n = epoll_wait(ep, evs, 256, -1);
		for (int i = 0; i < n; i++) {
			if (evs[i].data.ptr) {
				on_xfer(evs[i].data.ptr);
				continue;
			}
			uint8_t buf[1024];
			struct sockaddr_in peer;
			socklen_t pl;
			ssize_t r;
			while (pl = sizeof(peer), (r = recvfrom(lfd, buf, sizeof(buf), MSG_DONTWAIT,
								(struct sockaddr *)&peer, &pl)) > 0)
				start(ep, rootfd, &la, buf, (size_t)r, &peer);
		}
	}
}
