/* In-memory lease table; see lease_table.h.
 *
 * Storage: leases live in a growable array of records (a slab with a free list), so the only
 * allocations are growth steps. Two open-addressing hash indexes (linear probing, load factor
 * at most 0.7, backward-shift deletion so there are no tombstones) map
 *   - the address (its fmix32 hash, a bijection, so equal hashes mean equal addresses) and
 *   - the client key (FNV-1a; the key is compared on a hash match)
 * to a record index. The client index points at the newest record of the client; the older
 * records of the same client hang off it in a doubly linked list, newest first, so removing or
 * reassigning the newest one falls back to the previous one in O(1).
 *
 * Free-address search (lt_find_free) keeps one cursor per range, keyed by range lo/hi:
 *   1. Never-leased addresses: a position that moves forward through the range (wrapping), so
 *      consecutive allocations do not rescan; when a whole pass finds nothing the range is
 *      "swept" and not scanned again. Addresses that lose their lease entirely (lt_remove)
 *      are pushed on a small per-cursor stack and tried first.
 *   2. Otherwise the free lease with the oldest `ends` (ties: lower address), from two
 *      min-heaps per cursor ordered by (ends, ip): one for RELEASED/EXPIRED leases (free now)
 *      and one for OFFERED/BOUND/DECLINED leases (free once `ends` has passed). Heap entries
 *      are never updated in place: lt_put pushes a fresh entry stamped with the record's
 *      generation, and entries whose generation no longer matches are dropped when they reach
 *      the top or when the heap is compacted before growing (amortised O(log n)).
 * A cursor assumes the same subnet and reservations on every call for its range; after a
 * configuration change call lt_reset_cursors. A cursor is built on first use from the
 * existing leases (one O(n) pass), then kept up to date by lt_put and lt_remove.
 */
#include "dhcp/lease_table.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"

#define LT_NONE	     UINT32_MAX
#define LT_MIN_SLOTS 64	  /* first size of a hash index (power of two) */
#define LT_MIN_RECS  64	  /* first size of the record array */
#define LT_BACK_MAX  4096 /* bound of a cursor's stack of addresses returned by lt_remove */

enum { LT_H_FREE, LT_H_TIMED, LT_NHEAPS };

/* One lease and its links. */
struct lt_rec {
	struct dhcp_lease l;
	uint64_t gen;	       /* lt_put serial number of this version of the lease */
	uint32_t chash;	       /* hash of the client key the record is linked under */
	uint32_t cprev, cnext; /* same-client list, newest first; cnext also links the free list */
	bool used;
};

/* Hash index slot: idx1 = record index + 1, 0 = empty. */
struct lt_slot {
	uint32_t h;
	uint32_t idx1;
};

struct lt_index {
	struct lt_slot *s;
	size_t cap; /* 0 or a power of two */
	size_t n;
};

/* Heap entry: a version (gen) of the lease of ip, ordered by (ends, ip). */
struct lt_hent {
	int64_t ends;
	uint64_t gen;
	uint32_t ip;
};

struct lt_heap {
	struct lt_hent *v;
	size_t n, cap;
};

struct lt_cursor {
	uint32_t lo, hi;
	uint32_t pos; /* next address the forward scan examines */
	bool swept;   /* a whole pass found no never-leased address */
	uint32_t *back;
	size_t nback, capback;
	struct lt_heap heap[LT_NHEAPS];
};

/* What lt_find_free must skip, besides leased addresses. */
struct lt_filter {
	uint32_t net, bcast;
	bool has_net_bcast;
	bool (*reserved)(void *ctx, uint32_t ip);
	void *ctx;
};

struct lease_table {
	struct lt_rec *recs;
	uint32_t nrec, caprec; /* high-water mark and size of recs */
	uint32_t free_head;    /* first unused record below nrec, or LT_NONE */
	size_t count;
	struct lt_index by_ip, by_client;
	struct lt_cursor *cur;
	size_t ncur, capcur;
	uint64_t gen;
};

/* ---- keys and hashes ---- */

void lease_key_make(struct lease_key *k, const uint8_t *cid, size_t cid_len, uint8_t htype,
		    const uint8_t *chaddr, uint8_t hlen)
{
	memset(k, 0, sizeof(*k));
	if (cid_len > 0) {
		size_t n = cid_len < LEASE_CLIENT_ID_MAX ? cid_len : LEASE_CLIENT_ID_MAX;
		k->b[0] = 'C';
		memcpy(k->b + 1, cid, n);
		k->len = (uint8_t)(1 + n);
		return;
	}
	size_t n = hlen < 16 ? hlen : 16;
	k->b[0] = 'H';
	k->b[1] = htype;
	if (n)
		memcpy(k->b + 2, chaddr, n);
	k->len = (uint8_t)(2 + n);
}

void lease_key_of(struct lease_key *k, const struct dhcp_lease *l)
{
	lease_key_make(k, l->client_id, l->client_id_len, l->htype, l->chaddr, l->hlen);
}

/* Same client. */
static bool key_eq(const struct lease_key *a, const struct lease_key *b)
{
	return a->len == b->len && memcmp(a->b, b->b, a->len) == 0;
}

/* FNV-1a, 32 bits. */
static uint32_t key_hash(const struct lease_key *k)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < k->len; i++) {
		h ^= k->b[i];
		h *= 16777619u;
	}
	return h;
}

/* murmur3 fmix32: a bijection, so it doubles as the address itself in the index. */
static uint32_t ip_hash(uint32_t ip)
{
	ip ^= ip >> 16;
	ip *= 0x85ebca6bu;
	ip ^= ip >> 13;
	ip *= 0xc2b2ae35u;
	ip ^= ip >> 16;
	return ip;
}

/* ---- open-addressing index ---- */

/* Make room for `extra` more entries at load factor <= 0.7. */
static int idx_reserve(struct lt_index *ix, size_t extra)
{
	size_t need = ix->n + extra, cap = ix->cap ? ix->cap : LT_MIN_SLOTS;
	while (need * 10 > cap * 7)
		cap *= 2;
	if (cap == ix->cap)
		return 0;
	struct lt_slot *s = calloc(cap, sizeof(*s));
	if (!s)
		return -ENOMEM;
	for (size_t i = 0; i < ix->cap; i++) {
		if (!ix->s[i].idx1)
			continue;
		size_t p = ix->s[i].h & (cap - 1);
		while (s[p].idx1)
			p = (p + 1) & (cap - 1);
		s[p] = ix->s[i];
	}
	free(ix->s);
	ix->s = s;
	ix->cap = cap;
	return 0;
}

/* Add (h -> rec); room was reserved. */
static void idx_insert(struct lt_index *ix, uint32_t h, uint32_t rec)
{
	size_t p = h & (ix->cap - 1);
	while (ix->s[p].idx1)
		p = (p + 1) & (ix->cap - 1);
	ix->s[p].h = h;
	ix->s[p].idx1 = rec + 1;
	ix->n++;
}

/* Delete slot i, shifting back the entries of its probe run (no tombstones). */
static void idx_delete_at(struct lt_index *ix, size_t i)
{
	size_t mask = ix->cap - 1, j = i;
	for (;;) {
		j = (j + 1) & mask;
		if (!ix->s[j].idx1)
			break;
		size_t home = ix->s[j].h & mask;
		bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
		if (stays)
			continue;
		ix->s[i] = ix->s[j];
		i = j;
	}
	ix->s[i].idx1 = 0;
	ix->n--;
}

/* Slot of address ip in the address index, or SIZE_MAX. */
static size_t ip_slot(const struct lease_table *t, uint32_t ip)
{
	const struct lt_index *ix = &t->by_ip;
	if (!ix->cap)
		return SIZE_MAX;
	uint32_t h = ip_hash(ip);
	for (size_t p = h & (ix->cap - 1); ix->s[p].idx1; p = (p + 1) & (ix->cap - 1))
		if (ix->s[p].h == h)
			return p;
	return SIZE_MAX;
}

/* Record index of the lease of ip, or LT_NONE. */
static uint32_t rec_of_ip(const struct lease_table *t, uint32_t ip)
{
	size_t p = ip_slot(t, ip);
	return p == SIZE_MAX ? LT_NONE : t->by_ip.s[p].idx1 - 1;
}

/* Slot of client k (hash h) in the client index, or SIZE_MAX. */
static size_t client_slot(const struct lease_table *t, const struct lease_key *k, uint32_t h)
{
	const struct lt_index *ix = &t->by_client;
	if (!ix->cap)
		return SIZE_MAX;
	for (size_t p = h & (ix->cap - 1); ix->s[p].idx1; p = (p + 1) & (ix->cap - 1)) {
		struct lease_key hk;
		if (ix->s[p].h != h)
			continue;
		lease_key_of(&hk, &t->recs[ix->s[p].idx1 - 1].l);
		if (key_eq(&hk, k))
			return p;
	}
	return SIZE_MAX;
}

/* Slot whose head is record r (hash h); r must be the head of its client list. */
static size_t head_slot(const struct lease_table *t, uint32_t h, uint32_t r)
{
	const struct lt_index *ix = &t->by_client;
	for (size_t p = h & (ix->cap - 1); ix->s[p].idx1; p = (p + 1) & (ix->cap - 1))
		if (ix->s[p].idx1 == r + 1)
			return p;
	return SIZE_MAX;
}

/* ---- client lists ---- */

/* Make record r (client k) the newest lease of k; room in the index was reserved. */
static void client_link(struct lease_table *t, uint32_t r, const struct lease_key *k)
{
	struct lt_rec *rec = &t->recs[r];
	uint32_t h = key_hash(k);
	size_t p = client_slot(t, k, h);
	rec->chash = h;
	rec->cprev = LT_NONE;
	if (p == SIZE_MAX) {
		rec->cnext = LT_NONE;
		idx_insert(&t->by_client, h, r);
		return;
	}
	uint32_t old = t->by_client.s[p].idx1 - 1;
	rec->cnext = old;
	t->recs[old].cprev = r;
	t->by_client.s[p].idx1 = r + 1;
}

/* Take record r out of its client's list (the previous lease becomes the newest). */
static void client_unlink(struct lease_table *t, uint32_t r)
{
	struct lt_rec *rec = &t->recs[r];
	if (rec->cnext != LT_NONE)
		t->recs[rec->cnext].cprev = rec->cprev;
	if (rec->cprev != LT_NONE) {
		t->recs[rec->cprev].cnext = rec->cnext;
	} else {
		size_t p = head_slot(t, rec->chash, r);
		if (p != SIZE_MAX && rec->cnext != LT_NONE)
			t->by_client.s[p].idx1 = rec->cnext + 1;
		else if (p != SIZE_MAX)
			idx_delete_at(&t->by_client, p);
	}
	rec->cprev = rec->cnext = LT_NONE;
}

/* ---- records ---- */

/* Make sure one more record can be allocated. */
static int rec_reserve(struct lease_table *t)
{
	if (t->free_head != LT_NONE || t->nrec < t->caprec)
		return 0;
	if (t->caprec >= UINT32_MAX / 2)
		return -ENOMEM;
	uint32_t cap = t->caprec ? t->caprec * 2 : LT_MIN_RECS;
	struct lt_rec *v = realloc(t->recs, (size_t)cap * sizeof(*v));
	if (!v)
		return -ENOMEM;
	t->recs = v;
	t->caprec = cap;
	return 0;
}

/* Allocate a record; rec_reserve succeeded before. */
static uint32_t rec_alloc(struct lease_table *t)
{
	uint32_t r = t->free_head;
	if (r != LT_NONE)
		t->free_head = t->recs[r].cnext;
	else
		r = t->nrec++;
	return r;
}

/* ---- heaps ---- */

/* Heap order: older ends first, then lower address (deterministic ties). */
static bool hent_less(const struct lt_hent *a, const struct lt_hent *b)
{
	return a->ends < b->ends || (a->ends == b->ends && a->ip < b->ip);
}

/* Sift entry i down to restore the heap order below it. */
static void heap_down(struct lt_heap *h, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, m = i;
		if (l < h->n && hent_less(&h->v[l], &h->v[m]))
			m = l;
		if (l + 1 < h->n && hent_less(&h->v[l + 1], &h->v[m]))
			m = l + 1;
		if (m == i)
			return;
		struct lt_hent tmp = h->v[i];
		h->v[i] = h->v[m];
		h->v[m] = tmp;
		i = m;
	}
}

/* Append e (room was reserved) and restore the heap order. */
static void heap_push(struct lt_heap *h, struct lt_hent e)
{
	size_t i = h->n++;
	while (i > 0 && hent_less(&e, &h->v[(i - 1) / 2])) {
		h->v[i] = h->v[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	h->v[i] = e;
}

/* Drop the top entry. */
static void heap_pop(struct lt_heap *h)
{
	h->v[0] = h->v[--h->n];
	heap_down(h, 0);
}

/* Restore the heap order of the whole array, O(n). */
static void heap_heapify(struct lt_heap *h)
{
	for (size_t i = h->n / 2; i-- > 0;)
		heap_down(h, i);
}

/* True if heap entry e still describes the current lease of its address. */
static bool hent_live(const struct lease_table *t, const struct lt_hent *e)
{
	uint32_t r = rec_of_ip(t, e->ip);
	return r != LT_NONE && t->recs[r].gen == e->gen;
}

/* Make room for one more entry: drop stale entries if that frees half, else grow. */
static int heap_reserve(const struct lease_table *t, struct lt_heap *h)
{
	if (h->n < h->cap)
		return 0;
	size_t keep = 0;
	for (size_t i = 0; i < h->n; i++)
		if (hent_live(t, &h->v[i]))
			h->v[keep++] = h->v[i];
	if (keep != h->n) {
		h->n = keep;
		heap_heapify(h);
	}
	if (h->n <= h->cap / 2 && h->cap)
		return 0;
	size_t cap = h->cap ? h->cap * 2 : 16;
	struct lt_hent *v = realloc(h->v, cap * sizeof(*v));
	if (!v)
		return -ENOMEM;
	h->v = v;
	h->cap = cap;
	return 0;
}

/* Which heap a lease of this state belongs to. */
static int heap_class(enum lease_state s)
{
	return s == LEASE_RELEASED || s == LEASE_EXPIRED ? LT_H_FREE : LT_H_TIMED;
}

/* ---- cursors ---- */

/* True if ip lies in the cursor's range. */
static bool cursor_has(const struct lt_cursor *c, uint32_t ip)
{
	return c->lo <= ip && ip <= c->hi;
}

/* Free what a cursor owns (not the cursor itself). */
static void cursor_fini(struct lt_cursor *c)
{
	free(c->back);
	for (int i = 0; i < LT_NHEAPS; i++)
		free(c->heap[i].v);
}

/* Fill a new cursor's heaps from the leases in its range. */
static int cursor_fill(const struct lease_table *t, struct lt_cursor *c)
{
	for (uint32_t r = 0; r < t->nrec; r++) {
		const struct lt_rec *rec = &t->recs[r];
		if (!rec->used || !cursor_has(c, rec->l.ip))
			continue;
		struct lt_heap *h = &c->heap[heap_class(rec->l.state)];
		if (heap_reserve(t, h) < 0)
			return -ENOMEM;
		h->v[h->n++] = (struct lt_hent){rec->l.ends, rec->gen, rec->l.ip};
	}
	for (int i = 0; i < LT_NHEAPS; i++)
		heap_heapify(&c->heap[i]);
	return 0;
}

/* Index of the cursor of range lo..hi, created (and filled) on first use; -ENOMEM. */
static int cursor_get(struct lease_table *t, uint32_t lo, uint32_t hi, size_t *out)
{
	for (size_t i = 0; i < t->ncur; i++) {
		if (t->cur[i].lo == lo && t->cur[i].hi == hi) {
			*out = i;
			return 0;
		}
	}
	if (t->ncur == t->capcur) {
		size_t cap = t->capcur ? t->capcur * 2 : 4;
		struct lt_cursor *v = realloc(t->cur, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		t->cur = v;
		t->capcur = cap;
	}
	struct lt_cursor *c = &t->cur[t->ncur];
	memset(c, 0, sizeof(*c));
	c->lo = c->pos = lo;
	c->hi = hi;
	if (cursor_fill(t, c) < 0) {
		cursor_fini(c);
		return -ENOMEM;
	}
	*out = t->ncur++;
	return 0;
}

/* Remember that ip, in cursor c's range, has no lease any more. */
static void cursor_forget(struct lt_cursor *c, uint32_t ip)
{
	if (c->nback == c->capback) {
		size_t cap = c->capback ? c->capback * 2 : 16;
		uint32_t *v = cap <= LT_BACK_MAX ? realloc(c->back, cap * sizeof(*v)) : NULL;
		if (!v) {
			c->swept = false; /* the forward scan will find it */
			return;
		}
		c->back = v;
		c->capback = cap;
	}
	c->back[c->nback++] = ip;
}

void lt_reset_cursors(struct lease_table *t)
{
	for (size_t i = 0; i < t->ncur; i++)
		cursor_fini(&t->cur[i]);
	free(t->cur);
	t->cur = NULL;
	t->ncur = t->capcur = 0;
}

/* ---- table ---- */

struct lease_table *lt_new(void)
{
	struct lease_table *t = calloc(1, sizeof(*t));
	if (t)
		t->free_head = LT_NONE;
	return t;
}

void lt_free(struct lease_table *t)
{
	if (!t)
		return;
	lt_reset_cursors(t);
	free(t->by_client.s);
	free(t->by_ip.s);
	free(t->recs);
	free(t);
}

size_t lt_count(const struct lease_table *t)
{
	return t->count;
}

struct dhcp_lease *lt_by_ip(struct lease_table *t, uint32_t ip)
{
	uint32_t r = rec_of_ip(t, ip);
	return r == LT_NONE ? NULL : &t->recs[r].l;
}

struct dhcp_lease *lt_by_client(struct lease_table *t, const struct lease_key *k)
{
	size_t p = client_slot(t, k, key_hash(k));
	return p == SIZE_MAX ? NULL : &t->recs[t->by_client.s[p].idx1 - 1].l;
}

/* Allocate everything lt_put may need for a lease of ip, so that it cannot fail halfway. */
static int put_reserve(struct lease_table *t, uint32_t ip, enum lease_state state, bool is_new)
{
	if (is_new && (rec_reserve(t) < 0 || idx_reserve(&t->by_ip, 1) < 0))
		return -ENOMEM;
	if (idx_reserve(&t->by_client, 1) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < t->ncur; i++)
		if (cursor_has(&t->cur[i], ip) &&
		    heap_reserve(t, &t->cur[i].heap[heap_class(state)]) < 0)
			return -ENOMEM;
	return 0;
}

struct dhcp_lease *lt_put(struct lease_table *t, const struct dhcp_lease *l)
{
	struct dhcp_lease copy = *l; /* l may point into the table */
	struct lease_key k;
	uint32_t r = rec_of_ip(t, copy.ip);
	if (put_reserve(t, copy.ip, copy.state, r == LT_NONE) < 0)
		return NULL;
	if (r == LT_NONE) {
		r = rec_alloc(t);
		idx_insert(&t->by_ip, ip_hash(copy.ip), r);
		t->count++;
	} else {
		client_unlink(t, r);
	}
	struct lt_rec *rec = &t->recs[r];
	rec->l = copy;
	rec->used = true;
	rec->gen = ++t->gen;
	lease_key_of(&k, &copy);
	client_link(t, r, &k);
	for (size_t i = 0; i < t->ncur; i++) {
		if (cursor_has(&t->cur[i], copy.ip))
			heap_push(&t->cur[i].heap[heap_class(copy.state)],
				  (struct lt_hent){copy.ends, rec->gen, copy.ip});
	}
	return &rec->l;
}

void lt_remove(struct lease_table *t, uint32_t ip)
{
	size_t p = ip_slot(t, ip);
	if (p == SIZE_MAX)
		return;
	uint32_t r = t->by_ip.s[p].idx1 - 1;
	client_unlink(t, r);
	idx_delete_at(&t->by_ip, p);
	t->recs[r].used = false;
	t->recs[r].cnext = t->free_head;
	t->free_head = r;
	t->count--;
	for (size_t i = 0; i < t->ncur; i++)
		if (cursor_has(&t->cur[i], ip))
			cursor_forget(&t->cur[i], ip);
}

bool lt_ip_available(struct lease_table *t, uint32_t ip, const struct lease_key *k, int64_t now)
{
	uint32_t r = rec_of_ip(t, ip);
	if (r == LT_NONE)
		return true;
	const struct dhcp_lease *l = &t->recs[r].l;
	if (now >= l->ends)
		return true; /* whatever the state, including DECLINED: its time is up */
	if (l->state == LEASE_DECLINED)
		return false; /* quarantined, even for the client that declined it */
	if (l->state == LEASE_RELEASED || l->state == LEASE_EXPIRED)
		return true;
	struct lease_key lk;
	lease_key_of(&lk, l);
	return k && key_eq(&lk, k); /* OFFERED/BOUND: only its own client */
}

int lt_foreach(struct lease_table *t, int (*fn)(void *ctx, const struct dhcp_lease *l), void *ctx)
{
	for (uint32_t r = 0; r < t->nrec; r++) {
		if (!t->recs[r].used)
			continue;
		int rc = fn(ctx, &t->recs[r].l);
		if (rc)
			return rc;
	}
	return 0;
}

/* ---- free-address search ---- */

/* True if ip must never be handed out dynamically (subnet network/broadcast, reservation). */
static bool addr_skipped(const struct lt_filter *f, uint32_t ip)
{
	if (f->has_net_bcast && (ip == f->net || ip == f->bcast))
		return true;
	return f->reserved && f->reserved(f->ctx, ip);
}

/* True if ip has never been leased (no entry) and may be handed out. */
static bool addr_fresh(const struct lease_table *t, const struct lt_filter *f, uint32_t ip)
{
	if (f->has_net_bcast && (ip == f->net || ip == f->bcast))
		return false;
	return rec_of_ip(t, ip) == LT_NONE && !(f->reserved && f->reserved(f->ctx, ip));
}

/*
 * Phase 1 on one range: a never-leased address. Addresses returned by lt_remove first, then
 * the forward scan from the cursor. The cursor stays on the address found, so the same address
 * comes back until somebody leases it.
 */
static bool cursor_fresh(const struct lease_table *t, struct lt_cursor *c,
			 const struct lt_filter *f, uint32_t *ip)
{
	while (c->nback) {
		uint32_t a = c->back[c->nback - 1];
		if (addr_fresh(t, f, a)) {
			*ip = a;
			return true;
		}
		c->nback--;
	}
	if (c->swept)
		return false;
	uint64_t size = (uint64_t)c->hi - c->lo + 1;
	uint32_t a = c->pos;
	for (uint64_t i = 0; i < size; i++) {
		if (addr_fresh(t, f, a)) {
			c->pos = a;
			*ip = a;
			return true;
		}
		a = a == c->hi ? c->lo : a + 1;
	}
	c->swept = true;
	return false;
}

/*
 * Phase 2 on one heap of a range: its oldest free lease. Drops stale entries and entries that
 * are never handed out; an entry whose lease was changed in place without lt_put is re-filed
 * under its current state and ends.
 */
static bool heap_best(const struct lease_table *t, struct lt_cursor *c, int which,
		      const struct lt_filter *f, int64_t now, struct lt_hent *out)
{
	struct lt_heap *h = &c->heap[which];
	while (h->n) {
		struct lt_hent e = h->v[0];
		uint32_t r = rec_of_ip(t, e.ip);
		if (r == LT_NONE || t->recs[r].gen != e.gen || addr_skipped(f, e.ip)) {
			heap_pop(h);
			continue;
		}
		const struct dhcp_lease *l = &t->recs[r].l;
		int cls = heap_class(l->state);
		if (l->ends != e.ends || cls != which) {
			heap_pop(h);
			e.ends = l->ends;
			if (heap_reserve(t, &c->heap[cls]) == 0)
				heap_push(&c->heap[cls], e);
			continue;
		}
		if (which == LT_H_TIMED && e.ends > now)
			return false;
		*out = e;
		return true;
	}
	return false;
}

/* What to skip in a subnet net/mask: network and broadcast, except on /31 and /32. */
static void filter_init(struct lt_filter *f, uint32_t net, uint32_t mask,
			bool (*reserved)(void *ctx, uint32_t ip), void *ctx)
{
	f->net = net & mask;
	f->bcast = (net & mask) | ~mask;
	f->has_net_bcast = mask != 0xffffffffu && mask != 0xfffffffeu; /* RFC 3021 /31, /32 */
	f->reserved = reserved;
	f->ctx = ctx;
}

/* Phase 1 over all ranges, in order: 1 with *ip set, 0 if none, or -ENOMEM. */
static int find_fresh(struct lease_table *t, const struct config_range *ranges, size_t n,
		      const struct lt_filter *f, uint32_t *ip)
{
	for (size_t i = 0; i < n; i++) {
		size_t ci;
		if (ranges[i].lo > ranges[i].hi)
			continue;
		if (cursor_get(t, ranges[i].lo, ranges[i].hi, &ci) < 0)
			return -ENOMEM;
		if (cursor_fresh(t, &t->cur[ci], f, ip))
			return 1;
	}
	return 0;
}

/* Phase 2 over all ranges: 1 with the oldest free lease's entry in *best, 0 if none, -ENOMEM. */
static int find_oldest(struct lease_table *t, const struct config_range *ranges, size_t n,
		       const struct lt_filter *f, int64_t now, struct lt_hent *best)
{
	struct lt_hent e, b = {0};
	bool found = false;
	for (size_t i = 0; i < n; i++) {
		size_t ci;
		if (ranges[i].lo > ranges[i].hi)
			continue;
		if (cursor_get(t, ranges[i].lo, ranges[i].hi, &ci) < 0)
			return -ENOMEM;
		for (int w = 0; w < LT_NHEAPS; w++) {
			if (heap_best(t, &t->cur[ci], w, f, now, &e) &&
			    (!found || hent_less(&e, &b))) {
				b = e;
				found = true;
			}
		}
	}
	if (found)
		*best = b;
	return found;
}

int lt_find_free(struct lease_table *t, const struct config_range *ranges, size_t n, uint32_t net,
		 uint32_t mask, bool (*reserved)(void *ctx, uint32_t ip), void *ctx,
		 const struct lease_key *k, int64_t now, uint32_t *ip)
{
	struct lt_filter f;
	struct lt_hent best;
	uint32_t a;
	filter_init(&f, net, mask, reserved, ctx);
	int rc = find_fresh(t, ranges, n, &f, &a);
	if (rc < 0)
		return rc;
	if (rc == 0) {
		rc = find_oldest(t, ranges, n, &f, now, &best);
		if (rc < 0)
			return rc;
		if (rc == 0 || !lt_ip_available(t, best.ip, k, now))
			return -ENOSPC;
		a = best.ip;
	}
	*ip = a;
	return 0;
}
