/* SPDX-License-Identifier: MIT */
/* shmq bench -m hub (hub.c): one active client among N idle ones. */
#ifndef SHMQ_BENCH_HUB_H
#define SHMQ_BENCH_HUB_H

#include <stddef.h>
#include <stdint.h>

/*
 * For each N of @idle (@nidle of them), a hub server and N connected idle
 * clients, and one more client that ping-pongs @count round trips (0:
 * 100,000) of @size bytes; @reps repetitions, interleaved over N.  Prints
 * round trips per second (median, and the spread) and the ratio to N = 0.
 * 0, or 1 if a measurement failed or an echo was wrong.
 */
int bench_hub(size_t size, const int *idle, int nidle, int reps, uint64_t count);

#endif
