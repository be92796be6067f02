/* SPDX-License-Identifier: MIT */
/*
 * Whom a segment may be trusted from, and how an opener attaches one it did
 * not create: vetted (readable, made and owned by users it trusts, big
 * enough, and still the same segment once attached, since ids are reused),
 * with every refusal explained in one line in the caller's buffer.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "ring.h"
#include "layout.h"

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

int shmq_open_life(uint64_t me, uint64_t *life, const struct shmq_options *o)
{
	int r = shmq_life_mine(me, life);

	if (r)
		shmq_explain(o, "cannot make this process's life token (a private "
			     "segment): %s", strerror(-r));
	return r;
}
