/* SPDX-License-Identifier: MIT */
/* shmq bench -m bridge (bridge_bench.c): a topic over two bridges, and ZeroMQ alone. */
#ifndef SHMQ_BENCH_BRIDGE_H
#define SHMQ_BENCH_BRIDGE_H

#include <stddef.h>
#include <stdint.h>

/*
 * For each of @sizes, @reps repetitions interleaved over the two paths:
 * @count burst messages (0: 200,000) and 2,000 paced ones.  Prints
 * messages/s (median, spread), one-way p50 and p99, and each process's
 * CPU per message, then the ratios.  0, or 1 if a run failed.
 */
int bench_bridge(const size_t *sizes, int nsizes, int reps, uint64_t count);

#endif
