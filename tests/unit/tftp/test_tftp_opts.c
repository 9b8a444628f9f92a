/* Unit tests for TFTP option negotiation (src/tftp/tftp_opts.c): RFC 2347 OACK, RFC 2348
 * blksize, RFC 2349 timeout and tsize, RFC 7440 windowsize. Requests are real bytes parsed by
 * tftp_parse from a guard page, so negotiation sees exactly the views the server will. */
#include <errno.h>
#include <stdint.h>

#include "test.h"
#include "tftp/tftp_opts.h"

#define LIT(s) (const void *)(s), sizeof(s) - 1

/* A parsed request that keeps its guard mapping alive. */
struct parsed {
	struct tftp_pkt pkt;
	void *base;
	size_t map_len;
};

/** Parse a request placed before a guard page; aborts if it does not parse. */
static const struct tftp_req *req_of(struct parsed *p, const void *bytes, size_t len)
{
	const uint8_t *g = guard_copy(bytes, len, &p->base, &p->map_len);
	if (tftp_parse(g, len, &p->pkt) != 0 || (p->pkt.op != TFTP_RRQ && p->pkt.op != TFTP_WRQ)) {
		fprintf(stderr, "request vector does not parse\n");
		abort();
	}
	return &p->pkt.req;
}

static void done(struct parsed *p)
{
	guard_free(p->base, p->map_len);
}

static const struct tftp_limits lim_1468_4 = {.blksize_max = 1468, .windowsize_max = 4};
static const struct tftp_limits lim_max = {.blksize_max = 65464, .windowsize_max = 65535};

/** Negotiate a read of a 1 MiB file against limits. */
static int nego_read(const void *bytes, size_t len, const struct tftp_limits *lim,
		     struct tftp_negotiated *n)
{
	struct parsed p;
	int rc = tftp_negotiate(req_of(&p, bytes, len), false, lim, 1048576, true, n);
	done(&p);
	return rc;
}

/* ---- number parsing --------------------------------------------------------------------- */

static void test_parse_u64(void)
{
	uint64_t v = 77;
	CHECK_EQ(tftp_parse_u64("0", 1, &v), 0);
	CHECK_EQ(v, 0);
	CHECK_EQ(tftp_parse_u64("1468", 4, &v), 0);
	CHECK_EQ(v, 1468);
	CHECK_EQ(tftp_parse_u64("007", 3, &v), 0);
	CHECK_EQ(v, 7);
	CHECK_EQ(tftp_parse_u64("18446744073709551615", 20, &v), 0);
	CHECK(v == UINT64_MAX);
	CHECK_EQ(tftp_parse_u64("000000000000000000000018446744073709551615", 42, &v), 0);
	CHECK(v == UINT64_MAX);

	/* Failures leave *out alone. */
	v = 77;
	CHECK_EQ(tftp_parse_u64("18446744073709551616", 20, &v), -ERANGE);
	CHECK_EQ(tftp_parse_u64("99999999999999999999", 20, &v), -ERANGE);
	CHECK_EQ(tftp_parse_u64("184467440737095516150", 21, &v), -ERANGE);
	CHECK_EQ(tftp_parse_u64("", 0, &v), -EINVAL);
	CHECK_EQ(tftp_parse_u64("+1", 2, &v), -EINVAL);
	CHECK_EQ(tftp_parse_u64("-1", 2, &v), -EINVAL);
	CHECK_EQ(tftp_parse_u64(" 1", 2, &v), -EINVAL);
	CHECK_EQ(tftp_parse_u64("1 ", 2, &v), -EINVAL);
	CHECK_EQ(tftp_parse_u64("0x10", 4, &v), -EINVAL);
	CHECK_EQ(tftp_parse_u64("1e3", 3, &v), -EINVAL);
	CHECK_EQ(tftp_parse_u64("1.0", 3, &v), -EINVAL);
	CHECK_EQ(tftp_parse_u64("\xd9\xa1", 2, &v), -EINVAL); /* ARABIC-INDIC DIGIT ONE */
	CHECK_EQ(v, 77);
	/* Only len bytes are read: "12" of "123". */
	CHECK_EQ(tftp_parse_u64("123", 2, &v), 0);
	CHECK_EQ(v, 12);
}

/* ---- negotiation ------------------------------------------------------------------------ */

static void test_no_options(void)
{
	struct tftp_negotiated n;
	memset(&n, 0xa5, sizeof(n));
	CHECK_EQ(nego_read(LIT("\0\1pxelinux.0\0octet\0"), &lim_max, &n), 0);
	CHECK(!n.has_blksize && !n.has_tsize && !n.has_timeout && !n.has_windowsize);
	CHECK_EQ(n.blksize, TFTP_BLKSIZE_DEFAULT);
	CHECK_EQ(n.windowsize, 1);
	CHECK_EQ(n.timeout, 0);
	CHECK_EQ(n.tsize, 0);
	/* Only unknown options: still nothing to acknowledge. */
	CHECK_EQ(nego_read(LIT("\0\1f\0octet\0multicast\0\0rollover\0000\0utimeout\00010000\0"),
			   &lim_max, &n),
		 0);
	CHECK(!n.has_blksize && !n.has_tsize && !n.has_timeout && !n.has_windowsize);
}

static void test_blksize(void)
{
	struct tftp_negotiated n;
	/* Within limits: as asked. */
	CHECK_EQ(nego_read(LIT("\0\1f\0octet\0blksize\0001432\0"), &lim_1468_4, &n), 1);
	CHECK(n.has_blksize);
	CHECK_EQ(n.blksize, 1432);
	/* Above the server limit: clamped (RFC 2348 lets the server answer smaller). */
	CHECK_EQ(nego_read(LIT("\0\1f\0octet\0blksize\0009000\0"), &lim_1468_4, &n), 1);
	CHECK_EQ(n.blksize, 1468);
	/* Above the RFC maximum: clamped to the limit too. */
	CHECK_EQ(nego_read(LIT("\0\1f\0octet\0blksize\00065465\0"), &lim_max, &n), 1);
	CHECK_EQ(n.blksize, 65464);
	CHECK_EQ(nego_read(LIT("\0\1f\0octet\0blksize\0004294967296\0"), &lim_max, &n), 1);
	CHECK_EQ(n.blksize, 65464);
	/* Boundaries of RFC 2348: 8 accepted, 7 refused. */
	CHECK_EQ(nego_read(LIT("\0\1f\0octet\0blksize\0008\0"), &lim_max, &n), 1);
	CHECK_EQ(n.blksize, 8);
	CHECK_EQ(nego_read(LIT("\0\1f\0octet\0blksize\0007\0"), &lim_max, &n), 0);
	CHECK(!n.has_blksize);
	CHECK_EQ(n.blksize, 512);
	CHECK_EQ(nego_read(LIT("\0\1f\0octet\0blksize\0000\0"), &lim_max, &n), 0);
	/* Not plain decimal, or overflowing: refused. */
	CHECK_EQ(nego_read(LIT("\0\1f\0octet\0blksize\0 1432\0"), &lim_max, &n), 0);
	CHECK_EQ(nego_read(LIT("\0\1f\0octet\0blksize\0001432 \0"), &lim_max, &n), 0);
	CHECK_EQ(nego_read(LIT("\0\1f\0octet\0blksize\0+1432\0"), &lim_max, &n), 0);
	CHECK_EQ(nego_read(LIT("\0\1f\0octet\0blksize\0-1\0"), &lim_max, &n), 0);
	CHECK_EQ(nego_read(LIT("\0\1f\0octet\0blksize\0\0"), &lim_max, &n), 0);
	CHECK_EQ(nego_read(LIT("\0\1f\0octet\0blksize\0abc\0"), &lim_max, &n), 0);
	CHECK_EQ(nego_read(LIT("\0\1f\0octet\0blksize\00099999999999999999999999\0"), &lim_max, &n),
		 0);
	CHECK(!n.has_blksize);
}

static void test_limits_clamped(void)
{
	struct tftp_negotiated n;
	/* Misconfigured limits are pulled into their ranges. */
	struct tftp_limits zero = {.blksize_max = 0, .windowsize_max = 0};
	struct tftp_limits huge = {.blksize_max = 65535, .windowsize_max = 65535};
	CHECK_EQ(nego_read(LIT("\0\1f\0octet\0blksize\0001432\0windowsize\0008\0"), &zero, &n), 2);
	CHECK_EQ(n.blksize, 8);
	CHECK_EQ(n.windowsize, 1);
	CHECK_EQ(nego_read(LIT("\0\1f\0octet\0blksize\00065535\0"), &huge, &n), 1);
	CHECK_EQ(n.blksize, 65464);
	/* No limits at all: the RFC maxima. */
	CHECK_EQ(nego_read(LIT("\0\1f\0octet\0blksize\00065464\0windowsize\00065535\0"), NULL, &n),
		 2);
	CHECK_EQ(n.blksize, 65464);
	CHECK_EQ(n.windowsize, 65535);
}

static void test_windowsize(void)
{
	struct tftp_negotiated n;
	struct tftp_limits lim16 = {.blksize_max = 1468, .windowsize_max = 16};
	CHECK_EQ(nego_read(LIT("\0\1f\0octet\0windowsize\0004\0"), &lim16, &n), 1);
	CHECK(n.has_windowsize);
	CHECK_EQ(n.windowsize, 4);
	CHECK_EQ(nego_read(LIT("\0\1f\0octet\0windowsize\00064\0"), &lim16, &n), 1);
	CHECK_EQ(n.windowsize, 16);
	CHECK_EQ(nego_read(LIT("\0\1f\0octet\0windowsize\0001\0"), &lim16, &n), 1);
	CHECK_EQ(n.windowsize, 1);
	/* RFC 7440 §3: 0 is outside 1..65535; refused. */
	CHECK_EQ(nego_read(LIT("\0\1f\0octet\0windowsize\0000\0"), &lim16, &n), 0);
	CHECK(!n.has_windowsize);
	CHECK_EQ(n.windowsize, 1);
	/* Above 65535: clamped to the limit like blksize. */
	CHECK_EQ(nego_read(LIT("\0\1f\0octet\0windowsize\00070000\0"), &lim_max, &n), 1);
	CHECK_EQ(n.windowsize, 65535);
	CHECK_EQ(nego_read(LIT("\0\1f\0octet\0windowsize\0four\0"), &lim16, &n), 0);
}

static void test_timeout(void)
{
	struct tftp_negotiated n;
	CHECK_EQ(nego_read(LIT("\0\1f\0octet\0timeout\0001\0"), &lim_max, &n), 1);
	CHECK(n.has_timeout);
	CHECK_EQ(n.timeout, 1);
	CHECK_EQ(nego_read(LIT("\0\1f\0octet\0timeout\000255\0"), &lim_max, &n), 1);
	CHECK_EQ(n.timeout, 255);
	/* RFC 2349: 1..255, and the answer must equal the request: refuse, never clamp. */
	CHECK_EQ(nego_read(LIT("\0\1f\0octet\0timeout\0000\0"), &lim_max, &n), 0);
	CHECK(!n.has_timeout);
	CHECK_EQ(nego_read(LIT("\0\1f\0octet\0timeout\000256\0"), &lim_max, &n), 0);
	CHECK_EQ(nego_read(LIT("\0\1f\0octet\0timeout\0005s\0"), &lim_max, &n), 0);
}

static void test_tsize(void)
{
	struct tftp_negotiated n;
	struct parsed p;
	const struct tftp_req *r;

	/* Read, size known: answered with the file size (RFC 2349). */
	r = req_of(&p, LIT("\0\1f\0octet\0tsize\0000\0"));
	CHECK_EQ(tftp_negotiate(r, false, &lim_max, 123456, true, &n), 1);
	CHECK(n.has_tsize);
	CHECK(n.tsize == 123456);
	/* Read, size unknown: not answered. */
	CHECK_EQ(tftp_negotiate(r, false, &lim_max, 123456, false, &n), 0);
	CHECK(!n.has_tsize);
	/* Largest size. */
	CHECK_EQ(tftp_negotiate(r, false, &lim_max, UINT64_MAX, true, &n), 1);
	CHECK(n.tsize == UINT64_MAX);
	done(&p);

	/* Netascii read: the size on the wire is not the file size. */
	r = req_of(&p, LIT("\0\1f\0netascii\0tsize\0000\0"));
	CHECK_EQ(tftp_negotiate(r, false, &lim_max, 123456, true, &n), 0);
	done(&p);

	/* Write: the client's size is echoed, whatever the file size argument. */
	r = req_of(&p, LIT("\0\2f\0octet\0tsize\00012345\0"));
	CHECK_EQ(tftp_negotiate(r, true, &lim_max, 999, true, &n), 1);
	CHECK(n.tsize == 12345);
	CHECK_EQ(tftp_negotiate(r, true, &lim_max, 0, false, &n), 1);
	CHECK(n.tsize == 12345);
	done(&p);
	r = req_of(&p, LIT("\0\2f\0octet\0tsize\00018446744073709551615\0"));
	CHECK_EQ(tftp_negotiate(r, true, &lim_max, 0, false, &n), 1);
	CHECK(n.tsize == UINT64_MAX);
	done(&p);
	r = req_of(&p, LIT("\0\2f\0octet\0tsize\00018446744073709551616\0"));
	CHECK_EQ(tftp_negotiate(r, true, &lim_max, 0, false, &n), 0);
	done(&p);
	/* A value that is not a number is refused for reads and writes. */
	r = req_of(&p, LIT("\0\1f\0octet\0tsize\0zero\0"));
	CHECK_EQ(tftp_negotiate(r, false, &lim_max, 1, true, &n), 0);
	CHECK_EQ(tftp_negotiate(r, true, &lim_max, 1, true, &n), 0);
	done(&p);
}

static void test_duplicates_and_case(void)
{
	struct tftp_negotiated n;
	/* First wins. */
	CHECK_EQ(nego_read(LIT("\0\1f\0octet\0blksize\0001024\0blksize\0001432\0"), &lim_max, &n),
		 1);
	CHECK_EQ(n.blksize, 1024);
	/* Also when the first is refused: the later one does not sneak in. */
	CHECK_EQ(nego_read(LIT("\0\1f\0octet\0blksize\0001\0blksize\0001432\0"), &lim_max, &n), 0);
	CHECK(!n.has_blksize);
	/* Names are case-insensitive (RFC 2347), duplicates included. */
	CHECK_EQ(nego_read(LIT("\0\1f\0octet\0BLKSIZE\0001200\0BlkSize\0001300\0TSize\0000\0"
			       "WindowSize\0002\0TIMEOUT\0003\0"),
			   &lim_max, &n),
		 4);
	CHECK_EQ(n.blksize, 1200);
	CHECK(n.tsize == 1048576);
	CHECK_EQ(n.windowsize, 2);
	CHECK_EQ(n.timeout, 3);
	/* Unknown options between known ones are skipped. */
	CHECK_EQ(nego_read(LIT("\0\1f\0octet\0multicast\0\0blksize\0001432\0x\0y\0"), &lim_max, &n),
		 1);
	CHECK_EQ(n.blksize, 1432);
	/* Names are matched whole: no prefixes, no suffixes. */
	CHECK_EQ(nego_read(LIT("\0\1f\0octet\0blksiz\0001432\0blksize2\0001432\0tsizes\0000\0"),
			   &lim_max, &n),
		 0);
}

/* ---- whole exchanges with real client requests ----------------------------------------- */

/** Build the OACK for n and compare with the expected bytes. */
static void check_oack(const struct tftp_negotiated *n, const void *want, size_t want_len)
{
	uint8_t buf[256];
	int len = tftp_build_oack_negotiated(buf, sizeof(buf), n);
	CHECK_EQ(len, (long long)want_len);
	CHECK(len == (int)want_len && memcmp(buf, want, want_len) == 0);
	for (int cap = 0; cap < len; cap++)
		CHECK_EQ(tftp_build_oack_negotiated(buf, (size_t)cap, n), -ENOSPC);
}

static void test_real_requests(void)
{
	struct tftp_negotiated n;
	char s[TFTP_NEGOTIATED_STR_MAX];
	struct tftp_limits lim = {.blksize_max = 1432, .windowsize_max = 8};

	/* Captured atftp 0.8.0: tsize 0, blksize 1468, windowsize 4. */
	CHECK_EQ(nego_read(LIT("\0\1f\0octet\0tsize\0000\0blksize\0001468\0windowsize\0004\0"),
			   &lim, &n),
		 3);
	CHECK_STR(tftp_negotiated_str(&n, s, sizeof(s)), "blksize=1432 windowsize=4 tsize=1048576");
	check_oack(&n, LIT("\0\6blksize\0001432\0windowsize\0004\0tsize\0001048576\0"));

	/* Captured curl 7.88.1: tsize 0, blksize 1468, timeout 6. */
	CHECK_EQ(nego_read(LIT("\0\1f\0octet\0tsize\0000\0blksize\0001468\0timeout\0006\0"),
			   &lim_1468_4, &n),
		 3);
	CHECK_STR(tftp_negotiated_str(&n, s, sizeof(s)), "blksize=1468 timeout=6 tsize=1048576");
	check_oack(&n, LIT("\0\6blksize\0001468\0timeout\0006\0tsize\0001048576\0"));

	/* Constructed iPXE: blksize 1432, tsize 0. */
	CHECK_EQ(nego_read(LIT("\0\1undionly.kpxe\0octet\0blksize\0001432\0tsize\0000\0"),
			   &lim_1468_4, &n),
		 2);
	check_oack(&n, LIT("\0\6blksize\0001432\0tsize\0001048576\0"));

	/* Constructed UEFI size probe: tsize 0, blksize 1468, windowsize 4. */
	CHECK_EQ(nego_read(LIT("\0\1shimx64.efi\0octet\0tsize\0000\0blksize\0001468\0"
			       "windowsize\0004\0"),
			   &lim_max, &n),
		 3);
	CHECK_STR(tftp_negotiated_str(&n, s, sizeof(s)), "blksize=1468 windowsize=4 tsize=1048576");

	/* Captured atftp write: tsize 3, timeout 3, blksize 1024. */
	struct parsed p;
	const struct tftp_req *r =
		req_of(&p, LIT("\0\2up.txt\0octet\0tsize\0003\0timeout\0003\0blksize\0001024\0"));
	CHECK_EQ(tftp_negotiate(r, true, &lim_max, 0, false, &n), 3);
	check_oack(&n, LIT("\0\6blksize\0001024\0timeout\0003\0tsize\0003\0"));
	done(&p);
}

static void test_oack_parses_back(void)
{
	struct tftp_negotiated n = {
		.has_blksize = true,
		.blksize = 65464,
		.has_tsize = true,
		.tsize = UINT64_MAX,
		.has_timeout = true,
		.timeout = 255,
		.has_windowsize = true,
		.windowsize = 65535,
	};
	uint8_t buf[256];
	int len = tftp_build_oack_negotiated(buf, sizeof(buf), &n);
	CHECK(len > 0);
	void *base;
	size_t map_len;
	struct tftp_pkt pkt;
	const uint8_t *g = guard_copy(buf, (size_t)len, &base, &map_len);
	CHECK_EQ(tftp_parse(g, (size_t)len, &pkt), 0);
	CHECK_EQ(pkt.op, TFTP_OACK);
	CHECK_EQ(pkt.oack.nopts, 4);
	const struct tftp_opt *o = tftp_opt_find(pkt.oack.opts, pkt.oack.nopts, "tsize");
	uint64_t v = 0;
	CHECK(o && tftp_parse_u64(o->value.p, o->value.len, &v) == 0 && v == UINT64_MAX);
	guard_free(base, map_len);

	/* Nothing negotiated: a bare OACK opcode (callers send no OACK then). */
	struct tftp_negotiated none = {.blksize = 512, .windowsize = 1};
	CHECK_EQ(tftp_build_oack_negotiated(buf, sizeof(buf), &none), 2);
}

static void test_negotiated_str(void)
{
	char s[TFTP_NEGOTIATED_STR_MAX];
	struct tftp_negotiated none = {.blksize = 512, .windowsize = 1};
	CHECK_STR(tftp_negotiated_str(&none, s, sizeof(s)), "-");

	struct tftp_negotiated all = {
		.has_blksize = true,
		.blksize = 65464,
		.has_tsize = true,
		.tsize = UINT64_MAX,
		.has_timeout = true,
		.timeout = 255,
		.has_windowsize = true,
		.windowsize = 65535,
	};
	static const char full[] =
		"blksize=65464 windowsize=65535 timeout=255 tsize=18446744073709551615";
	CHECK(sizeof(full) <= TFTP_NEGOTIATED_STR_MAX);
	CHECK_STR(tftp_negotiated_str(&all, s, sizeof(s)), full);
	CHECK(tftp_negotiated_str(&all, s, sizeof(s)) == s);

	struct tftp_negotiated one = {.has_tsize = true, .tsize = 0, .blksize = 512};
	CHECK_STR(tftp_negotiated_str(&one, s, sizeof(s)), "tsize=0");

	/* Truncation: always a NUL-terminated prefix of the full text. */
	for (size_t cap = 1; cap <= sizeof(full); cap++) {
		char t[sizeof(full)];
		memset(t, 'Z', sizeof(t));
		tftp_negotiated_str(&all, t, cap);
		CHECK_EQ(strlen(t), cap - 1);
		CHECK(strncmp(t, full, cap - 1) == 0);
	}
	/* cap 0: nothing written. */
	s[0] = 'Q';
	CHECK(tftp_negotiated_str(&all, s, 0) == s);
	CHECK_EQ(s[0], 'Q');
	char tiny[1] = {'Q'};
	CHECK_STR(tftp_negotiated_str(&none, tiny, 1), "");
}

int main(void)
{
	RUN(test_parse_u64);
	RUN(test_no_options);
	RUN(test_blksize);
	RUN(test_limits_clamped);
	RUN(test_windowsize);
	RUN(test_timeout);
	RUN(test_tsize);
	RUN(test_duplicates_and_case);
	RUN(test_real_requests);
	RUN(test_oack_parses_back);
	RUN(test_negotiated_str);
	return test_summary();
}
