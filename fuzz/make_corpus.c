/* SPDX-License-Identifier: MIT */
/*
 * Seeds for the fuzzer: real channel segments made by the library itself
 * (4 KiB rings, as the harness expects), in states worth starting from:
 * empty, one message, zero-length and largest messages, a wrapped ring
 * with padding, a full ring, both directions busy, records peeked and not
 * released, a producer that shut down.  Usage: make_corpus DIR.  Run by `make corpus`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/shm.h>
#include <unistd.h>

#include "shmq.h"

#define CAP 4096

static int seq;

static shmq_t *end(const char *name, unsigned side)
{
	struct shmq_options o = { 0 };
	shmq_t *q;

	o.flags = SHMQ_PERSISTENT | side;
	o.send_capacity = o.recv_capacity = CAP;
	if (shmq_open(name, &o, &q)) {
		fprintf(stderr, "make_corpus: cannot open %s\n", name);
		exit(1);
	}
	return q;
}

static void save(const char *dir, const char *what, shmq_t *q)
{
	struct shmq_info i;
	char path[512];
	FILE *f;
	void *p;

	shmq_info(q, &i);
	p = shmat(i.shmid, NULL, SHM_RDONLY);
	snprintf(path, sizeof(path), "%s/seed-%02d-%s", dir, seq++, what);
	f = fopen(path, "wb");
	if (!f || p == (void *)-1 || fwrite(p, 1, 4096 + 2 * CAP, f) != 4096 + 2 * CAP) {
		fprintf(stderr, "make_corpus: cannot write %s\n", path);
		shmctl(i.shmid, IPC_RMID, NULL);	/* persistent: leave nothing */
		exit(1);
	}
	fclose(f);
	shmdt(p);
}

static void done(shmq_t *a, shmq_t *b)
{
	struct shmq_info i;

	shmq_info(a, &i);
	shmq_close(a);
	if (b)
		shmq_close(b);
	shmctl(i.shmid, IPC_RMID, NULL);
}

int main(int argc, char **argv)
{
	char name[64], big[CAP], buf[CAP];
	const void *p;
	size_t len;
	shmq_t *a, *b;
	int i;

	if (argc != 2)
		return 2;
	memset(big, 'x', sizeof(big));
	snprintf(name, sizeof(name), "corpus-%d", (int)getpid());

	a = end(name, SHMQ_ENDPOINT0);
	save(argv[1], "empty", a);
	shmq_send(a, "hello", 5);
	save(argv[1], "one-message", a);
	shmq_send(a, "", 0);
	shmq_send(a, big, CAP / 2 - 8);
	save(argv[1], "zero-and-largest", a);
	done(a, NULL);

	a = end(name, SHMQ_ENDPOINT0);
	b = end(name, SHMQ_ENDPOINT1);
	for (i = 0; i < 40; i++) {
		shmq_send(a, big, 100 + (size_t)i);
		shmq_recv(b, buf, sizeof(buf), &len);
	}
	shmq_send(a, big, 700);	/* wraps: padding, then offset 0 */
	save(argv[1], "wrapped", a);
	while (shmq_try_send(a, big, 33) == 0)
		;
	save(argv[1], "full", a);
	for (i = 0; i < 5; i++)
		shmq_send(b, big, (size_t)i * 50);
	save(argv[1], "both-ways", a);
	shmq_peek(b, &p, &len, 0);
	shmq_peek(b, &p, &len, 0);
	save(argv[1], "peeked", a);
	shmq_shutdown(a);
	save(argv[1], "shut-down", a);
	done(a, b);
	return 0;
}
