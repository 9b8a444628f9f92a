/* Fuzz target: whole-packet DHCP parse, then re-build invariants.
 * Any message dhcp_parse accepts must re-encode through the reply builder (all its options
 * added back, at a limit and overload setting taken from the input) into a message that:
 * stays within the limit and at least 300 bytes, parses again, carries the same header, and
 * carries every option the builder did not report as dropped with identical (concatenated)
 * data, and no other option. A policy-like reply (53, 54, echoed 82 and 97/94, the request's
 * options back in parameter-request-list order) must start with 53, 54, list every requested
 * option before any other, and end with 82. Also runs the PXE summary over the message. */
#include "dhcp/dhcp_wire.h"
#include "dhcp/pxe_opts.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#define REQUIRE(c)                        \
	do {                              \
		if (!(c))                 \
			__builtin_trap(); \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Touch every byte of every option view, so ASan checks the views' bounds. */
static unsigned touch_options(const struct dhcp_msg *m)
{
	unsigned sum = 0;

	for (int c = 0; c < 256; c++) {
		size_t len;
		const uint8_t *p = dhcp_opt(m, (uint8_t)c, &len);
		for (size_t i = 0; p && i < len; i++)
			sum += p[i];
	}
	return sum;
}

static void check_same_hdr(const struct dhcp_hdr *a, const struct dhcp_hdr *b)
{
	REQUIRE(a->op == b->op && a->htype == b->htype && a->hlen == b->hlen && a->hops == b->hops);
	REQUIRE(a->xid == b->xid && a->secs == b->secs && a->flags == b->flags);
	REQUIRE(a->ciaddr == b->ciaddr && a->yiaddr == b->yiaddr && a->siaddr == b->siaddr &&
		a->giaddr == b->giaddr);
	REQUIRE(memcmp(a->chaddr, b->chaddr, sizeof(a->chaddr)) == 0);
}

/* Every option of m is in r with the same data, unless the builder dropped it. */
static void check_same_opts(const struct dhcp_msg *m, const struct dhcp_msg *r,
			    const struct dhcp_reply_builder *rb)
{
	for (int c = 1; c < 255; c++) {
		size_t la, lb;
		const uint8_t *a = dhcp_opt(m, (uint8_t)c, &la);
		const uint8_t *b = dhcp_opt(r, (uint8_t)c, &lb);
		if (c == DHCP_OPT_OVERLOAD)
			continue;
		if (!a || dhcp_rb_dropped(rb, (uint8_t)c)) {
			REQUIRE(!b);
			continue;
		}
		REQUIRE(b && la == lb && (la == 0 || memcmp(a, b, la) == 0));
	}
}

static void check_rebuild(const struct dhcp_msg *m, size_t limit, bool overload)
{
	struct dhcp_reply_builder rb;
	struct dhcp_msg r;
	uint8_t out[4096];

	dhcp_rb_init(&rb);
	rb.hdr = m->hdr;
	rb.allow_overload = overload;
	if (m->overload & DHCP_OVERLOAD_FILE)
		memset(rb.hdr.file, 0, sizeof(rb.hdr.file));
	if (m->overload & DHCP_OVERLOAD_SNAME)
		memset(rb.hdr.sname, 0, sizeof(rb.hdr.sname));
	for (int c = 1; c < 255; c++) {
		size_t len;
		const uint8_t *p = dhcp_opt(m, (uint8_t)c, &len);
		if (p && c != DHCP_OPT_OVERLOAD && dhcp_rb_add(&rb, (uint8_t)c, p, len) < 0)
			return; /* more option data than a builder holds */
	}
	int n = dhcp_rb_finish(&rb, NULL, 0, limit, out, sizeof(out));
	if (n == -EMSGSIZE)
		return; /* 53, 54 or 82 alone exceed the limit */
	REQUIRE(n >= DHCP_BOOTP_MIN_LEN && (size_t)n <= limit);
	REQUIRE(dhcp_parse(out, (size_t)n, &r) == 0);
	check_same_hdr(&m->hdr, &r.hdr);
	check_same_opts(m, &r, &rb);
}

/* Option codes of an encoded message's options field (the builder's output is well-formed). */
static size_t field_codes(const uint8_t *msg, size_t len, uint8_t *codes)
{
	size_t n = 0;

	for (size_t i = DHCP_MIN_LEN; i < len && msg[i] != DHCP_OPT_END; i += 2u + msg[i + 1]) {
		REQUIRE(i + 1 < len && msg[i] != DHCP_OPT_PAD);
		if (n == 0 || codes[n - 1] != msg[i]) /* split instances count once */
			codes[n++] = msg[i];
	}
	return n;
}

static bool in_list(const uint8_t *l, size_t n, uint8_t c)
{
	return l && memchr(l, c, n) != NULL;
}

/* A reply as a policy would build it; check the order rules of dhcp_rb_finish. */
static void check_reply(const struct dhcp_msg *req, size_t limit)
{
	struct dhcp_reply_builder rb;
	uint8_t out[4096], codes[300];
	size_t prl_len = 0;
	const uint8_t *prl = dhcp_opt(req, DHCP_OPT_PARAM_REQ, &prl_len);

	dhcp_rb_init_reply(&rb, req, DHCP_OFFER);
	dhcp_rb_add_ip(&rb, DHCP_OPT_SERVER_ID, 0xc6120001);
	if (dhcp_rb_echo(&rb, req, DHCP_OPT_RELAY_AGENT) < 0 || pxe_echo_client_ids(&rb, req) < 0)
		return;
	for (int c = 1; c < 255; c++) {
		size_t len;
		const uint8_t *p = dhcp_opt(req, (uint8_t)c, &len);
		if (p && !dhcp_rb_has(&rb, (uint8_t)c) && c != DHCP_OPT_OVERLOAD &&
		    dhcp_rb_add_flags(&rb, (uint8_t)c, p, len, c & 1 ? DHCP_RB_IF_REQUESTED : 0) <
			    0)
			return;
	}
	int n = dhcp_rb_finish(&rb, prl, prl_len, limit, out, sizeof(out));
	if (n < 0) {
		REQUIRE(n == -EMSGSIZE);
		return;
	}
	size_t nc = field_codes(out, (size_t)n, codes), i = 0;
	REQUIRE(nc >= 2 && codes[i++] == DHCP_OPT_MSG_TYPE && codes[i++] == DHCP_OPT_SERVER_ID);
	bool rest = false; /* past the requested options */
	for (; i < nc; i++) {
		bool requested = in_list(prl, prl_len, codes[i]);
		if (codes[i] == DHCP_OPT_RELAY_AGENT)
			REQUIRE(i == nc - 1);
		else if (codes[i] != DHCP_OPT_OVERLOAD)
			REQUIRE(requested ? !rest : (rest = true));
		if (!requested && codes[i] != DHCP_OPT_RELAY_AGENT && codes[i] != DHCP_OPT_OVERLOAD)
			REQUIRE(!(rb.opt[codes[i]].flags & DHCP_RB_IF_REQUESTED));
	}
	if (dhcp_has_opt(req, DHCP_OPT_RELAY_AGENT))
		REQUIRE(codes[nc - 1] == DHCP_OPT_RELAY_AGENT);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dhcp_msg m;
	struct pxe_client pc;
	const char *s;
	uint16_t v16;
	uint32_t v32;
	const uint8_t *cid;
	size_t cid_len;

	if (dhcp_parse(data, size, &m) != 0)
		return 0;
	(void)touch_options(&m);
	(void)dhcp_msg_type(&m);
	(void)dhcp_opt_max_msg_size(&m, &v16);
	(void)dhcp_opt_ip(&m, DHCP_OPT_REQUESTED_IP, &v32);
	REQUIRE(dhcp_msg_max_reply(&m, 1500) >= DHCP_DEFAULT_MAX_MSG);
	REQUIRE(dhcp_msg_file(&m, &s) <= DHCP_FILE_LEN);
	REQUIRE(dhcp_msg_sname(&m, &s) <= DHCP_SNAME_LEN);
	(void)dhcp_opt_client_id(&m, &cid, &cid_len);
	pxe_client_info(&m, &pc);
	REQUIRE(pc.uc.n <= PXE_MAX_USER_CLASSES);

	/* limit and overload from the input's last bytes, so the fuzzer steers them */
	size_t limit = DHCP_BOOTP_MIN_LEN + (size_t)data[size - 1] * 8;
	check_rebuild(&m, limit, data[size - 2] & 1);
	check_rebuild(&m, 4096, false);
	check_reply(&m, limit);
	return 0;
}
