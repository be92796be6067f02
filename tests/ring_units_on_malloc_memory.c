/*
 * The ring on malloc'd memory, one thread: empty, full, exact fit at the
 * end, padding at the wrap, the largest message, zero length, positions
 * near 2^64, reserve then discard, batches, trim, restart recovery, and
 * every kind of corrupted header.
 */
#include "atomics.h"
#include "ring.h"
#include "tap.h"

struct mem {
	struct shmq_ring_ctl *ctl;
	unsigned char *data;
	uint64_t cap;
	struct shmq_ring p, c;	/* producer and consumer views */
};

static void setup(struct mem *m, uint64_t cap, uint64_t pos)
{
	m->cap = cap;
	m->ctl = aligned_alloc(SHMQ_LINE, sizeof(*m->ctl));
	m->data = aligned_alloc(4096, cap);
	if (shmq_ring_format(m->ctl, m->data, cap, pos) ||
	    shmq_ring_attach(&m->p, m->ctl, m->data, cap, 0) ||
	    shmq_ring_attach(&m->c, m->ctl, m->data, cap, 0))
		bail_out("attach of a fresh ring failed");
}

static void teardown(struct mem *m)
{
	free(m->ctl);
	free(m->data);
}

static int put(struct mem *m, const void *buf, size_t len)
{
	void *dst;
	int r = shmq_ring_reserve(&m->p, len, &dst);

	if (r)
		return r;
	memcpy(dst, buf, len);
	return shmq_ring_commit(&m->p) == 1 ? 0 : -1;
}

/* Take one message; returns its length or -errno. */
static long get(struct mem *m, void *buf, size_t cap)
{
	const void *src;
	size_t len;
	int r = shmq_ring_peek(&m->c, &src, &len);

	if (r)
		return r;
	if (len <= cap)
		memcpy(buf, src, len);
	shmq_ring_release(&m->c);
	shmq_ring_return_space(&m->c);
	return (long)len;
}

static void test_empty_and_one(void)
{
	struct mem m;
	char buf[64];

	setup(&m, 4096, 0);
	is_int(get(&m, buf, sizeof(buf)), -EAGAIN, "empty ring: peek is -EAGAIN");
	is_int(shmq_ring_format(m.ctl, m.data, 4096, 4), -EINVAL,
	       "a misaligned start position is refused");
	is_int(shmq_ring_format(m.ctl, m.data, 3000, 0), -EINVAL,
	       "a capacity that is not a power of two is refused");
	shmq_ring_format(m.ctl, m.data, 4096, 0);
	is_int(put(&m, "hello", 5), 0, "put one message");
	is_int(get(&m, buf, sizeof(buf)), 5, "get it back: 5 bytes");
	ok(!memcmp(buf, "hello", 5), "  with its bytes");
	is_int(get(&m, buf, sizeof(buf)), -EAGAIN, "empty again");
	is_int(shmq_ring_queued(m.ctl), 0, "nothing queued");
	teardown(&m);
}

static void test_full(void)
{
	struct mem m;
	char msg[100] = { 0 }, buf[128];
	int n = 0, expect;

	setup(&m, 4096, 0);
	/* 112-byte records, and 8 bytes kept for the zero-ahead slot. */
	expect = (4096 - 8) / 112;
	while (put(&m, msg, sizeof(msg)) == 0)
		n++;
	is_int(n, expect, "a 4 KiB ring holds %d records of 100 bytes", expect);
	is_int(put(&m, msg, sizeof(msg)), -EAGAIN, "full: reserve is -EAGAIN");
	is_int(shmq_ring_queued(m.ctl), expect * 112, "queued bytes as published");
	is_int(get(&m, buf, sizeof(buf)), 100, "take one");
	/* The next record would wrap: it needs the padding room as well. */
	is_int(put(&m, msg, sizeof(msg)), -EAGAIN,
	       "  still full: the next record needs padding to the end too");
	is_int(get(&m, buf, sizeof(buf)), 100, "take another");
	is_int(put(&m, msg, sizeof(msg)), 0, "then there is room for one more");
	is_int(put(&m, msg, sizeof(msg)), -EAGAIN, "and only one");
	n = 0;
	while (get(&m, buf, sizeof(buf)) == 100)
		n++;
	is_int(n, expect - 1, "the other %d come out", expect - 1);
	teardown(&m);
}

static void test_exact_fit_and_pad(void)
{
	struct mem m;
	char msg[200], buf[256];
	long len;
	int i;

	for (i = 0; i < 200; i++)
		msg[i] = (char)i;
	/* Start 208 bytes before the end: a 200-byte record fits exactly. */
	setup(&m, 4096, 4096 - 208);
	is_int(put(&m, msg, 200), 0, "a record that ends exactly at the end");
	is_int(m.p.tail & m.p.mask, 0, "  leaves no padding: the next starts at 0");
	len = get(&m, buf, sizeof(buf));
	ok(len == 200 && !memcmp(buf, msg, 200), "  and reads back whole");
	is_int(put(&m, "x", 1), 0, "the next record goes at offset 0");
	is_int(get(&m, buf, sizeof(buf)), 1, "  and reads back");
	teardown(&m);

	/* Start 96 bytes before the end: a 200-byte record must wrap. */
	setup(&m, 4096, 4096 - 96);
	is_int(put(&m, msg, 200), 0, "a record that does not fit before the end");
	is_int(m.p.tail & m.p.mask, 208, "  is padded and placed at offset 0");
	is_int(m.data[4096 - 96 + 4], SHMQ_REC_PAD, "  behind a padding record");
	len = get(&m, buf, sizeof(buf));
	ok(len == 200 && !memcmp(buf, msg, 200),
	   "  the consumer skips the padding and reads it contiguous");
	teardown(&m);
}

static void test_largest(void)
{
	struct mem m;
	uint64_t off;
	int all = 1;
	void *dst;
	char *big = malloc(4096);

	setup(&m, 4096, 0);
	is_int(m.p.max_msg, 4096 / 2 - 8, "the largest message is capacity/2 - 8");
	is_int(shmq_ring_reserve(&m.p, 4096 / 2 - 7, &dst), -EMSGSIZE,
	       "one byte more is -EMSGSIZE");
	teardown(&m);
	/* From every starting offset, the largest fits into an empty ring. */
	for (off = 0; off < 4096; off += 8) {
		setup(&m, 4096, off);
		memset(big, (int)(off / 8), 2040);
		if (put(&m, big, 2040) || get(&m, big, 4096) != 2040)
			all = 0;
		teardown(&m);
	}
	ok(all, "the largest message fits an empty ring at all 512 offsets");
	free(big);
}

static void test_zero_length(void)
{
	struct mem m;
	char buf[8];

	setup(&m, 4096, 0);
	is_int(put(&m, "", 0), 0, "a zero-length message commits");
	ok(*(uint64_t *)(void *)m.data != 0, "  its header word is not 0");
	is_int(get(&m, buf, sizeof(buf)), 0, "  and reads back as 0 bytes");
	is_int(get(&m, buf, sizeof(buf)), -EAGAIN, "  once");
	teardown(&m);
}

static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static void test_near_2_64(void)
{
	struct mem m;
	unsigned char msg[700], buf[700];
	uint64_t start = UINT64_MAX - 3 * 4096 + 1 - 7;
	int i, good = 1;

	start &= ~(uint64_t)7;
	setup(&m, 4096, start);
	for (i = 0; i < 200; i++) {
		size_t len = mix((uint64_t)i) % sizeof(msg), j;
		long got;

		for (j = 0; j < len; j++)
			msg[j] = (unsigned char)mix((uint64_t)i * 1000 + j);
		if (put(&m, msg, len)) {
			good = 0;
			break;
		}
		got = get(&m, buf, sizeof(buf));
		if (got != (long)len || memcmp(buf, msg, len))
			good = 0;
	}
	ok(good, "200 messages across position 2^64 arrive intact");
	ok(m.c.head < start, "  the positions did wrap (head %#llx)",
	   (unsigned long long)m.c.head);
	teardown(&m);
}

static void test_discard_batch_trim(void)
{
	struct mem m;
	const void *src;
	char buf[64];
	size_t len;
	void *d1, *d2, *d3;

	setup(&m, 4096, 0);
	shmq_ring_reserve(&m.p, 10, &d1);
	memcpy(d1, "discarded!", 10);
	shmq_ring_reserve(&m.p, 10, &d2);
	shmq_ring_discard(&m.p);
	is_int(get(&m, buf, sizeof(buf)), -EAGAIN, "reserve then discard: nothing to read");
	is_int(put(&m, "kept", 4), 0, "a later message commits");
	is_int(get(&m, buf, sizeof(buf)), 4, "  and is the only one read");
	ok(!memcmp(buf, "kept", 4), "  with its own bytes");
	is_int(get(&m, buf, sizeof(buf)), -EAGAIN, "  nothing of the discarded batch leaks");

	shmq_ring_reserve(&m.p, 3, &d1);
	shmq_ring_reserve(&m.p, 3, &d2);
	shmq_ring_reserve(&m.p, 3, &d3);
	memcpy(d1, "one", 3);
	memcpy(d2, "two", 3);
	memcpy(d3, "six", 3);
	is_int(shmq_ring_peek(&m.c, &src, &len), -EAGAIN,
	       "a batch of 3 reserved: nothing visible before commit");
	is_int(shmq_ring_commit(&m.p), 3, "commit publishes 3 records");
	is_int(shmq_ring_peek(&m.c, &src, &len), 0, "peek the first");
	ok(len == 3 && !memcmp(src, "one", 3), "  'one'");
	is_int(shmq_ring_peek(&m.c, &src, &len), 0, "peek the second");
	ok(len == 3 && !memcmp(src, "two", 3), "  'two'");
	is_int(shmq_ring_peek(&m.c, &src, &len), 0, "peek the third");
	ok(len == 3 && !memcmp(src, "six", 3), "  'six'");
	is_int(shmq_ring_peek(&m.c, &src, &len), -EAGAIN, "no fourth");
	is_int(m.ctl->head, 16, "peeking publishes nothing");
	is_int(shmq_ring_release(&m.c), 3, "release frees all 3");
	is_int(m.ctl->head, 16, "  but publishes nothing yet");
	is_int(shmq_ring_unreturned(&m.c), 48, "  48 bytes wait to be published");
	shmq_ring_return_space(&m.c);
	is_int(m.ctl->head, 16 + 48, "publish moves head past 3 records, one store");

	/* Rewind: peeked but unreleased records are read again. */
	put(&m, "again", 5);
	shmq_ring_peek(&m.c, &src, &len);
	shmq_ring_rewind(&m.c);
	is_int(shmq_ring_peek(&m.c, &src, &len), 0, "after rewind the record is there again");
	ok(len == 5 && !memcmp(src, "again", 5), "  the same record");
	shmq_ring_release(&m.c);
	shmq_ring_return_space(&m.c);

	/* Trim: reserve generously, commit what was written. */
	shmq_ring_reserve(&m.p, 1000, &d1);
	memcpy(d1, "short", 5);
	is_int(shmq_ring_trim(&m.p, 5), 0, "trim a 1000-byte reservation to 5");
	is_int(shmq_ring_trim(&m.p, 6), -EINVAL, "  it cannot grow back");
	shmq_ring_commit(&m.p);
	put(&m, "next", 4);
	is_int(get(&m, buf, sizeof(buf)), 5, "the trimmed record is 5 bytes");
	is_int(get(&m, buf, sizeof(buf)), 4, "  and the next follows right after it");
	teardown(&m);
}

static void test_restart_recovery(void)
{
	struct mem m;
	struct shmq_ring again;
	char buf[64];
	int i;

	setup(&m, 4096, 0);
	for (i = 0; i < 5; i++)
		put(&m, "abcdefgh", 8);
	get(&m, buf, sizeof(buf));
	/* A producer that died between commit and the tail store. */
	m.ctl->tail = 16;
	is_int(shmq_ring_attach(&again, m.ctl, m.data, 4096, 0), 0,
	       "a restarted producer attaches");
	is_int(again.committed, 5 * 16, "  and finds the true end past a stale tail");
	is_int(again.head_cache, 16, "  and the consumer's head");
	/* A dead producer's reservation (headers after the first) is not. */
	{
		void *d;

		shmq_ring_reserve(&again, 8, &d);
		shmq_ring_reserve(&again, 8, &d);	/* header written now */
	}
	is_int(shmq_ring_attach(&m.p, m.ctl, m.data, 4096, 0), 0, "another restart");
	is_int(m.p.committed, 5 * 16, "  ignores records reserved but never committed");
	for (i = 0; i < 4; i++)
		get(&m, buf, sizeof(buf));
	is_int(get(&m, buf, sizeof(buf)), -EAGAIN, "the consumer reads exactly the 5 committed");
	m.ctl->tail = 5000;
	is_int(shmq_ring_attach(&again, m.ctl, m.data, 4096, 0), -EBADMSG,
	       "a tail more than a ring ahead of head is corruption");
	teardown(&m);
}

static void corrupt_and_peek(uint64_t word, const char *what)
{
	struct mem m;
	char buf[64];

	setup(&m, 4096, 64);
	put(&m, "ok", 2);
	get(&m, buf, sizeof(buf));
	put(&m, "ok", 2);
	/* Overwrite the header of the committed record at position 80. */
	*(uint64_t *)(void *)(m.data + 80) = word;
	is_int(get(&m, buf, sizeof(buf)), -EBADMSG, "%s: -EBADMSG", what);
	teardown(&m);
}

static void test_corruption(void)
{
	struct mem m;
	void *d;

	corrupt_and_peek(shmq_rec_word(80, 7, 2), "an unknown record type");
	corrupt_and_peek(shmq_rec_word(88, SHMQ_REC_MSG, 2), "a check for another position");
	corrupt_and_peek(shmq_rec_word(80, SHMQ_REC_MSG, 2041), "a length over the maximum");
	corrupt_and_peek(shmq_rec_word(80, SHMQ_REC_MSG, 4096 - 80),
			 "a record running past the end");
	corrupt_and_peek(shmq_rec_word(80, SHMQ_REC_PAD, 8), "padding that does not reach the end");
	corrupt_and_peek(0xffffffffffffffffull, "all ones");
	corrupt_and_peek(shmq_rec_word(80, SHMQ_REC_MSG, 2) ^ 1, "a length one more (it fits)");
	corrupt_and_peek(shmq_rec_word(80, SHMQ_REC_MSG, 2) ^ 2, "a length one less");

	/*
	 * Every one-bit change of a header, at positions all over the range
	 * (the wrap of 2^64 included), for lengths and types a producer
	 * writes: the check catches it, whatever the rest would say.
	 */
	{
		uint64_t seed = 7, pos, w, bad = 0, tried = 0;
		int i, b;

		for (i = 0; i < 20000; i++) {
			uint32_t type = i & 1 ? SHMQ_REC_PAD : SHMQ_REC_MSG;

			seed = seed * 6364136223846793005ull + 1442695040888963407ull;
			pos = (i < 10 ? (uint64_t)0 - 8 * (uint64_t)(i + 1) : seed) & ~(uint64_t)7;
			w = shmq_rec_word(pos, type, (seed >> 13) % (1u << (i % 32)));
			for (b = 0; b < 64; b++, tried++)
				bad += (w ^ (uint64_t)1 << b) >> 40 ==
				       shmq_rec_check(pos, (w ^ (uint64_t)1 << b) & 0xffffffffffull);
		}
		is_int(bad, 0, "every one-bit change of %llu headers is caught by the check",
		       (unsigned long long)tried / 64);
	}

	/* Two pads in a row. */
	setup(&m, 4096, 4096 - 16);
	*(uint64_t *)(void *)(m.data + 4096 - 16) = shmq_rec_word(4096 - 16, SHMQ_REC_PAD, 8);
	*(uint64_t *)(void *)(m.data) = shmq_rec_word(4096, SHMQ_REC_PAD, 4088);
	{
		const void *src;
		size_t len;

		is_int(shmq_ring_peek(&m.c, &src, &len), -EBADMSG, "padding after padding: -EBADMSG");
	}
	teardown(&m);

	/* The producer never trusts the consumer's head either. */
	setup(&m, 4096, 0);
	while (put(&m, "0123456789", 10) == 0)
		;
	m.ctl->head = 8000;
	is_int(shmq_ring_reserve(&m.p, 10, &d), -EBADMSG, "a head beyond the committed end: -EBADMSG");
	m.ctl->head = 3;
	is_int(shmq_ring_reserve(&m.p, 10, &d), -EBADMSG, "a misaligned head: -EBADMSG");
	teardown(&m);
}

/*
 * An empty slot at the consumer's position must agree with what the
 * producer published: its tail and its end of stream.
 */
static void test_idle_agrees_with_producer(void)
{
	struct mem m;
	char buf[16];
	uint64_t *slot;

	setup(&m, 4096, 0);
	is_int(shmq_ring_idle(&m.c, 0), SHMQ_RING_EMPTY, "a fresh ring is empty");
	put(&m, "abc", 3);
	put(&m, "def", 3);
	is_int(shmq_ring_idle(&m.c, 0), SHMQ_RING_MORE, "a record waits: look again");
	get(&m, buf, sizeof(buf));
	/* Erase the next header: the tail says it was published. */
	slot = (uint64_t *)(void *)(m.data + m.c.head);
	*slot = 0;
	is_int(shmq_ring_idle(&m.c, 0), -EBADMSG,
	       "an erased header short of the tail: -EBADMSG, not empty");
	teardown(&m);

	setup(&m, 4096, 0);
	put(&m, "abc", 3);
	get(&m, buf, sizeof(buf));
	is_int(shmq_ring_idle(&m.c, 1), SHMQ_RING_EMPTY, "drained, the tail exact");
	shmq_ring_end(&m.p);
	is_int(shmq_ring_idle(&m.c, 1), SHMQ_RING_ENDED, "the producer's end, where we are");
	m.ctl->eof = 1;
	is_int(shmq_ring_idle(&m.c, 0), -EBADMSG, "an end word nobody wrote: -EBADMSG");
	m.ctl->eof = ~0ull;
	is_int(shmq_ring_idle(&m.c, 0), -EBADMSG, "  all ones: -EBADMSG");
	m.ctl->eof = shmq_ring_eof_word(&m.p, 64);
	is_int(shmq_ring_idle(&m.c, 0), -EBADMSG, "  an end past our position: -EBADMSG");
	m.ctl->eof = 0;
	m.ctl->tail = 0;
	is_int(shmq_ring_idle(&m.c, 0), SHMQ_RING_EMPTY,
	       "a tail one batch behind, producer live: its store is on the way");
	is_int(shmq_ring_idle(&m.c, 1), -EBADMSG, "  but a producer that left stored it exactly");
	m.ctl->tail = 1u << 20;
	is_int(shmq_ring_idle(&m.c, 0), -EBADMSG, "a tail more than a ring away: -EBADMSG");
	teardown(&m);

	setup(&m, 4096, 0);
	put(&m, "abc", 3);
	get(&m, buf, sizeof(buf));
	put(&m, "def", 3);
	/* A padding record alone, its message erased. */
	slot = (uint64_t *)(void *)(m.data + m.c.head);
	*slot = shmq_rec_word(m.c.head, SHMQ_REC_PAD, 4096 - m.c.head - 8);
	*(uint64_t *)(void *)m.data = 0;
	is_int(shmq_ring_idle(&m.c, 0), -EBADMSG, "a padding record with nothing after it: -EBADMSG");
	teardown(&m);
}

int main(void)
{
	tap_start(60);
	test_empty_and_one();
	test_full();
	test_exact_fit_and_pad();
	test_largest();
	test_zero_length();
	test_near_2_64();
	test_discard_batch_trim();
	test_restart_recovery();
	test_corruption();
	test_idle_agrees_with_producer();
	return done_testing();
}
