/*
 * shmq_send_fd(): the sending descriptor is readable exactly while a send
 * of the largest message would not wait, between real processes: at once
 * on an empty ring; not once try_send has said -EAGAIN on a full one;
 * again when the receiver drains it; at the receiver's close and death on
 * a pair (a send fails at once), and staying so; not at a persistent
 * consumer's death (a send waits for the next), until the next one
 * drains; at shutdown; -ECHILD in a fork child.  Then 100,000 messages
 * stream through a 4 KiB ring with both ends in event loops, the sender
 * woken only by this descriptor and the receiver only by shmq_fd(): a
 * lost wake-up on either side fails a 10 s deadline.
 */
#include <sys/epoll.h>

#include "chan.h"

#define CAP 4096
#define STREAM 100000

struct shared {
	int step;
	int done;
	long parks[2];	/* sender, receiver: waits that found nothing ready */
};

static struct shared *sh;
static const char *addr;

static void order(int step)
{
	t_order(&sh->step, &sh->done, step);
}

/* The receiver: step 1 drains the ring, 5 closes, 6 waits to be killed. */
static int receiver(void *arg)
{
	struct shmq_options o = { .send_capacity = CAP, .recv_capacity = CAP };
	char buf[CAP];
	size_t len;
	shmq_t *q;
	int step = 0;

	if (arg)
		o.flags = SHMQ_PERSISTENT | SHMQ_ENDPOINT1;
	q = must_open(addr, &o);
	if (!q)
		return 1;
	while ((step = t_next_order(&sh->step, step)) > 0) {
		switch (step) {
		case 1:
			while (shmq_try_recv(q, buf, sizeof(buf), &len) == 0)
				;
			break;
		case 5:
			shmq_close(q);
			__atomic_store_n(&sh->done, step, __ATOMIC_RELEASE);
			return 0;
		case 6:
			__atomic_store_n(&sh->done, step, __ATOMIC_RELEASE);
			pause();
			return 0;
		}
		__atomic_store_n(&sh->done, step, __ATOMIC_RELEASE);
	}
	return 2;
}

static char msg[CAP];

/*
 * try_send the largest message until -EAGAIN, then empty ones until the
 * ring is full to the last byte: how many of the largest went.
 */
static int fill(shmq_t *q, size_t max)
{
	int n = 0;

	while (shmq_try_send(q, msg, max) == 0)
		n++;
	while (shmq_try_send(q, msg, 0) == 0)
		;
	return n;
}

static pid_t start(const char *base, int persistent, shmq_t **q, int *fd)
{
	struct shmq_options o = { .send_capacity = CAP, .recv_capacity = CAP };
	pid_t pid;

	memset(sh, 0, sizeof(*sh));
	addr = tap_name(base);
	if (persistent)
		o.flags = SHMQ_PERSISTENT | SHMQ_ENDPOINT0;
	pid = spawn(receiver, persistent ? (void *)1 : NULL);
	*q = must_open(addr, &o);
	if (!*q)
		bail_out("open %s", addr);
	*fd = shmq_send_fd(*q);
	if (*fd < 0)
		bail_out("shmq_send_fd: %s", shmq_strerror(*fd));
	return pid;
}

static size_t largest(shmq_t *q)
{
	struct shmq_info i;

	shmq_info(q, &i);
	return i.max_send;
}

static void room_and_full(void)
{
	shmq_t *q;
	int fd, n;
	pid_t pid = start("sfdroom", 0, &q, &fd);
	size_t max = largest(q);

	is_int(shmq_send_fd(q), fd, "a second call gives the same descriptor");
	ok(fd != shmq_fd(q), "and not the receiving one");
	ok(t_readable(fd, 1000), "an empty ring: readable");
	n = fill(q, max);
	ok(n >= 1, "the largest message fits an empty ring (%d went)", n);
	ok(!t_readable(fd, 100), "full, after try_send said -EAGAIN: not readable");
	order(1);
	ok(t_readable(fd, 5000), "the receiver drained it: readable");
	is_int(shmq_try_send(q, msg, max), 0, "and the largest message goes");
	fill(q, max);
	ok(!t_readable(fd, 100), "full again: not readable");
	order(5);
	ok(t_readable(fd, 5000), "the receiver closed: readable");
	is_int(shmq_try_send(q, msg, 1), -EPIPE, "a send fails at once: -EPIPE");
	ok(t_readable(fd, 0), "and it stays readable");
	is_int(child_exit_code(wait_child(pid, 10000)), 0, "the receiver exited");
	shmq_close(q);
}

static void death(void)
{
	shmq_t *q;
	int fd;
	pid_t pid = start("sfddeath", 0, &q, &fd);
	int64_t t0;

	order(6);
	fill(q, largest(q));
	ok(!t_readable(fd, 100), "full: not readable");
	t0 = tap_now_ns();
	kill(pid, SIGKILL);
	ok(t_readable(fd, 5000), "the receiver was killed: readable");
	diag("readable %.2f ms after the kill", (tap_now_ns() - t0) / 1e6);
	is_int(shmq_try_send(q, msg, 1), -ECONNRESET, "a send says the receiver died");
	ok(t_readable(fd, 0), "and it stays readable");
	wait_child(pid, 10000);
	shmq_close(q);
}

static void persistent(void)
{
	struct shmq_info info;
	shmq_t *q;
	int fd;
	pid_t pid = start("sfdpersist", 1, &q, &fd);

	order(6);
	fill(q, largest(q));
	kill(pid, SIGKILL);
	wait_child(pid, 10000);
	ok(!t_readable(fd, 300), "persistent, full, its consumer killed: not readable");
	is_int(shmq_try_send(q, msg, 1), -EAGAIN, "a send would wait for the next consumer");
	ok(!t_readable(fd, 100), "and then still not readable");
	__atomic_store_n(&sh->step, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&sh->done, 0, __ATOMIC_RELEASE);
	pid = spawn(receiver, (void *)1);
	order(1);
	ok(t_readable(fd, 5000), "the next consumer drained it: readable");
	order(5);
	wait_child(pid, 10000);
	shmq_info(q, &info);
	shmq_close(q);
	is_int(shmq_seg_remove(info.shmid), 0, "the persistent channel removed");
}

static int child_asks(void *arg)
{
	return shmq_send_fd(arg) == -ECHILD ? 0 : 1;
}

static void shutdown_and_fork(void)
{
	shmq_t *q;
	int fd;
	pid_t pid = start("sfdshut", 0, &q, &fd), kid;

	fill(q, largest(q));
	ok(!t_readable(fd, 100), "full: not readable");
	is_int(shmq_shutdown(q), 0, "shutdown");
	is_int(shmq_try_send(q, msg, 1), -ESHUTDOWN, "a send fails at once: -ESHUTDOWN");
	kid = spawn(child_asks, q);
	is_int(child_exit_code(wait_child(kid, 10000)), 0, "a fork child gets -ECHILD");
	order(5);
	wait_child(pid, 10000);
	shmq_close(q);
}

/* Wait on @ep up to 10 s: 0 woken, -ETIMEDOUT, or -errno. */
static int park(int ep, long *parks)
{
	struct epoll_event ev;
	int r;

	if (epoll_wait(ep, &ev, 1, 0) == 0)
		(*parks)++;
	do
		r = epoll_wait(ep, &ev, 1, 10000);
	while (r < 0 && errno == EINTR);
	return r == 0 ? -ETIMEDOUT : r < 0 ? -errno : 0;
}

static int loop_set(int fd)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int ep = epoll_create1(EPOLL_CLOEXEC);

	if (ep >= 0 && epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev))
		return -1;
	return ep;
}

static int stream_receiver(void *arg)
{
	struct shmq_options o = { .send_capacity = CAP, .recv_capacity = CAP };
	shmq_t *q = must_open(addr, &o);
	unsigned char buf[CAP];
	uint64_t n = 0;
	size_t len;
	int ep, r = 0;

	(void)arg;
	if (!q || (ep = loop_set(shmq_fd(q))) < 0)
		return 1;
	while (r == 0) {
		r = shmq_try_recv(q, buf, sizeof(buf), &len);
		if (r == -EAGAIN) {
			r = park(ep, &sh->parks[1]);
			continue;
		}
		if (r == 0 && !t_check(buf, len, 7, n, 1500))
			r = -EPROTO;
		n += r == 0;
	}
	if (r != -EPIPE || n != STREAM) {
		diag("[receiver] after %llu: %s", (unsigned long long)n, shmq_strerror(r));
		return 2;
	}
	shmq_close(q);
	return 0;
}

static void stream(void)
{
	struct shmq_options o = { .send_capacity = CAP, .recv_capacity = CAP };
	unsigned char buf[CAP];
	uint64_t n = 0;
	shmq_t *q;
	int ep, r = 0;
	pid_t pid;

	memset(sh, 0, sizeof(*sh));
	addr = tap_name("sfdstream");
	pid = spawn(stream_receiver, NULL);
	q = must_open(addr, &o);
	if (!q || (ep = loop_set(shmq_send_fd(q))) < 0)
		bail_out("open %s", addr);
	while (n < STREAM && r == 0) {
		size_t len = t_len(7, n, 1500);

		t_fill(buf, 7, n, len);
		r = shmq_try_send(q, buf, len);
		if (r == -EAGAIN)
			r = park(ep, &sh->parks[0]);
		else
			n += r == 0;
	}
	is_int(r, 0, "%d messages through a %d-byte ring, each end in an event loop", STREAM, CAP);
	shmq_close(q);
	is_int(child_exit_code(wait_child(pid, 30000)), 0, "the receiver got every one, in order, whole");
	diag("parked in epoll_wait: %ld (sender), %ld (receiver)", sh->parks[0], sh->parks[1]);
	ok(sh->parks[0] > 100, "the sender waited on a full ring many times");
	close(ep);
}

int main(void)
{
	tap_start(180);
	sh = shared_page(4096);
	memset(msg, 'm', sizeof(msg));
	room_and_full();
	death();
	persistent();
	shutdown_and_fork();
	stream();
	return done_testing();
}
