/* SPDX-License-Identifier: MIT */
/*
 * shmq bench -m fanout: one publisher, K subscriber processes.
 *
 * The same fan-out four ways, measured in one run, repetitions interleaved:
 *   topic        a topic, lossless subscribers
 *   topic-lossy  a topic, lossy subscribers (the publisher never waits)
 *   chans        the naive way: K pair channels, every message sent K times
 *   pipes        K pipes, every message written K times
 * The topic's ring has the memory of the K channels' rings together
 * (rounded down to a power of two), up to 4 MiB.
 * Each message carries its seq and its send time, and is checked by every
 * subscriber (a lossless one must see every seq in order; a lossy one only
 * increasing seqs, and counts what it got).  Reported: messages per second
 * delivered to each subscriber and in all, the publisher's CPU per message
 * (its thread's CPU time over the send loop), and, for K = 1, one-way
 * latency percentiles from paced runs (medians of the repetitions).
 * Every end waits as --wait says (hybrid or block): on a machine with
 * fewer cores than subscribers, spinning ones take the core from the
 * others.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fanout.h"
#include "shmq.h"

#define MAX_K 256
#define LAT_N 20000
#define FAN_RING_MAX ((size_t)4 << 20)
enum { F_TOPIC, F_TOPIC_LOSSY, F_CHANS, F_PIPES, F_N };
static const char *const method_name[F_N] = { "topic", "topic-lossy", "chans", "pipes" };

struct fan_shared {
	int ready;
	int64_t done_ns[MAX_K];
	uint64_t got[MAX_K], bad[MAX_K];
	int64_t lat[LAT_N];
};

struct fan {
	int method, k;
	size_t size;
	uint64_t msgs;
	int paced;		/* latency run: one message at a time */
	char name[64];
	int pipes[MAX_K][2];
	struct fan_shared *sh;
};

struct fan_result {
	double per_sub, total, lo, hi, pub_ns, p50_us, p99_us;
	uint64_t bad;
};

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void fill(unsigned char *m, size_t size, uint64_t seq)
{
	int64_t t = mono_ns();

	memcpy(m, &seq, 8);
	memcpy(m + 8, &t, 8);
	memset(m + 16, (int)(seq & 0xff), size - 16);
}

/* One message received by subscriber @i: check it, count it. */
static void take(struct fan *f, int i, const unsigned char *m, size_t len, uint64_t *next)
{
	uint64_t seq;
	int64_t t;

	memcpy(&seq, m, 8);
	memcpy(&t, m + 8, 8);
	if (len != f->size || m[len - 1] != (unsigned char)(seq & 0xff) ||
	    (f->method == F_TOPIC_LOSSY ? seq < *next : seq != *next))
		f->sh->bad[i]++;
	if (f->paced && seq < LAT_N)
		f->sh->lat[seq] = mono_ns() - t;
	*next = seq + 1;
	f->sh->got[i]++;
}

/* How every shmq end waits (--wait): hybrid or block. */
static int fan_wait = SHMQ_WAIT_HYBRID;

static int sub_wait(void)
{
	return fan_wait;
}

static int sub_topic(struct fan *f, int i)
{
	struct shmq_options o = { .wait = sub_wait() };
	int lossy = f->method == F_TOPIC_LOSSY;
	struct shmq_topic_options to = { .flags = lossy ? SHMQ_SUB_LOSSY : 0 };
	unsigned char *m = malloc(f->size);
	uint64_t next = 0;
	const void *p = NULL;
	shmq_sub_t *s;
	size_t len;

	if (!m || shmq_sub_open(f->name, &o, &to, &s))
		return 1;
	__atomic_fetch_add(&f->sh->ready, 1, __ATOMIC_RELEASE);
	/*
	 * Lossless: zero copy, as the channels' subscribers read.  Lossy:
	 * copying, since a message may be overwritten while it is looked at
	 * and only a copy is checked before it is returned.
	 */
	while (!lossy ? shmq_sub_peek(s, &p, &len, 30000000000LL) == 0 :
	       shmq_sub_recv_timed(s, m, f->size, &len, 30000000000LL) == 0) {
		take(f, i, lossy ? m : p, len, &next);
		if (!lossy)
			shmq_sub_release(s);
	}
	free(m);
	f->sh->done_ns[i] = mono_ns();
	shmq_sub_close(s);
	return 0;
}

static int sub_chan(struct fan *f, int i)
{
	struct shmq_options o = { .wait = sub_wait(), .flags = SHMQ_RECEIVER };
	char name[96];
	uint64_t next = 0;
	const void *p;
	size_t len;
	shmq_t *q;

	snprintf(name, sizeof(name), "%s-%d", f->name, i);
	__atomic_fetch_add(&f->sh->ready, 1, __ATOMIC_RELEASE);
	if (shmq_open(name, &o, &q))
		return 1;
	while (shmq_peek(q, &p, &len, 30000000000LL) == 0) {
		take(f, i, p, len, &next);
		shmq_release(q);
	}
	f->sh->done_ns[i] = mono_ns();
	shmq_close(q);
	return 0;
}

static int sub_pipe(struct fan *f, int i)
{
	unsigned char *m = malloc(f->size);
	uint64_t next = 0;
	size_t have = 0;
	ssize_t n;

	__atomic_fetch_add(&f->sh->ready, 1, __ATOMIC_RELEASE);
	while (m && (n = read(f->pipes[i][0], m + have, f->size - have)) > 0) {
		have += (size_t)n;
		if (have < f->size)
			continue;
		take(f, i, m, f->size, &next);
		have = 0;
	}
	f->sh->done_ns[i] = mono_ns();
	free(m);
	return 0;
}

static int subscriber(struct fan *f, int i)
{
	int k;

	if (f->method == F_PIPES)
		for (k = 0; k < f->k; k++) {
			close(f->pipes[k][1]);
			if (k != i)
				close(f->pipes[k][0]);
		}
	alarm(120);
	switch (f->method) {
	case F_PIPES:
		return sub_pipe(f, i);
	case F_CHANS:
		return sub_chan(f, i);
	default:
		return sub_topic(f, i);
	}
}

/* Pace a latency run: about one message per 20 us. */
static void pace(const struct fan *f)
{
	int64_t until = mono_ns() + 20000;

	if (f->paced)
		while (mono_ns() < until)
			;
}

/* The publisher's send loop for each method: 0, or -errno. */
static int publish(struct fan *f, unsigned char *m, shmq_pub_t *p, shmq_t **q)
{
	uint64_t s;
	int k, r = 0;

	for (s = 0; s < f->msgs && !r; s++) {
		pace(f);
		fill(m, f->size, s);
		if (f->method == F_TOPIC || f->method == F_TOPIC_LOSSY)
			r = shmq_pub_send(p, m, f->size);
		else if (f->method == F_CHANS)
			for (k = 0; k < f->k && !r; k++)
				r = shmq_send(q[k], m, f->size);
		else
			for (k = 0; k < f->k && !r; k++)
				r = write(f->pipes[k][1], m, f->size) == (ssize_t)f->size ? 0 : -EIO;
	}
	return r;
}

/* Open the publisher's side once the subscribers are there: 0, or -errno. */
static int pub_connect(struct fan *f, shmq_pub_t **p, shmq_t **q)
{
	struct shmq_options o = { .wait = sub_wait(), .flags = SHMQ_SENDER };
	char name[96];
	int k, r = 0;

	while (__atomic_load_n(&f->sh->ready, __ATOMIC_ACQUIRE) < f->k)
		usleep(1000);
	if (f->method == F_CHANS)
		for (k = 0; k < f->k && !r; k++) {
			snprintf(name, sizeof(name), "%s-%d", f->name, k);
			r = shmq_open(name, &o, &q[k]);
		}
	else if (f->method != F_PIPES)
		while (shmq_pub_subscribers(*p) < (size_t)f->k)
			usleep(1000);
	return r;
}

static void pub_close(struct fan *f, shmq_pub_t *p, shmq_t **q)
{
	int k;

	for (k = 0; k < f->k; k++) {
		if (f->method == F_CHANS && q[k])
			shmq_close(q[k]);
		if (f->method == F_PIPES)
			close(f->pipes[k][1]);
	}
	shmq_pub_close(p);
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* One measurement: fork the subscribers, publish, collect. */
static int run_one(struct fan *f, struct fan_result *res)
{
	struct shmq_topic_options to = { .slot_size = 64 };
	struct shmq_options po = { .wait = sub_wait() };
	static shmq_t *q[MAX_K];
	static pid_t pid[MAX_K];
	shmq_pub_t *p = NULL;
	unsigned char *m = malloc(f->size);
	int64_t t0, c0, c1, last = 0;
	uint64_t got = 0;
	int k, r;

	memset(f->sh, 0, sizeof(*f->sh));
	memset(q, 0, sizeof(q));
	while (to.slot_size < f->size + 16)
		to.slot_size *= 2;
	/*
	 * The memory of the K channels' rings together (1 MiB each), rounded
	 * down to a power of two, up to 4 MiB: the topic may buffer as many
	 * bytes as the naive fan-out does, no more.  A larger ring outgrows
	 * the caches, and every subscriber takes a page fault for each page
	 * on its first lap (64 subscribers, 1 KiB: 0.28M messages/s in all
	 * with 64 MiB, 2.1M with 4 MiB, in one run).
	 */
	to.slots = 2;
	while (to.slots * 2 * to.slot_size <= ((size_t)f->k << 20) &&
	       to.slots * 2 * to.slot_size <= FAN_RING_MAX)
		to.slots *= 2;
	if (f->method == F_TOPIC || f->method == F_TOPIC_LOSSY)
		if ((r = shmq_pub_open(f->name, &po, &to, &p)) != 0)
			return free(m), r;
	for (k = 0; k < f->k; k++)
		if (f->method == F_PIPES && pipe(f->pipes[k]))
			return free(m), -errno;
	for (k = 0; k < f->k; k++) {
		pid[k] = fork();
		if (pid[k] == 0)
			_exit(subscriber(f, k));
	}
	for (k = 0; k < f->k && f->method == F_PIPES; k++)
		close(f->pipes[k][0]);
	r = pub_connect(f, &p, q);
	t0 = mono_ns();
	c0 = cpu_ns();
	r = r ? r : publish(f, m, p, q);
	c1 = cpu_ns();
	pub_close(f, p, q);
	for (k = 0; k < f->k; k++) {
		waitpid(pid[k], NULL, 0);
		got += f->sh->got[k];
		res->bad += f->sh->bad[k];
		last = f->sh->done_ns[k] > last ? f->sh->done_ns[k] : last;
	}
	res->total = got / ((last - t0) / 1e9);
	res->per_sub = res->total / f->k;
	res->pub_ns = (double)(c1 - c0) / f->msgs;
	if (f->paced) {
		qsort(f->sh->lat, LAT_N, sizeof(f->sh->lat[0]), cmp_i64);
		res->p50_us = f->sh->lat[LAT_N / 2] / 1e3;
		res->p99_us = f->sh->lat[LAT_N * 99 / 100] / 1e3;
	}
	free(m);
	return r;
}

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_dbl);
	return v[n / 2];
}

/* Every method for one (size, K), @reps times interleaved; medians. */
static int measure(struct fan *f, int reps, struct fan_result *out)
{
	double per[F_N][31], tot[F_N][31], pub[F_N][31];
	int rep, m, e, r = 0, n[F_N] = { 0 };

	for (rep = 0; rep < reps; rep++)
		for (m = 0; m < F_N; m++) {
			struct fan_result one = { 0 };

			f->method = m;
			snprintf(f->name, sizeof(f->name), "bench-fan-%d-%d-%d", (int)getpid(), m, rep);
			e = run_one(f, &one);
			r |= e;
			out[m].bad += one.bad;
			if (e)
				continue;	/* a failed run is no figure: the exit says so */
			per[m][n[m]] = one.per_sub;
			tot[m][n[m]] = one.total;
			pub[m][n[m]++] = one.pub_ns;
		}
	for (m = 0; m < F_N; m++) {
		if (!n[m])
			continue;
		out[m].per_sub = median(per[m], n[m]);
		out[m].total = median(tot[m], n[m]);
		out[m].lo = tot[m][0];	/* sorted by median() */
		out[m].hi = tot[m][n[m] - 1];
		out[m].pub_ns = median(pub[m], n[m]);
	}
	return r;
}

/*
 * K = 1, paced: one-way latency for each method, @reps times interleaved
 * (the machine changes speed from one minute to the next); medians.
 */
static void latency(struct fan *f, int reps, struct fan_result *out)
{
	double p50[F_N][31], p99[F_N][31];
	int m, rep, n[F_N] = { 0 };

	f->k = 1;
	f->paced = 1;
	f->msgs = LAT_N;
	for (rep = 0; rep < reps; rep++)
		for (m = 0; m < F_N; m++) {
			struct fan_result one = { 0 };

			f->method = m;
			snprintf(f->name, sizeof(f->name), "bench-lat-%d-%d-%d", (int)getpid(), m,
				 rep);
			if (run_one(f, &one) == 0) {
				p50[m][n[m]] = one.p50_us;
				p99[m][n[m]++] = one.p99_us;
			}
		}
	for (m = 0; m < F_N; m++)
		if (n[m]) {
			out[m].p50_us = median(p50[m], n[m]);
			out[m].p99_us = median(p99[m], n[m]);
		}
	f->paced = 0;
}

int bench_fanout(const size_t *sizes, int nsizes, const int *ks, int nks, int reps,
		 uint64_t count, int wait)
{
	struct fan f = { 0 };
	struct fan_result res[F_N];
	double cost1 = 0, cost64 = 0;
	int z, i, m, failed = 0;

	f.sh = mmap(NULL, sizeof(*f.sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (f.sh == MAP_FAILED)
		return 1;
	if (reps < 1 || reps > 31)
		reps = 3;
	fan_wait = wait;
	for (z = 0; z < nsizes; z++) {
		f.size = sizes[z] < 16 ? 16 : sizes[z];
		printf("fanout, %zu B messages, every end %s, medians of %d\n", f.size,
		       wait == SHMQ_WAIT_BLOCK ? "block" : "hybrid", reps);
		printf("%-12s %4s %14s %14s %23s %11s %8s %8s %4s\n", "transport", "K",
		       "msg/s per sub", "msg/s in all", "(min - max)", "pub ns/msg", "p50 us",
		       "p99 us", "bad");
		for (i = 0; i < nks; i++) {
			memset(res, 0, sizeof(res));
			f.k = ks[i] > MAX_K ? MAX_K : ks[i];
			f.msgs = count ? count : f.k > 8 ? 20000 : 200000;
			failed |= measure(&f, reps, res) != 0;
			if (f.k == 1)
				latency(&f, reps, res);
			for (m = 0; m < F_N; m++) {
				printf("%-12s %4d %14.0f %14.0f %10.0f - %-10.0f %11.1f",
				       method_name[m], f.k, res[m].per_sub, res[m].total, res[m].lo,
				       res[m].hi, res[m].pub_ns);
				if (f.k == 1)
					printf(" %8.2f %8.2f", res[m].p50_us, res[m].p99_us);
				else
					printf(" %8s %8s", "", "");
				printf(" %4llu\n", (unsigned long long)res[m].bad);
				failed |= res[m].bad != 0 && m != F_TOPIC_LOSSY;
			}
			if (f.k == 1)
				cost1 = res[F_TOPIC_LOSSY].pub_ns;
			if (f.k == 64)
				cost64 = res[F_TOPIC_LOSSY].pub_ns;
			if (f.k == 4)
				printf("  K=4 lossless: topic delivers %.2fx the naive 4 channels\n",
				       res[F_TOPIC].total / res[F_CHANS].total);
			if (f.k == 1)
				printf("  K=1: topic streams %.2fx a pair channel; p50 %.2fx\n",
				       res[F_TOPIC].total / res[F_CHANS].total,
				       res[F_TOPIC].p50_us / res[F_CHANS].p50_us);
		}
		if (cost1 > 0 && cost64 > 0)
			printf("  publisher cost, 64 lossy subscribers / 1: %.2fx\n", cost64 / cost1);
		printf("\n");
	}
	munmap(f.sh, sizeof(*f.sh));
	return failed;
}
