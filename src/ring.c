/* SPDX-License-Identifier: MIT */
/*
 * The ring layer.  See ring.h for the record format and docs/design.md for
 * the reasoning; the comments here say who writes what and what each
 * ordered access pairs with.
 *
 * Invariant (zero-ahead): whenever the consumer reaches a position X, the
 * header word at X is either 0 or the header of a record committed at X.
 * The producer keeps it by zeroing the slot at the end of every batch
 * before the release store that publishes the batch, and by never writing
 * the first header of a batch until that release store.
 */
#include <errno.h>
#include <string.h>

#include "atomics.h"
#include "ring.h"

void (*shmq_fault_hook)(int where);

static inline uint64_t *hdr_at(const struct shmq_ring *r, uint64_t pos)
{
	return (uint64_t *)(void *)(r->data + (pos & r->mask));
}

int shmq_ring_format(struct shmq_ring_ctl *ctl, unsigned char *data,
		     uint64_t cap, uint64_t pos)
{
	if ((pos & 7) || cap < SHMQ_RING_MIN_CAPACITY || (cap & (cap - 1)))
		return -EINVAL;
	memset(ctl, 0, sizeof(*ctl));
	memset(data, 0, cap);
	ctl->head = pos;
	ctl->tail = pos;
	return 0;
}

/*
 * Is the word at @pos the header of a committed record?  Returns the
 * record's full size (padding included), 0 for an empty slot, -EBADMSG
 * for anything a correct producer never writes.
 */
static inline __attribute__((always_inline)) int64_t
decode(const struct shmq_ring *r, uint64_t pos, uint64_t w)
{
	uint64_t off = pos & r->mask;
	uint64_t len = w & 0xffffffffu;
	uint32_t type = (uint32_t)(w >> 32) & 0xff;

	if (w == 0)
		return 0;
	if ((w >> 40) != shmq_rec_check(pos, w & 0xffffffffffull))
		return -EBADMSG;
	if (type == SHMQ_REC_PAD)
		return len == r->cap - off - 8 ? (int64_t)(r->cap - off) : -EBADMSG;
	if (type != SHMQ_REC_MSG || len > r->max_msg ||
	    off + shmq_rec_size(len) > r->cap)
		return -EBADMSG;
	return (int64_t)shmq_rec_size(len);
}

int shmq_ring_attach(struct shmq_ring *r, struct shmq_ring_ctl *ctl,
		     unsigned char *data, uint64_t cap, uint64_t key)
{
	uint64_t head, end, scanned = 0;

	memset(r, 0, sizeof(*r));
	r->ctl = ctl;
	r->data = data;
	r->cap = cap;
	r->mask = cap - 1;
	r->max_msg = shmq_ring_max_msg(cap);
	/*
	 * Positions are multiples of 8, so an encoded end keeps these low
	 * bits: never 0 (no end yet), never all ones.
	 */
	r->key = (key & ~(uint64_t)7) | 1;

	head = shmq_load_acquire(&ctl->head);
	end = shmq_load_acquire(&ctl->tail);
	if ((head | end) & 7 || end - head > cap)
		return -EBADMSG;
	/*
	 * The tail word is stored after each commit, so a producer that died
	 * in between left it one batch behind.  Walk the committed records
	 * from there; zero-ahead guarantees the walk stops at the true end.
	 */
	for (;;) {
		int64_t size = decode(r, end, shmq_load_acquire(hdr_at(r, end)));

		if (size < 0)
			return -EBADMSG;
		if (size == 0)
			break;
		end += (uint64_t)size;
		scanned += (uint64_t)size;
		if (end - head > cap || scanned > cap)
			return -EBADMSG;
	}
	r->tail = r->committed = end;
	r->head_cache = head;
	r->head = r->released = r->returned = head;
	return 0;
}

/*
 * Is there room at the tail for a record of @len bytes: 0 (its padding in
 * *@pad), -EAGAIN (full for now), -ENOBUFS, -EMSGSIZE or -EBADMSG.
 */
static inline int room_for(struct shmq_ring *r, size_t len, uint64_t *pad_out)
{
	uint64_t size, pad = 0, off, need;

	if (len > r->max_msg)
		return -EMSGSIZE;
	size = shmq_rec_size(len);
	off = r->tail & r->mask;
	if (off + size > r->cap)
		pad = r->cap - off;	/* every record is contiguous */
	*pad_out = pad;
	/* The record, any padding, and the next header slot (zero-ahead). */
	need = pad + size + 8;
	/* Behind our own uncommitted batch it could never fit: no waiting. */
	if (r->tail - r->committed + need > r->cap)
		return -ENOBUFS;
	if (r->tail + need - r->head_cache > r->cap) {
		/*
		 * Looks full: read the consumer's head again.  The acquire
		 * pairs with the consumer's release in shmq_ring_release():
		 * its reads of the bytes before head are done, so we may
		 * overwrite them.  A head outside [cached head, committed]
		 * was not written by a correct consumer.
		 */
		uint64_t head = shmq_load_acquire(&r->ctl->head);

		if ((head & 7) || head - r->head_cache > r->committed - r->head_cache)
			return -EBADMSG;
		r->head_cache = head;
		if (r->tail + need - head > r->cap)
			return -EAGAIN;
	}
	return 0;
}

int shmq_ring_fits(struct shmq_ring *r, size_t len)
{
	uint64_t pad;
	int e = room_for(r, len, &pad);

	return e == 0 ? 1 : e == -EBADMSG ? e : 0;
}

int shmq_ring_reserve(struct shmq_ring *r, size_t len, void **buf)
{
	uint64_t pad;
	int e = room_for(r, len, &pad);

	if (e)
		return e;
	if (pad) {
		uint64_t w = shmq_rec_word(r->tail, SHMQ_REC_PAD, pad - 8);

		if (r->tail == r->committed)
			r->first_hdr = w;
		else
			shmq_store_relaxed(hdr_at(r, r->tail), w);
		r->tail += pad;
	}
	/*
	 * Headers after the first of the batch go straight into the ring:
	 * the consumer cannot reach them before the first is published.
	 */
	if (r->tail == r->committed)
		r->first_hdr = shmq_rec_word(r->tail, SHMQ_REC_MSG, len);
	else
		shmq_store_relaxed(hdr_at(r, r->tail),
				   shmq_rec_word(r->tail, SHMQ_REC_MSG, len));
	*buf = r->data + (r->tail & r->mask) + 8;
	r->last_pos = r->tail;
	r->tail += shmq_rec_size(len);
	r->npending++;
	return 0;
}

int shmq_ring_trim(struct shmq_ring *r, size_t len)
{
	uint64_t pos = r->last_pos;
	uint64_t old;

	if (!r->npending)
		return -EINVAL;
	old = (pos == r->committed ? r->first_hdr :
	       shmq_load_relaxed(hdr_at(r, pos))) & 0xffffffffu;
	if (len > old)
		return -EINVAL;
	if (pos == r->committed)
		r->first_hdr = shmq_rec_word(pos, SHMQ_REC_MSG, len);
	else
		shmq_store_relaxed(hdr_at(r, pos), shmq_rec_word(pos, SHMQ_REC_MSG, len));
	r->tail = pos + shmq_rec_size(len);
	return 0;
}

int shmq_ring_commit(struct shmq_ring *r)
{
	uint32_t n = r->npending;

	if (!n)
		return 0;
	/* Zero-ahead: the slot after the batch reads "empty" once it is seen. */
	shmq_store_relaxed(hdr_at(r, r->tail), 0);
	if (__builtin_expect(shmq_fault_hook != NULL, 0))
		shmq_fault_hook(SHMQ_FAULT_COMMIT);
	/*
	 * The one store that publishes the whole batch.  Release orders the
	 * payloads, the later headers and the zero-ahead before it; it pairs
	 * with the consumer's acquire load of this word in shmq_ring_peek().
	 */
	shmq_store_release(hdr_at(r, r->committed), r->first_hdr);
	r->committed = r->tail;
	r->npending = 0;
	/*
	 * Nobody waits on the tail, but it is a promise: release, so a
	 * consumer whose acquire load sees it also sees every header before
	 * it.  A consumer that finds an empty slot short of it has found a
	 * header someone else erased (shmq_ring_idle).  A plain store on x86.
	 */
	shmq_store_release(&r->ctl->tail, r->tail);
	return (int)n;
}

void shmq_ring_end(struct shmq_ring *r)
{
	shmq_ring_discard(r);
	/*
	 * Release: every commit (and its tail store) comes before the end.
	 * It pairs with the consumer's acquire load in shmq_ring_idle().
	 */
	shmq_store_release(&r->ctl->eof, shmq_ring_eof_word(r, r->committed));
}

void shmq_ring_discard(struct shmq_ring *r)
{
	/* Headers already written past `committed` are unreachable garbage. */
	r->tail = r->committed;
	r->npending = 0;
}

int shmq_ring_peek(struct shmq_ring *r, const void **buf, size_t *len)
{
	uint64_t pos = r->head;
	int pads = 0;

	for (;;) {
		/*
		 * Copy the header once.  The acquire pairs with the
		 * producer's release in shmq_ring_commit(): once we see a
		 * committed header, the payload and the rest of its batch
		 * are visible.
		 */
		uint64_t w = shmq_load_acquire(hdr_at(r, pos));
		int64_t size = decode(r, pos, w);

		if (size == 0)
			return -EAGAIN;
		if (size < 0)
			return -EBADMSG;
		if (((w >> 32) & 0xff) == SHMQ_REC_PAD) {
			/* One pad, then a message at offset 0: nothing else. */
			if (pads++)
				return -EBADMSG;
			pos += (uint64_t)size;
			continue;
		}
		*buf = r->data + (pos & r->mask) + 8;
		*len = (size_t)(w & 0xffffffffu);
		r->head = pos + (uint64_t)size;
		r->npeeked++;
		return 0;
	}
}

int shmq_ring_idle(const struct shmq_ring *r, int done)
{
	uint64_t pos = r->head;
	/* The order of these three loads is what makes the verdict sound. */
	uint64_t eof = shmq_load_acquire(&r->ctl->eof);
	uint64_t tail = shmq_load_acquire(&r->ctl->tail);
	uint64_t w = shmq_load_acquire(hdr_at(r, pos));

	if (w != 0) {
		int64_t size = decode(r, pos, w);

		/* A record (or garbage, which peek reports): look again. */
		if (size <= 0 || ((w >> 32) & 0xff) != SHMQ_REC_PAD)
			return SHMQ_RING_MORE;
		/* A padding record is never published without its message. */
		if (shmq_load_acquire(hdr_at(r, pos + (uint64_t)size)) == 0)
			return -EBADMSG;
		return SHMQ_RING_MORE;
	}
	if (eof)
		return eof == shmq_ring_eof_word(r, pos) && tail == pos ?
			SHMQ_RING_ENDED : -EBADMSG;
	if (tail == pos)
		return SHMQ_RING_EMPTY;
	/* Published past an empty slot: that header was erased. */
	if (tail - pos <= r->cap)
		return -EBADMSG;
	/*
	 * Behind us: a live producer stores its tail just after the header
	 * we already read, and a dead one may have died in between; by at
	 * most one batch, less than a ring.  A producer that closed or
	 * abandoned stored it first, so it must be exact.
	 */
	if (!done && pos - tail <= r->cap)
		return SHMQ_RING_EMPTY;
	return -EBADMSG;
}

int shmq_ring_ready(const struct shmq_ring *r)
{
	/* Acquire, as in peek: a caller told "ready" goes on to read it. */
	return shmq_load_acquire(hdr_at(r, r->head)) != 0;
}

int shmq_ring_release(struct shmq_ring *r)
{
	uint32_t n = r->npeeked;

	r->released = r->head;
	r->npeeked = 0;
	return (int)n;
}

void shmq_ring_return_space(struct shmq_ring *r)
{
	if (r->returned == r->released)
		return;
	if (__builtin_expect(shmq_fault_hook != NULL, 0))
		shmq_fault_hook(SHMQ_FAULT_RETURN);
	/*
	 * Release: our reads of the records are complete before the
	 * producer may overwrite them (its acquire load of head).
	 */
	shmq_store_release(&r->ctl->head, r->released);
	r->returned = r->released;
}

void shmq_ring_rewind(struct shmq_ring *r)
{
	r->head = r->released;
	r->npeeked = 0;
}

uint64_t shmq_ring_queued(const struct shmq_ring_ctl *ctl)
{
	uint64_t head = shmq_load_acquire(&ctl->head);
	uint64_t tail = shmq_load_acquire(&ctl->tail);

	return tail - head;
}
