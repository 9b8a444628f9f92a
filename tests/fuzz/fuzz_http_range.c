/* Fuzz the pure HTTP range/conditional module (src/http/http_range.c). Input: byte 0 = flags
 * (bit 0: GET instead of HEAD; bits 1-6: which of Range, If-Match, If-None-Match,
 * If-Modified-Since, If-Unmodified-Since, If-Range are present), bytes 1-8 = file size (little
 * endian, masked to 0..INT64_MAX), then header values separated by '\n' in that order.
 *
 * Checked with abort():
 *  - http_range_parse on each value as counted bytes (exact-size copies: ASan sees over-reads):
 *    a satisfiable range is non-empty and inside the file, and "bytes=FIRST-LAST" built from it
 *    parses to the same range; a result is the same with OWS added around the value.
 *  - http_date_parse: a parsed time formats (when in 1..9999) to 29 bytes that parse back to it.
 *  - http_cond_decide: status is one of 200 206 304 412 416; 200 is the whole file, 206 a
 *    non-empty range inside it (never for HEAD), others carry no body; the same decision when
 *    the values are parsed again (determinism).
 *  - http_etag_format: quoted, NUL-terminated inside HTTP_ETAG_MAX. */
#include "http/http_range.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NVALUES 6

static void check_range(const char *v, size_t len, uint64_t size)
{
	struct http_byte_range r = {0, 0}, again;
	char *copy = malloc(len ? len : 1), *padded = malloc(len + 2), rebuilt[64];
	memcpy(copy, v, len);
	enum http_range_result res = http_range_parse(copy, len, size, &r);
	padded[0] = ' ';
	memcpy(padded + 1, v, len);
	padded[len + 1] = '\t';
	if (http_range_parse(padded, len + 2, size, &again) != res)
		abort();
	if (res == HTTP_RANGE_SATISFIABLE) {
		if (r.length == 0 || r.first >= size || r.length > size - r.first)
			abort();
		int n = snprintf(rebuilt, sizeof(rebuilt), "bytes=%llu-%llu",
				 (unsigned long long)r.first,
				 (unsigned long long)(r.first + r.length - 1));
		if (http_range_parse(rebuilt, (size_t)n, size, &again) != HTTP_RANGE_SATISFIABLE ||
		    again.first != r.first || again.length != r.length)
			abort();
	} else if (res != HTTP_RANGE_IGNORE && res != HTTP_RANGE_UNSATISFIABLE) {
		abort();
	}
	free(copy);
	free(padded);
}

static void check_date(const char *v, size_t len)
{
	char *copy = malloc(len ? len : 1), out[HTTP_DATE_LEN + 1];
	int64_t t, back;
	memcpy(copy, v, len);
	if (http_date_parse(copy, len, &t) == 0 && http_date_format(t, out) == 0) {
		if (strlen(out) != HTTP_DATE_LEN ||
		    http_date_parse(out, HTTP_DATE_LEN, &back) != 0 || back != t)
			abort();
	}
	free(copy);
}

static void check_decision(const struct http_cond_request *rq, const struct http_entity *e)
{
	struct http_cond_result r, again;
	http_cond_decide(rq, e, &r);
	http_cond_decide(rq, e, &again);
	if (r.status != again.status || r.first != again.first || r.length != again.length)
		abort();
	switch (r.status) {
	case 200:
		if (r.first != 0 || r.length != e->size)
			abort();
		break;
	case 206:
		if (!rq->get || r.length == 0 || r.first >= e->size || r.length > e->size - r.first)
			abort();
		break;
	case 416:
		if (!rq->get)
			abort();
		/* fall through */
	case 304:
	case 412:
		if (r.first != 0 || r.length != 0)
			abort();
		break;
	default: abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *vals[NVALUES] = {0};
	uint64_t fsize = 0;
	if (size < 9)
		return 0;
	for (int i = 0; i < 8; i++)
		fsize |= (uint64_t)data[1 + i] << (8 * i);
	fsize &= INT64_MAX;
	const char *p = (const char *)data + 9, *end = (const char *)data + size;
	for (int i = 0; i < NVALUES && p <= end; i++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		check_range(p, n, fsize);
		check_date(p, n);
		if (data[0] & (2u << i)) {
			vals[i] = malloc(n + 1);
			memcpy(vals[i], p, n);
			vals[i][n] = '\0'; /* a NUL inside ends the C string early: fine */
		}
		p += n + 1;
	}

	char etag[HTTP_ETAG_MAX];
	http_etag_format(fsize, fsize * 3, fsize ^ 0x5a5a5a5a5a5a5a5aull, etag);
	size_t elen = strlen(etag);
	if (elen < 7 || elen >= HTTP_ETAG_MAX || etag[0] != '"' || etag[elen - 1] != '"')
		abort();
	struct http_entity e = {fsize, (int64_t)(fsize % 400000000000ull) - 100000000000, etag};
	struct http_cond_request rq = {
		.get = data[0] & 1,
		.range = vals[0],
		.if_match = vals[1],
		.if_none_match = vals[2],
		.if_modified_since = vals[3],
		.if_unmodified_since = vals[4],
		.if_range = vals[5],
	};
	check_decision(&rq, &e);
	/* The entity's own validators always match themselves. */
	rq.if_none_match = etag;
	rq.if_match = NULL;
	rq.if_unmodified_since = NULL;
	struct http_cond_result r;
	http_cond_decide(&rq, &e, &r);
	if (r.status != 304)
		abort();
	for (int i = 0; i < NVALUES; i++)
		free(vals[i]);
	return 0;
}
