/* Bounded reader/writer; see buf.h. */
#include "core/buf.h"

#include <errno.h>
#include <string.h>

static bool rd_need(struct rd *r, size_t n)
{
	if (r->failed || r->len - r->off < n) {
		r->failed = true;
		return false;
	}
	return true;
}

bool rd_u8(struct rd *r, uint8_t *v)
{
	if (!rd_need(r, 1))
		return false;
	*v = r->p[r->off++];
	return true;
}

bool rd_u16be(struct rd *r, uint16_t *v)
{
	if (!rd_need(r, 2))
		return false;
	*v = (uint16_t)(r->p[r->off] << 8 | r->p[r->off + 1]);
	r->off += 2;
	return true;
}

bool rd_u32be(struct rd *r, uint32_t *v)
{
	if (!rd_need(r, 4))
		return false;
	const uint8_t *p = r->p + r->off;
	*v = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
	r->off += 4;
	return true;
}

bool rd_bytes(struct rd *r, void *out, size_t n)
{
	if (!rd_need(r, n))
		return false;
	if (n)
		memcpy(out, r->p + r->off, n);
	r->off += n;
	return true;
}

bool rd_view(struct rd *r, size_t n, const uint8_t **view)
{
	if (!rd_need(r, n))
		return false;
	*view = r->p + r->off;
	r->off += n;
	return true;
}

bool rd_skip(struct rd *r, size_t n)
{
	if (!rd_need(r, n))
		return false;
	r->off += n;
	return true;
}

bool rd_cstr(struct rd *r, const char **s, size_t *slen)
{
	if (r->failed)
		return false;
	const uint8_t *start = r->p + r->off;
	const uint8_t *nul = memchr(start, 0, r->len - r->off);
	if (!nul) {
		r->failed = true;
		return false;
	}
	*s = (const char *)start;
	*slen = (size_t)(nul - start);
	r->off += *slen + 1;
	return true;
}

static bool wr_need(struct wr *w, size_t n)
{
	if (w->failed || w->cap - w->off < n) {
		w->failed = true;
		return false;
	}
	return true;
}

bool wr_u8(struct wr *w, uint8_t v)
{
	if (!wr_need(w, 1))
		return false;
	w->p[w->off++] = v;
	return true;
}

bool wr_u16be(struct wr *w, uint16_t v)
{
	if (!wr_need(w, 2))
		return false;
	w->p[w->off++] = (uint8_t)(v >> 8);
	w->p[w->off++] = (uint8_t)v;
	return true;
}

bool wr_u32be(struct wr *w, uint32_t v)
{
	if (!wr_need(w, 4))
		return false;
	for (int shift = 24; shift >= 0; shift -= 8)
		w->p[w->off++] = (uint8_t)(v >> shift);
	return true;
}

bool wr_bytes(struct wr *w, const void *src, size_t n)
{
	if (!wr_need(w, n))
		return false;
	if (n)
		memcpy(w->p + w->off, src, n);
	w->off += n;
	return true;
}

bool wr_cstr(struct wr *w, const char *s, size_t slen)
{
	if (!wr_need(w, slen + 1))
		return false;
	wr_bytes(w, s, slen);
	return wr_u8(w, 0);
}

int wr_result(const struct wr *w)
{
	return w->failed ? -ENOSPC : (int)w->off;
}
