/* Fuzz target: whole-packet DHCP parse, then re-build invariants.
 * Any message dhcp_parse accepts must re-encode through the reply builder (all its options
 * added back, at a limit and overload setting taken from the input) into a message that:
 * stays within the limit and at least 300 bytes, parses again, carries the same header, and
 * carries every option the builder did not report as dropped with identical (concatenated)
 * data, and no other option. Also runs the PXE summary over the parsed message. */
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dhcp_msg m;
	struct pxe_client pc;
	const char *s;
	uint16_t v16;
	uint32_t v32;

	if (dhcp_parse(data, size, &m) != 0)
		return 0;
	(void)touch_options(&m);
	(void)dhcp_msg_type(&m);
	(void)dhcp_opt_max_msg_size(&m, &v16);
	(void)dhcp_opt_ip(&m, DHCP_OPT_REQUESTED_IP, &v32);
	REQUIRE(dhcp_msg_max_reply(&m, 1500) >= DHCP_DEFAULT_MAX_MSG);
	REQUIRE(dhcp_msg_file(&m, &s) <= DHCP_FILE_LEN);
	REQUIRE(dhcp_msg_sname(&m, &s) <= DHCP_SNAME_LEN);
	pxe_client_info(&m, &pc);
	REQUIRE(pc.uc.n <= PXE_MAX_USER_CLASSES);

	/* limit and overload from the input's last bytes, so the fuzzer steers them */
	size_t limit = DHCP_BOOTP_MIN_LEN + (size_t)data[size - 1] * 8;
	check_rebuild(&m, limit, data[size - 2] & 1);
	check_rebuild(&m, 4096, false);
	return 0;
}
