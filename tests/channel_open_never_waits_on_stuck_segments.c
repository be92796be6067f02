/*
 * shmq_open never waits forever on someone else's unfinished business.
 *  - A segment at a name's key that stays "being set up" while its creator
 *    lives (a zeroed segment held by a live process) is refused with
 *    -EPROTO after about 2 s, not waited on forever.
 *  - A pair whose joiner froze between claiming endpoint 1 and marking the
 *    segment removed (and whose creator is frozen too) does not hold its
 *    address: new openers remove it and pair up.
 */
#include <signal.h>
#include <sys/shm.h>

#include "chan.h"
#include "internal.h"
#include "layout.h"

static const char *addr;

static int creator(void *arg)
{
	struct shmq_options o = { 0 };
	shmq_t *q;
	int r;

	(void)arg;
	o.open_timeout_ms = 20000;
	r = shmq_open(addr, &o, &q);
	if (!r)
		shmq_close(q);
	return 0;
}

static int opener(void *arg)
{
	struct shmq_options o = { 0 };
	shmq_t *q;
	int r;

	(void)arg;
	o.open_timeout_ms = 5000;
	r = shmq_open(addr, &o, &q);
	if (r)
		return 1;
	shmq_close(q);
	return 0;
}

int main(void)
{
	struct shmq_options o = { 0 };
	struct shmq_addr a;
	struct shmq_hdr *h;
	char err[256];
	int64_t t0;
	shmq_t *q;
	pid_t c, d1, d2;
	int id, r, n;
	void *p;

	tap_start(60);

	/* A zeroed segment at the key, held by this live process. */
	addr = tap_name("setup");
	shmq_addr_parse(addr, &a);
	if (shmq_seg_create(&a, 12288, 0600, SHMQ_SEG_EXCL, &id) || shmq_seg_attach(id, 0, &p))
		bail_out("create");
	o.errbuf = err;
	o.errbuf_size = sizeof(err);
	t0 = tap_now_ns();
	r = shmq_open(addr, &o, &q);	/* no timeout at all */
	is_int(r, -EPROTO, "a segment that never finishes setting up: -EPROTO");
	ok(tap_now_ns() - t0 < 5000000000LL, "  after %.1f s, not never",
	   (tap_now_ns() - t0) / 1e9);
	diag("  %s", err);
	ok(segment_exists(id), "  and it is left alone");
	shmq_seg_detach(p);
	shmq_seg_remove(id);

	/* A frozen creator, and a joiner frozen right after its claim. */
	addr = tap_name("frozen");
	shmq_addr_parse(addr, &a);
	c = spawn(creator, NULL);
	for (n = 0; n < 5000 && shmq_seg_open(&a, &id); n++)
		usleep(1000);
	usleep(20000);
	kill(c, SIGSTOP);
	h = shmat(id, NULL, 0);
	if (h == (void *)-1)
		bail_out("shmat");
	__atomic_store_n(&h->ep[1].owner,
			 shmq_owner((uint32_t)getpid(), shmq_self_start(), SHMQ_EP_ATTACHED),
			 __ATOMIC_SEQ_CST);
	d1 = spawn(opener, NULL);
	d2 = spawn(opener, NULL);
	r = child_exit_code(wait_child(d1, 10000)) | child_exit_code(wait_child(d2, 10000));
	is_int(r, 0, "two new openers pair up: the frozen pair does not hold the address");
	ok(shmq_seg_open(&a, &n) == -ENOENT, "  the address is free again");
	kill(c, SIGCONT);
	is_int(child_exit_code(wait_child(c, 10000)), 0, "the frozen creator, resumed, ends cleanly");
	shmdt(h);
	ok(!segment_exists(id), "nothing is left");
	return done_testing();
}
