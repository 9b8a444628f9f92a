/* Transfer state machines with injected time: lock-step and windowed reads, loss, duplicate
 * and stale ACKs (no Sorcerer's Apprentice), timeouts with backoff and a bounded number of
 * tries, block-number rollover far past 65535 blocks, and lock-step writes. */
#include "test.h"
#include "tftp/tftp_xfer.h"

static const struct tftp_timing T = {
	.rto_init_ms = 1000, .rto_min_ms = 50, .rto_max_ms = 5000, .retries = 5, .fixed_s = 0};

static void test_lockstep_small(void)
{
	struct tftp_rxfer x;
	struct tftp_action a;
	tftp_rxfer_start(&x, 1000, 512, 1, false, &T, 0, &a);
	CHECK_EQ(a.kind, TFTP_ACT_SEND_DATA);
	CHECK_EQ(a.first, 1);
	CHECK_EQ(a.count, 1);
	CHECK_EQ(a.timer_at, 1000);
	CHECK_EQ(x.nblocks, 2);
	CHECK_EQ(tftp_rxfer_block_len(&x, 1), 512);
	CHECK_EQ(tftp_rxfer_block_len(&x, 2), 488);
	tftp_rxfer_on_ack(&x, 1, 1, &a);
	CHECK_EQ(a.kind, TFTP_ACT_SEND_DATA);
	CHECK_EQ(a.first, 2);
	CHECK(!a.retransmit);
	tftp_rxfer_on_ack(&x, 2, 2, &a);
	CHECK_EQ(a.kind, TFTP_ACT_DONE);
}

/* A file that is an exact multiple of blksize ends with an empty block (RFC 1350 §6). */
static void test_exact_multiple_and_empty(void)
{
	struct tftp_rxfer x;
	struct tftp_action a;
	tftp_rxfer_start(&x, 1024, 512, 1, false, &T, 0, &a);
	CHECK_EQ(x.nblocks, 3);
	CHECK_EQ(tftp_rxfer_block_len(&x, 3), 0);
	tftp_rxfer_start(&x, 0, 512, 1, false, &T, 0, &a);
	CHECK_EQ(x.nblocks, 1);
	CHECK_EQ(a.count, 1);
	CHECK_EQ(tftp_rxfer_block_len(&x, 1), 0);
	tftp_rxfer_on_ack(&x, 1, 0, &a);
	CHECK_EQ(a.kind, TFTP_ACT_DONE);
}

static void test_oack_then_data(void)
{
	struct tftp_rxfer x;
	struct tftp_action a;
	tftp_rxfer_start(&x, 5000, 1468, 4, true, &T, 100, &a);
	CHECK_EQ(a.kind, TFTP_ACT_SEND_OACK);
	tftp_rxfer_on_ack(&x, 1, 101, &a); /* not ACK 0: ignored */
	CHECK_EQ(a.kind, TFTP_ACT_NONE);
	tftp_rxfer_on_ack(&x, 0, 102, &a);
	CHECK_EQ(a.kind, TFTP_ACT_SEND_DATA);
	CHECK_EQ(a.first, 1);
	CHECK_EQ(a.count, 4); /* 5000 / 1468 = 3 full + 1 short = 4 blocks */
	tftp_rxfer_on_ack(&x, 4, 103, &a);
	CHECK_EQ(a.kind, TFTP_ACT_DONE);
}

/* Duplicate ACKs never cause re-sends (the Sorcerer's Apprentice bug). */
static void test_duplicate_acks_ignored(void)
{
	struct tftp_rxfer x;
	struct tftp_action a;
	tftp_rxfer_start(&x, 512 * 10, 512, 1, false, &T, 0, &a);
	tftp_rxfer_on_ack(&x, 1, 1, &a);
	CHECK_EQ(a.first, 2);
	tftp_rxfer_on_ack(&x, 1, 2, &a);
	CHECK_EQ(a.kind, TFTP_ACT_NONE);
	tftp_rxfer_on_ack(&x, 1, 3, &a);
	CHECK_EQ(a.kind, TFTP_ACT_NONE);
	tftp_rxfer_on_ack(&x, 7, 4, &a); /* never sent */
	CHECK_EQ(a.kind, TFTP_ACT_NONE);
	tftp_rxfer_on_ack(&x, 2, 5, &a);
	CHECK_EQ(a.kind, TFTP_ACT_SEND_DATA);
	CHECK_EQ(a.first, 3);
	CHECK_EQ(x.retransmitted, 0);
}

/* Windowed: duplicate ACKs of a window do not resend it; a partial ACK restarts after it. */
static void test_window_partial_and_dups(void)
{
	struct tftp_rxfer x;
	struct tftp_action a;
	tftp_rxfer_start(&x, 512 * 100, 512, 8, false, &T, 0, &a);
	CHECK_EQ(a.first, 1);
	CHECK_EQ(a.count, 8);
	tftp_rxfer_on_ack(&x, 8, 1, &a);
	CHECK_EQ(a.first, 9);
	CHECK_EQ(a.count, 8);
	tftp_rxfer_on_ack(&x, 8, 2, &a); /* duplicate of the window's ACK */
	CHECK_EQ(a.kind, TFTP_ACT_NONE);
	/* client lost block 12: ACKs 11 (RFC 7440 §4) */
	tftp_rxfer_on_ack(&x, 11, 3, &a);
	CHECK_EQ(a.kind, TFTP_ACT_SEND_DATA);
	CHECK_EQ(a.first, 12);
	CHECK_EQ(a.count, 8);
	CHECK(a.retransmit);
	CHECK_EQ(x.retransmitted, 5);	  /* 12..16 went out twice */
	tftp_rxfer_on_ack(&x, 11, 4, &a); /* the same partial ACK again: ignored */
	CHECK_EQ(a.kind, TFTP_ACT_NONE);
	tftp_rxfer_on_ack(&x, 10, 5, &a); /* stale */
	CHECK_EQ(a.kind, TFTP_ACT_NONE);
}

/* Timeouts: resend from the first unacknowledged block with doubling timers, then give up. */
static void test_timeout_backoff_gives_up(void)
{
	struct tftp_rxfer x;
	struct tftp_action a;
	tftp_rxfer_start(&x, 512 * 4, 512, 2, false, &T, 0, &a);
	CHECK_EQ(a.timer_at, 1000);
	tftp_rxfer_on_timeout(&x, 999, &a); /* early wake-up: nothing */
	CHECK_EQ(a.kind, TFTP_ACT_NONE);
	CHECK_EQ(a.timer_at, 1000);
	uint64_t now = 1000, expect_gap = 2000;
	for (unsigned i = 0; i < T.retries; i++) {
		tftp_rxfer_on_timeout(&x, now, &a);
		CHECK_EQ(a.kind, TFTP_ACT_SEND_DATA);
		CHECK_EQ(a.first, 1);
		CHECK(a.retransmit);
		CHECK_EQ(a.timer_at - now, expect_gap);
		now = a.timer_at;
		expect_gap = expect_gap * 2 > T.rto_max_ms ? T.rto_max_ms : expect_gap * 2;
	}
	tftp_rxfer_on_timeout(&x, now, &a);
	CHECK_EQ(a.kind, TFTP_ACT_FAIL);
	CHECK_EQ(a.fail, TFTP_FAIL_TIMEOUT);
}

/* Progress resets the backoff, and a measured round trip shortens the timer (adaptive). */
static void test_adaptive_rto(void)
{
	struct tftp_rxfer x;
	struct tftp_action a;
	tftp_rxfer_start(&x, 512 * 50, 512, 1, false, &T, 0, &a);
	uint64_t now = 0;
	for (uint16_t b = 1; b <= 10; b++) {
		now += 2;
		tftp_rxfer_on_ack(&x, b, now, &a);
	}
	CHECK_EQ(a.kind, TFTP_ACT_SEND_DATA);
	CHECK(a.timer_at - now <= 50); /* floored at rto_min */
	CHECK(a.timer_at - now >= 50);
	/* a lost block: timeout resends it, then the ACK clears the backoff */
	now = a.timer_at;
	tftp_rxfer_on_timeout(&x, now, &a);
	CHECK_EQ(a.first, 11);
	CHECK_EQ(a.timer_at - now, 100);
	tftp_rxfer_on_ack(&x, 11, now + 1, &a);
	CHECK_EQ(a.first, 12);
	CHECK_EQ(a.timer_at - (now + 1), 50);
}

/* The client's timeout option caps the timer. */
static void test_client_timeout_caps(void)
{
	struct tftp_timing t = T;
	t.fixed_s = 1;
	t.rto_init_ms = 3000;
	struct tftp_rxfer x;
	struct tftp_action a;
	tftp_rxfer_start(&x, 100, 512, 1, true, &t, 0, &a);
	CHECK_EQ(a.timer_at, 1000);
	tftp_rxfer_on_timeout(&x, 1000, &a);
	CHECK_EQ(a.kind, TFTP_ACT_SEND_OACK);
	CHECK_EQ(a.timer_at, 2000); /* backoff capped at 1 s */
}

/* The last ACK never comes: a distinct failure reason. */
static void test_no_last_ack(void)
{
	struct tftp_rxfer x;
	struct tftp_action a;
	tftp_rxfer_start(&x, 10, 512, 1, false, &T, 0, &a);
	uint64_t now = a.timer_at;
	for (unsigned i = 0; i <= T.retries; i++) {
		tftp_rxfer_on_timeout(&x, now, &a);
		now = a.timer_at;
	}
	CHECK_EQ(a.kind, TFTP_ACT_FAIL);
	CHECK_EQ(a.fail, TFTP_FAIL_NO_LAST_ACK);
}

/* 64 MiB at blksize 512 is 131073 blocks: block numbers wrap twice (to 0). */
static void test_rollover_lockstep(void)
{
	struct tftp_rxfer x;
	struct tftp_action a;
	uint64_t size = 64ull << 20;
	tftp_rxfer_start(&x, size, 512, 1, false, &T, 0, &a);
	uint64_t sent = 0, bytes = 0;
	uint64_t now = 0;
	while (a.kind == TFTP_ACT_SEND_DATA) {
		CHECK_EQ(a.count, 1);
		CHECK_EQ(a.first, sent + 1);
		sent = a.first;
		bytes += tftp_rxfer_block_len(&x, a.first);
		tftp_rxfer_on_ack(&x, (uint16_t)a.first, ++now, &a);
	}
	CHECK_EQ(a.kind, TFTP_ACT_DONE);
	CHECK_EQ(sent, 131073);
	CHECK_EQ(bytes, size);
}

/* Windowed across the wrap, with a loss right at the wrap point. */
static void test_rollover_window_loss(void)
{
	struct tftp_rxfer x;
	struct tftp_action a;
	uint64_t size = 512ull * 70000 + 7;
	tftp_rxfer_start(&x, size, 512, 16, false, &T, 0, &a);
	uint64_t now = 0, expected = 1;
	bool lost = false;
	while (a.kind == TFTP_ACT_SEND_DATA) {
		uint64_t last = a.first + a.count - 1;
		CHECK_EQ(a.first, expected);
		uint64_t ack = last;
		if (!lost && a.first <= 65536 && last >= 65536) {
			ack = 65535; /* block 65536 (wire 0) lost */
			lost = true;
		}
		expected = ack + 1;
		tftp_rxfer_on_ack(&x, (uint16_t)ack, ++now, &a);
	}
	CHECK(lost);
	CHECK_EQ(a.kind, TFTP_ACT_DONE);
	CHECK_EQ(x.acked, 70001);
}

static void test_unwrap(void)
{
	uint64_t i;
	CHECK(tftp_block_unwrap(0, 65530, 65540, &i));
	CHECK_EQ(i, 65536);
	CHECK(tftp_block_unwrap(65535, 65530, 65540, &i));
	CHECK_EQ(i, 65535);
	CHECK(!tftp_block_unwrap(100, 65530, 65540, &i));
	CHECK(tftp_block_unwrap(3, 0x30000, 0x30005, &i));
	CHECK_EQ(i, 0x30003);
	CHECK(!tftp_block_unwrap(1, 5, 4, &i));
}

static void test_write_lockstep(void)
{
	struct tftp_wxfer x;
	struct tftp_action a;
	tftp_wxfer_start(&x, 512, false, &T, 0, &a);
	CHECK_EQ(a.kind, TFTP_ACT_SEND_ACK);
	CHECK_EQ(a.first, 0);
	tftp_wxfer_on_data(&x, 1, 512, 1, &a);
	CHECK_EQ(a.kind, TFTP_ACT_SEND_ACK);
	CHECK_EQ(a.first, 1);
	CHECK(!a.retransmit);
	tftp_wxfer_on_data(&x, 1, 512, 2, &a); /* duplicate: re-ACK, not written again */
	CHECK_EQ(a.kind, TFTP_ACT_SEND_ACK);
	CHECK(a.retransmit);
	tftp_wxfer_on_data(&x, 3, 512, 3, &a); /* out of order: ignored */
	CHECK_EQ(a.kind, TFTP_ACT_NONE);
	tftp_wxfer_on_data(&x, 2, 600, 3, &a); /* larger than blksize: ignored */
	CHECK_EQ(a.kind, TFTP_ACT_NONE);
	tftp_wxfer_on_data(&x, 2, 100, 4, &a);
	CHECK_EQ(a.kind, TFTP_ACT_SEND_ACK);
	CHECK(a.final_ack);
	CHECK_EQ(x.bytes, 612);
	tftp_wxfer_on_data(&x, 2, 100, 5, &a); /* last block repeated while dallying */
	CHECK_EQ(a.kind, TFTP_ACT_SEND_ACK);
	CHECK(a.retransmit);
	tftp_wxfer_on_timeout(&x, a.timer_at, &a);
	CHECK_EQ(a.kind, TFTP_ACT_DONE);
}

static void test_write_oack_timeout(void)
{
	struct tftp_wxfer x;
	struct tftp_action a;
	tftp_wxfer_start(&x, 1468, true, &T, 0, &a);
	CHECK_EQ(a.kind, TFTP_ACT_SEND_OACK);
	uint64_t now = a.timer_at;
	for (unsigned i = 0; i < T.retries; i++) {
		tftp_wxfer_on_timeout(&x, now, &a);
		CHECK_EQ(a.kind, TFTP_ACT_SEND_OACK);
		now = a.timer_at;
	}
	tftp_wxfer_on_timeout(&x, now, &a);
	CHECK_EQ(a.kind, TFTP_ACT_FAIL);
}

/* Windowed with the client's timeout: the first retransmissions follow the measured round
 * trip, and the backoff grows past the client's timeout, so a client that re-ACKs only after
 * a silence as long as its timeout gets one. */
static void test_windowed_client_timeout_strict(void)
{
	struct tftp_timing t = T;
	t.fixed_s = 1;
	t.strict = true;
	struct tftp_rxfer x;
	struct tftp_action a;
	tftp_rxfer_start(&x, 512 * 40, 512, 4, false, &t, 0, &a);
	CHECK_EQ(a.timer_at, 1000);
	tftp_rxfer_on_ack(&x, 4, 2, &a); /* a fast round trip: floor 50 ms */
	CHECK_EQ(a.timer_at - 2, 50);
	uint64_t now = a.timer_at, gap = 0;
	for (unsigned i = 0; i < t.retries; i++) {
		tftp_rxfer_on_timeout(&x, now, &a);
		gap = a.timer_at - now;
		now = a.timer_at;
	}
	CHECK(gap > 1000); /* a silence longer than the client's timeout */
	CHECK_EQ(gap, 1600);
}

int main(void)
{
	RUN(test_windowed_client_timeout_strict);
	RUN(test_lockstep_small);
	RUN(test_exact_multiple_and_empty);
	RUN(test_oack_then_data);
	RUN(test_duplicate_acks_ignored);
	RUN(test_window_partial_and_dups);
	RUN(test_timeout_backoff_gives_up);
	RUN(test_adaptive_rto);
	RUN(test_client_timeout_caps);
	RUN(test_no_last_ack);
	RUN(test_rollover_lockstep);
	RUN(test_rollover_window_loss);
	RUN(test_unwrap);
	RUN(test_write_lockstep);
	RUN(test_write_oack_timeout);
	return test_summary();
}
