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
 * Ends travel both ways: a client's close (or death) ends (or abandons)
 * its channel to the server; the server's drop of a client (or its death)
 * ends that client's channel on the other host.  A clients' side sends a
 * keepalive each second; one silent for 5 s has its channels abandoned,
 * so the server sees those clients gone.  Every frame is checked as a
 * topic bridge's are, and a bad one is dropped and counted.
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
#define SEND_WAIT_NS 5000000000LL

/* One client of the bridged hub: its channel, its id, where it is. */
struct client {
	shmq_t *ch;
	uint64_t cid;
	unsigned char rid[256];	/* the server's side: its peer's id */
	size_t ridlen;
	int64_t heard;		/* the server's side: its peer's last frame */
};

struct clients {
	struct client *v;
	size_t n, cap;
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

static void forget(struct clients *t, size_t i)
{
	t->v[i] = t->v[--t->n];
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
	return n >= (ssize_t)sizeof(*h) && h->magic == BRIDGE_MAGIC &&
	       h->version == BRIDGE_VERSION && h->type >= BRIDGE_HUB_DATA &&
	       h->type <= BRIDGE_HUB_PING && h->reserved == 0 &&
	       (size_t)n == sizeof(*h) + h->len && h->len <= max &&
	       (h->type == BRIDGE_HUB_DATA || h->len == 0) && h->check == bridge_check(h);
}

/* Send one hub frame to @c's side (the server's side: its peer). */
static int send_hub(struct bridge *b, const struct client *c, int type, uint64_t cid,
		    const void *p, size_t len)
{
	struct bridge_hdr h = { BRIDGE_MAGIC, BRIDGE_VERSION, (uint8_t)type, 0,
				(uint32_t)len, 0, cid, b->stream };
	int r;

	h.check = bridge_check(&h);
	do
		r = b->eng->send_to(b->conn, c ? c->rid : NULL, c ? c->ridlen : 0, &h, p, 100);
	while ((r == -EAGAIN || r == -EINTR) && !cli_signal);
	return r;
}

/* How a channel's stream ended, as a frame type. */
static int end_type(int r)
{
	return r == -EPIPE ? BRIDGE_HUB_END : BRIDGE_HUB_RESET;
}

static int is_end(int r)
{
	return r == -EPIPE || r == -ECONNRESET || r == -ECONNABORTED || r == -EBADMSG;
}

/*
 * Everything @c's channel holds, sent on as frames: 0 while it lives, 1
 * once its stream ended (said to the other side), -errno.
 */
static int drain(struct bridge *b, struct client *c, char *buf)
{
	size_t len;
	int r;

	for (;;) {
		r = shmq_try_recv(c->ch, buf, HUB_MAX_MSG, &len);
		if (r == -EAGAIN)
			return 0;
		if (is_end(r) || r == -EMSGSIZE) {
			send_hub(b, c, end_type(r), c->cid, NULL, 0);
			return 1;
		}
		if (r)
			return r;
		r = send_hub(b, c, BRIDGE_HUB_DATA, c->cid, buf, len);
		if (r)
			return r;
		b->sent++;
	}
}

/* Deliver @len bytes to @c's channel, waiting up to 5 s for room: 0, -errno. */
static int deliver(struct client *c, const void *p, size_t len)
{
	int r;

	do
		r = shmq_send_timed(c->ch, p, len, SEND_WAIT_NS);
	while (r == -EINTR && !cli_signal);
	return r;
}

/* The per-second look beside the server: a silent clients' side is gone. */
static void silent_sides(struct bridge *b, struct clients *t)
{
	int64_t now = now_ns();
	size_t i = t->n;

	while (i-- > 0)
		if (now - t->v[i].heard > SILENT_NS) {
			say(b, "%s: client %llx: its side fell silent: abandoned", b->topic,
			    (unsigned long long)t->v[i].cid);
			shmq_abandon(t->v[i].ch);
			forget(t, i);
		}
}

/* One checked frame beside the server. */
static void server_frame(struct bridge *b, struct clients *t, const struct shmq_options *o,
			 const unsigned char *rid, size_t ridlen, const struct bridge_hdr *h)
{
	ssize_t k = by_cid(t, h->seq);
	struct client *c = k >= 0 ? &t->v[k] : NULL, tmp;
	char err[256];
	int r;
	size_t i;

	if (c && (c->ridlen != ridlen || memcmp(c->rid, rid, ridlen))) {
		b->bad++;	/* another side's client id: not its to use */
		return;
	}
	if (h->type == BRIDGE_HUB_PING) {
		for (i = 0; i < t->n; i++)
			if (t->v[i].ridlen == ridlen && !memcmp(t->v[i].rid, rid, ridlen))
				t->v[i].heard = now_ns();
		return;
	}
	if (!c && h->type != BRIDGE_HUB_DATA)
		return;	/* the end of a client we never had, or have let go */
	if (!c) {
		struct shmq_options co = *o;

		memset(&tmp, 0, sizeof(tmp));
		memcpy(tmp.rid, rid, ridlen);
		tmp.ridlen = ridlen;
		tmp.cid = h->seq;
		err[0] = 0;
		co.errbuf = err;
		co.errbuf_size = sizeof(err);
		r = shmq_connect(b->topic, &co, &tmp.ch);
		if (r) {
			fprintf(stderr, "shmq: bridge: %s: a remote client cannot connect: %s\n",
				b->topic, err[0] ? err : shmq_strerror(r));
			send_hub(b, &tmp, BRIDGE_HUB_RESET, tmp.cid, NULL, 0);
			return;
		}
		c = add(t);
		if (!c) {
			shmq_abandon(tmp.ch);
			send_hub(b, &tmp, BRIDGE_HUB_RESET, tmp.cid, NULL, 0);
			return;
		}
		*c = tmp;
		say(b, "%s: client %llx connected", b->topic, (unsigned long long)c->cid);
	}
	c->heard = now_ns();
	if (h->type == BRIDGE_HUB_DATA) {
		r = deliver(c, h + 1, h->len);
		if (r == 0)
			return;
		/* The server gone, or not taking this client's messages. */
		send_hub(b, c, is_end(r) ? end_type(r) : BRIDGE_HUB_RESET, c->cid, NULL, 0);
		shmq_abandon(c->ch);
	} else if (h->type == BRIDGE_HUB_END) {
		shmq_close(c->ch);	/* the server sees its end of stream */
	} else {
		shmq_abandon(c->ch);
	}
	say(b, "%s: client %llx %s", b->topic, (unsigned long long)c->cid,
	    h->type == BRIDGE_HUB_END ? "closed" : "is gone");
	forget(t, (size_t)(c - t->v));
}

/* Descriptors of every channel, for the engine's wait; -1 where none. */
static struct pollfd *channel_fds(struct clients *t, struct pollfd *fds, size_t *cap)
{
	size_t i;

	if (t->n > *cap) {
		struct pollfd *v = realloc(fds, t->n * sizeof(*v));

		if (!v)
			return fds;
		fds = v;
		*cap = t->n;
	}
	for (i = 0; i < t->n && i < *cap; i++) {
		fds[i].fd = shmq_fd(t->v[i].ch);
		fds[i].events = POLLIN;
		fds[i].revents = 0;
	}
	return fds;
}

int bridge_hub_server(struct bridge *b)
{
	struct clients t = { 0 };
	struct pollfd *fds = NULL;
	size_t cap = 0, i;
	struct shmq_options o;
	char err[256] = "", *buf = malloc(BUF_SIZE);
	unsigned char rid[256];
	int64_t next_look = now_ns() + 1000000000;
	int r = 0;

	if (!buf)
		return fail("out of memory");
	chan_options(&b->co, &o, err, sizeof(err));
	o.open_timeout_ms = 2000;	/* a remote client waits no longer for the server */
	while (!cli_signal) {
		size_t n;
		int polled = 1;

		fds = channel_fds(&t, fds, &cap);
		n = t.n < cap ? t.n : cap;
		for (i = 0; i < n; i++)
			polled &= fds[i].fd >= 0;
		/* A channel without a descriptor (another network namespace) is
		 * looked at every 10 ms instead. */
		r = b->eng->wait(b->conn, POLLIN, fds, (int)n, polled ? 100 : 10);
		if (r < 0 && r != -EINTR)
			break;
		for (;;) {
			size_t ridlen = sizeof(rid);
			ssize_t k = b->eng->recv_from(b->conn, rid, &ridlen, buf, BUF_SIZE);

			if (k == -EAGAIN || k == -EINTR)
				break;
			if (k < 0) {
				r = (int)k;
				goto out;
			}
			if (!bridge_hub_frame_ok((const void *)buf, k, HUB_MAX_MSG)) {
				b->bad++;
				continue;
			}
			server_frame(b, &t, &o, rid, ridlen, (const void *)buf);
		}
		/* The server's answers and ends, for every channel that has some
		 * (the table may have changed above: look at each). */
		i = t.n;
		while (i-- > 0) {
			r = drain(b, &t.v[i], buf);
			if (r < 0)
				goto out;
			if (r == 1) {
				say(b, "%s: client %llx: the server ended its channel", b->topic,
				    (unsigned long long)t.v[i].cid);
				shmq_close(t.v[i].ch);
				forget(&t, i);
			}
		}
		r = 0;
		if (now_ns() >= next_look) {
			silent_sides(b, &t);
			next_look = now_ns() + 1000000000;
		}
	}
out:
	/* Leaving: each remote client's channel ends, and its side is told. */
	for (i = 0; i < t.n; i++) {
		send_hub(b, &t.v[i], BRIDGE_HUB_RESET, t.v[i].cid, NULL, 0);
		shmq_abandon(t.v[i].ch);
	}
	free(t.v);
	free(fds);
	free(buf);
	if (b->bad)
		fprintf(stderr, "shmq: bridge: %s: %llu bad frames dropped\n", b->topic,
			(unsigned long long)b->bad);
	if (r < 0 && !cli_signal)
		return fail("%s: %s", b->endpoint, strerror(-r));
	return signal_status();
}

/* ---- beside the clients ------------------------------------------------ */

/* One checked frame beside the clients. */
static void client_frame(struct bridge *b, shmq_hub_t *hub, struct clients *t,
			 const struct bridge_hdr *h)
{
	ssize_t k = by_cid(t, h->seq);
	int r;

	if (k < 0 || h->type == BRIDGE_HUB_PING)
		return;	/* a client gone meanwhile */
	if (h->type == BRIDGE_HUB_DATA) {
		r = deliver(&t->v[k], h + 1, h->len);
		if (r == 0 || is_end(r))
			return;	/* an ended client's end is read by the drain */
		send_hub(b, NULL, BRIDGE_HUB_RESET, h->seq, NULL, 0);
	}
	say(b, "%s: client %llx: %s", b->topic, (unsigned long long)h->seq,
	    h->type == BRIDGE_HUB_END ? "the server ended its channel" :
	    "the server's side let it go");
	shmq_hub_drop(hub, t->v[k].ch);	/* its end of stream */
	forget(t, (size_t)k);
}

int bridge_hub_client(struct bridge *b)
{
	struct clients t = { 0 };
	struct shmq_options o;
	shmq_hub_t *hub;
	shmq_t *ch;
	char err[256] = "", *buf = malloc(BUF_SIZE);
	int64_t next_ping = 0;
	uint64_t count = 0;
	int r, fd;

	if (!buf)
		return fail("out of memory");
	chan_options(&b->co, &o, err, sizeof(err));
	r = shmq_hub_open(b->topic, &o, &hub);
	if (r) {
		free(buf);
		return fail("%s: %s", b->topic, err[0] ? err : shmq_strerror(r));
	}
	fd = shmq_hub_fd(hub);
	while (!cli_signal) {
		struct pollfd p = { fd, POLLIN, 0 };

		if (now_ns() >= next_ping) {
			send_hub(b, NULL, BRIDGE_HUB_PING, 0, NULL, 0);
			next_ping = now_ns() + 1000000000;
		}
		r = b->eng->wait(b->conn, POLLIN, &p, fd >= 0, fd >= 0 ? 100 : 10);
		if (r < 0 && r != -EINTR)
			break;
		for (;;) {
			size_t none = 0;
			ssize_t k = b->eng->recv_from(b->conn, NULL, &none, buf, BUF_SIZE);

			if (k == -EAGAIN || k == -EINTR)
				break;
			if (k < 0) {
				r = (int)k;
				goto out;
			}
			if (!bridge_hub_frame_ok((const void *)buf, k, HUB_MAX_MSG)) {
				b->bad++;
				continue;
			}
			client_frame(b, hub, &t, (const void *)buf);
		}
		/* Every local client with something to send, or an end. */
		while ((r = shmq_hub_wait(hub, &ch, 0)) == 0) {
			size_t i;
			struct client *c = NULL;

			for (i = 0; i < t.n && !c; i++)
				if (t.v[i].ch == ch)
					c = &t.v[i];
			if (!c) {
				c = add(&t);
				if (!c) {
					shmq_hub_drop(hub, ch);
					continue;
				}
				c->ch = ch;
				c->cid = b->stream + ++count;
				say(b, "%s: client %llx connected", b->topic,
				    (unsigned long long)c->cid);
			}
			r = drain(b, c, buf);
			if (r < 0)
				goto out;
			if (r == 1) {
				say(b, "%s: client %llx closed", b->topic, (unsigned long long)c->cid);
				shmq_hub_drop(hub, ch);
				forget(&t, (size_t)(c - t.v));
			}
		}
		if (r != -EAGAIN && r != -EINTR)
			goto out;
		r = 0;
	}
out:
	{
		size_t i;

		for (i = 0; i < t.n; i++)
			send_hub(b, NULL, BRIDGE_HUB_RESET, t.v[i].cid, NULL, 0);
	}
	shmq_hub_close(hub);
	free(t.v);
	free(buf);
	if (b->bad)
		fprintf(stderr, "shmq: bridge: %s: %llu bad frames dropped\n", b->topic,
			(unsigned long long)b->bad);
	if (r < 0 && !cli_signal)
		return fail("%s: %s", b->topic, shmq_strerror(r));
	return signal_status();
}
