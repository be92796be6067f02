/* SPDX-License-Identifier: MIT */
/*
 * The floor: one cache line ping-ponged between two processes, the least a
 * round trip can cost; for streaming, one process's memcpy.  It has no
 * send or receive: the runner drives the line itself.
 */
#include <errno.h>
#include <sys/mman.h>

#include "bench.h"

static int floor_prepare(struct bench_ctx *c)
{
	c->shared_len = 4096;
	c->shared = mmap(NULL, c->shared_len, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	return c->shared == MAP_FAILED ? -errno : 0;
}

const struct transport bench_floor[] = {
	{ .name = "floor", .family = FAMILY_FLOOR,
	  .suites = SUITE_PINGPONG_1K | SUITE_STREAM_1K | SUITE_PINGPONG_8,
	  .about = "one cache line ping-ponged between two processes; streaming: "
		   "one process's memcpy",
	  .prepare = floor_prepare, .cleanup = bench_unmap_shared },
};
const size_t bench_floor_count = sizeof(bench_floor) / sizeof(bench_floor[0]);
