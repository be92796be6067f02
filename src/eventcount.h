/* SPDX-License-Identifier: MIT */
/*
 * An eventcount: how one side sleeps until the other has published
 * something, with no lost wakeup and no system call when nobody sleeps.
 *
 *   waiter:   key = seq; waiting = 1; full barrier;
 *             if (condition) { waiting = 0; done }
 *             wait(&seq, key, deadline)
 *   notifier: publish (release); full barrier;
 *             if (waiting) { waiting = 0; seq++; wake(&seq) }
 *
 * The two barriers make it a Dekker pair: either the waiter sees the
 * publication, or the notifier sees `waiting` and bumps seq, so the wait
 * either fails at once (seq moved) or is woken.  Without the notifier's
 * barrier the store of the publication can sit in its store buffer while
 * it reads waiting == 0: a lost wakeup.
 *
 * The two words live in shared memory (a ring's control block, a hub's
 * door); the operating system's way to sleep on one and wake it is a
 * struct shmq_wake_ops, so that another mechanism than the futex can be
 * added without touching the rings.  The notifier's path when nobody
 * sleeps (a barrier and one load) stays inline and never calls through
 * the operations.
 */
#ifndef SHMQ_EVENTCOUNT_H
#define SHMQ_EVENTCOUNT_H

#include <stdint.h>

#include "atomics.h"

struct shmq_ec {
	uint32_t seq;		/* bumped by the waker, slept on by the waiter */
	uint32_t waiting;	/* set by the waiter before it sleeps */
};

/* How to sleep on a 32-bit word in shared memory, and how to wake it. */
struct shmq_wake_ops {
	const char *name;
	/*
	 * Sleep while *word == @expected, until woken or the absolute
	 * CLOCK_MONOTONIC @deadline (SHMQ_NEVER: none): 0 (woken, or the
	 * word had moved), -ETIMEDOUT, -EINTR.
	 */
	int (*wait)(uint32_t *word, uint32_t expected, int64_t deadline);
	/* Wake up to @n sleepers of @word; how many, or -errno. */
	int (*wake)(uint32_t *word, int n);
};

/* The futex (futex.c): shared, never FUTEX_PRIVATE_FLAG. */
extern const struct shmq_wake_ops shmq_futex_ops;

/* The slow path of a notify: somebody sleeps. */
void shmq_ec_wake(struct shmq_ec *ec, const struct shmq_wake_ops *ops);

/* After publishing: wake the other side if it sleeps, else one load. */
static inline void shmq_ec_notify(struct shmq_ec *ec, const struct shmq_wake_ops *ops)
{
	shmq_smp_mb();
	if (shmq_load_relaxed(&ec->waiting))
		shmq_ec_wake(ec, ops);
}

#endif /* SHMQ_EVENTCOUNT_H */
