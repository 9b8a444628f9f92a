/* DHCPv4 / BOOTP codec; see dhcp_wire.h and docs/dhcp-wire.md. */
#include "dhcp/dhcp_wire.h"

#include "core/buf.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

enum { WHERE_NONE = 0, WHERE_PKT = 1, WHERE_SCRATCH = 2 };

/* One region that holds options: the options field, or an overloaded file/sname field. */
struct area {
	size_t off;
	size_t len;
};

/* ---- Parsing ---- */

/* Read the fixed header. False if the buffer is too short. */
static bool read_hdr(struct rd *r, struct dhcp_hdr *h)
{
	rd_u8(r, &h->op);
	rd_u8(r, &h->htype);
	rd_u8(r, &h->hlen);
	rd_u8(r, &h->hops);
	rd_u32be(r, &h->xid);
	rd_u16be(r, &h->secs);
	rd_u16be(r, &h->flags);
	rd_u32be(r, &h->ciaddr);
	rd_u32be(r, &h->yiaddr);
	rd_u32be(r, &h->siaddr);
	rd_u32be(r, &h->giaddr);
	rd_bytes(r, h->chaddr, sizeof(h->chaddr));
	rd_bytes(r, h->sname, sizeof(h->sname));
	rd_bytes(r, h->file, sizeof(h->file));
	return !r->failed;
}

/*
 * Next option of an area (RFC 2132 §2): skips pad, stops at end. Returns 1 with the code, the
 * data offset (relative to the area) and the length; 0 at end option or at the end of the area
 * (a missing end option is tolerated); -EBADMSG if the length byte or the data run past the area.
 */
static int area_next(struct rd *r, uint8_t *code, size_t *off, uint8_t *len)
{
	uint8_t c, l;

	do {
		if (!rd_u8(r, &c))
			return 0;
	} while (c == DHCP_OPT_PAD);
	if (c == DHCP_OPT_END)
		return 0;
	if (!rd_u8(r, &l) || !rd_skip(r, l))
		return -EBADMSG;
	*code = c;
	*off = r->off - l;
	*len = l;
	return 1;
}

/* Pass 1: count instances and total length of every code found in area a; *repeated counts
 * the codes seen more than once. */
static int index_area(const uint8_t *buf, struct area a, struct dhcp_msg *m, unsigned *repeated)
{
	struct rd r;
	uint8_t code, len;
	size_t off;
	int rc;

	rd_init(&r, buf + a.off, a.len);
	while ((rc = area_next(&r, &code, &off, &len)) > 0) {
		struct dhcp_opt_ref *o = &m->opt[code];
		if (o->where == WHERE_NONE) {
			o->where = WHERE_PKT;
			o->off = (uint16_t)(a.off + off);
		} else if (o->where == WHERE_PKT) {
			o->where = WHERE_SCRATCH; /* RFC 3396: concatenate in pass 2 */
			(*repeated)++;
		}
		if (o->count < 255)
			o->count++;
		o->len = (uint16_t)(o->len + len);
	}
	return rc;
}

/* Pass 2: append each instance of a repeated code to its slot in scratch (RFC 3396 §7). */
static void concat_area(const uint8_t *buf, struct area a, struct dhcp_msg *m, uint16_t *fill)
{
	struct rd r;
	uint8_t code, len;
	size_t off;

	rd_init(&r, buf + a.off, a.len);
	while (area_next(&r, &code, &off, &len) > 0) {
		struct dhcp_opt_ref *o = &m->opt[code];
		if (o->where != WHERE_SCRATCH)
			continue;
		memcpy(m->scratch + o->off + fill[code], buf + a.off + off, len);
		fill[code] = (uint16_t)(fill[code] + len);
	}
}

/* Give every repeated code its slot in scratch. -E2BIG if they do not all fit. */
static int assign_scratch(struct dhcp_msg *m)
{
	size_t used = 0;

	for (int c = 0; c < 256; c++) {
		struct dhcp_opt_ref *o = &m->opt[c];
		if (o->where != WHERE_SCRATCH)
			continue;
		if (o->len > sizeof(m->scratch) - used)
			return -E2BIG;
		o->off = (uint16_t)used;
		used += o->len;
	}
	m->scratch_used = (uint16_t)used;
	return 0;
}

/* Option 52 (RFC 2132 §9.3) must be one byte of 1, 2 or 3; sets m->overload. */
static int read_overload(struct dhcp_msg *m)
{
	const struct dhcp_opt_ref *o = &m->opt[DHCP_OPT_OVERLOAD];

	if (o->where == WHERE_NONE)
		return 0;
	if (o->count != 1 || o->len != 1)
		return -EBADMSG;
	uint8_t v = m->pkt[o->off];
	if (v < 1 || v > 3)
		return -EBADMSG;
	m->overload = v;
	return 0;
}

/* Index all options, then concatenate repeated codes. RFC 2131 §4.1: option 52 MUST be in
 * the options field, which MUST be interpreted first, then file, then sname. */
static int parse_options(const uint8_t *buf, size_t len, struct dhcp_msg *m)
{
	struct area areas[3] = {{DHCP_MIN_LEN, len - DHCP_MIN_LEN}};
	size_t n = 1;
	unsigned repeated = 0;
	int rc;

	if ((rc = index_area(buf, areas[0], m, &repeated)) < 0 || (rc = read_overload(m)) < 0)
		return rc;
	if (m->overload & DHCP_OVERLOAD_FILE)
		areas[n++] = (struct area){DHCP_FILE_OFF, DHCP_FILE_LEN};
	if (m->overload & DHCP_OVERLOAD_SNAME)
		areas[n++] = (struct area){DHCP_SNAME_OFF, DHCP_SNAME_LEN};
	for (size_t i = 1; i < n; i++)
		if ((rc = index_area(buf, areas[i], m, &repeated)) < 0)
			return rc;
	if (!repeated) /* the common case: every option once, all views into the packet */
		return 0;
	if ((rc = assign_scratch(m)) < 0)
		return rc;
	if (m->scratch_used) {
		uint16_t fill[256] = {0};
		for (size_t i = 0; i < n; i++)
			concat_area(buf, areas[i], m, fill);
	}
	return 0;
}

int dhcp_parse(const uint8_t *buf, size_t len, struct dhcp_msg *msg)
{
	struct dhcp_msg m;
	struct rd r;
	uint32_t cookie;
	int rc;

	/* everything but the scratch area, which is written before it is read */
	memset(&m, 0, offsetof(struct dhcp_msg, scratch));
	if (len > DHCP_MAX_PACKET)
		return -EMSGSIZE;
	if (len < DHCP_MIN_LEN)
		return -EBADMSG;
	rd_init(&r, buf, len);
	if (!read_hdr(&r, &m.hdr) || !rd_u32be(&r, &cookie))
		return -EBADMSG;
	if (m.hdr.op != DHCP_BOOTREQUEST && m.hdr.op != DHCP_BOOTREPLY)
		return -EBADMSG;
	if (m.hdr.hlen > DHCP_CHADDR_LEN)
		return -EBADMSG;
	m.pkt = buf;
	m.pkt_len = len;
	if (cookie != DHCP_COOKIE)
		m.bootp = true; /* RFC 951 message: vend field is opaque to us */
	else if ((rc = parse_options(buf, len, &m)) < 0)
		return rc;
	memcpy(msg, &m, offsetof(struct dhcp_msg, scratch) + m.scratch_used);
	return 0;
}

const uint8_t *dhcp_opt(const struct dhcp_msg *msg, uint8_t code, size_t *len)
{
	const struct dhcp_opt_ref *o = &msg->opt[code];

	if (o->where == WHERE_NONE)
		return NULL;
	*len = o->len;
	return o->where == WHERE_PKT ? msg->pkt + o->off : msg->scratch + o->off;
}

bool dhcp_has_opt(const struct dhcp_msg *msg, uint8_t code)
{
	return msg->opt[code].where != WHERE_NONE;
}

int dhcp_msg_type(const struct dhcp_msg *msg)
{
	size_t len;
	const uint8_t *p = dhcp_opt(msg, DHCP_OPT_MSG_TYPE, &len);

	if (!p)
		return 0;
	if (len != 1 || p[0] == 0)
		return -EBADMSG;
	return p[0];
}

/* View of an option that must be exactly want bytes long. */
static int opt_exact(const struct dhcp_msg *msg, uint8_t code, size_t want, const uint8_t **p)
{
	size_t len;
	const uint8_t *d = dhcp_opt(msg, code, &len);

	if (!d)
		return -ENOENT;
	if (len != want)
		return -EBADMSG;
	*p = d;
	return 0;
}

int dhcp_opt_u8(const struct dhcp_msg *msg, uint8_t code, uint8_t *out)
{
	const uint8_t *p;
	int rc = opt_exact(msg, code, 1, &p);

	if (rc == 0)
		*out = p[0];
	return rc;
}

int dhcp_opt_u16(const struct dhcp_msg *msg, uint8_t code, uint16_t *out)
{
	const uint8_t *p;
	int rc = opt_exact(msg, code, 2, &p);

	if (rc == 0)
		*out = (uint16_t)(p[0] << 8 | p[1]);
	return rc;
}

int dhcp_opt_u32(const struct dhcp_msg *msg, uint8_t code, uint32_t *out)
{
	const uint8_t *p;
	int rc = opt_exact(msg, code, 4, &p);

	if (rc == 0)
		*out = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
	return rc;
}

int dhcp_opt_ip(const struct dhcp_msg *msg, uint8_t code, uint32_t *out)
{
	return dhcp_opt_u32(msg, code, out);
}

int dhcp_opt_max_msg_size(const struct dhcp_msg *msg, uint16_t *out)
{
	uint16_t v;
	int rc = dhcp_opt_u16(msg, DHCP_OPT_MAX_MSG_SIZE, &v);

	if (rc < 0)
		return rc;
	if (v < DHCP_MIN_IP_DATAGRAM) /* RFC 2132 §9.10: minimum legal value is 576 */
		return -EBADMSG;
	*out = v;
	return 0;
}

int dhcp_opt_client_id(const struct dhcp_msg *msg, const uint8_t **id, size_t *len)
{
	size_t n;
	const uint8_t *p = dhcp_opt(msg, DHCP_OPT_CLIENT_ID, &n);

	if (!p)
		return -ENOENT;
	if (n < 2) /* RFC 2132 §9.14: minimum length is 2 */
		return -EBADMSG;
	*id = p;
	*len = n;
	return 0;
}

size_t dhcp_msg_max_reply(const struct dhcp_msg *msg, size_t mtu)
{
	size_t ip = DHCP_MIN_IP_DATAGRAM;
	uint16_t v;

	if (dhcp_opt_max_msg_size(msg, &v) == 0)
		ip = v;
	if (mtu && ip > mtu)
		ip = mtu;
	if (ip < DHCP_MIN_IP_DATAGRAM)
		ip = DHCP_MIN_IP_DATAGRAM;
	return ip - DHCP_UDP_IP_OVERHEAD;
}

/* A header string field as a view, empty when it carries options. */
static size_t field_str(const uint8_t *field, size_t cap, bool overloaded, const char **s)
{
	if (overloaded) {
		*s = "";
		return 0;
	}
	*s = (const char *)field;
	const uint8_t *nul = memchr(field, 0, cap);
	return nul ? (size_t)(nul - field) : cap;
}

size_t dhcp_msg_file(const struct dhcp_msg *msg, const char **s)
{
	return field_str(msg->hdr.file, sizeof(msg->hdr.file), msg->overload & DHCP_OVERLOAD_FILE,
			 s);
}

size_t dhcp_msg_sname(const struct dhcp_msg *msg, const char **s)
{
	return field_str(msg->hdr.sname, sizeof(msg->hdr.sname),
			 msg->overload & DHCP_OVERLOAD_SNAME, s);
}

/* ---- Building ---- */

void dhcp_rb_init(struct dhcp_reply_builder *rb)
{
	memset(rb, 0, sizeof(*rb));
	rb->hdr.op = DHCP_BOOTREPLY;
	rb->hdr.htype = DHCP_HTYPE_ETHER;
	rb->hdr.hlen = 6;
}

void dhcp_rb_init_reply(struct dhcp_reply_builder *rb, const struct dhcp_msg *req, uint8_t type)
{
	dhcp_rb_init(rb);
	rb->hdr.htype = req->hdr.htype;
	rb->hdr.hlen = req->hdr.hlen;
	rb->hdr.xid = req->hdr.xid;
	rb->hdr.flags = req->hdr.flags;
	rb->hdr.giaddr = req->hdr.giaddr;
	memcpy(rb->hdr.chaddr, req->hdr.chaddr, sizeof(rb->hdr.chaddr));
	dhcp_rb_add_u8(rb, DHCP_OPT_MSG_TYPE, type);
}

/* Remember the first error for dhcp_rb_finish and pass it on. */
static int rb_fail(struct dhcp_reply_builder *rb, int err)
{
	if (!rb->err)
		rb->err = err;
	return err;
}

int dhcp_rb_add_flags(struct dhcp_reply_builder *rb, uint8_t code, const void *data, size_t len,
		      unsigned flags)
{
	struct dhcp_rb_entry *e = &rb->opt[code];

	if (code == DHCP_OPT_PAD || code == DHCP_OPT_OVERLOAD || code == DHCP_OPT_END)
		return rb_fail(rb, -EINVAL);
	if (e->set)
		return rb_fail(rb, -EEXIST);
	if (len > sizeof(rb->data) - rb->used)
		return rb_fail(rb, -ENOSPC);
	if (len)
		memcpy(rb->data + rb->used, data, len);
	*e = (struct dhcp_rb_entry){
		.off = rb->used, .len = (uint16_t)len, .flags = (uint8_t)flags, .set = true};
	rb->used = (uint16_t)(rb->used + len);
	rb->order[rb->n++] = code;
	return 0;
}

int dhcp_rb_add(struct dhcp_reply_builder *rb, uint8_t code, const void *data, size_t len)
{
	return dhcp_rb_add_flags(rb, code, data, len, 0);
}

int dhcp_rb_add_u8(struct dhcp_reply_builder *rb, uint8_t code, uint8_t v)
{
	return dhcp_rb_add(rb, code, &v, 1);
}

int dhcp_rb_add_u16(struct dhcp_reply_builder *rb, uint8_t code, uint16_t v)
{
	uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};

	return dhcp_rb_add(rb, code, b, sizeof(b));
}

int dhcp_rb_add_u32(struct dhcp_reply_builder *rb, uint8_t code, uint32_t v)
{
	uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};

	return dhcp_rb_add(rb, code, b, sizeof(b));
}

int dhcp_rb_add_ip(struct dhcp_reply_builder *rb, uint8_t code, uint32_t addr)
{
	return dhcp_rb_add_u32(rb, code, addr);
}

int dhcp_rb_add_str(struct dhcp_reply_builder *rb, uint8_t code, const char *s)
{
	return dhcp_rb_add(rb, code, s, strlen(s));
}

int dhcp_rb_echo(struct dhcp_reply_builder *rb, const struct dhcp_msg *req, uint8_t code)
{
	size_t len;
	const uint8_t *p = dhcp_opt(req, code, &len);

	return p ? dhcp_rb_add(rb, code, p, len) : 0;
}

bool dhcp_rb_has(const struct dhcp_reply_builder *rb, uint8_t code)
{
	return rb->opt[code].set;
}

bool dhcp_rb_dropped(const struct dhcp_reply_builder *rb, uint8_t code)
{
	return rb->dropped[code / 8] & (1u << (code % 8));
}

/* Encoded size of an option of len data bytes, split into 255-byte instances (RFC 3396 §6). */
static size_t enc_len(size_t len)
{
	return len == 0 ? 2 : len + 2 * ((len + 254) / 255);
}

/* Codes the builder places itself rather than in the general list. */
static bool rb_special(uint8_t code)
{
	return code == DHCP_OPT_MSG_TYPE || code == DHCP_OPT_SERVER_ID ||
	       code == DHCP_OPT_RELAY_AGENT;
}

/* Append code to the item list unless it is absent or already listed. */
static void list_add(const struct dhcp_reply_builder *rb, uint8_t code, uint8_t *items, size_t *n,
		     uint8_t *seen)
{
	if (!rb->opt[code].set || (seen[code / 8] & (1u << (code % 8))))
		return;
	seen[code / 8] |= (uint8_t)(1u << (code % 8));
	items[(*n)++] = code;
}

/* Output order (RFC 2131 §4.3.1): 53, 54, the requested ones in prl order, then the rest in
 * the order added. Option 82 is not listed: it always goes last. */
static size_t order_items(const struct dhcp_reply_builder *rb, const uint8_t *prl, size_t prl_len,
			  uint8_t *items)
{
	uint8_t seen[32] = {0};
	size_t n = 0;

	list_add(rb, DHCP_OPT_MSG_TYPE, items, &n, seen);
	list_add(rb, DHCP_OPT_SERVER_ID, items, &n, seen);
	for (size_t i = 0; i < prl_len; i++)
		if (!rb_special(prl[i]))
			list_add(rb, prl[i], items, &n, seen);
	for (size_t i = 0; i < rb->n; i++) {
		uint8_t c = rb->order[i];
		if (!rb_special(c) && !(rb->opt[c].flags & DHCP_RB_IF_REQUESTED))
			list_add(rb, c, items, &n, seen);
	}
	return n;
}

/* Where each item goes: 0 options field, 1 file, 2 sname, 3 left out. */
enum { AREA_OPTS, AREA_FILE, AREA_SNAME, AREA_NONE };

struct layout {
	uint8_t area[256];
	size_t dropped;
	uint8_t overload;
};

/* First-fit the items into the areas' room. 53 and 54 only go in the options field. Returns
 * -EMSGSIZE if an item that must be sent does not fit. */
static int place_items(const struct dhcp_reply_builder *rb, const uint8_t *items, size_t n,
		       const size_t *room_in, struct layout *lo)
{
	size_t room[3] = {room_in[0], room_in[1], room_in[2]};

	lo->dropped = 0;
	lo->overload = 0;
	for (size_t i = 0; i < n; i++) {
		const struct dhcp_rb_entry *e = &rb->opt[items[i]];
		size_t sz = enc_len(e->len);
		int last = rb_special(items[i]) ? AREA_OPTS : AREA_SNAME;
		int a;

		for (a = AREA_OPTS; a <= last && sz > room[a]; a++)
			;
		if (a > last) {
			if (rb_special(items[i]) || (e->flags & DHCP_RB_REQUIRED))
				return -EMSGSIZE;
			lo->area[i] = AREA_NONE;
			lo->dropped++;
			continue;
		}
		room[a] -= sz;
		lo->area[i] = (uint8_t)a;
		if (a == AREA_FILE)
			lo->overload |= DHCP_OVERLOAD_FILE;
		else if (a == AREA_SNAME)
			lo->overload |= DHCP_OVERLOAD_SNAME;
	}
	return 0;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/*
 * Choose a layout: everything in the options field (opt_room bytes) if possible; else, when
 * allowed and file/sname are unused, also those fields (RFC 2131 §4.1), keeping 3 bytes for
 * option 52 and one byte per field for its end option. Keeps the layout that leaves out less.
 */
static int choose_layout(const struct dhcp_reply_builder *rb, const uint8_t *items, size_t n,
			 size_t opt_room, struct layout *lo)
{
	size_t plain[3] = {opt_room, 0, 0};
	int rc = place_items(rb, items, n, plain, lo);

	if ((rc == 0 && lo->dropped == 0) || !rb->allow_overload || opt_room < 3)
		return rc;
	size_t over[3] = {opt_room - 3,
			  all_zero(rb->hdr.file, DHCP_FILE_LEN) ? DHCP_FILE_LEN - 1 : 0,
			  all_zero(rb->hdr.sname, DHCP_SNAME_LEN) ? DHCP_SNAME_LEN - 1 : 0};
	if (!over[1] && !over[2])
		return rc;
	struct layout tmp;
	if (place_items(rb, items, n, over, &tmp) == 0 && (rc < 0 || tmp.dropped < lo->dropped)) {
		*lo = tmp;
		return 0;
	}
	return rc;
}

/* Write one option, split into instances of at most 255 bytes (RFC 3396 §6). */
static void put_opt(struct wr *w, uint8_t code, const uint8_t *p, size_t len)
{
	do {
		size_t n = len > 255 ? 255 : len;
		wr_u8(w, code);
		wr_u8(w, (uint8_t)n);
		wr_bytes(w, p, n);
		p += n;
		len -= n;
	} while (len > 0);
}

static void put_item(struct wr *w, const struct dhcp_reply_builder *rb, uint8_t code)
{
	const struct dhcp_rb_entry *e = &rb->opt[code];

	put_opt(w, code, rb->data + e->off, e->len);
}

static void write_hdr(struct wr *w, const struct dhcp_hdr *h)
{
	wr_u8(w, h->op);
	wr_u8(w, h->htype);
	wr_u8(w, h->hlen);
	wr_u8(w, h->hops);
	wr_u32be(w, h->xid);
	wr_u16be(w, h->secs);
	wr_u16be(w, h->flags);
	wr_u32be(w, h->ciaddr);
	wr_u32be(w, h->yiaddr);
	wr_u32be(w, h->siaddr);
	wr_u32be(w, h->giaddr);
	wr_bytes(w, h->chaddr, sizeof(h->chaddr));
	wr_bytes(w, h->sname, sizeof(h->sname));
	wr_bytes(w, h->file, sizeof(h->file));
	wr_u32be(w, DHCP_COOKIE);
}

/* Fill an overloaded header field with the items placed there, then end (RFC 2131 §4.1). */
static void write_field(uint8_t *field, size_t cap, const struct dhcp_reply_builder *rb,
			const uint8_t *items, size_t n, const struct layout *lo, int area)
{
	struct wr w;

	memset(field, 0, cap);
	wr_init(&w, field, cap);
	for (size_t i = 0; i < n; i++)
		if (lo->area[i] == area)
			put_item(&w, rb, items[i]);
	wr_u8(&w, DHCP_OPT_END);
}

/* Write the options field: 53 and 54 first, then 52, the rest, 82 and end; pad to 300. */
static int write_opts(struct wr *w, const struct dhcp_reply_builder *rb, const uint8_t *items,
		      size_t n, const struct layout *lo)
{
	size_t i = 0;

	for (; i < n && (items[i] == DHCP_OPT_MSG_TYPE || items[i] == DHCP_OPT_SERVER_ID); i++)
		put_item(w, rb, items[i]);
	if (lo->overload) {
		uint8_t v = lo->overload;
		put_opt(w, DHCP_OPT_OVERLOAD, &v, 1);
	}
	for (; i < n; i++)
		if (lo->area[i] == AREA_OPTS)
			put_item(w, rb, items[i]);
	if (rb->opt[DHCP_OPT_RELAY_AGENT].set) /* RFC 3046 §2.2: echoed, as the last option */
		put_item(w, rb, DHCP_OPT_RELAY_AGENT);
	wr_u8(w, DHCP_OPT_END);
	while (w->off < DHCP_BOOTP_MIN_LEN && !w->failed)
		wr_u8(w, DHCP_OPT_PAD);
	return wr_result(w);
}

int dhcp_rb_finish(struct dhcp_reply_builder *rb, const uint8_t *prl, size_t prl_len,
		   size_t maxsize, uint8_t *out, size_t cap)
{
	uint8_t items[256];
	struct layout lo;
	struct wr w;
	size_t limit = maxsize < cap ? maxsize : cap;
	size_t fixed = DHCP_MIN_LEN + 1; /* header, cookie, end option */
	int rc;

	memset(rb->dropped, 0, sizeof(rb->dropped));
	if (rb->err)
		return rb->err;
	if (limit < DHCP_BOOTP_MIN_LEN)
		return -EINVAL;
	if (rb->opt[DHCP_OPT_RELAY_AGENT].set)
		fixed += enc_len(rb->opt[DHCP_OPT_RELAY_AGENT].len);
	if (fixed > limit)
		return -EMSGSIZE;
	size_t n = order_items(rb, prl, prl_len, items);
	if ((rc = choose_layout(rb, items, n, limit - fixed, &lo)) < 0)
		return rc;
	for (size_t i = 0; i < n; i++)
		if (lo.area[i] == AREA_NONE)
			rb->dropped[items[i] / 8] |= (uint8_t)(1u << (items[i] % 8));
	wr_init(&w, out, limit);
	write_hdr(&w, &rb->hdr);
	if ((rc = write_opts(&w, rb, items, n, &lo)) < 0)
		return rc;
	if (lo.overload & DHCP_OVERLOAD_FILE)
		write_field(out + DHCP_FILE_OFF, DHCP_FILE_LEN, rb, items, n, &lo, AREA_FILE);
	if (lo.overload & DHCP_OVERLOAD_SNAME)
		write_field(out + DHCP_SNAME_OFF, DHCP_SNAME_LEN, rb, items, n, &lo, AREA_SNAME);
	return rc;
}
