/*
 * Liveness never needs a new descriptor, and never guesses.
 *
 * 1. A receiver whose every descriptor slot is taken, blocked in recv with
 *    no timeout, whose sender (its own child) is killed and left an
 *    unreaped zombie: it gets the committed messages, then -ECONNRESET,
 *    and can reap its child.  Opening /proc or a pidfd then would fail
 *    with EMFILE, and kill(pid, 0) calls a zombie alive: the watch it
 *    holds since the open is what tells.
 * 2. Opening with no descriptor to spare fails at once with -EMFILE, as
 *    the creator and as the joiner of a waiting creator, and leaves no
 *    segment; the waiting creator is not disturbed and pairs with the
 *    next joiner.
 */
#include <fcntl.h>
#include <sys/resource.h>

#include "chan.h"

struct shared {
	int sent;
	int got, result, reaped;
};

static struct shared *sh;
static const char *addr;

/* Take every free descriptor slot; returns how many were taken. */
static int exhaust_fds(void)
{
	int n = 0;

	while (open("/dev/null", O_RDONLY | O_CLOEXEC) >= 0)
		n++;
	return n;
}

static int sender(void *arg)
{
	shmq_t *q = must_open(addr, NULL);

	(void)arg;
	if (!q)
		return 1;
	shmq_send(q, "one", 3);
	shmq_send(q, "two", 3);
	__atomic_store_n(&sh->sent, 1, __ATOMIC_RELEASE);
	for (;;)
		pause();
}

static int receiver(void *arg)
{
	struct rlimit rl = { 64, 64 };
	char buf[16];
	size_t len;
	shmq_t *q;
	pid_t child;
	int r, st;

	(void)arg;
	setrlimit(RLIMIT_NOFILE, &rl);
	child = spawn(sender, NULL);
	*(pid_t *)(void *)((char *)sh + 512) = child;
	q = must_open(addr, NULL);
	if (!q)
		return 1;
	exhaust_fds();
	while ((r = shmq_recv(q, buf, sizeof(buf), &len)) == 0)
		sh->got++;
	sh->result = r;
	/* Only now that recv has returned can this parent reap its child. */
	sh->reaped = waitpid(child, &st, 0) == child;
	shmq_close(q);
	return 0;
}

static int waiting_creator(void *arg)
{
	struct shmq_options o = { 0 };
	shmq_t *q;

	(void)arg;
	o.open_timeout_ms = 20000;
	q = must_open(addr, &o);
	if (!q)
		return 1;
	shmq_close(q);
	return 0;
}

/* Open with no descriptor to spare: -EMFILE, explained. */
static int starved_open(void *arg)
{
	struct shmq_options o = { 0 };
	char err[256] = "";
	shmq_t *q;
	int r;

	(void)arg;
	o.open_timeout_ms = 2000;
	o.errbuf = err;
	o.errbuf_size = sizeof(err);
	exhaust_fds();
	r = shmq_open(addr, &o, &q);
	if (r == 0)
		shmq_close(q);
	printf("#   starved open: %s (%s)\n", shmq_strerror(r), err);
	return r == -EMFILE ? 0 : 10 + (r < 0 ? -r : r);
}

static int any_segment_at(const char *name)
{
	struct shmq_addr a;
	int id;

	shmq_addr_parse(name, &a);
	return shmq_seg_open(&a, &id) == 0;
}

int main(void)
{
	pid_t rcv, kid, cr;
	int64_t t0;

	tap_start(60);
	sh = shared_page(4096);

	/* 1. */
	addr = tap_name("nofd");
	rcv = spawn(receiver, NULL);
	t0 = tap_now_ns();
	while (!__atomic_load_n(&sh->sent, __ATOMIC_ACQUIRE) && tap_now_ns() - t0 < 10000000000LL)
		usleep(1000);
	while (sh->got < 2 && tap_now_ns() - t0 < 10000000000LL)
		usleep(1000);
	usleep(100000);		/* the receiver is blocked in recv by now */
	kid = *(pid_t *)(void *)((char *)sh + 512);
	kill(kid, SIGKILL);
	ok(child_exit_code(wait_child(rcv, 10000)) == 0,
	   "a receiver out of descriptors, whose sender became a zombie, returns");
	is_int(sh->got, 2, "  with both committed messages");
	is_int(sh->result, -ECONNRESET, "  then the peer's death");
	ok(sh->reaped, "  and can reap its child");

	/* 2. */
	addr = tap_name("nofd-open");
	ok(child_exit_code(wait_child(spawn(starved_open, NULL), 10000)) == 0,
	   "a creator with no descriptor to spare: -EMFILE at once");
	ok(!any_segment_at(addr), "  and no segment is left");
	cr = spawn(waiting_creator, NULL);
	t0 = tap_now_ns();
	while (!any_segment_at(addr) && tap_now_ns() - t0 < 5000000000LL)
		usleep(1000);
	ok(child_exit_code(wait_child(spawn(starved_open, NULL), 10000)) == 0,
	   "a joiner with no descriptor to spare: -EMFILE, nothing claimed");
	ok(child_exit_code(wait_child(spawn(waiting_creator, NULL), 10000)) == 0 &&
	   child_exit_code(wait_child(cr, 10000)) == 0,
	   "  the waiting creator pairs with the next joiner");
	ok(!any_segment_at(addr), "  and nothing is left");
	return done_testing();
}
