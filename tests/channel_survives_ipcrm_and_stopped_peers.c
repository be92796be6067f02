/*
 * Foreign hands on a live channel.
 *  - ipcrm -m on a streaming pair, and on a streaming persistent channel:
 *    both ends carry on, every message arrives intact, and once they close
 *    nothing is left.
 *  - ipcrm -m on a creator still waiting for its peer: the address is free,
 *    two new openers pair up, and the creator, which waits with no
 *    timeout, notices that nobody can find it any more: -EIDRM.
 *  - A stopped peer (SIGSTOP) is alive: shmq stat calls it stopped, not
 *    dead; a blocked call meets its deadline (-ETIMEDOUT, not a false
 *    death); after SIGCONT the channel carries on.
 */
#include <signal.h>

#include "chan.h"

#define N 300000

struct shared {
	int shmid;
	int ready;
	uint64_t received, bad;
	int end;
};

static struct shared *sh;
static const char *addr;
static unsigned flags;

/* ipcrm itself where it is installed, else the same system call. */
static int ipcrm(int shmid)
{
	char cmd[64];

	snprintf(cmd, sizeof(cmd), "ipcrm -m %d 2>/dev/null", shmid);
	if (system("command -v ipcrm >/dev/null 2>&1") == 0)
		return system(cmd) == 0 ? 0 : -1;
	return shmq_seg_remove(shmid);
}

static int streamer(void *arg)
{
	struct shmq_options o = { 0 };
	struct shmq_info info;
	unsigned char buf[512];
	size_t len;
	uint64_t n;
	shmq_t *q;
	int r = 0;

	o.flags = flags | ((intptr_t)arg ? SHMQ_ENDPOINT1 : SHMQ_ENDPOINT0);
	o.send_capacity = o.recv_capacity = 16384;
	q = must_open(addr, &o);
	if (!q)
		return 1;
	shmq_info(q, &info);
	sh->shmid = info.shmid;
	__atomic_add_fetch(&sh->ready, 1, __ATOMIC_RELEASE);
	if (!arg) {
		for (n = 0; n < N && !r; n++) {
			size_t l = t_len(4, n, sizeof(buf));

			t_fill(buf, 4, n, l);
			r = shmq_send_timed(q, buf, l, 10000000000LL);
		}
		shmq_close(q);
		return r ? 2 : 0;
	}
	while ((r = shmq_recv_timed(q, buf, sizeof(buf), &len, 10000000000LL)) == 0) {
		if (!t_check(buf, len, 4, sh->received, sizeof(buf)))
			sh->bad++;
		sh->received++;
	}
	sh->end = r;
	shmq_close(q);
	return 0;
}

static void removed_mid_stream(const char *what, unsigned f)
{
	pid_t a, b;
	int n, sa, sb;

	memset(sh, 0, sizeof(*sh));
	addr = tap_name("ipcrm");
	flags = f;
	a = spawn(streamer, (void *)0);
	b = spawn(streamer, (void *)1);
	for (n = 0; n < 5000 && (__atomic_load_n(&sh->ready, __ATOMIC_ACQUIRE) < 2 ||
				 sh->received < N / 10); n++)
		usleep(1000);
	is_int(ipcrm(sh->shmid), 0, "%s: ipcrm -m %d mid-stream", what, sh->shmid);
	sa = wait_child(a, 30000);
	sb = wait_child(b, 30000);
	ok(child_exit_code(sa) == 0 && child_exit_code(sb) == 0,
	   "%s: both ends carried on and closed cleanly", what);
	ok(sh->received == N && sh->bad == 0 && sh->end == -EPIPE,
	   "%s: all %d messages arrived intact, then end of stream", what, N);
	ok(!segment_exists(sh->shmid), "%s: nothing is left", what);
}

static int joiner(void *arg)
{
	shmq_t *q = must_open(addr, NULL);

	(void)arg;
	if (!q)
		return 1;
	shmq_send(q, "x", 1);
	shmq_close(q);
	return 0;
}

static int waiter(void *arg)
{
	struct shmq_options o = { 0 };
	shmq_t *q;
	int r;

	(void)arg;
	r = shmq_open(addr, &o, &q);	/* no timeout: only -EIDRM ends it */
	sh->end = r;
	if (!r)
		shmq_close(q);
	return 0;
}

static int echo(void *arg)
{
	char buf[64];
	size_t len;
	shmq_t *q = must_open(addr, NULL);

	(void)arg;
	if (!q)
		return 1;
	while (shmq_recv(q, buf, sizeof(buf), &len) == 0)
		shmq_send(q, buf, len);
	shmq_close(q);
	return 0;
}

int main(void)
{
	struct shmq_addr a;
	struct shmq_info info;
	struct shmq_desc d;
	char buf[64], cmd[256], out[4096];
	size_t len;
	int64_t t0, dt;
	pid_t w, j1, j2, e;
	shmq_t *q;
	int id, r, n;
	FILE *f;

	tap_start(120);
	sh = shared_page(4096);
	removed_mid_stream("a pair", 0);
	removed_mid_stream("a persistent channel", SHMQ_PERSISTENT);

	/* A creator waiting for its peer loses its segment. */
	memset(sh, 0, sizeof(*sh));
	addr = tap_name("ipcrm-wait");
	shmq_addr_parse(addr, &a);
	w = spawn(waiter, NULL);
	for (n = 0; n < 5000 && shmq_seg_open(&a, &id); n++)
		usleep(1000);
	is_int(ipcrm(id), 0, "ipcrm -m of a creator's segment while it waits");
	j1 = spawn(joiner, NULL);
	j2 = spawn(joiner, NULL);
	ok(child_exit_code(wait_child(j1, 10000)) == 0 && child_exit_code(wait_child(j2, 10000)) == 0,
	   "  two new openers of the address pair up on a new segment");
	wait_child(w, 10000);
	is_int(sh->end, -EIDRM, "  the old creator, waiting forever, learns it was removed");
	ok(!segment_exists(id) && shmq_seg_open(&a, &id) == -ENOENT, "  and nothing is left");

	/* A stopped peer. */
	addr = tap_name("stopped");
	e = spawn(echo, NULL);
	q = must_open(addr, NULL);
	if (!q)
		bail_out("open");
	shmq_info(q, &info);
	kill(e, SIGSTOP);
	usleep(100000);
	is_int(shmq_describe(info.shmid, &d), 0, "describe the channel with a stopped peer");
	is_int(d.ep[info.slot ? 0 : 1].pid_state, SHMQ_PID_STOPPED, "  the peer is stopped, not dead");
	snprintf(cmd, sizeof(cmd), "%s stat id:%d", getenv("SHMQ") ? getenv("SHMQ") : "build/shmq",
		 info.shmid);
	f = popen(cmd, "r");
	n = f ? (int)fread(out, 1, sizeof(out) - 1, f) : 0;
	out[n > 0 ? n : 0] = '\0';
	if (f)
		pclose(f);
	snprintf(buf, sizeof(buf), "pid %d (stopped)", (int)e);
	ok(strstr(out, buf) != NULL, "shmq stat says '%s'", buf);
	shmq_send(q, "ping", 4);
	t0 = tap_now_ns();
	r = shmq_recv_timed(q, buf, sizeof(buf), &len, 300000000);
	dt = tap_now_ns() - t0;
	is_int(r, -ETIMEDOUT, "a blocked recv meets its deadline: -ETIMEDOUT, not a death");
	ok(dt >= 300000000 && dt < 1000000000, "  after %.0f ms", dt / 1e6);
	kill(e, SIGCONT);
	r = shmq_recv_timed(q, buf, sizeof(buf), &len, 5000000000LL);
	ok(r == 0 && len == 4 && !memcmp(buf, "ping", 4), "after SIGCONT the answer arrives");
	shmq_close(q);
	is_int(child_exit_code(wait_child(e, 10000)), 0, "  and the peer ends cleanly");
	return done_testing();
}
