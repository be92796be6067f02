/*
 * shmq_hub_fd(): the hub server's descriptor is readable exactly while
 * shmq_hub_wait(hub, &c, 0) would not return -EAGAIN, between real
 * processes, with the server woken by nothing but the descriptor: new
 * clients come in; a message makes it readable, and it stays so until
 * received; a held client's messages and death leave it quiet once
 * wait(0) has said -EAGAIN, and letting go makes it readable again; a
 * death is readable at once and stays so until the client is dropped; a
 * close is an end of stream; ten clients at once are all served; and
 * -ECHILD in a fork child.
 */
#include <fcntl.h>

#include "chan.h"

#define CLIENTS 3
#define CROWD 10

struct shared {
	int step[CLIENTS];	/* the parent's order to client i */
	int done[CLIENTS];	/* the last order client i carried out */
	int in;			/* clients whose shmq_connect() returned */
};

static struct shared *sh;
static const char *addr;

static void order(int who, int step)
{
	t_order(&sh->step[who], &sh->done[who], step);
}

/*
 * Client @arg: connect, then step 1 sends one message, 2 sends three,
 * 5 closes, 6 waits to be killed.
 */
static int client(void *arg)
{
	int who = (int)(intptr_t)arg, step = 0, i;
	struct shmq_options o = { .open_timeout_ms = 10000 };
	shmq_t *q;

	if (shmq_connect(addr, &o, &q))
		return 1;
	/* Its last ring of the door (joined) is behind it now. */
	__atomic_fetch_add(&sh->in, 1, __ATOMIC_RELEASE);
	while ((step = t_next_order(&sh->step[who], step)) > 0) {
		switch (step) {
		case 1:
			shmq_send(q, "one", 3);
			break;
		case 2:
			for (i = 0; i < 3; i++)
				shmq_send(q, "many", 4);
			break;
		case 5:
			shmq_close(q);
			__atomic_store_n(&sh->done[who], step, __ATOMIC_RELEASE);
			return 0;
		case 6:
			__atomic_store_n(&sh->done[who], step, __ATOMIC_RELEASE);
			pause();
			return 0;
		}
		__atomic_store_n(&sh->done[who], step, __ATOMIC_RELEASE);
	}
	return 2;
}

/*
 * Until @n clients are in, woken only by the descriptor: each time it is
 * readable, wait(0) until -EAGAIN.  1 if they came in.
 */
static int admit(shmq_hub_t *h, int fd, size_t n)
{
	static int seen;	/* each admit() lets in one new client */
	shmq_t *c;
	int i;

	for (i = 0; i < 50 && shmq_hub_count(h) < n; i++) {
		if (!t_readable(fd, 5000))
			return 0;
		while (shmq_hub_wait(h, &c, 0) == 0)
			;
	}
	/*
	 * The server may adopt a client before the client's last ring (its
	 * join) arrives, which then makes the descriptor ready once for
	 * nothing, as documented.  Wait until that ring has been rung, and
	 * take it, so that "quiet" below means quiet.
	 */
	for (i = 0; i < 5000 && __atomic_load_n(&sh->in, __ATOMIC_ACQUIRE) <= seen; i++)
		usleep(1000);
	seen = __atomic_load_n(&sh->in, __ATOMIC_ACQUIRE);
	while (shmq_hub_wait(h, &c, 0) == 0)
		;
	return shmq_hub_count(h) == n;
}

/* wait(0) says -EAGAIN, and then the descriptor is quiet. */
static void quiet(shmq_hub_t *h, int fd, const char *what)
{
	shmq_t *c;

	is_int(shmq_hub_wait(h, &c, 0), -EAGAIN, "%s: wait(0) says -EAGAIN", what);
	ok(!t_readable(fd, 50), "%s: then not readable", what);
}

/* Readable, and wait(0) returns @want. */
static void returns(shmq_hub_t *h, int fd, shmq_t *want, const char *what)
{
	shmq_t *c = NULL;

	ok(t_readable(fd, 5000), "%s: readable", what);
	is_int(shmq_hub_wait(h, &c, 0), 0, "%s: wait(0) returns a client", what);
	ok(c == want, "%s: the right one", what);
}

static void messages_and_holds(shmq_hub_t *h, int fd)
{
	char buf[16];
	size_t len;
	shmq_t *c0;
	int i;

	order(0, 1);
	c0 = shmq_hub_client(h, 0);
	returns(h, fd, c0, "a message");
	ok(t_readable(fd, 0), "and still readable until received");
	is_int(shmq_try_recv(c0, buf, sizeof(buf), &len), 0, "the message is there");
	quiet(h, fd, "received");

	order(0, 2);
	returns(h, fd, c0, "three messages");
	is_int(shmq_try_recv(c0, buf, sizeof(buf), &len), 0, "the first");
	ok(t_readable(fd, 0), "still readable with two left");
	for (i = 0; i < 2; i++)
		shmq_try_recv(c0, buf, sizeof(buf), &len);
	quiet(h, fd, "three received");

	is_int(shmq_hub_hold(h, c0, 1), 0, "hold the client");
	order(0, 1);
	quiet(h, fd, "a held client's message");
	is_int(shmq_hub_hold(h, c0, 0), 0, "let it go");
	returns(h, fd, c0, "let go with a message waiting");
	is_int(shmq_try_recv(c0, buf, sizeof(buf), &len), 0, "the message is received");
	quiet(h, fd, "received after the hold");
}

static void deaths(shmq_hub_t *h, int fd, pid_t pid0, pid_t pid1)
{
	char buf[16];
	size_t len;
	shmq_t *c0 = shmq_hub_client(h, 0), *c1 = shmq_hub_client(h, 1);
	int64_t t0;

	/* A held client's death: quiet until it is let go. */
	order(1, 6);
	shmq_hub_hold(h, c1, 1);
	kill(pid1, SIGKILL);
	wait_child(pid1, 10000);
	ok(!t_readable(fd, 300), "a held client killed: not readable");
	quiet(h, fd, "a held client killed");
	shmq_hub_hold(h, c1, 0);
	returns(h, fd, c1, "let go after its death");
	is_int(shmq_try_recv(c1, buf, sizeof(buf), &len), -ECONNRESET, "its death is told");
	is_int(shmq_hub_drop(h, c1), 0, "dropped");
	quiet(h, fd, "the dead client dropped");

	order(0, 6);
	quiet(h, fd, "before a death");
	t0 = tap_now_ns();
	kill(pid0, SIGKILL);
	ok(t_readable(fd, 5000), "a client killed: readable");
	diag("readable %.2f ms after the kill", (tap_now_ns() - t0) / 1e6);
	returns(h, fd, c0, "a client killed");
	is_int(shmq_try_recv(c0, buf, sizeof(buf), &len), -ECONNRESET, "its death is told");
	ok(t_readable(fd, 0), "and still readable until it is dropped");
	wait_child(pid0, 10000);
	is_int(shmq_hub_drop(h, c0), 0, "dropped");
	quiet(h, fd, "the killed client dropped");
}

static void close_is_an_end(shmq_hub_t *h, int fd)
{
	char buf[16];
	size_t len;
	shmq_t *c;
	pid_t pid;

	memset(sh, 0, sizeof(*sh));
	pid = spawn(client, (void *)(intptr_t)2);
	ok(admit(h, fd, 1), "another client came in");
	c = shmq_hub_client(h, 0);
	order(2, 5);
	returns(h, fd, c, "a client closed");
	is_int(shmq_try_recv(c, buf, sizeof(buf), &len), -EPIPE, "end of stream");
	shmq_hub_drop(h, c);
	quiet(h, fd, "the closed client dropped");
	is_int(child_exit_code(wait_child(pid, 10000)), 0, "the client exited");
}

static int crowd_member(void *arg)
{
	struct shmq_options o = { .open_timeout_ms = 20000 };
	int who = (int)(intptr_t)arg;
	shmq_t *q;

	if (shmq_connect(addr, &o, &q))
		return 1;
	if (shmq_send(q, &who, sizeof(who)))
		return 2;
	return shmq_close(q) ? 3 : 0;
}

/* Ten at once, each sending one message then closing: all served. */
static void crowd(shmq_hub_t *h, int fd)
{
	pid_t pid[CROWD];
	int64_t end = tap_now_ns() + 30000000000LL;
	int i, got = 0, ends = 0, who, exits = 0;
	unsigned seen = 0;
	size_t len;
	shmq_t *c;

	for (i = 0; i < CROWD; i++)
		pid[i] = spawn(crowd_member, (void *)(intptr_t)i);
	while (ends < CROWD && tap_now_ns() < end) {
		if (!t_readable(fd, 5000))
			break;
		while (shmq_hub_wait(h, &c, 0) == 0) {
			int r = shmq_try_recv(c, &who, sizeof(who), &len);

			if (r == 0 && len == sizeof(who) && who >= 0 && who < CROWD) {
				got++;
				seen |= 1u << who;
			} else if (r == -EPIPE) {
				ends++;
				shmq_hub_drop(h, c);
			} else if (r != -EAGAIN) {
				diag("a crowd member: %s", shmq_strerror(r));
				ends++;
				shmq_hub_drop(h, c);
			}
		}
	}
	is_int(got, CROWD, "%d clients at once: every message, woken only by the descriptor", CROWD);
	ok(seen == (1u << CROWD) - 1, "one from each");
	is_int(ends, CROWD, "and every end of stream");
	for (i = 0; i < CROWD; i++)
		exits += child_exit_code(wait_child(pid[i], 10000)) == 0;
	is_int(exits, CROWD, "every client connected, sent and closed");
	quiet(h, fd, "all served");
}

static int child_asks(void *arg)
{
	shmq_t *c;

	return shmq_hub_fd(arg) == -ECHILD && shmq_hub_wait(arg, &c, 0) == -ECHILD ? 0 : 1;
}

int main(void)
{
	struct shmq_options o = { 0 };
	shmq_hub_t *h;
	pid_t pid0, pid1, kid;
	int fd;

	tap_start(180);
	sh = shared_page(4096);
	addr = tap_name("hubfd");
	if (shmq_hub_open(addr, &o, &h))
		bail_out("shmq_hub_open %s", addr);
	fd = shmq_hub_fd(h);
	ok(fd >= 0, "shmq_hub_fd gives a descriptor");
	is_int(shmq_hub_fd(h), fd, "a second call gives the same one");
	ok(!t_readable(fd, 100), "no client: not readable");
	quiet(h, fd, "no client");

	pid0 = spawn(client, (void *)(intptr_t)0);
	ok(admit(h, fd, 1), "a client came in, woken only by the descriptor");
	quiet(h, fd, "a client in, silent");
	pid1 = spawn(client, (void *)(intptr_t)1);
	ok(admit(h, fd, 2), "a second client came in");
	quiet(h, fd, "two clients in, silent");

	messages_and_holds(h, fd);
	deaths(h, fd, pid0, pid1);
	close_is_an_end(h, fd);
	crowd(h, fd);

	kid = spawn(child_asks, h);
	is_int(child_exit_code(wait_child(kid, 10000)), 0, "a fork child gets -ECHILD");
	is_int(shmq_hub_close(h), 0, "the hub closes");
	ok(fcntl(fd, F_GETFD) < 0 && errno == EBADF, "and closes its descriptor");
	return done_testing();
}
