/*
 * Two ends of the same role never pair (SHMQ_SENDER, SHMQ_RECEIVER).
 *
 * 1. Two senders open a name, then two receivers: each receiver gets one
 *    sender's whole stream, then its end; nothing is lost to a pair of
 *    senders talking past each other.
 * 2. A sender that finds another sender waiting waits in line, and its
 *    open deadline says why: -ETIMEDOUT, "another sender".
 * 3. An end without a role pairs with one that has a role, either way.
 */
#include "chan.h"

#define COUNT 1000

static const char *addr;

struct shared {
	int got[2];		/* messages each receiver got */
	int from[2];		/* the sender (1 or 2) of each receiver's first */
	int bad[2];
	int end[2];
};

static struct shared *sh;

static int sender(void *arg)
{
	struct shmq_options o = { 0 };
	int who = (int)(intptr_t)arg, i;
	char msg[16];
	shmq_t *q;

	o.flags = SHMQ_SENDER;
	o.open_timeout_ms = 10000;
	q = must_open(addr, &o);
	if (!q)
		return 1;
	for (i = 0; i < COUNT; i++) {
		int n = snprintf(msg, sizeof(msg), "%d:%d", who, i);

		if (shmq_send(q, msg, (size_t)n))
			return 2;
	}
	shmq_close(q);
	return 0;
}

static int receiver(void *arg)
{
	struct shmq_options o = { 0 };
	int me = (int)(intptr_t)arg, r, who, i;
	char buf[32];
	size_t len;
	shmq_t *q;

	o.flags = SHMQ_RECEIVER;
	o.open_timeout_ms = 10000;
	q = must_open(addr, &o);
	if (!q)
		return 1;
	while ((r = shmq_recv(q, buf, sizeof(buf) - 1, &len)) == 0) {
		buf[len] = '\0';
		if (sscanf(buf, "%d:%d", &who, &i) != 2 ||
		    (sh->got[me] && who != sh->from[me]) || i != sh->got[me])
			sh->bad[me]++;
		if (!sh->got[me])
			sh->from[me] = who;
		sh->got[me]++;
	}
	sh->end[me] = r;
	shmq_close(q);
	return 0;
}

static int open_with(int flags, int timeout_ms, char *err, size_t size, shmq_t **q)
{
	struct shmq_options o = { 0 };

	o.flags = (unsigned)flags;
	o.open_timeout_ms = timeout_ms;
	o.errbuf = err;
	o.errbuf_size = size;
	return shmq_open(addr, &o, q);
}

static int plain_end(void *arg)
{
	shmq_t *q;
	char err[256];

	if (open_with((int)(intptr_t)arg, 5000, err, sizeof(err), &q))
		return 1;
	shmq_close(q);
	return 0;
}

int main(void)
{
	char err[256] = "";
	pid_t s1, s2, r1, r2, c;
	shmq_t *q, *q2;
	int r, i;

	tap_start(60);
	sh = shared_page(4096);

	/* 1. */
	addr = tap_name("roles");
	s1 = spawn(sender, (void *)1);
	usleep(100000);
	s2 = spawn(sender, (void *)2);
	usleep(200000);
	r1 = spawn(receiver, (void *)0);
	r2 = spawn(receiver, (void *)1);
	ok(child_exit_code(wait_child(s1, 20000)) == 0 &&
	   child_exit_code(wait_child(s2, 20000)) == 0, "two senders at one name both deliver");
	wait_child(r1, 20000);
	wait_child(r2, 20000);
	for (i = 0; i < 2; i++)
		ok(sh->got[i] == COUNT && !sh->bad[i] && sh->end[i] == -EPIPE,
		   "  receiver %d: all %d of sender %d's messages, in order, then the end "
		   "(got %d, %d out of place, end %d)", i + 1, COUNT, sh->from[i],
		   sh->got[i], sh->bad[i], sh->end[i]);
	ok(sh->from[0] != sh->from[1], "  one sender each");

	/* 2. */
	addr = tap_name("in-line");
	c = spawn(plain_end, (void *)(intptr_t)SHMQ_SENDER);
	usleep(100000);
	r = open_with(SHMQ_SENDER, 300, err, sizeof(err), &q);
	is_int(r, -ETIMEDOUT, "a second sender waits in line until its deadline");
	ok(strstr(err, "another sender") != NULL, "  saying so: %s", err);
	r = open_with(SHMQ_RECEIVER, 3000, err, sizeof(err), &q);
	is_int(r, 0, "  a receiver pairs with the first");
	if (r == 0)
		shmq_close(q);
	wait_child(c, 5000);

	/* 3. */
	addr = tap_name("no-role");
	c = spawn(plain_end, (void *)(intptr_t)SHMQ_SENDER);
	r = open_with(0, 3000, err, sizeof(err), &q);
	is_int(r, 0, "an end without a role pairs with a sender");
	if (r == 0)
		shmq_close(q);
	wait_child(c, 5000);
	c = spawn(plain_end, (void *)0);
	r = open_with(SHMQ_RECEIVER, 3000, err, sizeof(err), &q2);
	is_int(r, 0, "  and a receiver with an end without a role");
	if (r == 0)
		shmq_close(q2);
	wait_child(c, 5000);
	return done_testing();
}
