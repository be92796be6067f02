/* SPDX-License-Identifier: MIT */
/*
 * A topic's subscriber (topic_layout.h).  It holds a slot of the
 * subscriber table, where it publishes `head`, the next position it reads,
 * and reads message p from ring slot p % slots: a version of 2p + 2 is
 * its message, less is "not yet", more is "overwritten".  A copy is
 * checked against the version again after an acquire fence, so a message
 * overwritten while it was copied is never returned.
 *
 * Lossless, it publishes its head every eighth of the ring and before it
 * sleeps, and wakes the publisher if that one waits for room; the
 * publisher never laps it.  Lossy, it is never waited for: lapped, it goes
 * on from the oldest message still held.
 *
 * What it lost is told by the sequence numbers: each message it receives
 * (or finds torn) adds the gap between its seq and the one expected, the
 * seq after the last.  That counts laps and the publisher's skips alike.
 * Where it starts, the expected seq is the publisher's next (from the
 * next message), the stream's first (a topic that had none yet), the one
 * asked for (from a seq), or unknown (from the oldest): then a lap before
 * the first message counts the positions it jumped.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "atomics.h"
#include "topic.h"

struct shmq_sub {
	struct shmq_topic t;
	struct shmq_topic_sub *slot;
	uint64_t next;		/* the position it reads next */
	uint64_t last;		/* the last seq received; UINT64_MAX: none */
	uint64_t expect;	/* the seq expected next (EXPECT_KNOWN) */
	uint64_t min_seq;	/* until the first message: skip those below */
	int expecting;		/* enum expecting */
	uint64_t lost;
	uint64_t published;	/* the head it last published */
	uint64_t batch;		/* publish the head every this many */
	int lossy;
	int from;		/* enum shmq_topic_from: how it started */
	int started;		/* it has received a message */
	int peeked;		/* a peek is out, of version peek_ver */
	uint64_t peek_ver;
	uint64_t peek_seq;
	int err;		/* for good: -EOVERFLOW, -EBADMSG */
	struct shmq_peer pub;	/* the publisher's process */
	struct shmq_poller *poller;	/* shmq_sub_fd()'s, once asked for */
	uint64_t followed;	/* the publisher whose pidfd the poller holds */
};

enum expecting {
	EXPECT_NOTHING = 0,	/* the first message it gets starts it */
	EXPECT_KNOWN = 1,	/* s->expect */
	EXPECT_FIRST = 2,	/* the topic's first_seq, once one was published */
};

static void rearm(struct shmq_sub *s);

static void publish_head(struct shmq_sub *s)
{
	struct shmq_topic *t = &s->t;

	s->published = s->next;
	if (s->expecting == EXPECT_KNOWN)
		shmq_store_relaxed(&s->slot->next_seq, s->expect);
	shmq_store_release(&s->slot->head, s->next);
	if (!s->lossy)
		shmq_ec_notify(&t->ctl->space, t->waiter.wake, NULL);
}

/* What the slot of s->next holds: 1 its message, 0 not yet, 2 overwritten. */
static int look(const struct shmq_sub *s, uint64_t *ver)
{
	uint64_t want = 2 * s->next + 2;

	*ver = shmq_load_acquire(&shmq_topic_slot(&s->t, s->next)->ver);
	if (*ver == want)
		return 1;
	return *ver > want ? 2 : 0;
}

/* Count @n more lost, where the tools see it too. */
static void add_lost(struct shmq_sub *s, uint64_t n)
{
	s->lost += n;
	shmq_store_relaxed(&s->slot->lost, s->lost);
}

/*
 * Message @seq was reached (received, or found torn): count the gap
 * before it as lost, and expect the one after.
 */
static void account(struct shmq_sub *s, uint64_t seq)
{
	if (s->expecting == EXPECT_FIRST)
		s->expect = shmq_load_acquire(&s->t.ctl->first_seq);
	if (s->expecting != EXPECT_NOTHING && seq > s->expect)
		add_lost(s, seq - s->expect);
	s->expecting = EXPECT_KNOWN;
	s->expect = seq + 1;
	s->min_seq = 0;
}

/*
 * s->next was overwritten before it was read.  Lossy: go on from the
 * oldest message held; the next one received counts the loss (or here,
 * by positions, when nothing says which seq was expected).  Lossless:
 * only an eviction, or a start the publisher overtook before it saw us
 * join, explains it.
 */
static int lapped(struct shmq_sub *s)
{
	struct shmq_topic *t = &s->t;
	uint64_t oldest = shmq_topic_oldest(t, shmq_load_acquire(&t->ctl->tail));
	int tries = 0;

	/*
	 * A newer version than ours with a tail that says nothing was
	 * overwritten: the publisher is between a commit and its tail.  Only
	 * for a moment: a tail that never says so is corruption.
	 */
	while (oldest <= s->next && ++tries < 1000) {
		shmq_cpu_relax();
		oldest = shmq_topic_oldest(t, shmq_load_acquire(&t->ctl->tail));
	}
	if (oldest <= s->next)
		return s->err = -EBADMSG;
	if (!s->lossy && shmq_load_acquire(&s->slot->evicted) == t->me)
		return s->err = -EOVERFLOW;
	if (!s->lossy && s->started)
		return s->err = -EBADMSG;
	if (!s->lossy && s->from == SHMQ_FROM_SEQ)
		return s->err = -ERANGE;
	if (!s->lossy)
		s->expecting = EXPECT_NOTHING;	/* it starts later, not lossy */
	else if (s->expecting == EXPECT_NOTHING)
		add_lost(s, oldest - s->next);
	s->next = oldest;
	publish_head(s);
	return 0;
}

/* At the end: numbers skipped after the last message are lost too. */
static void trailing(struct shmq_sub *s)
{
	uint64_t end = shmq_load_acquire(&s->t.ctl->next_seq);

	if (s->expecting == EXPECT_KNOWN && end > s->expect) {
		add_lost(s, end - s->expect);
		s->expect = end;
	}
}

/* Has the stream ended for us, now that nothing is there to read? */
static int ended(struct shmq_sub *s)
{
	struct shmq_topic *t = &s->t;
	uint64_t w = shmq_load_acquire(&t->hdr->ep[0].owner), end, ver;

	if (shmq_load_acquire(&s->slot->evicted) == t->me)
		return -EOVERFLOW;
	/*
	 * The tail is stored (release) after the version it covers: a tail
	 * past us with our slot still empty means the slot was written over.
	 * Looked at after the tail, so a commit that came meanwhile is seen.
	 */
	if (s->next < shmq_load_acquire(&t->ctl->tail) && look(s, &ver) == 0)
		return s->err = -EBADMSG;
	if (w == 0)
		return 0;	/* no publisher yet */
	if (shmq_owner_state(w) == SHMQ_EP_CLOSED) {
		end = shmq_load_acquire(&t->ctl->end_seq);
		if (shmq_load_relaxed(&t->ctl->end_check) != shmq_topic_end_check(end, t->instance))
			return -EBADMSG;
		if (s->next < end)
			return 0;
		trailing(s);
		return -EPIPE;
	}
	/*
	 * An abandoned owner word is the last publisher's, whether or not we
	 * watched it (it may have come and gone between our looks).
	 */
	if (shmq_owner_state(w) != SHMQ_EP_ABANDONED &&
	    (w & ~(uint64_t)3) != (s->pub.owner & ~(uint64_t)3))
		return 0;	/* a new publisher: watched at the next check */
	if (shmq_owner_state(w) == SHMQ_EP_ABANDONED || shmq_load_relaxed(&s->pub.dead)) {
		if (s->next < shmq_load_acquire(&t->ctl->tail))
			return 0;
		trailing(s);
		return -ECONNRESET;
	}
	return 0;
}

struct sub_wait {
	struct shmq_sub *s;
	uint64_t ver;
	int what;	/* look()'s answer */
};

static int sub_poll(void *ctx)
{
	struct sub_wait *c = ctx;

	c->what = look(c->s, &c->ver);
	return c->what != 0;
}

static int sub_ready(void *ctx)
{
	struct sub_wait *c = ctx;

	if (shmq_forked_since(c->s->t.gen))
		return -ECHILD;
	if (sub_poll(ctx))
		return 1;
	return ended(c->s);
}

/* The periodic look at the publisher: follow a new one, poll its process. */
static void sub_check(void *ctx)
{
	struct shmq_sub *s = ((struct sub_wait *)ctx)->s;
	struct shmq_endpoint *ep = &s->t.hdr->ep[0];
	uint64_t w = shmq_load_acquire(&ep->owner);

	if (w != s->pub.owner && shmq_owner_state(w) == SHMQ_EP_ATTACHED)
		shmq_peer_watch(&s->pub, w, &ep->life);
	if (shmq_owner_state(s->pub.owner) == SHMQ_EP_ATTACHED)
		shmq_peer_alive(&s->pub);
}

/*
 * The next message's slot, committed, in *@m with its version: 0, or why
 * there is none (-EAGAIN for a try, -ETIMEDOUT, an end, an error).
 */
static int next_msg(struct shmq_sub *s, struct shmq_topic_msg **m, uint64_t *ver,
		    int64_t timeout_ns)
{
	static const struct shmq_wait_ops ops = { sub_ready, sub_check, sub_poll };
	struct sub_wait c = { .s = s };
	int r;

	for (;;) {
		if (s->err)
			return s->err;
		if (!sub_poll(&c)) {
			if (s->published != s->next)
				publish_head(s);	/* before we wait: free the publisher */
			if (timeout_ns == 0) {
				sub_check(&c);
				r = sub_ready(&c);
				if (r == 0 && s->poller) {
					/*
					 * An event loop waits next: announce, look
					 * again.  Found then, more may have come and
					 * found the bit taken: stay ready ourselves.
					 */
					rearm(s);
					r = sub_ready(&c);
					if (r)
						shmq_poller_wake(s->poller->token);
				}
				if (r <= 0)
					return r ? r : -EAGAIN;
			} else {
				r = shmq_wait(&s->t.ctl->data, &s->t.waiter, &ops, &c,
					      shmq_deadline(timeout_ns));
				if (r < 0)
					return r;
				if (c.what == 0)
					continue;
			}
		}
		if (c.what == 2) {
			r = lapped(s);
			if (r)
				return r;
			continue;
		}
		*m = shmq_topic_slot(&s->t, s->next);
		*ver = c.ver;
		return 0;
	}
}

/* Is the message in @m intact: its length, seq and check? */
static int intact(const struct shmq_sub *s, const struct shmq_topic_msg *m, size_t *len,
		  uint64_t *seq)
{
	uint32_t l = shmq_load_relaxed(&m->len);

	*len = l;
	*seq = shmq_load_relaxed(&m->seq);
	return l <= s->t.slot_size - SHMQ_TOPIC_MSG_HDR &&
	       shmq_load_relaxed(&m->check) ==
	       shmq_topic_msg_check(s->next, *seq, l, s->t.instance);
}

/* Was the message overwritten since its version read @ver? */
static int overwritten(const struct shmq_topic_msg *m, uint64_t ver)
{
	shmq_fence_acquire();
	return shmq_load_relaxed(&m->ver) != ver;
}

/* Past message s->next: move on, publishing the head every batch. */
static void advance(struct shmq_sub *s)
{
	s->next++;
	if (s->next - s->published >= s->batch)
		publish_head(s);
}

/* Message @seq was received whole. */
static void received(struct shmq_sub *s, uint64_t seq)
{
	account(s, seq);
	s->last = seq;
	s->started = 1;
	advance(s);
}

/*
 * The next message, committed and intact (its length and check), in *@m
 * with its version and length: 0, or why there is none.  A check that
 * fails because the message was being overwritten is a lap: look again.
 */
static int next_intact(struct shmq_sub *s, struct shmq_topic_msg **m, uint64_t *ver,
		       size_t *len, uint64_t *seq, int64_t timeout_ns)
{
	int r;

	if (s->peeked)
		return -EBUSY;
	for (;;) {
		r = next_msg(s, m, ver, timeout_ns);
		if (r)
			return r;
		if (!intact(s, *m, len, seq)) {
			if (!overwritten(*m, *ver))
				return s->err = -EBADMSG;
			continue;
		}
		if (*seq >= s->min_seq)
			return 0;
		/* Before a SHMQ_FROM_SEQ start, published as we joined. */
		if (!overwritten(*m, *ver))
			advance(s);
	}
}

SHMQ_API int shmq_sub_recv_timed(shmq_sub_t *s, void *buf, size_t size, size_t *len,
				 int64_t timeout_ns)
{
	struct shmq_topic_msg *m;
	uint64_t ver, seq;
	int r;

	do {
		r = next_intact(s, &m, &ver, len, &seq, timeout_ns);
		if (r)
			return r;
		if (*len > size)
			return -EMSGSIZE;
		memcpy(buf, m + 1, *len);
	} while (overwritten(m, ver));	/* lapped while copying: never returned */
	received(s, seq);
	return 0;
}

SHMQ_API int shmq_sub_recv(shmq_sub_t *s, void *buf, size_t size, size_t *len)
{
	return shmq_sub_recv_timed(s, buf, size, len, -1);
}

SHMQ_API int shmq_sub_try_recv(shmq_sub_t *s, void *buf, size_t size, size_t *len)
{
	return shmq_sub_recv_timed(s, buf, size, len, 0);
}

SHMQ_API int shmq_sub_peek(shmq_sub_t *s, const void **buf, size_t *len,
			   int64_t timeout_ns)
{
	struct shmq_topic_msg *m;
	uint64_t ver, seq;
	int r = next_intact(s, &m, &ver, len, &seq, timeout_ns);

	if (r)
		return r;
	*buf = m + 1;
	s->peeked = 1;
	s->peek_ver = ver;
	s->peek_seq = seq;
	return 0;
}

SHMQ_API int shmq_sub_release(shmq_sub_t *s)
{
	struct shmq_topic_msg *m = shmq_topic_slot(&s->t, s->next);
	int torn;

	if (!s->peeked)
		return -EINVAL;
	s->peeked = 0;
	torn = overwritten(m, s->peek_ver);
	if (!torn) {
		received(s, s->peek_seq);
		return 0;
	}
	/* What the caller read may be torn: it counts as lost, not received. */
	account(s, s->peek_seq);
	add_lost(s, 1);
	advance(s);
	return -ESTALE;
}

SHMQ_API uint64_t shmq_sub_seq(const shmq_sub_t *s)
{
	return s->last;
}

SHMQ_API uint64_t shmq_sub_lost(const shmq_sub_t *s)
{
	return s->lost;
}

/* ------------------------------------------------------------------ */
/* The descriptor (poller.c), as a channel's (channel.c)               */
/* ------------------------------------------------------------------ */

/*
 * Keep the publisher's pidfd in the poller's set while it holds its
 * place, so that its death makes the descriptor ready; not once it has
 * closed (its end of stream woke us; its later death must not keep the
 * descriptor ready), and not a publisher whose pid we cannot see.
 */
static void follow_publisher(struct shmq_sub *s)
{
	uint64_t w = shmq_load_acquire(&s->t.hdr->ep[0].owner);
	int attached = w == s->pub.owner && shmq_owner_state(w) == SHMQ_EP_ATTACHED &&
		       s->pub.kind == SHMQ_WATCH_PIDFD;
	uint64_t want = attached ? w : 0;

	if (want == s->followed && (want || shmq_held_num(&s->poller->watched) < 0))
		return;
	shmq_poller_watch(s->poller, attached ? shmq_held_num(&s->pub.fd) : -1);
	s->followed = want;
}

/*
 * Nothing to receive, and an event loop may wait on the descriptor next:
 * empty its socket (a pidfd's readiness: look at the publisher now),
 * follow the publisher, and put our token in our table slot with the
 * SHMQ_EC_POLLER bit on `data`.  The caller looks once more.
 */
static void rearm(struct shmq_sub *s)
{
	struct sub_wait c = { .s = s };

	if (shmq_poller_drain(s->poller, NULL, 0, NULL))
		sub_check(&c);
	else if (s->pub.owner != shmq_load_acquire(&s->t.hdr->ep[0].owner))
		sub_check(&c);	/* a new publisher: watch it */
	follow_publisher(s);
	shmq_poller_announce(s->poller, &s->t.ctl->data, &s->slot->poll_token);
}

/* Is the publisher attached from another network namespace? */
static int publisher_off_net(const struct shmq_sub *s)
{
	const struct shmq_endpoint *ep = &s->t.hdr->ep[0];
	uint64_t w = shmq_load_acquire(&ep->owner);
	uint64_t ns = shmq_load_acquire(&ep->netns);

	return shmq_owner_state(w) == SHMQ_EP_ATTACHED && ns && s->t.netns && ns != s->t.netns;
}

SHMQ_API int shmq_sub_fd(shmq_sub_t *s)
{
	struct sub_wait c = { .s = s };
	int r;

	if (!s)
		return -EINVAL;
	if (shmq_forked_since(s->t.gen))
		return -ECHILD;
	if (s->poller)
		return shmq_held_num(&s->poller->ep);
	/* Its wakes could never reach us: refuse now, not sleep for ever. */
	if (publisher_off_net(s))
		return -EXDEV;
	r = shmq_poller_prepare();	/* our own wakes need no descriptor then */
	if (r == 0)
		r = shmq_poller_open(&s->poller);
	if (r)
		return r;
	s->followed = 0;
	rearm(s);
	/* Level-triggered: what came before the descriptor makes it ready. */
	if (s->err || sub_ready(&c))
		shmq_poller_wake(s->poller->token);
	return shmq_held_num(&s->poller->ep);
}

/* ------------------------------------------------------------------ */
/* Joining and leaving                                                 */
/* ------------------------------------------------------------------ */

/* Take a table slot: a free one first, else a dead holder's.  0 or -EBUSY. */
static int claim_slot(struct shmq_sub *s)
{
	struct shmq_topic *t = &s->t;
	uint64_t i, pass, h;

	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < t->nsubs; i++) {
			struct shmq_topic_sub *sl = &t->subs[i];
			uint64_t w = shmq_load_acquire(&sl->owner);
			int free_now = shmq_owner_state(w) != SHMQ_EP_ATTACHED;

			if (!free_now && (pass == 0 || !shmq_topic_holder_gone(w, &sl->life)))
				continue;
			if (!shmq_claim(&sl->owner, &sl->life, w, t->me, t->life))
				continue;
			s->slot = sl;
			h = shmq_load_acquire(&t->ctl->hwm);
			while (h < i + 1 && !shmq_cas(&t->ctl->hwm, (uint32_t)h, (uint32_t)(i + 1)))
				h = shmq_load_acquire(&t->ctl->hwm);
			return 0;
		}
	}
	return -EBUSY;
}

/* The seq of message @pos in *@seq: 0, or -1 if it is not held whole. */
static int seq_at(const struct shmq_topic *t, uint64_t pos, uint64_t *seq)
{
	const struct shmq_topic_msg *m = shmq_topic_slot(t, pos);
	uint64_t ver = shmq_load_acquire(&m->ver);

	*seq = shmq_load_relaxed(&m->seq);
	return ver == 2 * pos + 2 && !overwritten(m, ver) ? 0 : -1;
}

/*
 * The first message at or after seq @want in [@lo, @hi), by bisection
 * (seqs rise with positions): 0 with *@pos, or -1 if the ring moved
 * under the search.
 */
static int find_seq(const struct shmq_topic *t, uint64_t want, uint64_t lo, uint64_t hi,
		    uint64_t *pos)
{
	uint64_t mid, seq;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (seq_at(t, mid, &seq))
			return -1;
		if (seq < want)
			lo = mid + 1;
		else
			hi = mid;
	}
	*pos = lo;
	return 0;
}

/* Where to start: 0 with s->next set, or -ERANGE, explained. */
static int choose_start(struct shmq_sub *s, const struct shmq_topic_options *to,
			const struct shmq_options *o)
{
	struct shmq_topic *t = &s->t;
	uint64_t tail = shmq_load_acquire(&t->ctl->tail);
	uint64_t oldest = shmq_topic_oldest(t, tail);
	uint64_t next = shmq_load_acquire(&t->ctl->next_seq), first = next;
	int tries;

	switch (s->from) {
	case SHMQ_FROM_OLDEST:
		s->next = oldest;
		return 0;
	case SHMQ_FROM_SEQ:
		/* The ring may move under the look: a few tries, then -ERANGE. */
		for (tries = 0; tries < 8; tries++) {
			if (oldest < tail && seq_at(t, oldest, &first))
				goto again;
			if (to->from_seq < first || to->from_seq > next) {
				shmq_explain(o, "seq %llu is not in the topic: the oldest it "
					     "holds is %llu, the next to come %llu",
					     (unsigned long long)to->from_seq,
					     (unsigned long long)first,
					     (unsigned long long)next);
				return -ERANGE;
			}
			if (find_seq(t, to->from_seq, oldest, tail, &s->next) == 0)
				break;
again:
			tail = shmq_load_acquire(&t->ctl->tail);
			oldest = shmq_topic_oldest(t, tail);
			next = first = shmq_load_acquire(&t->ctl->next_seq);
		}
		if (tries == 8) {
			shmq_explain(o, "seq %llu was overwritten while it was looked for",
				     (unsigned long long)to->from_seq);
			return -ERANGE;
		}
		s->expecting = EXPECT_KNOWN;
		s->expect = s->min_seq = to->from_seq;
		return 0;
	default:
		s->next = tail;
		if (tail == 0) {
			s->expecting = EXPECT_FIRST;
		} else {
			/* At least the seq after message tail - 1; a later one if
			 * more came: those are received, and counted nothing. */
			s->expecting = EXPECT_KNOWN;
			s->expect = next;
		}
		return 0;
	}
}

/* Claim, start, tell the publisher (joins), watch it: 0 or -errno. */
static int join(struct shmq_sub *s, const struct shmq_topic_options *to,
		const struct shmq_options *o)
{
	struct shmq_topic *t = &s->t;
	uint64_t w;
	/* A start the topic cannot give is refused before taking a slot. */
	int r = choose_start(s, to, o);

	if (r)
		return r;
	r = claim_slot(s);
	if (r) {
		shmq_explain(o, "all %llu of the topic's subscriber slots are held by "
			     "live processes", (unsigned long long)t->nsubs);
		return r;
	}
	shmq_store_relaxed(&s->slot->netns, t->netns);
	shmq_store_relaxed(&s->slot->lost, 0);
	shmq_store_relaxed(&s->slot->flags, s->lossy ? SHMQ_TOPIC_LOSSY : 0);
	shmq_store_relaxed(&s->slot->next_seq, shmq_load_relaxed(&t->ctl->next_seq));
	publish_head(s);
	/* Seq_cst: our head before the publisher's next look at the joins. */
	shmq_fetch_add_seq_cst(&t->ctl->joins, 1);
	w = shmq_load_acquire(&t->hdr->ep[0].owner);
	if (shmq_owner_state(w) == SHMQ_EP_ATTACHED) {
		r = shmq_peer_watch(&s->pub, w, &t->hdr->ep[0].life);
		if (r)
			shmq_explain(o, "cannot watch the publisher: %s", strerror(-r));
	}
	return r;
}

static void leave(struct shmq_sub *s)
{
	struct shmq_topic *t = &s->t;

	if (s->slot && !shmq_opened_elsewhere(t->gen, t->me)) {
		/* Where it stopped, for the tools (the publisher skips it now). */
		if (s->expecting == EXPECT_KNOWN)
			shmq_store_relaxed(&s->slot->next_seq, s->expect);
		shmq_store_release(&s->slot->head, s->next);
		shmq_store_relaxed(&s->slot->poll_token, 0);
		shmq_cas(&s->slot->owner, t->me, (t->me & ~(uint64_t)3) | SHMQ_EP_CLOSED);
		shmq_ec_notify(&t->ctl->space, t->waiter.wake, NULL);
	}
	shmq_poller_close(s->poller);
	shmq_peer_forget(&s->pub);
	shmq_topic_detach(t);
	free(s);
}

SHMQ_API int shmq_sub_open(const char *address, const struct shmq_options *o,
			   const struct shmq_topic_options *to, shmq_sub_t **out)
{
	static const struct shmq_topic_options none;
	struct shmq_sub *s = calloc(1, sizeof(*s));
	int64_t deadline;
	int r;

	*out = NULL;
	if (!s)
		return -ENOMEM;
	if (!to)
		to = &none;
	shmq_peer_init(&s->pub);
	s->lossy = !!(to->flags & SHMQ_SUB_LOSSY);
	s->from = to->from;
	s->last = UINT64_MAX;
	if (to->from < SHMQ_FROM_NEXT || to->from > SHMQ_FROM_SEQ) {
		shmq_explain(o, "invalid topic options: no such start (%d)", to->from);
		free(s);
		return -EINVAL;
	}
	r = shmq_topic_attach(address, o, to, &s->t, &deadline);
	if (r == 0) {
		s->batch = s->t.nslots / 8 ? s->t.nslots / 8 : 1;
		s->t.waiter.sleepers = &s->t.ctl->sleepers;	/* all sleep on `data` */
		r = join(s, to, o);
	}
	if (r == 0)
		shmq_topic_prefault(&s->t, 0);
	if (r) {
		leave(s);
		return r;
	}
	*out = s;
	return 0;
}

SHMQ_API int shmq_sub_close(shmq_sub_t *s)
{
	if (s)
		leave(s);
	return 0;
}
