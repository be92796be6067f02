/*
 * shmq_fd(): the descriptor is readable exactly while a receive would not
 * return -EAGAIN, between real processes: not when empty; after one
 * message, and still after the first of several; no longer once try_
 * calls have drained the end; at end of stream, at the peer's death and
 * at its poison, and staying so; for what was queued before the first
 * call; through an epoll set of the program's own; on a persistent
 * channel, for each producer in turn, also with a fork child holding
 * copies of the descriptors; and -ECHILD in a fork child.
 */
#include <sys/epoll.h>

#include "chan.h"
#include "channel.h"

struct shared {
	int step;	/* the parent's order to the child */
	int done;	/* the last order the child carried out */
};

static struct shared *sh;
static const char *addr;

static void order(int step)
{
	t_order(&sh->step, &sh->done, step);
}

static void carried_out(int step)
{
	__atomic_store_n(&sh->done, step, __ATOMIC_RELEASE);
}

/*
 * The sender: steps 1 and 3 send one message, 2 sends three, 5 closes,
 * 6 waits to be killed.
 */
static int sender(void *arg)
{
	shmq_t *q = must_open(addr, NULL);
	int step = 0, i;

	(void)arg;
	if (!q)
		return 1;
	while ((step = t_next_order(&sh->step, step)) > 0) {
		switch (step) {
		case 1:
		case 3:
			shmq_send(q, "one", 3);
			break;
		case 2:
			for (i = 0; i < 3; i++)
				shmq_send(q, "many", 4);
			break;
		case 5:
			shmq_close(q);
			carried_out(step);
			return 0;
		case 6:
			carried_out(step);
			pause();
			return 0;
		}
		carried_out(step);
	}
	return 2;
}

static pid_t start(const char *base, shmq_t **q, int *fd)
{
	pid_t pid;

	memset(sh, 0, sizeof(*sh));
	addr = tap_name(base);
	pid = spawn(sender, NULL);
	*q = must_open(addr, NULL);
	if (!*q)
		bail_out("open %s", addr);
	*fd = shmq_fd(*q);
	if (*fd < 0)
		bail_out("shmq_fd: %s", shmq_strerror(*fd));
	return pid;
}

static void drained(shmq_t *q, int fd, const char *what)
{
	char buf[16];
	size_t len;

	is_int(shmq_try_recv(q, buf, sizeof(buf), &len), -EAGAIN, "%s: then -EAGAIN", what);
	ok(!t_readable(fd, 50), "%s: then not readable", what);
}

static void messages_and_end(void)
{
	char buf[16];
	size_t len;
	shmq_t *q;
	int fd, i;
	pid_t pid = start("fdlevel", &q, &fd);

	is_int(shmq_fd(q), fd, "a second call gives the same descriptor");
	ok(!t_readable(fd, 100), "empty: not readable");
	drained(q, fd, "empty");
	order(1);
	ok(t_readable(fd, 5000), "one message: readable");
	ok(t_readable(fd, 0), "and stays readable until received");
	is_int(shmq_try_recv(q, buf, sizeof(buf), &len), 0, "the message is there");
	drained(q, fd, "one message received");
	order(2);
	ok(t_readable(fd, 5000), "three messages: readable");
	is_int(shmq_try_recv(q, buf, sizeof(buf), &len), 0, "the first is there");
	ok(t_readable(fd, 0), "still readable with two left");
	for (i = 0; i < 2; i++)
		shmq_try_recv(q, buf, sizeof(buf), &len);
	drained(q, fd, "three received");
	order(5);
	ok(t_readable(fd, 5000), "the sender closed: readable");
	is_int(shmq_try_recv(q, buf, sizeof(buf), &len), -EPIPE, "end of stream");
	ok(t_readable(fd, 0), "and still readable: a receive says -EPIPE again");
	is_int(child_exit_code(wait_child(pid, 10000)), 0, "the sender exited");
	shmq_close(q);
}

static void death(void)
{
	char buf[16];
	size_t len;
	shmq_t *q;
	int fd;
	int64_t t0;
	pid_t pid = start("fddeath", &q, &fd);

	order(6);
	drained(q, fd, "before the death");
	t0 = shmq_now_ns();
	kill(pid, SIGKILL);
	ok(t_readable(fd, 5000), "the sender was killed: readable");
	diag("readable %.2f ms after the kill", (shmq_now_ns() - t0) / 1e6);
	is_int(shmq_try_recv(q, buf, sizeof(buf), &len), -ECONNRESET, "the death is told");
	ok(t_readable(fd, 0), "and still readable");
	wait_child(pid, 10000);
	shmq_close(q);
}

/* The child finds the channel corrupted; our descriptor says so. */
static int poisoned_receiver(void *arg)
{
	char buf[16];
	size_t len;
	shmq_t *q = must_open(addr, NULL);
	int r;

	(void)arg;
	if (!q)
		return 1;
	carried_out(1);
	t_next_order(&sh->step, 0);		/* until the record is scribbled over */
	r = shmq_recv_timed(q, buf, sizeof(buf), &len, 10000000000LL);
	carried_out(2);
	t_next_order(&sh->step, 2);
	return r == -EBADMSG ? 0 : 3;
}

static void poison(void)
{
	char buf[16];
	size_t len;
	shmq_t *q;
	int fd, i;
	pid_t pid;

	memset(sh, 0, sizeof(*sh));
	addr = tap_name("fdpoison");
	pid = spawn(poisoned_receiver, NULL);
	q = must_open(addr, NULL);
	if (!q)
		bail_out("open");
	fd = shmq_fd(q);
	drained(q, fd, "before the poison");
	/* Our record, then its header scribbled over: the peer's read fails. */
	for (i = 0; i < 10000 && __atomic_load_n(&sh->done, __ATOMIC_ACQUIRE) < 1; i++)
		usleep(1000);
	shmq_send(q, "x", 1);
	memset(q->tx.data, 0xa5, q->tx.cap);
	__atomic_store_n(&sh->step, 2, __ATOMIC_RELEASE);
	for (i = 0; i < 10000 && __atomic_load_n(&sh->done, __ATOMIC_ACQUIRE) < 2; i++)
		usleep(1000);
	ok(t_readable(fd, 5000), "the peer found the channel corrupted: readable");
	is_int(shmq_try_recv(q, buf, sizeof(buf), &len), -EBADMSG, "-EBADMSG");
	__atomic_store_n(&sh->step, 3, __ATOMIC_RELEASE);
	is_int(child_exit_code(wait_child(pid, 10000)), 0, "the peer saw -EBADMSG");
	shmq_abandon(q);
}

/* A message sent before the descriptor existed; and an epoll set of ours. */
static void before_and_epoll(void)
{
	struct epoll_event ev = { .events = EPOLLIN }, got;
	char buf[16];
	size_t len;
	shmq_t *q;
	int fd, ep;
	pid_t pid;

	memset(sh, 0, sizeof(*sh));
	addr = tap_name("fdbefore");
	pid = spawn(sender, NULL);
	q = must_open(addr, NULL);
	if (!q)
		bail_out("open");
	order(1);
	for (int i = 0; i < 100 && !t_readable(fd = shmq_fd(q), 0); i++)
		usleep(1000);
	ok(t_readable(fd, 0), "queued before the first shmq_fd(): readable at once");
	ep = epoll_create1(EPOLL_CLOEXEC);
	ev.data.fd = fd;
	epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
	is_int(epoll_wait(ep, &got, 1, 5000), 1, "our own epoll set sees it");
	is_int(epoll_wait(ep, &got, 1, 0), 1, "level-triggered: and again");
	is_int(shmq_try_recv(q, buf, sizeof(buf), &len), 0, "the message is received");
	ok(len == 3 && !memcmp(buf, "one", 3), "whole");
	is_int(shmq_try_recv(q, buf, sizeof(buf), &len), -EAGAIN, "then -EAGAIN");
	is_int(epoll_wait(ep, &got, 1, 50), 0, "drained: epoll sees nothing");
	order(3);
	is_int(epoll_wait(ep, &got, 1, 5000), 1, "the next message: epoll wakes");
	close(ep);
	order(5);
	wait_child(pid, 10000);
	shmq_close(q);
}

static int persistent_sender(void *arg)
{
	struct shmq_options o = { .flags = SHMQ_PERSISTENT | SHMQ_ENDPOINT1 };
	shmq_t *q = must_open(addr, &o);

	if (!q)
		return 1;
	shmq_send(q, arg, strlen(arg));
	return shmq_close(q) ? 2 : 0;
}

static void persistent(void)
{
	struct shmq_options o = { .flags = SHMQ_PERSISTENT | SHMQ_ENDPOINT0 };
	struct shmq_info info;
	char buf[16];
	size_t len;
	shmq_t *q;
	int fd;
	pid_t pid;

	addr = tap_name("fdpersist");
	q = must_open(addr, &o);
	if (!q)
		bail_out("open persistent");
	fd = shmq_fd(q);
	drained(q, fd, "persistent, nobody sending yet");
	pid = spawn(persistent_sender, "first");
	is_int(child_exit_code(wait_child(pid, 10000)), 0, "a first producer sent and closed");
	ok(t_readable(fd, 5000), "persistent: readable");
	is_int(shmq_try_recv(q, buf, sizeof(buf), &len), 0, "its message");
	is_int(shmq_try_recv(q, buf, sizeof(buf), &len), -EPIPE, "then its end of stream");
	ok(t_readable(fd, 0), "still readable: a receive says -EPIPE again");
	pid = spawn(persistent_sender, "second");
	is_int(child_exit_code(wait_child(pid, 10000)), 0, "the next producer sent and closed");
	ok(t_readable(fd, 5000), "readable");
	is_int(shmq_try_recv(q, buf, sizeof(buf), &len), 0, "the next producer's message");
	is_int(shmq_try_recv(q, buf, sizeof(buf), &len), -EPIPE, "then its end of stream");
	shmq_info(q, &info);
	shmq_close(q);
	is_int(shmq_seg_remove(info.shmid), 0, "the persistent channel removed");
}

static int persistent_stayer(void *arg)
{
	struct shmq_options o = { .flags = SHMQ_PERSISTENT | SHMQ_ENDPOINT1 };
	shmq_t *q = must_open(addr, &o);

	if (!q)
		return 1;
	shmq_send(q, arg, strlen(arg));
	pause();
	return 0;
}

static int idle(void *arg)
{
	(void)arg;
	pause();
	return 0;
}

/*
 * A fork child of the consumer holds copies of its descriptors, the dead
 * producer's pidfd among them: after a new producer's messages are
 * drained the descriptor must be quiet all the same.
 */
static void persistent_with_a_worker(void)
{
	struct shmq_options o = { .flags = SHMQ_PERSISTENT | SHMQ_ENDPOINT0 };
	struct shmq_info info;
	char buf[16];
	size_t len;
	shmq_t *q;
	pid_t a, b, worker;
	int fd;

	addr = tap_name("fdworker");
	q = must_open(addr, &o);
	if (!q)
		bail_out("open persistent");
	fd = shmq_fd(q);
	a = spawn(persistent_stayer, "first");
	ok(t_readable(fd, 5000), "persistent: the first producer's message");
	shmq_try_recv(q, buf, sizeof(buf), &len);
	drained(q, fd, "received");
	worker = spawn(idle, NULL);
	kill(a, SIGKILL);
	wait_child(a, 10000);
	ok(t_readable(fd, 5000), "the producer killed (a worker forked meanwhile): readable");
	is_int(shmq_try_recv(q, buf, sizeof(buf), &len), -ECONNRESET, "its death is told");
	b = spawn(persistent_stayer, "second");
	ok(t_readable(fd, 5000), "the next producer's message: readable");
	for (int i = 0; i < 100 && shmq_try_recv(q, buf, sizeof(buf), &len) != 0; i++)
		usleep(10000);
	ok(len == 6 && !memcmp(buf, "second", 6), "received");
	drained(q, fd, "the next producer's message received, its predecessor's death behind");
	kill(b, SIGKILL);
	ok(t_readable(fd, 5000), "the next producer killed: readable");
	kill(worker, SIGKILL);
	wait_child(b, 10000);
	wait_child(worker, 10000);
	shmq_info(q, &info);
	shmq_close(q);
	is_int(shmq_seg_remove(info.shmid), 0, "the persistent channel removed");
}

static int child_asks(void *arg)
{
	return shmq_fd(arg) == -ECHILD ? 0 : 1;
}

static void forked(void)
{
	shmq_t *q;
	int fd;
	pid_t pid = start("fdfork", &q, &fd), kid;

	kid = spawn(child_asks, q);
	is_int(child_exit_code(wait_child(kid, 10000)), 0, "a fork child gets -ECHILD");
	order(5);
	wait_child(pid, 10000);
	shmq_close(q);
}

int main(void)
{
	tap_start(120);
	sh = shared_page(4096);
	messages_and_end();
	death();
	poison();
	before_and_epoll();
	persistent();
	persistent_with_a_worker();
	forked();
	return done_testing();
}
