/*
 * tftpload - a TFTP read-load generator for benchmarks.
 *
 * Single-threaded, one epoll loop, libc only. Runs --clients transfers of one file, at most
 * --concurrency at a time, each from its own UDP socket (its own TID, as real PXE clients have).
 * Every transfer sends an RRQ with blksize, tsize 0 and (when W > 1) windowsize, follows the OACK
 * or a plain DATA 1, and acknowledges per RFC 7440: the last block of each window, the last
 * in-order block when a gap shows, every block when W = 1 (RFC 1350 lock-step). On a timeout it
 * re-sends its last RRQ or ACK with exponential backoff, up to --retries times. Block numbers
 * roll over at 16 bits (the server may wrap to 0).
 *
 * To keep the client from being the bottleneck, DATA payloads are not copied unless a hash is
 * asked for: recvmmsg() with MSG_TRUNC copies a short header and returns the real datagram length.
 * --copy forces full copies. Reports completion-time percentiles, aggregate MB/s (10^6 bytes per
 * second of wall time), and the client's own CPU time so a client-bound run shows as such.
 *
 * Build: cc -O2 -o tftpload bench/tftpload.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

enum { OP_RRQ = 1, OP_DATA = 3, OP_ACK = 4, OP_ERROR = 5, OP_OACK = 6 };

#define MAX_BLKSIZE 65464
#define MAX_WINDOW  256
#define MAX_VLEN    64
#define HDR_COPY    128 /* bytes copied per DATA datagram when not hashing */
#define MAX_RTO_MUL 8	/* backoff cap: base timeout x 8 */

/* ---------------------------------------------------------------------------------------------
 * SHA-256 (FIPS 180-4), streaming.
 */
struct sha256 {
	uint32_t h[8];
	uint64_t len;
	uint8_t buf[64];
	size_t fill;
};

static const uint32_t sha_k[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
	0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
	0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
	0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
	0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
	0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
	0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
	0xc67178f2};

static uint32_t ror32(uint32_t x, int n)
{
	return (x >> n) | (x << (32 - n));
}

static void sha256_block(struct sha256 *s, const uint8_t *p)
{
	uint32_t w[64], a, b, c, d, e, f, g, h;
	int i;

	for (i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		       (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (i = 16; i < 64; i++) {
		uint32_t s0 = ror32(w[i - 15], 7) ^ ror32(w[i - 15], 18) ^ (w[i - 15] >> 3);
		uint32_t s1 = ror32(w[i - 2], 17) ^ ror32(w[i - 2], 19) ^ (w[i - 2] >> 10);
		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	a = s->h[0], b = s->h[1], c = s->h[2], d = s->h[3];
	e = s->h[4], f = s->h[5], g = s->h[6], h = s->h[7];
	for (i = 0; i < 64; i++) {
		uint32_t t1 = h + (ror32(e, 6) ^ ror32(e, 11) ^ ror32(e, 25)) +
			      ((e & f) ^ (~e & g)) + sha_k[i] + w[i];
		uint32_t t2 =
			(ror32(a, 2) ^ ror32(a, 13) ^ ror32(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
		h = g, g = f, f = e, e = d + t1, d = c, c = b, b = a, a = t1 + t2;
	}
	s->h[0] += a, s->h[1] += b, s->h[2] += c, s->h[3] += d;
	s->h[4] += e, s->h[5] += f, s->h[6] += g, s->h[7] += h;
}

static void sha256_init(struct sha256 *s)
{
	static const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
				       0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
	memcpy(s->h, iv, sizeof(iv));
	s->len = 0;
	s->fill = 0;
}

static void sha256_update(struct sha256 *s, const uint8_t *p, size_t n)
{
	s->len += n;
	if (s->fill) {
		size_t take = 64 - s->fill < n ? 64 - s->fill : n;
		memcpy(s->buf + s->fill, p, take);
		s->fill += take, p += take, n -= take;
		if (s->fill < 64)
			return;
		sha256_block(s, s->buf);
		s->fill = 0;
	}
	for (; n >= 64; p += 64, n -= 64)
		sha256_block(s, p);
	memcpy(s->buf, p, n);
	s->fill = n;
}

static void sha256_final(struct sha256 *s, uint8_t out[32])
{
	uint64_t bits = s->len * 8;
	uint8_t pad[72] = {0x80};
	size_t padlen = (s->fill < 56 ? 56 : 120) - s->fill;
	int i;

	for (i = 0; i < 8; i++)
		pad[padlen + i] = (uint8_t)(bits >> (56 - 8 * i));
	sha256_update(s, pad, padlen + 8);
	for (i = 0; i < 8; i++) {
		out[4 * i] = (uint8_t)(s->h[i] >> 24);
		out[4 * i + 1] = (uint8_t)(s->h[i] >> 16);
		out[4 * i + 2] = (uint8_t)(s->h[i] >> 8);
		out[4 * i + 3] = (uint8_t)s->h[i];
	}
}

/* ---------------------------------------------------------------------------------------------
 * Options, transfers, run state.
 */
enum fail_reason {
	FR_TIMEOUT_RRQ,	 /* no answer to the RRQ after all retries */
	FR_TIMEOUT_DATA, /* transfer started, then stalled */
	FR_ERROR_PKT,
	FR_SIZE,
	FR_HASH,
	FR_REFUSED, /* ICMP port unreachable reported on the socket */
	FR_PROTOCOL,
	FR_SOCKET,
	FR_DEADLINE,	/* still running when --deadline-s ran out */
	FR_NOT_STARTED, /* never started before the deadline */
	FR__COUNT
};

static const char *const fail_names[FR__COUNT] = {
	"timeout_rrq",	"timeout_data", "error_packet", "size_mismatch", "hash_mismatch",
	"icmp_refused", "protocol",	"socket",	"deadline",	 "not_started"};

struct opts {
	struct sockaddr_in server;
	const char *file;
	unsigned clients, concurrency, blksize, window, retries;
	unsigned timeout_ms;
	double deadline_s;
	long long expect_size; /* -1: not given */
	bool have_sha;
	uint8_t sha[32];
	bool json, copy, verbose;
};

enum xstate { X_FREE, X_RRQ, X_DATA };

struct xfer {
	int fd;
	enum xstate state;
	bool connected;
	uint32_t blksize, window;
	uint32_t tries, rto_ms;
	uint64_t next;		/* next expected block, absolute (1-based, never wraps) */
	uint64_t last_ack;	/* last block acknowledged, absolute */
	uint64_t gap_acked_for; /* value of next when a gap ACK was last sent */
	uint64_t dup_acked_for; /* value of next-1 when a duplicate was last re-ACKed */
	uint64_t bytes;
	int64_t tsize;	    /* -1: not offered */
	uint64_t t_start;   /* ns, RRQ first sent */
	uint64_t t_timer;   /* ns, retransmission due */
	struct sha256 *sha; /* NULL unless hashing */
};

struct run {
	struct opts o;
	int ep;
	struct xfer *x;
	uint8_t rrq[600];
	size_t rrq_len;
	unsigned started, active, finished, completed;
	unsigned fails[FR__COUNT];
	uint64_t bytes_total, bytes_completed;
	uint64_t timeouts, gap_acks, dups, reacks;
	double *durations; /* seconds, completed transfers */
	char first_error[160];
	uint32_t neg_blksize, neg_window; /* from the first answer */
	bool have_neg;
	uint64_t t0, t_last;
	/* shared receive buffers */
	struct mmsghdr msgs[MAX_VLEN];
	struct iovec iov[MAX_VLEN];
	struct sockaddr_in from[MAX_VLEN];
	uint8_t *big;  /* MAX_VLEN full datagrams */
	uint8_t *hdrs; /* MAX_VLEN headers */
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: tftpload --server ADDR:PORT --file NAME [--clients N] [--concurrency N]\n"
		"                [--blksize B] [--windowsize W] [--expect-size BYTES | "
		"--expect-sha256 HEX]\n"
		"                [--timeout-ms T] [--retries R] [--deadline-s S] [--copy] [--json] "
		"[--verbose]\n");
}

static int parse_hex32(const char *s, uint8_t out[32])
{
	int i;

	if (strlen(s) != 64)
		return -1;
	for (i = 0; i < 32; i++) {
		unsigned v;
		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (uint8_t)v;
	}
	return 0;
}

static int parse_server(const char *s, struct sockaddr_in *sa)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	char *end;
	long port;

	if (!colon || (size_t)(colon - s) >= sizeof(host))
		return -1;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = 0;
	port = strtol(colon + 1, &end, 10);
	if (*end || port < 1 || port > 65535)
		return -1;
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -1;
}

static long long num_arg(const char *name, const char *v, long long lo, long long hi)
{
	char *end;
	long long n = strtoll(v, &end, 10);

	if (*v == 0 || *end || n < lo || n > hi) {
		fprintf(stderr, "tftpload: --%s must be %lld..%lld\n", name, lo, hi);
		exit(2);
	}
	return n;
}

static void parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {{"server", 1, 0, 's'},      {"file", 1, 0, 'f'},
					   {"clients", 1, 0, 'n'},     {"concurrency", 1, 0, 'c'},
					   {"blksize", 1, 0, 'b'},     {"windowsize", 1, 0, 'w'},
					   {"expect-size", 1, 0, 'S'}, {"expect-sha256", 1, 0, 'H'},
					   {"timeout-ms", 1, 0, 't'},  {"retries", 1, 0, 'r'},
					   {"deadline-s", 1, 0, 'd'},  {"json", 0, 0, 'j'},
					   {"copy", 0, 0, 'C'},	       {"verbose", 0, 0, 'v'},
					   {"help", 0, 0, 'h'},	       {0, 0, 0, 0}};
	bool have_server = false;
	int c;

	memset(o, 0, sizeof(*o));
	o->clients = 1;
	o->blksize = 512;
	o->window = 1;
	o->retries = 5;
	o->timeout_ms = 1000;
	o->deadline_s = 600;
	o->expect_size = -1;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 's':
			if (parse_server(optarg, &o->server) < 0) {
				fprintf(stderr, "tftpload: bad --server %s (want IPv4:PORT)\n",
					optarg);
				exit(2);
			}
			have_server = true;
			break;
		case 'f': o->file = optarg; break;
		case 'n': o->clients = (unsigned)num_arg("clients", optarg, 1, 10000000); break;
		case 'c':
			o->concurrency = (unsigned)num_arg("concurrency", optarg, 1, 60000);
			break;
		case 'b': o->blksize = (unsigned)num_arg("blksize", optarg, 8, MAX_BLKSIZE); break;
		case 'w': o->window = (unsigned)num_arg("windowsize", optarg, 1, MAX_WINDOW); break;
		case 'S':
			o->expect_size = num_arg("expect-size", optarg, 0, (long long)1 << 50);
			break;
		case 'H':
			if (parse_hex32(optarg, o->sha) < 0) {
				fprintf(stderr, "tftpload: --expect-sha256 wants 64 hex digits\n");
				exit(2);
			}
			o->have_sha = true;
			break;
		case 't': o->timeout_ms = (unsigned)num_arg("timeout-ms", optarg, 1, 600000); break;
		case 'r': o->retries = (unsigned)num_arg("retries", optarg, 0, 1000); break;
		case 'd': o->deadline_s = (double)num_arg("deadline-s", optarg, 1, 86400); break;
		case 'j': o->json = true; break;
		case 'C': o->copy = true; break;
		case 'v': o->verbose = true; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); exit(2);
		}
	}
	if (!have_server || !o->file || optind != argc) {
		usage(stderr);
		exit(2);
	}
	if (strlen(o->file) > 255) {
		fprintf(stderr, "tftpload: --file too long\n");
		exit(2);
	}
	if (o->concurrency == 0 || o->concurrency > o->clients)
		o->concurrency = o->clients;
	if (o->have_sha)
		o->copy = true;
}

/* Raise RLIMIT_NOFILE to fit `need` descriptors (raising the hard limit too when allowed). */
static void raise_nofile(unsigned need)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= need)
		return;
	if (rl.rlim_max < need) {
		struct rlimit want = {need, need};
		if (setrlimit(RLIMIT_NOFILE, &want) == 0)
			return;
		need = (unsigned)rl.rlim_max;
	}
	rl.rlim_cur = need;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		fprintf(stderr, "tftpload: cannot raise RLIMIT_NOFILE: %s\n", strerror(errno));
}

static size_t build_rrq(const struct opts *o, uint8_t *p, size_t cap)
{
	int n;

	n = snprintf((char *)p + 2, cap - 2, "%s%coctet%cblksize%c%u%ctsize%c0%c", o->file, 0, 0, 0,
		     o->blksize, 0, 0, 0);
	if (o->window > 1)
		n += snprintf((char *)p + 2 + n, cap - 2 - (size_t)n, "windowsize%c%u%c", 0,
			      o->window, 0);
	p[0] = 0;
	p[1] = OP_RRQ;
	return (size_t)n + 2;
}

/* ---------------------------------------------------------------------------------------------
 * Transfer life cycle.
 */
static void finish(struct run *r, struct xfer *x, int reason)
{
	uint64_t t = now_ns();

	if (reason < 0) {
		r->durations[r->completed++] = (double)(t - x->t_start) / 1e9;
		r->bytes_completed += x->bytes;
	} else {
		r->fails[reason]++;
		if (r->o.verbose)
			fprintf(stderr, "tftpload: transfer failed: %s after %" PRIu64 " bytes\n",
				fail_names[reason], x->bytes);
	}
	r->t_last = t;
	close(x->fd);
	free(x->sha);
	x->sha = NULL;
	x->fd = -1;
	x->state = X_FREE;
	r->active--;
	r->finished++;
}

static void arm_timer(struct xfer *x, uint64_t now)
{
	x->t_timer = now + (uint64_t)x->rto_ms * 1000000ull;
}

static void send_ack(struct run *r, struct xfer *x, uint64_t block)
{
	uint8_t p[4] = {0, OP_ACK, (uint8_t)(block >> 8), (uint8_t)block};

	x->last_ack = block;
	if (send(x->fd, p, sizeof(p), MSG_DONTWAIT) < 0 && errno == ECONNREFUSED)
		finish(r, x, FR_REFUSED);
}

static void start_one(struct run *r, struct xfer *x, uint64_t now)
{
	x->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	r->started++;
	r->active++;
	if (x->fd < 0) {
		if (r->o.verbose)
			fprintf(stderr, "tftpload: socket: %s\n", strerror(errno));
		x->state = X_DATA; /* so finish() closes nothing harmful */
		x->fd = -1;
		finish(r, x, FR_SOCKET);
		return;
	}
	if (r->o.window > 1) {
		/* Room for two windows of loopback skbs (truesize ~ payload + 1 KiB). */
		int want = (int)(2u * r->o.window * (r->o.blksize + 1024u));
		if (want > 212992 &&
		    setsockopt(x->fd, SOL_SOCKET, SO_RCVBUFFORCE, &want, sizeof(want)) < 0)
			setsockopt(x->fd, SOL_SOCKET, SO_RCVBUF, &want, sizeof(want));
	}
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = x};
	epoll_ctl(r->ep, EPOLL_CTL_ADD, x->fd, &ev);
	x->state = X_RRQ;
	x->connected = false;
	x->blksize = 512;
	x->window = 1;
	x->tries = 0;
	x->rto_ms = r->o.timeout_ms;
	x->next = 1;
	x->last_ack = 0;
	x->gap_acked_for = 0;
	x->dup_acked_for = 0;
	x->bytes = 0;
	x->tsize = -1;
	x->t_start = now;
	if (r->o.have_sha) {
		x->sha = malloc(sizeof(*x->sha));
		if (!x->sha) {
			finish(r, x, FR_SOCKET);
			return;
		}
		sha256_init(x->sha);
	}
	arm_timer(x, now);
	sendto(x->fd, r->rrq, r->rrq_len, MSG_DONTWAIT, (const struct sockaddr *)&r->o.server,
	       sizeof(r->o.server));
}

static void complete(struct run *r, struct xfer *x)
{
	if (r->o.expect_size >= 0 && x->bytes != (uint64_t)r->o.expect_size) {
		finish(r, x, FR_SIZE);
		return;
	}
	if (x->tsize >= 0 && x->bytes != (uint64_t)x->tsize) {
		finish(r, x, FR_SIZE);
		return;
	}
	if (x->sha) {
		uint8_t d[32];
		sha256_final(x->sha, d);
		if (memcmp(d, r->o.sha, 32) != 0) {
			finish(r, x, FR_HASH);
			return;
		}
	}
	finish(r, x, -1);
}

static void on_error_pkt(struct run *r, struct xfer *x, const uint8_t *p, size_t n)
{
	if (!r->first_error[0]) {
		unsigned code = n >= 4 ? (unsigned)(p[2] << 8 | p[3]) : 0;
		size_t mlen = n > 4 ? strnlen((const char *)p + 4, n - 4) : 0;
		snprintf(r->first_error, sizeof(r->first_error), "ERROR %u: %.*s", code, (int)mlen,
			 (const char *)p + 4);
	}
	finish(r, x, FR_ERROR_PKT);
}

/* Parse an OACK: name/value pairs, case-insensitive names (RFC 2347). */
static int on_oack(struct run *r, struct xfer *x, const uint8_t *p, size_t n)
{
	const char *s = (const char *)p + 2, *end = (const char *)p + n;

	while (s < end) {
		const char *name = s, *val;
		size_t nl = strnlen(name, (size_t)(end - name));
		if (name + nl >= end)
			return -1;
		val = name + nl + 1;
		size_t vl = strnlen(val, (size_t)(end - val));
		if (val + vl >= end)
			return -1;
		unsigned long long v = strtoull(val, NULL, 10);
		if (!strcasecmp(name, "blksize")) {
			if (v < 8 || v > r->o.blksize)
				return -1;
			x->blksize = (uint32_t)v;
		} else if (!strcasecmp(name, "windowsize")) {
			if (v < 1 || v > r->o.window)
				return -1;
			x->window = (uint32_t)v;
		} else if (!strcasecmp(name, "tsize")) {
			x->tsize = (int64_t)v;
		}
		s = val + vl + 1;
	}
	return 0;
}

static void note_negotiated(struct run *r, struct xfer *x)
{
	if (!r->have_neg) {
		r->have_neg = true;
		r->neg_blksize = x->blksize;
		r->neg_window = x->window;
	}
}

/* Lock onto the server's transfer port (its TID) for the rest of the transfer. */
static int lock_peer(struct xfer *x, const struct sockaddr_in *from)
{
	if (connect(x->fd, (const struct sockaddr *)from, sizeof(*from)) < 0)
		return -1;
	x->connected = true;
	x->state = X_DATA;
	return 0;
}

static void on_data(struct run *r, struct xfer *x, const uint8_t *p, size_t copied, size_t len,
		    uint64_t now)
{
	uint16_t block = (uint16_t)(p[2] << 8 | p[3]);
	uint16_t d = (uint16_t)(block - (uint16_t)x->next);
	size_t payload = len - 4;

	if (d == 0) {
		if (payload > x->blksize) {
			finish(r, x, FR_PROTOCOL);
			return;
		}
		if (x->sha)
			sha256_update(x->sha, p + 4, copied - 4);
		x->bytes += payload;
		r->bytes_total += payload;
		x->next++;
		x->tries = 0;
		x->rto_ms = r->o.timeout_ms;
		arm_timer(x, now);
		if (payload < x->blksize) {
			send_ack(r, x, x->next - 1);
			if (x->state != X_FREE)
				complete(r, x);
			return;
		}
		if (x->next - 1 - x->last_ack >= x->window)
			send_ack(r, x, x->next - 1);
	} else if (d < 0x8000) {
		/* RFC 7440 §4: a gap; ACK the last block received in order, once per gap. */
		if (x->gap_acked_for != x->next) {
			x->gap_acked_for = x->next;
			r->gap_acks++;
			send_ack(r, x, x->next - 1);
		}
	} else {
		/* A duplicate: our ACK was lost, or the server timed out. Re-ACK once per stall. */
		r->dups++;
		if (x->window == 1 ? block == (uint16_t)(x->next - 1)
				   : x->dup_acked_for != x->next - 1) {
			x->dup_acked_for = x->next - 1;
			r->reacks++;
			send_ack(r, x, x->next - 1);
		}
	}
}

/* One datagram for transfer x. `copied` bytes are in p; the datagram was `len` bytes long. */
static void on_packet(struct run *r, struct xfer *x, const uint8_t *p, size_t copied, size_t len,
		      const struct sockaddr_in *from, uint64_t now)
{
	uint16_t op;

	if (len < 4 || copied < 4) {
		finish(r, x, FR_PROTOCOL);
		return;
	}
	op = (uint16_t)(p[0] << 8 | p[1]);
	if (x->state == X_RRQ) {
		if (from->sin_addr.s_addr != r->o.server.sin_addr.s_addr)
			return; /* not our server */
		if (op == OP_ERROR) {
			on_error_pkt(r, x, p, copied);
			return;
		}
		if (op == OP_OACK) {
			if (copied < len || on_oack(r, x, p, len) < 0 || lock_peer(x, from) < 0) {
				finish(r, x, FR_PROTOCOL);
				return;
			}
			note_negotiated(r, x);
			x->tries = 0;
			x->rto_ms = r->o.timeout_ms;
			arm_timer(x, now);
			send_ack(r, x, 0);
			return;
		}
		if (op == OP_DATA) {
			/* No OACK: the server ignored every option (RFC 2347 §2). */
			if (lock_peer(x, from) < 0) {
				finish(r, x, FR_PROTOCOL);
				return;
			}
			note_negotiated(r, x);
			on_data(r, x, p, copied, len, now);
			return;
		}
		finish(r, x, FR_PROTOCOL);
		return;
	}
	switch (op) {
	case OP_DATA: on_data(r, x, p, copied, len, now); break;
	case OP_ERROR: on_error_pkt(r, x, p, copied); break;
	case OP_OACK: r->dups++; break; /* retransmitted OACK: our ACK 0 is timer-driven */
	default: finish(r, x, FR_PROTOCOL); break;
	}
}

static void on_readable(struct run *r, struct xfer *x)
{
	bool full = x->state == X_RRQ || r->o.copy;
	unsigned vlen = x->state == X_RRQ ? 1 : (x->window < MAX_VLEN ? x->window + 1 : MAX_VLEN);
	size_t slot = full ? MAX_BLKSIZE + 4 : HDR_COPY;
	uint8_t *base = full ? r->big : r->hdrs;
	int n, i;

	for (i = 0; i < (int)vlen; i++) {
		r->iov[i].iov_base = base + (size_t)i * slot;
		r->iov[i].iov_len = slot;
		r->msgs[i].msg_hdr.msg_iov = &r->iov[i];
		r->msgs[i].msg_hdr.msg_iovlen = 1;
		r->msgs[i].msg_hdr.msg_name = &r->from[i];
		r->msgs[i].msg_hdr.msg_namelen = sizeof(r->from[i]);
		r->msgs[i].msg_hdr.msg_control = NULL;
		r->msgs[i].msg_hdr.msg_controllen = 0;
		r->msgs[i].msg_hdr.msg_flags = 0;
	}
	n = recvmmsg(x->fd, r->msgs, vlen, MSG_DONTWAIT | (full ? 0 : MSG_TRUNC), NULL);
	if (n < 0) {
		if (errno == ECONNREFUSED)
			finish(r, x, FR_REFUSED);
		else if (errno != EAGAIN && errno != EINTR)
			finish(r, x, FR_SOCKET);
		return;
	}
	uint64_t now = now_ns();
	for (i = 0; i < n && x->state != X_FREE; i++) {
		size_t len = r->msgs[i].msg_len;
		size_t copied = len < slot ? len : slot;
		on_packet(r, x, base + (size_t)i * slot, copied, len, &r->from[i], now);
	}
}

/* Retransmit for every transfer whose timer ran out (RFC 1350 timeout; RFC 7440 §4: ACK the last
 * in-order block). Backoff doubles up to MAX_RTO_MUL x the base timeout. */
static void scan_timers(struct run *r, uint64_t now)
{
	unsigned i;

	for (i = 0; i < r->o.concurrency; i++) {
		struct xfer *x = &r->x[i];
		if (x->state == X_FREE || now < x->t_timer)
			continue;
		if (x->tries >= r->o.retries) {
			finish(r, x, x->state == X_RRQ ? FR_TIMEOUT_RRQ : FR_TIMEOUT_DATA);
			continue;
		}
		x->tries++;
		r->timeouts++;
		if (x->rto_ms < r->o.timeout_ms * MAX_RTO_MUL)
			x->rto_ms *= 2;
		arm_timer(x, now);
		if (x->state == X_RRQ)
			sendto(x->fd, r->rrq, r->rrq_len, MSG_DONTWAIT,
			       (const struct sockaddr *)&r->o.server, sizeof(r->o.server));
		else
			send_ack(r, x, x->next - 1);
	}
}

static double percentile(const double *sorted, unsigned n, double q)
{
	unsigned k;

	if (n == 0)
		return 0;
	k = (unsigned)(q * n + 0.999999);
	if (k < 1)
		k = 1;
	if (k > n)
		k = n;
	return sorted[k - 1];
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double tv_s(struct timeval tv)
{
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

struct summary {
	double wall, p50, p99, pmax, mbps, ucpu, scpu;
	unsigned failed;
};

static void summarize(struct run *r, double wall, const struct rusage *ru0,
		      const struct rusage *ru1, struct summary *m)
{
	qsort(r->durations, r->completed, sizeof(double), cmp_double);
	m->wall = wall;
	m->failed = r->o.clients - r->completed;
	m->p50 = percentile(r->durations, r->completed, 0.50);
	m->p99 = percentile(r->durations, r->completed, 0.99);
	m->pmax = r->completed ? r->durations[r->completed - 1] : 0;
	m->mbps = wall > 0 ? (double)r->bytes_total / wall / 1e6 : 0;
	m->ucpu = tv_s(ru1->ru_utime) - tv_s(ru0->ru_utime);
	m->scpu = tv_s(ru1->ru_stime) - tv_s(ru0->ru_stime);
}

/* One JSON object on one line, for scripts. */
static void print_json(const struct run *r, const struct summary *m)
{
	bool first = true;
	unsigned i;

	printf("{\"clients\":%u,\"concurrency\":%u,\"blksize\":%u,\"windowsize\":%u,"
	       "\"neg_blksize\":%u,\"neg_windowsize\":%u,\"completed\":%u,\"failed\":%u,"
	       "\"fail_reasons\":{",
	       r->o.clients, r->o.concurrency, r->o.blksize, r->o.window, r->neg_blksize,
	       r->neg_window, r->completed, m->failed);
	for (i = 0; i < FR__COUNT; i++) {
		if (!r->fails[i])
			continue;
		printf("%s\"%s\":%u", first ? "" : ",", fail_names[i], r->fails[i]);
		first = false;
	}
	printf("},\"bytes\":%" PRIu64 ",\"bytes_completed\":%" PRIu64 ",\"wall_s\":%.6f,"
	       "\"mbps\":%.3f,\"p50_s\":%.6f,\"p99_s\":%.6f,\"max_s\":%.6f,"
	       "\"cpu_user_s\":%.3f,\"cpu_sys_s\":%.3f,\"timeouts\":%" PRIu64
	       ",\"gap_acks\":%" PRIu64 ",\"dups\":%" PRIu64 ",\"first_error\":\"",
	       r->bytes_total, r->bytes_completed, m->wall, m->mbps, m->p50, m->p99, m->pmax,
	       m->ucpu, m->scpu, r->timeouts, r->gap_acks, r->dups);
	for (const char *c = r->first_error; *c; c++)
		if (*c == '"' || *c == '\\')
			printf("\\%c", *c);
		else if ((unsigned char)*c < 0x20)
			printf("\\u%04x", *c);
		else
			putchar(*c);
	printf("\"}\n");
}

static void print_text(const struct run *r, const struct summary *m)
{
	unsigned i;

	printf("tftpload: %u/%u completed, %u failed", r->completed, r->o.clients, m->failed);
	for (i = 0; i < FR__COUNT; i++)
		if (r->fails[i])
			printf(" [%s %u]", fail_names[i], r->fails[i]);
	printf("\n  negotiated blksize %u windowsize %u (asked %u/%u)\n", r->neg_blksize,
	       r->neg_window, r->o.blksize, r->o.window);
	printf("  %.1f MB in %.3f s wall = %.1f MB/s aggregate\n", (double)r->bytes_total / 1e6,
	       m->wall, m->mbps);
	printf("  completion time p50 %.3f s, p99 %.3f s, max %.3f s\n", m->p50, m->p99, m->pmax);
	printf("  client CPU %.2f s user + %.2f s sys = %.0f%% of one core\n", m->ucpu, m->scpu,
	       m->wall > 0 ? 100 * (m->ucpu + m->scpu) / m->wall : 0);
	printf("  timeouts %" PRIu64 ", gap ACKs %" PRIu64 ", duplicates %" PRIu64 "\n",
	       r->timeouts, r->gap_acks, r->dups);
	if (r->first_error[0])
		printf("  first error: %s\n", r->first_error);
}

/* The event loop: start transfers into free slots, read, run timers, until every transfer has
 * finished or the deadline passes. */
static void run_loop(struct run *r)
{
	struct epoll_event evs[256];
	uint64_t now = r->t0, deadline, next_scan, scan_ns;
	unsigned slot = 0, i;

	scan_ns = (uint64_t)r->o.timeout_ms * 1000000ull / 20;
	if (scan_ns > 10000000ull)
		scan_ns = 10000000ull;
	if (scan_ns < 1000000ull)
		scan_ns = 1000000ull;
	deadline = now + (uint64_t)(r->o.deadline_s * 1e9);
	next_scan = now + scan_ns;
	while (r->finished < r->o.clients) {
		for (unsigned k = 0; k < r->o.concurrency && r->active < r->o.concurrency &&
				     r->started < r->o.clients;
		     k++, slot = (slot + 1) % r->o.concurrency)
			if (r->x[slot].state == X_FREE)
				start_one(r, &r->x[slot], now);
		if (now >= deadline)
			break;
		int timeout_ms = (int)((next_scan > now ? next_scan - now : 0) / 1000000ull) + 1;
		int n = epoll_wait(r->ep, evs, 256, timeout_ms);
		for (int e = 0; e < n; e++) {
			struct xfer *x = evs[e].data.ptr;
			if (x->state != X_FREE)
				on_readable(r, x);
		}
		now = now_ns();
		if (now >= next_scan) {
			scan_timers(r, now);
			next_scan = now + scan_ns;
		}
	}
	for (i = 0; i < r->o.concurrency; i++)
		if (r->x[i].state != X_FREE)
			finish(r, &r->x[i], FR_DEADLINE);
	r->fails[FR_NOT_STARTED] += r->o.clients - r->started;
}

int main(int argc, char **argv)
{
	static struct run r;
	struct rusage ru0, ru1;
	struct summary m;
	unsigned i;

	parse_opts(argc, argv, &r.o);
	raise_nofile(r.o.concurrency + 64);
	r.x = calloc(r.o.concurrency, sizeof(*r.x));
	r.durations = calloc(r.o.clients, sizeof(double));
	r.big = malloc((size_t)MAX_VLEN * (MAX_BLKSIZE + 4));
	r.hdrs = malloc((size_t)MAX_VLEN * HDR_COPY);
	r.ep = epoll_create1(EPOLL_CLOEXEC);
	if (!r.x || !r.durations || !r.big || !r.hdrs || r.ep < 0) {
		fprintf(stderr, "tftpload: out of memory\n");
		return 1;
	}
	for (i = 0; i < r.o.concurrency; i++)
		r.x[i].fd = -1;
	r.rrq_len = build_rrq(&r.o, r.rrq, sizeof(r.rrq));

	getrusage(RUSAGE_SELF, &ru0);
	r.t0 = r.t_last = now_ns();
	run_loop(&r);
	getrusage(RUSAGE_SELF, &ru1);
	summarize(&r, (double)(r.t_last - r.t0) / 1e9, &ru0, &ru1, &m);
	if (r.o.json)
		print_json(&r, &m);
	else
		print_text(&r, &m);
	return r.completed == r.o.clients ? 0 : 1;
}
