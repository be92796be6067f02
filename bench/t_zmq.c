/* SPDX-License-Identifier: MIT */
/* ZeroMQ PAIR sockets over ipc://, when the build found libzmq. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#ifdef HAVE_ZMQ
#include <zmq.h>
#endif

#include "bench.h"
#include "shmq.h"

#ifdef HAVE_ZMQ
struct zmq_side {
	void *ctx, *sock;
};

static int zq_prepare(struct bench_ctx *c)
{
	(void)c;
	return 0;
}

static int zq_connect(struct bench_ctx *c, int side)
{
	struct zmq_side *z = calloc(1, sizeof(*z));
	char ep[128];
	int r;

	if (!z)
		return -ENOMEM;
	snprintf(ep, sizeof(ep), "ipc:///tmp/%s.zmq", c->name);
	z->ctx = zmq_ctx_new();
	z->sock = zmq_socket(z->ctx, ZMQ_PAIR);
	r = side == 1 ? zmq_bind(z->sock, ep) : zmq_connect(z->sock, ep);
	if (r) {
		zmq_close(z->sock);
		zmq_ctx_term(z->ctx);
		free(z);
		return -EIO;
	}
	c->priv = z;
	/*
	 * connect() is asynchronous: a round trip makes sure the pipe is up,
	 * so no measurement includes setting it up.
	 */
	{
		char hi = 'h';

		if (side == 0) {
			if (zmq_send(z->sock, &hi, 1, 0) != 1 || zmq_recv(z->sock, &hi, 1, 0) != 1)
				return -EIO;
		} else {
			if (zmq_recv(z->sock, &hi, 1, 0) != 1 || zmq_send(z->sock, &hi, 1, 0) != 1)
				return -EIO;
		}
	}
	return 0;
}

static int zq_send(struct bench_ctx *c, int side, const void *buf)
{
	struct zmq_side *z = c->priv;

	(void)side;
	while (zmq_send(z->sock, buf, c->size, 0) < 0)
		if (zmq_errno() != EINTR)
			return -EIO;
	return 0;
}

static int zq_recv(struct bench_ctx *c, int side, void *buf)
{
	struct zmq_side *z = c->priv;
	int n;

	(void)side;
	while ((n = zmq_recv(z->sock, buf, c->size, 0)) < 0)
		if (zmq_errno() != EINTR)
			return -EIO;
	return (size_t)n == c->size ? 0 : -EBADMSG;
}

static void zq_disconnect(struct bench_ctx *c, int side)
{
	struct zmq_side *z = c->priv;
	int linger = 10000;

	/* Deliver what is queued before closing (up to 10 s), not drop it. */
	(void)side;
	zmq_setsockopt(z->sock, ZMQ_LINGER, &linger, sizeof(linger));
	zmq_close(z->sock);
	zmq_ctx_term(z->ctx);
	free(z);
}

static void zq_cleanup(struct bench_ctx *c)
{
	char path[128];

	snprintf(path, sizeof(path), "/tmp/%s.zmq", c->name);
	unlink(path);
}
#else
static int zq_prepare(struct bench_ctx *c)
{
	snprintf(c->skip, sizeof(c->skip),
		 "built without libzmq (install libzmq3-dev, then make)");
	return 1;
}
#define zq_connect NULL
#define zq_send NULL
#define zq_recv NULL
#define zq_disconnect NULL
#define zq_cleanup bench_nothing
#endif

const struct transport bench_library[] = {
	{ .name = "zmq", .family = FAMILY_LIBRARY, .suites = SUITE_PINGPONG_1K | SUITE_STREAM_1K | SUITE_WAKE,
	  .about = "ZeroMQ PAIR sockets over ipc://",
	  .prepare = zq_prepare, .connect = zq_connect, .send = zq_send,
	  .recv = zq_recv, .disconnect = zq_disconnect, .cleanup = zq_cleanup },
};
const size_t bench_library_count = sizeof(bench_library) / sizeof(bench_library[0]);
