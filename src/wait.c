/* SPDX-License-Identifier: MIT */
/* The wait layer: see wait.h for the protocol. */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "wait.h"

int64_t shmq_check_interval_ns = 50 * 1000000LL;

int shmq_futex_wait(uint32_t *word, uint32_t expected, int64_t deadline)
{
	struct timespec ts, *tsp = NULL;
	long r;

	if (deadline != SHMQ_NEVER) {
		ts.tv_sec = deadline / 1000000000;
		ts.tv_nsec = deadline % 1000000000;
		tsp = &ts;
	}
	/*
	 * FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC deadline, so
	 * a wait restarted after a signal does not stretch it.  Shared, not
	 * private: the word is in memory another process maps.
	 */
	r = syscall(SYS_futex, word, FUTEX_WAIT_BITSET, expected, tsp, NULL,
		    FUTEX_BITSET_MATCH_ANY);
	if (r == 0)
		return 0;
	switch (errno) {
	case EAGAIN:
		return 0;	/* the word moved on before we slept */
	case ETIMEDOUT:
		return -ETIMEDOUT;
	case EINTR:
		return -EINTR;
	default:
		return -errno;
	}
}

int shmq_futex_wake(uint32_t *word, int n)
{
	long r = syscall(SYS_futex, word, FUTEX_WAKE, n, NULL, NULL, 0);

	return r < 0 ? -errno : (int)r;
}

void shmq_ec_wake(struct shmq_ec *ec)
{
	shmq_store_relaxed(&ec->waiting, 0);
	__atomic_fetch_add(&ec->seq, 1, __ATOMIC_RELEASE);
	shmq_futex_wake(&ec->seq, INT_MAX);
}

static int64_t min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

int shmq_wait(struct shmq_ec *ec, const struct shmq_waiter *w,
	      const struct shmq_wait_ops *ops, int64_t deadline)
{
	int64_t now = shmq_now_ns();
	int64_t spin_end, next_check;
	uint32_t i, j, pauses = w->pauses ? w->pauses : 1;
	int r;

	switch (w->policy) {
	case SHMQ_WAIT_SPIN:
		spin_end = SHMQ_NEVER;
		break;
	case SHMQ_WAIT_BLOCK:
		spin_end = now;
		break;
	default:
		spin_end = now + w->spin_ns;
		break;
	}
	/* The first check comes when spinning ends, or soon while spinning. */
	next_check = min64(spin_end, now + SHMQ_CHECK_INTERVAL_NS);

	/*
	 * Spin: no system calls; every 64 rounds, a clock read and a look at
	 * everything that may end the wait.
	 */
	for (i = 1; now < spin_end; i++) {
		r = (i % 64 && ops->poll) ? ops->poll(ops->arg) : ops->ready(ops->arg);
		if (r)
			return r > 0 ? 0 : r;
		for (j = 0; j < pauses; j++)
			shmq_cpu_relax();
		if (i % 64)
			continue;
		now = shmq_now_ns();
		if (now >= deadline)
			return -ETIMEDOUT;
		if (shmq_stopped(w))
			return -EINTR;
		if (now >= next_check && now < spin_end) {
			ops->check(ops->arg);
			next_check = now + SHMQ_CHECK_INTERVAL_NS;
		}
	}

	/* Park: announce, re-check, sleep until woken or the next check. */
	for (;;) {
		uint32_t key;

		now = shmq_now_ns();
		if (now >= next_check) {
			ops->check(ops->arg);
			next_check = now + SHMQ_CHECK_INTERVAL_NS;
		}
		key = shmq_load_acquire(&ec->seq);
		shmq_store_relaxed(&ec->waiting, 1);
		shmq_smp_mb();
		r = ops->ready(ops->arg);
		if (r) {
			shmq_store_relaxed(&ec->waiting, 0);
			return r > 0 ? 0 : r;
		}
		if (now >= deadline || shmq_stopped(w)) {
			shmq_store_relaxed(&ec->waiting, 0);
			return now >= deadline ? -ETIMEDOUT : -EINTR;
		}
		r = shmq_futex_wait(&ec->seq, key, min64(deadline, next_check));
		if (r == -EINTR && w->interruptible) {
			shmq_store_relaxed(&ec->waiting, 0);
			/* A last look: what arrived is delivered, not lost. */
			r = ops->ready(ops->arg);
			return r ? (r > 0 ? 0 : r) : -EINTR;
		}
	}
}
