/* Lease store: round trips, transactions, damaged and foreign databases, concurrency with a
 * read-only reader, throughput at 100,000 leases (measured and printed), and kill -9 safety
 * (a child commits in a loop and is killed at random moments). Every test works in its own
 * mkdtemp directory under $TMPDIR (default /tmp): use a disk-backed one for real fsync costs. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "store/store.h"
#include "test.h"

/* --- helpers ------------------------------------------------------------------------------ */

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(p);
}

static void rm_rf(const char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* A fresh empty directory (mkdtemp); the caller frees the returned path. */
static char *tmpdir_new(void)
{
	const char *base = getenv("TMPDIR");
	char *t;
	if (asprintf(&t, "%s/pxed-store-XXXXXX", base && *base ? base : "/tmp") < 0 || !mkdtemp(t))
		abort();
	return t;
}

/* state_dir for a test: a subdirectory that store_open has to create. */
static char *state_dir_new(char **top)
{
	char *s;
	*top = tmpdir_new();
	if (asprintf(&s, "%s/state", *top) < 0)
		abort();
	return s;
}

static void done_dir(char *top, char *state)
{
	rm_rf(top);
	free(top);
	free(state);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A lease with every field set from ip and k. */
static struct dhcp_lease mk_lease(uint32_t ip, unsigned k)
{
	struct dhcp_lease l;
	memset(&l, 0, sizeof(l));
	l.ip = ip;
	l.state = (enum lease_state)(LEASE_BOUND + k % 4);
	l.htype = 1;
	l.hlen = 6;
	for (int i = 0; i < 6; i++)
		l.chaddr[i] = (uint8_t)(0x52 + i * 7 + k + (ip >> (i * 4)));
	l.client_id_len = (uint8_t)(k % 3 ? 7 : 0);
	for (int i = 0; i < l.client_id_len; i++)
		l.client_id[i] = (uint8_t)(k * 31 + i);
	l.starts = 1700000000 + (int64_t)k;
	l.ends = l.starts + 3600 + ip % 1000;
	snprintf(l.hostname, sizeof(l.hostname), "host-%u-%u", ip, k);
	if (k % 2)
		snprintf(l.node, sizeof(l.node), "node%u", k);
	l.arch = (uint16_t)(k % 5 ? k % 11 : 0xffff);
	return l;
}

static bool lease_same(const struct dhcp_lease *a, const struct dhcp_lease *b)
{
	return a->ip == b->ip && a->state == b->state && a->htype == b->htype &&
	       a->hlen == b->hlen && !memcmp(a->chaddr, b->chaddr, sizeof(a->chaddr)) &&
	       a->client_id_len == b->client_id_len &&
	       !memcmp(a->client_id, b->client_id, a->client_id_len) && a->starts == b->starts &&
	       a->ends == b->ends && !strcmp(a->hostname, b->hostname) &&
	       !strcmp(a->node, b->node) && a->arch == b->arch;
}

/* Every loaded lease, in load order. */
struct lease_vec {
	struct dhcp_lease *v;
	size_t n, cap;
};

static int collect(void *ctx, const struct dhcp_lease *l)
{
	struct lease_vec *lv = ctx;
	if (lv->n == lv->cap) {
		lv->cap = lv->cap ? 2 * lv->cap : 64;
		lv->v = realloc(lv->v, lv->cap * sizeof(*lv->v));
		if (!lv->v)
			abort();
	}
	lv->v[lv->n++] = *l;
	return 0;
}

/* Open state read-write, load everything into *lv, close. Returns the open result. */
static int load_all(const char *state, struct lease_vec *lv)
{
	struct store *st;
	char err[1024];
	lv->n = 0;
	int r = store_open(state, &st, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "store_open: %s\n", err);
		return r;
	}
	r = store_load_leases(st, collect, lv);
	store_close(st);
	return r;
}

static const struct dhcp_lease *find_ip(const struct lease_vec *lv, uint32_t ip)
{
	size_t lo = 0, hi = lv->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (lv->v[mid].ip == ip)
			return &lv->v[mid];
		if (lv->v[mid].ip < ip)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Read a whole file (or NULL); *len its size. */
static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *b = malloc((size_t)n + 1);
	if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
		free(b);
		b = NULL;
	}
	fclose(f);
	*len = (size_t)n;
	return b;
}

static void spew(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(data, 1, len, f) != len)
		abort();
	fclose(f);
}

static char *db_path(const char *state)
{
	char *p;
	if (asprintf(&p, "%s/%s", state, STORE_DB_NAME) < 0)
		abort();
	return p;
}

/* Create a store in state with n committed leases (ips 10.0.0.0 + i). */
static void fill(const char *state, unsigned n)
{
	struct store *st;
	char err[1024];
	CHECK_EQ(store_open(state, &st, err, sizeof(err)), 0);
	for (unsigned i = 0; i < n; i++) {
		struct dhcp_lease l = mk_lease(0x0a000000u + i, i);
		CHECK_EQ(store_put_lease(st, &l), 0);
	}
	CHECK_EQ(store_commit(st), 0);
	store_close(st);
}

/* --- round trips and transactions -------------------------------------------------------- */

static void test_round_trip(void)
{
	char *top, *state = state_dir_new(&top);
	struct store *st;
	char err[1024];
	struct dhcp_lease in[8];
	CHECK_EQ(store_open(state, &st, err, sizeof(err)), 0);
	struct stat sb;
	CHECK(stat(state, &sb) == 0 && S_ISDIR(sb.st_mode) && (sb.st_mode & 0777) == 0750);
	for (unsigned k = 0; k < 8; k++)
		in[k] = mk_lease(0xc6120000u + 21 + k * 1000, k);
	/* Edges: 16-byte chaddr, longest client id, host name and node; extreme values. */
	in[0].hlen = 16;
	for (int i = 0; i < 16; i++)
		in[0].chaddr[i] = (uint8_t)(0xf0 + i);
	in[0].client_id_len = LEASE_CLIENT_ID_MAX;
	memset(in[0].client_id, 0xab, LEASE_CLIENT_ID_MAX);
	memset(in[0].hostname, 'h', LEASE_HOSTNAME_MAX - 1);
	memset(in[0].node, 'n', LEASE_NODE_MAX - 1);
	in[1].ip = 0xffffffffu;
	in[1].starts = INT64_MIN;
	in[1].ends = INT64_MAX;
	in[2].ip = 0;
	in[2].hlen = 0;
	memset(in[2].chaddr, 0, sizeof(in[2].chaddr));
	in[3].htype = 32;
	in[3].hostname[0] = 0;
	for (unsigned k = 0; k < 8; k++)
		CHECK_EQ(store_put_lease(st, &in[k]), 0);
	CHECK_EQ(store_staged(st), 8);
	CHECK_EQ(store_commit(st), 0);
	CHECK_EQ(store_staged(st), 0);
	struct store_stats ss;
	store_get_stats(st, &ss);
	CHECK_EQ(ss.commits, 1);
	CHECK_EQ(ss.last_commit_changes, 8);
	CHECK_EQ(ss.changes, 8);
	store_close(st);

	struct lease_vec lv = {0};
	CHECK_EQ(load_all(state, &lv), 0);
	CHECK_EQ(lv.n, 8);
	for (size_t i = 1; i < lv.n; i++)
		CHECK(lv.v[i - 1].ip < lv.v[i].ip); /* ordered by IP */
	for (unsigned k = 0; k < 8; k++) {
		const struct dhcp_lease *got = find_ip(&lv, in[k].ip);
		CHECK(got && lease_same(got, &in[k]));
	}
	free(lv.v);
	done_dir(top, state);
}

/* chaddr bytes past hlen are not kept; hlen itself is (even > 16). */
static void test_chaddr_past_hlen(void)
{
	char *top, *state = state_dir_new(&top);
	struct store *st;
	char err[1024];
	struct dhcp_lease l = mk_lease(0x0a000001, 1);
	l.chaddr[10] = 0x99; /* beyond hlen 6 */
	struct dhcp_lease big = mk_lease(0x0a000002, 2);
	big.hlen = 20;
	CHECK_EQ(store_open(state, &st, err, sizeof(err)), 0);
	CHECK_EQ(store_put_lease(st, &l), 0);
	CHECK_EQ(store_put_lease(st, &big), 0);
	CHECK_EQ(store_commit(st), 0);
	store_close(st);
	struct lease_vec lv = {0};
	CHECK_EQ(load_all(state, &lv), 0);
	CHECK_EQ(lv.n, 2);
	l.chaddr[10] = 0;
	CHECK(lv.n == 2 && lease_same(&lv.v[0], &l) && lease_same(&lv.v[1], &big));
	free(lv.v);
	done_dir(top, state);
}

static void test_update_delete(void)
{
	char *top, *state = state_dir_new(&top);
	struct store *st;
	char err[1024];
	fill(state, 10);
	CHECK_EQ(store_open(state, &st, err, sizeof(err)), 0);
	struct dhcp_lease l = mk_lease(0x0a000003, 3);
	l.state = LEASE_RELEASED;
	l.ends = 42;
	strcpy(l.hostname, "renamed");
	CHECK_EQ(store_put_lease(st, &l), 0);
	CHECK_EQ(store_delete_lease(st, 0x0a000005), 0);
	CHECK_EQ(store_delete_lease(st, 0x0b000000), 0); /* missing row: fine */
	CHECK_EQ(store_commit(st), 0);
	store_close(st);
	struct lease_vec lv = {0};
	CHECK_EQ(load_all(state, &lv), 0);
	CHECK_EQ(lv.n, 9);
	const struct dhcp_lease *got = find_ip(&lv, 0x0a000003);
	CHECK(got && lease_same(got, &l));
	CHECK(!find_ip(&lv, 0x0a000005));
	free(lv.v);
	done_dir(top, state);
}

static void test_invalid_input(void)
{
	char *top, *state = state_dir_new(&top);
	struct store *st;
	char err[1024];
	CHECK_EQ(store_open(state, &st, err, sizeof(err)), 0);
	struct dhcp_lease l = mk_lease(1, 1);
	l.state = LEASE_OFFERED;
	CHECK_EQ(store_put_lease(st, &l), -EINVAL);
	l.state = (enum lease_state)9;
	CHECK_EQ(store_put_lease(st, &l), -EINVAL);
	l.state = LEASE_BOUND;
	l.client_id_len = LEASE_CLIENT_ID_MAX + 1;
	CHECK_EQ(store_put_lease(st, &l), -EINVAL);
	struct store_event ev = {.time_ms = 1};
	CHECK_EQ(store_add_event(st, &ev), -EINVAL); /* no kind */
	CHECK_EQ(store_staged(st), 0);
	CHECK_EQ(store_commit(st), -EINVAL); /* the batch failed */
	CHECK(strstr(store_errmsg(st), "not stored"));
	CHECK_EQ(store_commit(st), 0); /* the next one starts clean: nothing staged */

	/* All or nothing: a change that fails in the middle fails the whole batch, even the
	 * changes staged after it. */
	struct dhcp_lease a = mk_lease(0x0a000001, 1), b = mk_lease(0x0a000002, 2);
	CHECK_EQ(store_put_lease(st, &a), 0);
	CHECK_EQ(store_put_lease(st, &l), -EINVAL);
	CHECK_EQ(store_put_lease(st, &b), 0);
	CHECK_EQ(store_commit(st), -EINVAL);
	struct store_stats ss;
	store_get_stats(st, &ss);
	CHECK_EQ(ss.commit_failures, 2);
	CHECK_EQ(ss.commits, 0);
	struct lease_vec lv = {0};
	CHECK_EQ(store_load_leases(st, collect, &lv), 0);
	CHECK_EQ(lv.n, 0);
	CHECK_EQ(store_put_lease(st, &b), 0);
	CHECK_EQ(store_commit(st), 0);
	store_close(st);
	CHECK_EQ(load_all(state, &lv), 0);
	CHECK(lv.n == 1 && lease_same(&lv.v[0], &b));
	free(lv.v);
	store_close(NULL);
	done_dir(top, state);
}

static void test_reload_and_uncommitted(void)
{
	char *top, *state = state_dir_new(&top);
	struct store *st;
	char err[1024];
	fill(state, 100);
	CHECK_EQ(store_open(state, &st, err, sizeof(err)), 0);
	struct dhcp_lease extra = mk_lease(0x0a100000, 7);
	CHECK_EQ(store_put_lease(st, &extra), 0);
	CHECK_EQ(store_delete_lease(st, 0x0a000000), 0);
	struct lease_vec lv = {0};
	CHECK_EQ(store_load_leases(st, collect, &lv), 0);
	CHECK_EQ(lv.n, 100); /* its own staged changes: +1 -1 */
	store_close(st);     /* rolls back */
	CHECK_EQ(load_all(state, &lv), 0);
	CHECK_EQ(lv.n, 100);
	CHECK(find_ip(&lv, 0x0a000000) && !find_ip(&lv, 0x0a100000));

	/* A process that stages thousands of changes (SQLite spills them into the WAL) and dies
	 * without committing leaves nothing behind. */
	pid_t pid = fork();
	if (pid == 0) {
		if (store_open(state, &st, err, sizeof(err)) < 0)
			_exit(2);
		for (unsigned i = 0; i < 20000; i++) {
			struct dhcp_lease l = mk_lease(0x0b000000 + i, i);
			if (store_put_lease(st, &l) < 0)
				_exit(3);
		}
		kill(getpid(), SIGKILL);
		_exit(4);
	}
	int status;
	waitpid(pid, &status, 0);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	CHECK_EQ(load_all(state, &lv), 0);
	CHECK_EQ(lv.n, 100);
	free(lv.v);
	done_dir(top, state);
}

static void test_events(void)
{
	char *top, *state = state_dir_new(&top);
	struct store *st;
	char err[1024];
	const uint8_t mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
	CHECK_EQ(store_open(state, &st, err, sizeof(err)), 0);
	struct store_event e1 = {.time_ms = 1700000000123,
				 .node = "slave21",
				 .mac = mac,
				 .mac_len = 6,
				 .kind = "dhcp-ack",
				 .detail = "198.18.0.21"};
	struct store_event e2 = {.time_ms = 1700000000200, .kind = "tftp-done"};
	CHECK_EQ(store_add_event(st, &e1), 0);
	CHECK_EQ(store_add_event(st, &e2), 0);
	CHECK_EQ(store_commit(st), 0);
	store_close(st);
	char *db = db_path(state);
	sqlite3 *h;
	sqlite3_stmt *s;
	CHECK_EQ(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	CHECK_EQ(sqlite3_prepare_v2(h,
				    "SELECT id, time, node, mac, kind, detail FROM boot_events "
				    "ORDER BY id",
				    -1, &s, NULL),
		 SQLITE_OK);
	CHECK_EQ(sqlite3_step(s), SQLITE_ROW);
	CHECK_EQ(sqlite3_column_int64(s, 1), 1700000000123);
	CHECK_STR((const char *)sqlite3_column_text(s, 2), "slave21");
	CHECK_STR((const char *)sqlite3_column_text(s, 3), "52:54:00:12:34:56");
	CHECK_STR((const char *)sqlite3_column_text(s, 4), "dhcp-ack");
	CHECK_STR((const char *)sqlite3_column_text(s, 5), "198.18.0.21");
	int64_t id1 = sqlite3_column_int64(s, 0);
	CHECK_EQ(sqlite3_step(s), SQLITE_ROW);
	CHECK(sqlite3_column_int64(s, 0) > id1);
	CHECK_EQ(sqlite3_column_type(s, 2), SQLITE_NULL);
	CHECK_EQ(sqlite3_column_type(s, 3), SQLITE_NULL);
	CHECK_EQ(sqlite3_step(s), SQLITE_DONE);
	sqlite3_finalize(s);
	sqlite3_close(h);
	free(db);
	done_dir(top, state);
}

/* --- several processes -------------------------------------------------------------------- */

/* A second writer is refused; a read-only reader sees committed data only and never blocks
 * the writer, even while it is in the middle of reading. */
static struct store *g_writer; /* for on_read_commit */

static int on_read_commit(void *ctx, const struct dhcp_lease *l)
{
	int *calls = ctx;
	if ((*calls)++ == 0) {
		struct dhcp_lease x = mk_lease(0x0c000000, 1);
		CHECK_EQ(store_put_lease(g_writer, &x), 0);
		CHECK_EQ(store_commit(g_writer), 0);
	}
	return 0;
}

static void test_lock_and_reader(void)
{
	char *top, *state = state_dir_new(&top);
	struct store *w, *w2 = NULL, *r;
	char err[1024];
	fill(state, 50);
	CHECK_EQ(store_open(state, &w, err, sizeof(err)), 0);
	CHECK_EQ(store_open(state, &w2, err, sizeof(err)), -EBUSY);
	CHECK(w2 == NULL);
	CHECK(strstr(err, "another pxed process") && strstr(err, "pid "));
	struct dhcp_lease l = mk_lease(0x0d000000, 1);
	CHECK_EQ(store_put_lease(w, &l), 0); /* staged, not committed */
	CHECK_EQ(store_open_readonly(state, &r, err, sizeof(err)), 0);
	struct lease_vec lv = {0};
	CHECK_EQ(store_load_leases(r, collect, &lv), 0);
	CHECK_EQ(lv.n, 50);
	lv.n = 0;
	CHECK_EQ(store_put_lease(r, &l), -EROFS);
	CHECK_EQ(store_commit(w), 0);
	CHECK_EQ(store_load_leases(r, collect, &lv), 0);
	CHECK_EQ(lv.n, 51);
	lv.n = 0;
	int calls = 0;
	g_writer = w;
	CHECK_EQ(store_load_leases(r, on_read_commit, &calls), 0);
	CHECK_EQ(calls, 51); /* the reader's snapshot: without the lease committed meanwhile */
	CHECK_EQ(store_load_leases(r, collect, &lv), 0);
	CHECK_EQ(lv.n, 52);
	store_close(r);
	store_close(w);
	CHECK_EQ(store_open(state, &w, err, sizeof(err)), 0); /* lock released */
	store_close(w);
	free(lv.v);
	done_dir(top, state);
}

static void test_readonly_missing(void)
{
	char *top, *state = state_dir_new(&top);
	struct store *r = NULL;
	char err[1024];
	CHECK_EQ(store_open_readonly(state, &r, err, sizeof(err)), -ENOENT);
	CHECK(r == NULL && strstr(err, "no lease database"));
	struct stat sb;
	CHECK(stat(state, &sb) < 0); /* created nothing */
	done_dir(top, state);
}

/* --- damaged, foreign and newer databases ------------------------------------------------ */

/* store_open must fail with want and a message containing every needle, and leave pxed.db
 * byte-identical. */
static void expect_refused_msg(const char *state, int want, const char *const *needles, char *msg,
			       size_t msglen)
{
	char *db = db_path(state);
	size_t n0, n1;
	uint8_t *before = slurp(db, &n0);
	struct store *st = NULL;
	char err[1024] = "";
	CHECK_EQ(store_open(state, &st, err, sizeof(err)), want);
	CHECK(st == NULL);
	for (; *needles; needles++)
		if (!strstr(err, *needles)) {
			fprintf(stderr, "  message lacks \"%s\": %s\n", *needles, err);
			CHECK(!"message content");
		}
	uint8_t *after = slurp(db, &n1);
	CHECK(before && after && n0 == n1 && !memcmp(before, after, n0));
	fprintf(stderr, "  refused: %s\n", err);
	if (msg)
		snprintf(msg, msglen, "%s", err);
	free(before);
	free(after);
	free(db);
}

static void expect_refused(const char *state, int want, const char *const *needles)
{
	expect_refused_msg(state, want, needles, NULL, 0);
}

static const char *const damaged_needles[] = {
	"pxed.db", "damaged", "does not change or delete", "mv pxed.db* broken/", ".dump", NULL};

static void test_garbage_file(void)
{
	char *top, *state = state_dir_new(&top);
	char *db = db_path(state);
	uint8_t junk[8192];
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)(i * 131 + 7);
	mkdir(state, 0750);
	spew(db, junk, sizeof(junk));
	expect_refused(state, -EUCLEAN, damaged_needles);
	CHECK(strstr(db, state) != NULL);
	/* The same file read-only (pxed leases) gets the same kind of message. */
	struct store *r = NULL;
	char err[1024];
	CHECK_EQ(store_open_readonly(state, &r, err, sizeof(err)), -EUCLEAN);
	CHECK(strstr(err, "damaged") && strstr(err, ".dump"));
	free(db);
	done_dir(top, state);
}

static void test_truncated_file(void)
{
	char *top, *state = state_dir_new(&top);
	char *db = db_path(state);
	fill(state, 5000);
	struct stat sb;
	CHECK_EQ(stat(db, &sb), 0);
	CHECK(truncate(db, sb.st_size / 2) == 0);
	expect_refused(state, -EUCLEAN, damaged_needles);
	CHECK(truncate(db, 100) == 0); /* shorter than the header page */
	expect_refused(state, -EUCLEAN, damaged_needles);
	CHECK(truncate(db, 0) == 0); /* pxed never leaves an empty pxed.db behind */
	expect_refused(state, -EUCLEAN, damaged_needles);
	free(db);
	done_dir(top, state);
}

/* One page in the middle overwritten: only quick_check can tell. */
static void test_corrupt_page(void)
{
	char *top, *state = state_dir_new(&top);
	char *db = db_path(state);
	fill(state, 5000);
	size_t n;
	uint8_t *b = slurp(db, &n);
	CHECK(b && n > 16 * 4096);
	uint8_t *orig = malloc(n);
	memcpy(orig, b, n);
	memset(b + 8 * 4096, 0x5a, 4096);
	spew(db, b, n);
	expect_refused(state, -EUCLEAN, damaged_needles);
	/* A single cell pointer of a leaf page pointing out of its page. */
	orig[11 * 4096 + 8] ^= 0x40;
	spew(db, orig, n);
	expect_refused(state, -EUCLEAN, damaged_needles);
	free(orig);
	free(b);
	free(db);
	done_dir(top, state);
}

/* Run sql on the database file directly. */
static void raw_exec(const char *state, const char *sql)
{
	char *db = db_path(state);
	sqlite3 *h;
	CHECK_EQ(sqlite3_open(db, &h), SQLITE_OK);
	CHECK_EQ(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
	CHECK_EQ(sqlite3_close(h), SQLITE_OK);
	free(db);
}

/* A row edited by hand into something out of range is reported, naming the row. */
static void test_bad_row(void)
{
	char *top, *state = state_dir_new(&top);
	fill(state, 10);
	raw_exec(state, "UPDATE leases SET state = 9 WHERE ip = 167772163");
	struct store *st;
	char err[1024];
	CHECK_EQ(store_open(state, &st, err, sizeof(err)), 0);
	struct lease_vec lv = {0};
	CHECK_EQ(store_load_leases(st, collect, &lv), -EUCLEAN);
	CHECK(strstr(store_errmsg(st), "ip 167772163") && strstr(store_errmsg(st), "state"));
	CHECK_EQ(lv.n, 3);
	store_close(st);
	free(lv.v);
	done_dir(top, state);
}

/* Copy the text of msg between from (excluded) and to into out; false when absent. */
static bool between(const char *msg, const char *from, const char *to, char *out, size_t cap)
{
	const char *a = strstr(msg, from), *b;
	if (!a || !(b = strstr(a + strlen(from), to)))
		return false;
	a += strlen(from);
	snprintf(out, cap, "%.*s", (int)(b - a), a);
	return true;
}

/* The way out the message gives works: its two commands, run as given, move the damaged
 * database aside and recover its readable rows into a new one that pxed accepts. */
static void test_recover_way_out(void)
{
	if (system("command -v sqlite3 >/dev/null 2>&1") != 0) {
		fprintf(stderr, "  (no sqlite3 shell: way-out check skipped)\n");
		return;
	}
	char *top, *state = state_dir_new(&top);
	char *db = db_path(state), *cmd;
	char msg[1024], move[512], recover[512];
	fill(state, 3000);
	size_t n;
	uint8_t *b = slurp(db, &n);
	memset(b + 20 * 4096, 0xa5, 4096);
	spew(db, b, n);
	expect_refused_msg(state, -EUCLEAN, damaged_needles, msg, sizeof(msg));
	CHECK(between(msg, "-shm files: ", " ; then", move, sizeof(move)));
	CHECK(between(msg, "can be read: ", " (docs", recover, sizeof(recover)));
	if (asprintf(&cmd, "(%s && %s) 2>/dev/null", move, recover) < 0)
		abort();
	CHECK_EQ(system(cmd), 0);
	struct lease_vec lv = {0};
	CHECK_EQ(load_all(state, &lv), 0);
	fprintf(stderr, "  recovered %zu of 3000 leases from a database with one bad page\n", lv.n);
	CHECK(lv.n > 2000 && lv.n <= 3000);
	free(lv.v);
	free(cmd);
	free(b);
	free(db);
	done_dir(top, state);
}

static void test_newer_schema(void)
{
	char *top, *state = state_dir_new(&top);
	fill(state, 3);
	raw_exec(state, "UPDATE meta SET value = 99 WHERE key = 'schema_version'");
	static const char *const needles[] = {"pxed.db", "newer pxed", "schema version 99",
					      "knows 1", NULL};
	expect_refused(state, -EPROTONOSUPPORT, needles);
	done_dir(top, state);
}

static void test_foreign_db(void)
{
	char *top, *state = state_dir_new(&top);
	mkdir(state, 0750);
	raw_exec(state, "CREATE TABLE photos (id INTEGER PRIMARY KEY, name TEXT);"
			"INSERT INTO photos VALUES (1, 'cat.jpg');");
	static const char *const needles[] = {"pxed.db", "not a pxed lease store", NULL};
	expect_refused(state, -EUCLEAN, needles);
	done_dir(top, state);
}

/* pxed.db moved away but its -wal left: a new database must not adopt that WAL. */
static void test_orphan_wal(void)
{
	char *top, *state = state_dir_new(&top);
	char *db = db_path(state), *wal;
	if (asprintf(&wal, "%s-wal", db) < 0)
		abort();
	mkdir(state, 0750);
	spew(wal, "x", 1);
	struct store *st = NULL;
	char err[1024];
	CHECK_EQ(store_open(state, &st, err, sizeof(err)), -EUCLEAN);
	CHECK(strstr(err, "pxed.db-wal") && strstr(err, "belong together"));
	struct stat sb;
	CHECK(stat(db, &sb) < 0 && errno == ENOENT);
	free(wal);
	free(db);
	done_dir(top, state);
}

/* --- throughput ----------------------------------------------------------------------------- */

#define BENCH_LEASES 100000
#define BENCH_BATCH  256

/* Average cost of writing 4 KiB and fsync'ing it, as a reference for the commit cost. */
static double fsync_baseline_ms(const char *dir)
{
	char *p;
	char page[4096];
	memset(page, 0x11, sizeof(page));
	if (asprintf(&p, "%s/fsync-probe", dir) < 0)
		abort();
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	double t0 = now_s();
	for (int i = 0; i < 50; i++)
		if (pwrite(fd, page, sizeof(page), (off_t)i * 4096) < 0 || fdatasync(fd) < 0)
			abort();
	double ms = (now_s() - t0) * 1000 / 50;
	close(fd);
	unlink(p);
	free(p);
	return ms;
}

/* Time a raw PRAGMA quick_check on the database in state. */
static double quick_check_ms(const char *state)
{
	char *db = db_path(state);
	sqlite3 *h;
	sqlite3_stmt *s;
	CHECK_EQ(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	double t0 = now_s();
	CHECK_EQ(sqlite3_prepare_v2(h, "PRAGMA quick_check", -1, &s, NULL), SQLITE_OK);
	CHECK_EQ(sqlite3_step(s), SQLITE_ROW);
	CHECK_STR((const char *)sqlite3_column_text(s, 0), "ok");
	sqlite3_finalize(s);
	double ms = (now_s() - t0) * 1000;
	sqlite3_close(h);
	free(db);
	return ms;
}

/* Put n leases (ips from ip0, or random existing ones with random_ips) in batches with one
 * commit each; returns the seconds taken and adds the time spent staging to *put_s. */
static double run_batches(struct store *st, unsigned n, uint32_t ip0, bool random_ips,
			  double *put_s)
{
	double t0 = now_s(), staging = 0;
	for (unsigned i = 0; i < n; i += BENCH_BATCH) {
		double b0 = now_s();
		for (unsigned j = i; j < i + BENCH_BATCH && j < n; j++) {
			uint32_t off = random_ips ? (uint32_t)random() % BENCH_LEASES : j;
			struct dhcp_lease l = mk_lease(ip0 + off, j);
			if (store_put_lease(st, &l) < 0)
				abort();
		}
		staging += now_s() - b0;
		CHECK_EQ(store_commit(st), 0);
	}
	*put_s += staging;
	return now_s() - t0;
}

static void test_throughput_100k(void)
{
	char *top, *state = state_dir_new(&top);
	struct store *st;
	char err[1024];
	CHECK_EQ(store_open(state, &st, err, sizeof(err)), 0);
	double put_s = 0, first_s = 0, last_s = 0, tmp = 0;
	double total = 0;
	for (unsigned part = 0; part < 10; part++) {
		double s =
			run_batches(st, BENCH_LEASES / 10, 0x0a000000 + part * (BENCH_LEASES / 10),
				    false, part == 0 || part == 9 ? &put_s : &tmp);
		total += s;
		if (part == 0)
			first_s = s;
		if (part == 9)
			last_s = s;
	}
	put_s += tmp;
	struct store_stats ss;
	store_get_stats(st, &ss);
	CHECK_EQ(ss.changes, BENCH_LEASES);
	fprintf(stderr,
		"  insert %d leases, batches of %d: %.2f s = %.0f commits/s, %.0f leases/s; "
		"staging %.2f us/lease; commit avg %.2f ms, max %.2f ms; fsync of 4 KiB alone "
		"%.2f ms\n",
		BENCH_LEASES, BENCH_BATCH, total, (double)ss.commits / total, BENCH_LEASES / total,
		put_s * 1e6 / BENCH_LEASES, (double)ss.total_commit_us / 1000 / (double)ss.commits,
		(double)ss.max_commit_us / 1000, fsync_baseline_ms(state));
	fprintf(stderr, "  rate flat as the table grows: first 10k %.0f leases/s, last 10k %.0f\n",
		BENCH_LEASES / 10 / first_s, BENCH_LEASES / 10 / last_s);
	double upd_put = 0;
	double upd = run_batches(st, BENCH_LEASES / 4, 0x0a000000, true, &upd_put);
	fprintf(stderr, "  renew %d random leases of 100k: %.0f leases/s, staging %.2f us/lease\n",
		BENCH_LEASES / 4, BENCH_LEASES / 4 / upd, upd_put * 1e6 / (BENCH_LEASES / 4));
	store_close(st);

	double t0 = now_s();
	CHECK_EQ(store_open(state, &st, err, sizeof(err)), 0);
	double open_ms = (now_s() - t0) * 1000;
	struct lease_vec lv = {0};
	t0 = now_s();
	CHECK_EQ(store_load_leases(st, collect, &lv), 0);
	double load_ms = (now_s() - t0) * 1000;
	CHECK_EQ(lv.n, BENCH_LEASES);
	store_close(st);
	fprintf(stderr,
		"  at 100k leases: store_open %.1f ms (PRAGMA quick_check alone %.1f ms), "
		"reload of all leases %.1f ms\n",
		open_ms, quick_check_ms(state), load_ms);
	free(lv.v);
	done_dir(top, state);
}

/* --- kill -9 ------------------------------------------------------------------------------- */

#define CRASH_ROUNDS 20

/* Child: commit random batches forever; after each commit, report its ips on fd. */
static void crash_child(const char *state, unsigned round, int fd)
{
	struct store *st;
	char err[1024];
	if (store_open(state, &st, err, sizeof(err)) < 0) {
		fprintf(stderr, "child: %s\n", err);
		_exit(2);
	}
	uint32_t ips[64];
	for (uint32_t i = 0;;) {
		unsigned k = 1 + (unsigned)random() % 64;
		for (unsigned j = 0; j < k; j++, i++) {
			struct dhcp_lease l = mk_lease(((round + 1) << 24) | i, i);
			ips[j] = l.ip;
			if (store_put_lease(st, &l) < 0)
				_exit(3);
		}
		if (store_commit(st) < 0)
			_exit(4);
		if (write(fd, ips, k * sizeof(ips[0])) != (ssize_t)(k * sizeof(ips[0])))
			_exit(5);
	}
}

/* Read what the child reports until deadline (and after it dies, the rest). */
static void crash_collect(int fd, double deadline, uint32_t **ips, size_t *n, size_t *cap)
{
	for (;;) {
		double left = deadline - now_s();
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (deadline > 0 && left <= 0)
			return;
		if (poll(&p, 1, deadline > 0 ? (int)(left * 1000) + 1 : -1) <= 0)
			continue;
		uint32_t buf[1024];
		ssize_t got = read(fd, buf, sizeof(buf));
		if (got <= 0)
			return;
		for (size_t i = 0; i < (size_t)got / 4; i++) {
			if (*n == *cap) {
				*cap = *cap ? 2 * *cap : 4096;
				*ips = realloc(*ips, *cap * sizeof(**ips));
				if (!*ips)
					abort();
			}
			(*ips)[(*n)++] = buf[i];
		}
	}
}

/* One round: start a child, kill it after a random delay, check every reported lease. */
static void crash_round(const char *state, unsigned round, size_t *reported, size_t *rows,
			unsigned *before_commit)
{
	int pfd[2];
	if (pipe(pfd) < 0)
		abort();
	pid_t pid = fork();
	if (pid == 0) {
		close(pfd[0]);
		srandom((unsigned)getpid());
		crash_child(state, round, pfd[1]);
	}
	close(pfd[1]);
	/* The first rounds die within milliseconds (while opening or creating the database),
	 * a quarter of the others within 20 ms, the rest within 1.5 s. */
	double delay = round < 2	   ? (double)(random() % 5) / 1000
		       : random() % 4 == 0 ? (double)(random() % 20) / 1000
					   : (double)(random() % 1500) / 1000;
	uint32_t *ips = NULL;
	size_t n = 0, cap = 0;
	crash_collect(pfd[0], now_s() + delay, &ips, &n, &cap);
	kill(pid, SIGKILL);
	int status;
	waitpid(pid, &status, 0);
	crash_collect(pfd[0], 0, &ips, &n, &cap);
	close(pfd[0]);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

	struct lease_vec lv = {0};
	CHECK_EQ(load_all(state, &lv), 0);
	size_t missing = 0;
	for (size_t i = 0; i < n; i++) {
		const struct dhcp_lease *l = find_ip(&lv, ips[i]);
		struct dhcp_lease want = mk_lease(ips[i], ips[i] & 0xffffff);
		if (!l || !lease_same(l, &want))
			missing++;
	}
	CHECK_EQ(missing, 0);
	*reported += n;
	*before_commit += n == 0;
	*rows = lv.n;
	free(lv.v);
	free(ips);
}

static void test_kill9(void)
{
	char *top, *state = state_dir_new(&top);
	unsigned seed = getenv("PXED_TEST_SEED") ? (unsigned)atoi(getenv("PXED_TEST_SEED"))
						 : (unsigned)time(NULL) ^ (unsigned)getpid();
	srandom(seed);
	size_t reported = 0, rows = 0;
	unsigned early = 0;
	double t0 = now_s();
	for (unsigned round = 0; round < CRASH_ROUNDS; round++)
		crash_round(state, round, &reported, &rows, &early);
	fprintf(stderr,
		"  %d kill -9 rounds in %.1f s (seed %u, %u before a first commit): %zu "
		"acknowledged leases, all present (%zu rows)\n",
		CRASH_ROUNDS, now_s() - t0, seed, early, reported, rows);
	done_dir(top, state);
}

static off_t file_size(const char *state, const char *name)
{
	char *p;
	struct stat sb;
	if (asprintf(&p, "%s/%s", state, name) < 0)
		abort();
	off_t n = stat(p, &sb) == 0 ? sb.st_size : -1;
	free(p);
	return n;
}

/* The WAL is written ahead of SQLite (zeros, synced) so that commits overwrite instead of
 * append; what lies past the last frame must not matter to a reopen after a crash or to a
 * reader, and checkpoints must still run (the store's WAL hook replaces SQLite's). */
static void test_wal_ahead_and_checkpoint(void)
{
	char *top, *state = state_dir_new(&top);
	struct store *st, *r;
	char err[1024];
	CHECK_EQ(store_open(state, &st, err, sizeof(err)), 0);
	struct dhcp_lease l = mk_lease(0x0b000000, 1);
	CHECK_EQ(store_put_lease(st, &l), 0);
	CHECK_EQ(store_commit(st), 0);
	CHECK(file_size(state, STORE_DB_NAME "-wal") >= 512 << 10); /* one frame, a chunk ahead */
	store_close(st);
	/* a crash (no close) after 400 commits of one frame each, past the first chunk: the zeros
	 * past the last frame are not leases */
	pid_t pid = fork();
	if (pid == 0) {
		if (store_open(state, &st, err, sizeof(err)) < 0)
			_exit(1);
		for (unsigned i = 1; i <= 400; i++) {
			l = mk_lease(0x0b000000 + i, i);
			if (store_put_lease(st, &l) < 0 || store_commit(st) < 0)
				_exit(2);
		}
		_exit(file_size(state, STORE_DB_NAME "-wal") >= 400 * 4120 + (512 << 10) ? 0 : 3);
	}
	int ws;
	CHECK(waitpid(pid, &ws, 0) == pid && WIFEXITED(ws));
	CHECK_EQ(WEXITSTATUS(ws), 0);
	struct lease_vec lv = {0};
	CHECK_EQ(store_open_readonly(state, &r, err, sizeof(err)), 0);
	CHECK_EQ(store_load_leases(r, collect, &lv), 0);
	CHECK_EQ(lv.n, 401);
	store_close(r);
	/* renew every lease of a 20,000-lease table over and over: past the checkpoint size */
	CHECK_EQ(store_open(state, &st, err, sizeof(err)), 0);
	for (unsigned i = 0; i < 20000; i++) {
		l = mk_lease(0x0c000000 + i, i);
		CHECK_EQ(store_put_lease(st, &l), 0);
	}
	CHECK_EQ(store_commit(st), 0);
	off_t db0 = file_size(state, STORE_DB_NAME);
	for (unsigned round = 0; round < 45; round++) {
		for (unsigned i = 0; i < 20000; i += 7) {
			l = mk_lease(0x0c000000 + i, i + round);
			CHECK_EQ(store_put_lease(st, &l), 0);
		}
		CHECK_EQ(store_commit(st), 0);
	}
	CHECK(file_size(state, STORE_DB_NAME) > db0 + (512 << 10)); /* checkpointed into pxed.db */
	CHECK(file_size(state, STORE_DB_NAME "-wal") <= 64 << 20);
	store_close(st);
	lv.n = 0;
	CHECK_EQ(load_all(state, &lv), 0);
	CHECK_EQ(lv.n, 20401);
	free(lv.v);
	done_dir(top, state);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	RUN(test_round_trip);
	RUN(test_chaddr_past_hlen);
	RUN(test_update_delete);
	RUN(test_invalid_input);
	RUN(test_reload_and_uncommitted);
	RUN(test_events);
	RUN(test_lock_and_reader);
	RUN(test_readonly_missing);
	RUN(test_garbage_file);
	RUN(test_truncated_file);
	RUN(test_corrupt_page);
	RUN(test_recover_way_out);
	RUN(test_bad_row);
	RUN(test_newer_schema);
	RUN(test_foreign_db);
	RUN(test_orphan_wal);
	RUN(test_wal_ahead_and_checkpoint);
	RUN(test_throughput_100k);
	RUN(test_kill9);
	return test_summary();
}
