/* SPDX-License-Identifier: MIT */
/*
 * The bridge's ZeroMQ engine: an exporter is an XPUB socket with
 * ZMQ_XPUB_NODROP (at the high-water mark a send says EAGAIN instead of
 * dropping, so a lossless export holds its topic position), an importer a
 * SUB socket subscribed to everything.  ZeroMQ reconnects by itself.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge.h"

#ifdef HAVE_ZMQ
#include <zmq.h>

#include "clock.h"

#define MONITOR_EVENTS (ZMQ_EVENT_CONNECTED | ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED | \
			ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | \
			ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)

struct bridge_conn {
	void *ctx, *sock;
	void *mon;	/* the socket's events (ZMQ_PAIR) */
	void *zap;	/* an exporter with --curve-clients: ZAP requests (ZMQ_REP) */
	int publish;	/* the CURVE server's side: an exporter, a hub's */
	int role;	/* enum bridge_role */
	int curve;
	int handshaken;	/* since its last connect */
	unsigned calls;	/* receives: the monitor is looked at every 1,024 */
	int told;	/* a failed handshake was said: not again at the close */
	uint8_t (*clients)[32];
	size_t nclients;
	bridge_log_fn log;
	void *log_ctx;
	char where[256];
};

__attribute__((format(printf, 3, 4)))
static void zsay(struct bridge_conn *c, int always, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	c->log(c->log_ctx, always, line);
}

/* One event of the socket's monitor: said, as the side we are sees it. */
static void event(struct bridge_conn *c, unsigned ev, uint32_t val, const char *addr)
{
	int mismatch = ev == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL &&
		       val == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH;
	int crypto = ev == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL &&
		     val == ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC;

	if (ev != ZMQ_EVENT_DISCONNECTED && ev != ZMQ_EVENT_CONNECTED &&
	    ev != ZMQ_EVENT_ACCEPTED && ev != ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
		/* One line a failure: the close that follows says nothing. */
		if (c->told)
			return;
		c->told = 1;
	}
	if (ev == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
		c->handshaken = 1;
		zsay(c, 0, "%s %s: handshake done, %s", c->publish ? "a connection on" :
		    "connected to", addr, c->curve ? "encrypted (CURVE)" : "not encrypted");
	} else if (ev == ZMQ_EVENT_CONNECTED || ev == ZMQ_EVENT_ACCEPTED) {
		c->handshaken = c->told = 0;
		zsay(c, 0, "%s %s", ev == ZMQ_EVENT_ACCEPTED ? "accepted a connection on" :
		    "connected to", addr);
	} else if (ev == ZMQ_EVENT_DISCONNECTED) {
		if (c->told)
			zsay(c, 0, "%s %s", c->publish ? "a connection closed on" :
			    "disconnected from", addr);
		else if (!c->publish && !c->handshaken)
			zsay(c, 1, "the exporter at %s closed the connection during the "
			    "handshake: %s", addr, c->curve ? "is --curve-server-key its "
			    "public key, and does it use CURVE?" : "does it want CURVE "
			    "(--curve-server-key)?");
		else
			zsay(c, 0, "%s %s", c->publish ? "a connection closed on" :
			    "disconnected from", addr);
		c->handshaken = 0;
	} else if (ev == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
		/* An exporter said who it refused in its ZAP handler. */
		if (!c->publish)
			zsay(c, 1, "the exporter at %s refused our key: it is not among its "
			    "--curve-clients", addr);
	} else if (mismatch && c->publish) {
		zsay(c, 1, "refused a connection on %s: %s", addr, c->curve ?
		    "it does not use CURVE (an importer without --curve-server-key)" :
		    "it uses CURVE, and this exporter has no --curve-secret");
	} else if (mismatch) {
		zsay(c, 1, "the exporter at %s %s", addr, c->curve ?
		    "does not use CURVE: drop --curve-server-key" :
		    "uses CURVE: give its public key with --curve-server-key");
	} else if (crypto && c->publish) {
		zsay(c, 1, "refused a connection on %s: its CURVE handshake failed (an "
		    "importer with the wrong --curve-server-key)", addr);
	} else if (crypto) {
		zsay(c, 1, "the CURVE handshake with %s failed: is --curve-server-key its "
		    "public key?", addr);
	} else if (ev == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL && !c->publish) {
		c->told = 0;	/* the close that follows says it */
	} else if (ev == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) {
		zsay(c, 1, "refused a connection on %s: its handshake failed (%s)%s", addr,
		    strerror((int)val), c->curve ? ": an importer without "
		    "--curve-server-key, or with a wrong one?" : "");
	} else if (ev == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) {
		zsay(c, 1, "a handshake %s %s failed (ZeroMQ protocol error 0x%x)",
		    c->publish ? "on" : "with", addr, (unsigned)val);
	}
}

/* Read every event the monitor holds. */
static void read_events(struct bridge_conn *c)
{
	unsigned char head[6];
	char addr[256];
	uint16_t ev;
	uint32_t val;
	int n;

	while ((n = zmq_recv(c->mon, head, sizeof(head), ZMQ_DONTWAIT)) >= 0) {
		/* The second part, the address, follows the first at once. */
		int a = zmq_recv(c->mon, addr, sizeof(addr) - 1, 0);

		addr[a < 0 ? 0 : a < (int)sizeof(addr) ? a : (int)sizeof(addr) - 1] = 0;
		if (n != (int)sizeof(head))
			continue;
		memcpy(&ev, head, 2);
		memcpy(&val, head + 2, 4);
		event(c, ev, val, addr);
	}
}

/* Answer every ZAP request waiting: 200 for a listed client key, else 400. */
static void answer_zap(struct bridge_conn *c)
{
	char part[8][256];
	int len[8], n, more, k = 0, i, allowed = 0;
	size_t sz;

	while ((len[0] = zmq_recv(c->zap, part[0], sizeof(part[0]), ZMQ_DONTWAIT)) >= 0) {
		for (k = 1;; k++) {
			sz = sizeof(more);
			if (zmq_getsockopt(c->zap, ZMQ_RCVMORE, &more, &sz) || !more)
				break;
			n = zmq_recv(c->zap, k < 8 ? part[k] : part[7], sizeof(part[0]), 0);
			if (k < 8)
				len[k] = n;
		}
		/* version, request id, domain, address, identity, mechanism, key */
		allowed = 0;
		if (k >= 7 && len[5] == 5 && !memcmp(part[5], "CURVE", 5) && len[6] == 32)
			for (i = 0; i < (int)c->nclients && !allowed; i++)
				allowed = !memcmp(c->clients[i], part[6], 32);
		if (k >= 7 && len[6] == 32 && !allowed) {
			char z85[BRIDGE_KEY_LEN + 1];

			zmq_z85_encode(z85, (const uint8_t *)part[6], 32);
			zsay(c, 1, "refused a client on %s: its key %s is not among the "
			    "--curve-clients", c->where, z85);
		}
		zmq_send(c->zap, "1.0", 3, ZMQ_SNDMORE);
		zmq_send(c->zap, part[1], k > 1 && len[1] > 0 ? (size_t)len[1] : 0, ZMQ_SNDMORE);
		zmq_send(c->zap, allowed ? "200" : "400", 3, ZMQ_SNDMORE);
		zmq_send(c->zap, allowed ? "OK" : "not a listed client", allowed ? 2 : 19,
			 ZMQ_SNDMORE);
		zmq_send(c->zap, "", 0, ZMQ_SNDMORE);
		zmq_send(c->zap, "", 0, 0);
	}
}

/* Keys into the socket: CURVE server (export) or client (import). */
static int set_keys(struct bridge_conn *c, const struct bridge_security *sec, char *err,
		    size_t errsize)
{
	char pub[BRIDGE_KEY_LEN + 1], secret[BRIDGE_KEY_LEN + 1];
	int one = 1;
	size_t i;

	if (!sec->secret[0] && !sec->server[0])
		return 0;
	if (!zmq_has("curve")) {
		snprintf(err, errsize, "this libzmq was built without CURVE");
		return -1;
	}
	c->curve = 1;
	if (c->publish) {
		if (sec->nclients) {
			c->clients = calloc(sec->nclients, sizeof(*c->clients));
			if (!c->clients)
				return snprintf(err, errsize, "out of memory"), -1;
			for (i = 0; i < sec->nclients; i++)
				if (!zmq_z85_decode(c->clients[i], sec->clients[i]))
					return snprintf(err, errsize, "--curve-clients: '%s' is "
							"not a key", sec->clients[i]), -1;
			c->nclients = sec->nclients;
			/* The handler is bound before the socket can handshake. */
			c->zap = zmq_socket(c->ctx, ZMQ_REP);
			if (!c->zap || zmq_bind(c->zap, "inproc://zeromq.zap.01"))
				return snprintf(err, errsize, "ZAP handler: %s",
						zmq_strerror(zmq_errno())), -1;
		}
		return zmq_setsockopt(c->sock, ZMQ_CURVE_SERVER, &one, sizeof(one)) ||
		       zmq_setsockopt(c->sock, ZMQ_CURVE_SECRETKEY, sec->secret,
				      BRIDGE_KEY_LEN + 1) ?
		       (snprintf(err, errsize, "--curve-secret: %s", zmq_strerror(zmq_errno())), -1) :
		       0;
	}
	if (sec->secret[0]) {
		memcpy(secret, sec->secret, sizeof(secret));
		memcpy(pub, sec->public_key, sizeof(pub));
	} else if (zmq_curve_keypair(pub, secret)) {
		/* No --curve-secret: a key of our own for this run. */
		return snprintf(err, errsize, "making a key: %s", zmq_strerror(zmq_errno())), -1;
	}
	return zmq_setsockopt(c->sock, ZMQ_CURVE_SERVERKEY, sec->server, BRIDGE_KEY_LEN + 1) ||
	       zmq_setsockopt(c->sock, ZMQ_CURVE_PUBLICKEY, pub, BRIDGE_KEY_LEN + 1) ||
	       zmq_setsockopt(c->sock, ZMQ_CURVE_SECRETKEY, secret, BRIDGE_KEY_LEN + 1) ?
	       (snprintf(err, errsize, "CURVE keys: %s", zmq_strerror(zmq_errno())), -1) : 0;
}

static void zclose(struct bridge_conn *c, int linger_ms);

static int zopen(struct bridge_conn **out, const char *endpoint, int publish, int bind,
		 const struct bridge_security *sec, bridge_log_fn log, void *log_ctx,
		 char *err, size_t errsize)
{
	struct bridge_conn *c = calloc(1, sizeof(*c));
	char mon[64];
	int one = 1, zero = 0, ivl_max = 1000, hwm = 1000;
	int64_t maxmsg = (int64_t)(sizeof(struct bridge_hdr) + BRIDGE_BATCH_BYTES + (1u << 20));
	unsigned char id[8];
	size_t n;

	if (!c) {
		snprintf(err, errsize, "out of memory");
		return -1;
	}
	c->role = publish;
	c->publish = publish == BRIDGE_EXPORT || publish == BRIDGE_HUB_SERVER;
	c->log = log;
	c->log_ctx = log_ctx;
	snprintf(c->where, sizeof(c->where), "%s", endpoint);
	c->ctx = zmq_ctx_new();
	c->sock = c->ctx ? zmq_socket(c->ctx, publish == BRIDGE_EXPORT ? ZMQ_XPUB :
					      publish == BRIDGE_IMPORT ? ZMQ_SUB :
					      publish == BRIDGE_HUB_SERVER ? ZMQ_ROUTER : ZMQ_DEALER) :
		  NULL;
	if (!c->sock) {
		snprintf(err, errsize, "ZeroMQ: %s", zmq_strerror(zmq_errno()));
		goto fail;
	}
	if (set_keys(c, sec, err, errsize))
		goto fail;
	memcpy(id, &sec->hub_id, sizeof(id));
	snprintf(mon, sizeof(mon), "inproc://shmq-bridge-monitor-%p", (void *)c);
	if (zmq_socket_monitor(c->sock, mon, MONITOR_EVENTS) ||
	    !(c->mon = zmq_socket(c->ctx, ZMQ_PAIR)) || zmq_connect(c->mon, mon)) {
		snprintf(err, errsize, "ZeroMQ monitor: %s", zmq_strerror(zmq_errno()));
		goto fail;
	}
	/*
	 * Refused, an importer tries again ever later, up to once a second.
	 * Queues of 1,000 messages each way, as ZeroMQ's default, set here so
	 * that the bound is ours: a lossless export whose importer stalls
	 * holds at most 1,000 batches (64 MiB) on each side of the wire.
	 */
	if (zmq_setsockopt(c->sock, ZMQ_RECONNECT_IVL_MAX, &ivl_max, sizeof(ivl_max)) ||
	    zmq_setsockopt(c->sock, ZMQ_SNDHWM, &hwm, sizeof(hwm)) ||
	    zmq_setsockopt(c->sock, ZMQ_RCVHWM, &hwm, sizeof(hwm)) ||
	    (publish == BRIDGE_EXPORT &&
	     zmq_setsockopt(c->sock, ZMQ_XPUB_NODROP, &one, sizeof(one))) ||
	    (publish == BRIDGE_EXPORT &&
	     zmq_setsockopt(c->sock, ZMQ_XPUB_VERBOSE, &one, sizeof(one))) ||
	    /* A reply to a hub client that is gone: EHOSTUNREACH, not dropped. */
	    (publish == BRIDGE_HUB_SERVER &&
	     zmq_setsockopt(c->sock, ZMQ_ROUTER_MANDATORY, &one, sizeof(one))) ||
	    (publish == BRIDGE_IMPORT && zmq_setsockopt(c->sock, ZMQ_SUBSCRIBE, "", 0)) ||
	    /* No message larger than a frame can be is taken in at all. */
	    zmq_setsockopt(c->sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof(maxmsg)) ||
	    (publish == BRIDGE_HUB_CLIENT && sec->hub_id &&
	     zmq_setsockopt(c->sock, ZMQ_ROUTING_ID, id, sizeof(id))) ||
	    zmq_setsockopt(c->sock, ZMQ_LINGER, &zero, sizeof(zero)) ||
	    (bind ? zmq_bind(c->sock, endpoint) : zmq_connect(c->sock, endpoint))) {
		snprintf(err, errsize, "%s %s: %s", bind ? "bind" : "connect", endpoint,
			 zmq_strerror(zmq_errno()));
		goto fail;
	}
	n = sizeof(c->where);
	if (!bind || zmq_getsockopt(c->sock, ZMQ_LAST_ENDPOINT, c->where, &n))
		snprintf(c->where, sizeof(c->where), "%s", endpoint);
	*out = c;
	return 0;
fail:
	zclose(c, 0);
	return -1;
}

static const char *zwhere(struct bridge_conn *c)
{
	return c->where;
}

/*
 * Wait up to @ms (-1: forever) for @events on the socket or for one of the
 * @n descriptors of @extra (their revents set), answering the monitor and
 * the ZAP handler meanwhile: 1 the socket is ready, 0 not (but perhaps a
 * descriptor), -errno.
 */
static int zwait_fds(struct bridge_conn *c, short events, struct pollfd *extra, int n, int ms)
{
	int64_t until = ms < 0 ? -1 : now_ns() + (int64_t)ms * 1000000;
	zmq_pollitem_t stack[16], *it = n + 3 <= 16 ? stack : malloc((size_t)(n + 3) * sizeof(*it));
	int i, r = 0, any;

	if (!it)
		return -ENOMEM;
	for (;;) {
		int64_t left = until < 0 ? -1 : (until - now_ns()) / 1000000;
		int k = 2;

		it[0] = (zmq_pollitem_t){ c->sock, 0, events, 0 };
		it[1] = (zmq_pollitem_t){ c->mon, 0, ZMQ_POLLIN, 0 };
		if (c->zap)
			it[k++] = (zmq_pollitem_t){ c->zap, 0, ZMQ_POLLIN, 0 };
		for (i = 0; i < n; i++)
			it[k + i] = (zmq_pollitem_t){ NULL, extra[i].fd, extra[i].events, 0 };
		if (until >= 0 && left < 0)
			left = 0;
		r = zmq_poll(it, k + n, (long)left);
		if (r < 0) {
			r = -zmq_errno();
			break;
		}
		if (it[1].revents)
			read_events(c);
		if (c->zap && it[2].revents)
			answer_zap(c);
		for (i = 0, any = 0; i < n; i++)
			any |= extra[i].revents = it[k + i].revents;
		r = !!it[0].revents;
		if (r || any || (until >= 0 && now_ns() >= until))
			break;
	}
	if (it != stack)
		free(it);
	return r;
}

static int zwait(struct bridge_conn *c, short events, int ms)
{
	return zwait_fds(c, events, NULL, 0, ms);
}

/*
 * Send header and payload as one message (after @rid, a peer's id, for a
 * hub server's socket), waiting up to @wait_ms (-1: forever) for room.
 * POLLOUT is no use here: an XPUB socket always says it (libzmq #1597),
 * and a full peer says EAGAIN only to the send.  So a full queue is tried
 * again each millisecond, with the monitor and the ZAP handler answered
 * meanwhile, until the deadline: then -EAGAIN, so the caller can look at
 * its signals.
 */
static int zsend_parts(struct bridge_conn *c, const void *rid, size_t ridlen,
		       const struct bridge_hdr *h, const void *payload, int wait_ms)
{
	int64_t until = wait_ms < 0 ? -1 : now_ns() + (int64_t)wait_ms * 1000000;
	zmq_msg_t m;
	int r;

	if (zmq_msg_init_size(&m, sizeof(*h) + h->len))
		return -ENOMEM;
	memcpy(zmq_msg_data(&m), h, sizeof(*h));
	if (h->len)
		memcpy((char *)zmq_msg_data(&m) + sizeof(*h), payload, h->len);
	for (;;) {
		/* The id part goes only with room for the whole message. */
		if ((!rid || zmq_send(c->sock, rid, ridlen, ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0) &&
		    zmq_msg_send(&m, c->sock, ZMQ_DONTWAIT) >= 0)
			return 0;
		r = zmq_errno();
		if (r != EAGAIN && r != EINTR)
			break;
		if (wait_ms == 0 || r == EINTR || (until >= 0 && now_ns() >= until))
			break;
		zwait(c, 0, 1);
	}
	zmq_msg_close(&m);
	return -r;
}

static int zsend(struct bridge_conn *c, const struct bridge_hdr *h, const void *payload,
		 int wait_ms)
{
	return zsend_parts(c, NULL, 0, h, payload, wait_ms);
}

static ssize_t zrecv(struct bridge_conn *c, void *buf, size_t size, int wait_ms)
{
	int r, n;

	/*
	 * A message waiting is taken without a poll (a system call each);
	 * the monitor and the ZAP handler are looked at when none waits,
	 * and every 1,024 messages while they stream.
	 */
	for (;;) {
		if ((++c->calls & 1023) == 0)
			zwait(c, 0, 0);
		n = zmq_recv(c->sock, buf, size, ZMQ_DONTWAIT);
		if (n >= 0)
			return n;	/* may exceed @size: truncated, and the caller sees it */
		if (zmq_errno() != EAGAIN)
			return -zmq_errno();
		r = zwait(c, ZMQ_POLLIN, wait_ms);
		if (r <= 0)
			return r ? r : -EAGAIN;
	}
}

static int zjoined(struct bridge_conn *c)
{
	unsigned char b[256];
	int n, k = 0;

	zwait(c, 0, 0);	/* what the monitor and the ZAP handler hold */
	/* XPUB hands over each (un)subscription as a message: 1 = subscribe. */
	while ((n = zmq_recv(c->sock, b, sizeof(b), ZMQ_DONTWAIT)) > 0)
		k += b[0] == 1;
	return k;
}

/*
 * A hub's frames: to and from one peer.  A hub server's socket (ROUTER)
 * names the peer by its routing id, a first part; a client's (DEALER)
 * has one peer and no id.
 */
static int zsend_to(struct bridge_conn *c, const void *rid, size_t ridlen,
		    const struct bridge_hdr *h, const void *payload, int wait_ms)
{
	return zsend_parts(c, c->role == BRIDGE_HUB_SERVER ? rid : NULL, ridlen, h, payload,
			   wait_ms);
}

static ssize_t zrecv_from(struct bridge_conn *c, void *rid, size_t *ridlen, void *buf,
			  size_t size)
{
	int n, more = 0;
	size_t sz = sizeof(more);

	if (c->role == BRIDGE_HUB_SERVER) {
		n = zmq_recv(c->sock, rid, *ridlen, ZMQ_DONTWAIT);
		if (n < 0)
			return zmq_errno() == EAGAIN ? -EAGAIN : -zmq_errno();
		*ridlen = (size_t)n < *ridlen ? (size_t)n : *ridlen;
		if (zmq_getsockopt(c->sock, ZMQ_RCVMORE, &more, &sz) || !more)
			return 0;	/* an id and nothing: a bad frame */
	}
	n = zmq_recv(c->sock, buf, size, c->role == BRIDGE_HUB_SERVER ? 0 : ZMQ_DONTWAIT);
	if (n < 0)
		return zmq_errno() == EAGAIN ? -EAGAIN : -zmq_errno();
	/* Parts beyond the frame: read and dropped (the frame is then bad). */
	while (zmq_getsockopt(c->sock, ZMQ_RCVMORE, &more, &sz) == 0 && more) {
		char junk[64];

		zmq_recv(c->sock, junk, sizeof(junk), 0);
		n = -1 - (int)size;	/* longer than any frame: refused */
	}
	return n < 0 ? (ssize_t)size + 1 : n;
}

static int zkeygen(char pub[BRIDGE_KEY_LEN + 1], char secret[BRIDGE_KEY_LEN + 1])
{
	return zmq_has("curve") && zmq_curve_keypair(pub, secret) == 0 ? 0 : -1;
}

static int zpublic_of(const char *secret, char pub[BRIDGE_KEY_LEN + 1])
{
	uint8_t raw[32];

	if (strlen(secret) != BRIDGE_KEY_LEN || !zmq_z85_decode(raw, secret))
		return -1;
	return zmq_has("curve") && zmq_curve_public(pub, secret) == 0 ? 0 : -1;
}

static void zclose(struct bridge_conn *c, int linger_ms)
{
	if (!c)
		return;
	if (c->sock) {
		zmq_setsockopt(c->sock, ZMQ_LINGER, &linger_ms, sizeof(linger_ms));
		zmq_socket_monitor(c->sock, NULL, 0);
		zmq_close(c->sock);
	}
	if (c->mon)
		zmq_close(c->mon);
	if (c->zap)
		zmq_close(c->zap);
	if (c->ctx)
		zmq_ctx_term(c->ctx);
	free(c->clients);
	free(c);
}

static const struct bridge_engine zmq_engine = {
	.name = "ZeroMQ",
	.open = zopen,
	.where = zwhere,
	.send = zsend,
	.recv = zrecv,
	.joined = zjoined,
	.wait = zwait_fds,
	.send_to = zsend_to,
	.recv_from = zrecv_from,
	.keygen = zkeygen,
	.public_of = zpublic_of,
	.close = zclose,
};
const struct bridge_engine *const bridge_zmq = &zmq_engine;
#else
const struct bridge_engine *const bridge_zmq = NULL;
#endif
