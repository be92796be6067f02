/*
 * Topics under load and abuse, with real processes:
 *  1. 256 lossless subscriber processes on one topic each receive every
 *     message, in order (TOPIC_SUBS overrides the count: the closing note
 *     reports a run with 1,024);
 *  2. rounds of random kill -9s of subscribers and of the publisher:
 *     survivors receive a contiguous run of what was committed, then the
 *     end that happened (-EPIPE or -ECONNRESET), never a hang;
 *  3. a scribbler writing random words over a live topic's control page,
 *     subscriber table and ring: no crash, no hang, every call returns
 *     within its deadline with a message or an error.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chan.h"

#define MAX_PROCS 2048

struct slot {
	uint64_t got, first, last;
	int end, bad, joined;
};
struct board {
	struct slot s[MAX_PROCS];
	int stop;
	int pub_in;		/* the publisher has opened */
};
static struct board *b;
static char name[64];

static void remove_topic(void)
{
	t_remove_at(name);
}

struct sub_arg {
	int i;
	unsigned flags;
	int wait;
};

/* Receive until the end; each message carries its own seq. */
static int subscriber(void *arg)
{
	struct sub_arg *a = arg;
	struct slot *r = &b->s[a->i];
	struct shmq_options o = { .wait = a->wait };
	struct shmq_topic_options to = { .flags = a->flags };
	uint64_t v;
	shmq_sub_t *s;
	size_t len;
	int e;

	e = shmq_sub_open(name, &o, &to, &s);
	r->first = UINT64_MAX;
	if (e) {
		r->end = e;
		__atomic_store_n(&r->joined, -1, __ATOMIC_RELEASE);
		return 1;
	}
	__atomic_store_n(&r->joined, 1, __ATOMIC_RELEASE);
	while ((e = shmq_sub_recv_timed(s, &v, sizeof(v), &len, 20000000000LL)) == 0) {
		if (len != 8 || v != shmq_sub_seq(s))
			r->bad++;
		if (r->first == UINT64_MAX)
			r->first = v;
		else if (v != r->last + 1 && !(a->flags & SHMQ_SUB_LOSSY))
			r->bad++;
		r->last = v;
		__atomic_store_n(&r->got, r->got + 1, __ATOMIC_RELEASE);
	}
	r->end = e;
	shmq_sub_close(s);
	return 0;
}

static int joined(int n)
{
	int i, k = 0;

	for (i = 0; i < n; i++)
		k += __atomic_load_n(&b->s[i].joined, __ATOMIC_ACQUIRE) != 0;
	return k;
}

static void many(int n, int msgs)
{
	static struct sub_arg a[MAX_PROCS];
	struct shmq_topic_options to = { .max_subscribers = (size_t)n };
	static pid_t pid[MAX_PROCS];
	shmq_pub_t *p = NULL;
	int i, good = 0, r = -1;
	uint64_t v;
	int64_t t0;

	memset(b, 0, sizeof(*b));
	snprintf(name, sizeof(name), "t-topic-many-%d", (int)getpid());
	if (shmq_pub_open(name, NULL, &to, &p))
		bail_out("pub_open");
	for (i = 0; i < n; i++) {
		a[i] = (struct sub_arg){ .i = i, .wait = SHMQ_WAIT_BLOCK };
		pid[i] = spawn(subscriber, &a[i]);
	}
	for (t0 = tap_now_ns(); joined(n) < n && tap_now_ns() - t0 < 60000000000LL;)
		usleep(10000);
	ok(shmq_pub_subscribers(p) == (size_t)n, "%d subscriber processes joined one topic "
	   "(%zu hold slots)", n, shmq_pub_subscribers(p));
	t0 = tap_now_ns();
	for (v = 0, r = 0; v < (uint64_t)msgs && !r; v++)
		r = shmq_pub_send_timed(p, &v, sizeof(v), 30000000000LL);
	shmq_pub_close(p);
	for (i = 0; i < n; i++)
		waitpid(pid[i], NULL, 0);
	for (i = 0; i < n; i++)
		good += b->s[i].got == (uint64_t)msgs && b->s[i].first == 0 && !b->s[i].bad &&
			b->s[i].end == -EPIPE;
	ok(r == 0 && good == n, "  each of the %d received all %d messages, in order, then "
	   "the end (%d did; %.1f s)", n, msgs, good, (tap_now_ns() - t0) / 1e9);
}

/* A publisher that sends seqs until killed or told to stop. */
static int publisher(void *arg)
{
	shmq_pub_t *p;
	uint64_t v;

	(void)arg;
	if (shmq_pub_open(name, NULL, NULL, &p))
		return 1;
	__atomic_store_n(&b->pub_in, 1, __ATOMIC_RELEASE);
	for (v = 0; !__atomic_load_n(&b->stop, __ATOMIC_ACQUIRE); v++)
		if (shmq_pub_send_timed(p, &v, sizeof(v), 5000000000LL))
			break;
	shmq_pub_close(p);
	return 0;
}

/* One round: 4 subscribers, kills at random, the publisher killed or closed. */
static int kill_round(uint64_t *seed)
{
	struct sub_arg a[4];
	pid_t pid[4], pp;
	int i, bad = 0, pub_killed = t_rand(seed) & 1;

	memset(b, 0, sizeof(*b));
	for (i = 0; i < 4; i++) {
		a[i] = (struct sub_arg){ .i = i, .flags = i >= 2 ? SHMQ_SUB_LOSSY : 0 };
		pid[i] = spawn(subscriber, &a[i]);
	}
	while (joined(4) < 4)
		usleep(1000);
	pp = spawn(publisher, NULL);
	/*
	 * A publisher killed before it opened never was one: its subscribers
	 * would rightly wait for one to come.  Kill it only once it is in.
	 */
	for (i = 0; i < 10000 && !__atomic_load_n(&b->pub_in, __ATOMIC_ACQUIRE); i++)
		usleep(1000);
	usleep(t_rand(seed) % 20000);
	kill(pid[t_rand(seed) % 4], SIGKILL);
	usleep(t_rand(seed) % 20000);
	if (pub_killed)
		kill(pp, SIGKILL);
	else
		__atomic_store_n(&b->stop, 1, __ATOMIC_RELEASE);
	waitpid(pp, NULL, 0);
	for (i = 0; i < 4; i++) {
		int st;

		waitpid(pid[i], &st, 0);
		if (WIFSIGNALED(st))
			continue;	/* the one killed */
		if (b->s[i].bad || (b->s[i].end != -EPIPE && b->s[i].end != -ECONNRESET) ||
		    (b->s[i].end == -EPIPE && pub_killed)) {
			diag("round: subscriber %d ended %s after %llu (bad %d)", i,
			     shmq_strerror(b->s[i].end), (unsigned long long)b->s[i].got,
			     b->s[i].bad);
			bad++;
		}
	}
	remove_topic();
	return bad;
}

/* Random words at random places of the mapped topic, until told to stop. */
static int scribbler(void *arg)
{
	uint64_t seed = (uint64_t)(uintptr_t)arg, size;
	struct shmq_seg_info s;
	struct shmq_addr a;
	unsigned char *p;
	int id;

	if (shmq_addr_parse(name, &a) || shmq_seg_open(&a, &id) || shmq_seg_stat(id, &s) ||
	    shmq_seg_attach(id, 0, (void **)&p))
		return 1;
	size = s.size;
	while (!__atomic_load_n(&b->stop, __ATOMIC_ACQUIRE)) {
		uint64_t off = 4096 + t_rand(&seed) % (size - 4096 - 8);
		uint64_t w = t_rand(&seed);

		off &= ~(uint64_t)7;
		switch (w & 3) {
		case 0:
			w = 0;
			break;
		case 1:
			w = UINT64_MAX;
			break;
		default:
			break;
		}
		__atomic_store_n((uint64_t *)(p + off), w, __ATOMIC_RELAXED);
		usleep(50);
	}
	return 0;
}

static void scribbled(void)
{
	struct shmq_topic_options to = { .slots = 64, .slot_size = 64, .max_subscribers = 64 };
	struct sub_arg a[3];
	pid_t pid[3], sc, pp;
	shmq_pub_t *p;
	int i, hung = 0;
	int64_t t0;

	memset(b, 0, sizeof(*b));
	snprintf(name, sizeof(name), "t-topic-scribble-%d", (int)getpid());
	if (shmq_pub_open(name, NULL, &to, &p))
		bail_out("pub_open");
	shmq_pub_close(p);	/* the topic's geometry: now for a publisher process */
	for (i = 0; i < 3; i++) {
		a[i] = (struct sub_arg){ .i = i, .flags = i == 2 ? SHMQ_SUB_LOSSY : 0 };
		pid[i] = spawn(subscriber, &a[i]);
	}
	while (joined(3) < 3)
		usleep(1000);
	pp = spawn(publisher, NULL);
	usleep(20000);
	sc = spawn(scribbler, (void *)(uintptr_t)tap_now_ns());
	usleep(500000);
	__atomic_store_n(&b->stop, 1, __ATOMIC_RELEASE);
	t0 = tap_now_ns();
	waitpid(sc, NULL, 0);
	waitpid(pp, NULL, 0);
	for (i = 0; i < 3; i++) {
		int st;

		waitpid(pid[i], &st, 0);
		hung += !WIFEXITED(st);
	}
	ok(!hung && tap_now_ns() - t0 < 30000000000LL, "a scribbler over a live topic: "
	   "no subscriber crashed or hung (ends: %s, %s, %s)", shmq_strerror(b->s[0].end),
	   shmq_strerror(b->s[1].end), shmq_strerror(b->s[2].end));
	remove_topic();
}

int main(void)
{
	const char *env = getenv("TOPIC_SUBS");
	int n = env ? atoi(env) : 256, round, bad = 0;
	uint64_t seed = (uint64_t)tap_now_ns();

	tap_start(240);
	b = shared_page(sizeof(*b));
	if (n < 1 || n > MAX_PROCS)
		n = 256;
	many(n, 2000);
	remove_topic();
	snprintf(name, sizeof(name), "t-topic-kills-%d", (int)getpid());
	diag("kill rounds: seed %llu", (unsigned long long)seed);
	for (round = 0; round < 20; round++)
		bad += kill_round(&seed);
	ok(bad == 0, "20 rounds of kill -9 (subscribers, the publisher): every survivor got "
	   "a contiguous run, then the end that happened (%d wrong)", bad);
	scribbled();
	return done_testing();
}
