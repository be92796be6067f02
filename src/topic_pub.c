/* SPDX-License-Identifier: MIT */
/*
 * A topic's publisher (topic_layout.h).  Writing message seq s overwrites
 * slot s % slots, which held seq s - slots; that is allowed once every
 * lossless subscriber has consumed it: each publishes `head`, the next seq
 * it reads, and the publisher may write any seq below the smallest head
 * plus the ring's slots.  It caches that limit and looks at the heads
 * again only when it reaches it, or when someone joined (`joins` moved):
 * lossy subscribers cost it nothing at all, lossless ones nothing until
 * the ring is full.
 *
 * Ordering, per message:
 *  - version = 2s + 1 (relaxed), a release fence, then the payload: a
 *    reader whose copy saw any new byte sees the odd version after its
 *    acquire fence, and drops the copy;
 *  - version = 2s + 2 (release) pairs with a reader's acquire load of it:
 *    length, check and payload are visible;
 *  - tail = s + 1 (release) pairs with the acquire loads of late joiners,
 *    of a restarted publisher, and of readers that found nothing;
 *  - then the eventcount's full barrier and one load of `waiting`: the
 *    Dekker pair with a subscriber that announces itself and looks again.
 * A subscriber's head (release) pairs with the publisher's acquire load
 * in its scan, after a full barrier that orders the scan after its own
 * last version store.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "atomics.h"
#include "topic.h"

struct shmq_pub {
	struct shmq_topic t;
	uint64_t next;		/* the position of the next message */
	uint64_t seq;		/* its sequence number */
	uint64_t begin;		/* the seq the stream begins at: position 0's */
	int began;		/* a message or a skip came: begin is fixed */
	uint64_t limit;		/* below it, no lossless subscriber is lapped */
	uint32_t joins_seen;
	int reserved;		/* a reservation is open */
	int64_t slow_ns;	/* evict lossless subscribers slower than this */
	int64_t blocked_since;	/* when the current wait for room began */
};

/*
 * Wake every subscriber that sleeps on `data`: the sleepers with one
 * futex wake, and each event loop that announced itself (shmq_sub_fd())
 * through the token in its attached table slot, taken so that it is
 * woken once per announcement.  A hostile subscriber can write other
 * slots' tokens: a stranger's socket woken for nothing, or a victim's
 * token erased (that victim's wake lost until the next one), as it could
 * already erase the victim's head or sleeper bit.
 */
static void wake_subscribers(struct shmq_topic *t)
{
	uint64_t n, i, tok;

	if (!(shmq_ec_wake(&t->ctl->data, t->waiter.wake, NULL) & SHMQ_EC_POLLER))
		return;
	n = shmq_load_acquire(&t->ctl->hwm);
	if (n > t->nsubs)
		n = t->nsubs;
	for (i = 0; i < n; i++) {
		uint64_t *at = &t->subs[i].poll_token;

		if (shmq_load_relaxed(at) &&
		    shmq_owner_state(shmq_load_relaxed(&t->subs[i].owner)) == SHMQ_EP_ATTACHED &&
		    (tok = shmq_exchange_acquire(at, 0)))
			shmq_poller_wake(tok);
	}
}

/* After a commit: wake the subscribers if any sleeps, else one load. */
static void notify_subscribers(struct shmq_topic *t)
{
	shmq_smp_mb();
	if (shmq_load_relaxed(&t->ctl->data.waiting))
		wake_subscribers(t);
}

/* The smallest head of the lossless subscribers; UINT64_MAX: none. */
static uint64_t min_head(struct shmq_pub *p)
{
	struct shmq_topic *t = &p->t;
	uint64_t n = shmq_load_acquire(&t->ctl->hwm), min = UINT64_MAX, i;

	if (n > t->nsubs)
		n = t->nsubs;
	for (i = 0; i < n; i++) {
		const struct shmq_topic_sub *s = &t->subs[i];
		uint64_t w = shmq_load_acquire(&s->owner), h;

		if (shmq_owner_state(w) != SHMQ_EP_ATTACHED ||
		    (shmq_load_relaxed(&s->flags) & SHMQ_TOPIC_LOSSY) ||
		    shmq_load_relaxed(&s->evicted) == w)
			continue;
		h = shmq_load_acquire(&s->head);
		if (h < min)
			min = h;
	}
	return min;
}

/* Look at every lossless subscriber again: is there room for p->next? */
static int rescan(struct shmq_pub *p)
{
	uint64_t min;

	/* Our last version store before their heads (and their joins). */
	shmq_smp_mb();
	p->joins_seen = shmq_load_acquire(&p->t.ctl->joins);
	min = min_head(p);
	p->limit = min > UINT64_MAX - p->t.nslots ? UINT64_MAX : min + p->t.nslots;
	return p->next < p->limit;
}

static int room_ready(void *ctx)
{
	struct shmq_pub *p = ctx;

	if (shmq_forked_since(p->t.gen))
		return -ECHILD;
	return rescan(p);
}

/*
 * The periodic look while waiting for room: a subscriber that holds us
 * and is proven dead lets go of its slot; one that is alive is evicted
 * once it has held us for slow_ns, if that is set.
 */
static void room_check(void *ctx)
{
	struct shmq_pub *p = ctx;
	struct shmq_topic *t = &p->t;
	uint64_t n = shmq_load_acquire(&t->ctl->hwm), i;
	int evict = p->slow_ns && shmq_now_ns() - p->blocked_since >= p->slow_ns;

	if (n > t->nsubs)
		n = t->nsubs;
	for (i = 0; i < n; i++) {
		struct shmq_topic_sub *s = &t->subs[i];
		uint64_t w = shmq_load_acquire(&s->owner);

		if (shmq_owner_state(w) != SHMQ_EP_ATTACHED ||
		    (shmq_load_relaxed(&s->flags) & SHMQ_TOPIC_LOSSY) ||
		    shmq_load_acquire(&s->head) + t->nslots > p->next)
			continue;
		if (shmq_holder_alive(w, shmq_load_acquire(&s->life)) == 0)
			shmq_cas(&s->owner, w, (w & ~(uint64_t)3) | SHMQ_EP_ABANDONED);
		else if (evict && shmq_load_relaxed(&s->evicted) != w) {
			shmq_store_release(&s->evicted, w);
			wake_subscribers(t);
		}
	}
}

/* Wait (until @deadline) for the slowest lossless subscriber: 0, -errno. */
static int make_room(struct shmq_pub *p, int64_t deadline)
{
	static const struct shmq_wait_ops ops = { room_ready, room_check, NULL };
	int r;

	if (rescan(p))
		return 0;
	if (deadline == 0)
		return -EAGAIN;
	p->blocked_since = shmq_now_ns();
	room_check(p);	/* the dead first: no need to wait 50 ms for them */
	r = shmq_wait(&p->t.ctl->space, &p->t.waiter, &ops, p, deadline);
	return r < 0 ? r : 0;
}

SHMQ_API int shmq_pub_reserve(shmq_pub_t *p, size_t len, void **buf, int64_t timeout_ns)
{
	struct shmq_topic_msg *m;
	int r;

	if (shmq_forked_since(p->t.gen))
		return -ECHILD;
	if (len > p->t.slot_size - SHMQ_TOPIC_MSG_HDR)
		return -EMSGSIZE;
	if (p->seq == UINT64_MAX)
		return -EOVERFLOW;	/* the one number that means "none" */
	if (p->next >= p->limit ||
	    shmq_load_relaxed(&p->t.ctl->joins) != p->joins_seen) {
		r = make_room(p, timeout_ns == 0 ? 0 : shmq_deadline(timeout_ns));
		if (r)
			return r == -ETIMEDOUT && timeout_ns == 0 ? -EAGAIN : r;
	}
	m = shmq_topic_slot(&p->t, p->next);
	shmq_store_relaxed(&m->ver, 2 * p->next + 1);
	/* The odd version before any byte of the new payload (see above). */
	shmq_fence_release();
	*buf = m + 1;
	p->reserved = 1;
	return 0;
}

SHMQ_API int shmq_pub_commit(shmq_pub_t *p, size_t len)
{
	struct shmq_topic *t = &p->t;
	struct shmq_topic_msg *m = shmq_topic_slot(t, p->next);

	if (!p->reserved)
		return -EINVAL;
	if (len > t->slot_size - SHMQ_TOPIC_MSG_HDR)
		return -EMSGSIZE;
	shmq_store_relaxed(&m->len, (uint32_t)len);
	shmq_store_relaxed(&m->seq, p->seq);
	shmq_store_relaxed(&m->check, shmq_topic_msg_check(p->next, p->seq, (uint32_t)len,
							   t->instance));
	if (p->next == 0)
		shmq_store_relaxed(&t->ctl->first_seq, p->began ? p->begin : p->seq);
	p->began = 1;
	shmq_store_release(&m->ver, 2 * p->next + 2);
	p->reserved = 0;
	p->next++;
	p->seq++;
	shmq_store_relaxed(&t->ctl->next_seq, p->seq);
	shmq_store_release(&t->ctl->tail, p->next);
	notify_subscribers(t);
	return 0;
}

SHMQ_API int shmq_pub_send_timed(shmq_pub_t *p, const void *buf, size_t len,
				 int64_t timeout_ns)
{
	void *room;
	int r = shmq_pub_reserve(p, len, &room, timeout_ns);

	if (r)
		return r;
	memcpy(room, buf, len);
	return shmq_pub_commit(p, len);
}

SHMQ_API int shmq_pub_send(shmq_pub_t *p, const void *buf, size_t len)
{
	return shmq_pub_send_timed(p, buf, len, -1);
}

SHMQ_API int shmq_pub_try_send(shmq_pub_t *p, const void *buf, size_t len)
{
	return shmq_pub_send_timed(p, buf, len, 0);
}

SHMQ_API uint64_t shmq_pub_next_seq(const shmq_pub_t *p)
{
	return p->seq;
}

SHMQ_API int shmq_pub_skip_to(shmq_pub_t *p, uint64_t seq)
{
	if (shmq_forked_since(p->t.gen))
		return -ECHILD;
	if (p->reserved)
		return -EBUSY;
	if (seq < p->seq || seq == UINT64_MAX)
		return -EINVAL;
	/* The first skip before anything was published says where the
	 * stream begins; every later one is a loss. */
	if (!p->began)
		p->begin = seq;
	p->began = 1;
	p->seq = seq;
	/* Before a close's end or the next tail: seen by whoever sees those. */
	shmq_store_release(&p->t.ctl->next_seq, seq);
	return 0;
}

SHMQ_API size_t shmq_pub_max_message(const shmq_pub_t *p)
{
	return p->t.slot_size - SHMQ_TOPIC_MSG_HDR;
}

SHMQ_API size_t shmq_pub_subscribers(const shmq_pub_t *p)
{
	uint64_t n = shmq_load_acquire(&p->t.ctl->hwm), i;
	size_t k = 0;

	for (i = 0; i < n && i < p->t.nsubs; i++)
		k += shmq_owner_state(shmq_load_acquire(&p->t.subs[i].owner)) ==
		     SHMQ_EP_ATTACHED;
	return k;
}

/*
 * Where a new publisher of a persistent topic goes on: after the last
 * message committed, and after its sequence number.  The tail is stored
 * after each commit, so a publisher killed between the two left one more
 * committed than it says; one killed while writing left an odd version,
 * which is rewritten.
 */
static void resume_at(struct shmq_pub *p)
{
	const struct shmq_topic *t = &p->t;
	uint64_t s = shmq_load_acquire(&t->ctl->tail), n, seq;

	for (n = 0; n < t->nslots; n++, s++)
		if (shmq_load_acquire(&shmq_topic_slot(t, s)->ver) != 2 * s + 2)
			break;
	p->next = s;
	p->began = s > 0;
	p->seq = shmq_load_acquire(&t->ctl->next_seq);
	if (s > 0) {
		seq = shmq_load_relaxed(&shmq_topic_slot(t, s - 1)->seq);
		if (seq != UINT64_MAX && seq + 1 > p->seq)
			p->seq = seq + 1;
	}
}

/* Take ep[0]: 0, or -EBUSY (a live publisher holds it), explained. */
static int claim_publisher(struct shmq_pub *p, const struct shmq_options *o)
{
	struct shmq_endpoint *ep = &p->t.hdr->ep[0];
	uint64_t w = shmq_load_acquire(&ep->owner);

	if (w != 0 && !shmq_topic_holder_gone(w, &ep->life)) {
		shmq_explain(o, "a live publisher (pid %u) already publishes on this "
			     "topic", (unsigned)shmq_owner_pid(w));
		return -EBUSY;
	}
	if (!shmq_claim(&ep->owner, &ep->life, w, p->t.me, p->t.life)) {
		shmq_explain(o, "another publisher took this topic just now");
		return -EBUSY;
	}
	shmq_store_release(&ep->netns, p->t.netns);
	resume_at(p);
	p->limit = 0;	/* look at the subscribers before the first message */
	return 0;
}

SHMQ_API int shmq_pub_open(const char *address, const struct shmq_options *o,
			   const struct shmq_topic_options *topic, shmq_pub_t **out)
{
	struct shmq_pub *p = calloc(1, sizeof(*p));
	int64_t deadline;
	int r;

	*out = NULL;
	if (!p)
		return -ENOMEM;
	/* The socket its wakes of event loops go out on, held now. */
	r = shmq_poller_prepare();
	if (r) {
		shmq_explain(o, "cannot hold a socket to wake subscribers with: %s",
			     strerror(-r));
		free(p);
		return r;
	}
	r = shmq_topic_attach(address, o, topic, &p->t, &deadline);
	if (r == 0)
		r = claim_publisher(p, o);
	if (r == 0)
		shmq_topic_prefault(&p->t, 1);
	if (r) {
		shmq_topic_detach(&p->t);
		free(p);
		return r;
	}
	p->slow_ns = topic && topic->slow_subscriber_ms > 0 ?
		topic->slow_subscriber_ms * 1000000 : 0;
	*out = p;
	return 0;
}

/*
 * Leave the topic: closed (the end is written first, so subscribers drain
 * then see -EPIPE) or abandoned (as a death: -ECONNRESET after the drain).
 * Either way the subscribers are woken and a topic that is not persistent
 * is removed, so nothing is left behind.
 */
static int leave(shmq_pub_t *p, unsigned state)
{
	struct shmq_topic *t;

	if (!p)
		return 0;
	t = &p->t;
	if (!shmq_opened_elsewhere(t->gen, t->me)) {
		if (state == SHMQ_EP_CLOSED) {
			shmq_store_relaxed(&t->ctl->end_check,
					   shmq_topic_end_check(p->next, t->instance));
			shmq_store_release(&t->ctl->end_seq, p->next);
		}
		shmq_cas(&t->hdr->ep[0].owner, t->me, (t->me & ~(uint64_t)3) | state);
		wake_subscribers(t);
		if (!t->persistent)
			shmq_seg_remove(t->shmid);
	}
	shmq_topic_detach(t);
	free(p);
	return 0;
}

SHMQ_API int shmq_pub_close(shmq_pub_t *p)
{
	return leave(p, SHMQ_EP_CLOSED);
}

SHMQ_API int shmq_pub_abandon(shmq_pub_t *p)
{
	return leave(p, SHMQ_EP_ABANDONED);
}
