/* TFTP transfer state machines; see tftp_xfer.h. */
#include "tftp/tftp_xfer.h"

#include <string.h>

/* ---- retransmission timer ---------------------------------------------------------------- */

static unsigned clamp_u(unsigned v, unsigned lo, unsigned hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* Lock-step: the client's RFC 2349 timeout is the longest pxed waits; the measured round trip
 * may make it retransmit sooner, which at worst costs one duplicate block. Windowed (strict):
 * the backoff may grow past the client's timeout, because some windowed clients (atftp)
 * re-ACK a lost window ACK only after a silence as long as their timeout; the first
 * retransmissions still come at the measured pace, so ordinary loss is repaired quickly. */
static unsigned rto_cap(const struct tftp_rto *r, unsigned ms)
{
	unsigned fixed = r->t.fixed_s * 1000u;
	unsigned cap = !fixed	     ? r->t.rto_max_ms
		       : r->t.strict ? (fixed > r->t.rto_max_ms ? fixed : r->t.rto_max_ms)
				     : fixed;
	return ms > cap ? cap : ms;
}

/* Timeout from the estimator (RFC 6298 §2: RTO = SRTT + max(G, 4 * RTTVAR)), no backoff. */
static unsigned rto_base(const struct tftp_rto *r)
{
	if (!r->have_sample)
		return rto_cap(r, r->t.rto_init_ms);
	unsigned ms = (r->srtt_us + 4 * r->rttvar_us + 999) / 1000;
	return rto_cap(r, clamp_u(ms, r->t.rto_min_ms, r->t.rto_max_ms));
}

static void rto_init(struct tftp_rto *r, const struct tftp_timing *t)
{
	memset(r, 0, sizeof(*r));
	r->t = *t;
	r->rto_ms = rto_base(r);
}

/* Feed one round-trip sample (only from packets sent once: Karn's rule). */
static void rto_sample(struct tftp_rto *r, uint64_t rtt_ms)
{
	uint32_t s = rtt_ms > 60000 ? 60000000u : (uint32_t)(rtt_ms * 1000);
	if (!r->have_sample) {
		r->srtt_us = s;
		r->rttvar_us = s / 2;
		r->have_sample = true;
	} else {
		uint32_t d = r->srtt_us > s ? r->srtt_us - s : s - r->srtt_us;
		r->rttvar_us = (3 * r->rttvar_us + d) / 4;
		r->srtt_us = (7 * r->srtt_us + s) / 8;
	}
}

/* The peer made progress: forget backoff. */
static void rto_progress(struct tftp_rto *r)
{
	r->tries = 0;
	r->rto_ms = rto_base(r);
}

/* A timeout: double the timer (RFC 6298 §5.5), bounded. Returns false when out of tries. */
static bool rto_backoff(struct tftp_rto *r)
{
	if (r->tries >= r->t.retries)
		return false;
	r->tries++;
	r->rto_ms = rto_cap(r, r->rto_ms * 2);
	return true;
}

static uint64_t rto_arm(struct tftp_rto *r, uint64_t now)
{
	r->deadline = now + r->rto_ms;
	return r->deadline;
}

/* ---- shared helpers ------------------------------------------------------------------------ */

bool tftp_block_unwrap(uint16_t block, uint64_t lo, uint64_t hi, uint64_t *idx)
{
	if (hi < lo)
		return false;
	/* The candidate is the first index >= lo whose low 16 bits equal block. */
	uint64_t cand = (lo & ~(uint64_t)0xffff) | block;
	if (cand < lo)
		cand += 0x10000;
	if (cand > hi)
		return false;
	*idx = cand;
	return true;
}

const char *tftp_fail_str(enum tftp_fail f)
{
	static const char *names[] = {
		[TFTP_FAIL_NONE] = "ok",
		[TFTP_FAIL_TIMEOUT] = "timed out waiting for the client",
		[TFTP_FAIL_NO_LAST_ACK] = "all data sent, last ACK never came",
		[TFTP_FAIL_PEER_ERROR] = "client sent an error",
		[TFTP_FAIL_IO] = "local I/O error",
	};
	return (unsigned)f < sizeof(names) / sizeof(names[0]) ? names[f] : "?";
}

static void act_none(struct tftp_action *act, uint64_t timer_at)
{
	memset(act, 0, sizeof(*act));
	act->kind = TFTP_ACT_NONE;
	act->timer_at = timer_at;
}

static void act_fail(struct tftp_action *act, enum tftp_fail why)
{
	memset(act, 0, sizeof(*act));
	act->kind = TFTP_ACT_FAIL;
	act->fail = why;
}

/* ---- read transfer ------------------------------------------------------------------------- */

uint64_t tftp_rxfer_block_len(const struct tftp_rxfer *x, uint64_t i)
{
	uint64_t off = (i - 1) * x->blksize;
	if (off >= x->size)
		return 0;
	return x->size - off < x->blksize ? x->size - off : x->blksize;
}

/* Send the window starting at block `from`. */
static void rx_send_window(struct tftp_rxfer *x, uint64_t from, uint64_t now,
			   struct tftp_action *act)
{
	uint64_t count = x->nblocks - from + 1;
	if (count > x->windowsize)
		count = x->windowsize;
	uint64_t last = from + count - 1;
	bool resend = from <= x->sent_hi;
	if (resend)
		x->retransmitted += (x->sent_hi < last ? x->sent_hi : last) - from + 1;
	if (last > x->sent_hi)
		x->sent_hi = last;
	/* Karn: time only windows whose every block goes out for the first time. */
	x->sample_block = resend ? 0 : last;
	x->sample_first = from;
	x->sample_sent = now;
	memset(act, 0, sizeof(*act));
	act->kind = TFTP_ACT_SEND_DATA;
	act->first = from;
	act->count = count;
	act->retransmit = resend;
	act->timer_at = rto_arm(&x->rto, now);
}

void tftp_rxfer_start(struct tftp_rxfer *x, uint64_t size, uint16_t blksize, uint16_t windowsize,
		      bool oack, const struct tftp_timing *t, uint64_t now, struct tftp_action *act)
{
	memset(x, 0, sizeof(*x));
	x->size = size;
	x->blksize = blksize ? blksize : 512;
	x->windowsize = windowsize ? windowsize : 1;
	x->nblocks = size / x->blksize + 1; /* RFC 1350 §6: a short (maybe empty) block ends it */
	rto_init(&x->rto, t);
	if (!oack) {
		rx_send_window(x, 1, now, act);
		return;
	}
	x->oack_pending = true;
	x->sample_sent = now;
	memset(act, 0, sizeof(*act));
	act->kind = TFTP_ACT_SEND_OACK;
	act->timer_at = rto_arm(&x->rto, now);
}

void tftp_rxfer_on_ack(struct tftp_rxfer *x, uint16_t block, uint64_t now, struct tftp_action *act)
{
	uint64_t idx;
	if (x->oack_pending) {
		/* RFC 2347: the client acknowledges the OACK with ACK 0. */
		if (block != 0) {
			act_none(act, x->rto.deadline);
			return;
		}
		x->oack_pending = false;
		if (x->rto.tries == 0)
			rto_sample(&x->rto, now - x->sample_sent);
		rto_progress(&x->rto);
		rx_send_window(x, 1, now, act);
		return;
	}
	/* Only ACKs for blocks sent and not yet acknowledged move us; duplicates of the last
	 * ACK are ignored so a delayed packet never doubles the stream (Sorcerer's Apprentice,
	 * RFC 1350 errata / RFC 1123 §4.2.3.1). */
	if (!tftp_block_unwrap(block, x->acked + 1, x->sent_hi, &idx)) {
		act_none(act, x->rto.deadline);
		return;
	}
	/* any ACK inside a window sent once is a (slightly long) round-trip sample */
	if (x->sample_block && idx >= x->sample_first && idx <= x->sample_block) {
		rto_sample(&x->rto, now - x->sample_sent);
		x->sample_block = 0;
	}
	x->acked = idx;
	rto_progress(&x->rto);
	if (x->acked == x->nblocks) {
		memset(act, 0, sizeof(*act));
		act->kind = TFTP_ACT_DONE;
		return;
	}
	/* RFC 7440 §4: an ACK inside the window means the client lost what followed; the
	 * next window starts right after the acknowledged block. */
	rx_send_window(x, idx + 1, now, act);
}

void tftp_rxfer_on_timeout(struct tftp_rxfer *x, uint64_t now, struct tftp_action *act)
{
	if (now < x->rto.deadline) {
		act_none(act, x->rto.deadline);
		return;
	}
	if (!rto_backoff(&x->rto)) {
		act_fail(act, x->sent_hi == x->nblocks ? TFTP_FAIL_NO_LAST_ACK : TFTP_FAIL_TIMEOUT);
		return;
	}
	if (x->oack_pending) {
		memset(act, 0, sizeof(*act));
		act->kind = TFTP_ACT_SEND_OACK;
		act->retransmit = true;
		act->timer_at = rto_arm(&x->rto, now);
		return;
	}
	rx_send_window(x, x->acked + 1, now, act);
}

/* ---- write transfer ------------------------------------------------------------------------ */

static void wx_ack(struct tftp_wxfer *x, uint64_t idx, bool resend, uint64_t now,
		   struct tftp_action *act)
{
	memset(act, 0, sizeof(*act));
	act->kind = TFTP_ACT_SEND_ACK;
	act->first = idx;
	act->retransmit = resend;
	act->final_ack = x->done;
	act->timer_at = rto_arm(&x->rto, now);
	if (x->done) /* dally: linger to re-ACK a repeated last block (RFC 1350 §6) */
		act->timer_at = x->rto.deadline = now + 2 * (uint64_t)rto_base(&x->rto);
}

void tftp_wxfer_start(struct tftp_wxfer *x, uint16_t blksize, bool oack,
		      const struct tftp_timing *t, uint64_t now, struct tftp_action *act)
{
	memset(x, 0, sizeof(*x));
	x->blksize = blksize ? blksize : 512;
	rto_init(&x->rto, t);
	if (!oack) {
		wx_ack(x, 0, false, now, act);
		return;
	}
	x->oack_pending = true;
	memset(act, 0, sizeof(*act));
	act->kind = TFTP_ACT_SEND_OACK;
	act->timer_at = rto_arm(&x->rto, now);
}

void tftp_wxfer_on_data(struct tftp_wxfer *x, uint16_t block, uint16_t len, uint64_t now,
			struct tftp_action *act)
{
	uint64_t idx;
	if (!tftp_block_unwrap(block, x->received, x->received + 1, &idx) ||
	    (idx == x->received && idx == 0) || (x->done && idx != x->received) ||
	    len > x->blksize) {
		act_none(act, x->rto.deadline);
		return;
	}
	if (idx == x->received) { /* our ACK was lost: acknowledge again */
		wx_ack(x, idx, true, now, act);
		return;
	}
	x->oack_pending = false;
	x->received = idx;
	x->bytes += len;
	rto_progress(&x->rto);
	if (len < x->blksize)
		x->done = true;
	wx_ack(x, idx, false, now, act);
}

void tftp_wxfer_on_timeout(struct tftp_wxfer *x, uint64_t now, struct tftp_action *act)
{
	if (now < x->rto.deadline) {
		act_none(act, x->rto.deadline);
		return;
	}
	if (x->done) {
		memset(act, 0, sizeof(*act));
		act->kind = TFTP_ACT_DONE;
		return;
	}
	if (!rto_backoff(&x->rto)) {
		act_fail(act, TFTP_FAIL_TIMEOUT);
		return;
	}
	if (x->oack_pending) {
		memset(act, 0, sizeof(*act));
		act->kind = TFTP_ACT_SEND_OACK;
		act->retransmit = true;
		act->timer_at = rto_arm(&x->rto, now);
		return;
	}
	wx_ack(x, x->received, true, now, act);
}
