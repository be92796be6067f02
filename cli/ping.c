/* SPDX-License-Identifier: MIT */
/*
 * shmq ping and shmq pong.
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



void ping_summary(const char *addr, const struct hist *h, size_t size,
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

static int run_pong(int argc, char **argv)
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

static int run_ping(int argc, char **argv)
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
	ping_summary(addr, h, po.size, end_t - t0, po.text);
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

const struct cmd ping_command = {
	.name = "ping",
	.run = run_ping,
	.synopsis = "[OPTIONS] ADDR",
	.summary = "measure round trips to a pong",
	.help =
	"Sends a message, waits for the answer and checks it, like ping(8):\n"
	"one line per round when there is an interval, and always a summary with\n"
	"the minimum, median, 99th, 99.9th percentile and maximum round trip\n"
	"time, and the rate.  Ctrl-C stops it (with the summary).\n"
	"\n"
	"  -c, --count N       N round trips (default: until interrupted)\n"
	"  -s, --size N        message size in bytes (default 64)\n"
	"  -i, --interval T    pause between rounds (default 1s; 0: flood)\n"
	"  -t, --text          send \"ping\" and expect \"pong\"\n"
	"      --show N        print the first N rounds as a conversation\n"
	"  -q, --quiet         the summary only\n"
	"  -C, --classic       the classic recipe's raw protocol (ADDR defaults to\n"
	"                      ftok:/tmp/example:42; 100 rounds, then \"end\")\n"
	CHAN_OPTS_HELP,
};

const struct cmd pong_command = {
	.name = "pong",
	.run = run_pong,
	.synopsis = "[OPTIONS] ADDR",
	.summary = "answer every message (\"ping\" with \"pong\")",
	.help =
	"Answers each message with itself, or \"ping\" with \"pong\", until\n"
	"the pinger closes.  With --hub, serves any number of pingers at once,\n"
	"each on a channel of its own, until Ctrl-C (or --timeout of silence).\n"
	"\n"
	"  -H, --hub           serve a hub at ADDR: every `shmq ping ADDR` (or\n"
	"                      send, recv; --connect to start before the server)\n"
	"                      gets its own channel\n"
	"  -C, --classic       the classic recipe's raw protocol: answer \"ping\"\n"
	"                      with \"pong\" in a 20-byte segment; on \"end\",\n"
	"                      remove it and its ftok file (ADDR defaults to\n"
	"                      ftok:/tmp/example:42)\n"
	"  -v, --verbose       say how many were answered\n"
	CHAN_OPTS_HELP,
};

