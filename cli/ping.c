/* SPDX-License-Identifier: MIT */
/*
 * shmq ping, shmq pong, and shmq demo.
 *
 * pong answers every message: "ping" with "pong", anything else with
 * itself.  ping sends, times each round trip and checks each answer, like
 * ping(8).  --classic speaks the raw protocol of the classic ftok recipe
 * (a 20-byte segment, "ping"/"pong"/"end" at offset 0), so either side
 * interoperates with the Python programs people already run.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "stats.h"

#define CLASSIC_DEFAULT "ftok:/tmp/example:42"
#define CLASSIC_SIZE 20

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Sleep @ns, or less if a signal arrives. */
static void nap(int64_t ns)
{
	struct timespec ts = { ns / 1000000000, ns % 1000000000 };

	nanosleep(&ts, NULL);
}

/* ------------------------------------------------------------------ */
/* The classic protocol                                                */
/* ------------------------------------------------------------------ */

/*
 * The 4 bytes at offset 0, with one 32-bit load, so a concurrent write
 * can never be seen half done.  Written the same way.
 */
static uint32_t word_of(const char s[4])
{
	uint32_t w;

	memcpy(&w, s, 4);
	return w;
}

static uint32_t load4(const void *p)
{
	return __atomic_load_n((const uint32_t *)p, __ATOMIC_ACQUIRE);
}

static void store4(void *p, const char s[4])
{
	__atomic_store_n((uint32_t *)p, word_of(s), __ATOMIC_RELEASE);
}

/*
 * Wait until the first 4 bytes satisfy @until (equal to @w if @equal,
 * else different from it).  Spin with `pause` for 50 us, then back off
 * with sleeps growing to 1 ms: a 1 us sleep really sleeps ~60 us, which
 * is what made the classic recipe slow.  Returns 0, or -ETIMEDOUT, or
 * -EINTR on a signal.
 */
static int classic_wait(const void *mem, uint32_t w, int equal, int64_t timeout_ns)
{
	int64_t start = now_ns(), t = start, back = 20000;
	unsigned i;

	for (i = 0;; i++) {
		if ((load4(mem) == w) == equal)
			return 0;
		if (i % 64 == 0) {
			t = now_ns();
			if (timeout_ns >= 0 && t - start > timeout_ns)
				return -ETIMEDOUT;
			if (cli_signal)
				return -EINTR;
		}
		if (t - start < 50000) {
			__builtin_ia32_pause();
			continue;
		}
		nap(back);
		if (back < 1000000)
			back *= 2;
	}
}

/* Parse a classic address, creating the ftok path if it is missing. */
static int classic_attach(const char *text, int *shmid, void **mem,
			  struct shmq_addr *a)
{
	if (!strncmp(text, "ftok:", 5)) {
		const char *colon = strrchr(text + 5, ':');
		char path[SHMQ_ADDR_PATH_MAX];
		size_t n = colon ? (size_t)(colon - text - 5) : 0;

		if (n && n < sizeof(path)) {
			int fd;

			memcpy(path, text + 5, n);
			path[n] = '\0';
			fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
			if (fd >= 0)
				close(fd);
		}
	}
	if (parse_addr_or_fail(text, a))
		return -1;
	if (a->kind == SHMQ_ADDR_ID) {
		*shmid = a->shmid;
	} else {
		/* Exactly what the classic programs do: IPC_CREAT, 0644. */
		*shmid = shmget(a->key, CLASSIC_SIZE, IPC_CREAT | 0644);
		if (*shmid < 0)
			return fail("%s: %s", text, strerror(errno)), -1;
	}
	*mem = shmat(*shmid, NULL, 0);
	if (*mem == (void *)-1)
		return fail("%s: %s", text, strerror(errno)), -1;
	return 0;
}

static int classic_pong(const char *text, int64_t timeout_ns, int verbose)
{
	struct shmq_addr a;
	unsigned long long answered = 0;
	void *mem;
	int shmid, r;

	if (classic_attach(text, &shmid, &mem, &a))
		return 1;
	for (;;) {
		/* Wait for "ping", or for a message starting with 'e'. */
		int64_t start = now_ns();

		for (;;) {
			uint32_t w = load4(mem);

			if ((w & 0xff) == 'e' || w == word_of("ping"))
				break;
			r = classic_wait(mem, w, 0, timeout_ns < 0 ? -1 :
					 timeout_ns - (now_ns() - start));
			if (r)
				goto out;
		}
		if ((load4(mem) & 0xff) == 'e')
			break;
		store4(mem, "pong");
		answered++;
	}
	/* "end": remove the segment, detach, unlink the path. */
	shmctl(shmid, IPC_RMID, NULL);
	shmdt(mem);
	if (a.kind == SHMQ_ADDR_FTOK)
		unlink(a.path);
	if (verbose)
		printf("answered %llu pings, then 'end': segment removed\n", answered);
	return 0;
out:
	shmdt(mem);
	if (r == -EINTR)
		return signal_status();
	return fail("%s: no ping within the timeout (after %llu answered)", text,
		    answered);
}

struct ping_opts {
	uint64_t count;		/* 0: until interrupted */
	size_t size;
	int64_t interval_ns;
	int show;		/* print the first rounds as a conversation */
	int quiet;		/* summary only */
	int text;		/* send "ping", expect "pong" */
};

static void summary(const char *addr, const struct hist *h, size_t size,
		    int64_t elapsed, int text)
{
	char buf[128];
	double secs = elapsed / 1e9;

	printf("--- %s ping statistics ---\n", addr);
	printf("%llu round trips of %zu bytes in %.3f s: %.0f round trips/s\n",
	       (unsigned long long)h->count, text ? (size_t)4 : size, secs,
	       secs > 0 ? h->count / secs : 0.0);
	if (h->count)
		printf("rtt min/p50/p99/p99.9/max = %s us\n",
		       hist_summary(h, buf, sizeof(buf)));
}

static int classic_ping(const char *text, const struct ping_opts *po,
			int64_t timeout_ns)
{
	struct shmq_addr a;
	struct hist *h = malloc(sizeof(*h));
	uint64_t i, count = po->count ? po->count : 100;
	int64_t t0;
	void *mem;
	int shmid, r = 0;

	if (!h || classic_attach(text, &shmid, &mem, &a)) {
		free(h);
		return 1;
	}
	hist_init(h);
	t0 = now_ns();
	for (i = 0; i < count && !cli_signal; i++) {
		int64_t s = now_ns();
		uint32_t w;

		store4(mem, "ping");
		r = classic_wait(mem, word_of("ping"), 0, timeout_ns);
		if (r)
			break;
		w = load4(mem);
		if (w != word_of("pong")) {
			r = -EPROTO;
			break;
		}
		hist_add(h, (uint64_t)(now_ns() - s));
		if ((int)i < po->show)
			printf("round %llu: sent 'ping', received 'pong'\n",
			       (unsigned long long)i + 1);
		if (po->interval_ns > 0 && i + 1 < count)
			nap(po->interval_ns);
	}
	/* Three bytes, as the classic client writes them. */
	memcpy(mem, "end", 3);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	shmdt(mem);
	summary(text, h, 4, now_ns() - t0, 1);
	free(h);
	if (r == -EINTR || cli_signal)
		return signal_status();
	if (r == -ETIMEDOUT)
		return fail("%s: no pong within the timeout", text);
	if (r == -EPROTO)
		return fail("%s: the answer was not 'pong'", text);
	return 0;
}

/* ------------------------------------------------------------------ */
/* ping and pong over a channel                                        */
/* ------------------------------------------------------------------ */

/* Peek, answer in place ("ping" gets "pong"), release: 0, or -errno. */
static int answer_one(shmq_t *q, int64_t peek_ns, int64_t timeout_ns)
{
	const void *p;
	void *d;
	size_t len;
	int r = shmq_peek(q, &p, &len, peek_ns);

	if (r)
		return r;
	if (len == 4 && !memcmp(p, "ping", 4))
		p = "pong";
	/* Echo from the ring into the ring: one copy. */
	r = shmq_reserve(q, len, &d, timeout_ns);
	if (r)
		return r;
	memcpy(d, p, len);
	shmq_commit(q);
	shmq_release(q);
	return 0;
}

/*
 * pong --hub: answer every client of a hub until a signal (or, with
 * --timeout, until no client has said anything for that long).  A client
 * that ends, dies or breaks is let go; the others carry on.
 */
static int hub_pong(const char *addr, const struct chan_opts *co, int verbose)
{
	unsigned long long answered = 0, ended = 0;
	shmq_hub_t *h;
	int r = 0;

	h = open_hub(addr, co);
	if (!h)
		return cli_signal ? signal_status() : 1;
	if (verbose) {
		printf("serving at %s (Ctrl-C to stop)\n", addr);
		fflush(stdout);
	}
	while (!cli_signal) {
		struct shmq_info info;
		shmq_t *c;

		r = shmq_hub_wait(h, &c, co->timeout_ns);
		if (r)
			break;
		while ((r = answer_one(c, 0, co->timeout_ns)) == 0)
			answered++;
		if (r == -EAGAIN)
			continue;
		shmq_info(c, &info);
		if (verbose) {
			printf("client pid %d: %s\n", (int)info.peer_pid,
			       r == -EPIPE ? "closed" : r == -ECONNRESET ? "died" :
			       shmq_strerror(r));
			fflush(stdout);
		}
		shmq_hub_drop(h, c);
		ended++;
	}
	shmq_hub_close(h);
	if (verbose)
		printf("answered %llu messages from %llu clients\n", answered, ended);
	if (r == -EINTR || cli_signal)
		return signal_status();
	if (r == -ETIMEDOUT)
		return 0;	/* idle for --timeout: done */
	fail("%s: %s", addr, shmq_strerror(r));
	return 1;
}

int cmd_pong(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "classic", no_argument, NULL, 'C' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "hub", no_argument, NULL, 'H' },
		CHAN_LONGOPTS,
		{ 0 }
	};
	struct chan_opts co = CHAN_OPTS_INIT;
	unsigned long long answered = 0;
	int classic = 0, verbose = 0, hub = 0, c, r = 0;
	const char *addr;
	shmq_t *q;

	while ((c = getopt_long(argc, argv, "CvH", opts, NULL)) != -1) {
		if (c == 'C')
			classic = 1;
		else if (c == 'H')
			hub = 1;
		else if (c == 'v')
			verbose = 1;
		else if (!chan_option(&co, c, optarg))
			usage_error("unknown option");
	}
	if (optind + 1 < argc || (!classic && optind == argc))
		usage_error("takes one address");
	addr = optind < argc ? argv[optind] : CLASSIC_DEFAULT;
	catch_signals();
	if (classic)
		return classic_pong(addr, co.timeout_ns, verbose);
	if (hub)
		return hub_pong(addr, &co, verbose);
	q = open_channel(addr, &co);
	if (!q)
		return cli_signal ? signal_status() : 1;
	while (!cli_signal && (r = answer_one(q, co.timeout_ns, co.timeout_ns)) == 0)
		answered++;
	if (r == -EINTR || cli_signal) {
		shmq_abandon(q);
		return signal_status();
	}
	if (r == -EPIPE) {
		shmq_close(q);
		if (verbose)
			printf("answered %llu messages\n", answered);
		return 0;
	}
	channel_failure(addr, "answered", r, answered);
	shmq_abandon(q);
	return 1;
}

int cmd_ping(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "count", required_argument, NULL, 'c' },
		{ "size", required_argument, NULL, 's' },
		{ "interval", required_argument, NULL, 'i' },
		{ "show", required_argument, NULL, 'S' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "text", no_argument, NULL, 't' },
		{ "classic", no_argument, NULL, 'C' },
		CHAN_LONGOPTS,
		{ 0 }
	};
	struct chan_opts co = CHAN_OPTS_INIT;
	struct ping_opts po = { 0, 64, 1000000000, 0, 0, 0 };
	unsigned char *out = NULL, *in = NULL;
	struct hist *h;
	uint64_t n, v;
	int64_t t0, end_t;
	int classic = 0, c, r = 0;
	const char *addr;
	shmq_t *q;

	while ((c = getopt_long(argc, argv, "c:s:i:S:qtC", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			if (parse_uint(optarg, UINT64_MAX, &po.count) || !po.count)
				usage_error("invalid count '%s'", optarg);
			break;
		case 's':
			if (parse_size(optarg, &v) || v > (1u << 29))
				usage_error("invalid size '%s'", optarg);
			po.size = (size_t)v;
			break;
		case 'i':
			if (parse_duration(optarg, &po.interval_ns))
				usage_error("invalid interval '%s' (such as 1s, 10ms, 0)", optarg);
			break;
		case 'S':
			if (parse_uint(optarg, 1000000, &v))
				usage_error("invalid --show '%s'", optarg);
			po.show = (int)v;
			break;
		case 'q':
			po.quiet = 1;
			break;
		case 't':
			po.text = 1;
			break;
		case 'C':
			classic = 1;
			break;
		default:
			if (!chan_option(&co, c, optarg))
				usage_error("unknown option");
		}
	}
	if (optind + 1 < argc || (!classic && optind == argc))
		usage_error("takes one address");
	addr = optind < argc ? argv[optind] : CLASSIC_DEFAULT;
	catch_signals();
	if (classic)
		return classic_ping(addr, &po, co.timeout_ns < 0 ? 10000000000LL : co.timeout_ns);

	h = malloc(sizeof(*h));
	if (po.text)
		po.size = 4;
	out = malloc(po.size + 1);
	in = malloc(po.size + 1);
	if (!h || !out || !in)
		return fail("out of memory");
	hist_init(h);
	q = open_channel(addr, &co);
	if (!q) {
		free(h);
		free(out);
		free(in);
		return cli_signal ? signal_status() : 1;
	}
	/* A payload that changes every round, so a stale answer shows. */
	for (n = 0; n < po.size; n++)
		out[n] = (unsigned char)(n * 7 + 1);
	if (po.text)
		memcpy(out, "ping", 4);
	if (!po.quiet && !po.show && po.interval_ns > 0)
		printf("PING %s: %zu bytes\n", addr, po.size);
	t0 = now_ns();
	for (n = 0; (!po.count || n < po.count) && !cli_signal; n++) {
		size_t len;
		int64_t s;

		if (!po.text && po.size >= 8)
			memcpy(out, &n, 8);
		s = now_ns();
		r = shmq_send_timed(q, out, po.size, co.timeout_ns);
		if (r)
			break;
		r = shmq_recv_timed(q, in, po.size + 1, &len, co.timeout_ns);
		if (r)
			break;
		v = (uint64_t)(now_ns() - s);
		if (po.text ? len != 4 || memcmp(in, "pong", 4) :
			      len != po.size || memcmp(in, out, len)) {
			r = -EPROTO;
			break;
		}
		hist_add(h, v);
		if ((int)n < po.show)
			printf("round %llu: sent '%.*s', received '%.*s' (%.1f us)\n",
			       (unsigned long long)n + 1, po.text ? 4 : 0, out,
			       po.text ? 4 : 0, in, v / 1e3);
		else if (!po.quiet && !po.show && po.interval_ns > 0)
			printf("%zu bytes from %s: seq=%llu time=%.1f us\n", len, addr,
			       (unsigned long long)n + 1, v / 1e3);
		if (po.interval_ns > 0 && (!po.count || n + 1 < po.count)) {
			fflush(stdout);
			nap(po.interval_ns);
		}
	}
	end_t = now_ns();
	if (po.show && h->count > (uint64_t)po.show)
		printf("... %llu more rounds\n", (unsigned long long)(h->count - (uint64_t)po.show));
	summary(addr, h, po.size, end_t - t0, po.text);
	free(h);
	free(out);
	free(in);
	if (r == -EINTR || cli_signal) {
		/* Ctrl-C ends a ping, as with ping(8): a clean end. */
		shmq_close(q);
		return 0;
	}
	if (r == -EPROTO) {
		shmq_abandon(q);
		return fail("%s: an answer did not match what was sent", addr);
	}
	if (r) {
		channel_failure(addr, "answered", r, (unsigned long long)n);
		shmq_abandon(q);
		return 1;
	}
	shmq_close(q);
	return 0;
}

/* ------------------------------------------------------------------ */
/* demo                                                                */
/* ------------------------------------------------------------------ */

/* Run `shmq ARGS...` as a child process of its own. */
static pid_t run_self(char *const args[])
{
	pid_t pid = fork();

	if (pid == 0) {
		execv("/proc/self/exe", args);
		_exit(127);
	}
	return pid;
}

static int reap(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static size_t count_segments(key_t key, int *ours)
{
	struct shmq_seg_info *v;
	size_t n, i;

	*ours = 0;
	if (shmq_seg_list(&v, &n))
		return 0;
	for (i = 0; i < n; i++) {
		struct shmq_desc d;

		if (v[i].key == key)
			(*ours)++;
		else if (v[i].removed && shmq_describe(v[i].shmid, &d) == 0 &&
			 d.creator_pid == getpid())
			(*ours)++;
	}
	free(v);
	return n;
}

int cmd_demo(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "rounds", required_argument, NULL, 'r' },
		{ "count", required_argument, NULL, 'c' },
		{ 0 }
	};
	uint64_t rounds = 100, count = 1000000;
	char name[64], rounds_s[32], count_s[32];
	struct shmq_addr a;
	size_t before, after;
	int ours, c, st1, st2, failed = 0;
	pid_t pong, ping;

	while ((c = getopt_long(argc, argv, "r:c:", opts, NULL)) != -1) {
		if (c == 'r' && !parse_uint(optarg, 100000000, &rounds) && rounds)
			continue;
		if (c == 'c' && !parse_uint(optarg, 1000000000, &count) && count)
			continue;
		usage_error("invalid option");
	}
	if (optind != argc)
		usage_error("takes no arguments");
	setvbuf(stdout, NULL, _IOLBF, 0);
	snprintf(name, sizeof(name), "demo-%d", (int)getpid());
	snprintf(rounds_s, sizeof(rounds_s), "%llu", (unsigned long long)rounds);
	snprintf(count_s, sizeof(count_s), "%llu", (unsigned long long)count);
	shmq_addr_parse(name, &a);
	before = count_segments(a.key, &ours);

	printf("shmq demo: the classic shared-memory ping-pong, done right.\n\n"
	       "The classic recipe: two processes share a System V segment found by\n"
	       "an ftok key; a client writes \"ping\", a server answers \"pong\", 100\n"
	       "times, then \"end\", and both poll with sleeps in between.  It tears\n"
	       "messages, hangs if the peer dies and leaves the segment behind.\n\n");
	printf("Step 1. Two separate processes meet on the channel '%s' (key 0x%08x).\n"
	       "        Whichever arrives first creates it and waits for the other; once\n"
	       "        both are there, the segment is already marked for removal, so the\n"
	       "        kernel frees it when they are gone, even if they crash.\n\n",
	       name, (uint32_t)a.key);
	{
		char *pong_args[] = { "shmq", "pong", name, NULL };
		char *ping_args[] = { "shmq", "ping", name, "--text", "-c", rounds_s,
				      "-i", "0", "--show", "5", NULL };

		pong = run_self(pong_args);
		printf("        pong process: pid %d, answers each \"ping\" with \"pong\"\n",
		       (int)pong);
		ping = run_self(ping_args);
		printf("        ping process: pid %d, %s rounds\n\n", (int)ping, rounds_s);
		st1 = reap(ping);
		st2 = reap(pong);
	}
	failed |= st1 || st2;
	printf("\n        Every answer was checked.  The first rounds carry the start-up\n"
	       "        cost (page faults, cold caches); the median is the steady state.\n\n");

	printf("Step 2. The same exchange at full speed: %s round trips of 1 KiB\n"
	       "        messages, each answer checked.  A waiting side spins briefly, then\n"
	       "        sleeps on a futex, so an idle side uses no CPU.\n\n",
	       count_s);
	{
		char *pong_args[] = { "shmq", "pong", name, NULL };
		char *ping_args[] = { "shmq", "ping", name, "-c", count_s, "-s", "1024",
				      "-i", "0", "--quiet", NULL };

		pong = run_self(pong_args);
		ping = run_self(ping_args);
		st1 = reap(ping);
		st2 = reap(pong);
	}
	failed |= st1 || st2;
	printf("\n        ('shmq bench' measures shmq against the classic sleep-polling recipe,\n"
	       "        pipes, sockets and message queues on this machine.)\n\n");

	after = count_segments(a.key, &ours);
	printf("Step 3. Nothing is left behind: %zu segment%s on the host before the demo,\n"
	       "        %zu after, and %s of the demo's ('shmq ls' lists them all).\n",
	       before, before == 1 ? "" : "s", after, ours ? "SOME" : "none");
	failed |= ours != 0;
	if (failed)
		return fail("the demo did not go as it should (see above)");
	printf("\nDone.  Try it in two shells:  shmq recv jobs   and   seq 3 | shmq send jobs\n");
	return 0;
}
