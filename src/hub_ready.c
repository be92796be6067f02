/* SPDX-License-Identifier: MIT */
/*
 * A hub server's ready set: a wait costs what is ready, not what is
 * connected.
 *
 * Each client of layout 2.3 gets a bit of SHMQ_HUB_READY_BITS when it is
 * offered its channel (hub_layout.h: one 64-bit word in each slot's line,
 * and a summary word in the door's line).  After each commit and close it
 * sets its bit, then the summary's, and rings the door (channel.c,
 * mark_ready()).  The server takes the summary and each word it names by
 * exchange, then a full barrier, and queues the holders of the bits it
 * found: the Dekker pair with the client's barrier between its commit and
 * its looks at the bits, so that either the server's look at the ring
 * sees the commit, or the client sees its bit taken and sets it again.
 *
 * The queue is private.  A client stays in it while a wait would return
 * it (it has more to receive), and leaves it when a full look finds
 * nothing.  The shared words are untrusted: a bit that nobody holds, or
 * that a stranger set, costs one look; one that a stranger cleared is
 * found by the server's periodic sweep (hub.c), at most a check interval
 * later.
 */
#include <string.h>

#include "atomics.h"
#include "hub_ready.h"

#define NBITS SHMQ_HUB_READY_BITS

void shmq_ready_init(struct shmq_ready_set *r, struct shmq_hub_area *area)
{
	memset(r, 0, sizeof(*r));
	r->area = area;
}

int shmq_ready_take_bit(struct shmq_ready_set *r)
{
	unsigned i;

	for (i = 0; i < NBITS; i++) {
		unsigned b = (r->next_bit + i) % NBITS;

		if (!r->taken[b]) {
			r->taken[b] = 1;
			r->next_bit = b + 1;
			return (int)b;
		}
	}
	return -1;
}

void shmq_ready_free_bit(struct shmq_ready_set *r, int bit)
{
	if (bit >= 0 && bit < NBITS) {
		r->taken[bit] = 0;
		r->by_bit[bit] = NULL;
		r->held[bit] = 0;
	}
}

void shmq_ready_queue(struct shmq_ready_set *r, int bit)
{
	if (!r->by_bit[bit] || r->queued[bit])
		return;
	r->queued[bit] = 1;
	r->queue[(r->head + r->count) % NBITS] = (uint16_t)bit;
	r->count++;
}

void shmq_ready_own(struct shmq_ready_set *r, int bit, shmq_t *c)
{
	r->by_bit[bit] = c;
	r->held[bit] = 0;
	shmq_ready_queue(r, bit);	/* it may have sent before we knew it */
}

void shmq_ready_hold(struct shmq_ready_set *r, int bit, int hold)
{
	r->held[bit] = (unsigned char)hold;
	if (!hold)
		shmq_ready_queue(r, bit);
}

void shmq_ready_drain(struct shmq_ready_set *r)
{
	uint64_t sum, bits;
	unsigned w;

	/* A look first: nothing set costs no write to the shared line. */
	if (!shmq_load_relaxed(&r->area->ready_summary))
		return;
	sum = shmq_exchange_acquire(&r->area->ready_summary, 0);
	while (sum) {
		w = (unsigned)__builtin_ctzll(sum);
		sum &= sum - 1;
		bits = shmq_exchange_acquire(&r->area->slot[w].ready, 0);
		while (bits) {
			shmq_ready_queue(r, (int)(w * 64 + (unsigned)__builtin_ctzll(bits)));
			bits &= bits - 1;
		}
	}
	/* The Dekker half: the rings are read after the bits were taken. */
	shmq_smp_mb();
}

/* The queue's front bit to its back (still queued). */
static void requeue_front(struct shmq_ready_set *r)
{
	r->queue[(r->head + r->count) % NBITS] = r->queue[r->head];
	r->head = (r->head + 1) % NBITS;
}

shmq_t *shmq_ready_next(struct shmq_ready_set *r, int full)
{
	unsigned n = r->count, i;

	for (i = 0; i < n; i++) {
		int bit = r->queue[r->head];
		shmq_t *c = r->by_bit[bit];

		if (c && !r->held[bit] &&
		    (full ? shmq_chan_would_return(c) : shmq_chan_has_record(c))) {
			requeue_front(r);
			return c;
		}
		if (c && !r->held[bit] && !full) {
			requeue_front(r);	/* spinning looks at the ring alone */
			continue;
		}
		r->queued[bit] = 0;
		r->head = (r->head + 1) % NBITS;
		r->count--;
	}
	return NULL;
}
