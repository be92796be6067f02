/* SPDX-License-Identifier: MIT */
/*
 * The runner of shmq bench.  For one transport, mode and size it forks two
 * processes (side 0 and side 1), pins them to different CPUs, warms up,
 * calibrates a count to the time wanted, runs several repetitions and
 * reports the median, with percentiles from per-sample timestamps and the
 * CPU both processes used (wait4).  Every message carries its sequence
 * number over a known pattern and is checked in full on arrival.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../cli/stats.h"
#include "bench.h"
#include "clock.h"

#define MAX_REPS 32
#define CHILD_LIMIT_S 60	/* a side that takes longer is killed: a hang */



/* What the two sides tell the parent, in memory all three share. */
struct board {
	uint64_t warm;			/* messages (or round trips) of warm-up */
	uint64_t per_rep;		/* per repetition */
	int reps;			/* asked for; then how many rates were taken */
	double rate[MAX_REPS];		/* side that measures */
	uint64_t verified[2];
	int64_t bad_seq;		/* first message that failed, or -1 */
	int error[2];			/* -errno from the transport */
	char why[2][300];		/* and its explanation, if it gave one */
	double cpu_percent;		/* idle */
	struct hist hist;		/* round trips, or wake-up latencies */
};

const char *bench_mode_name(int mode)
{
	static const char *const names[] = { "ping-pong", "stream", "wake", "idle" };

	return mode >= 0 && mode < MODE_COUNT ? names[mode] : "?";
}

/* The payload of message n: n, then a pattern, then ~n at the end. */
static void stamp(unsigned char *buf, size_t size, const unsigned char *pattern,
		  uint64_t n)
{
	uint64_t inv = ~n;

	memcpy(buf + 8, pattern + 8, size > 16 ? size - 16 : 0);
	memcpy(buf, &n, 8);
	if (size >= 16)
		memcpy(buf + size - 8, &inv, 8);
}

static int check(const unsigned char *buf, size_t size, const unsigned char *pattern,
		 uint64_t n)
{
	uint64_t got, inv;

	memcpy(&got, buf, 8);
	if (got != n)
		return 0;
	if (size >= 16) {
		memcpy(&inv, buf + size - 8, 8);
		if (inv != ~n)
			return 0;
	}
	return size <= 16 || !memcmp(buf + 8, pattern + 8, size - 16);
}

static void pin(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

static double cpu_seconds(const struct rusage *ru)
{
	return (double)ru->ru_utime.tv_sec + ru->ru_utime.tv_usec / 1e6 +
	       (double)ru->ru_stime.tv_sec + ru->ru_stime.tv_usec / 1e6;
}

struct side_args {
	const struct transport *t;
	const struct bench_job *job;
	struct bench_ctx *c;
	struct board *b;
	unsigned char *pattern;
	int side;
};

/* Warm up for a tenth of a repetition's time, or a tenth of its count. */
static int warming_up(const struct bench_job *job, uint64_t done, int64_t t0)
{
	if (job->count)
		return done < job->count / 10 + 1;
	return now_ns() - t0 < (int64_t)(job->seconds * 1e8);
}

/* Count to run for `seconds`, from a warm-up's rate. */
static uint64_t calibrate(const struct bench_job *job, uint64_t done, int64_t ns)
{
	double rate = ns > 0 ? done * 1e9 / (double)ns : 1e6;
	double want = rate * job->seconds;

	if (job->count)
		return job->count;
	if (want < 20)
		want = 20;
	return (uint64_t)want;
}

/* ------------------------------------------------------------------ */
/* ping-pong                                                           */
/* ------------------------------------------------------------------ */

/* One round trip, by copy or in place; 0, -EBADMSG or -errno. */
static int round_trip(struct side_args *a, unsigned char *out, unsigned char *in,
		      uint64_t n)
{
	const struct transport *t = a->t;
	struct bench_ctx *c = a->c;
	int r;

	if (t->reserve) {
		void *dst = t->reserve(c, 0);
		const void *src;

		if (!dst)
			return c->error;
		stamp(dst, c->size, a->pattern, n);
		if ((r = t->commit(c, 0)))
			return r;
		if (!(src = t->peek(c, 0)))
			return c->error;
		r = check(src, c->size, a->pattern, n) ? 0 : -EBADMSG;
		return r ? r : t->release(c, 0);
	}
	stamp(out, c->size, a->pattern, n);
	if ((r = t->send(c, 0, out)) || (r = t->recv(c, 0, in)))
		return r;
	return check(in, c->size, a->pattern, n) ? 0 : -EBADMSG;
}

static int pingpong_client(struct side_args *a, unsigned char *out, unsigned char *in)
{
	const struct transport *t = a->t;
	struct bench_ctx *c = a->c;
	struct board *b = a->b;
	uint64_t n = 0, i;
	int64_t t0, prev, now;
	int r, rep;

	t0 = now_ns();
	do {
		if ((r = round_trip(a, out, in, n)))
			goto fail;
		n++;
	} while (warming_up(a->job, n, t0));
	b->warm = n;
	b->per_rep = calibrate(a->job, n, now_ns() - t0);
	for (rep = 0; rep < a->job->reps; rep++) {
		prev = t0 = now_ns();
		for (i = 0; i < b->per_rep; i++, n++) {
			if ((r = round_trip(a, out, in, n)))
				goto fail;
			now = now_ns();
			hist_add(&b->hist, (uint64_t)(now - prev));
			prev = now;
		}
		b->rate[rep] = b->per_rep * 1e9 / (double)(now_ns() - t0);
	}
	b->verified[0] = n;
	/* The end: a message numbered UINT64_MAX. */
	stamp(out, c->size, a->pattern, UINT64_MAX);
	return t->send(c, 0, out);
fail:
	if (r == -EBADMSG)
		b->bad_seq = (int64_t)n;
	return r;
}

static int pingpong_server(struct side_args *a, unsigned char *buf)
{
	const struct transport *t = a->t;
	struct bench_ctx *c = a->c;
	uint64_t n;
	int r;

	for (n = 0;; n++) {
		const unsigned char *in = buf;
		uint64_t got;

		if (t->peek) {
			if (!(in = t->peek(c, 1)))
				return c->error;
		} else if ((r = t->recv(c, 1, buf))) {
			return r;
		}
		memcpy(&got, in, 8);
		if (got == UINT64_MAX)
			break;
		if (!check(in, c->size, a->pattern, n)) {
			a->b->bad_seq = (int64_t)n;
			return -EBADMSG;
		}
		if (t->reserve) {
			/* Echo from ring to ring: one copy. */
			void *dst = t->reserve(c, 1);

			if (!dst)
				return c->error;
			memcpy(dst, in, c->size);
			if ((r = t->commit(c, 1)) || (r = t->release(c, 1)))
				return r;
		} else if ((r = t->send(c, 1, buf))) {
			return r;
		}
	}
	a->b->verified[1] = n;
	return 0;
}

/* ------------------------------------------------------------------ */
/* streaming                                                           */
/* ------------------------------------------------------------------ */

static int send_one(struct side_args *a, unsigned char *out, uint64_t n)
{
	const struct transport *t = a->t;
	struct bench_ctx *c = a->c;

	if (t->reserve) {
		void *dst = t->reserve(c, 0);

		if (!dst)
			return c->error;
		stamp(dst, c->size, a->pattern, n);
		return t->commit(c, 0);
	}
	stamp(out, c->size, a->pattern, n);
	return t->send(c, 0, out);
}

static int stream_sender(struct side_args *a, unsigned char *out)
{
	const struct transport *t = a->t;
	struct board *b = a->b;
	uint64_t n = 0, total;
	int64_t t0 = now_ns();
	int r;

	do {
		if ((r = send_one(a, out, n)))
			return r;
		n++;
	} while (warming_up(a->job, n, t0));
	/* Published before message `warm` is sent, so the receiver sees it. */
	__atomic_store_n(&b->per_rep, calibrate(a->job, n, now_ns() - t0), __ATOMIC_RELAXED);
	__atomic_store_n(&b->warm, n, __ATOMIC_RELEASE);
	total = n + b->per_rep * (uint64_t)a->job->reps;
	for (; n < total; n++)
		if ((r = send_one(a, out, n)))
			return r;
	(void)t;
	b->verified[0] = n;
	return 0;
}

static int stream_receiver(struct side_args *a, unsigned char *in)
{
	const struct transport *t = a->t;
	struct bench_ctx *c = a->c;
	struct board *b = a->b;
	uint64_t n = 0, warm = 0, per = 0, total = UINT64_MAX, since = 0;
	int64_t mark = 0;
	int r, rep = 0;

	for (n = 0; n < total; n++) {
		const unsigned char *m = in;

		if (t->peek) {
			if (!(m = t->peek(c, 1)))
				return c->error;
		} else if ((r = t->recv(c, 1, in))) {
			return r;
		}
		if (!check(m, c->size, a->pattern, n)) {
			b->bad_seq = (int64_t)n;
			return -EBADMSG;
		}
		if (t->release && (r = t->release(c, 1)))
			return r;
		/*
		 * The sender publishes `warm` just before message `warm`, so a
		 * fast receiver can see it a message or so late: its first
		 * repetition then starts here, a little short (it was timed
		 * from 0: a rate of 25 messages/s in every stream row's spread).
		 */
		if (!warm && (warm = __atomic_load_n(&b->warm, __ATOMIC_ACQUIRE))) {
			per = __atomic_load_n(&b->per_rep, __ATOMIC_RELAXED);
			total = warm + per * (uint64_t)a->job->reps;
			if (n + 1 > warm) {
				mark = now_ns();
				since = n + 1;
			}
		}
		/* Each repetition: from the last message before it to its last. */
		if (warm && n + 1 >= warm && (n + 1 - warm) % per == 0) {
			int64_t now = now_ns();

			if (mark && n + 1 > since)
				b->rate[rep++] = (double)(n + 1 - since) * 1e9 / (double)(now - mark);
			mark = now;
			since = n + 1;
		}
	}
	b->reps = rep;
	b->verified[1] = n;
	return 0;
}

/* ------------------------------------------------------------------ */
/* wake-up latency and idle CPU                                        */
/* ------------------------------------------------------------------ */

static void sleep_ns(int64_t ns)
{
	struct timespec ts = { ns / 1000000000, ns % 1000000000 };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* Each message carries the time it was sent, after the sequence number. */
static int wake_sender(struct side_args *a, unsigned char *out)
{
	int n, r;

	for (n = 0; n < a->job->wake_samples; n++) {
		int64_t t;

		/* Long enough for any spinning receiver to have gone to sleep. */
		sleep_ns(2000000);
		stamp(out, a->c->size, a->pattern, (uint64_t)n);
		t = now_ns();
		memcpy(out + 8, &t, 8);
		if ((r = a->t->send(a->c, 0, out)))
			return r;
	}
	a->b->verified[0] = (uint64_t)n;
	return 0;
}

static int wake_receiver(struct side_args *a, unsigned char *in)
{
	int n, r;

	for (n = 0; n < a->job->wake_samples; n++) {
		int64_t sent, got;
		uint64_t seq;

		if ((r = a->t->recv(a->c, 1, in)))
			return r;
		got = now_ns();
		memcpy(&seq, in, 8);
		memcpy(&sent, in + 8, 8);
		if (seq != (uint64_t)n) {
			a->b->bad_seq = n;
			return -EBADMSG;
		}
		hist_add(&a->b->hist, (uint64_t)(got - sent));
	}
	a->b->verified[1] = (uint64_t)n;
	return 0;
}

static int idle_sender(struct side_args *a, unsigned char *out)
{
	sleep_ns((int64_t)(a->job->idle_seconds * 1e9));
	stamp(out, a->c->size, a->pattern, 0);
	a->b->verified[0] = 1;
	return a->t->send(a->c, 0, out);
}

static int idle_receiver(struct side_args *a, unsigned char *in)
{
	struct rusage r0, r1;
	int64_t t0, t1;
	int r;

	getrusage(RUSAGE_SELF, &r0);
	t0 = now_ns();
	r = a->t->recv(a->c, 1, in);
	t1 = now_ns();
	getrusage(RUSAGE_SELF, &r1);
	if (r)
		return r;
	if (!check(in, a->c->size, a->pattern, 0)) {
		a->b->bad_seq = 0;
		return -EBADMSG;
	}
	a->b->verified[1] = 1;
	a->b->cpu_percent = 100.0 * (cpu_seconds(&r1) - cpu_seconds(&r0)) /
			    ((t1 - t0) / 1e9);
	return 0;
}

/* ------------------------------------------------------------------ */
/* The floor's ping-pong: a bare cache line                             */
/* ------------------------------------------------------------------ */

static int floor_side(struct side_args *a)
{
	volatile uint64_t *line = a->c->shared;
	struct board *b = a->b;
	uint64_t n = 0, i, total;
	int64_t t0, prev, now;
	int rep;

	if (a->side == 1) {
		/* Answer every odd value with the next even one. */
		for (;;) {
			uint64_t v;

			while (((v = __atomic_load_n(line, __ATOMIC_ACQUIRE)) & 1) == 0)
				relax();
			if (v == UINT64_MAX)
				return 0;
			__atomic_store_n(line, v + 1, __ATOMIC_RELEASE);
			b->verified[1]++;
		}
	}
	t0 = now_ns();
	do {
		__atomic_store_n(line, 2 * n + 1, __ATOMIC_RELEASE);
		while (__atomic_load_n(line, __ATOMIC_ACQUIRE) != 2 * n + 2)
			relax();
		n++;
	} while (warming_up(a->job, n, t0));
	b->warm = n;
	b->per_rep = calibrate(a->job, n, now_ns() - t0);
	total = n;
	for (rep = 0; rep < a->job->reps; rep++) {
		prev = t0 = now_ns();
		for (i = 0; i < b->per_rep; i++, total++) {
			__atomic_store_n(line, 2 * total + 1, __ATOMIC_RELEASE);
			while (__atomic_load_n(line, __ATOMIC_ACQUIRE) != 2 * total + 2)
				relax();
			now = now_ns();
			hist_add(&b->hist, (uint64_t)(now - prev));
			prev = now;
		}
		b->rate[rep] = b->per_rep * 1e9 / (double)(now_ns() - t0);
	}
	b->verified[0] = total;
	__atomic_store_n(line, UINT64_MAX, __ATOMIC_RELEASE);
	return 0;
}

/* ------------------------------------------------------------------ */

static int run_side(struct side_args *a)
{
	const struct transport *t = a->t;
	unsigned char *buf1 = malloc(a->c->size), *buf2 = malloc(a->c->size);
	int mode = a->job->mode, r;

	if (!buf1 || !buf2)
		return -ENOMEM;
	if (t->family == FAMILY_FLOOR && mode == MODE_PINGPONG)
		return floor_side(a);
	r = t->connect(a->c, a->side);
	if (r)
		return r;
	switch (mode) {
	case MODE_PINGPONG:
		r = a->side ? pingpong_server(a, buf1) : pingpong_client(a, buf1, buf2);
		break;
	case MODE_STREAM:
		r = a->side ? stream_receiver(a, buf1) : stream_sender(a, buf1);
		break;
	case MODE_WAKE:
		r = a->side ? wake_receiver(a, buf1) : wake_sender(a, buf1);
		break;
	default:
		r = a->side ? idle_receiver(a, buf1) : idle_sender(a, buf1);
		break;
	}
	t->disconnect(a->c, a->side);
	free(buf1);
	free(buf2);
	return r;
}

static int by_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;

	return (a > b) - (a < b);
}

int bench_run(const struct transport *t, const struct bench_job *job,
	      struct bench_result *res)
{
	static unsigned serial;
	struct bench_ctx c;
	struct board *b;
	struct rusage ru[2];
	unsigned char *pattern;
	pid_t pid[2];
	int i, r, sides, hung = 0;
	double cpu = 0;

	memset(res, 0, sizeof(*res));
	res->t = t;
	res->mode = job->mode;
	res->size = job->size;
	memset(&c, 0, sizeof(c));
	c.size = job->size;
	c.capacity = job->capacity;
	c.mode = job->mode;
	snprintf(c.name, sizeof(c.name), "shmq-bench-%d-%u", (int)getpid(), serial++);
	if (c.size < 16 && job->mode != MODE_PINGPONG && t->family != FAMILY_FLOOR) {
		/* Sequence number plus send time, for wake; plus a check. */
		c.size = 16;
		res->size = 16;
	}
	r = t->prepare(&c);
	if (r == 1) {
		res->status = 1;
		snprintf(res->note, sizeof(res->note), "%s", c.skip);
		return 0;
	}
	if (r) {
		res->status = -1;
		snprintf(res->note, sizeof(res->note), "setup failed: %s", strerror(-r));
		return 0;
	}
	b = mmap(NULL, sizeof(*b), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pattern = malloc(c.size + 16);
	if (b == MAP_FAILED || !pattern) {
		t->cleanup(&c);
		res->status = -1;
		snprintf(res->note, sizeof(res->note), "out of memory");
		return 0;
	}
	memset(b, 0, sizeof(*b));
	hist_init(&b->hist);
	b->bad_seq = -1;
	b->reps = job->reps;
	for (i = 0; i < (int)c.size + 16; i++)
		pattern[i] = (unsigned char)(i * 131 + 7);

	sides = 2;
	fflush(NULL);
	for (i = sides - 1; i >= 0; i--) {
		pid[i] = fork();
		if (pid[i] == 0) {
			struct side_args a = { t, job, &c, b, pattern, i };

			c.why = b->why[i];
			c.why_size = sizeof(b->why[i]);
			alarm(CHILD_LIMIT_S);
			pin(job->pin[i]);
			r = run_side(&a);
			b->error[i] = r;
			_exit(r ? 1 : 0);
		}
	}
	for (i = 0; i < sides; i++) {
		int st;
		int64_t end = now_ns() + (int64_t)(CHILD_LIMIT_S + 5) * 1000000000;

		while (wait4(pid[i], &st, WNOHANG, &ru[i]) == 0) {
			if (now_ns() > end) {
				kill(pid[i], SIGKILL);
				wait4(pid[i], &st, 0, &ru[i]);
				hung = 1;
				break;
			}
			sleep_ns(1000000);
		}
		if (!hung && WIFSIGNALED(st)) {
			hung = 1;	/* killed by its alarm: it hung */
			/* The other side is stuck waiting for it. */
			if (i == 0 && sides == 2)
				kill(pid[1], SIGKILL);
		}
		cpu += cpu_seconds(&ru[i]);
	}
	t->cleanup(&c);

	if (hung || b->error[0] || b->error[1]) {
		int s = b->error[0] ? 0 : 1, e = b->error[s];

		res->status = -1;
		if (hung)
			snprintf(res->note, sizeof(res->note), "hung, or died (killed after %d s)",
				 CHILD_LIMIT_S);
		else if (e == -EBADMSG)
			snprintf(res->note, sizeof(res->note),
				 "FAILED: message %lld arrived wrong", (long long)b->bad_seq);
		else
			snprintf(res->note, sizeof(res->note), "failed: %s%s%.300s%s", strerror(-e),
				 b->why[s][0] ? " (" : "", b->why[s], b->why[s][0] ? ")" : "");
	} else {
		double rates[MAX_REPS];
		int reps = job->mode == MODE_PINGPONG ? job->reps :
			   job->mode == MODE_STREAM ? b->reps : 0;
		uint64_t msgs;

		res->reps = reps;
		for (i = 0; i < reps; i++)
			rates[i] = b->rate[i];
		qsort(rates, (size_t)reps, sizeof(double), by_double);
		if (reps) {
			res->rate = reps % 2 ? rates[reps / 2] :
				(rates[reps / 2 - 1] + rates[reps / 2]) / 2;
			res->rate_min = rates[0];
			res->rate_max = rates[reps - 1];
		}
		res->messages = b->verified[sides - 1];
		msgs = b->verified[0] > b->verified[1] ? b->verified[0] : b->verified[1];
		if (job->mode == MODE_STREAM)
			res->mbps = res->rate * (double)c.size / 1e6;
		if (b->hist.count) {
			res->p50 = (double)hist_quantile(&b->hist, 0.5);
			res->p99 = (double)hist_quantile(&b->hist, 0.99);
			res->p999 = (double)hist_quantile(&b->hist, 0.999);
			res->max = (double)b->hist.max;
		}
		/* Both processes' CPU, per round trip or message, whole run. */
		if (msgs && (job->mode == MODE_PINGPONG || job->mode == MODE_STREAM))
			res->cpu_us = cpu * 1e6 / (double)msgs;
		res->idle_cpu = b->cpu_percent;
	}
	munmap(b, sizeof(*b));
	free(pattern);
	return 0;
}
