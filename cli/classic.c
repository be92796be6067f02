/* SPDX-License-Identifier: MIT */
/*
 * The classic recipe's own protocol, for ping --classic and pong --classic:
 * a 20-byte segment at an ftok key, "ping"/"pong"/"end" at offset 0, so
 * either side interoperates with the Python programs people already run.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "stats.h"

#define CLASSIC_SIZE 20

/*
 * The 4 bytes at offset 0, with one 32-bit load, so a concurrent write
 * can never be seen half done.  Written the same way.
 */
static uint32_t word_of(const char s[4])
{
	uint32_t w;

	memcpy(&w, s, 4);
	return w;
}

static uint32_t load4(const void *p)
{
	return __atomic_load_n((const uint32_t *)p, __ATOMIC_ACQUIRE);
}

static void store4(void *p, const char s[4])
{
	__atomic_store_n((uint32_t *)p, word_of(s), __ATOMIC_RELEASE);
}

/*
 * Wait until the first 4 bytes satisfy @until (equal to @w if @equal,
 * else different from it).  Spin with `pause` for 50 us, then back off
 * with sleeps growing to 1 ms: a 1 us sleep really sleeps ~60 us, which
 * is what made the classic recipe slow.  Returns 0, or -ETIMEDOUT, or
 * -EINTR on a signal.
 */
static int classic_wait(const void *mem, uint32_t w, int equal, int64_t timeout_ns)
{
	int64_t start = now_ns(), t = start, back = 20000;
	unsigned i;

	for (i = 0;; i++) {
		if ((load4(mem) == w) == equal)
			return 0;
		if (i % 64 == 0) {
			t = now_ns();
			if (timeout_ns >= 0 && t - start > timeout_ns)
				return -ETIMEDOUT;
			if (cli_signal)
				return -EINTR;
		}
		if (t - start < 50000) {
			__builtin_ia32_pause();
			continue;
		}
		nap(back);
		if (back < 1000000)
			back *= 2;
	}
}

/* One side's hold on the classic segment, and what it made itself. */
struct classic {
	struct shmq_addr a;
	int shmid;
	void *mem;
	int made_segment;	/* ours to remove if we give up */
	int made_file;		/* the ftok path: ours to remove, and no one else's */
	char file[SHMQ_ADDR_PATH_MAX];	/* that path, as made */
};

/*
 * The ftok path, created if it is missing, as the classic programs do;
 * but only a file this process created is ever removed again.
 */
static void make_path(const char *text, struct classic *c)
{
	const char *colon = strrchr(text + 5, ':');
	char path[SHMQ_ADDR_PATH_MAX];
	size_t n = colon ? (size_t)(colon - text - 5) : 0;
	int fd;

	if (strncmp(text, "ftok:", 5) || !n || n >= sizeof(path))
		return;
	memcpy(path, text + 5, n);
	path[n] = '\0';
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd >= 0) {
		close(fd);
		c->made_file = 1;
		memcpy(c->file, path, n + 1);
	}
}

/*
 * A segment we did not make is the recipe's only if it has the recipe's
 * size: anything else (a shmq channel, someone's data) is not written.
 */
static int not_classic(const char *text, int shmid)
{
	struct shmq_seg_info s;
	int r = shmq_seg_stat(shmid, &s);

	if (r) {
		fail("%s: %s", text, shmq_strerror(r));
		return 1;
	}
	if (s.size != CLASSIC_SIZE) {
		fail("%s: the segment there (id:%d, %llu bytes) is not the classic recipe's "
		     "%d-byte segment; it is left alone", text, shmid,
		     (unsigned long long)s.size, CLASSIC_SIZE);
		return 1;
	}
	return 0;
}

/* Attach the classic segment at @text, making it (and its path) if need be. */
static int classic_attach(const char *text, struct classic *c)
{
	memset(c, 0, sizeof(*c));
	make_path(text, c);
	/* A usage error exits at once: the file we made goes first. */
	if (shmq_addr_parse(text, &c->a) == -EINVAL && c->made_file)
		unlink(c->file);
	if (parse_addr_or_fail(text, &c->a))
		goto fail;
	if (c->a.kind == SHMQ_ADDR_ID) {
		c->shmid = c->a.shmid;
	} else {
		/* What the classic programs do (IPC_CREAT, 0644), noting who made it. */
		c->shmid = shmget(c->a.key, CLASSIC_SIZE, IPC_CREAT | IPC_EXCL | 0644);
		c->made_segment = c->shmid >= 0;
		if (c->shmid < 0 && errno == EEXIST)
			c->shmid = shmget(c->a.key, CLASSIC_SIZE, 0644);
		if (c->shmid < 0) {
			fail("%s: %s", text, strerror(errno));
			goto fail;
		}
	}
	if (!c->made_segment && not_classic(text, c->shmid))
		goto fail;
	c->mem = shmat(c->shmid, NULL, 0);
	if (c->mem != (void *)-1)
		return 0;
	fail("%s: %s", text, strerror(errno));
	if (c->made_segment)
		shmctl(c->shmid, IPC_RMID, NULL);
fail:
	if (c->made_file)
		unlink(c->file);
	return -1;
}

/* Let go; @remove: the segment too (the server at "end", or its maker). */
static void classic_detach(struct classic *c, int remove)
{
	if (remove)
		shmctl(c->shmid, IPC_RMID, NULL);
	shmdt(c->mem);
	if (c->made_file)
		unlink(c->file);
}

int classic_pong(const char *text, int64_t timeout_ns, int verbose)
{
	unsigned long long answered = 0;
	struct classic c;
	uint32_t stale;
	int r;

	if (classic_attach(text, &c))
		return 1;
	/* An "end" left by an earlier run is not this run's end: wait past it. */
	stale = load4(c.mem);
	if ((stale & 0xff) != 'e')
		stale = 0;
	for (;;) {
		/* Wait for "ping", or for a new message starting with 'e'. */
		int64_t start = now_ns();
		uint32_t w;

		for (;;) {
			w = load4(c.mem);
			if (w != stale)
				stale = 0;
			if (((w & 0xff) == 'e' && !stale) || w == word_of("ping"))
				break;
			r = classic_wait(c.mem, w, 0, timeout_ns < 0 ? -1 :
					 timeout_ns - (now_ns() - start));
			if (r)
				goto out;
		}
		if ((w & 0xff) == 'e')
			break;
		store4(c.mem, "pong");
		answered++;
	}
	/* "end": the server removes the segment, as the recipe says. */
	classic_detach(&c, 1);
	if (verbose)
		printf("answered %llu pings, then 'end': segment removed\n", answered);
	return 0;
out:
	/* Giving up or interrupted: remove what we made, and only that. */
	classic_detach(&c, c.made_segment);
	if (r == -EINTR)
		return signal_status();
	return fail("%s: no ping within the timeout (after %llu answered)", text,
		    answered);
}

/* Wait until someone else has the segment attached too: the pong. */
static int wait_for_pong(const struct classic *c, const char *text, int64_t timeout_ns)
{
	int64_t end = timeout_ns < 0 ? INT64_MAX : now_ns() + timeout_ns;
	struct notice n;
	struct shmid_ds ds;
	int r = 0;

	notice_start(&n, "shmq: %s: waiting for %s at '%s' (Ctrl-C to stop)\n",
		     "a pong", text);
	while (shmctl(c->shmid, IPC_STAT, &ds) == 0 && ds.shm_nattch < 2) {
		if (cli_signal) {
			r = -EINTR;
			break;
		}
		if (now_ns() > end) {
			r = -ETIMEDOUT;
			break;
		}
		nap(1000000);
	}
	notice_stop(&n);
	return r;
}

int classic_ping(const char *text, const struct ping_opts *po,
			int64_t timeout_ns)
{
	struct hist *h = malloc(sizeof(*h));
	uint64_t i, count = po->count ? po->count : 100;
	struct classic c;
	int64_t t0;
	int r;

	if (!h || classic_attach(text, &c)) {
		free(h);
		return 1;
	}
	hist_init(h);
	/* The clock starts once the pong is there, not while waiting for it. */
	r = wait_for_pong(&c, text, timeout_ns);
	t0 = now_ns();
	for (i = 0; !r && i < count && !cli_signal; i++) {
		int64_t s = now_ns();
		uint64_t v;

		store4(c.mem, "ping");
		r = classic_wait(c.mem, word_of("ping"), 0, timeout_ns);
		if (r)
			break;
		if (load4(c.mem) != word_of("pong")) {
			r = -EPROTO;
			break;
		}
		v = (uint64_t)(now_ns() - s);
		hist_add(h, v);
		if (!po->quiet)
			printf("round %llu: sent 'ping', received 'pong' (%.1f us)\n",
			       (unsigned long long)i + 1, v / 1e3);
		if (po->interval_ns > 0 && i + 1 < count) {
			fflush(stdout);
			nap(po->interval_ns);
		}
	}
	/* Three bytes, as the classic client writes them. */
	memcpy(c.mem, "end", 3);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	/* No pong came (or it left): nobody else will remove what we made. */
	classic_detach(&c, c.made_segment && (r == -ETIMEDOUT || r == -EINTR || cli_signal));
	ping_summary(text, h, 4, now_ns() - t0, po->interval_ns);
	i = h->count;
	free(h);
	/* Interrupted, like ping(8): 0 if any answer came, else 1. */
	if (r == -EINTR || cli_signal)
		return i ? 0 : 1;
	if (r == -ETIMEDOUT)
		return fail("%s: no pong within the timeout", text);
	if (r == -EPROTO)
		return fail("%s: the answer was not 'pong'", text);
	return 0;
}
