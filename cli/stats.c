/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <string.h>

#include "stats.h"

void hist_init(struct hist *h)
{
	memset(h, 0, sizeof(*h));
	h->min = UINT64_MAX;
}

static unsigned bucket_of(uint64_t v)
{
	unsigned k;

	if (v < 1024)
		return (unsigned)v;
	if (v >= (1ull << 40))
		return HIST_BUCKETS - 1;
	k = 63 - (unsigned)__builtin_clzll(v);	/* 10..39 */
	return 1024 + (k - 10) * HIST_SUB +
	       (unsigned)((v - (1ull << k)) >> (k - 7));
}

/* The middle of a bucket's range. */
static uint64_t value_of(unsigned b)
{
	unsigned k, sub;

	if (b < 1024)
		return b;
	k = (b - 1024) / HIST_SUB + 10;
	sub = (b - 1024) % HIST_SUB;
	return (1ull << k) + ((uint64_t)sub << (k - 7)) + (1ull << (k - 8));
}

void hist_add(struct hist *h, uint64_t ns)
{
	h->b[bucket_of(ns)]++;
	h->count++;
	h->sum += ns;
	if (ns < h->min)
		h->min = ns;
	if (ns > h->max)
		h->max = ns;
}

uint64_t hist_quantile(const struct hist *h, double q)
{
	uint64_t want, seen = 0, v;
	unsigned i;

	if (!h->count)
		return 0;
	want = (uint64_t)(q * (double)h->count);
	if (want >= h->count)
		want = h->count - 1;
	for (i = 0; i < HIST_BUCKETS; i++) {
		seen += h->b[i];
		if (seen > want)
			break;
	}
	v = value_of(i);
	/* A bucket's middle can lie outside what was seen: clamp. */
	if (v < h->min)
		v = h->min;
	if (v > h->max)
		v = h->max;
	return v;
}

const char *hist_summary(const struct hist *h, char *buf, size_t size)
{
	snprintf(buf, size, "%.2f/%.2f/%.2f/%.2f/%.2f",
		 h->count ? h->min / 1e3 : 0.0, hist_quantile(h, 0.5) / 1e3,
		 hist_quantile(h, 0.99) / 1e3, hist_quantile(h, 0.999) / 1e3,
		 h->max / 1e3);
	return buf;
}
