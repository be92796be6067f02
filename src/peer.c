/* SPDX-License-Identifier: MIT */
/*
 * The peer layer: facts about processes.
 *
 * A pid alone names a process only until it is reused, so every check
 * here pairs the pid with the process's start time from /proc/PID/stat.
 * kill(pid, 0) would call a zombie alive and a stranger with a reused pid
 * the peer; it is used only where /proc cannot be read.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"
#include "layout.h"

int shmq_proc_read(pid_t pid, struct shmq_proc *p)
{
	char path[64], buf[1024];
	char *s, *save = NULL, *tok;
	ssize_t n;
	int fd, field;

	if (pid <= 0)
		return -ESRCH;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return n < 0 ? -errno : -ESRCH;
	buf[n] = '\0';
	/* The command name may hold spaces and ')': skip to the last ')'. */
	s = strrchr(buf, ')');
	if (!s)
		return -EPROTO;
	/* Field 3 is the state, field 22 the start time. */
	field = 2;
	for (tok = strtok_r(s + 1, " ", &save); tok;
	     tok = strtok_r(NULL, " ", &save)) {
		field++;
		if (field == 3)
			p->state = tok[0];
		if (field == 22) {
			p->start = strtoull(tok, NULL, 10);
			return 0;
		}
	}
	return -EPROTO;
}

int64_t shmq_boot_time(void)
{
	static int64_t cached;
	char line[256];
	FILE *f;
	int64_t t = 0;

	if (__atomic_load_n(&cached, __ATOMIC_RELAXED))
		return cached;
	f = fopen("/proc/stat", "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "btime ", 6)) {
			t = strtoll(line + 6, NULL, 10);
			break;
		}
	fclose(f);
	__atomic_store_n(&cached, t, __ATOMIC_RELAXED);
	return t;
}

SHMQ_API int shmq_pid_state(pid_t pid, int64_t not_after)
{
	struct shmq_proc p;
	int err = shmq_proc_read(pid, &p);

	if (err == -ESRCH)
		return SHMQ_PID_DEAD;
	if (err) {
		/* No /proc: the weaker test is all there is. */
		if (pid > 0 && (kill(pid, 0) == 0 || errno == EPERM))
			return SHMQ_PID_ALIVE;
		return SHMQ_PID_DEAD;
	}
	if (not_after) {
		int64_t boot = shmq_boot_time();
		long hz = sysconf(_SC_CLK_TCK);

		/* Start times are ticks after boot; ctimes whole seconds. */
		if (boot && hz > 0 &&
		    boot + (int64_t)(p.start / (uint64_t)hz) > not_after + 1)
			return SHMQ_PID_DEAD;
	}
	switch (p.state) {
	case 'Z':
	case 'X':
	case 'x':
		return SHMQ_PID_ZOMBIE;
	case 'T':
	case 't':
		return SHMQ_PID_STOPPED;
	default:
		return SHMQ_PID_ALIVE;
	}
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
	if (__atomic_load_n(&cached_pid, __ATOMIC_ACQUIRE) == me)
		return __atomic_load_n(&cached, __ATOMIC_RELAXED);
	if (shmq_proc_read(me, &p))
		p.start = 0;
	__atomic_store_n(&cached, p.start, __ATOMIC_RELAXED);
	__atomic_store_n(&cached_pid, me, __ATOMIC_RELEASE);
	return p.start;
}

static int proc_matches(uint64_t owner)
{
	pid_t pid = (pid_t)shmq_owner_pid(owner);
	uint64_t start = shmq_owner_start(owner);
	struct shmq_proc p;
	int r = shmq_proc_read(pid, &p);

	if (r == -ESRCH)
		return 0;
	if (r)	/* no /proc: kill(0) is all there is */
		return kill(pid, 0) == 0 || errno == EPERM;
	if (p.state == 'Z' || p.state == 'X' || p.state == 'x')
		return 0;
	/* The start time is stored in 40 bits. */
	return start == 0 || (p.start & 0xffffffffffull) == start;
}

int shmq_owner_alive(uint64_t owner)
{
	return shmq_owner_pid(owner) != 0 && proc_matches(owner);
}

void shmq_peer_init(struct shmq_peer *p)
{
	p->owner = 0;
	p->pidfd = -1;
	p->dead = 0;
}

void shmq_peer_forget(struct shmq_peer *p)
{
	if (p->pidfd >= 0)
		close(p->pidfd);
	shmq_peer_init(p);
}

void shmq_peer_watch(struct shmq_peer *p, uint64_t owner)
{
	pid_t pid = (pid_t)shmq_owner_pid(owner);
	long fd;

	shmq_peer_forget(p);
	p->owner = owner;
	if (pid <= 0) {
		p->dead = 1;
		return;
	}
	fd = syscall(SYS_pidfd_open, pid, 0);
	if (fd < 0 && errno == ESRCH) {
		p->dead = 1;
		return;
	}
	if (fd >= 0) {
		int flags = fcntl((int)fd, F_GETFD);

		if (flags >= 0)
			fcntl((int)fd, F_SETFD, flags | FD_CLOEXEC);
	}
	p->pidfd = (int)fd;
	/*
	 * Check the start time after opening the pidfd: if the process that
	 * has the pid now is the one that recorded itself, the pidfd (which
	 * was opened earlier, when the pid could not yet have been reused)
	 * refers to it too.
	 */
	if (!proc_matches(owner))
		p->dead = 1;
}

int shmq_peer_alive(struct shmq_peer *p)
{
	if (p->dead)
		return 0;
	if (p->pidfd >= 0) {
		struct pollfd pfd = { .fd = p->pidfd, .events = POLLIN };

		/* A pidfd turns readable when its process exits. */
		if (poll(&pfd, 1, 0) > 0)
			p->dead = 1;
	} else if (!proc_matches(p->owner)) {
		p->dead = 1;
	}
	return !p->dead;
}
