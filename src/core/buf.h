/* Bounded reader and writer over caller-owned byte buffers.
 *
 * Every packet codec reads through struct rd and writes through struct wr. Each accessor
 * returns false on overrun (the reader/writer then stays failed: later calls fail too), so a
 * codec can do a run of reads and check once. Nothing here allocates or logs.
 */
#ifndef PXED_CORE_BUF_H
#define PXED_CORE_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Reader: borrows buf for its lifetime. */
struct rd {
	const uint8_t *p;
	size_t len;
	size_t off;
	bool failed;
};

/** Writer: borrows buf for its lifetime. */
struct wr {
	uint8_t *p;
	size_t cap;
	size_t off;
	bool failed;
};

static inline void rd_init(struct rd *r, const void *buf, size_t len)
{
	r->p = buf;
	r->len = len;
	r->off = 0;
	r->failed = false;
}

/** Bytes left to read (0 once failed). */
static inline size_t rd_left(const struct rd *r)
{
	return r->failed ? 0 : r->len - r->off;
}

bool rd_u8(struct rd *r, uint8_t *v);
bool rd_u16be(struct rd *r, uint16_t *v);
bool rd_u32be(struct rd *r, uint32_t *v);
/** Copy n bytes out. */
bool rd_bytes(struct rd *r, void *out, size_t n);
/** Borrow a view of the next n bytes and skip them. */
bool rd_view(struct rd *r, size_t n, const uint8_t **view);
bool rd_skip(struct rd *r, size_t n);
/** View up to (not including) the next NUL, and skip the NUL. Fails if no NUL is left. */
bool rd_cstr(struct rd *r, const char **s, size_t *slen);

static inline void wr_init(struct wr *w, void *buf, size_t cap)
{
	w->p = buf;
	w->cap = cap;
	w->off = 0;
	w->failed = false;
}

bool wr_u8(struct wr *w, uint8_t v);
bool wr_u16be(struct wr *w, uint16_t v);
bool wr_u32be(struct wr *w, uint32_t v);
bool wr_bytes(struct wr *w, const void *src, size_t n);
/** Write s (slen bytes) followed by a NUL. */
bool wr_cstr(struct wr *w, const char *s, size_t slen);

/** Bytes written so far, or -ENOSPC if any write overflowed. */
int wr_result(const struct wr *w);

#endif
