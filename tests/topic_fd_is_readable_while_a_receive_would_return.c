/*
 * shmq_sub_fd(): a subscriber's descriptor is readable exactly while
 * shmq_sub_try_recv() would not return -EAGAIN, between real processes:
 * not when empty; after a message, for each subscriber apart; no longer
 * once drained; at the publisher's close and its death, and staying so;
 * for what came before the first call; -ECHILD in a fork child.  And no
 * wake is lost: subscriber processes that wait only in poll() on their
 * descriptors, with a deadline, each receive every message of a stream.
 */
#include <poll.h>
#include <sys/wait.h>

#include "chan.h"

#define N_STREAM 20000
#define N_POLLERS 4

struct shared {
	int step;	/* the parent's order to the publisher */
	int done;	/* the last order it carried out */
	uint64_t got[N_POLLERS];
	int stalls[N_POLLERS];
	int bad[N_POLLERS];
};

static struct shared *sh;
static const char *addr;

static void order(int step)
{
	t_order(&sh->step, &sh->done, step);
}

/* The publisher: 1 publishes one, 2 three, 5 closes, 6 waits for the kill. */
static int publisher(void *arg)
{
	shmq_pub_t *p;
	int step = 0, i, r = shmq_pub_open(addr, NULL, NULL, &p);

	(void)arg;
	if (r)
		return 1;
	while ((step = t_next_order(&sh->step, step)) > 0) {
		if (step == 1 || step == 2) {
			for (i = 0; i < (step == 1 ? 1 : 3); i++)
				shmq_pub_send(p, "news", 4);
		} else if (step == 5) {
			shmq_pub_close(p);
			__atomic_store_n(&sh->done, step, __ATOMIC_RELEASE);
			return 0;
		} else if (step == 6) {
			__atomic_store_n(&sh->done, step, __ATOMIC_RELEASE);
			pause();
		}
		__atomic_store_n(&sh->done, step, __ATOMIC_RELEASE);
	}
	return 2;
}

static shmq_sub_t *subscribe(int *fd)
{
	shmq_sub_t *s;
	int r = shmq_sub_open(addr, NULL, NULL, &s);

	if (r)
		bail_out("shmq_sub_open %s: %s", addr, shmq_strerror(r));
	*fd = shmq_sub_fd(s);
	if (*fd < 0)
		bail_out("shmq_sub_fd: %s", shmq_strerror(*fd));
	return s;
}

static int try_recv(shmq_sub_t *s)
{
	char buf[16];
	size_t len;

	return shmq_sub_try_recv(s, buf, sizeof(buf), &len);
}

static void drained(shmq_sub_t *s, int fd, const char *what)
{
	is_int(try_recv(s), -EAGAIN, "%s: then -EAGAIN", what);
	ok(!t_readable(fd, 50), "%s: then not readable", what);
}

static void messages_and_end(void)
{
	shmq_sub_t *a, *b;
	int fa, fb, i;
	pid_t pid;

	memset(sh, 0, sizeof(*sh));
	addr = tap_name("tfd");
	a = subscribe(&fa);
	b = subscribe(&fb);
	pid = spawn(publisher, NULL);
	is_int(shmq_sub_fd(a), fa, "a second call gives the same descriptor");
	ok(!t_readable(fa, 100) && !t_readable(fb, 0), "empty: neither is readable");
	drained(a, fa, "empty");
	order(1);
	ok(t_readable(fa, 5000) && t_readable(fb, 5000), "one message: both are readable");
	is_int(try_recv(a), 0, "the first subscriber receives it");
	drained(a, fa, "the first");
	ok(t_readable(fb, 0), "the second is still readable: the message waits for it");
	is_int(try_recv(b), 0, "  and it receives it");
	drained(b, fb, "the second");
	order(2);
	ok(t_readable(fa, 5000), "three messages: readable");
	is_int(try_recv(a), 0, "the first of them is there");
	ok(t_readable(fa, 0), "still readable with two left");
	for (i = 0; i < 2; i++)
		try_recv(a);
	drained(a, fa, "three received");
	for (i = 0; i < 3; i++)
		try_recv(b);
	drained(b, fb, "the second, three received");
	order(5);
	ok(t_readable(fa, 5000) && t_readable(fb, 5000), "the publisher closed: both readable");
	is_int(try_recv(a), -EPIPE, "end of stream");
	ok(t_readable(fa, 0), "  and still readable: a receive says -EPIPE again");
	is_int(try_recv(b), -EPIPE, "  the second too");
	is_int(child_exit_code(wait_child(pid, 10000)), 0, "the publisher exited");
	shmq_sub_close(a);
	shmq_sub_close(b);
}

static void death_and_fork(void)
{
	shmq_sub_t *s, *late;
	int fd, lfd, st;
	int64_t t0;
	pid_t pid, child;

	memset(sh, 0, sizeof(*sh));
	addr = tap_name("tfdd");
	s = subscribe(&fd);
	pid = spawn(publisher, NULL);
	order(1);
	/* A descriptor asked for after the message came: readable at once. */
	shmq_sub_open(addr, NULL, NULL, &late);
	order(2);
	lfd = late ? shmq_sub_fd(late) : -1;
	ok(lfd >= 0 && t_readable(lfd, 0), "a descriptor made after messages came: readable at once");
	while (try_recv(s) == 0)
		;
	order(6);
	drained(s, fd, "before the death");
	child = fork();
	if (child == 0)
		_exit(shmq_sub_fd(s) == -ECHILD ? 0 : 1);
	waitpid(child, &st, 0);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 0, "shmq_sub_fd() in a fork child: -ECHILD");
	t0 = tap_now_ns();
	kill(pid, SIGKILL);
	ok(t_readable(fd, 5000), "the publisher was killed: readable");
	diag("readable %.2f ms after the kill", (tap_now_ns() - t0) / 1e6);
	is_int(try_recv(s), -ECONNRESET, "  and a receive says -ECONNRESET");
	ok(t_readable(fd, 0), "  still readable after it");
	wait_child(pid, 10000);
	shmq_sub_close(s);
	if (late)
		shmq_sub_close(late);
	/* The dead publisher's topic: a new publisher takes it over and its
	 * close removes it, leaving nothing behind. */
	{
		shmq_pub_t *p;

		if (shmq_pub_open(addr, NULL, NULL, &p) == 0)
			shmq_pub_close(p);
	}
}

/*
 * A subscriber that waits only in poll(): every message, in order.  The
 * odd ones take one message per readiness, as an event loop that reads
 * one at a time does: a descriptor that is not ready while a message
 * waits stalls them.
 */
static int poller(void *arg)
{
	int i = (int)(intptr_t)arg, fd, one = i % 2;
	shmq_sub_t *s;
	char buf[16];
	size_t len;
	uint64_t want = 0, seq;

	if (shmq_sub_open(addr, NULL, NULL, &s) || (fd = shmq_sub_fd(s)) < 0)
		return 1;
	__atomic_add_fetch(&sh->done, 1, __ATOMIC_RELEASE);
	for (;;) {
		int r = shmq_sub_try_recv(s, buf, sizeof(buf), &len);

		if (r == 0) {
			memcpy(&seq, buf, sizeof(seq));
			sh->bad[i] += len != sizeof(seq) || seq != want;
			want = seq + 1;
			sh->got[i]++;
			if (!one)
				continue;
		} else if (r != -EAGAIN) {
			break;
		}
		if (!t_readable(fd, 10000)) {
			sh->stalls[i]++;	/* a lost wake: nothing for 10 s */
			break;
		}
	}
	shmq_sub_close(s);
	return 0;
}

static void stream(void)
{
	pid_t kids[N_POLLERS];
	shmq_pub_t *p;
	uint64_t n;
	int i, r, all = 1;

	memset(sh, 0, sizeof(*sh));
	addr = tap_name("tfds");
	r = shmq_pub_open(addr, NULL, NULL, &p);
	if (r)
		bail_out("shmq_pub_open: %s", shmq_strerror(r));
	for (i = 0; i < N_POLLERS; i++)
		kids[i] = spawn(poller, (void *)(intptr_t)i);
	while (__atomic_load_n(&sh->done, __ATOMIC_ACQUIRE) < N_POLLERS)
		usleep(1000);
	while (shmq_pub_subscribers(p) < N_POLLERS)
		usleep(1000);
	for (n = 0; n < N_STREAM; n++) {
		shmq_pub_send(p, &n, sizeof(n));
		if (n % 97 == 0)
			usleep(50);	/* let them run dry and poll again */
	}
	shmq_pub_close(p);
	for (i = 0; i < N_POLLERS; i++) {
		wait_child(kids[i], 30000);
		all &= sh->got[i] == N_STREAM && !sh->bad[i] && !sh->stalls[i];
		if (sh->got[i] != N_STREAM || sh->bad[i] || sh->stalls[i])
			diag("poller %d: %llu of %d, %d out of order, %d stalls", i,
			     (unsigned long long)sh->got[i], N_STREAM, sh->bad[i], sh->stalls[i]);
	}
	ok(all, "%d subscribers that wait only in poll() each receive all %d messages, "
	   "in order, with no wait of 10 s", N_POLLERS, N_STREAM);
}

int main(void)
{
	tap_start(120);
	sh = shared_page(sizeof(*sh));
	messages_and_end();
	death_and_fork();
	stream();
	return done_testing();
}
