/* SPDX-License-Identifier: MIT */
/*
 * The floor, the least each mode can cost between two processes.
 *  - Ping-pong: one cache line ping-ponged; it has no send or receive, the
 *    runner drives the line itself.
 *  - Streaming: a bare ring of fixed slots, single producer, single
 *    consumer, with nothing else: no framing, no end of stream, no peer
 *    checks, no sleeping.  Each slot has a sequence word: message n goes
 *    into slot n % S once its word says n (free for it), and the word then
 *    says n + 1 (full); the reader copies it out and stores n + S.  The
 *    runner stamps and checks each message as it does for every transport,
 *    so "of bound" compares like with like.  (It used to be one process's
 *    memcpy, which two processes pipelining the same work beat: not a bound.)
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "bench.h"

#define LINE 64

struct floor_ring {
	size_t slots, stride;
	uint64_t n;		/* this side's next message */
};

static size_t ring_slots(size_t size)
{
	return size <= (64u << 10) ? 64 : 8;
}

static size_t ring_stride(size_t size)
{
	return LINE + ((size + LINE - 1) / LINE) * LINE;
}

static int floor_prepare(struct bench_ctx *c)
{
	size_t s = ring_slots(c->size), i;
	unsigned char *base;

	c->shared_len = 4096 + s * ring_stride(c->size);
	c->shared = mmap(NULL, c->shared_len, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (c->shared == MAP_FAILED)
		return -errno;
	base = c->shared;
	for (i = 0; i < s; i++)		/* slot i is free for message i */
		*(uint64_t *)(void *)(base + 4096 + i * ring_stride(c->size)) = i;
	return 0;
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

static uint64_t *slot_word(struct bench_ctx *c, const struct floor_ring *r)
{
	return (uint64_t *)(void *)((unsigned char *)c->shared + 4096 +
				    (r->n % r->slots) * r->stride);
}

static void spin_until(uint64_t *word, uint64_t v)
{
	while (__atomic_load_n(word, __ATOMIC_ACQUIRE) != v)
		relax();
}

static int floor_send(struct bench_ctx *c, int side, const void *buf)
{
	struct floor_ring *r = c->priv;
	uint64_t *w = slot_word(c, r);

	(void)side;
	spin_until(w, r->n);
	memcpy(w + LINE / 8, buf, c->size);
	__atomic_store_n(w, r->n + 1, __ATOMIC_RELEASE);
	r->n++;
	return 0;
}

static int floor_recv(struct bench_ctx *c, int side, void *buf)
{
	struct floor_ring *r = c->priv;
	uint64_t *w = slot_word(c, r);

	(void)side;
	spin_until(w, r->n + 1);
	memcpy(buf, w + LINE / 8, c->size);
	__atomic_store_n(w, r->n + r->slots, __ATOMIC_RELEASE);
	r->n++;
	return 0;
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
	  .cleanup = bench_unmap_shared },
};
const size_t bench_floor_count = sizeof(bench_floor) / sizeof(bench_floor[0]);
