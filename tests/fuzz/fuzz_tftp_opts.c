/* Fuzz target: option negotiation. A packet that parses as RRQ/WRQ is negotiated under several
 * server limits, file sizes and directions; each result is checked against an independent
 * reading of the request, encoded as an OACK, parsed back, and negotiated again from the OACK
 * (which must change nothing). Any broken invariant calls abort(). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tftp/tftp_opts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void require(int cond)
{
	if (!cond)
		abort();
}

static const struct tftp_limits limits[] = {
	{512, 1}, {1432, 8}, {1468, 4}, {65464, 65535}, {0, 0}, {65535, 65535}, {8, 1},
};

static const struct {
	uint64_t size;
	bool known;
} files[] = {{0, true}, {1048576, true}, {UINT64_MAX, true}, {7, false}};

static uint64_t clamp64(uint64_t v, uint64_t lo, uint64_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/** First occurrence of name in req, parsed as a number. False if absent or not a number. */
static bool first_value(const struct tftp_req *req, const char *name, bool *present, uint64_t *v)
{
	const struct tftp_opt *o = tftp_opt_find(req->opts, req->nopts, name);
	*present = o != NULL;
	return o && tftp_parse_u64(o->value.p, o->value.len, v) == 0;
}

/** The negotiation agrees with a direct reading of the RFC rules. */
static void check_rules(const struct tftp_req *req, bool is_write, const struct tftp_limits *lim,
			uint64_t fsize, bool known, const struct tftp_negotiated *n, int rc)
{
	uint64_t v = 0, bmax = clamp64(lim->blksize_max, 8, 65464);
	uint64_t wmax = clamp64(lim->windowsize_max, 1, 65535);
	bool present;

	require(rc == n->has_blksize + n->has_tsize + n->has_timeout + n->has_windowsize);

	bool ok = first_value(req, "blksize", &present, &v) && v >= 8;
	require(ok == n->has_blksize);
	require(n->blksize == (ok ? (v > bmax ? bmax : v) : 512));
	require(n->blksize >= 8 && n->blksize <= (ok ? bmax : 512));

	ok = first_value(req, "windowsize", &present, &v) && v >= 1;
	require(ok == n->has_windowsize);
	require(n->windowsize == (ok ? (v > wmax ? wmax : v) : 1));

	ok = first_value(req, "timeout", &present, &v) && v >= 1 && v <= 255;
	require(ok == n->has_timeout);
	require(ok ? n->timeout == v : n->timeout == 0);

	ok = first_value(req, "tsize", &present, &v);
	if (!is_write)
		ok = ok && known && req->mode != TFTP_MODE_NETASCII;
	require(ok == n->has_tsize);
	require(n->tsize == (ok ? (is_write ? v : fsize) : 0));
}

/** Encode the OACK, parse it back, and check it carries exactly the negotiated values. */
static void check_oack(const struct tftp_negotiated *n, int rc, struct tftp_pkt *back, uint8_t *buf,
		       size_t cap)
{
	int len = tftp_build_oack_negotiated(buf, cap, n);
	require(len >= 2);
	require(tftp_build_oack_negotiated(buf, (size_t)len - 1, n) == -ENOSPC);
	require(tftp_parse(buf, (size_t)len, back) == 0);
	require(back->op == TFTP_OACK && back->oack.nopts == (size_t)rc);
	for (size_t i = 0; i < back->oack.nopts; i++) {
		uint64_t v;
		const struct tftp_opt *o = &back->oack.opts[i];
		require(tftp_parse_u64(o->value.p, o->value.len, &v) == 0);
		if (tftp_str_caseeq(o->name, "blksize"))
			require(n->has_blksize && v == n->blksize);
		else if (tftp_str_caseeq(o->name, "windowsize"))
			require(n->has_windowsize && v == n->windowsize);
		else if (tftp_str_caseeq(o->name, "timeout"))
			require(n->has_timeout && v == n->timeout);
		else if (tftp_str_caseeq(o->name, "tsize"))
			require(n->has_tsize && v == n->tsize);
		else
			abort();
	}
}

/** Log string: fits TFTP_NEGOTIATED_STR_MAX, and truncates cleanly in small buffers. */
static void check_str(const struct tftp_negotiated *n)
{
	char full[TFTP_NEGOTIATED_STR_MAX], small[TFTP_NEGOTIATED_STR_MAX];
	size_t len = strlen(tftp_negotiated_str(n, full, sizeof(full)));
	require(len > 0 && len < sizeof(full) - 1);
	for (size_t cap = 1; cap <= len + 1; cap += 7) {
		tftp_negotiated_str(n, small, cap);
		require(strlen(small) == cap - 1 && memcmp(small, full, cap - 1) == 0);
	}
}

static bool same(const struct tftp_negotiated *a, const struct tftp_negotiated *b)
{
	return a->has_blksize == b->has_blksize && a->blksize == b->blksize &&
	       a->has_tsize == b->has_tsize && a->tsize == b->tsize &&
	       a->has_timeout == b->has_timeout && a->timeout == b->timeout &&
	       a->has_windowsize == b->has_windowsize && a->windowsize == b->windowsize;
}

/** One negotiation and everything that follows from it. */
static void run_one(const struct tftp_req *req, bool is_write, const struct tftp_limits *lim,
		    uint64_t fsize, bool known)
{
	static uint8_t buf[512];
	struct tftp_negotiated n, again;
	struct tftp_pkt back;
	struct tftp_req from_oack;

	int rc = tftp_negotiate(req, is_write, lim, fsize, known, &n);
	require(rc >= 0 && rc <= 4);
	check_rules(req, is_write, lim, fsize, known, &n, rc);
	check_str(&n);
	check_oack(&n, rc, &back, buf, sizeof(buf));

	/* Negotiating what the OACK says, under the same conditions, changes nothing. */
	memset(&from_oack, 0, sizeof(from_oack));
	from_oack.mode = req->mode;
	from_oack.nopts = back.oack.nopts;
	memcpy(from_oack.opts, back.oack.opts, sizeof(from_oack.opts));
	require(tftp_negotiate(&from_oack, is_write, lim, fsize, known, &again) == rc);
	require(same(&n, &again));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tftp_pkt p;
	if (tftp_parse(data, size, &p) != 0 || (p.op != TFTP_RRQ && p.op != TFTP_WRQ))
		return 0;
	for (size_t l = 0; l < sizeof(limits) / sizeof(limits[0]); l++)
		for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++)
			for (int w = 0; w < 2; w++)
				run_one(&p.req, w, &limits[l], files[f].size, files[f].known);
	return 0;
}
