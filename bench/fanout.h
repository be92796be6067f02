/* SPDX-License-Identifier: MIT */
/* shmq bench -m fanout (fanout.c): one publisher, K subscriber processes. */
#ifndef SHMQ_BENCH_FANOUT_H
#define SHMQ_BENCH_FANOUT_H

#include <stddef.h>
#include <stdint.h>

/*
 * Measure topics, topics with lossy subscribers, K channels and K pipes,
 * for each size and each K, @reps repetitions interleaved, @count messages
 * each (0: 200,000, or 20,000 past 8 subscribers), every end waiting as
 * @wait (enum shmq_wait_mode); print the table.  0,
 * or 1 if a measurement failed or a message was wrong.
 */
int bench_fanout(const size_t *sizes, int nsizes, const int *ks, int nks, int reps,
		 uint64_t count, int wait);

#endif
