/* SPDX-License-Identifier: MIT */
/*
 * Kinds of segment.  Every shmq segment starts with the same header
 * (layout.h); its kind says what follows.  Each kind is described once,
 * by a constant table of facts and operations defined in the kind's own
 * file, and the code that must know "which kind is this" looks it up
 * here, once (kinds.c).  Adding a kind is a new file with its table, and
 * one line in kinds.c.
 *
 * The header itself (init, checks, whether a segment is a leftover) is
 * what every kind shares (header.c).
 */
#ifndef SHMQ_KIND_H
#define SHMQ_KIND_H

#include <stdint.h>

#include "internal.h"
#include "layout.h"

struct shmq_kind {
	unsigned kind;		/* SHMQ_KIND_* */
	const char *name;	/* "channel", "hub" */
	unsigned min_minor;	/* the oldest layout minor it reads */
	/* The size its header's geometry implies; 0 if impossible. */
	uint64_t (*total_size)(const struct shmq_hdr *copy);
	/* Could a segment of @size bytes be of this kind?  (Tools attach
	 * only what could be, so they do not disturb others' segments.) */
	int (*plausible_size)(uint64_t size);
	/*
	 * Inspection: fill in what is this kind's own (its ends, rings,
	 * ...), from the live header @h and its checked copy; the facts every
	 * kind shares are already in @d.
	 */
	void (*describe)(const struct shmq_hdr *h, const struct shmq_hdr *copy,
			 struct shmq_desc *d);
	/*
	 * Is the READY segment @h (checked copy of its header @copy, kernel
	 * facts @s) a leftover nobody can use?  NULL: the rule for pairs and
	 * hubs (shmq_hdr_stale()).  Never what cannot be told.
	 */
	int (*stale)(const struct shmq_hdr *h, const struct shmq_hdr *copy,
		     const struct shmq_seg_info *s);
	/*
	 * How shmq_open() takes a segment of this kind it finds at the
	 * address (NULL: it cannot).  A hub connects as a client.
	 */
	int (*open_existing)(const struct shmq_addr *a, const struct shmq_options *o,
			     unsigned mode, int64_t deadline, shmq_t **out);
};

extern const struct shmq_kind shmq_channel_kind;	/* channel.c */
extern const struct shmq_kind shmq_hub_kind;		/* hub.c */
extern const struct shmq_kind shmq_topic_kind;		/* topic.c */

/* kinds.c: the kind numbered @kind, or NULL. */
const struct shmq_kind *shmq_kind_find(unsigned kind);
/* Could @size bytes be a shmq segment of any kind? */
int shmq_kind_plausible(uint64_t size);

/* header.c */
/*
 * Write the immutable identity of a fresh (zeroed) segment's header and
 * its checksum; state stays INIT for the caller to set last.
 */
void shmq_hdr_init(struct shmq_hdr *h, const struct shmq_addr *a, unsigned mode,
		   unsigned kind, unsigned flags, uint64_t c0, uint64_t c1,
		   uint64_t total);
/*
 * Is this (private copy of a) header one we can use: ours, this version,
 * intact, of kind @want (NULL: whichever kind it says, if one we know), a
 * possible geometry within @segsz bytes, a possible identity, and made for
 * address @a (NULL: any)?  0 or -errno, explained.
 */
int shmq_check_header(const struct shmq_hdr *copy, uint64_t segsz,
		      const struct shmq_addr *a, int shmid,
		      const struct shmq_options *o, const struct shmq_kind *want);
/*
 * Is the mapped segment @h (whose kernel facts are @s) a leftover that
 * nobody can use any more: in set-up, with its creator (as the kernel
 * recorded it) proven gone; or a pair or hub still at its key whose first
 * endpoint is proven gone and whose second nobody took?  Never what is
 * merely not written yet, or whose liveness cannot be told.
 */
int shmq_hdr_stale(const struct shmq_hdr *h, const struct shmq_seg_info *s);

/* What a segment that is not READY is (shmq_hdr_setup). */
enum shmq_setup {
	SHMQ_SETUP_WRITING,	/* its creator lives: it is still being set up */
	SHMQ_SETUP_LEFTOVER,	/* its creator died setting it up: remove it */
	SHMQ_SETUP_CORRUPT,	/* it was READY once: the state word was written over */
	SHMQ_SETUP_FOREIGN,	/* not a shmq segment */
	SHMQ_SETUP_READY,	/* READY after all: its creator just finished */
};
/*
 * Classify a segment @h whose state is not READY; @at_name: it sits at a
 * NAME's key, where a segment of all zeroes may be a creator that has not
 * begun writing.  The kernel's record of the creator (@s) counts, not the
 * header, which may be half written.
 */
enum shmq_setup shmq_hdr_setup(const struct shmq_hdr *h, const struct shmq_seg_info *s,
			       int at_name);

#endif /* SHMQ_KIND_H */
