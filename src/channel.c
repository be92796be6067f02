/* SPDX-License-Identifier: MIT */
/*
 * The channel layer: a duplex pair over one segment.  The header and its
 * endpoint records (layout.h), the create/join protocol, two rings
 * (ring.c), waiting (wait.c) and peer liveness (peer.c) meet here.
 *
 * Everything read from the segment is untrusted: geometry is copied to
 * private memory once, at attach, and checked against what the kernel
 * says the segment's size is; the rings check every record.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/shm.h>
#include <unistd.h>

#include "atomics.h"
#include "internal.h"
#include "layout.h"
#include "ring.h"
#include "wait.h"

#define RETRY_SLEEP_NS 1000000	/* between open attempts that must wait */

struct shmq;

/*
 * One direction's view of the peer.  A sender thread and a receiver thread
 * may use one channel at once.  On a pair the peer never changes after
 * the open, so both directions share one watcher (one descriptor, polled
 * and never replaced).  On a persistent channel the peer may be replaced,
 * and each direction watches on its own, so neither ever closes a
 * descriptor the other polls.
 */
struct shmq_side {
	struct shmq *q;
	struct shmq_peer *peer;
	int64_t looked_ns;	/* when a call that does not wait last looked */
	uint64_t detached;	/* the holder seen attached in its word but no
				 * longer attached to the segment (exec) */
	int removed;		/* someone removed our segment (IPC_RMID) */
	int err;		/* the peer could not be watched: -EMFILE... */
};

enum { SEND = 0, RECV = 1 };

struct shmq {
	struct shmq_hdr *hdr;	/* the mapping */
	int shmid;
	key_t key;
	int slot;		/* our endpoint: 0 or 1 */
	int persistent;
	unsigned gen;		/* fork generation of the process that opened it */
	uint64_t me;		/* our owner word (state ATTACHED) */
	uint64_t cap[2];	/* private copies of the geometry */
	struct shmq_ring tx;	/* ring[slot]: we produce */
	struct shmq_ring rx;	/* ring[1 - slot]: we consume */
	struct shmq_side side[2];	/* SEND, RECV */
	struct shmq_peer watch[2];	/* what side[].peer point to */
	int poisoned;		/* 0, or -EBADMSG for good (either thread) */
	int shut;		/* we shut down sending: kept here, never read
				 * back from the shared flag anyone can write */
	int borrowed;		/* memory we did not map (the fuzzer's) */
	struct shmq_waiter waiter;
	size_t last_len;	/* of the last record received: poll spacing */
	uint64_t instance;
	/*
	 * A hub's client: the hub's mapping, kept for its door, which the
	 * server sleeps on for all its clients at once; woken like our
	 * channel's own data eventcount.
	 */
	void *hub_map;
	struct shmq_ec *door;

	/* The record a wait's ready() found, for the caller to use. */
	const void *pk_buf;
	size_t pk_len;
	size_t want_len;	/* what the send-side ready() reserves */
	void *rs_buf;
};

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

__attribute__((format(printf, 2, 3)))
void shmq_explain(const struct shmq_options *o, const char *fmt, ...)
{
	va_list ap;

	if (!o || !o->errbuf || !o->errbuf_size)
		return;
	va_start(ap, fmt);
	vsnprintf(o->errbuf, o->errbuf_size, fmt, ap);
	va_end(ap);
}

uint64_t shmq_round_capacity(size_t want)
{
	uint64_t c = SHMQ_RING_MIN_CAPACITY;

	if (want == 0)
		return SHMQ_RING_DEFAULT_CAPACITY;
	if (want > SHMQ_RING_MAX_CAPACITY)
		return 0;
	while (c < want)
		c <<= 1;
	return c;
}

static int poisoned(struct shmq *q)
{
	return __atomic_load_n(&q->poisoned, __ATOMIC_RELAXED);
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

/* After a commit or a close: wake the reader, and a hub's server. */
static void notify_data(struct shmq *q)
{
	shmq_ec_notify(&q->tx.ctl->data);
	if (q->door)
		shmq_ec_notify(q->door);
}

/*
 * The channel is corrupted: say so for good, and tell the peer (our
 * endpoint's poisoned word, then a wake on both eventcounts it may sleep
 * on), so that it stops too rather than wait for what will never come.
 */
static int poison(struct shmq *q)
{
	if (__atomic_exchange_n(&q->poisoned, -EBADMSG, __ATOMIC_RELAXED) == 0 &&
	    !q->borrowed && !foreign(q)) {
		shmq_store_release(&q->hdr->ep[q->slot].poisoned, 1);
		notify_data(q);
		shmq_ec_notify(&q->rx.ctl->space);
	}
	return -EBADMSG;
}

/* Start watching a new holder of the peer's slot, in both directions. */
static int watch_peer(struct shmq *q, uint64_t w)
{
	int d, r = 0;

	for (d = 0; d < 2; d++) {
		struct shmq_peer *p = q->side[d].peer;

		if (d == 1 && p == q->side[0].peer)
			break;		/* a pair's one watcher */
		if (shmq_owner_state(w) == SHMQ_EP_ATTACHED && w != SHMQ_OWNER_SEALED)
			r = shmq_peer_watch(p, w);
		else
			p->owner = w;
		if (r)
			return r;
	}
	return 0;
}

static uint64_t peer_word(const struct shmq *q)
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
static int peer_gone(struct shmq_side *sd)
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
static void look_at_segment(struct shmq_side *sd, uint64_t w)
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
static void check_peer(void *arg)
{
	struct shmq_side *sd = arg;
	struct shmq_peer *peer = sd->peer;
	struct shmq *q = sd->q;
	uint64_t w = peer_word(q);

	if (q->borrowed)
		return;	/* no process behind the fuzzer's bytes */
	if (q->persistent && w != peer->owner && w != SHMQ_OWNER_SEALED &&
	    shmq_owner_state(w) == SHMQ_EP_ATTACHED) {
		/* A new holder: on failure, say so rather than guess. */
		sd->err = shmq_peer_watch(peer, w);
		if (sd->err)
			peer->owner = 0;
	}
	if (shmq_owner_state(peer->owner) == SHMQ_EP_ATTACHED &&
	    shmq_owner_pid(peer->owner))
		shmq_peer_alive(peer);
	look_at_segment(sd, w);
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
static int look_at_peer(struct shmq_side *sd)
{
	int64_t now = shmq_now_ns();

	if (now - sd->looked_ns < LOOK_INTERVAL_NS)
		return 0;
	sd->looked_ns = now;
	check_peer(sd);
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
static int settle_recv(struct shmq_side *sd, int deep)
{
	struct shmq *q = sd->q;
	int gone = peer_gone(sd), r;

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
		r = shmq_ring_peek(&q->rx, &q->pk_buf, &q->pk_len);
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

static int ready_recv(void *arg)
{
	struct shmq_side *sd = arg;
	struct shmq *q = sd->q;
	int r = shmq_ring_peek(&q->rx, &q->pk_buf, &q->pk_len);

	if (r == 0)
		return 1;
	if (r != -EAGAIN)
		return poison(q);
	return settle_recv(sd, 1);
}

/* Spinning: the ring alone (see struct shmq_wait_ops). */
static int poll_recv(void *arg)
{
	struct shmq_side *sd = arg;
	struct shmq *q = sd->q;
	int r = shmq_ring_peek(&q->rx, &q->pk_buf, &q->pk_len);

	if (r == -EAGAIN)
		return 0;
	return r ? poison(q) : 1;
}

static int poll_send(void *arg)
{
	struct shmq_side *sd = arg;
	struct shmq *q = sd->q;
	int r = shmq_ring_reserve(&q->tx, q->want_len, &q->rs_buf);

	if (r == -EAGAIN)
		return 0;
	return r == -EBADMSG ? poison(q) : r ? r : 1;
}

/*
 * Can the peer still read what we send?  peer_gone(), except that its
 * poison stops us for good too: nothing we send would be read.
 */
static int send_blocked(struct shmq_side *sd)
{
	int r = peer_gone(sd);

	return r == -EBADMSG ? poison(sd->q) : r;
}

static int ready_send(void *arg)
{
	struct shmq_side *sd = arg;
	struct shmq *q = sd->q;
	int r = shmq_ring_reserve(&q->tx, q->want_len, &q->rs_buf);

	if (r == 0)
		return 1;
	if (r == -EBADMSG)
		return poison(q);
	if (r != -EAGAIN)
		return r;
	/* Full: only the peer can make room, so if it is gone, give up. */
	return send_blocked(sd);
}

/* ------------------------------------------------------------------ */
/* Send side                                                           */
/* ------------------------------------------------------------------ */

static int reserve(struct shmq *q, size_t len, void **buf, int64_t timeout_ns)
{
	struct shmq_side *sd = &q->side[SEND];
	struct shmq_wait_ops ops = { ready_send, check_peer, sd, poll_send };
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
		look_at_peer(sd);
		r = send_blocked(sd);
		return r < 0 ? r : -EAGAIN;
	}
	q->want_len = len;
	r = shmq_wait(&q->tx.ctl->space, &q->waiter, &ops, shmq_deadline(timeout_ns));
	if (r == 0)
		*buf = q->rs_buf;
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
static void publish(struct shmq *q)
{
	if (!shmq_ring_unpublished(&q->rx))
		return;
	shmq_ring_publish(&q->rx);
	shmq_ec_notify(&q->rx.ctl->space);
}

static int next_record(struct shmq *q, int64_t timeout_ns)
{
	struct shmq_side *sd = &q->side[RECV];
	struct shmq_wait_ops ops = { ready_recv, check_peer, sd, poll_recv };
	int r;

	if ((r = unusable(q)))
		return r;
	r = shmq_ring_peek(&q->rx, &q->pk_buf, &q->pk_len);
	if (r != -EAGAIN)
		return r ? poison(q) : 0;
	/* Nothing to read: give back the space before waiting, or returning. */
	publish(q);
	if (timeout_ns == 0) {
		int deep = look_at_peer(sd);

		r = shmq_ring_peek(&q->rx, &q->pk_buf, &q->pk_len);
		if (r == 0)
			return 0;
		if (r != -EAGAIN)
			return poison(q);
		r = settle_recv(sd, deep);
		return r > 0 ? 0 : r < 0 ? r : -EAGAIN;
	}
	{
		struct shmq_waiter w = q->waiter;

		w.pauses = shmq_pauses_for(q->last_len);
		r = shmq_wait(&q->rx.ctl->data, &w, &ops, shmq_deadline(timeout_ns));
	}
	return r;
}

SHMQ_API int shmq_peek(shmq_t *q, const void **buf, size_t *len, int64_t timeout_ns)
{
	int r = next_record(q, timeout_ns);

	if (r)
		return r;
	q->last_len = q->pk_len;
	*buf = q->pk_buf;
	*len = q->pk_len;
	return 0;
}

SHMQ_API int shmq_release(shmq_t *q)
{
	int n;

	if ((n = unusable(q)))
		return n;
	n = shmq_ring_release(&q->rx);
	publish(q);
	return n;
}

SHMQ_API int shmq_recv_timed(shmq_t *q, void *buf, size_t size, size_t *len,
			     int64_t timeout_ns)
{
	int r = next_record(q, timeout_ns);

	if (r)
		return r;
	*len = q->pk_len;
	q->last_len = q->pk_len;
	if (q->pk_len > size) {
		/* Leave it queued: the caller retries with a bigger buffer. */
		shmq_ring_rewind(&q->rx);
		return -EMSGSIZE;
	}
	memcpy(buf, q->pk_buf, q->pk_len);
	shmq_ring_release(&q->rx);
	/*
	 * A pair publishes lazily: the producer looks at head only when the
	 * ring seems full, so an eighth of the ring at a time is enough, and
	 * everything is published before this end waits (next_record).  That
	 * saves a store and a full barrier per message.  A persistent channel
	 * publishes every message, so a crash re-delivers only what was never
	 * received.
	 */
	if (q->persistent || shmq_ring_unpublished(&q->rx) >= q->rx.cap / 8)
		publish(q);
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

/* ------------------------------------------------------------------ */
/* Opening                                                             */
/* ------------------------------------------------------------------ */

static int in_list(uid_t u, const uid_t *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (list[i] == u)
			return 1;
	return 0;
}

static int member_of(gid_t g)
{
	gid_t groups[256];
	int n, i;

	if (g == getegid())
		return 1;
	n = getgroups(256, groups);
	for (i = 0; i < n; i++)
		if (groups[i] == g)
			return 1;
	return 0;
}

/*
 * May we use a segment someone else may have made?  The creator uid and
 * gid cannot be changed after creation (IPC_SET changes only the owner),
 * so they are what trust rests on; the owner must be trusted too, since
 * the owner can change the mode.
 */
int shmq_trusted(const struct shmq_seg_info *s, unsigned mode,
		   const struct shmq_options *o)
{
	uid_t me = geteuid();
	const uid_t *list = o ? o->trust_uids : NULL;
	size_t n = o ? o->n_trust_uids : 0;
	int creator, owner;

	creator = s->cuid == me || in_list(s->cuid, list, n) ||
		  ((mode & 0070) && member_of(s->cgid));
	owner = s->uid == me || in_list(s->uid, list, n) ||
		(s->uid == s->cuid && creator);
	if (!creator || !owner) {
		shmq_explain(o, "segment id %d was created by uid %u and is owned by "
			"uid %u, not by you (uid %u); refusing it unless that uid "
			"is trusted", s->shmid, (unsigned)s->cuid, (unsigned)s->uid,
			(unsigned)me);
		return 0;
	}
	if (s->mode & ~mode) {
		shmq_explain(o, "segment id %d has mode %04o, which grants more than "
			"the %04o asked for; refusing it", s->shmid, s->mode, mode);
		return 0;
	}
	return 1;
}

/*
 * A segment of users we trust, refused for its mode: is it shmq's at all?
 * If we may read it, look (read-only: a look is not a use); one that is not
 * is "not a shmq segment", which says more than its mode does.
 */
static int foreign_segment(const struct shmq_seg_info *s, const struct shmq_options *o)
{
	uint64_t magic = 0;
	void *p;

	if (s->size < sizeof(magic) || shmq_seg_attach(s->shmid, SHMQ_SEG_RDONLY, &p))
		return 0;
	memcpy(&magic, p, sizeof(magic));
	shmq_seg_detach(p);
	if (magic == SHMQ_MAGIC)
		return 0;
	shmq_explain(o, "segment id %d (%llu bytes, mode %04o) is not a shmq segment",
		     s->shmid, (unsigned long long)s->size, s->mode);
	return 1;
}

static void prefault(void *p, size_t len)
{
#ifdef MADV_POPULATE_WRITE
	if (madvise(p, len, MADV_POPULATE_WRITE) == 0)
		return;
#endif
	for (size_t i = 0; i < len; i += 4096)
		(void)*(volatile unsigned char *)((unsigned char *)p + i);
}

/* Map both rings into the private views, for endpoint @slot. */
static int setup_rings(struct shmq *q)
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

/*
 * Write the immutable identity of a fresh (zeroed) segment's header and
 * its checksum; state stays INIT for the caller to set last.
 */
void shmq_hdr_init(struct shmq_hdr *h, const struct shmq_addr *a, unsigned mode,
		   unsigned kind, unsigned flags, uint64_t c0, uint64_t c1,
		   uint64_t total)
{
	struct timespec now;

	h->magic = SHMQ_MAGIC;
	h->major = SHMQ_LAYOUT_MAJOR;
	h->minor = SHMQ_LAYOUT_MINOR;
	h->kind = (uint16_t)kind;
	h->flags = (uint16_t)flags;
	h->hdr_size = SHMQ_HDR_SIZE;
	h->mode = mode;
	h->cap[0] = c0;
	h->cap[1] = c1;
	h->total_size = total;
	if (getrandom(&h->instance, sizeof(h->instance), GRND_NONBLOCK) != 8)
		h->instance = (uint64_t)shmq_now_ns() ^ ((uint64_t)getpid() << 32);
	h->addr_kind = (uint32_t)a->kind;
	h->proj = (uint32_t)a->proj;
	h->dev = a->dev;
	h->ino = a->ino;
	memcpy(h->name, a->name, sizeof(a->name));
	h->creator_uid = (uint32_t)geteuid();
	h->creator_gid = (uint32_t)getegid();
	h->creator_pid = (int32_t)getpid();
	h->creator_start = shmq_self_start();
	clock_gettime(CLOCK_REALTIME, &now);
	h->created_ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
	h->check = shmq_hdr_checksum(h);
}

/* The size a header's geometry says its segment has; 0: no such kind. */
uint64_t shmq_hdr_total(const struct shmq_hdr *copy)
{
	switch (copy->kind) {
	case SHMQ_KIND_CHANNEL:
		return SHMQ_HDR_SIZE + copy->cap[0] + copy->cap[1];
	case SHMQ_KIND_HUB:
		return SHMQ_HUB_SIZE;
	default:
		return 0;
	}
}

/*
 * Hold what watching the peer will need before anything is shared, so
 * that running out of descriptors fails the open, not the liveness check
 * later: one descriptor for a pair (both directions share its watcher),
 * one per direction for a persistent channel.
 */
static int reserve_watchers(struct shmq *q, const struct shmq_options *o)
{
	int d, n = q->persistent ? 2 : 1, r;

	q->side[RECV].peer = &q->watch[0];
	q->side[SEND].peer = &q->watch[n - 1];
	for (d = 0; d < n; d++) {
		r = shmq_peer_reserve(&q->watch[d]);
		if (r) {
			shmq_explain(o, "cannot hold a descriptor to watch the peer "
				     "with: %s", strerror(-r));
			return r;
		}
	}
	return 0;
}

static int create_channel(struct shmq *q, const struct shmq_addr *a,
			  const struct shmq_options *o, unsigned mode)
{
	uint64_t c0 = shmq_round_capacity(o ? o->send_capacity : 0);
	uint64_t c1 = shmq_round_capacity(o ? o->recv_capacity : 0);
	unsigned flags = SHMQ_SEG_EXCL;
	struct shmq_hdr *h;
	void *p;
	int r, id;

	q->persistent = o && (o->flags & SHMQ_PERSISTENT);
	r = reserve_watchers(q, o);
	if (r)
		return r;
	if (o && (o->flags & SHMQ_HUGEPAGES))
		flags |= SHMQ_SEG_HUGETLB;
	r = shmq_seg_create(a, SHMQ_HDR_SIZE + c0 + c1, mode, flags, &id);
	if (r) {
		if (r == -EINVAL)
			shmq_explain(o, "the kernel refused a segment of %llu bytes "
				"(see /proc/sys/kernel/shmmax)",
				(unsigned long long)(SHMQ_HDR_SIZE + c0 + c1));
		else if (r != -EEXIST)
			shmq_explain(o, "cannot create a segment: %s", strerror(-r));
		return r;
	}
	r = shmq_seg_attach(id, 0, &p);
	if (r) {
		shmq_seg_remove(id);
		shmq_explain(o, "cannot attach the new segment: %s", strerror(-r));
		return r;
	}
	h = p;
	/* A fresh segment is zeroed: state is INIT until the end. */
	shmq_hdr_init(h, a, mode, SHMQ_KIND_CHANNEL,
		      q->persistent ? SHMQ_HDR_PERSISTENT : 0,
		      c0, c1, SHMQ_HDR_SIZE + c0 + c1);
	/* Formatting the rings writes every page: the segment is prefaulted. */
	shmq_ring_format(&h->ring[0], (unsigned char *)p + SHMQ_HDR_SIZE, c0, 0);
	shmq_ring_format(&h->ring[1], (unsigned char *)p + SHMQ_HDR_SIZE + c0, c1, 0);
	/*
	 * A pair's creator is endpoint 0.  A persistent channel's creator
	 * takes the endpoint it asked for: its side must not depend on who
	 * happened to arrive first.
	 */
	q->slot = q->persistent && (o->flags & SHMQ_ENDPOINT1) ? 1 : 0;
	h->ep[q->slot].owner = q->me;
	/*
	 * Last, with release: an opener that reads READY with acquire sees
	 * every field above.
	 */
	shmq_store_release(&h->state, SHMQ_STATE_READY);

	q->hdr = h;
	q->shmid = id;
	q->key = a->key;
	q->cap[0] = c0;
	q->cap[1] = c1;
	q->instance = h->instance;
	return setup_rings(q);
}

/* Give up on a channel we created and nobody joined. */
static void unmake(struct shmq *q)
{
	shmq_seg_remove(q->shmid);
	shmq_seg_detach(q->hdr);
	q->hdr = NULL;
}

/* Has someone else removed our segment (shmq rm --force, ipcrm)? */
static int removed_under_us(const struct shmq *q)
{
	struct shmq_seg_info s;

	return shmq_seg_stat(q->shmid, &s) == 0 && s.removed;
}

/*
 * The creator of a pair waits for endpoint 1.  0 joined; -ETIMEDOUT,
 * -EINTR or -EIDRM (someone removed the segment, so nobody can find it to
 * join) after sealing the slot so nobody can join any more (the caller
 * then removes the segment).  A joiner and a sealer race on one
 * compare-and-swap of endpoint 1's word, so exactly one of them wins.
 */
static int wait_for_joiner(struct shmq *q, const struct shmq_options *o,
			   int64_t deadline)
{
	struct shmq_hdr *h = q->hdr;
	int interruptible = o && (o->flags & SHMQ_INTERRUPTIBLE);
	uint64_t w;
	int r;

	for (;;) {
		uint32_t key = shmq_load_acquire(&h->join_seq);
		int64_t now = shmq_now_ns();

		w = shmq_load_acquire(&h->ep[1].owner);
		if (w && w != SHMQ_OWNER_SEALED)
			break;
		r = 0;
		if (now >= deadline)
			r = -ETIMEDOUT;
		else if (shmq_stopped(&q->waiter))
			r = -EINTR;
		else if (removed_under_us(q))
			r = -EIDRM;	/* a joiner removes it only after claiming */
		else if (shmq_futex_wait(&h->join_seq, key,
					 deadline < now + SHMQ_CHECK_INTERVAL_NS ?
					 deadline : now + SHMQ_CHECK_INTERVAL_NS) == -EINTR &&
			 interruptible)
			r = -EINTR;
		if (r && shmq_cas(&h->ep[1].owner, 0, SHMQ_OWNER_SEALED)) {
			shmq_explain(o, r == -EINTR ? "interrupted while waiting for the "
				     "peer" : r == -EIDRM ? "segment id %d was removed (by "
				     "shmq rm or ipcrm) while waiting for the peer" :
				     "no peer arrived in time", q->shmid);
			return r;
		}
		/* Someone joined just now: that wins over giving up. */
	}
	/* The joiner marks the segment removed; do it too in case it died. */
	shmq_seg_remove(q->shmid);
	r = watch_peer(q, w);
	if (r) {
		/* Cannot watch it: leave the pair at once, and plainly. */
		shmq_cas(&h->ep[0].owner, q->me, (q->me & ~(uint64_t)3) | SHMQ_EP_ABANDONED);
		shmq_ec_notify(&q->tx.ctl->data);
		shmq_explain(o, "cannot watch the peer: %s", strerror(-r));
	}
	return r;
}

/* Only what an opener writes: a valid NAME, or no name at all. */
static int identity_possible(const struct shmq_hdr *copy)
{
	static const char none[sizeof(copy->name)];

	switch (copy->addr_kind) {
	case SHMQ_ADDR_NAME:
		return shmq_name_valid(copy->name, sizeof(copy->name));
	case SHMQ_ADDR_FTOK:
	case SHMQ_ADDR_KEY:
		return !memcmp(copy->name, none, sizeof(none));
	default:
		return 0;
	}
}

/*
 * Is this (private copy of a) header one we can use: ours, this version,
 * intact, of @kind (0: any kind there is), a possible geometry within
 * @segsz bytes, a possible identity, and made for address @a (NULL: any)?
 * 0 or -errno, explained.
 */
int shmq_check_header(const struct shmq_hdr *copy, uint64_t segsz,
		      const struct shmq_addr *a, int shmid,
		      const struct shmq_options *o, unsigned kind)
{
	char name[sizeof(copy->name)];

	if (copy->magic != SHMQ_MAGIC) {
		shmq_explain(o, "segment id %d is not a shmq segment", shmid);
		return -EPROTO;
	}
	if (copy->major != SHMQ_LAYOUT_MAJOR) {
		shmq_explain(o, "segment id %d has shmq layout %u.%u; this library "
			"reads %u.x", shmid, copy->major, copy->minor, SHMQ_LAYOUT_MAJOR);
		return -EPROTONOSUPPORT;
	}
	if (copy->check != shmq_hdr_checksum(copy)) {
		shmq_explain(o, "segment id %d: the header's checksum is wrong", shmid);
		return -EBADMSG;
	}
	/* A kind we do not know is corrupt, unless a newer layout made it. */
	if (!shmq_hdr_total(copy) && copy->minor > SHMQ_LAYOUT_MINOR) {
		shmq_explain(o, "segment id %d is a kind of shmq segment (%u) from "
			     "layout %u.%u, newer than this library's %u.%u", shmid,
			     copy->kind, copy->major, copy->minor, SHMQ_LAYOUT_MAJOR,
			     SHMQ_LAYOUT_MINOR);
		return -EPROTOTYPE;
	}
	if (kind && copy->kind != kind && shmq_hdr_total(copy)) {
		shmq_explain(o, "segment id %d is a shmq %s, not a %s", shmid,
			     shmq_kind_name(copy->kind), shmq_kind_name(kind));
		return -EPROTOTYPE;
	}
	if (copy->hdr_size != SHMQ_HDR_SIZE || !shmq_hdr_total(copy) ||
	    shmq_round_capacity(copy->cap[0]) != copy->cap[0] ||
	    shmq_round_capacity(copy->cap[1]) != copy->cap[1] ||
	    copy->total_size != shmq_hdr_total(copy) ||
	    copy->total_size > segsz) {
		shmq_explain(o, "segment id %d: impossible geometry", shmid);
		return -EBADMSG;
	}
	if (!identity_possible(copy)) {
		shmq_explain(o, "segment id %d: the header names an impossible address",
			     shmid);
		return -EBADMSG;
	}
	if (!a)
		return 0;
	if ((a->kind == SHMQ_ADDR_NAME &&
	     (copy->addr_kind != SHMQ_ADDR_NAME ||
	      strncmp(copy->name, a->name, sizeof(copy->name)))) ||
	    (a->kind == SHMQ_ADDR_FTOK &&
	     (copy->addr_kind != SHMQ_ADDR_FTOK || copy->dev != a->dev ||
	      copy->ino != a->ino || copy->proj != (uint32_t)a->proj))) {
		memcpy(name, copy->name, sizeof(name));
		name[sizeof(name) - 1] = '\0';
		if (copy->addr_kind == SHMQ_ADDR_NAME)
			shmq_explain(o, "key 0x%08x collides: its segment (id %d) belongs "
				"to the name '%s'", (uint32_t)a->key, shmid, name);
		else
			shmq_explain(o, "key 0x%08x collides: its segment (id %d) was "
				"made for another address", (uint32_t)a->key, shmid);
		return -EADDRINUSE;
	}
	return 0;
}

/*
 * Attach segment @shmid after vetting it: readable, made and owned by
 * someone we trust (shmq_trusted), at least @min bytes (too small to be a
 * shmq @what otherwise), and still the same segment once attached, since
 * ids are reused.  0 with its stat in *@s and the mapping in *@p; -EAGAIN:
 * it went away or changed, look it up again; or -errno, explained.
 */
int shmq_attach_vetted(int shmid, unsigned mode, const struct shmq_options *o,
		       uint64_t min, const char *what, struct shmq_seg_info *s,
		       void **p)
{
	struct shmq_seg_info s2;
	int r = shmq_seg_stat(shmid, s);

	if (r == -EINVAL || r == -EIDRM)
		return -EAGAIN;		/* removed since it was looked up */
	if (r) {
		if (r == -EACCES)
			shmq_explain(o, "segment id %d is not readable by you", shmid);
		return r;
	}
	if (!shmq_trusted(s, mode, o)) {
		struct shmq_options quiet = { 0 };

		if (o)
			quiet = *o;
		quiet.errbuf = NULL;
		/* Trusted users, too wide a mode: a plain segment says so first. */
		if ((s->mode & ~mode) && shmq_trusted(s, s->mode | mode, &quiet) &&
		    foreign_segment(s, o))
			return -EPROTO;
		return -EACCES;
	}
	if (s->size < min) {
		shmq_explain(o, "segment id %d (%llu bytes) is too small to be a shmq "
			     "%s", shmid, (unsigned long long)s->size, what);
		return -EPROTO;
	}
	r = shmq_seg_attach(shmid, 0, p);
	if (r == -EINVAL || r == -EIDRM)
		return -EAGAIN;
	if (r) {
		shmq_explain(o, "cannot attach segment id %d: %s", shmid, shmq_strerror(r));
		return r;
	}
	if (shmq_seg_stat(shmid, &s2) || s2.cuid != s->cuid || s2.uid != s->uid ||
	    s2.size != s->size || s2.cpid != s->cpid || s2.mode != s->mode) {
		shmq_seg_detach(*p);
		return -EAGAIN;
	}
	return 0;
}

/* How an attempt to join an existing segment went. */
enum join {
	JOIN_OK,
	JOIN_FAILED,		/* with an -errno, explained */
	JOIN_SETTING_UP,	/* its live creator is still writing it */
	JOIN_AGAIN_NOW,		/* removed, finished with, or lost a race */
	JOIN_HUB,		/* a hub: connect to it as a client instead */
};

/* Setting up takes microseconds: a segment still at it after this is not. */
#define SETUP_LIMIT_NS (2 * 1000000000LL)

/*
 * The segment we attached is not READY.  Its creator may still be writing
 * it, or may have died doing so: then remove it, if it is recognisably
 * ours (our magic, or all zeroes at a name's key).
 */
static enum join not_ready(const struct shmq_hdr *h, const struct shmq_seg_info *s,
			   const struct shmq_addr *a, const struct shmq_options *o,
			   int *err)
{
	uint64_t magic = shmq_load_relaxed(&h->magic);
	/* The kernel's creator pid, which cannot have started after ctime. */
	int creator = shmq_pid_state(s->cpid, s->ctime);

	if (magic != SHMQ_MAGIC && magic != 0)
		goto foreign;
	if (creator != SHMQ_PID_DEAD && creator != SHMQ_PID_ZOMBIE)
		return JOIN_SETTING_UP;
	if (magic == SHMQ_MAGIC || a->kind == SHMQ_ADDR_NAME) {
		shmq_seg_remove(s->shmid);
		return JOIN_AGAIN_NOW;
	}
foreign:
	shmq_explain(o, "segment id %d is not a shmq channel", s->shmid);
	*err = -EPROTO;
	return JOIN_FAILED;
}

/*
 * Join a pair as endpoint 1.  Watch the creator first (nothing to undo if
 * that fails), then claim the slot by compare-and-swap and mark the
 * segment removed: the pair is formed and the address free again.
 */
static enum join claim_pair(struct shmq *q, const struct shmq_options *o, int *err)
{
	struct shmq_hdr *h = q->hdr;
	uint64_t w0 = shmq_load_acquire(&h->ep[0].owner);
	uint64_t w1 = shmq_load_acquire(&h->ep[1].owner);
	int r;

	/*
	 * Endpoint 1 sealed (its creator gave up) or taken: this segment is
	 * finished with its address, and one of its ends is about to mark it
	 * removed.  Do it for them, so an end that stops (or dies) just then
	 * cannot hold the address: the pair itself carries on regardless.
	 */
	if (w1 != 0 || shmq_owner_state(w0) != SHMQ_EP_ATTACHED)
		goto finished;
	q->side[SEND].peer = q->side[RECV].peer = &q->watch[0];
	r = watch_peer(q, w0);
	if (r) {
		shmq_explain(o, "cannot watch the channel's creator: %s", strerror(-r));
		*err = r;
		return JOIN_FAILED;
	}
	if (!shmq_peer_alive(&q->watch[0]))
		goto finished;	/* the creator died before anyone joined */
	if (!shmq_cas(&h->ep[1].owner, 0, q->me))
		return JOIN_AGAIN_NOW;	/* someone joined (or it was sealed) first */
	shmq_seg_remove(q->shmid);
	shmq_fetch_add_release(&h->join_seq, 1);
	shmq_futex_wake(&h->join_seq, 1);
	q->slot = 1;
	return JOIN_OK;
finished:
	shmq_seg_remove(q->shmid);
	return JOIN_AGAIN_NOW;
}

/*
 * How much a persistent channel's endpoint @slot suits us: -1 not free (or
 * not the one asked for), else higher is better.  The slot fixes the
 * direction, so a returning end should get its own side back: the caller
 * may name it; otherwise prefer the slot with messages waiting for it,
 * then one never used.  A holder whose liveness cannot be told is not
 * taken for dead: *unknown is set.
 */
static int slot_score(const struct shmq *q, int slot, const struct shmq_options *o,
		      int *unknown)
{
	uint64_t w = shmq_load_acquire(&q->hdr->ep[slot].owner);
	unsigned want = o ? o->flags & (SHMQ_ENDPOINT0 | SHMQ_ENDPOINT1) : 0;
	int alive;

	if (want && !(want & (slot ? SHMQ_ENDPOINT1 : SHMQ_ENDPOINT0)))
		return -1;
	if (w == SHMQ_OWNER_SEALED)
		return -1;
	if (shmq_owner_state(w) == SHMQ_EP_ATTACHED) {
		alive = shmq_owner_alive(w);
		if (alive < 0)
			*unknown = alive;
		if (alive)
			return -1;
	}
	return (w == 0) + 2 * (shmq_ring_queued(&q->hdr->ring[1 - slot]) != 0);
}

/* A persistent channel: take a free, closed or dead holder's slot. */
static enum join claim_persistent(struct shmq *q, const struct shmq_options *o,
				  int *err)
{
	struct shmq_hdr *h = q->hdr;
	int score[2], unknown = 0, first, i, r;

	*err = reserve_watchers(q, o);
	if (*err)
		return JOIN_FAILED;
	score[0] = slot_score(q, 0, o, &unknown);
	score[1] = slot_score(q, 1, o, &unknown);
	first = score[1] > score[0];
	for (i = 0; i < 2; i++) {
		int slot = i ? !first : first;
		uint64_t w = shmq_load_acquire(&h->ep[slot].owner);

		if (score[slot] < 0)
			continue;
		/* The flag belongs to the slot's holder, who has left. */
		shmq_store_relaxed(&h->ep[slot].poisoned, 0);
		if (shmq_cas(&h->ep[slot].owner, w, q->me)) {
			q->slot = slot;
			break;
		}
	}
	if (i == 2) {
		int named = o && (o->flags & (SHMQ_ENDPOINT0 | SHMQ_ENDPOINT1));

		if (unknown) {
			shmq_explain(o, "cannot tell whether the processes holding "
				     "persistent channel id %d are alive: %s",
				     q->shmid, strerror(-unknown));
			*err = unknown;
		} else {
			shmq_explain(o, "%s of persistent channel id %d %s held by live "
				     "processes", named ? "the endpoint asked for" :
				     "both endpoints", q->shmid, named ? "is" : "are");
			*err = -EBUSY;
		}
		return JOIN_FAILED;
	}
	r = watch_peer(q, shmq_load_acquire(&h->ep[1 - q->slot].owner));
	if (r) {
		shmq_cas(&h->ep[q->slot].owner, q->me,
			 (q->me & ~(uint64_t)3) | SHMQ_EP_ABANDONED);
		shmq_explain(o, "cannot watch the peer: %s", strerror(-r));
		*err = r;
		return JOIN_FAILED;
	}
	return JOIN_OK;
}

/*
 * Join the existing segment @shmid: vet it, check a private copy of its
 * header, claim an endpoint, attach the rings.  On JOIN_FAILED, *err.
 */
static enum join join_channel(struct shmq *q, const struct shmq_addr *a, int shmid,
			      const struct shmq_options *o, unsigned mode, int *err)
{
	struct shmq_seg_info s;
	struct shmq_hdr *h, copy;
	enum join how;
	void *p;
	int r;

	r = shmq_attach_vetted(shmid, mode, o, SHMQ_HDR_SIZE, "channel", &s, &p);
	if (r == -EAGAIN)
		return JOIN_AGAIN_NOW;
	if (r) {
		*err = r;
		return JOIN_FAILED;
	}
	h = p;
	if (shmq_load_acquire(&h->state) != SHMQ_STATE_READY) {
		how = not_ready(h, &s, a, o, err);
		goto out;
	}
	/* Copy the header once; check the copy, never the live bytes. */
	memcpy(&copy, h, offsetof(struct shmq_hdr, state));
	/* A hub's clients get a channel of their own: see hub.c. */
	if (copy.magic == SHMQ_MAGIC && copy.kind == SHMQ_KIND_HUB) {
		how = JOIN_HUB;
		goto out;
	}
	*err = shmq_check_header(&copy, s.size, a, shmid, o, SHMQ_KIND_CHANNEL);
	if (*err) {
		how = JOIN_FAILED;
		goto out;
	}
	q->hdr = h;
	q->shmid = shmid;
	q->key = s.key;
	q->cap[0] = copy.cap[0];
	q->cap[1] = copy.cap[1];
	q->persistent = !!(copy.flags & SHMQ_HDR_PERSISTENT);
	q->instance = copy.instance;
	how = q->persistent ? claim_persistent(q, o, err) : claim_pair(q, o, err);
	if (how != JOIN_OK)
		goto out;
	*err = setup_rings(q);
	if (*err) {
		/* Claimed, so the caller closes (which says abandoned). */
		shmq_explain(o, "segment id %d: ring positions are corrupted", shmid);
		return JOIN_FAILED;
	}
	prefault((unsigned char *)p + SHMQ_HDR_SIZE, q->cap[0] + q->cap[1]);
	return JOIN_OK;
out:
	q->hdr = NULL;
	shmq_seg_detach(p);
	return how;
}

static void free_channel(struct shmq *q)
{
	if (q->hub_map)
		shmq_seg_detach(q->hub_map);
	shmq_peer_forget(&q->watch[0]);
	shmq_peer_forget(&q->watch[1]);
	free(q);
}

/*
 * An end claimed but cannot go on (its rings are corrupt): leave as
 * abandoned, so the peer does not take it for a clean end, and detach.
 */
static void drop_claimed(struct shmq *q)
{
	shmq_cas(&q->hdr->ep[q->slot].owner, q->me,
		 (q->me & ~(uint64_t)3) | SHMQ_EP_ABANDONED);
	shmq_seg_detach(q->hdr);
	q->hdr = NULL;
}

/* A channel not yet attached to anything, with @o's settings. */
static struct shmq *new_channel(const struct shmq_options *o)
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
	return q;
}

/*
 * For the fuzzer: use @size bytes at @mem as a channel segment, as endpoint
 * @slot, with every check an opener makes of a segment it joins.  Claims no
 * slot and watches no process.
 */
int shmq_attach_memory(void *mem, size_t size, int slot, shmq_t **out)
{
	struct shmq_hdr copy, *h = mem;
	struct shmq *q;
	int r;

	*out = NULL;
	if (size < SHMQ_HDR_SIZE || slot < 0 || slot > 1)
		return -EPROTO;
	if (shmq_load_acquire(&h->state) != SHMQ_STATE_READY)
		return -EAGAIN;
	memcpy(&copy, h, offsetof(struct shmq_hdr, state));
	r = shmq_check_header(&copy, size, NULL, -1, NULL, SHMQ_KIND_CHANNEL);
	if (r)
		return r;
	q = new_channel(NULL);
	if (!q)
		return -ENOMEM;
	q->watch[0].owner = shmq_load_acquire(&h->ep[1 - slot].owner);
	q->hdr = h;
	q->shmid = -1;
	q->slot = slot;
	q->borrowed = 1;
	q->cap[0] = copy.cap[0];
	q->cap[1] = copy.cap[1];
	q->persistent = !!(copy.flags & SHMQ_HDR_PERSISTENT);
	q->instance = copy.instance;
	q->me = shmq_owner((uint32_t)getpid(), 0, SHMQ_EP_ATTACHED);
	q->waiter.policy = SHMQ_WAIT_SPIN;
	r = setup_rings(q);
	if (r) {
		free_channel(q);
		return r;
	}
	*out = q;
	return 0;
}

/*
 * What every opener (shmq_open, shmq_connect, shmq_hub_open) does first:
 * parse @address into @a and check @o, explaining any failure; then the
 * mode asked for and the absolute deadline of open_timeout_ms.
 */
int shmq_begin_open(const char *address, const struct shmq_options *o,
		    struct shmq_addr *a, unsigned *mode, int64_t *deadline)
{
	int r = shmq_addr_parse(address, a);

	if (r == -EINVAL) {
		shmq_explain(o, "invalid address '%s': %s", address ? address : "",
			     a->why);
		return r;
	}
	if (r) {
		/* ftok: the file is what is missing (or unreadable), not a segment. */
		shmq_explain(o, "%s: %s", a->path, strerror(-r));
		return r;
	}
	*mode = o && o->mode ? o->mode : 0600;
	if (*mode & ~0777u || (o && (o->wait < 0 || o->wait > SHMQ_WAIT_BLOCK ||
				     o->spin_ns < 0 || o->open_timeout_ms < 0))) {
		shmq_explain(o, "invalid options");
		return -EINVAL;
	}
	if (o && (!shmq_round_capacity(o->send_capacity) ||
		  !shmq_round_capacity(o->recv_capacity))) {
		shmq_explain(o, "a capacity is larger than %u bytes", SHMQ_RING_MAX_CAPACITY);
		return -EINVAL;
	}
	*deadline = o && o->open_timeout_ms ?
		shmq_now_ns() + o->open_timeout_ms * 1000000 : SHMQ_NEVER;
	return 0;
}

/* Nobody at the address: create the channel, and wait for its peer. */
static int create_and_wait(struct shmq *q, const struct shmq_addr *a,
			   const struct shmq_options *o, unsigned mode,
			   int64_t deadline)
{
	int r = create_channel(q, a, o, mode);

	if (r || q->persistent)
		return r;	/* -EEXIST: lost a race to create; join instead */
	r = wait_for_joiner(q, o, deadline);
	if (r)
		unmake(q);
	return r;
}

/*
 * A segment that stays in set-up although its creator lives is not one
 * we can use: 0 while there is time, else -EPROTO, explained.
 */
static int still_setting_up(int shmid, int *setup_id, int64_t *since,
			    const struct shmq_options *o)
{
	int64_t now = shmq_now_ns();

	if (shmid != *setup_id) {
		*setup_id = shmid;
		*since = now;
		return 0;
	}
	if (now - *since <= SETUP_LIMIT_NS)
		return 0;
	shmq_explain(o, "segment id %d has not finished setting up in %lld s though "
		     "its creator lives (stopped?): not a shmq channel we can use",
		     shmid, SETUP_LIMIT_NS / 1000000000);
	return -EPROTO;
}

SHMQ_API int shmq_open(const char *address, const struct shmq_options *o,
		       shmq_t **out)
{
	struct shmq_addr a;
	struct shmq *q;
	unsigned mode;
	int64_t deadline, setup_since = 0;
	int r, setup_id = -1;

	*out = NULL;
	r = shmq_begin_open(address, o, &a, &mode, &deadline);
	if (r)
		return r;
	q = new_channel(o);
	if (!q)
		return -ENOMEM;
	for (;;) {
		enum join how;
		int shmid;

		if (shmq_now_ns() >= deadline) {
			shmq_explain(o, "no peer arrived in time");
			r = -ETIMEDOUT;
			break;
		}
		if (shmq_stopped(&q->waiter)) {
			r = -EINTR;
			break;
		}
		r = shmq_seg_open(&a, &shmid);
		if (r == -ENOENT && a.kind != SHMQ_ADDR_ID) {
			r = create_and_wait(q, &a, o, mode, deadline);
			if (r == -EEXIST)
				continue;
			break;
		}
		if (r) {
			if (r == -ENOENT)
				shmq_explain(o, "no segment with id %d", a.shmid);
			else
				shmq_explain(o, "cannot look up the segment: %s",
					     strerror(-r));
			break;
		}
		how = join_channel(q, &a, shmid, o, mode, &r);
		if (how == JOIN_SETTING_UP) {
			r = still_setting_up(shmid, &setup_id, &setup_since, o);
			if (r)
				break;
			shmq_sleep_ns(RETRY_SLEEP_NS);
			continue;
		}
		if (how == JOIN_AGAIN_NOW)
			continue;
		if (how == JOIN_HUB) {
			free_channel(q);
			return shmq_hub_connect(&a, o, mode, deadline, out);
		}
		if (how == JOIN_FAILED && q->hdr)
			drop_claimed(q);
		break;
	}
	if (r) {
		free_channel(q);
		return r;
	}
	*out = q;
	return 0;
}

/* ------------------------------------------------------------------ */
/* For the hub (hub.c): one channel per client                         */
/* ------------------------------------------------------------------ */

/*
 * The server's end of a new client's channel: a pair at IPC_PRIVATE, so
 * nobody finds it but the client the server tells its id; endpoint 0; not
 * waited for (the hub looks with shmq_chan_joined()).  Its owner becomes
 * @client_uid (when that is not ours), so that the server (its creator)
 * and that client are the only users the kernel lets in, whatever the
 * hub's own mode lets in.
 */
int shmq_chan_offer(const struct shmq_options *o, uid_t client_uid, shmq_t **out)
{
	struct shmq_addr a = { .kind = SHMQ_ADDR_KEY, .key = IPC_PRIVATE, .shmid = -1 };
	struct shmq *q = new_channel(o);
	int r;

	if (!q)
		return -ENOMEM;
	r = create_channel(q, &a, o, 0600);
	if (r == 0 && client_uid != geteuid())
		r = shmq_seg_set_owner(q->shmid, client_uid);
	if (r) {
		if (q->hdr)
			unmake(q);
		free_channel(q);
		return r;
	}
	*out = q;
	return 0;
}

/*
 * Has the client joined an offered channel?  Then watch it: 1.  0 not
 * yet; -errno if it cannot be watched (the caller abandons it).
 */
int shmq_chan_joined(shmq_t *q)
{
	uint64_t w = shmq_load_acquire(&q->hdr->ep[1].owner);

	if (w == 0 || w == SHMQ_OWNER_SEALED)
		return 0;
	/* The joiner marked it removed; again, in case it died first. */
	shmq_seg_remove(q->shmid);
	return watch_peer(q, w) ?: 1;
}

/*
 * Take an offer back: seal endpoint 1 (the same race as a creator that
 * gives up waiting), remove the segment and free @q: 0.  1 if the client
 * joined just before: @q is a live channel after all.
 */
int shmq_chan_withdraw(shmq_t *q)
{
	if (!shmq_cas(&q->hdr->ep[1].owner, 0, SHMQ_OWNER_SEALED) &&
	    shmq_chan_joined(q) == 1)
		return 1;
	unmake(q);
	free_channel(q);
	return 0;
}

/*
 * A client joins the channel the server offered, as endpoint 1.  The
 * channel keeps the hub's mapping (@hub_map) for its @door, and detaches
 * it when closed; on failure the caller still owns it.
 */
int shmq_chan_take_offer(int shmid, const struct shmq_options *o, unsigned mode,
			 void *hub_map, struct shmq_ec *door, shmq_t **out)
{
	struct shmq_addr a = { .kind = SHMQ_ADDR_ID, .key = IPC_PRIVATE, .shmid = shmid };
	struct shmq *q = new_channel(o);
	enum join how;
	int r = 0;

	if (!q)
		return -ENOMEM;
	how = join_channel(q, &a, shmid, o, mode, &r);
	if (how == JOIN_OK && (q->persistent || q->slot != 1)) {
		shmq_explain(o, "the hub offered segment id %d, which is not a "
			     "new pair", shmid);
		r = -EPROTO;
	} else if (how != JOIN_OK && how != JOIN_FAILED) {
		shmq_explain(o, "the hub took back its offer (segment id %d)", shmid);
		r = -ECONNREFUSED;
	}
	if (r) {
		if (q->hdr)
			drop_claimed(q);
		free_channel(q);
		return r;
	}
	q->hub_map = hub_map;
	q->door = door;
	*out = q;
	return 0;
}

/* Spinning: is there a record for the server to receive (or a poison)? */
int shmq_chan_poll(shmq_t *q)
{
	return poisoned(q) || shmq_ring_ready(&q->rx);
}

/* Anything a receive would return at once: a record, an end, an error? */
int shmq_chan_ready(shmq_t *q)
{
	int gone, r;

	if (shmq_chan_poll(q))
		return 1;
	gone = peer_gone(&q->side[RECV]);
	if (poisoned(q))
		return 1;
	/* As settle_recv() judges, consuming nothing. */
	r = shmq_ring_idle(&q->rx, gone == -EPIPE || gone == -ECONNABORTED);
	return r != SHMQ_RING_EMPTY || gone != 0;
}

/* Look at the client's process (a pidfd poll), for ready() to report. */
void shmq_chan_check(shmq_t *q)
{
	check_peer(&q->side[RECV]);
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
static int leave(struct shmq *q, unsigned how)
{
	if (foreign(q)) {
		if (!q->borrowed)
			shmq_seg_detach(q->hdr);
		free_channel(q);
		return 0;
	}
	if (poisoned(q))
		how = SHMQ_EP_ABANDONED;
	/* What was reserved and not committed is never delivered. */
	shmq_ring_discard(&q->tx);
	publish(q);
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
	notify_data(q);
	shmq_ec_notify(&q->rx.ctl->space);
	if (!q->borrowed)
		shmq_seg_detach(q->hdr);
	free_channel(q);
	return 0;
}

SHMQ_API int shmq_close(shmq_t *q)
{
	return q ? leave(q, SHMQ_EP_CLOSED) : -EINVAL;
}

SHMQ_API int shmq_abandon(shmq_t *q)
{
	return q ? leave(q, SHMQ_EP_ABANDONED) : -EINVAL;
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
	w = peer_word(q);
	if (w != SHMQ_OWNER_SEALED) {
		const struct shmq_peer *p = q->side[RECV].peer;
		int dead = w == p->owner ? !shmq_peer_looks_alive(p) ||
			q->side[RECV].detached == w : shmq_owner_alive(w) == 0;

		i->peer_pid = (pid_t)shmq_owner_pid(w);
		i->peer_state = peer_state_of(w, dead);
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Inspection                                                          */
/* ------------------------------------------------------------------ */

SHMQ_API const char *shmq_kind_name(int kind)
{
	switch (kind) {
	case SHMQ_KIND_CHANNEL:
		return "channel";
	case SHMQ_KIND_HUB:
		return "hub";
	default:
		return "segment of unknown kind";
	}
}

/* A process an endpoint or creator word names is proven gone. */
static int proven_dead(int pid_state)
{
	return pid_state == SHMQ_PID_DEAD || pid_state == SHMQ_PID_ZOMBIE;
}

/*
 * A segment still being set up: its header may be half written (even its
 * creator's pid may still be 0), so only the kernel's facts count, and it
 * is stale only if the process that created it is proven gone.
 */
static void describe_setup(const struct shmq_hdr *copy, const struct shmq_seg_info *s,
			   struct shmq_desc *d)
{
	d->kind = shmq_hdr_total(copy) ? copy->kind : 0;
	d->creator_uid = s->cuid;
	d->creator_pid = s->cpid;
	/* The creator cannot have started after the segment last changed. */
	d->creator_state = shmq_pid_state(s->cpid, s->ctime);
	d->stale = proven_dead(d->creator_state);
}

static void describe_endpoints(const struct shmq_hdr *h, const struct shmq_hdr *copy,
			       struct shmq_desc *d)
{
	int i;

	for (i = 0; i < 2; i++) {
		uint64_t w = shmq_load_acquire(&h->ep[i].owner);
		uint64_t queued = shmq_ring_queued(&h->ring[i]);

		d->capacity[i] = copy->cap[i];
		d->queued[i] = queued <= copy->cap[i] ? queued : copy->cap[i];
		if (w == SHMQ_OWNER_SEALED)
			continue;
		d->ep[i].state = peer_state_of(w, 0);
		d->ep[i].pid = (pid_t)shmq_owner_pid(w);
		if (d->ep[i].state == SHMQ_PEER_ATTACHED)
			d->ep[i].pid_state = shmq_owner_pid_state(w);
	}
}

/* Decode a mapped segment whose kernel facts are @s; see shmq_describe(). */
int shmq_describe_memory(const void *mem, const struct shmq_seg_info *s,
			 struct shmq_desc *d)
{
	const struct shmq_hdr *h = mem;
	struct shmq_hdr copy;
	int r;

	memset(d, 0, sizeof(*d));
	if (s->size < SHMQ_HDR_SIZE)
		return -EPROTO;
	memcpy(&copy, h, offsetof(struct shmq_hdr, state));
	d->ready = shmq_load_acquire(&h->state) == SHMQ_STATE_READY;
	/* Zeroes at INIT may be a creator that has not begun writing. */
	if (copy.magic != SHMQ_MAGIC)
		return -EPROTO;
	d->major = copy.major;
	d->minor = copy.minor;
	if (!d->ready) {
		describe_setup(&copy, s, d);
		return 0;
	}
	/* Everything an opener checks: version, checksum, kind, geometry, name. */
	r = shmq_check_header(&copy, s->size, NULL, s->shmid, NULL, 0);
	if (r)
		return r;
	d->kind = copy.kind;
	d->creator_uid = copy.creator_uid;
	d->creator_pid = copy.creator_pid;
	d->created = copy.created_ns / 1000000000;
	d->creator_state = shmq_owner_pid_state(shmq_owner((uint32_t)copy.creator_pid,
							   copy.creator_start, 1));
	d->persistent = !!(copy.flags & SHMQ_HDR_PERSISTENT);
	d->addr_kind = (int)copy.addr_kind;
	memcpy(d->name, copy.name, sizeof(d->name));
	d->name[sizeof(d->name) - 1] = '\0';
	d->dev = copy.dev;
	d->ino = copy.ino;
	d->proj = (int)copy.proj;
	d->mode = copy.mode;
	describe_endpoints(h, &copy, d);
	/*
	 * A pair still at its key whose creator is proven gone and that
	 * nobody joined is a leftover; a sealed one is about to be removed.
	 */
	if (!d->persistent && !s->removed &&
	    shmq_load_acquire(&h->ep[1].owner) == 0 &&
	    (d->ep[0].state != SHMQ_PEER_ATTACHED || proven_dead(d->ep[0].pid_state)))
		d->stale = 1;
	return 0;
}

/*
 * Could a segment of @size bytes be a shmq segment?  A hub has one size; a
 * channel is the header and two rings, each a power of two in [4 KiB,
 * 1 GiB].  Other programs' segments rarely fit, so tools need not attach
 * them to find out.
 */
static int plausible_size(uint64_t size)
{
	uint64_t rings = size - SHMQ_HDR_SIZE, low = rings & -rings;

	if (size == SHMQ_HUB_SIZE)
		return 1;
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

SHMQ_API int shmq_describe(int shmid, struct shmq_desc *d)
{
	struct shmq_seg_info s;
	void *p;
	int r;

	memset(d, 0, sizeof(*d));
	r = shmq_seg_stat(shmid, &s);
	if (r)
		return r;
	/* Attach (which shows in its times and last pid) only what may be ours. */
	if (!plausible_size(s.size))
		return -EPROTO;
	r = shmq_seg_attach(shmid, SHMQ_SEG_RDONLY, &p);
	if (r)
		return r;
	r = shmq_describe_memory(p, &s, d);
	shmq_seg_detach(p);
	return r;
}
