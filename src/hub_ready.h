/* SPDX-License-Identifier: MIT */
/*
 * A hub server's side of the ready set (hub_ready.c): which client holds
 * which bit, and the queue of clients that may have something to return.
 */
#ifndef SHMQ_HUB_READY_H
#define SHMQ_HUB_READY_H

#include <stdint.h>

#include "hub_layout.h"
#include "internal.h"

struct shmq_ready_set {
	struct shmq_hub_area *area;	/* the shared words: untrusted */
	shmq_t *by_bit[SHMQ_HUB_READY_BITS];	/* the client holding each bit */
	unsigned char taken[SHMQ_HUB_READY_BITS];	/* offered, or held */
	unsigned char queued[SHMQ_HUB_READY_BITS];
	unsigned char held[SHMQ_HUB_READY_BITS];	/* shmq_hub_hold() */
	uint16_t queue[SHMQ_HUB_READY_BITS];
	unsigned head, count;		/* of the queue */
	unsigned next_bit;		/* where the search for a free bit starts */
};

void shmq_ready_init(struct shmq_ready_set *r, struct shmq_hub_area *area);
/*
 * A free bit for an asker (-1: all taken), and giving one back (an
 * asker's that never joined, or a dropped client's: if it is still
 * queued, the look finds nobody).
 */
int shmq_ready_take_bit(struct shmq_ready_set *r);
void shmq_ready_free_bit(struct shmq_ready_set *r, int bit);
/* Client @c joined with @bit: it is queued for a first look. */
void shmq_ready_own(struct shmq_ready_set *r, int bit, shmq_t *c);
void shmq_ready_hold(struct shmq_ready_set *r, int bit, int hold);
/* Queue the client holding @bit for a look (no client: nothing). */
void shmq_ready_queue(struct shmq_ready_set *r, int bit);
/* Take the bits clients set, and queue their holders. */
void shmq_ready_drain(struct shmq_ready_set *r);
/*
 * The first queued client a wait would return (@full: anything that ends
 * a wait; else a record, as spinning looks), moved to the back of the
 * queue; NULL if none.  A client looked at in full that has nothing
 * leaves the queue until its bit is set again.
 */
shmq_t *shmq_ready_next(struct shmq_ready_set *r, int full);

#endif /* SHMQ_HUB_READY_H */
