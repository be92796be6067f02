/* SPDX-License-Identifier: MIT */
/*
 * The layout of a hub segment: the common header (layout.h), then the
 * hub's own area.
 */
#ifndef SHMQ_HUB_LAYOUT_H
#define SHMQ_HUB_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#include "eventcount.h"
#include "layout.h"

/*
 * A hub segment (kind SHMQ_KIND_HUB) starts with the same header: ep[0]
 * is the server's owner word, ep[1] and the ring blocks are unused, and
 * cap[] are the capacities of each client's channel ([0] server to
 * client, [1] client to server).  What follows is the hub's own:
 *
 *   4096   the door: an eventcount the server sleeps on, `asks`, the
 *          token of the server's descriptor (+16), the line of clients
 *          waiting for a free slot (+24), the ready set's summary (+32)
 *   4224   64 slots of 128 bytes, where clients ask for a channel
 *
 * A slot goes: free (client 0) -> a client claims it by compare-and-swap
 * of its owner word -> the server creates a channel at IPC_PRIVATE and
 * stores its id, then `offered` (release) -> the client joins the channel
 * as its endpoint 1, or gives up by storing its word as closed -> the
 * server frees the slot.  Only clients write `client`, only the server
 * writes `offered` and `shmid`, except that the server stores the 0 that
 * frees the slot, once its client is done with it.  The ready set's words
 * (in the slots' lines, beside the asking protocol) and its summary are
 * set by clients and taken by the server; a wrong bit costs the server a
 * look, a cleared one at most its periodic sweep.
 */
#define SHMQ_HUB_SLOTS 64
/* Each client's channel's rings, each way, unless the server asks. */
#define SHMQ_HUB_DEFAULT_CAPACITY (64u << 10)

struct shmq_hub_slot {
	uint64_t client;	/* the asking client's owner word; 0: free */
	uint32_t offered;	/* futex: 1 once shmid holds the server's answer */
	int32_t shmid;		/* the client's channel, or -errno: refused */
	uint64_t life;		/* the client's life word (life.c), by the client */
	/*
	 * Layout 2.3: word i of the ready set (SHMQ_HUB_READY_BITS bits in
	 * all, one word in each slot's line): a client sets its bit after each
	 * commit and close, the server takes the word (exchange) and looks at
	 * the clients whose bits it found.
	 */
	uint64_t ready;
	uint32_t ready_bit;	/* by the server, with an offer: the asker's bit + 1 */
	uint32_t marks;		/* by the asker, before it joins: 1, it will mark */
	uint8_t pad[SHMQ_LINE - 40];
};

#define SHMQ_HUB_READY_BITS (SHMQ_HUB_SLOTS * 64)

struct shmq_hub_area {
	/*
	 * The server sleeps here for anything to do; every client wakes it
	 * after each commit and close, and after asking for a slot.
	 */
	struct shmq_ec door;
	uint32_t asks;		/* bumped by a client after claiming a slot */
	uint32_t unused;
	/*
	 * The server's descriptor (shmq_hub_fd()), once it has one: the token
	 * a client wakes it by when the door's SHMQ_EC_POLLER is set.
	 */
	uint64_t door_poller;
	/*
	 * The line of clients waiting for a free slot (layout 2.3): they
	 * sleep on `seq`; `waiting` counts them (not a bit: the server wakes
	 * one per slot it frees, and the others must stay counted).  A
	 * client of 2.2 looks for a slot every 2 ms instead.
	 */
	struct shmq_ec line;
	/* Bit i: word i of the ready set may have bits set (2.3). */
	uint64_t ready_summary;
	uint8_t pad[SHMQ_LINE - 2 * sizeof(struct shmq_ec) - 24];
	struct shmq_hub_slot slot[SHMQ_HUB_SLOTS];
};

#define SHMQ_HUB_SIZE ((uint64_t)SHMQ_HDR_SIZE + sizeof(struct shmq_hub_area))
_Static_assert(sizeof(struct shmq_hub_slot) == SHMQ_LINE, "hub slot layout");
_Static_assert(offsetof(struct shmq_hub_area, slot) == SHMQ_LINE, "hub door line");
_Static_assert(offsetof(struct shmq_hub_area, door_poller) == 16, "hub door token");
_Static_assert(offsetof(struct shmq_hub_area, line) == 24, "hub line");
_Static_assert(offsetof(struct shmq_hub_area, ready_summary) == 32, "hub ready summary");
_Static_assert(offsetof(struct shmq_hub_slot, ready) == 24, "hub ready word");

#endif /* SHMQ_HUB_LAYOUT_H */
