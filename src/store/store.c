/* The SQLite lease store; see store.h and docs/store.md.
 *
 * Every statement is prepared once at open (SQLITE_PREPARE_PERSISTENT) and bound with
 * SQLITE_STATIC, so staging a change and committing allocate nothing. The connection is opened
 * without SQLite's mutex: a store belongs to one thread. */
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* "pxed" as the SQLite application_id, so file(1) and tools can tell what the file is. A
 * database without it (0, e.g. rebuilt by sqlite3 .recover) is accepted when its meta table
 * is ours. */
#define STORE_APP_ID 0x70786564

/* How long a statement waits for a lock another process holds (an admin's sqlite3 shell)
 * before failing: short, because waiting stalls the event loop. Read-only opens wait longer. */
#define STORE_BUSY_MS_WRITER 100
#define STORE_BUSY_MS_READER 2000

/* Checkpoint (copy the WAL into pxed.db) when the WAL reaches this many pages (4 KiB): with
 * 10,000 instead of SQLite's 1,000, a checkpoint runs a tenth as often and copies each page
 * once however often it was renewed meanwhile; random renewals run about 1.5x faster.
 * After a checkpoint, a WAL grown beyond the limit (a reader held it) is truncated. */
#define STORE_WAL_CHECKPOINT_PAGES 10000
#define STORE_WAL_LIMIT_BYTES	   (64 << 20)
/* The WAL is grown ahead of SQLite in chunks of zeros, each fdatasync'd once: a commit that
 * appends to a file (new size, new blocks) costs its fdatasync about twice the CPU and time of
 * one that overwrites blocks already on disk (ext4, measured 97 vs 47 us of CPU). SQLite
 * ignores what lies past the last valid frame, and overwrites it after each checkpoint. */
#define STORE_WAL_CHUNK_BYTES (1 << 20)
/* A WAL frame is a 24-byte header plus a page; the WAL starts with a 32-byte header. */
#define STORE_WAL_FRAME_HDR 24
#define STORE_WAL_HDR_BYTES 32
/* Page cache of the writer: 100,000 leases take about 10 MiB. */
#define STORE_CACHE_KIB 16384

/* Longest hardware address kept (struct dhcp_lease chaddr). */
#define STORE_CHADDR_MAX 16

enum stmt_id {
	S_BEGIN,
	S_COMMIT,
	S_ROLLBACK,
	S_PUT,
	S_DELETE,
	S_LOAD,
	S_EVENT,
	S_MAX,
	/* prepared on first use (the node_state table may be missing in read-only opens) */
	S_NODE_GET = S_MAX,
	S_NODE_PUT,
	S_EVENTS_ALL,
	S_EVENTS_NODE,
	S_ALL
};

/* Column order of S_PUT and S_LOAD; row_to_lease and bind_lease use these indexes. */
#define LEASE_COLUMNS \
	"ip, state, htype, hlen, chaddr, client_id, starts, ends, hostname, node, arch"
enum lease_col {
	C_IP,
	C_STATE,
	C_HTYPE,
	C_HLEN,
	C_CHADDR,
	C_CLIENT_ID,
	C_STARTS,
	C_ENDS,
	C_HOSTNAME,
	C_NODE,
	C_ARCH
};

static const char *const stmt_sql[S_ALL] = {
	[S_BEGIN] = "BEGIN IMMEDIATE",
	[S_COMMIT] = "COMMIT",
	[S_ROLLBACK] = "ROLLBACK",
	[S_PUT] = ("INSERT OR REPLACE INTO leases (" LEASE_COLUMNS ") "
		   "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"),
	[S_DELETE] = "DELETE FROM leases WHERE ip = ?1",
	[S_LOAD] = "SELECT " LEASE_COLUMNS " FROM leases ORDER BY ip",
	[S_NODE_GET] = "SELECT reinstall, token, updated FROM node_state WHERE name = ?1",
	[S_NODE_PUT] = "INSERT OR REPLACE INTO node_state (name, reinstall, token, updated) "
		       "VALUES (?1, ?2, ?3, ?4)",
	[S_EVENTS_ALL] = "SELECT id, time, node, mac, kind, detail FROM boot_events "
			 "WHERE id > ?1 ORDER BY id DESC LIMIT ?2",
	[S_EVENTS_NODE] = "SELECT id, time, node, mac, kind, detail FROM boot_events "
			  "WHERE node = ?3 AND id > ?1 ORDER BY id DESC LIMIT ?2",
	[S_EVENT] = ("INSERT INTO boot_events (time, node, mac, kind, detail) "
		     "VALUES (?1, ?2, ?3, ?4, ?5)"),
};

/* Schema version 1. Keep in sync with docs/store.md. */
static const char schema_sql[] =
	/* key 'schema_version': STORE_SCHEMA_VERSION */
	"CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
	"CREATE TABLE leases ("
	" ip INTEGER PRIMARY KEY CHECK (ip BETWEEN 0 AND 4294967295),"
	" state INTEGER NOT NULL,"
	" htype INTEGER NOT NULL,"
	" hlen INTEGER NOT NULL,"
	" chaddr BLOB NOT NULL,"
	" client_id BLOB,"
	" starts INTEGER NOT NULL,"
	" ends INTEGER NOT NULL,"
	" hostname TEXT NOT NULL,"
	" node TEXT NOT NULL,"
	" arch INTEGER NOT NULL);"
	"CREATE TABLE boot_events ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" time INTEGER NOT NULL,"
	" node TEXT,"
	" mac TEXT,"
	" kind TEXT NOT NULL,"
	" detail TEXT);"
	"CREATE INDEX boot_events_node ON boot_events (node, id);"
	"CREATE INDEX boot_events_mac ON boot_events (mac, id);";

struct store {
	sqlite3 *db;
	sqlite3_stmt *stmt[S_ALL];
	char *dir;   /* state directory (owned) */
	char *path;  /* dir/pxed.db (owned) */
	int lock_fd; /* flock'd dir/pxed.lock; -1 when read-only */
	bool readonly;
	bool in_txn;
	unsigned staged;
	int64_t wal_ready; /* bytes of the WAL known to be written and synced (0: not known yet) */
	int64_t wal_frame; /* bytes per WAL frame */
	int failed; /* first error of a change staged since the last commit; that commit fails */
	struct store_stats stats;
	char errmsg[768];
};

/* SQLite primary result code -> negative errno. */
static const struct {
	int sqlite;
	int err;
} errno_table[] = {
	{SQLITE_NOMEM, ENOMEM},	   {SQLITE_BUSY, EBUSY},	{SQLITE_LOCKED, EBUSY},
	{SQLITE_READONLY, EROFS},  {SQLITE_FULL, ENOSPC},	{SQLITE_CORRUPT, EUCLEAN},
	{SQLITE_NOTADB, EUCLEAN},  {SQLITE_CANTOPEN, ENOENT},	{SQLITE_PERM, EACCES},
	{SQLITE_AUTH, EACCES},	   {SQLITE_CONSTRAINT, EINVAL}, {SQLITE_TOOBIG, EMSGSIZE},
	{SQLITE_MISMATCH, EINVAL}, {SQLITE_RANGE, EINVAL},	{SQLITE_MISUSE, EINVAL},
};

/* Map an SQLite result code to a negative errno (0 for OK/ROW/DONE, -EIO when unknown). */
static int errno_of(int rc)
{
	rc &= 0xff;
	if (rc == SQLITE_OK || rc == SQLITE_ROW || rc == SQLITE_DONE)
		return 0;
	for (size_t i = 0; i < sizeof(errno_table) / sizeof(errno_table[0]); i++)
		if (errno_table[i].sqlite == rc)
			return -errno_table[i].err;
	return -EIO;
}

static bool is_damage(int rc)
{
	rc &= 0xff;
	return rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB;
}

/* snprintf into err when there is room; always NUL-terminates when errlen > 0. */
static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	if (!err || !errlen)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* The message for a damaged database: the file, what is wrong, and the way out. */
static void damaged_msg(char *err, size_t errlen, const struct store *st, const char *what)
{
	set_err(err, errlen,
		"%s: the lease database is damaged (%s); pxed does not change or delete it. "
		"Move it aside with its -wal and -shm files: cd %s && mkdir broken && "
		"mv " STORE_DB_NAME "* broken/ ; then restart to begin with no leases, or first "
		"recover the rows that can be read: sqlite3 broken/" STORE_DB_NAME " .dump | "
		"sed 's/^ROLLBACK; -- due to errors$/COMMIT;/' | sqlite3 " STORE_DB_NAME
		" (docs/store.md)",
		st->path, what, st->dir);
}

/* Record the connection's last error in st->errmsg (with the way out when it is damage). */
static int note_err(struct store *st, int rc)
{
	char what[256];
	snprintf(what, sizeof(what), "SQLite: %s", sqlite3_errmsg(st->db));
	if (is_damage(rc))
		damaged_msg(st->errmsg, sizeof(st->errmsg), st, what);
	else
		snprintf(st->errmsg, sizeof(st->errmsg), "%s: %s", st->path, what);
	return errno_of(rc);
}

static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Allocate a store for dir with its paths; nothing opened yet. */
static int store_new(const char *dir, bool readonly, struct store **out, char *err, size_t errlen)
{
	struct store *st = calloc(1, sizeof(*st));
	if (!st)
		goto out_nomem;
	st->lock_fd = -1;
	st->readonly = readonly;
	st->dir = strdup(dir);
	if (!st->dir)
		goto out_free_st;
	if (asprintf(&st->path, "%s/%s", dir, STORE_DB_NAME) < 0)
		goto out_free_dir;
	*out = st;
	return 0;

out_free_dir:
	free(st->dir);
out_free_st:
	free(st);
out_nomem:
	set_err(err, errlen, "%s: out of memory", dir);
	return -ENOMEM;
}

static void store_free(struct store *st)
{
	free(st->path);
	free(st->dir);
	free(st);
}

/* mkdir dir with mode 0750 unless it exists; it must be a directory. */
static int make_state_dir(const char *dir, char *err, size_t errlen)
{
	struct stat sb;
	if (mkdir(dir, 0750) == 0)
		return 0;
	int e = errno;
	if (e == EEXIST && stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode))
		return 0;
	if (e == EEXIST)
		e = ENOTDIR;
	set_err(err, errlen, "%s: cannot create the state directory (server.state-dir): %s", dir,
		strerror(e));
	return -e;
}

/* Take the exclusive lock on dir/pxed.lock (one writer per state directory) and write our
 * pid into it, so a second pxed can say who holds it. */
static int take_lock(struct store *st, char *err, size_t errlen)
{
	char lpath[4096], pid[32] = "";
	snprintf(lpath, sizeof(lpath), "%s/%s", st->dir, STORE_LOCK_NAME);
	int fd = open(lpath, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (fd < 0) {
		int e = errno;
		set_err(err, errlen, "%s: cannot open: %s", lpath, strerror(e));
		return -e;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno == EWOULDBLOCK ? EBUSY : errno;
		ssize_t n = pread(fd, pid, sizeof(pid) - 1, 0);
		pid[n > 0 ? strcspn(pid, "\n") : 0] = 0;
		set_err(err, errlen,
			"%s: another pxed process%s%s is using this state directory "
			"(lock %s held); stop it or give this one another server.state-dir",
			st->path, pid[0] ? " pid " : "", pid, STORE_LOCK_NAME);
		close(fd);
		return -e;
	}
	int n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	bool written = ftruncate(fd, 0) == 0 && pwrite(fd, pid, (size_t)n, 0) == n;
	(void)written; /* the pid is only informational: the lock itself is held */
	st->lock_fd = fd;
	return 0;
}

/* fsync a file or directory by path. */
static int fsync_path(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int r = fsync(fd) < 0 ? -errno : 0;
	close(fd);
	return r;
}

/* Build a fresh database at tmp (in rollback mode, so everything ends up in the file itself),
 * then switch it to WAL. The temporary file never held a lease: leftovers are removed. */
static int build_new_db(const char *tmp, char *err, size_t errlen)
{
	static const char *const suffix[] = {"", "-wal", "-shm", "-journal"};
	char p[4200];
	for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", tmp, suffix[i]);
		if (unlink(p) < 0 && errno != ENOENT) {
			int e = errno;
			set_err(err, errlen, "%s: cannot remove leftover: %s", p, strerror(e));
			return -e;
		}
	}
	char tail[200];
	snprintf(tail, sizeof(tail),
		 "INSERT INTO meta VALUES ('schema_version', %d);"
		 "PRAGMA application_id=%d; COMMIT; PRAGMA journal_mode=WAL;",
		 STORE_SCHEMA_VERSION, STORE_APP_ID);
	sqlite3 *db = NULL;
	char *msg = NULL;
	int rc = sqlite3_open_v2(tmp, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, "PRAGMA synchronous=FULL; BEGIN;", NULL, NULL, &msg);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, schema_sql, NULL, NULL, &msg);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, tail, NULL, NULL, &msg);
	if (rc != SQLITE_OK)
		set_err(err, errlen, "%s: cannot create the lease database: %s", tmp,
			msg ? msg : sqlite3_errstr(rc));
	sqlite3_free(msg);
	int crc = sqlite3_close(db);
	if (rc == SQLITE_OK && crc != SQLITE_OK) {
		rc = crc;
		set_err(err, errlen, "%s: cannot close: %s", tmp, sqlite3_errstr(crc));
	}
	return rc == SQLITE_OK ? 0 : errno_of(rc);
}

/* Create pxed.db atomically: build it as pxed.db.new, fsync, rename, fsync the directory. So
 * an existing pxed.db is always a complete database, and an empty or short one is damage. */
static int create_db(struct store *st, char *err, size_t errlen)
{
	char tmp[4200], wal[4210];
	snprintf(tmp, sizeof(tmp), "%s.new", st->path);
	snprintf(wal, sizeof(wal), "%s-wal", tmp);
	int r = build_new_db(tmp, err, errlen);
	if (r < 0)
		return r;
	if (access(wal, F_OK) == 0) {
		set_err(err, errlen, "%s: SQLite left a WAL file behind; not using it", tmp);
		return -EIO;
	}
	r = fsync_path(tmp, O_RDONLY);
	if (r == 0 && rename(tmp, st->path) < 0)
		r = -errno;
	if (r == 0)
		r = fsync_path(st->dir, O_RDONLY | O_DIRECTORY);
	if (r < 0)
		set_err(err, errlen, "%s: cannot create the lease database: %s", st->path,
			strerror(-r));
	return r;
}

/* Create pxed.db unless it exists. A -wal without its database means the database was moved
 * or deleted by hand: a new database next to that WAL would take its pages, so refuse. */
static int create_if_missing(struct store *st, char *err, size_t errlen)
{
	struct stat sb;
	char wal[4200];
	if (stat(st->path, &sb) == 0)
		return 0;
	if (errno != ENOENT) {
		int e = errno;
		set_err(err, errlen, "%s: %s", st->path, strerror(e));
		return -e;
	}
	snprintf(wal, sizeof(wal), "%s-wal", st->path);
	if (stat(wal, &sb) == 0) {
		set_err(err, errlen,
			"%s: %s exists but the database itself does not; they belong together. "
			"Put the database back, or move the -wal and -shm files aside too to begin "
			"with no leases",
			st->path, wal);
		return -EUCLEAN;
	}
	return create_db(st, err, errlen);
}

/* Open the connection to st->path (no creation) and set its options. */
static int db_open(struct store *st, char *err, size_t errlen)
{
	int flags = SQLITE_OPEN_NOMUTEX;
	flags |= st->readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
	int rc = sqlite3_open_v2(st->path, &st->db, flags, NULL);
	if (rc != SQLITE_OK) {
		int e = st->db ? sqlite3_system_errno(st->db) : 0;
		set_err(err, errlen, "%s: cannot open the lease database: %s%s%s", st->path,
			sqlite3_errstr(rc), e ? ": " : "", e ? strerror(e) : "");
		sqlite3_close(st->db);
		st->db = NULL;
		return e ? -e : errno_of(rc);
	}
	/* Until the database is known good, closing must not checkpoint into it. */
	sqlite3_db_config(st->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
	sqlite3_extended_result_codes(st->db, 1);
	sqlite3_busy_timeout(st->db, st->readonly ? STORE_BUSY_MS_READER : STORE_BUSY_MS_WRITER);
	return 0;
}

/* Finalize the statements and close the connection. */
static void db_close(struct store *st)
{
	for (int i = 0; i < S_ALL; i++) {
		sqlite3_finalize(st->stmt[i]);
		st->stmt[i] = NULL;
	}
	sqlite3_close(st->db);
	st->db = NULL;
}

/* Report the connection's last error (rc) as an open failure. */
static int open_fail(struct store *st, int rc, char *err, size_t errlen)
{
	int r = note_err(st, rc);
	set_err(err, errlen, "%s", st->errmsg);
	return r;
}

/* Run a one-value query. Returns SQLITE_ROW (and writes *out), SQLITE_DONE (no row) or the
 * error code (the message stays on the connection). */
static int query_int(sqlite3 *db, const char *sql, int64_t *out)
{
	sqlite3_stmt *s;
	int rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL);
	if (rc != SQLITE_OK)
		return rc;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return rc;
}

/* The database has no usable schema version: tell damage from somebody else's database. */
static int not_a_store(struct store *st, int64_t app, char *err, size_t errlen)
{
	int64_t ntables = 0;
	int rc = query_int(st->db, "SELECT count(*) FROM sqlite_master", &ntables);
	if (rc != SQLITE_ROW)
		return open_fail(st, rc, err, errlen);
	if (app == STORE_APP_ID || (app == 0 && ntables == 0)) {
		damaged_msg(err, errlen, st,
			    ntables ? "its schema version is missing"
				    : "it holds no tables at all");
		return -EUCLEAN;
	}
	set_err(err, errlen,
		"%s: is an SQLite database but not a pxed lease store (application_id %" PRId64
		", no pxed meta table); pxed does not change it. Move it away or set "
		"server.state-dir to another directory",
		st->path, app);
	return -EUCLEAN;
}

/* Check that st->db is a pxed store this code can use: readable, ours, not newer. */
static int db_check(struct store *st, char *err, size_t errlen)
{
	int64_t app = 0, ver = 0;
	int rc = query_int(st->db, "PRAGMA application_id", &app);
	if (rc != SQLITE_ROW)
		return open_fail(st, rc, err, errlen);
	rc = query_int(st->db, "SELECT value FROM meta WHERE key = 'schema_version'", &ver);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE && rc != SQLITE_ERROR)
		return open_fail(st, rc, err, errlen);
	if (rc != SQLITE_ROW || (app != 0 && app != STORE_APP_ID))
		return not_a_store(st, app, err, errlen);
	if (ver > STORE_SCHEMA_VERSION) {
		set_err(err, errlen,
			"%s: was written by a newer pxed (schema version %" PRId64
			", this pxed knows %d); pxed does not change it. Run the newer pxed, "
			"or move it aside with its -wal and -shm files "
			"(cd %s && mkdir old && mv " STORE_DB_NAME
			"* old/) to begin with no leases",
			st->path, ver, STORE_SCHEMA_VERSION, st->dir);
		return -EPROTONOSUPPORT;
	}
	if (ver < 1) {
		damaged_msg(err, errlen, st, "its schema version is not a positive number");
		return -EUCLEAN;
	}
	return 0;
}

/* PRAGMA quick_check: b-tree structure, page and freelist integrity (no index contents). */
static int quick_check(struct store *st, char *err, size_t errlen)
{
	sqlite3_stmt *s;
	char what[400] = "";
	size_t used = 0;
	int rc = sqlite3_prepare_v2(st->db, "PRAGMA quick_check(3)", -1, &s, NULL);
	if (rc != SQLITE_OK)
		return open_fail(st, rc, err, errlen);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *line = (const char *)sqlite3_column_text(s, 0);
		if (!line || !strcmp(line, "ok") || used >= sizeof(what) - 1)
			continue;
		int n = snprintf(what + used, sizeof(what) - used, "%squick_check: %s",
				 used ? "; " : "", line);
		used = n < 0 ? used : used + (size_t)n;
	}
	if (rc != SQLITE_DONE) {
		int r = open_fail(st, rc, err, errlen);
		sqlite3_finalize(s);
		return r;
	}
	sqlite3_finalize(s);
	if (!what[0])
		return 0;
	for (char *c = what; *c; c++)
		if ((unsigned char)*c < 0x20)
			*c = ' '; /* one line: quick_check reports "*** in database main ***\n..." */
	damaged_msg(err, errlen, st, what);
	return -EUCLEAN;
}

/* Make sure bytes [0, need) of the WAL are written and synced (zeros past SQLite's frames),
 * growing it by STORE_WAL_CHUNK_BYTES at a time, so that commits overwrite instead of append.
 * Best effort: on any error the WAL simply grows as SQLite writes it. */
static void wal_grow(struct store *st, int64_t need)
{
	static const uint8_t zeros[64 << 10];
	sqlite3_file *f = NULL;
	if (sqlite3_file_control(st->db, "main", SQLITE_FCNTL_JOURNAL_POINTER, &f) != SQLITE_OK ||
	    !f || !f->pMethods)
		return;
	sqlite3_int64 size = 0;
	if (f->pMethods->xFileSize(f, &size) != SQLITE_OK)
		return;
	st->wal_ready = size;
	if (size >= need)
		return;
	int64_t end = need - need % STORE_WAL_CHUNK_BYTES + STORE_WAL_CHUNK_BYTES;
	for (int64_t off = size; off < end; off += (int64_t)sizeof(zeros)) {
		int n = end - off < (int64_t)sizeof(zeros) ? (int)(end - off) : (int)sizeof(zeros);
		if (f->pMethods->xWrite(f, zeros, n, off) != SQLITE_OK)
			return;
	}
	if (f->pMethods->xSync(f, SQLITE_SYNC_NORMAL) == SQLITE_OK)
		st->wal_ready = end;
}

/* Called by SQLite after each commit with the frames now in the WAL: checkpoint when there
 * are STORE_WAL_CHECKPOINT_PAGES (as PRAGMA wal_autocheckpoint would; passive: never waits
 * for readers), else keep half a chunk of synced WAL ahead of the next commit. The commit is
 * durable already: this never fails it. */
static int wal_hook(void *ctx, sqlite3 *db, const char *name, int frames)
{
	struct store *st = ctx;
	if (frames >= STORE_WAL_CHECKPOINT_PAGES) {
		sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
		return SQLITE_OK;
	}
	int64_t end = STORE_WAL_HDR_BYTES + (int64_t)frames * st->wal_frame;
	int64_t need = end + STORE_WAL_CHUNK_BYTES / 2;
	if (need > STORE_WAL_LIMIT_BYTES)
		need = STORE_WAL_LIMIT_BYTES;
	if (need > st->wal_ready)
		wal_grow(st, need);
	return SQLITE_OK;
}

/* WAL journal (readers never block the writer) and synchronous=FULL (COMMIT fsyncs the WAL). */
static int db_setup_rw(struct store *st, char *err, size_t errlen)
{
	sqlite3_stmt *s;
	int rc = sqlite3_prepare_v2(st->db, "PRAGMA journal_mode=WAL", -1, &s, NULL);
	if (rc != SQLITE_OK)
		return open_fail(st, rc, err, errlen);
	rc = sqlite3_step(s);
	const char *mode = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(s, 0) : NULL;
	bool wal = mode && !strcmp(mode, "wal");
	if (rc != SQLITE_ROW) {
		int r = open_fail(st, rc, err, errlen);
		sqlite3_finalize(s);
		return r;
	}
	sqlite3_finalize(s);
	if (!wal) {
		set_err(err, errlen,
			"%s: SQLite cannot use WAL mode here (no shared memory support?)",
			st->path);
		return -ENOTSUP;
	}
	char sql[200];
	snprintf(sql, sizeof(sql),
		 "PRAGMA synchronous=FULL; PRAGMA wal_autocheckpoint=%d; "
		 "PRAGMA journal_size_limit=%d; PRAGMA cache_size=-%d",
		 STORE_WAL_CHECKPOINT_PAGES, STORE_WAL_LIMIT_BYTES, STORE_CACHE_KIB);
	rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return open_fail(st, rc, err, errlen);
	int64_t page = 0;
	rc = query_int(st->db, "PRAGMA page_size", &page);
	if (rc != SQLITE_ROW)
		return open_fail(st, rc, err, errlen);
	st->wal_frame = STORE_WAL_FRAME_HDR + page;
	/* replaces the hook PRAGMA wal_autocheckpoint installed; wal_hook checkpoints too */
	sqlite3_wal_hook(st->db, wal_hook, st);
	return 0;
}

/* Prepare every statement once. */
/* Node state (reinstall flag, kickstart token): created in every writable store. */
static const char node_state_sql[] = "CREATE TABLE IF NOT EXISTS node_state ("
				     " name TEXT PRIMARY KEY,"
				     " reinstall INTEGER NOT NULL DEFAULT 0,"
				     " token TEXT NOT NULL,"
				     " updated INTEGER);";

static int prepare_all(struct store *st, char *err, size_t errlen)
{
	if (!st->readonly) {
		int rc = sqlite3_exec(st->db, node_state_sql, NULL, NULL, NULL);
		if (rc != SQLITE_OK)
			return open_fail(st, rc, err, errlen);
	}
	for (int i = 0; i < S_MAX; i++) {
		int rc = sqlite3_prepare_v3(st->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
					    &st->stmt[i], NULL);
		if (rc != SQLITE_OK)
			return open_fail(st, rc, err, errlen);
	}
	return 0;
}

int store_open(const char *state_dir, struct store **out, char *err, size_t errlen)
{
	struct store *st;
	int r = store_new(state_dir, false, &st, err, errlen);
	if (r < 0)
		return r;
	r = make_state_dir(state_dir, err, errlen);
	if (r < 0)
		goto out_free;
	r = take_lock(st, err, errlen);
	if (r < 0)
		goto out_free;
	r = create_if_missing(st, err, errlen);
	if (r < 0)
		goto out_unlock;
	r = db_open(st, err, errlen);
	if (r < 0)
		goto out_unlock;
	r = db_check(st, err, errlen);
	if (r == 0)
		r = quick_check(st, err, errlen);
	if (r == 0)
		r = db_setup_rw(st, err, errlen);
	if (r == 0)
		r = prepare_all(st, err, errlen);
	if (r < 0)
		goto out_close_db;
	/* Known good: a clean close may now checkpoint the WAL into the database. */
	sqlite3_db_config(st->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 0, NULL);
	*out = st;
	return 0;

out_close_db:
	db_close(st);
out_unlock:
	close(st->lock_fd);
out_free:
	store_free(st);
	return r;
}

int store_open_readonly(const char *state_dir, struct store **out, char *err, size_t errlen)
{
	struct store *st;
	struct stat sb;
	int r = store_new(state_dir, true, &st, err, errlen);
	if (r < 0)
		return r;
	if (stat(st->path, &sb) < 0) {
		r = -errno;
		if (r == -ENOENT)
			set_err(err, errlen,
				"%s: no lease database here (pxed serve creates it; is "
				"server.state-dir right?)",
				st->path);
		else
			set_err(err, errlen, "%s: %s", st->path, strerror(-r));
		goto out_free;
	}
	r = db_open(st, err, errlen);
	if (r < 0)
		goto out_free;
	r = db_check(st, err, errlen);
	if (r == 0)
		r = prepare_all(st, err, errlen);
	if (r < 0)
		goto out_close_db;
	*out = st;
	return 0;

out_close_db:
	db_close(st);
out_free:
	store_free(st);
	return r;
}

/* Roll the open transaction back (if SQLite has not done so already) and forget it. */
static void txn_abort(struct store *st)
{
	if (!sqlite3_get_autocommit(st->db)) {
		sqlite3_step(st->stmt[S_ROLLBACK]);
		sqlite3_reset(st->stmt[S_ROLLBACK]);
	}
	st->in_txn = false;
	st->staged = 0;
}

/* A change could not be staged (r < 0): roll back the batch so far and remember r, so that
 * the next store_commit fails and nothing of this batch is acknowledged. Returns r. */
static int batch_fail(struct store *st, int r)
{
	if (st->in_txn)
		txn_abort(st);
	if (!st->failed)
		st->failed = r;
	return r;
}

/* Begin the write transaction unless one is open. */
static int txn_begin(struct store *st)
{
	if (st->in_txn)
		return 0;
	if (st->readonly) {
		snprintf(st->errmsg, sizeof(st->errmsg), "%s: opened read-only", st->path);
		return batch_fail(st, -EROFS);
	}
	sqlite3_stmt *s = st->stmt[S_BEGIN];
	int rc = sqlite3_step(s);
	int r = rc == SQLITE_DONE ? 0 : note_err(st, rc);
	sqlite3_reset(s);
	if (r < 0)
		return batch_fail(st, r);
	st->in_txn = true;
	st->staged = 0;
	return 0;
}

/* Step a bound change statement inside the transaction. */
static int stage(struct store *st, sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);
	int r = rc == SQLITE_DONE ? 0 : note_err(st, rc);
	sqlite3_reset(s);
	if (r < 0)
		return batch_fail(st, r);
	st->staged++;
	return 0;
}

/* Refuse a change the caller got wrong (a bug, but it fails the batch like any error). */
static int invalid(struct store *st, const char *what)
{
	snprintf(st->errmsg, sizeof(st->errmsg), "%s: not stored: %s", st->path, what);
	return batch_fail(st, -EINVAL);
}

/* Bind l to S_PUT. Text is bound without copying (SQLITE_STATIC): l must outlive the step. */
static void bind_lease(sqlite3_stmt *s, const struct dhcp_lease *l)
{
	size_t hl = l->hlen < STORE_CHADDR_MAX ? l->hlen : STORE_CHADDR_MAX;
	sqlite3_bind_int64(s, C_IP + 1, l->ip);
	sqlite3_bind_int(s, C_STATE + 1, (int)l->state);
	sqlite3_bind_int(s, C_HTYPE + 1, l->htype);
	sqlite3_bind_int(s, C_HLEN + 1, l->hlen);
	sqlite3_bind_blob(s, C_CHADDR + 1, l->chaddr, (int)hl, SQLITE_STATIC);
	if (l->client_id_len)
		sqlite3_bind_blob(s, C_CLIENT_ID + 1, l->client_id, l->client_id_len,
				  SQLITE_STATIC);
	else
		sqlite3_bind_null(s, C_CLIENT_ID + 1);
	sqlite3_bind_int64(s, C_STARTS + 1, l->starts);
	sqlite3_bind_int64(s, C_ENDS + 1, l->ends);
	sqlite3_bind_text(s, C_HOSTNAME + 1, l->hostname,
			  (int)strnlen(l->hostname, sizeof(l->hostname) - 1), SQLITE_STATIC);
	sqlite3_bind_text(s, C_NODE + 1, l->node, (int)strnlen(l->node, sizeof(l->node) - 1),
			  SQLITE_STATIC);
	sqlite3_bind_int(s, C_ARCH + 1, l->arch);
}

int store_put_lease(struct store *st, const struct dhcp_lease *l)
{
	if (l->state < LEASE_BOUND || l->state > LEASE_DECLINED)
		return invalid(st, "a lease state other than bound, released, expired, declined");
	if (l->client_id_len > LEASE_CLIENT_ID_MAX)
		return invalid(st, "a client identifier longer than LEASE_CLIENT_ID_MAX");
	int r = txn_begin(st);
	if (r < 0)
		return r;
	bind_lease(st->stmt[S_PUT], l);
	return stage(st, st->stmt[S_PUT]);
}

int store_delete_lease(struct store *st, uint32_t ip)
{
	int r = txn_begin(st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st->stmt[S_DELETE], 1, ip);
	return stage(st, st->stmt[S_DELETE]);
}

/* "aa:bb:cc" for len bytes into out (3 * len bytes, at least 1). */
static void format_mac(char *out, const uint8_t *mac, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	out[0] = 0;
	for (size_t i = 0; i < len; i++) {
		out[3 * i] = hex[mac[i] >> 4];
		out[3 * i + 1] = hex[mac[i] & 15];
		out[3 * i + 2] = i + 1 < len ? ':' : 0;
	}
}

int store_add_event(struct store *st, const struct store_event *ev)
{
	char mac[STORE_CHADDR_MAX * 3];
	if (!ev->kind || ev->mac_len > STORE_CHADDR_MAX || (ev->mac_len && !ev->mac))
		return invalid(st, "a boot event without kind or with a bad hardware address");
	int r = txn_begin(st);
	if (r < 0)
		return r;
	sqlite3_stmt *s = st->stmt[S_EVENT];
	sqlite3_bind_int64(s, 1, ev->time_ms);
	if (ev->node)
		sqlite3_bind_text(s, 2, ev->node, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, 2);
	if (ev->mac_len) {
		format_mac(mac, ev->mac, ev->mac_len);
		sqlite3_bind_text(s, 3, mac, -1, SQLITE_STATIC);
	} else {
		sqlite3_bind_null(s, 3);
	}
	sqlite3_bind_text(s, 4, ev->kind, -1, SQLITE_STATIC);
	if (ev->detail)
		sqlite3_bind_text(s, 5, ev->detail, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, 5);
	return stage(st, s);
}

int store_commit(struct store *st)
{
	if (st->failed) {
		int failed = st->failed;
		if (st->in_txn)
			txn_abort(st);
		st->failed = 0;
		st->stats.commit_failures++;
		return failed;
	}
	if (!st->in_txn)
		return 0;
	unsigned n = st->staged;
	uint64_t t0 = now_us();
	sqlite3_stmt *s = st->stmt[S_COMMIT];
	int rc = sqlite3_step(s);
	int r = rc == SQLITE_DONE ? 0 : note_err(st, rc);
	sqlite3_reset(s);
	if (r < 0) {
		txn_abort(st);
		st->stats.commit_failures++;
		return r;
	}
	uint64_t dt = now_us() - t0;
	st->in_txn = false;
	st->staged = 0;
	st->stats.commits++;
	st->stats.changes += n;
	st->stats.last_commit_changes = n;
	st->stats.last_commit_us = dt;
	st->stats.total_commit_us += dt;
	if (dt > st->stats.max_commit_us)
		st->stats.max_commit_us = dt;
	return 0;
}

unsigned store_staged(const struct store *st)
{
	return st->in_txn ? st->staged : 0;
}

void store_get_stats(const struct store *st, struct store_stats *out)
{
	*out = st->stats;
}

/* Integer column in [lo, hi] (and stored as an integer) into *v. */
static bool col_int(sqlite3_stmt *s, int col, int64_t lo, int64_t hi, int64_t *v)
{
	*v = sqlite3_column_int64(s, col);
	return sqlite3_column_type(s, col) == SQLITE_INTEGER && *v >= lo && *v <= hi;
}

/* Blob column (NULL = empty) of at most cap bytes into dst; its length into *len. */
static bool col_blob(sqlite3_stmt *s, int col, uint8_t *dst, size_t cap, size_t *len)
{
	const void *p = sqlite3_column_blob(s, col);
	size_t n = (size_t)sqlite3_column_bytes(s, col);
	if (n > cap)
		return false;
	if (n)
		memcpy(dst, p, n);
	*len = n;
	return true;
}

/* Text column of fewer than cap bytes into dst, NUL-terminated. */
static bool col_text(sqlite3_stmt *s, int col, char *dst, size_t cap)
{
	const unsigned char *p = sqlite3_column_text(s, col);
	size_t n = (size_t)sqlite3_column_bytes(s, col);
	if (n >= cap)
		return false;
	if (n)
		memcpy(dst, p, n);
	dst[n] = 0;
	return true;
}

/* Decode one S_LOAD row, checking every field's range; -EUCLEAN names a bad row. */
static int row_to_lease(struct store *st, sqlite3_stmt *s, struct dhcp_lease *out)
{
	struct dhcp_lease l;
	int64_t ip, state, htype, hlen, arch;
	size_t chlen = 0, cidlen = 0;
	const char *bad = NULL;
	memset(&l, 0, sizeof(l));
	if (!col_int(s, C_IP, 0, UINT32_MAX, &ip))
		bad = "ip";
	else if (!col_int(s, C_STATE, LEASE_BOUND, LEASE_DECLINED, &state))
		bad = "state";
	else if (!col_int(s, C_HTYPE, 0, 255, &htype) || !col_int(s, C_HLEN, 0, 255, &hlen))
		bad = "htype or hlen";
	else if (!col_blob(s, C_CHADDR, l.chaddr, sizeof(l.chaddr), &chlen) ||
		 chlen != (size_t)(hlen < STORE_CHADDR_MAX ? hlen : STORE_CHADDR_MAX))
		bad = "chaddr";
	else if (!col_blob(s, C_CLIENT_ID, l.client_id, sizeof(l.client_id), &cidlen))
		bad = "client_id";
	else if (!col_int(s, C_STARTS, INT64_MIN, INT64_MAX, &l.starts) ||
		 !col_int(s, C_ENDS, INT64_MIN, INT64_MAX, &l.ends))
		bad = "starts or ends";
	else if (!col_text(s, C_HOSTNAME, l.hostname, sizeof(l.hostname)))
		bad = "hostname";
	else if (!col_text(s, C_NODE, l.node, sizeof(l.node)))
		bad = "node";
	else if (!col_int(s, C_ARCH, 0, 0xffff, &arch))
		bad = "arch";
	if (bad) {
		snprintf(st->errmsg, sizeof(st->errmsg),
			 "%s: the lease row with ip %lld has an invalid %s; fix or delete that row "
			 "with sqlite3 (pxed does not change it)",
			 st->path, (long long)sqlite3_column_int64(s, C_IP), bad);
		return -EUCLEAN;
	}
	l.ip = (uint32_t)ip;
	l.state = (enum lease_state)state;
	l.htype = (uint8_t)htype;
	l.hlen = (uint8_t)hlen;
	l.client_id_len = (uint8_t)cidlen;
	l.arch = (uint16_t)arch;
	*out = l;
	return 0;
}

int store_load_leases(struct store *st, int (*cb)(void *ctx, const struct dhcp_lease *l), void *ctx)
{
	sqlite3_stmt *s = st->stmt[S_LOAD];
	struct dhcp_lease l;
	int r = 0, rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		r = row_to_lease(st, s, &l);
		if (r == 0)
			r = cb(ctx, &l);
		if (r != 0)
			break;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = note_err(st, rc);
	sqlite3_reset(s);
	return r;
}

const char *store_errmsg(const struct store *st)
{
	return st->errmsg;
}

const char *store_path(const struct store *st)
{
	return st->path;
}

void store_close(struct store *st)
{
	if (!st)
		return;
	if (st->in_txn)
		txn_abort(st);
	db_close(st);
	if (st->lock_fd >= 0)
		close(st->lock_fd);
	store_free(st);
}

/* ---- node state and event queries (boot-config issue) ------------------------------------ */

/* A statement prepared on first use; NULL (with the error kept) when the table is missing. */
static sqlite3_stmt *lazy_stmt(struct store *st, enum stmt_id id)
{
	if (!st->stmt[id] && sqlite3_prepare_v3(st->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
						&st->stmt[id], NULL) != SQLITE_OK)
		return NULL;
	return st->stmt[id];
}

int store_node_get(struct store *st, const char *name, struct store_node *out)
{
	sqlite3_stmt *s = lazy_stmt(st, S_NODE_GET);
	if (!s)
		return -ENOENT;
	sqlite3_reset(s);
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	int rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(s);
		return rc == SQLITE_DONE ? -ENOENT : -EIO;
	}
	memset(out, 0, sizeof(*out));
	snprintf(out->name, sizeof(out->name), "%s", name);
	out->reinstall = sqlite3_column_int(s, 0) != 0;
	const unsigned char *tok = sqlite3_column_text(s, 1);
	snprintf(out->token, sizeof(out->token), "%s", tok ? (const char *)tok : "");
	out->updated_ms = sqlite3_column_int64(s, 2);
	sqlite3_reset(s);
	return 0;
}

int store_node_put(struct store *st, const struct store_node *n)
{
	sqlite3_stmt *s = lazy_stmt(st, S_NODE_PUT);
	if (!s)
		return invalid(st, "node state table missing");
	int r = txn_begin(st);
	if (r < 0)
		return r;
	sqlite3_bind_text(s, 1, n->name, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 2, n->reinstall);
	sqlite3_bind_text(s, 3, n->token, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, n->updated_ms);
	return stage(st, s);
}

int store_events(struct store *st, const char *node, int64_t after_id, int limit,
		 int (*cb)(void *ctx, const struct store_event_row *ev), void *ctx)
{
	sqlite3_stmt *s = lazy_stmt(st, node ? S_EVENTS_NODE : S_EVENTS_ALL);
	if (!s)
		return -ENOENT;
	sqlite3_reset(s);
	sqlite3_bind_int64(s, 1, after_id);
	sqlite3_bind_int(s, 2, limit);
	if (node)
		sqlite3_bind_text(s, 3, node, -1, SQLITE_STATIC);
	int rc, r = 0;
	while (r == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct store_event_row ev = {
			.id = sqlite3_column_int64(s, 0),
			.time_ms = sqlite3_column_int64(s, 1),
			.node = (const char *)sqlite3_column_text(s, 2),
			.mac = (const char *)sqlite3_column_text(s, 3),
			.kind = (const char *)sqlite3_column_text(s, 4),
			.detail = (const char *)sqlite3_column_text(s, 5),
		};
		r = cb(ctx, &ev);
	}
	sqlite3_reset(s);
	return r;
}
