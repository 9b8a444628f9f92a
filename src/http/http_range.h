/* Range and conditional requests for static files, pure: the Range header (RFC 9110 §14), the
 * validators a response carries (strong entity tag §8.8.3, Last-Modified as an HTTP-date
 * §5.6.7) and the evaluation of If-Match, If-Unmodified-Since, If-None-Match,
 * If-Modified-Since and If-Range in the order of §13.2.2. No allocation, logging, clock or I/O:
 * the adapter (http_io.c) passes header values and file metadata in, gets a status and a byte
 * range out. */
#ifndef PXED_HTTP_RANGE_H
#define PXED_HTTP_RANGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What a Range header asks for, once the size of the file is known. */
enum http_range_result {
	HTTP_RANGE_IGNORE,	  /* absent, malformed, several ranges: send the whole file (200) */
	HTTP_RANGE_SATISFIABLE,	  /* one byte range inside the file: 206 */
	HTTP_RANGE_UNSATISFIABLE, /* no byte of the file selected: 416 */
};

/* A byte range of a file: bytes [first, first + length), length >= 1. */
struct http_byte_range {
	uint64_t first;
	uint64_t length;
};

/**
 * Evaluate the Range header value v[0..len) (need not be NUL-terminated) against a file of
 * size bytes. Grammar of RFC 9110 §14.1.1-14.1.2: `bytes=a-b`, `bytes=a-`, `bytes=-n`, unit
 * case-insensitive, OWS around list commas, empty list elements ignored (§5.6.1.2), leading and
 * trailing OWS of the value ignored.
 *  - One range: SATISFIABLE when it selects at least one byte (a last-pos past the end is cut
 *    at the end, a suffix longer than the file is the whole file), UNSATISFIABLE when first-pos
 *    >= size or the suffix length is 0; `bytes=-n` on an empty file is IGNORE (the whole,
 *    empty, file), `bytes=0-` on it is UNSATISFIABLE, as §14.1.2 defines.
 *  - Several ranges: IGNORE (pxed sends no multipart/byteranges; the whole file is always a
 *    valid answer, §14.2).
 *  - Anything malformed (another unit, last-pos < first-pos, a missing number, junk): IGNORE
 *    (§14.2: a server MAY ignore an invalid Range).
 * Numbers of any length are accepted (they saturate; comparisons stay exact).
 * Writes *out only for SATISFIABLE.
 */
enum http_range_result http_range_parse(const char *v, size_t len, uint64_t size,
					struct http_byte_range *out);

#define HTTP_DATE_LEN 29 /* "Sun, 06 Nov 1994 08:49:37 GMT" */

/**
 * Parse an HTTP-date s[0..len) (RFC 9110 §5.6.7): IMF-fixdate ("Sun, 06 Nov 1994 08:49:37
 * GMT"), and the obsolete rfc850-date ("Sunday, 06-Nov-94 08:49:37 GMT"; years 70-99 are 19xx,
 * 00-69 are 20xx) and asctime-date ("Sun Nov  6 08:49:37 1994"). Case-sensitive as the grammar
 * says; the day name must be a real one but need not match the date; second 60 is accepted.
 * Surrounding OWS is ignored. On success writes seconds since the epoch (UTC) into *t and
 * returns 0; else -EINVAL.
 */
int http_date_parse(const char *s, size_t len, int64_t *t);

/**
 * Format t (seconds since the epoch, UTC) as an IMF-fixdate into out (HTTP_DATE_LEN + 1 bytes,
 * NUL-terminated). Returns 0, or -ERANGE when the year is outside 1..9999 (out untouched).
 */
int http_date_format(int64_t t, char out[HTTP_DATE_LEN + 1]);

#define HTTP_ETAG_MAX 56 /* quotes, three 64-bit hex numbers, two dashes, NUL */

/**
 * Write the strong entity tag of a file version, `"INODE-SIZE-MTIME"` in lowercase hex (mtime
 * in nanoseconds since the epoch, modulo 2^64), with its double quotes, into out
 * (HTTP_ETAG_MAX bytes). Any change of content that goes through the file
 * system changes size or mtime; a replaced file (rename over it) also changes the inode.
 */
void http_etag_format(uint64_t ino, uint64_t size, uint64_t mtime_ns, char out[HTTP_ETAG_MAX]);

/* The request headers that decide a static response, each NUL-terminated or NULL when absent. */
struct http_cond_request {
	bool get; /* GET; false for HEAD (Range is defined for GET only, §14.2) */
	const char *range;
	const char *if_match;
	const char *if_none_match;
	const char *if_modified_since;
	const char *if_unmodified_since;
	const char *if_range;
};

/* The file as the response describes it. */
struct http_entity {
	uint64_t size;
	int64_t last_modified; /* seconds; the adapter clamps it to its clock (§8.8.2.1) */
	const char *etag;      /* strong, quoted, from http_etag_format */
};

/* The decision: status 200 (whole file), 206 (range), 304, 412 or 416. For 200 and 206 the
 * body is bytes [first, first + length) of the file (for 200: 0 and size). */
struct http_cond_result {
	int status;
	uint64_t first;
	uint64_t length;
};

/**
 * Decide the answer to a GET or HEAD of an existing file (RFC 9110 §13.2.2 order):
 * 1. If-Match: "*" or a strongly matching tag passes, anything else -> 412 (a malformed list
 *    never matches).
 * 2. else If-Unmodified-Since (valid date): last_modified later than it -> 412.
 * 3. If-None-Match: weak match or "*" -> 304; a malformed list is ignored.
 * 4. else If-Modified-Since (valid date): last_modified not later than it -> 304.
 * 5. GET with Range: If-Range, when present, must match (strong entity tag, or a date equal to
 *    last_modified), else the Range is ignored; then http_range_parse decides 206, 416 or 200.
 * 6. 200.
 */
void http_cond_decide(const struct http_cond_request *rq, const struct http_entity *e,
		      struct http_cond_result *out);

#endif
