/*
 * Two processes open one address independently and stream millions of
 * messages both ways at once (a sender thread and a receiver thread in
 * each), random sizes across a small ring that wraps constantly.  Every
 * message is checked against the one that must come next: no loss, no
 * duplicate, no reordering, no torn byte.  Then both close cleanly.
 *
 * SHMQ_STRESS_COUNT overrides the count per direction.
 */
#include <pthread.h>

#include "chan.h"

#define MAXLEN 2000

struct result {
	uint64_t received, bad, sent;
	int recv_end, send_err, opened;
};

static struct result *res;
static const char *addr;
static uint64_t count;

struct side {
	shmq_t *q;
	int me;
};

static void *sender(void *arg)
{
	struct side *s = arg;
	unsigned char buf[MAXLEN];
	uint64_t n;
	int r = 0;

	for (n = 0; n < count; n++) {
		size_t len = t_len((uint64_t)s->me, n, MAXLEN);

		t_fill(buf, (uint64_t)s->me, n, len);
		r = shmq_send_timed(s->q, buf, len, 10000000000LL);
		if (r)
			break;
	}
	res[s->me].sent = n;
	res[s->me].send_err = r;
	/* Done sending; still receiving (the peer may be behind). */
	shmq_shutdown(s->q);
	return NULL;
}

static int endpoint(void *arg)
{
	struct side s = { NULL, (int)(intptr_t)arg };
	struct shmq_options o = { 0 };
	unsigned char buf[MAXLEN];
	pthread_t t;
	uint64_t n;
	int r = 0;

	o.send_capacity = o.recv_capacity = 16384;
	s.q = must_open(addr, &o);
	if (!s.q)
		return 1;
	res[s.me].opened = 1;
	pthread_create(&t, NULL, sender, &s);
	for (n = 0; n < count; n++) {
		size_t len;

		r = shmq_recv_timed(s.q, buf, sizeof(buf), &len, 10000000000LL);
		if (r)
			break;
		if (!t_check(buf, len, (uint64_t)(1 - s.me), n, MAXLEN))
			res[s.me].bad++;
	}
	res[s.me].received = n;
	pthread_join(t, NULL);
	/* Nothing more may arrive: the peer's shutdown ends the stream. */
	{
		size_t len;

		r = shmq_recv_timed(s.q, buf, sizeof(buf), &len, 10000000000LL);
	}
	res[s.me].recv_end = r;
	shmq_close(s.q);
	return 0;
}

int main(void)
{
	const char *env = getenv("SHMQ_STRESS_COUNT");
	int64_t t0;
	pid_t a, b;
	int sa, sb, i;

	tap_start(300);
	count = env ? strtoull(env, NULL, 10) : 2000000;
	addr = tap_name("stress");
	res = shared_page(4096);
	t0 = tap_now_ns();
	a = spawn(endpoint, (void *)0);
	b = spawn(endpoint, (void *)1);
	sa = wait_child(a, 240000);
	sb = wait_child(b, 240000);
	diag("%llu messages each way in %.2f s", (unsigned long long)count,
	     (tap_now_ns() - t0) / 1e9);
	ok(child_exit_code(sa) == 0 && child_exit_code(sb) == 0,
	   "both processes opened the address and finished");
	for (i = 0; i < 2; i++) {
		ok(res[i].sent == count && res[i].send_err == 0,
		   "process %d sent all %llu messages", i, (unsigned long long)count);
		ok(res[i].received == count && res[i].bad == 0,
		   "process %d received %llu, %llu wrong", i,
		   (unsigned long long)res[i].received, (unsigned long long)res[i].bad);
		ok(res[i].recv_end == -EPIPE,
		   "process %d: after the last message, end of stream (%s)", i,
		   shmq_strerror(res[i].recv_end));
	}
	return done_testing();
}
