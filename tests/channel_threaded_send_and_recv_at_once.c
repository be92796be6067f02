/*
 * One process, two handles on one pair, four threads: on each handle one
 * thread sends while another receives, as the API allows.  Every message
 * is checked against the one that must come next.  Small rings and the
 * park-at-once mode make both sides sleep and wake often, and the peer
 * checks run in both directions at once.  This is a test TSan runs
 * (make tsan): the two directions of one handle share no unsynchronised
 * state.
 *
 * SHMQ_STRESS_COUNT overrides the count per direction.
 */
#include <pthread.h>

#include "chan.h"

#define MAXLEN 1500

static const char *addr;
static uint64_t count;
static shmq_t *ends[2];
static uint64_t got[2], bad[2];
static int send_err[2], end_err[2];

static void *opener(void *arg)
{
	int me = (int)(intptr_t)arg;
	struct shmq_options o = { 0 };

	o.send_capacity = o.recv_capacity = 8192;
	o.wait = me ? SHMQ_WAIT_BLOCK : SHMQ_WAIT_HYBRID;
	o.spin_ns = 2000;
	ends[me] = must_open(addr, &o);
	return NULL;
}

static void *sender(void *arg)
{
	int me = (int)(intptr_t)arg;
	unsigned char buf[MAXLEN];
	uint64_t n;

	for (n = 0; n < count; n++) {
		size_t len = t_len((uint64_t)me, n, MAXLEN);

		t_fill(buf, (uint64_t)me, n, len);
		send_err[me] = shmq_send_timed(ends[me], buf, len, 20000000000LL);
		if (send_err[me])
			break;
	}
	shmq_shutdown(ends[me]);
	return NULL;
}

static void *receiver(void *arg)
{
	int me = (int)(intptr_t)arg;
	unsigned char buf[MAXLEN];
	size_t len;
	int r;

	while ((r = shmq_recv_timed(ends[me], buf, sizeof(buf), &len, 20000000000LL)) == 0) {
		if (!t_check(buf, len, (uint64_t)(1 - me), got[me], MAXLEN))
			bad[me]++;
		got[me]++;
	}
	end_err[me] = r;
	return NULL;
}

int main(void)
{
	const char *env = getenv("SHMQ_STRESS_COUNT");
	pthread_t t[4];
	int i;

	tap_start(300);
	count = env ? strtoull(env, NULL, 10) : 1000000;
	addr = tap_name("threads");
	pthread_create(&t[0], NULL, opener, (void *)0);
	pthread_create(&t[1], NULL, opener, (void *)1);
	pthread_join(t[0], NULL);
	pthread_join(t[1], NULL);
	if (!ends[0] || !ends[1])
		bail_out("open");
	for (i = 0; i < 2; i++) {
		pthread_create(&t[2 * i], NULL, sender, (void *)(intptr_t)i);
		pthread_create(&t[2 * i + 1], NULL, receiver, (void *)(intptr_t)i);
	}
	for (i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	for (i = 0; i < 2; i++) {
		is_int(send_err[i], 0, "handle %d sent %llu messages", i, (unsigned long long)count);
		ok(got[i] == count && bad[i] == 0, "handle %d received %llu, %llu wrong", i,
		   (unsigned long long)got[i], (unsigned long long)bad[i]);
		is_int(end_err[i], -EPIPE, "handle %d: then end of stream", i);
	}
	shmq_close(ends[0]);
	shmq_close(ends[1]);
	return done_testing();
}
