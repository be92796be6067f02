/* SPDX-License-Identifier: MIT */
/*
 * The layout of a topic segment (kind SHMQ_KIND_TOPIC): one publisher,
 * any number of subscribers, each message in a slot of its own.
 *
 *   0                      the common header (layout.h): ep[0] is the
 *                          publisher's owner, life and netns words;
 *                          cap[0] the ring's bytes, cap[1] the subscriber
 *                          table's; `param` the slot size
 *   4096                   the control page (struct shmq_topic_ctl)
 *   8192                   the subscriber table: cap[1] / 128 slots
 *   8192 + cap[1]          the ring: cap[0] / slot size message slots
 *
 * Messages have positions, 0, 1, 2...: message p lives in slot p % slots,
 * which starts with a version word (a per-slot seqlock): 2p + 1 while the
 * publisher writes it, 2p + 2 once committed, 0 never written.  A
 * subscriber that wants position p reads the version (acquire): 2p + 2 is
 * its message; less is "not yet"; more is "it was overwritten" (a lapped
 * lossy subscriber).  After copying, it reads the version again (after an
 * acquire fence): a change means the copy may be torn, and it is never
 * returned.  Fixed slots, not variable records, so that the oldest
 * message the ring still holds is found by arithmetic: a lapped reader
 * needs no walk and no record boundaries.
 *
 * Each message also carries its sequence number, the one users see.  It
 * rises by one a message, but may jump: a bridge republishing another
 * host's topic keeps that topic's numbers, gaps included
 * (shmq_pub_skip_to()).  Positions are dense whatever the numbers do, so
 * every check above holds; a subscriber's lost count is the sum of the
 * gaps between the numbers it received.
 *
 * Who writes what: the publisher the control page's first line, each
 * slot's version, length, check and payload, and a subscriber slot's
 * `evicted` word (and takes its `poll_token`); a subscriber only its own
 * table slot, the `joins` and `hwm` words, and the eventcounts' `waiting`
 * bits.
 */
#ifndef SHMQ_TOPIC_LAYOUT_H
#define SHMQ_TOPIC_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#include "eventcount.h"
#include "layout.h"

#define SHMQ_TOPIC_CTL_SIZE 4096u
#define SHMQ_TOPIC_MSG_HDR 32u		/* a message slot's own header */
#define SHMQ_TOPIC_MIN_MINOR 4u		/* the layout that gave messages their seq */
#define SHMQ_TOPIC_SUB_SIZE SHMQ_LINE	/* one subscriber's table slot */
#define SHMQ_TOPIC_DEFAULT_SLOTS 512u
#define SHMQ_TOPIC_DEFAULT_SLOT_SIZE 2048u
#define SHMQ_TOPIC_DEFAULT_SUBS 1024u
#define SHMQ_TOPIC_MIN_SLOT_SIZE 64u
#define SHMQ_TOPIC_MAX_SLOT_SIZE (1u << 20)

struct shmq_topic_ctl {
	/* The publisher's line. */
	uint64_t tail;		/* the next position to be written: all before
				 * are committed (release, after each commit) */
	uint64_t end_seq;	/* after a close: the position it ends at */
	uint64_t end_check;	/* shmq_topic_end_check(end_seq, instance) */
	uint64_t next_seq;	/* the seq the next message gets (before tail) */
	uint64_t first_seq;	/* the seq of position 0 (before its version) */
	uint8_t pad0[SHMQ_LINE - 40];
	/* Subscribers sleep here; each commit wakes every one that sleeps. */
	struct shmq_ec data;
	uint32_t sleepers;	/* subscribers announced on `data` (wait.c) */
	uint8_t pad1[SHMQ_LINE - sizeof(struct shmq_ec) - 4];
	/* The publisher sleeps here for lossless subscribers to move on. */
	struct shmq_ec space;
	uint8_t pad2[SHMQ_LINE - sizeof(struct shmq_ec)];
	/* Subscribers' words: a join counter, the table's high-water mark. */
	uint32_t joins;
	uint32_t hwm;		/* 1 + the highest table slot ever claimed */
	uint8_t pad3[SHMQ_LINE - 8];
};

/* A subscriber's table slot: written by its holder, but for `evicted`. */
#define SHMQ_TOPIC_LOSSY 0x1u
struct shmq_topic_sub {
	uint64_t owner;		/* owner word (layout.h), claimed by CAS */
	uint64_t life;		/* its life word (life.c) */
	uint64_t head;		/* the next position it reads: all before
				 * consumed */
	uint64_t lost;		/* messages it lost */
	uint32_t flags;		/* SHMQ_TOPIC_LOSSY */
	uint32_t pad;
	uint64_t evicted;	/* by the publisher: the owner word it evicted */
	uint64_t netns;
	/*
	 * shmq_sub_fd()'s token, stored when it says "nothing now" (and the
	 * data eventcount's SHMQ_EC_POLLER set); the publisher takes it (0)
	 * when it wakes it.  Zero in older builds: they never poll.
	 */
	uint64_t poll_token;
	uint64_t next_seq;	/* the seq after the last it received (stat) */
	uint8_t pad1[SHMQ_TOPIC_SUB_SIZE - 72];
};

/* A message slot's header, then its payload. */
struct shmq_topic_msg {
	uint64_t ver;		/* 2 pos + 1 writing, 2 pos + 2 committed */
	uint32_t len;
	uint32_t check;		/* shmq_topic_msg_check(pos, seq, len, instance) */
	uint64_t seq;		/* its sequence number */
	uint64_t pad;		/* 0: payloads stay 16-byte aligned */
};

_Static_assert(sizeof(struct shmq_topic_ctl) == 4 * SHMQ_LINE, "topic control page");
_Static_assert(sizeof(struct shmq_topic_sub) == SHMQ_TOPIC_SUB_SIZE, "topic table slot");
_Static_assert(sizeof(struct shmq_topic_msg) == SHMQ_TOPIC_MSG_HDR, "topic message header");

static inline uint32_t shmq_topic_msg_check(uint64_t pos, uint64_t seq, uint32_t len,
					    uint64_t instance)
{
	uint64_t x = (pos ^ instance) * 0x9e3779b97f4a7c15ull ^ len ^
		     seq * 0xbf58476d1ce4e5b9ull;

	return (uint32_t)(x >> 32) ^ (uint32_t)x;
}

static inline uint64_t shmq_topic_end_check(uint64_t seq, uint64_t instance)
{
	return (seq + 1) * 0xc2b2ae3d27d4eb4full ^ instance;
}

#endif /* SHMQ_TOPIC_LAYOUT_H */
