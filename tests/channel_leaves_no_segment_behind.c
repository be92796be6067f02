/*
 * Segments never leak: after a pair closes, after both ends are SIGKILLed,
 * after a creator gives up waiting or is interrupted.  A creator killed
 * before anyone joined leaves a stale segment; the next opener removes it
 * and starts afresh.  Once a pair has formed its address is free at once,
 * so a third opener starts a new pair.
 */
#include <signal.h>

#include "chan.h"

struct shared {
	int shmid[4];
	int ready[4];
	int result[4];
};

static struct shared *sh;
static const char *addr;

static int holder(void *arg)
{
	int i = (int)(intptr_t)arg;
	struct shmq_info info;
	shmq_t *q = must_open(addr, NULL);

	if (!q)
		return 1;
	shmq_info(q, &info);
	sh->shmid[i] = info.shmid;
	__atomic_store_n(&sh->ready[i], 1, __ATOMIC_RELEASE);
	for (;;)
		pause();
}

static int closer(void *arg)
{
	int i = (int)(intptr_t)arg;
	struct shmq_info info;
	shmq_t *q = must_open(addr, NULL);

	if (!q)
		return 1;
	shmq_info(q, &info);
	sh->shmid[i] = info.shmid;
	shmq_send(q, "x", 1);
	shmq_close(q);
	return 0;
}

static void wait_ready(int i)
{
	int n;

	for (n = 0; n < 10000 && !__atomic_load_n(&sh->ready[i], __ATOMIC_ACQUIRE); n++)
		usleep(1000);
}

static void on_alarm(int sig)
{
	(void)sig;
}

int main(void)
{
	struct shmq_options o = { 0 };
	struct shmq_seg_info info;
	struct shmq_addr a;
	struct shmq_info qi;
	char buf[8];
	size_t len;
	int id, r;
	pid_t p1, p2;
	shmq_t *q;

	tap_start(60);
	sh = shared_page(4096);

	/* 1. A pair closes. */
	addr = tap_name("leak");
	p1 = spawn(closer, (void *)0);
	p2 = spawn(closer, (void *)1);
	wait_child(p1, 10000);
	wait_child(p2, 10000);
	ok(sh->shmid[0] == sh->shmid[1] && sh->shmid[0] > 0, "a pair shares one segment");
	ok(!segment_exists(sh->shmid[0]), "after both close, the segment is gone");

	/* 2. Both ends SIGKILLed. */
	memset(sh, 0, sizeof(*sh));
	addr = tap_name("leak");
	p1 = spawn(holder, (void *)0);
	p2 = spawn(holder, (void *)1);
	wait_ready(0);
	wait_ready(1);
	ok(segment_exists(sh->shmid[0]), "a live pair's segment exists");
	shmq_seg_stat(sh->shmid[0], &info);
	ok(info.removed, "  already marked for removal once both attached");
	shmq_addr_parse(addr, &a);
	is_int(shmq_seg_open(&a, &id), -ENOENT, "  and no longer holds its address");
	kill(p1, SIGKILL);
	kill(p2, SIGKILL);
	waitpid(p1, NULL, 0);
	waitpid(p2, NULL, 0);
	ok(!segment_exists(sh->shmid[0]), "after kill -9 of both, the segment is gone");

	/* 3. A creator gives up waiting. */
	addr = tap_name("leak");
	o.open_timeout_ms = 100;
	r = shmq_open(addr, &o, &q);
	is_int(r, -ETIMEDOUT, "a creator with no peer times out: -ETIMEDOUT");
	shmq_addr_parse(addr, &a);
	is_int(shmq_seg_open(&a, &id), -ENOENT, "  and removes its segment");

	/* 4. A creator interrupted by a signal, when asked to be. */
	{
		struct sigaction sa = { 0 };

		sa.sa_handler = on_alarm;
		sigaction(SIGALRM, &sa, NULL);
		memset(&o, 0, sizeof(o));
		o.flags = SHMQ_INTERRUPTIBLE;
		ualarm(100000, 0);
		r = shmq_open(addr, &o, &q);
		is_int(r, -EINTR, "an interruptible creator returns -EINTR on a signal");
		is_int(shmq_seg_open(&a, &id), -ENOENT, "  and removes its segment");
		tap_start(60);
	}

	/* 5. A creator killed before anyone joined. */
	memset(sh, 0, sizeof(*sh));
	addr = tap_name("leak");
	shmq_addr_parse(addr, &a);
	p1 = spawn(holder, (void *)0);
	for (r = 0; r < 5000 && shmq_seg_open(&a, &id); r++)
		usleep(1000);
	usleep(20000);
	kill(p1, SIGKILL);
	waitpid(p1, NULL, 0);
	ok(segment_exists(id), "a creator killed while waiting leaves its segment");
	p2 = spawn(closer, (void *)1);
	memset(&o, 0, sizeof(o));
	q = must_open(addr, &o);
	ok(q != NULL, "the next openers pair up anyway");
	ok(!segment_exists(id), "  the stale segment was removed");
	if (q) {
		shmq_info(q, &qi);
		ok(qi.shmid != id, "  and a new one made");
		r = shmq_recv(q, buf, sizeof(buf), &len);
		ok(r == 0 && len == 1, "  which works");
		shmq_close(q);
	}
	wait_child(p2, 10000);

	/* 6. A third opener starts a new pair. */
	memset(sh, 0, sizeof(*sh));
	addr = tap_name("leak");
	p1 = spawn(holder, (void *)0);
	p2 = spawn(holder, (void *)1);
	wait_ready(0);
	wait_ready(1);
	{
		pid_t p3 = spawn(holder, (void *)2);
		pid_t p4 = spawn(holder, (void *)3);

		wait_ready(2);
		wait_ready(3);
		ok(sh->ready[2] && sh->ready[3] && sh->shmid[2] == sh->shmid[3] &&
		   sh->shmid[2] != sh->shmid[0],
		   "a third and fourth opener form a new pair beside the live one");
		kill(p3, SIGKILL);
		kill(p4, SIGKILL);
		waitpid(p3, NULL, 0);
		waitpid(p4, NULL, 0);
	}
	kill(p1, SIGKILL);
	kill(p2, SIGKILL);
	waitpid(p1, NULL, 0);
	waitpid(p2, NULL, 0);
	ok(!segment_exists(sh->shmid[0]) && !segment_exists(sh->shmid[2]),
	   "both pairs' segments are gone after their processes");
	return done_testing();
}
