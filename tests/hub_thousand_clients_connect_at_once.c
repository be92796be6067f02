/*
 * 1,000 client processes connect to one hub at the same moment (they all
 * wait on one pipe, which the parent closes), as `shmq ping --connect HUB
 * -c 5 -i 0.2` would: each makes 5 round trips 0.2 s apart and closes.
 * The server (this process) echoes and drops each client at its end.
 *
 * Every client is served: none is refused, none times out (each allows
 * itself 120 s), and every echo comes back.  Nothing is left behind.  The
 * figures (how long the connects took, and all of it) are printed.
 *
 * Under ASan (each process costs it far more memory) 200 clients.  The
 * server raises its descriptor limit to the hard one, as `shmq pong`
 * does: it holds a pidfd per client.  Where even the hard limit is lower,
 * fewer clients, and the test says so.
 */
#include <sys/resource.h>
#include <sys/wait.h>

#include "chan.h"

#if defined(__SANITIZE_ADDRESS__)
#define NCLIENTS 200
#else
#define NCLIENTS 1000
#endif
#define ROUNDS 5

struct shared {
	int status[NCLIENTS];		/* 0 ok, else what failed */
	int64_t connect_ns[NCLIENTS];	/* how long its connect took */
	int64_t done_ns[NCLIENTS];	/* when it finished, from the start */
	int64_t start;
	char why[64][160];		/* the first failures' reasons */
	int nwhy;
};

static struct shared *sh;
static const char *addr;
static int nclients = NCLIENTS;

static void say_why(int i, const char *what, int r, const char *err)
{
	int k = __atomic_fetch_add(&sh->nwhy, 1, __ATOMIC_RELAXED);

	if (k < 64)
		snprintf(sh->why[k], sizeof(sh->why[k]), "client %d: %s: %s (%s)", i, what,
			 shmq_strerror(r), err);
}

static int client(int i, int gate)
{
	struct shmq_options o = { .open_timeout_ms = 120000 };
	char err[256] = "", buf[32], back[32];
	shmq_t *q;
	size_t len;
	int k, r;

	o.errbuf = err;
	o.errbuf_size = sizeof(err);
	if (read(gate, buf, 1) != 0)	/* the parent closes it: go */
		return 1;
	r = shmq_connect(addr, &o, &q);
	sh->connect_ns[i] = tap_now_ns() - sh->start;
	if (r) {
		say_why(i, "connect", r, err);
		return 10;
	}
	for (k = 0; k < ROUNDS; k++) {
		if (k)
			usleep(200000);
		snprintf(buf, sizeof(buf), "%d.%d", i, k);
		r = shmq_send_timed(q, buf, strlen(buf), 120000000000LL);
		if (r == 0)
			r = shmq_recv_timed(q, back, sizeof(back), &len, 120000000000LL);
		if (r || len != strlen(buf) || memcmp(buf, back, len)) {
			say_why(i, "round trip", r, r ? "" : "a wrong echo");
			shmq_close(q);
			return 20;
		}
	}
	shmq_close(q);
	sh->done_ns[i] = tap_now_ns() - sh->start;
	return 0;
}

/* Echo until every client has ended: how many ended cleanly. */
static int serve(shmq_hub_t *h, int64_t deadline)
{
	char buf[64];
	size_t len;
	int ended = 0, clean = 0, r;
	shmq_t *c;

	while (ended < nclients && tap_now_ns() < deadline) {
		r = shmq_hub_wait(h, &c, 1000000000LL);
		if (r == -ETIMEDOUT)
			continue;
		if (r)
			bail_out("hub_wait: %s", shmq_strerror(r));
		r = shmq_try_recv(c, buf, sizeof(buf), &len);
		if (r == 0) {
			shmq_send_timed(c, buf, len, 5000000000LL);
			continue;
		}
		if (r == -EAGAIN)
			continue;
		clean += r == -EPIPE;
		ended++;
		shmq_hub_drop(h, c);
	}
	return clean;
}

static int64_t pct(int64_t *v, int n, int p)
{
	int i, j;

	for (i = 1; i < n; i++)
		for (j = i; j > 0 && v[j - 1] > v[j]; j--) {
			int64_t t = v[j];

			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	return v[(n - 1) * p / 100];
}

static void report(void)
{
	static int64_t c[NCLIENTS], d[NCLIENTS];
	int i;

	for (i = 0; i < nclients; i++) {
		c[i] = sh->connect_ns[i] / 1000000;
		d[i] = sh->done_ns[i] / 1000000;
	}
	diag("connected after (ms): p50 %lld, p90 %lld, max %lld; all done after %lld ms",
	     (long long)pct(c, nclients, 50), (long long)pct(c, nclients, 90),
	     (long long)pct(c, nclients, 100), (long long)pct(d, nclients, 100));
	for (i = 0; i < sh->nwhy && i < 64; i++)
		diag("%s", sh->why[i]);
}

int main(void)
{
	static pid_t pids[NCLIENTS];
	struct rlimit rl;
	shmq_hub_t *h;
	int gate[2], i, bad = 0, clean;

	tap_start(600);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < NCLIENTS + 64) {
		if (rl.rlim_cur < 128)
			skip_all("a descriptor limit of %llu", (unsigned long long)rl.rlim_cur);
		nclients = (int)rl.rlim_cur - 64;
		diag("only %d clients: the hard descriptor limit is %llu", nclients,
		     (unsigned long long)rl.rlim_cur);
	}
	sh = shared_page(sizeof(*sh));
	addr = tap_name("thousand");
	if (shmq_hub_open(addr, NULL, &h))
		bail_out("hub_open");
	if (pipe(gate))
		bail_out("pipe");
	fflush(stdout);
	for (i = 0; i < nclients; i++) {
		pids[i] = fork();
		if (pids[i] < 0)
			bail_out("fork %d: %s", i, strerror(errno));
		if (pids[i] == 0) {
			alarm(300);
			close(gate[1]);
			_exit(client(i, gate[0]));
		}
	}
	close(gate[0]);
	sh->start = tap_now_ns();
	close(gate[1]);		/* all at once */
	clean = serve(h, sh->start + 280 * 1000000000LL);
	for (i = 0; i < nclients; i++) {
		int st = wait_child(pids[i], 30000);

		if (child_exit_code(st) != 0)
			bad++;
	}
	is_int(bad, 0, "%d clients connecting at once: every one made its %d round trips",
	       nclients, ROUNDS);
	is_int(clean, nclients, "  and the server saw each one's end of stream");
	report();
	shmq_hub_close(h);
	ok(segments_made_by(getpid()) == 0, "nothing left behind");
	return done_testing();
}
