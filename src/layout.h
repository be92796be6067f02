/* SPDX-License-Identifier: MIT */
/*
 * The header every shmq segment starts with, and a channel's layout (its
 * two rings' control blocks are part of the header; a hub leaves them
 * unused, and its own area is in hub_layout.h).  Fixed-width fields only,
 * no pointers, pinned by static assertions: any process, any language, any
 * build of shmq with the same major version reads the same bytes.
 *
 *   0       struct shmq_hdr (4096 bytes)
 *             0   identity and geometry: immutable once READY, checksummed
 *           256   state, join_seq
 *           384   endpoint 0's owner word  (own 128-byte block)
 *           512   endpoint 1's owner word  (own 128-byte block)
 *           640   ring 0 control: endpoint 0 -> 1 (4 x 128 bytes)
 *          1152   ring 1 control: endpoint 1 -> 0 (4 x 128 bytes)
 *   4096    ring 0 data (cap[0] bytes)
 *   4096 + cap[0]   ring 1 data (cap[1] bytes)
 */
#ifndef SHMQ_LAYOUT_H
#define SHMQ_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#include "ring.h"

#define SHMQ_MAGIC 0x6e616863716d6873ull	/* the bytes "shmqchan" */
#define SHMQ_LAYOUT_MAJOR 2
#define SHMQ_LAYOUT_MINOR 4
#define SHMQ_HDR_SIZE 4096u

enum { SHMQ_STATE_INIT = 0, SHMQ_STATE_READY = 1 };
#define SHMQ_HDR_PERSISTENT 0x1u

/*
 * An endpoint's owner word: who holds the slot, in one 64-bit value so it
 * is claimed and released by a single compare-and-swap.
 *
 *   bits  0..1   state: 0 free, 1 attached, 2 closed, 3 abandoned
 *   bits  2..23  pid (pid_max is at most 2^22)
 *   bits 24..63  the process's start time, clock ticks after boot
 *
 * pid plus start time names one process for the life of the machine.
 * SHMQ_OWNER_SEALED in endpoint 1 means the creator gave up waiting.
 */
enum {
	SHMQ_EP_FREE = 0,
	SHMQ_EP_ATTACHED = 1,
	SHMQ_EP_CLOSED = 2,
	SHMQ_EP_ABANDONED = 3,
};
#define SHMQ_OWNER_SEALED UINT64_MAX

static inline uint64_t shmq_owner(uint32_t pid, uint64_t start, unsigned state)
{
	return (start & 0xffffffffffull) << 24 | (uint64_t)(pid & 0x3fffff) << 2 |
	       (state & 3);
}
static inline unsigned shmq_owner_state(uint64_t w) { return (unsigned)(w & 3); }
static inline uint32_t shmq_owner_pid(uint64_t w) { return (uint32_t)(w >> 2) & 0x3fffff; }
static inline uint64_t shmq_owner_start(uint64_t w) { return w >> 24; }
/* The same holder, whatever state it is in. */
static inline int shmq_owner_same(uint64_t a, uint64_t b) { return (a >> 2) == (b >> 2); }

/*
 * An endpoint's block, written only by its holder: who holds it, and
 * whether the holder found the channel corrupted (then its peer stops
 * too, instead of waiting for what will never come).  `life` names the
 * holder's life token (life.c), so that its liveness can be told from
 * any PID namespace (layout 2.2; older builds leave it 0).
 */
struct shmq_endpoint {
	uint64_t owner;
	uint32_t poisoned;	/* nonzero: the holder saw -EBADMSG */
	uint32_t role;		/* a pair's creator: SHMQ_SENDER, _RECEIVER or 0 */
	uint64_t life;		/* the holder's life word, beside its owner word */
	uint64_t netns;		/* the holder's network namespace (its inode) */
	uint8_t pad[SHMQ_LINE - 32];
};
_Static_assert(offsetof(struct shmq_endpoint, life) == 16, "endpoint: life");

struct shmq_hdr {
	/* Immutable once READY, covered by `check`. */
	uint64_t magic;
	uint16_t major;
	uint16_t minor;
	uint16_t kind;		/* SHMQ_KIND_CHANNEL */
	uint16_t flags;		/* SHMQ_HDR_PERSISTENT */
	uint32_t hdr_size;	/* SHMQ_HDR_SIZE */
	uint32_t mode;		/* the permission bits asked for */
	uint64_t cap[2];	/* ring capacities */
	uint64_t total_size;	/* hdr_size + cap[0] + cap[1] */
	uint64_t instance;	/* random, from getrandom(2) */
	uint32_t addr_kind;	/* enum shmq_addr_kind */
	uint32_t proj;		/* FTOK */
	uint64_t dev, ino;	/* FTOK: the file it was created for */
	char name[64];		/* NAME: NUL-terminated */
	uint32_t creator_uid;
	uint32_t creator_gid;
	int32_t creator_pid;
	uint32_t param;		/* a kind's own: a topic's slot size; else 0 */
	uint64_t creator_start;	/* clock ticks after boot */
	int64_t created_ns;	/* CLOCK_REALTIME */
	uint64_t check;		/* FNV-1a 64 of the bytes before it */
	uint8_t pad0[256 - 184];

	/* Mutable. */
	uint32_t state;		/* INIT -> READY, a release store, last */
	uint32_t join_seq;	/* futex: bumped when endpoint 1 arrives */
	uint8_t pad1[SHMQ_LINE - 8];
	struct shmq_endpoint ep[2];
	struct shmq_ring_ctl ring[2];
};

_Static_assert(offsetof(struct shmq_hdr, check) == 176, "header: check");
_Static_assert(offsetof(struct shmq_hdr, state) == 256, "header: state");
_Static_assert(offsetof(struct shmq_hdr, ep) == 384, "header: endpoints");
_Static_assert(offsetof(struct shmq_hdr, ring) == 640, "header: rings");
_Static_assert(sizeof(struct shmq_hdr) == 640 + 2 * 4 * SHMQ_LINE, "header size");
_Static_assert(sizeof(struct shmq_hdr) <= SHMQ_HDR_SIZE, "header fits its page");
_Static_assert(offsetof(struct shmq_hdr, ep) % SHMQ_LINE == 0 &&
	       offsetof(struct shmq_hdr, ring) % SHMQ_LINE == 0,
	       "endpoints and rings start on their own lines");

static inline uint64_t shmq_hdr_checksum(const struct shmq_hdr *h)
{
	const unsigned char *p = (const unsigned char *)h;
	uint64_t x = 0xcbf29ce484222325ull;
	size_t i;

	for (i = 0; i < offsetof(struct shmq_hdr, check); i++)
		x = (x ^ p[i]) * 0x100000001b3ull;
	return x;
}

#endif /* SHMQ_LAYOUT_H */
