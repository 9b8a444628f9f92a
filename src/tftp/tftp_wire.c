/* TFTP packet codec (RFC 1350, RFC 2347); see tftp_wire.h.
 *
 * Leniency, decided after reading what deployed servers accept (tftp-hpa tftpd stops at the
 * first empty string after the mode; dnsmasq stops at an empty or unterminated string):
 *  - a request or OACK may end in NUL padding: once a complete request (or name/value pair) is
 *    followed by an empty option name, the rest of the packet must be NUL bytes and is ignored;
 *    any other byte there is garbage and the packet is malformed;
 *  - an ERROR message without its terminating NUL is accepted (some embedded stacks omit it);
 *    NUL padding after the terminator is accepted too;
 *  - an ACK longer than 4 bytes is accepted, the extra bytes ignored (as tftp-hpa and dnsmasq
 *    do: they only check for at least 4 bytes).
 * Everything else that does not follow the RFC is rejected: a server must not guess.
 */
#include "tftp/tftp_wire.h"

#include <errno.h>
#include <string.h>

#include "core/buf.h"

/* RFC 2348 §"Blocksize Option Specification": blksize is at most 65464 octets. */
#define TFTP_DATA_MAX 65464

/** ASCII-only lower-casing: never depends on the process locale. */
static char ascii_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

bool tftp_str_caseeq(struct tftp_str s, const char *lit)
{
	size_t n = strlen(lit);
	if (s.len != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (ascii_lower(s.p[i]) != ascii_lower(lit[i]))
			return false;
	return true;
}

/* RFC 1350 §5: mode is "netascii", "octet" or "mail", in any combination of upper and lower
 * case. */
static const struct {
	const char *name;
	enum tftp_mode mode;
} mode_table[] = {
	{"octet", TFTP_MODE_OCTET},
	{"netascii", TFTP_MODE_NETASCII},
	{"mail", TFTP_MODE_MAIL},
};

/** Look up a transfer mode name. Returns 0 or -EPROTO. */
static int mode_lookup(struct tftp_str s, enum tftp_mode *mode)
{
	for (size_t i = 0; i < sizeof(mode_table) / sizeof(mode_table[0]); i++) {
		if (tftp_str_caseeq(s, mode_table[i].name)) {
			*mode = mode_table[i].mode;
			return 0;
		}
	}
	return -EPROTO;
}

/** Read one NUL-terminated string as a view. False when no NUL is left. */
static bool rd_str(struct rd *r, struct tftp_str *s)
{
	return rd_cstr(r, &s->p, &s->len);
}

/** True when every byte left in r is NUL (padding). Consumes them. */
static bool rd_only_nuls(struct rd *r)
{
	size_t n = rd_left(r);
	const uint8_t *rest;
	if (!rd_view(r, n, &rest))
		return false;
	for (size_t i = 0; i < n; i++)
		if (rest[i] != 0)
			return false;
	return true;
}

/**
 * Parse the RFC 2347 option list that ends a request or an OACK: name/value string pairs up to
 * the end of the packet, or up to an empty name followed by nothing but NUL padding. Stores at
 * most TFTP_MAX_OPTS pairs. Returns 0, -EBADMSG (unterminated string, name without value,
 * garbage after padding) or -E2BIG (more pairs than fit).
 */
static int parse_opts(struct rd *r, struct tftp_opt *opts, size_t *nopts)
{
	size_t n = 0;
	while (rd_left(r) > 0) {
		struct tftp_opt o;
		if (!rd_str(r, &o.name))
			return -EBADMSG;
		if (o.name.len == 0) {
			if (!rd_only_nuls(r))
				return -EBADMSG;
			break;
		}
		/* RFC 2347 §"Packet Formats": every option is followed by its value. */
		if (!rd_str(r, &o.value))
			return -EBADMSG;
		if (n < TFTP_MAX_OPTS)
			opts[n] = o;
		n++;
	}
	if (n > TFTP_MAX_OPTS)
		return -E2BIG;
	*nopts = n;
	return 0;
}

/** RRQ/WRQ body (RFC 1350 §5, RFC 2347): file NUL mode NUL [name NUL value NUL]... */
static int parse_req(struct rd *r, struct tftp_req *req)
{
	if (!rd_str(r, &req->file) || !rd_str(r, &req->mode_str))
		return -EBADMSG;
	if (req->file.len == 0)
		return -EBADMSG;
	int rc = parse_opts(r, req->opts, &req->nopts);
	if (rc < 0)
		return rc;
	return mode_lookup(req->mode_str, &req->mode);
}

/** DATA body (RFC 1350 §5): block, then 0..65464 bytes of payload (RFC 2348 upper bound). */
static int parse_data(struct rd *r, struct tftp_pkt *pkt)
{
	if (!rd_u16be(r, &pkt->data.block))
		return -EBADMSG;
	pkt->data.len = rd_left(r);
	if (pkt->data.len > TFTP_DATA_MAX)
		return -EBADMSG;
	return rd_view(r, pkt->data.len, &pkt->data.data) ? 0 : -EBADMSG;
}

/** ACK body (RFC 1350 §5): block. Extra bytes are ignored (see the file comment). */
static int parse_ack(struct rd *r, struct tftp_pkt *pkt)
{
	return rd_u16be(r, &pkt->ack.block) ? 0 : -EBADMSG;
}

/**
 * ERROR body (RFC 1350 §5): code, message, NUL. A message that runs to the end of the packet
 * without its NUL is accepted, but its text is dropped: msg becomes "" (a static literal) so
 * that msg.p stays a valid C string as tftp_str promises, without copying or reading past the
 * packet. Only NUL padding may follow the terminator.
 */
static int parse_error(struct rd *r, struct tftp_pkt *pkt)
{
	if (!rd_u16be(r, &pkt->error.code))
		return -EBADMSG;
	const uint8_t *rest = r->p + r->off;
	if (!memchr(rest, 0, rd_left(r))) {
		rd_skip(r, rd_left(r));
		pkt->error.msg.p = "";
		pkt->error.msg.len = 0;
		return 0;
	}
	rd_str(r, &pkt->error.msg);
	return rd_only_nuls(r) ? 0 : -EBADMSG;
}

/** OACK body (RFC 2347): name/value pairs. */
static int parse_oack(struct rd *r, struct tftp_pkt *pkt)
{
	return parse_opts(r, pkt->oack.opts, &pkt->oack.nopts);
}

/** RRQ and WRQ share the request parser. */
static int parse_req_body(struct rd *r, struct tftp_pkt *pkt)
{
	return parse_req(r, &pkt->req);
}

/* Body parsers, indexed by opcode; a hole is an unknown opcode. */
static int (*const body_parsers[])(struct rd *, struct tftp_pkt *) = {
	[TFTP_RRQ] = parse_req_body, [TFTP_WRQ] = parse_req_body, [TFTP_DATA] = parse_data,
	[TFTP_ACK] = parse_ack,	     [TFTP_ERROR] = parse_error,  [TFTP_OACK] = parse_oack,
};

int tftp_parse(const uint8_t *buf, size_t len, struct tftp_pkt *out)
{
	struct rd r;
	struct tftp_pkt pkt;
	int rc;

	memset(&pkt, 0, sizeof(pkt));
	rd_init(&r, buf, len);
	if (!rd_u16be(&r, &pkt.op))
		return -EBADMSG;
	if (pkt.op >= sizeof(body_parsers) / sizeof(body_parsers[0]) || !body_parsers[pkt.op])
		return -EPROTO;
	rc = body_parsers[pkt.op](&r, &pkt);
	if (rc < 0)
		return rc;
	*out = pkt;
	return 0;
}

/** True for a non-NULL, non-empty C string. */
static bool nonempty(const char *s)
{
	return s && *s;
}

/** Write a C string with its NUL. */
static bool wr_str(struct wr *w, const char *s)
{
	return wr_cstr(w, s, strlen(s));
}

/**
 * Write n option name/value pairs (RFC 2347). Names must be non-empty: an empty name would
 * read back as the start of padding. Returns 0 or -EINVAL; overflow is left in w.
 */
static int wr_opts(struct wr *w, const char *const *names, const char *const *values, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!nonempty(names[i]) || !values[i])
			return -EINVAL;
		wr_str(w, names[i]);
		wr_str(w, values[i]);
	}
	return 0;
}

int tftp_build_error(uint8_t *buf, size_t cap, uint16_t code, const char *msg)
{
	struct wr w;
	wr_init(&w, buf, cap);
	wr_u16be(&w, TFTP_ERROR);
	wr_u16be(&w, code);
	wr_str(&w, msg ? msg : tftp_errcode_str(code));
	return wr_result(&w);
}

int tftp_build_ack(uint8_t *buf, size_t cap, uint16_t block)
{
	struct wr w;
	wr_init(&w, buf, cap);
	wr_u16be(&w, TFTP_ACK);
	wr_u16be(&w, block);
	return wr_result(&w);
}

int tftp_build_data_hdr(uint8_t *buf, size_t cap, uint16_t block)
{
	struct wr w;
	wr_init(&w, buf, cap);
	wr_u16be(&w, TFTP_DATA);
	wr_u16be(&w, block);
	return wr_result(&w);
}

int tftp_build_oack(uint8_t *buf, size_t cap, const char *const *names, const char *const *values,
		    size_t n)
{
	struct wr w;
	wr_init(&w, buf, cap);
	wr_u16be(&w, TFTP_OACK);
	int rc = wr_opts(&w, names, values, n);
	return rc < 0 ? rc : wr_result(&w);
}

int tftp_build_req(uint8_t *buf, size_t cap, uint16_t op, const char *file, const char *mode,
		   const char *const *names, const char *const *values, size_t n)
{
	struct wr w;
	if ((op != TFTP_RRQ && op != TFTP_WRQ) || !nonempty(file))
		return -EINVAL;
	wr_init(&w, buf, cap);
	wr_u16be(&w, op);
	wr_str(&w, file);
	wr_str(&w, mode ? mode : "octet");
	int rc = wr_opts(&w, names, values, n);
	return rc < 0 ? rc : wr_result(&w);
}

/* RFC 1350 §5 error codes, plus 8 from RFC 2347. */
static const char *const errcode_text[] = {
	[TFTP_ENOTDEFINED] = "Not defined",
	[TFTP_ENOTFOUND] = "File not found",
	[TFTP_EACCESS] = "Access violation",
	[TFTP_ENOSPACE] = "Disk full or allocation exceeded",
	[TFTP_EBADOP] = "Illegal TFTP operation",
	[TFTP_EBADID] = "Unknown transfer ID",
	[TFTP_EEXISTS] = "File already exists",
	[TFTP_ENOUSER] = "No such user",
	[TFTP_EOPTNEG] = "Option negotiation failed",
};

const char *tftp_errcode_str(uint16_t code)
{
	if (code < sizeof(errcode_text) / sizeof(errcode_text[0]))
		return errcode_text[code];
	return "Unknown error";
}

const struct tftp_opt *tftp_opt_find(const struct tftp_opt *opts, size_t nopts, const char *name)
{
	for (size_t i = 0; i < nopts; i++)
		if (tftp_str_caseeq(opts[i].name, name))
			return &opts[i];
	return NULL;
}
