/* Fuzz config_mounts_parse (src/core/config.c), the profile `mounts` value
 * "DIR:MOUNTPOINT[:ro|rw], ...". Input: byte 0 = a small capacity (bits 0-4), the rest is the
 * value (an exact-size NUL-terminated copy; a NUL inside ends it early).
 *
 * Checked with abort(): the result is -1 with a reason, or a count <= CONFIG_MAX_MOUNTS, the
 * same with out NULL, with a smaller cap (which fills a prefix and leaves the rest of out
 * untouched) and when parsed again; every filled entry's dir and mountpoint start with '/',
 * fit their fields, and hold no blank, control byte, ':' ',' or "/.." (they go into fstab and
 * exports lines); the entries written back as "dir:mp:ro|rw, ..." (and without ":ro") parse to
 * the same entries. */
#include "core/config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FILL 0x5a

static void check_path(const char *s, size_t field)
{
	size_t n = strnlen(s, field);
	if (n == field || s[0] != '/' || strstr(s, "/.."))
		abort();
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= ' ' || c == 0x7f || c == ':' || c == ',')
			abort();
	}
}

static bool same(const struct config_mount *a, const struct config_mount *b, int n)
{
	for (int i = 0; i < n; i++)
		if (strcmp(a[i].dir, b[i].dir) || strcmp(a[i].mountpoint, b[i].mountpoint) ||
		    a[i].rw != b[i].rw)
			return false;
	return true;
}

static bool untouched(const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		if (b[i] != FILL)
			return false;
	return true;
}

static int parse(const char *s, struct config_mount *out, size_t cap)
{
	const char *why = NULL;
	int n = config_mounts_parse(s, out, cap, &why);
	if (n < 0 && (n != -1 || !why || !why[0]))
		abort();
	if (n > CONFIG_MAX_MOUNTS)
		abort();
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct config_mount m[CONFIG_MAX_MOUNTS], again[CONFIG_MAX_MOUNTS],
		small[CONFIG_MAX_MOUNTS];
	static char text[CONFIG_MAX_MOUNTS * 512 + 64];
	if (size < 1)
		return 0;
	size_t cap = data[0] % (CONFIG_MAX_MOUNTS + 1);
	char *s = malloc(size);
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';

	memset(m, FILL, sizeof(m));
	int n = parse(s, m, CONFIG_MAX_MOUNTS);
	if (parse(s, NULL, 0) != n || parse(s, again, CONFIG_MAX_MOUNTS) != n ||
	    (n > 0 && !same(m, again, n)))
		abort();
	memset(small, FILL, sizeof(small));
	if (parse(s, small, cap) != n)
		abort();
	if (n >= 0) {
		size_t filled = (size_t)n < cap ? (size_t)n : cap;
		if (!same(m, small, (int)filled) ||
		    !untouched(small + filled, (CONFIG_MAX_MOUNTS - filled) * sizeof(*small)) ||
		    !untouched(m + n, (CONFIG_MAX_MOUNTS - (size_t)n) * sizeof(*m)))
			abort();
	}
	free(s);
	if (n <= 0)
		return 0;

	for (int i = 0; i < n; i++) {
		check_path(m[i].dir, sizeof(m[i].dir));
		check_path(m[i].mountpoint, sizeof(m[i].mountpoint));
	}
	for (int form = 0; form < 2; form++) {
		size_t o = 0;
		for (int i = 0; i < n; i++) {
			const char *mode = m[i].rw ? ":rw" : form ? "" : ":ro";
			o += (size_t)snprintf(text + o, sizeof(text) - o, "%s%s:%s%s",
					      i ? (form ? ",\t" : ", ") : "", m[i].dir,
					      m[i].mountpoint, mode);
		}
		memset(again, FILL, sizeof(again));
		if (parse(text, again, CONFIG_MAX_MOUNTS) != n || !same(m, again, n))
			abort();
	}
	return 0;
}
