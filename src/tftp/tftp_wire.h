/* TFTP packet codec (RFC 1350, option extension RFC 2347). Sans-I/O: parses views into the
 * caller's buffer, builds into caller buffers, never allocates, logs or reads the clock. */
#ifndef PXED_TFTP_WIRE_H
#define PXED_TFTP_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum tftp_opcode {
	TFTP_RRQ = 1,
	TFTP_WRQ = 2,
	TFTP_DATA = 3,
	TFTP_ACK = 4,
	TFTP_ERROR = 5,
	TFTP_OACK = 6,
};

/* RFC 1350 + RFC 2347 error codes. */
enum tftp_errcode {
	TFTP_ENOTDEFINED = 0,
	TFTP_ENOTFOUND = 1,
	TFTP_EACCESS = 2,
	TFTP_ENOSPACE = 3,
	TFTP_EBADOP = 4,
	TFTP_EBADID = 5,
	TFTP_EEXISTS = 6,
	TFTP_ENOUSER = 7,
	TFTP_EOPTNEG = 8,
};

enum tftp_mode { TFTP_MODE_OCTET, TFTP_MODE_NETASCII, TFTP_MODE_MAIL };

/* Borrowed view into the packet buffer. Not NUL-terminated in general, but for strings parsed
 * from a packet p[len] is the packet's NUL terminator, so p may be used as a C string. */
struct tftp_str {
	const char *p;
	size_t len;
};

#define TFTP_MAX_OPTS 16

struct tftp_opt {
	struct tftp_str name;
	struct tftp_str value;
};

/* RRQ / WRQ. */
struct tftp_req {
	struct tftp_str file;
	struct tftp_str mode_str;
	enum tftp_mode mode;
	size_t nopts;
	struct tftp_opt opts[TFTP_MAX_OPTS];
};

struct tftp_pkt {
	uint16_t op; /* enum tftp_opcode */
	union {
		struct tftp_req req; /* RRQ, WRQ */
		struct {
			uint16_t block;
			const uint8_t *data;
			size_t len;
		} data;
		struct {
			uint16_t block;
		} ack;
		struct {
			uint16_t code;
			struct tftp_str msg;
		} error;
		struct {
			size_t nopts;
			struct tftp_opt opts[TFTP_MAX_OPTS];
		} oack;
	};
};

/**
 * Parse one TFTP packet. Borrows buf: views in *out point into it.
 * Returns 0, or -EBADMSG (malformed: truncated, missing NUL, empty file name, odd option
 * list, trailing garbage after an ERROR message), -EPROTO (unknown opcode or transfer mode),
 * -E2BIG (more than TFTP_MAX_OPTS options). Mode names are case-insensitive. Option
 * names are kept as sent (compare case-insensitively). *out is written only on success.
 */
int tftp_parse(const uint8_t *buf, size_t len, struct tftp_pkt *out);

/** Build an ERROR packet; msg is a C string. Returns bytes used or -ENOSPC. */
int tftp_build_error(uint8_t *buf, size_t cap, uint16_t code, const char *msg);
/** Build an ACK. Returns 4 or -ENOSPC. */
int tftp_build_ack(uint8_t *buf, size_t cap, uint16_t block);
/** Write the 4-byte DATA header (opcode, block) at buf. Returns 4 or -ENOSPC. */
int tftp_build_data_hdr(uint8_t *buf, size_t cap, uint16_t block);
/** Build an OACK from name/value pairs (C strings). Returns bytes used or -ENOSPC. */
int tftp_build_oack(uint8_t *buf, size_t cap, const char *const *names, const char *const *values,
		    size_t n);
/** Build an RRQ or WRQ (for tests and `pxed simulate`). Returns bytes used or -ENOSPC. */
int tftp_build_req(uint8_t *buf, size_t cap, uint16_t op, const char *file, const char *mode,
		   const char *const *names, const char *const *values, size_t n);

/** Human-readable default message for an error code ("File not found", ...). */
const char *tftp_errcode_str(uint16_t code);

/* Additions (tftp codec work). Details of the functions above that their comments leave open:
 *  - tftp_parse leniency: a request or OACK may end in NUL padding (an empty option name
 *    followed only by NUL bytes), as tftp-hpa and dnsmasq tolerate; an option value may be
 *    empty; an ACK longer than 4 bytes is accepted (extra bytes ignored); an ERROR message
 *    missing its final NUL is accepted with msg set to "" (the text cannot be offered as a
 *    NUL-terminated view without copying), and NUL padding after its NUL is accepted. A DATA
 *    payload above 65464 bytes (RFC 2348 maximum) is -EBADMSG.
 *  - Error precedence in a request: -EBADMSG, then -E2BIG, then -EPROTO for the mode.
 *  - tftp_build_error: msg NULL means tftp_errcode_str(code).
 *  - tftp_build_req: mode NULL means "octet"; -EINVAL if op is not RRQ/WRQ or file is empty.
 *  - tftp_build_req / tftp_build_oack: -EINVAL if an option name is empty or NULL, or a value is
 *    NULL (an empty name would read back as padding). names/values may be NULL when n == 0.
 */

/** Case-insensitive (ASCII, locale-free) comparison of a view with a C string. */
bool tftp_str_caseeq(struct tftp_str s, const char *lit);

/** First option whose name equals name case-insensitively, or NULL. Borrows opts. */
const struct tftp_opt *tftp_opt_find(const struct tftp_opt *opts, size_t nopts, const char *name);

#endif
