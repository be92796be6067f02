/*
 * Signals and blocking calls.
 *  - A handler that runs every millisecond (SIGALRM) during a stream of
 *    100,000 round trips in every wait mode breaks nothing: blocking calls
 *    resume on their own and every message arrives intact.
 *  - With SHMQ_INTERRUPTIBLE a blocked recv returns -EINTR when a handler
 *    runs, and the channel works afterwards.
 *  - A stop flag set by a handler that ran before the call blocked (the
 *    race a plain EINTR cannot cover) still ends the wait, within 50 ms.
 */
#include <sys/time.h>

#include "chan.h"

static const char *addr;
static volatile sig_atomic_t ticks, stop;

static void on_tick(int sig)
{
	(void)sig;
	ticks++;
}

static void on_stop(int sig)
{
	(void)sig;
	stop = 1;
}

static int echo(void *arg)
{
	struct shmq_options o = { 0 };
	struct itimerval it = { { 0, 1000 }, { 0, 1000 } };
	char buf[256];
	size_t len;
	shmq_t *q;
	int r;

	o.wait = (int)(intptr_t)arg;
	q = must_open(addr, &o);
	if (!q)
		return 1;
	signal(SIGALRM, on_tick);
	setitimer(ITIMER_REAL, &it, NULL);
	while ((r = shmq_recv(q, buf, sizeof(buf), &len)) == 0)
		if ((r = shmq_send(q, buf, len)))
			break;
	shmq_close(q);
	return r == -EPIPE ? 0 : 2;
}

static void storm(int mode, const char *what)
{
	struct shmq_options o = { 0 };
	struct itimerval it = { { 0, 1000 }, { 0, 1000 } }, off = { { 0, 0 }, { 0, 0 } };
	unsigned char out[256], in[256];
	uint64_t i, bad = 0;
	int r = 0;
	size_t len;
	shmq_t *q;
	pid_t pid;

	addr = tap_name("storm");
	pid = spawn(echo, (void *)(intptr_t)mode);
	o.wait = mode;
	q = must_open(addr, &o);
	if (!q)
		bail_out("open");
	ticks = 0;
	signal(SIGALRM, on_tick);
	setitimer(ITIMER_REAL, &it, NULL);
	for (i = 0; i < 100000; i++) {
		size_t l = t_len(1, i, sizeof(out));

		t_fill(out, 1, i, l);
		if ((r = shmq_send(q, out, l)) || (r = shmq_recv(q, in, sizeof(in), &len)))
			break;
		bad += !t_check(in, len, 1, i, sizeof(out));
	}
	setitimer(ITIMER_REAL, &off, NULL);
	shmq_close(q);
	ok(r == 0 && i == 100000 && bad == 0,
	   "%s: 100000 round trips under a 1 kHz signal storm (%d handler runs here), "
	   "all intact", what, (int)ticks);
	is_int(child_exit_code(wait_child(pid, 30000)), 0, "%s: the echo side too", what);
}

static int sender_after(void *arg)
{
	shmq_t *q = must_open(addr, NULL);

	(void)arg;
	if (!q)
		return 1;
	usleep(300000);
	shmq_send(q, "late", 4);
	usleep(200000);
	shmq_close(q);
	return 0;
}

int main(void)
{
	struct shmq_options o = { 0 };
	struct sigaction sa;
	char buf[16];
	size_t len;
	int64_t t0;
	shmq_t *q;
	pid_t pid;
	int r;

	tap_start(120);
	storm(SHMQ_WAIT_HYBRID, "hybrid");
	storm(SHMQ_WAIT_BLOCK, "block");
	storm(SHMQ_WAIT_SPIN, "spin");
	tap_start(120);

	/* Interruptible: a handler's run ends a blocked recv with -EINTR. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_tick;	/* no SA_RESTART */
	sigaction(SIGALRM, &sa, NULL);
	addr = tap_name("intr");
	pid = spawn(sender_after, NULL);
	o.flags = SHMQ_INTERRUPTIBLE;
	o.wait = SHMQ_WAIT_BLOCK;
	q = must_open(addr, &o);
	if (!q)
		bail_out("open");
	/* Not at 50 ms: that is when the wait wakes to check its peer. */
	ualarm(120000, 0);
	t0 = tap_now_ns();
	r = shmq_recv(q, buf, sizeof(buf), &len);
	is_int(r, -EINTR, "SHMQ_INTERRUPTIBLE: a blocked recv returns -EINTR when a handler runs");
	ok(tap_now_ns() - t0 < 250000000, "  at the signal, not later");
	r = shmq_recv(q, buf, sizeof(buf), &len);
	ok(r == 0 && len == 4 && !memcmp(buf, "late", 4), "  and the next recv gets the message");
	shmq_close(q);
	wait_child(pid, 10000);

	/* The stop flag: set by a handler before the wait even began. */
	sa.sa_handler = on_stop;
	sigaction(SIGUSR1, &sa, NULL);
	memset(&o, 0, sizeof(o));
	o.stop = &stop;
	addr = tap_name("stop");
	raise(SIGUSR1);		/* the handler runs now, while nothing blocks */
	t0 = tap_now_ns();
	r = shmq_open(addr, &o, &q);
	is_int(r, -EINTR, "a stop flag set before open's wait: -EINTR");
	ok(tap_now_ns() - t0 < 100000000, "  at once (%.1f ms)", (tap_now_ns() - t0) / 1e6);
	{
		struct shmq_addr a;
		int id;

		shmq_addr_parse(addr, &a);
		is_int(shmq_seg_open(&a, &id), -ENOENT, "  and no segment is left");
	}
	stop = 0;
	pid = spawn(sender_after, NULL);
	q = must_open(addr, &o);
	if (!q)
		bail_out("open");
	stop = 1;
	t0 = tap_now_ns();
	r = shmq_recv(q, buf, sizeof(buf), &len);
	is_int(r, -EINTR, "a stop flag already set ends a blocked recv: -EINTR");
	ok(tap_now_ns() - t0 < 100000000, "  within 100 ms (%.1f ms)", (tap_now_ns() - t0) / 1e6);
	stop = 0;
	r = shmq_recv(q, buf, sizeof(buf), &len);
	ok(r == 0 && len == 4, "  and once cleared, the channel carries on");
	shmq_close(q);
	wait_child(pid, 10000);
	return done_testing();
}
