/* TFTP option negotiation (RFC 2347 OACK, 2348 blksize, 2349 timeout/tsize, 7440 windowsize).
 * Pure: request options + server limits + file size in, accepted values out. */
#ifndef PXED_TFTP_OPTS_H
#define PXED_TFTP_OPTS_H

#include <stdbool.h>
#include <stdint.h>

#include "tftp/tftp_wire.h"

#define TFTP_BLKSIZE_DEFAULT 512
#define TFTP_BLKSIZE_MIN     8
#define TFTP_BLKSIZE_MAX     65464
#define TFTP_WINDOWSIZE_MAX  65535
#define TFTP_TIMEOUT_MIN     1
#define TFTP_TIMEOUT_MAX     255

/* Server-side limits the negotiation clamps to. */
struct tftp_limits {
	uint16_t blksize_max;	 /* 8..65464: config and/or path MTU - 32 */
	uint16_t windowsize_max; /* 1..65535 */
};

/* What the OACK carries; has_* false means the option is absent from the OACK. */
struct tftp_negotiated {
	bool has_blksize;
	uint16_t blksize; /* effective value: 512 when not negotiated */
	bool has_tsize;
	uint64_t tsize;
	bool has_timeout;
	uint8_t timeout; /* seconds, 1..255 */
	bool has_windowsize;
	uint16_t windowsize; /* effective value: 1 when not negotiated */
};

/**
 * Negotiate the options of an RRQ or WRQ (is_write). Unknown options are ignored (RFC 2347).
 * Values that do not parse as plain decimal numbers, or are out of the RFC range (blksize < 8,
 * timeout outside 1..255, windowsize 0), drop that option from the OACK, as RFC 2347 allows.
 * blksize and windowsize above the limits are clamped down. For a read, tsize is answered with
 * file_size when file_size_known; for a write the client's tsize is echoed.
 * Duplicate options: the first wins. Always succeeds; returns the number of options accepted
 * (0 means: send no OACK, start the plain RFC 1350 transfer).
 */
int tftp_negotiate(const struct tftp_req *req, bool is_write, const struct tftp_limits *lim,
		   uint64_t file_size, bool file_size_known, struct tftp_negotiated *out);

/** Encode the OACK for *n. Returns bytes used or -ENOSPC. */
int tftp_build_oack_negotiated(uint8_t *buf, size_t cap, const struct tftp_negotiated *n);

/** Format the negotiated options for log lines: "blksize=1468 windowsize=4 tsize=123" or
 * "-" when none. Returns out. */
char *tftp_negotiated_str(const struct tftp_negotiated *n, char *out, size_t cap);

/* Additions (tftp codec work). Details the comments above leave open:
 *  - tftp_negotiate: lim may be NULL (RFC maxima); limits outside their ranges are clamped
 *    into them. A refused first occurrence of an option still hides later duplicates. A
 *    netascii read's tsize is not answered (the size on the wire is not the file size). When
 *    not negotiated: blksize 512, windowsize 1, timeout 0 (use the adapter's default), tsize 0.
 *  - OACK and tftp_negotiated_str order: blksize, windowsize, timeout, tsize. The string is
 *    truncated (always NUL-terminated when cap > 0) if out is too small.
 */

/** A buffer this large always holds tftp_negotiated_str's full output (70 bytes at most). */
#define TFTP_NEGOTIATED_STR_MAX 80

/**
 * Parse s[0..len) as a plain decimal number: digits only, no sign, no spaces, no locale,
 * leading zeros allowed. Returns 0, -EINVAL (empty or not a digit) or -ERANGE (above
 * UINT64_MAX). *out is written only on success.
 */
int tftp_parse_u64(const char *s, size_t len, uint64_t *out);

#endif
