/* File sources: a file is mapped once and shared by its transfers, its bytes survive a trim of
 * the mappings, an empty file has no bytes, a changed file is a new source, netascii and memory
 * sources hold their converted bytes. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>

#include "test.h"
#include "tftp/tftp_source.h"

static char dir[] = "/tmp/pxed-test-source.XXXXXX";
static int rootfd = -1;

static void put_file(const char *name, const void *data, size_t len)
{
	int fd = openat(rootfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	CHECK(fd >= 0);
	CHECK_EQ(write(fd, data, len), (long long)len);
	close(fd);
}

static void test_file_mapped_and_shared(void)
{
	struct tftp_source_cache c = {0};
	uint8_t data[100000];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + 3);
	put_file("big.bin", data, sizeof(data));
	struct tftp_source *a = NULL, *b = NULL;
	CHECK_EQ(tftp_source_get(&c, rootfd, "big.bin", false, 0, &a), 0);
	CHECK_EQ(tftp_source_get(&c, rootfd, "big.bin", false, 0, &b), 0);
	CHECK(a == b);
	CHECK_EQ(c.n, 1);
	CHECK_EQ(a->size, sizeof(data));
	CHECK(a->fd < 0); /* mapped: no descriptor kept */
	CHECK(memcmp(tftp_source_bytes(a), data, sizeof(data)) == 0);
	/* Past the trim budget the pages leave the process; the bytes stay the same. */
	for (int i = 0; i < 100; i++)
		tftp_source_sent(&c, a, 64 << 10, 1);
	CHECK(c.sent < TFTP_SOURCE_TRIM_MIN);
	CHECK(memcmp(tftp_source_bytes(a), data, sizeof(data)) == 0);
	tftp_source_put(&c, b);
	CHECK_EQ(c.n, 1);
	tftp_source_put(&c, a);
	CHECK_EQ(c.n, 0);
}

/* The budget grows with the number of running transfers. */
static void test_trim_budget(void)
{
	struct tftp_source_cache c = {0};
	put_file("t.bin", "abc", 3);
	struct tftp_source *s = NULL;
	CHECK_EQ(tftp_source_get(&c, rootfd, "t.bin", false, 0, &s), 0);
	tftp_source_sent(&c, s, TFTP_SOURCE_TRIM_MIN, 1000);
	CHECK_EQ(c.sent, TFTP_SOURCE_TRIM_MIN); /* 1000 x 64 KiB not reached: no trim */
	tftp_source_sent(&c, s, 1000 * TFTP_SOURCE_TRIM_PER_XFER, 1000);
	CHECK_EQ(c.sent, 0);
	tftp_source_put(&c, s);
}

static void test_empty_and_changed(void)
{
	struct tftp_source_cache c = {0};
	put_file("e.bin", "", 0);
	struct tftp_source *e = NULL, *v1 = NULL, *v2 = NULL;
	CHECK_EQ(tftp_source_get(&c, rootfd, "e.bin", false, 0, &e), 0);
	CHECK_EQ(e->size, 0);
	CHECK(tftp_source_bytes(e) == NULL);
	tftp_source_sent(&c, e, 0, 1);
	put_file("v.bin", "one", 3);
	CHECK_EQ(tftp_source_get(&c, rootfd, "v.bin", false, 0, &v1), 0);
	put_file("v.bin", "three", 5); /* new size: a new version */
	CHECK_EQ(tftp_source_get(&c, rootfd, "v.bin", false, 0, &v2), 0);
	CHECK(v1 != v2);
	CHECK_EQ(v2->size, 5);
	CHECK(memcmp(tftp_source_bytes(v2), "three", 5) == 0);
	tftp_source_put(&c, v1);
	tftp_source_put(&c, v2);
	tftp_source_put(&c, e);
	CHECK_EQ(c.n, 0);
	CHECK_EQ(tftp_source_get(&c, rootfd, "missing", false, 0, &e), -ENOENT);
}

static void test_netascii_and_memory(void)
{
	struct tftp_source_cache c = {0};
	put_file("n.txt", "a\nb\r", 4);
	struct tftp_source *n = NULL, *m = NULL;
	CHECK_EQ(tftp_source_get(&c, rootfd, "n.txt", true, 1024, &n), 0);
	CHECK_EQ(n->size, 6);
	CHECK(memcmp(tftp_source_bytes(n), "a\r\nb\r\0", 6) == 0);
	tftp_source_sent(&c, n, 6, 1); /* memory: not counted */
	CHECK_EQ(c.sent, 0);
	put_file("n2.txt", "abc", 3);
	CHECK_EQ(tftp_source_get(&c, rootfd, "n2.txt", true, 2, &m), -EFBIG);
	CHECK_EQ(tftp_source_memory("x\n", 2, false, &m), 0);
	CHECK_EQ(m->size, 2);
	CHECK(memcmp(tftp_source_bytes(m), "x\n", 2) == 0);
	tftp_source_put(&c, m);
	tftp_source_put(&c, n);
}

int main(void)
{
	CHECK(mkdtemp(dir) != NULL);
	rootfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHECK(rootfd >= 0);
	RUN(test_file_mapped_and_shared);
	RUN(test_trim_budget);
	RUN(test_empty_and_changed);
	RUN(test_netascii_and_memory);
	const char *names[] = {"big.bin", "t.bin", "e.bin", "v.bin", "n.txt", "n2.txt"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		unlinkat(rootfd, names[i], 0);
	close(rootfd);
	rmdir(dir);
	return test_summary();
}
