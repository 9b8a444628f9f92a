/* str_escape: see escape.h. */
#include "core/escape.h"

#include <stdio.h>
#include <string.h>

/* Render one byte; returns the length written into tmp (at most 4). */
static size_t escape_one(unsigned char c, char tmp[5])
{
	switch (c) {
	case '\\': return (size_t)snprintf(tmp, 5, "\\\\");
	case '"': return (size_t)snprintf(tmp, 5, "\\\"");
	case '\n': return (size_t)snprintf(tmp, 5, "\\n");
	case '\r': return (size_t)snprintf(tmp, 5, "\\r");
	case '\t': return (size_t)snprintf(tmp, 5, "\\t");
	default: break;
	}
	if (c >= 0x20 && c < 0x7f) {
		tmp[0] = (char)c;
		tmp[1] = 0;
		return 1;
	}
	return (size_t)snprintf(tmp, 5, "\\x%02x", c);
}

char *str_escape(char *out, size_t cap, const char *s, size_t len)
{
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		char tmp[5];
		size_t n = escape_one((unsigned char)s[i], tmp);
		if (o + n + 1 > cap) {
			/* Mark truncation, keeping room for the NUL. */
			size_t at = cap >= 4 ? cap - 4 : 0;
			if (o < at)
				at = o;
			memcpy(out + at, "...", cap >= 4 ? 3 : 0);
			out[cap >= 4 ? at + 3 : 0] = 0;
			return out;
		}
		memcpy(out + o, tmp, n);
		o += n;
	}
	out[o] = 0;
	return out;
}
