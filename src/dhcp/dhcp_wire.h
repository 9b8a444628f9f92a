/* DHCPv4 / BOOTP message codec (RFC 951, RFC 2131 §2, RFC 2132, RFC 3396, RFC 3046).
 *
 * Sans-I/O: dhcp_parse() reads a UDP payload into a struct dhcp_msg (header fields plus an index
 * of all 256 option codes); struct dhcp_reply_builder assembles a reply and dhcp_rb_finish()
 * encodes it into a caller buffer. Nothing here allocates, logs or reads the clock.
 * See docs/dhcp-wire.md for the design.
 */
#ifndef PXED_DHCP_WIRE_H
#define PXED_DHCP_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Sizes (RFC 2131 §2). */
#define DHCP_HDR_LEN	     236 /* fixed BOOTP header, up to the options field */
#define DHCP_COOKIE	     0x63825363u
#define DHCP_MIN_LEN	     240 /* header + magic cookie: shortest message we accept */
#define DHCP_BOOTP_MIN_LEN   300 /* replies are padded to this (RFC 951 size; old clients) */
#define DHCP_SNAME_LEN	     64
#define DHCP_FILE_LEN	     128
#define DHCP_CHADDR_LEN	     16
#define DHCP_SNAME_OFF	     44
#define DHCP_FILE_OFF	     108
#define DHCP_UDP_IP_OVERHEAD 28	 /* IPv4 header (no options) + UDP header */
#define DHCP_MIN_IP_DATAGRAM 576 /* RFC 2131 §2, RFC 2132 §9.10: smallest max message size */
#define DHCP_DEFAULT_MAX_MSG (DHCP_MIN_IP_DATAGRAM - DHCP_UDP_IP_OVERHEAD) /* 548 */
#define DHCP_SCRATCH_LEN     2048 /* room for RFC 3396 concatenated options */
#define DHCP_RB_DATA_LEN     2048 /* option payload room in a reply builder */
#define DHCP_MAX_PACKET	     65535

enum dhcp_op { DHCP_BOOTREQUEST = 1, DHCP_BOOTREPLY = 2 };

#define DHCP_FLAG_BROADCAST 0x8000 /* RFC 2131 §2, figure 2 */
#define DHCP_HTYPE_ETHER    1

/* Message types, option 53 (RFC 2132 §9.6). */
enum dhcp_msg_type {
	DHCP_DISCOVER = 1,
	DHCP_OFFER = 2,
	DHCP_REQUEST = 3,
	DHCP_DECLINE = 4,
	DHCP_ACK = 5,
	DHCP_NAK = 6,
	DHCP_RELEASE = 7,
	DHCP_INFORM = 8,
};

/* Option codes used by pxed (RFC 2132 unless noted). Every other code is carried untouched. */
enum dhcp_opt_code {
	DHCP_OPT_PAD = 0,
	DHCP_OPT_SUBNET_MASK = 1,
	DHCP_OPT_ROUTER = 3,
	DHCP_OPT_DNS = 6,
	DHCP_OPT_HOSTNAME = 12,
	DHCP_OPT_BOOTFILE_SIZE = 13,
	DHCP_OPT_DOMAIN = 15,
	DHCP_OPT_ROOT_PATH = 17,
	DHCP_OPT_MTU = 26,
	DHCP_OPT_BROADCAST = 28,
	DHCP_OPT_NTP = 42,
	DHCP_OPT_VENDOR = 43, /* vendor specific; PXE sub-options (see pxe_opts.h) */
	DHCP_OPT_REQUESTED_IP = 50,
	DHCP_OPT_LEASE_TIME = 51,
	DHCP_OPT_OVERLOAD = 52,
	DHCP_OPT_MSG_TYPE = 53,
	DHCP_OPT_SERVER_ID = 54,
	DHCP_OPT_PARAM_REQ = 55,
	DHCP_OPT_MESSAGE = 56,
	DHCP_OPT_MAX_MSG_SIZE = 57,
	DHCP_OPT_T1 = 58,
	DHCP_OPT_T2 = 59,
	DHCP_OPT_VENDOR_CLASS = 60,
	DHCP_OPT_CLIENT_ID = 61,
	DHCP_OPT_TFTP_SERVER = 66,
	DHCP_OPT_BOOTFILE = 67,
	DHCP_OPT_USER_CLASS = 77,	/* RFC 3004 */
	DHCP_OPT_RELAY_AGENT = 82,	/* RFC 3046 */
	DHCP_OPT_CLIENT_ARCH = 93,	/* RFC 4578 §2.1 */
	DHCP_OPT_CLIENT_NDI = 94,	/* RFC 4578 §2.2 */
	DHCP_OPT_CLIENT_UUID = 97,	/* RFC 4578 §2.3 */
	DHCP_OPT_CLASSLESS_ROUTE = 121, /* RFC 3442 */
	DHCP_OPT_IPXE_ENCAP = 175,	/* iPXE encapsulated options */
	DHCP_OPT_END = 255,
};

/* Option 52 values (RFC 2132 §9.3): which header fields carry more options. */
#define DHCP_OVERLOAD_FILE  1
#define DHCP_OVERLOAD_SNAME 2

/* The fixed BOOTP header. Addresses are in host byte order (198.18.0.1 == 0xc6120001). */
struct dhcp_hdr {
	uint8_t op;
	uint8_t htype;
	uint8_t hlen;
	uint8_t hops;
	uint32_t xid;
	uint16_t secs;
	uint16_t flags;
	uint32_t ciaddr;
	uint32_t yiaddr;
	uint32_t siaddr;
	uint32_t giaddr;
	uint8_t chaddr[DHCP_CHADDR_LEN];
	uint8_t sname[DHCP_SNAME_LEN]; /* raw field (holds options when overloaded) */
	uint8_t file[DHCP_FILE_LEN];   /* raw field (holds options when overloaded) */
};

/* Where an option's data lives; use dhcp_opt() rather than reading this. */
struct dhcp_opt_ref {
	uint16_t off;  /* into the packet, or into scratch */
	uint16_t len;  /* total data length (all instances concatenated) */
	uint8_t where; /* 0 absent, 1 packet, 2 scratch */
	uint8_t count; /* instances seen (saturates at 255) */
};

/* A parsed message. Borrows the packet buffer given to dhcp_parse (option views point into it
 * or into scratch), so the buffer must outlive the struct; the struct itself may be copied. */
struct dhcp_msg {
	struct dhcp_hdr hdr;
	bool bootp;	  /* no magic cookie: plain BOOTP (RFC 951), no options at all */
	uint8_t overload; /* option 52 value, 0 if absent */
	const uint8_t *pkt;
	size_t pkt_len;
	struct dhcp_opt_ref opt[256];
	uint16_t scratch_used;
	uint8_t scratch[DHCP_SCRATCH_LEN];
};

/**
 * Parse one BOOTP/DHCP message (a UDP payload). Borrows buf.
 * Options are indexed by code; several instances of one code are concatenated in the order
 * options field, then file, then sname (RFC 3396 §7, RFC 2131 §4.1) into msg->scratch. Pad (0)
 * is skipped; end (255) ends an area; a missing end is tolerated. Unknown options are kept
 * opaque on purpose.
 * Returns 0, or -EBADMSG (shorter than header + cookie, op not 1/2, hlen > 16, option length
 * past the end of its area, option 52 not exactly one byte of 1..3), -EMSGSIZE (len > 65535),
 * -E2BIG (concatenated options exceed DHCP_SCRATCH_LEN). A message without the magic cookie is
 * plain BOOTP: 0 with msg->bootp set and no options. *msg is written only on success.
 */
int dhcp_parse(const uint8_t *buf, size_t len, struct dhcp_msg *msg);

/** View of option code's data (NULL if absent). *len gets its length; zero-length options are
 * present with a non-NULL pointer. The view borrows from msg and its packet. */
const uint8_t *dhcp_opt(const struct dhcp_msg *msg, uint8_t code, size_t *len);

/** True if option code was present. */
bool dhcp_has_opt(const struct dhcp_msg *msg, uint8_t code);

/** Option 53 (RFC 2132 §9.6): the type 1..255, 0 if absent (BOOTP), -EBADMSG if its length
 * is not exactly 1 or its value is 0. */
int dhcp_msg_type(const struct dhcp_msg *msg);

/** Fixed-length readers: -ENOENT if absent, -EBADMSG unless the option is exactly 1, 2 or 4
 * bytes. Values are converted from network order; *out is written only on success. */
int dhcp_opt_u8(const struct dhcp_msg *msg, uint8_t code, uint8_t *out);
int dhcp_opt_u16(const struct dhcp_msg *msg, uint8_t code, uint16_t *out);
int dhcp_opt_u32(const struct dhcp_msg *msg, uint8_t code, uint32_t *out);
/** An IPv4 address option (50 requested address, 54 server id, ...): exactly 4 bytes
 * (RFC 2132 §9.1, §9.7); host byte order. */
int dhcp_opt_ip(const struct dhcp_msg *msg, uint8_t code, uint32_t *out);

/** Option 57 (RFC 2132 §9.10): exactly 2 bytes and at least 576, else -EBADMSG; -ENOENT if
 * absent. */
int dhcp_opt_max_msg_size(const struct dhcp_msg *msg, uint16_t *out);

/** Option 61 (RFC 2132 §9.14): view of the client identifier, which MUST be at least 2 bytes
 * (type + data); -ENOENT if absent, -EBADMSG if shorter. */
int dhcp_opt_client_id(const struct dhcp_msg *msg, const uint8_t **id, size_t *len);

/**
 * Largest reply (DHCP bytes, without IP/UDP headers) this client accepts: option 57 when valid,
 * else 576 (RFC 2131 §2), capped at mtu when mtu is non-zero, minus 28 bytes of IP/UDP header.
 * Never below DHCP_DEFAULT_MAX_MSG (548).
 */
size_t dhcp_msg_max_reply(const struct dhcp_msg *msg, size_t mtu);

/** The file (resp. sname) header field as a string view (up to the first NUL), or empty when
 * option 52 says the field carries options. Borrows from msg. */
size_t dhcp_msg_file(const struct dhcp_msg *msg, const char **s);
size_t dhcp_msg_sname(const struct dhcp_msg *msg, const char **s);

/* ---- Building messages ---- */

/* Flags for dhcp_rb_add_flags(). */
#define DHCP_RB_IF_REQUESTED 0x01 /* send only if the client's option 55 names it */
#define DHCP_RB_REQUIRED     0x02 /* fail the build (-EMSGSIZE) rather than leave it out */

struct dhcp_rb_entry {
	uint16_t off;
	uint16_t len;
	uint8_t flags;
	bool set;
};

/* Reply (or request) under construction. Set header fields in rb->hdr directly. Copies
 * every option payload it is given, so callers may pass temporaries. */
struct dhcp_reply_builder {
	struct dhcp_hdr hdr;
	bool allow_overload; /* may spill options into unused file/sname (RFC 2131 §4.1) */
	int err;	     /* first error from an add; dhcp_rb_finish returns it */
	uint16_t used;
	uint16_t n;
	uint8_t order[256];
	struct dhcp_rb_entry opt[256];
	uint8_t dropped[32]; /* bitmap: codes the last finish had to leave out */
	uint8_t data[DHCP_RB_DATA_LEN];
};

/** Empty builder: op BOOTREPLY, Ethernet, everything else zero, overload off. */
void dhcp_rb_init(struct dhcp_reply_builder *rb);

/**
 * Builder for a reply to req (RFC 2131 §4.3.1, table 3): copies xid, htype, hlen, flags,
 * giaddr and chaddr from req, and sets option 53 to type. The caller fills yiaddr, siaddr,
 * ciaddr, sname and file as the message needs.
 */
void dhcp_rb_init_reply(struct dhcp_reply_builder *rb, const struct dhcp_msg *req, uint8_t type);

/**
 * Add option code with len bytes of data (copied). len may exceed 255: the option is split into
 * several instances when encoded (RFC 3396 §6). Each code may be added once.
 * Returns 0, -EINVAL (code 0, 52 or 255: the builder writes those itself), -EEXIST (code
 * already added), -ENOSPC (builder data full). An error is also kept in rb->err.
 */
int dhcp_rb_add(struct dhcp_reply_builder *rb, uint8_t code, const void *data, size_t len);
/** dhcp_rb_add with DHCP_RB_* flags. */
int dhcp_rb_add_flags(struct dhcp_reply_builder *rb, uint8_t code, const void *data, size_t len,
		      unsigned flags);
int dhcp_rb_add_u8(struct dhcp_reply_builder *rb, uint8_t code, uint8_t v);
int dhcp_rb_add_u16(struct dhcp_reply_builder *rb, uint8_t code, uint16_t v);
int dhcp_rb_add_u32(struct dhcp_reply_builder *rb, uint8_t code, uint32_t v);
/** An IPv4 address in host byte order. */
int dhcp_rb_add_ip(struct dhcp_reply_builder *rb, uint8_t code, uint32_t addr);
/** A string option, without NUL. */
int dhcp_rb_add_str(struct dhcp_reply_builder *rb, uint8_t code, const char *s);
/** Copy option code from req verbatim if present (0 and nothing added if absent). Used for
 * option 82 (RFC 3046 §2.2) and 97. */
int dhcp_rb_echo(struct dhcp_reply_builder *rb, const struct dhcp_msg *req, uint8_t code);
/** True if code has been added. */
bool dhcp_rb_has(const struct dhcp_reply_builder *rb, uint8_t code);

/**
 * Encode the message into out. Option order: 53, 54, then the added options named in the
 * parameter request list prl (in its order, RFC 2131 §4.3.1), then the other added options in
 * the order added (minus DHCP_RB_IF_REQUESTED ones not in prl), then 82 (RFC 3046 §2.2: last),
 * then end. The message never exceeds min(maxsize, cap) bytes; options that do not fit are left
 * out whole (see dhcp_rb_dropped) unless DHCP_RB_REQUIRED (or 53, 54, 82): then -EMSGSIZE. With
 * rb->allow_overload, when options do not fit and file and/or sname are all zero, they carry the
 * rest (option 52, RFC 2132 §9.3). The result is zero-padded to at least 300 bytes.
 * Returns bytes written, or rb->err, -EINVAL (min(maxsize, cap) < 300), -EMSGSIZE.
 */
int dhcp_rb_finish(struct dhcp_reply_builder *rb, const uint8_t *prl, size_t prl_len,
		   size_t maxsize, uint8_t *out, size_t cap);

/** After dhcp_rb_finish: true if option code was left out for lack of room. */
bool dhcp_rb_dropped(const struct dhcp_reply_builder *rb, uint8_t code);

#endif
