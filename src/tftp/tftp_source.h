/* What a read transfer sends: a file mapped once and shared by every concurrent transfer of
 * it, or a buffer in memory (netascii conversions, rendered documents). */
#ifndef PXED_TFTP_SOURCE_H
#define PXED_TFTP_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/uio.h>

struct tftp_source {
	int refs;
	int fd;	      /* -1 once mapped or loaded */
	uint8_t *mem; /* owned; NULL for file sources */
	uint8_t *map; /* file sources: the whole file, mapped read-only (NULL when empty) */
	uint64_t size;
	dev_t dev;
	ino_t ino;
	struct timespec mtime;
	off_t st_size;
	bool netascii;
	struct tftp_source *next; /* cache chain */
};

/* Open sources, so concurrent transfers of one file share one mapping and no block needs a
 * stat, open or read. */
struct tftp_source_cache {
	struct tftp_source *head;
	size_t n;
	uint64_t sent; /* bytes sent from mappings since the last trim */
};

/* Bytes sent from file mappings between two trims (see tftp_source_sent): at least this... */
#define TFTP_SOURCE_TRIM_MIN (4u << 20)
/* ...and this much per running transfer, so each refaults at most once per ~64 KiB it sends. */
#define TFTP_SOURCE_TRIM_PER_XFER (64u << 10)

/**
 * Get a source for rel (a path_confine result) beneath rootfd: opens the file (regular files
 * only), and returns the cached source when the same file (device, inode, size, mtime) is
 * already open, else a new one. With netascii, the content is converted (RFC 764: LF -> CR LF,
 * CR -> CR NUL) into memory, refused with -EFBIG above netascii_max bytes.
 * The caller owns one reference; release it with tftp_source_put. Returns 0 or -errno.
 */
int tftp_source_get(struct tftp_source_cache *c, int rootfd, const char *rel, bool netascii,
		    uint64_t netascii_max, struct tftp_source **out);

/**
 * A source over a copy of data[0..len) (a rendered document), optionally netascii-encoded.
 * Not cached: the caller owns the only reference. Returns 0 or -ENOMEM.
 */
int tftp_source_memory(const void *data, size_t len, bool netascii, struct tftp_source **out);

/** Drop a reference; the source is closed and uncached on the last. Accepts NULL. */
void tftp_source_put(struct tftp_source_cache *c, struct tftp_source *s);

/** The source's size bytes: the file's read-only mapping, or the memory copy. NULL when the
 * source is empty. A file that shrinks under its mapping makes a later read of the lost pages
 * fault: a send from them fails with -EFAULT (the kernel reports it; no signal). */
const uint8_t *tftp_source_bytes(const struct tftp_source *s);

/**
 * Account len bytes sent from s while nxfers transfers run. After max(TFTP_SOURCE_TRIM_MIN,
 * nxfers * TFTP_SOURCE_TRIM_PER_XFER) bytes sent from file mappings, every mapping's pages are
 * dropped from the process (MADV_DONTNEED: they stay in the page cache, and the next send maps
 * them again with a minor fault per 64 KiB or so). pxed's resident set stays bounded by that
 * budget instead of growing by the size of every file it serves.
 */
void tftp_source_sent(struct tftp_source_cache *c, const struct tftp_source *s, size_t len,
		      unsigned nxfers);

/** Netascii-encode in[0..len) into out (capacity 2 * len). Pure. Returns bytes written. */
size_t netascii_encode(const uint8_t *in, size_t len, uint8_t *out);

#endif
