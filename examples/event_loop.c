/*
 * One epoll loop serving a hub, two shmq channels and a timer.
 *
 *   cc -o event_loop event_loop.c $(pkg-config --cflags --libs shmq)
 *   ./event_loop svc left right &
 *   shmq send left              (in a second terminal: a message per line)
 *   shmq send right three       (back in the first)
 *   shmq ping svc -c 5 -i 0 -q
 *
 * and Ctrl-D to `shmq send left` ends it.  The loop starts once both
 * channels have their sender (opening a channel waits for its peer).
 * Each descriptor (shmq_fd for a channel, shmq_hub_fd for the hub) is
 * readable while a try_ call would return at once, so the loop is the
 * usual one: wait, then try until -EAGAIN.  The hub's clients get each
 * message back (so shmq ping measures the loop); the channels' messages
 * are printed with their address.  It exits once both channels' streams
 * have ended.  The timer ticks every 100 ms beside them (the count goes
 * to stderr).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <shmq.h>

#define NCHAN 2
#define TIMER NCHAN
#define HUB (NCHAN + 1)

/*
 * Every client with something to say: echo its messages; drop it at its
 * end, at its death, or if it leaves its answers unread for 100 ms (the
 * loop must not wait on one client).
 */
static void serve_hub(shmq_hub_t *hub)
{
	char buf[4096];
	shmq_t *c;
	size_t len;
	int r;

	while (shmq_hub_wait(hub, &c, 0) == 0) {
		while ((r = shmq_try_recv(c, buf, sizeof(buf), &len)) == 0)
			if ((r = shmq_send_timed(c, buf, len, 100000000)) != 0)
				break;
		if (r != -EAGAIN)
			shmq_hub_drop(hub, c);
	}
}

int main(int argc, char **argv)
{
	struct itimerspec every = { { 0, 100000000 }, { 0, 100000000 } };
	struct epoll_event ev, got[8];
	shmq_t *q[NCHAN];
	shmq_hub_t *hub;
	int ep, timer, open_streams = NCHAN, i, n, r, fd;
	uint64_t ticks = 0, t;
	char buf[4096];
	size_t len;

	if (argc != 4) {
		fprintf(stderr, "usage: %s HUB ADDRESS ADDRESS\n", argv[0]);
		return 2;
	}
	ep = epoll_create1(EPOLL_CLOEXEC);
	timer = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (ep < 0 || timer < 0 || timerfd_settime(timer, 0, &every, NULL)) {
		perror("epoll/timerfd");
		return 1;
	}
	ev.events = EPOLLIN;
	ev.data.u32 = TIMER;
	epoll_ctl(ep, EPOLL_CTL_ADD, timer, &ev);
	r = shmq_hub_open(argv[1], NULL, &hub);
	fd = r ? r : shmq_hub_fd(hub);
	if (fd < 0) {
		fprintf(stderr, "%s: %s\n", argv[1], shmq_strerror(fd));
		return 1;
	}
	ev.data.u32 = HUB;
	epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
	for (i = 0; i < NCHAN; i++) {
		struct shmq_options o = { .flags = SHMQ_RECEIVER };

		r = shmq_open(argv[2 + i], &o, &q[i]);
		fd = r ? r : shmq_fd(q[i]);
		if (fd < 0) {
			fprintf(stderr, "%s: %s\n", argv[2 + i], shmq_strerror(fd));
			return 1;
		}
		ev.data.u32 = (uint32_t)i;
		epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
	}
	while (open_streams > 0) {
		n = epoll_wait(ep, got, 8, -1);
		if (n < 0 && errno != EINTR) {
			perror("epoll_wait");
			return 1;
		}
		for (int k = 0; k < n; k++) {
			i = (int)got[k].data.u32;
			if (i == TIMER) {
				if (read(timer, &t, sizeof(t)) == sizeof(t))
					ticks += t;
				continue;
			}
			if (i == HUB) {
				serve_hub(hub);
				continue;
			}
			/* Drain this channel: what makes its descriptor quiet again. */
			while ((r = shmq_try_recv(q[i], buf, sizeof(buf), &len)) == 0)
				printf("%s: %.*s\n", argv[2 + i], (int)len, buf);
			if (r == -EAGAIN)
				continue;
			/* Ended (or failed): stop watching it. */
			if (r != -EPIPE)
				fprintf(stderr, "%s: %s\n", argv[2 + i], shmq_strerror(r));
			epoll_ctl(ep, EPOLL_CTL_DEL, shmq_fd(q[i]), NULL);
			shmq_close(q[i]);
			open_streams--;
		}
	}
	fprintf(stderr, "timer ticks: %llu\n", (unsigned long long)ticks);
	shmq_hub_close(hub);
	close(timer);
	close(ep);
	return 0;
}
