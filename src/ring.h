/* SPDX-License-Identifier: MIT */
/*
 * The ring: one single-producer single-consumer queue of variable-length
 * records on caller memory.  No system calls, no knowledge of segments or
 * processes: the tests run it on malloc'd memory with threads.
 *
 * Shared memory holds the control block and the data area; each side
 * keeps its own position and a cached copy of the other's in private
 * memory (struct shmq_ring), so a peer can never rewind it.
 *
 * A record is an 8-byte header word then the payload, padded to 8:
 *
 *     bits  0..31  length of the payload
 *     bits 32..39  type: 1 message, 2 padding to the end of the ring
 *     bits 40..63  check: bits 3..26 of the record's position
 *
 * A committed header is never 0 (its type is not), and the producer zeroes
 * the header slot after each commit before publishing it ("zero-ahead").
 * So the consumer learns that a record is committed from the header word
 * itself, in the same cache line as a small payload: one line moves per
 * message, not two (a tail and then the data).  See docs/design.md.
 */
#ifndef SHMQ_RING_H
#define SHMQ_RING_H

#include <stddef.h>
#include <stdint.h>

#include "eventcount.h"

#define SHMQ_RING_MIN_CAPACITY 4096u
#define SHMQ_RING_MAX_CAPACITY (1u << 30)
#define SHMQ_RING_DEFAULT_CAPACITY (1u << 20)
#define SHMQ_LINE 128	/* two cache lines: adjacent-line prefetch pairs them */

#define SHMQ_REC_MSG 1u
#define SHMQ_REC_PAD 2u


/* The shared part of a ring: four 128-byte blocks, each with one writer. */
struct shmq_ring_ctl {
	/*
	 * Written by the producer only: the position just past the last
	 * committed record, stored after the commit.  The consumer never
	 * needs it (it reads header words); it is for inspection and for a
	 * restarted producer, which re-derives the true end from it.
	 */
	uint64_t tail;
	/*
	 * Written by the producer only: 0 while it may send more; once it
	 * will not (shutdown, close), the position where its stream ends,
	 * encoded with the ring's key (shmq_ring_eof_word), so that a word
	 * nobody wrote on purpose (zero, all ones, noise) can never pass for
	 * an end that the consumer has reached.  Stored with release after
	 * the last commit; the consumer reads it (acquire) only when the ring
	 * looks empty, and then looks once more, so what came before it is
	 * drained first.
	 */
	uint64_t eof;
	uint8_t pad0[SHMQ_LINE - 16];
	/*
	 * Written by the consumer only: every byte before head is free.
	 * Stored with release after the consumer has finished reading; the
	 * producer's acquire load pairs with it before reusing the bytes.
	 */
	uint64_t head;
	uint8_t pad1[SHMQ_LINE - 8];
	/* The consumer sleeps here for data; the producer wakes it. */
	struct shmq_ec data;
	/*
	 * Written by the consumer only: the token naming its poller's socket
	 * (shmq_fd()), or 0, stored again each time it announces itself.
	 * Whoever can write this line can at worst send wakes to the wrong
	 * socket: the consumer's own then never comes (as if the producer
	 * sent nothing), and another socket gets a byte.  The same writer
	 * could as well clear `waiting`: a trusted peer's power, not a
	 * stranger's.  A persistent consumer's next announcement, after the
	 * scribbler's death, puts it right for the next producer.
	 */
	uint64_t data_poller;
	uint8_t pad2[SHMQ_LINE - sizeof(struct shmq_ec) - 8];
	/* The producer sleeps here for space; the consumer wakes it. */
	struct shmq_ec space;
	/*
	 * Written by the producer only: the token of its sending descriptor's
	 * socket (shmq_send_fd()), or 0; as data_poller, the other way.
	 */
	uint64_t space_poller;
	uint8_t pad3[SHMQ_LINE - sizeof(struct shmq_ec) - 8];
};

_Static_assert(sizeof(struct shmq_ring_ctl) == 4 * SHMQ_LINE, "ring control layout");
_Static_assert(offsetof(struct shmq_ring_ctl, eof) == 8, "eof beside tail");
_Static_assert(offsetof(struct shmq_ring_ctl, head) == SHMQ_LINE, "head has its own line");
_Static_assert(offsetof(struct shmq_ring_ctl, data) == 2 * SHMQ_LINE, "data ec line");
_Static_assert(offsetof(struct shmq_ring_ctl, data_poller) == 2 * SHMQ_LINE + 8,
	       "the poller's token beside the data eventcount");
_Static_assert(offsetof(struct shmq_ring_ctl, space) == 3 * SHMQ_LINE, "space ec line");
_Static_assert(offsetof(struct shmq_ring_ctl, space_poller) == 3 * SHMQ_LINE + 8,
	       "the sending descriptor's token beside the space eventcount");

/* One side's private view of a ring. */
struct shmq_ring {
	struct shmq_ring_ctl *ctl;
	unsigned char *data;
	uint64_t cap;		/* a power of two */
	uint64_t mask;
	uint32_t max_msg;
	uint64_t key;		/* encodes the end of stream; low bits 001 */

	/* Producer side. */
	uint64_t tail;		/* where the next reservation starts */
	uint64_t committed;	/* end of the published records */
	uint64_t head_cache;	/* the consumer's head, as last read */
	uint64_t first_hdr;	/* header of the record at `committed`, held
				 * back until commit publishes the batch */
	uint64_t last_pos;	/* position of the newest reserved record */
	uint32_t npending;	/* reserved, not yet committed */

	/* Consumer side. */
	uint64_t head;		/* just past the last record peeked */
	uint64_t released;	/* just past the last record released */
	uint64_t returned;	/* the head last stored for the producer */
	uint32_t npeeked;
};

/* The largest payload for a capacity: any one fits in an empty ring. */
static inline uint32_t shmq_ring_max_msg(uint64_t cap)
{
	return (uint32_t)(cap / 2 - 8);
}

static inline uint64_t shmq_rec_size(uint64_t len)
{
	return 8 + ((len + 7) & ~(uint64_t)7);
}

/*
 * A record header is one word: a 24-bit check, the type (8 bits) and the
 * length (32).  The check is a hash of the record's position and of the
 * other 40 bits, so that a header moved to another position, or with any
 * one bit of its type or length changed, never passes for a record (an
 * odd multiplier moves the top 24 bits of the product for every one-bit
 * change below them); a random word passes one time in 2^24, and must
 * then still be a plausible record.  @low: the type and length, as they
 * sit in the word's low 40 bits.
 */
static inline uint64_t shmq_rec_check(uint64_t pos, uint64_t low)
{
	return (((pos >> 3) ^ (low << 21)) * 0x9e3779b97f4a7c15ull) >> 40;
}

static inline uint64_t shmq_rec_word(uint64_t pos, uint32_t type, uint64_t len)
{
	uint64_t low = (uint64_t)type << 32 | len;

	return shmq_rec_check(pos, low) << 40 | low;
}

/*
 * Set up the shared part of a ring to start at @pos, a multiple of 8
 * (tests start near 2^64 to cross the wrap of the positions).  -EINVAL
 * for a misaligned start or a capacity that is not a power of two.
 */
int shmq_ring_format(struct shmq_ring_ctl *ctl, unsigned char *data,
		     uint64_t cap, uint64_t pos);

/*
 * Attach a side to a formatted ring: the producer re-derives the end of
 * the committed records, the consumer resumes at the shared head.  @key
 * (any value: its low three bits are forced to 001) encodes the end of
 * stream; both sides must use the same, such as the channel's random
 * instance.  -EBADMSG if the shared positions are impossible.
 */
int shmq_ring_attach(struct shmq_ring *r, struct shmq_ring_ctl *ctl,
		     unsigned char *data, uint64_t cap, uint64_t key);

/*
 * Producer.  reserve: -EMSGSIZE (too large), -EAGAIN (full for now),
 * -ENOBUFS (the uncommitted batch leaves no room: commit first), -EBADMSG.
 */
int shmq_ring_reserve(struct shmq_ring *r, size_t len, void **buf);
/* Shrink the newest reservation to @len bytes. */
int shmq_ring_trim(struct shmq_ring *r, size_t len);
/* Publish every reserved record with one release store; returns the count. */
int shmq_ring_commit(struct shmq_ring *r);
/* Forget every reserved, uncommitted record. */
void shmq_ring_discard(struct shmq_ring *r);

/* Consumer.  peek: 0, -EAGAIN (empty), -EBADMSG. */
int shmq_ring_peek(struct shmq_ring *r, const void **buf, size_t *len);
/*
 * Is there a record (or anything else: peek will judge it) after those
 * peeked?  1 or 0; consumes nothing.
 */
int shmq_ring_ready(const struct shmq_ring *r);
/*
 * Free every peeked record; returns the count.  Returning the space is
 * separate: until shmq_ring_return_space() the producer cannot reuse it.
 */
int shmq_ring_release(struct shmq_ring *r);
/*
 * Would a record of @len bytes fit now (reading the consumer's head once
 * more if it looks full)?  1 or 0, consuming nothing; -EBADMSG for a head
 * no correct consumer writes.
 */
int shmq_ring_fits(struct shmq_ring *r, size_t len);
/* Return the released space to the producer, with one release store. */
void shmq_ring_return_space(struct shmq_ring *r);
/* Bytes released but not yet returned to the producer. */
static inline uint64_t shmq_ring_unreturned(const struct shmq_ring *r)
{
	return r->released - r->returned;
}
/* Peek again from the first unreleased record. */
void shmq_ring_rewind(struct shmq_ring *r);

/*
 * Fault injection, for the torture test only: if set, called with
 * SHMQ_FAULT_COMMIT after a batch is written and before the store that
 * publishes it, and with SHMQ_FAULT_RETURN before the consumer returns
 * space (stores its head).  Hidden (not in the shared library's ABI); one predictable
 * branch when unset.
 */
enum { SHMQ_FAULT_COMMIT = 1, SHMQ_FAULT_RETURN = 2 };
extern void (*shmq_fault_hook)(int where);

/*
 * The producer will send no more: publish where its stream ends (release,
 * after every commit).  Uncommitted reservations are forgotten first.
 */
void shmq_ring_end(struct shmq_ring *r);

/* The end-of-stream word for a stream ending at @end. */
static inline uint64_t shmq_ring_eof_word(const struct shmq_ring *r, uint64_t end)
{
	return end ^ r->key;
}

/*
 * The consumer found nothing at its position: is that consistent with what
 * the producer published?  Loads, in this order, the end-of-stream word,
 * the tail (each acquire, so each sees at least what the one before it
 * implies) and the header at the position once more.  @done: the caller
 * has just seen (acquire) that the producer is finished with the ring
 * (closed or abandoned), so its tail is exact.
 *
 *   SHMQ_RING_MORE    a record is there after all: peek again
 *   SHMQ_RING_EMPTY   empty for now; the producer may still send
 *   SHMQ_RING_ENDED   empty for good: the producer ended its stream here
 *   -EBADMSG          the producer said it had published more than is
 *                     there (its tail or its end lies ahead of an empty
 *                     slot), or an end or tail no correct producer writes
 */
enum { SHMQ_RING_EMPTY = 0, SHMQ_RING_MORE = 1, SHMQ_RING_ENDED = 2 };
int shmq_ring_idle(const struct shmq_ring *r, int done);

/* Bytes committed and not yet released, as the shared words say. */
uint64_t shmq_ring_queued(const struct shmq_ring_ctl *ctl);

#endif /* SHMQ_RING_H */
