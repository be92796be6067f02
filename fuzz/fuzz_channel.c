/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness: arbitrary bytes as the contents of a channel segment
 * (header, endpoint words, ring control, ring data), attached as either
 * endpoint with every check an opener makes, then drained and written to
 * with every call a user can make.  It must never crash, hang, read out of
 * bounds or invoke undefined behaviour: every outcome is valid data or a
 * clean error.  make fuzz runs it; make test replays fuzz/corpus.
 *
 * Most inputs get a correct header checksum and state written over them,
 * so the fuzzer spends its time in the geometry and ring checks behind the
 * checksum; inputs whose length is 3 modulo 7 keep their own, so the
 * checksum test itself is fuzzed too.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "layout.h"

#define FUZZ_CAP 4096
#define FUZZ_TOTAL (SHMQ_HDR_SIZE + 2 * FUZZ_CAP)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void exercise(shmq_t *q)
{
	unsigned char buf[FUZZ_CAP];
	const void *p;
	size_t len;
	void *d;
	int i, r;

	/* Drain: every record, however it came to be there. */
	for (i = 0; i < 2 * FUZZ_CAP; i++) {
		r = shmq_try_recv(q, buf, sizeof(buf), &len);
		if (r == -EMSGSIZE) {
			if (shmq_peek(q, &p, &len, 0) == 0 && len > sizeof(buf))
				abort();	/* a length beyond the ring: a bug */
			shmq_release(q);
			continue;
		}
		if (r)
			break;
		if (len > sizeof(buf))
			abort();
	}
	/* Zero-copy reads of whatever is left. */
	for (i = 0; i < 64 && shmq_peek(q, &p, &len, 0) == 0; i++)
		if (len)
			buf[0] ^= ((const unsigned char *)p)[len - 1];
	shmq_release(q);
	/* Writes, copying and in place, against whatever head says. */
	for (i = 0; i < 64; i++) {
		if (shmq_try_send(q, buf, (size_t)(i * 37) % 2000))
			break;
		if (shmq_reserve(q, (size_t)i, &d, 0) == 0) {
			memset(d, i, (size_t)i);
			if (i % 3)
				shmq_commit(q);
			else
				shmq_discard(q);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static unsigned char *mem;
	struct shmq_hdr *h;
	struct shmq_seg_info seg = { .shmid = -1, .size = FUZZ_TOTAL, .cpid = 0 };
	struct shmq_desc desc;
	shmq_t *q;
	int slot;

	if (!mem && !(mem = aligned_alloc(4096, FUZZ_TOTAL)))
		return 0;
	memset(mem, 0, FUZZ_TOTAL);
	memcpy(mem, data, size < FUZZ_TOTAL ? size : FUZZ_TOTAL);
	h = (struct shmq_hdr *)(void *)mem;
	if (size % 7 != 3) {
		h->check = shmq_hdr_checksum(h);
		h->state = SHMQ_STATE_READY;
	}
	shmq_describe_memory(mem, &seg, &desc);
	for (slot = 0; slot < 2; slot++) {
		if (shmq_attach_memory(mem, FUZZ_TOTAL, slot, &q))
			continue;
		exercise(q);
		shmq_close(q);
	}
	return 0;
}
