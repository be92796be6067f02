/*
 * Two processes that share the IPC namespace but not the network one (a
 * `docker run --ipc=host` container with its own network): blocking calls
 * work (the futex is in the shared segment), and an event loop's
 * descriptor either is woken for every message or is refused with a clear
 * error, never left asleep with messages queued.  An event loop's wake is
 * a datagram to an abstract socket, which exists only in the network
 * namespace that made it: shmq_fd(), shmq_send_fd() and shmq_hub_fd()
 * refuse (-EXDEV) a peer in another one, and a peer from another one is
 * refused when it would join an end that waits in an event loop.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "chan.h"

struct board {
	int step, done;		/* the parent's orders to the event loop */
	int fd_r, send_fd_r;	/* what shmq_fd / shmq_send_fd said */
	int open_r;
	int got;		/* messages received */
	int stalls;		/* polls that timed out with a message queued */
	int64_t woke_ms;	/* how long the last poll took */
	char msg[64];
	char err[256];
};

static struct board *b;
static char pair_name[64], pers_name[64], hub_name[64], hub2_name[64];

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Move this process to a network namespace of its own. */
static int elsewhere(void)
{
	return unshare(CLONE_NEWNET) ? -errno : 0;
}

/* 1. A pair: the receiver on the host, the sender in another netns. */
static int pair_receiver(void *arg)
{
	struct shmq_options o = { .flags = SHMQ_RECEIVER, .open_timeout_ms = 20000 };
	char buf[64];
	size_t n;
	shmq_t *q = must_open(pair_name, &o);

	(void)arg;
	if (!q)
		return 1;
	b->fd_r = shmq_fd(q);
	__atomic_store_n(&b->done, 1, __ATOMIC_RELEASE);
	if (shmq_recv_timed(q, buf, sizeof(buf) - 1, &n, 20000000000LL) == 0) {
		buf[n] = '\0';
		snprintf(b->msg, sizeof(b->msg), "%s", buf);
	}
	shmq_close(q);
	return 0;
}

static int pair_sender(void *arg)
{
	struct shmq_options o = { .flags = SHMQ_SENDER, .open_timeout_ms = 20000 };
	shmq_t *q;

	(void)arg;
	if (elsewhere())
		return 3;
	q = must_open(pair_name, &o);
	if (!q)
		return 1;
	b->send_fd_r = shmq_send_fd(q);
	/* Attached until the receiver has asked for its descriptor. */
	for (int i = 0; i < 20000 && !__atomic_load_n(&b->done, __ATOMIC_ACQUIRE); i++)
		usleep(1000);
	shmq_send(q, "across", 6);
	shmq_close(q);
	return 0;
}

/*
 * 2. A persistent receiver in an event loop: take messages as the
 * descriptor says, until @want of them, or 20 s.
 */
static int loop_receiver(void *arg)
{
	struct shmq_options o = { .flags = SHMQ_RECEIVER | SHMQ_PERSISTENT };
	int want = *(int *)arg, fd;
	shmq_t *q = must_open(pers_name, &o);
	int64_t end = now_ms() + 20000;

	if (!q)
		return 1;
	fd = b->fd_r = shmq_fd(q);
	__atomic_store_n(&b->done, 1, __ATOMIC_RELEASE);
	while (fd >= 0 && b->got < want && now_ms() < end) {
		const void *p;
		size_t len;
		int64_t t0 = now_ms();
		int ready = t_readable(fd, 3000), found = 0;

		b->woke_ms = now_ms() - t0;
		while (shmq_peek(q, &p, &len, 0) == 0) {
			found++;
			shmq_release(q);
		}
		b->got += found;
		/* Found only after the poll gave up: a lost wake. */
		if (!ready && found)
			b->stalls++;
	}
	shmq_close(q);
	return 0;
}

static int pers_sender(void *arg)
{
	struct shmq_options o = { .flags = SHMQ_SENDER | SHMQ_PERSISTENT,
				  .errbuf = b->err, .errbuf_size = sizeof(b->err) };
	int away = *(int *)arg;
	shmq_t *q;

	if (away && elsewhere())
		return 3;
	b->open_r = shmq_open(pers_name, &o, &q);
	if (b->open_r)
		return 0;
	shmq_send(q, "hello", 5);
	shmq_close(q);
	return 0;
}

/* 3. Hubs. */
static int hub_client(void *arg)
{
	struct shmq_options o = { .open_timeout_ms = 20000, .errbuf = b->err,
				  .errbuf_size = sizeof(b->err) };
	const char *name = arg;
	shmq_t *q;

	if (elsewhere())
		return 3;
	b->open_r = shmq_open(name, &o, &q);
	if (b->open_r)
		return 0;
	shmq_send(q, "hi", 2);
	/* Stay until told, so the server sees a live client. */
	t_next_order(&b->step, 0);
	shmq_close(q);
	return 0;
}

static int reap(pid_t pid)
{
	int st;

	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void remove_persistent(void)
{
	struct shmq_addr a;
	int id;

	if (shmq_addr_parse(pers_name, &a) == 0 && shmq_seg_open(&a, &id) == 0)
		shmq_seg_remove(id);
}

int main(void)
{
	pid_t r, s;
	int want = 1, away = 1, here = 0, rc;
	shmq_hub_t *hub;
	shmq_t *c;

	tap_start(120);
	if (unshare(0) || geteuid() != 0) {
		skip_all("making a network namespace needs root");
		return 0;
	}
	b = shared_page(sizeof(*b));
	snprintf(pair_name, sizeof(pair_name), "t-netns-pair-%d", (int)getpid());
	snprintf(pers_name, sizeof(pers_name), "t-netns-pers-%d", (int)getpid());
	snprintf(hub_name, sizeof(hub_name), "t-netns-hub-%d", (int)getpid());
	snprintf(hub2_name, sizeof(hub2_name), "t-netns-hub2-%d", (int)getpid());

	/* 1 */
	r = spawn(pair_receiver, NULL);
	usleep(100000);
	s = spawn(pair_sender, NULL);
	rc = reap(s);
	if (rc == 3) {
		reap(r);
		skip_all("unshare(CLONE_NEWNET) is refused here");
		return 0;
	}
	reap(r);
	ok(b->fd_r == -EXDEV, "pair across network namespaces: shmq_fd() refuses: %s",
	   shmq_strerror(b->fd_r));
	ok(b->send_fd_r == -EXDEV, "  and so does shmq_send_fd() on the other side (%d)",
	   b->send_fd_r);
	ok(strcmp(b->msg, "across") == 0, "  blocking calls still carry the message ('%s')",
	   b->msg);

	/* 2 */
	memset(b, 0, sizeof(*b));
	r = spawn(loop_receiver, &want);
	for (int i = 0; i < 20000 && !__atomic_load_n(&b->done, __ATOMIC_ACQUIRE); i++)
		usleep(1000);
	ok(b->fd_r >= 0, "a persistent receiver waits in an event loop (shmq_fd %d)", b->fd_r);
	s = spawn(pers_sender, &away);
	reap(s);
	ok(b->open_r == -EXDEV, "a sender from another network namespace is refused: %s",
	   shmq_strerror(b->open_r));
	ok(strstr(b->err, "network namespace") != NULL, "  saying why: %s", b->err);
	s = spawn(pers_sender, &here);
	reap(s);
	reap(r);
	ok(b->open_r == 0 && b->got == 1, "a sender from its own network namespace wakes it (%d received)",
	   b->got);
	ok(b->stalls == 0 && b->woke_ms < 3000, "  with no poll left asleep over a queued message "
	   "(%d stalls; the last wake took %lld ms)", b->stalls, (long long)b->woke_ms);
	remove_persistent();

	/* 3a: the server waits on its descriptor before the client comes. */
	memset(b, 0, sizeof(*b));
	if (shmq_hub_open(hub_name, NULL, &hub) == 0) {
		int fd = shmq_hub_fd(hub);

		s = spawn(hub_client, hub_name);
		reap(s);
		ok(fd >= 0 && b->open_r == -EXDEV, "a hub client from another network namespace "
		   "is refused by a server in an event loop: %s", shmq_strerror(b->open_r));
		ok(strstr(b->err, "network namespace") != NULL, "  saying why: %s", b->err);
		shmq_hub_close(hub);
	} else {
		ok(0, "hub_open");
		ok(0, "hub_open");
	}

	/* 3b: the client is in first; then the server asks for a descriptor. */
	memset(b, 0, sizeof(*b));
	if (shmq_hub_open(hub2_name, NULL, &hub) == 0) {
		int got = 0, fd;

		s = spawn(hub_client, hub2_name);
		for (int i = 0; i < 200 && !got; i++)
			got = shmq_hub_wait(hub, &c, 100000000LL) == 0;
		fd = shmq_hub_fd(hub);
		ok(got && fd == -EXDEV, "a client from another network namespace served by "
		   "blocking waits (%s); then shmq_hub_fd() refuses: %s", got ? "served" : "not served",
		   shmq_strerror(fd));
		t_order(&b->step, &b->step, 1);
		reap(s);
		shmq_hub_close(hub);
	} else {
		ok(0, "hub_open");
	}
	return done_testing();
}
