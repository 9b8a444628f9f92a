/* TFTP transfer state machines, pure: events (ACK or DATA received, timer fired) and the
 * current time in, actions (what to send, when to wake up, done/failed) out. No sockets,
 * files or clock; the adapter (tftp_io.c) carries the actions out.
 *
 * Block numbers are tracked as 64-bit indexes internally and mapped to the 16-bit wire
 * numbers with rollover to 0 (what tftp-hpa, dnsmasq, iPXE and UEFI expect), so files of any
 * size transfer. */
#ifndef PXED_TFTP_XFER_H
#define PXED_TFTP_XFER_H

#include <stdbool.h>
#include <stdint.h>

/* Why a transfer ended badly. */
enum tftp_fail {
	TFTP_FAIL_NONE,
	TFTP_FAIL_TIMEOUT,     /* retries exhausted without progress */
	TFTP_FAIL_NO_LAST_ACK, /* every block sent, last ACK never came */
	TFTP_FAIL_PEER_ERROR,  /* client sent ERROR */
	TFTP_FAIL_IO,	       /* local read/write/send error (set by the adapter) */
};

enum tftp_act_kind {
	TFTP_ACT_NONE,	    /* nothing to send (keep waiting until timer_at) */
	TFTP_ACT_SEND_OACK, /* (re)send the OACK */
	TFTP_ACT_SEND_DATA, /* read: send blocks [first, first + count) */
	TFTP_ACT_SEND_ACK,  /* write: send ACK for block index `first` */
	TFTP_ACT_DONE,	    /* finished successfully; may come with a final send */
	TFTP_ACT_FAIL,	    /* give up; see fail */
};

struct tftp_action {
	enum tftp_act_kind kind;
	uint64_t first;	   /* first block index (1-based) or ACKed block index */
	uint64_t count;	   /* number of DATA blocks */
	bool retransmit;   /* this send repeats earlier packets */
	bool final_ack;	   /* write: with DONE, the ACK of the last block must still be sent */
	uint64_t timer_at; /* ms: when to call on_timeout next; 0 = no timer */
	enum tftp_fail fail;
};

struct tftp_timing {
	unsigned rto_init_ms; /* first timeout before any RTT sample */
	unsigned rto_min_ms;
	unsigned rto_max_ms;
	unsigned retries; /* retransmissions of the same thing before giving up */
	unsigned fixed_s; /* client's RFC 2349 timeout option; 0 = adaptive */
	bool strict;	  /* use fixed_s as the timer itself (windowed transfers) */
};

/* Retransmission timer (RFC 6298 style estimator with Karn's rule). */
struct tftp_rto {
	struct tftp_timing t;
	uint32_t srtt_us, rttvar_us;
	bool have_sample;
	unsigned rto_ms;   /* current, including backoff */
	unsigned tries;	   /* consecutive timeouts without progress */
	uint64_t deadline; /* ms */
};

/* Read transfer: the server sends a file of `size` bytes. */
struct tftp_rxfer {
	uint64_t size;
	uint16_t blksize;
	uint16_t windowsize;
	uint64_t nblocks;	/* size / blksize + 1 (the last block is short, maybe empty) */
	uint64_t acked;		/* highest block index acknowledged, 0 = none */
	uint64_t sent_hi;	/* highest block index sent */
	bool oack_pending;	/* OACK sent, waiting for ACK 0 */
	uint64_t sample_block;	/* last block of a window sent once: its ACKs time the RTT */
	uint64_t sample_first;	/* first block of that window */
	uint64_t sample_sent;	/* ms when sample_block was sent */
	uint64_t retransmitted; /* blocks sent more than once (for the log) */
	struct tftp_rto rto;
};

/* Start a read transfer at now (ms). With oack, the first action is SEND_OACK, else the first
 * window. blksize >= 8, windowsize >= 1. */
void tftp_rxfer_start(struct tftp_rxfer *x, uint64_t size, uint16_t blksize, uint16_t windowsize,
		      bool oack, const struct tftp_timing *t, uint64_t now,
		      struct tftp_action *act);
/* An ACK with wire block number `block` arrived. Duplicate and stale ACKs produce
 * TFTP_ACT_NONE: they never trigger a resend (RFC 1350 "Sorcerer's Apprentice" fix). */
void tftp_rxfer_on_ack(struct tftp_rxfer *x, uint16_t block, uint64_t now, struct tftp_action *act);
/* The timer fired (now >= timer_at of the last action; earlier calls are ignored). */
void tftp_rxfer_on_timeout(struct tftp_rxfer *x, uint64_t now, struct tftp_action *act);
/* Bytes of block index i (1-based). */
uint64_t tftp_rxfer_block_len(const struct tftp_rxfer *x, uint64_t i);

/* Write transfer: the server receives a file in lock-step. */
struct tftp_wxfer {
	uint16_t blksize;
	uint64_t received; /* highest block index written (contiguous), 0 = none */
	uint64_t bytes;
	bool oack_pending; /* OACK sent, waiting for DATA 1 */
	bool done;	   /* last block received; dallying to re-ACK duplicates */
	struct tftp_rto rto;
};

/* Start a write transfer: the first action acknowledges block 0 (or sends the OACK). */
void tftp_wxfer_start(struct tftp_wxfer *x, uint16_t blksize, bool oack,
		      const struct tftp_timing *t, uint64_t now, struct tftp_action *act);
/* A DATA packet arrived with `len` payload bytes. On the next expected block the action is
 * SEND_ACK with first = that block and the caller must write the payload at offset
 * (first - 1) * blksize before acknowledging (or fail the transfer); a short block gives
 * DONE with final_ack. A duplicate of the previous block is re-acknowledged; others are
 * ignored. */
void tftp_wxfer_on_data(struct tftp_wxfer *x, uint16_t block, uint16_t len, uint64_t now,
			struct tftp_action *act);
void tftp_wxfer_on_timeout(struct tftp_wxfer *x, uint64_t now, struct tftp_action *act);

/** Map a 16-bit wire block number to the 64-bit index in [lo, hi] that has it, if any
 * (hi - lo < 65536). Returns true and sets *idx when found. */
bool tftp_block_unwrap(uint16_t block, uint64_t lo, uint64_t hi, uint64_t *idx);

const char *tftp_fail_str(enum tftp_fail f);

#endif
