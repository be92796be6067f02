/* SPDX-License-Identifier: MIT */
/*
 * The naive shared-memory methods: spinflag (a flag beside the data,
 * busy-spin) and the classic recipe's sleep-polling.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "bench.h"
#include "shmq.h"

/* ------------------------------------------------------------------ */
/* spinflag and classic: one flag in the data's cache line             */
/* ------------------------------------------------------------------ */

/*
 * The well-known naive method: one region, a 1-byte flag at the start of
 * the data's cache line.  0: empty; 1: a message from side 0; 2: from
 * side 1.  The writer waits for empty, copies in, sets its flag; the
 * reader waits for the other side's flag, copies out, sets empty.
 * spinflag busy-spins on the flag; classic sleeps 1 us between polls,
 * as the classic recipe does.
 */
struct flagbox {
	uint8_t flag;
	uint8_t data[];
};

static int flag_prepare(struct bench_ctx *c)
{
	c->shared_len = sizeof(struct flagbox) + c->size;
	c->shared = mmap(NULL, c->shared_len, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	return c->shared == MAP_FAILED ? -errno : 0;
}

static int flag_connect(struct bench_ctx *c, int side)
{
	(void)c;
	(void)side;
	return 0;
}

static void flag_wait(struct flagbox *b, uint8_t want, int sleepy)
{
	static const struct timespec us = { 0, 1000 };

	while (__atomic_load_n(&b->flag, __ATOMIC_ACQUIRE) != want) {
		if (sleepy)
			nanosleep(&us, NULL);
		else
			__builtin_ia32_pause();
	}
}

static int flag_send(struct bench_ctx *c, int side, const void *buf, int sleepy)
{
	struct flagbox *b = c->shared;

	flag_wait(b, 0, sleepy);
	memcpy(b->data, buf, c->size);
	__atomic_store_n(&b->flag, (uint8_t)(side + 1), __ATOMIC_RELEASE);
	return 0;
}

static int flag_recv(struct bench_ctx *c, int side, void *buf, int sleepy)
{
	struct flagbox *b = c->shared;

	flag_wait(b, (uint8_t)(2 - side), sleepy);
	memcpy(buf, b->data, c->size);
	__atomic_store_n(&b->flag, 0, __ATOMIC_RELEASE);
	return 0;
}

static int spin_send(struct bench_ctx *c, int side, const void *buf)
{
	return flag_send(c, side, buf, 0);
}

static int spin_recv(struct bench_ctx *c, int side, void *buf)
{
	return flag_recv(c, side, buf, 0);
}

static int sleepy_send(struct bench_ctx *c, int side, const void *buf)
{
	return flag_send(c, side, buf, 1);
}

static int sleepy_recv(struct bench_ctx *c, int side, void *buf)
{
	return flag_recv(c, side, buf, 1);
}

const struct transport bench_naive[] = {
	{ .name = "spinflag", .family = FAMILY_NAIVE,
	  .suites = SUITE_PINGPONG_1K | SUITE_STREAM_1K | SUITE_PINGPONG_8,
	  .about = "a 1-byte flag in the data's cache line, busy-spin, memcpy in and out",
	  .prepare = flag_prepare, .connect = flag_connect, .send = spin_send,
	  .recv = spin_recv, .disconnect = bench_no_disconnect, .cleanup = bench_unmap_shared },
	{ .name = "classic", .family = FAMILY_NAIVE,
	  .suites = SUITE_PINGPONG_1K | SUITE_STREAM_1K | SUITE_WAKE | SUITE_IDLE,
	  .about = "the classic recipe: poll the flag, nanosleep 1 us between polls",
	  .prepare = flag_prepare, .connect = flag_connect, .send = sleepy_send,
	  .recv = sleepy_recv, .disconnect = bench_no_disconnect, .cleanup = bench_unmap_shared },
};
const size_t bench_naive_count = sizeof(bench_naive) / sizeof(bench_naive[0]);
