/*
 * One epoll loop serving two shmq channels and a timer.
 *
 *   cc -o event_loop event_loop.c $(pkg-config --cflags --libs shmq)
 *   ./event_loop left right &
 *   shmq send left one two & shmq send right three
 *
 * Each channel's descriptor (shmq_fd) is readable while a receive would
 * return at once, so the loop is the usual one: wait, then try_recv until
 * -EAGAIN.  It prints every message with its channel's address, and exits
 * once both streams have ended.  The timer ticks every 100 ms beside them
 * (the count goes to stderr).
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

int main(int argc, char **argv)
{
	struct itimerspec every = { { 0, 100000000 }, { 0, 100000000 } };
	struct epoll_event ev, got[8];
	shmq_t *q[NCHAN];
	int ep, timer, open_streams = NCHAN, i, n, r;
	uint64_t ticks = 0, t;
	char buf[4096];
	size_t len;

	if (argc != 3) {
		fprintf(stderr, "usage: %s ADDRESS ADDRESS\n", argv[0]);
		return 2;
	}
	ep = epoll_create1(EPOLL_CLOEXEC);
	timer = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (ep < 0 || timer < 0 || timerfd_settime(timer, 0, &every, NULL)) {
		perror("epoll/timerfd");
		return 1;
	}
	ev.events = EPOLLIN;
	ev.data.u32 = NCHAN;		/* the timer */
	epoll_ctl(ep, EPOLL_CTL_ADD, timer, &ev);
	for (i = 0; i < NCHAN; i++) {
		struct shmq_options o = { .flags = SHMQ_RECEIVER };
		int fd;

		r = shmq_open(argv[1 + i], &o, &q[i]);
		if (r) {
			fprintf(stderr, "%s: %s\n", argv[1 + i], shmq_strerror(r));
			return 1;
		}
		fd = shmq_fd(q[i]);
		if (fd < 0) {
			fprintf(stderr, "%s: %s\n", argv[1 + i], shmq_strerror(fd));
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
			if (i == NCHAN) {
				if (read(timer, &t, sizeof(t)) == sizeof(t))
					ticks += t;
				continue;
			}
			/* Drain this channel: what makes its descriptor quiet again. */
			while ((r = shmq_try_recv(q[i], buf, sizeof(buf), &len)) == 0)
				printf("%s: %.*s\n", argv[1 + i], (int)len, buf);
			if (r == -EAGAIN)
				continue;
			/* Ended (or failed): stop watching it. */
			if (r != -EPIPE)
				fprintf(stderr, "%s: %s\n", argv[1 + i], shmq_strerror(r));
			epoll_ctl(ep, EPOLL_CTL_DEL, shmq_fd(q[i]), NULL);
			shmq_close(q[i]);
			open_streams--;
		}
	}
	fprintf(stderr, "timer ticks: %llu\n", (unsigned long long)ticks);
	close(timer);
	close(ep);
	return 0;
}
