/*
 * A minimal shmq program: run it twice.  The first run creates the channel
 * "example" and waits; the second joins it.  The joiner sends three
 * messages, the creator answers each, and both close.
 *
 *   cc echo.c -o echo $(pkg-config --cflags --libs shmq)
 *   ./echo & ./echo
 */
#include <shmq.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	const char *addr = argc > 1 ? argv[1] : "example";
	struct shmq_options opts = { 0 };	/* defaults: 1 MiB rings, 0600 */
	struct shmq_info info;
	char why[256], buf[256];
	size_t len;
	shmq_t *q;
	int r, i;

	opts.errbuf = why;
	opts.errbuf_size = sizeof(why);
	opts.open_timeout_ms = 10000;
	r = shmq_open(addr, &opts, &q);
	if (r) {
		fprintf(stderr, "open %s: %s: %s\n", addr, shmq_strerror(r), why);
		return 1;
	}
	shmq_info(q, &info);
	if (info.slot == 1) {
		/* The joiner asks... */
		for (i = 1; i <= 3; i++) {
			snprintf(buf, sizeof(buf), "question %d", i);
			shmq_send(q, buf, strlen(buf));
			r = shmq_recv(q, buf, sizeof(buf) - 1, &len);
			if (r)
				break;
			buf[len] = '\0';
			printf("joiner got: %s\n", buf);
		}
	} else {
		/* ...the creator answers, until the joiner closes. */
		while ((r = shmq_recv(q, buf, sizeof(buf) - 1, &len)) == 0) {
			char answer[300];

			buf[len] = '\0';
			snprintf(answer, sizeof(answer), "answer to %s", buf);
			shmq_send(q, answer, strlen(answer));
		}
		if (r == -EPIPE)
			r = 0;	/* the end of the stream, not an error */
	}
	shmq_close(q);
	if (r)
		fprintf(stderr, "%s\n", shmq_strerror(r));
	return r ? 1 : 0;
}
