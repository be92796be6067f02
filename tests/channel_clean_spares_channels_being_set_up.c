/*
 * "Stale" means proven dead, never "not written yet".
 *
 * 1. A channel caught in set-up (our magic written, the creator's pid not
 *    yet) by a live creator is not stale, and `shmq clean` leaves it; the
 *    same segment whose creator has died is stale, and clean removes it;
 *    unless another process holds it attached: then it is no leftover.
 * 2. A cleaner running the whole time (describe, then remove what is
 *    stale, as `shmq clean` does) while 300 pairs meet: every pair meets.
 */
#include <sys/shm.h>

#include "chan.h"
#include "layout.h"

#define PAIRS 300

struct shared {
	int stop, met, failed;
};

static struct shared *sh;

/* A channel-sized segment at @name with only its magic written. */
static int half_made(const char *name)
{
	struct shmq_addr a;
	struct shmq_hdr *h;
	int id;

	shmq_addr_parse(name, &a);
	if (shmq_seg_create(&a, SHMQ_HDR_SIZE + 2 * 4096, 0600, SHMQ_SEG_EXCL, &id))
		return -1;
	h = shmat(id, NULL, 0);
	if (h == (void *)-1)
		return -1;
	h->magic = SHMQ_MAGIC;	/* the first thing a creator writes */
	shmdt(h);
	return id;
}

static int made_and_died(void *arg)
{
	return half_made(arg) < 0;
}

static int run_clean(void)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "%s clean >/dev/null", getenv("SHMQ") ? getenv("SHMQ") :
		 "build/shmq");
	return system(cmd);
}

static int cleaner(void *arg)
{
	(void)arg;
	while (!__atomic_load_n(&sh->stop, __ATOMIC_ACQUIRE)) {
		struct shmq_seg_info *v;
		size_t n, i;

		if (shmq_seg_list(&v, &n))
			continue;
		for (i = 0; i < n; i++) {
			struct shmq_desc d;

			if (shmq_describe(v[i].shmid, &d) == 0 && d.stale)
				shmq_seg_remove(v[i].shmid);
		}
		free(v);
	}
	return 0;
}

static int meet(void *arg)
{
	struct shmq_options o = { 0 };
	shmq_t *q;

	o.open_timeout_ms = 5000;
	if (shmq_open(arg, &o, &q))
		return 1;
	shmq_close(q);
	return 0;
}

int main(void)
{
	const char *name = tap_name("setup");
	struct shmq_desc d;
	struct shmq_seg_info s;
	char pname[64];
	pid_t c;
	int id, i;

	tap_start(120);
	sh = shared_page(4096);

	/* 1. */
	id = half_made(name);
	ok(id >= 0, "a channel caught half made, by a live creator (us)");
	is_int(shmq_describe(id, &d), 0, "  describe reads it");
	ok(!d.ready && !d.stale, "  as being set up, not stale");
	is_int(run_clean(), 0, "  shmq clean runs");
	ok(shmq_seg_stat(id, &s) == 0 && !s.removed, "  and leaves it");
	shmq_seg_remove(id);

	name = tap_name("setup-dead");
	c = spawn(made_and_died, (void *)name);
	wait_child(c, 5000);
	{
		struct shmq_addr a;

		shmq_addr_parse(name, &a);
		id = shmq_seg_open(&a, &id) == 0 ? id : -1;
	}
	ok(id >= 0 && shmq_describe(id, &d) == 0 && !d.ready && d.stale,
	   "the same, whose creator died: stale");
	is_int(run_clean(), 0, "  shmq clean runs");
	ok(shmq_seg_stat(id, &s) != 0 || s.removed, "  and removes it");

	/* 1b. A dead creator's half-made channel that someone holds attached. */
	name = tap_name("setup-held");
	c = spawn(made_and_died, (void *)name);
	wait_child(c, 5000);
	{
		struct shmq_options o = { 0 };
		struct shmq_addr a;
		shmq_t *q;
		pid_t holder;

		shmq_addr_parse(name, &a);
		id = shmq_seg_open(&a, &id) == 0 ? id : -1;
		holder = fork();
		if (holder == 0) {
			if (shmat(id, NULL, SHM_RDONLY) == (void *)-1)
				_exit(1);
			pause();
			_exit(0);
		}
		usleep(100000);
		ok(id >= 0 && shmq_describe(id, &d) == 0 && !d.stale,
		   "the same, held attached by another process: not stale");
		o.open_timeout_ms = 4000;
		ok(shmq_open(name, &o, &q) != 0, "  an opener does not take it for a leftover");
		ok(shmq_seg_stat(id, &s) == 0 && !s.removed, "  nor removes it");
		kill(holder, SIGKILL);
		wait_child(holder, 5000);
		ok(shmq_describe(id, &d) == 0 && d.stale, "  once nobody holds it, it is stale");
		shmq_seg_remove(id);
	}

	/* 2. */
	c = spawn(cleaner, NULL);
	for (i = 0; i < PAIRS; i++) {
		pid_t a, b;

		snprintf(pname, sizeof(pname), "t-race-%d-%d", (int)getpid(), i);
		a = spawn(meet, pname);
		b = spawn(meet, pname);
		if (child_exit_code(wait_child(a, 10000)) || child_exit_code(wait_child(b, 10000)))
			sh->failed++;
		else
			sh->met++;
	}
	__atomic_store_n(&sh->stop, 1, __ATOMIC_RELEASE);
	wait_child(c, 10000);
	is_int(sh->met, PAIRS, "%d pairs met while a cleaner removed what looked stale", PAIRS);
	return done_testing();
}
