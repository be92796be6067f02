/* SPDX-License-Identifier: MIT */
/*
 * Hubs across hosts: shmq bridge --hub ADDR ENDPOINT beside the hub's
 * server, shmq bridge ENDPOINT --hub-client ADDR beside its clients.
 *
 * The clients' side serves a hub at ADDR on its own host; each client
 * that connects there gets an id (its bridge's random stream plus a
 * count), and its messages travel to the server's side with it, in the
 * frames of bridge.h (seq = the client's id).  The server's side opens a
 * client of the real hub for each remote client at its first message, so
 * every remote client is on a channel of its own, as a local one would
 * be, and sends the server's answers back to the side it came from.
 *
 * Ends travel both ways.  A client's end of stream (its close, or its
 * shutdown of sending) becomes the server's end of stream for it, and
 * answers still flow until the server drops it; the server's drop becomes
 * the client's end of stream.  A death on either side is a reset (an
 * abandon at the server; a drop at the client, which a hub's server cannot
 * abandon).  Both sides send a keepalive each second to the other; a side
 * silent for 5 s has its clients abandoned (or dropped).
 *
 * Nothing waits long on one client: a message the network cannot take now
 * waits in that client's own slot while the others go on; a message its
 * channel cannot take now waits while that channel's answers are sent
 * (a server that stops reading a client until its answers are taken), up
 * to 5 s, and then that client alone is reset.  Ids that ended are not
 * reopened by frames still in flight; a side may hold 4,096 clients.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "bridge.h"
#include "clock.h"

#define HUB_MAX_MSG (1u << 20)
#define BUF_SIZE (sizeof(struct bridge_hdr) + HUB_MAX_MSG + 1)
#define SILENT_NS 5000000000LL
#define DELIVER_NS 5000000000LL
#define STALL_NS 10000000LL
#define MAX_CLIENTS 4096
#define PER_ROUND 256		/* frames, or messages of a channel, per look */
#define ENDED_IDS 1024

/* One client of the bridged hub: its channel, its id, where it is. */
struct client {
	shmq_t *ch;
	uint64_t cid;
	unsigned char rid[256];	/* the server's side: its peer's id */
	size_t ridlen;
	int64_t heard;		/* the server's side: its peer's last frame */
	int ended;		/* its sending side's end went over */
	int64_t stall_until;	/* the network was full: not before then */
	void *pending;		/* the message the network could not take */
	size_t pending_len;
};

struct hubside {
	struct clients {
		struct client *v;
		size_t n, cap;
	} t;
	uint64_t ended[ENDED_IDS];	/* ids let go, for frames still coming */
	size_t nended;
	int64_t heard;			/* the clients' side: the server side's last */
	char *buf, *buf2;
};

static struct client *add(struct clients *t)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 16;
		struct client *v = realloc(t->v, cap * sizeof(*v));

		if (!v)
			return NULL;
		t->v = v;
		t->cap = cap;
	}
	memset(&t->v[t->n], 0, sizeof(t->v[0]));
	return &t->v[t->n++];
}

static void forget(struct hubside *h, size_t i)
{
	struct clients *t = &h->t;

	h->ended[h->nended++ % ENDED_IDS] = t->v[i].cid;
	free(t->v[i].pending);
	t->v[i] = t->v[--t->n];
}

static int was_ended(const struct hubside *h, uint64_t cid)
{
	size_t i, n = h->nended < ENDED_IDS ? h->nended : ENDED_IDS;

	for (i = 0; i < n; i++)
		if (h->ended[i] == cid)
			return 1;
	return 0;
}

static ssize_t by_cid(const struct clients *t, uint64_t cid)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (t->v[i].cid == cid)
			return (ssize_t)i;
	return -1;
}

int bridge_hub_frame_ok(const struct bridge_hdr *h, ssize_t n, size_t max)
{
	return bridge_frame_sound(h, n) && h->type >= BRIDGE_HUB_DATA &&
	       h->type <= BRIDGE_HUB_PING && h->len <= max &&
	       (h->type == BRIDGE_HUB_DATA || h->len == 0);
}

/*
 * One hub frame to @c's side (to the one peer, for the clients' side),
 * waiting up to @wait_ms for room: 0, -EAGAIN, -EHOSTUNREACH (that peer
 * is gone), -errno.
 */
static int send_hub(struct bridge *b, const struct client *c, int type, uint64_t cid,
		    const void *p, size_t len, int wait_ms)
{
	struct bridge_hdr h = { BRIDGE_MAGIC, BRIDGE_VERSION, (uint8_t)type, 0,
				(uint32_t)len, 0, cid, b->stream };

	h.check = bridge_check(&h);
	return b->eng->send_to(b->conn, c ? c->rid : NULL, c ? c->ridlen : 0, &h, p, wait_ms);
}

static int is_end(int r)
{
	return r == -EPIPE || r == -ECONNRESET || r == -ECONNABORTED || r == -EBADMSG ||
	       r == -EMSGSIZE;
}

enum { LIVES = 0, ENDED = 1, RESET = 2, UNREACHABLE = 3 };

/*
 * What @c's channel holds, sent on as frames, up to PER_ROUND: LIVES,
 * ENDED (its end of stream, said to the other side), RESET (its death, or
 * a message too large, said), UNREACHABLE (the other side is gone), or
 * -errno.  A message the network cannot take now waits in c->pending.
 */
static int drain(struct bridge *b, struct client *c, char *buf)
{
	size_t len;
	int r, n;

	if (c->stall_until > now_ns())
		return LIVES;
	for (n = 0; n < PER_ROUND && !cli_signal; n++) {
		const void *p = c->pending;

		len = c->pending_len;
		if (!p) {
			r = shmq_try_recv(c->ch, buf, HUB_MAX_MSG, &len);
			if (r == -EAGAIN)
				return LIVES;
			if (is_end(r)) {
				/* Said even after the other side's own end: a
				 * half-closed client is let go only when told. */
				r = r == -EPIPE ? BRIDGE_HUB_END : BRIDGE_HUB_RESET;
				send_hub(b, c, r, c->cid, NULL, 0, 100);
				return r == BRIDGE_HUB_END ? ENDED : RESET;
			}
			if (r)
				return r;
			p = buf;
		}
		r = send_hub(b, c, BRIDGE_HUB_DATA, c->cid, p, len, 0);
		if (r == -EAGAIN && !c->pending) {
			c->pending = malloc(len ? len : 1);
			if (!c->pending)
				return -ENOMEM;
			memcpy(c->pending, buf, len);
			c->pending_len = len;
		}
		if (r == -EAGAIN) {
			c->stall_until = now_ns() + STALL_NS;
			return LIVES;
		}
		free(c->pending);
		c->pending = NULL;
		if (r)
			return UNREACHABLE;
		b->sent++;
	}
	return LIVES;
}

/*
 * Deliver @len bytes to @c's channel.  While it has no room, its answers
 * go out (its server may be waiting for that to read again), up to 5 s:
 * 0, an end (-EPIPE...), -ETIMEDOUT, -errno.
 */
static int deliver(struct bridge *b, struct client *c, const void *p, size_t len,
		   char *buf2)
{
	int64_t until = now_ns() + DELIVER_NS;
	int r;

	for (;;) {
		r = shmq_try_send(c->ch, p, len);
		if (r != -EAGAIN)
			return r;
		if (cli_signal || now_ns() >= until)
			return cli_signal ? -EINTR : -ETIMEDOUT;
		c->stall_until = 0;
		r = drain(b, c, buf2);
		if (r < 0)
			return r;
		if (r != LIVES)
			return -ECONNRESET;
		nap(200000);
	}
}

/* ---- beside the server ------------------------------------------------- */

/* Let client @i go: its channel closed (a clean end) or abandoned. */
static void let_go(struct bridge *b, struct hubside *h, size_t i, int clean, const char *why)
{
	struct client *c = &h->t.v[i];

	say(b, "%s: client %llx %s", b->topic, (unsigned long long)c->cid, why);
	if (clean)
		shmq_close(c->ch);
	else
		shmq_abandon(c->ch);
	forget(h, i);
}

/* Open the real hub's client for a new remote id: 0, or -errno (said). */
static int open_client(struct bridge *b, struct hubside *h, const struct shmq_options *o,
		       const unsigned char *rid, size_t ridlen, uint64_t cid)
{
	struct shmq_options co = *o;
	struct client tmp, *c;
	char err[256] = "";
	int r = -EMFILE;

	memset(&tmp, 0, sizeof(tmp));
	memcpy(tmp.rid, rid, ridlen);
	tmp.ridlen = ridlen;
	tmp.cid = cid;
	co.errbuf = err;
	co.errbuf_size = sizeof(err);
	if (h->t.n < MAX_CLIENTS)
		r = shmq_connect(b->topic, &co, &tmp.ch);
	if (r == 0 && !(c = add(&h->t))) {
		shmq_abandon(tmp.ch);
		r = -ENOMEM;
	}
	if (r) {
		fprintf(stderr, "shmq: bridge: %s: a remote client cannot connect: %s\n", b->topic,
			r == -EMFILE && !err[0] ? "4,096 clients already" :
			err[0] ? err : shmq_strerror(r));
		h->ended[h->nended++ % ENDED_IDS] = cid;
		send_hub(b, &tmp, BRIDGE_HUB_RESET, cid, NULL, 0, 100);
		return r;
	}
	tmp.heard = now_ns();
	*c = tmp;
	say(b, "%s: client %llx connected", b->topic, (unsigned long long)cid);
	return 0;
}

/* One checked frame beside the server. */
static void server_frame(struct bridge *b, struct hubside *h, void *ctx,
			 const unsigned char *rid, size_t ridlen, const struct bridge_hdr *f)
{
	const struct shmq_options *o = ctx;
	ssize_t k;
	size_t i;
	int r;

	/* A keepalive says its side lives: each of its clients. */
	if (f->type == BRIDGE_HUB_PING) {
		for (i = 0; i < h->t.n; i++)
			if (h->t.v[i].ridlen == ridlen && !memcmp(h->t.v[i].rid, rid, ridlen))
				h->t.v[i].heard = now_ns();
		return;
	}
	k = by_cid(&h->t, f->seq);
	if (k >= 0 && (h->t.v[k].ridlen != ridlen || memcmp(h->t.v[k].rid, rid, ridlen))) {
		b->bad++;	/* another side's client id: not its to use */
		return;
	}
	if (k < 0) {
		/* Only a client's first message opens it; never one let go. */
		if (f->type != BRIDGE_HUB_DATA || was_ended(h, f->seq) ||
		    open_client(b, h, o, rid, ridlen, f->seq))
			return;
		k = (ssize_t)h->t.n - 1;
	}
	h->t.v[k].heard = now_ns();
	if (f->type == BRIDGE_HUB_DATA) {
		r = deliver(b, &h->t.v[k], f + 1, f->len, h->buf2);
		if (r == 0)
			return;
		/* Not taken: the server gone, or not reading this client. */
		send_hub(b, &h->t.v[k], BRIDGE_HUB_RESET, f->seq, NULL, 0, 100);
		let_go(b, h, (size_t)k, 0, r == -ETIMEDOUT ? "reset: its server took nothing "
		       "from it for 5 s" : "reset: its channel ended");
	} else if (f->type == BRIDGE_HUB_END) {
		/* Its end of sending: the server sees the end of its stream,
		 * and its answers still go back until it lets the client go. */
		shmq_shutdown(h->t.v[k].ch);
		h->t.v[k].ended = 1;
	} else {
		let_go(b, h, (size_t)k, 0, "is gone");
	}
}

/* Each second: a keepalive to every side, and a silent side's clients go. */
static void server_tick(struct bridge *b, struct hubside *h)
{
	int64_t now = now_ns();
	const struct client *sides[64];
	size_t i, j, nsides = 0;

	i = h->t.n;
	while (i-- > 0)
		if (now - h->t.v[i].heard > SILENT_NS)
			let_go(b, h, i, 0, "abandoned: its side fell silent");
	/* One keepalive per side (the first 64 sides told apart; past them,
	 * one per client, which is more than needed but harmless). */
	for (i = 0; i < h->t.n; i++) {
		const struct client *c = &h->t.v[i];

		for (j = 0; j < nsides; j++)
			if (sides[j]->ridlen == c->ridlen && !memcmp(sides[j]->rid, c->rid, c->ridlen))
				break;
		if (j < nsides)
			continue;
		if (nsides < 64)
			sides[nsides++] = c;
		send_hub(b, c, BRIDGE_HUB_PING, 0, NULL, 0, 0);
	}
}

/* Descriptors of every channel not stalled, for the engine's wait. */
static struct pollfd *channel_fds(struct clients *t, struct pollfd *fds, size_t *cap,
				  size_t *n, int *timeout_ms)
{
	int64_t now = now_ns();
	size_t i;

	if (t->n > *cap) {
		struct pollfd *v = realloc(fds, t->n * sizeof(*v));

		if (v) {
			fds = v;
			*cap = t->n;
		}
	}
	*n = t->n < *cap ? t->n : *cap;
	for (i = 0; i < *n; i++) {
		int stalled = t->v[i].stall_until > now;

		fds[i].fd = stalled ? -1 : shmq_fd(t->v[i].ch);
		fds[i].events = POLLIN;
		fds[i].revents = 0;
		/* No descriptor (another network namespace), or stalled: looked
		 * at again within 10 ms. */
		if (fds[i].fd < 0)
			*timeout_ms = 10;
	}
	return fds;
}

static int hubside_init(struct hubside *h)
{
	memset(h, 0, sizeof(*h));
	h->buf = malloc(BUF_SIZE);
	h->buf2 = malloc(HUB_MAX_MSG);
	h->heard = now_ns();
	return h->buf && h->buf2 ? 0 : -ENOMEM;
}

static void hubside_free(struct hubside *h)
{
	size_t i;

	for (i = 0; i < h->t.n; i++)
		free(h->t.v[i].pending);
	free(h->t.v);
	free(h->buf);
	free(h->buf2);
}

/*
 * The frames waiting, up to PER_ROUND, each checked, to @handle: 0, or
 * -errno from the transport.
 */
static int read_frames(struct bridge *b, unsigned char *rid, int routed,
		       void (*handle)(struct bridge *, struct hubside *, void *,
				      const unsigned char *, size_t, const struct bridge_hdr *),
		       struct hubside *h, void *ctx)
{
	int n;

	for (n = 0; n < PER_ROUND && !cli_signal; n++) {
		size_t ridlen = routed ? 256 : 0;
		ssize_t k = b->eng->recv_from(b->conn, rid, &ridlen, h->buf, BUF_SIZE);

		if (k == -EAGAIN || k == -EINTR)
			return 0;
		if (k < 0)
			return (int)k;
		if ((size_t)k > BUF_SIZE || !bridge_hub_frame_ok((const void *)h->buf, k,
								  HUB_MAX_MSG)) {
			b->bad++;
			continue;
		}
		h->heard = now_ns();
		handle(b, h, ctx, rid, ridlen, (const void *)h->buf);
	}
	return 0;
}

int bridge_hub_server(struct bridge *b)
{
	struct hubside h;
	struct pollfd *fds = NULL;
	size_t cap = 0, n, i;
	struct shmq_options o;
	char err[256] = "";
	unsigned char rid[256];
	int64_t next_tick = now_ns() + 1000000000;
	int r = 0, ms;

	if (hubside_init(&h)) {
		hubside_free(&h);
		return fail("out of memory");
	}
	chan_options(&b->co, &o, err, sizeof(err));
	o.open_timeout_ms = 2000;	/* a remote client waits no longer for the server */
	while (!cli_signal) {
		ms = 100;
		fds = channel_fds(&h.t, fds, &cap, &n, &ms);
		r = b->eng->wait(b->conn, POLLIN, fds, (int)n, ms);
		if (r < 0 && r != -EINTR)
			break;
		r = read_frames(b, rid, 1, server_frame, &h, &o);
		if (r < 0)
			break;
		/* The server's answers and ends, for every channel. */
		i = h.t.n;
		while (i-- > 0) {
			r = drain(b, &h.t.v[i], h.buf);
			if (r < 0)
				goto out;
			if (r == ENDED)
				let_go(b, &h, i, 1, "closed: its server let it go");
			else if (r == RESET)
				let_go(b, &h, i, 0, "reset: its channel ended");
			else if (r == UNREACHABLE)
				let_go(b, &h, i, 0, "abandoned: its side is gone");
		}
		r = 0;
		if (now_ns() >= next_tick) {
			server_tick(b, &h);
			next_tick = now_ns() + 1000000000;
		}
	}
out:
	/* Leaving: each remote client's channel is abandoned, its side told. */
	for (i = 0; i < h.t.n; i++) {
		send_hub(b, &h.t.v[i], BRIDGE_HUB_RESET, h.t.v[i].cid, NULL, 0, 100);
		shmq_abandon(h.t.v[i].ch);
	}
	hubside_free(&h);
	free(fds);
	if (b->bad)
		fprintf(stderr, "shmq: bridge: %s: %llu bad frames dropped\n", b->topic,
			(unsigned long long)b->bad);
	if (r < 0 && !cli_signal)
		return fail("%s: %s", b->endpoint, strerror(-r));
	return signal_status();
}

/* ---- beside the clients ------------------------------------------------ */

/* Let a local client go: the end of its stream. */
static void drop(struct bridge *b, struct hubside *h, shmq_hub_t *hub, size_t i,
		 const char *why)
{
	say(b, "%s: client %llx: %s", b->topic, (unsigned long long)h->t.v[i].cid, why);
	shmq_hub_drop(hub, h->t.v[i].ch);
	forget(h, i);
}

/* One checked frame beside the clients. */
static void client_frame(struct bridge *b, struct hubside *h, void *ctx,
			 const unsigned char *rid, size_t ridlen, const struct bridge_hdr *f)
{
	shmq_hub_t *hub = ctx;
	ssize_t k = by_cid(&h->t, f->seq);
	int r;

	(void)rid;
	(void)ridlen;
	if (k < 0 || f->type == BRIDGE_HUB_PING)
		return;	/* a client gone meanwhile */
	if (f->type == BRIDGE_HUB_DATA) {
		r = deliver(b, &h->t.v[k], f + 1, f->len, h->buf2);
		if (r == 0)
			return;
		send_hub(b, NULL, BRIDGE_HUB_RESET, f->seq, NULL, 0, 100);
		drop(b, h, hub, (size_t)k, r == -ETIMEDOUT ? "took nothing for 5 s: let go" :
		     "gone");
		return;
	}
	drop(b, h, hub, (size_t)k, f->type == BRIDGE_HUB_END ? "the server let it go" :
	     "the server's side reset it");
}

/* A local client's messages and end, after hub_wait returned it. */
static int serve_local(struct bridge *b, struct hubside *h, shmq_hub_t *hub, shmq_t *ch,
		       uint64_t *count)
{
	struct client *c = NULL;
	size_t i;
	int r;

	for (i = 0; i < h->t.n && !c; i++)
		if (h->t.v[i].ch == ch)
			c = &h->t.v[i];
	if (!c) {
		if (h->t.n >= MAX_CLIENTS || !(c = add(&h->t))) {
			fprintf(stderr, "shmq: bridge: %s: a client turned away: 4,096 already\n",
				b->topic);
			shmq_hub_drop(hub, ch);
			return 0;
		}
		c->ch = ch;
		c->cid = b->stream + ++*count;
		say(b, "%s: client %llx connected", b->topic, (unsigned long long)c->cid);
	}
	r = drain(b, c, h->buf);
	if (r < 0)
		return r;
	i = (size_t)(c - h->t.v);
	if (r == ENDED) {
		/* It closed, or stopped sending: answers may still come to it,
		 * until the server lets it go.  Held, so the hub stops saying so. */
		c->ended = 1;
		shmq_hub_hold(hub, ch, 1);
	} else if (r == RESET || r == UNREACHABLE) {
		drop(b, h, hub, i, r == RESET ? "died" : "its server's side is gone");
	}
	return 0;
}

int bridge_hub_client(struct bridge *b)
{
	struct hubside h;
	struct shmq_options o;
	shmq_hub_t *hub;
	shmq_t *ch;
	char err[256] = "";
	int64_t next_tick = 0;
	uint64_t count = 0;
	size_t i;
	int r, fd, n;

	if (hubside_init(&h)) {
		hubside_free(&h);
		return fail("out of memory");
	}
	chan_options(&b->co, &o, err, sizeof(err));
	r = shmq_hub_open(b->topic, &o, &hub);
	if (r) {
		hubside_free(&h);
		return fail("%s: %s", b->topic, err[0] ? err : shmq_strerror(r));
	}
	fd = shmq_hub_fd(hub);
	while (!cli_signal) {
		struct pollfd p = { fd, POLLIN, 0 };

		if (now_ns() >= next_tick) {
			send_hub(b, NULL, BRIDGE_HUB_PING, 0, NULL, 0, 0);
			/* The server's side silent: its clients here are let go. */
			if (now_ns() - h.heard > SILENT_NS && h.t.n) {
				i = h.t.n;
				while (i-- > 0)
					drop(b, &h, hub, i, "its server's side fell silent");
			}
			next_tick = now_ns() + 1000000000;
		}
		r = b->eng->wait(b->conn, POLLIN, &p, fd >= 0, fd >= 0 ? 100 : 10);
		if (r < 0 && r != -EINTR)
			break;
		r = read_frames(b, NULL, 0, client_frame, &h, hub);
		if (r < 0)
			goto out;
		/* Every local client with something to send, or an end. */
		for (n = 0; n < PER_ROUND && !cli_signal &&
			    (r = shmq_hub_wait(hub, &ch, 0)) == 0; n++) {
			r = serve_local(b, &h, hub, ch, &count);
			if (r < 0)
				goto out;
		}
		if (r != 0 && r != -EAGAIN && r != -EINTR)
			goto out;
		/* Those the network could not take from before. */
		i = h.t.n;
		while (i-- > 0)
			if (h.t.v[i].pending && h.t.v[i].stall_until <= now_ns()) {
				r = drain(b, &h.t.v[i], h.buf);
				if (r < 0)
					goto out;
				if (r == RESET || r == UNREACHABLE)
					drop(b, &h, hub, i, "died");
			}
		r = 0;
	}
out:
	for (i = 0; i < h.t.n; i++)
		send_hub(b, NULL, BRIDGE_HUB_RESET, h.t.v[i].cid, NULL, 0, 100);
	shmq_hub_close(hub);
	hubside_free(&h);
	if (b->bad)
		fprintf(stderr, "shmq: bridge: %s: %llu bad frames dropped\n", b->topic,
			(unsigned long long)b->bad);
	if (r < 0 && !cli_signal)
		return fail("%s: %s", b->topic, shmq_strerror(r));
	return signal_status();
}
