/*
 * A hub's slots are written by its clients, so the server treats them as
 * untrusted.  While a scribbler writes random words over the slots (and
 * the door), clients keep connecting and echoing, each with a deadline,
 * and the server keeps serving.  The server never crashes or hangs; every
 * client either gets a clear error or a working channel whose echoes are
 * intact.  Once the scribbling stops the hub recovers: garbage askers are
 * swept, a new client connects and talks, and closing leaves nothing.
 */
#include <signal.h>
#include <sys/wait.h>

#include "chan.h"
#include "hub_layout.h"

#define NCLIENTS 4
#define SCRIBBLE_MS 400

struct shared {
	int stop;
	int connected[NCLIENTS + 1], refused[NCLIENTS + 1], bad[NCLIENTS + 1];
	int echoed[NCLIENTS + 1];
};

static struct shared *sh;
static const char *addr;
static int idx;

static int scribbler(void *arg)
{
	struct shmq_addr a;
	uint64_t seed = (uint64_t)getpid() * 0x9e3779b97f4a7c15ull | 1;
	unsigned char *p;
	void *base;
	int id;

	(void)arg;
	if (shmq_addr_parse(addr, &a) || shmq_seg_open(&a, &id) ||
	    shmq_seg_attach(id, 0, &base))
		return 1;
	p = (unsigned char *)base + SHMQ_HDR_SIZE;
	while (!__atomic_load_n(&sh->stop, __ATOMIC_ACQUIRE)) {
		size_t off = (t_rand(&seed) % (sizeof(struct shmq_hub_area) / 8)) * 8;
		uint64_t w = t_rand(&seed);

		/* Now and then a word that looks like a claim by a live pid. */
		if ((w & 15) == 0)
			w = (w & ~(uint64_t)0x3fffff) | 1 | (uint64_t)getppid() << 2;
		__atomic_store_n((uint64_t *)(void *)(p + off), w, __ATOMIC_RELAXED);
		if ((t_rand(&seed) & 15) == 0)
			usleep(100);
	}
	shmq_seg_detach(base);
	return 0;
}

/* Connect and echo, again and again, until told to stop. */
static int client(void *arg)
{
	struct shmq_options o = { 0 };
	unsigned char buf[512], back[512];
	uint64_t n = 0;

	(void)arg;
	o.open_timeout_ms = 300;
	while (!__atomic_load_n(&sh->stop, __ATOMIC_ACQUIRE)) {
		shmq_t *q;
		size_t len;
		int i, r = shmq_connect(addr, &o, &q);

		if (r) {
			sh->refused[idx]++;
			continue;
		}
		sh->connected[idx]++;
		for (i = 0; i < 50; i++, n++) {
			size_t m = t_len((uint64_t)idx, n, sizeof(buf));

			t_fill(buf, (uint64_t)idx, n, m);
			if (shmq_send(q, buf, m) ||
			    shmq_recv_timed(q, back, sizeof(back), &len, 5000000000LL))
				break;
			if (!t_check(back, len, (uint64_t)idx, n, sizeof(buf)))
				sh->bad[idx]++;
			sh->echoed[idx]++;
		}
		shmq_close(q);
	}
	return 0;
}

/* Serve for @ms milliseconds: echo everything, drop what ends. */
static int serve(shmq_hub_t *h, int ms)
{
	int64_t end = tap_now_ns() + (int64_t)ms * 1000000;
	unsigned char buf[512];

	while (tap_now_ns() < end) {
		shmq_t *c;
		size_t len;
		int r = shmq_hub_wait(h, &c, 10000000);

		if (r == -ETIMEDOUT)
			continue;
		if (r)
			return r;
		while ((r = shmq_try_recv(c, buf, sizeof(buf), &len)) == 0)
			if (shmq_send_timed(c, buf, len, 1000000000LL))
				break;
		if (r != -EAGAIN)
			shmq_hub_drop(h, c);
	}
	return 0;
}

int main(void)
{
	struct shmq_options o = { 0 };
	pid_t kids[NCLIENTS + 1], scr;
	int i, r, connected = 0, echoed = 0, bad = 0, refused = 0;
	shmq_hub_t *h;

	tap_start(120);
	sh = shared_page(sizeof(*sh));
	addr = tap_name("scrib");
	r = shmq_hub_open(addr, &o, &h);
	if (r)
		bail_out("hub_open: %s", shmq_strerror(r));

	scr = spawn(scribbler, NULL);
	for (i = 0; i < NCLIENTS; i++) {
		idx = i;
		kids[i] = spawn(client, NULL);
	}
	r = serve(h, SCRIBBLE_MS);
	is_int(r, 0, "the server kept serving through %d ms of scribbling", SCRIBBLE_MS);
	__atomic_store_n(&sh->stop, 1, __ATOMIC_RELEASE);
	/*
	 * Serve on while the clients finish their rounds (a round ends within
	 * its deadlines: 300 ms to connect, 5 s per echo), up to 20 s.
	 */
	{
		int status[NCLIENTS], left = NCLIENTS, k;
		int64_t end = tap_now_ns() + 20000000000LL;

		for (i = 0; i < NCLIENTS; i++)
			status[i] = -2;
		while (left && tap_now_ns() < end) {
			serve(h, 20);
			for (i = 0; i < NCLIENTS; i++)
				if (status[i] == -2 &&
				    waitpid(kids[i], &k, WNOHANG) == kids[i]) {
					status[i] = k;
					left--;
				}
		}
		for (i = 0; i < NCLIENTS; i++) {
			if (status[i] == -2)
				status[i] = wait_child(kids[i], 1);
			is_int(child_exit_code(status[i]), 0, "client %d never crashed or hung", i);
			connected += sh->connected[i];
			refused += sh->refused[i];
			echoed += sh->echoed[i];
			bad += sh->bad[i];
		}
	}
	is_int(child_exit_code(wait_child(scr, 5000)), 0, "the scribbler finished");
	diag("%d connections, %d refused or timed out, %d echoes, %d corrupted",
	     connected, refused, echoed, bad);
	ok(connected + refused > 0, "clients kept trying");
	is_int(bad, 0, "no echo came back corrupted (each client's channel is its own)");

	/* The hub recovers once the slots are left alone. */
	__atomic_store_n(&sh->stop, 0, __ATOMIC_RELEASE);
	memset(&sh->connected, 0, sizeof(sh->connected));
	memset(&sh->echoed, 0, sizeof(sh->echoed));
	idx = NCLIENTS;
	kids[NCLIENTS] = spawn(client, NULL);
	for (i = 0; i < 300 && sh->echoed[NCLIENTS] < 50; i++)
		serve(h, 10);
	__atomic_store_n(&sh->stop, 1, __ATOMIC_RELEASE);
	for (i = 0; i < 100 && waitpid(kids[NCLIENTS], NULL, WNOHANG) == 0; i++)
		serve(h, 20);
	wait_child(kids[NCLIENTS], 1000);
	ok(sh->connected[NCLIENTS] > 0 && sh->echoed[NCLIENTS] >= 50,
	   "afterwards a new client connects and is echoed (%d echoes)",
	   sh->echoed[NCLIENTS]);
	is_int(shmq_hub_close(h), 0, "the server closes the hub");
	is_int(segments_made_by(getpid()), 0, "nothing the server made is left");
	return done_testing();
}
