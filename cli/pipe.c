/* SPDX-License-Identifier: MIT */
/*
 * shmq send and shmq recv: channels in shell pipelines.
 *
 *   seq 1 1000000 | shmq send q        shmq recv q | wc -l
 *   shmq send --raw q < big.bin        shmq recv --raw q > big.copy
 *
 * send turns its arguments, or stdin's lines (NUL-delimited with -0, or a
 * byte-exact chunked stream with --raw), into messages and closes; recv
 * writes each message and a newline (or NUL, or nothing with --raw) and
 * exits 0 at the end of the stream.  Either may start first.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#define RAW_CHUNK 65536
#define READ_CHUNK 65536

struct sender {
	shmq_t *q;
	const char *addr;
	int64_t timeout_ns;
	size_t max;
	unsigned long long sent;	/* committed */
	unsigned long long pending;	/* reserved, not yet committed */
};

/* Publish the pending batch with one store. */
static void flush_batch(struct sender *s)
{
	int n = shmq_commit(s->q);

	if (n > 0)
		s->sent += (unsigned long long)n;
	s->pending = 0;
}

/*
 * Reserve room for one message, committing the batch first if the ring is
 * full: the reader can only free what it can see.
 */
static int reserve(struct sender *s, size_t len, void **dst)
{
	int r = shmq_reserve(s->q, len, dst, 0);

	if (r == -EAGAIN || r == -ENOBUFS) {
		flush_batch(s);
		r = shmq_reserve(s->q, len, dst, s->timeout_ns);
	}
	if (r == 0)
		s->pending++;
	return r;
}

static int put(struct sender *s, const void *p, size_t len)
{
	void *dst;
	int r = reserve(s, len, &dst);

	if (r == 0)
		memcpy(dst, p, len);
	return r;
}

/* Lines or NUL-delimited records from stdin; one commit per read. */
static int send_records(struct sender *s, char delim)
{
	size_t cap = READ_CHUNK, have = 0;
	char *buf = malloc(cap);
	int r = 0;

	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n;
		size_t start = 0, i;

		/* While data flows no call blocks, so no call is interrupted. */
		if (cli_signal) {
			r = -EINTR;
			break;
		}
		if (have == cap) {
			/* One record longer than the buffer: grow, to a point. */
			char *p;

			if (cap > s->max) {
				r = -EMSGSIZE;
				break;
			}
			p = realloc(buf, cap * 2);
			if (!p) {
				r = -ENOMEM;
				break;
			}
			buf = p;
			cap *= 2;
		}
		n = read(0, buf + have, cap - have);
		if (n < 0) {
			if (errno == EINTR && !cli_signal)
				continue;
			r = cli_signal ? -EINTR : -errno;
			break;
		}
		if (n == 0) {
			/* A last record without its delimiter still counts. */
			if (have)
				r = put(s, buf, have);
			break;
		}
		for (i = have; i < have + (size_t)n; i++) {
			if (buf[i] != delim)
				continue;
			r = put(s, buf + start, i - start);
			if (r)
				goto out;
			start = i + 1;
		}
		have += (size_t)n;
		memmove(buf, buf + start, have - start);
		have -= start;
		flush_batch(s);
	}
out:
	free(buf);
	return r;
}

/* stdin as a byte stream: read straight into the ring, no copy. */
static int send_raw(struct sender *s)
{
	size_t chunk = s->max < RAW_CHUNK ? s->max : RAW_CHUNK;

	for (;;) {
		void *dst;
		ssize_t n;
		int r = cli_signal ? -EINTR : reserve(s, chunk, &dst);

		if (r)
			return r;
		do
			n = read(0, dst, chunk);
		while (n < 0 && errno == EINTR && !cli_signal);
		if (n <= 0) {
			shmq_discard(s->q);
			s->pending = 0;
			if (n < 0)
				return cli_signal ? -EINTR : -errno;
			return 0;
		}
		shmq_trim(s->q, (size_t)n);
		flush_batch(s);
	}
}

static int run_send(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "null", no_argument, NULL, '0' },
		{ "raw", no_argument, NULL, 'r' },
		CHAN_LONGOPTS,
		{ 0 }
	};
	struct chan_opts co = CHAN_OPTS_INIT(ROLE_SENDER, "a receiver");
	struct shmq_info info;
	struct sender s;
	int delim = '\n', raw = 0, c, r = 0, i;

	while ((c = getopt_long(argc, argv, "0r", opts, NULL)) != -1) {
		if (c == '0')
			delim = '\0';
		else if (c == 'r')
			raw = 1;
		else if (!chan_option(&co, c, optarg))
			bad_option("0r", argv);
	}
	if (optind == argc)
		usage_error("needs an address");
	if (raw && optind + 1 < argc)
		usage_error("--raw sends stdin, not arguments");
	if (raw && delim == '\0')
		usage_error("-0 and --raw contradict each other: --raw sends the bytes as they are");
	check_chan_opts(&co, 0);
	catch_signals();
	memset(&s, 0, sizeof(s));
	s.addr = argv[optind];
	s.timeout_ns = co.timeout_ns;
	s.q = open_channel(s.addr, &co);
	if (!s.q)
		return cli_signal ? signal_status() : 1;
	shmq_info(s.q, &info);
	s.max = info.max_send;

	if (optind + 1 < argc) {
		for (i = optind + 1; i < argc && !r && !cli_signal; i++)
			r = put(&s, argv[i], strlen(argv[i]));
	} else if (raw) {
		r = send_raw(&s);
	} else {
		r = send_records(&s, (char)delim);
	}
	/*
	 * Whatever ended it, the whole messages read before are delivered:
	 * an over-long line, a signal or a read error loses nothing before it.
	 */
	flush_batch(&s);
	if (cli_signal || r == -EINTR) {
		/* Interrupted: the reader must not mistake this for the end. */
		shmq_abandon(s.q);
		return signal_status();
	}
	if (r) {
		if (r == -EMSGSIZE)
			fail("%s: a message is longer than the largest this channel "
			     "takes (%zu bytes; see --capacity)", s.addr, s.max);
		else if (r < 0 && r != -EPIPE && r != -ECONNRESET && r != -ECONNABORTED &&
			 r != -ETIMEDOUT && r != -EBADMSG && r != -ESHUTDOWN)
			fail("%s: reading stdin: %s", s.addr, strerror(-r));
		else
			channel_failure(s.addr, "sent", r, s.sent);
		shmq_abandon(s.q);
		return 1;
	}
	shmq_close(s.q);
	return 0;
}

/*
 * recv --hub: serve a hub and write out every client's messages, each
 * whole, until a signal, -n COUNT or --timeout of silence.  Clients take
 * turns (at most 256 messages each); one that ends or breaks is let go.
 */
static int hub_recv(const char *addr, const struct chan_opts *co, int delim,
		    uint64_t limit)
{
	unsigned long long got = 0;
	shmq_hub_t *h;
	int r = 0;

	h = open_hub(addr, co);
	if (!h)
		return cli_signal ? signal_status() : 1;
	while (!cli_signal && !(limit && got == limit)) {
		const void *p;
		size_t len;
		shmq_t *c;
		int turn = 0;

		/* Show what was written to whoever reads us, then wait. */
		if (fflush(stdout))
			break;
		r = shmq_hub_wait(h, &c, co->timeout_ns);
		if (r)
			break;
		while (turn++ < 256 && !(limit && got == limit) &&
		       (r = shmq_peek(c, &p, &len, 0)) == 0) {
			if (fwrite(p, 1, len, stdout) != len || putchar(delim) == EOF)
				break;
			shmq_release(c);
			got++;
		}
		if (ferror(stdout))
			break;
		if (r && r != -EAGAIN)
			shmq_hub_drop(h, c);	/* ended, died or broken */
		r = 0;
	}
	if (fflush(stdout) || ferror(stdout)) {
		shmq_hub_close(h);
		return errno == EPIPE ? 128 + SIGPIPE : fail("writing stdout: %s", strerror(errno));
	}
	shmq_hub_close(h);
	if (r == -EINTR || cli_signal)
		return signal_status();
	if (r == 0)
		return 0;	/* the count */
	if (r == -ETIMEDOUT)
		return fail("%s: no message within %.3g s (after %llu received)", addr,
			    co->timeout_ns / 1e9, got);
	return fail("%s: %s", addr, shmq_strerror(r));
}

static int run_recv(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "count", required_argument, NULL, 'n' },
		{ "null", no_argument, NULL, '0' },
		{ "raw", no_argument, NULL, 'r' },
		{ "hub", no_argument, NULL, 'H' },
		CHAN_LONGOPTS,
		{ 0 }
	};
	struct chan_opts co = CHAN_OPTS_INIT(ROLE_RECEIVER, "a sender");
	unsigned long long got = 0;
	uint64_t limit = 0;
	int delim = '\n', raw = 0, hub = 0, c, r;
	size_t unreleased = 0;
	const char *addr;
	shmq_t *q;

	while ((c = getopt_long(argc, argv, "n:0rH", opts, NULL)) != -1) {
		if (c == 'H') {
			hub = 1;
		} else if (c == 'n') {
			if (parse_uint(optarg, UINT64_MAX, &limit) || !limit)
				usage_error("invalid count '%s'", optarg);
		} else if (c == '0') {
			delim = '\0';
		} else if (c == 'r') {
			raw = 1;
		} else if (!chan_option(&co, c, optarg)) {
			bad_option("n:0rH", argv);
		}
	}
	if (optind + 1 != argc)
		usage_error("takes one address");
	addr = argv[optind];
	if (hub && raw)
		usage_error("--raw and --hub do not mix: many streams would interleave");
	if (raw && delim == '\0')
		usage_error("-0 and --raw contradict each other: --raw writes the bytes alone");
	check_chan_opts(&co, hub);
	catch_signals();
	setvbuf(stdout, NULL, _IOFBF, 1 << 18);
	if (hub)
		return hub_recv(addr, &co, delim, limit);
	q = open_channel(addr, &co);
	if (!q)
		return cli_signal ? signal_status() : 1;

	for (;;) {
		const void *p;
		size_t len;

		if (limit && got == limit) {
			r = 0;
			break;
		}
		if (cli_signal) {
			r = -EINTR;
			break;
		}
		r = shmq_peek(q, &p, &len, 0);
		if (r == -EAGAIN) {
			/*
			 * Nothing more for now: free what was written out, show
			 * it to whoever reads us, then wait.
			 */
			shmq_release(q);
			unreleased = 0;
			if (fflush(stdout))
				break;
			r = shmq_peek(q, &p, &len, co.timeout_ns);
		}
		if (r)
			break;
		if (fwrite(p, 1, len, stdout) != len ||
		    (!raw && putchar(delim) == EOF))
			break;
		got++;
		unreleased += len + 8;
		if (unreleased >= (1 << 18)) {
			shmq_release(q);
			unreleased = 0;
		}
	}
	shmq_release(q);
	if (fflush(stdout) || ferror(stdout)) {
		/* Our reader went away (SIGPIPE's errno): go quietly, like a pipe. */
		shmq_abandon(q);
		return errno == EPIPE ? 128 + SIGPIPE : fail("writing stdout: %s", strerror(errno));
	}
	if (r == -EINTR || cli_signal) {
		shmq_abandon(q);
		return signal_status();
	}
	if (r == 0 || r == -EPIPE) {
		shmq_close(q);
		return 0;
	}
	channel_failure(addr, "received", r, got);
	shmq_abandon(q);
	return 1;
}

const struct cmd send_command = {
	.name = "send",
	.takes_address = 1,
	.run = run_send,
	.synopsis = "[OPTIONS] ADDR [MSG...]",
	.summary = "send the arguments, or stdin, as messages",
	.help =
	"Sends each MSG as a message; without any, reads stdin: one message per\n"
	"line, or per NUL-terminated record with -0, or a byte-exact stream in\n"
	"chunks with --raw.  Closes the channel at the end, so the receiver sees\n"
	"the end of the stream.  Either side may start first.\n"
	"A line longer than the channel takes stops it, after every line before\n"
	"it was sent.\n"
	"Exit status: 0 when everything was sent; 1 if the peer closed, died or\n"
	"gave up first, a line was too long, or --timeout expired; 128+N after\n"
	"signal N (the receiver is told).\n"
	"\n"
	"  -0, --null          stdin holds NUL-terminated records\n"
	"  -r, --raw           stdin is a byte stream, sent in chunks\n"
	CHAN_OPTS_HELP,
};

const struct cmd recv_command = {
	.name = "recv",
	.takes_address = 1,
	.run = run_recv,
	.synopsis = "[OPTIONS] ADDR",
	.summary = "write received messages to stdout",
	.help =
	"Writes each message and a newline (a NUL with -0, nothing with --raw)\n"
	"to stdout until the sender closes.  Every message committed before the\n"
	"sender ended is written before recv reports how it ended.\n"
	"Exit status: 0 at the end of the stream (or after COUNT messages); 1 if\n"
	"the sender died or gave up, or --timeout expired (with --hub too);\n"
	"128+N after signal N.\n"
	"\n"
	"  -n, --count COUNT   stop after COUNT messages\n"
	"  -0, --null          end each message with a NUL\n"
	"  -r, --raw           write the bytes only (for send --raw)\n"
	"  -H, --hub           serve a hub at ADDR and collect from any number of\n"
	"                      senders, each on its own channel, whole messages\n"
	"                      only, until Ctrl-C, COUNT, or no message for the\n"
	"                      --timeout\n"
	CHAN_OPTS_HELP,
};
