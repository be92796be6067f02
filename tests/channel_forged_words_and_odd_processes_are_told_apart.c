/*
 * What a second hostile review found, each case the way it was seen:
 * words written over that look almost right, and processes that look
 * almost dead or almost the owner.
 *
 * 1. A pair's peer word with its state bits cleared ("free", same
 *    holder: nobody frees a slot it holds): the waiting end gets
 *    -EBADMSG within the peer-check period, not silence forever.
 * 2. A persistent channel whose creator has left, whose consumer is
 *    still attached, and whose state word is set back to 0: a new opener
 *    gets -EBADMSG, and the segment is not removed as a "leftover".
 * 3. `id:N` of a pair that already has both its ends: -EBUSY at once,
 *    not a spin until the open deadline.
 * 4. A pair whose creator sealed it (gave up waiting) and was killed
 *    before removing it is stale: `shmq clean` may remove it.
 * 5. A child made by the raw clone system call (no fork handlers run)
 *    closes the inherited handle: the parent's stream goes on.
 * 6. A persistent sender blocked on a full ring whose consumer closes
 *    keeps waiting for room; the next consumer reads every message.
 * 7. A peer whose main thread called pthread_exit() while another
 *    thread still sends shows 'Z' in /proc, yet it is alive: everything
 *    it sends arrives, then its close.
 * 8. A hub's slot given a channel that the hub's server did not make (a
 *    forger with write access to the hub): the client refuses it.
 * 9. The same by a process that got the dead server's pid (and wrote
 *    itself into the hub as its server): refused too, by start time.
 */
#include <pthread.h>
#include <sys/shm.h>
#include <sys/syscall.h>

#include "chan.h"
#include "internal.h"
#include "layout.h"
#include "hub_layout.h"

static const char *addr;

static void *attach_id(int shmid)
{
	void *p = shmat(shmid, NULL, 0);

	if (p == (void *)-1)
		bail_out("shmat %d: %s", shmid, strerror(errno));
	return p;
}

static int shmid_of(shmq_t *q)
{
	struct shmq_info i;

	return shmq_info(q, &i) ? -1 : i.shmid;
}

/* A peer that opens and holds the channel, idle, until killed. */
static int hold(void *arg)
{
	shmq_t *q = must_open(addr, arg);

	if (!q)
		return 1;
	pause();
	return 0;
}

static void freed_owner_word(void)
{
	char buf[8];
	size_t len;
	struct shmq_hdr *h;
	shmq_t *q;
	pid_t p;
	int i, r;

	addr = tap_name("free-word");
	p = spawn(hold, NULL);
	q = must_open(addr, NULL);
	if (!q)
		bail_out("open");
	h = attach_id(shmid_of(q));
	/* The holder's word, its state bits cleared: 'free', same holder. */
	i = shmq_owner_pid(h->ep[0].owner) == (uint32_t)getpid();
	__atomic_and_fetch(&h->ep[i].owner, ~(uint64_t)3, __ATOMIC_SEQ_CST);
	r = shmq_recv_timed(q, buf, sizeof(buf), &len, 3000000000LL);
	is_int(r, -EBADMSG, "a peer word freed by a stranger: -EBADMSG, not a wait");
	shmdt(h);
	shmq_close(q);
	kill(p, SIGKILL);
	wait_child(p, 5000);
}

static int send_and_leave(void *arg)
{
	struct shmq_options o = { 0 };
	shmq_t *q;

	(void)arg;
	o.flags = SHMQ_PERSISTENT;
	q = must_open(addr, &o);
	if (!q)
		return 1;
	if (shmq_send(q, "kept", 4))
		return 2;
	return shmq_close(q) ? 3 : 0;
}

static void persistent_state_reset(void)
{
	struct shmq_options o = { 0 };
	char err[256] = "", buf[8];
	struct shmq_hdr *h;
	shmq_t *q, *q2;
	size_t len;
	int id, r;
	pid_t c;

	addr = tap_name("state-reset");
	c = spawn(send_and_leave, NULL);
	ok(child_exit_code(wait_child(c, 5000)) == 0, "a persistent creator sends and leaves");
	o.flags = SHMQ_PERSISTENT | SHMQ_ENDPOINT1;
	q = must_open(addr, &o);
	if (!q)
		bail_out("open");
	r = shmq_recv_timed(q, buf, sizeof(buf), &len, 2000000000LL);
	is_int(r, 0, "  its consumer reads what it left");
	id = shmid_of(q);
	h = attach_id(id);
	__atomic_store_n(&h->state, SHMQ_STATE_INIT, __ATOMIC_SEQ_CST);
	memset(&o, 0, sizeof(o));
	o.flags = SHMQ_PERSISTENT;
	o.open_timeout_ms = 2000;
	o.errbuf = err;
	o.errbuf_size = sizeof(err);
	r = shmq_open(addr, &o, &q2);
	is_int(r, -EBADMSG, "its state word reset while in use: a new opener gets -EBADMSG");
	diag("  %s", err);
	{
		struct shmq_seg_info si;

		ok(shmq_seg_stat(id, &si) == 0 && !si.removed,
		   "  and the segment, which its consumer holds, is not removed");
	}
	if (r == 0)
		shmq_close(q2);
	shmdt(h);
	shmq_close(q);
	shmctl(id, IPC_RMID, NULL);
}

static void id_of_a_full_pair(void)
{
	struct shmq_options o = { 0 };
	char a2[32];
	int64_t t0;
	shmq_t *q, *q3;
	pid_t p;
	int r;

	addr = tap_name("id-full");
	p = spawn(hold, NULL);
	q = must_open(addr, NULL);
	if (!q)
		bail_out("open");
	snprintf(a2, sizeof(a2), "id:%d", shmid_of(q));
	o.open_timeout_ms = 5000;
	t0 = tap_now_ns();
	r = shmq_open(a2, &o, &q3);
	is_int(r, -EBUSY, "%s of a pair with both its ends: -EBUSY", a2);
	ok(tap_now_ns() - t0 < 2000000000LL, "  at once, not at the open deadline");
	if (r == 0)
		shmq_close(q3);
	shmq_close(q);
	kill(p, SIGKILL);
	wait_child(p, 5000);
}

/* The shmid at @name's key, once some process has made it. */
static int id_at(const char *name)
{
	int64_t until = tap_now_ns() + 5000000000LL;
	struct shmq_addr a;
	int id = -1;

	shmq_addr_parse(name, &a);
	while (shmq_seg_open(&a, &id) && tap_now_ns() < until)
		usleep(5000);
	return id;
}

static int create_pair(void *arg)
{
	shmq_t *q = must_open(arg, NULL);	/* waits for a peer */

	if (q)
		shmq_close(q);
	return 0;
}

static void sealed_leftover(void)
{
	struct shmq_desc d;
	struct shmq_hdr *h;
	pid_t c;
	int id;

	addr = tap_name("sealed");
	c = spawn(create_pair, (void *)addr);
	id = id_at(addr);
	usleep(100000);
	kill(c, SIGKILL);
	wait_child(c, 5000);
	ok(id >= 0 && shmq_describe(id, &d) == 0 && d.stale,
	   "a pair whose creator was killed waiting is stale");
	/* The creator had given up (sealed it) before being killed. */
	h = attach_id(id);
	__atomic_store_n(&h->ep[1].owner, SHMQ_OWNER_SEALED, __ATOMIC_SEQ_CST);
	shmdt(h);
	ok(shmq_describe(id, &d) == 0 && d.stale, "  so is one it had sealed: shmq clean may remove it");
	is_int(d.ep[1].state, SHMQ_PEER_SEALED, "  whose second end is described as sealed");
	shmctl(id, IPC_RMID, NULL);
}

static int echo(void *arg)
{
	*(int *)arg = t_echo(addr);
	return 0;
}

static void raw_clone_child(void)
{
	int *end = shared_page(4096);
	shmq_t *q;
	pid_t e, c;

	addr = tap_name("raw-clone");
	e = spawn(echo, end);
	q = must_open(addr, NULL);
	if (!q)
		bail_out("open");
	is_int(t_round_trip(q), 0, "a round trip before a raw clone()");
	c = (pid_t)syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
	if (c == 0) {
		shmq_close(q);
		_exit(0);
	}
	wait_child(c, 5000);
	is_int(t_round_trip(q), 0, "  a raw clone() child closed the inherited handle: the parent goes on");
	is_int(*end, 0, "  and its peer saw no end of stream");
	shmq_close(q);
	wait_child(e, 5000);
}

static int consume(void *arg)
{
	int *got = arg;
	struct shmq_options o = { 0 };
	char buf[256];
	size_t len;
	shmq_t *q;
	int r;

	o.flags = SHMQ_PERSISTENT | SHMQ_ENDPOINT1;
	q = must_open(addr, &o);
	if (!q)
		return 1;
	/* The first consumer reads one message and closes: got[0] < 0. */
	while ((r = shmq_recv_timed(q, buf, sizeof(buf), &len, 5000000000LL)) == 0) {
		got[1]++;
		if (got[0] < 0)
			break;
	}
	got[2] = r;
	shmq_close(q);
	return 0;
}

static void persistent_sender_waits(void)
{
	struct shmq_options o = { 0 };
	int *got = shared_page(4096);
	char msg[200] = { 0 };
	int n = 0, id, r;
	shmq_t *q;
	pid_t c;

	addr = tap_name("persist-wait");
	o.flags = SHMQ_PERSISTENT;
	o.send_capacity = 4096;
	q = must_open(addr, &o);
	if (!q)
		bail_out("open");
	while (shmq_send_timed(q, msg, sizeof(msg), 200000000LL) == 0)
		n++;
	got[0] = -1;
	c = spawn(consume, got);
	wait_child(c, 5000);
	is_int(got[1], 1, "a persistent channel's consumer reads one message and closes");
	while ((r = shmq_send_timed(q, msg, sizeof(msg), 500000000LL)) == 0)
		n++;
	is_int(r, -ETIMEDOUT, "  its sender, on a full ring, keeps waiting for room");
	got[0] = 0;
	c = spawn(consume, got);
	r = shmq_send_timed(q, msg, sizeof(msg), 5000000000LL);
	is_int(r, 0, "  a new consumer comes: the send goes through");
	n += r == 0;
	id = shmid_of(q);
	shmq_close(q);
	wait_child(c, 10000);
	shmctl(id, IPC_RMID, NULL);	/* persistent: it stays until removed */
	is_int(got[1], n, "  and every message (%d) was read by one consumer or the other", n);
	is_int(got[2], -EPIPE, "  then the end of stream");
}

static void *late_sender(void *arg)
{
	shmq_t *q = arg;
	int i;

	for (i = 0; i < 5; i++) {
		usleep(150000);
		shmq_send(q, "late", 4);
	}
	shmq_close(q);
	return NULL;
}

static int main_thread_exits(void *arg)
{
	pthread_t t;
	shmq_t *q = must_open(addr, NULL);

	(void)arg;
	if (!q || pthread_create(&t, NULL, late_sender, q))
		return 1;
	pthread_exit(NULL);
}

static void zombie_leader(void)
{
	char buf[8];
	size_t len;
	int n = 0, r;
	shmq_t *q;
	pid_t c;

	addr = tap_name("leader");
	c = spawn(main_thread_exits, NULL);
	q = must_open(addr, NULL);
	if (!q)
		bail_out("open");
	while ((r = shmq_recv_timed(q, buf, sizeof(buf), &len, 5000000000LL)) == 0)
		n++;
	is_int(n, 5, "a peer whose main thread exited: all it sends arrives");
	is_int(r, -EPIPE, "  then its close");
	shmq_close(q);
	wait_child(c, 5000);
}

/* The hub's client, asking once. */
static int ask_hub(void *arg)
{
	struct shmq_options o = { 0 };
	int *res = arg;
	shmq_t *q;

	o.open_timeout_ms = 8000;
	*res = shmq_connect(addr, &o, &q);
	if (*res == 0)
		shmq_close(q);
	return 0;
}

static int serve(void *arg)
{
	shmq_hub_t *h;
	shmq_t *c;

	(void)arg;
	if (shmq_hub_open(addr, NULL, &h))
		return 1;
	for (;;)
		if (shmq_hub_wait(h, &c, -1) == 0)
			shmq_hub_drop(h, c);
}

/* The slot a client has claimed in @area, within 5 s; -1 if none. */
static int claimed_slot(struct shmq_hub_area *area)
{
	int64_t until = tap_now_ns() + 5000000000LL;
	int i;

	while (tap_now_ns() < until) {
		for (i = 0; i < SHMQ_HUB_SLOTS; i++)
			if (__atomic_load_n(&area->slot[i].client, __ATOMIC_ACQUIRE))
				return i;
		usleep(1000);
	}
	return -1;
}

/* Answer a slot as its server would, with segment @shmid. */
static void offer_in(struct shmq_hub_slot *sl, int shmid)
{
	sl->shmid = shmid;
	__atomic_store_n(&sl->offered, 1, __ATOMIC_RELEASE);
	syscall(SYS_futex, &sl->offered, 1 /* FUTEX_WAKE */, 1, NULL, NULL, 0);
}

static void forged_offer(void)
{
	int *res = shared_page(4096);
	const char *fake_addr = tap_name("forged-pair");
	struct shmq_hub_area *area;
	struct shmq_hdr *hdr;
	pid_t server, client, forger;
	int hub, fake, s;

	addr = tap_name("forged");
	server = spawn(serve, NULL);
	hub = id_at(addr);
	usleep(100000);
	kill(server, SIGSTOP);	/* it answers nobody now */
	hdr = attach_id(hub);
	area = (struct shmq_hub_area *)((unsigned char *)hdr + SHMQ_HDR_SIZE);
	*res = 1;
	client = spawn(ask_hub, res);
	s = claimed_slot(area);
	ok(s >= 0, "a client asks a stopped hub server for a channel");
	/* The forger's own new pair, offered in the server's name. */
	forger = spawn(create_pair, (void *)fake_addr);
	fake = id_at(fake_addr);
	usleep(100000);
	if (s >= 0 && fake >= 0)
		offer_in(&area->slot[s], fake);
	wait_child(client, 10000);
	is_int(*res, -EPROTO, "  a channel in its slot that the server did not make: refused");
	kill(forger, SIGKILL);
	wait_child(forger, 5000);
	if (fake >= 0)
		shmctl(fake, IPC_RMID, NULL);
	kill(server, SIGKILL);
	kill(server, SIGCONT);
	wait_child(server, 5000);
	shmdt(hdr);
	shmctl(hub, IPC_RMID, NULL);
}

/* Fork until the child has pid @want (root: via ns_last_pid); -1 if not. */
static pid_t fork_as(pid_t want, int (*fn)(void *), void *arg)
{
	int i;

	for (i = 0; i < 20; i++) {
		FILE *f = fopen("/proc/sys/kernel/ns_last_pid", "w");
		pid_t c;

		if (!f || fprintf(f, "%d", (int)want - 1) < 0 || fclose(f))
			return -1;
		c = spawn(fn, arg);
		if (c == want)
			return c;
		kill(c, SIGKILL);
		wait_child(c, 5000);
	}
	return -1;
}

struct forger {
	struct shmq_hdr *hub;
	const char *fake;
};

/* The dead server's pid, reused: claim to be the server, make a pair. */
static int forge(void *arg)
{
	struct forger *f = arg;
	struct shmq_proc me;

	if (shmq_proc_read(getpid(), &me))
		return 1;
	__atomic_store_n(&f->hub->ep[0].owner, shmq_owner((uint32_t)getpid(), me.start,
							  SHMQ_EP_ATTACHED), __ATOMIC_SEQ_CST);
	return create_pair((void *)f->fake);
}

static void reused_server_pid(void)
{
	int *res = shared_page(4096);
	struct forger f;
	struct shmq_hub_area *area;
	pid_t server, client, forger;
	int hub, fake, s;

	if (geteuid() != 0) {
		skip(2, "reusing a pid on purpose needs root (ns_last_pid)");
		return;
	}
	addr = tap_name("reused");
	f.fake = tap_name("reused-pair");
	server = spawn(serve, NULL);
	hub = id_at(addr);
	/* A segment's ctime is whole seconds: a pid reused a second later is told apart. */
	usleep(2200000);
	kill(server, SIGKILL);
	wait_child(server, 5000);
	f.hub = attach_id(hub);
	area = (struct shmq_hub_area *)((unsigned char *)f.hub + SHMQ_HDR_SIZE);
	forger = fork_as(server, forge, &f);
	if (forger < 0) {
		skip(2, "could not get pid %d again", (int)server);
		shmdt(f.hub);
		shmctl(hub, IPC_RMID, NULL);
		return;
	}
	fake = id_at(f.fake);
	*res = 1;
	client = spawn(ask_hub, res);
	s = claimed_slot(area);
	ok(s >= 0 && fake >= 0, "the hub's server died; a process with its pid claims its place");
	if (s >= 0 && fake >= 0)
		offer_in(&area->slot[s], fake);
	wait_child(client, 10000);
	is_int(*res, -EPROTO, "  a client refuses the channel it offers: same pid, not the server");
	kill(forger, SIGKILL);
	wait_child(forger, 5000);
	if (fake >= 0)
		shmctl(fake, IPC_RMID, NULL);
	shmdt(f.hub);
	shmctl(hub, IPC_RMID, NULL);
}

int main(void)
{
	tap_start(120);
	freed_owner_word();
	persistent_state_reset();
	id_of_a_full_pair();
	sealed_leftover();
	raw_clone_child();
	persistent_sender_waits();
	zombie_leader();
	forged_offer();
	reused_server_pid();
	return done_testing();
}
