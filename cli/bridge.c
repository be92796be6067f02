/* SPDX-License-Identifier: MIT */
/*
 * shmq bridge FROM TO: a topic to the network (export) or the network to
 * a topic (import), over the engine of bridge.h.
 *
 *   host A:  shmq bridge feed tcp://127.0.0.1:5555      (export: binds)
 *   host B:  shmq bridge tcp://hostA:5555 feed          (import: connects)
 *
 * The exporter subscribes to its topic once the first importer has
 * subscribed to it, and sends each message with the topic's sequence
 * number; lossless (the default), it waits while the transport has no
 * room, so the origin publisher is held as by any lossless subscriber.
 * The importer publishes each message into its own topic with the same
 * seq, drops a seq it has already published, and reports a jump in the
 * seqs as lost messages (skipped in its topic: counted by every local
 * subscriber too).
 * The origin's close ends the imported topic (its subscribers drain, then
 * see the end); its death makes the importer abandon its publisher, which
 * its subscribers see as a death.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "bridge.h"
#include "cli.h"

#define BRIDGE_MAX_MSG (1u << 20)

struct bridge {
	const struct bridge_engine *eng;
	struct bridge_conn *conn;
	const char *topic, *endpoint;
	int bind, lossy, verbose;
	struct shmq_topic_options to;
	uint64_t stream;
	uint64_t sent, dropped, bad, dups, lost;
};

/* -v: one line on stderr. */
__attribute__((format(printf, 2, 3)))
static void say(const struct bridge *b, const char *fmt, ...)
{
	va_list ap;

	if (!b->verbose)
		return;
	va_start(ap, fmt);
	fprintf(stderr, "shmq: bridge: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* A tcp:// bind that is not to a loopback address. */
static int binds_beyond_host(const char *ep)
{
	const char *h = ep + 6;

	if (strncmp(ep, "tcp://", 6))
		return 0;
	return strncmp(h, "127.", 4) && strncmp(h, "localhost:", 10) &&
	       strncmp(h, "[::1]:", 6) && strncmp(h, "::1:", 4);
}

/* ---- export: topic to network --------------------------------------- */

static int send_frame(struct bridge *b, int type, uint64_t seq, const void *p, size_t len)
{
	struct bridge_hdr h = { BRIDGE_MAGIC, BRIDGE_VERSION, (uint8_t)type, 0,
				(uint32_t)len, 0, seq, b->stream };
	int r;

	h.check = bridge_check(&h);
	if (b->lossy && type == BRIDGE_DATA) {
		r = b->eng->send(b->conn, &h, p, 0);
		if (r == -EAGAIN)
			b->dropped++;	/* never hold the origin: counted */
		return r == -EAGAIN ? 0 : r;
	}
	do
		r = b->eng->send(b->conn, &h, p, 100);
	while ((r == -EAGAIN || r == -EINTR) && !cli_signal);
	return r;
}

/* Wait for the first importer: 0, or -EINTR. */
static int first_importer(struct bridge *b)
{
	while (!cli_signal) {
		int n = b->eng->joined(b->conn);

		if (n > 0) {
			say(b, "%s: an importer subscribed", b->endpoint);
			return 0;
		}
		usleep(20000);
	}
	return -EINTR;
}

static int export_loop(struct bridge *b, shmq_sub_t *s, char *buf)
{
	size_t len;
	int r, first = 1;

	for (;;) {
		if (cli_signal)
			return -EINTR;
		r = shmq_sub_recv_timed(s, buf, BRIDGE_MAX_MSG, &len, 100000000);
		if (b->eng->joined(b->conn) > 0)
			say(b, "%s: an importer subscribed", b->endpoint);
		if (r == -ETIMEDOUT || r == -EAGAIN)
			continue;
		if (r)
			return r;
		if (first) {
			/* Where the export began: what a lossy subscription lost
			 * before its first message is a gap for the importer too. */
			r = send_frame(b, BRIDGE_START, shmq_sub_seq(s) - shmq_sub_lost(s), NULL, 0);
			if (r)
				return r;
			first = 0;
		}
		r = send_frame(b, BRIDGE_DATA, shmq_sub_seq(s), buf, len);
		if (r)
			return r;
		b->sent++;
	}
}

static int run_export(struct bridge *b)
{
	struct shmq_options o;
	struct chan_opts co = CHAN_OPTS_INIT(0, "a publisher");
	char err[256] = "", *buf;
	shmq_sub_t *s;
	uint64_t end;
	int r;

	if (first_importer(b))
		return signal_status();
	chan_options(&co, &o, err, sizeof(err));
	b->to.flags = b->lossy ? SHMQ_SUB_LOSSY : 0;
	r = shmq_sub_open(b->topic, &o, &b->to, &s);
	if (r)
		return fail("%s: %s", b->topic, err[0] ? err : shmq_strerror(r));
	buf = malloc(BRIDGE_MAX_MSG);
	r = buf ? export_loop(b, s, buf) : -ENOMEM;
	free(buf);
	/* The origin's end travels: the seq it ended at, after the last. */
	end = shmq_sub_seq(s) == UINT64_MAX ? 0 : shmq_sub_seq(s) + 1;
	if (r == -EPIPE || r == -ECONNRESET)
		r = send_frame(b, r == -EPIPE ? BRIDGE_END : BRIDGE_RESET, end, NULL, 0) ?: r;
	shmq_sub_close(s);
	if (b->dropped)
		fprintf(stderr, "shmq: bridge: %s: %llu messages not sent (lossy, the "
			"network was full)\n", b->topic, (unsigned long long)b->dropped);
	say(b, "%s: %llu messages exported", b->topic, (unsigned long long)b->sent);
	if (r == -EPIPE || r == -ECONNRESET)
		return 0;
	if (r == -EINTR || cli_signal)
		return signal_status();
	return fail("%s: %s", b->topic, shmq_strerror(r));
}

/* ---- import: network to topic --------------------------------------- */

/* Is this frame whole and ours?  1 yes. */
static int frame_ok(const struct bridge_hdr *h, ssize_t n, size_t max)
{
	return n >= (ssize_t)sizeof(*h) && h->magic == BRIDGE_MAGIC &&
	       h->version == BRIDGE_VERSION && h->type >= BRIDGE_DATA &&
	       h->type <= BRIDGE_START && h->reserved == 0 &&
	       (size_t)n == sizeof(*h) + h->len && h->len <= max &&
	       (h->type == BRIDGE_DATA || h->len == 0) && h->check == bridge_check(h);
}

/* A jump from @expected to @seq: lost messages, said on stderr. */
static void gap(struct bridge *b, uint64_t expected, uint64_t seq)
{
	b->lost += seq - expected;
	fprintf(stderr, "shmq: bridge: %s: lost %llu message%s (seq %llu..%llu)\n", b->topic,
		(unsigned long long)(seq - expected), seq - expected == 1 ? "" : "s",
		(unsigned long long)expected, (unsigned long long)(seq - 1));
}

struct import_state {
	shmq_pub_t *p;
	int started;	/* a frame came, or the topic had a history */
};

/*
 * One checked frame: 0 go on, 1 the stream ended, -errno.  The imported
 * topic numbers its messages with the origin's seqs: its publisher's next
 * seq is the one expected.  Below it is a repeat, dropped; above it, the
 * numbers between are lost (said here, and skipped, so that every local
 * subscriber counts them too).  The first frame into a topic that never
 * had a message just begins the stream there.
 */
static int import_frame(struct bridge *b, struct import_state *st, const struct bridge_hdr *h)
{
	uint64_t next = shmq_pub_next_seq(st->p);
	int r;

	if (h->type == BRIDGE_DATA && st->started && h->seq < next) {
		b->dups++;	/* published already: never twice */
		return 0;
	}
	if (h->seq > next) {
		if (st->started)
			gap(b, next, h->seq);
		r = shmq_pub_skip_to(st->p, h->seq);
		if (r)
			return r;
	}
	st->started = 1;
	if (h->type == BRIDGE_START)
		return 0;
	if (h->type != BRIDGE_DATA)
		return 1;
	return shmq_pub_send(st->p, h + 1, h->len);
}

static int import_loop(struct bridge *b, struct import_state *st, char *buf, size_t size)
{
	const struct bridge_hdr *h = (const void *)buf;
	size_t max = shmq_pub_max_message(st->p);

	for (;;) {
		ssize_t n;
		int r;

		if (cli_signal)
			return -EINTR;
		n = b->eng->recv(b->conn, buf, size, 100);
		if (n == -EAGAIN || n == -EINTR)
			continue;
		if (n < 0)
			return (int)n;
		if (!frame_ok(h, n, max)) {
			b->bad++;
			say(b, "%s: a bad frame dropped (%llu so far)", b->endpoint,
			    (unsigned long long)b->bad);
			continue;
		}
		r = import_frame(b, st, h);
		if (r)
			return r > 0 ? h->type : r;
	}
}

static int run_import(struct bridge *b)
{
	struct shmq_options o;
	struct chan_opts co = CHAN_OPTS_INIT(0, "subscribers");
	struct import_state st = { 0 };
	char err[256] = "", *buf;
	int r;

	chan_options(&co, &o, err, sizeof(err));
	r = shmq_pub_open(b->topic, &o, &b->to, &st.p);
	if (r)
		return fail("%s: %s", b->topic, err[0] ? err : shmq_strerror(r));
	buf = malloc(sizeof(struct bridge_hdr) + BRIDGE_MAX_MSG + 1);
	r = buf ? import_loop(b, &st, buf, sizeof(struct bridge_hdr) + BRIDGE_MAX_MSG + 1) :
		  -ENOMEM;
	free(buf);
	if (b->bad || b->dups)
		fprintf(stderr, "shmq: bridge: %s: %llu bad frames and %llu repeated seqs "
			"dropped\n", b->topic, (unsigned long long)b->bad,
			(unsigned long long)b->dups);
	/* The origin died: this publisher leaves as if dead, so that its
	 * subscribers drain and see -ECONNRESET, as they would at home. */
	if (r == BRIDGE_RESET)
		shmq_pub_abandon(st.p);
	else
		shmq_pub_close(st.p);
	if (r == BRIDGE_END || r == BRIDGE_RESET)
		return 0;
	if (r == -EINTR || cli_signal)
		return signal_status();
	return fail("%s: %s", b->topic, shmq_strerror(r));
}

/* ---- the command ---------------------------------------------------- */

static int run_bridge(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "bind", no_argument, NULL, 'b' },
		{ "connect", no_argument, NULL, 'c' },
		{ "lossy", no_argument, NULL, 'l' },
		{ "from", required_argument, NULL, 'f' },
		{ "insecure", no_argument, NULL, 'I' },
		{ "verbose", no_argument, NULL, 'v' },
		{ 0 }
	};
	struct bridge b = { 0 };
	int c, bind = -1, insecure = 0, export, r;
	char err[512] = "";

	while ((c = getopt_long(argc, argv, "v", opts, NULL)) != -1) {
		if (c == 'b' || c == 'c')
			bind = c == 'b';
		else if (c == 'l')
			b.lossy = 1;
		else if (c == 'I')
			insecure = 1;
		else if (c == 'v')
			b.verbose = 1;
		else if (c == 'f' && !strcmp(optarg, "oldest"))
			b.to.from = SHMQ_FROM_OLDEST;
		else if (c == 'f' && !strcmp(optarg, "next"))
			b.to.from = SHMQ_FROM_NEXT;
		else if (c == 'f')
			usage_error("invalid --from '%s' (next or oldest)", optarg);
		else
			bad_option("v", argv);
	}
	if (argc - optind != 2)
		usage_error("takes FROM and TO: a topic and an endpoint (tcp://..., ipc://...)");
	export = strstr(argv[optind + 1], "://") != NULL;
	if (export == (strstr(argv[optind], "://") != NULL))
		usage_error("one of FROM and TO is a topic, the other an endpoint "
			    "(tcp://HOST:PORT, ipc://PATH)");
	b.topic = argv[optind + !export];
	b.endpoint = argv[optind + export];
	if (!export && (b.lossy || b.to.from))
		usage_error("--lossy and --from are for an export (topic to network)");
	b.bind = bind >= 0 ? bind : export;
	b.eng = bridge_zmq;
	if (!b.eng)
		return fail("built without ZeroMQ: install libzmq3-dev and run make again");
	if (b.bind && binds_beyond_host(b.endpoint)) {
		if (!insecure)
			return fail("%s: binding beyond this host without encryption lets anyone "
				    "on the network read and write the topic; --insecure to do "
				    "it anyway", b.endpoint);
		fprintf(stderr, "shmq: bridge: warning: %s is not encrypted\n", b.endpoint);
	}
	catch_signals();
	if (getrandom(&b.stream, sizeof(b.stream), 0) != sizeof(b.stream))
		b.stream = (uint64_t)getpid() * 0x9e3779b97f4a7c15ull;
	if (b.eng->open(&b.conn, b.endpoint, export, b.bind, err, sizeof(err)))
		return fail("%s", err);
	say(&b, "%s %s", b.bind ? "bound" : "connecting to", b.eng->where(b.conn));
	r = export ? run_export(&b) : run_import(&b);
	b.eng->close(b.conn, export ? 5000 : 0);
	return r;
}

const struct cmd bridge_command = {
	.name = "bridge",
	.takes_address = 1,
	.run = run_bridge,
	.synopsis = "[OPTIONS] FROM TO",
	.summary = "carry a topic to another host, or from one, over ZeroMQ",
	.help =
	"One of FROM and TO is a topic's address, the other a ZeroMQ endpoint\n"
	"(tcp://HOST:PORT, ipc://PATH).  Topic to endpoint exports: once an\n"
	"importer has subscribed, it subscribes to the topic and sends every\n"
	"message with its sequence number.  Endpoint to topic imports: it\n"
	"publishes every message it receives into the topic, for any number of\n"
	"local subscribers.  An exporter binds and an importer connects, unless\n"
	"told otherwise; several importers may connect to one exporter.\n"
	"\n"
	"A lossless export (the default) waits while the network has no room, so\n"
	"the origin's publisher is held as by a local lossless subscriber; a\n"
	"--lossy one never holds it, and counts what it could not send.  The\n"
	"importer drops a sequence number it has already published and reports a\n"
	"jump as \"lost N messages (seq A..B)\" on stderr.  The origin publisher's\n"
	"close ends the imported topic (its subscribers drain, then see the end)\n"
	"and both bridges exit 0; its death leaves the imported topic's publisher\n"
	"dead, so its subscribers drain and see -ECONNRESET.\n"
	"\n"
	"Each message keeps the origin's sequence number, so a subscriber's\n"
	"--seq and lost count mean what they mean at the origin; a gap is skipped\n"
	"in the imported topic, and every local subscriber counts it lost.\n"
	"Not yet: CURVE encryption, so binding beyond this host needs --insecure.\n"
	"\n"
	"      --bind          bind the endpoint (the default for an export)\n"
	"      --connect       connect to it (the default for an import)\n"
	"      --lossy         export without ever holding the topic's publisher\n"
	"      --from WHERE    export from the next message (the default) or the\n"
	"                      oldest the topic holds: next, oldest\n"
	"      --insecure      bind beyond this host without encryption\n"
	"  -v, --verbose       say when an importer subscribes, and what was done\n",
};
