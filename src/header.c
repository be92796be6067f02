/* SPDX-License-Identifier: MIT */
/*
 * What every kind of segment shares: the header (layout.h).  Its identity
 * is written once, with a checksum, before the segment is READY; every
 * opener and every tool checks a private copy of it, never the live bytes;
 * and whether a segment is a leftover is decided from it and the kernel's
 * facts alone, whatever its kind.
 */
#include <errno.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "atomics.h"
#include "kind.h"
#include "ring.h"

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
 * Was the segment made for address @a?  A name's key, or an ftok file's,
 * that holds another address's segment is a collision, never a channel to
 * use: -EADDRINUSE naming the owner.
 */
static int made_for(const struct shmq_hdr *copy, const struct shmq_addr *a,
		    int shmid, const struct shmq_options *o)
{
	char name[sizeof(copy->name)];

	if ((a->kind != SHMQ_ADDR_NAME ||
	     (copy->addr_kind == SHMQ_ADDR_NAME &&
	      !strncmp(copy->name, a->name, sizeof(copy->name)))) &&
	    (a->kind != SHMQ_ADDR_FTOK ||
	     (copy->addr_kind == SHMQ_ADDR_FTOK && copy->dev == a->dev &&
	      copy->ino == a->ino && copy->proj == (uint32_t)a->proj)))
		return 0;
	memcpy(name, copy->name, sizeof(name));
	name[sizeof(name) - 1] = '\0';
	if (copy->addr_kind == SHMQ_ADDR_NAME)
		shmq_explain(o, "key 0x%08x collides: its segment (id %d) belongs to "
			     "the name '%s'", (uint32_t)a->key, shmid, name);
	else
		shmq_explain(o, "key 0x%08x collides: its segment (id %d) was made "
			     "for another address", (uint32_t)a->key, shmid);
	return -EADDRINUSE;
}

/*
 * See kind.h.  The checks come in the order that gives the most useful
 * error first: not ours, another version, damaged, another kind, then
 * the geometry, the identity and the address.
 */
int shmq_check_header(const struct shmq_hdr *copy, uint64_t segsz,
		      const struct shmq_addr *a, int shmid,
		      const struct shmq_options *o, const struct shmq_kind *want)
{
	const struct shmq_kind *k = shmq_kind_find(copy->kind);

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
	if (!k && copy->minor > SHMQ_LAYOUT_MINOR) {
		shmq_explain(o, "segment id %d is a kind of shmq segment (%u) from "
			     "layout %u.%u, newer than this library's %u.%u", shmid,
			     copy->kind, copy->major, copy->minor, SHMQ_LAYOUT_MAJOR,
			     SHMQ_LAYOUT_MINOR);
		return -EPROTOTYPE;
	}
	if (k && copy->minor < k->min_minor) {
		shmq_explain(o, "segment id %d is a shmq %s of layout %u.%u, made by an "
			     "older shmq; this library reads %ss of %u.%u or later", shmid,
			     k->name, copy->major, copy->minor, k->name, SHMQ_LAYOUT_MAJOR,
			     k->min_minor);
		return -EPROTONOSUPPORT;
	}
	if (want && k && k != want) {
		shmq_explain(o, "segment id %d is a shmq %s, not a %s", shmid,
			     k->name, want->name);
		return -EPROTOTYPE;
	}
	/* A kind's total_size() is 0 for a geometry it cannot have. */
	if (copy->hdr_size != SHMQ_HDR_SIZE || !k ||
	    shmq_round_capacity(copy->cap[0]) != copy->cap[0] ||
	    shmq_round_capacity(copy->cap[1]) != copy->cap[1] ||
	    !k->total_size(copy) || copy->total_size != k->total_size(copy) ||
	    copy->total_size > segsz) {
		shmq_explain(o, "segment id %d: impossible geometry", shmid);
		return -EBADMSG;
	}
	if (!identity_possible(copy)) {
		shmq_explain(o, "segment id %d: the header names an impossible address",
			     shmid);
		return -EBADMSG;
	}
	return a ? made_for(copy, a, shmid, o) : 0;
}

/* A process an endpoint or creator word names is proven gone. */
int shmq_proven_dead(int pid_state)
{
	return pid_state == SHMQ_PID_DEAD || pid_state == SHMQ_PID_ZOMBIE;
}

/*
 * Has an endpoint been claimed by anyone but the creator, or left?  Then
 * the segment was READY once, and a state word saying otherwise was
 * written over.  (Not the rings: a persistent creator that moves to a new
 * segment formats them at the position its stream had reached.)
 */
/*
 * Does owner word @w (life word @life) name the process the kernel
 * recorded as the segment's creator?  Its pid is its own namespace's; the
 * kernel's is ours (0 if it cannot be seen from here), and so is the one
 * its life token's record gives.
 */
static int is_creator(uint64_t w, uint64_t life, const struct shmq_seg_info *s)
{
	pid_t here;

	if ((pid_t)shmq_owner_pid(w) == s->cpid)
		return 1;
	return shmq_life_matches(w, life) &&
	       shmq_life_token_state(life, &here) == SHMQ_PID_ALIVE && here == s->cpid;
}

static int used_since_setup(const struct shmq_hdr *h, const struct shmq_seg_info *s)
{
	int i;

	for (i = 0; i < 2; i++) {
		uint64_t w = shmq_load_acquire(&h->ep[i].owner);

		if (w != 0 && (shmq_owner_state(w) != SHMQ_EP_ATTACHED ||
			       !is_creator(w, shmq_load_acquire(&h->ep[i].life), s)))
			return 1;
	}
	return 0;
}

enum shmq_setup shmq_hdr_setup(const struct shmq_hdr *h, const struct shmq_seg_info *s,
			       int at_name)
{
	uint32_t state = shmq_load_acquire(&h->state);
	uint64_t magic = shmq_load_relaxed(&h->magic);
	int used;

	/* Its creator finished since the caller looked. */
	if (state == SHMQ_STATE_READY)
		return SHMQ_SETUP_READY;
	if (magic == 0) {
		/*
		 * Nothing written yet: ours only at a name's key, at a size
		 * ours can have.  Its creator attached it at once and died
		 * (detaching it: the kernel's last pid is the creator's).  A
		 * plain segment someone made there (shmq create) is not ours.
		 * Another opener looking at it now: look again shortly.
		 */
		if (state != SHMQ_STATE_INIT || !at_name || !shmq_kind_plausible(s->size))
			return SHMQ_SETUP_FOREIGN;
		if (!shmq_proven_dead(shmq_pid_state(s->cpid, s->ctime)) || s->nattch)
			return SHMQ_SETUP_WRITING;
		return s->lpid == s->cpid ? SHMQ_SETUP_LEFTOVER : SHMQ_SETUP_FOREIGN;
	}
	if (magic != SHMQ_MAGIC)
		return SHMQ_SETUP_FOREIGN;
	used = state != SHMQ_STATE_INIT || used_since_setup(h, s);
	/*
	 * An endpoint claimed by a joiner after the creator finished: then
	 * READY shows now (the joiner saw it before claiming).
	 */
	if (used && shmq_load_acquire(&h->state) == SHMQ_STATE_READY)
		return SHMQ_SETUP_READY;
	if (used)
		return SHMQ_SETUP_CORRUPT;
	/*
	 * A dead creator's, unless someone has it attached: another opener
	 * about to remove it (look again shortly), or a process that holds
	 * it, which makes it no leftover (and the caller's wait for set-up
	 * ends at its limit).
	 */
	if (!shmq_proven_dead(shmq_pid_state(s->cpid, s->ctime)) || s->nattch)
		return SHMQ_SETUP_WRITING;
	return SHMQ_SETUP_LEFTOVER;
}

int shmq_hdr_stale(const struct shmq_hdr *h, const struct shmq_seg_info *s)
{
	const struct shmq_kind *k;
	struct shmq_hdr copy;
	uint64_t w0, w1;

	if (shmq_load_acquire(&h->state) != SHMQ_STATE_READY)
		/* In set-up: the header may be half written; the kernel's word. */
		return shmq_hdr_setup(h, s, 0) == SHMQ_SETUP_LEFTOVER;
	memcpy(&copy, h, offsetof(struct shmq_hdr, state));
	if (copy.magic != SHMQ_MAGIC || copy.check != shmq_hdr_checksum(&copy) ||
	    (copy.flags & SHMQ_HDR_PERSISTENT) || s->removed)
		return 0;
	k = shmq_kind_find(copy.kind);
	if (k && k->stale)
		return k->stale(h, &copy, s);
	w0 = shmq_load_acquire(&h->ep[0].owner);
	w1 = shmq_load_acquire(&h->ep[1].owner);
	/*
	 * Sealed: its creator gave up waiting and removes it next; still
	 * here, the creator died in between.  Nobody can use it either way.
	 */
	if (w1 == SHMQ_OWNER_SEALED)
		return 1;
	if (w1 != 0)
		return 0;
	/* A pair nobody joined, or a hub, whose first endpoint is gone. */
	return shmq_owner_state(w0) != SHMQ_EP_ATTACHED ||
	       shmq_holder_alive(w0, shmq_load_acquire(&h->ep[0].life)) == 0;
}
