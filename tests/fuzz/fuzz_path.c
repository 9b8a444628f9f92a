/* Fuzz path_confine. Input: byte 0 = flags (bit 0 PATH_URL_DECODE, bit 1 PATH_BACKSLASH, bit 7
 * adds an unknown flag bit), byte 1 = root prefix choice (bits 0-1) and a small output cap
 * (bits 2-7), the rest is the untrusted path.
 *
 * Checked with abort(): the result is a normal-form relative path (no "..", "." or empty
 * component, no leading or trailing '/', no "//", no control byte, no NUL before its end, length
 * equals strlen and the return value, components <= NAME_MAX, shorter than PATH_MAX); it equals
 * what a simple reference implementation computes; confining it again changes nothing; the
 * output buffer is untouched on failure; a small cap gives the same result or -ENAMETOOLONG. */
#include "core/path.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define OUT_CAP (2 * PATH_MAX)
#define FILL	0x5a

static const char *const prefixes[] = {NULL, "/srv/tftp", "/srv/tftp/", "/"};

static int hexval(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (uint8_t)(c | 0x20);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Reference decoding into dec (size >= len): returns decoded length or -1. */
static long ref_decode(const uint8_t *raw, size_t len, unsigned flags, uint8_t *dec)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++) {
		uint8_t b = raw[i];
		if (b == '%' && (flags & PATH_URL_DECODE)) {
			if (i + 2 >= len || hexval(raw[i + 1]) < 0 || hexval(raw[i + 2]) < 0)
				return -1;
			b = (uint8_t)(hexval(raw[i + 1]) * 16 + hexval(raw[i + 2]));
			i += 2;
			if (b == '/' || (b == '\\' && (flags & PATH_BACKSLASH)))
				return -1;
		} else if (b == '\\' && (flags & PATH_BACKSLASH)) {
			b = '/';
		}
		if (b < 0x20 || b == 0x7f)
			return -1;
		dec[n++] = b;
	}
	return (long)n;
}

/* Reference path_confine: decode all, strip prefix, split, join. Returns length or -1. */
static long ref_confine(const uint8_t *raw, size_t len, unsigned flags, const char *prefix,
			char *out)
{
	uint8_t *d = malloc(len + 1);
	long dl = ref_decode(raw, len, flags, d);
	size_t start = 0, o = 0;
	if (dl < 0)
		goto fail;
	size_t plen = prefix ? strlen(prefix) : 0;
	while (plen && prefix[plen - 1] == '/')
		plen--;
	if (plen && (size_t)dl >= plen && !memcmp(d, prefix, plen) &&
	    ((size_t)dl == plen || d[plen] == '/'))
		start = plen;
	for (size_t i = start; i <= (size_t)dl;) {
		size_t j = i;
		while (j < (size_t)dl && d[j] != '/')
			j++;
		size_t n = j - i;
		if (n > NAME_MAX || (n == 2 && d[i] == '.' && d[i + 1] == '.'))
			goto fail;
		if (n > 0 && !(n == 1 && d[i] == '.')) {
			if (o)
				out[o++] = '/';
			memcpy(out + o, d + i, n);
			o += n;
		}
		i = j + 1;
	}
	free(d);
	if (o == 0 || o >= PATH_MAX)
		return -1;
	out[o] = '\0';
	return (long)o;
fail:
	free(d);
	return -1;
}

/* Abort unless out[0..r) is a path in normal form. */
static void check_normal_form(const char *out, int r, unsigned flags)
{
	if (r <= 0 || r >= PATH_MAX || strlen(out) != (size_t)r)
		abort();
	if (out[0] == '/' || out[r - 1] == '/' || strstr(out, "//"))
		abort();
	for (const char *p = out;;) {
		size_t n = strcspn(p, "/");
		if (n == 0 || n > NAME_MAX || (n == 1 && p[0] == '.') ||
		    (n == 2 && p[0] == '.' && p[1] == '.'))
			abort();
		for (size_t i = 0; i < n; i++) {
			unsigned char c = (unsigned char)p[i];
			if (c < 0x20 || c == 0x7f)
				abort();
			if (c == '\\' && (flags & PATH_BACKSLASH) && !(flags & PATH_URL_DECODE))
				abort();
		}
		if (!p[n])
			break;
		p += n + 1;
	}
}

static bool untouched(const char *buf, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)buf[i] != FILL)
			return false;
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char out[OUT_CAP], again[OUT_CAP];
	if (size < 2)
		return 0;
	unsigned flags = data[0] & 3u;
	bool unknown = data[0] & 0x80;
	const char *prefix = prefixes[data[1] & 3];
	size_t small_cap = data[1] >> 2;
	const char *raw = (const char *)data + 2;
	size_t len = size - 2;

	memset(out, FILL, sizeof(out));
	int r = path_confine(raw, len, flags | (unknown ? 0x40u : 0), prefix, out, sizeof(out));
	if (unknown) {
		if (r != -EINVAL || !untouched(out, sizeof(out)))
			abort();
		return 0;
	}
	if (r < 0) {
		if ((r != -EINVAL && r != -EACCES && r != -ENOENT && r != -ENAMETOOLONG) ||
		    !untouched(out, sizeof(out)))
			abort();
	} else {
		check_normal_form(out, r, flags);
		if ((unsigned char)out[r + 1] != FILL) /* nothing written past the NUL */
			abort();
		memset(again, FILL, sizeof(again));
		if (path_confine(out, (size_t)r, 0, NULL, again, sizeof(again)) != r ||
		    strcmp(out, again) != 0)
			abort();
	}

	char *ref = malloc(len + 1); /* the reference joins before checking PATH_MAX */
	long want = ref_confine(data + 2, len, flags, prefix, ref);
	if ((want < 0) != (r < 0) || (r >= 0 && (want != r || strcmp(ref, out) != 0)))
		abort();
	free(ref);

	char small[64];
	memset(small, FILL, sizeof(small));
	int s = path_confine(raw, len, flags, prefix, small, small_cap);
	if (r >= 0 && (size_t)r < small_cap) {
		if (s != r || memcmp(small, out, (size_t)r + 1) != 0)
			abort();
	} else if (r >= 0) {
		if (s != -ENAMETOOLONG || !untouched(small, sizeof(small)))
			abort();
	} else if (s != r || !untouched(small, sizeof(small))) {
		abort();
	}
	return 0;
}
