/* A growable text buffer for rendered documents (boot scripts, configs, kickstarts). */
#ifndef PXED_BOOT_SBUF_H
#define PXED_BOOT_SBUF_H

#include <stdbool.h>
#include <stddef.h>

struct sbuf {
	char *p; /* NUL-terminated while not failed */
	size_t len;
	size_t cap;
	size_t max;  /* hard limit (0: 16 MiB) */
	bool failed; /* an append ran out of memory or over max; p holds what fitted */
};

/** Empty buffer; owns nothing until the first append. */
void sbuf_init(struct sbuf *b);
/** Append n bytes. Returns false (and sets failed) when it cannot. */
bool sbuf_add(struct sbuf *b, const char *s, size_t n);
bool sbuf_puts(struct sbuf *b, const char *s);
bool sbuf_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/** Release the memory. Accepts a zeroed buffer. */
void sbuf_free(struct sbuf *b);

#endif
