/* Bounded reader/writer: overruns fail and stay failed. */
#include <errno.h>

#include "core/buf.h"
#include "test.h"

static void test_reader(void)
{
	const uint8_t data[] = {1, 2, 3, 4, 5, 6, 7, 'h', 'i', 0, 'x'};
	void *base;
	size_t ml;
	const uint8_t *g = guard_copy(data, sizeof(data), &base, &ml);
	struct rd r;
	rd_init(&r, g, sizeof(data));
	uint8_t a;
	uint16_t b;
	uint32_t c;
	CHECK(rd_u8(&r, &a) && a == 1);
	CHECK(rd_u16be(&r, &b) && b == 0x0203);
	CHECK(rd_u32be(&r, &c) && c == 0x04050607);
	const char *s;
	size_t sl;
	CHECK(rd_cstr(&r, &s, &sl) && sl == 2 && memcmp(s, "hi", 2) == 0);
	CHECK_EQ(rd_left(&r), 1);
	CHECK(!rd_cstr(&r, &s, &sl)); /* no NUL left: fails without over-reading */
	CHECK(!rd_u8(&r, &a));	      /* failed readers stay failed */
	CHECK_EQ(rd_left(&r), 0);
	rd_init(&r, g, sizeof(data));
	CHECK(!rd_skip(&r, sizeof(data) + 1));
	rd_init(&r, g, 1);
	CHECK(!rd_u16be(&r, &b));
	guard_free(base, ml);
}

static void test_writer(void)
{
	uint8_t buf[6];
	struct wr w;
	wr_init(&w, buf, sizeof(buf));
	CHECK(wr_u16be(&w, 0x0102));
	CHECK(wr_cstr(&w, "ab", 2));
	CHECK_EQ(wr_result(&w), 5);
	CHECK(!wr_u16be(&w, 1));
	CHECK_EQ(wr_result(&w), -ENOSPC);
	CHECK(!wr_u8(&w, 1)); /* stays failed */
	CHECK(buf[0] == 1 && buf[1] == 2 && buf[2] == 'a' && buf[4] == 0);
}

int main(void)
{
	RUN(test_reader);
	RUN(test_writer);
	return test_summary();
}
