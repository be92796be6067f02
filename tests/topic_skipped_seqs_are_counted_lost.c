/*
 * Topics: a publisher may skip sequence numbers (shmq_pub_skip_to(), what
 * a bridge does with another host's gaps).  Every subscriber then counts
 * exactly the numbers it never received as lost: between two messages, at
 * the end of the stream, across laps of a stopped lossy subscriber in
 * another process; a stream that begins at a high number costs nothing;
 * a start from a given seq finds it, or the next one held, or says why
 * not; a persistent topic's next publisher goes on after the skips.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chan.h"

static char name[64];

struct seen {
	uint64_t got, lost, first, last, bad;
	int end;
	int joined;
};

static shmq_pub_t *open_pub(const struct shmq_topic_options *to, unsigned flags)
{
	return t_pub_open(name, to, flags);
}

static shmq_sub_t *open_sub(const struct shmq_topic_options *to, int *err, char *why,
			    size_t whylen)
{
	struct shmq_options o = { .errbuf = why, .errbuf_size = whylen };
	shmq_sub_t *s = NULL;

	*err = shmq_sub_open(name, &o, to, &s);
	return s;
}

/* Each message holds its own seq, so a wrong one is seen. */
static int send_seq(shmq_pub_t *p)
{
	uint64_t s = shmq_pub_next_seq(p);

	return shmq_pub_try_send(p, &s, sizeof(s));
}

/* Receive what is there (try), checking each message names its seq. */
static void drain(shmq_sub_t *s, struct seen *w)
{
	uint64_t v;
	size_t len;
	int r;

	while ((r = shmq_sub_try_recv(s, &v, sizeof(v), &len)) == 0) {
		if (len != sizeof(v) || v != shmq_sub_seq(s) ||
		    (w->got && shmq_sub_seq(s) <= w->last))
			w->bad++;
		if (!w->got)
			w->first = shmq_sub_seq(s);
		w->last = shmq_sub_seq(s);
		w->got++;
	}
	w->end = r;
	w->lost = shmq_sub_lost(s);
}

static void fresh(const char *what)
{
	snprintf(name, sizeof(name), "%s", tap_name(what));
}

static void gaps_between_and_after(void)
{
	struct shmq_topic_options lossless = { 0 }, lossy = { .flags = SHMQ_SUB_LOSSY };
	struct seen a = { 0 }, b = { 0 }, c = { 0 };
	shmq_sub_t *sa, *sb, *sc = NULL;
	shmq_pub_t *p;
	char why[256];
	void *room;
	int e, i, ok_sends = 1;

	fresh("skip");
	sa = open_sub(&lossless, &e, why, sizeof(why));
	sb = open_sub(&lossy, &e, why, sizeof(why));
	p = open_pub(NULL, 0);
	if (!sa || !sb || !p)
		bail_out("cannot open the topic's ends");
	ok(shmq_pub_skip_to(p, 1000) == 0 && shmq_pub_next_seq(p) == 1000,
	   "a fresh topic's publisher skips to seq 1000");
	for (i = 0; i < 10; i++) {
		ok_sends &= send_seq(p) == 0;
		if (i == 5)
			sc = open_sub(&lossless, &e, why, sizeof(why));
	}
	ok(shmq_pub_skip_to(p, 999) == -EINVAL, "a skip backwards is refused (-EINVAL)");
	ok(shmq_pub_reserve(p, 8, &room, 0) == 0 && shmq_pub_skip_to(p, 2000) == -EBUSY &&
	   shmq_pub_commit(p, 0) == 0, "a skip while a reservation is open is refused "
	   "(-EBUSY)");
	/* That reservation became message 1010 (empty): a skip from 1011. */
	ok_sends &= shmq_pub_skip_to(p, 1100) == 0;
	for (i = 0; i < 5; i++)
		ok_sends &= send_seq(p) == 0;
	ok_sends &= shmq_pub_skip_to(p, 1200) == 0;
	ok(ok_sends && sc, "published 1000..1010, 1100..1104, then skipped to 1200");
	shmq_pub_close(p);
	drain(sa, &a);
	drain(sb, &b);
	if (sc)
		drain(sc, &c);
	/* The empty message 1010 fails drain's length check: count it out. */
	ok(a.got == 16 && a.first == 1000 && a.last == 1104 && a.bad == 1 &&
	   a.end == -EPIPE && a.lost == 89 + 95,
	   "a lossless subscriber from before the first message: 16 received "
	   "(%llu..%llu), lost %llu = 89 between and 95 after the last, then end",
	   (unsigned long long)a.first, (unsigned long long)a.last,
	   (unsigned long long)a.lost);
	ok(b.got == 16 && b.lost == 89 + 95 && b.end == -EPIPE,
	   "a lossy one counts the same: lost %llu", (unsigned long long)b.lost);
	ok(c.got == 10 && c.first == 1006 && c.lost == 89 + 95 && c.end == -EPIPE,
	   "one that joined after seq 1005: %llu from %llu, lost %llu",
	   (unsigned long long)c.got, (unsigned long long)c.first,
	   (unsigned long long)c.lost);
	shmq_sub_close(sa);
	shmq_sub_close(sb);
	shmq_sub_close(sc);
}

static void starts_from_a_seq(void)
{
	struct shmq_topic_options to = { .from = SHMQ_FROM_SEQ };
	struct seen w;
	shmq_sub_t *s;
	shmq_pub_t *p;
	char why[256];
	int e, i;

	fresh("from");
	p = open_pub(NULL, 0);
	if (!p)
		bail_out("cannot open the publisher");
	shmq_pub_skip_to(p, 100);
	for (i = 0; i < 10; i++)
		send_seq(p);
	shmq_pub_skip_to(p, 200);
	for (i = 0; i < 10; i++)
		send_seq(p);
	/* Held: 100..109, 200..209; the next is 210. */
	to.from_seq = 105;
	memset(&w, 0, sizeof(w));
	s = open_sub(&to, &e, why, sizeof(why));
	if (s)
		drain(s, &w);
	ok(s && w.first == 105 && w.got == 15 && w.lost == 90 && !w.bad,
	   "from seq 105: 105..109 and 200..209, lost 90 (%s)", s ? "" : why);
	shmq_sub_close(s);
	to.from_seq = 150;
	memset(&w, 0, sizeof(w));
	s = open_sub(&to, &e, why, sizeof(why));
	if (s)
		drain(s, &w);
	ok(s && w.first == 200 && w.got == 10 && w.lost == 50,
	   "from seq 150, skipped: starts at 200, and 150..199 are lost (%llu)",
	   (unsigned long long)w.lost);
	shmq_sub_close(s);
	to.from_seq = 99;
	why[0] = 0;
	s = open_sub(&to, &e, why, sizeof(why));
	ok(!s && e == -ERANGE && strstr(why, "the oldest it holds is 100") &&
	   strstr(why, "the next to come 210"), "from seq 99: -ERANGE, \"%s\"", why);
	to.from_seq = 211;
	s = open_sub(&to, &e, why, sizeof(why));
	ok(!s && e == -ERANGE, "from seq 211, not yet published: -ERANGE");
	to.from_seq = 210;
	memset(&w, 0, sizeof(w));
	s = open_sub(&to, &e, why, sizeof(why));
	shmq_pub_skip_to(p, 215);
	send_seq(p);
	if (s)
		drain(s, &w);
	ok(s && w.first == 215 && w.got == 1 && w.lost == 5,
	   "from seq 210, the next: a skip to 215 after it joined counts 5 lost");
	shmq_sub_close(s);
	shmq_pub_close(p);
}

static void persistent_goes_on(void)
{
	struct shmq_topic_options to = { 0 };
	shmq_pub_t *p;
	shmq_sub_t *s;
	struct seen w = { 0 };
	char why[256];
	int e;

	fresh("pers");
	p = open_pub(NULL, SHMQ_PERSISTENT);
	if (!p)
		bail_out("cannot open the publisher");
	s = open_sub(&to, &e, why, sizeof(why));
	shmq_pub_skip_to(p, 500);
	send_seq(p);
	shmq_pub_skip_to(p, 600);
	shmq_pub_close(p);
	p = open_pub(NULL, SHMQ_PERSISTENT);
	ok(p && shmq_pub_next_seq(p) == 600,
	   "a persistent topic's next publisher goes on at the skipped-to seq (%llu)",
	   p ? (unsigned long long)shmq_pub_next_seq(p) : 0ull);
	if (p)
		send_seq(p);
	if (s)
		drain(s, &w);
	ok(w.got == 2 && w.first == 500 && w.last == 600 && w.lost == 99,
	   "its subscriber got 500 and 600 and lost 99 (%llu)", (unsigned long long)w.lost);
	shmq_sub_close(s);
	shmq_pub_close(p);
	t_remove_at(name);	/* persistent: it stays */
}

/*
 * The first skip before anything was published is where the stream
 * begins; a second one before the first message is a loss already (a
 * bridge's start, then a gap).  UINT64_MAX, "none", is never a seq.  A
 * publisher that leaves as if dead (abandon) after a skip: the skipped
 * numbers are lost too, before -ECONNRESET.
 */
static void begin_then_gap(void)
{
	struct shmq_topic_options to = { 0 };
	struct seen w = { 0 };
	shmq_sub_t *s;
	shmq_pub_t *p;
	char why[256];
	int e;

	fresh("begin");
	s = open_sub(&to, &e, why, sizeof(why));
	p = open_pub(NULL, 0);
	if (!s || !p)
		bail_out("cannot open the topic's ends");
	ok(shmq_pub_skip_to(p, 100) == 0 && shmq_pub_skip_to(p, 150) == 0 && send_seq(p) == 0,
	   "a fresh topic: skip to 100 (its beginning), then to 150 (a gap), then seq 150");
	ok(shmq_pub_skip_to(p, UINT64_MAX) == -EINVAL, "UINT64_MAX is never a seq (-EINVAL)");
	shmq_pub_skip_to(p, 160);
	shmq_pub_abandon(p);
	drain(s, &w);
	ok(w.got == 1 && w.first == 150 && w.lost == 50 + 9 && w.end == -ECONNRESET,
	   "a subscriber from before the beginning lost 50 (100..149) and, after an "
	   "abandon, the 9 skipped after the last (lost %llu, %s)",
	   (unsigned long long)w.lost, shmq_strerror(w.end));
	shmq_sub_close(s);
	ok(!t_exists_at(name), "  and the abandoned topic, not persistent, is gone");
}

/*
 * A lossy subscriber in another process, stopped while the publisher
 * laps it many times with random skips: afterwards, what it got plus
 * what it lost is every number from its first to the last.
 */
static struct seen *shared;

static int lapped_child(void *arg)
{
	struct shmq_topic_options to = { .flags = SHMQ_SUB_LOSSY };
	struct shmq_options o = { .wait = SHMQ_WAIT_HYBRID };
	shmq_sub_t *s;
	uint64_t v;
	size_t len;
	int r;

	(void)arg;
	if (shmq_sub_open(name, &o, &to, &s))
		return 1;
	__atomic_store_n(&shared->joined, 1, __ATOMIC_RELEASE);
	shared->first = UINT64_MAX;
	for (;;) {
		r = shmq_sub_recv_timed(s, &v, sizeof(v), &len, 30000000000LL);
		if (r)
			break;
		if (v != shmq_sub_seq(s) || (shared->got && v <= shared->last))
			shared->bad++;
		if (shared->first == UINT64_MAX)
			shared->first = v;
		shared->last = v;
		if (++shared->got == 10)
			raise(SIGSTOP);
	}
	shared->lost = shmq_sub_lost(s);
	shared->end = r;
	shmq_sub_close(s);
	return 0;
}

static void lapped_in_another_process(void)
{
	struct shmq_topic_options to = { .slots = 64, .slot_size = 64 };
	uint64_t rnd = 12345, skipped = 0, i;
	shmq_pub_t *p;
	pid_t pid;
	int st, k;

	fresh("lap");
	p = open_pub(&to, 0);
	if (!p)
		bail_out("cannot open the publisher");
	pid = spawn(lapped_child, NULL);
	for (k = 0; k < 5000 && !__atomic_load_n(&shared->joined, __ATOMIC_ACQUIRE); k++)
		usleep(1000);
	for (i = 0; i < 10; i++)
		send_seq(p);
	for (k = 0; k < 5000 && waitpid(pid, &st, WUNTRACED | WNOHANG) == 0; k++)
		usleep(1000);
	for (i = 0; i < 100000; i++) {
		if (t_rand(&rnd) % 7 == 0) {
			uint64_t n = t_rand(&rnd) % 50;

			shmq_pub_skip_to(p, shmq_pub_next_seq(p) + n);
			skipped += n;
		}
		if (send_seq(p)) {
			diag("send failed");
			break;
		}
	}
	kill(pid, SIGCONT);
	usleep(20000);
	for (i = 0; i < 10; i++)
		send_seq(p);
	shmq_pub_close(p);
	ok(wait_child(pid, 60000) == 0, "the stopped lossy subscriber ended");
	ok(shared->end == -EPIPE && !shared->bad && shared->first == 0 &&
	   shared->got + shared->lost == shared->last + 1 && shared->lost > skipped,
	   "it got %llu and lost %llu, every seq 0..%llu (%llu of them skipped by the "
	   "publisher); its seqs only went up",
	   (unsigned long long)shared->got, (unsigned long long)shared->lost,
	   (unsigned long long)shared->last, (unsigned long long)skipped);
}

int main(void)
{
	tap_start(120);
	shared = shared_page(sizeof(*shared));
	gaps_between_and_after();
	starts_from_a_seq();
	persistent_goes_on();
	begin_then_gap();
	lapped_in_another_process();
	return done_testing();
}
