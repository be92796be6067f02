/* SPDX-License-Identifier: MIT */
/*
 * The channel's private parts, shared by its two files: channel.c (the
 * data path, peers, ends, information, its kind) and channel_open.c (the
 * open protocol: create, wait for the joiner, join).
 */
#ifndef SHMQ_CHANNEL_H
#define SHMQ_CHANNEL_H

#include <stdint.h>

#include "internal.h"
#include "layout.h"
#include "ring.h"
#include "wait.h"

struct shmq;

/*
 * One direction's view of the peer.  A sender thread and a receiver thread
 * may use one channel at once.  On a pair the peer never changes after
 * the open, so both directions share one watcher (one descriptor, polled
 * and never replaced).  On a persistent channel the peer may be replaced,
 * and each direction watches on its own, so neither ever closes a
 * descriptor the other polls.
 */
struct shmq_side {
	struct shmq *q;
	struct shmq_peer *peer;
	int64_t looked_ns;	/* when a call that does not wait last looked */
	uint64_t detached;	/* the holder seen attached in its word but no
				 * longer attached to the segment (exec) */
	int removed;		/* someone removed our segment (IPC_RMID) */
	int err;		/* the peer could not be watched: -EMFILE... */
};

enum { SEND = 0, RECV = 1 };

struct shmq {
	struct shmq_hdr *hdr;	/* the mapping */
	int shmid;
	key_t key;
	int slot;		/* our endpoint: 0 or 1 */
	int persistent;
	unsigned gen;		/* fork generation of the process that opened it */
	uint64_t me;		/* our owner word (state ATTACHED) */
	uint64_t life;		/* our life word, beside it (life.c) */
	uint64_t netns;		/* our network namespace, 0 if unknown */
	uint64_t cap[2];	/* private copies of the geometry */
	struct shmq_ring tx;	/* ring[slot]: we produce */
	struct shmq_ring rx;	/* ring[1 - slot]: we consume */
	struct shmq_side side[2];	/* SEND, RECV */
	struct shmq_peer watch[2];	/* what side[].peer point to */
	int poisoned;		/* 0, or -EBADMSG for good (either thread) */
	int shut;		/* we shut down sending: kept here, never read
				 * back from the shared flag anyone can write */
	int borrowed;		/* memory we did not map (the fuzzer's) */
	struct shmq_waiter waiter;
	size_t last_len;	/* of the last record received: poll spacing */
	uint64_t instance;
	/*
	 * A hub's client: the hub's mapping, kept for its door, which the
	 * server sleeps on for all its clients at once; woken like our
	 * channel's own data eventcount.
	 */
	struct shmq_hub_bell bell;
	/*
	 * The descriptor an event loop waits on for what we receive
	 * (shmq_fd()), made at its first call; and the peer whose pidfd it
	 * holds (owner word), to follow a persistent channel's new holder.
	 */
	struct shmq_poller *poller;
	uint64_t poller_peer;
	/*
	 * The same for what we send (shmq_send_fd()); it holds the peer's
	 * pidfd on a pair only (a persistent sender outlives its consumers).
	 */
	struct shmq_poller *send_poller;
	uint64_t send_poller_peer;
};

/*
 * A wait's context, on the caller's stack: the side it waits for, and
 * what its ready() found (the record peeked; the room reserved).
 */
struct wait_ctx {
	struct shmq_side *sd;
	const void *rbuf;	/* receive: the record */
	size_t len;		/* receive: its length; send: the length wanted */
	void *wbuf;		/* send: the room reserved */
};

/* A channel not yet attached to anything, with @o's settings. */
struct shmq *shmq_chan_new(const struct shmq_options *o);
/* Let go of the handle's private parts (not the segment). */
void shmq_chan_free(struct shmq *q);
/* Map both rings into the private views, for endpoint q->slot. */
int shmq_chan_setup_rings(struct shmq *q);
/* Watch a new holder of the peer's slot, in both directions. */
int shmq_chan_watch(struct shmq *q, uint64_t w);

#endif /* SHMQ_CHANNEL_H */
