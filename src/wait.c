/* SPDX-License-Identifier: MIT */
/* The wait layer: see wait.h for the protocol. */
#include <errno.h>
#include <limits.h>

#include "internal.h"
#include "wait.h"

int64_t shmq_check_interval_ns = 50 * 1000000LL;

static int64_t min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

/* When spinning ends: now (block), never (spin), or after spin_ns. */
static int64_t spin_end_of(const struct shmq_waiter *w, int64_t now)
{
	switch (w->policy) {
	case SHMQ_WAIT_SPIN:
		return SHMQ_NEVER;
	case SHMQ_WAIT_BLOCK:
		return now;
	default:
		return now + w->spin_ns;
	}
}

/*
 * Spin until @spin_end: no system calls; the ring alone on most rounds,
 * and every 64 rounds a clock read and a look at everything that may end
 * the wait.  1 if spinning ran out, else the wait's result.
 */
static int spin(const struct shmq_waiter *w, const struct shmq_wait_ops *ops,
		void *ctx, int64_t now, int64_t spin_end, int64_t deadline,
		int64_t *next_check)
{
	uint32_t i, j, pauses = w->pauses ? w->pauses : 1;
	int r;

	for (i = 1; now < spin_end; i++) {
		r = (i % 64 && ops->poll) ? ops->poll(ctx) : ops->ready(ctx);
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
		if (now >= *next_check && now < spin_end) {
			ops->check(ctx);
			*next_check = now + SHMQ_CHECK_INTERVAL_NS;
		}
	}
	return 1;
}

/*
 * A sleeping thread's bit, set and cleared alone: an event loop's
 * announcement on the same eventcount (SHMQ_EC_POLLER) stays as it is.
 *
 * On a shared eventcount (w->sleepers) every sleeper sets the same bit,
 * so a waiter that stops waiting may clear it only if no other waiter
 * announced itself: it counts itself in and out, and clears the bit when
 * its count-out leaves none.  Another waiter may count itself in and set
 * the bit just before that clear; so, after the clear and a full barrier,
 * the count is read again, and if anyone is in, the leaver bumps seq and
 * wakes them itself (a notify may have found the bit clear meanwhile).
 */
static void announce(struct shmq_ec *ec, const struct shmq_waiter *w)
{
	if (w->sleepers) {
		shmq_fetch_add_seq_cst(w->sleepers, 1);
		shmq_smp_mb();	/* counted in before the bit is seen set */
	}
	shmq_fetch_or_relaxed(&ec->waiting, SHMQ_EC_SLEEPER);
}

/* After a sleep that ended (woken, or the next check): counted out only. */
static void count_out(const struct shmq_waiter *w)
{
	if (w->sleepers)
		shmq_fetch_add_seq_cst(w->sleepers, (uint32_t)-1);
}

static void withdraw(struct shmq_ec *ec, const struct shmq_waiter *w)
{
	if (!w->sleepers) {
		shmq_fetch_and_relaxed(&ec->waiting, ~SHMQ_EC_SLEEPER);
		return;
	}
	if (shmq_fetch_add_seq_cst(w->sleepers, (uint32_t)-1) != 1)
		return;		/* others are in: the bit is theirs too */
	shmq_fetch_and_relaxed(&ec->waiting, ~SHMQ_EC_SLEEPER);
	shmq_smp_mb();
	if (shmq_load_relaxed(w->sleepers)) {
		shmq_fetch_add_release(&ec->seq, 1);
		w->wake->wake(&ec->seq, INT_MAX);
	}
}

/*
 * Park: announce, look again, sleep until woken or the next check; what
 * arrives while a signal interrupts the sleep is still delivered.
 */
static int park(struct shmq_ec *ec, const struct shmq_waiter *w,
		const struct shmq_wait_ops *ops, void *ctx, int64_t deadline,
		int64_t next_check)
{
	for (;;) {
		int64_t now = shmq_now_ns();
		uint32_t key;
		int r;

		if (now >= next_check) {
			ops->check(ctx);
			next_check = now + SHMQ_CHECK_INTERVAL_NS;
		}
		key = shmq_load_acquire(&ec->seq);
		announce(ec, w);
		shmq_smp_mb();
		r = ops->ready(ctx);
		if (r) {
			withdraw(ec, w);
			return r > 0 ? 0 : r;
		}
		if (now >= deadline || shmq_stopped(w)) {
			withdraw(ec, w);
			return now >= deadline ? -ETIMEDOUT : -EINTR;
		}
		r = w->wake->wait(&ec->seq, key, min64(deadline, next_check));
		if (r == -EINTR && w->interruptible) {
			withdraw(ec, w);
			/* A last look: what arrived is delivered, not lost. */
			r = ops->ready(ctx);
			return r ? (r > 0 ? 0 : r) : -EINTR;
		}
		count_out(w);	/* and in again, announcing, at the top */
	}
}

int shmq_wait(struct shmq_ec *ec, const struct shmq_waiter *w,
	      const struct shmq_wait_ops *ops, void *ctx, int64_t deadline)
{
	int64_t now = shmq_now_ns();
	int64_t spin_end = spin_end_of(w, now);
	/* The first check comes when spinning ends, or soon while spinning. */
	int64_t next_check = min64(spin_end, now + SHMQ_CHECK_INTERVAL_NS);
	int r = now < spin_end ? spin(w, ops, ctx, now, spin_end, deadline, &next_check) : 1;

	return r == 1 ? park(ec, w, ops, ctx, deadline, next_check) : r;
}
