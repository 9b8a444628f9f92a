/* Minimal unit-test harness: CHECK records failures and goes on; test_main prints a summary
 * and returns non-zero when anything failed. Also: guard_copy places parser input right before
 * an unreadable page so any over-read crashes the test. */
#ifndef PXED_TEST_H
#define PXED_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static int test_checks, test_failures;

#define CHECK(cond)                                                                              \
	do {                                                                                     \
		test_checks++;                                                                   \
		if (!(cond)) {                                                                   \
			test_failures++;                                                         \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
		}                                                                                \
	} while (0)

#define CHECK_EQ(a, b)                                                                      \
	do {                                                                                \
		long long va_ = (long long)(a), vb_ = (long long)(b);                       \
		test_checks++;                                                              \
		if (va_ != vb_) {                                                           \
			test_failures++;                                                    \
			fprintf(stderr, "%s:%d: CHECK_EQ failed: %s == %lld, %s == %lld\n", \
				__FILE__, __LINE__, #a, va_, #b, vb_);                      \
		}                                                                           \
	} while (0)

#define CHECK_STR(a, b)                                                                          \
	do {                                                                                     \
		const char *sa_ = (a), *sb_ = (b);                                               \
		test_checks++;                                                                   \
		if (!sa_ || !sb_ || strcmp(sa_, sb_) != 0) {                                     \
			test_failures++;                                                         \
			fprintf(stderr, "%s:%d: CHECK_STR failed: \"%s\" != \"%s\"\n", __FILE__, \
				__LINE__, sa_ ? sa_ : "(null)", sb_ ? sb_ : "(null)");           \
		}                                                                                \
	} while (0)

#define RUN(fn)                                                                              \
	do {                                                                                 \
		int before_ = test_failures;                                                 \
		fn();                                                                        \
		fprintf(stderr, "%s %s\n", test_failures == before_ ? "ok  " : "FAIL", #fn); \
	} while (0)

static inline int test_summary(void)
{
	fprintf(stderr, "%d checks, %d failed\n", test_checks, test_failures);
	return test_failures ? 1 : 0;
}

/* Copy len bytes so that they end exactly at an inaccessible page. The result stays mapped
 * until guard_free. */
static inline void *guard_copy(const void *data, size_t len, void **base_out, size_t *map_len)
{
	long pg = sysconf(_SC_PAGESIZE);
	size_t data_pages = (len + (size_t)pg - 1) / (size_t)pg;
	size_t total = (data_pages + 1) * (size_t)pg;
	unsigned char *base =
		mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED) {
		perror("mmap");
		abort();
	}
	mprotect(base + data_pages * (size_t)pg, (size_t)pg, PROT_NONE);
	unsigned char *start = base + data_pages * (size_t)pg - len;
	if (len)
		memcpy(start, data, len);
	*base_out = base;
	*map_len = total;
	return start;
}

static inline void guard_free(void *base, size_t map_len)
{
	munmap(base, map_len);
}

#endif
