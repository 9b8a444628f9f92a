/* File sources shared between transfers; see tftp_source.h. */
#include "tftp/tftp_source.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/path.h"

size_t netascii_encode(const uint8_t *in, size_t len, uint8_t *out)
{
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		if (in[i] == '\n') {
			out[o++] = '\r';
			out[o++] = '\n';
		} else if (in[i] == '\r') {
			out[o++] = '\r';
			out[o++] = '\0';
		} else {
			out[o++] = in[i];
		}
	}
	return o;
}

/* Read the whole file and keep its netascii form in s->mem. */
static int load_netascii(struct tftp_source *s, uint64_t max)
{
	if ((uint64_t)s->st_size > max)
		return -EFBIG;
	size_t n = (size_t)s->st_size;
	uint8_t *raw = malloc(n ? n : 1);
	uint8_t *enc = malloc(n ? 2 * n : 1);
	if (!raw || !enc)
		goto out_nomem;
	size_t got = 0;
	while (got < n) {
		ssize_t r = pread(s->fd, raw + got, n - got, (off_t)got);
		if (r <= 0) {
			free(raw);
			free(enc);
			return r < 0 ? -errno : -EIO;
		}
		got += (size_t)r;
	}
	s->size = netascii_encode(raw, n, enc);
	s->mem = enc;
	free(raw);
	close(s->fd);
	s->fd = -1;
	return 0;
out_nomem:
	free(raw);
	free(enc);
	return -ENOMEM;
}

/* Map the whole file read-only; the descriptor is not needed after that. */
static int map_file(struct tftp_source *s)
{
	if (s->size > SIZE_MAX)
		return -EFBIG; /* 32-bit: larger than the address space */
	if (s->size > 0) {
		void *p = mmap(NULL, (size_t)s->size, PROT_READ, MAP_SHARED, s->fd, 0);
		if (p == MAP_FAILED)
			return -errno;
		s->map = p;
	}
	close(s->fd);
	s->fd = -1;
	return 0;
}

static bool same_file(const struct tftp_source *s, const struct stat *st, bool netascii)
{
	return s->dev == st->st_dev && s->ino == st->st_ino && s->st_size == st->st_size &&
	       s->mtime.tv_sec == st->st_mtim.tv_sec && s->mtime.tv_nsec == st->st_mtim.tv_nsec &&
	       s->netascii == netascii;
}

int tftp_source_get(struct tftp_source_cache *c, int rootfd, const char *rel, bool netascii,
		    uint64_t netascii_max, struct tftp_source **out)
{
	struct stat st;
	int fd = path_open_regular_beneath(rootfd, rel, 0, &st);
	if (fd < 0)
		return fd;
	for (struct tftp_source *s = c->head; s; s = s->next) {
		if (same_file(s, &st, netascii)) {
			close(fd);
			s->refs++;
			*out = s;
			return 0;
		}
	}
	struct tftp_source *s = calloc(1, sizeof(*s));
	if (!s) {
		close(fd);
		return -ENOMEM;
	}
	s->refs = 1;
	s->fd = fd;
	s->size = (uint64_t)st.st_size;
	s->st_size = st.st_size;
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	s->mtime = st.st_mtim;
	s->netascii = netascii;
	int rc = netascii ? load_netascii(s, netascii_max) : map_file(s);
	if (rc < 0) {
		close(fd);
		free(s);
		return rc;
	}
	s->next = c->head;
	c->head = s;
	c->n++;
	*out = s;
	return 0;
}

int tftp_source_memory(const void *data, size_t len, bool netascii, struct tftp_source **out)
{
	struct tftp_source *s = calloc(1, sizeof(*s));
	uint8_t *mem = malloc(len ? (netascii ? 2 * len : len) : 1);
	if (!s || !mem) {
		free(s);
		free(mem);
		return -ENOMEM;
	}
	s->refs = 1;
	s->fd = -1;
	s->mem = mem;
	s->netascii = netascii;
	s->ino = 0; /* never matches a cached file: memory sources stay out of the cache */
	if (netascii) {
		s->size = netascii_encode(data, len, mem);
	} else {
		memcpy(mem, data, len);
		s->size = len;
	}
	*out = s;
	return 0;
}

void tftp_source_put(struct tftp_source_cache *c, struct tftp_source *s)
{
	if (!s || --s->refs > 0)
		return;
	for (struct tftp_source **pp = &c->head; *pp; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			c->n--;
			break;
		}
	}
	if (s->fd >= 0)
		close(s->fd);
	if (s->map)
		munmap(s->map, (size_t)s->size);
	free(s->mem);
	free(s);
}

const uint8_t *tftp_source_bytes(const struct tftp_source *s)
{
	return s->map ? s->map : s->mem;
}

void tftp_source_sent(struct tftp_source_cache *c, const struct tftp_source *s, size_t len,
		      unsigned nxfers)
{
	if (!s->map)
		return;
	c->sent += len;
	uint64_t budget = (uint64_t)nxfers * TFTP_SOURCE_TRIM_PER_XFER;
	if (c->sent < TFTP_SOURCE_TRIM_MIN || c->sent < budget)
		return;
	c->sent = 0;
	for (struct tftp_source *m = c->head; m; m = m->next)
		if (m->map)
			(void)madvise(m->map, (size_t)m->size, MADV_DONTNEED);
}
