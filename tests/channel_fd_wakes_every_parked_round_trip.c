/*
 * No lost wake-up through shmq_fd(): two processes ping-pong 250,000
 * times, each receiving only through its descriptor (try_recv until
 * -EAGAIN, then epoll_wait), so that nearly every message finds its
 * receiver parked in the kernel.  A lost wake-up would leave both asleep:
 * epoll_wait's 10 s deadline turns that into a failure, not a hang, and
 * no periodic check hides it.  Every message is the next number.
 */
#include <sys/epoll.h>

#include "chan.h"
#include "internal.h"

#ifndef ROUNDS
#define ROUNDS 250000
#endif

struct shared {
	long parks[2];	/* epoll_waits that found nothing ready at first */
	int lost;	/* a 10 s wait that no wake-up ended */
};

static struct shared *sh;
static const char *addr;

/* The next number from @q, waiting in epoll: 0, or -errno / -ETIMEDOUT. */
static int next(shmq_t *q, int ep, uint64_t *got, long *parks)
{
	struct epoll_event ev;
	size_t len;
	int r;

	for (;;) {
		r = shmq_try_recv(q, got, sizeof(*got), &len);
		if (r != -EAGAIN)
			return r ? r : len == sizeof(*got) ? 0 : -EPROTO;
		if (epoll_wait(ep, &ev, 1, 0) == 0)
			(*parks)++;	/* a real sleep follows */
		r = epoll_wait(ep, &ev, 1, 10000);
		if (r == 0)
			return -ETIMEDOUT;
		if (r < 0 && errno != EINTR)
			return -errno;
	}
}

static int loop_on(shmq_t *q, int who)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int ep = epoll_create1(EPOLL_CLOEXEC), fd = shmq_fd(q), r = 0;
	uint64_t i, got;

	if (ep < 0 || fd < 0)
		return -EMFILE;
	epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
	for (i = 0; i < ROUNDS && r == 0; i++) {
		if (who == 0 && (r = shmq_send(q, &i, sizeof(i))))
			break;
		r = next(q, ep, &got, &sh->parks[who]);
		if (r == 0 && got != i)
			r = -EPROTO;
		if (r == 0 && who == 1)
			r = shmq_send(q, &i, sizeof(i));
	}
	if (r == -ETIMEDOUT)
		sh->lost = 1;
	if (r)
		diag("[%s] round %llu: %s", who ? "echo" : "ping", (unsigned long long)i,
		     shmq_strerror(r));
	close(ep);
	return r;
}

static int echo(void *arg)
{
	shmq_t *q = must_open(addr, NULL);
	int r;

	(void)arg;
	if (!q)
		return 1;
	r = loop_on(q, 1);
	shmq_close(q);
	return r ? 2 : 0;
}

int main(void)
{
	int64_t t0;
	shmq_t *q;
	pid_t pid;
	int r;

	tap_start(240);
	sh = shared_page(4096);
	addr = tap_name("fdwake");
	pid = spawn(echo, NULL);
	q = must_open(addr, NULL);
	if (!q)
		bail_out("open");
	t0 = shmq_now_ns();
	r = loop_on(q, 0);
	is_int(r, 0, "%d round trips, each side woken only through its descriptor", ROUNDS);
	ok(!sh->lost, "no wake-up lost (none waited 10 s)");
	is_int(child_exit_code(wait_child(pid, 30000)), 0, "the echo got every number in order");
	diag("%.1f s; parked in epoll_wait: %ld (ping), %ld (echo)",
	     (shmq_now_ns() - t0) / 1e9, sh->parks[0], sh->parks[1]);
	/*
	 * The point is that the parked path was taken often, so that "no
	 * wake lost" means something.  How often depends on the machine's
	 * state: 92k-94k of the 500k messages in its fast state, 160k-230k
	 * in its slow one (both seen in one hour); a quarter failed in the
	 * fast one.  A twentieth is still tens of thousands of parks.
	 */
	ok(sh->parks[0] + sh->parks[1] > ROUNDS / 10,
	   "a twentieth or more of the messages found their receiver parked");
	shmq_close(q);
	return done_testing();
}
