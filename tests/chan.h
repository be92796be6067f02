/*
 * Helpers for the multi-process channel tests: fork a real process to
 * run a function, share a page of results, and build messages whose
 * length and content are functions of their sequence number.
 */
#ifndef SHMQ_TEST_CHAN_H
#define SHMQ_TEST_CHAN_H

#include <poll.h>
#include <sys/mman.h>

#include "shmq.h"
#include "tap.h"

/* Is @fd readable within @ms milliseconds? */
static inline int t_readable(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, ms) == 1 && (p.revents & POLLIN);
}

/*
 * Orders from the parent to a child, in two words of shared memory: the
 * parent stores a step and waits (10 s) until the child says it carried
 * it out; the child waits (20 s) for a step other than its last, -1 if
 * none comes.
 */
static inline void t_order(int *step, const int *done, int value)
{
	int i;

	__atomic_store_n(step, value, __ATOMIC_RELEASE);
	for (i = 0; i < 10000 && __atomic_load_n(done, __ATOMIC_ACQUIRE) != value; i++)
		usleep(1000);
	if (__atomic_load_n(done, __ATOMIC_ACQUIRE) != value)
		bail_out("the child did not carry out step %d", value);
}

static inline int t_next_order(const int *step, int last)
{
	int s, i;

	for (i = 0; i < 40000; i++) {
		s = __atomic_load_n(step, __ATOMIC_ACQUIRE);
		if (s != last)
			return s;
		usleep(500);
	}
	return -1;
}

/* Memory the parent and its forked children all see. */
static inline void *shared_page(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		bail_out("mmap: %s", strerror(errno));
	memset(p, 0, size);
	return p;
}

/* Run fn(arg) in a child process; its return value is the exit status. */
static inline pid_t spawn(int (*fn)(void *), void *arg)
{
	pid_t pid = fork();

	if (pid < 0)
		bail_out("fork: %s", strerror(errno));
	if (pid == 0) {
		alarm(120);	/* a child never outlives a broken test */
		fflush(stdout);
		_exit(fn(arg));
	}
	return pid;
}

/* Open, explaining failures on the test's output. */
static inline shmq_t *must_open(const char *addr, struct shmq_options *o)
{
	struct shmq_options dflt = { 0 };
	char err[256] = "";
	shmq_t *q;
	int r;

	if (!o)
		o = &dflt;
	o->errbuf = err;
	o->errbuf_size = sizeof(err);
	r = shmq_open(addr, o, &q);
	if (r) {
		diag("[%d] open %s: %s (%s)", (int)getpid(), addr, shmq_strerror(r), err);
		return NULL;
	}
	return q;
}

/*
 * The far end of a round-trip test: open @addr and echo every message
 * until the stream ends.  How it ended (a receive's error, -EPIPE at a
 * clean close), or 1 if it could not open.
 */
static inline int t_echo(const char *addr)
{
	char buf[64];
	size_t len;
	shmq_t *q = must_open(addr, NULL);
	int r;

	if (!q)
		return 1;
	while ((r = shmq_recv(q, buf, sizeof(buf), &len)) == 0)
		if (shmq_send(q, buf, len))
			break;
	shmq_close(q);
	return r;
}

/* "ping" there and back within 2 s each way: 0, or why not. */
static inline int t_round_trip(shmq_t *q)
{
	char buf[64];
	size_t len;
	int r = shmq_send_timed(q, "ping", 4, 2000000000LL);

	if (r)
		return r;
	r = shmq_recv_timed(q, buf, sizeof(buf), &len, 2000000000LL);
	return r ? r : len == 4 && !memcmp(buf, "ping", 4) ? 0 : -EPROTO;
}

static inline uint64_t t_mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* Message n of stream @salt: mostly small, sometimes up to @max bytes. */
static inline size_t t_len(uint64_t salt, uint64_t n, size_t max)
{
	uint64_t r = t_mix(n ^ (salt << 48));

	if ((r & 7) == 0)
		return (r >> 8) % (max + 1);
	return (r >> 8) % (max < 128 ? max + 1 : 129);
}

static inline void t_fill(unsigned char *p, uint64_t salt, uint64_t n, size_t len)
{
	uint64_t w;
	size_t i;

	for (i = 0; i < len; i += 8) {
		w = t_mix((n << 16) + i + (salt << 56));
		memcpy(p + i, &w, len - i < 8 ? len - i : 8);
	}
}

/* Does buf hold exactly message n of stream @salt? */
static inline int t_check(const unsigned char *buf, size_t len, uint64_t salt,
			  uint64_t n, size_t max)
{
	unsigned char want[8];
	size_t i;

	if (len != t_len(salt, n, max))
		return 0;
	for (i = 0; i < len; i += 8) {
		uint64_t w = t_mix((n << 16) + i + (salt << 56));

		memcpy(want, &w, 8);
		if (memcmp(buf + i, want, len - i < 8 ? len - i : 8))
			return 0;
	}
	return 1;
}

/* A seeded xorshift generator, so a failing round can be replayed. */
static inline uint64_t t_rand(uint64_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	return *state;
}

/* Remove what is at @addr, if anything is (what a case may leave). */
static inline void t_remove_at(const char *addr)
{
	struct shmq_addr a;
	int id;

	if (addr[0] && shmq_addr_parse(addr, &a) == 0 && shmq_seg_open(&a, &id) == 0)
		shmq_seg_remove(id);
}

/* Is there a segment at @addr? */
static inline int t_exists_at(const char *addr)
{
	struct shmq_addr a;
	int id;

	return shmq_addr_parse(addr, &a) == 0 && shmq_seg_open(&a, &id) == 0;
}

/* The publisher of @addr (@flags: SHMQ_PERSISTENT...); NULL, said, if not. */
static inline shmq_pub_t *t_pub_open(const char *addr, const struct shmq_topic_options *to,
				     unsigned flags)
{
	char err[256] = "";
	struct shmq_options o = { .errbuf = err, .errbuf_size = sizeof(err), .flags = flags };
	shmq_pub_t *p;
	int r = shmq_pub_open(addr, &o, to, &p);

	if (r) {
		diag("pub_open %s: %s (%s)", addr, shmq_strerror(r), err);
		return NULL;
	}
	return p;
}

static inline int segment_exists(int shmid)
{
	struct shmq_seg_info s;

	return shmq_seg_stat(shmid, &s) == 0;
}

/* Segments process @pid created that exist and are not marked removed. */
static inline int segments_made_by(pid_t pid)
{
	struct shmq_seg_info *list;
	size_t n, i;
	int mine = 0;

	if (shmq_seg_list(&list, &n))
		return -1;
	for (i = 0; i < n; i++)
		mine += list[i].cpid == pid && !list[i].removed;
	free(list);
	return mine;
}

#endif
