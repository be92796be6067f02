/*
 * zmq_frames ENDPOINT: a hostile exporter.  Binds a plain ZeroMQ XPUB
 * socket at ENDPOINT (tcp://127.0.0.1:* is fine), prints "port N", waits
 * for an importer to subscribe, then sends, in this order:
 *   - good frames, seqs 0..9, payload "good SEQ";
 *   - 12 hand-made bad frames: short, empty, wrong magic, version, type,
 *     reserved, check, a length that disagrees with the size (both ways),
 *     a payload past the topic's largest message, a start frame with a
 *     payload, an end frame with a payload;
 *   - 500 frames of random bytes and 500 good frames with one header byte
 *     changed (fixed seed: the same every run);
 *   - repeats of seqs 5 and 3 (as good frames);
 *   - good frames 10..19, then 25..29 (a gap: 20..24 lost);
 *   - a good batch frame of seqs 30..32; a batch whose first record's
 *     check is wrong (nothing of it published); a batch of a good record
 *     (33) and one whose length runs past the frame (33 published);
 *   - an end frame at 34.
 * Prints "bad N" (the bad frames sent) and "repeats 2" on stdout.
 * zmq_frames ENDPOINT huge: one good frame, then one of 1.2 MB.  Exit 77
 * when built without ZeroMQ.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef HAVE_ZMQ
#include <zmq.h>

#include "../../cli/bridge.h"

static void *sock;
static uint64_t stream = 0x5eed5eed5eed5eedull;

static void raw(const void *p, size_t n)
{
	while (zmq_send(sock, p, n, 0) < 0)
		usleep(1000);
}

/* A frame: header (checked as the bridge does) and payload, or @n bytes of it. */
static size_t frame(unsigned char *out, int type, uint64_t seq, const void *payload,
		    size_t len)
{
	struct bridge_hdr h = { BRIDGE_MAGIC, BRIDGE_VERSION, (uint8_t)type, 0,
				(uint32_t)len, 0, seq, stream };

	h.check = bridge_check(&h);
	memcpy(out, &h, sizeof(h));
	if (len)
		memcpy(out + sizeof(h), payload, len);
	return sizeof(h) + len;
}

static void good(uint64_t seq)
{
	unsigned char b[128];
	char text[64];
	int n = snprintf(text, sizeof(text), "good %llu", (unsigned long long)seq);

	raw(b, frame(b, BRIDGE_DATA, seq, text, (size_t)n));
}

/* A record of a batch frame at @p: its size. */
static size_t rec(unsigned char *p, uint64_t seq, const char *text)
{
	struct bridge_rec r = { seq, (uint32_t)strlen(text), 0 };

	r.check = bridge_rec_check(r.seq, r.len, stream);
	memcpy(p, &r, sizeof(r));
	memcpy(p + sizeof(r), text, r.len);
	return sizeof(r) + r.len;
}

/* Send the records in @body (@n bytes) as one batch frame. */
static void batch(const unsigned char *body, size_t n, uint64_t first)
{
	static unsigned char b[4096];

	raw(b, frame(b, BRIDGE_BATCH, first, body, n));
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

int main(int argc, char **argv)
{
	static unsigned char b[8192], big[4096];
	struct bridge_hdr *h = (struct bridge_hdr *)b;
	uint64_t s = 42, i;
	void *ctx = zmq_ctx_new();
	char where[256];
	size_t n = sizeof(where), len;
	int bad = 0, k, one = 1, forever = -1;

	if (argc != 2 && (argc != 3 || strcmp(argv[2], "huge")))
		return 2;
	sock = zmq_socket(ctx, ZMQ_XPUB);
	/* Every frame reaches the importer: wait at the high-water mark. */
	if (!sock || zmq_setsockopt(sock, ZMQ_XPUB_NODROP, &one, sizeof(one)) ||
	    zmq_setsockopt(sock, ZMQ_LINGER, &forever, sizeof(forever)) ||
	    zmq_bind(sock, argv[1]) ||
	    zmq_getsockopt(sock, ZMQ_LAST_ENDPOINT, where, &n)) {
		fprintf(stderr, "zmq_frames: %s: %s\n", argv[1], zmq_strerror(zmq_errno()));
		return 1;
	}
	printf("port %s\n", strrchr(where, ':') + 1);
	fflush(stdout);
	/* The importer's subscription. */
	if (zmq_recv(sock, b, sizeof(b), 0) < 1)
		return 1;
	usleep(100000);
	if (argc == 3) {
		/*
		 * huge: one good message, then a frame larger than any frame
		 * can be (1.2 MB).  ZeroMQ refuses it itself (ZMQ_MAXMSGSIZE)
		 * and cuts the connection; nothing of it reaches the importer.
		 */
		static unsigned char huge[1200000];

		good(0);
		memset(huge, 'H', sizeof(huge));
		frame(huge, BRIDGE_BATCH, 1, NULL, 0);
		((struct bridge_hdr *)huge)->len = sizeof(huge) - sizeof(struct bridge_hdr);
		((struct bridge_hdr *)huge)->check = bridge_check((struct bridge_hdr *)huge);
		raw(huge, sizeof(huge));
		printf("huge sent\n");
		fflush(stdout);
		sleep(1);
		zmq_close(sock);
		zmq_ctx_term(ctx);
		return 0;
	}
	for (i = 0; i < 10; i++)
		good(i);

	/* Hand-made bad frames. */
	raw(b, 20), bad++;					/* short */
	raw(b, 0), bad++;					/* empty */
	len = frame(b, BRIDGE_DATA, 10, "x", 1);
	h->magic ^= 1, raw(b, len), bad++;
	frame(b, BRIDGE_DATA, 10, "x", 1), h->version = 9, raw(b, len), bad++;
	frame(b, BRIDGE_DATA, 10, "x", 1), h->type = 9, h->check = bridge_check(h);
	raw(b, len), bad++;					/* checked, unknown type */
	frame(b, BRIDGE_DATA, 10, "x", 1), h->reserved = 1, raw(b, len), bad++;
	frame(b, BRIDGE_DATA, 10, "x", 1), h->check ^= 1, raw(b, len), bad++;
	frame(b, BRIDGE_DATA, 10, "xyz", 3), raw(b, len), bad++;	/* len 3, size says 1 */
	len = frame(b, BRIDGE_DATA, 10, "xyz", 3), raw(b, len - 1), bad++;	/* shorter */
	memset(big, 'B', sizeof(big));
	len = frame(b, BRIDGE_DATA, 10, big, sizeof(big)), raw(b, len), bad++;	/* > slot */
	len = frame(b, BRIDGE_START, 10, "x", 1), raw(b, len), bad++;
	len = frame(b, BRIDGE_END, 10, "x", 1), raw(b, len), bad++;
	/* Random bytes, and good frames with one header byte changed. */
	for (k = 0; k < 500; k++) {
		len = 1 + rnd(&s) % 200;
		for (i = 0; i < len; i++)
			b[i] = (unsigned char)rnd(&s);
		raw(b, len), bad++;
	}
	for (k = 0; k < 500; k++) {
		unsigned at = (unsigned)(rnd(&s) % sizeof(struct bridge_hdr));
		unsigned char x = (unsigned char)(1 + rnd(&s) % 255);

		len = frame(b, BRIDGE_DATA, 10 + rnd(&s) % 1000, "mutant", 6);
		b[at] ^= x;
		raw(b, len), bad++;
	}

	good(5);	/* repeats: dropped, never published twice */
	good(3);
	for (i = 10; i < 20; i++)
		good(i);
	for (i = 25; i < 30; i++)
		good(i);
	{
		unsigned char body[512];
		size_t m = 0;

		m += rec(body + m, 30, "good 30");
		m += rec(body + m, 31, "good 31");
		m += rec(body + m, 32, "good 32");
		batch(body, m, 30);
		m = rec(body, 40, "bad 40");
		body[12] ^= 1;				/* its check */
		m += rec(body + m, 41, "bad 41");
		batch(body, m, 40), bad++;
		m = rec(body, 33, "good 33");
		m += rec(body + m, 34, "bad 34");
		body[m - 6 - 16 + 8] = 200;		/* its length: past the end */
		batch(body, m, 33), bad++;
	}
	raw(b, frame(b, BRIDGE_END, 34, NULL, 0));
	printf("bad %d\nrepeats 2\n", bad);
	fflush(stdout);
	sleep(1);	/* let them go */
	zmq_close(sock);
	zmq_ctx_term(ctx);
	return 0;
}
#else
int main(void)
{
	fprintf(stderr, "zmq_frames: built without ZeroMQ\n");
	return 77;
}
#endif
