/*
 * Everything in shared memory is untrusted.
 *
 * 1. A third process attaches a live pair's segment by id and writes
 *    random words into it (header, endpoint words, ring control, ring
 *    data: a region per round) while the pair echoes messages.  Each end
 *    must only ever see valid messages or a clean error (-EBADMSG, a
 *    peer's end, a timeout), and must neither crash nor hang.  Run under
 *    ASan in CI, so any read out of bounds is a failure too.
 * 2. Crafted headers: a segment with a wrong magic, version, checksum,
 *    kind, geometry or ring positions is refused by open with a clear
 *    error.
 * 3. A corrupted record poisons the channel: -EBADMSG, and it stays so.
 */
#include <signal.h>
#include <sys/shm.h>

#include "chan.h"
#include "layout.h"

#define ROUNDS 24

struct shared {
	int shmid;
	int result[2];
	uint64_t valid[2], garbled[2];
	int stop;
};

static struct shared *sh;
static const char *addr;

static int echo_end(void *arg)
{
	int me = (int)(intptr_t)arg;
	struct shmq_options o = { 0 };
	struct shmq_info info;
	unsigned char buf[2048], want[2048];
	uint64_t n = 0;
	size_t len;
	shmq_t *q;
	int r = 0;

	o.send_capacity = o.recv_capacity = 16384;
	o.wait = me ? SHMQ_WAIT_BLOCK : SHMQ_WAIT_HYBRID;
	q = must_open(addr, &o);
	if (!q)
		return 1;
	shmq_info(q, &info);
	sh->shmid = info.shmid;
	while (!__atomic_load_n(&sh->stop, __ATOMIC_ACQUIRE)) {
		if (me == 0) {
			size_t l = t_len(9, n, sizeof(buf));

			t_fill(buf, 9, n, l);
			r = shmq_send_timed(q, buf, l, 1000000000LL);
			if (r)
				break;
			r = shmq_recv_timed(q, want, sizeof(want), &len, 1000000000LL);
			if (r)
				break;
			if (t_check(want, len, 9, n, sizeof(buf)))
				sh->valid[me]++;
			else
				sh->garbled[me]++;	/* the scribbler hit a payload */
			n++;
		} else {
			r = shmq_recv_timed(q, buf, sizeof(buf), &len, 1000000000LL);
			if (r)
				break;
			if (len > sizeof(buf))
				return 3;	/* a length the library should not hand out */
			sh->valid[me]++;
			r = shmq_send_timed(q, buf, len, 1000000000LL);
			if (r)
				break;
		}
	}
	sh->result[me] = r;
	shmq_close(q);
	return 0;
}

static uint64_t rng = 88172645463325252ull;

static uint64_t next(void)
{
	return t_rand(&rng);
}

static int scribble(int round)
{
	struct shmq_seg_info s;
	unsigned char *p;
	uint64_t lo, hi, i;
	int64_t end = tap_now_ns() + 300 * 1000000LL;

	if (shmq_seg_stat(sh->shmid, &s))
		return -1;
	p = shmat(sh->shmid, NULL, 0);
	if (p == (void *)-1)
		return -1;
	switch (round % 4) {
	case 0:		/* identity, state, endpoint words */
		lo = 0;
		hi = 640;
		break;
	case 1:		/* ring control: positions, eof, futex words */
		lo = 640;
		hi = 1664;
		break;
	case 2:		/* ring data: headers and payloads */
		lo = SHMQ_HDR_SIZE;
		hi = s.size;
		break;
	default:	/* anywhere */
		lo = 0;
		hi = s.size;
		break;
	}
	for (i = 0; tap_now_ns() < end; i++) {
		uint64_t off = lo + (next() % ((hi - lo) / 8)) * 8;
		uint64_t v = next();

		/* Sometimes plausible-looking values, sometimes noise. */
		if (v & 1)
			v &= 0xff0000ffffull;
		memcpy(p + off, &v, 8);
		if (i % 16 == 0)
			usleep(50);
	}
	shmdt(p);
	return 0;
}

static void scribbler_rounds(void)
{
	int crashed = 0, hung = 0, unclean = 0, round, i;
	uint64_t valid = 0, garbled = 0;
	int results[8] = { 0 }, other = 0;

	for (round = 0; round < ROUNDS; round++) {
		pid_t a, b;
		int sa, sb;

		memset(sh, 0, sizeof(*sh));
		addr = tap_name("scribble");
		a = spawn(echo_end, (void *)0);
		b = spawn(echo_end, (void *)1);
		for (i = 0; i < 5000 && !sh->valid[1]; i++)
			usleep(1000);
		rng += (uint64_t)round * 7919;
		scribble(round);
		__atomic_store_n(&sh->stop, 1, __ATOMIC_RELEASE);
		sa = wait_child(a, 15000);
		sb = wait_child(b, 15000);
		for (i = 0; i < 2; i++) {
			int st = i ? sb : sa;

			if (st == -1)
				hung++;
			else if (WIFSIGNALED(st))
				crashed++;
			else if (WEXITSTATUS(st))
				unclean++;
		}
		valid += sh->valid[0];
		garbled += sh->garbled[0];
		for (i = 0; i < 2; i++) {
			int r = sh->result[i];

			int k = r == 0 ? 0 : r == -EBADMSG ? 1 : r == -ETIMEDOUT ? 2 :
				r == -EPIPE ? 3 : r == -ECONNRESET ? 4 :
				r == -ECONNABORTED ? 5 : r == -EMSGSIZE ? 6 : 7;

			results[k]++;
			if (k == 7)
				other = r;
		}
	}
	is_int(crashed, 0, "%d scribbled rounds: no process crashed", ROUNDS);
	is_int(hung, 0, "  none hung");
	is_int(unclean, 0, "  none was handed an impossible length");
	if (!ok(results[7] == 0, "  every end stopped with a clean error or none"))
		diag("  for example %d: %s", other, shmq_strerror(other));
	diag("ends: %d ran to the stop, %d -EBADMSG, %d -ETIMEDOUT, %d -EPIPE, "
	     "%d -ECONNRESET, %d -ECONNABORTED, %d -EMSGSIZE, %d other", results[0],
	     results[1], results[2], results[3], results[4], results[5], results[6],
	     results[7]);
	diag("round trips: %llu intact, %llu with a payload the scribbler changed",
	     (unsigned long long)valid, (unsigned long long)garbled);
}

/* A persistent channel to tamper with at rest; returns its id. */
static int make_at_rest(const char *name)
{
	struct shmq_options o = { 0 };
	struct shmq_info info;
	shmq_t *q;

	o.flags = SHMQ_PERSISTENT;
	o.send_capacity = o.recv_capacity = 4096;
	if (shmq_open(name, &o, &q))
		bail_out("open %s", name);
	shmq_send(q, "resting", 7);
	shmq_info(q, &info);
	shmq_close(q);
	return info.shmid;
}


static void t_magic(struct shmq_hdr *h) { h->magic ^= 1; }
static void t_major(struct shmq_hdr *h) { h->major = 99; h->check = shmq_hdr_checksum(h); }
static void t_checksum(struct shmq_hdr *h) { h->cap[0] = 8192; }
static void t_kind(struct shmq_hdr *h) { h->kind = 7; h->check = shmq_hdr_checksum(h); }
static void t_newer_kind(struct shmq_hdr *h) { h->kind = 7; h->minor = 99; h->check = shmq_hdr_checksum(h); }
static void t_no_caps(struct shmq_hdr *h) { h->cap[0] = h->cap[1] = 0; h->total_size = 4096; h->check = shmq_hdr_checksum(h); }
static void t_bad_name(struct shmq_hdr *h) { static const char n[] = "\033[31mred"; memcpy(h->name, n, sizeof(n)); h->check = shmq_hdr_checksum(h); }
static void t_geom(struct shmq_hdr *h) { h->cap[0] = 3000; h->total_size = 4096 + 3000 + 4096; h->check = shmq_hdr_checksum(h); }
static void t_size(struct shmq_hdr *h) { h->cap[0] = 1 << 20; h->total_size = 4096 + (1 << 20) + 4096; h->check = shmq_hdr_checksum(h); }
static void t_head(struct shmq_hdr *h) { h->ring[0].head = 3; }
static void t_tail(struct shmq_hdr *h) { h->ring[0].tail = 1 << 20; }

static void crafted(const char *what, void (*tamper)(struct shmq_hdr *), int want)
{
	struct shmq_options o = { 0 };
	const char *name = tap_name("craft");
	char err[256] = "";
	int id = make_at_rest(name);
	struct shmq_hdr *h = shmat(id, NULL, 0);
	shmq_t *q;
	int r;

	tamper(h);
	shmdt(h);
	o.flags = SHMQ_PERSISTENT;
	o.errbuf = err;
	o.errbuf_size = sizeof(err);
	o.open_timeout_ms = 1000;
	r = shmq_open(name, &o, &q);
	if (!r)
		shmq_close(q);
	is_int(r, want, "%s: %s", what, shmq_strerror(want));
	diag("  %s", err);
	/* Inspection judges the header as an opener does; rings it leaves be. */
	if (tamper != t_head && tamper != t_tail) {
		struct shmq_desc d;

		is_int(shmq_describe(id, &d), want, "  and shmq_describe says so too");
	}
	shmq_seg_remove(id);
}

static void poisoned_for_good(void)
{
	const char *name = tap_name("poison");
	struct shmq_options o = { 0 };
	int id = make_at_rest(name);
	unsigned char *p = shmat(id, NULL, 0);
	char buf[64];
	size_t len;
	shmq_t *q;

	/* The resting record's header, in ring 0 at offset 0: wrong check. */
	((uint64_t *)(void *)(p + SHMQ_HDR_SIZE))[0] ^= 1ull << 45;
	shmdt(p);
	o.flags = SHMQ_PERSISTENT | SHMQ_ENDPOINT1;
	if (shmq_open(name, &o, &q))
		bail_out("reopen");
	is_int(shmq_try_recv(q, buf, sizeof(buf), &len), -EBADMSG,
	       "a corrupted record header: -EBADMSG");
	is_int(shmq_try_recv(q, buf, sizeof(buf), &len), -EBADMSG, "  and again: it stays poisoned");
	is_int(shmq_send(q, "x", 1), -EBADMSG, "  sending on it too");
	shmq_close(q);
	shmq_seg_remove(id);
}

int main(void)
{
	tap_start(300);
	sh = shared_page(4096);
	scribbler_rounds();
	crafted("a wrong magic number", t_magic, -EPROTO);
	crafted("another layout major version", t_major, -EPROTONOSUPPORT);
	crafted("a geometry change the checksum does not match", t_checksum, -EBADMSG);
	crafted("a kind no layout has: corrupt", t_kind, -EBADMSG);
	crafted("a kind from a newer layout", t_newer_kind, -EPROTOTYPE);
	crafted("zero capacities", t_no_caps, -EBADMSG);
	crafted("a name no opener could have written", t_bad_name, -EBADMSG);
	crafted("a capacity that is not a power of two", t_geom, -EBADMSG);
	crafted("a geometry larger than the segment", t_size, -EBADMSG);
	crafted("a misaligned ring head", t_head, -EBADMSG);
	crafted("a tail more than a ring ahead", t_tail, -EBADMSG);
	poisoned_for_good();
	return done_testing();
}
