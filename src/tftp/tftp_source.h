/* What a read transfer sends: an open file shared by every concurrent transfer of it, or a
 * buffer in memory (netascii conversions now; rendered documents later). */
#ifndef PXED_TFTP_SOURCE_H
#define PXED_TFTP_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/uio.h>

struct tftp_source {
	int refs;
	int fd;	      /* -1 for memory sources */
	uint8_t *mem; /* owned; NULL for file sources */
	uint64_t size;
	dev_t dev;
	ino_t ino;
	struct timespec mtime;
	off_t st_size;
	bool netascii;
	struct tftp_source *next; /* cache chain */
};

/* Open sources, so concurrent transfers of one file share one descriptor and no block
 * needs a stat or open. */
struct tftp_source_cache {
	struct tftp_source *head;
	size_t n;
};

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

/** Fill iov[0..n) with the bytes at offset off (one preadv for files). Returns bytes read or
 * -errno; short only at end of file. */
long tftp_source_read(const struct tftp_source *s, uint64_t off, const struct iovec *iov, int n);

/** Netascii-encode in[0..len) into out (capacity 2 * len). Pure. Returns bytes written. */
size_t netascii_encode(const uint8_t *in, size_t len, uint8_t *out);

#endif
