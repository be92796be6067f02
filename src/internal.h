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
#include <unistd.h>
#include <time.h>
#include "atomics.h"
#include "held.h"
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
/* Is @name (at most @size bytes, NUL-terminated in them) a valid NAME? */
int shmq_name_valid(const char *name, size_t size);

/*
 * segment.c: make @uid the owner of @shmid (IPC_SET, allowed to its
 * creator): then the creator and the owner are both let in with the owner
 * bits, and, with mode 0600, nobody else.
 */
int shmq_seg_set_owner(int shmid, uid_t uid);
/*
 * segment.c: map every page of [@p, @p + @len) now (@write: writable), so
 * that the data path never takes a page fault; a new segment's pages are
 * allocated.  Never fatal: a page the kernel cannot give (no memory, a
 * hardware error) is left for the data path to fault on.
 */
void shmq_seg_prefault(void *p, size_t len, int write);
/* @use_proc 1: /proc only, 0: SHM_STAT only, -1: either. */
int shmq_seg_list_from(int use_proc, struct shmq_seg_info **list,
		       size_t *count);

/* peer.c: facts about processes, from /proc/PID/stat */
struct shmq_proc {
	char state;		/* the kernel's letter: R S D T t Z X I ... */
	long threads;		/* how many it has */
	uint64_t start;		/* start time, clock ticks after boot */
};
int shmq_proc_read(pid_t pid, struct shmq_proc *p);
int64_t shmq_boot_time_ns(void);	/* since the epoch, 0 if unknown */
/* This process's start time (ticks after boot), 0 if /proc is missing. */
uint64_t shmq_self_start(void);

/*
 * What the process an owner word (pid + start time) names is doing:
 * SHMQ_PID_ALIVE, _STOPPED, _DEAD (gone, a zombie, or a newer process has
 * the pid) or _UNKNOWN (/proc cannot be read, e.g. out of descriptors).
 */
int shmq_owner_pid_state(uint64_t owner);
/* The effective uid of the process @owner names: 0, -ESRCH, or -errno. */
int shmq_owner_uid(uint64_t owner, uid_t *uid);

/*
 * Watching one peer process.  A watcher holds one descriptor from the
 * moment the channel opens until it closes: a pidfd (or the peer's
 * /proc/PID/stat held open, where pidfd_open is missing), so that it can
 * always tell a zombie from a live process without opening anything.  An
 * end that does not know its peer yet holds a reservation instead, which
 * the watch replaces (closing it frees the slot the new descriptor takes).
 */
enum {
	SHMQ_WATCH_NONE, SHMQ_WATCH_RESERVED, SHMQ_WATCH_PIDFD, SHMQ_WATCH_PROCFD,
	SHMQ_WATCH_TOKEN,	/* no descriptor: the life token, each poll */
};
struct shmq_peer {
	uint64_t owner;		/* the owner word being watched */
	const uint64_t *life_at;	/* the holder's life word, in the segment */
	uint64_t life;		/* what it held, once it matched the owner */
	struct shmq_held fd;	/* none, or what kind says */
	int kind;
	int dead;		/* latched once seen dead (relaxed atomics) */
};
void shmq_peer_init(struct shmq_peer *p);
/* Hold a descriptor for a later watch: 0, or -EMFILE and the like. */
int shmq_peer_reserve(struct shmq_peer *p);
/*
 * Watch the process @owner names, whose life word is at @life_at (NULL:
 * none), replacing whatever was held: 0 (the process may already be known
 * dead), or -EMFILE, -ENFILE, -ENOMEM, or -ENOSYS when neither pidfds nor
 * /proc exist: the peer cannot be watched.  A holder with a life token is
 * watched by a pidfd where its namespace lets us see it, and by the token
 * alone (no descriptor at all) where it does not.
 */
int shmq_peer_watch(struct shmq_peer *p, uint64_t owner, const uint64_t *life_at);
int shmq_peer_alive(struct shmq_peer *p);	/* polls; 1 alive, 0 dead */
/* The same, latching nothing: safe beside other threads' polls. */
int shmq_peer_looks_alive(const struct shmq_peer *p);
void shmq_peer_forget(struct shmq_peer *p);

/*
 * life.c: life tokens, liveness that holds across PID namespaces.  A life
 * token is a segment of SHMQ_LIFE_SIZE_MIN + (0..2047) bytes.
 */
#define SHMQ_LIFE_SIZE_MIN 2048u
/* The life word for @owner, this process's: 0, or -errno (no token). */
int shmq_life_mine(uint64_t owner, uint64_t *life);
uint64_t shmq_life_word(uint64_t owner, int id, unsigned cookie);
/* Does @life belong to the holder @owner names? */
int shmq_life_matches(uint64_t owner, uint64_t life);
/*
 * Does the token @life names exist?  SHMQ_PID_ALIVE (with its creator's
 * pid in our namespace in *@here, 0 if not visible), _DEAD or _UNKNOWN.
 */
int shmq_life_token_state(uint64_t life, pid_t *here);
/* Has segment @s the key and size of a life token? */
int shmq_life_shaped(const struct shmq_seg_info *s);
/*
 * Is @s a life token whose process died before marking it removed (so the
 * kernel never frees it)?  1 with the maker's pid in *@pid, else 0.
 */
int shmq_life_leftover(const struct shmq_seg_info *s, pid_t *pid);
/* The effective uid that made the token: 0, or -ESRCH. */
int shmq_life_uid(uint64_t life, uid_t *uid);
/*
 * What the holder of an owner word with life word @life is doing, from
 * any PID namespace: SHMQ_PID_ALIVE, _STOPPED, _ELSEWHERE, _DEAD or
 * _UNKNOWN (a claim in progress, or an unreadable token: never dead).
 * *@here: its pid in our namespace, 0 if none.  shmq_holder_alive(): 1
 * alive (stopped, elsewhere), 0 dead, -EAGAIN unknown.
 */
int shmq_holder_state(uint64_t owner, uint64_t life, pid_t *here);
int shmq_holder_alive(uint64_t owner, uint64_t life);
/*
 * Claim an owner word: compare-and-swap @old to @me, then, once won,
 * store @life beside it.  1 won, 0 lost.
 */
int shmq_claim(uint64_t *owner, uint64_t *life_w, uint64_t old, uint64_t me,
	       uint64_t life);

/* peer.c: this process's network namespace (an inode), 0 if unknown. */
uint64_t shmq_self_netns(void);

/*
 * fork(): shmq_fork_generation() is what a handle records when it opens
 * (it also starts counting forks); the handle belongs to another process
 * when shmq_fork_gen differs from it.
 */
extern unsigned shmq_fork_gen;
unsigned shmq_fork_generation(void);
static inline int shmq_forked_since(unsigned gen)
{
	return __builtin_expect(shmq_load_relaxed(&shmq_fork_gen) != gen, 0);
}

/*
 * The same, also for a child made without fork()'s handlers (_Fork(), the
 * raw system call), at the cost of a getpid(): for closing, not for every
 * call.  @me: the owner word the handle was opened with.
 */
static inline int shmq_opened_elsewhere(unsigned gen, uint64_t me)
{
	return shmq_forked_since(gen) || (uint64_t)getpid() != ((me >> 2) & 0x3fffff);
}

/* channel_open.c, for the fuzzer: the checks of an opener, on plain memory. */
int shmq_attach_memory(void *mem, size_t size, int slot, shmq_t **out);
/* describe.c, for the fuzzer: inspection of plain memory. */
int shmq_describe_memory(const void *mem, const struct shmq_seg_info *s,
			 struct shmq_desc *d);

/* trust.c: what every opener shares. */
__attribute__((format(printf, 2, 3)))
void shmq_explain(const struct shmq_options *o, const char *fmt, ...);
/*
 * What every opener (shmq_open, shmq_connect, shmq_hub_open) does first:
 * parse @address into @a and check @o, explaining any failure; then the
 * mode asked for and the absolute deadline of open_timeout_ms.
 */
int shmq_begin_open(const char *address, const struct shmq_options *o,
		    struct shmq_addr *a, unsigned *mode, int64_t *deadline);
/*
 * May we use a segment someone else may have made, for @mode?  1, or 0
 * with the reason explained.
 */
int shmq_trusted(const struct shmq_seg_info *s, unsigned mode,
		 const struct shmq_options *o);
/*
 * Attach segment @shmid after vetting it: readable, made and owned by
 * someone we trust (shmq_trusted), at least @min bytes (too small to be a
 * shmq @what otherwise), and still the same segment once attached, since
 * ids are reused.  0 with its stat in *@s and the mapping in *@p; -EAGAIN:
 * it went away or changed, look it up again; or -errno, explained.
 */
int shmq_attach_vetted(int shmid, unsigned mode, const struct shmq_options *o,
		       uint64_t min, const char *what, struct shmq_seg_info *s,
		       void **p);

/*
 * This process's life word for owner word @me (life.c), as every opener
 * takes it first: 0, or -errno, explained (a process out of segments
 * fails to open rather than go unwatched).
 */
int shmq_open_life(uint64_t me, uint64_t *life, const struct shmq_options *o);

/* header.c */
uint64_t shmq_round_capacity(size_t want);	/* 0: too large */
int shmq_proven_dead(int pid_state);	/* SHMQ_PID_DEAD or _ZOMBIE */

/*
 * The channel's entry points for the hub (channel.c, channel_open.c).
 * The server's end of a new client's channel: a pair at IPC_PRIVATE, not
 * waited for, owned by @client_uid.
 */
struct shmq_ec;
int shmq_chan_offer(const struct shmq_options *o, uid_t client_uid, shmq_t **out);
/* Has the client joined?  1 (now watched), 0 not yet, -errno unwatchable. */
int shmq_chan_joined(shmq_t *q);
/* Take an offer back: 0 (freed), or 1 if the client joined just before. */
int shmq_chan_withdraw(shmq_t *q);
/*
 * What a hub's client rings after each commit and close: its bit in the
 * hub's ready set (none: ready NULL, a server of layout 2.2 or one past
 * SHMQ_HUB_READY_BITS clients), then the door the server sleeps on.
 */
struct shmq_hub_bell {
	void *map;		/* the hub's mapping, detached at close */
	struct shmq_ec *door;
	const uint64_t *door_poller;
	uint64_t *ready, *summary;
	uint64_t ready_mask, summary_mask;
};
/*
 * The client's side: join the offered channel, ringing @door (and the
 * server's descriptor, whose token is at @door_poller) on commits, if the
 * hub's creator (@server, the hub segment's kernel facts) made it.
 */
int shmq_chan_take_offer(int shmid, const struct shmq_options *o, unsigned mode,
			 const struct shmq_seg_info *server,
			 const struct shmq_hub_bell *bell, shmq_t **out);
/* Spinning: a record to receive (or a poison)?  One load. */
int shmq_chan_has_record(shmq_t *q);
/* Would a receive return at once: a record, an end, an error? */
int shmq_chan_would_return(shmq_t *q);
/* The periodic look at the client's process, for would_return to report. */
void shmq_chan_poll_peer(shmq_t *q);
/*
 * Is the peer, attached now, in another network namespace?  Then the
 * wakes of an event loop's descriptor (poller.c) cannot pass between us:
 * they are datagrams to an abstract socket, which exists only in the
 * namespace that made it.
 */
int shmq_chan_peer_off_net(const shmq_t *q);
/* The pidfd watching the client's process, or -1 (none, or not a pidfd). */
int shmq_chan_peer_pidfd(shmq_t *q);

/*
 * hub.c: connect to the hub at @a as a client, waiting for a server until
 * @deadline (shmq_open() lands here when it finds a hub).
 */
int shmq_hub_connect(const struct shmq_addr *a, const struct shmq_options *o,
		     unsigned mode, int64_t deadline, shmq_t **out);

#endif /* SHMQ_INTERNAL_H */
