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
		  int64_t elapsed, int64_t interval_ns)
{
	char buf[128];
	double secs = elapsed / 1e9;

	printf("--- %s ping statistics ---\n", addr);
	/* With pauses between rounds, a rate would measure the pauses. */
	if (interval_ns > 0)
		printf("%llu round trips of %zu bytes in %.3f s\n",
		       (unsigned long long)h->count, size, secs);
	else
		printf("%llu round trips of %zu bytes in %.3f s: %.0f round trips/s\n",
		       (unsigned long long)h->count, size, secs,
		       secs > 0 ? h->count / secs : 0.0);
	if (h->count)
		printf("rtt min/p50/p99/p99.9/max = %s us\n",
		       hist_summary(h, buf, sizeof(buf)));
}

/* The answer to a message: "ping" gets "pong", anything else itself. */
static const void *answer_for(const void *p, size_t len)
{
	return len == 4 && !memcmp(p, "ping", 4) ? "pong" : p;
}

/* Peek, answer in place, release: 0, or -errno. */
static int answer_one(shmq_t *q, int64_t peek_ns, int64_t timeout_ns)
{
	const void *p;
	void *d;
	size_t len;
	int r = shmq_peek(q, &p, &len, peek_ns);

	if (r)
		return r;
	/* Echo from the ring into the ring: one copy. */
	r = shmq_reserve(q, len, &d, timeout_ns);
	if (r)
		return r;
	memcpy(d, answer_for(p, len), len);
	shmq_commit(q);
	shmq_release(q);
	return 0;
}

/*
 * A hub client whose replies do not fit in its ring now: the message it is
 * owed an answer for stays peeked (and valid) until the answer fits.
 */
struct owed {
	shmq_t *c;
	const void *p;
	size_t len;
};

struct hub_server {
	shmq_hub_t *h;
	struct owed *owed;
	size_t nowed, cap;
	unsigned long long answered, ended;
	int verbose;
};

static struct owed *owed_by(struct hub_server *hs, shmq_t *c)
{
	size_t i;

	for (i = 0; i < hs->nowed; i++)
		if (hs->owed[i].c == c)
			return &hs->owed[i];
	return NULL;
}

/* The answer @c was owed went out (or @c went): let the hub return it again. */
static void forget_owed(struct hub_server *hs, shmq_t *c)
{
	struct owed *o = owed_by(hs, c);

	if (o) {
		*o = hs->owed[--hs->nowed];
		shmq_hub_hold(hs->h, c, 0);
	}
}

/* Owe @c the answer to @p: hold it, so the hub passes it over meanwhile. */
static int owe(struct hub_server *hs, shmq_t *c, const void *p, size_t len)
{
	if (hs->nowed == hs->cap) {
		size_t n = hs->cap ? 2 * hs->cap : 8;
		struct owed *more = realloc(hs->owed, n * sizeof(*more));

		if (!more)
			return -ENOMEM;
		hs->owed = more;
		hs->cap = n;
	}
	hs->owed[hs->nowed++] = (struct owed){ c, p, len };
	shmq_hub_hold(hs->h, c, 1);
	return -EAGAIN;
}

/*
 * Answer what @c sent without ever waiting for it: 0 all answered for now,
 * -EAGAIN an answer does not fit (owed), or how the client ended.
 */
static int serve_client(struct hub_server *hs, shmq_t *c)
{
	struct owed *o = owed_by(hs, c);
	const void *p;
	size_t len;
	void *d;
	int r;

	for (;;) {
		if (o) {
			p = o->p;
			len = o->len;
		} else if ((r = shmq_peek(c, &p, &len, 0))) {
			return r == -EAGAIN ? 0 : r;
		}
		r = shmq_reserve(c, len, &d, 0);
		if (r == -EAGAIN || r == -ENOBUFS)
			return o ? -EAGAIN : owe(hs, c, p, len);
		if (r)
			return r;
		memcpy(d, answer_for(p, len), len);
		shmq_commit(c);
		shmq_release(c);
		hs->answered++;
		if (o) {
			forget_owed(hs, c);
			o = NULL;
		}
	}
}

static void let_go(struct hub_server *hs, shmq_t *c, int why)
{
	struct shmq_info info;

	shmq_info(c, &info);
	if (hs->verbose) {
		printf("client pid %d: %s\n", (int)info.peer_pid,
		       why == -EPIPE ? "closed" : why == -ECONNRESET ? "died" :
		       shmq_strerror(why));
		fflush(stdout);
	}
	forget_owed(hs, c);
	shmq_hub_drop(hs->h, c);
	hs->ended++;
}

/* Those owed an answer: does it fit now?  1 if any went out. */
static int pay_debts(struct hub_server *hs)
{
	size_t i;
	int progress = 0;

	for (i = 0; i < hs->nowed; ) {
		shmq_t *c = hs->owed[i].c;
		unsigned long long before = hs->answered;
		int r = serve_client(hs, c);

		progress |= hs->answered != before;
		if (r && r != -EAGAIN)
			let_go(hs, c, r);
		else if (i < hs->nowed && hs->owed[i].c == c)
			i++;	/* still owed; else another took its place */
	}
	return progress;
}

/*
 * pong --hub: answer every client of a hub until a signal (or, with
 * --timeout, until no client has said anything for that long).  A client
 * that ends, dies or breaks is let go; the others carry on.  No client can
 * hold the server: one whose answers do not fit is held (the hub passes
 * it over) and looked at again, every 0.1 to 10 ms, until they do.
 */
static int hub_pong(const char *addr, const struct chan_opts *co, int verbose)
{
	struct hub_server hs = { .verbose = verbose };
	int64_t idle_since = now_ns(), backoff = 100000;
	int r = 0;

	hs.h = open_hub(addr, co);
	if (!hs.h)
		return cli_signal ? signal_status() : 1;
	if (verbose) {
		printf("serving at %s (Ctrl-C to stop)\n", addr);
		fflush(stdout);
	}
	while (!cli_signal) {
		int64_t wait_ns = co->timeout_ns;
		shmq_t *c;

		if (hs.nowed) {
			if (pay_debts(&hs))
				backoff = 100000;
			else if (backoff < 10000000)
				backoff *= 2;
			if (hs.nowed && (wait_ns < 0 || wait_ns > backoff))
				wait_ns = backoff;
		}
		r = shmq_hub_wait(hs.h, &c, wait_ns);
		if (r == -ETIMEDOUT) {
			if (co->timeout_ns >= 0 && now_ns() - idle_since >= co->timeout_ns)
				break;
			continue;
		}
		if (r)
			break;
		idle_since = now_ns();
		r = serve_client(&hs, c);
		if (r && r != -EAGAIN)
			let_go(&hs, c, r);
		r = 0;
	}
	shmq_hub_close(hs.h);
	free(hs.owed);
	if (verbose)
		printf("answered %llu messages from %llu clients\n", hs.answered, hs.ended);
	if (r == -EINTR || cli_signal)
		return signal_status();
	if (r == -ETIMEDOUT)
		return fail("%s: no message within %.3g s (after %llu answered)", addr,
			    co->timeout_ns / 1e9, hs.answered);
	return fail("%s: %s", addr, shmq_strerror(r));
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
	struct chan_opts co = CHAN_OPTS_INIT(ROLE_RECEIVER, "a ping");
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
			bad_option("CvH", argv);
	}
	if (optind + 1 < argc || (!classic && optind == argc))
		usage_error("takes one address");
	if (classic && hub)
		usage_error("--classic and --hub do not mix: the classic recipe has one client");
	check_chan_opts(&co, hub);
	if (classic)
		classic_takes_no_channel_options(&co);
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
		{ "deadline", required_argument, NULL, 'w' },
		CHAN_LONGOPTS,
		{ 0 }
	};
	struct chan_opts co = CHAN_OPTS_INIT(ROLE_SENDER, "a pong");
	struct ping_opts po = { 0, 64, -1, 0, 0, 0, 0 };
	struct shmq_info info;
	unsigned char *out = NULL, *in = NULL;
	struct hist *h;
	uint64_t n, v;
	int64_t t0, end_t;
	int classic = 0, c, r = 0;
	const char *addr;
	shmq_t *q;

	while ((c = getopt_long(argc, argv, "c:s:i:S:qtCw:", opts, NULL)) != -1) {
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
		case 'w':
			if (parse_duration(optarg, &po.deadline_ns) || po.deadline_ns <= 0)
				usage_error("invalid --deadline '%s' (such as 3s, 500ms)", optarg);
			break;
		default:
			if (!chan_option(&co, c, optarg))
				bad_option("c:s:i:S:qtCw:", argv);
		}
	}
	if (optind + 1 < argc || (!classic && optind == argc))
		usage_error("takes one address");
	if (classic)
		classic_takes_no_channel_options(&co);
	if (classic && po.deadline_ns)
		usage_error("--deadline is not for --classic, which makes its rounds and ends");
	check_chan_opts(&co, 0);
	addr = optind < argc ? argv[optind] : CLASSIC_DEFAULT;
	catch_signals();
	if (classic) {
		/* Like the classic client: every round at once, unless asked. */
		if (po.interval_ns < 0)
			po.interval_ns = 0;
		return classic_ping(addr, &po, co.timeout_ns < 0 ? 10000000000LL : co.timeout_ns);
	}
	if (po.interval_ns < 0)
		po.interval_ns = 1000000000;	/* ping(8)'s second */

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
		return 1;	/* no answer came (Ctrl-C included), as ping(8) */
	}
	shmq_info(q, &info);
	if (po.size > info.max_send || po.size > info.max_recv) {
		shmq_abandon(q);
		free(h);
		free(out);
		free(in);
		return fail("%s: a %zu-byte message is larger than this channel takes "
			    "(%zu bytes; see --capacity)", addr, po.size,
			    info.max_send < info.max_recv ? info.max_send : info.max_recv);
	}
	/* A payload that changes every round, so a stale answer shows. */
	for (n = 0; n < po.size; n++)
		out[n] = (unsigned char)(n * 7 + 1);
	if (po.text)
		memcpy(out, "ping", 4);
	if (!po.quiet && !po.show && po.interval_ns > 0)
		printf("PING %s: %zu bytes\n", addr, po.size);
	/*
	 * One untimed round first: the pong may still be on its way into its
	 * first receive, and the first round would time that.
	 */
	r = shmq_send_timed(q, out, po.size, co.timeout_ns);
	if (r == 0) {
		size_t len;

		r = shmq_recv_timed(q, in, po.size + 1, &len, co.timeout_ns);
	}
	t0 = now_ns();
	for (n = 0; !r && (!po.count || n < po.count) && !cli_signal; n++) {
		size_t len;
		int64_t s;

		if (!po.text && po.size >= 8)
			memcpy(out, &n, 8);
		s = now_ns();
		if (po.deadline_ns && s - t0 >= po.deadline_ns)
			break;	/* as ping(8) -w: the summary of what was done */
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
	ping_summary(addr, h, po.size, end_t - t0, po.interval_ns);
	n = h->count;
	free(h);
	free(out);
	free(in);
	if (r == -EINTR || cli_signal) {
		/* Ctrl-C ends a ping cleanly; as ping(8): 0 if any answer came. */
		shmq_close(q);
		return n ? 0 : 1;
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
	.takes_address = 1,
	.run = run_ping,
	.synopsis = "[OPTIONS] ADDR",
	.summary = "measure round trips to a pong",
	.help =
	"Sends a message, waits for the answer and checks it, like ping(8):\n"
	"one line per round when there is an interval, and always a summary with\n"
	"the minimum, median, 99th, 99.9th percentile and maximum round trip\n"
	"time (and, without an interval, the rate).  One untimed round comes\n"
	"first, so the pong's start-up is not measured.  Without -c it runs\n"
	"until Ctrl-C, which prints the summary.\n"
	"Exit status, as ping(8): 0 if any answer came (Ctrl-C included), 1 if\n"
	"none did or one was wrong, 2 for a usage error.\n"
	"\n"
	"  -c, --count N       N round trips (default: until interrupted; --classic:\n"
	"                      100)\n"
	"  -s, --size N        message size in bytes (default 64)\n"
	"  -i, --interval T    pause between rounds (default 1s, as ping(8); with\n"
	"                      --classic none; 0: flood)\n"
	"  -t, --text          send \"ping\" and expect \"pong\"\n"
	"      --show N        print the first N rounds as a conversation\n"
	"  -w, --deadline T    stop after T (3s, 500ms), whatever the count, as\n"
	"                      ping(8) -w\n"
	"  -q, --quiet         the summary only\n"
	"  -C, --classic       the classic recipe's raw protocol: \"ping\" in a\n"
	"                      20-byte segment, a line per round, then \"end\"\n"
	"                      (ADDR defaults to ftok:/tmp/example:42, the file\n"
	"                      made if missing; what ping made, it removes if no\n"
	"                      pong came)\n"
	CHAN_OPTS_HELP,
};

const struct cmd pong_command = {
	.name = "pong",
	.takes_address = 1,
	.run = run_pong,
	.synopsis = "[OPTIONS] ADDR",
	.summary = "answer every message (\"ping\" with \"pong\")",
	.help =
	"Answers each message with itself, or \"ping\" with \"pong\", until\n"
	"the pinger closes.  With --hub, serves any number of pingers at once,\n"
	"each on a channel of its own, until Ctrl-C (or --timeout of silence);\n"
	"a client whose answers do not fit is not read until they do, and never\n"
	"holds up the others.\n"
	"Exit status: 0 when the pinger closed; 1 if it died or gave up, or\n"
	"--timeout expired (--hub: with no message for that long); 128+N after\n"
	"signal N (so Ctrl-C of a --hub server is 130).\n"
	"\n"
	"  -H, --hub           serve a hub at ADDR: every `shmq ping ADDR` (or\n"
	"                      send, recv; --connect to start before the server)\n"
	"                      gets its own channel\n"
	"  -C, --classic       the classic recipe's raw protocol: answer \"ping\"\n"
	"                      with \"pong\" in a 20-byte segment; on \"end\",\n"
	"                      remove the segment (an \"end\" left by an earlier\n"
	"                      run is ignored).  ADDR defaults to\n"
	"                      ftok:/tmp/example:42; its file is made if missing,\n"
	"                      and removed only if pong made it.  Giving up, pong\n"
	"                      removes what it made.\n"
	"  -v, --verbose       say how many were answered\n"
	CHAN_OPTS_HELP,
};

