/* SPDX-License-Identifier: MIT */
/*
 * shmq bench -m bridge: a topic carried over ZeroMQ by two shmq bridges,
 * against ZeroMQ alone, in the same run.
 *
 *   bridge: publisher -> topic -> shmq bridge (export) -> tcp://127.0.0.1
 *           -> shmq bridge (import) -> topic -> subscriber
 *   zmq:    a PUB socket -> tcp://127.0.0.1 -> a SUB socket (no high-water
 *           mark, so nothing is dropped: every message is delivered)
 *
 * Each run sends a burst of @count messages as fast as the path takes
 * them (the subscriber times the first to the last: messages per second),
 * then 2,000 paced ones, one each 100 us, stamped with CLOCK_MONOTONIC at
 * the send (the subscriber's one-way latency: p50, p99).  The CPU of each
 * process is read from /proc (every thread's schedstat) before and after
 * the burst, per message.  Repetitions are interleaved over the two paths
 * and the sizes; medians are printed, with the spread of the rates.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

#include "bridge_bench.h"
#include "shmq.h"

#ifdef HAVE_ZMQ
#include <zmq.h>

#define PACED 2000
#define MAX_REPS 31
#define PACE_NS 100000

enum { PATH_ZMQ = 0, PATH_BRIDGE = 1 };
static const char *const path_name[] = { "zmq", "bridge" };

/* What the subscriber tells the parent, in shared memory. */
struct shared {
	volatile int ready;		/* subscribed (and, zmq, a probe seen) */
	volatile uint64_t got;		/* burst messages received */
	volatile int done;
	int64_t first_ns, last_ns;	/* the burst's first and last arrival */
	uint32_t lat_ns[PACED];		/* one-way, paced */
	int npaced;
	int bad;			/* a message out of order or wrong */
};

/* A message: kind (0 probe, 1 burst, 2 paced), its number, a stamp. */
struct msg_head {
	uint32_t kind;
	uint32_t pad;
	uint64_t n;
	int64_t stamp;
};

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* CPU time of every thread of @pid so far, in ns (schedstat), or -1. */
static int64_t cpu_ns(pid_t pid)
{
	char path[64], line[320];
	struct dirent *e;
	int64_t sum = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return -1;
	while ((e = readdir(d))) {
		FILE *f;
		long long v;

		if (e->d_name[0] == '.')
			continue;
		snprintf(line, sizeof(line), "/proc/%d/task/%s/schedstat", (int)pid, e->d_name);
		f = fopen(line, "re");
		if (!f)
			continue;
		if (fscanf(f, "%lld", &v) == 1)
			sum += v;
		fclose(f);
	}
	closedir(d);
	return sum;
}

static void fill(unsigned char *buf, size_t size, uint32_t kind, uint64_t n)
{
	struct msg_head h = { kind, 0, n, kind == 2 ? mono_ns() : 0 };

	memcpy(buf, &h, sizeof(h));
	if (size > sizeof(h))
		memset(buf + sizeof(h), (int)(n & 0xff), size - sizeof(h));
}

/* One received message: counted, checked, timed. */
static void take(struct shared *sh, const unsigned char *buf, size_t len, size_t size,
		 uint64_t *want)
{
	struct msg_head h;
	int64_t now = mono_ns();

	if (len != size) {
		sh->bad++;
		return;
	}
	memcpy(&h, buf, sizeof(h));
	if (h.kind == 1) {
		if (h.n != *want)
			sh->bad++;
		*want = h.n + 1;
		if (!sh->got)
			sh->first_ns = now;
		sh->last_ns = now;
		__atomic_store_n(&sh->got, sh->got + 1, __ATOMIC_RELEASE);
	} else if (h.kind == 2 && sh->npaced < PACED) {
		sh->lat_ns[sh->npaced++] = (uint32_t)(now - h.stamp);
	} else if (h.kind == 0) {
		__atomic_store_n(&sh->ready, 1, __ATOMIC_RELEASE);
	}
}

static void wait_for(volatile uint64_t *v, uint64_t n, int64_t limit_ns)
{
	int64_t end = mono_ns() + limit_ns;

	while (__atomic_load_n(v, __ATOMIC_ACQUIRE) < n && mono_ns() < end)
		usleep(200);
}

static void pace(int64_t *next)
{
	*next += PACE_NS;
	while (mono_ns() < *next)
		;
}

/* ---- ZeroMQ alone ------------------------------------------------------ */

static int zmq_subscriber(struct shared *sh, const char *ep, size_t size)
{
	void *ctx = zmq_ctx_new(), *s = zmq_socket(ctx, ZMQ_SUB);
	unsigned char *buf = malloc(size + 64);
	int zero = 0, n;
	uint64_t want = 0;

	if (!buf || zmq_setsockopt(s, ZMQ_RCVHWM, &zero, sizeof(zero)) ||
	    zmq_setsockopt(s, ZMQ_SUBSCRIBE, "", 0) || zmq_connect(s, ep))
		return 1;
	for (;;) {
		n = zmq_recv(s, buf, size + 64, 0);
		if (n < 0 && zmq_errno() == EINTR)
			continue;
		if (n < 0)
			break;
		if (n == 4 && !memcmp(buf, "end!", 4))
			break;
		take(sh, buf, (size_t)n, size, &want);
	}
	sh->done = 1;
	zmq_close(s);
	zmq_ctx_term(ctx);
	free(buf);
	return 0;
}

/* The publisher's side of a run: the burst, then the paced messages. */
struct sender {
	int (*send)(void *ctx, const void *buf, size_t len);
	void *ctx;
};

static int send_all(struct sender *sd, struct shared *sh, size_t size, uint64_t count,
		    pid_t *pids, int npids, int64_t *cpu)
{
	unsigned char *buf = malloc(size);
	int64_t next;
	uint64_t i;
	int k;

	if (!buf)
		return 1;
	for (k = 0; k < npids; k++)
		cpu[k] = -cpu_ns(pids[k]);
	for (i = 0; i < count; i++) {
		fill(buf, size, 1, i);
		if (sd->send(sd->ctx, buf, size))
			return free(buf), 1;
	}
	wait_for(&sh->got, count, 60000000000LL);
	for (k = 0; k < npids; k++)
		cpu[k] += cpu_ns(pids[k]);
	next = mono_ns();
	for (i = 0; i < PACED; i++) {
		pace(&next);
		fill(buf, size, 2, i);
		if (sd->send(sd->ctx, buf, size))
			return free(buf), 1;
	}
	free(buf);
	return 0;
}

static int zsend(void *s, const void *buf, size_t len)
{
	while (zmq_send(s, buf, len, 0) < 0)
		if (zmq_errno() != EINTR)
			return 1;
	return 0;
}

struct run {
	double rate;
	double p50_us, p99_us;
	double cpu_us[4];	/* per message: publisher, exporter, importer, subscriber */
	int ok;
};

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* What the subscriber measured, into @r. */
static void result(struct shared *sh, uint64_t count, const int64_t *cpu, int ncpu,
		   struct run *r)
{
	int k;

	r->ok = sh->got == count && !sh->bad && sh->npaced > PACED / 2;
	r->rate = sh->last_ns > sh->first_ns ? (double)(count - 1) * 1e9 /
		  (double)(sh->last_ns - sh->first_ns) : 0;
	qsort(sh->lat_ns, (size_t)sh->npaced, sizeof(sh->lat_ns[0]), cmp_u32);
	r->p50_us = sh->npaced ? sh->lat_ns[sh->npaced / 2] / 1e3 : 0;
	r->p99_us = sh->npaced ? sh->lat_ns[sh->npaced * 99 / 100] / 1e3 : 0;
	for (k = 0; k < 4; k++)
		r->cpu_us[k] = -1;
	for (k = 0; k < ncpu; k++)
		if (cpu[k] >= 0)
			r->cpu_us[k] = (double)cpu[k] / 1e3 / (double)count;
}

static int run_zmq(size_t size, uint64_t count, struct shared *sh, struct run *r)
{
	void *ctx = zmq_ctx_new(), *s = zmq_socket(ctx, ZMQ_PUB);
	char ep[256];
	size_t n = sizeof(ep);
	int zero = 0, st;
	int64_t cpu[4] = { 0 }, end;
	pid_t pid, pids[2];
	struct sender sd = { zsend, s };
	unsigned char probe[4096];

	memset(sh, 0, sizeof(*sh));
	if (zmq_setsockopt(s, ZMQ_SNDHWM, &zero, sizeof(zero)) ||
	    zmq_bind(s, "tcp://127.0.0.1:*") || zmq_getsockopt(s, ZMQ_LAST_ENDPOINT, ep, &n))
		return 1;
	pid = fork();
	if (pid == 0)
		_exit(zmq_subscriber(sh, ep, size));
	/* The slow joiner: probes until one arrives. */
	end = mono_ns() + 10000000000LL;
	fill(probe, size, 0, 0);
	while (!__atomic_load_n(&sh->ready, __ATOMIC_ACQUIRE) && mono_ns() < end) {
		zsend(s, probe, size);
		usleep(1000);
	}
	pids[0] = getpid();
	pids[1] = pid;
	st = send_all(&sd, sh, size, count, pids, 2, cpu);
	zsend(s, "end!", 4);
	waitpid(pid, NULL, 0);
	zmq_close(s);
	zmq_ctx_term(ctx);
	cpu[3] = cpu[1];	/* the subscriber's column */
	cpu[1] = cpu[2] = -1;
	result(sh, count, cpu, 4, r);
	return st;
}

/* ---- through two shmq bridges ----------------------------------------- */

static int psend(void *p, const void *buf, size_t len)
{
	return shmq_pub_send(p, buf, len) != 0;
}

/* Start "shmq bridge ARGS..." with stderr to a pipe: its pid, and @rfd. */
static pid_t start_bridge(char *const argv[], int *rfd)
{
	int fds[2];
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC))
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(fds[1], 2);
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	close(fds[1]);
	*rfd = fds[0];
	return pid;
}

/* The port the exporter says it bound ("bound tcp://127.0.0.1:PORT"). */
static int read_port(int fd)
{
	char buf[1024];
	size_t n = 0;
	ssize_t k;
	char *p;

	while (n < sizeof(buf) - 1 && (k = read(fd, buf + n, sizeof(buf) - 1 - n)) > 0) {
		n += (size_t)k;
		buf[n] = 0;
		p = strstr(buf, "bound tcp://127.0.0.1:");
		if (p && strchr(p, '\n'))
			return atoi(p + strlen("bound tcp://127.0.0.1:"));
	}
	return -1;
}

static int topic_subscriber(struct shared *sh, const char *topic, size_t size,
			    const struct shmq_topic_options *to)
{
	struct shmq_options o = { .wait = SHMQ_WAIT_HYBRID };
	unsigned char *buf = malloc(size + 64);
	uint64_t want = 0;
	shmq_sub_t *s;
	size_t len;
	int r;

	if (!buf || shmq_sub_open(topic, &o, to, &s))
		return 1;
	__atomic_store_n(&sh->ready, 1, __ATOMIC_RELEASE);
	while ((r = shmq_sub_recv_timed(s, buf, size + 64, &len, 30000000000LL)) == 0)
		take(sh, buf, len, size, &want);
	sh->done = 1;
	shmq_sub_close(s);
	free(buf);
	return 0;
}

static int run_bridge(size_t size, uint64_t count, struct shared *sh, struct run *r)
{
	char src[64], dst[64], ep[64], slot[32];
	struct shmq_options o = { .wait = SHMQ_WAIT_HYBRID };
	struct shmq_topic_options to = { 0 };
	int efd = -1, ifd = -1, port, st = 1;
	pid_t exp, imp = -1, sub = -1, pids[4];
	int64_t cpu[4] = { 0 }, end;
	shmq_pub_t *p = NULL;
	struct sender sd;

	memset(sh, 0, sizeof(*sh));
	snprintf(src, sizeof(src), "bench-bridge-a-%d", (int)getpid());
	snprintf(dst, sizeof(dst), "bench-bridge-b-%d", (int)getpid());
	/* Slots that hold the message and its 32-byte header. */
	to.slot_size = 64;
	while (to.slot_size < size + 32)
		to.slot_size *= 2;
	to.slots = (4u << 20) / to.slot_size;
	snprintf(slot, sizeof(slot), "%zu", to.slot_size);
	{
		char *argv[] = { "shmq", "bridge", "-v", src, "tcp://127.0.0.1:*", NULL };

		exp = start_bridge(argv, &efd);
	}
	port = exp > 0 ? read_port(efd) : -1;
	if (port <= 0)
		goto out;
	snprintf(ep, sizeof(ep), "tcp://127.0.0.1:%d", port);
	{
		char slots[32];
		char *argv[] = { "shmq", "bridge", "--slot-size", slot, "--slots", slots, ep, dst,
				 NULL };

		snprintf(slots, sizeof(slots), "%zu", to.slots);
		imp = start_bridge(argv, &ifd);
	}
	if (imp <= 0)
		goto out;
	/* The subscriber (whichever of it and the importer makes the topic
	 * makes it with the same geometry). */
	sub = fork();
	if (sub == 0)
		_exit(topic_subscriber(sh, dst, size, &to));
	if (shmq_pub_open(src, &o, &to, &p))
		goto out;
	/* The exporter subscribes once the importer has. */
	end = mono_ns() + 10000000000LL;
	while ((shmq_pub_subscribers(p) < 1 || !sh->ready) && mono_ns() < end)
		usleep(1000);
	usleep(100000);	/* the importer's topic and subscriber settled */
	pids[0] = getpid();
	pids[1] = exp;
	pids[2] = imp;
	pids[3] = sub;
	sd.send = psend;
	sd.ctx = p;
	st = send_all(&sd, sh, size, count, pids, 4, cpu);
	result(sh, count, cpu, 4, r);
out:
	if (p)
		shmq_pub_close(p);	/* the end travels: both bridges exit */
	if (sub > 0)
		waitpid(sub, NULL, 0);
	if (exp > 0 && waitpid(exp, NULL, WNOHANG) == 0) {
		usleep(200000);
		kill(exp, SIGTERM);
	}
	if (exp > 0)
		waitpid(exp, NULL, 0);
	if (imp > 0) {
		kill(imp, SIGTERM);
		waitpid(imp, NULL, 0);
	}
	if (efd >= 0)
		close(efd);
	if (ifd >= 0)
		close(ifd);
	return st;
}

/* ---- the table ---------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n ? v[n / 2] : 0;
}

int bench_bridge(const size_t *sizes, int nsizes, int reps, uint64_t count)
{
	struct shared *sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
				 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	static struct run runs[2][8][MAX_REPS];
	int i, w, k, q, failed = 0;

	if (sh == MAP_FAILED)
		return 1;
	if (reps > MAX_REPS)
		reps = MAX_REPS;
	if (nsizes > 8)
		nsizes = 8;
	if (!count)
		count = 200000;
	signal(SIGPIPE, SIG_IGN);
	for (i = 0; i < reps; i++)
		for (k = 0; k < nsizes; k++)
			for (w = 0; w < 2; w++) {
				struct run *r = &runs[w][k][i];
				int st = w == PATH_ZMQ ? run_zmq(sizes[k], count, sh, r) :
					 run_bridge(sizes[k], count, sh, r);

				if (st || !r->ok) {
					fprintf(stderr, "shmq bench: bridge: %s %zu B: a run failed "
						"(%llu of %llu, %d bad)\n", path_name[w], sizes[k],
						(unsigned long long)sh->got,
						(unsigned long long)count, sh->bad);
					failed = 1;
				}
			}
	printf("%-7s %6s %12s %25s %8s %8s   %s\n", "path", "size", "msgs/s", "(min - max)",
	       "p50 us", "p99 us", "CPU us/msg: publisher exporter importer subscriber");
	for (k = 0; k < nsizes; k++) {
		double med[2][3];

		for (w = 0; w < 2; w++) {
			double rate[MAX_REPS], p50[MAX_REPS], p99[MAX_REPS], c[4][MAX_REPS];
			char cpu[128] = "";
			int n = 0;

			for (i = 0; i < reps; i++) {
				if (!runs[w][k][i].ok)
					continue;
				rate[n] = runs[w][k][i].rate;
				p50[n] = runs[w][k][i].p50_us;
				p99[n] = runs[w][k][i].p99_us;
				for (q = 0; q < 4; q++)
					c[q][n] = runs[w][k][i].cpu_us[q];
				n++;
			}
			med[w][0] = median(rate, n);
			med[w][1] = median(p50, n);
			med[w][2] = median(p99, n);
			for (q = 0; q < 4; q++) {
				double m = median(c[q], n);
				size_t l = strlen(cpu);

				if (m < 0)
					snprintf(cpu + l, sizeof(cpu) - l, " %9s", "-");
				else
					snprintf(cpu + l, sizeof(cpu) - l, " %9.2f", m);
			}
			printf("%-7s %6zu %12.0f %12.0f - %10.0f %8.1f %8.1f  %s\n", path_name[w],
			       sizes[k], med[w][0], n ? rate[0] : 0, n ? rate[n - 1] : 0,
			       med[w][1], med[w][2], cpu);
		}
		printf("  %zu B: the bridged path delivers %.2fx ZeroMQ's messages/s; its p50 is "
		       "ZeroMQ's %+.1f us\n", sizes[k], med[0][0] > 0 ? med[1][0] / med[0][0] : 0,
		       med[1][1] - med[0][1]);
	}
	munmap(sh, sizeof(*sh));
	return failed;
}
#else
int bench_bridge(const size_t *sizes, int nsizes, int reps, uint64_t count)
{
	(void)sizes;
	(void)nsizes;
	(void)reps;
	(void)count;
	fprintf(stderr, "shmq bench: -m bridge: built without ZeroMQ (install libzmq3-dev "
		"and run make again)\n");
	return 1;
}
#endif
