/* Unit tests for the DHCPv4 codec (src/dhcp/dhcp_wire.c): real client captures, synthetic
 * overload / RFC 3396 / malformed cases, and the reply builder. Captures were taken on a veth
 * pair between two private network namespaces (198.18.0.0/15), see docs/dhcp-wire.md. */
#include "dhcp/dhcp_wire.h"
#include "test.h"

#include <errno.h>
#include <stdint.h>

/* DHCPDISCOVER from busybox 1.35.0 udhcpc -V PXEClient:Arch:00000:UNDI:002001 -x hostname:slave21 (309 bytes) */
static const uint8_t discover_udhcpc[] = {
	0x01, 0x01, 0x06, 0x00, 0x31, 0xa4, 0x86, 0x0e, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x52, 0x54,
	0x00, 0x12, 0x34, 0x21, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x63, 0x82, 0x53, 0x63,
	0x35, 0x01, 0x01, 0x39, 0x02, 0x02, 0x40, 0x37, 0x07, 0x01, 0x03, 0x06, 0x0c, 0x0f, 0x1c,
	0x2a, 0x0c, 0x07, 0x73, 0x6c, 0x61, 0x76, 0x65, 0x32, 0x31, 0x3c, 0x20, 0x50, 0x58, 0x45,
	0x43, 0x6c, 0x69, 0x65, 0x6e, 0x74, 0x3a, 0x41, 0x72, 0x63, 0x68, 0x3a, 0x30, 0x30, 0x30,
	0x30, 0x30, 0x3a, 0x55, 0x4e, 0x44, 0x49, 0x3a, 0x30, 0x30, 0x32, 0x30, 0x30, 0x31, 0x3d,
	0x07, 0x01, 0x52, 0x54, 0x00, 0x12, 0x34, 0x21, 0xff,
};

/* DHCPDISCOVER from isc-dhclient 4.4.3-P1 (300 bytes) */
static const uint8_t discover_dhclient[] = {
	0x01, 0x01, 0x06, 0x00, 0x60, 0x02, 0x18, 0x50, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x52, 0x54,
	0x00, 0x12, 0x34, 0x21, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x63, 0x82, 0x53, 0x63,
	0x35, 0x01, 0x01, 0x0c, 0x02, 0x76, 0x6d, 0x37, 0x0d, 0x01, 0x1c, 0x02, 0x03, 0x0f, 0x06,
	0x77, 0x0c, 0x2c, 0x2f, 0x1a, 0x79, 0x2a, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};

/* DHCPDISCOVER from dhcpcd 9.4.1 -h slave21 (302 bytes) */
static const uint8_t discover_dhcpcd[] = {
	0x01, 0x01, 0x06, 0x00, 0x48, 0xf1, 0xd1, 0xda, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x52, 0x54,
	0x00, 0x12, 0x34, 0x21, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x63, 0x82, 0x53, 0x63,
	0x35, 0x01, 0x01, 0x37, 0x0e, 0x01, 0x79, 0x03, 0x06, 0x0c, 0x0f, 0x1a, 0x1c, 0x21, 0x33,
	0x36, 0x3a, 0x3b, 0x77, 0x39, 0x02, 0x05, 0xc0, 0x3d, 0x13, 0xff, 0x00, 0x12, 0x34, 0x21,
	0x00, 0x01, 0x00, 0x01, 0x32, 0x93, 0xf8, 0x3e, 0x52, 0x54, 0x00, 0x12, 0x34, 0x21, 0x50,
	0x00, 0x0c, 0x07, 0x73, 0x6c, 0x61, 0x76, 0x65, 0x32, 0x31, 0x74, 0x01, 0x01, 0x91, 0x01,
	0x01, 0xff,
};

/* Parse a copy of data placed right before an unreadable page, so over-reads crash. */
static int parse_guarded(const uint8_t *data, size_t len, struct dhcp_msg *m, void **base,
			 size_t *map)
{
	const uint8_t *p = guard_copy(data, len, base, map);
	return dhcp_parse(p, len, m);
}

/* A BOOTREQUEST header + cookie followed by opts; returns the total length. */
static size_t mk_packet(uint8_t *buf, size_t cap, const uint8_t *opts, size_t optlen)
{
	memset(buf, 0, cap);
	buf[0] = 1;
	buf[1] = 1;
	buf[2] = 6;
	buf[4] = 0x12, buf[5] = 0x34, buf[6] = 0x56, buf[7] = 0x78;
	memcpy(buf + 28, "\x52\x54\x00\x12\x34\x21", 6);
	buf[236] = 0x63, buf[237] = 0x82, buf[238] = 0x53, buf[239] = 0x63;
	memcpy(buf + 240, opts, optlen);
	return 240 + optlen;
}

/* Option codes of the options field of an encoded message, in order (pad skipped). */
static size_t opt_codes(const uint8_t *msg, size_t len, uint8_t *codes)
{
	size_t n = 0;
	for (size_t i = 240; i < len && msg[i] != 255;) {
		if (msg[i] == 0) {
			i++;
			continue;
		}
		codes[n++] = msg[i];
		i += 2 + (size_t)msg[i + 1];
	}
	return n;
}

static bool opt_is(const struct dhcp_msg *m, uint8_t code, const char *want, size_t wlen)
{
	size_t len;
	const uint8_t *p = dhcp_opt(m, code, &len);
	return p && len == wlen && memcmp(p, want, wlen) == 0;
}

static void test_udhcpc(void)
{
	struct dhcp_msg m;
	void *base;
	size_t map, len;

	CHECK_EQ(parse_guarded(discover_udhcpc, sizeof(discover_udhcpc), &m, &base, &map), 0);
	CHECK_EQ(m.hdr.op, DHCP_BOOTREQUEST);
	CHECK_EQ(m.hdr.htype, 1);
	CHECK_EQ(m.hdr.hlen, 6);
	CHECK_EQ(m.hdr.xid, 0x31a4860e);
	CHECK(memcmp(m.hdr.chaddr, "\x52\x54\x00\x12\x34\x21", 6) == 0);
	CHECK(!m.bootp);
	CHECK_EQ(dhcp_msg_type(&m), DHCP_DISCOVER);
	uint16_t mms;
	CHECK_EQ(dhcp_opt_max_msg_size(&m, &mms), 0);
	CHECK_EQ(mms, 576);
	CHECK_EQ(dhcp_msg_max_reply(&m, 1500), 548);
	const uint8_t *prl = dhcp_opt(&m, DHCP_OPT_PARAM_REQ, &len);
	CHECK(prl && len == 7 && memcmp(prl, "\x01\x03\x06\x0c\x0f\x1c\x2a", 7) == 0);
	CHECK(opt_is(&m, DHCP_OPT_HOSTNAME, "slave21", 7));
	CHECK(opt_is(&m, DHCP_OPT_VENDOR_CLASS, "PXEClient:Arch:00000:UNDI:002001", 32));
	const uint8_t *id;
	CHECK_EQ(dhcp_opt_client_id(&m, &id, &len), 0);
	CHECK(len == 7 && memcmp(id, "\x01\x52\x54\x00\x12\x34\x21", 7) == 0);
	CHECK(!dhcp_has_opt(&m, DHCP_OPT_CLIENT_ARCH));
	const char *s;
	CHECK_EQ(dhcp_msg_file(&m, &s), 0);
	CHECK_EQ(dhcp_msg_sname(&m, &s), 0);
	guard_free(base, map);
}

static void test_dhclient(void)
{
	struct dhcp_msg m;
	void *base;
	size_t map, len;
	uint16_t mms;

	CHECK_EQ(parse_guarded(discover_dhclient, sizeof(discover_dhclient), &m, &base, &map), 0);
	CHECK_EQ(dhcp_msg_type(&m), DHCP_DISCOVER);
	CHECK_EQ(dhcp_opt_max_msg_size(&m, &mms), -ENOENT);
	CHECK_EQ(dhcp_msg_max_reply(&m, 1500), 548);
	const uint8_t *prl = dhcp_opt(&m, DHCP_OPT_PARAM_REQ, &len);
	CHECK(prl && len == 13 &&
	      memcmp(prl, "\x01\x1c\x02\x03\x0f\x06\x77\x0c\x2c\x2f\x1a\x79\x2a", 13) == 0);
	CHECK(opt_is(&m, DHCP_OPT_HOSTNAME, "vm", 2));
	CHECK(!dhcp_has_opt(&m, DHCP_OPT_CLIENT_ID));
	guard_free(base, map);
}

static void test_dhcpcd(void)
{
	struct dhcp_msg m;
	void *base;
	size_t map, len;
	uint16_t mms;

	CHECK_EQ(parse_guarded(discover_dhcpcd, sizeof(discover_dhcpcd), &m, &base, &map), 0);
	CHECK_EQ(dhcp_msg_type(&m), DHCP_DISCOVER);
	CHECK_EQ(dhcp_opt_max_msg_size(&m, &mms), 0);
	CHECK_EQ(mms, 1472);
	CHECK_EQ(dhcp_msg_max_reply(&m, 1500), 1444);
	CHECK_EQ(dhcp_msg_max_reply(&m, 1000), 972);
	CHECK_EQ(dhcp_msg_max_reply(&m, 0), 1444);
	CHECK_EQ(dhcp_msg_max_reply(&m, 500), 548); /* never below the RFC 2131 minimum */
	/* option 80 (rapid commit) is present with zero length */
	CHECK(dhcp_opt(&m, 80, &len) != NULL);
	CHECK_EQ(len, 0);
	const uint8_t *id;
	CHECK_EQ(dhcp_opt_client_id(&m, &id, &len), 0);
	CHECK_EQ(len, 19);
	CHECK_EQ(id[0], 0xff); /* RFC 4361 IAID + DUID */
	CHECK(opt_is(&m, DHCP_OPT_HOSTNAME, "slave21", 7));
	CHECK(opt_is(&m, 145, "\x01", 1));
	guard_free(base, map);
}

/* Every prefix of a real message: below 240 bytes -EBADMSG, else 0 or -EBADMSG (0 exactly when
 * the cut falls between options), never an over-read. */
static void check_prefixes(const uint8_t *pkt, size_t full)
{
	for (size_t len = 0; len < full; len++) {
		struct dhcp_msg m;
		void *base;
		size_t map;
		int rc = parse_guarded(pkt, len, &m, &base, &map);
		if (len < DHCP_MIN_LEN)
			CHECK_EQ(rc, -EBADMSG);
		else
			CHECK(rc == 0 || rc == -EBADMSG);
		guard_free(base, map);
	}
}

static void test_truncated_everywhere(void)
{
	check_prefixes(discover_udhcpc, sizeof(discover_udhcpc));
	check_prefixes(discover_dhclient, sizeof(discover_dhclient));
	check_prefixes(discover_dhcpcd, sizeof(discover_dhcpcd));
	/* cut inside the last option's data (dhcpcd: ... 145,1,1,255) */
	struct dhcp_msg m;
	CHECK_EQ(dhcp_parse(discover_dhcpcd, sizeof(discover_dhcpcd) - 2, &m), -EBADMSG);
	/* cut right after the last option: end option missing, tolerated */
	CHECK_EQ(dhcp_parse(discover_dhcpcd, sizeof(discover_dhcpcd) - 1, &m), 0);
	CHECK(opt_is(&m, 145, "\x01", 1));
}

static void test_malformed(void)
{
	uint8_t buf[600];
	struct dhcp_msg m;

	static const uint8_t past_end[] = {53, 1, 1, 12, 10, 'a', 'b'};
	CHECK_EQ(dhcp_parse(buf, mk_packet(buf, sizeof(buf), past_end, sizeof(past_end)), &m),
		 -EBADMSG);
	static const uint8_t no_len[] = {53, 1, 1, 12};
	CHECK_EQ(dhcp_parse(buf, mk_packet(buf, sizeof(buf), no_len, sizeof(no_len)), &m),
		 -EBADMSG);
	/* hlen > 16, bad op */
	static const uint8_t ok[] = {53, 1, 1, 255};
	size_t n = mk_packet(buf, sizeof(buf), ok, sizeof(ok));
	buf[2] = 17;
	CHECK_EQ(dhcp_parse(buf, n, &m), -EBADMSG);
	buf[2] = 16;
	CHECK_EQ(dhcp_parse(buf, n, &m), 0);
	buf[0] = 3;
	CHECK_EQ(dhcp_parse(buf, n, &m), -EBADMSG);
	buf[0] = 2;
	CHECK_EQ(dhcp_parse(buf, n, &m), 0);
	CHECK_EQ(m.hdr.op, DHCP_BOOTREPLY);
	/* too short: header + cookie is 240 */
	CHECK_EQ(dhcp_parse(buf, 239, &m), -EBADMSG);
	CHECK_EQ(dhcp_parse(buf, 0, &m), -EBADMSG);
	CHECK_EQ(dhcp_parse(buf, 240, &m), 0); /* no options at all */
	CHECK_EQ(dhcp_msg_type(&m), 0);
}

static void test_untouched_on_error(void)
{
	uint8_t buf[600];
	struct dhcp_msg m;
	static const uint8_t bad[] = {53, 1, 1, 61, 9, 1};

	memset(&m, 0xaa, sizeof(m));
	CHECK_EQ(dhcp_parse(buf, mk_packet(buf, sizeof(buf), bad, sizeof(bad)), &m), -EBADMSG);
	CHECK_EQ(m.hdr.xid, 0xaaaaaaaa);
	CHECK_EQ(m.opt[53].len, 0xaaaa);
}

static void test_plain_bootp(void)
{
	uint8_t buf[300] = {1, 1, 6, 0, 0xde, 0xad, 0xbe, 0xef};
	struct dhcp_msg m;

	memcpy(buf + 108, "pxelinux.0", 10);
	buf[236] = 53; /* vend field without the cookie: opaque */
	buf[237] = 1;
	buf[238] = 1;
	CHECK_EQ(dhcp_parse(buf, sizeof(buf), &m), 0);
	CHECK(m.bootp);
	CHECK_EQ(m.hdr.xid, 0xdeadbeef);
	CHECK_EQ(dhcp_msg_type(&m), 0);
	CHECK(!dhcp_has_opt(&m, 53));
	const char *s;
	CHECK_EQ(dhcp_msg_file(&m, &s), 10);
	CHECK(memcmp(s, "pxelinux.0", 10) == 0);
}

static void test_pad_and_end(void)
{
	uint8_t buf[600];
	struct dhcp_msg m;
	/* pads between options, garbage (a truncated option) after end is ignored */
	static const uint8_t opts[] = {0, 0, 53, 1, 3, 0, 12, 2, 'n', '1', 255, 15, 200, 'x'};

	CHECK_EQ(dhcp_parse(buf, mk_packet(buf, sizeof(buf), opts, sizeof(opts)), &m), 0);
	CHECK_EQ(dhcp_msg_type(&m), DHCP_REQUEST);
	CHECK(opt_is(&m, 12, "n1", 2));
	CHECK(!dhcp_has_opt(&m, 15));
	CHECK(!dhcp_has_opt(&m, 0));
	CHECK(!dhcp_has_opt(&m, 255));
}

static void test_overload(void)
{
	uint8_t buf[600];
	struct dhcp_msg m;
	static const uint8_t opts[] = {53, 1, 1, 52, 1, 3, 255};
	size_t n = mk_packet(buf, sizeof(buf), opts, sizeof(opts));

	memcpy(buf + DHCP_FILE_OFF,
	       "\x0c\x03"
	       "abc"
	       "\xff",
	       6);
	memcpy(buf + DHCP_SNAME_OFF,
	       "\x00\x0f\x03"
	       "xyz",
	       6); /* pad, no end: tolerated */
	CHECK_EQ(dhcp_parse(buf, n, &m), 0);
	CHECK_EQ(m.overload, 3);
	CHECK(opt_is(&m, DHCP_OPT_HOSTNAME, "abc", 3));
	CHECK(opt_is(&m, DHCP_OPT_DOMAIN, "xyz", 3));
	const char *s;
	CHECK_EQ(dhcp_msg_file(&m, &s), 0);
	CHECK_EQ(dhcp_msg_sname(&m, &s), 0);

	/* only file overloaded: sname is a server name again and its bytes are not options */
	buf[240 + 5] = 1;
	memcpy(buf + DHCP_SNAME_OFF, "tftp1\0", 6);
	CHECK_EQ(dhcp_parse(buf, n, &m), 0);
	CHECK_EQ(m.overload, DHCP_OVERLOAD_FILE);
	CHECK(opt_is(&m, DHCP_OPT_HOSTNAME, "abc", 3));
	CHECK(!dhcp_has_opt(&m, DHCP_OPT_DOMAIN));
	CHECK_EQ(dhcp_msg_sname(&m, &s), 5);
	CHECK(memcmp(s, "tftp1", 5) == 0);

	/* truncated option inside the file field */
	memcpy(buf + DHCP_FILE_OFF + 120,
	       "\x0c\x09"
	       "abc",
	       5);
	memset(buf + DHCP_FILE_OFF, 0, 6);
	CHECK_EQ(dhcp_parse(buf, n, &m), -EBADMSG);

	/* bad option 52: value 0 or 4, wrong length, twice */
	static const uint8_t bad0[] = {52, 1, 0, 255}, bad4[] = {52, 1, 4, 255},
			     bad2[] = {52, 2, 1, 1, 255}, twice[] = {52, 1, 1, 52, 1, 1, 255};
	CHECK_EQ(dhcp_parse(buf, mk_packet(buf, sizeof(buf), bad0, 4), &m), -EBADMSG);
	CHECK_EQ(dhcp_parse(buf, mk_packet(buf, sizeof(buf), bad4, 4), &m), -EBADMSG);
	CHECK_EQ(dhcp_parse(buf, mk_packet(buf, sizeof(buf), bad2, 5), &m), -EBADMSG);
	CHECK_EQ(dhcp_parse(buf, mk_packet(buf, sizeof(buf), twice, 7), &m), -EBADMSG);
}

static void test_concat_rfc3396(void)
{
	uint8_t buf[600];
	struct dhcp_msg m;
	static const uint8_t opts[] = {43, 3, 'a', 'b', 'c', 12,  1,  'h', 52,
				       1,  3, 43,  2,	'd', 'e', 77, 0,   255};
	size_t n = mk_packet(buf, sizeof(buf), opts, sizeof(opts));

	memcpy(buf + DHCP_FILE_OFF,
	       "\x2b\x01"
	       "f"
	       "\x4d\x00\xff",
	       6);
	memcpy(buf + DHCP_SNAME_OFF,
	       "\x2b\x02"
	       "gh"
	       "\xff",
	       5);
	void *base;
	size_t map;
	CHECK_EQ(parse_guarded(buf, n, &m, &base, &map), 0);
	CHECK(opt_is(&m, 43, "abcdefgh", 8)); /* order: options, file, sname */
	CHECK_EQ(m.opt[43].count, 4);
	CHECK(opt_is(&m, 12, "h", 1));
	size_t len;
	CHECK(dhcp_opt(&m, 77, &len) != NULL); /* two empty instances: present, empty */
	CHECK_EQ(len, 0);
	/* the struct can be copied: views into scratch follow the copy */
	struct dhcp_msg copy = m;
	memset(&m, 0, sizeof(m));
	CHECK(opt_is(&copy, 43, "abcdefgh", 8));
	guard_free(base, map);

	/* a 600-byte option sent as 255 + 255 + 90 */
	uint8_t big[1200], o[700];
	size_t k = 0;
	o[k++] = 53, o[k++] = 1, o[k++] = 1;
	for (int part = 0, left = 600; left > 0; part++) {
		int l = left > 255 ? 255 : left;
		o[k++] = 125;
		o[k++] = (uint8_t)l;
		for (int i = 0; i < l; i++)
			o[k++] = (uint8_t)(part * 255 + i);
		left -= l;
	}
	o[k++] = 255;
	CHECK_EQ(dhcp_parse(big, mk_packet(big, sizeof(big), o, k), &m), 0);
	const uint8_t *v = dhcp_opt(&m, 125, &len);
	CHECK(v && len == 600);
	bool same = true;
	for (size_t i = 0; v && i < 600; i++)
		same = same && v[i] == (uint8_t)i;
	CHECK(same);
}

static void test_limits(void)
{
	static uint8_t huge[DHCP_MAX_PACKET + 1];
	struct dhcp_msg m;
	uint8_t o[3100];
	size_t k = 0;

	CHECK_EQ(dhcp_parse(huge, sizeof(huge), &m), -EMSGSIZE);
	/* 12 instances of 255 bytes: 3060 bytes to concatenate, more than the scratch area */
	for (int i = 0; i < 12; i++) {
		o[k++] = 43;
		o[k++] = 255;
		memset(o + k, 'x', 255);
		k += 255;
	}
	CHECK_EQ(dhcp_parse(huge, mk_packet(huge, sizeof(huge), o, k), &m), -E2BIG);
	/* 8 instances (2040 bytes) fit */
	CHECK_EQ(dhcp_parse(huge, mk_packet(huge, sizeof(huge), o, 8 * 257), &m), 0);
	size_t len;
	CHECK(dhcp_opt(&m, 43, &len) && len == 8 * 255);
}

static void test_fixed_length_helpers(void)
{
	uint8_t buf[600];
	struct dhcp_msg m;
	uint32_t ip;
	uint16_t v16;
	uint8_t v8;
	const uint8_t *id;
	size_t len;

	static const uint8_t good[] = {53, 1, 3, 50, 4, 198,  18,   0,	21, 54, 4,   198,
				       18, 0, 1, 57, 2, 0x02, 0x40, 61, 2,  0,	'x', 255};
	CHECK_EQ(dhcp_parse(buf, mk_packet(buf, sizeof(buf), good, sizeof(good)), &m), 0);
	CHECK_EQ(dhcp_opt_ip(&m, DHCP_OPT_REQUESTED_IP, &ip), 0);
	CHECK_EQ(ip, 0xc6120015);
	CHECK_EQ(dhcp_opt_ip(&m, DHCP_OPT_SERVER_ID, &ip), 0);
	CHECK_EQ(ip, 0xc6120001);
	CHECK_EQ(dhcp_opt_max_msg_size(&m, &v16), 0);
	CHECK_EQ(v16, 576);
	CHECK_EQ(dhcp_opt_client_id(&m, &id, &len), 0);
	CHECK_EQ(len, 2);
	CHECK_EQ(dhcp_opt_u8(&m, 53, &v8), 0);
	CHECK_EQ(v8, 3);
	CHECK_EQ(dhcp_opt_u8(&m, 12, &v8), -ENOENT);

	static const uint8_t bad[] = {53,   2,	3, 3, 50, 3, 198, 18, 0, 57, 2, 0x02,
				      0x3f, 61, 1, 0, 54, 5, 1,	  2,  3, 4,  5, 255};
	CHECK_EQ(dhcp_parse(buf, mk_packet(buf, sizeof(buf), bad, sizeof(bad)), &m), 0);
	CHECK_EQ(dhcp_msg_type(&m), -EBADMSG);
	ip = 7;
	CHECK_EQ(dhcp_opt_ip(&m, DHCP_OPT_REQUESTED_IP, &ip), -EBADMSG);
	CHECK_EQ(ip, 7); /* untouched */
	CHECK_EQ(dhcp_opt_ip(&m, DHCP_OPT_SERVER_ID, &ip), -EBADMSG);
	CHECK_EQ(dhcp_opt_max_msg_size(&m, &v16), -EBADMSG); /* 575 < 576 */
	CHECK_EQ(dhcp_msg_max_reply(&m, 1500), 548);
	CHECK_EQ(dhcp_opt_client_id(&m, &id, &len), -EBADMSG);

	static const uint8_t zero_type[] = {53, 1, 0, 255};
	CHECK_EQ(dhcp_parse(buf, mk_packet(buf, sizeof(buf), zero_type, 4), &m), 0);
	CHECK_EQ(dhcp_msg_type(&m), -EBADMSG);
}

/* ---- builder ---- */

static int parse_req(const uint8_t *pkt, size_t len, struct dhcp_msg *m)
{
	return dhcp_parse(pkt, len, m);
}

static void test_build_offer(void)
{
	struct dhcp_msg req, rep;
	struct dhcp_reply_builder rb;
	uint8_t out[1500];
	size_t len;

	CHECK_EQ(parse_req(discover_udhcpc, sizeof(discover_udhcpc), &req), 0);
	dhcp_rb_init_reply(&rb, &req, DHCP_OFFER);
	rb.hdr.yiaddr = 0xc6120015;
	rb.hdr.siaddr = 0xc6120001;
	memcpy(rb.hdr.file, "pxelinux.0", 10);
	CHECK_EQ(dhcp_rb_add_u32(&rb, DHCP_OPT_LEASE_TIME, 3600), 0);
	CHECK_EQ(dhcp_rb_add_ip(&rb, DHCP_OPT_ROUTER, 0xc6120001), 0);
	CHECK_EQ(dhcp_rb_add_str(&rb, DHCP_OPT_HOSTNAME, "slave21"), 0);
	CHECK_EQ(dhcp_rb_add_ip(&rb, DHCP_OPT_SUBNET_MASK, 0xffffff00), 0);
	CHECK_EQ(dhcp_rb_add_str(&rb, DHCP_OPT_ROOT_PATH, "/diskless/198.18.0.21"), 0);
	CHECK_EQ(dhcp_rb_add_ip(&rb, DHCP_OPT_SERVER_ID, 0xc6120001), 0);
	CHECK_EQ(dhcp_rb_add_u16(&rb, DHCP_OPT_MAX_MSG_SIZE, 1500), 0);
	const uint8_t *prl = dhcp_opt(&req, DHCP_OPT_PARAM_REQ, &len);
	int n = dhcp_rb_finish(&rb, prl, len, dhcp_msg_max_reply(&req, 1500), out, sizeof(out));
	CHECK_EQ(n, 304);

	uint8_t codes[64];
	size_t nc = opt_codes(out, (size_t)n, codes);
	static const uint8_t want[] = {53, 54, 1, 3, 12, 51, 17, 57}; /* 53, 54, PRL, rest */
	CHECK_EQ(nc, sizeof(want));
	CHECK(memcmp(codes, want, sizeof(want)) == 0);

	CHECK_EQ(dhcp_parse(out, (size_t)n, &rep), 0);
	CHECK_EQ(rep.hdr.op, DHCP_BOOTREPLY);
	CHECK_EQ(rep.hdr.xid, req.hdr.xid);
	CHECK(memcmp(rep.hdr.chaddr, req.hdr.chaddr, 16) == 0);
	CHECK_EQ(rep.hdr.yiaddr, 0xc6120015);
	CHECK_EQ(rep.hdr.siaddr, 0xc6120001);
	CHECK_EQ(dhcp_msg_type(&rep), DHCP_OFFER);
	uint32_t v;
	CHECK_EQ(dhcp_opt_u32(&rep, DHCP_OPT_LEASE_TIME, &v), 0);
	CHECK_EQ(v, 3600);
	uint16_t v16;
	CHECK_EQ(dhcp_opt_u16(&rep, DHCP_OPT_MAX_MSG_SIZE, &v16), 0);
	CHECK_EQ(v16, 1500);
	CHECK(opt_is(&rep, DHCP_OPT_HOSTNAME, "slave21", 7));
	const char *s;
	CHECK_EQ(dhcp_msg_file(&rep, &s), 10);
	/* bytes after end are zero padding */
	bool zero = true;
	size_t end = 240;
	while (out[end] != 255)
		end += 2 + out[end + 1];
	for (size_t i = end + 1; i < (size_t)n; i++)
		zero = zero && out[i] == 0;
	CHECK(zero);
}

static void test_build_if_requested(void)
{
	struct dhcp_reply_builder rb;
	uint8_t out[600];
	struct dhcp_msg rep;
	static const uint8_t prl[] = {6, 6, 53, 82, 0, 255, 42};

	dhcp_rb_init(&rb);
	dhcp_rb_add_u8(&rb, DHCP_OPT_MSG_TYPE, DHCP_ACK);
	dhcp_rb_add_flags(&rb, DHCP_OPT_NTP, "\xc6\x12\x00\x01", 4, DHCP_RB_IF_REQUESTED);
	dhcp_rb_add_flags(&rb, DHCP_OPT_DOMAIN, "lab", 3, DHCP_RB_IF_REQUESTED);
	dhcp_rb_add_ip(&rb, DHCP_OPT_DNS, 0xc6120001);
	int n = dhcp_rb_finish(&rb, prl, sizeof(prl), 548, out, sizeof(out));
	CHECK_EQ(n, 300);
	uint8_t codes[16];
	size_t nc = opt_codes(out, (size_t)n, codes);
	CHECK_EQ(nc, 3);
	CHECK(nc == 3 && codes[0] == 53 && codes[1] == 6 && codes[2] == 42);
	CHECK_EQ(dhcp_parse(out, (size_t)n, &rep), 0);
	CHECK(!dhcp_has_opt(&rep, DHCP_OPT_DOMAIN));
	/* without a PRL, IF_REQUESTED options are left out */
	n = dhcp_rb_finish(&rb, NULL, 0, 548, out, sizeof(out));
	CHECK_EQ(opt_codes(out, (size_t)n, codes), 2);
}

static void test_build_max_size(void)
{
	struct dhcp_reply_builder rb;
	uint8_t out[1500], blob[200];
	struct dhcp_msg rep;

	memset(blob, 'b', sizeof(blob));
	dhcp_rb_init(&rb);
	dhcp_rb_add_u8(&rb, DHCP_OPT_MSG_TYPE, DHCP_OFFER);
	dhcp_rb_add_ip(&rb, DHCP_OPT_SERVER_ID, 0xc6120001);
	for (uint8_t c = 200; c < 205; c++)
		CHECK_EQ(dhcp_rb_add(&rb, c, blob, 100), 0); /* 5 x 102 bytes */
	CHECK_EQ(dhcp_rb_add(&rb, 210, blob, 20), 0);
	/* 548 - 240 - 1 = 307 for options: 53 (3) + 54 (6) + two blobs (204) + 210 (22) */
	int n = dhcp_rb_finish(&rb, NULL, 0, 548, out, sizeof(out));
	CHECK(n > 0 && n <= 548);
	CHECK_EQ(dhcp_parse(out, (size_t)n, &rep), 0);
	CHECK(dhcp_has_opt(&rep, 200) && dhcp_has_opt(&rep, 201));
	CHECK(!dhcp_has_opt(&rep, 202) && !dhcp_has_opt(&rep, 203) && !dhcp_has_opt(&rep, 204));
	CHECK(dhcp_has_opt(&rep, 210)); /* smaller later options still fit */
	CHECK(dhcp_rb_dropped(&rb, 202) && dhcp_rb_dropped(&rb, 204));
	CHECK(!dhcp_rb_dropped(&rb, 200) && !dhcp_rb_dropped(&rb, 210));
	/* a bigger limit sends everything */
	n = dhcp_rb_finish(&rb, NULL, 0, 1444, out, sizeof(out));
	CHECK(n > 548 && n <= 1444);
	CHECK(!dhcp_rb_dropped(&rb, 204));
	/* the buffer capacity is a limit too */
	n = dhcp_rb_finish(&rb, NULL, 0, 1444, out, 400);
	CHECK(n > 0 && n <= 400);
	/* a required option that does not fit fails the build */
	dhcp_rb_init(&rb);
	dhcp_rb_add_flags(&rb, 43, blob, 200, DHCP_RB_REQUIRED);
	dhcp_rb_add_flags(&rb, 44, blob, 200, DHCP_RB_REQUIRED);
	CHECK_EQ(dhcp_rb_finish(&rb, NULL, 0, 548, out, sizeof(out)), -EMSGSIZE);
	/* every size from 300 to 700: never above the limit */
	dhcp_rb_init(&rb);
	dhcp_rb_add_u8(&rb, DHCP_OPT_MSG_TYPE, DHCP_OFFER);
	for (uint8_t c = 1; c < 40; c++)
		dhcp_rb_add(&rb, c, blob, c);
	for (size_t lim = 300; lim <= 700; lim++) {
		n = dhcp_rb_finish(&rb, NULL, 0, lim, out, sizeof(out));
		CHECK(n >= 300 && (size_t)n <= lim);
		CHECK_EQ(dhcp_parse(out, (size_t)n, &rep), 0);
	}
}

static void test_build_long_split(void)
{
	struct dhcp_reply_builder rb;
	uint8_t out[2000], blob[600];
	struct dhcp_msg rep;
	size_t len;

	for (size_t i = 0; i < sizeof(blob); i++)
		blob[i] = (uint8_t)(i * 7);
	dhcp_rb_init(&rb);
	dhcp_rb_add_u8(&rb, DHCP_OPT_MSG_TYPE, DHCP_ACK);
	CHECK_EQ(dhcp_rb_add(&rb, DHCP_OPT_CLASSLESS_ROUTE, blob, 600), 0);
	CHECK_EQ(dhcp_rb_add(&rb, 224, blob, 255), 0);
	CHECK_EQ(dhcp_rb_add(&rb, 225, blob, 510), 0);
	CHECK_EQ(dhcp_rb_add(&rb, 226, NULL, 0), 0);
	int n = dhcp_rb_finish(&rb, NULL, 0, sizeof(out), out, sizeof(out));
	CHECK(n > 0);
	uint8_t codes[32];
	size_t nc = opt_codes(out, (size_t)n, codes);
	/* 53, 121 x3 (255 + 255 + 90), 224 x1, 225 x2, 226 */
	static const uint8_t want[] = {53, 121, 121, 121, 224, 225, 225, 226};
	CHECK_EQ(nc, sizeof(want));
	CHECK(memcmp(codes, want, sizeof(want)) == 0);
	CHECK_EQ(dhcp_parse(out, (size_t)n, &rep), 0);
	const uint8_t *v = dhcp_opt(&rep, DHCP_OPT_CLASSLESS_ROUTE, &len);
	CHECK(v && len == 600 && memcmp(v, blob, 600) == 0);
	v = dhcp_opt(&rep, 225, &len);
	CHECK(v && len == 510 && memcmp(v, blob, 510) == 0);
	CHECK(dhcp_opt(&rep, 226, &len) && len == 0);
}

static void test_build_relay_agent(void)
{
	uint8_t buf[600], out[1500], blob[300];
	struct dhcp_msg req;
	struct dhcp_reply_builder rb;
	/* circuit id "eth0:7", remote id 6 bytes */
	static const uint8_t opts[] = {53,  1,	 1,   55,  2,	1, 3, 82,   14,	  1,	6,    'e',
				       't', 'h', '0', ':', '7', 2, 4, 0xde, 0xad, 0xbe, 0xef, 255};
	size_t n = mk_packet(buf, sizeof(buf), opts, sizeof(opts));

	buf[24] = 198, buf[25] = 18, buf[26] = 1, buf[27] = 1; /* giaddr */
	CHECK_EQ(dhcp_parse(buf, n, &req), 0);
	dhcp_rb_init_reply(&rb, &req, DHCP_OFFER);
	CHECK_EQ(rb.hdr.giaddr, 0xc6120101);
	CHECK_EQ(dhcp_rb_echo(&rb, &req, DHCP_OPT_RELAY_AGENT), 0);
	CHECK_EQ(dhcp_rb_echo(&rb, &req, DHCP_OPT_CLIENT_UUID), 0); /* absent: no-op */
	CHECK(!dhcp_rb_has(&rb, DHCP_OPT_CLIENT_UUID));
	dhcp_rb_add_ip(&rb, DHCP_OPT_SERVER_ID, 0xc6120001);
	dhcp_rb_add_ip(&rb, DHCP_OPT_ROUTER, 0xc6120101);
	dhcp_rb_add_ip(&rb, DHCP_OPT_SUBNET_MASK, 0xffffff00);
	memset(blob, 'z', sizeof(blob));
	dhcp_rb_add(&rb, 230, blob, 280); /* does not fit next to the others: dropped */
	dhcp_rb_add(&rb, 231, blob, 20);
	size_t len;
	const uint8_t *prl = dhcp_opt(&req, DHCP_OPT_PARAM_REQ, &len);
	int r = dhcp_rb_finish(&rb, prl, len, 548, out, sizeof(out));
	CHECK(r > 0);
	uint8_t codes[32];
	size_t nc = opt_codes(out, (size_t)r, codes);
	static const uint8_t want[] = {53, 54, 1, 3, 231, 82};
	CHECK_EQ(nc, sizeof(want));
	CHECK(memcmp(codes, want, sizeof(want)) == 0);
	CHECK(dhcp_rb_dropped(&rb, 230));
	/* byte-identical copy of the relay agent option, right before end */
	size_t end = 240;
	while (out[end] != 255)
		end += 2 + out[end + 1];
	CHECK(memcmp(out + end - 16, opts + 7, 16) == 0);
}

static void test_build_min_300(void)
{
	struct dhcp_reply_builder rb;
	uint8_t out[600];

	dhcp_rb_init(&rb);
	memset(out, 0xee, sizeof(out));
	int n = dhcp_rb_finish(&rb, NULL, 0, 548, out, sizeof(out));
	CHECK_EQ(n, 300);
	CHECK_EQ(out[0], DHCP_BOOTREPLY);
	CHECK(memcmp(out + 236, "\x63\x82\x53\x63\xff", 5) == 0);
	bool zero = true;
	for (int i = 241; i < 300; i++)
		zero = zero && out[i] == 0;
	CHECK(zero);
	CHECK_EQ(out[300], 0xee); /* nothing written past the result */
	CHECK_EQ(dhcp_rb_finish(&rb, NULL, 0, 299, out, sizeof(out)), -EINVAL);
	CHECK_EQ(dhcp_rb_finish(&rb, NULL, 0, 548, out, 299), -EINVAL);
}

static void test_build_overload(void)
{
	struct dhcp_reply_builder rb;
	uint8_t out[1500], blob[200];
	struct dhcp_msg rep;
	size_t len;

	memset(blob, 'o', sizeof(blob));
	dhcp_rb_init(&rb);
	rb.allow_overload = true;
	dhcp_rb_add_u8(&rb, DHCP_OPT_MSG_TYPE, DHCP_ACK);
	dhcp_rb_add_ip(&rb, DHCP_OPT_SERVER_ID, 0xc6120001);
	dhcp_rb_add(&rb, 240, blob, 120); /* 122 */
	dhcp_rb_add(&rb, 241, blob, 120); /* 122: options field full after these (3+6+244) */
	dhcp_rb_add(&rb, 242, blob, 100); /* 102: goes to file (127 free) */
	dhcp_rb_add(&rb, 243, blob, 50);  /* 52: goes to sname (63 free) */
	dhcp_rb_add(&rb, 244, blob, 10);  /* 12: fits in the options field */
	int n = dhcp_rb_finish(&rb, NULL, 0, 548, out, sizeof(out));
	CHECK(n > 0 && n <= 548);
	CHECK_EQ(dhcp_parse(out, (size_t)n, &rep), 0);
	CHECK_EQ(rep.overload, 3);
	for (uint8_t c = 240; c <= 244; c++) {
		CHECK(dhcp_has_opt(&rep, c));
		CHECK(!dhcp_rb_dropped(&rb, c));
	}
	CHECK(dhcp_opt(&rep, 242, &len) && len == 100);
	CHECK_EQ(out[DHCP_FILE_OFF], 242);
	CHECK_EQ(out[DHCP_SNAME_OFF], 243);
	uint8_t codes[16];
	opt_codes(out, (size_t)n, codes);
	CHECK(codes[0] == 53 && codes[1] == 54 && codes[2] == 52);

	/* a boot file in use: only sname can carry options */
	memcpy(rb.hdr.file, "undionly.kpxe", 13);
	n = dhcp_rb_finish(&rb, NULL, 0, 548, out, sizeof(out));
	CHECK_EQ(dhcp_parse(out, (size_t)n, &rep), 0);
	CHECK_EQ(rep.overload, DHCP_OVERLOAD_SNAME);
	CHECK(dhcp_rb_dropped(&rb, 242));
	CHECK(dhcp_has_opt(&rep, 243));
	const char *s;
	CHECK_EQ(dhcp_msg_file(&rep, &s), 13);

	/* overload off (the default, for PXE ROMs): left out instead */
	rb.allow_overload = false;
	memset(rb.hdr.file, 0, sizeof(rb.hdr.file));
	n = dhcp_rb_finish(&rb, NULL, 0, 548, out, sizeof(out));
	CHECK_EQ(dhcp_parse(out, (size_t)n, &rep), 0);
	CHECK_EQ(rep.overload, 0);
	CHECK(dhcp_rb_dropped(&rb, 242) && dhcp_rb_dropped(&rb, 244));
	CHECK(dhcp_has_opt(&rep, 243) && !dhcp_has_opt(&rep, 244));

	/* both fields in use: nothing to overload into */
	rb.allow_overload = true;
	memcpy(rb.hdr.file, "undionly.kpxe", 13);
	memcpy(rb.hdr.sname, "boot", 4);
	n = dhcp_rb_finish(&rb, NULL, 0, 548, out, sizeof(out));
	CHECK_EQ(dhcp_parse(out, (size_t)n, &rep), 0);
	CHECK_EQ(rep.overload, 0);
	CHECK(dhcp_rb_dropped(&rb, 242));

	/* an option too big for any field: overloading does not help, so it is not used */
	dhcp_rb_init(&rb);
	rb.allow_overload = true;
	dhcp_rb_add_u8(&rb, DHCP_OPT_MSG_TYPE, DHCP_ACK);
	dhcp_rb_add(&rb, 245, blob, 130); /* more than file (127) holds */
	dhcp_rb_add(&rb, 246, blob, 130);
	dhcp_rb_add(&rb, 247, blob, 130);
	n = dhcp_rb_finish(&rb, NULL, 0, 300, out, sizeof(out));
	CHECK_EQ(n, 300);
	CHECK_EQ(dhcp_parse(out, (size_t)n, &rep), 0);
	CHECK_EQ(rep.overload, 0);
	CHECK(dhcp_rb_dropped(&rb, 245) && dhcp_rb_dropped(&rb, 246) && dhcp_rb_dropped(&rb, 247));

	/* a required option that only fits with overload */
	dhcp_rb_init(&rb);
	rb.allow_overload = true;
	dhcp_rb_add_u8(&rb, DHCP_OPT_MSG_TYPE, DHCP_ACK);
	dhcp_rb_add_ip(&rb, DHCP_OPT_SERVER_ID, 0xc6120001);
	dhcp_rb_add_flags(&rb, 240, blob, 120, DHCP_RB_REQUIRED);
	dhcp_rb_add_flags(&rb, 241, blob, 120, DHCP_RB_REQUIRED);
	dhcp_rb_add_flags(&rb, 242, blob, 100, DHCP_RB_REQUIRED);
	n = dhcp_rb_finish(&rb, NULL, 0, 548, out, sizeof(out));
	CHECK(n > 0);
	CHECK_EQ(dhcp_parse(out, (size_t)n, &rep), 0);
	CHECK_EQ(rep.overload, DHCP_OVERLOAD_FILE);
	CHECK(dhcp_opt(&rep, 242, &len) && len == 100);
	rb.allow_overload = false;
	CHECK_EQ(dhcp_rb_finish(&rb, NULL, 0, 548, out, sizeof(out)), -EMSGSIZE);
}

static void test_build_errors(void)
{
	struct dhcp_reply_builder rb;
	uint8_t out[600], blob[DHCP_RB_DATA_LEN];

	dhcp_rb_init(&rb);
	CHECK_EQ(dhcp_rb_add(&rb, 0, "x", 1), -EINVAL);
	CHECK_EQ(dhcp_rb_finish(&rb, NULL, 0, 548, out, sizeof(out)), -EINVAL);
	dhcp_rb_init(&rb);
	CHECK_EQ(dhcp_rb_add(&rb, DHCP_OPT_OVERLOAD, "\x01", 1), -EINVAL);
	CHECK_EQ(dhcp_rb_add(&rb, DHCP_OPT_END, "", 0), -EINVAL);
	dhcp_rb_init(&rb);
	CHECK_EQ(dhcp_rb_add_str(&rb, 12, "a"), 0);
	CHECK_EQ(dhcp_rb_add_str(&rb, 12, "b"), -EEXIST);
	CHECK_EQ(dhcp_rb_finish(&rb, NULL, 0, 548, out, sizeof(out)), -EEXIST);
	dhcp_rb_init(&rb);
	memset(blob, 0, sizeof(blob));
	CHECK_EQ(dhcp_rb_add(&rb, 100, blob, sizeof(blob)), 0);
	CHECK_EQ(dhcp_rb_add(&rb, 101, blob, 1), -ENOSPC);
	/* relay agent info too big for the limit: cannot be left out */
	dhcp_rb_init(&rb);
	CHECK_EQ(dhcp_rb_add(&rb, DHCP_OPT_RELAY_AGENT, blob, 400), 0);
	CHECK_EQ(dhcp_rb_finish(&rb, NULL, 0, 548, out, sizeof(out)), -EMSGSIZE);
}

int main(void)
{
	RUN(test_udhcpc);
	RUN(test_dhclient);
	RUN(test_dhcpcd);
	RUN(test_truncated_everywhere);
	RUN(test_malformed);
	RUN(test_untouched_on_error);
	RUN(test_plain_bootp);
	RUN(test_pad_and_end);
	RUN(test_overload);
	RUN(test_concat_rfc3396);
	RUN(test_limits);
	RUN(test_fixed_length_helpers);
	RUN(test_build_offer);
	RUN(test_build_if_requested);
	RUN(test_build_max_size);
	RUN(test_build_long_split);
	RUN(test_build_relay_agent);
	RUN(test_build_min_300);
	RUN(test_build_overload);
	RUN(test_build_errors);
	return test_summary();
}
