/*
 * SIGKILL the peer while the survivor is blocked in recv (in each wait
 * mode), and while it is blocked in send on a full ring.  The survivor
 * gets every committed message, then -ECONNRESET, within 2 s (a bound
 * generous enough that noise cannot fail it; the measured time is
 * reported, and the design promises 100 ms).  The dead peer stays an
 * unreaped zombie meanwhile, as kill(pid, 0) would call it alive.  A call
 * made after the death learns of it at once.
 */
#include <signal.h>

#include "chan.h"

#define K 1000

struct shared {
	int committed;		/* victim: messages committed */
	int blocked;		/* survivor: about to block */
	int received, bad, result, later;
	int64_t killed_at, noticed_at, later_ns;
};

static struct shared *sh;
static const char *addr;
static int survivor_mode;

static int victim_sender(void *arg)
{
	unsigned char buf[256];
	shmq_t *q = must_open(addr, NULL);
	int i;

	(void)arg;
	if (!q)
		return 1;
	for (i = 0; i < K; i++) {
		size_t len = t_len(7, (uint64_t)i, sizeof(buf));

		t_fill(buf, 7, (uint64_t)i, len);
		if (shmq_send(q, buf, len))
			return 2;
		__atomic_store_n(&sh->committed, i + 1, __ATOMIC_RELEASE);
	}
	for (;;)
		pause();
}

static int survivor_receiver(void *arg)
{
	struct shmq_options o = { 0 };
	unsigned char buf[256];
	size_t len;
	shmq_t *q;
	int r;

	(void)arg;
	o.wait = survivor_mode;
	q = must_open(addr, &o);
	if (!q)
		return 1;
	/* Take the committed messages slowly, so some are still queued. */
	while (__atomic_load_n(&sh->committed, __ATOMIC_ACQUIRE) < K)
		usleep(1000);
	for (;;) {
		if (sh->received == K)
			__atomic_store_n(&sh->blocked, 1, __ATOMIC_RELEASE);
		r = shmq_recv(q, buf, sizeof(buf), &len);
		if (r)
			break;
		if (!t_check(buf, len, 7, (uint64_t)sh->received, sizeof(buf)))
			sh->bad++;
		sh->received++;
	}
	sh->noticed_at = tap_now_ns();
	sh->result = r;
	/* Later calls learn it at once, with no wait. */
	{
		int64_t t0 = tap_now_ns();

		sh->later = shmq_try_recv(q, buf, sizeof(buf), &len);
		sh->later_ns = tap_now_ns() - t0;
	}
	shmq_close(q);
	return 0;
}

static int victim_idle(void *arg)
{
	shmq_t *q = must_open(addr, NULL);

	(void)arg;
	if (!q)
		return 1;
	for (;;)
		pause();
}

static int survivor_sender(void *arg)
{
	struct shmq_options o = { 0 };
	char buf[100] = { 0 };
	shmq_t *q;
	int r;

	(void)arg;
	o.send_capacity = o.recv_capacity = 8192;
	q = must_open(addr, &o);
	if (!q)
		return 1;
	while ((r = shmq_try_send(q, buf, sizeof(buf))) == 0)
		sh->received++;	/* here: messages that fit */
	__atomic_store_n(&sh->blocked, 1, __ATOMIC_RELEASE);
	r = shmq_send(q, buf, sizeof(buf));
	sh->noticed_at = tap_now_ns();
	sh->result = r;
	shmq_close(q);
	return 0;
}

/* Not in any call when the peer dies: the first try_recv after it says so. */
static int survivor_idle(void *arg)
{
	char buf[16];
	size_t len;
	shmq_t *q = must_open(addr, NULL);

	(void)arg;
	if (!q)
		return 1;
	/* A try call before the death, so the next one is soon after it. */
	sh->later = shmq_try_recv(q, buf, sizeof(buf), &len);
	__atomic_store_n(&sh->blocked, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&sh->killed_at, __ATOMIC_ACQUIRE))
		usleep(1000);
	usleep(20000);		/* the kill has landed (the victim is a zombie) */
	sh->result = shmq_try_recv(q, buf, sizeof(buf), &len);
	sh->noticed_at = tap_now_ns();
	shmq_close(q);
	return 0;
}

static void run(const char *what, int (*survivor)(void *), int (*victim)(void *))
{
	pid_t s, v;
	int i, status;
	int64_t t;
	double ms;

	memset(sh, 0, sizeof(*sh));
	addr = tap_name("death");
	s = spawn(survivor, NULL);
	v = spawn(victim, NULL);
	for (i = 0; i < 10000 && !__atomic_load_n(&sh->blocked, __ATOMIC_ACQUIRE); i++)
		usleep(1000);
	usleep(100000);		/* let it settle into its wait */
	/*
	 * The time is read before the kill and published after it: the
	 * survivor may notice while this process is still between the two
	 * (preempted, under load), and a survivor that waits for the flag
	 * must find the kill done.
	 */
	t = tap_now_ns();
	kill(v, SIGKILL);
	__atomic_store_n(&sh->killed_at, t, __ATOMIC_RELEASE);
	/* The victim stays a zombie until the survivor has reported. */
	status = wait_child(s, 10000);
	waitpid(v, NULL, 0);
	ms = (sh->noticed_at - sh->killed_at) / 1e6;
	is_int(child_exit_code(status), 0, "%s: the survivor finished", what);
	is_int(sh->result, -ECONNRESET, "%s: -ECONNRESET", what);
	ok(sh->noticed_at > sh->killed_at && ms < 2000,
	   "%s: noticed within 2 s of the kill", what);
	diag("%s: death noticed %.1f ms after SIGKILL", what, ms);
}

int main(void)
{
	tap_start(120);
	sh = shared_page(4096);

	survivor_mode = SHMQ_WAIT_HYBRID;
	run("blocked in recv (hybrid)", survivor_receiver, victim_sender);
	is_int(sh->received, K, "  every committed message was received first (%d)", K);
	is_int(sh->bad, 0, "  all intact, in order");
	is_int(sh->later, -ECONNRESET, "  a later try_recv says -ECONNRESET");
	ok(sh->later_ns < 10000000, "  at once (%.3f ms)", sh->later_ns / 1e6);

	survivor_mode = SHMQ_WAIT_SPIN;
	run("blocked in recv (spin)", survivor_receiver, victim_sender);
	is_int(sh->received, K, "  every committed message was received first");

	survivor_mode = SHMQ_WAIT_BLOCK;
	run("blocked in recv (block)", survivor_receiver, victim_sender);
	is_int(sh->received, K, "  every committed message was received first");

	run("in no call at all", survivor_idle, victim_idle);
	is_int(sh->later, -EAGAIN, "  a try_recv before the death: -EAGAIN");

	run("blocked in send on a full ring", survivor_sender, victim_idle);
	ok(sh->received > 10, "  the ring had filled (%d messages)", sh->received);
	return done_testing();
}
