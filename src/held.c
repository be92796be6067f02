/* SPDX-License-Identifier: MIT */
/*
 * Descriptors the library holds across calls, and fork().
 *
 * Handles hold descriptors between calls (pidfds, epoll sets, sockets),
 * and each process holds one socket that its wakes are sent from.  A fork
 * child inherits the numbers.  A child that closes what it inherited
 * (close_range(), as daemons, sandboxes and subprocess do) and then opens
 * files of its own finds them under the same numbers: any later use of a
 * number the library remembered would hit a file that is not its own (a
 * wake written into a TCP stream, a close of the child's pipe).
 *
 * So every descriptor the library holds is on one list, and fork()'s
 * child handler closes them all before the child's program runs a line:
 * at that moment, and only then, every number is certainly still ours.
 * Each holder then reads -1, so an inherited handle touches no descriptor
 * in the child, and the child's first wake makes a socket of its own.
 *
 * A child made without fork()'s handlers (_Fork(), the raw clone) cannot
 * be caught at that moment.  Each holder records the pid that took it:
 * where getpid() says otherwise, the library neither uses nor closes the
 * number (the copy stays open in that child until it execs or exits:
 * a leak that cannot hurt anybody, where a close could).
 */
#include <pthread.h>
#include <unistd.h>

#include "held.h"
#include "internal.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct shmq_held list = { -1, 0, &list, &list };
static pid_t forker;	/* the process in fork(), for its child's handler */

/* Bumped in every child fork() makes (internal.h). */
unsigned shmq_fork_gen;

static void before_fork(void)
{
	pthread_mutex_lock(&lock);
	forker = getpid();
}

static void after_fork_in_parent(void)
{
	pthread_mutex_unlock(&lock);
}

/*
 * One thread, before the child's program runs: every number on the list
 * is ours, if the list is the forking process's own.  One inherited
 * without fork()'s handlers (a fork() in a _Fork() child that has taken
 * nothing yet) is its parent's: its numbers may be the child's files now,
 * and its holders freed; it is dropped, not walked.
 */
static void after_fork_in_child(void)
{
	struct shmq_held *h, *next;

	for (h = list.next; list.pid == forker && h != &list; h = next) {
		next = h->next;
		close(h->fd);
		shmq_store_relaxed(&h->fd, -1);
		h->prev = h->next = h;
	}
	list.prev = list.next = &list;
	list.pid = getpid();
	shmq_fetch_add_relaxed(&shmq_fork_gen, 1);
	pthread_mutex_unlock(&lock);
}

static void watch_forks(void)
{
	pthread_atfork(before_fork, after_fork_in_parent, after_fork_in_child);
}

unsigned shmq_fork_generation(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, watch_forks);
	return shmq_load_relaxed(&shmq_fork_gen);
}

void shmq_held_init(struct shmq_held *h)
{
	h->fd = -1;
	h->pid = 0;
	h->prev = h->next = h;
}

/* Under the lock: link @h, which holds nothing of ours, with @fd. */
static void link_held(struct shmq_held *h, int fd, pid_t me)
{
	/*
	 * A list inherited without fork()'s handlers is the parent's: its
	 * numbers are unproven here, and its holders are not touched.
	 */
	if (list.pid != me) {
		list.prev = list.next = &list;
		list.pid = me;
	}
	/* No reader pairs our pid with an older number (shmq_held_fd()). */
	shmq_store_relaxed(&h->fd, -1);
	shmq_store_release(&h->pid, me);
	h->prev = list.prev;
	h->next = &list;
	list.prev->next = h;
	list.prev = h;
	shmq_store_release(&h->fd, fd);
}

void shmq_held_take(struct shmq_held *h, int fd)
{
	pid_t me = getpid();

	shmq_fork_generation();		/* the handlers, from the first */
	pthread_mutex_lock(&lock);
	link_held(h, fd, me);
	pthread_mutex_unlock(&lock);
}

int shmq_held_take_once(struct shmq_held *h, int fd)
{
	pid_t me = getpid();
	int taken = 0;

	shmq_fork_generation();
	pthread_mutex_lock(&lock);
	if (shmq_load_relaxed(&h->fd) < 0 || shmq_load_relaxed(&h->pid) != me) {
		link_held(h, fd, me);
		taken = 1;
	}
	pthread_mutex_unlock(&lock);
	return taken;
}

void shmq_held_close(struct shmq_held *h)
{
	int fd = shmq_load_relaxed(&h->fd);

	if (fd < 0)
		return;
	if (h->pid != getpid()) {
		/* Another process's number (see the top): hands off. */
		shmq_held_init(h);
		return;
	}
	pthread_mutex_lock(&lock);
	h->prev->next = h->next;
	h->next->prev = h->prev;
	pthread_mutex_unlock(&lock);
	shmq_held_init(h);
	close(fd);
}

int shmq_held_fd(const struct shmq_held *h)
{
	/* The pid first: a number stored after it is what we then read. */
	pid_t pid = shmq_load_acquire(&h->pid);
	int fd = shmq_load_acquire(&h->fd);

	return fd >= 0 && pid == getpid() ? fd : -1;
}
