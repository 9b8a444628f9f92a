/* Unit tests for src/http/http_range.c: Range parsing (RFC 9110 §14.1-14.2), HTTP-dates (§5.6.7),
 * entity tags and the conditional-request decision (§13.2.2). Header values are placed right
 * before a guard page, so reading one byte past a value crashes the test. */
#include <errno.h>
#include <stdint.h>
#include <time.h>

#include "http/http_range.h"
#include "test.h"

#define GIB (1024ull * 1024 * 1024)

/* http_range_parse on a guarded copy of s (without its NUL). */
static enum http_range_result range(const char *s, uint64_t size, struct http_byte_range *out)
{
	void *base;
	size_t map;
	const char *g = guard_copy(s, strlen(s), &base, &map);
	enum http_range_result r = http_range_parse(g, strlen(s), size, out);
	guard_free(base, map);
	return r;
}

/* Expect SATISFIABLE with [first, first + length). */
static void sat(const char *s, uint64_t size, uint64_t first, uint64_t length)
{
	struct http_byte_range r = {77, 77};
	enum http_range_result res = range(s, size, &r);
	CHECK_EQ(res, HTTP_RANGE_SATISFIABLE);
	CHECK_EQ(r.first, first);
	CHECK_EQ(r.length, length);
	if (res != HTTP_RANGE_SATISFIABLE || r.first != first || r.length != length)
		fprintf(stderr, "  range \"%s\" size %llu\n", s, (unsigned long long)size);
}

/* Expect res, and *out untouched. */
static void not_sat(const char *s, uint64_t size, enum http_range_result want)
{
	struct http_byte_range r = {77, 77};
	enum http_range_result res = range(s, size, &r);
	CHECK_EQ(res, want);
	CHECK(r.first == 77 && r.length == 77);
	if (res != want)
		fprintf(stderr, "  range \"%s\" size %llu\n", s, (unsigned long long)size);
}

static void test_range_forms(void)
{
	sat("bytes=0-499", 10000, 0, 500);	/* first 500 bytes (RFC 9110 §14.1.2 example) */
	sat("bytes=500-999", 10000, 500, 500);	/* second 500 */
	sat("bytes=-500", 10000, 9500, 500);	/* final 500 */
	sat("bytes=9500-", 10000, 9500, 500);	/* open-ended */
	sat("bytes=0-0", 10000, 0, 1);		/* first byte */
	sat("bytes=-1", 10000, 9999, 1);	/* last byte */
	sat("bytes=9999-9999", 10000, 9999, 1); /* last byte by position */
	sat("bytes=0-", 1, 0, 1);		/* whole one-byte file */
	sat("bytes=0-99999", 100, 0, 100);	/* last-pos past the end is cut */
	sat("bytes=50-18446744073709551615", 100, 50, 50);
	sat("bytes=0-99999999999999999999999", 100, 0, 100); /* beyond 64 bits */
	sat("bytes=-200", 100, 0, 100);			     /* suffix longer than the file */
	sat("bytes=-99999999999999999999999", 100, 0, 100);
	sat("bytes=000000000000000000000000000001-0000002", 100, 1, 2); /* leading zeros */
}

static void test_range_large_files(void)
{
	uint64_t five = 5 * GIB;
	sat("bytes=5368709020-", five, five - 100, 100); /* 5 GiB - 100 */
	sat("bytes=-100", five, five - 100, 100);
	sat("bytes=4294967295-4294967296", five, 4294967295ull, 2); /* across 4 GiB */
	sat("bytes=0-", five, 0, five);
	not_sat("bytes=5368709120-", five, HTTP_RANGE_UNSATISFIABLE);
	sat("bytes=9223372036854775806-", INT64_MAX, INT64_MAX - 1, 1);
}

static void test_range_unsatisfiable(void)
{
	not_sat("bytes=100-", 100, HTTP_RANGE_UNSATISFIABLE);
	not_sat("bytes=100-200", 100, HTTP_RANGE_UNSATISFIABLE);
	not_sat("bytes=-0", 100, HTTP_RANGE_UNSATISFIABLE);
	not_sat("bytes=0-", 0, HTTP_RANGE_UNSATISFIABLE); /* §14.1.2: first-pos >= length */
	not_sat("bytes=0-0", 0, HTTP_RANGE_UNSATISFIABLE);
	not_sat("bytes=18446744073709551616-", 100, HTTP_RANGE_UNSATISFIABLE);
	not_sat("bytes=-0", 0, HTTP_RANGE_UNSATISFIABLE);
}

static void test_range_ignored(void)
{
	static const char *const bad[] = {
		"",
		" ",
		"bytes",
		"bytes=",
		"bytes= ",
		"bytes=,",
		"bytes=, ,",
		"items=0-1",
		"byte=0-1",
		"bytesx=0-1",
		"bytes 0-1",
		"bytes:0-1",
		"bytes==0-1",
		"bytes=5-4",
		"bytes=a-b",
		"bytes=1",
		"bytes=-",
		"bytes=--1",
		"bytes=0--1",
		"bytes=0-1x",
		"bytes=1-2 3",
		"bytes=0 -1",
		"bytes=0- 1",
		"bytes=+1-2",
		"bytes=0x10-",
		"bytes=0-1;x",
		"bytes=0-1\r\n",
		"bytes=\t",
		"bytes=-1-2",
		"bytes=99999999999999999999999-99999999999999999998", /* last < first, exactly */
		"bytes=18446744073709551616-18446744073709551615",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		not_sat(bad[i], 1000, HTTP_RANGE_IGNORE);
	/* Several ranges: the whole file (no multipart), even when each alone is fine. */
	not_sat("bytes=0-1,2-3", 1000, HTTP_RANGE_IGNORE);
	not_sat("bytes=0-0,-1", 1000, HTTP_RANGE_IGNORE);
	not_sat("bytes=500-600,601-999", 1000, HTTP_RANGE_IGNORE);
	not_sat("bytes=2000-,3000-", 1000, HTTP_RANGE_IGNORE);
	/* A suffix range of an empty file selects the whole, empty, file. */
	not_sat("bytes=-5", 0, HTTP_RANGE_IGNORE);
	/* No Range semantics for anything but the bytes unit. */
	not_sat("none", 1000, HTTP_RANGE_IGNORE);
}

static void test_range_lenient(void)
{
	sat(" bytes=0-1 ", 100, 0, 2); /* OWS around the value */
	sat("\tbytes=0-1\t", 100, 0, 2);
	sat("BYTES=0-1", 100, 0, 2); /* the unit is case-insensitive (§14.1) */
	sat("Bytes=0-1", 100, 0, 2);
	sat("bytes=0-1,", 100, 0, 2); /* empty list elements (§5.6.1.2) */
	sat("bytes=,0-1", 100, 0, 2);
	sat("bytes=, , 0-1 , ,", 100, 0, 2);
	sat("bytes= 0-1", 100, 0, 2);
}

/* Counted bytes: a value may not be NUL-terminated; what follows len is never read. */
static void test_range_counted(void)
{
	struct http_byte_range r;
	CHECK_EQ(http_range_parse("bytes=0-1junk", 9, 100, &r), HTTP_RANGE_SATISFIABLE);
	CHECK_EQ(r.length, 2);
	CHECK_EQ(http_range_parse("bytes=0-19", 9, 100, &r), HTTP_RANGE_SATISFIABLE);
	CHECK_EQ(r.length, 2);
	CHECK_EQ(http_range_parse("bytes=0-1", 0, 100, &r), HTTP_RANGE_IGNORE);
	CHECK_EQ(http_range_parse("bytes=0\0-1", 10, 100, &r), HTTP_RANGE_IGNORE);
}

/* ---- dates ----------------------------------------------------------------------------------- */

static int date(const char *s, int64_t *t)
{
	void *base;
	size_t map;
	const char *g = guard_copy(s, strlen(s), &base, &map);
	int r = http_date_parse(g, strlen(s), t);
	guard_free(base, map);
	return r;
}

static void test_date_parse(void)
{
	int64_t t = 0;
	/* The three formats of RFC 9110 §5.6.7, all the same instant. */
	CHECK_EQ(date("Sun, 06 Nov 1994 08:49:37 GMT", &t), 0);
	CHECK_EQ(t, 784111777);
	t = 0;
	CHECK_EQ(date("Sunday, 06-Nov-94 08:49:37 GMT", &t), 0);
	CHECK_EQ(t, 784111777);
	t = 0;
	CHECK_EQ(date("Sun Nov  6 08:49:37 1994", &t), 0);
	CHECK_EQ(t, 784111777);
	CHECK_EQ(date("Thu Nov 16 08:49:37 1995", &t), 0);
	CHECK_EQ(t, 784111777 + 375 * 86400);
	CHECK_EQ(date(" Sun, 06 Nov 1994 08:49:37 GMT\t", &t), 0); /* surrounding OWS */
	CHECK_EQ(date("Thu, 01 Jan 1970 00:00:00 GMT", &t), 0);
	CHECK_EQ(t, 0);
	CHECK_EQ(date("Thu, 29 Feb 2024 23:59:59 GMT", &t), 0); /* leap day */
	CHECK_EQ(t, 1709251199);
	CHECK_EQ(date("Tue, 29 Feb 2000 00:00:00 GMT", &t), 0); /* 400-year leap */
	CHECK_EQ(t, 951782400);
	CHECK_EQ(date("Fri, 31 Dec 9999 23:59:59 GMT", &t), 0);
	CHECK_EQ(t, 253402300799);
	CHECK_EQ(date("Tuesday, 01-Jan-69 00:00:00 GMT", &t), 0); /* two-digit year 69: 2069 */
	CHECK_EQ(t, 3124224000);
	CHECK_EQ(date("Thursday, 01-Jan-70 00:00:00 GMT", &t), 0); /* 70: 1970 */
	CHECK_EQ(t, 0);
	CHECK_EQ(date("Mon, 06 Nov 1994 08:49:37 GMT", &t), 0); /* wrong day name: accepted */
	CHECK_EQ(date("Sun, 06 Nov 1994 23:59:60 GMT", &t), 0); /* leap second */
}

static void test_date_invalid(void)
{
	static const char *const bad[] = {
		"",
		"Sun, 06 Nov 1994 08:49:37 UTC",
		"Sun, 06 Nov 1994 08:49:37",
		"Sun, 06 Nov 1994 08:49:37 GMTx",
		"Sun, 6 Nov 1994 08:49:37 GMT",
		"Sun,  06 Nov 1994 08:49:37 GMT",
		"Sun, 06 nov 1994 08:49:37 GMT",
		"sun, 06 Nov 1994 08:49:37 GMT",
		"SUN, 06 Nov 1994 08:49:37 GMT",
		"Xyz, 06 Nov 1994 08:49:37 GMT",
		"Sun, 06 Xyz 1994 08:49:37 GMT",
		"Sun, 06 Nov 94 08:49:37 GMT",
		"Sun, 06 Nov 1994 8:49:37 GMT",
		"Sun, 06 Nov 1994 24:00:00 GMT",
		"Sun, 06 Nov 1994 23:60:00 GMT",
		"Sun, 06 Nov 1994 23:59:61 GMT",
		"Sun, 00 Nov 1994 08:49:37 GMT",
		"Sun, 31 Nov 1994 08:49:37 GMT",
		"Wed, 29 Feb 2023 00:00:00 GMT",
		"Mon, 29 Feb 1900 00:00:00 GMT",
		"Sun, 06 Nov 1994 08:49:37 GMT GMT",
		"Sun 06 Nov 1994 08:49:37 GMT",
		"Sunday, 06-Nov-1994 08:49:37 GMT",
		"Sunday, 06 Nov 94 08:49:37 GMT",
		"Sun, 06-Nov-94 08:49:37 GMT",
		"Sun Nov 6 08:49:37 1994",
		"Sun Nov  6 08:49:37 94",
		"Sun Nov  6 08:49:37 1994 GMT",
		"Sunday",
		"Sun",
		"Sun,",
		"1994-11-06T08:49:37Z",
		"784111777",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int64_t t = 77;
		int r = date(bad[i], &t);
		CHECK_EQ(r, -EINVAL);
		CHECK_EQ(t, 77);
		if (r != -EINVAL)
			fprintf(stderr, "  accepted \"%s\"\n", bad[i]);
	}
}

static void test_date_format(void)
{
	char out[HTTP_DATE_LEN + 1];
	CHECK_EQ(http_date_format(784111777, out), 0);
	CHECK_STR(out, "Sun, 06 Nov 1994 08:49:37 GMT");
	CHECK_EQ(http_date_format(0, out), 0);
	CHECK_STR(out, "Thu, 01 Jan 1970 00:00:00 GMT");
	CHECK_EQ(http_date_format(-1, out), 0);
	CHECK_STR(out, "Wed, 31 Dec 1969 23:59:59 GMT");
	CHECK_EQ(http_date_format(253402300799, out), 0);
	CHECK_STR(out, "Fri, 31 Dec 9999 23:59:59 GMT");
	CHECK_EQ(http_date_format(-62135596800, out), 0);
	CHECK_STR(out, "Mon, 01 Jan 0001 00:00:00 GMT");
	memcpy(out, "untouched", 10);
	CHECK_EQ(http_date_format(253402300800, out), -ERANGE);
	CHECK_EQ(http_date_format(-62135596801, out), -ERANGE);
	CHECK_EQ(http_date_format(INT64_MAX, out), -ERANGE);
	CHECK_EQ(http_date_format(INT64_MIN, out), -ERANGE);
	CHECK_STR(out, "untouched");
}

/* Format agrees with gmtime_r and parse inverts it, over 1900..9999 in prime steps. */
static void test_date_roundtrip(void)
{
	int mismatches = 0;
	for (int64_t t = -2208988800; t < 253402300799; t += 7919 * 3607 + 13) {
		char out[HTTP_DATE_LEN + 1], ref[64];
		time_t tt = (time_t)t;
		struct tm tm;
		int64_t back = 0;
		gmtime_r(&tt, &tm);
		strftime(ref, sizeof(ref), "%a, %d %b %Y %H:%M:%S GMT", &tm);
		if (http_date_format(t, out) != 0 || strcmp(out, ref) != 0 ||
		    http_date_parse(out, strlen(out), &back) != 0 || back != t)
			mismatches++;
	}
	CHECK_EQ(mismatches, 0);
}

/* ---- entity tags and conditional requests ------------------------------------------------------ */

static void test_etag_format(void)
{
	char e[HTTP_ETAG_MAX];
	http_etag_format(1, 2, 3, e);
	CHECK_STR(e, "\"1-2-3\"");
	http_etag_format(0xabc, 5 * GIB, 1700000000123456789ull, e);
	CHECK_STR(e, "\"abc-140000000-17979cfe3d85cd15\"");
	http_etag_format(UINT64_MAX, UINT64_MAX, UINT64_MAX, e);
	CHECK_STR(e, "\"ffffffffffffffff-ffffffffffffffff-ffffffffffffffff\"");
}

#define LM   784111777 /* Sun, 06 Nov 1994 08:49:37 GMT */
#define ETAG "\"a-3e8-c\""

static const struct http_entity ent = {1000, LM, ETAG};

/* Decide a GET (get = true) or HEAD with the headers of rq; returns the status. */
static int decide(struct http_cond_request rq, struct http_cond_result *res)
{
	http_cond_decide(&rq, &ent, res);
	return res->status;
}

static void test_cond_plain(void)
{
	struct http_cond_result r;
	CHECK_EQ(decide((struct http_cond_request){.get = true}, &r), 200);
	CHECK(r.first == 0 && r.length == 1000);
	CHECK_EQ(decide((struct http_cond_request){.get = false}, &r), 200);
	CHECK_EQ(decide((struct http_cond_request){.get = true, .range = "bytes=10-19"}, &r), 206);
	CHECK(r.first == 10 && r.length == 10);
	/* §14.2: Range is defined for GET only. */
	CHECK_EQ(decide((struct http_cond_request){.get = false, .range = "bytes=10-19"}, &r), 200);
	CHECK(r.first == 0 && r.length == 1000);
	CHECK_EQ(decide((struct http_cond_request){.get = true, .range = "bytes=1000-"}, &r), 416);
	CHECK(r.first == 0 && r.length == 0);
	CHECK_EQ(decide((struct http_cond_request){.get = true, .range = "bytes=0-1,3-4"}, &r),
		 200);
	CHECK_EQ(decide((struct http_cond_request){.get = true, .range = "junk"}, &r), 200);
}

static void test_cond_none_match(void)
{
	struct http_cond_result r;
	struct http_cond_request rq = {.get = true};
	static const char *const match[] = {ETAG,
					    "*",
					    " * ",
					    ("W/" ETAG),
					    ("\"x\", " ETAG),
					    ("\"x\"," ETAG ",\"y\""),
					    (", " ETAG " ,")};
	static const char *const no[] = {"\"a-3e8-d\"", "\"x\", \"y\"", "a-3e8-c",
					 (ETAG " x"),	"\"a-3e8-c",	"",
					 "**",		("w/" ETAG)};
	for (size_t i = 0; i < sizeof(match) / sizeof(match[0]); i++) {
		rq.if_none_match = match[i];
		CHECK_EQ(decide(rq, &r), 304);
		CHECK(r.length == 0);
	}
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		rq.if_none_match = no[i];
		CHECK_EQ(decide(rq, &r), 200);
	}
	rq.get = false; /* HEAD too */
	rq.if_none_match = ETAG;
	CHECK_EQ(decide(rq, &r), 304);
	/* If-None-Match present: If-Modified-Since is not evaluated (§13.2.2 step 4). */
	rq = (struct http_cond_request){.get = true,
					.if_none_match = "\"other\"",
					.if_modified_since = "Sun, 06 Nov 1994 08:49:37 GMT"};
	CHECK_EQ(decide(rq, &r), 200);
}

static void test_cond_modified_since(void)
{
	struct http_cond_result r;
	struct http_cond_request rq = {.get = true};
	rq.if_modified_since = "Sun, 06 Nov 1994 08:49:37 GMT"; /* equal */
	CHECK_EQ(decide(rq, &r), 304);
	rq.if_modified_since = "Sunday, 06-Nov-94 08:49:38 GMT"; /* later */
	CHECK_EQ(decide(rq, &r), 304);
	rq.if_modified_since = "Sun Nov  6 08:49:36 1994"; /* earlier: modified since */
	CHECK_EQ(decide(rq, &r), 200);
	rq.if_modified_since = "yesterday"; /* invalid: ignored */
	CHECK_EQ(decide(rq, &r), 200);
	rq.range = "bytes=0-9"; /* not modified beats Range */
	rq.if_modified_since = "Sun, 06 Nov 1994 08:49:37 GMT";
	CHECK_EQ(decide(rq, &r), 304);
}

static void test_cond_match(void)
{
	struct http_cond_result r;
	struct http_cond_request rq = {.get = true};
	static const char *const pass[] = {ETAG, "*", ("\"x\", " ETAG)};
	static const char *const fail[] = {("W/" ETAG), "\"x\"", "a-3e8-c", "", (ETAG ";")};
	for (size_t i = 0; i < sizeof(pass) / sizeof(pass[0]); i++) {
		rq.if_match = pass[i];
		CHECK_EQ(decide(rq, &r), 200);
	}
	for (size_t i = 0; i < sizeof(fail) / sizeof(fail[0]); i++) {
		rq.if_match = fail[i];
		CHECK_EQ(decide(rq, &r), 412);
		CHECK(r.length == 0);
	}
	/* If-Match present: If-Unmodified-Since is not evaluated; 412 beats 304. */
	rq = (struct http_cond_request){.get = true,
					.if_match = ETAG,
					.if_unmodified_since = "Thu, 01 Jan 1970 00:00:00 GMT"};
	CHECK_EQ(decide(rq, &r), 200);
	rq = (struct http_cond_request){.get = true, .if_match = "\"x\"", .if_none_match = ETAG};
	CHECK_EQ(decide(rq, &r), 412);
	rq = (struct http_cond_request){.get = true};
	rq.if_unmodified_since = "Sun, 06 Nov 1994 08:49:36 GMT";
	CHECK_EQ(decide(rq, &r), 412);
	rq.if_unmodified_since = "Sun, 06 Nov 1994 08:49:37 GMT";
	CHECK_EQ(decide(rq, &r), 200);
	rq.if_unmodified_since = "garbage";
	CHECK_EQ(decide(rq, &r), 200);
}

static void test_cond_if_range(void)
{
	struct http_cond_result r;
	struct http_cond_request rq = {.get = true, .range = "bytes=100-"};
	static const char *const yes[] = {ETAG, (" " ETAG " "), "Sun, 06 Nov 1994 08:49:37 GMT",
					  "Sunday, 06-Nov-94 08:49:37 GMT"};
	static const char *const no[] = {("W/" ETAG),
					 "\"x\"",
					 (ETAG ", \"x\""),
					 "Sun, 06 Nov 1994 08:49:38 GMT",
					 "Sun, 06 Nov 1994 08:49:36 GMT",
					 "garbage",
					 "",
					 "W/"};
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		rq.if_range = yes[i];
		CHECK_EQ(decide(rq, &r), 206);
		CHECK(r.first == 100 && r.length == 900);
	}
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		rq.if_range = no[i];
		CHECK_EQ(decide(rq, &r), 200);
		CHECK(r.first == 0 && r.length == 1000);
	}
	rq.range = "bytes=5000-"; /* If-Range fails: the whole file, not 416 */
	CHECK_EQ(decide(rq, &r), 200);
	rq.range = NULL; /* If-Range alone changes nothing */
	rq.if_range = ETAG;
	CHECK_EQ(decide(rq, &r), 200);
}

int main(void)
{
	RUN(test_range_forms);
	RUN(test_range_large_files);
	RUN(test_range_unsatisfiable);
	RUN(test_range_ignored);
	RUN(test_range_lenient);
	RUN(test_range_counted);
	RUN(test_date_parse);
	RUN(test_date_invalid);
	RUN(test_date_format);
	RUN(test_date_roundtrip);
	RUN(test_etag_format);
	RUN(test_cond_plain);
	RUN(test_cond_none_match);
	RUN(test_cond_modified_since);
	RUN(test_cond_match);
	RUN(test_cond_if_range);
	return test_summary();
}
