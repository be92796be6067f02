/* SPDX-License-Identifier: MIT */
/*
 * Descriptors the library holds across calls (held.c).  Each lives in a
 * struct shmq_held wherever its holder keeps it; fd is -1 when none is
 * held, and reads -1 in a fork child, whose copies fork() closed.
 */
#ifndef SHMQ_HELD_H
#define SHMQ_HELD_H

#include <sys/types.h>

#include "atomics.h"

struct shmq_held {
	int fd;				/* -1: none */
	pid_t pid;			/* the process that holds it */
	struct shmq_held *prev, *next;	/* the process's list of them */
};

/* Holds nothing (a new or cleared holder; never one that holds). */
void shmq_held_init(struct shmq_held *h);
/* Hold @fd (>= 0), ours from now on.  @h holds nothing before. */
void shmq_held_take(struct shmq_held *h, int fd);
/*
 * The same, only if @h holds nothing of this process's yet: 1 taken, 0
 * not (another thread was first; the caller closes @fd).
 */
int shmq_held_take_once(struct shmq_held *h, int fd);
/* Close it if this process holds it; else only forget the number. */
void shmq_held_close(struct shmq_held *h);
/* The descriptor, or -1 when it is not this process's to use. */
int shmq_held_fd(const struct shmq_held *h);

/* The number, for a holder only its own process reaches (a handle). */
static inline int shmq_held_num(const struct shmq_held *h)
{
	return shmq_load_relaxed(&h->fd);
}

#endif /* SHMQ_HELD_H */
