/* SPDX-License-Identifier: MIT */
/*
 * shmq pub and shmq sub: topics in shell pipelines.
 *
 *   seq 1 1000 | shmq pub feed          shmq sub feed           (any number)
 *   shmq sub --lossy --seq feed         shmq sub --from oldest -n 10 feed
 *
 * pub is send's twin: its arguments, or stdin's lines (-0: NUL-terminated
 * records, --raw: a byte stream in chunks), one message each, then close.
 * sub is recv's: each message and a newline, to the end of the stream.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

int topic_option(struct shmq_topic_options *to, int c, const char *arg)
{
	uint64_t n;

	if (c < 0x200 || c > 0x202)
		return 0;
	if ((c == 0x201 ? parse_size(arg, &n) : parse_uint(arg, UINT64_MAX, &n)) || !n)
		usage_error("invalid %s '%s'", c == 0x200 ? "--slots" : c == 0x201 ?
			    "--slot-size" : "--max-subscribers", arg);
	if (c == 0x200)
		to->slots = (size_t)n;
	else if (c == 0x201)
		to->slot_size = (size_t)n;
	else
		to->max_subscribers = (size_t)n;
	return 1;
}

static void topic_chan_opts(const struct chan_opts *co)
{
	if (co->capacity)
		usage_error("--capacity is for channels: a topic takes --slots and --slot-size");
	if (co->connect)
		usage_error("--connect is for hubs");
}

static void say_open_failure(const char *addr, int r, const char *err)
{
	fail("%s: %s", addr, err[0] ? err : shmq_strerror(r));
}

/* One message from stdin's records (or the arguments): 0, or -errno. */
static int pub_records(shmq_pub_t *p, char delim, size_t max, int64_t timeout_ns)
{
	size_t cap = 65536, have = 0, start, i;
	char *buf = malloc(cap), *nb;
	ssize_t n;
	int r = 0;

	while (buf && !r) {
		if (cli_signal)
			r = -EINTR;
		else if (have == cap && cap > max)
			r = -EMSGSIZE;
		else if (have == cap && (nb = realloc(buf, cap * 2)) != NULL)
			buf = nb, cap *= 2;
		if (r || have == cap)
			break;
		n = read(0, buf + have, cap - have);
		if (n < 0 && errno == EINTR && !cli_signal)
			continue;
		if (n <= 0) {
			r = n < 0 ? (cli_signal ? -EINTR : -errno) :
				have ? shmq_pub_send_timed(p, buf, have, timeout_ns) : 1;
			break;
		}
		for (start = 0, i = have; i < have + (size_t)n && !r; i++) {
			if (buf[i] != delim)
				continue;
			r = shmq_pub_send_timed(p, buf + start, i - start, timeout_ns);
			start = i + 1;
		}
		have += (size_t)n - start;
		memmove(buf, buf + start, have);
	}
	free(buf);
	return buf ? (r == 1 ? 0 : r) : -ENOMEM;
}

/* stdin as a byte stream, read straight into each slot. */
static int pub_raw(shmq_pub_t *p, size_t max, int64_t timeout_ns)
{
	for (;;) {
		void *dst;
		ssize_t n;
		int r = cli_signal ? -EINTR : shmq_pub_reserve(p, max, &dst, timeout_ns);

		if (r)
			return r;
		do
			n = read(0, dst, max);
		while (n < 0 && errno == EINTR && !cli_signal);
		if (n <= 0)
			return n < 0 ? (cli_signal ? -EINTR : -errno) : 0;
		r = shmq_pub_commit(p, (size_t)n);
		if (r)
			return r;
	}
}

/* --subscribers N: wait (within @timeout_ns) until N have joined. */
static int wait_subscribers(shmq_pub_t *p, uint64_t want, int64_t timeout_ns)
{
	int64_t waited = 0;

	while (shmq_pub_subscribers(p) < want) {
		if (cli_signal)
			return -EINTR;
		if (timeout_ns >= 0 && waited >= timeout_ns)
			return -ETIMEDOUT;
		usleep(10000);
		waited += 10000000;
	}
	return 0;
}

static int run_pub(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "null", no_argument, NULL, '0' },
		{ "raw", no_argument, NULL, 'r' },
		{ "slow-subscriber", required_argument, NULL, 0x203 },
		{ "subscribers", required_argument, NULL, 0x204 },
		TOPIC_LONGOPTS,
		CHAN_LONGOPTS,
		{ 0 }
	};
	struct chan_opts co = CHAN_OPTS_INIT(0, "subscribers");
	struct shmq_topic_options to = { 0 };
	struct shmq_options o;
	char err[256] = "";
	int delim = '\n', raw = 0, c, r = 0, i;
	uint64_t want = 0;
	int64_t slow;
	shmq_pub_t *p;
	size_t max;

	while ((c = getopt_long(argc, argv, "0r", opts, NULL)) != -1) {
		if (c == '0')
			delim = '\0';
		else if (c == 'r')
			raw = 1;
		else if (c == 0x203) {
			if (parse_duration(optarg, &slow) || slow <= 0)
				usage_error("invalid --slow-subscriber '%s' (such as 500ms, 2s)", optarg);
			to.slow_subscriber_ms = slow / 1000000 ? slow / 1000000 : 1;
		} else if (c == 0x204) {
			if (parse_uint(optarg, UINT64_MAX, &want))
				usage_error("invalid --subscribers '%s'", optarg);
		} else if (!topic_option(&to, c, optarg) && !chan_option(&co, c, optarg))
			bad_option("0r", argv);
	}
	if (optind == argc)
		usage_error("needs an address");
	if (raw && optind + 1 < argc)
		usage_error("--raw publishes stdin, not arguments");
	if (raw && delim == '\0')
		usage_error("-0 and --raw contradict each other: --raw sends the bytes as they are");
	topic_chan_opts(&co);
	catch_signals();
	chan_options(&co, &o, err, sizeof(err));
	r = shmq_pub_open(argv[optind], &o, &to, &p);
	if (r)
		return say_open_failure(argv[optind], r, err), 1;
	/* The topic's own slots: whoever created it chose their size. */
	max = shmq_pub_max_message(p);
	r = wait_subscribers(p, want, co.timeout_ns);
	if (r == -ETIMEDOUT)
		fail("%s: fewer than %llu subscribers came within the --timeout",
		     argv[optind], (unsigned long long)want);
	if (r == 0 && optind + 1 < argc)
		for (i = optind + 1; i < argc && !r && !cli_signal; i++)
			r = shmq_pub_send_timed(p, argv[i], strlen(argv[i]), co.timeout_ns);
	else if (r == 0)
		r = raw ? pub_raw(p, max, co.timeout_ns) : pub_records(p, (char)delim, max,
									co.timeout_ns);
	if (r == -EMSGSIZE)
		fail("%s: a message is longer than this topic's slots take", argv[optind]);
	else if (r == -ETIMEDOUT && want <= shmq_pub_subscribers(p))
		fail("%s: a lossless subscriber held every slot for the --timeout", argv[optind]);
	else if (r && r != -EINTR && r != -ETIMEDOUT)
		fail("%s: %s", argv[optind], shmq_strerror(r));
	shmq_pub_close(p);
	return cli_signal || r == -EINTR ? signal_status() : r ? 1 : 0;
}

struct sub_run {
	shmq_sub_t *s;
	const char *addr;
	int delim, raw, seq;
	uint64_t limit, got, lost;
	int64_t timeout_ns;
};

/* Report what a lossy subscriber lost before the message @seq. */
static void report_loss(struct sub_run *sr, uint64_t seq)
{
	uint64_t lost = shmq_sub_lost(sr->s);

	if (lost != sr->lost)
		fprintf(stderr, "shmq: sub: %s: lost %llu message%s (seq %llu..%llu)\n",
			sr->addr, (unsigned long long)(lost - sr->lost),
			lost - sr->lost == 1 ? "" : "s",
			(unsigned long long)(seq - (lost - sr->lost)),
			(unsigned long long)(seq - 1));
	sr->lost = lost;
}

static int sub_loop(struct sub_run *sr, char *buf, size_t size)
{
	size_t len;
	int r;

	while (!sr->limit || sr->got < sr->limit) {
		if (cli_signal)
			return -EINTR;
		r = shmq_sub_try_recv(sr->s, buf, size, &len);
		if (r == -EAGAIN) {
			if (fflush(stdout))
				return 1;	/* stdout is gone */
			r = shmq_sub_recv_timed(sr->s, buf, size, &len, sr->timeout_ns);
		}
		if (r)
			return r;
		report_loss(sr, shmq_sub_seq(sr->s));
		if (sr->seq)
			printf("%llu\t", (unsigned long long)shmq_sub_seq(sr->s));
		if (fwrite(buf, 1, len, stdout) != len || (!sr->raw && putchar(sr->delim) == EOF))
			return 1;
		sr->got++;
	}
	return 0;
}

/* --from next|oldest|SEQ */
static void parse_from(const char *arg, struct shmq_topic_options *to)
{
	if (!strcmp(arg, "next"))
		to->from = SHMQ_FROM_NEXT;
	else if (!strcmp(arg, "oldest"))
		to->from = SHMQ_FROM_OLDEST;
	else if (parse_uint(arg, UINT64_MAX, &to->from_seq) == 0)
		to->from = SHMQ_FROM_SEQ;
	else
		usage_error("invalid --from '%s' (next, oldest or a sequence number)", arg);
}

static int sub_end(struct sub_run *sr, int r)
{
	if (fflush(stdout) || ferror(stdout) || r == 1)
		return errno == EPIPE ? 128 + SIGPIPE : fail("writing stdout: %s", strerror(errno));
	if (r == -EINTR || cli_signal)
		return signal_status();
	if (r == 0 || r == -EPIPE)
		return 0;
	if (r == -EOVERFLOW)
		return fail("%s: evicted: too slow for the publisher (after %llu messages "
			    "received)", sr->addr, (unsigned long long)sr->got);
	return channel_failure(sr->addr, "received", r, sr->got);
}

static int run_sub(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "count", required_argument, NULL, 'n' },
		{ "null", no_argument, NULL, '0' },
		{ "raw", no_argument, NULL, 'r' },
		{ "from", required_argument, NULL, 'f' },
		{ "lossy", no_argument, NULL, 'l' },
		{ "seq", no_argument, NULL, 's' },
		TOPIC_LONGOPTS,
		CHAN_LONGOPTS,
		{ 0 }
	};
	struct chan_opts co = CHAN_OPTS_INIT(0, "a publisher");
	struct shmq_topic_options to = { 0 };
	struct sub_run sr = { .delim = '\n' };
	struct shmq_options o;
	char err[256] = "", *buf;
	int c, r;

	while ((c = getopt_long(argc, argv, "n:0rf:ls", opts, NULL)) != -1) {
		if (c == 'n' && (parse_uint(optarg, UINT64_MAX, &sr.limit) || !sr.limit))
			usage_error("invalid count '%s'", optarg);
		else if (c == '0')
			sr.delim = '\0';
		else if (c == 'r')
			sr.raw = 1;
		else if (c == 'f')
			parse_from(optarg, &to);
		else if (c == 'l')
			to.flags |= SHMQ_SUB_LOSSY;
		else if (c == 's')
			sr.seq = 1;
		else if (c != 'n' && !topic_option(&to, c, optarg) && !chan_option(&co, c, optarg))
			bad_option("n:0rf:ls", argv);
	}
	if (optind + 1 != argc)
		usage_error("takes one address");
	if (sr.raw && (sr.delim == '\0' || sr.seq))
		usage_error("--raw writes the bytes alone: no -0, no --seq");
	topic_chan_opts(&co);
	catch_signals();
	setvbuf(stdout, NULL, _IOFBF, 1 << 18);
	chan_options(&co, &o, err, sizeof(err));
	sr.addr = argv[optind];
	sr.timeout_ns = co.timeout_ns;
	r = shmq_sub_open(sr.addr, &o, &to, &sr.s);
	if (r)
		return cli_signal ? signal_status() : (say_open_failure(sr.addr, r, err), 1);
	buf = malloc(1 << 20);
	r = buf ? sub_loop(&sr, buf, 1 << 20) : -ENOMEM;
	free(buf);
	/* Numbers skipped after the last message (a bridge's final gap). */
	if (r == -EPIPE && sr.got)
		report_loss(&sr, shmq_sub_seq(sr.s) + 1 + (shmq_sub_lost(sr.s) - sr.lost));
	shmq_sub_close(sr.s);
	return sub_end(&sr, r);
}

const struct cmd pub_command = {
	.name = "pub",
	.takes_address = 1,
	.run = run_pub,
	.synopsis = "[OPTIONS] ADDR [MSG...]",
	.summary = "publish the arguments, or stdin, to every subscriber",
	.help =
	"Publishes each MSG as a message on the topic at ADDR; without any,\n"
	"reads stdin: one message per line, or per NUL-terminated record with\n"
	"-0, or a byte stream in chunks with --raw.  Closes at the end, so every\n"
	"subscriber sees the end of the stream.  Any number of subscribers\n"
	"(shmq sub) may come before or after; a second live publisher is\n"
	"refused.  It waits for the slowest lossless subscriber.\n"
	"Exit status: 0 when everything was published; 1 if a message was too\n"
	"long or --timeout expired waiting for a subscriber; 128+N after\n"
	"signal N.\n"
	"\n"
	"  -0, --null          stdin holds NUL-terminated records\n"
	"  -r, --raw           stdin is a byte stream, sent in chunks\n"
	"      --slow-subscriber T  evict a lossless subscriber that holds the\n"
	"                      publisher for T (it is told so)\n"
	"      --subscribers N wait until N subscribers have joined, then publish\n"
	TOPIC_OPTS_HELP,
};

const struct cmd sub_command = {
	.name = "sub",
	.takes_address = 1,
	.run = run_sub,
	.synopsis = "[OPTIONS] ADDR",
	.summary = "write a topic's messages to stdout",
	.help =
	"Subscribes to the topic at ADDR and writes each message and a newline\n"
	"(a NUL with -0, nothing with --raw) to stdout until the publisher\n"
	"closes.  Lossless by default: the publisher waits for it.  With --lossy\n"
	"it never does.  Each loss is reported on stderr (\"lost N messages (seq\n"
	"A..B)\") and it carries on: a lossy one's laps, and numbers a bridge's\n"
	"publisher skipped because the network lost them.\n"
	"Exit status: 0 at the end of the stream (or after COUNT messages); 1 if\n"
	"the publisher died, it was evicted, or --timeout expired; 128+N after\n"
	"signal N.\n"
	"\n"
	"  -n, --count COUNT   stop after COUNT messages\n"
	"  -0, --null          end each message with a NUL\n"
	"  -r, --raw           write the bytes only (for pub --raw)\n"
	"  -f, --from WHERE    next (the default), oldest (the oldest the topic\n"
	"                      still holds), or a sequence number\n"
	"  -l, --lossy         never hold the publisher; report losses\n"
	"  -s, --seq           print each message's sequence number and a tab first\n"
	TOPIC_OPTS_HELP,
};
