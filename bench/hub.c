/* SPDX-License-Identifier: MIT */
/*
 * shmq bench -m hub: what a hub's idle clients cost its active one.
 *
 * A server process (shmq_hub_wait, then one receive and its echo), N
 * client processes that connect and then sleep, and one active client
 * that ping-pongs once all N are in.  The active client's round trips per
 * second, N = 0 against N = 1,000 in the same run, say whether a wait
 * costs what is ready or what is connected.  Repetitions are interleaved
 * over N (these machines change speed from one minute to the next), and
 * every echo is checked.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hub.h"
#include "shmq.h"

#define MAX_IDLE 4096
#define MAX_REPS 31

struct hub_shared {
	int connected;		/* idle clients in */
	int stop;		/* the server's signal to stop */
	double rate;		/* the active client's round trips per second */
};

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Echo until the active client ends (@stop says so) or 120 s pass. */
static int serve(shmq_hub_t *h, volatile int *stop)
{
	unsigned char buf[65536];
	int64_t end = mono_ns() + 120000000000LL;
	size_t len;
	shmq_t *c;
	int r;

	while (!*stop && mono_ns() < end) {
		r = shmq_hub_wait(h, &c, 100000000LL);
		if (r == -ETIMEDOUT)
			continue;
		if (r)
			return 1;
		r = shmq_try_recv(c, buf, sizeof(buf), &len);
		if (r == 0)
			shmq_send_timed(c, buf, len, 5000000000LL);
		else if (r != -EAGAIN)
			shmq_hub_drop(h, c);
	}
	return 0;
}

static shmq_t *connect_to(const char *name)
{
	struct shmq_options o = { .open_timeout_ms = 60000 };
	shmq_t *q;

	return shmq_connect(name, &o, &q) ? NULL : q;
}

/* An idle client: connect, say so, sleep until the gate closes. */
static int idle_client(const char *name, struct hub_shared *sh, int gate)
{
	shmq_t *q = connect_to(name);
	char c;

	if (!q)
		return 1;
	__atomic_fetch_add(&sh->connected, 1, __ATOMIC_RELEASE);
	while (read(gate, &c, 1) > 0)
		;
	shmq_close(q);
	return 0;
}

/* The active client: once all @n are in, @count checked round trips. */
static int active_client(const char *name, struct hub_shared *sh, int n, size_t size,
			 uint64_t count)
{
	unsigned char *out = malloc(size), *in = malloc(size + 1);
	shmq_t *q = connect_to(name);
	int64_t t0 = 0, give_up = mono_ns() + 120000000000LL;
	uint64_t i, warm = count / 10;
	size_t len;

	if (!q || !out || !in)
		return 1;
	while (__atomic_load_n(&sh->connected, __ATOMIC_ACQUIRE) < n && mono_ns() < give_up)
		usleep(1000);
	for (i = 0; i < warm + count; i++) {
		if (i == warm)
			t0 = mono_ns();
		memset(out, (int)(i & 0xff), size);
		memcpy(out, &i, size < 8 ? size : 8);
		if (shmq_send_timed(q, out, size, 5000000000LL) ||
		    shmq_recv_timed(q, in, size + 1, &len, 5000000000LL) ||
		    len != size || memcmp(in, out, size))
			return 1;
	}
	sh->rate = (double)count * 1e9 / (double)(mono_ns() - t0);
	shmq_close(q);
	free(out);
	free(in);
	return 0;
}

static pid_t fork_run(int (*fn)(void *), void *arg)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(fn(arg));
	return pid;
}

struct run {
	char name[64];
	struct hub_shared *sh;
	int n, gate[2];
	size_t size;
	uint64_t count;
};

static int run_server(void *arg)
{
	struct run *r = arg;
	shmq_hub_t *h;
	int bad;

	close(r->gate[0]);	/* only the idle clients hold the gate */
	close(r->gate[1]);
	if (shmq_hub_open(r->name, NULL, &h))
		return 1;
	bad = serve(h, &((volatile struct hub_shared *)r->sh)->stop);
	shmq_hub_close(h);
	return bad;
}

static int run_idle(void *arg)
{
	struct run *r = arg;

	close(r->gate[1]);
	return idle_client(r->name, r->sh, r->gate[0]);
}

static int run_active(void *arg)
{
	struct run *r = arg;

	close(r->gate[1]);
	return active_client(r->name, r->sh, r->n, r->size, r->count);
}

/* One measurement with @n idle clients: the rate, or -1. */
static double measure(struct run *r, int n)
{
	static pid_t idle[MAX_IDLE];
	pid_t server, active;
	int i, bad = 0, st;

	r->n = n;
	memset(r->sh, 0, sizeof(*r->sh));
	snprintf(r->name, sizeof(r->name), "bench-hub-%d-%d", (int)getpid(), n);
	if (pipe(r->gate))
		return -1;
	server = fork_run(run_server, r);
	for (i = 0; i < n; i++)
		idle[i] = fork_run(run_idle, r);
	close(r->gate[0]);
	active = fork_run(run_active, r);
	waitpid(active, &st, 0);
	bad |= !WIFEXITED(st) || WEXITSTATUS(st);
	close(r->gate[1]);	/* the idle clients go */
	for (i = 0; i < n; i++) {
		waitpid(idle[i], &st, 0);
		bad |= !WIFEXITED(st) || WEXITSTATUS(st);
	}
	__atomic_store_n(&r->sh->stop, 1, __ATOMIC_RELEASE);
	waitpid(server, &st, 0);
	bad |= !WIFEXITED(st) || WEXITSTATUS(st);
	return bad ? -1 : r->sh->rate;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int bench_hub(size_t size, const int *idle, int nidle, int reps, uint64_t count)
{
	static double rates[16][MAX_REPS];
	struct run r = { .size = size, .count = count ? count : 100000 };
	struct rlimit rl;
	double base = 0;
	int i, k, failed = 0;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;	/* the server holds a pidfd per client */
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	r.sh = mmap(NULL, sizeof(*r.sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		    -1, 0);
	if (r.sh == MAP_FAILED)
		return 1;
	if (reps < 1 || reps > MAX_REPS)
		reps = 3;
	if (nidle > 16)
		nidle = 16;
	fflush(stdout);
	for (k = 0; k < reps; k++)
		for (i = 0; i < nidle; i++) {
			rates[i][k] = measure(&r, idle[i] > MAX_IDLE ? MAX_IDLE : idle[i]);
			failed |= rates[i][k] < 0;
		}
	printf("hub, one client ping-pongs %zu B while N others are connected and idle, "
	       "medians of %d\n", size, reps);
	printf("%8s %16s %22s %10s\n", "N idle", "round trips/s", "(min - max)", "vs N=0");
	for (i = 0; i < nidle; i++) {
		double med;

		qsort(rates[i], (size_t)reps, sizeof(double), cmp_double);
		med = rates[i][reps / 2];
		if (idle[i] == 0)
			base = med;
		printf("%8d %16.0f %10.0f - %-10.0f", idle[i], med, rates[i][0], rates[i][reps - 1]);
		if (base > 0)
			printf(" %9.2fx", med / base);
		printf("\n");
	}
	munmap(r.sh, sizeof(*r.sh));
	return failed;
}
