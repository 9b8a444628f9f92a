/* In-memory lease table: every lease pxed knows, indexed by address and by client, plus the
 * free-address search over a subnet's ranges. Pure data structure (no I/O, no clock: `now` is
 * a parameter); the DHCP policy reads and changes it, the adapter persists the changes through
 * the store and reloads it at start. All operations are O(1) expected, and finding a free
 * address is amortised O(1) (a cursor per range), so the rate stays flat as the table grows to
 * 100,000+ leases. */
#ifndef PXED_DHCP_LEASE_TABLE_H
#define PXED_DHCP_LEASE_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dhcp/lease.h"

struct lease_table;
struct config_range;

/* How a client is identified (RFC 2131 §4.2): option 61 when present, else htype + chaddr. */
struct lease_key {
	uint8_t len;
	uint8_t b[1 + LEASE_CLIENT_ID_MAX]; /* 'C' + client id, or 'H' + htype + chaddr */
};

/** Key for a client: from its client id when cid_len > 0, else from htype/chaddr. */
void lease_key_make(struct lease_key *k, const uint8_t *cid, size_t cid_len, uint8_t htype,
		    const uint8_t *chaddr, uint8_t hlen);
/** Key of a stored lease (same rule). */
void lease_key_of(struct lease_key *k, const struct dhcp_lease *l);

/** New empty table, or NULL. */
struct lease_table *lt_new(void);
/** Free. Accepts NULL. */
void lt_free(struct lease_table *t);
size_t lt_count(const struct lease_table *t);

/** Lease of an address, or NULL. The pointer stays valid until the next insert/remove. */
struct dhcp_lease *lt_by_ip(struct lease_table *t, uint32_t ip);
/** Most recent lease of a client (any state), or NULL. */
struct dhcp_lease *lt_by_client(struct lease_table *t, const struct lease_key *k);

/**
 * Insert or replace the lease of l->ip (copied). If the client of l held another address, that
 * older entry stays (it becomes reusable when it ends) but the client index points at l.
 * Returns the stored copy or NULL (out of memory).
 */
struct dhcp_lease *lt_put(struct lease_table *t, const struct dhcp_lease *l);
/** Forget an address entirely. */
void lt_remove(struct lease_table *t, uint32_t ip);

/**
 * True if ip may be given to client k at now: no lease, or a lease of the same client, or a
 * lease that is free (released, expired, or its `ends` passed) — except that a DECLINED
 * address is never free before its `ends`.
 */
bool lt_ip_available(struct lease_table *t, uint32_t ip, const struct lease_key *k, int64_t now);

/**
 * Find an available address for client k in ranges[0..n), skipping addresses for which
 * reserved(ctx, ip) is true (static reservations) and network/broadcast addresses of the
 * subnet (net, mask: host order). Prefers addresses never leased, then the longest-free ones.
 * Returns 0 with *ip set, or -ENOSPC when the ranges are full (-ENOMEM: out of memory).
 * The same address comes back until it is leased (lt_put) or another call changes the table.
 * The cursor of a range assumes the same net/mask and reservations on every call: after a
 * configuration change, call lt_reset_cursors.
 */
int lt_find_free(struct lease_table *t, const struct config_range *ranges, size_t n, uint32_t net,
		 uint32_t mask, bool (*reserved)(void *ctx, uint32_t ip), void *ctx,
		 const struct lease_key *k, int64_t now, uint32_t *ip);

/** Forget the per-range search state (cursors); the next lt_find_free rebuilds it. */
void lt_reset_cursors(struct lease_table *t);

/** Call fn for every lease (in no particular order); stop early when fn returns non-zero. */
int lt_foreach(struct lease_table *t, int (*fn)(void *ctx, const struct dhcp_lease *l), void *ctx);

#endif
