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
	char *why;		/* one side's: where a library explains a failure */
	size_t why_size;
};

/* Who a transport's mechanism is, for the report's comparisons. */
enum bench_family { FAMILY_FLOOR, FAMILY_SHMQ, FAMILY_NAIVE, FAMILY_KERNEL, FAMILY_LIBRARY };

/*
 * The rows of the default suite (shmq bench with no options) a transport
 * takes part in.  Wake and idle only make sense for a receiver that can
 * sleep.
 */
#define SUITE_PINGPONG_1K 0x1u	/* ping-pong, 1 KiB */
#define SUITE_STREAM_1K 0x2u	/* streaming, 1 KiB */
#define SUITE_PINGPONG_8 0x4u	/* ping-pong, 8 B: the fastest ones */
#define SUITE_WAKE 0x8u		/* wake-up from sleep, 64 B */
#define SUITE_IDLE 0x10u	/* CPU while idle */

/*
 * A transport describes itself: the benchmark's planner and report look at
 * these facts, never at its name.
 */
struct transport {
	const char *name;
	int family;		/* enum bench_family */
	unsigned suites;	/* SUITE_*: its rows in the default suite */
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
	 * Zero-copy, optional: reserve() a buffer of ctx->size bytes to fill
	 * in place and commit() it; peek() at the next message in place and
	 * release() it.  NULL from reserve/peek is a failure (ctx->error says
	 * which).
	 */
	void *(*reserve)(struct bench_ctx *c, int side);
	int (*commit)(struct bench_ctx *c, int side);
	const void *(*peek)(struct bench_ctx *c, int side);
	int (*release)(struct bench_ctx *c, int side);
};

/* Each family's transports, in its own file (t_*.c). */
extern const struct transport bench_floor[], bench_shmq[], bench_naive[],
	bench_kernel[], bench_library[];
extern const size_t bench_floor_count, bench_shmq_count, bench_naive_count,
	bench_kernel_count, bench_library_count;

/* All of them, in the report's order (transports.c). */
size_t bench_count(void);
const struct transport *bench_transport(size_t i);
const struct transport *bench_find(const char *name);
/* Built in: the floor, or whatever has a connect() (zmq only with libzmq). */
int bench_available(const struct transport *t);
const char *bench_family_name(int family);

/* A spinning wait's pause. */
static inline void relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#else
	__asm__ __volatile__("" ::: "memory");
#endif
}

/* What transports share. */
void bench_nothing(struct bench_ctx *c);
void bench_no_disconnect(struct bench_ctx *c, int side);
void bench_unmap_shared(struct bench_ctx *c);

/* What one measurement found. */
struct bench_result {
	const struct transport *t;
	int mode;
	size_t size;
	int status;		/* 0 ok, 1 skipped, -1 failed */
	char note[512];		/* skip or failure reason */
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
