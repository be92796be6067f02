/* SPDX-License-Identifier: MIT */
/*
 * shmq bench: transports measured side by side, in separate processes.
 *
 * A transport moves whole messages between side 0 and side 1 of a pair of
 * forked processes.  The runner (run.c) drives it in one of four modes and
 * verifies every message, so a broken transport cannot look fast.
 */
#ifndef SHMQ_BENCH_H
#define SHMQ_BENCH_H

#include <stddef.h>
#include <stdint.h>

enum bench_mode { MODE_PINGPONG, MODE_STREAM, MODE_WAKE, MODE_IDLE, MODE_COUNT };

struct bench_ctx {
	size_t size;		/* message size */
	size_t capacity;	/* shmq rings; 0: the library's default */
	int mode;
	char name[64];		/* unique per run: channel names, paths */
	int fd[4];		/* pipes, sockets */
	int port;
	int id;			/* SysV msqid */
	void *shared;		/* MAP_SHARED, inherited by both sides */
	size_t shared_len;
	void *priv;		/* one side's own state, after connect */
	char skip[160];		/* why prepare() skipped */
	int error;		/* -errno behind a NULL from claim/take */
};

struct transport {
	const char *name;
	const char *kind;	/* "shmq", "naive", "kernel", "library", "floor" */
	const char *about;	/* one line for --help and the report */
	int wait;		/* shmq: enum shmq_wait_mode */
	/* Parent, before fork: 0, or 1 to skip (ctx->skip says why), or -errno. */
	int (*prepare)(struct bench_ctx *c);
	/* Child: become side 0 or 1. */
	int (*connect)(struct bench_ctx *c, int side);
	/* One whole message of exactly ctx->size bytes. */
	int (*send)(struct bench_ctx *c, int side, const void *buf);
	int (*recv)(struct bench_ctx *c, int side, void *buf);
	void (*disconnect)(struct bench_ctx *c, int side);
	/* Parent, after both sides exited. */
	void (*cleanup)(struct bench_ctx *c);
	/*
	 * Zero-copy, optional: claim() a buffer of ctx->size bytes to fill in
	 * place and publish() it; take() the next message in place and done()
	 * with it.  NULL from claim/take is a failure (ctx->error says which).
	 */
	void *(*claim)(struct bench_ctx *c, int side);
	int (*publish)(struct bench_ctx *c, int side);
	const void *(*take)(struct bench_ctx *c, int side);
	int (*done)(struct bench_ctx *c, int side);
};

extern const struct transport bench_transports[];
extern const size_t bench_ntransports;
const struct transport *bench_find(const char *name);

/* What one measurement found. */
struct bench_result {
	const struct transport *t;
	int mode;
	size_t size;
	int status;		/* 0 ok, 1 skipped, -1 failed */
	char note[200];		/* skip or failure reason */
	uint64_t messages;	/* verified, over every repetition */
	int reps;
	double rate;		/* median: round trips/s or messages/s */
	double rate_min, rate_max;
	double mbps;		/* stream: megabytes (1e6) per second */
	double p50, p99, p999, max;	/* ns: round trip, or wake-up latency */
	double cpu_us;		/* both processes, per round trip or message */
	double idle_cpu;	/* idle: percent of one CPU */
	double vs_kernel, vs_floor;	/* filled in by the report */
};

struct bench_job {
	int mode;
	size_t size;
	uint64_t count;		/* per repetition; 0: calibrate to `seconds` */
	double seconds;		/* per repetition, when calibrating */
	int reps;
	int pin[2];		/* CPUs, or -1 */
	double idle_seconds;
	int wake_samples;
	size_t capacity;	/* shmq rings; 0: the library's default */
};

int bench_run(const struct transport *t, const struct bench_job *job,
	      struct bench_result *res);
const char *bench_mode_name(int mode);

#endif
