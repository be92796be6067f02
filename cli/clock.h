/* SPDX-License-Identifier: MIT */
/* The one clock of the command and the benchmark: CLOCK_MONOTONIC. */
#ifndef SHMQ_CLI_CLOCK_H
#define SHMQ_CLI_CLOCK_H

#include <stdint.h>
#include <time.h>

/* CLOCK_MONOTONIC in nanoseconds. */
static inline int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Sleep @ns, or less if a signal arrives. */
static inline void nap(int64_t ns)
{
	struct timespec ts = { ns / 1000000000, ns % 1000000000 };

	nanosleep(&ts, NULL);
}

#endif
