/* SPDX-License-Identifier: MIT */
/*
 * The kinds of segment there are (kind.h): the one place that lists them.
 * A new kind is its own file with its table, and a line here.
 */
#include <stddef.h>

#include "kind.h"

static const struct shmq_kind *const kinds[] = {
	&shmq_channel_kind,
	&shmq_hub_kind,
	&shmq_topic_kind,
};

const struct shmq_kind *shmq_kind_find(unsigned kind)
{
	size_t i;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (kinds[i]->kind == kind)
			return kinds[i];
	return NULL;
}

int shmq_kind_plausible(uint64_t size)
{
	size_t i;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (kinds[i]->plausible_size(size))
			return 1;
	return 0;
}

SHMQ_API const char *shmq_kind_name(int kind)
{
	const struct shmq_kind *k = kind > 0 ? shmq_kind_find((unsigned)kind) : NULL;

	if (kind == SHMQ_KIND_LIFE)
		return "life token";

	return k ? k->name : "segment of unknown kind";
}
