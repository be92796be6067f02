/* SPDX-License-Identifier: MIT */
/*
 * A topic's private parts, shared by its three files: topic.c (finding,
 * creating and checking the segment; the kind's table), topic_pub.c (the
 * publisher) and topic_sub.c (a subscriber).
 */
#ifndef SHMQ_TOPIC_H
#define SHMQ_TOPIC_H

#include <stdint.h>

#include "internal.h"
#include "topic_layout.h"
#include "wait.h"

/* What both roles hold: the mapping, its checked geometry, who we are. */
struct shmq_topic {
	struct shmq_hdr *hdr;
	struct shmq_topic_ctl *ctl;
	struct shmq_topic_sub *subs;
	unsigned char *ring;
	int shmid;
	int persistent;
	uint64_t nslots, slot_size, nsubs;	/* private copies, checked */
	uint64_t instance;
	uint64_t me, life, netns;	/* our owner word, life word, network */
	unsigned gen;		/* fork generation of the opener */
	struct shmq_waiter waiter;
};

/*
 * Find or create the topic at @address and attach it, ready for either
 * role to claim its place: 0, or -errno (explained in o->errbuf).  A topic whose
 * publisher is gone (closed or dead) and that is not persistent is
 * finished: it is removed and a fresh one made, so that a new publisher
 * and new subscribers meet.
 */
int shmq_topic_attach(const char *address, const struct shmq_options *o,
		      const struct shmq_topic_options *t, struct shmq_topic *out,
		      int64_t *deadline);
void shmq_topic_detach(struct shmq_topic *t);

static inline struct shmq_topic_msg *shmq_topic_slot(const struct shmq_topic *t,
						     uint64_t seq)
{
	return (struct shmq_topic_msg *)(t->ring + (seq & (t->nslots - 1)) * t->slot_size);
}

/*
 * Once an end holds its place: map the whole ring, so that the first lap
 * takes no page fault (the publisher writable, a subscriber to read).
 */
static inline void shmq_topic_prefault(const struct shmq_topic *t, int write)
{
	shmq_seg_prefault(t->ring, (size_t)(t->nslots * t->slot_size), write);
}

/* The oldest seq the ring still holds, given the publisher's tail. */
static inline uint64_t shmq_topic_oldest(const struct shmq_topic *t, uint64_t tail)
{
	/* Not tail - nslots: the next commit overwrites that one. */
	return tail >= t->nslots ? tail - t->nslots + 1 : 0;
}

/* Has the process an owner word and life word name surely ended? */
static inline int shmq_topic_holder_gone(uint64_t w, const uint64_t *life)
{
	return shmq_owner_state(w) != SHMQ_EP_ATTACHED ||
	       shmq_holder_alive(w, shmq_load_acquire(life)) == 0;
}

#endif /* SHMQ_TOPIC_H */
