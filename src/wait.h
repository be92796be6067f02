/* SPDX-License-Identifier: MIT */
/*
 * The wait layer: the spin-then-park loop every blocking call uses, over
 * an eventcount (eventcount.h) and its way to sleep (struct shmq_wake_ops).
 */
#ifndef SHMQ_WAIT_H
#define SHMQ_WAIT_H

#include <signal.h>
#include <stdint.h>

#include "eventcount.h"
#include "shmq.h"

/*
 * How often a parked or spinning waiter checks on its peer: 50 ms, so a
 * death is noticed within 100 ms.  A variable only so that the lost-wakeup
 * test can stretch it: the periodic check would otherwise hide a lost
 * wakeup behind a 50 ms delay.
 */
extern int64_t shmq_check_interval_ns;
#define SHMQ_CHECK_INTERVAL_NS shmq_check_interval_ns

struct shmq_waiter {
	int policy;		/* enum shmq_wait_mode */
	int interruptible;	/* return -EINTR when a signal handler ran */
	int64_t spin_ns;
	const volatile sig_atomic_t *stop;	/* -EINTR once nonzero */
	/*
	 * pause instructions between two polls.  A poll of the header's line
	 * while the peer is still writing a large message only takes the line
	 * away from it, so the spacing follows the size of the last message:
	 * one pause per 128 bytes (measured: 1 KiB ping-pong rose from 761k to
	 * 885k round trips/s, while 8 B keeps polling at every pause).
	 */
	uint32_t pauses;
	/*
	 * Others may sleep on the same eventcount (a topic's subscribers):
	 * then this word, beside it in shared memory, counts the waiters
	 * that announced themselves, and a waiter clears the shared bit only
	 * when it was the last (wait.c).  NULL: it sleeps there alone.
	 */
	uint32_t *sleepers;
	const struct shmq_wake_ops *wake;	/* how to sleep: the futex */
};

static inline uint32_t shmq_pauses_for(size_t last_len)
{
	size_t p = 1 + last_len / 128;

	return p > 32 ? 32 : (uint32_t)p;
}

static inline int shmq_stopped(const struct shmq_waiter *w)
{
	return w->stop && *w->stop;
}

/*
 * The conditions a wait loop watches, each called with the caller's
 * context (on its stack: what a wait found travels back in it) and
 * returning > 0 done, 0 keep waiting, < 0 an error to return:
 *  - poll() looks at the ring alone, the one line the peer publishes on;
 *    it runs on every spin (NULL: ready() does);
 *  - ready() looks at the ring and at everything else that ends a wait
 *    (end of stream, the peer's state); it runs every 64 spins and before
 *    every sleep.  Reading those other words on every spin would pull the
 *    peer's lines across on every message it sends.
 * check() runs at least every SHMQ_CHECK_INTERVAL_NS, and before the first
 * park: it looks at the peer's process and leaves what it found for
 * ready() to report.
 */
struct shmq_wait_ops {
	int (*ready)(void *ctx);
	void (*check)(void *ctx);
	int (*poll)(void *ctx);
};

/*
 * Wait on @ec until ready(@ctx), the absolute CLOCK_MONOTONIC @deadline
 * (-ETIMEDOUT), or a signal (-EINTR, only if interruptible).
 */
int shmq_wait(struct shmq_ec *ec, const struct shmq_waiter *w,
	      const struct shmq_wait_ops *ops, void *ctx, int64_t deadline);

#endif /* SHMQ_WAIT_H */
