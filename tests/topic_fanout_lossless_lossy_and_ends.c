/*
 * Topics: one publisher, many subscribers, each a real process.  Lossless
 * subscribers all receive exactly the same messages; a lossy one that is
 * stopped never slows the publisher and learns exactly what it lost; a
 * late joiner from the oldest gets a contiguous suffix; the ends (close,
 * kill -9 of the publisher, of a subscriber) are reported as promised; a
 * slow lossless subscriber is evicted when the publisher asks; nothing is
 * left behind.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chan.h"

#define N_MSGS 200000
#define MAX_SUBS 8

struct result {
	uint64_t got, first, last, lost, gaps_ok;
	int end;		/* the call's result that ended it */
	int bad;		/* a message out of order or damaged */
	int joined;
};
struct board {
	struct result r[MAX_SUBS];
	int go;
};
static struct board *b;
static char name[64];

/* Message seq s: its length and bytes follow from s. */
static size_t fill(unsigned char *p, uint64_t s)
{
	size_t len = 8 + (size_t)(s % 57);

	memcpy(p, &s, 8);
	t_fill(p + 8, s, s, len - 8);
	return len;
}

static int check(const unsigned char *p, size_t len, uint64_t s)
{
	unsigned char want[256];

	return len == fill(want, s) && !memcmp(p, want, len);
}

struct sub_arg {
	int i;
	struct shmq_topic_options to;
	int stop_after;		/* raise SIGSTOP after this many (0: never) */
};

static int subscriber(void *arg)
{
	struct sub_arg *a = arg;
	struct result *r = &b->r[a->i];
	struct shmq_options o = { .wait = SHMQ_WAIT_HYBRID };
	unsigned char buf[256];
	shmq_sub_t *s;
	size_t len;
	int e;

	e = shmq_sub_open(name, &o, &a->to, &s);
	if (e) {
		r->end = e;
		return 1;
	}
	__atomic_store_n(&r->joined, 1, __ATOMIC_RELEASE);
	r->first = UINT64_MAX;
	for (;;) {
		e = shmq_sub_recv_timed(s, buf, sizeof(buf), &len, 30000000000LL);
		if (e)
			break;
		uint64_t seq = shmq_sub_seq(s);

		if (r->first == UINT64_MAX)
			r->first = seq;
		else if (seq != r->last + 1 && !(a->to.flags & SHMQ_SUB_LOSSY))
			r->bad++;
		if (!check(buf, len, seq))
			r->bad++;
		r->last = seq;
		r->got++;
		if (a->stop_after && r->got == (uint64_t)a->stop_after)
			raise(SIGSTOP);
	}
	r->lost = shmq_sub_lost(s);
	/* Lossy: what it got plus what it lost is every seq from its first. */
	r->gaps_ok = r->got + r->lost == r->last - r->first + 1;
	r->end = e;
	shmq_sub_close(s);
	return 0;
}

static void wait_joined(int n)
{
	int i, k;

	for (k = 0; k < 20000; k++) {
		for (i = 0; i < n && __atomic_load_n(&b->r[i].joined, __ATOMIC_ACQUIRE); i++)
			;
		if (i == n)
			return;
		usleep(1000);
	}
}

static int reap(pid_t pid)
{
	int st;

	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static shmq_pub_t *open_pub(const struct shmq_topic_options *to)
{
	return t_pub_open(name, to, 0);
}

static int publish(shmq_pub_t *p, uint64_t n, int try)
{
	unsigned char buf[256];
	uint64_t i;
	int r;

	for (i = 0; i < n; i++) {
		uint64_t s = shmq_pub_next_seq(p);
		size_t len = fill(buf, s);

		r = try ? shmq_pub_try_send(p, buf, len) : shmq_pub_send(p, buf, len);
		if (r)
			return r;
	}
	return 0;
}

/* Remove what a case left at its name (a dead publisher's topic stays). */
static void remove_topic(void)
{
	t_remove_at(name);
}

static void fresh(const char *what)
{
	remove_topic();
	memset(b, 0, sizeof(*b));
	snprintf(name, sizeof(name), "t-topic-%s-%d", what, (int)getpid());
}

static void three_lossless(void)
{
	struct sub_arg a[3];
	shmq_pub_t *p;
	pid_t pid[3];
	int i, r;

	fresh("three");
	for (i = 0; i < 3; i++) {
		a[i] = (struct sub_arg){ .i = i };
		pid[i] = spawn(subscriber, &a[i]);
	}
	wait_joined(3);
	p = open_pub(NULL);
	ok(p && shmq_pub_subscribers(p) == 3, "3 lossless subscribers joined before the publisher");
	r = p ? publish(p, N_MSGS, 0) : -1;
	ok(r == 0, "the publisher sent %d messages (%s)", N_MSGS, shmq_strerror(r));
	shmq_pub_close(p);
	for (i = 0; i < 3; i++)
		reap(pid[i]);
	for (i = 0; i < 3; i++)
		ok(b->r[i].got == N_MSGS && b->r[i].first == 0 && !b->r[i].bad &&
		   b->r[i].end == -EPIPE,
		   "  subscriber %d: all %llu in order, each intact, then end of stream (%s)",
		   i, (unsigned long long)b->r[i].got, shmq_strerror(b->r[i].end));
}

static void late_joiner(void)
{
	struct shmq_topic_options to = { .slots = 64, .slot_size = 128 };
	struct sub_arg a = { .i = 0, .to = { .from = SHMQ_FROM_OLDEST } };
	shmq_pub_t *p;
	pid_t pid;

	fresh("late");
	p = open_pub(&to);
	ok(p && publish(p, 1000, 1) == 0, "1000 messages into 64 slots with nobody "
	   "subscribed: the publisher never waits");
	pid = spawn(subscriber, &a);
	wait_joined(1);
	shmq_pub_close(p);
	reap(pid);
	ok(b->r[0].first == 1000 - 63 && b->r[0].last == 999 && b->r[0].got == 63 &&
	   !b->r[0].bad, "a late joiner from the oldest gets a contiguous suffix ending at "
	   "the last: %llu..%llu", (unsigned long long)b->r[0].first,
	   (unsigned long long)b->r[0].last);
}

static void lossy_stopped(void)
{
	struct shmq_topic_options to = { .slots = 256, .slot_size = 128 };
	struct sub_arg a = { .i = 0, .to = { .flags = SHMQ_SUB_LOSSY }, .stop_after = 10 };
	shmq_pub_t *p;
	pid_t pid;
	int st, r;

	fresh("lossy");
	p = open_pub(&to);
	pid = spawn(subscriber, &a);
	wait_joined(1);
	r = p ? publish(p, 10, 0) : -1;
	waitpid(pid, &st, WUNTRACED);
	ok(r == 0 && WIFSTOPPED(st), "a lossy subscriber stopped itself after 10 messages");
	r = p ? publish(p, 50000, 1) : -1;
	ok(r == 0, "  50000 more never wait for it (try_send: %s)", shmq_strerror(r));
	kill(pid, SIGCONT);
	usleep(100000);
	r = p ? publish(p, 10, 0) : -1;
	shmq_pub_close(p);
	reap(pid);
	ok(b->r[0].lost > 0 && b->r[0].gaps_ok && !b->r[0].bad && b->r[0].last == 50019,
	   "  after SIGCONT its lost count (%llu) is exactly its gap, up to the last (%llu)",
	   (unsigned long long)b->r[0].lost, (unsigned long long)b->r[0].last);
}

static void publisher_killed(void)
{
	struct sub_arg a = { .i = 0 };
	pid_t pid, pp;
	int64_t t0;

	fresh("pubkill");
	pid = spawn(subscriber, &a);
	wait_joined(1);
	pp = fork();
	if (pp == 0) {
		shmq_pub_t *p = open_pub(NULL);

		if (p)
			publish(p, UINT64_MAX, 0);
		_exit(1);
	}
	while (__atomic_load_n(&b->r[0].got, __ATOMIC_RELAXED) < 1000)
		usleep(1000);
	kill(pp, SIGKILL);
	t0 = tap_now_ns();
	waitpid(pp, NULL, 0);
	reap(pid);
	ok(b->r[0].end == -ECONNRESET && !b->r[0].bad && b->r[0].first == 0 &&
	   b->r[0].last + 1 == b->r[0].got, "kill -9 of the publisher: a contiguous prefix "
	   "(%llu), then -ECONNRESET (%s) in %.0f ms", (unsigned long long)b->r[0].got,
	   shmq_strerror(b->r[0].end), (tap_now_ns() - t0) / 1e6);
}

static void subscriber_killed(void)
{
	struct shmq_topic_options to = { .slots = 32, .slot_size = 128 };
	struct sub_arg a = { .i = 0, .to = to, .stop_after = 5 };
	shmq_pub_t *p;
	int64_t t0;
	pid_t pid;
	int st, r;

	fresh("subkill");
	p = open_pub(&to);
	pid = spawn(subscriber, &a);
	wait_joined(1);
	r = p ? publish(p, 5, 0) : -1;
	waitpid(pid, &st, WUNTRACED);
	r = r ? r : publish(p, 32, 1);
	ok(r == -EAGAIN, "a stopped lossless subscriber holds the publisher (%s)",
	   shmq_strerror(r));
	kill(pid, SIGKILL);
	t0 = tap_now_ns();
	r = p ? publish(p, 32, 0) : -1;
	ok(r == 0 && tap_now_ns() - t0 < 200000000, "  killed, it lets go within 200 ms "
	   "(%.0f ms)", (tap_now_ns() - t0) / 1e6);
	waitpid(pid, NULL, 0);
	shmq_pub_close(p);
}

static void evicted(void)
{
	struct shmq_topic_options to = { .slots = 32, .slot_size = 128,
					 .slow_subscriber_ms = 200 };
	struct sub_arg a = { .i = 0, .to = to, .stop_after = 5 };
	shmq_pub_t *p;
	int64_t t0;
	pid_t pid;
	int st, r;

	fresh("evict");
	p = open_pub(&to);
	pid = spawn(subscriber, &a);
	wait_joined(1);
	r = p ? publish(p, 5, 0) : -1;
	waitpid(pid, &st, WUNTRACED);
	t0 = tap_now_ns();
	r = r ? r : publish(p, 80, 0);
	ok(r == 0, "a live subscriber that stops reading is evicted after the publisher's "
	   "200 ms (%.0f ms)", (tap_now_ns() - t0) / 1e6);
	kill(pid, SIGCONT);
	reap(pid);
	ok(b->r[0].end == -EOVERFLOW, "  and is told so: %s", shmq_strerror(b->r[0].end));
	shmq_pub_close(p);
}

static void refusals(void)
{
	char err[256] = "";
	struct shmq_options o = { .errbuf = err, .errbuf_size = sizeof(err) };
	struct shmq_topic_options to = { .slots = 64, .slot_size = 128 };
	struct shmq_topic_options seq = { .from = SHMQ_FROM_SEQ, .from_seq = 3 };
	shmq_pub_t *p, *p2 = NULL;
	shmq_sub_t *s = NULL;
	int r;

	fresh("refuse");
	p = open_pub(&to);
	r = shmq_pub_open(name, &o, NULL, &p2);
	ok(r == -EBUSY && strstr(err, "live publisher"), "a second live publisher is "
	   "refused: %s (%s)", shmq_strerror(r), err);
	publish(p, 200, 1);
	r = shmq_sub_open(name, &o, &seq, &s);
	ok(r == -ERANGE && strstr(err, "oldest it holds is 137"), "a start no longer held "
	   "is refused, naming the oldest: %s", err);
	shmq_pub_close(p);
	shmq_pub_close(p2);
	shmq_sub_close(s);
}

int main(void)
{
	tap_start(120);
	b = shared_page(sizeof(*b));
	three_lossless();
	late_joiner();
	lossy_stopped();
	publisher_killed();
	subscriber_killed();
	evicted();
	refusals();
	remove_topic();
	return done_testing();
}
