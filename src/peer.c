/* SPDX-License-Identifier: MIT */
/*
 * The peer layer: facts about processes.
 *
 * A pid alone names a process only until it is reused, so every check
 * here pairs the pid with the process's start time from /proc/PID/stat.
 * kill(pid, 0) would call a zombie alive and a stranger with a reused pid
 * the peer: it is used only to prove a process gone (ESRCH), never to
 * prove one alive.  What cannot be told is said to be unknown.
 *
 * A watcher (struct shmq_peer) holds one descriptor for as long as it
 * watches, acquired when the channel opens: a pidfd, or, on kernels
 * without pidfd_open, the peer's /proc/PID/stat kept open.  Either one
 * goes on telling a zombie from a live process without opening anything
 * new, so running out of descriptors later cannot blind it.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "atomics.h"
#include "internal.h"
#include "layout.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

/*
 * Parse the text of /proc/PID/stat: field 3 is the state, 20 the number
 * of threads, 22 the start.
 */
static int parse_stat(char *buf, struct shmq_proc *p)
{
	char *s = strrchr(buf, ')'), *save = NULL, *tok;
	int field = 2;

	/* The command name may hold spaces and ')': skip to the last ')'. */
	if (!s)
		return -EPROTO;
	for (tok = strtok_r(s + 1, " ", &save); tok;
	     tok = strtok_r(NULL, " ", &save)) {
		field++;
		if (field == 3)
			p->state = tok[0];
		if (field == 20)
			p->threads = strtol(tok, NULL, 10);
		if (field == 22) {
			p->start = strtoull(tok, NULL, 10);
			return 0;
		}
	}
	return -EPROTO;
}

/* Read an open /proc/PID/stat from its start: -ESRCH once the process is reaped. */
static int read_stat_fd(int fd, struct shmq_proc *p)
{
	char buf[1024];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	if (n < 0)
		return errno == ESRCH ? -ESRCH : -errno;
	if (n == 0)
		return -ESRCH;
	buf[n] = '\0';
	return parse_stat(buf, p);
}

static int open_stat(pid_t pid)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	return fd;
}

int shmq_proc_read(pid_t pid, struct shmq_proc *p)
{
	int fd, r;

	if (pid <= 0)
		return -ESRCH;
	fd = open_stat(pid);
	if (fd < 0)
		return fd;
	r = read_stat_fd(fd, p);
	close(fd);
	return r;
}

/*
 * The boot time, in nanoseconds since the epoch: the wall clock less the
 * time since boot, read now (so a clock step counts, as it does for the
 * kernel's times).  /proc/stat's btime is whole seconds; with it and a
 * start time also cut to seconds, a process that started up to 3 s after
 * a segment's ctime could pass for one that started before.
 */
int64_t shmq_boot_time_ns(void)
{
	struct timespec wall, up;

	if (clock_gettime(CLOCK_REALTIME, &wall) || clock_gettime(CLOCK_BOOTTIME, &up))
		return 0;
	return ((int64_t)wall.tv_sec - up.tv_sec) * 1000000000LL +
	       ((int64_t)wall.tv_nsec - up.tv_nsec);
}

/*
 * A process whose first thread exited (pthread_exit() in main) shows 'Z'
 * while its other threads run: it is a zombie only once it has no other.
 */
static int state_of(const struct shmq_proc *p)
{
	switch (p->state) {
	case 'Z':
	case 'X':
	case 'x':
		return p->threads > 1 ? SHMQ_PID_ALIVE : SHMQ_PID_ZOMBIE;
	case 'T':
	case 't':
		return SHMQ_PID_STOPPED;
	default:
		return SHMQ_PID_ALIVE;
	}
}

/* /proc cannot be read: only a vanished pid is a fact. */
static int unknown_unless_gone(pid_t pid)
{
	if (pid > 0 && kill(pid, 0) < 0 && errno == ESRCH)
		return SHMQ_PID_DEAD;
	return SHMQ_PID_UNKNOWN;
}

SHMQ_API int shmq_pid_state(pid_t pid, int64_t not_after)
{
	struct shmq_proc p;
	int err;

	/*
	 * The kernel records 0 for a process it cannot name in our PID
	 * namespace (a segment made in a container, seen from another one):
	 * not a dead process, one we cannot see.
	 */
	if (pid == 0)
		return SHMQ_PID_UNKNOWN;
	err = shmq_proc_read(pid, &p);
	if (err == -ESRCH)
		return SHMQ_PID_DEAD;
	if (err)
		return unknown_unless_gone(pid);
	if (not_after) {
		int64_t boot = shmq_boot_time_ns();
		long hz = sysconf(_SC_CLK_TCK);

		/*
		 * Start times are ticks after boot (cut down to a tick);
		 * ctimes are whole seconds (cut down): a process that started
		 * before the ctime's second ended is never "later".
		 */
		if (boot && hz > 0) {
			int64_t started = boot + (int64_t)(p.start / (uint64_t)hz) * 1000000000LL +
					  (int64_t)(p.start % (uint64_t)hz) * 1000000000LL / hz;

			if (started > (not_after + 1) * 1000000000LL)
				return SHMQ_PID_DEAD;
		}
	}
	return state_of(&p);
}

SHMQ_API const char *shmq_pid_state_name(int state)
{
	switch (state) {
	case SHMQ_PID_ALIVE:
		return "alive";
	case SHMQ_PID_STOPPED:
		return "stopped";
	case SHMQ_PID_ZOMBIE:
		return "zombie";
	case SHMQ_PID_UNKNOWN:
		return "unknown";
	case SHMQ_PID_ELSEWHERE:
		return "alive in another PID namespace";
	default:
		return "dead";
	}
}

uint64_t shmq_self_start(void)
{
	static pid_t cached_pid;
	static uint64_t cached;
	struct shmq_proc p;
	pid_t me = getpid();

	/* Per process: a forked child has its own start time. */
	if (shmq_load_acquire(&cached_pid) == me)
		return shmq_load_relaxed(&cached);
	if (shmq_proc_read(me, &p))
		p.start = 0;
	shmq_store_relaxed(&cached, p.start);
	shmq_store_release(&cached_pid, me);
	return p.start;
}

/* Is @p the process an owner word recorded?  The start time has 40 bits. */
static int same_process(uint64_t owner, const struct shmq_proc *p)
{
	uint64_t start = shmq_owner_start(owner);

	return start == 0 || (p->start & 0xffffffffffull) == start;
}

int shmq_owner_pid_state(uint64_t owner)
{
	pid_t pid = (pid_t)shmq_owner_pid(owner);
	struct shmq_proc p;
	int r;

	if (pid == 0)
		return SHMQ_PID_DEAD;
	r = shmq_proc_read(pid, &p);
	if (r == -ESRCH)
		return SHMQ_PID_DEAD;
	if (r)
		return unknown_unless_gone(pid);
	return same_process(owner, &p) ? state_of(&p) : SHMQ_PID_DEAD;
}

int shmq_owner_uid(uint64_t owner, uid_t *uid)
{
	pid_t pid = (pid_t)shmq_owner_pid(owner);
	char path[64], buf[4096], *line;
	struct shmq_proc p;
	int dir, fd, r;
	ssize_t n;

	if (pid <= 0)
		return -ESRCH;
	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	/* One directory for both files: they describe the same process. */
	dir = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	fd = openat(dir, "stat", O_RDONLY | O_CLOEXEC);
	r = fd < 0 ? -errno : read_stat_fd(fd, &p);
	if (fd >= 0)
		close(fd);
	if (r == 0 && (!same_process(owner, &p) || state_of(&p) == SHMQ_PID_ZOMBIE))
		r = -ESRCH;
	if (r == 0) {
		fd = openat(dir, "status", O_RDONLY | O_CLOEXEC);
		n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
		r = n < 0 ? (errno == ESRCH || errno == ENOENT ? -ESRCH : -errno) : 0;
		if (fd >= 0)
			close(fd);
		if (r == 0) {
			unsigned long real, eff;

			buf[n] = '\0';
			line = strstr(buf, "\nUid:");
			if (!line || sscanf(line + 5, "%lu %lu", &real, &eff) != 2)
				r = -EPROTO;
			else
				*uid = (uid_t)eff;
		}
	}
	close(dir);
	return r;
}

/*
 * A holder with a life token (life.c) is judged by the token, which every
 * PID namespace sees alike; its pid only where the token's kernel record
 * shows it.  A holder with no life word is an older build's: its pid.
 */
int shmq_holder_state(uint64_t owner, uint64_t life, pid_t *here)
{
	pid_t pid = (pid_t)shmq_owner_pid(owner);
	struct shmq_proc p;
	int st;

	*here = 0;
	if (owner == 0 || owner == SHMQ_OWNER_SEALED || pid == 0)
		return SHMQ_PID_DEAD;
	if (life == 0) {
		/* An older build's end: its pid, in our namespace or nowhere. */
		*here = pid;
		return shmq_owner_pid_state(owner);
	}
	if (!shmq_life_matches(owner, life)) {
		/*
		 * A claim in progress: only a positive sighting of the very
		 * process (pid and start time) counts; anything else is
		 * unknown, never dead.
		 */
		st = shmq_owner_pid_state(owner);
		if (st == SHMQ_PID_ALIVE || st == SHMQ_PID_STOPPED) {
			*here = pid;
			return st;
		}
		return SHMQ_PID_UNKNOWN;
	}
	st = shmq_life_token_state(life, here);
	if (st != SHMQ_PID_ALIVE)
		return st;
	/* Visible here (maybe under another pid): stopped, or running. */
	if (*here > 0 && shmq_proc_read(*here, &p) == 0 &&
	    (p.state == 'T' || p.state == 't'))
		return SHMQ_PID_STOPPED;
	return *here == pid ? SHMQ_PID_ALIVE : SHMQ_PID_ELSEWHERE;
}

int shmq_holder_alive(uint64_t owner, uint64_t life)
{
	pid_t here;

	switch (shmq_holder_state(owner, life, &here)) {
	case SHMQ_PID_ALIVE:
	case SHMQ_PID_STOPPED:
	case SHMQ_PID_ELSEWHERE:
		return 1;
	case SHMQ_PID_UNKNOWN:
		return -EAGAIN;
	default:
		return 0;
	}
}

/* ------------------------------------------------------------------ */
/* Watchers                                                            */
/* ------------------------------------------------------------------ */

void shmq_peer_init(struct shmq_peer *p)
{
	p->owner = 0;
	p->life_at = NULL;
	p->life = 0;
	shmq_held_init(&p->fd);
	p->kind = SHMQ_WATCH_NONE;
	p->dead = 0;
}

void shmq_peer_forget(struct shmq_peer *p)
{
	shmq_held_close(&p->fd);
	shmq_peer_init(p);
}

int shmq_peer_reserve(struct shmq_peer *p)
{
	int fd;

	shmq_peer_forget(p);
	/* Any descriptor holds the slot; this one costs the kernel least. */
	fd = open("/", O_PATH | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	shmq_held_take(&p->fd, fd);
	p->kind = SHMQ_WATCH_RESERVED;
	return 0;
}

static void latch_dead(struct shmq_peer *p)
{
	shmq_store_relaxed(&p->dead, 1);
}

/* A verified read of the process: dead unless it is @owner, and alive. */
static void judge(struct shmq_peer *p, uint64_t owner, int r, const struct shmq_proc *st)
{
	if (r == -ESRCH || (r == 0 && (!same_process(owner, st) ||
				       state_of(st) == SHMQ_PID_ZOMBIE)))
		latch_dead(p);
}

/*
 * Watch @pid by a pidfd: 0 done (dead latched if so), 1 use the stat file
 * instead (no pidfd_open here, or the pidfd took the last slot and the
 * start time cannot be read beside it), or -errno.
 */
static int watch_by_pidfd(struct shmq_peer *p, uint64_t owner, pid_t pid)
{
	long fd = syscall(SYS_pidfd_open, pid, 0);
	struct shmq_proc st;
	int flags, r;

	if (fd < 0 && errno == ESRCH) {
		latch_dead(p);
		return 0;
	}
	if (fd < 0)
		return errno == ENOSYS || errno == EPERM || errno == EINVAL ? 1 : -errno;
	flags = fcntl((int)fd, F_GETFD);
	if (flags >= 0)
		fcntl((int)fd, F_SETFD, flags | FD_CLOEXEC);
	shmq_held_take(&p->fd, (int)fd);
	p->kind = SHMQ_WATCH_PIDFD;
	/*
	 * Check the start time after opening the pidfd: if the process that
	 * has the pid now is the one that recorded itself, the pidfd (opened
	 * earlier, when the pid could not yet have been reused) refers to it.
	 */
	r = shmq_proc_read(pid, &st);
	if (r != -EMFILE && r != -ENFILE) {
		judge(p, owner, r, &st);
		return 0;	/* with no /proc at all: the pidfd, unverified */
	}
	shmq_held_close(&p->fd);
	p->kind = SHMQ_WATCH_NONE;
	return 1;
}

/* Watch @pid by its /proc/PID/stat, kept open. */
static int watch_by_stat(struct shmq_peer *p, uint64_t owner, pid_t pid)
{
	struct shmq_proc st;
	int fd = open_stat(pid);

	if (fd == -ESRCH && access("/proc/self/stat", R_OK) == 0) {
		latch_dead(p);
		return 0;
	}
	if (fd < 0)
		return fd == -ESRCH ? -ENOSYS : fd;	/* no /proc: blind */
	shmq_held_take(&p->fd, fd);
	p->kind = SHMQ_WATCH_PROCFD;
	judge(p, owner, read_stat_fd(fd, &st), &st);
	return 0;
}

/* The life word, once it belongs to the holder watched; else 0. */
static uint64_t life_of(const struct shmq_peer *p)
{
	uint64_t life = shmq_load_relaxed(&p->life);

	if (life || !p->life_at)
		return life;
	life = shmq_load_acquire(p->life_at);
	return shmq_life_matches(p->owner, life) ? life : 0;
}

/*
 * Watch a holder that has a life token.  Where its pid can be seen from
 * here (the token's kernel record names it), a pidfd on that pid, checked
 * against the token afterwards (while the token exists the pid cannot
 * have been reused), so that a death is a readable descriptor; with no
 * descriptor left, -EMFILE, as for any watch.  Where it cannot be seen,
 * or pidfds are missing, the token itself at each poll, which needs no
 * descriptor at all.
 */
static int watch_token(struct shmq_peer *p, uint64_t life)
{
	pid_t here, again;
	long fd;
	int flags;

	shmq_store_relaxed(&p->life, life);
	p->kind = SHMQ_WATCH_TOKEN;
	if (shmq_life_token_state(life, &here) == SHMQ_PID_DEAD) {
		latch_dead(p);
		return 0;
	}
	if (here <= 0)
		return 0;
	fd = syscall(SYS_pidfd_open, here, 0);
	/*
	 * Out of descriptors: fail the open, as ever (an event loop's
	 * descriptor needs the pidfd to see the death at once).  No pidfds
	 * here (old kernels, valgrind), or it died just now: the token.
	 */
	if (fd < 0 && (errno == EMFILE || errno == ENFILE || errno == ENOMEM))
		return -errno;
	if (fd < 0)
		return 0;
	if (shmq_life_token_state(life, &again) != SHMQ_PID_ALIVE || again != here) {
		close((int)fd);
		return 0;	/* it died meanwhile: the token says so next */
	}
	flags = fcntl((int)fd, F_GETFD);
	if (flags >= 0)
		fcntl((int)fd, F_SETFD, flags | FD_CLOEXEC);
	shmq_held_take(&p->fd, (int)fd);
	p->kind = SHMQ_WATCH_PIDFD;
	return 0;
}

int shmq_peer_watch(struct shmq_peer *p, uint64_t owner, const uint64_t *life_at)
{
	pid_t pid = (pid_t)shmq_owner_pid(owner);
	uint64_t life;
	int r;

	/* Whatever we held frees a slot for what we open now. */
	shmq_peer_forget(p);
	p->owner = owner;
	p->life_at = life_at;
	if (pid <= 0) {
		latch_dead(p);
		return 0;
	}
	life = life_at ? shmq_load_acquire(life_at) : 0;
	if (life && shmq_life_matches(owner, life))
		return watch_token(p, life);
	if (life) {
		/*
		 * Its claim is in progress (the life word follows the owner
		 * word): the token, once its word is there; alive until then.
		 */
		p->kind = SHMQ_WATCH_TOKEN;
		return 0;
	}
	/* An older build's end, with no token: its pid. */
	r = watch_by_pidfd(p, owner, pid);
	return r == 1 ? watch_by_stat(p, owner, pid) : r;
}

/* Without latching anything: safe beside the threads that poll. */
int shmq_peer_looks_alive(const struct shmq_peer *p)
{
	if (shmq_load_relaxed(&p->dead))
		return 0;
	switch (p->kind) {
	case SHMQ_WATCH_PROCFD: {
		struct shmq_proc st;
		int r = read_stat_fd(shmq_held_num(&p->fd), &st);

		if (r == -ESRCH || (r == 0 && state_of(&st) == SHMQ_PID_ZOMBIE))
			return 0;
		return 1;
	}
	case SHMQ_WATCH_PIDFD: {
		struct pollfd pfd = { .fd = shmq_held_num(&p->fd), .events = POLLIN };
		uint64_t life = shmq_load_relaxed(&p->life);
		pid_t here;

		/* A pidfd turns readable when its process exits, zombie or not. */
		if (poll(&pfd, 1, 0) > 0)
			return 0;
		/*
		 * Its token goes at exec too, while the pidfd's process lives
		 * on: the end is gone with the old program's memory.
		 */
		return !life || shmq_life_token_state(life, &here) != SHMQ_PID_DEAD;
	}
	case SHMQ_WATCH_TOKEN: {
		uint64_t life = life_of(p);
		pid_t here;

		/* Unknown (a claim in progress, no access) is never dead. */
		return !life || shmq_life_token_state(life, &here) != SHMQ_PID_DEAD;
	}
	default:
		return 1;	/* nobody watched yet (nothing, or a reservation) */
	}
}

int shmq_peer_alive(struct shmq_peer *p)
{
	if (shmq_load_relaxed(&p->dead))
		return 0;
	/* Keep the life word once it is there: nobody can take it back. */
	if (p->kind == SHMQ_WATCH_TOKEN && !shmq_load_relaxed(&p->life))
		shmq_store_relaxed(&p->life, life_of(p));
	if (!shmq_peer_looks_alive(p)) {
		latch_dead(p);
		return 0;
	}
	return 1;
}

/*
 * This process's network namespace (the inode of /proc/self/ns/net), 0 if
 * it cannot be told.  An event loop's wake is a datagram to an abstract
 * socket, which exists only in its own network namespace (poller.c).
 */
uint64_t shmq_self_netns(void)
{
	struct stat st;

	return stat("/proc/self/ns/net", &st) == 0 ? (uint64_t)st.st_ino : 0;
}
