/* SPDX-License-Identifier: MIT */
/*
 * The futex, as the eventcount's way to sleep and wake (eventcount.h).
 * Shared, not FUTEX_PRIVATE_FLAG: the word is in memory another process
 * maps.  FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC deadline, so
 * a wait restarted after a signal does not stretch it.
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "eventcount.h"
#include "internal.h"

static int futex_wait(uint32_t *word, uint32_t expected, int64_t deadline)
{
	struct timespec ts, *tsp = NULL;
	long r;

	if (deadline != SHMQ_NEVER) {
		ts.tv_sec = deadline / 1000000000;
		ts.tv_nsec = deadline % 1000000000;
		tsp = &ts;
	}
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

static int futex_wake(uint32_t *word, int n)
{
	long r = syscall(SYS_futex, word, FUTEX_WAKE, n, NULL, NULL, 0);

	return r < 0 ? -errno : (int)r;
}

const struct shmq_wake_ops shmq_futex_ops = {
	.name = "futex",
	.wait = futex_wait,
	.wake = futex_wake,
};

uint32_t shmq_ec_wake(struct shmq_ec *ec, const struct shmq_wake_ops *ops,
		      const uint64_t *poller)
{
	/*
	 * Acquire: a poller stores its token, then announces itself with a
	 * release; so the token read below is the one it announced.
	 */
	uint32_t who = shmq_exchange_acquire(&ec->waiting, 0);

	shmq_fetch_add_release(&ec->seq, 1);
	/* A peer of an older build may have stored any nonzero value. */
	if (who & ~SHMQ_EC_POLLER)
		ops->wake(&ec->seq, INT_MAX);
	if ((who & SHMQ_EC_POLLER) && poller)
		shmq_poller_wake(shmq_load_acquire(poller));
	return who;
}
