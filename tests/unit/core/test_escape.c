/* Escaping untrusted strings for log lines. */
#include "core/escape.h"
#include "test.h"

static void test_escape(void)
{
	char out[64];
	CHECK_STR(str_escape(out, sizeof(out), "pxelinux.0", 10), "pxelinux.0");
	CHECK_STR(str_escape(out, sizeof(out), "a\nb\"c\\", 6), "a\\nb\\\"c\\\\");
	CHECK_STR(str_escape(out, sizeof(out), "\x1b[31m\x7f\xff", 7), "\\x1b[31m\\x7f\\xff");
	CHECK_STR(str_escape(out, sizeof(out), "a\0b", 3), "a\\x00b");
	char small[8];
	CHECK_STR(str_escape(small, sizeof(small), "abcdefghijkl", 12), "abcd...");
	CHECK_STR(str_escape(small, sizeof(small), "\x01\x02\x03", 3), "\\x01...");
	CHECK_EQ(strlen(str_escape(small, sizeof(small), "\x01\x02\x03", 3)) < sizeof(small), 1);
}

int main(void)
{
	RUN(test_escape);
	return test_summary();
}
