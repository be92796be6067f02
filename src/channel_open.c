/* SPDX-License-Identifier: MIT */
/*
 * Opening a channel: whoever comes first creates the segment and waits
 * for the second, who joins it (a pair), or takes a free endpoint (a
 * persistent channel).  shmq_open() is here; a segment of another kind
 * at the address is taken as its kind's table says (a hub: connect).
 * Also the server's side of a hub client's channel: offered at
 * IPC_PRIVATE, joined by the one client told its id.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <unistd.h>

#include "atomics.h"
#include "channel.h"
#include "kind.h"

#define RETRY_SLEEP_NS 1000000	/* between open attempts that must wait */
#define IN_LINE_SLEEP_NS 50000000	/* between looks while waiting in line */

/* Our life word (life.c) and network namespace, which the peer reads. */
static int hold_life(struct shmq *q, const struct shmq_options *o)
{
	q->netns = shmq_self_netns();
	return shmq_open_life(q->me, &q->life, o);
}

/* A new handle with @o's settings and our life token: 0, or -errno. */
static int new_handle(const struct shmq_options *o, struct shmq **out)
{
	struct shmq *q = shmq_chan_new(o);
	int r;

	if (!q)
		return -ENOMEM;
	r = hold_life(q, o);
	if (r) {
		shmq_chan_free(q);
		return r;
	}
	*out = q;
	return 0;
}

/*
 * Hold what watching the peer will need before anything is shared, so
 * that running out of descriptors fails the open, not the liveness check
 * later: one descriptor for a pair (both directions share its watcher),
 * one per direction for a persistent channel.  Likewise the process's
 * one socket for waking a peer that waits in an event loop (poller.c).
 */
static int reserve_watchers(struct shmq *q, const struct shmq_options *o)
{
	int d, n = q->persistent ? 2 : 1, r;

	r = shmq_poller_prepare();
	if (r) {
		shmq_explain(o, "cannot hold a socket to wake the peer with: %s",
			     strerror(-r));
		return r;
	}

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

/*
 * A new segment of @size bytes at @a, exclusively, attached: 0 with its id
 * and mapping; -EEXIST if someone was first; or -errno, explained.
 */
static int new_segment(const struct shmq_addr *a, const struct shmq_options *o,
		       unsigned mode, uint64_t size, int *id, void **p)
{
	unsigned flags = SHMQ_SEG_EXCL;
	int r;

	if (o && (o->flags & SHMQ_HUGEPAGES))
		flags |= SHMQ_SEG_HUGETLB;
	r = shmq_seg_create(a, size, mode, flags, id);
	if (r) {
		if (r == -EINVAL)
			shmq_explain(o, "the kernel refused a segment of %llu bytes "
				     "(see /proc/sys/kernel/shmmax)", (unsigned long long)size);
		else if (r != -EEXIST)
			shmq_explain(o, "cannot create a segment: %s", strerror(-r));
		return r;
	}
	r = shmq_seg_attach(*id, 0, p);
	if (r) {
		shmq_seg_remove(*id);
		shmq_explain(o, "cannot attach the new segment: %s", strerror(-r));
	}
	return r;
}

static uint32_t role_of(const struct shmq_options *o)
{
	return o ? o->flags & (SHMQ_SENDER | SHMQ_RECEIVER) : 0;
}

static int create_channel(struct shmq *q, const struct shmq_addr *a,
			  const struct shmq_options *o, unsigned mode)
{
	uint64_t c0 = shmq_round_capacity(o ? o->send_capacity : 0);
	uint64_t c1 = shmq_round_capacity(o ? o->recv_capacity : 0);
	struct shmq_hdr *h;
	void *p;
	int r, id;

	q->persistent = o && (o->flags & SHMQ_PERSISTENT);
	r = reserve_watchers(q, o);
	if (r)
		return r;
	r = new_segment(a, o, mode, SHMQ_HDR_SIZE + c0 + c1, &id, &p);
	if (r)
		return r;
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
	h->ep[q->slot].life = q->life;
	h->ep[q->slot].netns = q->netns;
	/* Release: whoever sees our owner word sees our life word. */
	shmq_store_release(&h->ep[q->slot].owner, q->me);
	if (!q->persistent && a->key != IPC_PRIVATE)	/* not a hub's offer */
		h->ep[0].role = role_of(o);
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
	return shmq_chan_setup_rings(q);
}

/* Give up on a channel we created and nobody joined. */
static void remove_unjoined(struct shmq *q)
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
		else if (q->waiter.wake->wait(&h->join_seq, key,
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
	r = shmq_chan_watch(q, w);
	if (r) {
		/* Cannot watch it: leave the pair at once, and plainly. */
		shmq_cas(&h->ep[0].owner, q->me, (q->me & ~(uint64_t)3) | SHMQ_EP_ABANDONED);
		shmq_ec_notify(&q->tx.ctl->data, q->waiter.wake, &q->tx.ctl->data_poller);
		shmq_explain(o, "cannot watch the peer: %s", strerror(-r));
	}
	return r;
}

/* How an attempt to join an existing segment went. */
enum join {
	JOIN_OK,
	JOIN_FAILED,		/* with an -errno, explained */
	JOIN_SETTING_UP,	/* its live creator is still writing it */
	JOIN_IN_LINE,		/* a creator of our role holds it: wait our turn */
	JOIN_AGAIN_NOW,		/* removed, finished with, or lost a race */
	JOIN_OTHER_KIND,	/* another kind, which shmq_open() takes its way */
};

/* Setting up takes microseconds: a segment still at it after this is not. */
#define SETUP_LIMIT_NS (2 * 1000000000LL)

/*
 * The segment we attached is not READY.  Its creator may still be writing
 * it, or may have died doing so: then remove it (shmq_hdr_setup() says
 * when it is recognisably ours and untouched since).
 */
static enum join not_ready(const struct shmq_hdr *h, const struct shmq_seg_info *s,
			   const struct shmq_addr *a, const struct shmq_options *o,
			   int *err)
{
	switch (shmq_hdr_setup(h, s, a->kind == SHMQ_ADDR_NAME)) {
	case SHMQ_SETUP_WRITING:
	case SHMQ_SETUP_READY:	/* look again, shortly */
		return JOIN_SETTING_UP;
	case SHMQ_SETUP_LEFTOVER:
		shmq_seg_remove(s->shmid);
		return JOIN_AGAIN_NOW;
	case SHMQ_SETUP_CORRUPT:
		shmq_explain(o, "segment id %d: its state word is corrupted (it was in use)",
			     s->shmid);
		*err = -EBADMSG;
		return JOIN_FAILED;
	default:
		shmq_explain(o, "segment id %d is not a shmq channel", s->shmid);
		*err = -EPROTO;
		return JOIN_FAILED;
	}
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
	q->slot = 1;	/* the side we ask for: the peer (and its life) is 0 */
	r = shmq_chan_watch(q, w0);
	if (r) {
		shmq_explain(o, "cannot watch the channel's creator: %s", strerror(-r));
		*err = r;
		return JOIN_FAILED;
	}
	if (!shmq_peer_alive(&q->watch[0]))
		goto finished;	/* the creator died before anyone joined */
	/* READY (acquire) covers the creator's role. */
	if (role_of(o) && shmq_load_relaxed(&h->ep[0].role) == role_of(o))
		return JOIN_IN_LINE;
	if (!shmq_claim(&h->ep[1].owner, &h->ep[1].life, 0, q->me, q->life))
		return JOIN_AGAIN_NOW;	/* someone joined (or it was sealed) first */
	shmq_store_release(&h->ep[1].netns, q->netns);
	shmq_seg_remove(q->shmid);
	shmq_fetch_add_release(&h->join_seq, 1);
	q->waiter.wake->wake(&h->join_seq, 1);
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
		alive = shmq_holder_alive(w, shmq_load_acquire(&q->hdr->ep[slot].life));
		if (alive < 0)
			*unknown = alive;
		if (alive)
			return -1;
	}
	return (w == 0) + 2 * (shmq_ring_queued(&q->hdr->ring[1 - slot]) != 0);
}

/*
 * The peer waits in an event loop (its descriptor's token is published on
 * a ring we feed or drain) from another network namespace: our wakes
 * would never reach it, and it would sleep with messages queued.  Refuse
 * to join rather than let that happen: 0, or -EXDEV, explained.
 */
static int peer_loop_reachable(const struct shmq *q, const struct shmq_options *o)
{
	const struct shmq_hdr *h = q->hdr;

	if (!shmq_chan_peer_off_net(q))
		return 0;
	if (!shmq_load_acquire(&h->ring[q->slot].data_poller) &&
	    !shmq_load_acquire(&h->ring[1 - q->slot].space_poller))
		return 0;
	shmq_explain(o, "segment id %d: the peer waits in an event loop in another "
		     "network namespace, which no wake from here can reach", q->shmid);
	return -EXDEV;
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
		if (shmq_claim(&h->ep[slot].owner, &h->ep[slot].life, w, q->me, q->life)) {
			shmq_store_release(&h->ep[slot].netns, q->netns);
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
	r = shmq_chan_watch(q, shmq_load_acquire(&h->ep[1 - q->slot].owner));
	if (r)
		shmq_explain(o, "cannot watch the peer: %s", strerror(-r));
	else
		r = peer_loop_reachable(q, o);
	if (r) {
		shmq_cas(&h->ep[q->slot].owner, q->me,
			 (q->me & ~(uint64_t)3) | SHMQ_EP_ABANDONED);
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
	/* Another kind that knows how to be opened (a hub): its way. */
	if (copy.magic == SHMQ_MAGIC && copy.kind != SHMQ_KIND_CHANNEL &&
	    shmq_kind_find(copy.kind) && shmq_kind_find(copy.kind)->open_existing) {
		*err = copy.kind;
		how = JOIN_OTHER_KIND;
		goto out;
	}
	*err = shmq_check_header(&copy, s.size, a, shmid, o, &shmq_channel_kind);
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
	*err = shmq_chan_setup_rings(q);
	if (*err) {
		/* Claimed, so the caller closes (which says abandoned). */
		shmq_explain(o, "segment id %d: ring positions are corrupted", shmid);
		return JOIN_FAILED;
	}
	shmq_seg_prefault((unsigned char *)p + SHMQ_HDR_SIZE, q->cap[0] + q->cap[1], 1);
	return JOIN_OK;
out:
	q->hdr = NULL;
	shmq_seg_detach(p);
	return how;
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
	r = shmq_check_header(&copy, size, NULL, -1, NULL, &shmq_channel_kind);
	if (r)
		return r;
	q = shmq_chan_new(NULL);
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
	r = shmq_chan_setup_rings(q);
	if (r) {
		shmq_chan_free(q);
		return r;
	}
	*out = q;
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
		remove_unjoined(q);
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

/*
 * One look at the address: create the channel if nothing is there, else
 * join what is.  JOIN_OK (0 in *err) or JOIN_FAILED (-errno), or what the
 * caller must do next; for JOIN_SETTING_UP, *err is the segment's id, for
 * JOIN_OTHER_KIND its kind.
 */
static enum join open_once(struct shmq *q, const struct shmq_addr *a,
			   const struct shmq_options *o, unsigned mode,
			   int64_t deadline, int *err)
{
	enum join how;
	int shmid, r = shmq_seg_open(a, &shmid);

	if (r == -ENOENT && a->kind != SHMQ_ADDR_ID) {
		r = create_and_wait(q, a, o, mode, deadline);
		*err = r;
		return r == -EEXIST ? JOIN_AGAIN_NOW : r ? JOIN_FAILED : JOIN_OK;
	}
	if (r) {
		if (r == -ENOENT)
			shmq_explain(o, "no segment with id %d", a->shmid);
		else
			shmq_explain(o, "cannot look up the segment: %s", strerror(-r));
		*err = r;
		return JOIN_FAILED;
	}
	how = join_channel(q, a, shmid, o, mode, err);
	if (how == JOIN_AGAIN_NOW && a->kind == SHMQ_ADDR_ID) {
		/* An id names one segment: looking again finds the same. */
		struct shmq_seg_info s;

		*err = shmq_seg_stat(shmid, &s) ? -ENOENT : -EBUSY;
		shmq_explain(o, *err == -EBUSY ? "segment id %d already has both its ends" :
			     "no segment with id %d", shmid);
		how = JOIN_FAILED;
	}
	if (how == JOIN_SETTING_UP)
		*err = shmid;
	if (how == JOIN_FAILED && q->hdr)
		drop_claimed(q);
	return how;
}

SHMQ_API int shmq_open(const char *address, const struct shmq_options *o,
		       shmq_t **out)
{
	struct shmq_addr a;
	struct shmq *q;
	unsigned mode;
	int64_t deadline, setup_since = 0;
	int r, setup_id = -1, in_line = 0;
	enum join how;

	*out = NULL;
	r = shmq_begin_open(address, o, &a, &mode, &deadline);
	if (r)
		return r;
	r = new_handle(o, &q);
	if (r)
		return r;
	for (;;) {
		if (shmq_now_ns() >= deadline) {
			shmq_explain(o, in_line ? "another %s held the address, waiting for "
				     "its peer, until the deadline" : "no peer arrived in time",
				     role_of(o) == SHMQ_SENDER ? "sender" : "receiver");
			r = -ETIMEDOUT;
			break;
		}
		if (shmq_stopped(&q->waiter)) {
			r = -EINTR;
			break;
		}
		how = open_once(q, &a, o, mode, deadline, &r);
		if (how == JOIN_AGAIN_NOW)
			continue;
		in_line = how == JOIN_IN_LINE;
		if (in_line) {
			/* Rare and patient: a look (four system calls) every 50 ms. */
			shmq_sleep_ns(IN_LINE_SLEEP_NS);
			continue;
		}
		if (how == JOIN_SETTING_UP) {
			r = still_setting_up(r, &setup_id, &setup_since, o);
			if (r)
				break;
			shmq_sleep_ns(RETRY_SLEEP_NS);
			continue;
		}
		if (how == JOIN_OTHER_KIND) {
			shmq_chan_free(q);
			return shmq_kind_find((unsigned)r)->open_existing(&a, o, mode,
									deadline, out);
		}
		break;	/* JOIN_OK or JOIN_FAILED */
	}
	if (r) {
		shmq_chan_free(q);
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
	struct shmq *q = shmq_chan_new(o);
	int r;

	if (!q)
		return -ENOMEM;
	r = hold_life(q, o) ?: create_channel(q, &a, o, 0600);
	if (r == 0 && client_uid != geteuid())
		r = shmq_seg_set_owner(q->shmid, client_uid);
	if (r) {
		if (q->hdr)
			remove_unjoined(q);
		shmq_chan_free(q);
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
	return shmq_chan_watch(q, w) ?: 1;
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
	remove_unjoined(q);
	shmq_chan_free(q);
	return 0;
}

/*
 * Was segment @shmid made by the hub's server (the process and user the
 * kernel recorded as the hub's creator, @server)?  Anyone who can write
 * the hub can put an id in a slot; nobody can make the kernel record
 * another process as a segment's creator.
 */
static int made_by_server(int shmid, const struct shmq_seg_info *server)
{
	struct shmq_seg_info s;
	int st;

	if (shmq_seg_stat(shmid, &s) || s.cpid != server->cpid || s.cuid != server->cuid)
		return 0;
	/*
	 * The pid alone can be reused once the server died: the process at
	 * it now must be the one that made the hub, started before the hub's
	 * last change (a reused pid starts later).
	 */
	st = shmq_pid_state(server->cpid, server->ctime);
	return st != SHMQ_PID_DEAD && st != SHMQ_PID_ZOMBIE;
}

/*
 * A client joins the channel the server offered, as endpoint 1.  The
 * channel keeps the hub's mapping (@bell->map) for what it rings, and
 * detaches it when closed; on failure the caller still owns it.  @server:
 * the hub segment's kernel facts.
 */
int shmq_chan_take_offer(int shmid, const struct shmq_options *o, unsigned mode,
			 const struct shmq_seg_info *server,
			 const struct shmq_hub_bell *bell, shmq_t **out)
{
	struct shmq_addr a = { .kind = SHMQ_ADDR_ID, .key = IPC_PRIVATE, .shmid = shmid };
	struct shmq *q;
	enum join how;
	int r = 0;

	if (!made_by_server(shmid, server)) {
		shmq_explain(o, "the hub's slot named segment id %d, which its server "
			     "did not make", shmid);
		return -EPROTO;
	}
	r = new_handle(o, &q);
	if (r)
		return r;
	how = join_channel(q, &a, shmid, o, mode, &r);
	if (how == JOIN_OK && (q->persistent || q->slot != 1)) {
		shmq_explain(o, "the hub offered segment id %d, which is not a "
			     "new pair", shmid);
		r = -EPROTO;
	} else if (how == JOIN_OK && !made_by_server(shmid, server)) {
		shmq_explain(o, "segment id %d changed hands while joining", shmid);
		r = -EPROTO;
	} else if (how != JOIN_OK && how != JOIN_FAILED) {
		shmq_explain(o, "the hub took back its offer (segment id %d)", shmid);
		r = -ECONNREFUSED;
	}
	if (r) {
		if (q->hdr)
			drop_claimed(q);
		shmq_chan_free(q);
		return r;
	}
	q->bell = *bell;
	*out = q;
	return 0;
}
