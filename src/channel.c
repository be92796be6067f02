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
 * may use one channel at once, so each direction watches the peer on its
 * own (its own pidfd): neither ever closes a descriptor the other polls.
 */
struct shmq_side {
	struct shmq *q;
	struct shmq_peer peer;
	int64_t looked_ns;	/* when a call that does not wait last looked */
};

enum { SEND = 0, RECV = 1 };

struct shmq {
	struct shmq_hdr *hdr;	/* the mapping */
	int shmid;
	key_t key;
	int slot;		/* our endpoint: 0 or 1 */
	int persistent;
	uint64_t me;		/* our owner word (state ATTACHED) */
	uint64_t cap[2];	/* private copies of the geometry */
	struct shmq_ring tx;	/* ring[slot]: we produce */
	struct shmq_ring rx;	/* ring[1 - slot]: we consume */
	struct shmq_side side[2];	/* SEND, RECV */
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

static int poison(struct shmq *q)
{
	__atomic_store_n(&q->poisoned, -EBADMSG, __ATOMIC_RELAXED);
	return -EBADMSG;
}

static int poisoned(struct shmq *q)
{
	return __atomic_load_n(&q->poisoned, __ATOMIC_RELAXED);
}

/* After a commit or a close: wake the reader, and a hub's server. */
static void notify_data(struct shmq *q)
{
	shmq_ec_notify(&q->tx.ctl->data);
	if (q->door)
		shmq_ec_notify(q->door);
}

/* Start watching a new holder of the peer's slot, in both directions. */
static void watch_peer(struct shmq *q, uint64_t w)
{
	int d;

	for (d = 0; d < 2; d++) {
		if (shmq_owner_state(w) == SHMQ_EP_ATTACHED)
			shmq_peer_watch(&q->side[d].peer, w);
		else
			q->side[d].peer.owner = w;
	}
}

static uint64_t peer_word(const struct shmq *q)
{
	return shmq_load_acquire(&q->hdr->ep[1 - q->slot].owner);
}

/*
 * Has the peer gone, as far as shared memory and the last liveness check
 * say?  0: present (or, on a persistent channel, absent but may come),
 * -EPIPE closed, -ECONNABORTED abandoned, -ECONNRESET dead, -EBADMSG the
 * word holds what no peer writes.  One load when nothing changed.
 */
static int peer_gone(struct shmq_side *sd)
{
	struct shmq *q = sd->q;
	struct shmq_peer *peer = &sd->peer;
	uint64_t w = peer_word(q);

	/* A pair's peer only ever closes or abandons its own slot. */
	if (w != peer->owner && !q->persistent &&
	    (!shmq_owner_same(w, peer->owner) || w == SHMQ_OWNER_SEALED))
		return poison(q);
	switch (shmq_owner_state(w)) {
	case SHMQ_EP_CLOSED:
		return -EPIPE;
	case SHMQ_EP_ABANDONED:
		return -ECONNABORTED;
	case SHMQ_EP_ATTACHED:
		/* A new holder (persistent) is watched by the next check. */
		return w == peer->owner && peer->dead ? -ECONNRESET : 0;
	default:
		return 0;	/* free: a persistent channel's peer may come */
	}
}

/* The periodic check of a wait: follow the slot, poll the process. */
static void check_peer(void *arg)
{
	struct shmq_side *sd = arg;
	struct shmq_peer *peer = &sd->peer;
	uint64_t w = peer_word(sd->q);

	if (sd->q->borrowed)
		return;	/* no process behind the fuzzer's bytes */
	if (w != peer->owner && shmq_owner_state(w) == SHMQ_EP_ATTACHED &&
	    w != SHMQ_OWNER_SEALED &&
	    (sd->q->persistent || shmq_owner_same(w, peer->owner)))
		shmq_peer_watch(peer, w);
	if (shmq_owner_state(peer->owner) == SHMQ_EP_ATTACHED &&
	    shmq_owner_pid(peer->owner))
		shmq_peer_alive(peer);
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

static void look_at_peer(struct shmq_side *sd)
{
	int64_t now = shmq_now_ns();

	if (now - sd->looked_ns < LOOK_INTERVAL_NS)
		return;
	sd->looked_ns = now;
	check_peer(sd);
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
	/* The producer's end-of-stream flag, or its endpoint's state. */
	r = shmq_load_acquire(&q->rx.ctl->eof) ? -EPIPE : peer_gone(sd);
	if (r == 0)
		return 0;
	/*
	 * The peer is gone: its last records were committed before it closed
	 * (the acquire load in peer_gone() saw that) or before it died, so
	 * one more look drains them before we report it.
	 */
	if (shmq_ring_peek(&q->rx, &q->pk_buf, &q->pk_len) == 0)
		return 1;
	return r;
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
	return peer_gone(sd);
}

/* ------------------------------------------------------------------ */
/* Send side                                                           */
/* ------------------------------------------------------------------ */

static int reserve(struct shmq *q, size_t len, void **buf, int64_t timeout_ns)
{
	struct shmq_side *sd = &q->side[SEND];
	struct shmq_wait_ops ops = { ready_send, check_peer, sd, poll_send };
	int r;

	if ((r = poisoned(q)))
		return r;
	if (q->shut)
		return -ESHUTDOWN;
	/* A pair's peer that left will never read what we would send. */
	if (!q->persistent && (r = peer_gone(sd)) < 0)
		return r;
	r = shmq_ring_reserve(&q->tx, len, buf);
	if (r != -EAGAIN)
		return r == -EBADMSG ? poison(q) : r;
	if (timeout_ns == 0) {
		look_at_peer(sd);
		r = peer_gone(sd);
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
	return shmq_ring_trim(&q->tx, len);
}

SHMQ_API int shmq_commit(shmq_t *q)
{
	int n;

	if ((n = poisoned(q)))
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
	int r = poisoned(q);

	if (r)
		return r;
	/* Uncommitted reservations are never delivered. */
	shmq_ring_discard(&q->tx);
	q->shut = 1;
	/*
	 * Release orders every commit before the flag; the barrier in
	 * notify orders the flag before the check for a sleeping reader.
	 */
	shmq_store_release(&q->tx.ctl->eof, 1);
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

	if ((r = poisoned(q)))
		return r;
	r = shmq_ring_peek(&q->rx, &q->pk_buf, &q->pk_len);
	if (r != -EAGAIN)
		return r ? poison(q) : 0;
	/* Nothing to read: give back the space before waiting, or returning. */
	publish(q);
	if (timeout_ns == 0) {
		look_at_peer(sd);
		r = ready_recv(sd);
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

	if ((n = poisoned(q)))
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

	if (shmq_ring_attach(&q->tx, &q->hdr->ring[s], data[s], q->cap[s]) ||
	    shmq_ring_attach(&q->rx, &q->hdr->ring[1 - s], data[1 - s], q->cap[1 - s]))
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

static int create_channel(struct shmq *q, const struct shmq_addr *a,
			  const struct shmq_options *o, unsigned mode)
{
	uint64_t c0 = shmq_round_capacity(o ? o->send_capacity : 0);
	uint64_t c1 = shmq_round_capacity(o ? o->recv_capacity : 0);
	unsigned flags = SHMQ_SEG_EXCL;
	struct shmq_hdr *h;
	void *p;
	int r, id;

	if (o && (o->flags & SHMQ_HUGEPAGES))
		flags |= SHMQ_SEG_HUGETLB;
	r = shmq_seg_create(a, SHMQ_HDR_SIZE + c0 + c1, mode, flags, &id);
	if (r) {
		if (r == -EINVAL)
			shmq_explain(o, "the kernel refused a segment of %llu bytes "
				"(see /proc/sys/kernel/shmmax)",
				(unsigned long long)(SHMQ_HDR_SIZE + c0 + c1));
		return r;
	}
	r = shmq_seg_attach(id, 0, &p);
	if (r) {
		shmq_seg_remove(id);
		return r;
	}
	h = p;
	/* A fresh segment is zeroed: state is INIT until the end. */
	shmq_hdr_init(h, a, mode, SHMQ_KIND_CHANNEL,
		      (o && (o->flags & SHMQ_PERSISTENT)) ? SHMQ_HDR_PERSISTENT : 0,
		      c0, c1, SHMQ_HDR_SIZE + c0 + c1);
	/* Formatting the rings writes every page: the segment is prefaulted. */
	shmq_ring_format(&h->ring[0], (unsigned char *)p + SHMQ_HDR_SIZE, c0, 0);
	shmq_ring_format(&h->ring[1], (unsigned char *)p + SHMQ_HDR_SIZE + c0, c1, 0);
	/*
	 * A pair's creator is endpoint 0.  A persistent channel's creator
	 * takes the endpoint it asked for: its side must not depend on who
	 * happened to arrive first.
	 */
	q->slot = (h->flags & SHMQ_HDR_PERSISTENT) && o && (o->flags & SHMQ_ENDPOINT1) ? 1 : 0;
	h->ep[q->slot].owner = q->me;
	/*
	 * Last, with release: an opener that reads READY with acquire sees
	 * every field above.
	 */
	shmq_store_release(&h->state, SHMQ_STATE_READY);

	q->hdr = h;
	q->shmid = id;
	q->key = a->key;
	q->persistent = !!(h->flags & SHMQ_HDR_PERSISTENT);
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

/*
 * The creator of a pair waits for endpoint 1.  0 joined; -ETIMEDOUT or
 * -EINTR after sealing the slot so nobody can join any more (the caller
 * then removes the segment).  A joiner and a sealer race on one
 * compare-and-swap of endpoint 1's word, so exactly one of them wins.
 */
static int wait_for_joiner(struct shmq *q, const struct shmq_options *o,
			   int64_t deadline)
{
	struct shmq_hdr *h = q->hdr;
	int interruptible = o && (o->flags & SHMQ_INTERRUPTIBLE);

	for (;;) {
		uint32_t key = shmq_load_acquire(&h->join_seq);
		uint64_t w = shmq_load_acquire(&h->ep[1].owner);
		int64_t now = shmq_now_ns();
		int r = 0;

		if (w && w != SHMQ_OWNER_SEALED)
			break;
		if (now >= deadline)
			r = -ETIMEDOUT;
		else if (shmq_stopped(&q->waiter))
			r = -EINTR;
		else if (shmq_futex_wait(&h->join_seq, key,
					 deadline < now + SHMQ_CHECK_INTERVAL_NS ?
					 deadline : now + SHMQ_CHECK_INTERVAL_NS) == -EINTR &&
			 interruptible)
			r = -EINTR;
		if (r) {
			uint64_t expect = 0;

			if (__atomic_compare_exchange_n(&h->ep[1].owner, &expect,
							SHMQ_OWNER_SEALED, 0,
							__ATOMIC_SEQ_CST,
							__ATOMIC_SEQ_CST)) {
				shmq_explain(o, r == -EINTR ? "interrupted while waiting for "
					"the peer" : "no peer arrived in time");
				return r;
			}
			/* Someone joined just now: that wins over giving up. */
		}
	}
	/* The joiner marks the segment removed; do it too in case it died. */
	shmq_seg_remove(q->shmid);
	watch_peer(q, shmq_load_acquire(&h->ep[1].owner));
	return 0;
}

/*
 * Is this (private copy of a) header one we can use: ours, this version,
 * intact, of @kind, a possible geometry within @segsz bytes, and made for
 * address @a (NULL: any)?  0 or -errno, explained.
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
	if (copy->kind != kind) {
		shmq_explain(o, "segment id %d is a shmq %s, not a %s", shmid,
			     shmq_kind_name(copy->kind), shmq_kind_name(kind));
		return -EPROTOTYPE;
	}
	if (copy->hdr_size != SHMQ_HDR_SIZE ||
	    shmq_round_capacity(copy->cap[0]) != copy->cap[0] ||
	    shmq_round_capacity(copy->cap[1]) != copy->cap[1] ||
	    copy->total_size != shmq_hdr_total(copy) ||
	    copy->total_size > segsz) {
		shmq_explain(o, "segment id %d: impossible geometry", shmid);
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
	if (!shmq_trusted(s, mode, o))
		return -EACCES;
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

enum { JOIN_SETTING_UP = 1, JOIN_AGAIN_NOW = 2, JOIN_HUB = 3 };

/* Setting up takes microseconds: a segment still at it after this is not. */
#define SETUP_LIMIT_NS (2 * 1000000000LL)

/*
 * Join the existing segment @shmid.  0 joined; JOIN_SETTING_UP: its live
 * creator has not finished writing it, look again in a moment;
 * JOIN_AGAIN_NOW: start over at once (it was removed, or finished with);
 * JOIN_HUB: it is a hub, which the caller connects to as a client;
 * or -errno.
 */
static int join_channel(struct shmq *q, const struct shmq_addr *a, int shmid,
			const struct shmq_options *o, unsigned mode)
{
	struct shmq_seg_info s;
	struct shmq_hdr *h, copy;
	void *p;
	int r, slot;

	r = shmq_attach_vetted(shmid, mode, o, SHMQ_HDR_SIZE, "channel", &s, &p);
	if (r)
		return r == -EAGAIN ? JOIN_AGAIN_NOW : r;
	h = p;
	if (shmq_load_acquire(&h->state) != SHMQ_STATE_READY) {
		uint64_t magic = shmq_load_relaxed(&h->magic);
		int creator = shmq_pid_state(s.cpid, s.ctime);

		if (magic != SHMQ_MAGIC && magic != 0) {
			shmq_seg_detach(p);
			shmq_explain(o, "segment id %d is not a shmq channel", shmid);
			return -EPROTO;
		}
		shmq_seg_detach(p);
		if (creator == SHMQ_PID_ALIVE || creator == SHMQ_PID_STOPPED)
			return JOIN_SETTING_UP;
		/*
		 * Its creator died before finishing.  Remove it only if it is
		 * recognisably ours: our magic, or all zeroes at a name's key.
		 */
		if (magic == SHMQ_MAGIC || a->kind == SHMQ_ADDR_NAME) {
			shmq_seg_remove(shmid);
			return JOIN_AGAIN_NOW;
		}
		shmq_explain(o, "segment id %d is not a shmq channel", shmid);
		return -EPROTO;
	}

	/* Copy the header once; check the copy, never the live bytes. */
	memcpy(&copy, h, offsetof(struct shmq_hdr, state));
	/* A hub's clients get a channel of their own: see hub.c. */
	if (copy.magic == SHMQ_MAGIC && copy.kind == SHMQ_KIND_HUB) {
		shmq_seg_detach(p);
		return JOIN_HUB;
	}
	r = shmq_check_header(&copy, s.size, a, shmid, o, SHMQ_KIND_CHANNEL);
	if (r) {
		shmq_seg_detach(p);
		return r;
	}
	q->hdr = h;
	q->shmid = shmid;
	q->key = s.key;
	q->cap[0] = copy.cap[0];
	q->cap[1] = copy.cap[1];
	q->persistent = !!(copy.flags & SHMQ_HDR_PERSISTENT);
	q->instance = copy.instance;

	if (!q->persistent) {
		uint64_t w0 = shmq_load_acquire(&h->ep[0].owner);
		uint64_t w1 = shmq_load_acquire(&h->ep[1].owner);
		uint64_t expect = 0;

		if (w1 != 0) {
			/*
			 * Sealed (its creator gave up) or joined: either way this
			 * segment is finished with its address, and one of its
			 * ends is about to mark it removed.  Do it for them, so
			 * an end that stops (or dies) just then cannot hold the
			 * address: the pair itself carries on regardless.
			 */
			shmq_seg_detach(p);
			q->hdr = NULL;
			shmq_seg_remove(shmid);
			return JOIN_AGAIN_NOW;
		}
		if (shmq_owner_state(w0) != SHMQ_EP_ATTACHED || !shmq_owner_alive(w0)) {
			/* The creator died (or left) before anyone joined. */
			shmq_seg_detach(p);
			q->hdr = NULL;
			shmq_seg_remove(shmid);
			return JOIN_AGAIN_NOW;
		}
		if (!__atomic_compare_exchange_n(&h->ep[1].owner, &expect, q->me, 0,
						 __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
			/* Someone joined (or the creator sealed) first. */
			shmq_seg_detach(p);
			q->hdr = NULL;
			return JOIN_AGAIN_NOW;
		}
		/* The pair is formed: the address is free again from now on. */
		shmq_seg_remove(shmid);
		__atomic_fetch_add(&h->join_seq, 1, __ATOMIC_RELEASE);
		shmq_futex_wake(&h->join_seq, 1);
		q->slot = 1;
		watch_peer(q, w0);
	} else {
		/*
		 * Persistent: a free, closed or dead holder's slot is ours.
		 * The slot fixes the direction, so a returning end should get
		 * its own side back: the caller may name it; otherwise prefer
		 * the slot with messages waiting for it, then one never used.
		 */
		int order[2] = { 0, 1 }, score[2] = { -1, -1 };

		for (slot = 0; slot < 2; slot++) {
			uint64_t w = shmq_load_acquire(&h->ep[slot].owner);

			if (o && (o->flags & (SHMQ_ENDPOINT0 | SHMQ_ENDPOINT1)) &&
			    !(o->flags & (slot ? SHMQ_ENDPOINT1 : SHMQ_ENDPOINT0)))
				continue;
			if (w == SHMQ_OWNER_SEALED ||
			    (shmq_owner_state(w) == SHMQ_EP_ATTACHED && shmq_owner_alive(w)))
				continue;
			score[slot] = (w == 0) +
				2 * (shmq_ring_queued(&h->ring[1 - slot]) != 0);
		}
		if (score[1] > score[0]) {
			order[0] = 1;
			order[1] = 0;
		}
		for (r = 0; r < 2; r++) {
			uint64_t w = shmq_load_acquire(&h->ep[order[r]].owner);

			slot = order[r];
			if (score[slot] >= 0 &&
			    __atomic_compare_exchange_n(&h->ep[slot].owner, &w, q->me,
							0, __ATOMIC_SEQ_CST,
							__ATOMIC_SEQ_CST))
				break;
		}
		if (r == 2) {
			shmq_seg_detach(p);
			q->hdr = NULL;
			shmq_explain(o, "%s of persistent channel id %d %s held by live "
				"processes", o && (o->flags & (SHMQ_ENDPOINT0 |
				SHMQ_ENDPOINT1)) ? "the endpoint asked for" :
				"both endpoints", shmid, o && (o->flags &
				(SHMQ_ENDPOINT0 | SHMQ_ENDPOINT1)) ? "is" : "are");
			return -EBUSY;
		}
		q->slot = slot;
		watch_peer(q, shmq_load_acquire(&h->ep[1 - slot].owner));
	}
	r = setup_rings(q);
	if (r) {
		shmq_explain(o, "segment id %d: ring positions are corrupted", shmid);
		return r;	/* the caller closes */
	}
	prefault((unsigned char *)p + SHMQ_HDR_SIZE, q->cap[0] + q->cap[1]);
	return 0;
}

static void free_channel(struct shmq *q)
{
	if (q->hub_map)
		shmq_seg_detach(q->hub_map);
	shmq_peer_forget(&q->side[SEND].peer);
	shmq_peer_forget(&q->side[RECV].peer);
	free(q);
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
	int r, d;

	*out = NULL;
	if (size < SHMQ_HDR_SIZE || slot < 0 || slot > 1)
		return -EPROTO;
	if (shmq_load_acquire(&h->state) != SHMQ_STATE_READY)
		return -EAGAIN;
	memcpy(&copy, h, offsetof(struct shmq_hdr, state));
	r = shmq_check_header(&copy, size, NULL, -1, NULL, SHMQ_KIND_CHANNEL);
	if (r)
		return r;
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	for (d = 0; d < 2; d++) {
		q->side[d].q = q;
		shmq_peer_init(&q->side[d].peer);
		q->side[d].peer.owner = shmq_load_acquire(&h->ep[1 - slot].owner);
	}
	q->hdr = h;
	q->shmid = -1;
	q->slot = slot;
	q->borrowed = 1;
	q->cap[0] = copy.cap[0];
	q->cap[1] = copy.cap[1];
	q->persistent = !!(copy.flags & SHMQ_HDR_PERSISTENT);
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

/* A channel not yet attached to anything, with @o's settings. */
static struct shmq *new_channel(const struct shmq_options *o)
{
	struct shmq *q = calloc(1, sizeof(*q));

	if (!q)
		return NULL;
	q->side[SEND].q = q->side[RECV].q = q;
	shmq_peer_init(&q->side[SEND].peer);
	shmq_peer_init(&q->side[RECV].peer);
	q->me = shmq_owner((uint32_t)getpid(), shmq_self_start(), SHMQ_EP_ATTACHED);
	q->waiter.policy = o ? o->wait : SHMQ_WAIT_HYBRID;
	q->waiter.spin_ns = o && o->spin_ns ? o->spin_ns : SHMQ_DEFAULT_SPIN_NS;
	q->waiter.interruptible = o && (o->flags & SHMQ_INTERRUPTIBLE);
	q->waiter.stop = o ? o->stop : NULL;
	return q;
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

	if (r) {
		shmq_explain(o, "invalid address '%s': %s (expected %s)",
			     address ? address : "", r == -EINVAL ? a->why :
			     shmq_strerror(r), shmq_addr_forms());
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
			r = create_channel(q, &a, o, mode);
			if (r == -EEXIST)
				continue;	/* lost a race to create: join */
			if (r)
				break;
			if (q->persistent)
				break;
			r = wait_for_joiner(q, o, deadline);
			if (r)
				unmake(q);
			break;
		}
		if (r) {
			if (r == -ENOENT)
				shmq_explain(o, "no segment with id %d", a.shmid);
			break;
		}
		r = join_channel(q, &a, shmid, o, mode);
		if (r == JOIN_SETTING_UP) {
			int64_t now = shmq_now_ns();

			if (shmid != setup_id) {
				setup_id = shmid;
				setup_since = now;
			} else if (now - setup_since > SETUP_LIMIT_NS) {
				shmq_explain(o, "segment id %d has not finished setting up in "
					"%lld s though its creator is alive: it is not a "
					"shmq channel", shmid, SETUP_LIMIT_NS / 1000000000);
				r = -EPROTO;
				break;
			}
			shmq_sleep_ns(RETRY_SLEEP_NS);
			continue;
		}
		if (r == JOIN_AGAIN_NOW)
			continue;
		if (r == JOIN_HUB) {
			free_channel(q);
			return shmq_hub_connect(&a, o, mode, deadline, out);
		}
		if (r && q->hdr) {
			shmq_seg_detach(q->hdr);
			q->hdr = NULL;
		}
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
 * waited for (the hub looks with shmq_chan_joined()).
 */
int shmq_chan_offer(const struct shmq_options *o, unsigned mode, shmq_t **out)
{
	struct shmq_addr a = { .kind = SHMQ_ADDR_KEY, .key = IPC_PRIVATE, .shmid = -1 };
	struct shmq *q = new_channel(o);
	int r;

	if (!q)
		return -ENOMEM;
	r = create_channel(q, &a, o, mode);
	if (r) {
		free_channel(q);
		return r;
	}
	*out = q;
	return 0;
}

/* Has the client joined an offered channel?  Then watch it: 1, else 0. */
int shmq_chan_joined(shmq_t *q)
{
	uint64_t w = shmq_load_acquire(&q->hdr->ep[1].owner);

	if (w == 0 || w == SHMQ_OWNER_SEALED)
		return 0;
	/* The joiner marked it removed; again, in case it died first. */
	shmq_seg_remove(q->shmid);
	watch_peer(q, w);
	return 1;
}

/*
 * Take an offer back: seal endpoint 1 (the same race as a creator that
 * gives up waiting), remove the segment and free @q: 0.  1 if the client
 * joined just before: @q is a live channel after all.
 */
int shmq_chan_withdraw(shmq_t *q)
{
	uint64_t expect = 0;

	if (!__atomic_compare_exchange_n(&q->hdr->ep[1].owner, &expect,
					 SHMQ_OWNER_SEALED, 0, __ATOMIC_SEQ_CST,
					 __ATOMIC_SEQ_CST) && shmq_chan_joined(q))
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
	int r;

	if (!q)
		return -ENOMEM;
	r = join_channel(q, &a, shmid, o, mode);
	if (r == 0 && (q->persistent || q->slot != 1)) {
		shmq_explain(o, "the hub offered segment id %d, which is not a "
			     "new pair", shmid);
		r = -EPROTO;
	} else if (r > 0) {
		shmq_explain(o, "the hub took back its offer (segment id %d)", shmid);
		r = -ECONNREFUSED;
	}
	if (r) {
		if (q->hdr)
			shmq_seg_detach(q->hdr);
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
	if (shmq_chan_poll(q) || shmq_load_acquire(&q->rx.ctl->eof))
		return 1;
	return peer_gone(&q->side[RECV]) != 0;
}

/* Look at the client's process (a pidfd poll), for ready() to report. */
void shmq_chan_check(shmq_t *q)
{
	check_peer(&q->side[RECV]);
}

/* ------------------------------------------------------------------ */
/* Closing                                                             */
/* ------------------------------------------------------------------ */

static int leave(struct shmq *q, unsigned how)
{
	uint64_t gone = (q->me & ~(uint64_t)3) | how;
	uint64_t expect = q->me;

	/* What was reserved and not committed is never delivered. */
	shmq_ring_discard(&q->tx);
	publish(q);
	/*
	 * Our word goes from "attached" to "closed"/"abandoned" only if it
	 * is still ours (a persistent slot may have been taken over if we
	 * were thought dead).  Sequentially consistent, so that the wakes
	 * below cannot pass it: a peer that sleeps after checking our word
	 * is woken, one that checks after sees it.
	 */
	__atomic_compare_exchange_n(&q->hdr->ep[q->slot].owner, &expect, gone, 0,
				    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
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
		i->peer_pid = (pid_t)shmq_owner_pid(w);
		i->peer_state = peer_state_of(w, !shmq_owner_alive(w));
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

/* Decode a mapped segment of @segsz bytes; see shmq_describe(). */
int shmq_describe_memory(const void *mem, uint64_t segsz, int removed,
			 struct shmq_desc *d)
{
	const struct shmq_hdr *h = mem;
	struct shmq_hdr copy;
	int i;

	memset(d, 0, sizeof(*d));
	if (segsz < SHMQ_HDR_SIZE)
		return -EPROTO;
	memcpy(&copy, h, offsetof(struct shmq_hdr, state));
	d->ready = shmq_load_acquire(&h->state) == SHMQ_STATE_READY;
	/* Zeroes at INIT may be a creator that has not begun writing. */
	if (copy.magic != SHMQ_MAGIC)
		return -EPROTO;
	d->kind = copy.kind;
	d->major = copy.major;
	d->minor = copy.minor;
	d->creator_uid = copy.creator_uid;
	d->creator_pid = copy.creator_pid;
	d->created = copy.created_ns / 1000000000;
	d->creator_state = shmq_owner_alive(shmq_owner((uint32_t)copy.creator_pid,
						       copy.creator_start, 1)) ?
		shmq_pid_state(copy.creator_pid, 0) : SHMQ_PID_DEAD;
	if (!d->ready) {
		d->stale = d->creator_state == SHMQ_PID_DEAD;
		return 0;
	}
	if (copy.major != SHMQ_LAYOUT_MAJOR)
		return -EPROTONOSUPPORT;
	if (copy.check != shmq_hdr_checksum(&copy) ||
	    copy.total_size != shmq_hdr_total(&copy) || copy.total_size > segsz)
		return -EBADMSG;
	d->persistent = !!(copy.flags & SHMQ_HDR_PERSISTENT);
	d->addr_kind = (int)copy.addr_kind;
	memcpy(d->name, copy.name, sizeof(d->name));
	d->name[sizeof(d->name) - 1] = '\0';
	d->dev = copy.dev;
	d->ino = copy.ino;
	d->proj = (int)copy.proj;
	d->mode = copy.mode;
	for (i = 0; i < 2; i++) {
		uint64_t w = shmq_load_acquire(&h->ep[i].owner);
		uint64_t queued = shmq_ring_queued(&h->ring[i]);

		d->capacity[i] = copy.cap[i];
		d->queued[i] = queued <= copy.cap[i] ? queued : copy.cap[i];
		if (w == SHMQ_OWNER_SEALED)
			continue;
		d->ep[i].state = peer_state_of(w, 0);
		d->ep[i].pid = (pid_t)shmq_owner_pid(w);
		if (d->ep[i].state == SHMQ_PEER_ATTACHED)
			d->ep[i].pid_state = shmq_owner_alive(w) ?
				shmq_pid_state(d->ep[i].pid, 0) : SHMQ_PID_DEAD;
	}
	/*
	 * A pair still at its key whose creator is gone and that nobody
	 * joined is a leftover; a sealed one is about to be removed.
	 */
	if (!d->persistent && !removed &&
	    shmq_load_acquire(&h->ep[1].owner) == 0 &&
	    !(d->ep[0].state == SHMQ_PEER_ATTACHED && d->ep[0].pid_state != SHMQ_PID_DEAD))
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
	r = shmq_describe_memory(p, s.size, s.removed, d);
	shmq_seg_detach(p);
	return r;
}
