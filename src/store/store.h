/* The durable store: an SQLite database (WAL, synchronous=FULL) in server.state-dir holding
 * the DHCP leases and the append-only boot event log. See docs/store.md.
 *
 * Writes are staged into one open write transaction (begun lazily by the first change) and
 * made durable together by store_commit. Group commit is the caller's job: stage every lease
 * of one receive batch, commit once, and only then send the ACKs. When store_commit returns 0
 * every staged change is in the fsync'd write-ahead log and survives kill -9 and power loss.
 *
 * One store belongs to one thread (pxed is single-threaded). A writable store also holds an
 * exclusive lock on state_dir/pxed.lock, so a second pxed cannot write the same database;
 * read-only stores (pxed leases) take no lock and never block the writer. */
#ifndef PXED_STORE_STORE_H
#define PXED_STORE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "dhcp/lease.h"

/* Schema version written into meta; a database with a newer one is refused. */
#define STORE_SCHEMA_VERSION 1
/* File names inside the state directory. */
#define STORE_DB_NAME	"pxed.db"
#define STORE_LOCK_NAME "pxed.lock"

struct store;

/* One boot event (append-only log, used from the boot-config issue on). All strings are
 * borrowed for the duration of the call; NULL stores SQL NULL. */
struct store_event {
	int64_t time_ms;    /* Unix time in milliseconds */
	const char *node;   /* [node NAME] or NULL when unknown */
	const uint8_t *mac; /* hardware address, mac_len bytes (at most 16); NULL: none */
	size_t mac_len;
	const char *kind;   /* short machine-readable kind ("dhcp-ack", "tftp-done"); required */
	const char *detail; /* free text for humans, or NULL */
};

/* Counters for stats and the control socket. */
struct store_stats {
	uint64_t commits;	      /* successful commits of at least one change */
	uint64_t changes;	      /* changes made durable by those commits */
	uint64_t commit_failures;     /* commits that failed (their changes were rolled back) */
	unsigned last_commit_changes; /* staged changes made durable by the last commit */
	uint64_t last_commit_us;      /* wall time of the last commit (mostly the WAL fsync) */
	uint64_t max_commit_us;
	uint64_t total_commit_us;
};

/**
 * Open (creating when missing) the writable store in state_dir: creates state_dir with mode
 * 0750 if it does not exist (not its parents), takes the lock on state_dir/pxed.lock, creates
 * pxed.db atomically when it does not exist (built as pxed.db.new, then renamed), and checks
 * an existing one: a file that is not an SQLite database, fails PRAGMA quick_check, is not a
 * pxed store, or has a schema newer than STORE_SCHEMA_VERSION is refused and left untouched.
 * Then sets WAL mode and synchronous=FULL and prepares every statement.
 *
 * On success writes *out (free with store_close) and returns 0. On failure returns a negative
 * errno (-EUCLEAN: damaged or not a pxed database, -EPROTONOSUPPORT: newer schema, -EBUSY:
 * another process holds the lock, else the system error) and writes a one-line message into
 * err (errlen bytes, always NUL-terminated when errlen > 0) that names the file, says what is
 * wrong and how to get out of it. Borrows state_dir.
 */
int store_open(const char *state_dir, struct store **out, char *err, size_t errlen);

/**
 * Open an existing store read-only (pxed leases): no directory, lock, file or schema is
 * created and no quick_check is run (damage found while reading gives -EUCLEAN). Works while
 * pxed serve writes: it reads the last committed state. -ENOENT when there is no pxed.db.
 * Same error contract as store_open.
 */
int store_open_readonly(const char *state_dir, struct store **out, char *err, size_t errlen);

/**
 * Call cb for every lease row, ordered by IP, from one consistent snapshot (committed data,
 * plus this store's own staged changes). The lease passed to cb is borrowed for the call.
 * cb returns 0 to go on or a negative errno to stop; that value is returned. Returns 0, the
 * callback's error, or -EUCLEAN when a row is damaged or out of range (store_errmsg says which).
 */
int store_load_leases(struct store *st, int (*cb)(void *ctx, const struct dhcp_lease *l),
		      void *ctx);

/**
 * Stage an insert or replacement of the lease with l->ip (copies l; bytes of chaddr past
 * hlen are not kept and read back as zero). Begins the write transaction if none is open.
 * -EINVAL for a state other than bound/released/expired/declined (offers are never stored)
 * or client_id_len > LEASE_CLIENT_ID_MAX.
 *
 * A batch is all or nothing: when staging fails (any error, -EINVAL too), every change staged
 * since the last commit is rolled back and the next store_commit returns that error and
 * commits nothing, even if later changes staged fine. So a caller that stages a batch, calls
 * store_commit and acknowledges only after it returned 0 never acknowledges a lost change.
 */
int store_put_lease(struct store *st, const struct dhcp_lease *l);

/** Stage the deletion of the lease with this IP (host byte order); deleting a missing row is
 * not an error. Failure fails the batch like store_put_lease. */
int store_delete_lease(struct store *st, uint32_t ip);

/** Stage one boot event (see struct store_event; -EINVAL without kind or with mac_len > 16).
 * Failure fails the batch like store_put_lease. */
int store_add_event(struct store *st, const struct store_event *ev);

/**
 * Commit the open write transaction. When it returns 0, every change staged since the last
 * commit is durable (the WAL is fsync'd). Nothing staged: returns 0 at once. When a change of
 * this batch failed to stage, or the commit itself fails, everything is rolled back and -errno
 * returned (-ENOSPC, -EIO, -EINVAL, ...; store_errmsg says why): none of the batch may be
 * acknowledged. The next batch starts clean. (After an I/O error during the fsync itself, the
 * changes may or may not reappear after a restart; never acknowledged, either is safe.)
 */
int store_commit(struct store *st);

/** Number of changes staged in the open transaction (0 when none is open). */
unsigned store_staged(const struct store *st);

/** Copy the counters into *out. */
void store_get_stats(const struct store *st, struct store_stats *out);

/** Detail of the last failure of st (SQLite's message or the damaged row), "" if none. The
 * string is owned by st and valid until the next call on st. */
const char *store_errmsg(const struct store *st);

/** Full path of the database file (owned by st). */
const char *store_path(const struct store *st);

/**
 * Close the store. Commits nothing: changes staged since the last store_commit are rolled
 * back (as after a crash). Checkpoints the WAL into pxed.db, releases the lock and frees st.
 * Accepts NULL.
 */
void store_close(struct store *st);

/* Per-node state: the one-shot reinstall flag and the secret of its kickstart URL. */
struct store_node {
	char name[64];
	bool reinstall;
	char token[33]; /* 32 hex digits */
	int64_t updated_ms;
};

/** Node state by name: 0, -ENOENT (no row yet), or -EIO. */
int store_node_get(struct store *st, const char *name, struct store_node *out);
/** Insert or replace node state; staged like store_put_lease (commit with store_commit). */
int store_node_put(struct store *st, const struct store_node *n);

/* One stored boot event; strings borrowed for the duration of the callback (may be NULL). */
struct store_event_row {
	int64_t id, time_ms;
	const char *node, *mac, *kind, *detail;
};

/**
 * Events newest first: of one node (or all when node is NULL) with id > after_id, at most
 * limit. cb returns non-zero to stop (that value is returned). Returns 0 or -ENOENT.
 */
int store_events(struct store *st, const char *node, int64_t after_id, int limit,
		 int (*cb)(void *ctx, const struct store_event_row *ev), void *ctx);

#endif
