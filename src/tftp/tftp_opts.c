/* TFTP option negotiation; see tftp_opts.h.
 *
 * One handler per known option, found by a case-insensitive table lookup (RFC 2347: option
 * names are case-insensitive). A handler validates the client's value and either fills in the
 * negotiated value (option goes into the OACK) or refuses (option left out of the OACK, which
 * RFC 2347 allows: "the server may ... not include it in the OACK").
 */
#include "tftp/tftp_opts.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int tftp_parse_u64(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	if (len == 0)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/** Everything a handler needs besides the value. */
struct nego_ctx {
	bool is_write;
	enum tftp_mode mode;
	uint16_t blksize_max;	 /* already clamped to 8..65464 */
	uint16_t windowsize_max; /* already clamped to 1..65535 */
	uint64_t file_size;
	bool file_size_known;
};

/** Parse a value as a plain decimal number. False if it is not one (or overflows). */
static bool opt_number(const struct tftp_opt *o, uint64_t *v)
{
	return tftp_parse_u64(o->value.p, o->value.len, v) == 0;
}

/** RFC 2348: valid blksize is 8..65464; the server may answer with a smaller value. */
static bool nego_blksize(const struct tftp_opt *o, const struct nego_ctx *c,
			 struct tftp_negotiated *n)
{
	uint64_t v;
	if (!opt_number(o, &v) || v < TFTP_BLKSIZE_MIN)
		return false;
	n->blksize = (uint16_t)(v > c->blksize_max ? c->blksize_max : v);
	n->has_blksize = true;
	return true;
}

/* RFC 2349 §"Timeout Interval Option Specification": 1..255 seconds, and the server's OACK
 * value MUST match the client's, so it is echoed or refused, never changed. */
static bool nego_timeout(const struct tftp_opt *o, const struct nego_ctx *c,
			 struct tftp_negotiated *n)
{
	uint64_t v;
	(void)c;
	if (!opt_number(o, &v) || v < TFTP_TIMEOUT_MIN || v > TFTP_TIMEOUT_MAX)
		return false;
	n->timeout = (uint8_t)v;
	n->has_timeout = true;
	return true;
}

/* RFC 2349 §"Transfer Size Option Specification": in a RRQ the client sends 0 and the server
 * answers with the file size; in a WRQ the client sends the size and the server echoes it.
 * A netascii read's size on the wire differs from the file's, so it is not answered (as
 * tftp-hpa and dnsmasq do). */
static bool nego_tsize(const struct tftp_opt *o, const struct nego_ctx *c,
		       struct tftp_negotiated *n)
{
	uint64_t v;
	if (!opt_number(o, &v))
		return false;
	if (!c->is_write) {
		if (!c->file_size_known || c->mode == TFTP_MODE_NETASCII)
			return false;
		v = c->file_size;
	}
	n->tsize = v;
	n->has_tsize = true;
	return true;
}

/* RFC 7440 §3: windowsize 1..65535; the server may answer with a smaller value. */
static bool nego_windowsize(const struct tftp_opt *o, const struct nego_ctx *c,
			    struct tftp_negotiated *n)
{
	uint64_t v;
	if (!opt_number(o, &v) || v < 1)
		return false;
	n->windowsize = (uint16_t)(v > c->windowsize_max ? c->windowsize_max : v);
	n->has_windowsize = true;
	return true;
}

static const struct {
	const char *name;
	bool (*fn)(const struct tftp_opt *, const struct nego_ctx *, struct tftp_negotiated *);
} nego_table[] = {
	{"blksize", nego_blksize},
	{"tsize", nego_tsize},
	{"timeout", nego_timeout},
	{"windowsize", nego_windowsize},
};

#define NEGO_COUNT (sizeof(nego_table) / sizeof(nego_table[0]))

/** Clamp v into [lo, hi]. */
static uint16_t clamp_u16(uint16_t v, uint16_t lo, uint16_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/** Index of the handler for an option name, or NEGO_COUNT when unknown. */
static size_t nego_lookup(struct tftp_str name)
{
	size_t i = 0;
	while (i < NEGO_COUNT && !tftp_str_caseeq(name, nego_table[i].name))
		i++;
	return i;
}

int tftp_negotiate(const struct tftp_req *req, bool is_write, const struct tftp_limits *lim,
		   uint64_t file_size, bool file_size_known, struct tftp_negotiated *out)
{
	struct nego_ctx c = {
		.is_write = is_write,
		.mode = req->mode,
		.blksize_max = lim ? clamp_u16(lim->blksize_max, TFTP_BLKSIZE_MIN, TFTP_BLKSIZE_MAX)
				   : TFTP_BLKSIZE_MAX,
		.windowsize_max = lim ? clamp_u16(lim->windowsize_max, 1, TFTP_WINDOWSIZE_MAX)
				      : TFTP_WINDOWSIZE_MAX,
		.file_size = file_size,
		.file_size_known = file_size_known,
	};
	struct tftp_negotiated n = {.blksize = TFTP_BLKSIZE_DEFAULT, .windowsize = 1};
	bool seen[NEGO_COUNT] = {false};
	int accepted = 0;
	size_t nopts = req->nopts < TFTP_MAX_OPTS ? req->nopts : TFTP_MAX_OPTS;

	for (size_t i = 0; i < nopts; i++) {
		size_t h = nego_lookup(req->opts[i].name);
		/* Unknown options are ignored (RFC 2347); for a duplicate the first one decides,
		 * even when it was refused. */
		if (h == NEGO_COUNT || seen[h])
			continue;
		seen[h] = true;
		if (nego_table[h].fn(&req->opts[i], &c, &n))
			accepted++;
	}
	*out = n;
	return accepted;
}

/** Decimal rendering of v into out (at least 21 bytes). Returns out. */
static char *fmt_u64(uint64_t v, char out[21])
{
	char tmp[21];
	size_t i = 0, j = 0;
	do {
		tmp[i++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (i)
		out[j++] = tmp[--i];
	out[j] = '\0';
	return out;
}

/** The negotiated options in OACK order, as names and numbers. Returns the count. */
static size_t negotiated_list(const struct tftp_negotiated *n, const char *names[4],
			      uint64_t values[4])
{
	size_t k = 0;
	if (n->has_blksize) {
		names[k] = "blksize";
		values[k++] = n->blksize;
	}
	if (n->has_windowsize) {
		names[k] = "windowsize";
		values[k++] = n->windowsize;
	}
	if (n->has_timeout) {
		names[k] = "timeout";
		values[k++] = n->timeout;
	}
	if (n->has_tsize) {
		names[k] = "tsize";
		values[k++] = n->tsize;
	}
	return k;
}

int tftp_build_oack_negotiated(uint8_t *buf, size_t cap, const struct tftp_negotiated *n)
{
	const char *names[4];
	uint64_t nums[4];
	char text[4][21];
	const char *values[4];
	size_t k = negotiated_list(n, names, nums);

	for (size_t i = 0; i < k; i++)
		values[i] = fmt_u64(nums[i], text[i]);
	return tftp_build_oack(buf, cap, names, values, k);
}

char *tftp_negotiated_str(const struct tftp_negotiated *n, char *out, size_t cap)
{
	const char *names[4];
	uint64_t nums[4];
	size_t k = negotiated_list(n, names, nums);
	size_t used = 0;

	if (cap == 0)
		return out;
	out[0] = '\0';
	if (k == 0)
		snprintf(out, cap, "-");
	for (size_t i = 0; i < k && used < cap; i++) {
		char num[21];
		int w = snprintf(out + used, cap - used, "%s%s=%s", i ? " " : "", names[i],
				 fmt_u64(nums[i], num));
		if (w < 0)
			break;
		used += (size_t)w;
	}
	return out;
}
