/* SPDX-License-Identifier: MIT */
/*
 * shmq: message passing between processes on one Linux host over
 * System V shared memory.
 *
 * Conventions, everywhere in this header:
 *  - functions return 0 (or a count) on success and -errno on failure;
 *    they never set errno, never print and never exit;
 *  - shmq_strerror() turns any such return value into a sentence.
 */
#ifndef SHMQ_H
#define SHMQ_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SHMQ_VERSION_MAJOR 0
#define SHMQ_VERSION_MINOR 1
#define SHMQ_VERSION_PATCH 0
#define SHMQ_VERSION_STRING "0.1.0"

/* The version of the library actually loaded, e.g. "0.1.0". */
const char *shmq_version(void);

/* A sentence for a -errno (or errno) value returned by this library. */
const char *shmq_strerror(int err);

/* ------------------------------------------------------------------ */
/* Addresses                                                           */
/* ------------------------------------------------------------------ */

/*
 * One string names a segment everywhere (library, CLI, Python):
 *
 *   NAME             1..63 of [A-Za-z0-9._-], not starting with '-';
 *                    key = FNV-1a-32("shmq/" NAME), never IPC_PRIVATE.
 *                    The name is stored in a shmq segment, so a key
 *                    collision is detected instead of obeyed.
 *   ftok:PATH:PROJ   exactly ftok(3)'s key; PROJ is 1..255 (decimal,
 *                    0x hex, or one character such as 'A').
 *   key:KEY          a key in hex (0x...) or decimal, not 0.
 *   id:SHMID         an existing segment's identifier.
 */
enum shmq_addr_kind {
	SHMQ_ADDR_NAME = 1,
	SHMQ_ADDR_FTOK = 2,
	SHMQ_ADDR_KEY = 3,
	SHMQ_ADDR_ID = 4,
};

#define SHMQ_NAME_MAX 63
#define SHMQ_ADDR_PATH_MAX 1024

struct shmq_addr {
	int kind;		/* enum shmq_addr_kind */
	key_t key;		/* NAME, FTOK, KEY; IPC_PRIVATE for ID */
	int shmid;		/* ID; -1 otherwise */
	int proj;		/* FTOK: the project id, 1..255 */
	uint64_t dev;		/* FTOK: st_dev of PATH when parsed */
	uint64_t ino;		/* FTOK: st_ino of PATH when parsed */
	char name[SHMQ_NAME_MAX + 1];		/* NAME */
	char path[SHMQ_ADDR_PATH_MAX];		/* FTOK */
	const char *why;	/* on -EINVAL: what was wrong, a static string */
};

/* The valid forms, for error messages: "NAME, ftok:PATH:PROJ, ...". */
const char *shmq_addr_forms(void);

/*
 * Parse @text into @addr.  -EINVAL for a malformed address (addr->why
 * says what is wrong); for ftok:, the errors of stat(2) on PATH.
 */
int shmq_addr_parse(const char *text, struct shmq_addr *addr);

/* The canonical text of @addr into @buf; returns its length or -ENOSPC. */
int shmq_addr_format(const struct shmq_addr *addr, char *buf, size_t size);

/* ------------------------------------------------------------------ */
/* Segments: thin, honest wrappers over shmget/shmat/shmdt/shmctl      */
/* ------------------------------------------------------------------ */

#define SHMQ_SEG_EXCL 0x1	/* create: fail with -EEXIST if present */
#define SHMQ_SEG_HUGETLB 0x2	/* create: try SHM_HUGETLB, fall back */
#define SHMQ_SEG_RDONLY 0x4	/* attach: read-only mapping */

struct shmq_seg_info {
	key_t key;
	int shmid;
	uint64_t size;
	uid_t uid, cuid;	/* owner, creator */
	gid_t gid, cgid;
	unsigned mode;		/* permission bits, 0777 */
	uint64_t nattch;
	pid_t cpid, lpid;	/* creator, last shmat/shmdt */
	int64_t atime, dtime, ctime;	/* seconds since the epoch, 0: never */
	int removed;		/* marked for removal (SHM_DEST) */
	int locked;		/* SHM_LOCKED */
	int64_t rss, swap;	/* bytes resident / swapped; -1: unknown */
};

/*
 * Create a segment of @size bytes with permission @mode (0 means 0600)
 * at @addr (not an id: address).  Without SHMQ_SEG_EXCL an existing
 * segment is returned as is.
 */
int shmq_seg_create(const struct shmq_addr *addr, size_t size, unsigned mode,
		    unsigned flags, int *shmid);
/* The id of the existing segment at @addr; -ENOENT if there is none. */
int shmq_seg_open(const struct shmq_addr *addr, int *shmid);
int shmq_seg_attach(int shmid, unsigned flags, void **base);
int shmq_seg_detach(void *base);
/* Mark for removal; the kernel frees it at the last detach. */
int shmq_seg_remove(int shmid);
int shmq_seg_stat(int shmid, struct shmq_seg_info *info);
/*
 * Every segment on the host, from /proc/sysvipc/shm (or SHM_INFO and
 * SHM_STAT where /proc is missing), sorted by id.  Free *list with free().
 */
int shmq_seg_list(struct shmq_seg_info **list, size_t *count);

/* ------------------------------------------------------------------ */
/* Processes                                                           */
/* ------------------------------------------------------------------ */

enum shmq_pid_state {
	SHMQ_PID_DEAD = 0,	/* no such process (or a newer one has the pid) */
	SHMQ_PID_ALIVE = 1,
	SHMQ_PID_STOPPED = 2,	/* SIGSTOP, or stopped by a tracer */
	SHMQ_PID_ZOMBIE = 3,	/* exited, not yet reaped: dead for shmq */
};

/*
 * What process @pid is doing.  If @not_after is non-zero, a process that
 * started after that time (seconds since the epoch) is not the one meant
 * and is reported dead: that is how pid reuse is told apart.
 */
int shmq_pid_state(pid_t pid, int64_t not_after);

/* A short word for a state: "alive", "stopped", "zombie", "dead". */
const char *shmq_pid_state_name(int state);

/* How blocking calls wait (the channel API below uses it). */
enum shmq_wait_mode {
	SHMQ_WAIT_HYBRID = 0,	/* spin for spin_ns, then sleep (default) */
	SHMQ_WAIT_SPIN = 1,	/* never sleep: lowest latency, burns a core */
	SHMQ_WAIT_BLOCK = 2,	/* sleep at once: lowest CPU */
};

#ifdef __cplusplus
}
#endif
#endif /* SHMQ_H */
