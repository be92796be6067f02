/*
 * Every subscriber of a topic sleeps on one eventcount, so a sleeper must
 * never lose its wakeup to another that announced itself and then found a
 * message: K lossless subscribers that sleep at once (wait mode "block")
 * and, in a second run, spin briefly first, under a publisher held by a
 * small ring, so that sleeps are many and the publisher waits on them.
 * The periodic check, which would hide a lost wakeup behind a 50 ms delay,
 * is stretched to a minute, and every send and receive has a 1 s
 * deadline: a single lost wakeup shows up as a timeout.  Zero allowed.
 *
 * SHMQ_STRESS_COUNT overrides the count.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "chan.h"
#include "wait.h"

#define K 4

struct result {
	uint64_t got, timeouts, bad;
	int end;
};
static struct result *res;
static const char *addr;
static uint64_t count;
static int mode;

static int subscriber(void *arg)
{
	struct result *r = &res[(intptr_t)arg];
	struct shmq_options o = { .wait = mode, .spin_ns = 1000 };
	uint64_t v;
	size_t len;
	shmq_sub_t *s;
	int e;

	if ((e = shmq_sub_open(addr, &o, NULL, &s)) != 0) {
		r->end = e;
		return 1;
	}
	for (;;) {
		e = shmq_sub_recv_timed(s, &v, sizeof(v), &len, 1000000000LL);
		if (e == -ETIMEDOUT) {
			r->timeouts++;
			continue;
		}
		if (e)
			break;
		r->bad += len != sizeof(v) || v != r->got;
		r->got++;
	}
	r->end = e;
	shmq_sub_close(s);
	return 0;
}

static void run(const char *what)
{
	struct shmq_options o = { .wait = mode, .spin_ns = 1000 };
	struct shmq_topic_options to = { .slots = 64, .slot_size = 64 };
	uint64_t i, stalls = 0, got = 0, waits = 0, bad = 0;
	pid_t pid[K];
	shmq_pub_t *p;
	int k, e = 0;

	memset(res, 0, sizeof(*res) * K);
	if (!ok(shmq_pub_open(addr, &o, &to, &p) == 0, "%s: publisher opens", what))
		return;
	for (k = 0; k < K; k++)
		pid[k] = spawn(subscriber, (void *)(intptr_t)k);
	while (shmq_pub_subscribers(p) < K)
		usleep(1000);
	for (i = 0; i < count && stalls < 10; i++) {
		e = shmq_pub_send_timed(p, &i, sizeof(i), 1000000000LL);
		if (e == -ETIMEDOUT) {
			stalls++;
			i--;
		} else if (e)
			break;
	}
	shmq_pub_close(p);
	for (k = 0; k < K; k++) {
		waitpid(pid[k], NULL, 0);
		got += res[k].got;
		waits += res[k].timeouts;
		bad += res[k].bad + (res[k].end != -EPIPE);
	}
	ok(e == 0 && stalls == 0, "%s: the publisher never waited 1 s for room "
	   "(%llu stalls, last %d)", what, (unsigned long long)stalls, e);
	ok(waits == 0, "%s: no subscriber waited 1 s for a message (%llu did)",
	   what, (unsigned long long)waits);
	ok(got == K * count && bad == 0, "%s: all %d got all %llu messages, in order, "
	   "then the end (%llu in all, %llu wrong)", what, K, (unsigned long long)count,
	   (unsigned long long)got, (unsigned long long)bad);
}

int main(void)
{
	const char *env = getenv("SHMQ_STRESS_COUNT");

	tap_start(300);
	count = env ? strtoull(env, NULL, 10) : 200000;
	shmq_check_interval_ns = 60 * 1000000000LL;
	addr = tap_name("topicwake");
	res = shared_page(4096);
	mode = SHMQ_WAIT_BLOCK;
	run("sleep at once");
	mode = SHMQ_WAIT_HYBRID;
	run("spin 1 us, then sleep");
	return done_testing();
}
