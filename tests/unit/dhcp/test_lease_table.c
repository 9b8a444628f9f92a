/* Unit tests for the in-memory lease table (src/dhcp/lease_table.c): indexes, availability
 * rules, the free-address search, a randomised comparison against a brute-force model, and
 * growth to 100,000 leases with the allocation rate printed at 0, 50k and 100k leases. */
#include "core/config.h"
#include "dhcp/lease_table.h"
#include "test.h"

#include <errno.h>
#include <stdint.h>
#include <time.h>

#define IP(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (d))

/* A lease for the client with MAC 52:54:00:xx:yy:zz derived from n. */
static struct dhcp_lease mk(uint32_t ip, uint32_t n, enum lease_state st, int64_t ends)
{
	struct dhcp_lease l;
	memset(&l, 0, sizeof(l));
	l.ip = ip;
	l.state = st;
	l.htype = 1;
	l.hlen = 6;
	l.chaddr[0] = 0x52;
	l.chaddr[1] = 0x54;
	l.chaddr[2] = (uint8_t)(n >> 24);
	l.chaddr[3] = (uint8_t)(n >> 16);
	l.chaddr[4] = (uint8_t)(n >> 8);
	l.chaddr[5] = (uint8_t)n;
	l.starts = ends - 3600;
	l.ends = ends;
	l.arch = 0xffff;
	return l;
}

static struct lease_key key_n(uint32_t n)
{
	struct dhcp_lease l = mk(0, n, LEASE_BOUND, 0);
	struct lease_key k;
	lease_key_of(&k, &l);
	return k;
}

static int count_cb(void *ctx, const struct dhcp_lease *l)
{
	(void)l;
	(*(int *)ctx)++;
	return 0;
}

static int stop_cb(void *ctx, const struct dhcp_lease *l)
{
	(void)l;
	return ++(*(int *)ctx) == 2 ? 42 : 0;
}

static void test_keys(void)
{
	const uint8_t mac[6] = {0x52, 0x54, 0, 1, 2, 3}, cid[7] = {1, 0x52, 0x54, 0, 1, 2, 3};
	struct lease_key a, b;
	lease_key_make(&a, NULL, 0, 1, mac, 6);
	CHECK_EQ(a.len, 8);
	CHECK_EQ(a.b[0], 'H');
	CHECK_EQ(a.b[1], 1);
	lease_key_make(&b, cid, sizeof(cid), 1, mac, 6);
	CHECK_EQ(b.len, 8);
	CHECK_EQ(b.b[0], 'C');
	CHECK(memcmp(&a.b, &b.b, a.len) != 0);

	struct dhcp_lease l = mk(IP(198, 18, 0, 5), 7, LEASE_BOUND, 100);
	memcpy(l.client_id, cid, sizeof(cid));
	l.client_id_len = sizeof(cid);
	lease_key_of(&a, &l);
	CHECK_EQ(a.len, b.len);
	CHECK(memcmp(a.b, b.b, a.len) == 0);

	uint8_t longid[100];
	memset(longid, 0xab, sizeof(longid));
	lease_key_make(&a, longid, sizeof(longid), 1, mac, 6); /* clamped to what a lease holds */
	CHECK_EQ(a.len, 1 + LEASE_CLIENT_ID_MAX);
}

static void test_put_get_remove(void)
{
	struct lease_table *t = lt_new();
	CHECK(t != NULL);
	CHECK_EQ(lt_count(t), 0);
	CHECK(lt_by_ip(t, IP(198, 18, 0, 10)) == NULL);
	lt_remove(t, IP(198, 18, 0, 10)); /* absent: no-op */

	struct dhcp_lease l = mk(IP(198, 18, 0, 10), 1, LEASE_BOUND, 1000);
	strcpy(l.hostname, "slave21");
	struct dhcp_lease *p = lt_put(t, &l);
	CHECK(p != NULL);
	CHECK(p != &l);
	CHECK_EQ(lt_count(t), 1);
	CHECK(lt_by_ip(t, IP(198, 18, 0, 10)) == p);
	CHECK_STR(p->hostname, "slave21");

	l.ends = 2000;
	strcpy(l.hostname, "slave22");
	p = lt_put(t, &l); /* replace */
	CHECK_EQ(lt_count(t), 1);
	CHECK_STR(lt_by_ip(t, IP(198, 18, 0, 10))->hostname, "slave22");
	CHECK_EQ(lt_by_ip(t, IP(198, 18, 0, 10))->ends, 2000);

	p->ends = 3000; /* put of a pointer into the table itself */
	p = lt_put(t, p);
	CHECK(p != NULL && p->ends == 3000);

	struct dhcp_lease m = mk(IP(198, 18, 0, 11), 2, LEASE_OFFERED, 500);
	CHECK(lt_put(t, &m) != NULL);
	CHECK_EQ(lt_count(t), 2);
	int n = 0;
	CHECK_EQ(lt_foreach(t, count_cb, &n), 0);
	CHECK_EQ(n, 2);
	n = 0;
	CHECK_EQ(lt_foreach(t, stop_cb, &n), 42);

	lt_remove(t, IP(198, 18, 0, 10));
	CHECK_EQ(lt_count(t), 1);
	CHECK(lt_by_ip(t, IP(198, 18, 0, 10)) == NULL);
	CHECK(lt_by_ip(t, IP(198, 18, 0, 11)) != NULL);
	struct lease_key k1 = key_n(1), k2 = key_n(2);
	CHECK(lt_by_client(t, &k1) == NULL);
	CHECK(lt_by_client(t, &k2) == lt_by_ip(t, IP(198, 18, 0, 11)));
	lt_remove(t, IP(198, 18, 0, 11));
	CHECK_EQ(lt_count(t), 0);
	CHECK(lt_by_client(t, &k2) == NULL);
	lt_free(t);
	lt_free(NULL);
}

static void test_client_index(void)
{
	struct lease_table *t = lt_new();
	struct lease_key ka = key_n(0xa), kb = key_n(0xb);
	uint32_t ip1 = IP(198, 18, 1, 1), ip2 = IP(198, 18, 1, 2), ip3 = IP(198, 18, 1, 3);
	struct dhcp_lease a1 = mk(ip1, 0xa, LEASE_BOUND, 100),
			  a2 = mk(ip2, 0xa, LEASE_OFFERED, 200);

	lt_put(t, &a1);
	CHECK_EQ(lt_by_client(t, &ka)->ip, ip1);
	lt_put(t, &a2); /* newer lease of the same client: the index follows it */
	CHECK_EQ(lt_by_client(t, &ka)->ip, ip2);
	CHECK_EQ(lt_count(t), 2);
	lt_put(t, &a1); /* ip1 renewed: newest again */
	CHECK_EQ(lt_by_client(t, &ka)->ip, ip1);
	lt_remove(t, ip1); /* back to the older one */
	CHECK_EQ(lt_by_client(t, &ka)->ip, ip2);

	struct dhcp_lease b2 = mk(ip2, 0xb, LEASE_OFFERED, 300); /* ip2 given to b */
	lt_put(t, &b2);
	CHECK(lt_by_client(t, &ka) == NULL);
	CHECK_EQ(lt_by_client(t, &kb)->ip, ip2);

	/* client id and chaddr are different keys even for the same MAC */
	struct dhcp_lease c = mk(ip3, 0xa, LEASE_BOUND, 100);
	c.client_id_len = 7;
	c.client_id[0] = 1;
	memcpy(c.client_id + 1, c.chaddr, 6);
	lt_put(t, &c);
	struct lease_key kc;
	lease_key_of(&kc, &c);
	CHECK(lt_by_client(t, &ka) == NULL);
	CHECK_EQ(lt_by_client(t, &kc)->ip, ip3);

	/* a chain of three: removing the middle keeps the head, then the oldest remains */
	struct dhcp_lease x1 = mk(IP(198, 18, 2, 1), 0xc, LEASE_EXPIRED, 1),
			  x2 = mk(IP(198, 18, 2, 2), 0xc, LEASE_EXPIRED, 2),
			  x3 = mk(IP(198, 18, 2, 3), 0xc, LEASE_BOUND, 3);
	lt_put(t, &x1);
	lt_put(t, &x2);
	lt_put(t, &x3);
	struct lease_key kx = key_n(0xc);
	lt_remove(t, x2.ip);
	CHECK_EQ(lt_by_client(t, &kx)->ip, x3.ip);
	lt_remove(t, x3.ip);
	CHECK_EQ(lt_by_client(t, &kx)->ip, x1.ip);
	lt_remove(t, x1.ip);
	CHECK(lt_by_client(t, &kx) == NULL);
	lt_free(t);
}

static void test_available(void)
{
	struct lease_table *t = lt_new();
	struct lease_key mine = key_n(1), other = key_n(2);
	uint32_t ip = IP(198, 18, 3, 3);
	const int64_t ends = 1000;
	CHECK(lt_ip_available(t, ip, &other, 0)); /* no lease */
	static const struct {
		enum lease_state st;
		bool mine_before, other_before; /* at ends - 1 */
	} rules[] = {
		{LEASE_OFFERED, true, false},	{LEASE_BOUND, true, false},
		{LEASE_RELEASED, true, true},	{LEASE_EXPIRED, true, true},
		{LEASE_DECLINED, false, false},
	};
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		struct dhcp_lease l = mk(ip, 1, rules[i].st, ends);
		lt_put(t, &l);
		CHECK_EQ(lt_ip_available(t, ip, &mine, ends - 1), rules[i].mine_before);
		CHECK_EQ(lt_ip_available(t, ip, &other, ends - 1), rules[i].other_before);
		CHECK_EQ(lt_ip_available(t, ip, NULL, ends - 1), rules[i].other_before);
		CHECK(lt_ip_available(t, ip, &mine, ends)); /* ends passed: free for anyone */
		CHECK(lt_ip_available(t, ip, &other, ends));
		CHECK(lt_ip_available(t, ip, &other, ends + 86400));
	}
	CHECK(lt_ip_available(t, IP(198, 18, 3, 4), &other, 0));
	lt_free(t);
}

/* Reservation callback: the addresses listed in ctx (0-terminated). */
static bool reserved_list(void *ctx, uint32_t ip)
{
	for (const uint32_t *p = ctx; *p; p++)
		if (*p == ip)
			return true;
	return false;
}

/* find_free then lease the result as OFFERED for client n; returns the address or 0. */
static uint32_t take(struct lease_table *t, const struct config_range *r, size_t nr, uint32_t net,
		     uint32_t mask, bool (*res)(void *, uint32_t), void *ctx, uint32_t n,
		     int64_t now)
{
	struct lease_key k = key_n(n);
	uint32_t ip = 0;
	if (lt_find_free(t, r, nr, net, mask, res, ctx, &k, now, &ip) != 0)
		return 0;
	struct dhcp_lease l = mk(ip, n, LEASE_OFFERED, now + 60);
	if (!lt_put(t, &l))
		return 0;
	return ip;
}

static void test_find_free_ranges(void)
{
	struct lease_table *t = lt_new();
	const uint32_t net = IP(198, 18, 4, 0), mask = 0xffffff00;
	struct config_range r[2] = {{IP(198, 18, 4, 10), IP(198, 18, 4, 12)},
				    {IP(198, 18, 4, 250), IP(198, 18, 4, 255)}};
	uint32_t resv[] = {IP(198, 18, 4, 11), IP(198, 18, 4, 251), 0};
	const uint32_t want[] = {IP(198, 18, 4, 10),  IP(198, 18, 4, 12),  IP(198, 18, 4, 250),
				 IP(198, 18, 4, 252), IP(198, 18, 4, 253), IP(198, 18, 4, 254)};
	struct lease_key k = key_n(99);
	uint32_t ip = 0, ip2 = 0;

	CHECK_EQ(lt_find_free(t, r, 2, net, mask, reserved_list, resv, &k, 0, &ip), 0);
	CHECK_EQ(lt_find_free(t, r, 2, net, mask, reserved_list, resv, &k, 0, &ip2), 0);
	CHECK_EQ(ip, ip2); /* same answer until leased */
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		CHECK_EQ(take(t, r, 2, net, mask, reserved_list, resv, (uint32_t)i, 0), want[i]);
	/* exhausted: 255 is the broadcast address, 11 and 251 reserved, all others offered */
	ip = 7;
	CHECK_EQ(lt_find_free(t, r, 2, net, mask, reserved_list, resv, &k, 0, &ip), -ENOSPC);
	CHECK_EQ(ip, 7);
	CHECK_EQ(lt_find_free(t, r, 2, net, mask, reserved_list, resv, &k, 59, &ip), -ENOSPC);
	CHECK_EQ(lt_find_free(t, r, 0, net, mask, NULL, NULL, &k, 0, &ip), -ENOSPC);
	/* offers time out at 60: the oldest (all equal ends: lowest address) comes back */
	CHECK_EQ(lt_find_free(t, r, 2, net, mask, reserved_list, resv, &k, 60, &ip), 0);
	CHECK_EQ(ip, IP(198, 18, 4, 10));
	/* an address that loses its lease entirely is never-used again and preferred */
	lt_remove(t, IP(198, 18, 4, 253));
	CHECK_EQ(lt_find_free(t, r, 2, net, mask, reserved_list, resv, &k, 60, &ip), 0);
	CHECK_EQ(ip, IP(198, 18, 4, 253));
	/* reservations changed: reset the cursors */
	lt_reset_cursors(t);
	CHECK_EQ(lt_find_free(t, r, 2, net, mask, NULL, NULL, &k, 0, &ip), 0);
	CHECK_EQ(ip, IP(198, 18, 4, 11));
	lt_free(t);
}

static void test_find_free_net_bcast(void)
{
	struct lease_table *t = lt_new();
	struct lease_key k = key_n(1);
	uint32_t ip;
	/* /30 over the whole block: only .1 and .2 */
	struct config_range r30 = {IP(198, 18, 5, 0), IP(198, 18, 5, 3)};
	CHECK_EQ(take(t, &r30, 1, IP(198, 18, 5, 0), 0xfffffffc, NULL, NULL, 1, 0),
		 IP(198, 18, 5, 1));
	CHECK_EQ(take(t, &r30, 1, IP(198, 18, 5, 0), 0xfffffffc, NULL, NULL, 2, 0),
		 IP(198, 18, 5, 2));
	CHECK_EQ(lt_find_free(t, &r30, 1, IP(198, 18, 5, 0), 0xfffffffc, NULL, NULL, &k, 0, &ip),
		 -ENOSPC);
	/* /31 (RFC 3021): both addresses */
	struct config_range r31 = {IP(198, 18, 6, 0), IP(198, 18, 6, 1)};
	CHECK_EQ(take(t, &r31, 1, IP(198, 18, 6, 0), 0xfffffffe, NULL, NULL, 3, 0),
		 IP(198, 18, 6, 0));
	CHECK_EQ(take(t, &r31, 1, IP(198, 18, 6, 0), 0xfffffffe, NULL, NULL, 4, 0),
		 IP(198, 18, 6, 1));
	/* /32: the one address */
	struct config_range r32 = {IP(198, 18, 7, 9), IP(198, 18, 7, 9)};
	CHECK_EQ(take(t, &r32, 1, IP(198, 18, 7, 9), 0xffffffff, NULL, NULL, 5, 0),
		 IP(198, 18, 7, 9));
	CHECK_EQ(lt_find_free(t, &r32, 1, IP(198, 18, 7, 9), 0xffffffff, NULL, NULL, &k, 0, &ip),
		 -ENOSPC);
	/* the top of the address space does not wrap */
	struct config_range top = {0xfffffffe, 0xffffffff};
	CHECK_EQ(take(t, &top, 1, 0xfffffffe, 0xfffffffe, NULL, NULL, 6, 0), 0xfffffffe);
	CHECK_EQ(take(t, &top, 1, 0xfffffffe, 0xfffffffe, NULL, NULL, 7, 0), 0xffffffff);
	CHECK_EQ(lt_find_free(t, &top, 1, 0xfffffffe, 0xfffffffe, NULL, NULL, &k, 0, &ip), -ENOSPC);
	/* an empty (inverted) range is skipped */
	struct config_range bad = {IP(198, 18, 8, 9), IP(198, 18, 8, 1)};
	CHECK_EQ(lt_find_free(t, &bad, 1, IP(198, 18, 8, 0), 0xffffff00, NULL, NULL, &k, 0, &ip),
		 -ENOSPC);
	lt_free(t);
}

static void test_reuse_oldest(void)
{
	struct lease_table *t = lt_new();
	const uint32_t net = IP(198, 18, 9, 0), mask = 0xffffff00;
	struct config_range r = {IP(198, 18, 9, 1), IP(198, 18, 9, 4)};
	struct lease_key k = key_n(100);
	uint32_t ip;
	/* .1 BOUND until 500, .2 RELEASED at 300, .3 EXPIRED at 200, .4 BOUND until 5000 */
	struct dhcp_lease l1 = mk(IP(198, 18, 9, 1), 1, LEASE_BOUND, 500),
			  l2 = mk(IP(198, 18, 9, 2), 2, LEASE_RELEASED, 300),
			  l3 = mk(IP(198, 18, 9, 3), 3, LEASE_EXPIRED, 200),
			  l4 = mk(IP(198, 18, 9, 4), 4, LEASE_BOUND, 5000);
	lt_put(t, &l1);
	lt_put(t, &l2);
	lt_put(t, &l3);
	lt_put(t, &l4);
	CHECK_EQ(lt_find_free(t, &r, 1, net, mask, NULL, NULL, &k, 100, &ip), 0);
	CHECK_EQ(ip, l3.ip); /* oldest free */
	struct dhcp_lease o = mk(ip, 100, LEASE_OFFERED, 160);
	lt_put(t, &o);
	CHECK_EQ(lt_find_free(t, &r, 1, net, mask, NULL, NULL, &k, 100, &ip), 0);
	CHECK_EQ(ip, l2.ip);
	o = mk(ip, 101, LEASE_OFFERED, 160);
	lt_put(t, &o);
	/* .1 bound until 500, .4 until 5000, .3 .2 offered until 160: nothing at 150 */
	CHECK_EQ(lt_find_free(t, &r, 1, net, mask, NULL, NULL, &k, 150, &ip), -ENOSPC);
	/* at 160 both offers ran out: equal ends, lower address first */
	CHECK_EQ(lt_find_free(t, &r, 1, net, mask, NULL, NULL, &k, 160, &ip), 0);
	CHECK_EQ(ip, l2.ip);
	/* at 600: .3/.2 (160) before .1 (500) */
	o = mk(l2.ip, 102, LEASE_BOUND, 7000);
	lt_put(t, &o);
	o = mk(l3.ip, 103, LEASE_BOUND, 7000);
	lt_put(t, &o);
	CHECK_EQ(lt_find_free(t, &r, 1, net, mask, NULL, NULL, &k, 600, &ip), 0);
	CHECK_EQ(ip, l1.ip);
	/* a RELEASED lease is free at once, even if its ends lies ahead */
	struct dhcp_lease rel = mk(l4.ip, 4, LEASE_RELEASED, 4000);
	lt_put(t, &rel);
	CHECK_EQ(lt_find_free(t, &r, 1, net, mask, NULL, NULL, &k, 100, &ip), 0);
	CHECK_EQ(ip, l4.ip);
	lt_free(t);
}

static void test_declined(void)
{
	struct lease_table *t = lt_new();
	const uint32_t net = IP(198, 18, 10, 0), mask = 0xffffff00;
	struct config_range r = {IP(198, 18, 10, 1), IP(198, 18, 10, 2)};
	struct lease_key k1 = key_n(1);
	uint32_t ip;
	struct dhcp_lease d = mk(IP(198, 18, 10, 1), 1, LEASE_DECLINED, 1000),
			  e = mk(IP(198, 18, 10, 2), 2, LEASE_EXPIRED, 2000);
	lt_put(t, &d);
	lt_put(t, &e);
	/* quarantined .1 is skipped although its ends is older than .2's */
	CHECK_EQ(lt_find_free(t, &r, 1, net, mask, NULL, NULL, &k1, 999, &ip), 0);
	CHECK_EQ(ip, e.ip);
	CHECK(!lt_ip_available(t, d.ip, &k1, 999)); /* not even for the client that declined */
	e = mk(e.ip, 3, LEASE_BOUND, 5000);
	lt_put(t, &e);
	CHECK_EQ(lt_find_free(t, &r, 1, net, mask, NULL, NULL, &k1, 999, &ip), -ENOSPC);
	CHECK_EQ(lt_find_free(t, &r, 1, net, mask, NULL, NULL, &k1, 1000, &ip), 0);
	CHECK_EQ(ip, d.ip);
	lt_free(t);
}

/* Many renewals of the same leases (stale heap entries) keep the search right. */
static void test_renewals(void)
{
	struct lease_table *t = lt_new();
	const uint32_t net = IP(198, 18, 11, 0), mask = 0xffffff00;
	struct config_range r = {IP(198, 18, 11, 1), IP(198, 18, 11, 8)};
	struct lease_key k = key_n(1000);
	uint32_t ip;
	for (uint32_t i = 0; i < 8; i++)
		CHECK(take(t, &r, 1, net, mask, NULL, NULL, i, 0) != 0);
	for (int round = 1; round <= 20000; round++) {
		uint32_t i = (uint32_t)round % 8;
		struct dhcp_lease l = mk(r.lo + i, i, LEASE_BOUND, 100000 + round);
		lt_put(t, &l);
	}
	CHECK_EQ(lt_count(t), 8);
	CHECK_EQ(lt_find_free(t, &r, 1, net, mask, NULL, NULL, &k, 100000, &ip), -ENOSPC);
	/* last round per address i: the one with round % 8 == i closest to 20000 */
	CHECK_EQ(lt_find_free(t, &r, 1, net, mask, NULL, NULL, &k, 200000, &ip), 0);
	CHECK_EQ(ip, r.lo + (19993 % 8));
	lt_free(t);
}

/* A full, swept range gets thousands of addresses back through lt_remove (more than the
 * cursor's stack holds): every one is found again before -ENOSPC. */
static void test_many_removed(void)
{
	struct lease_table *t = lt_new();
	const uint32_t net = IP(198, 18, 32, 0), mask = 0xffffe000; /* /19 */
	struct config_range r = {net, net + 8191};
	struct lease_key k = key_n(0);
	uint32_t ip, n = 0;
	while (take(t, &r, 1, net, mask, NULL, NULL, n, 0) != 0)
		n++;
	CHECK_EQ(n, 8190);
	CHECK_EQ(lt_find_free(t, &r, 1, net, mask, NULL, NULL, &k, 0, &ip), -ENOSPC);
	for (uint32_t a = net + 1; a < net + 8191; a++)
		if (a % 3 != 0)
			lt_remove(t, a);
	size_t left = lt_count(t);
	n = 0;
	for (;;) {
		if (lt_find_free(t, &r, 1, net, mask, NULL, NULL, &k, 0, &ip) != 0)
			break;
		CHECK(ip % 3 != 0 && lt_by_ip(t, ip) == NULL);
		struct dhcp_lease l = mk(ip, 1, LEASE_BOUND, 1000);
		lt_put(t, &l);
		n++;
	}
	CHECK_EQ(n, 8190 - left);
	CHECK_EQ(lt_count(t), 8190);
	lt_free(t);
}

/* ---- randomised comparison with a brute-force model ---- */

#define M_BASE	IP(198, 18, 12, 0)
#define M_ADDRS 64

struct model {
	bool present[M_ADDRS];
	struct dhcp_lease l[M_ADDRS];
	uint64_t seq[M_ADDRS]; /* when last put: the newest lease of a client has the highest */
};

static uint32_t rnd_state = 12345;
static uint32_t rnd(uint32_t n)
{
	rnd_state = rnd_state * 1103515245u + 12345u;
	return (rnd_state >> 8) % n;
}

static bool model_reserved(void *ctx, uint32_t ip)
{
	(void)ctx;
	return ip == M_BASE + 17 || ip == M_BASE + 40;
}

static bool model_free(const struct model *m, uint32_t off, int64_t now)
{
	const struct dhcp_lease *l = &m->l[off];
	return now >= l->ends || l->state == LEASE_RELEASED || l->state == LEASE_EXPIRED;
}

/* Check one lt_find_free answer against the model. */
static void model_check_find(struct lease_table *t, const struct model *m,
			     const struct config_range *r, size_t nr, int64_t now)
{
	struct lease_key k = key_n(777);
	uint32_t ip = 0, best = UINT32_MAX;
	bool fresh = false;
	for (size_t i = 0; i < nr; i++) {
		for (uint32_t a = r[i].lo; a <= r[i].hi; a++) {
			uint32_t off = a - M_BASE;
			if (off == 0 || off == M_ADDRS - 1 || model_reserved(NULL, a))
				continue;
			if (!m->present[off])
				fresh = true;
			else if (model_free(m, off, now) &&
				 (best == UINT32_MAX || m->l[off].ends < m->l[best].ends ||
				  (m->l[off].ends == m->l[best].ends && off < best)))
				best = off;
		}
	}
	int rc = lt_find_free(t, r, nr, M_BASE, 0xffffffc0, model_reserved, NULL, &k, now, &ip);
	if (fresh) {
		CHECK_EQ(rc, 0);
		CHECK(rc == 0 && !m->present[ip - M_BASE] && !model_reserved(NULL, ip));
		CHECK(ip > M_BASE && ip < M_BASE + M_ADDRS - 1);
	} else if (best != UINT32_MAX) {
		CHECK_EQ(rc, 0);
		CHECK_EQ(ip, M_BASE + best);
	} else {
		CHECK_EQ(rc, -ENOSPC);
	}
}

/* Check the client index against the model: newest present lease of each client. */
static void model_check_clients(struct lease_table *t, const struct model *m)
{
	for (uint32_t c = 0; c < 8; c++) {
		struct lease_key k = key_n(c);
		int newest = -1;
		for (int off = 0; off < M_ADDRS; off++)
			if (m->present[off] && m->l[off].chaddr[5] == c &&
			    (newest < 0 || m->seq[off] > m->seq[newest]))
				newest = off;
		struct dhcp_lease *l = lt_by_client(t, &k);
		CHECK(newest < 0 ? l == NULL : l != NULL && l->ip == M_BASE + (uint32_t)newest);
	}
}

static void test_model(void)
{
	static struct model m;
	struct lease_table *t = lt_new();
	struct config_range r[2] = {{M_BASE + 0, M_BASE + 20}, {M_BASE + 30, M_BASE + 63}};
	int64_t now = 1000;
	uint64_t seq = 0;
	memset(&m, 0, sizeof(m));
	for (int step = 0; step < 20000; step++) {
		uint32_t op = rnd(100), off = rnd(M_ADDRS);
		if (op < 55) {
			struct dhcp_lease l =
				mk(M_BASE + off, rnd(8), (enum lease_state)(1 + rnd(5)),
				   now - 50 + rnd(200));
			CHECK(lt_put(t, &l) != NULL);
			m.l[off] = l;
			m.present[off] = true;
			m.seq[off] = ++seq;
		} else if (op < 65) {
			lt_remove(t, M_BASE + off);
			m.present[off] = false;
		} else if (op < 75) {
			now += rnd(30);
		} else if (op < 97) {
			model_check_find(t, &m, r, 2, now);
		} else {
			model_check_clients(t, &m);
		}
		if (step == 10000)
			lt_reset_cursors(t);
	}
	size_t n = 0;
	for (int off = 0; off < M_ADDRS; off++)
		n += m.present[off];
	CHECK_EQ(lt_count(t), n);
	lt_free(t);
}

/* ---- growth to 100,000 leases ---- */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Allocate count addresses (find_free + put as BOUND) for clients first..; false on failure. */
static bool fill(struct lease_table *t, const struct config_range *r, uint32_t first,
		 uint32_t count)
{
	for (uint32_t n = first; n < first + count; n++) {
		struct lease_key k = key_n(n);
		uint32_t ip;
		if (lt_find_free(t, r, 1, IP(198, 18, 0, 0), 0xfffe0000, NULL, NULL, &k, 0, &ip))
			return false;
		struct dhcp_lease l = mk(ip, n, LEASE_BOUND, 86400 + n);
		if (!lt_put(t, &l))
			return false;
	}
	return true;
}

/* Time count allocations starting at the current size, as the best of 5 equal slices (the
 * machine is shared); prints allocations/s. */
static bool timed_fill(struct lease_table *t, const struct config_range *r, uint32_t first,
		       uint32_t count)
{
	double best = 0;
	bool ok = true;
	for (uint32_t i = 0; i < 5; i++) {
		double t0 = now_s();
		ok = ok && fill(t, r, first + i * (count / 5), count / 5);
		double dt = now_s() - t0;
		if (dt > 0 && count / 5 / dt > best)
			best = count / 5 / dt;
	}
	fprintf(stderr, "  lease table: %6u existing leases: %.0f allocations/s\n", first, best);
	return ok;
}

static void test_growth_100k(void)
{
	struct lease_table *t = lt_new();
	struct config_range r = {IP(198, 18, 0, 0), IP(198, 19, 255, 255)}; /* /15 */
	const uint32_t batch = 10000;
	CHECK(timed_fill(t, &r, 0, batch));
	CHECK(fill(t, &r, batch, 50000 - batch));
	CHECK(timed_fill(t, &r, 50000, batch));
	CHECK(fill(t, &r, 50000 + batch, 100000 - 50000 - batch));
	CHECK(timed_fill(t, &r, 100000, batch));
	const uint32_t total = 100000 + batch;
	CHECK_EQ(lt_count(t), total);

	/* allocation in order from the bottom, skipping the network address */
	CHECK_EQ(lt_by_ip(t, IP(198, 18, 0, 0)) == NULL, 1);
	CHECK_EQ(lt_by_ip(t, IP(198, 18, 0, 1))->chaddr[5], 0);
	for (uint32_t n = 0; n < total; n += 997) {
		struct lease_key k = key_n(n);
		struct dhcp_lease *l = lt_by_client(t, &k);
		CHECK(l != NULL && l->ip == IP(198, 18, 0, 1) + n && l->ends == 86400 + n);
		CHECK(l != NULL && lt_by_ip(t, l->ip) == l);
	}
	/* the leases of a /17 inside have all expired: they come back oldest first, and the
	 * reuse rate does not depend on the table size either (first call builds the cursor) */
	struct config_range sub = {IP(198, 18, 16, 0), IP(198, 18, 143, 255)};
	const int64_t later = 1000000;
	struct lease_key k = key_n(0);
	uint32_t ip;
	CHECK_EQ(lt_find_free(t, &sub, 1, r.lo, 0xfffe0000, NULL, NULL, &k, later, &ip), 0);
	CHECK_EQ(ip, sub.lo);
	double t0 = now_s();
	for (uint32_t i = 0; i < batch; i++) {
		k = key_n(200000 + i);
		ip = 0;
		if (lt_find_free(t, &sub, 1, r.lo, 0xfffe0000, NULL, NULL, &k, later, &ip) != 0 ||
		    ip != sub.lo + i)
			break;
		struct dhcp_lease l = mk(ip, 200000 + i, LEASE_OFFERED, later + 60);
		lt_put(t, &l);
	}
	double dt = now_s() - t0;
	CHECK_EQ(ip, sub.lo + batch - 1);
	fprintf(stderr, "  lease table: %6u existing leases: %.0f reuses of expired addresses/s\n",
		total, dt > 0 ? batch / dt : 0.0);
	CHECK_EQ(lt_count(t), total);

	/* remove every other of the first 1000, check the rest is intact */
	for (uint32_t n = 0; n < 1000; n += 2)
		lt_remove(t, IP(198, 18, 0, 1) + n);
	CHECK_EQ(lt_count(t), total - 500);
	for (uint32_t n = 0; n < 2000; n++) {
		struct dhcp_lease *l = lt_by_ip(t, IP(198, 18, 0, 1) + n);
		CHECK(n < 1000 && n % 2 == 0 ? l == NULL : l != NULL);
	}
	lt_free(t);
}

int main(void)
{
	RUN(test_keys);
	RUN(test_put_get_remove);
	RUN(test_client_index);
	RUN(test_available);
	RUN(test_find_free_ranges);
	RUN(test_find_free_net_bcast);
	RUN(test_reuse_oldest);
	RUN(test_declined);
	RUN(test_renewals);
	RUN(test_many_removed);
	RUN(test_model);
	RUN(test_growth_100k);
	return test_summary();
}
