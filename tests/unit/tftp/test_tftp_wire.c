/* Unit tests for the TFTP packet codec (src/tftp/tftp_wire.c).
 *
 * Vectors marked "captured" are the first datagram a real client sent to a python3 UDP
 * listener on 127.0.0.1 (tftp-hpa 5.2 client, atftp 0.8.0, curl 7.88.1 on Debian 12), or the
 * client's answer to a reply the listener sent. Vectors marked "constructed" follow the
 * client's source code (iPXE src/net/udp/tftp.c tftp_send_rrq, EDK2 PxeBcMtftp.c) because no
 * such firmware was at hand. Every parse goes through guard_copy, so an over-read crashes.
 */
#include <errno.h>
#include <stdint.h>

#include "test.h"
#include "tftp/tftp_wire.h"

/* ---- helpers ---------------------------------------------------------------------------- */

/** Decode hex digits (spaces ignored) into out. Returns the byte count; aborts on bad input. */
static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = 0;
	int hi = -1;
	for (const char *p = hex; *p; p++) {
		int v;
		if (*p == ' ')
			continue;
		if (*p >= '0' && *p <= '9')
			v = *p - '0';
		else if (*p >= 'a' && *p <= 'f')
			v = *p - 'a' + 10;
		else
			abort();
		if (hi < 0) {
			hi = v;
			continue;
		}
		if (n == cap)
			abort();
		out[n++] = (uint8_t)(hi << 4 | v);
		hi = -1;
	}
	if (hi >= 0)
		abort();
	return n;
}

/* A string literal as (bytes, length without the implicit final NUL). */
#define LIT(s) (const void *)(s), sizeof(s) - 1

/** Parse len bytes placed right before a guard page. */
static int parse_guarded(const void *bytes, size_t len, struct tftp_pkt *pkt, void **base,
			 size_t *map_len)
{
	const uint8_t *g = guard_copy(bytes, len, base, map_len);
	return tftp_parse(g, len, pkt);
}

/** Parse without keeping the views (for return-code-only checks). */
static int parse_rc(const void *bytes, size_t len)
{
	void *base;
	size_t map_len;
	struct tftp_pkt pkt;
	int rc = parse_guarded(bytes, len, &pkt, &base, &map_len);
	guard_free(base, map_len);
	return rc;
}

/** Parse a hex vector's return code. */
static int parse_hex_rc(const char *hex)
{
	uint8_t buf[2048];
	return parse_rc(buf, unhex(hex, buf, sizeof(buf)));
}

/** True if view s holds exactly the C string lit and is NUL-terminated in the packet. */
static int view_is(struct tftp_str s, const char *lit)
{
	return s.len == strlen(lit) && memcmp(s.p, lit, s.len) == 0 && s.p[s.len] == '\0';
}

/* ---- real client vectors ---------------------------------------------------------------- */

struct vector {
	const char *name;
	const char *hex;
	uint16_t op;
	const char *file;
	const char *mode_str;
	enum tftp_mode mode;
	size_t nopts;
	const char *opts[8][2];
};

static const struct vector vectors[] = {
	{"captured: tftp-hpa 5.2 `get pxelinux.0` -m binary",
	 "0001 7078656c696e75782e30 00 6f63746574 00",
	 TFTP_RRQ,
	 "pxelinux.0",
	 "octet",
	 TFTP_MODE_OCTET,
	 0,
	 {{0}}},
	{"captured: tftp-hpa 5.2 `get pxelinux.cfg/default` -m ascii",
	 "0001 7078656c696e75782e6366672f64656661756c74 00 6e6574617363696900",
	 TFTP_RRQ,
	 "pxelinux.cfg/default",
	 "netascii",
	 TFTP_MODE_NETASCII,
	 0,
	 {{0}}},
	{"captured: tftp-hpa 5.2 `put upload.txt`",
	 "0002 75706c6f61642e747874 00 6f6374657400",
	 TFTP_WRQ,
	 "upload.txt",
	 "octet",
	 TFTP_MODE_OCTET,
	 0,
	 {{0}}},
	{"captured: atftp 0.8.0 -g, blksize 1468, windowsize 4, tsize 0",
	 "0001 6600 6f6374657400 7473697a6500 3000 626c6b73697a6500 3134363800"
	 " 77696e646f7773697a6500 3400",
	 TFTP_RRQ,
	 "f",
	 "octet",
	 TFTP_MODE_OCTET,
	 3,
	 {{"tsize", "0"}, {"blksize", "1468"}, {"windowsize", "4"}}},
	{"captured: atftp 0.8.0 -g, no options",
	 "0001 626f6f742f677275627836342e656669 00 6f6374657400",
	 TFTP_RRQ,
	 "boot/grubx64.efi",
	 "octet",
	 TFTP_MODE_OCTET,
	 0,
	 {{0}}},
	{"captured: atftp 0.8.0 -p, blksize 1024, tsize, timeout 3",
	 "0002 75702e74787400 6f6374657400 7473697a6500 3300 74696d656f757400 3300"
	 " 626c6b73697a6500 3130323400",
	 TFTP_WRQ,
	 "up.txt",
	 "octet",
	 TFTP_MODE_OCTET,
	 3,
	 {{"tsize", "3"}, {"timeout", "3"}, {"blksize", "1024"}}},
	{"captured: curl 7.88.1 --tftp-blksize 1468",
	 "0001 6600 6f6374657400 7473697a6500 3000 626c6b73697a6500 3134363800"
	 " 74696d656f757400 3600",
	 TFTP_RRQ,
	 "f",
	 "octet",
	 TFTP_MODE_OCTET,
	 3,
	 {{"tsize", "0"}, {"blksize", "1468"}, {"timeout", "6"}}},
	{"captured: curl 7.88.1 default (blksize 512 is still sent)",
	 "0001 6600 6f6374657400 7473697a6500 3000 626c6b73697a6500 35313200 74696d656f757400 3600",
	 TFTP_RRQ,
	 "f",
	 "octet",
	 TFTP_MODE_OCTET,
	 3,
	 {{"tsize", "0"}, {"blksize", "512"}, {"timeout", "6"}}},
	{"captured: curl 7.88.1 -T (upload)",
	 "0002 75702e74787400 6f6374657400 7473697a6500 3300 626c6b73697a6500 35313200"
	 " 74696d656f757400 3600",
	 TFTP_WRQ,
	 "up.txt",
	 "octet",
	 TFTP_MODE_OCTET,
	 3,
	 {{"tsize", "3"}, {"blksize", "512"}, {"timeout", "6"}}},
	{"captured (published hex dump, raspberrypi/firmware#1041): RPi bootcode tsize 0",
	 "0001 66697875702e64617400 6f6374657400 7473697a6500 3000",
	 TFTP_RRQ,
	 "fixup.dat",
	 "octet",
	 TFTP_MODE_OCTET,
	 1,
	 {{"tsize", "0"}}},
	{"constructed: iPXE tftp_send_rrq, blksize 1432 + tsize 0",
	 "0001 756e64696f6e6c792e6b70786500 6f6374657400 626c6b73697a6500 3134333200"
	 " 7473697a6500 3000",
	 TFTP_RRQ,
	 "undionly.kpxe",
	 "octet",
	 TFTP_MODE_OCTET,
	 2,
	 {{"blksize", "1432"}, {"tsize", "0"}}},
	{"constructed: iPXE tftm:// RRQ, multicast with an empty value",
	 "0001 626f6f742e6970786500 6f6374657400 626c6b73697a6500 3134333200 7473697a6500 3000"
	 " 6d756c746963617374 00 00",
	 TFTP_RRQ,
	 "boot.ipxe",
	 "octet",
	 TFTP_MODE_OCTET,
	 3,
	 {{"blksize", "1432"}, {"tsize", "0"}, {"multicast", ""}}},
	{"constructed: EDK2 UEFI size probe, tsize 0, blksize 1468, windowsize 4",
	 "0001 7368696d7836342e65666900 6f6374657400 7473697a6500 3000 626c6b73697a6500 3134363800"
	 " 77696e646f7773697a6500 3400",
	 TFTP_RRQ,
	 "shimx64.efi",
	 "octet",
	 TFTP_MODE_OCTET,
	 3,
	 {{"tsize", "0"}, {"blksize", "1468"}, {"windowsize", "4"}}},
	{"constructed: EDK2 UEFI download, blksize 1468, windowsize 4",
	 "0001 7368696d7836342e65666900 6f6374657400 626c6b73697a6500 3134363800"
	 " 77696e646f7773697a6500 3400",
	 TFTP_RRQ,
	 "shimx64.efi",
	 "octet",
	 TFTP_MODE_OCTET,
	 2,
	 {{"blksize", "1468"}, {"windowsize", "4"}}},
};

#define NVECTORS (sizeof(vectors) / sizeof(vectors[0]))

/** Check one parsed request against its expected fields. */
static void check_vector_fields(const struct vector *v, const struct tftp_pkt *pkt)
{
	CHECK_EQ(pkt->op, v->op);
	CHECK(view_is(pkt->req.file, v->file));
	CHECK(view_is(pkt->req.mode_str, v->mode_str));
	CHECK_EQ(pkt->req.mode, v->mode);
	CHECK_EQ(pkt->req.nopts, v->nopts);
	for (size_t i = 0; i < v->nopts && i < pkt->req.nopts; i++) {
		CHECK(view_is(pkt->req.opts[i].name, v->opts[i][0]));
		CHECK(view_is(pkt->req.opts[i].value, v->opts[i][1]));
	}
}

static void test_real_client_vectors(void)
{
	for (size_t k = 0; k < NVECTORS; k++) {
		const struct vector *v = &vectors[k];
		uint8_t bytes[512], again[512];
		size_t len = unhex(v->hex, bytes, sizeof(bytes));
		struct tftp_pkt pkt;
		void *base;
		size_t map_len;
		int rc = parse_guarded(bytes, len, &pkt, &base, &map_len);
		CHECK_EQ(rc, 0);
		if (rc != 0) {
			fprintf(stderr, "  vector: %s\n", v->name);
			guard_free(base, map_len);
			continue;
		}
		check_vector_fields(v, &pkt);

		/* Rebuilding from the parsed views gives back the exact bytes. */
		const char *names[8], *values[8];
		for (size_t i = 0; i < pkt.req.nopts; i++) {
			names[i] = pkt.req.opts[i].name.p;
			values[i] = pkt.req.opts[i].value.p;
		}
		int n = tftp_build_req(again, sizeof(again), pkt.op, pkt.req.file.p,
				       pkt.req.mode_str.p, names, values, pkt.req.nopts);
		CHECK_EQ(n, (long long)len);
		CHECK(n == (int)len && memcmp(again, bytes, len) == 0);
		guard_free(base, map_len);
	}
}

/* ---- truncation ------------------------------------------------------------------------- */

/** Expected validity of a prefix of a request / OACK: whole strings, complete pairs. */
static bool prefix_should_parse(const uint8_t *b, size_t len)
{
	uint16_t op;
	size_t nuls = 0;
	if (len < 2)
		return false;
	op = (uint16_t)(b[0] << 8 | b[1]);
	if (op == TFTP_DATA || op == TFTP_ERROR)
		return len >= 4; /* ERROR without its NUL is accepted on purpose */
	if (op == TFTP_ACK)
		return len >= 4;
	for (size_t i = 2; i < len; i++)
		nuls += b[i] == 0;
	if (len > 2 && b[len - 1] != 0)
		return false;
	if (op == TFTP_OACK)
		return nuls % 2 == 0;
	return nuls >= 2 && nuls % 2 == 0;
}

/** Every strict prefix of a valid packet: parses exactly when it is itself well formed. */
static void check_all_prefixes(const uint8_t *bytes, size_t len)
{
	for (size_t cut = 0; cut < len; cut++) {
		int rc = parse_rc(bytes, cut);
		bool ok = prefix_should_parse(bytes, cut);
		CHECK(ok ? rc == 0 : rc == -EBADMSG);
		if (ok ? rc != 0 : rc != -EBADMSG)
			fprintf(stderr, "  prefix %zu of %zu: rc %d\n", cut, len, rc);
	}
}

static void test_truncated_everywhere(void)
{
	static const char *const others[] = {
		"0003 0001 68690a",				      /* captured DATA */
		"0004 0001",					      /* captured ACK */
		"0005 0000 544654502041626f72746564 00",	      /* iPXE abort */
		"0006 626c6b73697a6500 3134363800 7473697a6500 3300", /* OACK */
	};
	for (size_t k = 0; k < NVECTORS; k++) {
		uint8_t bytes[512];
		check_all_prefixes(bytes, unhex(vectors[k].hex, bytes, sizeof(bytes)));
	}
	for (size_t k = 0; k < sizeof(others) / sizeof(others[0]); k++) {
		uint8_t bytes[512];
		check_all_prefixes(bytes, unhex(others[k], bytes, sizeof(bytes)));
	}
}

/* ---- malformed requests ----------------------------------------------------------------- */

static void test_request_negative(void)
{
	/* Too short for an opcode. */
	CHECK_EQ(parse_rc(LIT("")), -EBADMSG);
	CHECK_EQ(parse_rc(LIT("\0")), -EBADMSG);
	/* Missing NULs. */
	CHECK_EQ(parse_rc(LIT("\0\1abc")), -EBADMSG);
	CHECK_EQ(parse_rc(LIT("\0\1abc\0octet")), -EBADMSG);
	CHECK_EQ(parse_rc(LIT("\0\1abc\0octet\0blksize\0001432")), -EBADMSG);
	/* Empty file name (RFC 1350 needs a file). */
	CHECK_EQ(parse_rc(LIT("\0\1\0octet\0")), -EBADMSG);
	CHECK_EQ(parse_rc(LIT("\0\2\0octet\0")), -EBADMSG);
	/* Odd number of option strings: a name without its value. */
	CHECK_EQ(parse_rc(LIT("\0\1f\0octet\0blksize\0")), -EBADMSG);
	CHECK_EQ(parse_rc(LIT("\0\1f\0octet\0blksize\0001432\0tsize\0")), -EBADMSG);
	/* Unknown opcodes. */
	CHECK_EQ(parse_rc(LIT("\0\0f\0octet\0")), -EPROTO);
	CHECK_EQ(parse_rc(LIT("\0\7\0\0")), -EPROTO);
	CHECK_EQ(parse_rc(LIT("\xff\xff")), -EPROTO);
	CHECK_EQ(parse_rc(LIT("\1\1f\0octet\0")), -EPROTO);
	/* Bad modes: "binary" is a client-side alias, never on the wire; empty; a prefix. */
	CHECK_EQ(parse_rc(LIT("\0\1f\0binary\0")), -EPROTO);
	CHECK_EQ(parse_rc(LIT("\0\1f\0\0")), -EPROTO);
	CHECK_EQ(parse_rc(LIT("\0\1f\0oct\0")), -EPROTO);
	CHECK_EQ(parse_rc(LIT("\0\1f\0octets\0")), -EPROTO);
	/* Garbage after NUL padding. */
	CHECK_EQ(parse_rc(LIT("\0\1f\0octet\0\0x")), -EBADMSG);
	CHECK_EQ(parse_rc(LIT("\0\1f\0octet\0\0blksize\0008\0")), -EBADMSG);
	/* Malformed beats bad mode. */
	CHECK_EQ(parse_rc(LIT("\0\1f\0binary\0blksize\0")), -EBADMSG);
}

/** Append "name\0value\0" n times to a request for file "f". Returns the length. */
static size_t many_opts(uint8_t *buf, size_t n)
{
	size_t len = 0;
	memcpy(buf, "\0\1f\0octet\0", 10);
	len = 10;
	for (size_t i = 0; i < n; i++) {
		len += (size_t)sprintf((char *)buf + len, "opt%zu", i) + 1;
		len += (size_t)sprintf((char *)buf + len, "%zu", i) + 1;
	}
	return len;
}

static void test_too_many_options(void)
{
	uint8_t buf[1024];
	void *base;
	size_t map_len, len;
	struct tftp_pkt pkt;

	len = many_opts(buf, TFTP_MAX_OPTS);
	CHECK_EQ(parse_guarded(buf, len, &pkt, &base, &map_len), 0);
	CHECK_EQ(pkt.req.nopts, TFTP_MAX_OPTS);
	CHECK(view_is(pkt.req.opts[TFTP_MAX_OPTS - 1].name, "opt15"));
	CHECK(view_is(pkt.req.opts[TFTP_MAX_OPTS - 1].value, "15"));
	guard_free(base, map_len);

	len = many_opts(buf, TFTP_MAX_OPTS + 1);
	CHECK_EQ(parse_rc(buf, len), -E2BIG);
	len = many_opts(buf, 40);
	CHECK_EQ(parse_rc(buf, len), -E2BIG);
	/* Too many and then malformed: malformed wins. */
	len = many_opts(buf, 40);
	buf[len - 1] = 'x';
	CHECK_EQ(parse_rc(buf, len), -EBADMSG);
	/* The same limit in an OACK: turning the request header into an OACK opcode makes
	 * "f"/"octet" one more pair. */
	len = many_opts(buf, TFTP_MAX_OPTS - 1);
	buf[1] = TFTP_OACK;
	CHECK_EQ(parse_rc(buf, len), 0);
	len = many_opts(buf, TFTP_MAX_OPTS);
	buf[1] = TFTP_OACK;
	CHECK_EQ(parse_rc(buf, len), -E2BIG);
}

/* ---- accepted quirks -------------------------------------------------------------------- */

static void test_request_lenient(void)
{
	void *base;
	size_t map_len;
	struct tftp_pkt pkt;

	/* Mode names are case-insensitive (RFC 1350 §5); mode_str keeps the client's spelling. */
	CHECK_EQ(parse_guarded(LIT("\0\1f\0OcTeT\0"), &pkt, &base, &map_len), 0);
	CHECK_EQ(pkt.req.mode, TFTP_MODE_OCTET);
	CHECK(view_is(pkt.req.mode_str, "OcTeT"));
	guard_free(base, map_len);
	CHECK_EQ(parse_guarded(LIT("\0\2f\0NETASCII\0"), &pkt, &base, &map_len), 0);
	CHECK_EQ(pkt.req.mode, TFTP_MODE_NETASCII);
	CHECK_EQ(pkt.op, TFTP_WRQ);
	guard_free(base, map_len);
	CHECK_EQ(parse_guarded(LIT("\0\2f\0Mail\0"), &pkt, &base, &map_len), 0);
	CHECK_EQ(pkt.req.mode, TFTP_MODE_MAIL);
	guard_free(base, map_len);

	/* Trailing NUL padding after the mode and after the last option. */
	CHECK_EQ(parse_rc(LIT("\0\1f\0octet\0\0")), 0);
	CHECK_EQ(parse_rc(LIT("\0\1f\0octet\0\0\0\0\0")), 0);
	CHECK_EQ(parse_guarded(LIT("\0\1f\0octet\0blksize\0001432\0\0"), &pkt, &base, &map_len), 0);
	CHECK_EQ(pkt.req.nopts, 1);
	CHECK(view_is(pkt.req.opts[0].value, "1432"));
	guard_free(base, map_len);

	/* An empty value is a value (iPXE sends "multicast" with one); names keep their case. */
	CHECK_EQ(parse_guarded(LIT("\0\1f\0octet\0BlkSize\0\0"), &pkt, &base, &map_len), 0);
	CHECK_EQ(pkt.req.nopts, 1);
	CHECK(view_is(pkt.req.opts[0].name, "BlkSize"));
	CHECK(view_is(pkt.req.opts[0].value, ""));
	CHECK(tftp_opt_find(pkt.req.opts, pkt.req.nopts, "blksize") == &pkt.req.opts[0]);
	CHECK(tftp_opt_find(pkt.req.opts, pkt.req.nopts, "tsize") == NULL);
	guard_free(base, map_len);

	/* Bytes above 0x7f in names are kept as sent. */
	CHECK_EQ(parse_rc(LIT("\0\1\xff\xfe\0octet\0")), 0);
}

/** out is left alone when parsing fails. */
static void test_out_untouched_on_error(void)
{
	static const struct {
		const void *bytes;
		size_t len;
	} bad[] = {
		{LIT("\0\1f\0binary\0")}, {LIT("\0\1f")},	  {LIT("\0\3\0")},
		{LIT("\0\5\0\1x\0y")},	  {LIT("\0\6blksize\0")}, {LIT("\0\x09")},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct tftp_pkt pkt, before;
		void *base;
		size_t map_len;
		memset(&pkt, 0xa5, sizeof(pkt));
		memcpy(&before, &pkt, sizeof(pkt));
		CHECK(parse_guarded(bad[i].bytes, bad[i].len, &pkt, &base, &map_len) < 0);
		CHECK(memcmp(&pkt, &before, sizeof(pkt)) == 0);
		guard_free(base, map_len);
	}
}

/* ---- DATA / ACK / ERROR / OACK ---------------------------------------------------------- */

static void test_data_roundtrip(void)
{
	static uint8_t buf[4 + 65464 + 1];
	static const size_t sizes[] = {0, 1, 512, 1432, 1468, 65464};
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		size_t n = sizes[k];
		void *base;
		size_t map_len;
		struct tftp_pkt pkt;
		CHECK_EQ(tftp_build_data_hdr(buf, sizeof(buf), (uint16_t)(k * 4097)), 4);
		for (size_t i = 0; i < n; i++)
			buf[4 + i] = (uint8_t)(i * 7);
		CHECK_EQ(parse_guarded(buf, 4 + n, &pkt, &base, &map_len), 0);
		CHECK_EQ(pkt.op, TFTP_DATA);
		CHECK_EQ(pkt.data.block, (uint16_t)(k * 4097));
		CHECK_EQ(pkt.data.len, n);
		CHECK(n == 0 || memcmp(pkt.data.data, buf + 4, n) == 0);
		guard_free(base, map_len);
	}
	/* One byte over the RFC 2348 maximum. */
	CHECK_EQ(parse_rc(buf, 4 + 65465), -EBADMSG);
	/* Captured: tftp-hpa `put` of "hi\n", block 1. */
	CHECK_EQ(parse_hex_rc("0003 0001 68690a"), 0);
	/* Header builder bounds. */
	CHECK_EQ(tftp_build_data_hdr(buf, 3, 1), -ENOSPC);
	CHECK_EQ(tftp_build_data_hdr(buf, 0, 1), -ENOSPC);
	CHECK_EQ(tftp_build_data_hdr(buf, 4, 0xffff), 4);
	CHECK(memcmp(buf, "\0\3\xff\xff", 4) == 0);
}

static void test_ack_roundtrip(void)
{
	uint8_t buf[8];
	void *base;
	size_t map_len;
	struct tftp_pkt pkt;
	static const uint16_t blocks[] = {0, 1, 0x1234, 0xffff};

	for (size_t k = 0; k < 4; k++) {
		CHECK_EQ(tftp_build_ack(buf, sizeof(buf), blocks[k]), 4);
		CHECK_EQ(parse_guarded(buf, 4, &pkt, &base, &map_len), 0);
		CHECK_EQ(pkt.op, TFTP_ACK);
		CHECK_EQ(pkt.ack.block, blocks[k]);
		guard_free(base, map_len);
	}
	CHECK_EQ(tftp_build_ack(buf, 3, 1), -ENOSPC);
	/* Captured: tftp-hpa ACK of block 1; atftp and curl ACK of the OACK (block 0). */
	CHECK_EQ(parse_guarded(LIT("\0\4\0\1"), &pkt, &base, &map_len), 0);
	CHECK_EQ(pkt.ack.block, 1);
	guard_free(base, map_len);
	CHECK_EQ(parse_hex_rc("00040000"), 0);
	/* Short ACKs are malformed; extra bytes after the block are ignored. */
	CHECK_EQ(parse_rc(LIT("\0\4\0")), -EBADMSG);
	CHECK_EQ(parse_rc(LIT("\0\4")), -EBADMSG);
	CHECK_EQ(parse_guarded(LIT("\0\4\0\7\0\0"), &pkt, &base, &map_len), 0);
	CHECK_EQ(pkt.ack.block, 7);
	guard_free(base, map_len);
}

static void test_error_roundtrip(void)
{
	uint8_t buf[128];
	void *base;
	size_t map_len;
	struct tftp_pkt pkt;

	int n = tftp_build_error(buf, sizeof(buf), TFTP_ENOTFOUND, "File not found");
	CHECK_EQ(n, 4 + 14 + 1);
	CHECK(memcmp(buf, "\0\5\0\1File not found\0", 19) == 0);
	CHECK_EQ(parse_guarded(buf, (size_t)n, &pkt, &base, &map_len), 0);
	CHECK_EQ(pkt.op, TFTP_ERROR);
	CHECK_EQ(pkt.error.code, TFTP_ENOTFOUND);
	CHECK(view_is(pkt.error.msg, "File not found"));
	guard_free(base, map_len);

	/* NULL message: the RFC text for the code. */
	n = tftp_build_error(buf, sizeof(buf), TFTP_EOPTNEG, NULL);
	CHECK_EQ(parse_guarded(buf, (size_t)n, &pkt, &base, &map_len), 0);
	CHECK_EQ(pkt.error.code, 8);
	CHECK(view_is(pkt.error.msg, tftp_errcode_str(8)));
	guard_free(base, map_len);

	/* Every cap below the need is -ENOSPC. */
	for (size_t cap = 0; cap < 19; cap++)
		CHECK_EQ(tftp_build_error(buf, cap, 1, "File not found"), -ENOSPC);
	CHECK_EQ(tftp_build_error(buf, 19, 1, "File not found"), 19);

	/* Constructed: iPXE's size-only abort; UEFI's abort after the tsize probe. */
	CHECK_EQ(parse_guarded(LIT("\0\5\0\0TFTP Aborted\0"), &pkt, &base, &map_len), 0);
	CHECK(view_is(pkt.error.msg, "TFTP Aborted"));
	guard_free(base, map_len);
	CHECK_EQ(parse_rc(LIT("\0\5\0\10User aborted the transfer\0")), 0);

	/* Missing NUL: accepted, text dropped, msg still a C string. */
	CHECK_EQ(parse_guarded(LIT("\0\5\0\2denied"), &pkt, &base, &map_len), 0);
	CHECK_EQ(pkt.error.code, 2);
	CHECK_EQ(pkt.error.msg.len, 0);
	CHECK_STR(pkt.error.msg.p, "");
	guard_free(base, map_len);
	CHECK_EQ(parse_rc(LIT("\0\5\0\2")), 0);
	/* NUL padding after the message is fine, anything else is not. */
	CHECK_EQ(parse_rc(LIT("\0\5\0\2x\0\0\0")), 0);
	CHECK_EQ(parse_rc(LIT("\0\5\0\2x\0y")), -EBADMSG);
	CHECK_EQ(parse_rc(LIT("\0\5\0\2x\0y\0")), -EBADMSG);
	/* Too short for the code. */
	CHECK_EQ(parse_rc(LIT("\0\5\0")), -EBADMSG);
}

static void test_oack_roundtrip(void)
{
	uint8_t buf[256];
	void *base;
	size_t map_len;
	struct tftp_pkt pkt;
	const char *names[] = {"blksize", "windowsize", "tsize"};
	const char *values[] = {"1468", "4", "123456"};
	static const char want[] = "\0\6blksize\0001468\0windowsize\0004\0tsize\000123456";

	int n = tftp_build_oack(buf, sizeof(buf), names, values, 3);
	CHECK_EQ(n, (int)sizeof(want));
	CHECK(memcmp(buf, want, sizeof(want)) == 0);
	CHECK_EQ(parse_guarded(buf, (size_t)n, &pkt, &base, &map_len), 0);
	CHECK_EQ(pkt.op, TFTP_OACK);
	CHECK_EQ(pkt.oack.nopts, 3);
	for (size_t i = 0; i < 3; i++) {
		CHECK(view_is(pkt.oack.opts[i].name, names[i]));
		CHECK(view_is(pkt.oack.opts[i].value, values[i]));
	}
	CHECK(tftp_opt_find(pkt.oack.opts, pkt.oack.nopts, "TSIZE") == &pkt.oack.opts[2]);
	guard_free(base, map_len);

	for (int cap = 0; cap < n; cap++)
		CHECK_EQ(tftp_build_oack(buf, (size_t)cap, names, values, 3), -ENOSPC);
	/* An empty OACK is just the opcode; it parses with no options. */
	CHECK_EQ(tftp_build_oack(buf, sizeof(buf), NULL, NULL, 0), 2);
	CHECK_EQ(parse_guarded(buf, 2, &pkt, &base, &map_len), 0);
	CHECK_EQ(pkt.oack.nopts, 0);
	guard_free(base, map_len);
	/* Empty or missing names cannot be encoded. */
	const char *bad_names[] = {"blksize", ""};
	CHECK_EQ(tftp_build_oack(buf, sizeof(buf), bad_names, values, 2), -EINVAL);
	const char *null_values[] = {"1", NULL};
	CHECK_EQ(tftp_build_oack(buf, sizeof(buf), names, null_values, 2), -EINVAL);
	/* A malformed OACK: value missing. */
	CHECK_EQ(parse_rc(LIT("\0\6blksize\0")), -EBADMSG);
	CHECK_EQ(parse_rc(LIT("\0\6blksize\0001468")), -EBADMSG);
}

static void test_build_req(void)
{
	uint8_t buf[256];
	const char *names[] = {"blksize", "tsize"};
	const char *values[] = {"1432", "0"};
	static const char want[] = "\0\1undionly.kpxe\0octet\0blksize\0001432\0tsize\0000";

	int n = tftp_build_req(buf, sizeof(buf), TFTP_RRQ, "undionly.kpxe", "octet", names, values,
			       2);
	CHECK_EQ(n, (int)sizeof(want));
	CHECK(memcmp(buf, want, sizeof(want)) == 0);
	for (int cap = 0; cap < n; cap++)
		CHECK_EQ(tftp_build_req(buf, (size_t)cap, TFTP_RRQ, "undionly.kpxe", "octet", names,
					values, 2),
			 -ENOSPC);
	/* NULL mode is octet. */
	CHECK_EQ(tftp_build_req(buf, sizeof(buf), TFTP_WRQ, "x", NULL, NULL, NULL, 0), 10);
	CHECK(memcmp(buf, "\0\2x\0octet\0", 10) == 0);
	/* Invalid requests. */
	CHECK_EQ(tftp_build_req(buf, sizeof(buf), TFTP_DATA, "x", "octet", NULL, NULL, 0), -EINVAL);
	CHECK_EQ(tftp_build_req(buf, sizeof(buf), TFTP_RRQ, "", "octet", NULL, NULL, 0), -EINVAL);
	CHECK_EQ(tftp_build_req(buf, sizeof(buf), TFTP_RRQ, NULL, "octet", NULL, NULL, 0), -EINVAL);
	const char *empty_name[] = {""};
	CHECK_EQ(tftp_build_req(buf, sizeof(buf), TFTP_RRQ, "x", "octet", empty_name, values, 1),
		 -EINVAL);
}

static void test_errcode_str(void)
{
	CHECK_STR(tftp_errcode_str(TFTP_ENOTDEFINED), "Not defined");
	CHECK_STR(tftp_errcode_str(TFTP_ENOTFOUND), "File not found");
	CHECK_STR(tftp_errcode_str(TFTP_EACCESS), "Access violation");
	CHECK_STR(tftp_errcode_str(TFTP_ENOSPACE), "Disk full or allocation exceeded");
	CHECK_STR(tftp_errcode_str(TFTP_EBADOP), "Illegal TFTP operation");
	CHECK_STR(tftp_errcode_str(TFTP_EBADID), "Unknown transfer ID");
	CHECK_STR(tftp_errcode_str(TFTP_EEXISTS), "File already exists");
	CHECK_STR(tftp_errcode_str(TFTP_ENOUSER), "No such user");
	CHECK_STR(tftp_errcode_str(TFTP_EOPTNEG), "Option negotiation failed");
	CHECK_STR(tftp_errcode_str(9), "Unknown error");
	CHECK_STR(tftp_errcode_str(0xffff), "Unknown error");
}

static void test_str_caseeq(void)
{
	struct tftp_str s = {"BlkSize", 7};
	CHECK(tftp_str_caseeq(s, "blksize"));
	CHECK(tftp_str_caseeq(s, "BLKSIZE"));
	CHECK(!tftp_str_caseeq(s, "blksiz"));
	CHECK(!tftp_str_caseeq(s, "blksize2"));
	struct tftp_str e = {"", 0};
	CHECK(tftp_str_caseeq(e, ""));
	/* Only ASCII letters fold: '@' (0x40) and '`' (0x60) differ. */
	struct tftp_str at = {"@", 1};
	CHECK(!tftp_str_caseeq(at, "`"));
}

int main(void)
{
	RUN(test_real_client_vectors);
	RUN(test_truncated_everywhere);
	RUN(test_request_negative);
	RUN(test_too_many_options);
	RUN(test_request_lenient);
	RUN(test_out_untouched_on_error);
	RUN(test_data_roundtrip);
	RUN(test_ack_roundtrip);
	RUN(test_error_roundtrip);
	RUN(test_oack_roundtrip);
	RUN(test_build_req);
	RUN(test_errcode_str);
	RUN(test_str_caseeq);
	return test_summary();
}
