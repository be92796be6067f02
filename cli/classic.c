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

/* Parse a classic address, creating the ftok path if it is missing. */
static int classic_attach(const char *text, int *shmid, void **mem,
			  struct shmq_addr *a)
{
	if (!strncmp(text, "ftok:", 5)) {
		const char *colon = strrchr(text + 5, ':');
		char path[SHMQ_ADDR_PATH_MAX];
		size_t n = colon ? (size_t)(colon - text - 5) : 0;

		if (n && n < sizeof(path)) {
			int fd;

			memcpy(path, text + 5, n);
			path[n] = '\0';
			fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
			if (fd >= 0)
				close(fd);
		}
	}
	if (parse_addr_or_fail(text, a))
		return -1;
	if (a->kind == SHMQ_ADDR_ID) {
		*shmid = a->shmid;
	} else {
		/* Exactly what the classic programs do: IPC_CREAT, 0644. */
		*shmid = shmget(a->key, CLASSIC_SIZE, IPC_CREAT | 0644);
		if (*shmid < 0)
			return fail("%s: %s", text, strerror(errno)), -1;
	}
	*mem = shmat(*shmid, NULL, 0);
	if (*mem == (void *)-1)
		return fail("%s: %s", text, strerror(errno)), -1;
	return 0;
}

int classic_pong(const char *text, int64_t timeout_ns, int verbose)
{
	struct shmq_addr a;
	unsigned long long answered = 0;
	void *mem;
	int shmid, r;

	if (classic_attach(text, &shmid, &mem, &a))
		return 1;
	for (;;) {
		/* Wait for "ping", or for a message starting with 'e'. */
		int64_t start = now_ns();

		for (;;) {
			uint32_t w = load4(mem);

			if ((w & 0xff) == 'e' || w == word_of("ping"))
				break;
			r = classic_wait(mem, w, 0, timeout_ns < 0 ? -1 :
					 timeout_ns - (now_ns() - start));
			if (r)
				goto out;
		}
		if ((load4(mem) & 0xff) == 'e')
			break;
		store4(mem, "pong");
		answered++;
	}
	/* "end": remove the segment, detach, unlink the path. */
	shmctl(shmid, IPC_RMID, NULL);
	shmdt(mem);
	if (a.kind == SHMQ_ADDR_FTOK)
		unlink(a.path);
	if (verbose)
		printf("answered %llu pings, then 'end': segment removed\n", answered);
	return 0;
out:
	shmdt(mem);
	if (r == -EINTR)
		return signal_status();
	return fail("%s: no ping within the timeout (after %llu answered)", text,
		    answered);
}

int classic_ping(const char *text, const struct ping_opts *po,
			int64_t timeout_ns)
{
	struct shmq_addr a;
	struct hist *h = malloc(sizeof(*h));
	uint64_t i, count = po->count ? po->count : 100;
	int64_t t0;
	void *mem;
	int shmid, r = 0;

	if (!h || classic_attach(text, &shmid, &mem, &a)) {
		free(h);
		return 1;
	}
	hist_init(h);
	t0 = now_ns();
	for (i = 0; i < count && !cli_signal; i++) {
		int64_t s = now_ns();
		uint32_t w;

		store4(mem, "ping");
		r = classic_wait(mem, word_of("ping"), 0, timeout_ns);
		if (r)
			break;
		w = load4(mem);
		if (w != word_of("pong")) {
			r = -EPROTO;
			break;
		}
		hist_add(h, (uint64_t)(now_ns() - s));
		if ((int)i < po->show)
			printf("round %llu: sent 'ping', received 'pong'\n",
			       (unsigned long long)i + 1);
		if (po->interval_ns > 0 && i + 1 < count)
			nap(po->interval_ns);
	}
	/* Three bytes, as the classic client writes them. */
	memcpy(mem, "end", 3);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	shmdt(mem);
	ping_summary(text, h, 4, now_ns() - t0, 1);
	free(h);
	if (r == -EINTR || cli_signal)
		return signal_status();
	if (r == -ETIMEDOUT)
		return fail("%s: no pong within the timeout", text);
	if (r == -EPROTO)
		return fail("%s: the answer was not 'pong'", text);
	return 0;
}

