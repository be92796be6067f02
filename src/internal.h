/* SPDX-License-Identifier: MIT */
/*
 * Declarations shared by the library's layers.  Nothing here is API:
 * the build compiles with -fvisibility=hidden, and only the names marked
 * SHMQ_API (and listed in libshmq.map) leave the shared object.  The
 * tests link the static archive and may call these directly.
 */
#ifndef SHMQ_INTERNAL_H
#define SHMQ_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include "shmq.h"

#define SHMQ_API __attribute__((visibility("default")))

#define SHMQ_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* CLOCK_MONOTONIC in nanoseconds. */
static inline int64_t shmq_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline void shmq_sleep_ns(int64_t ns)
{
	struct timespec ts = { ns / 1000000000, ns % 1000000000 };

	nanosleep(&ts, NULL);
}

/* The hybrid wait's spin budget when none is asked for. */
#define SHMQ_DEFAULT_SPIN_NS 20000

/* A relative timeout (<0: forever, 0: don't wait) as an absolute deadline. */
#define SHMQ_NEVER INT64_MAX
static inline int64_t shmq_deadline(int64_t timeout_ns)
{
	if (timeout_ns < 0)
		return SHMQ_NEVER;
	return shmq_now_ns() + timeout_ns;
}

/* address.c */
uint32_t shmq_name_hash(const char *name);

/* segment.c: @use_proc 1: /proc only, 0: SHM_STAT only, -1: either. */
int shmq_seg_list_from(int use_proc, struct shmq_seg_info **list,
		       size_t *count);

/* peer.c: facts about processes, from /proc/PID/stat */
struct shmq_proc {
	char state;		/* the kernel's letter: R S D T t Z X I ... */
	uint64_t start;		/* start time, clock ticks after boot */
};
int shmq_proc_read(pid_t pid, struct shmq_proc *p);
int64_t shmq_boot_time(void);	/* seconds since the epoch, 0 if unknown */
/* This process's start time (ticks after boot), 0 if /proc is missing. */
uint64_t shmq_self_start(void);

/*
 * Watching one peer process: a pidfd, opened once the process's start time
 * has been checked against the one it recorded, polled at deadlines.
 */
struct shmq_peer {
	uint64_t owner;		/* the owner word being watched */
	int pidfd;		/* -1: none (no pidfd_open; /proc is used) */
	int dead;		/* latched once seen dead */
};
void shmq_peer_init(struct shmq_peer *p);
void shmq_peer_watch(struct shmq_peer *p, uint64_t owner);
int shmq_peer_alive(struct shmq_peer *p);	/* polls; 1 alive, 0 dead */
void shmq_peer_forget(struct shmq_peer *p);
/* Is the process named by an owner word (pid + start time) alive? */
int shmq_owner_alive(uint64_t owner);

/* channel.c, for the fuzzer: the checks of an opener, on plain memory. */
int shmq_attach_memory(void *mem, size_t size, int slot, shmq_t **out);
int shmq_describe_memory(const void *mem, uint64_t segsz, int removed,
			 struct shmq_desc *d);

/* channel.c, shared with hub.c */
struct shmq_hdr;
struct shmq_ec;
__attribute__((format(printf, 2, 3)))
void shmq_explain(const struct shmq_options *o, const char *fmt, ...);
uint64_t shmq_round_capacity(size_t want);	/* 0: too large */
int shmq_begin_open(const char *address, const struct shmq_options *o,
		    struct shmq_addr *a, unsigned *mode, int64_t *deadline);
int shmq_trusted(const struct shmq_seg_info *s, unsigned mode,
		 const struct shmq_options *o);
int shmq_attach_vetted(int shmid, unsigned mode, const struct shmq_options *o,
		       uint64_t min, const char *what, struct shmq_seg_info *s,
		       void **p);
void shmq_hdr_init(struct shmq_hdr *h, const struct shmq_addr *a, unsigned mode,
		   unsigned kind, unsigned flags, uint64_t c0, uint64_t c1,
		   uint64_t total);
uint64_t shmq_hdr_total(const struct shmq_hdr *copy);
int shmq_check_header(const struct shmq_hdr *copy, uint64_t segsz,
		      const struct shmq_addr *a, int shmid,
		      const struct shmq_options *o, unsigned kind);
int shmq_chan_offer(const struct shmq_options *o, unsigned mode, shmq_t **out);
int shmq_chan_joined(shmq_t *q);
int shmq_chan_withdraw(shmq_t *q);
int shmq_chan_take_offer(int shmid, const struct shmq_options *o, unsigned mode,
			 void *hub_map, struct shmq_ec *door, shmq_t **out);
int shmq_chan_poll(shmq_t *q);
int shmq_chan_ready(shmq_t *q);
void shmq_chan_check(shmq_t *q);

/*
 * hub.c: connect to the hub at @a as a client, waiting for a server until
 * @deadline (shmq_open() lands here when it finds a hub).
 */
int shmq_hub_connect(const struct shmq_addr *a, const struct shmq_options *o,
		     unsigned mode, int64_t deadline, shmq_t **out);

#endif /* SHMQ_INTERNAL_H */
