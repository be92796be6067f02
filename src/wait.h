/* SPDX-License-Identifier: MIT */
/*
 * The wait layer: an eventcount on a 32-bit futex word, and the
 * spin-then-park loop every blocking call uses.
 *
 *   waiter:   key = seq; waiting = 1; full barrier;
 *             if (condition) { waiting = 0; done }
 *             futex_wait(&seq, key, deadline)
 *   notifier: publish (release); full barrier;
 *             if (waiting) { waiting = 0; seq++; futex_wake(&seq) }
 *
 * The two barriers make it a Dekker pair: either the waiter sees the
 * publication, or the notifier sees `waiting` and bumps seq, so the
 * futex_wait either fails at once (seq moved) or is woken.  Without the
 * notifier's barrier the store of the publication can sit in its store
 * buffer while it reads waiting == 0: a lost wakeup.  The futex is never
 * FUTEX_PRIVATE_FLAG: it lives in memory shared between processes.
 */
#ifndef SHMQ_WAIT_H
#define SHMQ_WAIT_H

#include <signal.h>
#include <stdint.h>

#include "atomics.h"
#include "shmq.h"
#include "ring.h"

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

void shmq_ec_wake(struct shmq_ec *ec);

/* After publishing: wake the other side if it sleeps, else one load. */
static inline void shmq_ec_notify(struct shmq_ec *ec)
{
	shmq_smp_mb();
	if (shmq_load_relaxed(&ec->waiting))
		shmq_ec_wake(ec);
}

/*
 * The conditions a wait loop watches, each returning > 0 done, 0 keep
 * waiting, < 0 an error to return:
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
	int (*ready)(void *arg);
	void (*check)(void *arg);
	void *arg;
	int (*poll)(void *arg);
};

/*
 * Wait until ready, the absolute CLOCK_MONOTONIC @deadline (-ETIMEDOUT),
 * or a signal (-EINTR, only if interruptible).
 */
int shmq_wait(struct shmq_ec *ec, const struct shmq_waiter *w,
	      const struct shmq_wait_ops *ops, int64_t deadline);

/* The futex itself: 0 woken or value changed, -ETIMEDOUT, -EINTR. */
int shmq_futex_wait(uint32_t *word, uint32_t expected, int64_t deadline);
int shmq_futex_wake(uint32_t *word, int n);

#endif /* SHMQ_WAIT_H */
