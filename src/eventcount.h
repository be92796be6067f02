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
 *
 * `waiting` holds bits, so that two kinds of sleeper can announce
 * themselves on one eventcount: a thread asleep on the futex
 * (SHMQ_EC_SLEEPER), and an event loop asleep on a descriptor
 * (SHMQ_EC_POLLER, poller.c), whose socket is named by a 64-bit word
 * beside the eventcount.  The notifier takes every bit at once
 * (exchange), bumps seq, and wakes each kind it found.  A bit is cleared
 * only by the notifier that then wakes, or by its own sleeper: a poller's
 * announcement is never lost to a thread's.
 */
#ifndef SHMQ_EVENTCOUNT_H
#define SHMQ_EVENTCOUNT_H

#include <stdint.h>

#include "atomics.h"
#include "held.h"

struct shmq_ec {
	uint32_t seq;		/* bumped by the waker, slept on by the waiter */
	uint32_t waiting;	/* SHMQ_EC_*: set by a waiter before it sleeps */
};

#define SHMQ_EC_SLEEPER 1u	/* a thread sleeps on seq */
#define SHMQ_EC_POLLER 2u	/* an event loop waits on the poller's socket */

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

/*
 * The slow path of a notify: somebody sleeps.  @poller: the word naming
 * the socket of an event loop that may wait on this eventcount (NULL:
 * none can, as on a hub's door, or the caller wakes them: topics).
 * Returns the waiting bits it took (SHMQ_EC_POLLER among them).
 */
uint32_t shmq_ec_wake(struct shmq_ec *ec, const struct shmq_wake_ops *ops,
		      const uint64_t *poller);

/* After publishing: wake the other side if it sleeps, else one load. */
static inline void shmq_ec_notify(struct shmq_ec *ec, const struct shmq_wake_ops *ops,
				  const uint64_t *poller)
{
	shmq_smp_mb();
	if (shmq_load_relaxed(&ec->waiting))
		shmq_ec_wake(ec, ops, poller);
}

/*
 * poller.c: the descriptor an event loop waits on (shmq_fd()).  A
 * datagram socket in the abstract namespace, named by a random 64-bit
 * token that the consumer publishes beside the eventcount; an epoll set
 * holding it and the peer's pidfd is what the program polls.
 */
struct shmq_poller {
	struct shmq_held ep;	/* the epoll set handed out */
	struct shmq_held sock;	/* bound to the token's name */
	struct shmq_held watched;	/* the pidfd in the set, or none */
	uint64_t token;		/* never 0 */
};
/* Make one (allocated): 0, or -EMFILE, -ENFILE, -ENOMEM... */
int shmq_poller_open(struct shmq_poller **p);
/* Let go of its descriptors, and free it (NULL: nothing). */
void shmq_poller_close(struct shmq_poller *p);
/*
 * About to say "nothing now": publish our @token at its place in the line
 * and set SHMQ_EC_POLLER on @ec, then a full barrier; the caller then
 * looks once more before it sleeps or says -EAGAIN.
 */
void shmq_poller_announce(const struct shmq_poller *p, struct shmq_ec *ec, uint64_t *token);
/*
 * Empty the socket, so that the descriptor stops being ready by itself:
 * 0 if it was not ready at all (one system call), else how many things
 * were (a wake, or pidfds: their processes have ended).  The tags of up
 * to @max ready pidfds go to @tags, their number to *@ntags (both may be
 * NULL / 0).
 */
int shmq_poller_drain(struct shmq_poller *p, uint64_t *tags, int max, int *ntags);
/* Keep @pidfd (-1: none) in the set, in place of the one before. */
void shmq_poller_watch(struct shmq_poller *p, int pidfd);
/* Add @pidfd to the set, drained with @tag (never 0 or 1): 0, or -errno. */
int shmq_poller_add(struct shmq_poller *p, int pidfd, uint64_t tag);
/* The same, reported once only (EPOLLONESHOT): a death happens once. */
int shmq_poller_add_once(struct shmq_poller *p, int pidfd, uint64_t tag);
/* Take @pidfd out of the set again. */
void shmq_poller_remove(struct shmq_poller *p, int pidfd);
/* Wake the poller @token names, if any does: never fails, never blocks. */
void shmq_poller_wake(uint64_t token);
/*
 * Have this process's sending socket ready, so that a wake never needs a
 * descriptor it cannot get: 0, or -EMFILE and the like.
 */
int shmq_poller_prepare(void);

#endif /* SHMQ_EVENTCOUNT_H */
