/*
 * A million round trips between two processes that sleep at once (wait
 * mode "block") and a further run that spins briefly before sleeping,
 * every receive with a 1 s deadline.  The periodic peer check, which
 * would hide a lost wakeup behind a 50 ms delay, is stretched to a minute
 * here, so a single lost wakeup shows up as a timeout.  Zero allowed.
 *
 * SHMQ_STRESS_COUNT overrides the count.
 */
#include "chan.h"
#include "wait.h"

struct result {
	uint64_t rounds, timeouts, errors;
};

static struct result *res;
static const char *addr;
static uint64_t count;
static int mode;
static int64_t spin_ns;

static int echo(void *arg)
{
	struct shmq_options o = { 0 };
	char buf[64];
	size_t len;
	shmq_t *q;
	int r;

	(void)arg;
	o.wait = mode;
	o.spin_ns = spin_ns;
	q = must_open(addr, &o);
	if (!q)
		return 1;
	for (;;) {
		r = shmq_recv_timed(q, buf, sizeof(buf), &len, 1000000000LL);
		if (r == -ETIMEDOUT) {
			res[1].timeouts++;
			continue;
		}
		if (r)
			break;
		if (shmq_send(q, buf, len))
			break;
	}
	shmq_close(q);
	return r == -EPIPE ? 0 : 2;
}

static void run(const char *what)
{
	struct shmq_options o = { 0 };
	char buf[64];
	uint64_t i;
	size_t len;
	int64_t t0;
	shmq_t *q;
	pid_t pid;
	int r;

	memset(res, 0, 2 * sizeof(*res));
	o.wait = mode;
	o.spin_ns = spin_ns;
	pid = spawn(echo, NULL);
	q = must_open(addr, &o);
	if (!q)
		bail_out("open");
	t0 = tap_now_ns();
	for (i = 0; i < count; i++) {
		if (shmq_send(q, &i, sizeof(i))) {
			res[0].errors++;
			break;
		}
		do {
			r = shmq_recv_timed(q, buf, sizeof(buf), &len, 1000000000LL);
			if (r == -ETIMEDOUT)
				res[0].timeouts++;
		} while (r == -ETIMEDOUT);
		if (r || len != sizeof(i) || memcmp(buf, &i, sizeof(i))) {
			res[0].errors++;
			break;
		}
	}
	res[0].rounds = i;
	shmq_close(q);
	ok(child_exit_code(wait_child(pid, 30000)) == 0, "%s: the echo process ended cleanly", what);
	ok(res[0].rounds == count && res[0].errors == 0,
	   "%s: %llu round trips in %.2f s", what, (unsigned long long)res[0].rounds,
	   (tap_now_ns() - t0) / 1e9);
	ok(res[0].timeouts == 0 && res[1].timeouts == 0,
	   "%s: no wakeup lost (timeouts: %llu here, %llu in the echo process)", what,
	   (unsigned long long)res[0].timeouts, (unsigned long long)res[1].timeouts);
}

int main(void)
{
	const char *env = getenv("SHMQ_STRESS_COUNT");

	tap_start(300);
	count = env ? strtoull(env, NULL, 10) : 1000000;
	shmq_check_interval_ns = 60 * 1000000000LL;
	addr = tap_name("wake");
	res = shared_page(4096);
	mode = SHMQ_WAIT_BLOCK;
	run("park at once");
	mode = SHMQ_WAIT_HYBRID;
	spin_ns = 1000;
	count /= 4;
	run("spin 1 us, then park");
	return done_testing();
}
