/* SPDX-License-Identifier: MIT */
/*
 * A latency histogram: exact below 1024 ns, then 128 buckets per power of
 * two (under 1% error), up to 2^40 ns.  Constant memory, so an endless
 * ping never grows; min, max and the mean are exact.
 */
#ifndef SHMQ_CLI_STATS_H
#define SHMQ_CLI_STATS_H

#include <stdint.h>

#define HIST_SUB 128
#define HIST_BUCKETS (1024 + 31 * HIST_SUB)

struct hist {
	uint64_t count, sum, min, max;
	uint32_t b[HIST_BUCKETS];
};

void hist_init(struct hist *h);
void hist_add(struct hist *h, uint64_t ns);
/* The value below which a fraction @q (0..1) of the samples lie. */
uint64_t hist_quantile(const struct hist *h, double q);
/* "min/p50/p99/p99.9/max" in microseconds, as text. */
const char *hist_summary(const struct hist *h, char *buf, size_t size);

#endif
