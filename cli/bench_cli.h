/* SPDX-License-Identifier: MIT */
/* shmq bench in the command: what its planner (bench.c) and report share. */
#ifndef SHMQ_CLI_BENCH_H
#define SHMQ_CLI_BENCH_H

#include "../bench/bench.h"
#include "cli.h"

struct machine {
	char cpu[128], host[64], kernel[128], date[32];
	long cpus;
};

void describe_machine(struct machine *m);
/* Each row's ratios against the best kernel transport and the floor. */
void bench_ratios(struct bench_result *res, size_t n);
const char *size_words(size_t s, char *buf, size_t size);
void print_json(const struct bench_result *res, size_t n,
		const struct machine *m, const struct bench_job *base);
void print_csv(const struct bench_result *res, size_t n);
/* A header line and the tables; @md: Markdown. */
void print_report(const struct bench_result *res, size_t n,
		  const struct machine *m, const struct bench_job *base, int md);
/* PREFIX.json, .csv and .md of one run: 0, or 1 after saying why. */
int save_results(const char *prefix, const struct bench_result *res, size_t n,
		 const struct machine *m, const struct bench_job *base);

#endif
