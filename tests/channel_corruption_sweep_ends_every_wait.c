/*
 * Every word, every state: a corrupted word never hangs an end, and never
 * passes for a clean end with messages missing.
 *
 * Two long-lived worker processes open a fresh pair per trial; one streams
 * numbered messages to the other, then shuts down its sending side (or, in
 * one state, closes).  The parent brings the pair into a state, writes one
 * 8-byte word of the segment (0, all ones, or a random value), lets the
 * pair go on with the default infinite timeouts, and judges what each end
 * reports.  The states:
 *
 *   idle        both opened, neither in a call
 *   streaming   the sender halfway through its messages
 *   full        the sender parked on a full ring, the receiver not reading
 *   parked      the receiver parked on an empty ring, the sender not sending
 *   closed      the sender closed with messages still queued
 *
 * The words: every word of the header block (identity, state, both
 * endpoint blocks, both ring control blocks), and every word of the live
 * part of the streaming ring (its records and the empty slot after them),
 * with either end as the sender, so both rings are swept.
 *
 * What must hold: both ends report within the deadline; the receiver got a
 * prefix of the stream in order, every message intact but for at most one
 * whose bytes differ inside the written word (payloads carry no checksum);
 * it ended with -EBADMSG, the sender's abandonment, or end of stream only
 * if nothing was missing.  An end that sees -EBADMSG keeps its handle open
 * until told (as a careless program would), so the other end must stop on
 * its own.
 */
#include <poll.h>
#include <sys/shm.h>

#include "chan.h"
#include "layout.h"
#include "wait.h"

#define CAP 4096
#define CTL_WORDS (offsetof(struct shmq_hdr, ring) / 8 + 2 * sizeof(struct shmq_ring_ctl) / 8)
#define DEADLINE_MS 5000

enum { IDLE, STREAMING, FULL, PARKED, CLOSED, NSTATES };
static const char *const state_name[NSTATES] = {
	"idle", "streaming", "sender blocked on full", "receiver parked",
	"sender closed with data queued",
};
static const int stream_len[NSTATES] = { 300, 3000, 300, 300, 40 };

enum { OP_OPEN, OP_GO, OP_CLOSE, OP_EXIT };

struct cmd {
	int op;
	int sender;		/* this worker sends (else receives) */
	int state;
	int nmsg;
	char name[64];
};

struct rep {
	int result;		/* of the open, of the stream, of the close */
	int shmid;
	int slot;		/* the endpoint it holds: whoever came first made it */
	uint64_t got;		/* messages received in order */
	int differed;		/* messages whose bytes differed */
	int64_t diff_off;	/* ring offset of the one word they differed in */
	int wrong;		/* a message differed in more than one word */
};

/* What the parent sees of each worker. */
struct worker {
	pid_t pid;
	int cmd_fd, rep_fd;
};

static volatile uint64_t *sent_count;	/* the sender's progress, shared */
/*
 * Set by the parent once it has written its word: a streaming sender ends
 * its stream only then.  Else a parent slowed down between seeing half the
 * stream sent and writing could write over the end of stream itself (0 in
 * `eof`, after the shutdown): the receiver would rightly wait for more
 * from a live sender that said nothing wrong, and the trial would hang.
 */
static volatile uint64_t *word_written;

/* ------------------------------------------------------------------ */
/* The stream                                                          */
/* ------------------------------------------------------------------ */

static size_t msg_len(uint64_t i)
{
	return 8 + (size_t)((i * 7) % 49);
}

static void msg_fill(unsigned char *p, uint64_t i)
{
	size_t j, len = msg_len(i);

	memcpy(p, &i, 8);
	for (j = 8; j < len; j++)
		p[j] = (unsigned char)(i * 31 + j);
}

/*
 * Where message @i's payload lies in a fresh ring: the records in order,
 * padded at the wrap exactly as the ring format says.
 */
static uint64_t payload_off(uint64_t *pos, size_t len)
{
	uint64_t size = 8 + ((len + 7) & ~(uint64_t)7), off = *pos & (CAP - 1);

	if (off + size > CAP)
		*pos += CAP - off;
	off = (*pos & (CAP - 1)) + 8;
	*pos += size;
	return off;
}

/* ------------------------------------------------------------------ */
/* The workers                                                         */
/* ------------------------------------------------------------------ */

static void reply(int fd, const struct rep *r)
{
	if (write(fd, r, sizeof(*r)) != (ssize_t)sizeof(*r))
		_exit(3);
}

static int next_cmd(int fd, struct cmd *c)
{
	return read(fd, c, sizeof(*c)) == (ssize_t)sizeof(*c) ? 0 : -1;
}

static int send_stream(shmq_t *q, const struct cmd *c)
{
	unsigned char buf[64];
	uint64_t i;
	int r;

	for (i = 0; i < (uint64_t)c->nmsg; i++) {
		msg_fill(buf, i);
		r = shmq_send(q, buf, msg_len(i));
		if (r)
			return r;
		*sent_count = i + 1;
	}
	if (c->state == STREAMING) {
		int64_t until = tap_now_ns() + (int64_t)DEADLINE_MS * 1000000;

		while (!*word_written && tap_now_ns() < until)
			usleep(100);
	}
	return c->state == CLOSED ? 0 : shmq_shutdown(q);
}

static void recv_stream(shmq_t *q, const struct cmd *c, struct rep *rep)
{
	unsigned char buf[256], want[64];
	uint64_t pos = 0;
	size_t len;
	int r;

	rep->diff_off = -1;
	for (;;) {
		size_t j, first = SIZE_MAX, last = 0, wl = msg_len(rep->got);
		uint64_t off = payload_off(&pos, wl);

		r = shmq_recv(q, buf, sizeof(buf), &len);
		if (r)
			break;
		if (rep->got >= (uint64_t)c->nmsg || len != wl) {
			rep->wrong = 1;		/* more than was sent, or torn */
			break;
		}
		msg_fill(want, rep->got);
		for (j = 0; j < len; j++)
			if (buf[j] != want[j]) {
				if (first == SIZE_MAX)
					first = j;
				last = j;
			}
		if (first != SIZE_MAX) {
			/* Only the written word may differ: one aligned word. */
			int64_t w = (int64_t)((off + first) & ~(uint64_t)7);

			rep->differed++;
			if ((off + last) / 8 != (uint64_t)w / 8)
				rep->wrong = 1;
			rep->diff_off = w;
		}
		rep->got++;
	}
	rep->result = r;
}

static void worker(int cmd_fd, int rep_fd)
{
	shmq_t *q = NULL;
	struct cmd c;
	struct rep rep;

	/* Peer checks every 5 ms, not 50: the sweep has many trials. */
	shmq_check_interval_ns = 5000000;
	while (next_cmd(cmd_fd, &c) == 0) {
		memset(&rep, 0, sizeof(rep));
		switch (c.op) {
		case OP_OPEN: {
			struct shmq_options o = { 0 };
			struct shmq_info info;

			o.send_capacity = o.recv_capacity = CAP;
			rep.result = shmq_open(c.name, &o, &q);
			if (rep.result == 0 && shmq_info(q, &info) == 0) {
				rep.shmid = info.shmid;
				rep.slot = info.slot;
			}
			break;
		}
		case OP_GO:
			if (c.sender) {
				rep.result = send_stream(q, &c);
				if (c.state == CLOSED && rep.result == 0) {
					shmq_close(q);
					q = NULL;
				}
			} else {
				recv_stream(q, &c, &rep);
			}
			break;
		case OP_CLOSE:
			if (q)
				shmq_close(q);
			q = NULL;
			break;
		case OP_EXIT:
			_exit(0);
		}
		reply(rep_fd, &rep);
	}
	_exit(0);
}

static void start_worker(struct worker *w)
{
	int cmd[2], rep[2];

	if (pipe(cmd) || pipe(rep))
		bail_out("pipe: %s", strerror(errno));
	w->pid = fork();
	if (w->pid < 0)
		bail_out("fork: %s", strerror(errno));
	if (w->pid == 0) {
		close(cmd[1]);
		close(rep[0]);
		alarm(600);
		worker(cmd[0], rep[1]);
	}
	close(cmd[0]);
	close(rep[1]);
	w->cmd_fd = cmd[1];
	w->rep_fd = rep[0];
}

static void stop_worker(struct worker *w)
{
	kill(w->pid, SIGKILL);
	waitpid(w->pid, NULL, 0);
	close(w->cmd_fd);
	close(w->rep_fd);
}

/* ------------------------------------------------------------------ */
/* The parent                                                          */
/* ------------------------------------------------------------------ */

static struct worker wk[2];	/* either may create the pair */

static void order(int w, int op, int sender, int state, const char *name)
{
	struct cmd c = { op, sender, state, stream_len[state], "" };

	snprintf(c.name, sizeof(c.name), "%s", name);
	if (write(wk[w].cmd_fd, &c, sizeof(c)) != (ssize_t)sizeof(c))
		bail_out("write to worker: %s", strerror(errno));
}

/* A worker's report, or -1 if none came before @deadline. */
static int await(int w, struct rep *r, int64_t deadline)
{
	struct pollfd p = { wk[w].rep_fd, POLLIN, 0 };
	int64_t left = (deadline - tap_now_ns()) / 1000000;

	if (left < 0 || poll(&p, 1, (int)left) != 1)
		return -1;
	return read(wk[w].rep_fd, r, sizeof(*r)) == (ssize_t)sizeof(*r) ? 0 : -1;
}

/* Poll until *word == want (a parked end announces itself), or time out. */
static int until_equal(const uint32_t *word, uint32_t want)
{
	int64_t end = tap_now_ns() + 2000000000LL;

	while (__atomic_load_n(word, __ATOMIC_ACQUIRE) != want)
		if (tap_now_ns() > end)
			return -1;
	return 0;
}

struct tally {
	int trials, clean, stopped, skipped;
	char first_failure[256];
};

static void failed(struct tally *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void failed(struct tally *t, const char *fmt, ...)
{
	va_list ap;

	if (t->first_failure[0] && !getenv("SWEEP_DEBUG"))
		return;
	va_start(ap, fmt);
	vsnprintf(t->first_failure, sizeof(t->first_failure), fmt, ap);
	va_end(ap);
	if (getenv("SWEEP_DEBUG"))
		diag("%s", t->first_failure);
}

static void restart_workers(void)
{
	stop_worker(&wk[0]);
	stop_worker(&wk[1]);
	start_worker(&wk[0]);
	start_worker(&wk[1]);
}

/*
 * One trial: stream from worker @s in @state; write @value at segment
 * offset @off (live >= 0: that many bytes past the streaming ring's head
 * instead, if still live then).
 */
static void trial(struct tally *t, int s, int state, int64_t off, int64_t live,
		  uint64_t value)
{
	struct rep rep[2], closed;
	struct shmq_hdr *h;
	struct shmq_ring_ctl *ctl;
	const char *name = tap_name("sweep");
	int64_t deadline;
	int r = 1 - s, i, ring, slot[2];
	unsigned char *data;

	*sent_count = 0;
	*word_written = 0;
	order(0, OP_OPEN, s == 0, state, name);
	order(1, OP_OPEN, s == 1, state, name);
	deadline = tap_now_ns() + (int64_t)DEADLINE_MS * 1000000;
	if (await(0, &rep[0], deadline) || await(1, &rep[1], deadline) ||
	    rep[0].result || rep[1].result) {
		failed(t, "the pair did not open (%d, %d)", rep[0].result, rep[1].result);
		restart_workers();
		return;
	}
	h = shmat(rep[0].shmid, NULL, 0);
	if (h == (void *)-1)
		bail_out("shmat %d: %s", rep[0].shmid, strerror(errno));
	slot[0] = rep[0].slot;
	slot[1] = rep[1].slot;
	ring = slot[s];		/* an endpoint sends on the ring of its number */
	ctl = &h->ring[ring];
	data = (unsigned char *)h + SHMQ_HDR_SIZE + (ring ? CAP : 0);

	/* Into the state. */
	switch (state) {
	case STREAMING:
		order(s, OP_GO, 1, state, name);
		order(r, OP_GO, 0, state, name);
		while (*sent_count < (uint64_t)stream_len[state] / 2 && tap_now_ns() < deadline)
			;
		break;
	case FULL:
		order(s, OP_GO, 1, state, name);
		if (until_equal(&ctl->space.waiting, 1))
			failed(t, "the sender never parked on a full ring (sent %llu, tail %llu)", (unsigned long long)*sent_count, (unsigned long long)ctl->tail);
		break;
	case PARKED:
		order(r, OP_GO, 0, state, name);
		if (until_equal(&ctl->data.waiting, 1))
			failed(t, "the receiver never parked");
		break;
	case CLOSED:
		order(s, OP_GO, 1, state, name);
		if (await(s, &rep[s], deadline) || rep[s].result)
			failed(t, "the sender did not close (%d)", rep[s].result);
		break;
	}

	/* One word. */
	if (live >= 0) {
		uint64_t head = __atomic_load_n(&ctl->head, __ATOMIC_ACQUIRE);
		uint64_t tail = __atomic_load_n(&ctl->tail, __ATOMIC_ACQUIRE);

		if ((uint64_t)live < tail - head + 8 && tail - head < CAP)
			off = (unsigned char *)data - (unsigned char *)h +
			      (int64_t)((head + (uint64_t)live) & (CAP - 1));
		else
			off = -1;	/* not live now */
	}
	if (off >= 0)
		__atomic_store_n((uint64_t *)(void *)((unsigned char *)h + off), value,
				 __ATOMIC_RELEASE);
	else
		t->skipped++;
	*word_written = 1;

	/* Out of it, with nobody's timeout but ours. */
	switch (state) {
	case IDLE:
		order(s, OP_GO, 1, state, name);
		order(r, OP_GO, 0, state, name);
		break;
	case FULL:
	case CLOSED:
		order(r, OP_GO, 0, state, name);
		break;
	case PARKED:
		order(s, OP_GO, 1, state, name);
		break;
	}
	deadline = tap_now_ns() + (int64_t)DEADLINE_MS * 1000000;
	for (i = 0; i < 2; i++) {
		if (i == s && state == CLOSED)
			continue;
		if (await(i, &rep[i], deadline)) {
			failed(t, "%s (endpoint %d) hung: offset %lld = 0x%llx",
			       i == s ? "sender" : "receiver", slot[i],
			       (long long)off, (unsigned long long)value);
			shmdt(h);
			restart_workers();
			t->trials++;
			return;
		}
	}
	t->trials++;
	if (off >= 0 && rep[r].result == -EPIPE && rep[r].got == (uint64_t)stream_len[state])
		t->clean++;
	else if (off >= 0)
		t->stopped++;

	/* Judge. */
	{
		const struct rep *rr = &rep[r];
		int64_t doff = off - (int64_t)((unsigned char *)data - (unsigned char *)h);

		if (rr->wrong || rr->differed > 1 ||
		    (rr->differed && (off < 0 || rr->diff_off != doff)))
			failed(t, "torn or altered beyond the word: offset %lld = 0x%llx "
			       "(differed %d at %lld)", (long long)off,
			       (unsigned long long)value, rr->differed, (long long)rr->diff_off);
		if (rr->result == -EPIPE && rr->got != (uint64_t)stream_len[state])
			failed(t, "end of stream after %llu of %d: offset %lld = 0x%llx",
			       (unsigned long long)rr->got, stream_len[state],
			       (long long)off, (unsigned long long)value);
		if (rr->result != -EPIPE && rr->result != -EBADMSG &&
		    rr->result != -ECONNABORTED)
			failed(t, "the receiver ended with %d: offset %lld = 0x%llx",
			       rr->result, (long long)off, (unsigned long long)value);
		if (state != CLOSED && rep[s].result != 0 && rep[s].result != -EBADMSG)
			failed(t, "the sender ended with %d: offset %lld = 0x%llx",
			       rep[s].result, (long long)off, (unsigned long long)value);
	}
	shmdt(h);
	order(0, OP_CLOSE, 0, state, name);
	order(1, OP_CLOSE, 0, state, name);
	deadline = tap_now_ns() + (int64_t)DEADLINE_MS * 1000000;
	if (await(0, &closed, deadline) || await(1, &closed, deadline)) {
		failed(t, "a close hung");
		restart_workers();
	}
}

int main(void)
{
	static const char *const vname[3] = { "0", "all ones", "random" };
	uint64_t seed = 0x5eed0001u ^ (uint64_t)getpid();
	int s, state, v;

	tap_start(900);
	signal(SIGPIPE, SIG_IGN);
	sent_count = shared_page(4096);
	word_written = sent_count + 8;	/* on another line of the page */
	start_worker(&wk[0]);
	start_worker(&wk[1]);
	diag("random values from xorshift seed 0x%llx", (unsigned long long)seed);

	for (state = 0; state < NSTATES; state++) {
		if (getenv("SWEEP_STATE") && atoi(getenv("SWEEP_STATE")) != state)
			continue;
		for (v = 0; v < 3; v++) {
			int64_t t0 = tap_now_ns();

			struct tally ctlt = { 0 }, livet = { 0 };
			int64_t w;
			int misses = 0;

			for (s = 0; s < 2; s++) {
				misses = 0;
				for (w = 0; w < (int64_t)CTL_WORDS; w++) {
					uint64_t value = v == 0 ? 0 : v == 1 ? ~0ull : t_rand(&seed);

					trial(&ctlt, s, state, w * 8, -1, value);
				}
				for (w = 0; w < CAP / 8; w++) {
					uint64_t value = v == 0 ? 0 : v == 1 ? ~0ull : t_rand(&seed);
					int before = livet.skipped;

					trial(&livet, s, state, -1, w * 8, value);
					/*
					 * Past the live part: done, where the state fixes
					 * it; while streaming, after a run of misses.
					 */
					misses = livet.skipped > before ? misses + 1 : 0;
					if (misses > (state == STREAMING ? 16 : 0))
						break;
				}
			}
			if (!ok(!ctlt.first_failure[0], "%s, control words set to %s: "
				"%d trials, none hung, lost or tore (%d ran clean, %d stopped)",
				state_name[state], vname[v], ctlt.trials, ctlt.clean,
				ctlt.stopped))
				diag("  first failure: %s", ctlt.first_failure);
			if (!ok(!livet.first_failure[0], "%s, live ring words set to %s: "
				"%d trials, none hung, lost or tore (%d ran clean, %d stopped)",
				state_name[state], vname[v], livet.trials - livet.skipped,
				livet.clean, livet.stopped))
				diag("  first failure: %s", livet.first_failure);
			diag("  %.1f s", (tap_now_ns() - t0) / 1e9);
		}
	}
	order(0, OP_EXIT, 0, 0, "");
	order(1, OP_EXIT, 0, 0, "");
	waitpid(wk[0].pid, NULL, 0);
	waitpid(wk[1].pid, NULL, 0);
	return done_testing();
}
