/* Fuzz target: tftp_parse. Whatever parses is re-encoded with the matching builder and parsed
 * again; the second parse must succeed and agree with the first (abort() otherwise). Views
 * must lie inside the input and strings must be NUL-terminated there. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tftp/tftp_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Large enough for any re-encoded packet: canonical forms are never longer than the input,
 * except an ERROR whose missing NUL is added back (+1). */
static uint8_t out_buf[65536 + 8];

static void require(int cond)
{
	if (!cond)
		abort();
}

/** A string view from the packet: inside it, NUL-terminated, no NUL inside. */
static void check_view(struct tftp_str s, const uint8_t *data, size_t size)
{
	const uint8_t *p = (const uint8_t *)s.p;
	require(p >= data && p + s.len < data + size);
	require(p[s.len] == 0);
	require(memchr(p, 0, s.len) == NULL);
}

static int str_eq(struct tftp_str a, struct tftp_str b)
{
	return a.len == b.len && memcmp(a.p, b.p, a.len) == 0;
}

static void check_opts_equal(const struct tftp_opt *a, size_t na, const struct tftp_opt *b,
			     size_t nb)
{
	require(na == nb);
	for (size_t i = 0; i < na; i++)
		require(str_eq(a[i].name, b[i].name) && str_eq(a[i].value, b[i].value));
}

/** Option views as C-string arrays for the builders. */
static void opt_arrays(const struct tftp_opt *opts, size_t n, const char **names,
		       const char **values)
{
	for (size_t i = 0; i < n; i++) {
		require(opts[i].name.len > 0);
		names[i] = opts[i].name.p;
		values[i] = opts[i].value.p;
	}
}

static void check_req(const struct tftp_pkt *p, const uint8_t *data, size_t size)
{
	const char *names[TFTP_MAX_OPTS], *values[TFTP_MAX_OPTS];
	struct tftp_pkt q;

	require(p->req.file.len > 0 && p->req.nopts <= TFTP_MAX_OPTS);
	check_view(p->req.file, data, size);
	check_view(p->req.mode_str, data, size);
	for (size_t i = 0; i < p->req.nopts; i++) {
		check_view(p->req.opts[i].name, data, size);
		check_view(p->req.opts[i].value, data, size);
	}
	opt_arrays(p->req.opts, p->req.nopts, names, values);
	int n = tftp_build_req(out_buf, sizeof(out_buf), p->op, p->req.file.p, p->req.mode_str.p,
			       names, values, p->req.nopts);
	require(n > 0 && (size_t)n <= size);
	require(tftp_parse(out_buf, (size_t)n, &q) == 0);
	require(q.op == p->op && q.req.mode == p->req.mode);
	require(str_eq(q.req.file, p->req.file) && str_eq(q.req.mode_str, p->req.mode_str));
	check_opts_equal(q.req.opts, q.req.nopts, p->req.opts, p->req.nopts);
	/* Without padding the canonical encoding is the input itself. */
	if ((size_t)n < size)
		for (size_t i = (size_t)n; i < size; i++)
			require(data[i] == 0);
	else
		require(memcmp(out_buf, data, size) == 0);
}

static void check_data(const struct tftp_pkt *p, const uint8_t *data, size_t size)
{
	struct tftp_pkt q;
	require(p->data.len == size - 4 && p->data.len <= 65464);
	require(tftp_build_data_hdr(out_buf, sizeof(out_buf), p->data.block) == 4);
	memcpy(out_buf + 4, p->data.data, p->data.len);
	require(memcmp(out_buf, data, size) == 0);
	require(tftp_parse(out_buf, size, &q) == 0);
	require(q.op == TFTP_DATA && q.data.block == p->data.block && q.data.len == p->data.len);
}

static void check_ack(const struct tftp_pkt *p)
{
	struct tftp_pkt q;
	require(tftp_build_ack(out_buf, sizeof(out_buf), p->ack.block) == 4);
	require(tftp_parse(out_buf, 4, &q) == 0);
	require(q.op == TFTP_ACK && q.ack.block == p->ack.block);
}

static void check_error(const struct tftp_pkt *p, const uint8_t *data, size_t size)
{
	struct tftp_pkt q;
	/* msg is either a view into the packet or the static "" for a missing NUL. */
	if (p->error.msg.len)
		check_view(p->error.msg, data, size);
	require(p->error.msg.p[p->error.msg.len] == 0);
	int n = tftp_build_error(out_buf, sizeof(out_buf), p->error.code, p->error.msg.p);
	require(n == (int)(4 + p->error.msg.len + 1));
	require(tftp_parse(out_buf, (size_t)n, &q) == 0);
	require(q.op == TFTP_ERROR && q.error.code == p->error.code);
	require(str_eq(q.error.msg, p->error.msg));
}

static void check_oack(const struct tftp_pkt *p, const uint8_t *data, size_t size)
{
	const char *names[TFTP_MAX_OPTS], *values[TFTP_MAX_OPTS];
	struct tftp_pkt q;
	require(p->oack.nopts <= TFTP_MAX_OPTS);
	for (size_t i = 0; i < p->oack.nopts; i++) {
		check_view(p->oack.opts[i].name, data, size);
		check_view(p->oack.opts[i].value, data, size);
	}
	opt_arrays(p->oack.opts, p->oack.nopts, names, values);
	int n = tftp_build_oack(out_buf, sizeof(out_buf), names, values, p->oack.nopts);
	require(n >= 2 && (size_t)n <= size);
	require(tftp_parse(out_buf, (size_t)n, &q) == 0);
	require(q.op == TFTP_OACK);
	check_opts_equal(q.oack.opts, q.oack.nopts, p->oack.opts, p->oack.nopts);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tftp_pkt p;
	if (size > 65536)
		return 0;
	int rc = tftp_parse(data, size, &p);
	if (rc != 0) {
		require(rc == -EBADMSG || rc == -EPROTO || rc == -E2BIG);
		return 0;
	}
	require(size >= 2 && p.op == (uint16_t)(data[0] << 8 | data[1]));
	switch (p.op) {
	case TFTP_RRQ:
	case TFTP_WRQ: check_req(&p, data, size); break;
	case TFTP_DATA: check_data(&p, data, size); break;
	case TFTP_ACK: check_ack(&p); break;
	case TFTP_ERROR: check_error(&p, data, size); break;
	case TFTP_OACK: check_oack(&p, data, size); break;
	default: abort();
	}
	return 0;
}
