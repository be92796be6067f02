/*
 * Clean close: the peer first receives every committed message, then end
 * of stream (-EPIPE).  Abandon: the same, then -ECONNABORTED.  Shutdown:
 * end of stream for the peer while the shut end still receives.
 */
#include "chan.h"

#define K 5000

struct shared {
	int closed;
};

static struct shared *sh;
static const char *addr;
static int how;

static int sender(void *arg)
{
	unsigned char buf[300];
	shmq_t *q = must_open(addr, NULL);
	int i;

	(void)arg;
	if (!q)
		return 1;
	for (i = 0; i < K; i++) {
		size_t len = t_len(3, (uint64_t)i, sizeof(buf));

		t_fill(buf, 3, (uint64_t)i, len);
		if (shmq_send(q, buf, len))
			return 2;
	}
	if (how == 0)
		shmq_close(q);
	else
		shmq_abandon(q);
	__atomic_store_n(&sh->closed, 1, __ATOMIC_RELEASE);
	return 0;
}

static void drain(const char *what, int want_end)
{
	unsigned char buf[300];
	int n = 0, bad = 0, r, i;
	size_t len;
	shmq_t *q;
	pid_t pid;

	memset(sh, 0, sizeof(*sh));
	addr = tap_name("close");
	pid = spawn(sender, NULL);
	q = must_open(addr, NULL);
	if (!q)
		bail_out("open");
	/* Start reading only once the sender has gone. */
	for (i = 0; i < 10000 && !__atomic_load_n(&sh->closed, __ATOMIC_ACQUIRE); i++)
		usleep(1000);
	ok(sh->closed, "%s: the sender sent %d and left", what, K);
	while ((r = shmq_recv_timed(q, buf, sizeof(buf), &len, 5000000000LL)) == 0) {
		if (!t_check(buf, len, 3, (uint64_t)n, sizeof(buf)))
			bad++;
		n++;
	}
	is_int(n, K, "%s: all %d committed messages arrive first", what, K);
	is_int(bad, 0, "%s: intact and in order", what);
	is_int(r, want_end, "%s: then %s", what, shmq_strerror(want_end));
	is_int(child_exit_code(wait_child(pid, 10000)), 0, "%s: sender exited cleanly", what);
	shmq_close(q);
}

static int half_closer(void *arg)
{
	char buf[16];
	size_t len;
	shmq_t *q = must_open(addr, NULL);
	int r;

	(void)arg;
	if (!q)
		return 1;
	shmq_send(q, "a", 1);
	shmq_shutdown(q);
	if (shmq_send(q, "b", 1) != -ESHUTDOWN)
		return 2;
	/* Still receiving after the shutdown. */
	r = shmq_recv(q, buf, sizeof(buf), &len);
	if (r || len != 5 || memcmp(buf, "reply", 5))
		return 3;
	r = shmq_recv(q, buf, sizeof(buf), &len);
	shmq_close(q);
	return r == -EPIPE ? 0 : 4;
}

int main(void)
{
	char buf[16];
	size_t len;
	shmq_t *q;
	pid_t pid;
	int r;

	tap_start(60);
	sh = shared_page(4096);
	how = 0;
	drain("close", -EPIPE);
	how = 1;
	drain("abandon", -ECONNABORTED);

	addr = tap_name("half");
	pid = spawn(half_closer, NULL);
	q = must_open(addr, NULL);
	if (!q)
		bail_out("open");
	r = shmq_recv(q, buf, sizeof(buf), &len);
	ok(r == 0 && len == 1 && buf[0] == 'a', "shutdown: what was sent before arrives");
	is_int(shmq_recv(q, buf, sizeof(buf), &len), -EPIPE, "  then end of stream");
	is_int(shmq_send(q, "reply", 5), 0, "  the shut end still receives our reply");
	shmq_shutdown(q);
	is_int(child_exit_code(wait_child(pid, 10000)), 0,
	       "  and it saw: -ESHUTDOWN on its own send, the reply, then our end of stream");
	shmq_close(q);
	return done_testing();
}
