/*
 * The copying and zero-copy calls between two processes: try (-EAGAIN),
 * timed (-ETIMEDOUT), a too-small buffer (-EMSGSIZE, size reported, the
 * message stays queued), zero length, the largest message, a full ring,
 * batches, and end of stream after the drain.
 */
#include "chan.h"

struct report {
	int too_big;		/* send of max + 1 */
	int fill_count;		/* try_send before -EAGAIN */
	int timed_full;		/* send_timed on a full ring */
	int64_t timed_full_ns;
	int batch_commit;	/* what commit returned */
	int enobufs;		/* reserve past its own batch */
	int info_ok;
	int send_after_close;
};

static struct report *rep;
static const char *addr;

static struct shmq_options opts(void)
{
	struct shmq_options o = { 0 };

	o.send_capacity = 8192;
	o.recv_capacity = 5000;	/* rounds up to 8192 */
	return o;
}

static int child(void *arg)
{
	struct shmq_options o = opts();
	struct shmq_info info;
	unsigned char big[4096];
	char buf[64];
	void *d[3];
	size_t len;
	shmq_t *q = must_open(addr, &o);
	int64_t t0;
	int r;

	(void)arg;
	if (!q)
		return 1;
	shmq_info(q, &info);
	rep->info_ok = info.send_capacity == 8192 && info.recv_capacity == 8192 &&
		       info.max_send == 4088 && info.peer_state == SHMQ_PEER_ATTACHED;
	if (shmq_recv(q, buf, sizeof(buf), &len) || len != 2)	/* "go" */
		return 2;
	memset(big, 0xab, sizeof(big));
	shmq_send(q, "hello", 5);
	shmq_send(q, "", 0);
	shmq_send(q, big, 4088);
	rep->too_big = shmq_send(q, big, 4089);
	/* A batch of three, published by one commit. */
	shmq_reserve(q, 3, &d[0], -1);
	shmq_reserve(q, 3, &d[1], -1);
	shmq_reserve(q, 3, &d[2], -1);
	memcpy(d[0], "one", 3);
	memcpy(d[1], "two", 3);
	memcpy(d[2], "six", 3);
	rep->batch_commit = shmq_commit(q);
	if (shmq_recv(q, buf, sizeof(buf), &len))	/* "ack" */
		return 3;
	/* Fill the ring. */
	while ((r = shmq_try_send(q, big, 100)) == 0)
		rep->fill_count++;
	if (r != -EAGAIN)
		return 4;
	t0 = tap_now_ns();
	rep->timed_full = shmq_send_timed(q, big, 100, 50 * 1000000);
	rep->timed_full_ns = tap_now_ns() - t0;
	/* Blocks until the parent drains, then goes through. */
	if (shmq_send(q, "last", 4))
		return 5;
	if (shmq_recv(q, buf, sizeof(buf), &len))	/* "bye": all drained */
		return 6;
	/* A reservation larger than what the own batch leaves: no waiting. */
	if (shmq_reserve(q, 3000, &d[0], 0) || shmq_reserve(q, 3000, &d[1], 0))
		return 7;
	rep->enobufs = shmq_reserve(q, 3000, &d[2], -1);
	shmq_discard(q);
	shmq_send(q, "after", 5);
	shmq_close(q);
	return 0;
}

int main(void)
{
	struct shmq_options o = opts();
	struct shmq_info info;
	char small[2], buf[8192];
	const void *pb;
	size_t len, plen;
	int64_t t0, dt;
	shmq_t *q;
	pid_t pid;
	int n, r, status;

	tap_start(60);
	addr = tap_name("sem");
	rep = shared_page(4096);
	pid = spawn(child, NULL);
	q = must_open(addr, &o);
	if (!q)
		bail_out("open");
	is_int(shmq_info(q, &info), 0, "info");
	ok(info.send_capacity == 8192 && info.recv_capacity == 8192,
	   "capacities round up to powers of two: 8192 both ways");
	is_int(info.max_send, 8192 / 2 - 8, "the largest message is capacity/2 - 8");
	is_int(info.peer_pid, pid, "the peer is the child");
	is_int(info.peer_state, SHMQ_PEER_ATTACHED, "  attached");

	is_int(shmq_try_recv(q, buf, sizeof(buf), &len), -EAGAIN,
	       "try_recv on an empty channel: -EAGAIN");
	t0 = tap_now_ns();
	r = shmq_recv_timed(q, buf, sizeof(buf), &len, 50 * 1000000);
	dt = tap_now_ns() - t0;
	is_int(r, -ETIMEDOUT, "recv_timed(50 ms) on an empty channel: -ETIMEDOUT");
	ok(dt >= 50 * 1000000 && dt < 1000 * 1000000, "  after %.1f ms", dt / 1e6);

	shmq_send(q, "go", 2);
	r = shmq_recv(q, small, sizeof(small), &len);
	is_int(r, -EMSGSIZE, "recv into a 2-byte buffer: -EMSGSIZE");
	is_int(len, 5, "  and the size needed, 5");
	r = shmq_recv(q, buf, sizeof(buf), &len);
	ok(r == 0 && len == 5 && !memcmp(buf, "hello", 5),
	   "the message stayed queued: 'hello' with a big enough buffer");
	r = shmq_recv(q, buf, sizeof(buf), &len);
	ok(r == 0 && len == 0, "a zero-length message arrives as one");
	r = shmq_recv(q, buf, sizeof(buf), &len);
	ok(r == 0 && len == 4088 && (unsigned char)buf[0] == 0xab &&
	   (unsigned char)buf[4087] == 0xab, "the largest message (4088 bytes) arrives whole");
	r = shmq_peek(q, &pb, &plen, -1);
	ok(r == 0 && plen == 3 && !memcmp(pb, "one", 3), "peek: 'one', in place");
	r = shmq_peek(q, &pb, &plen, -1);
	ok(r == 0 && plen == 3 && !memcmp(pb, "two", 3), "peek: 'two'");
	r = shmq_peek(q, &pb, &plen, -1);
	ok(r == 0 && plen == 3 && !memcmp(pb, "six", 3), "peek: 'six'");
	is_int(shmq_release(q), 3, "release frees all three");
	ok(rep->info_ok, "the joiner's info mirrors the creator's");

	shmq_send(q, "ack", 3);
	/* The child fills the ring, then blocks on "last" until we drain. */
	for (n = 0; n < 2000 && !rep->timed_full; n++)
		usleep(10000);	/* up to 20 s: a loaded machine is slow, not wrong */
	/*
	 * The child stored these after the sends they report on, so only
	 * now (it went on to fill the ring) are they surely there to read.
	 */
	is_int(rep->too_big, -EMSGSIZE, "sending one byte more than the largest: -EMSGSIZE");
	is_int(rep->batch_commit, 3, "commit of a batch of three returns 3");
	is_int(rep->timed_full, -ETIMEDOUT, "send_timed(50 ms) into a full ring: -ETIMEDOUT");
	ok(rep->timed_full_ns >= 50 * 1000000, "  after %.1f ms", rep->timed_full_ns / 1e6);
	ok(rep->fill_count > 50, "try_send filled the ring with %d messages, then -EAGAIN",
	   rep->fill_count);
	for (n = 0;; n++) {
		r = shmq_recv_timed(q, buf, sizeof(buf), &len, 5000000000LL);
		if (r || len == 4)
			break;
	}
	is_int(n, rep->fill_count, "every message of the full ring arrives");
	ok(r == 0 && len == 4 && !memcmp(buf, "last", 4),
	   "the send that blocked on the full ring went through once drained");
	shmq_send(q, "bye", 3);
	r = shmq_recv_timed(q, buf, sizeof(buf), &len, 5000000000LL);
	ok(r == 0 && len == 5, "a message sent just before close arrives");
	is_int(shmq_recv_timed(q, buf, sizeof(buf), &len, 5000000000LL), -EPIPE,
	       "then end of stream: -EPIPE");
	is_int(shmq_try_recv(q, buf, sizeof(buf), &len), -EPIPE, "  and it stays so");
	is_int(shmq_send(q, "x", 1), -EPIPE, "sending to a closed peer: -EPIPE");
	shmq_info(q, &info);
	is_int(info.peer_state, SHMQ_PEER_CLOSED, "info says the peer closed");
	is_int(rep->enobufs, -ENOBUFS,
	       "a reservation that cannot fit behind the own batch: -ENOBUFS, not a hang");
	status = wait_child(pid, 10000);
	is_int(child_exit_code(status), 0, "the child ran its part");
	is_int(shmq_close(q), 0, "close");
	return done_testing();
}
