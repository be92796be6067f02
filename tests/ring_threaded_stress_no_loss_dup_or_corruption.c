/*
 * Two threads, one ring, ten million messages of random sizes through the
 * eventcount wait (hybrid and park-at-once, batches and single records).
 * Message n has a length and content that are functions of n, so the
 * consumer checks every byte of every message against what it must be: a
 * lost, duplicated, reordered or torn message cannot pass.  This is the
 * test TSan runs (make tsan).
 *
 * SHMQ_STRESS_COUNT overrides the count.
 */
#include <pthread.h>

#include "atomics.h"
#include "internal.h"
#include "ring.h"
#include "tap.h"
#include "wait.h"

static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* Mostly small, sometimes up to 2 KiB (fits every ring here), some zero. */
static size_t len_of(uint64_t n)
{
	uint64_t r = mix(n);

	switch (r & 15) {
	case 0:
		return 0;
	case 1:
		return (r >> 8) % 2048;
	case 2: case 3:
		return (r >> 8) % 512;
	default:
		return (r >> 8) % 64;
	}
}

static void fill(unsigned char *p, uint64_t n, size_t len)
{
	uint64_t w;
	size_t i;

	for (i = 0; i + 8 <= len; i += 8) {
		w = mix(n * 1024 + i);
		memcpy(p + i, &w, 8);
	}
	if (i < len) {
		w = mix(n * 1024 + i);
		memcpy(p + i, &w, len - i);
	}
}

struct shared {
	struct shmq_ring_ctl *ctl;
	unsigned char *data;
	uint64_t cap, count;
	struct shmq_waiter prod_wait, cons_wait;
	int batch;		/* up to this many records per commit/release */
	uint64_t bad, received;
	int error;
};

static int noop_ready(void *arg)
{
	(void)arg;
	return 0;
}

static void noop_check(void *arg)
{
	(void)arg;
}

struct side {
	struct shmq_ring *r;
	size_t len;
};

static int can_reserve(void *arg)
{
	struct side *s = arg;
	void *d;
	int r = shmq_ring_reserve(s->r, s->len, &d);

	if (r == -EAGAIN)
		return 0;
	if (r == 0)
		shmq_ring_discard(s->r);	/* the real reserve follows */
	return r ? r : 1;
}

static int can_peek(void *arg)
{
	struct side *s = arg;
	const void *b;
	size_t len;
	int r = shmq_ring_peek(s->r, &b, &len);

	if (r == -EAGAIN)
		return 0;
	if (r == 0)
		shmq_ring_rewind(s->r);
	return r ? r : 1;
}

static void *producer(void *arg)
{
	struct shared *sh = arg;
	struct shmq_ring r;
	struct side s = { &r, 0 };
	struct shmq_wait_ops ops = { can_reserve, noop_check, NULL };
	uint64_t n = 0;
	int pending = 0;

	(void)noop_ready;
	if (shmq_ring_attach(&r, sh->ctl, sh->data, sh->cap, 0)) {
		__atomic_store_n(&sh->error, 1, __ATOMIC_RELAXED);
		return NULL;
	}
	while (n < sh->count) {
		size_t len = len_of(n);
		void *d;
		int e = shmq_ring_reserve(&r, len, &d);

		if (e == -EAGAIN) {
			/* Publish what we hold before waiting for room. */
			if (pending) {
				shmq_ring_commit(&r);
				shmq_ec_notify(&sh->ctl->data, &shmq_futex_ops, NULL);
				pending = 0;
			}
			s.len = len;
			e = shmq_wait(&sh->ctl->space, &sh->prod_wait, &ops, &s,
				      tap_now_ns() + 30 * 1000000000LL);
			if (e)
				break;
			continue;
		}
		if (e)
			break;
		fill(d, n, len);
		n++;
		if (++pending >= sh->batch || n == sh->count) {
			shmq_ring_commit(&r);
			shmq_ec_notify(&sh->ctl->data, &shmq_futex_ops, NULL);
			pending = 0;
		}
	}
	if (n != sh->count)
		__atomic_store_n(&sh->error, 1, __ATOMIC_RELAXED);
	return NULL;
}

static void *consumer(void *arg)
{
	struct shared *sh = arg;
	struct shmq_ring r;
	struct side s = { &r, 0 };
	struct shmq_wait_ops ops = { can_peek, noop_check, NULL };
	unsigned char *want = malloc(2048);
	uint64_t n = 0;
	int held = 0;

	if (shmq_ring_attach(&r, sh->ctl, sh->data, sh->cap, 0)) {
		__atomic_store_n(&sh->error, 1, __ATOMIC_RELAXED);
		free(want);
		return NULL;
	}
	while (n < sh->count) {
		const void *b;
		size_t len;
		int e = shmq_ring_peek(&r, &b, &len);

		if (e == -EAGAIN) {
			if (held) {
				shmq_ring_release(&r);
				shmq_ring_return_space(&r);
				shmq_ec_notify(&sh->ctl->space, &shmq_futex_ops, NULL);
				held = 0;
			}
			/* A stuck producer fails the test; it cannot hang it. */
			e = shmq_wait(&sh->ctl->data, &sh->cons_wait, &ops, &s,
				      tap_now_ns() + 30 * 1000000000LL);
			if (e)
				break;
			continue;
		}
		if (e)
			break;
		fill(want, n, len_of(n));
		if (len != len_of(n) || memcmp(b, want, len))
			sh->bad++;
		n++;
		if (++held >= sh->batch) {
			shmq_ring_release(&r);
			shmq_ring_return_space(&r);
			shmq_ec_notify(&sh->ctl->space, &shmq_futex_ops, NULL);
			held = 0;
		}
	}
	shmq_ring_release(&r);
	shmq_ring_return_space(&r);
	shmq_ec_notify(&sh->ctl->space, &shmq_futex_ops, NULL);
	sh->received = n;
	free(want);
	return NULL;
}

static void run(const char *what, uint64_t count, uint64_t cap, int policy,
		int batch)
{
	struct shared sh = { 0 };
	pthread_t p, c;
	int64_t t0 = tap_now_ns();
	double secs;

	sh.cap = cap;
	sh.count = count;
	sh.batch = batch;
	sh.ctl = aligned_alloc(SHMQ_LINE, sizeof(*sh.ctl));
	sh.data = aligned_alloc(4096, cap);
	/* Start 4 laps before 2^64, so the positions wrap during the run. */
	shmq_ring_format(sh.ctl, sh.data, cap, UINT64_MAX - cap * 4 + 1);
	sh.prod_wait.policy = sh.cons_wait.policy = policy;
	sh.prod_wait.spin_ns = sh.cons_wait.spin_ns = 5000;
	sh.prod_wait.wake = sh.cons_wait.wake = &shmq_futex_ops;
	if (!sh.ctl || !sh.data)
		bail_out("out of memory");
	pthread_create(&c, NULL, consumer, &sh);
	pthread_create(&p, NULL, producer, &sh);
	pthread_join(p, NULL);
	pthread_join(c, NULL);
	secs = (double)(tap_now_ns() - t0) / 1e9;
	ok(!sh.error && sh.received == count && sh.bad == 0,
	   "%s: %llu messages, %llu received, %llu wrong (%.2f s)", what,
	   (unsigned long long)count, (unsigned long long)sh.received,
	   (unsigned long long)sh.bad, secs);
	free(sh.ctl);
	free(sh.data);
}

int main(void)
{
	const char *env = getenv("SHMQ_STRESS_COUNT");
	uint64_t count = env ? strtoull(env, NULL, 10) : 10000000;

	tap_start(600);
	run("hybrid wait, single records, 64 KiB ring", count, 1 << 16,
	    SHMQ_WAIT_HYBRID, 1);
	run("hybrid wait, batches of up to 16, 16 KiB ring", count / 2, 1 << 14,
	    SHMQ_WAIT_HYBRID, 16);
	run("park at once (no spinning), 8 KiB ring", count / 20, 1 << 13,
	    SHMQ_WAIT_BLOCK, 1);
	return done_testing();
}
