/* SPDX-License-Identifier: MIT */
/*
 * shmq's own transports: a pair in each wait mode, the zero-copy calls,
 * a pair in an event loop, and a hub's server with one client.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bench.h"
#include "clock.h"
#include "shmq.h"

static int shmq_prepare(struct bench_ctx *c)
{
	(void)c;
	return 0;
}

/* The library's default, unless asked; always room for two messages. */
static void shmq_bench_options(const struct bench_ctx *c, int wait,
			       struct shmq_options *o)
{
	size_t cap = c->capacity ? c->capacity : SHMQ_DEFAULT_CAPACITY;

	while (cap / 2 - 8 < c->size * 2 && cap < SHMQ_MAX_CAPACITY)
		cap *= 2;
	memset(o, 0, sizeof(*o));
	o->send_capacity = o->recv_capacity = cap;
	o->wait = wait;
	o->open_timeout_ms = 10000;
	o->errbuf = c->why;
	o->errbuf_size = c->why ? c->why_size : 0;
}

static int shmq_connect_wait(struct bench_ctx *c, int wait)
{
	struct shmq_options o;
	shmq_t *q;
	int r;

	shmq_bench_options(c, wait, &o);
	r = shmq_open(c->name, &o, &q);
	if (r)
		return r;
	c->priv = q;
	return 0;
}

static int shmq_connect_spin(struct bench_ctx *c, int side)
{
	(void)side;
	return shmq_connect_wait(c, SHMQ_WAIT_SPIN);
}

static int shmq_connect_hybrid(struct bench_ctx *c, int side)
{
	(void)side;
	return shmq_connect_wait(c, SHMQ_WAIT_HYBRID);
}

static int shmq_connect_block(struct bench_ctx *c, int side)
{
	(void)side;
	return shmq_connect_wait(c, SHMQ_WAIT_BLOCK);
}

static int shmq_tsend(struct bench_ctx *c, int side, const void *buf)
{
	(void)side;
	return shmq_send(c->priv, buf, c->size);
}

static int shmq_trecv(struct bench_ctx *c, int side, void *buf)
{
	size_t len;
	int r = shmq_recv(c->priv, buf, c->size, &len);

	(void)side;
	return r ? r : len == c->size ? 0 : -EBADMSG;
}

static void *shmq_treserve(struct bench_ctx *c, int side)
{
	void *buf;

	(void)side;
	c->error = shmq_reserve(c->priv, c->size, &buf, -1);
	return c->error ? NULL : buf;
}

static int shmq_tcommit(struct bench_ctx *c, int side)
{
	int r = shmq_commit(c->priv);

	(void)side;
	return r < 0 ? r : 0;
}

static const void *shmq_tpeek(struct bench_ctx *c, int side)
{
	const void *buf;
	size_t len;

	(void)side;
	c->error = shmq_peek(c->priv, &buf, &len, -1);
	if (!c->error && len != c->size)
		c->error = -EBADMSG;
	return c->error ? NULL : buf;
}

static int shmq_trelease(struct bench_ctx *c, int side)
{
	int r = shmq_release(c->priv);

	(void)side;
	return r < 0 ? r : 0;
}

static void shmq_disconnect(struct bench_ctx *c, int side)
{
	(void)side;
	shmq_close(c->priv);
}

/*
 * shmq-epoll: a pair whose ends wait as an event loop does: try_recv
 * until -EAGAIN, then epoll_wait() on an epoll set of their own that
 * holds the channel's descriptor (shmq_fd()); and try_send, which on a
 * full ring waits the same way on shmq_send_fd().
 */
struct epoll_side {
	shmq_t *q;
	int ep;		/* holds shmq_fd() */
	int send_ep;	/* holds shmq_send_fd() */
};

static int epoll_tconnect(struct bench_ctx *c, int side)
{
	struct epoll_side *es = calloc(1, sizeof(*es));
	struct epoll_event ev = { .events = EPOLLIN };
	struct shmq_options o;
	int r, fd;

	(void)side;
	if (!es)
		return -ENOMEM;
	c->priv = es;
	es->ep = es->send_ep = -1;
	shmq_bench_options(c, SHMQ_WAIT_BLOCK, &o);
	r = shmq_open(c->name, &o, &es->q);
	if (r)
		return r;
	fd = shmq_fd(es->q);
	if (fd < 0)
		return fd;
	es->ep = epoll_create1(EPOLL_CLOEXEC);
	if (es->ep < 0 || epoll_ctl(es->ep, EPOLL_CTL_ADD, fd, &ev))
		return -errno;
	fd = shmq_send_fd(es->q);
	if (fd < 0)
		return fd;
	es->send_ep = epoll_create1(EPOLL_CLOEXEC);
	if (es->send_ep < 0 || epoll_ctl(es->send_ep, EPOLL_CTL_ADD, fd, &ev))
		return -errno;
	return 0;
}

static int epoll_tsend(struct bench_ctx *c, int side, const void *buf)
{
	struct epoll_side *es = c->priv;
	struct epoll_event ev;
	int r;

	(void)side;
	while ((r = shmq_try_send(es->q, buf, c->size)) == -EAGAIN)
		if (epoll_wait(es->send_ep, &ev, 1, -1) < 0 && errno != EINTR)
			return -errno;
	return r;
}

static int epoll_trecv(struct bench_ctx *c, int side, void *buf)
{
	struct epoll_side *es = c->priv;
	struct epoll_event ev;
	size_t len;
	int r;

	(void)side;
	while ((r = shmq_try_recv(es->q, buf, c->size, &len)) == -EAGAIN)
		if (epoll_wait(es->ep, &ev, 1, -1) < 0 && errno != EINTR)
			return -errno;
	return r ? r : len == c->size ? 0 : -EBADMSG;
}

static void epoll_tdisconnect(struct bench_ctx *c, int side)
{
	struct epoll_side *es = c->priv;

	(void)side;
	if (es->q)
		shmq_close(es->q);
	if (es->ep >= 0)
		close(es->ep);
	if (es->send_ep >= 0)
		close(es->send_ep);
	free(es);
}

/*
 * shmq-hub: side 0 serves a hub, side 1 connects to it.  Side 0 receives
 * the way a server does: shmq_hub_wait() for a client with a message,
 * then a receive on that client's channel.
 */
struct hub_side {
	shmq_hub_t *hub;
	shmq_t *q;
};

static int hub_tconnect(struct bench_ctx *c, int side)
{
	struct hub_side *hs = calloc(1, sizeof(*hs));
	struct shmq_options o;
	int64_t end = 0;
	int r;

	if (!hs)
		return -ENOMEM;
	c->priv = hs;
	shmq_bench_options(c, SHMQ_WAIT_HYBRID, &o);
	if (side == 1)
		return shmq_connect(c->name, &o, &hs->q);
	r = shmq_hub_open(c->name, &o, &hs->hub);
	/* Until the client is in (its first message may wait meanwhile). */
	while (r == 0 && shmq_hub_count(hs->hub) == 0) {
		shmq_t *ready;

		if (!end)
			end = now_ns() + 10000000000LL;
		else if (now_ns() > end)
			return -ETIMEDOUT;
		r = shmq_hub_wait(hs->hub, &ready, 1000000);
		if (r == -ETIMEDOUT)
			r = 0;
	}
	if (r == 0)
		hs->q = shmq_hub_client(hs->hub, 0);
	return r;
}

static int hub_tsend(struct bench_ctx *c, int side, const void *buf)
{
	struct hub_side *hs = c->priv;

	(void)side;
	return shmq_send(hs->q, buf, c->size);
}

static int hub_trecv(struct bench_ctx *c, int side, void *buf)
{
	struct hub_side *hs = c->priv;
	shmq_t *q = hs->q;
	size_t len;
	int r = 0;

	if (side == 0)
		r = shmq_hub_wait(hs->hub, &q, -1);
	if (r == 0)
		r = shmq_recv(q, buf, c->size, &len);
	return r ? r : len == c->size ? 0 : -EBADMSG;
}

static void hub_tdisconnect(struct bench_ctx *c, int side)
{
	struct hub_side *hs = c->priv;

	if (side == 0 && hs->hub)
		shmq_hub_close(hs->hub);
	else if (side == 1 && hs->q)
		shmq_close(hs->q);
	free(hs);
}

#define SHMQ_T(n, w, conn, what, s) \
	{ .name = n, .family = FAMILY_SHMQ, .about = what, .wait = w, .suites = s, \
	  .prepare = shmq_prepare, .connect = conn, .send = shmq_tsend, \
	  .recv = shmq_trecv, .disconnect = shmq_disconnect, .cleanup = bench_nothing }

#define SHMQ_SUITES (SUITE_PINGPONG_1K | SUITE_STREAM_1K | SUITE_PINGPONG_8)

const struct transport bench_shmq[] = {
	/* A spinner has no sleep to wake from. */
	SHMQ_T("shmq-spin", 1, shmq_connect_spin, "shmq, waits never sleep",
	       SHMQ_SUITES | SUITE_IDLE),
	SHMQ_T("shmq-hybrid", 0, shmq_connect_hybrid,
	       "shmq, hybrid waits (spin 20 us, then sleep): the default",
	       SHMQ_SUITES | SUITE_WAKE | SUITE_IDLE),
	SHMQ_T("shmq-block", 2, shmq_connect_block, "shmq, waits sleep at once",
	       SHMQ_SUITES | SUITE_WAKE | SUITE_IDLE),
	{ .name = "shmq-zc", .family = FAMILY_SHMQ, .suites = SHMQ_SUITES | SUITE_WAKE,
	  .about = "shmq, hybrid waits, zero-copy calls (reserve/commit, "
		   "peek/release): written and read in place",
	  .prepare = shmq_prepare, .connect = shmq_connect_hybrid,
	  .send = shmq_tsend, .recv = shmq_trecv, .disconnect = shmq_disconnect,
	  .cleanup = bench_nothing, .reserve = shmq_treserve, .commit = shmq_tcommit,
	  .peek = shmq_tpeek, .release = shmq_trelease },
	{ .name = "shmq-epoll", .family = FAMILY_SHMQ, .suites = SHMQ_SUITES | SUITE_WAKE,
	  .about = "shmq, both ends in an event loop: try_ calls until -EAGAIN, "
		   "then epoll_wait on shmq_fd() or shmq_send_fd()",
	  .prepare = shmq_prepare, .connect = epoll_tconnect, .send = epoll_tsend,
	  .recv = epoll_trecv, .disconnect = epoll_tdisconnect, .cleanup = bench_nothing },
	{ .name = "shmq-hub", .family = FAMILY_SHMQ, .suites = SHMQ_SUITES | SUITE_WAKE,
	  .about = "shmq, a hub's server and one client; the server receives "
		   "through shmq_hub_wait(), as a server of many does",
	  .prepare = shmq_prepare, .connect = hub_tconnect, .send = hub_tsend,
	  .recv = hub_trecv, .disconnect = hub_tdisconnect, .cleanup = bench_nothing },
};
const size_t bench_shmq_count = sizeof(bench_shmq) / sizeof(bench_shmq[0]);
