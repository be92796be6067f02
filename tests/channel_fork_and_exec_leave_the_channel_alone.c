/*
 * A handle belongs to the process that opened it; a segment that nobody
 * can use any more is noticed.
 *
 * 1. After fork(), a child that closes, abandons, or merely exits with an
 *    inherited handle changes nothing: the parent's peer sees no end of
 *    stream and the parent's next round trip works.  The child's own calls
 *    on the handle fail with -ECHILD.
 * 2. A peer that calls exec keeps its pid and start time but no longer has
 *    the segment attached: a receiver waiting on it with no timeout gets
 *    -ECONNRESET.
 * 3. A hub handle inherited by a child: the child's shmq_hub_close()
 *    leaves the hub serving; its shmq_hub_wait() is -ECHILD.
 * 4. A hub whose segment is removed (shmq rm --force, ipcrm): the server's
 *    wait with no timeout returns -EIDRM.
 * 5. A persistent channel, waiting for a peer with no timeout, whose
 *    segment is removed: -EIDRM, since no peer could find it.
 */
#include "chan.h"

struct shared {
	int echoed;
	int end;
};

static struct shared *sh;
static const char *addr;

static int echo(void *arg)
{
	char buf[64];
	size_t len;
	shmq_t *q = must_open(addr, NULL);
	int r;

	(void)arg;
	if (!q)
		return 1;
	while ((r = shmq_recv(q, buf, sizeof(buf), &len)) == 0) {
		if (shmq_send(q, buf, len))
			break;
		sh->echoed++;
	}
	sh->end = r;
	shmq_close(q);
	return 0;
}

/* In a fork child: try the inherited handle, then let go of it @how. */
static void child_lets_go(shmq_t *q, int how)
{
	char buf[8];
	size_t len;
	pid_t pid = fork();

	if (pid == 0) {
		int bad = 0;

		bad |= shmq_send(q, "x", 1) != -ECHILD;
		bad |= shmq_try_recv(q, buf, sizeof(buf), &len) != -ECHILD;
		bad |= shmq_shutdown(q) != -ECHILD;
		if (how == 0)
			bad |= shmq_close(q) != 0;
		else if (how == 1)
			bad |= shmq_abandon(q) != 0;
		_exit(bad);	/* how 2: just exit */
	}
	ok(child_exit_code(wait_child(pid, 5000)) == 0,
	   "  a fork child's calls on the parent's handle: -ECHILD");
}

static int execs(void *arg)
{
	shmq_t *q = must_open(addr, NULL);

	(void)arg;
	if (!q)
		return 1;
	execlp("sleep", "sleep", "30", (char *)NULL);
	return 127;
}

static int client(void *arg)
{
	struct shmq_options o = { 0 };
	shmq_t *q;
	int r;

	(void)arg;
	o.open_timeout_ms = 5000;
	if (shmq_connect(addr, &o, &q))
		return 1;
	r = t_round_trip(q) == 0 ? 0 : 2;
	shmq_close(q);
	return r;
}

static int remover(void *arg)
{
	struct shmq_addr a;
	int id;

	(void)arg;
	usleep(100000);
	shmq_addr_parse(addr, &a);
	if (shmq_seg_open(&a, &id))
		return 1;
	return shmq_seg_remove(id) ? 2 : 0;
}

/* The hub server's side of one client: answer once. */
static int serve_one(shmq_hub_t *h)
{
	char buf[64];
	size_t len;
	shmq_t *c;
	int r = shmq_hub_wait(h, &c, 5000000000LL);

	if (r)
		return r;
	r = shmq_recv_timed(c, buf, sizeof(buf), &len, 2000000000LL);
	if (r == 0)
		r = shmq_send(c, buf, len);
	shmq_hub_drop(h, c);
	return r;
}

int main(void)
{
	static const char *const how[3] = { "closes", "abandons", "just exits with" };
	struct shmq_options o = { 0 };
	char buf[16];
	size_t len;
	shmq_hub_t *h;
	shmq_t *q;
	pid_t e, c;
	int i, r;

	tap_start(120);
	sh = shared_page(4096);

	/* 1. */
	addr = tap_name("fork");
	e = spawn(echo, NULL);
	q = must_open(addr, NULL);
	if (!q)
		bail_out("open");
	is_int(t_round_trip(q), 0, "a round trip before any fork");
	for (i = 0; i < 3; i++) {
		diag("a fork child %s the inherited handle", how[i]);
		child_lets_go(q, i);
		is_int(t_round_trip(q), 0, "  the parent's next round trip still works");
	}
	ok(sh->end == 0, "  the peer never saw an end of stream");
	shmq_close(q);
	wait_child(e, 5000);
	is_int(sh->end, -EPIPE, "the parent's own close ends the stream");
	is_int(sh->echoed, 4, "  after every message");

	/* 2. */
	addr = tap_name("exec");
	e = spawn(execs, NULL);
	q = must_open(addr, NULL);
	r = q ? shmq_recv(q, buf, sizeof(buf), &len) : -1;
	is_int(r, -ECONNRESET, "a peer that called exec: -ECONNRESET, with no timeout");
	if (q)
		shmq_close(q);
	kill(e, SIGKILL);
	wait_child(e, 5000);

	/* 3. */
	addr = tap_name("fork-hub");
	r = shmq_hub_open(addr, NULL, &h);
	is_int(r, 0, "a hub opens");
	if (r)
		bail_out("hub");
	c = fork();
	if (c == 0) {
		shmq_t *x;

		_exit(shmq_hub_wait(h, &x, 0) != -ECHILD || shmq_hub_close(h) != 0);
	}
	ok(child_exit_code(wait_child(c, 5000)) == 0,
	   "  a fork child's wait is -ECHILD, its close changes nothing shared");
	c = spawn(client, NULL);
	is_int(serve_one(h), 0, "  the hub still serves a new client");
	ok(child_exit_code(wait_child(c, 5000)) == 0, "  which gets its answer");

	/* 4. */
	c = spawn(remover, NULL);
	{
		shmq_t *x;

		is_int(shmq_hub_wait(h, &x, -1), -EIDRM,
		       "a hub whose segment is removed: the server's wait says -EIDRM");
	}
	wait_child(c, 5000);
	shmq_hub_close(h);

	/* 5. */
	addr = tap_name("persist-rm");
	o.flags = SHMQ_PERSISTENT;
	q = must_open(addr, &o);
	c = spawn(remover, NULL);
	r = q ? shmq_recv(q, buf, sizeof(buf), &len) : -1;
	is_int(r, -EIDRM, "a persistent channel waiting for a peer, removed: -EIDRM");
	if (q)
		shmq_close(q);
	wait_child(c, 5000);
	return done_testing();
}
