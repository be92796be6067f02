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
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bridge.h"
#include "cli.h"
#include "clock.h"

#define BRIDGE_MAX_MSG (1u << 20)


/* -v: one line on stderr. */
void say(const struct bridge *b, const char *fmt, ...)
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

/*
 * What the engine has to say.  A refusal repeats at every reconnect (ten
 * a second): said once, then at most every 10 s with how often it came.
 */
static void engine_log(void *ctx, int always, const char *line)
{
	struct bridge *b = ctx;
	int64_t now = now_ns();

	if (!always) {
		say(b, "%s", line);
		return;
	}
	if (!strcmp(line, b->last) && now - b->last_at < 10000000000LL) {
		b->repeats++;
		return;
	}
	if (!strcmp(line, b->last) && b->repeats)
		fprintf(stderr, "shmq: bridge: %s (%llu times in the last %llds)\n", line,
			(unsigned long long)b->repeats + 1, (long long)((now - b->last_at) / 1000000000));
	else
		fprintf(stderr, "shmq: bridge: %s\n", line);
	snprintf(b->last, sizeof(b->last), "%s", line);
	b->last_at = now;
	b->repeats = 0;
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

/* One frame (of @k messages: a lossy export that cannot send counts k). */
static int send_frame(struct bridge *b, int type, uint64_t seq, const void *p, size_t len,
		      unsigned k)
{
	struct bridge_hdr h = { BRIDGE_MAGIC, BRIDGE_VERSION, (uint8_t)type, 0,
				(uint32_t)len, 0, seq, b->stream };
	int r;

	h.check = bridge_check(&h);
	if (b->lossy && (type == BRIDGE_DATA || type == BRIDGE_BATCH)) {
		r = b->eng->send(b->conn, &h, p, 0);
		if (r == -EAGAIN)
			b->dropped += k;	/* never hold the origin: counted */
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

/* An exporter's batch: messages taken from the topic, not yet sent. */
struct batch {
	char *buf;		/* BRIDGE_BATCH_BYTES + BRIDGE_MAX_MSG */
	size_t used;
	unsigned k;
	uint64_t first;
};

/* Send what the batch holds: one message alone, more in a batch frame. */
static int flush(struct bridge *b, struct batch *bt)
{
	struct bridge_rec rec;
	uint64_t dropped = b->dropped;
	int r = 0;

	if (bt->k == 1) {
		memcpy(&rec, bt->buf, sizeof(rec));
		r = send_frame(b, BRIDGE_DATA, rec.seq, bt->buf + sizeof(rec), rec.len, 1);
	} else if (bt->k > 1) {
		r = send_frame(b, BRIDGE_BATCH, bt->first, bt->buf, bt->used, bt->k);
	}
	if (r == 0 && b->dropped == dropped)
		b->sent += bt->k;	/* sent: not dropped (lossy), not failed */
	b->got += bt->k;
	bt->used = bt->k = 0;
	return r;
}

/*
 * Take the topic's messages and send them.  What is there is taken
 * without a wait and sent in batches (up to 256 messages, 64 KiB); a
 * message that comes alone goes alone, at once.  The transport's news
 * (new importers, its monitor) is looked at when nothing is there, and
 * every 1,024 takes while messages stream.
 */
static int export_loop(struct bridge *b, shmq_sub_t *s, struct batch *bt)
{
	unsigned polls = 0;
	struct bridge_rec rec;
	size_t len, room;
	int r, first = 1;

	for (;;) {
		if (cli_signal)
			return flush(b, bt) ?: -EINTR;
		room = bt->k ? BRIDGE_BATCH_BYTES - bt->used - sizeof(rec) : BRIDGE_MAX_MSG;
		if (bt->k && (bt->k == BRIDGE_BATCH_MAX ||
			      bt->used + sizeof(rec) >= BRIDGE_BATCH_BYTES)) {
			r = flush(b, bt);
			if (r)
				return r;
			continue;
		}
		r = shmq_sub_try_recv(s, bt->buf + bt->used + sizeof(rec), room, &len);
		if ((r == -EAGAIN || r == -EMSGSIZE) && bt->k) {
			r = flush(b, bt);	/* nothing more now, or no room */
			if (r)
				return r;
			continue;
		}
		if (r == -EAGAIN || (++polls & 1023) == 0)
			if (b->eng->joined(b->conn) > 0)
				say(b, "%s: an importer subscribed", b->endpoint);
		if (r == -EAGAIN)
			r = shmq_sub_recv_timed(s, bt->buf + sizeof(rec), BRIDGE_MAX_MSG, &len,
						100000000);
		if (r == -ETIMEDOUT || r == -EAGAIN)
			continue;
		if (r)
			return flush(b, bt) ?: r;
		if (first) {
			/* Where the export began: what a lossy subscription lost
			 * before its first message is a gap for the importer too. */
			r = send_frame(b, BRIDGE_START, shmq_sub_seq(s) - shmq_sub_lost(s), NULL, 0, 0);
			if (r)
				return r;
			first = 0;
		}
		rec.seq = shmq_sub_seq(s);
		b->lost_at_last = shmq_sub_lost(s);
		rec.len = (uint32_t)len;
		rec.check = bridge_rec_check(rec.seq, rec.len, b->stream);
		memcpy(bt->buf + bt->used, &rec, sizeof(rec));
		if (!bt->k++)
			bt->first = rec.seq;
		bt->used += sizeof(rec) + len;
	}
}

/*
 * Subscribe to the origin.  Following it to its next stream: from the
 * seq the last one ended at (a persistent topic's next publisher goes on
 * there), else from the oldest it holds (a new topic, numbered anew).
 */
static int subscribe(struct bridge *b, struct shmq_options *o, char *err, size_t errsize,
		     shmq_sub_t **s)
{
	int r;

	err[0] = 0;
	b->to.flags = b->lossy ? SHMQ_SUB_LOSSY : 0;
	r = shmq_sub_open(b->topic, o, &b->to, s);
	if (r == -ERANGE && b->follow && b->to.from == SHMQ_FROM_SEQ) {
		b->to.from = SHMQ_FROM_OLDEST;
		err[0] = 0;
		r = shmq_sub_open(b->topic, o, &b->to, s);
	}
	if (r)
		return fail("%s: %s", b->topic, err[0] ? err : shmq_strerror(r));
	(void)errsize;
	return 0;
}

static int run_export(struct bridge *b)
{
	struct shmq_options o;
	struct batch bt = { 0 };
	char err[256] = "";
	shmq_sub_t *s;
	uint64_t end;
	int r, streams = 0;

	if (first_importer(b))
		return signal_status();
	chan_options(&b->co, &o, err, sizeof(err));
	bt.buf = malloc(BRIDGE_BATCH_BYTES + sizeof(struct bridge_rec) + BRIDGE_MAX_MSG);
	if (!bt.buf)
		return fail("out of memory");
	for (;;) {
		if (subscribe(b, &o, err, sizeof(err), &s)) {
			free(bt.buf);
			return 1;
		}
		b->got = 0;
		r = export_loop(b, s, &bt);
		/* The origin's end travels: the seq it ended at, after the last. */
		/* Numbers the origin skipped after its last message, counted by
		 * the subscription at the end, are past the end too. */
		end = shmq_sub_seq(s) == UINT64_MAX ? 0 :
		      shmq_sub_seq(s) + 1 + (shmq_sub_lost(s) - b->lost_at_last);
		if ((r == -EPIPE || r == -ECONNRESET) && (b->got || !streams)) {
			say(b, "%s: the origin's publisher %s after %llu messages", b->topic,
			    r == -EPIPE ? "closed" : "died", (unsigned long long)b->got);
			r = send_frame(b, r == -EPIPE ? BRIDGE_END : BRIDGE_RESET, end, NULL, 0, 0) ?: r;
		}
		shmq_sub_close(s);
		if (!b->follow || (r != -EPIPE && r != -ECONNRESET))
			break;
		if (b->got) {
			say(b, "%s: waiting for the topic's next publisher", b->topic);
			b->to.from = SHMQ_FROM_SEQ;
			b->to.from_seq = end;
		} else {
			nap(100000000);	/* the old stream's end, still there */
		}
		streams++;
		if (cli_signal)
			break;
	}
	free(bt.buf);
	if (b->dropped)
		fprintf(stderr, "shmq: bridge: %s: %llu messages not sent (lossy, the "
			"network was full)\n", b->topic, (unsigned long long)b->dropped);
	say(b, "%s: %llu messages exported", b->topic, (unsigned long long)b->sent);
	if (r == -EINTR || cli_signal)
		return signal_status();
	if (r == -EPIPE || r == -ECONNRESET)
		return 0;
	return fail("%s: %s", b->topic, shmq_strerror(r));
}

/* ---- import: network to topic --------------------------------------- */

/* Is this frame whole and ours?  1 yes. */
static int frame_ok(const struct bridge_hdr *h, ssize_t n, size_t max)
{
	return bridge_frame_sound(h, n) && h->type >= BRIDGE_DATA && h->type <= BRIDGE_BATCH &&
	       (h->type == BRIDGE_BATCH ? h->len <= BRIDGE_BATCH_BYTES + max &&
					  h->len >= 2 * sizeof(struct bridge_rec) :
		h->len <= max) &&
	       (h->type == BRIDGE_DATA || h->type == BRIDGE_BATCH || h->len == 0) &&
	       h->seq != UINT64_MAX;
}

/* A jump from @expected to @seq: lost messages, said on stderr. */
static void gap(struct bridge *b, uint64_t expected, uint64_t seq)
{
	fprintf(stderr, "shmq: bridge: %s: lost %llu message%s (seq %llu..%llu)\n", b->topic,
		(unsigned long long)(seq - expected), seq - expected == 1 ? "" : "s",
		(unsigned long long)expected, (unsigned long long)(seq - 1));
}

struct import_state {
	shmq_pub_t *p;
	int started;	/* a frame came, or the topic had a history */
	int renewed;	/* 1: a new origin stream, nothing of it yet; 2: said */
};

/*
 * One checked frame: 0 go on, 1 the stream ended, -errno.  The imported
 * topic numbers its messages with the origin's seqs: its publisher's next
 * seq is the one expected.  Below it is a repeat, dropped; above it, the
 * numbers between are lost (said here, and skipped, so that every local
 * subscriber counts them too).  The first frame into a topic that never
 * had a message just begins the stream there.
 */
static int import_frame(struct bridge *b, struct import_state *st, int type, uint64_t seq,
			const void *payload, size_t len)
{
	uint64_t next = shmq_pub_next_seq(st->p);
	int r;

	if (type == BRIDGE_DATA && st->started && seq < next) {
		b->dups++;	/* published already: never twice */
		if (st->renewed == 1)
			fprintf(stderr, "shmq: bridge: %s: the origin's new stream begins at seq "
				"%llu, below this persistent topic's next (%llu): what comes "
				"below it is dropped as repeats; shmq rm the topic to begin "
				"anew\n", b->topic, (unsigned long long)seq,
				(unsigned long long)next);
		st->renewed = 2;
		return 0;
	}
	st->renewed = 0;
	if (seq > next) {
		if (st->started)
			gap(b, next, seq);
		r = shmq_pub_skip_to(st->p, seq);
		if (r)
			return r;
	}
	st->started = 1;
	if (type == BRIDGE_START)
		return 0;
	if (type != BRIDGE_DATA)
		return 1;
	return shmq_pub_send(st->p, payload, len);
}

/*
 * A batch frame's messages, each record checked before it is trusted:
 * 0, 1 the stream ended (never), -errno; a bad record drops the rest of
 * the frame, counted as one bad frame.
 */
/* A bad frame: counted, and said with -v at the 1st, 10th, 100th... */
static void count_bad(struct bridge *b)
{
	if (++b->bad == b->bad_said) {
		say(b, "%s: a bad frame dropped (%llu so far)", b->endpoint,
		    (unsigned long long)b->bad);
		b->bad_said *= 10;
	}
}

static int import_batch(struct bridge *b, struct import_state *st, const struct bridge_hdr *h,
			size_t max)
{
	const unsigned char *p = (const unsigned char *)(h + 1), *end = p + h->len;
	struct bridge_rec rec;
	int r;

	while (p < end) {
		if ((size_t)(end - p) < sizeof(rec))
			goto bad;
		memcpy(&rec, p, sizeof(rec));
		p += sizeof(rec);
		if (rec.len > (size_t)(end - p) || rec.seq == UINT64_MAX ||
		    rec.check != bridge_rec_check(rec.seq, rec.len, h->stream))
			goto bad;
		if (rec.len > max) {
			/* Whole, but larger than this topic takes: a gap, said
			 * when the next message comes; the rest goes on. */
			b->toolarge++;
			p += rec.len;
			continue;
		}
		r = import_frame(b, st, BRIDGE_DATA, rec.seq, p, rec.len);
		if (r)
			return r;
		p += rec.len;
	}
	return 0;
bad:
	count_bad(b);
	return 0;
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
		/* Longer than the buffer: cut short by the transport. */
		if ((size_t)n > size || !frame_ok(h, n, max)) {
			count_bad(b);
			continue;
		}
		r = h->type == BRIDGE_BATCH ? import_batch(b, st, h, max) :
		    import_frame(b, st, h->type, h->seq, h + 1, h->len);
		if (r)
			return r > 0 ? h->type : r;
	}
}

static int run_import(struct bridge *b)
{
	struct shmq_options o;
	struct import_state st = { 0 };
	size_t size = sizeof(struct bridge_hdr) + BRIDGE_BATCH_BYTES + BRIDGE_MAX_MSG + 1;
	char err[256] = "", *buf = malloc(size);
	int r;

	if (!buf)
		return fail("out of memory");
	chan_options(&b->co, &o, err, sizeof(err));
	for (;;) {
		err[0] = 0;
		r = shmq_pub_open(b->topic, &o, &b->to, &st.p);
		if (r) {
			free(buf);
			return fail("%s: %s", b->topic, err[0] ? err : shmq_strerror(r));
		}
		/* A topic with a history (persistent): its next seq is expected. */
		st.started = shmq_pub_next_seq(st.p) > 0;
		r = import_loop(b, &st, buf, size);
		/* The origin died: this publisher leaves as if dead, so that its
		 * subscribers drain and see -ECONNRESET, as they would at home. */
		/* Only the origin's close is an end here; anything else (its
		 * death, a signal, an error) leaves the topic as a death would. */
		if (r == BRIDGE_END)
			shmq_pub_close(st.p);
		else
			shmq_pub_abandon(st.p);
		if (!b->follow || (r != BRIDGE_END && r != BRIDGE_RESET))
			break;
		say(b, "%s: the origin's stream %s; waiting for its next", b->topic,
		    r == BRIDGE_END ? "ended" : "was reset");
		st.renewed = 1;
	}
	free(buf);
	if (b->bad || b->dups)
		fprintf(stderr, "shmq: bridge: %s: %llu bad frames and %llu repeated seqs "
			"dropped\n", b->topic, (unsigned long long)b->bad,
			(unsigned long long)b->dups);
	if (b->toolarge)
		fprintf(stderr, "shmq: bridge: %s: %llu messages larger than the topic takes "
			"(--slot-size) were lost\n", b->topic, (unsigned long long)b->toolarge);
	if (r == BRIDGE_END || r == BRIDGE_RESET)
		return 0;
	if (r == -EINTR || cli_signal)
		return signal_status();
	return fail("%s: %s", b->topic, shmq_strerror(r));
}

/* ---- keys ------------------------------------------------------------ */

/* Is @k 40 characters of Z85 (a CURVE key as text)? */
static int z85_key(const char *k, size_t n)
{
	static const char z85[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				   ".-:+=^!/*?&<>()[]{}@%$#";
	size_t i;

	if (n != BRIDGE_KEY_LEN)
		return 0;
	for (i = 0; i < n; i++)
		if (!k[i] || !strchr(z85, k[i]))
			return 0;
	return 1;
}

/*
 * The keys named @name ("public-key", "secret-key") in file @path, one
 * per line as "NAME = KEY" (or a bare key, for a public one), up to
 * @max into @out: how many, or -1 (said).  A secret key's file must be
 * its owner's alone, as ssh wants of its own.
 */
static int read_keys(const char *path, const char *name, char (*out)[BRIDGE_KEY_LEN + 1],
		     int max, const char *opt)
{
	int secret = !strcmp(name, "secret-key"), n = 0;
	char line[256];
	struct stat st;
	FILE *f = fopen(path, "re");

	if (!f)
		return fail("%s %s: %s", opt, path, strerror(errno)), -1;
	if (secret && fstat(fileno(f), &st) == 0 && (st.st_mode & 077)) {
		fclose(f);
		return fail("%s %s: others can read this secret key (mode %04o): chmod 600 it",
			    opt, path, (unsigned)(st.st_mode & 07777)), -1;
	}
	while (fgets(line, sizeof(line), f)) {
		char *k = line, *e;
		size_t len = strlen(name);

		k[strcspn(k, "\r\n")] = 0;
		while (*k == ' ' || *k == '\t')
			k++;
		if (*k == '#' || !*k)
			continue;
		e = k + strlen(k);
		while (e > k && (e[-1] == ' ' || e[-1] == '\t'))
			*--e = 0;
		if (!secret && z85_key(k, (size_t)(e - k))) {
			/* A bare public key: one word of 40 (it may hold an '='). */
		} else if (!strncmp(k, name, len) && strchr(" \t=", k[len])) {
			k += len;
			k += strspn(k, " \t");
			if (*k++ != '=')
				continue;
			k += strspn(k, " \t");
		} else {
			continue;	/* another name's line */
		}
		e = k + strcspn(k, " \t");
		*e = 0;
		if (!z85_key(k, (size_t)(e - k))) {
			fclose(f);
			return fail("%s %s: '%s' is not a CURVE key (40 characters of Z85)",
				    opt, path, k), -1;
		}
		if (n == max) {
			fclose(f);
			return fail("%s %s: more than %d keys", opt, path, max), -1;
		}
		memcpy(out[n++], k, BRIDGE_KEY_LEN + 1);
	}
	fclose(f);
	if (!n)
		return fail("%s %s: no %s in it", opt, path, name), -1;
	return n;
}

/* Write @text to a new file @path of @mode: 0, or 1 (said). */
static int write_new(const char *path, int mode, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	size_t len = strlen(text);

	if (fd < 0)
		return fail("%s: %s%s", path, strerror(errno), errno == EEXIST ?
			    ": keygen never overwrites a key; remove it or choose another name" :
			    ""), 1;
	if (fchmod(fd, (mode_t)mode) || write(fd, text, len) != (ssize_t)len || close(fd)) {
		fail("%s: %s", path, strerror(errno));
		unlink(path);
		return 1;
	}
	return 0;
}

/* shmq bridge keygen FILE: FILE (the pair, 0600) and FILE.pub. */
static int run_keygen(const struct bridge_engine *eng, int argc, char **argv)
{
	char pub[BRIDGE_KEY_LEN + 1], secret[BRIDGE_KEY_LEN + 1], text[512], pubpath[4096];

	if (argc != 2 || argv[1][0] == '-')
		usage_error("keygen takes one FILE: it writes FILE (secret) and FILE.pub");
	if (snprintf(pubpath, sizeof(pubpath), "%s.pub", argv[1]) >= (int)sizeof(pubpath))
		usage_error("keygen: the file name is too long");
	if (!eng)
		return fail("built without ZeroMQ: install libzmq3-dev and run make again");
	if (eng->keygen(pub, secret))
		return fail("this libzmq was built without CURVE: no keys to make");
	snprintf(text, sizeof(text), "# shmq bridge CURVE key pair: keep this file secret\n"
		 "public-key = %s\nsecret-key = %s\n", pub, secret);
	if (write_new(argv[1], 0600, text))
		return 1;
	snprintf(text, sizeof(text), "# shmq bridge CURVE public key\npublic-key = %s\n", pub);
	if (write_new(pubpath, 0644, text)) {
		unlink(argv[1]);
		return 1;
	}
	printf("%s: the key pair (secret, mode 0600)\n%s: its public key, %s\n", argv[1],
	       pubpath, pub);
	return 0;
}

/* ---- the command ---------------------------------------------------- */

/* --curve-secret, --curve-server-key, --curve-clients: 0, or 1 (said). */
static int load_keys(struct bridge *b, const char *secret, const char *server,
		     const char *clients, int export)
{
	char (*one)[BRIDGE_KEY_LEN + 1] = malloc(2 * sizeof(*one));
	int n, r = 1;

	if (!one)
		return fail("out of memory");
	if (secret) {
		if (read_keys(secret, "secret-key", one, 1, "--curve-secret") < 0)
			goto out;
		memcpy(b->sec.secret, one[0], sizeof(one[0]));
		if (b->eng->public_of(b->sec.secret, b->sec.public_key)) {
			fail("--curve-secret %s: not a CURVE secret key", secret);
			goto out;
		}
	}
	if (server) {
		if (read_keys(server, "public-key", one, 1, "--curve-server-key") < 0)
			goto out;
		memcpy(b->sec.server, one[0], sizeof(one[0]));
	}
	if (clients) {
		n = read_keys(clients, "public-key", b->sec.clients, BRIDGE_MAX_CLIENTS,
			      "--curve-clients");
		if (n < 0)
			goto out;
		b->sec.nclients = (size_t)n;
	}
	if (export && (server || (clients && !secret))) {
		fail("an exporter is the CURVE server: --curve-secret (and --curve-clients), "
		     "not --curve-server-key");
		goto out;
	}
	if (!export && (clients || (secret && !server))) {
		fail("an importer is a CURVE client: --curve-server-key (and --curve-secret), "
		     "not --curve-clients");
		goto out;
	}
	r = 0;
out:
	free(one);
	return r;
}

static int run_bridge(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "bind", no_argument, NULL, 'b' },
		{ "connect", no_argument, NULL, 'c' },
		{ "lossy", no_argument, NULL, 'l' },
		{ "from", required_argument, NULL, 'f' },
		{ "insecure", no_argument, NULL, 'I' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "follow", no_argument, NULL, 0x300 },
		{ "curve-secret", required_argument, NULL, 0x301 },
		{ "curve-server-key", required_argument, NULL, 0x302 },
		{ "curve-clients", required_argument, NULL, 0x303 },
		{ "hub", required_argument, NULL, 0x304 },
		{ "hub-client", required_argument, NULL, 0x305 },
		TOPIC_LONGOPTS,
		{ "spin", no_argument, NULL, 0x100 },
		{ "block", no_argument, NULL, 0x101 },
		{ "hybrid", no_argument, NULL, 0x102 },
		{ "persistent", no_argument, NULL, 0x105 },
		{ "trust-uid", required_argument, NULL, 0x106 },
		{ "mode", required_argument, NULL, 0x107 },
		{ 0 }
	};
	static const struct chan_opts co_init = CHAN_OPTS_INIT(0, "a publisher");
	struct bridge *b;
	const char *secret = NULL, *server = NULL, *clients = NULL, *hub = NULL;
	int c, bind = -1, insecure = 0, export, r, role, hubside = 0;
	char err[512] = "";

	if (argc == 3 && !strcmp(argv[1], "keygen") && !strstr(argv[2], "://"))
		return run_keygen(bridge_zmq, argc - 1, argv + 1);
	b = calloc(1, sizeof(*b));
	if (!b)
		return fail("out of memory");
	b->bad_said = 1;
	b->co = co_init;
	while ((c = getopt_long(argc, argv, "v", opts, NULL)) != -1) {
		if (c == 'b' || c == 'c')
			bind = c == 'b';
		else if (c == 'l')
			b->lossy = 1;
		else if (c == 'I')
			insecure = 1;
		else if (c == 'v')
			b->verbose = 1;
		else if (c == 0x300)
			b->follow = 1;
		else if (c == 0x301)
			secret = optarg;
		else if (c == 0x302)
			server = optarg;
		else if (c == 0x303)
			clients = optarg;
		else if ((c == 0x304 || c == 0x305) && hub)
			usage_error("one --hub or --hub-client");
		else if (c == 0x304 || c == 0x305) {
			hub = optarg;
			hubside = c == 0x304 ? BRIDGE_HUB_SERVER : BRIDGE_HUB_CLIENT;
		}
		else if (c == 'f' && !strcmp(optarg, "oldest"))
			b->to.from = SHMQ_FROM_OLDEST;
		else if (c == 'f' && !strcmp(optarg, "next"))
			b->to.from = SHMQ_FROM_NEXT;
		else if (c == 'f')
			usage_error("invalid --from '%s' (next or oldest)", optarg);
		else if (!topic_option(&b->to, c, optarg) && !chan_option(&b->co, c, optarg))
			bad_option("v", argv);
	}
	if (hub) {
		if (argc - optind != 1 || !strstr(argv[optind], "://"))
			usage_error("--hub ADDR and --hub-client ADDR take one endpoint "
				    "(tcp://HOST:PORT, ipc://PATH)");
		if (b->lossy || b->to.from || b->follow || b->co.persistent)
			usage_error("--lossy, --from, --follow and --persistent are for topics");
		b->topic = hub;
		b->endpoint = argv[optind];
		export = hubside == BRIDGE_HUB_SERVER;	/* the CURVE server's side */
		role = hubside;
	} else {
		if (argc - optind != 2)
			usage_error("takes FROM and TO: a topic and an endpoint (tcp://..., "
				    "ipc://...), or keygen FILE");
		export = strstr(argv[optind + 1], "://") != NULL;
		if (export == (strstr(argv[optind], "://") != NULL))
			usage_error("one of FROM and TO is a topic, the other an endpoint "
				    "(tcp://HOST:PORT, ipc://PATH)");
		b->topic = argv[optind + !export];
		b->endpoint = argv[optind + export];
		if (!export && (b->lossy || b->to.from))
			usage_error("--lossy and --from are for an export (topic to network)");
		role = export ? BRIDGE_EXPORT : BRIDGE_IMPORT;
	}
	b->bind = bind >= 0 ? bind : export;
	b->eng = bridge_zmq;
	if (!b->eng)
		return fail("built without ZeroMQ: install libzmq3-dev and run make again");
	if (load_keys(b, secret, server, clients, export))
		return 1;
	if (b->bind && binds_beyond_host(b->endpoint) && !b->sec.secret[0]) {
		if (!insecure)
			return fail("%s: binding beyond this host without encryption lets anyone "
				    "on the network read and write the topic; --curve-secret to "
				    "encrypt (shmq bridge keygen), or --insecure to do it anyway",
				    b->endpoint);
		fprintf(stderr, "shmq: bridge: warning: %s is not encrypted\n", b->endpoint);
	}
	catch_signals();
	if (getrandom(&b->stream, sizeof(b->stream), 0) != sizeof(b->stream))
		b->stream = (uint64_t)getpid() * 0x9e3779b97f4a7c15ull;
	/* A routing id may not begin with a zero byte: ZeroMQ's own do. */
	b->sec.hub_id = b->stream | 0x80;
	if (b->eng->open(&b->conn, b->endpoint, role, b->bind, &b->sec, engine_log, b, err,
			 sizeof(err)))
		return fail("%s", err);
	say(b, "%s %s%s", b->bind ? "bound" : "connecting to", b->eng->where(b->conn),
	    b->sec.secret[0] || b->sec.server[0] ? ", encrypted (CURVE)" : "");
	if (hub)
		r = hubside == BRIDGE_HUB_SERVER ? bridge_hub_server(b) : bridge_hub_client(b);
	else
		r = export ? run_export(b) : run_import(b);
	/* What was sent may linger up to 5 s (an end frame, say); not after
	 * a signal, which asks to stop now. */
	b->eng->close(b->conn, hub ? 1000 : export && !cli_signal ? 5000 : 0);
	free(b);
	return r;
}

const struct cmd bridge_command = {
	.name = "bridge",
	.takes_address = 1,
	.run = run_bridge,
	.synopsis = "[OPTIONS] FROM TO | --hub ADDR ENDPOINT | ENDPOINT --hub-client ADDR | keygen FILE",
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
	"--lossy one never holds it, and counts what it could not send.  Each\n"
	"message keeps the origin's sequence number, so a subscriber's --seq and\n"
	"lost count mean what they mean at the origin.  The importer drops a\n"
	"sequence number it has already published and reports a jump as \"lost N\n"
	"messages (seq A..B)\" on stderr; the gap is skipped in the imported topic,\n"
	"and every local subscriber counts it lost.  The origin publisher's close\n"
	"ends the imported topic (its subscribers drain, then see the end) and\n"
	"both bridges exit 0, or with --follow wait for its next publisher; its\n"
	"death reaches the imported topic's subscribers as a death.\n"
	"\n"
	"Hubs across hosts: shmq bridge --hub ADDR ENDPOINT beside a hub's server\n"
	"(shmq pong --hub ADDR), and shmq bridge ENDPOINT --hub-client ADDR on a\n"
	"clients' host, which serves a hub at ADDR there: each client that\n"
	"connects to it (shmq ping --connect ADDR) becomes a client of the real\n"
	"hub, on a channel of its own; ends travel both ways.  Both run until\n"
	"Ctrl-C.  The --hub side binds and is the CURVE server.\n"
	"\n"
	"Encryption: shmq bridge keygen FILE writes a CURVE key pair to FILE\n"
	"(mode 0600) and its public key to FILE.pub.  The exporter takes its pair\n"
	"with --curve-secret; an importer takes the exporter's FILE.pub with\n"
	"--curve-server-key.  With --curve-clients the exporter admits only the\n"
	"importers whose public keys are listed (each importer then gives its own\n"
	"pair with --curve-secret).  A refused handshake is said on both sides.\n"
	"Exit status: 0 at the end of the origin's stream; 1 on an error; 2 on a\n"
	"usage error; 128+N after signal N (hub bridges, and --follow, run until\n"
	"one).\n"
	"\n"
	"      --bind          bind the endpoint (the default for an export)\n"
	"      --connect       connect to it (the default for an import)\n"
	"      --lossy         export without ever holding the topic's publisher\n"
	"      --from WHERE    export from the next message (the default) or the\n"
	"                      oldest the topic holds: next, oldest\n"
	"      --follow        at the end of the origin's stream, wait for its next\n"
	"                      publisher instead of exiting\n"
	"      --curve-secret FILE  our CURVE key pair (from keygen): encrypt\n"
	"      --curve-server-key FILE  an importer: the exporter's public key\n"
	"      --curve-clients FILE  an exporter: admit only these public keys\n"
	"                      (one per line, as keygen's FILE.pub files hold)\n"
	"      --hub ADDR      beside the hub ADDR's server: serve remote clients\n"
	"      --hub-client ADDR  serve a hub at ADDR here for a remote one\n"
	"      --insecure      bind beyond this host without encryption\n"
	TOPIC_GEOMETRY_HELP
	"      --persistent    a topic that outlives this bridge, if it makes it:\n"
	"                      the next importer goes on with its numbers; an\n"
	"                      exporter (which subscribes first) makes the\n"
	"                      origin's so, for its publishers to go on with them\n"
	"      --spin, --block, --hybrid  how it waits (hybrid by default)\n"
	"      --trust-uid USER accept a topic created by USER (repeatable)\n"
	"      --mode MODE     permissions when creating the topic (default 0600)\n"
	"  -v, --verbose       say every connect, disconnect and gap, and what was\n"
	"                      done\n",
};
