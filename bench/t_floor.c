/* SPDX-License-Identifier: MIT */
/*
 * The floor, the least each mode can cost between two processes.
 *  - Ping-pong: one cache line ping-ponged; it has no send or receive, the
 *    runner drives the line itself.
 *  - Streaming: a bare ring of fixed slots, single producer, single
 *    consumer, with nothing else: no framing, no end of stream, no peer
 *    checks, no sleeping, and what makes shmq fast kept: 1 MiB of slots,
 *    a sequence word in each slot's first line (message n goes into slot
 *    n % S and its word then says n + 1), and the consumer's position
 *    published every S / 8 messages on a line of its own, which the
 *    producer reads only when the ring looks full.  A consumer that finds
 *    it empty waits a while before it looks again, and so reads in
 *    batches, as a sleeping one does.  It has zero-copy calls
 *    too, so that the runner stamps and checks each message in place as it
 *    does for shmq-zc: "of bound" compares like with like.  (It used to be
 *    one process's memcpy, which two processes pipelining the same work
 *    beat; then a 64-slot ring whose consumer wrote every slot back, which
 *    shmq's block mode beat by 9%: neither was a bound.)
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "bench.h"

#define LINE 64
/*
 * pause instructions between two looks of a consumer that found the ring
 * empty: it then reads in batches, as a consumer that sleeps does, and
 * stays off the lines the producer is writing.  Measured in one run (1 KiB
 * messages/s): 1 pause 2.8M, 32 3.6M, 128 5.0M, 512 5.5-6.3M, 2048
 * 6.1-6.8M, while shmq's block mode made 4.3-4.7M.  Tuned on this machine
 * (AMD EPYC; 2,048 pauses are some tens of microseconds here): where a
 * pause is much longer, the ring may fill while its consumer waits, and
 * the floor may then fall under what it bounds.
 */
#define FLOOR_PAUSES 2048
#define RING_BYTES (1u << 20)
#define HEAD_PAGE 4096		/* line 0: the consumer's published position */

struct floor_ring {
	size_t slots, stride, idx;	/* idx: n % slots, kept without dividing */
	uint64_t n;			/* this side's next message */
	uint64_t limit;			/* producer: below it, room (cached) */
	uint64_t published;		/* consumer: the position it last published */
};

static size_t ring_stride(size_t size)
{
	return ((8 + size + LINE - 1) / LINE) * LINE;
}

static size_t ring_slots(size_t size)
{
	size_t s = RING_BYTES / ring_stride(size);

	return s < 8 ? 8 : s;
}

static int floor_prepare(struct bench_ctx *c)
{
	c->shared_len = HEAD_PAGE + ring_slots(c->size) * ring_stride(c->size);
	c->shared = mmap(NULL, c->shared_len, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	return c->shared == MAP_FAILED ? -errno : 0;
}

static int floor_connect(struct bench_ctx *c, int side)
{
	struct floor_ring *r = calloc(1, sizeof(*r));

	(void)side;
	if (!r)
		return -ENOMEM;
	r->slots = ring_slots(c->size);
	r->stride = ring_stride(c->size);
	c->priv = r;
	return 0;
}

static uint64_t *head_word(struct bench_ctx *c)
{
	return c->shared;
}

static uint64_t *slot_word(struct bench_ctx *c, const struct floor_ring *r)
{
	return (uint64_t *)(void *)((unsigned char *)c->shared + HEAD_PAGE + r->idx * r->stride);
}

static void step(struct floor_ring *r)
{
	r->n++;
	if (++r->idx == r->slots)
		r->idx = 0;
}

static void *floor_reserve(struct bench_ctx *c, int side)
{
	struct floor_ring *r = c->priv;

	(void)side;
	while (r->n >= r->limit) {
		r->limit = __atomic_load_n(head_word(c), __ATOMIC_ACQUIRE) + r->slots;
		if (r->n >= r->limit)
			relax();
	}
	return slot_word(c, r) + 1;
}

static int floor_commit(struct bench_ctx *c, int side)
{
	struct floor_ring *r = c->priv;

	(void)side;
	__atomic_store_n(slot_word(c, r), r->n + 1, __ATOMIC_RELEASE);
	step(r);
	return 0;
}

static const void *floor_peek(struct bench_ctx *c, int side)
{
	struct floor_ring *r = c->priv;
	uint64_t *w = slot_word(c, r);

	(void)side;
	while (__atomic_load_n(w, __ATOMIC_ACQUIRE) != r->n + 1)
		for (int i = 0; i < FLOOR_PAUSES; i++)
			relax();
	return w + 1;
}

static int floor_release(struct bench_ctx *c, int side)
{
	struct floor_ring *r = c->priv;

	(void)side;
	step(r);
	if (r->n - r->published >= r->slots / 8) {
		__atomic_store_n(head_word(c), r->n, __ATOMIC_RELEASE);
		r->published = r->n;
	}
	return 0;
}

static int floor_send(struct bench_ctx *c, int side, const void *buf)
{
	memcpy(floor_reserve(c, side), buf, c->size);
	return floor_commit(c, side);
}

static int floor_recv(struct bench_ctx *c, int side, void *buf)
{
	memcpy(buf, floor_peek(c, side), c->size);
	return floor_release(c, side);
}

static void floor_disconnect(struct bench_ctx *c, int side)
{
	(void)side;
	free(c->priv);
	c->priv = NULL;
}

const struct transport bench_floor[] = {
	{ .name = "floor", .family = FAMILY_FLOOR,
	  .suites = SUITE_PINGPONG_1K | SUITE_STREAM_1K | SUITE_PINGPONG_8,
	  .about = "one cache line ping-ponged between two processes; streaming: "
		   "a bare fixed-slot ring between two processes",
	  .prepare = floor_prepare, .connect = floor_connect, .send = floor_send,
	  .recv = floor_recv, .disconnect = floor_disconnect,
	  .cleanup = bench_unmap_shared, .reserve = floor_reserve, .commit = floor_commit,
	  .peek = floor_peek, .release = floor_release },
};
const size_t bench_floor_count = sizeof(bench_floor) / sizeof(bench_floor[0]);
