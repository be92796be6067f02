/*
 * Persistent channels outlive their endpoints.  A producer that closes or
 * dies and a new one that takes its slot continue one stream; a consumer
 * killed after peeking (not releasing) gets those records again when it
 * comes back: at-least-once, in order, nothing lost.  End of stream and
 * death are reported but not final: a new peer resumes the stream.
 */
#include <signal.h>

#include "chan.h"

struct shared {
	int sent;	/* producer: messages committed so far */
	int peeked;
	int phase;
};

static struct shared *sh;
static const char *addr;

static shmq_t *open_p(void)
{
	struct shmq_options o = { 0 };

	o.flags = SHMQ_PERSISTENT;
	o.send_capacity = o.recv_capacity = 65536;
	return must_open(addr, &o);
}

/* Send messages [from, to), then close or die. */
static int producer(void *arg)
{
	int to = (int)(intptr_t)arg;
	unsigned char buf[200];
	shmq_t *q = open_p();
	int i;

	if (!q)
		return 1;
	for (i = sh->sent; i < to; i++) {
		size_t len = t_len(5, (uint64_t)i, sizeof(buf));

		t_fill(buf, 5, (uint64_t)i, len);
		if (shmq_send(q, buf, len))
			return 2;
		__atomic_store_n(&sh->sent, i + 1, __ATOMIC_RELEASE);
	}
	if (to == 300)
		for (;;)
			pause();	/* dies by SIGKILL, not a close */
	shmq_close(q);
	return 0;
}

/* Peek 3 records without releasing them, then wait to be killed. */
static int peeker(void *arg)
{
	const void *b;
	size_t len;
	shmq_t *q = open_p();
	int i;

	(void)arg;
	if (!q)
		return 1;
	for (i = 0; i < 3; i++)
		if (shmq_peek(q, &b, &len, 5000000000LL) == 0)
			sh->peeked++;
	for (;;)
		pause();
}

int main(void)
{
	unsigned char buf[200];
	struct shmq_info info;
	struct shmq_addr a;
	int got = 0, bad = 0, r, id;
	size_t len;
	shmq_t *q;
	pid_t pid;

	tap_start(60);
	sh = shared_page(4096);
	addr = tap_name("persist");

	/* A producer sends 100 and closes before any consumer exists. */
	pid = spawn(producer, (void *)100);
	is_int(child_exit_code(wait_child(pid, 10000)), 0,
	       "a producer opens without waiting for a peer, sends 100 and closes");
	shmq_addr_parse(addr, &a);
	ok(shmq_seg_open(&a, &id) == 0, "the channel outlives it");

	/* A consumer that peeks three and is killed: they come back. */
	pid = spawn(peeker, NULL);
	while (__atomic_load_n(&sh->peeked, __ATOMIC_ACQUIRE) < 3)
		usleep(1000);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);

	q = open_p();
	if (!q)
		bail_out("open");
	shmq_info(q, &info);
	ok(info.persistent, "the consumer reopens it as persistent");
	while ((r = shmq_recv_timed(q, buf, sizeof(buf), &len, 2000000000LL)) == 0) {
		if (!t_check(buf, len, 5, (uint64_t)got, sizeof(buf)))
			bad++;
		got++;
	}
	is_int(got, 100, "all 100 arrive, the 3 peeked by the killed consumer included");
	is_int(bad, 0, "  in order, intact");
	is_int(r, -EPIPE, "  then end of stream: the producer closed");

	/* A new producer takes the slot: the stream goes on, from 100. */
	pid = spawn(producer, (void *)300);
	while (__atomic_load_n(&sh->sent, __ATOMIC_ACQUIRE) < 300)
		usleep(1000);
	kill(pid, SIGKILL);	/* a death, this time */
	waitpid(pid, NULL, 0);
	while ((r = shmq_recv_timed(q, buf, sizeof(buf), &len, 2000000000LL)) == 0) {
		if (!t_check(buf, len, 5, (uint64_t)got, sizeof(buf)))
			bad++;
		got++;
	}
	is_int(got, 300, "a restarted producer continues the stream: 300 in all");
	is_int(bad, 0, "  in order, intact");
	is_int(r, -ECONNRESET, "  then -ECONNRESET: that producer died");

	/* Until a new producer attaches, the death is what recv reports. */
	is_int(shmq_try_recv(q, buf, sizeof(buf), &len), -ECONNRESET,
	       "  and says so again while no new producer is there");
	pid = spawn(producer, (void *)400);
	wait_child(pid, 10000);
	while ((r = shmq_recv_timed(q, buf, sizeof(buf), &len, 2000000000LL)) == 0) {
		if (!t_check(buf, len, 5, (uint64_t)got, sizeof(buf)))
			bad++;
		got++;
	}
	is_int(got, 400, "after a death, the next producer resumes too: 400 in all");
	is_int(bad, 0, "  in order, intact");
	is_int(r, -EPIPE, "  then end of stream: it closed");

	/* Naming a side: the consumer's own endpoint is taken, the other not. */
	{
		struct shmq_options o = { 0 };
		shmq_t *q2;

		o.flags = SHMQ_PERSISTENT | (info.slot ? SHMQ_ENDPOINT1 : SHMQ_ENDPOINT0);
		is_int(shmq_open(addr, &o, &q2), -EBUSY,
		       "asking for the endpoint a live process holds: -EBUSY");
		o.flags = SHMQ_PERSISTENT | (info.slot ? SHMQ_ENDPOINT0 : SHMQ_ENDPOINT1);
		r = shmq_open(addr, &o, &q2);
		is_int(r, 0, "asking for the free one opens it");
		if (!r) {
			struct shmq_info i2;

			shmq_info(q2, &i2);
			is_int(i2.slot, 1 - info.slot, "  as that endpoint");
			shmq_close(q2);
		}
	}
	shmq_close(q);
	ok(segment_exists(id), "the segment stays after everyone closed");
	is_int(shmq_seg_remove(id), 0, "until it is removed");

	/* The creator takes the side it asks for, whoever comes first. */
	{
		struct shmq_options o = { 0 };
		shmq_t *q1, *q0;

		addr = tap_name("side");
		o.flags = SHMQ_PERSISTENT | SHMQ_ENDPOINT1;
		r = shmq_open(addr, &o, &q1);
		is_int(r, 0, "endpoint 1 arriving first creates the channel");
		shmq_info(q1, &info);
		is_int(info.slot, 1, "  and is endpoint 1 all the same");
		o.flags = SHMQ_PERSISTENT | SHMQ_ENDPOINT0;
		r = shmq_open(addr, &o, &q0);
		is_int(r, 0, "endpoint 0 arriving second joins");
		if (!r) {
			shmq_send(q0, "to 1", 4);
			r = shmq_recv_timed(q1, buf, sizeof(buf), &len, 1000000000);
			ok(r == 0 && len == 4, "  and its messages go to endpoint 1");
			shmq_close(q0);
		}
		shmq_close(q1);
		shmq_seg_remove(info.shmid);
	}
	return done_testing();
}
