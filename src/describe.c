/* SPDX-License-Identifier: MIT */
/*
 * Inspection, for tools: what a shmq segment holds, read-only.  What every
 * kind shares comes from the header; what is a kind's own, from its table.
 */
#include <errno.h>
#include <string.h>

#include "atomics.h"
#include "kind.h"
#include "topic_layout.h"

/*
 * A segment still being set up: its header may be half written (even its
 * creator's pid may still be 0), so only the kernel's facts count, and it
 * is stale only if the process that created it is proven gone.
 */
static void describe_setup(const struct shmq_hdr *h, const struct shmq_hdr *copy,
			   const struct shmq_seg_info *s, struct shmq_desc *d)
{
	d->kind = shmq_kind_find(copy->kind) ? copy->kind : 0;
	d->creator_uid = s->cuid;
	d->creator_pid = s->cpid;
	/* The creator cannot have started after the segment last changed. */
	d->creator_state = shmq_pid_state(s->cpid, s->ctime);
	d->stale = shmq_hdr_stale(h, s);
}

/* Decode a mapped segment whose kernel facts are @s; see shmq_describe(). */
int shmq_describe_memory(const void *mem, const struct shmq_seg_info *s,
			 struct shmq_desc *d)
{
	const struct shmq_hdr *h = mem;
	const struct shmq_kind *k;
	struct shmq_hdr copy;
	int r;

	memset(d, 0, sizeof(*d));
	if (s->size < SHMQ_HDR_SIZE)
		return -EPROTO;
	/* State first, with acquire: READY then covers the copy. */
	d->ready = shmq_load_acquire(&h->state) == SHMQ_STATE_READY;
	memcpy(&copy, h, offsetof(struct shmq_hdr, state));
	/* Zeroes at INIT may be a creator that has not begun writing. */
	if (copy.magic != SHMQ_MAGIC)
		return -EPROTO;
	d->major = copy.major;
	d->minor = copy.minor;
	if (!d->ready) {
		if (shmq_hdr_setup(h, s, 0) == SHMQ_SETUP_CORRUPT)
			return -EBADMSG;
		describe_setup(h, &copy, s, d);
		return 0;
	}
	/* Everything an opener checks: version, checksum, kind, geometry, name. */
	r = shmq_check_header(&copy, s->size, NULL, s->shmid, NULL, NULL);
	if (r)
		return r;
	k = shmq_kind_find(copy.kind);
	d->kind = copy.kind;
	d->creator_uid = copy.creator_uid;
	d->creator_pid = copy.creator_pid;
	d->created = copy.created_ns / 1000000000;
	/*
	 * The header's pid is the creator's in its own PID namespace; the
	 * kernel's (translated to ours, 0 if it cannot be seen from here)
	 * names it here when the two differ.
	 */
	d->creator_state = s->cpid != copy.creator_pid ? shmq_pid_state(s->cpid, s->ctime) :
		shmq_owner_pid_state(shmq_owner((uint32_t)copy.creator_pid,
						copy.creator_start, 1));
	d->persistent = !!(copy.flags & SHMQ_HDR_PERSISTENT);
	d->addr_kind = (int)copy.addr_kind;
	memcpy(d->name, copy.name, sizeof(d->name));
	d->name[sizeof(d->name) - 1] = '\0';
	d->dev = copy.dev;
	d->ino = copy.ino;
	d->proj = (int)copy.proj;
	d->mode = copy.mode;
	k->describe(h, &copy, d);
	d->stale = shmq_hdr_stale(h, s);
	return 0;
}

/*
 * A life token, by its shape.  A live one (removed, attached by its
 * process) is not attached here: that would keep it alive a moment past
 * its process.  One left unremoved and unattached is attached to look for
 * our mark, and is stale: its process died making it.
 */
static int describe_life(const struct shmq_seg_info *s, struct shmq_desc *d)
{
	pid_t pid;

	d->kind = SHMQ_KIND_LIFE;
	d->ready = 1;
	d->creator_uid = s->cuid;
	d->mode = s->mode;
	if (s->removed && s->nattch) {
		d->creator_pid = s->cpid;
		d->creator_state = s->cpid ? shmq_pid_state(s->cpid, s->ctime) :
			SHMQ_PID_ELSEWHERE;
		return 0;
	}
	if (!shmq_life_leftover(s, &pid))
		return -EPROTO;
	d->creator_pid = pid;
	d->creator_state = SHMQ_PID_DEAD;
	d->stale = 1;
	return 0;
}

/* The counters of a checked segment @mem of kind @kind (see shmq.h). */
static void traffic_of(const void *mem, int kind, struct shmq_traffic *t)
{
	const struct shmq_hdr *h = mem;
	int i;

	t->kind = kind;
	if (kind == SHMQ_KIND_CHANNEL) {
		for (i = 0; i < 2; i++) {
			t->bytes[i] = shmq_load_acquire(&h->ring[i].tail);
			t->released[i] = shmq_load_acquire(&h->ring[i].head);
		}
	} else if (kind == SHMQ_KIND_TOPIC) {
		const struct shmq_topic_ctl *ctl = (const void *)((const unsigned char *)mem +
								   SHMQ_HDR_SIZE);

		t->messages = shmq_load_acquire(&ctl->tail);
	}
}

/*
 * What shmq_describe() and shmq_describe_traffic() share: the kernel's
 * facts, then a read-only attach of what may be ours, checked; with @t,
 * the counters too (a life token has none).
 */
static int describe_segment(int shmid, struct shmq_desc *d, struct shmq_traffic *t)
{
	struct shmq_seg_info s;
	void *p;
	int r;

	memset(d, 0, sizeof(*d));
	r = shmq_seg_stat(shmid, &s);
	if (r)
		return r;
	if (shmq_life_shaped(&s))
		return t ? -EPROTO : describe_life(&s, d);
	/* Attach (which shows in its times and last pid) only what may be ours. */
	if (!shmq_kind_plausible(s.size))
		return -EPROTO;
	r = shmq_seg_attach(shmid, SHMQ_SEG_RDONLY, &p);
	if (r)
		return r;
	r = shmq_describe_memory(p, &s, d);
	if (t && r == 0 && d->ready)
		traffic_of(p, d->kind, t);
	shmq_seg_detach(p);
	return r;
}

SHMQ_API int shmq_describe(int shmid, struct shmq_desc *d)
{
	return describe_segment(shmid, d, NULL);
}

SHMQ_API int shmq_describe_traffic(int shmid, struct shmq_traffic *t)
{
	struct shmq_desc d;

	memset(t, 0, sizeof(*t));
	return describe_segment(shmid, &d, t);
}
