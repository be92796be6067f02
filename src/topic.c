/* SPDX-License-Identifier: MIT */
/*
 * Topics: one publisher, any number of subscribers (topic_layout.h).  This
 * file finds, creates and checks a topic's segment for either role, and
 * holds the kind's table; the publisher is in topic_pub.c, a subscriber
 * in topic_sub.c.
 *
 * Whoever comes first (publisher or subscriber) creates the topic, with
 * its struct shmq_topic_options' geometry; the others take it as it is.
 * A topic that is not persistent lives as long as its publisher: its
 * close marks the segment removed (subscribers already in drain what was
 * committed); a dead publisher's topic is removed by the next opener of
 * either role, or by `shmq clean`, never while anyone that lives holds it.
 */
#include <errno.h>
#include <string.h>
#include <sys/ipc.h>

#include "atomics.h"
#include "kind.h"
#include "topic.h"

#define RETRY_SLEEP_NS 1000000
#define SETUP_LIMIT_NS (2 * 1000000000LL)

static int power_of_two(uint64_t x)
{
	return x && !(x & (x - 1));
}

/* The creator's geometry, from @t (NULL: defaults): 0, or -EINVAL. */
static int geometry(const struct shmq_topic_options *t, uint64_t *slots,
		    uint64_t *slot_size, uint64_t *subs_bytes)
{
	uint64_t n = t && t->slots ? t->slots : SHMQ_TOPIC_DEFAULT_SLOTS;
	uint64_t sz = t && t->slot_size ? t->slot_size : SHMQ_TOPIC_DEFAULT_SLOT_SIZE;
	uint64_t subs = t && t->max_subscribers ? t->max_subscribers : SHMQ_TOPIC_DEFAULT_SUBS;

	if (!power_of_two(n) || n < 2 || !power_of_two(sz) ||
	    sz < SHMQ_TOPIC_MIN_SLOT_SIZE || sz > SHMQ_TOPIC_MAX_SLOT_SIZE)
		return -EINVAL;
	*slots = n;
	*slot_size = sz;
	*subs_bytes = shmq_round_capacity(subs * SHMQ_TOPIC_SUB_SIZE);
	return *subs_bytes && shmq_round_capacity(n * sz) == n * sz ? 0 : -EINVAL;
}

static uint64_t topic_total(uint64_t ring, uint64_t subs)
{
	return SHMQ_HDR_SIZE + SHMQ_TOPIC_CTL_SIZE + subs + ring;
}

/* Point @t's views at the mapping @p, whose header @copy is checked. */
static void map_views(struct shmq_topic *t, void *p, const struct shmq_hdr *copy, int id)
{
	unsigned char *b = p;

	t->hdr = p;
	t->ctl = (struct shmq_topic_ctl *)(b + SHMQ_HDR_SIZE);
	t->subs = (struct shmq_topic_sub *)(b + SHMQ_HDR_SIZE + SHMQ_TOPIC_CTL_SIZE);
	t->ring = b + SHMQ_HDR_SIZE + SHMQ_TOPIC_CTL_SIZE + copy->cap[1];
	t->shmid = id;
	t->persistent = !!(copy->flags & SHMQ_HDR_PERSISTENT);
	t->slot_size = copy->param;
	t->nslots = copy->cap[0] / copy->param;
	t->nsubs = copy->cap[1] / SHMQ_TOPIC_SUB_SIZE;
	t->instance = copy->instance;
}

/* Nobody at the address: make the topic.  0, -EEXIST (someone was first). */
static int create_topic(struct shmq_topic *t, const struct shmq_addr *a,
			const struct shmq_options *o, const struct shmq_topic_options *to,
			unsigned mode)
{
	uint64_t slots, sz, subs;
	struct shmq_hdr *h;
	void *p;
	int r, id;

	if (geometry(to, &slots, &sz, &subs)) {
		shmq_explain(o, "invalid topic geometry: slots and slot size must be "
			     "powers of two, the slot size 64 B to 1 MiB, the ring (slots "
			     "x slot size) 4 KiB to 1 GiB");
		return -EINVAL;
	}
	r = shmq_seg_create(a, topic_total(slots * sz, subs), mode, SHMQ_SEG_EXCL, &id);
	if (r == -EEXIST)
		return r;
	if (r) {
		shmq_explain(o, "cannot create the topic's segment: %s", strerror(-r));
		return r;
	}
	r = shmq_seg_attach(id, 0, &p);
	if (r) {
		shmq_seg_remove(id);
		shmq_explain(o, "cannot attach the topic's segment: %s", strerror(-r));
		return r;
	}
	h = p;
	h->param = (uint32_t)sz;
	shmq_hdr_init(h, a, mode, SHMQ_KIND_TOPIC,
		      o && (o->flags & SHMQ_PERSISTENT) ? SHMQ_HDR_PERSISTENT : 0,
		      slots * sz, subs, topic_total(slots * sz, subs));
	map_views(t, p, h, id);
	/* Last, with release: whoever reads READY sees the header. */
	shmq_store_release(&h->state, SHMQ_STATE_READY);
	return 0;
}

/*
 * The topic segment @id: vetted, READY, a topic made for @a, of a
 * geometry we can use.  0; -EAGAIN look again (it went, or is being set
 * up); or -errno, explained.
 */
static int attach_existing(struct shmq_topic *t, const struct shmq_addr *a, int id,
			   const struct shmq_options *o, unsigned mode)
{
	struct shmq_seg_info s;
	struct shmq_hdr copy, *h;
	void *p;
	int r;

	r = shmq_attach_vetted(id, mode, o, SHMQ_HDR_SIZE, "topic", &s, &p);
	if (r)
		return r;
	h = p;
	if (shmq_load_acquire(&h->state) != SHMQ_STATE_READY) {
		r = shmq_hdr_setup(h, &s, a->kind == SHMQ_ADDR_NAME);
		if (r == SHMQ_SETUP_LEFTOVER)
			shmq_seg_remove(id);
		shmq_seg_detach(p);
		if (r == SHMQ_SETUP_CORRUPT || r == SHMQ_SETUP_FOREIGN) {
			shmq_explain(o, "segment id %d is not a usable shmq topic", id);
			return r == SHMQ_SETUP_CORRUPT ? -EBADMSG : -EPROTO;
		}
		return -EAGAIN;
	}
	memcpy(&copy, h, offsetof(struct shmq_hdr, state));
	r = shmq_check_header(&copy, s.size, a, id, o, &shmq_topic_kind);
	if (r) {
		shmq_seg_detach(p);
		return r;
	}
	map_views(t, p, &copy, id);
	return 0;
}

/*
 * Is the attached topic finished: not persistent, and its publisher came
 * and went (closed, or died)?  Then nobody can publish on it again.
 */
static int finished(const struct shmq_topic *t)
{
	uint64_t w = shmq_load_acquire(&t->hdr->ep[0].owner);

	return !t->persistent && w != 0 && shmq_topic_holder_gone(w, &t->hdr->ep[0].life);
}

static int hold_life(struct shmq_topic *t, const struct shmq_options *o)
{
	t->me = shmq_owner((uint32_t)getpid(), shmq_self_start(), SHMQ_EP_ATTACHED);
	t->netns = shmq_self_netns();
	t->gen = shmq_fork_generation();
	return shmq_open_life(t->me, &t->life, o);
}

static void init_waiter(struct shmq_topic *t, const struct shmq_options *o)
{
	t->waiter.policy = o ? o->wait : SHMQ_WAIT_HYBRID;
	t->waiter.spin_ns = o && o->spin_ns ? o->spin_ns : SHMQ_DEFAULT_SPIN_NS;
	t->waiter.interruptible = o && (o->flags & SHMQ_INTERRUPTIBLE);
	t->waiter.stop = o ? o->stop : NULL;
	t->waiter.wake = &shmq_futex_ops;
	t->waiter.pauses = 1;
}

/* One look at the address: 0 attached, -EAGAIN look again, or -errno. */
static int attach_once(struct shmq_topic *t, const struct shmq_addr *a,
		       const struct shmq_options *o, const struct shmq_topic_options *to,
		       unsigned mode)
{
	int id, r = shmq_seg_open(a, &id);

	if (r == -ENOENT && a->kind != SHMQ_ADDR_ID) {
		r = create_topic(t, a, o, to, mode);
		return r == -EEXIST ? -EAGAIN : r;
	}
	if (r) {
		shmq_explain(o, "cannot look up the topic: %s", strerror(-r));
		return r;
	}
	r = attach_existing(t, a, id, o, mode);
	if (r == 0 && finished(t) && a->kind != SHMQ_ADDR_ID) {
		/* Its subscribers drain it still; the address is for a new one. */
		shmq_seg_remove(id);
		shmq_topic_detach(t);
		return -EAGAIN;
	}
	return r;
}

int shmq_topic_attach(const char *address, const struct shmq_options *o,
		      const struct shmq_topic_options *to, struct shmq_topic *t,
		      int64_t *deadline)
{
	int64_t first = shmq_now_ns();
	struct shmq_addr a;
	unsigned mode;
	int r;

	memset(t, 0, sizeof(*t));
	t->shmid = -1;
	r = shmq_begin_open(address, o, &a, &mode, deadline);
	if (r == 0)
		r = hold_life(t, o);
	if (r)
		return r;
	init_waiter(t, o);
	for (;;) {
		r = attach_once(t, &a, o, to, mode);
		if (r != -EAGAIN)
			return r;
		if (shmq_now_ns() - first > SETUP_LIMIT_NS || shmq_now_ns() >= *deadline) {
			shmq_explain(o, "the topic's segment stayed in set-up (its "
				     "creator stopped?)");
			return -ETIMEDOUT;
		}
		shmq_sleep_ns(RETRY_SLEEP_NS);
	}
}

void shmq_topic_detach(struct shmq_topic *t)
{
	if (t->hdr)
		shmq_seg_detach(t->hdr);
	t->hdr = NULL;
}

/* ------------------------------------------------------------------ */
/* The topic's kind                                                    */
/* ------------------------------------------------------------------ */

static uint64_t topic_total_size(const struct shmq_hdr *copy)
{
	if (!power_of_two(copy->param) || copy->param < SHMQ_TOPIC_MIN_SLOT_SIZE ||
	    copy->param > SHMQ_TOPIC_MAX_SLOT_SIZE || copy->cap[0] < 2ull * copy->param)
		return 0;
	return topic_total(copy->cap[0], copy->cap[1]);
}

/* The header, the control page and two powers of two (at least 4 KiB). */
static int topic_plausible_size(uint64_t size)
{
	uint64_t rest = size - SHMQ_HDR_SIZE - SHMQ_TOPIC_CTL_SIZE;

	return size > SHMQ_HDR_SIZE + SHMQ_TOPIC_CTL_SIZE &&
	       (__builtin_popcountll(rest) == 1 || __builtin_popcountll(rest) == 2) &&
	       (rest & -rest) >= SHMQ_RING_MIN_CAPACITY;
}

/* The publisher (ep[0]), the ring, and how many subscribers hold a slot. */
static void topic_describe(const struct shmq_hdr *h, const struct shmq_hdr *copy,
			   struct shmq_desc *d)
{
	const struct shmq_topic_ctl *ctl =
		(const void *)((const unsigned char *)h + SHMQ_HDR_SIZE);
	uint64_t w = shmq_load_acquire(&h->ep[0].owner);
	pid_t here;

	d->capacity[0] = copy->cap[0];
	d->capacity[1] = copy->cap[1];
	d->queued[0] = shmq_load_acquire(&ctl->tail);	/* messages published */
	d->ep[0].state = w == 0 ? SHMQ_PEER_NONE : (int)shmq_owner_state(w);
	d->ep[0].pid = (pid_t)shmq_owner_pid(w);
	if (d->ep[0].state == SHMQ_PEER_ATTACHED)
		d->ep[0].pid_state = shmq_holder_state(w, shmq_load_acquire(&h->ep[0].life),
						       &here);
}

/*
 * A topic nobody can use any more: not persistent, with no live publisher
 * (never came, closed or dead) and no live subscriber.  What cannot be
 * told is kept.
 */
static int topic_stale(const struct shmq_hdr *h, const struct shmq_hdr *copy,
		       const struct shmq_seg_info *s)
{
	const struct shmq_topic_ctl *ctl =
		(const void *)((const unsigned char *)h + SHMQ_HDR_SIZE);
	const struct shmq_topic_sub *subs = (const void *)((const unsigned char *)ctl +
							  SHMQ_TOPIC_CTL_SIZE);
	uint64_t w = shmq_load_acquire(&h->ep[0].owner), i, n;

	/*
	 * This copy was taken after the caller's check: read only what its
	 * geometry says is there, and only if the segment is that large.
	 */
	if (!topic_total_size(copy) || topic_total_size(copy) > s->size ||
	    (copy->flags & SHMQ_HDR_PERSISTENT) || s->removed)
		return 0;
	if (w != 0 && shmq_holder_alive(w, shmq_load_acquire(&h->ep[0].life)) != 0 &&
	    shmq_owner_state(w) == SHMQ_EP_ATTACHED)
		return 0;
	n = shmq_load_acquire(&ctl->hwm);
	if (n > copy->cap[1] / SHMQ_TOPIC_SUB_SIZE)
		n = copy->cap[1] / SHMQ_TOPIC_SUB_SIZE;
	for (i = 0; i < n; i++) {
		uint64_t sw = shmq_load_acquire(&subs[i].owner);

		if (shmq_owner_state(sw) == SHMQ_EP_ATTACHED &&
		    shmq_holder_alive(sw, shmq_load_acquire(&subs[i].life)) != 0)
			return 0;
	}
	return 1;
}

const struct shmq_kind shmq_topic_kind = {
	.kind = SHMQ_KIND_TOPIC,
	.name = "topic",
	.min_minor = SHMQ_TOPIC_MIN_MINOR,
	.total_size = topic_total_size,
	.plausible_size = topic_plausible_size,
	.describe = topic_describe,
	.stale = topic_stale,
	.open_existing = NULL,
};

/* ------------------------------------------------------------------ */
/* Inspection                                                          */
/* ------------------------------------------------------------------ */

static void describe_sub(const struct shmq_topic_sub *sl, uint64_t tail, size_t i,
			 struct shmq_subscriber_desc *d)
{
	uint64_t w = shmq_load_acquire(&sl->owner);
	pid_t here;

	memset(d, 0, sizeof(*d));
	d->slot = i;
	d->pid = (pid_t)shmq_owner_pid(w);
	d->state = (int)shmq_owner_state(w);
	if (d->state == SHMQ_PEER_ATTACHED)
		d->pid_state = shmq_holder_state(w, shmq_load_acquire(&sl->life), &here);
	d->lossy = !!(shmq_load_relaxed(&sl->flags) & SHMQ_TOPIC_LOSSY);
	d->evicted = w != 0 && shmq_load_relaxed(&sl->evicted) == w;
	d->head = shmq_load_acquire(&sl->head);
	d->lag = tail > d->head ? tail - d->head : 0;
	d->head = shmq_load_relaxed(&sl->next_seq);
	d->lost = shmq_load_relaxed(&sl->lost);
}

SHMQ_API int shmq_describe_subscribers(int shmid, struct shmq_subscriber_desc *subs,
				       size_t max, size_t *count)
{
	struct shmq_seg_info s;
	struct shmq_hdr copy;
	const unsigned char *p;
	const struct shmq_topic_ctl *ctl;
	uint64_t n, i, tail;
	int r;

	*count = 0;
	r = shmq_seg_stat(shmid, &s);
	if (r)
		return r;
	if (!topic_plausible_size(s.size))
		return -EPROTOTYPE;
	r = shmq_seg_attach(shmid, SHMQ_SEG_RDONLY, (void **)&p);
	if (r)
		return r;
	memcpy(&copy, p, offsetof(struct shmq_hdr, state));
	r = shmq_check_header(&copy, s.size, NULL, shmid, NULL, &shmq_topic_kind);
	if (r == 0) {
		ctl = (const void *)(p + SHMQ_HDR_SIZE);
		tail = shmq_load_acquire(&ctl->tail);
		n = shmq_load_acquire(&ctl->hwm);
		if (n > copy.cap[1] / SHMQ_TOPIC_SUB_SIZE)
			n = copy.cap[1] / SHMQ_TOPIC_SUB_SIZE;
		for (i = 0; i < n; i++)
			if (i < max)
				describe_sub((const void *)(p + SHMQ_HDR_SIZE + SHMQ_TOPIC_CTL_SIZE +
							    i * SHMQ_TOPIC_SUB_SIZE), tail, i, &subs[i]);
		*count = n;
	}
	shmq_seg_detach((void *)p);
	return r;
}
