/* SPDX-License-Identifier: MIT */
/*
 * A tiny TAP producer for the test programs, plus the helpers that
 * multi-process tests share.  Every test calls tap_start() first: it arms
 * a deadline so a hung test dies (and fails) instead of hanging prove.
 */
#ifndef SHMQ_TAP_H
#define SHMQ_TAP_H

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int tap_count;
static int tap_failures;

static inline void tap_start(unsigned deadline_seconds)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	alarm(deadline_seconds);
}

static inline void tap_plan(int n)
{
	printf("1..%d\n", n);
}

__attribute__((format(printf, 2, 3)))
static inline int ok(int cond, const char *fmt, ...)
{
	va_list ap;

	tap_count++;
	if (!cond)
		tap_failures++;
	printf("%sok %d - ", cond ? "" : "not ", tap_count);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	return cond;
}

__attribute__((format(printf, 1, 2)))
static inline void diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

__attribute__((format(printf, 2, 3)))
static inline void skip(int n, const char *fmt, ...)
{
	char why[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	while (n-- > 0)
		printf("ok %d # SKIP %s\n", ++tap_count, why);
}

__attribute__((noreturn, format(printf, 1, 2)))
static inline void skip_all(const char *fmt, ...)
{
	va_list ap;

	printf("1..0 # SKIP ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	exit(0);
}

__attribute__((noreturn, format(printf, 1, 2)))
static inline void bail_out(const char *fmt, ...)
{
	va_list ap;

	printf("Bail out! ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	exit(255);
}

/* Ends the test: prints the plan if none was given, returns the status. */
static inline int done_testing(void)
{
	printf("1..%d\n", tap_count);
	return tap_failures ? 1 : 0;
}

/* "Pass if equal", printing both values when not. */
#define is_int(got, want, ...)                                          \
	do {                                                            \
		long long g_ = (long long)(got), w_ = (long long)(want); \
		if (!ok(g_ == w_, __VA_ARGS__))                          \
			diag("  got %lld, want %lld", g_, w_);           \
	} while (0)

static inline int64_t tap_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/*
 * Wait for @pid at most @timeout_ms; kill it if it overstays.  Returns the
 * wait status, or -1 if it had to be killed.
 */
static inline int wait_child(pid_t pid, int timeout_ms)
{
	int64_t end = tap_now_ns() + (int64_t)timeout_ms * 1000000;
	int status;

	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			return status;
		if (r < 0 && errno != EINTR)
			return -1;
		if (tap_now_ns() > end) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return -1;
		}
		usleep(1000);
	}
}

/* The exit code of a child that exited, or -1 (or -signal). */
static inline int child_exit_code(int status)
{
	if (status == -1)
		return -1;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return -WTERMSIG(status);
	return -1;
}

/* A unique name for this test run, so parallel runs never collide. */
static inline const char *tap_name(const char *base)
{
	static char buf[8][64];
	static int next;
	char *b = buf[next++ % 8];

	snprintf(b, 64, "t-%s-%d-%d", base, (int)getpid(), next);
	return b;
}

#endif /* SHMQ_TAP_H */
