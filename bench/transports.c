/* SPDX-License-Identifier: MIT */
/*
 * The transports of shmq bench, by family, each in a file of its own
 * (t_*.c); here the list of them all, and what they share.
 */
#include <string.h>
#include <sys/mman.h>

#include "bench.h"

void bench_nothing(struct bench_ctx *c)
{
	(void)c;
}

void bench_no_disconnect(struct bench_ctx *c, int side)
{
	(void)c;
	(void)side;
}

void bench_unmap_shared(struct bench_ctx *c)
{
	if (c->shared && c->shared != MAP_FAILED)
		munmap(c->shared, c->shared_len);
}

/* In the order the report shows them: the floor first, then shmq. */
static const struct {
	const struct transport *v;
	const size_t *n;
} families[] = {
	{ bench_floor, &bench_floor_count },
	{ bench_shmq, &bench_shmq_count },
	{ bench_naive, &bench_naive_count },
	{ bench_kernel, &bench_kernel_count },
	{ bench_library, &bench_library_count },
};

size_t bench_count(void)
{
	size_t i, n = 0;

	for (i = 0; i < sizeof(families) / sizeof(families[0]); i++)
		n += *families[i].n;
	return n;
}

const struct transport *bench_transport(size_t k)
{
	size_t i;

	for (i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
		if (k < *families[i].n)
			return &families[i].v[k];
		k -= *families[i].n;
	}
	return NULL;
}

const struct transport *bench_find(const char *name)
{
	size_t i;

	for (i = 0; i < bench_count(); i++)
		if (!strcmp(bench_transport(i)->name, name))
			return bench_transport(i);
	return NULL;
}

int bench_available(const struct transport *t)
{
	return t->connect || t->family == FAMILY_FLOOR;
}

const char *bench_family_name(int family)
{
	static const char *const names[] = { "floor", "shmq", "naive", "kernel", "library" };

	return family >= 0 && family < (int)(sizeof(names) / sizeof(names[0])) ?
		names[family] : "?";
}
