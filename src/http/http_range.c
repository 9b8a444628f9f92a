/* Range and conditional requests, HTTP-dates and entity tags; see http_range.h. Every header
 * value is read through a bounded cursor (struct cur); nothing reads past its end. */
#include "http/http_range.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* A read position in a header value: [p, end). */
struct cur {
	const char *p, *end;
};

static struct cur cur_of(const char *s, size_t len)
{
	return (struct cur){s, s + len};
}

static bool is_ows(char c)
{
	return c == ' ' || c == '\t';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool at_end(const struct cur *c)
{
	return c->p >= c->end;
}

static void skip_ows(struct cur *c)
{
	while (c->p < c->end && is_ows(*c->p))
		c->p++;
}

/* Drop leading and trailing OWS. */
static void trim(struct cur *c)
{
	skip_ows(c);
	while (c->end > c->p && is_ows(c->end[-1]))
		c->end--;
}

/* Consume ch if it is next. */
static bool eat(struct cur *c, char ch)
{
	if (c->p < c->end && *c->p == ch) {
		c->p++;
		return true;
	}
	return false;
}

/* Consume the literal s (case-sensitive) if it is next. */
static bool eat_str(struct cur *c, const char *s)
{
	size_t n = strlen(s);
	if ((size_t)(c->end - c->p) < n || memcmp(c->p, s, n) != 0)
		return false;
	c->p += n;
	return true;
}

/* ---- Range (RFC 9110 §14.1) --------------------------------------------------------------- */

/* A decimal number as written: its value (saturated at UINT64_MAX) and its significant digits,
 * so that two numbers compare exactly whatever their length. */
struct num {
	uint64_t v;
	const char *d; /* first significant digit */
	size_t n;      /* number of significant digits (0 for zero) */
};

/* 1*DIGIT; false when no digit is next. */
static bool read_num(struct cur *c, struct num *out)
{
	const char *start = c->p;
	uint64_t v = 0;
	while (c->p < c->end && is_digit(*c->p)) {
		unsigned d = (unsigned)(*c->p - '0');
		v = v > (UINT64_MAX - d) / 10 ? UINT64_MAX : v * 10 + d;
		c->p++;
	}
	if (c->p == start)
		return false;
	const char *s = start;
	while (s < c->p && *s == '0')
		s++;
	*out = (struct num){v, s, (size_t)(c->p - s)};
	return true;
}

/* a < b, exactly. */
static bool num_less(const struct num *a, const struct num *b)
{
	if (a->n != b->n)
		return a->n < b->n;
	return memcmp(a->d, b->d, a->n) < 0;
}

/* One range-spec: int-range (first "-" [last]) or suffix-range ("-" last). */
struct spec {
	bool suffix, has_last;
	struct num first, last;
};

static bool read_spec(struct cur *c, struct spec *s)
{
	memset(s, 0, sizeof(*s));
	if (eat(c, '-')) {
		s->suffix = true;
		return read_num(c, &s->last);
	}
	if (!read_num(c, &s->first) || !eat(c, '-'))
		return false;
	s->has_last = read_num(c, &s->last);
	return true;
}

/* range-unit "=": "bytes", case-insensitive (§14.1). */
static bool eat_bytes_unit(struct cur *c)
{
	static const char unit[] = "bytes";
	if ((size_t)(c->end - c->p) < sizeof(unit) - 1)
		return false;
	for (size_t i = 0; i < sizeof(unit) - 1; i++) {
		if ((c->p[i] | 0x20) != unit[i])
			return false;
	}
	c->p += sizeof(unit) - 1;
	return eat(c, '=');
}

/* Apply one range-spec to a file of size bytes (§14.1.2). */
static enum http_range_result eval_spec(const struct spec *s, uint64_t size,
					struct http_byte_range *out)
{
	if (s->suffix) {
		if (s->last.v == 0)
			return HTTP_RANGE_UNSATISFIABLE;
		if (size == 0)
			return HTTP_RANGE_IGNORE;
		uint64_t n = s->last.v < size ? s->last.v : size;
		*out = (struct http_byte_range){size - n, n};
		return HTTP_RANGE_SATISFIABLE;
	}
	if (s->has_last && num_less(&s->last, &s->first))
		return HTTP_RANGE_IGNORE; /* invalid: last-pos < first-pos */
	if (s->first.v >= size)
		return HTTP_RANGE_UNSATISFIABLE;
	uint64_t last = s->has_last && s->last.v < size - 1 ? s->last.v : size - 1;
	*out = (struct http_byte_range){s->first.v, last - s->first.v + 1};
	return HTTP_RANGE_SATISFIABLE;
}

enum http_range_result http_range_parse(const char *v, size_t len, uint64_t size,
					struct http_byte_range *out)
{
	struct cur c = cur_of(v, len);
	struct spec s;
	size_t n = 0;
	trim(&c);
	if (!eat_bytes_unit(&c))
		return HTTP_RANGE_IGNORE;
	while (!at_end(&c)) {
		skip_ows(&c);
		if (eat(&c, ','))
			continue; /* empty list element */
		if (!read_spec(&c, &s) || ++n > 1)
			return HTTP_RANGE_IGNORE; /* malformed, or several ranges */
		skip_ows(&c);
		if (!at_end(&c) && !eat(&c, ','))
			return HTTP_RANGE_IGNORE;
	}
	if (n == 0)
		return HTTP_RANGE_IGNORE;
	return eval_spec(&s, size, out);
}

/* ---- HTTP-date (RFC 9110 §5.6.7) ------------------------------------------------------------ */

static const char *const day_short[7] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
static const char *const day_long[7] = {"Monday", "Tuesday",  "Wednesday", "Thursday",
					"Friday", "Saturday", "Sunday"};
static const char *const month_names[12] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* Index of the name of list[0..n) that is next (consumed), or -1. */
static int eat_name(struct cur *c, const char *const *list, int n)
{
	for (int i = 0; i < n; i++) {
		if (eat_str(c, list[i]))
			return i;
	}
	return -1;
}

/* Exactly n digits. */
static bool read_digits(struct cur *c, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (at_end(c) || !is_digit(*c->p))
			return false;
		v = v * 10 + (*c->p++ - '0');
	}
	*out = v;
	return true;
}

/* A broken-down UTC time as the three formats give it. */
struct tm_utc {
	int year, mon, day, hour, min, sec; /* mon 0..11 */
};

/* time-of-day = hour ":" minute ":" second */
static bool read_time(struct cur *c, struct tm_utc *tm)
{
	return read_digits(c, 2, &tm->hour) && eat(c, ':') && read_digits(c, 2, &tm->min) &&
	       eat(c, ':') && read_digits(c, 2, &tm->sec);
}

static bool is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int64_t y, int mon)
{
	static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	return days[mon] + (mon == 1 && is_leap(y));
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int mon, int day)
{
	int m = mon + 1;
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + day - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* The inverse: date of a day number. */
static void civil_from_days(int64_t z, int64_t *y, int *mon, int *day)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*day = (int)(doy - (153 * mp + 2) / 5 + 1);
	int m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (m <= 2);
	*mon = m - 1;
}

/* IMF-fixdate after "Sun,": SP 2DIGIT SP month SP 4DIGIT SP time SP "GMT" */
static bool read_imf(struct cur *c, struct tm_utc *tm)
{
	return eat(c, ' ') && read_digits(c, 2, &tm->day) && eat(c, ' ') &&
	       (tm->mon = eat_name(c, month_names, 12)) >= 0 && eat(c, ' ') &&
	       read_digits(c, 4, &tm->year) && eat(c, ' ') && read_time(c, tm) &&
	       eat_str(c, " GMT");
}

/* rfc850-date after "Sunday,": SP 2DIGIT "-" month "-" 2DIGIT SP time SP "GMT" */
static bool read_rfc850(struct cur *c, struct tm_utc *tm)
{
	if (!(eat(c, ' ') && read_digits(c, 2, &tm->day) && eat(c, '-') &&
	      (tm->mon = eat_name(c, month_names, 12)) >= 0 && eat(c, '-') &&
	      read_digits(c, 2, &tm->year) && eat(c, ' ') && read_time(c, tm) &&
	      eat_str(c, " GMT")))
		return false;
	tm->year += tm->year >= 70 ? 1900 : 2000;
	return true;
}

/* asctime-date after "Sun": SP month SP ( 2DIGIT / ( SP DIGIT ) ) SP time SP 4DIGIT */
static bool read_asctime(struct cur *c, struct tm_utc *tm)
{
	if (!eat(c, ' ') || (tm->mon = eat_name(c, month_names, 12)) < 0 || !eat(c, ' '))
		return false;
	if (eat(c, ' ')) {
		if (!read_digits(c, 1, &tm->day))
			return false;
	} else if (!read_digits(c, 2, &tm->day)) {
		return false;
	}
	return eat(c, ' ') && read_time(c, tm) && eat(c, ' ') && read_digits(c, 4, &tm->year);
}

int http_date_parse(const char *s, size_t len, int64_t *t)
{
	struct cur c = cur_of(s, len);
	struct tm_utc tm = {0};
	bool ok;
	trim(&c);
	struct cur start = c;
	if (eat_name(&c, day_short, 7) >= 0 && !at_end(&c) && (*c.p == ',' || *c.p == ' ')) {
		ok = eat(&c, ',') ? read_imf(&c, &tm) : read_asctime(&c, &tm);
	} else {
		c = start;
		ok = eat_name(&c, day_long, 7) >= 0 && eat(&c, ',') && read_rfc850(&c, &tm);
	}
	if (!ok || !at_end(&c) || tm.day < 1 || tm.day > days_in_month(tm.year, tm.mon) ||
	    tm.hour > 23 || tm.min > 59 || tm.sec > 60)
		return -EINVAL;
	*t = days_from_civil(tm.year, tm.mon, tm.day) * 86400 + tm.hour * 3600 + tm.min * 60 +
	     tm.sec;
	return 0;
}

/* Write v as exactly n decimal digits. */
static char *put_digits(char *p, int64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--) {
		p[i] = (char)('0' + v % 10);
		v /= 10;
	}
	return p + n;
}

int http_date_format(int64_t t, char out[HTTP_DATE_LEN + 1])
{
	int64_t days = t / 86400, secs = t % 86400, y;
	int mon, day;
	if (secs < 0) {
		secs += 86400;
		days--;
	}
	civil_from_days(days, &y, &mon, &day);
	if (y < 1 || y > 9999)
		return -ERANGE;
	int wday = (int)(((days % 7) + 7 + 3) % 7); /* 1970-01-01 was a Thursday (index 3) */
	char *p = out;
	memcpy(p, day_short[wday], 3);
	p += 3;
	*p++ = ',';
	*p++ = ' ';
	p = put_digits(p, day, 2);
	*p++ = ' ';
	memcpy(p, month_names[mon], 3);
	p += 3;
	*p++ = ' ';
	p = put_digits(p, y, 4);
	*p++ = ' ';
	p = put_digits(p, secs / 3600, 2);
	*p++ = ':';
	p = put_digits(p, secs / 60 % 60, 2);
	*p++ = ':';
	p = put_digits(p, secs % 60, 2);
	memcpy(p, " GMT", 5);
	return 0;
}

/* ---- entity tags (RFC 9110 §8.8.3) ---------------------------------------------------------- */

void http_etag_format(uint64_t ino, uint64_t size, uint64_t mtime_ns, char out[HTTP_ETAG_MAX])
{
	snprintf(out, HTTP_ETAG_MAX, "\"%llx-%llx-%llx\"", (unsigned long long)ino,
		 (unsigned long long)size, (unsigned long long)mtime_ns);
}

/* entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE; etagc = %x21 / %x23-7E / obs-text. The opaque tag
 * (with its quotes) is returned as a view. */
static bool read_etag(struct cur *c, bool *weak, const char **tag, size_t *n)
{
	*weak = eat_str(c, "W/");
	const char *s = c->p;
	if (!eat(c, '"'))
		return false;
	while (c->p < c->end && *c->p != '"') {
		unsigned char ch = (unsigned char)*c->p;
		if (ch < 0x21 || ch == 0x7f)
			return false;
		c->p++;
	}
	if (!eat(c, '"'))
		return false;
	*tag = s;
	*n = (size_t)(c->p - s);
	return true;
}

/* Does the list ("*" or #entity-tag) match etag (strong, quoted)? Strong comparison refuses
 * weak tags (§8.8.3.2). 1 yes, 0 no, -1 malformed or empty. */
static int etag_list_match(const char *list, const char *etag, bool strong)
{
	struct cur c = cur_of(list, strlen(list));
	size_t elen = strlen(etag);
	int match = 0;
	bool any = false;
	trim(&c);
	if (c.end - c.p == 1 && *c.p == '*')
		return 1;
	while (!at_end(&c)) {
		bool weak;
		const char *tag;
		size_t n;
		skip_ows(&c);
		if (eat(&c, ','))
			continue;
		if (!read_etag(&c, &weak, &tag, &n))
			return -1;
		any = true;
		if (!(strong && weak) && n == elen && memcmp(tag, etag, n) == 0)
			match = 1;
		skip_ows(&c);
		if (!at_end(&c) && !eat(&c, ','))
			return -1;
	}
	return any ? match : -1;
}

/* If-Range = entity-tag / HTTP-date (§13.1.5): strong tag match, or exactly Last-Modified. */
static bool if_range_matches(const char *v, const struct http_entity *e)
{
	struct cur c = cur_of(v, strlen(v));
	bool weak;
	const char *tag;
	size_t n;
	int64_t t;
	trim(&c);
	if (c.p < c.end && (*c.p == '"' || (c.end - c.p >= 2 && c.p[0] == 'W' && c.p[1] == '/')))
		return read_etag(&c, &weak, &tag, &n) && at_end(&c) && !weak &&
		       n == strlen(e->etag) && memcmp(tag, e->etag, n) == 0;
	return http_date_parse(c.p, (size_t)(c.end - c.p), &t) == 0 && t == e->last_modified;
}

/* A date header value that parses (invalid dates are ignored, §13.1.3, §13.1.4). */
static bool date_of(const char *v, int64_t *t)
{
	return v && http_date_parse(v, strlen(v), t) == 0;
}

void http_cond_decide(const struct http_cond_request *rq, const struct http_entity *e,
		      struct http_cond_result *out)
{
	struct http_cond_result res = {200, 0, e->size};
	struct http_byte_range r;
	int64_t t;
	if (rq->if_match) {
		if (etag_list_match(rq->if_match, e->etag, true) != 1)
			res = (struct http_cond_result){412, 0, 0};
	} else if (date_of(rq->if_unmodified_since, &t) && e->last_modified > t) {
		res = (struct http_cond_result){412, 0, 0};
	}
	if (res.status == 200 && rq->if_none_match) {
		if (etag_list_match(rq->if_none_match, e->etag, false) == 1)
			res = (struct http_cond_result){304, 0, 0};
	} else if (res.status == 200 && date_of(rq->if_modified_since, &t) &&
		   e->last_modified <= t) {
		res = (struct http_cond_result){304, 0, 0};
	}
	if (res.status == 200 && rq->get && rq->range &&
	    (!rq->if_range || if_range_matches(rq->if_range, e))) {
		switch (http_range_parse(rq->range, strlen(rq->range), e->size, &r)) {
		case HTTP_RANGE_SATISFIABLE:
			res = (struct http_cond_result){206, r.first, r.length};
			break;
		case HTTP_RANGE_UNSATISFIABLE: res = (struct http_cond_result){416, 0, 0}; break;
		case HTTP_RANGE_IGNORE: break;
		}
	}
	*out = res;
}
