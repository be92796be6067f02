/* SPDX-License-Identifier: MIT */
/*
 * The channel: a duplex pair over one segment, once it is open (opening
 * is channel_open.c).  The data path over two rings (ring.c), waiting
 * (wait.c), the peer's liveness (peer.c), the ends (close, shutdown,
 * abandon), information, and the channel's kind table.
 *
 * Everything read from the segment is untrusted: the geometry was copied
 * to private memory once, at the open, and the rings check every record.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "atomics.h"
#include "channel.h"
#include "kind.h"

static int poisoned(struct shmq *q)
{
	return shmq_load_relaxed(&q->poisoned);
}

/* Opened by another process (before a fork): hands off. */
static int foreign(const struct shmq *q)
{
	return shmq_forked_since(q->gen);
}

/* What every data call checks first: 0, or why it cannot go on. */
static int unusable(struct shmq *q)
{
	if (foreign(q))
		return -ECHILD;
	return poisoned(q);
}

/*
 * A hub's client: our bit in the hub's ready set, then its summary's.
 * The commit must be ordered before the looks at the bits (the server
 * takes a word by exchange before it reads our ring, so either it sees
 * the commit, or we see our bit gone and set it again): the full barrier
 * of the data eventcount's notify, just before, does it (notify_data()).
 * A look before each write: a bit still set costs no write to a line
 * others share.
 */
static void mark_ready(const struct shmq_hub_bell *b)
{
	if (!(shmq_load_relaxed(b->ready) & b->ready_mask))
		shmq_fetch_or_release(b->ready, b->ready_mask);
	if (!(shmq_load_relaxed(b->summary) & b->summary_mask))
		shmq_fetch_or_release(b->summary, b->summary_mask);
}

/* After a commit or a close: wake the reader, and a hub's server. */
static void notify_data(struct shmq *q)
{
	/* Its full barrier also orders the commit before mark_ready()'s looks. */
	shmq_ec_notify(&q->tx.ctl->data, q->waiter.wake, &q->tx.ctl->data_poller);
	if (q->bell.door) {
		if (q->bell.ready)
			mark_ready(&q->bell);
		shmq_ec_notify(q->bell.door, q->waiter.wake, q->bell.door_poller);
	}
}

/*
 * The channel is corrupted: say so for good, and tell the peer (our
 * endpoint's poisoned word, then a wake on both eventcounts it may sleep
 * on), so that it stops too rather than wait for what will never come.
 */
static int poison(struct shmq *q)
{
	if (shmq_exchange_relaxed(&q->poisoned, -EBADMSG) == 0 &&
	    !q->borrowed && !foreign(q)) {
		shmq_store_release(&q->hdr->ep[q->slot].poisoned, 1);
		notify_data(q);
		shmq_ec_notify(&q->rx.ctl->space, q->waiter.wake, &q->rx.ctl->space_poller);
	}
	return -EBADMSG;
}

int shmq_chan_watch(struct shmq *q, uint64_t w)
{
	int d, r = 0;

	for (d = 0; d < 2; d++) {
		struct shmq_peer *p = q->side[d].peer;

		if (d == 1 && p == q->side[0].peer)
			break;		/* a pair's one watcher */
		if (shmq_owner_state(w) == SHMQ_EP_ATTACHED && w != SHMQ_OWNER_SEALED)
			r = shmq_peer_watch(p, w, &q->hdr->ep[1 - q->slot].life);
		else
			p->owner = w;
		if (r)
			return r;
	}
	return 0;
}

static uint64_t peer_owner_word(const struct shmq *q)
{
	return shmq_load_acquire(&q->hdr->ep[1 - q->slot].owner);
}

/*
 * Has the peer gone, as far as shared memory and the last liveness check
 * say?  0: present (or, on a persistent channel, absent but may come),
 * -EPIPE closed, -ECONNABORTED abandoned, -ECONNRESET dead (or no longer
 * attached to the segment), -EBADMSG it found the channel corrupted, or
 * its word holds what no peer writes, -EIDRM nobody can find a persistent
 * channel any more to come back to it.  Two loads of one line when
 * nothing changed.
 */
static int peer_status(struct shmq_side *sd)
{
	struct shmq *q = sd->q;
	const struct shmq_peer *peer = sd->peer;
	const struct shmq_endpoint *ep = &q->hdr->ep[1 - q->slot];
	uint64_t w = shmq_load_acquire(&ep->owner);
	unsigned st = shmq_owner_state(w);

	/* The usual case, first: the peer we watch, attached, in good health. */
	if (__builtin_expect(w == peer->owner && st == SHMQ_EP_ATTACHED &&
			     !shmq_load_relaxed(&ep->poisoned), 1))
		return shmq_load_relaxed(&peer->dead) || sd->detached == w ? -ECONNRESET : 0;
	/* A pair's peer only ever closes or abandons its own slot. */
	if (w != peer->owner && !q->persistent &&
	    (!shmq_owner_same(w, peer->owner) || w == SHMQ_OWNER_SEALED))
		return poison(q);
	/* Nobody frees a slot it held: the word was written over. */
	if (st == SHMQ_EP_FREE && w != peer->owner && shmq_owner_same(w, peer->owner))
		return poison(q);
	if (st != SHMQ_EP_FREE && shmq_owner_same(w, peer->owner) &&
	    shmq_load_relaxed(&ep->poisoned))
		return -EBADMSG;
	switch (st) {
	case SHMQ_EP_CLOSED:
		return -EPIPE;
	case SHMQ_EP_ABANDONED:
		return -ECONNABORTED;
	case SHMQ_EP_ATTACHED:
		/* A new holder (persistent) is watched by the next check. */
		if (w != peer->owner)
			return sd->err;
		return shmq_load_relaxed(&peer->dead) || sd->detached == w ? -ECONNRESET : 0;
	default:
		/* Free: a persistent channel's peer may come, if it can find us. */
		return sd->removed ? -EIDRM : 0;
	}
}

/*
 * The segment itself, at the periodic check: a peer whose word says it is
 * attached, but who no longer has the segment attached (it called exec,
 * or detached it behind our back), is gone; and a segment someone removed
 * can no longer be found by a peer that would come back.  One IPC_STAT.
 * Other processes that keep the segment attached (the peer's forked
 * children, a debugger) hide a detached peer until they go.
 */
static void poll_segment(struct shmq_side *sd, uint64_t w)
{
	struct shmq_seg_info s;
	struct shmq *q = sd->q;

	if (shmq_seg_stat(q->shmid, &s))
		return;
	if (shmq_owner_state(w) == SHMQ_EP_ATTACHED && w == sd->peer->owner &&
	    s.nattch < 2)
		sd->detached = w;
	if (q->persistent && s.removed)
		sd->removed = 1;
}

/* The periodic check of a wait: follow the slot, poll the process. */
static void poll_peer(struct shmq_side *sd)
{
	struct shmq_peer *peer = sd->peer;
	struct shmq *q = sd->q;
	uint64_t w = peer_owner_word(q);

	if (q->borrowed)
		return;	/* no process behind the fuzzer's bytes */
	if (q->persistent && w != peer->owner && w != SHMQ_OWNER_SEALED &&
	    shmq_owner_state(w) == SHMQ_EP_ATTACHED) {
		/* A new holder: on failure, say so rather than guess. */
		sd->err = shmq_peer_watch(peer, w, &q->hdr->ep[1 - q->slot].life);
		if (sd->err)
			peer->owner = 0;
	}
	if (shmq_owner_state(peer->owner) == SHMQ_EP_ATTACHED &&
	    shmq_owner_pid(peer->owner))
		shmq_peer_alive(peer);
	poll_segment(sd, w);
}

/*
 * A call that does not wait looks at the peer's process itself, so a call
 * made after a death learns of it without waiting for anyone's periodic
 * check; but at most once a millisecond per direction, so that a loop of
 * try_ calls (an event loop, a hub server) does not make a system call
 * each time.  Measured: an empty try_recv cost 1.3 us with the pidfd poll
 * on every call.
 */
#define LOOK_INTERVAL_NS 1000000

/* 1 if it looked now, 0 if it looked too recently. */
static int poll_peer_now_and_then(struct shmq_side *sd)
{
	int64_t now = shmq_now_ns();

	if (now - sd->looked_ns < LOOK_INTERVAL_NS)
		return 0;
	sd->looked_ns = now;
	poll_peer(sd);
	return 1;
}

/*
 * The ring is empty at our position: what does the rest say?  > 0 a record
 * is there after all (peek found it), 0 nothing yet, or how the stream
 * ended.  What the producer published must agree with what is in the
 * ring (shmq_ring_idle): a tail or an end of stream beyond an empty slot,
 * a peer that closed without ending its stream, is corruption, never an
 * empty ring forever or an end of stream with records missing.
 */
static int settle_recv(struct wait_ctx *c, int deep)
{
	struct shmq_side *sd = c->sd;
	struct shmq *q = sd->q;
	int gone = peer_status(sd), r;

	if ((r = poisoned(q)))
		return r;
	/*
	 * A try_ call between two looks at the peer, which is still there and
	 * has not ended its stream: empty, with one load.  The full check
	 * comes at the next look (once a millisecond), and always in a wait.
	 */
	if (!deep && !gone && !shmq_load_relaxed(&q->rx.ctl->eof))
		return 0;
	/* After its word (acquire): a producer that left stored its end first. */
	r = shmq_ring_idle(&q->rx, gone == -EPIPE || gone == -ECONNABORTED);
	switch (r) {
	case SHMQ_RING_MORE:
		r = shmq_ring_peek(&q->rx, &c->rbuf, &c->len);
		if (r == 0)
			return 1;
		return r == -EAGAIN ? 0 : poison(q);
	case SHMQ_RING_ENDED:
		return -EPIPE;
	case SHMQ_RING_EMPTY:
		/*
		 * Closed, yet no end of stream: a persistent channel's next
		 * producer may have just cleared it (look again); on a pair no
		 * correct peer does that.
		 */
		if (gone == -EPIPE)
			return q->persistent ? 0 : poison(q);
		/* The peer's own poison, after what it committed. */
		if (gone == -EBADMSG)
			return poison(q);
		return gone;
	default:
		return poison(q);
	}
}

/* A wait's ready(): the next record, or what the rest of it says. */
static int recv_ready(void *ctx)
{
	struct wait_ctx *c = ctx;
	struct shmq *q = c->sd->q;
	int r = shmq_ring_peek(&q->rx, &c->rbuf, &c->len);

	if (r == 0)
		return 1;
	if (r != -EAGAIN)
		return poison(q);
	return settle_recv(c, 1);
}

/* Spinning: the ring alone (see struct shmq_wait_ops). */
static int recv_poll(void *ctx)
{
	struct wait_ctx *c = ctx;
	struct shmq *q = c->sd->q;
	int r = shmq_ring_peek(&q->rx, &c->rbuf, &c->len);

	if (r == -EAGAIN)
		return 0;
	return r ? poison(q) : 1;
}

static int send_poll(void *ctx)
{
	struct wait_ctx *c = ctx;
	struct shmq *q = c->sd->q;
	int r = shmq_ring_reserve(&q->tx, c->len, &c->wbuf);

	if (r == -EAGAIN)
		return 0;
	return r == -EBADMSG ? poison(q) : r ? r : 1;
}

/*
 * Can the peer still read what we send?  peer_status(), except that its
 * poison stops us for good too: nothing we send would be read.  On a
 * persistent channel a consumer that closed, abandoned or died may come
 * back and read on, as one that never came may come: only corruption or
 * the segment's removal ends the wait for room.
 */
static int send_blocked(struct shmq_side *sd)
{
	int r = peer_status(sd);

	if (r == -EBADMSG)
		return poison(sd->q);
	if (sd->q->persistent && (r == -EPIPE || r == -ECONNABORTED || r == -ECONNRESET))
		return 0;
	return r;
}

static int send_ready(void *ctx)
{
	struct wait_ctx *c = ctx;
	struct shmq *q = c->sd->q;
	int r = shmq_ring_reserve(&q->tx, c->len, &c->wbuf);

	if (r == 0)
		return 1;
	if (r == -EBADMSG)
		return poison(q);
	if (r != -EAGAIN)
		return r;
	/* Full: only the peer can make room, so if it is gone, give up. */
	return send_blocked(c->sd);
}

/* A wait's check(): the periodic look at the peer. */
static void wait_check(void *ctx)
{
	poll_peer(((struct wait_ctx *)ctx)->sd);
}

static const struct shmq_wait_ops recv_wait_ops = { recv_ready, wait_check, recv_poll };
static const struct shmq_wait_ops send_wait_ops = { send_ready, wait_check, send_poll };

/* ------------------------------------------------------------------ */
/* Send side                                                           */
/* ------------------------------------------------------------------ */

static int send_rearm(struct shmq *q, size_t len, void **buf);

static int reserve(struct shmq *q, size_t len, void **buf, int64_t timeout_ns)
{
	struct shmq_side *sd = &q->side[SEND];
	struct wait_ctx c = { .sd = sd, .len = len };
	int r;

	if ((r = unusable(q)))
		return r;
	if (q->shut)
		return -ESHUTDOWN;
	/* A pair's peer that left will never read what we would send. */
	if (!q->persistent && (r = send_blocked(sd)) < 0)
		return r;
	r = shmq_ring_reserve(&q->tx, len, buf);
	if (r != -EAGAIN)
		return r == -EBADMSG ? poison(q) : r;
	if (timeout_ns == 0) {
		poll_peer_now_and_then(sd);
		r = send_blocked(sd);
		if (r == 0 && q->send_poller)
			r = send_rearm(q, len, buf);
		return r < 0 ? r : r > 0 ? 0 : -EAGAIN;
	}
	r = shmq_wait(&q->tx.ctl->space, &q->waiter, &send_wait_ops, &c,
		      shmq_deadline(timeout_ns));
	if (r == 0)
		*buf = c.wbuf;
	return r;
}

SHMQ_API int shmq_reserve(shmq_t *q, size_t len, void **buf, int64_t timeout_ns)
{
	return reserve(q, len, buf, timeout_ns);
}

SHMQ_API int shmq_trim(shmq_t *q, size_t len)
{
	int r = unusable(q);

	return r ? r : shmq_ring_trim(&q->tx, len);
}

SHMQ_API int shmq_commit(shmq_t *q)
{
	int n;

	if ((n = unusable(q)))
		return n;
	n = shmq_ring_commit(&q->tx);
	if (n)
		notify_data(q);
	return n;
}

SHMQ_API void shmq_discard(shmq_t *q)
{
	shmq_ring_discard(&q->tx);
}

SHMQ_API int shmq_send_timed(shmq_t *q, const void *buf, size_t len,
			     int64_t timeout_ns)
{
	void *dst;
	int r = reserve(q, len, &dst, timeout_ns);

	if (r)
		return r;
	memcpy(dst, buf, len);
	shmq_ring_commit(&q->tx);
	notify_data(q);
	return 0;
}

SHMQ_API int shmq_shutdown(shmq_t *q)
{
	int r = unusable(q);

	if (r)
		return r;
	/*
	 * Uncommitted reservations are never delivered.  The end's release
	 * orders every commit before it; the barrier in notify orders it
	 * before the check for a sleeping reader.
	 */
	shmq_ring_end(&q->tx);
	q->shut = 1;
	notify_data(q);
	return 0;
}

SHMQ_API int shmq_send(shmq_t *q, const void *buf, size_t len)
{
	return shmq_send_timed(q, buf, len, -1);
}

SHMQ_API int shmq_try_send(shmq_t *q, const void *buf, size_t len)
{
	return shmq_send_timed(q, buf, len, 0);
}

/* ------------------------------------------------------------------ */
/* Receive side                                                        */
/* ------------------------------------------------------------------ */

/* Hand freed space to the producer, and wake it if it waits for some. */
static void return_space(struct shmq *q)
{
	if (!shmq_ring_unreturned(&q->rx))
		return;
	shmq_ring_return_space(&q->rx);
	shmq_ec_notify(&q->rx.ctl->space, q->waiter.wake, &q->rx.ctl->space_poller);
}

/* ------------------------------------------------------------------ */
/* The descriptor (poller.c)                                           */
/* ------------------------------------------------------------------ */

/*
 * Keep the peer's pidfd in poller @p's set while it holds its slot, so
 * that its death makes the descriptor ready; not once it has closed (a
 * persistent channel waits for the next producer, and a closed peer's
 * later death must not keep the descriptor ready).  @followed: the owner
 * word whose pidfd the set holds, or 0.  @allowed 0: never any.
 */
static void follow_peer(struct shmq *q, struct shmq_poller *p, uint64_t *followed,
			const struct shmq_side *sd, int allowed)
{
	const struct shmq_peer *pe = sd->peer;
	uint64_t w = peer_owner_word(q);
	int attached = allowed && w == pe->owner &&
		       shmq_owner_state(w) == SHMQ_EP_ATTACHED && pe->kind == SHMQ_WATCH_PIDFD;
	uint64_t want = attached ? w : 0;

	if (want == *followed && (want || shmq_held_num(&p->watched) < 0))
		return;
	shmq_poller_watch(p, attached ? shmq_held_num(&pe->fd) : -1);
	*followed = want;
}

/*
 * What an event loop's descriptor waits for, in direction @d: a record to
 * receive (RECV, shmq_fd()) or room to send (SEND, shmq_send_fd()).
 */
struct fd_dir {
	struct shmq_poller **poller;
	uint64_t *followed;	/* the owner word whose pidfd the set holds */
	struct shmq_side *sd;
	struct shmq_ec *ec;	/* the eventcount it sleeps on */
	uint64_t *token;	/* the line its producer reads the token from */
	int follow;		/* may the peer's pidfd be in the set? */
};

static struct fd_dir fd_dir(struct shmq *q, int d)
{
	struct fd_dir f = { .sd = &q->side[d] };

	if (d == RECV) {
		f.poller = &q->poller;
		f.followed = &q->poller_peer;
		f.ec = &q->rx.ctl->data;
		f.token = &q->rx.ctl->data_poller;
		f.follow = 1;
	} else {
		f.poller = &q->send_poller;
		f.followed = &q->send_poller_peer;
		f.ec = &q->tx.ctl->space;
		f.token = &q->tx.ctl->space_poller;
		/* A persistent sender waits for the next consumer, not a death. */
		f.follow = !q->persistent;
	}
	return f;
}

/* A descriptor for @q: 0, or -errno. */
static int make_poller(struct shmq *q, struct shmq_poller **out)
{
	if (foreign(q))
		return -ECHILD;
	if (q->borrowed)
		return -EOPNOTSUPP;
	return shmq_poller_open(out);
}

/*
 * Nothing to do in direction @d, and an event loop may wait on its
 * descriptor next: empty its socket, follow the peer, announce
 * (SHMQ_EC_POLLER).  The caller looks once more before it says -EAGAIN:
 * what came meanwhile is returned, so that no wake is needed for it; what
 * comes later finds the announcement and sends its byte.  A wake already
 * on its way can still leave the descriptor ready once for nothing, as a
 * socket's can: the next try_ call clears it.
 */
static void rearm(struct shmq *q, int d)
{
	struct fd_dir f = fd_dir(q, d);

	/* One system call when the descriptor is not ready (the usual case). */
	if (shmq_poller_drain(*f.poller, NULL, 0, NULL))
		poll_peer(f.sd);	/* maybe its pidfd: look now, not in 1 ms */
	follow_peer(q, *f.poller, f.followed, f.sd, f.follow);
	shmq_poller_announce(*f.poller, f.ec, f.token);
}

/*
 * Nothing to receive: rearm, and look once more (> 0: a record, in @c).
 * If that look finds something, more may have come meanwhile and found
 * the bit taken by the wake before: the descriptor is made ready itself,
 * so that it stays readable while a receive would return (once for
 * nothing at worst).
 */
static int poller_rearm(struct shmq *q, struct wait_ctx *c)
{
	int r;

	rearm(q, RECV);
	r = settle_recv(c, 1);
	if (r)
		shmq_poller_wake(q->poller->token);
	return r;
}

int shmq_chan_peer_off_net(const struct shmq *q)
{
	const struct shmq_endpoint *ep = &q->hdr->ep[1 - q->slot];
	uint64_t w = shmq_load_acquire(&ep->owner);
	uint64_t ns = shmq_load_acquire(&ep->netns);

	return !q->borrowed && w != SHMQ_OWNER_SEALED &&
	       shmq_owner_state(w) == SHMQ_EP_ATTACHED && ns && q->netns && ns != q->netns;
}

/*
 * No room: rearm, and look once more.  1 with room after all (in *@buf),
 * 0 none, or why a send fails now.
 */
static int send_rearm(struct shmq *q, size_t len, void **buf)
{
	int r;

	rearm(q, SEND);
	r = shmq_ring_reserve(&q->tx, len, buf);
	if (r != -EAGAIN)	/* found after the announce: stay ready (as above) */
		shmq_poller_wake(q->send_poller->token);
	if (r == 0)
		return 1;
	if (r == -EBADMSG)
		return poison(q);
	return r == -EAGAIN ? send_blocked(&q->side[SEND]) : r;
}

/* Would a send of the largest message return at once (sent, or failed)? */
static int send_would_return(struct shmq *q)
{
	if (unusable(q) || q->shut)
		return 1;
	if (!q->persistent && send_blocked(&q->side[SEND]) < 0)
		return 1;
	return shmq_ring_fits(&q->tx, q->tx.max_msg) != 0;
}

/*
 * shmq_fd() and shmq_send_fd(): direction @d's descriptor, made at the
 * first call.  Our token goes in the line beside the eventcount, and we
 * announce ourselves as rearm() does; if the call would return at once,
 * the descriptor is made ready now (level-triggered, also for what came
 * before it existed), consuming nothing.
 */
static int descriptor(shmq_t *q, int d)
{
	struct fd_dir f;
	int r;

	if (!q)
		return -EINVAL;
	if (foreign(q))
		return -ECHILD;
	f = fd_dir(q, d);
	if (*f.poller)
		return shmq_held_num(&(*f.poller)->ep);
	/* Its wakes could never reach us: refuse now, not sleep for ever. */
	if (shmq_chan_peer_off_net(q))
		return -EXDEV;
	r = make_poller(q, f.poller);
	if (r)
		return r;
	*f.followed = 0;
	poll_peer(f.sd);
	follow_peer(q, *f.poller, f.followed, f.sd, f.follow);
	shmq_poller_announce(*f.poller, f.ec, f.token);
	if (d == RECV ? shmq_chan_would_return(q) : send_would_return(q))
		shmq_poller_wake((*f.poller)->token);
	return shmq_held_num(&(*f.poller)->ep);
}

SHMQ_API int shmq_fd(shmq_t *q)
{
	return descriptor(q, RECV);
}

SHMQ_API int shmq_send_fd(shmq_t *q)
{
	return descriptor(q, SEND);
}

/* The next record into @c (rbuf, len): 0, or why there is none. */
static int next_record(struct shmq *q, struct wait_ctx *c, int64_t timeout_ns)
{
	int r;

	if ((r = unusable(q)))
		return r;
	r = shmq_ring_peek(&q->rx, &c->rbuf, &c->len);
	if (r != -EAGAIN)
		return r ? poison(q) : 0;
	/* Nothing to read: give back the space before waiting, or returning. */
	return_space(q);
	if (timeout_ns == 0) {
		int deep = poll_peer_now_and_then(c->sd);

		r = shmq_ring_peek(&q->rx, &c->rbuf, &c->len);
		if (r == 0)
			return 0;
		if (r != -EAGAIN)
			return poison(q);
		r = settle_recv(c, deep);
		if (r == 0 && q->poller)
			r = poller_rearm(q, c);
		return r > 0 ? 0 : r < 0 ? r : -EAGAIN;
	}
	{
		struct shmq_waiter w = q->waiter;

		w.pauses = shmq_pauses_for(q->last_len);
		r = shmq_wait(&q->rx.ctl->data, &w, &recv_wait_ops, c,
			      shmq_deadline(timeout_ns));
	}
	return r;
}

SHMQ_API int shmq_peek(shmq_t *q, const void **buf, size_t *len, int64_t timeout_ns)
{
	struct wait_ctx c = { .sd = &q->side[RECV] };
	int r = next_record(q, &c, timeout_ns);

	if (r)
		return r;
	q->last_len = c.len;
	*buf = c.rbuf;
	*len = c.len;
	return 0;
}

SHMQ_API int shmq_release(shmq_t *q)
{
	int n;

	if ((n = unusable(q)))
		return n;
	n = shmq_ring_release(&q->rx);
	return_space(q);
	return n;
}

SHMQ_API int shmq_recv_timed(shmq_t *q, void *buf, size_t size, size_t *len,
			     int64_t timeout_ns)
{
	struct wait_ctx c = { .sd = &q->side[RECV] };
	int r = next_record(q, &c, timeout_ns);

	if (r)
		return r;
	*len = c.len;
	q->last_len = c.len;
	if (c.len > size) {
		/* Leave it queued: the caller retries with a bigger buffer. */
		shmq_ring_rewind(&q->rx);
		return -EMSGSIZE;
	}
	memcpy(buf, c.rbuf, c.len);
	shmq_ring_release(&q->rx);
	/*
	 * A pair returns space lazily: the producer looks at head only when
	 * the ring seems full, so an eighth of the ring at a time is enough,
	 * and everything is returned before this end waits (next_record).
	 * That saves a store and a full barrier per message.  A persistent
	 * channel returns every message's, so a crash re-delivers only what
	 * was never received.
	 */
	if (q->persistent || shmq_ring_unreturned(&q->rx) >= q->rx.cap / 8)
		return_space(q);
	return 0;
}

SHMQ_API int shmq_recv(shmq_t *q, void *buf, size_t size, size_t *len)
{
	return shmq_recv_timed(q, buf, size, len, -1);
}

SHMQ_API int shmq_try_recv(shmq_t *q, void *buf, size_t size, size_t *len)
{
	return shmq_recv_timed(q, buf, size, len, 0);
}

/* Map both rings into the private views, for endpoint @slot. */
int shmq_chan_setup_rings(struct shmq *q)
{
	unsigned char *base = (unsigned char *)q->hdr;
	unsigned char *data[2] = { base + SHMQ_HDR_SIZE,
				   base + SHMQ_HDR_SIZE + q->cap[0] };
	int s = q->slot;

	/* The random instance keys the end-of-stream words. */
	if (shmq_ring_attach(&q->tx, &q->hdr->ring[s], data[s], q->cap[s], q->instance) ||
	    shmq_ring_attach(&q->rx, &q->hdr->ring[1 - s], data[1 - s], q->cap[1 - s],
			     q->instance))
		return -EBADMSG;
	/* A new producer on a persistent channel: the stream goes on. */
	if (shmq_load_relaxed(&q->tx.ctl->eof))
		shmq_store_release(&q->tx.ctl->eof, 0);
	return 0;
}

void shmq_chan_free(struct shmq *q)
{
	shmq_poller_close(q->send_poller);
	shmq_poller_close(q->poller);
	if (q->bell.map)
		shmq_seg_detach(q->bell.map);
	shmq_peer_forget(&q->watch[0]);
	shmq_peer_forget(&q->watch[1]);
	free(q);
}

struct shmq *shmq_chan_new(const struct shmq_options *o)
{
	struct shmq *q = calloc(1, sizeof(*q));

	if (!q)
		return NULL;
	q->gen = shmq_fork_generation();
	q->side[SEND].q = q->side[RECV].q = q;
	shmq_peer_init(&q->watch[0]);
	shmq_peer_init(&q->watch[1]);
	q->side[SEND].peer = q->side[RECV].peer = &q->watch[0];
	q->me = shmq_owner((uint32_t)getpid(), shmq_self_start(), SHMQ_EP_ATTACHED);
	q->waiter.policy = o ? o->wait : SHMQ_WAIT_HYBRID;
	q->waiter.spin_ns = o && o->spin_ns ? o->spin_ns : SHMQ_DEFAULT_SPIN_NS;
	q->waiter.interruptible = o && (o->flags & SHMQ_INTERRUPTIBLE);
	q->waiter.stop = o ? o->stop : NULL;
	q->waiter.wake = &shmq_futex_ops;
	return q;
}

/* Spinning: is there a record for the server to receive (or a poison)? */
int shmq_chan_has_record(shmq_t *q)
{
	return poisoned(q) || shmq_ring_ready(&q->rx);
}

/* Anything a receive would return at once: a record, an end, an error? */
int shmq_chan_would_return(shmq_t *q)
{
	int gone, r;

	if (shmq_chan_has_record(q))
		return 1;
	gone = peer_status(&q->side[RECV]);
	if (poisoned(q))
		return 1;
	/* As settle_recv() judges, consuming nothing. */
	r = shmq_ring_idle(&q->rx, gone == -EPIPE || gone == -ECONNABORTED);
	return r != SHMQ_RING_EMPTY || gone != 0;
}

/* Look at the client's process (a pidfd poll), for ready() to report. */
void shmq_chan_poll_peer(shmq_t *q)
{
	poll_peer(&q->side[RECV]);
}

int shmq_chan_peer_pidfd(shmq_t *q)
{
	const struct shmq_peer *pe = q->side[RECV].peer;

	return pe->kind == SHMQ_WATCH_PIDFD ? shmq_held_num(&pe->fd) : -1;
}

/* ------------------------------------------------------------------ */
/* Closing                                                             */
/* ------------------------------------------------------------------ */

/*
 * Close (@how CLOSED) or abandon (ABANDONED).  A poisoned channel is only
 * ever abandoned: its peer must not take what it got for the whole stream.
 * A handle opened by another process (ours is a fork child of it) changes
 * nothing shared: it only lets go of this process's mapping and memory.
 */
static int end_channel(struct shmq *q, unsigned how)
{
	if (q->borrowed ? foreign(q) : shmq_opened_elsewhere(q->gen, q->me)) {
		if (!q->borrowed)
			shmq_seg_detach(q->hdr);
		shmq_chan_free(q);
		return 0;
	}
	if (poisoned(q))
		how = SHMQ_EP_ABANDONED;
	/* What was reserved and not committed is never delivered. */
	shmq_ring_discard(&q->tx);
	return_space(q);
	/* A clean end says where the stream ends, before the word says closed. */
	if (how == SHMQ_EP_CLOSED)
		shmq_ring_end(&q->tx);
	/*
	 * Our word goes from "attached" to "closed"/"abandoned" only if it
	 * is still ours (a persistent slot may have been taken over if we
	 * were thought dead).  Sequentially consistent, so that the wakes
	 * below cannot pass it: a peer that sleeps after checking our word
	 * is woken, one that checks after sees it.
	 */
	shmq_cas(&q->hdr->ep[q->slot].owner, q->me, (q->me & ~(uint64_t)3) | how);
	/* Nobody need wake our descriptor any more: a consumer after us has its own. */
	if (q->poller && !q->borrowed)
		shmq_cas(&q->rx.ctl->data_poller, q->poller->token, (uint64_t)0);
	if (q->send_poller && !q->borrowed)
		shmq_cas(&q->tx.ctl->space_poller, q->send_poller->token, (uint64_t)0);
	notify_data(q);
	shmq_ec_notify(&q->rx.ctl->space, q->waiter.wake, &q->rx.ctl->space_poller);
	if (!q->borrowed)
		shmq_seg_detach(q->hdr);
	shmq_chan_free(q);
	return 0;
}

SHMQ_API int shmq_close(shmq_t *q)
{
	return q ? end_channel(q, SHMQ_EP_CLOSED) : -EINVAL;
}

SHMQ_API int shmq_abandon(shmq_t *q)
{
	return q ? end_channel(q, SHMQ_EP_ABANDONED) : -EINVAL;
}

/* ------------------------------------------------------------------ */
/* Settings and information                                            */
/* ------------------------------------------------------------------ */

SHMQ_API int shmq_set_wait(shmq_t *q, int wait, int64_t spin_ns)
{
	if (wait < SHMQ_WAIT_HYBRID || wait > SHMQ_WAIT_BLOCK || spin_ns < 0)
		return -EINVAL;
	q->waiter.policy = wait;
	q->waiter.spin_ns = spin_ns ? spin_ns : SHMQ_DEFAULT_SPIN_NS;
	return 0;
}

static int peer_state_of(uint64_t w, int dead)
{
	switch (shmq_owner_state(w)) {
	case SHMQ_EP_ATTACHED:
		return dead ? SHMQ_PEER_DEAD : SHMQ_PEER_ATTACHED;
	case SHMQ_EP_CLOSED:
		return SHMQ_PEER_CLOSED;
	case SHMQ_EP_ABANDONED:
		return SHMQ_PEER_ABANDONED;
	default:
		return SHMQ_PEER_NONE;
	}
}

SHMQ_API int shmq_info(shmq_t *q, struct shmq_info *i)
{
	uint64_t w;

	memset(i, 0, sizeof(*i));
	i->shmid = q->shmid;
	i->key = q->key;
	i->slot = q->slot;
	i->persistent = q->persistent;
	i->send_capacity = q->cap[q->slot];
	i->recv_capacity = q->cap[1 - q->slot];
	i->max_send = shmq_ring_max_msg(i->send_capacity);
	i->max_recv = shmq_ring_max_msg(i->recv_capacity);
	i->instance = q->instance;
	/* Read-only, so it is safe beside a sending and a receiving thread. */
	w = peer_owner_word(q);
	if (w != SHMQ_OWNER_SEALED) {
		const struct shmq_peer *p = q->side[RECV].peer;
		int dead = w == p->owner ? !shmq_peer_looks_alive(p) ||
			q->side[RECV].detached == w :
			shmq_holder_alive(w, shmq_load_acquire(&q->hdr->ep[1 - q->slot].life)) == 0;

		i->peer_pid = (pid_t)shmq_owner_pid(w);
		i->peer_state = peer_state_of(w, dead);
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* The channel's kind                                                  */
/* ------------------------------------------------------------------ */

/* The header, then the two rings. */
static uint64_t channel_total_size(const struct shmq_hdr *copy)
{
	return SHMQ_HDR_SIZE + copy->cap[0] + copy->cap[1];
}

/*
 * The header and two rings, each a power of two in [4 KiB, 1 GiB]: other
 * programs' segments rarely fit.
 */
static int channel_plausible_size(uint64_t size)
{
	uint64_t rings = size - SHMQ_HDR_SIZE, low = rings & -rings;

	if (size < SHMQ_HDR_SIZE + 2 * SHMQ_RING_MIN_CAPACITY)
		return 0;
	switch (__builtin_popcountll(rings)) {
	case 1:		/* two equal rings */
		return low <= 2ull * SHMQ_RING_MAX_CAPACITY;
	case 2:
		return low >= SHMQ_RING_MIN_CAPACITY && rings - low <= SHMQ_RING_MAX_CAPACITY;
	default:
		return 0;
	}
}

/* Both ends and both rings. */
static void channel_describe(const struct shmq_hdr *h, const struct shmq_hdr *copy,
			     struct shmq_desc *d)
{
	int i;

	for (i = 0; i < 2; i++) {
		uint64_t w = shmq_load_acquire(&h->ep[i].owner);
		uint64_t queued = shmq_ring_queued(&h->ring[i]);

		d->capacity[i] = copy->cap[i];
		d->queued[i] = queued <= copy->cap[i] ? queued : copy->cap[i];
		if (w == SHMQ_OWNER_SEALED) {
			d->ep[i].state = SHMQ_PEER_SEALED;
			continue;
		}
		d->ep[i].state = peer_state_of(w, 0);
		d->ep[i].pid = (pid_t)shmq_owner_pid(w);
		if (d->ep[i].state == SHMQ_PEER_ATTACHED) {
			pid_t here;

			d->ep[i].pid_state = shmq_holder_state(w,
				shmq_load_acquire(&h->ep[i].life), &here);
		}
	}
}

const struct shmq_kind shmq_channel_kind = {
	.kind = SHMQ_KIND_CHANNEL,
	.name = "channel",
	.total_size = channel_total_size,
	.plausible_size = channel_plausible_size,
	.describe = channel_describe,
	.open_existing = NULL,	/* shmq_open()'s own: it joins a channel */
};
