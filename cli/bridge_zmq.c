/* SPDX-License-Identifier: MIT */
/*
 * The bridge's ZeroMQ engine: an exporter is an XPUB socket with
 * ZMQ_XPUB_NODROP (at the high-water mark a send says EAGAIN instead of
 * dropping, so a lossless export holds its topic position), an importer a
 * SUB socket subscribed to everything.  ZeroMQ reconnects by itself.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge.h"

#ifdef HAVE_ZMQ
#include <zmq.h>

struct bridge_conn {
	void *ctx, *sock;
	int publish;
	char where[256];
};

static int zopen(struct bridge_conn **out, const char *endpoint, int publish, int bind,
		 char *err, size_t errsize)
{
	struct bridge_conn *c = calloc(1, sizeof(*c));
	int one = 1, zero = 0;
	size_t n;

	if (!c) {
		snprintf(err, errsize, "out of memory");
		return -1;
	}
	c->publish = publish;
	c->ctx = zmq_ctx_new();
	c->sock = c->ctx ? zmq_socket(c->ctx, publish ? ZMQ_XPUB : ZMQ_SUB) : NULL;
	if (!c->sock ||
	    (publish && zmq_setsockopt(c->sock, ZMQ_XPUB_NODROP, &one, sizeof(one))) ||
	    (publish && zmq_setsockopt(c->sock, ZMQ_XPUB_VERBOSE, &one, sizeof(one))) ||
	    (!publish && zmq_setsockopt(c->sock, ZMQ_SUBSCRIBE, "", 0)) ||
	    zmq_setsockopt(c->sock, ZMQ_LINGER, &zero, sizeof(zero)) ||
	    (bind ? zmq_bind(c->sock, endpoint) : zmq_connect(c->sock, endpoint))) {
		snprintf(err, errsize, "%s %s: %s", bind ? "bind" : "connect", endpoint,
			 zmq_strerror(zmq_errno()));
		if (c->sock)
			zmq_close(c->sock);
		if (c->ctx)
			zmq_ctx_term(c->ctx);
		free(c);
		return -1;
	}
	n = sizeof(c->where);
	if (!bind || zmq_getsockopt(c->sock, ZMQ_LAST_ENDPOINT, c->where, &n))
		snprintf(c->where, sizeof(c->where), "%s", endpoint);
	*out = c;
	return 0;
}

static const char *zwhere(struct bridge_conn *c)
{
	return c->where;
}

/* Wait up to @ms for @events on the socket: 1 ready, 0 not, -errno. */
static int zwait(struct bridge_conn *c, short events, int ms)
{
	zmq_pollitem_t it = { c->sock, 0, events, 0 };
	int r = zmq_poll(&it, 1, ms);

	if (r < 0)
		return -zmq_errno();
	return r > 0;
}

static int zsend(struct bridge_conn *c, const struct bridge_hdr *h, const void *payload,
		 int wait_ms)
{
	zmq_msg_t m;
	int r;

	if (zmq_msg_init_size(&m, sizeof(*h) + h->len))
		return -ENOMEM;
	memcpy(zmq_msg_data(&m), h, sizeof(*h));
	if (h->len)
		memcpy((char *)zmq_msg_data(&m) + sizeof(*h), payload, h->len);
	for (;;) {
		if (zmq_msg_send(&m, c->sock, ZMQ_DONTWAIT) >= 0)
			return 0;
		r = zmq_errno();
		if (r != EAGAIN && r != EINTR)
			break;
		if (wait_ms == 0 || r == EINTR)
			break;
		r = zwait(c, ZMQ_POLLOUT, wait_ms);
		if (r <= 0) {
			r = r ? -r : EAGAIN;
			break;
		}
	}
	zmq_msg_close(&m);
	return -r;
}

static ssize_t zrecv(struct bridge_conn *c, void *buf, size_t size, int wait_ms)
{
	int r = zwait(c, ZMQ_POLLIN, wait_ms), n;

	if (r <= 0)
		return r ? r : -EAGAIN;
	n = zmq_recv(c->sock, buf, size, ZMQ_DONTWAIT);
	if (n < 0)
		return -zmq_errno();
	return n;	/* may exceed @size: truncated, and the caller sees it */
}

static int zjoined(struct bridge_conn *c)
{
	unsigned char b[256];
	int n, k = 0;

	/* XPUB hands over each (un)subscription as a message: 1 = subscribe. */
	while ((n = zmq_recv(c->sock, b, sizeof(b), ZMQ_DONTWAIT)) > 0)
		k += b[0] == 1;
	return k;
}

static void zclose(struct bridge_conn *c, int linger_ms)
{
	if (!c)
		return;
	zmq_setsockopt(c->sock, ZMQ_LINGER, &linger_ms, sizeof(linger_ms));
	zmq_close(c->sock);
	zmq_ctx_term(c->ctx);
	free(c);
}

static const struct bridge_engine zmq_engine = {
	.name = "ZeroMQ",
	.open = zopen,
	.where = zwhere,
	.send = zsend,
	.recv = zrecv,
	.joined = zjoined,
	.close = zclose,
};
const struct bridge_engine *const bridge_zmq = &zmq_engine;
#else
const struct bridge_engine *const bridge_zmq = NULL;
#endif
