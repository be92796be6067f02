/*
 * The library never uses a descriptor number it has not proven its own.
 *
 * The parent holds every kind of descriptor the library keeps: a channel
 * with both event-loop descriptors (epoll sets, sockets, a pidfd of its
 * peer), a hub with its descriptor, and the socket its wakes go out from.
 * A child (made by fork(), then by _Fork(), which runs no fork handlers)
 * closes everything (close_range), fills the same numbers with files of
 * its own (a TCP connection, pipes), then:
 *  - opens a channel of its own to the parent and makes 40 round trips
 *    in which both ends wait in poll() on shmq_fd(): every wake arrives,
 *    and not one byte appears on any of its other files;
 *  - closes the inherited channel and hub: none of its files is closed.
 * The parent's own channel still works afterwards.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include "chan.h"

#define ROUNDS 40
#define MAXFILES 256

struct shared {
	int parked;		/* rounds in which the parent's poll() was needed */
};

static struct shared *sh;
static const char *own_addr;

static int echo(void *arg)
{
	return t_echo(arg) == 1;
}

static int highest_fd(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int max = 2;

	if (!d)
		return 64;
	while ((e = readdir(d)))
		if (atoi(e->d_name) > max)
			max = atoi(e->d_name);
	closedir(d);
	return max;
}

/* A loopback TCP connection: both ends, and the listener. */
static int tcp_pair(int fds[3])
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fds[0] = socket(AF_INET, SOCK_STREAM, 0);
	if (fds[0] < 0 || bind(fds[0], (struct sockaddr *)&a, sizeof(a)) ||
	    listen(fds[0], 1) || getsockname(fds[0], (struct sockaddr *)&a, &len))
		return -1;
	fds[1] = socket(AF_INET, SOCK_STREAM, 0);
	if (fds[1] < 0 || connect(fds[1], (struct sockaddr *)&a, sizeof(a)))
		return -1;
	fds[2] = accept(fds[0], NULL, NULL);
	if (fds[2] < 0)
		return -1;
	fcntl(fds[1], F_SETFL, O_NONBLOCK);
	fcntl(fds[2], F_SETFL, O_NONBLOCK);
	return 0;
}

/* Fill every number up to @upto with files of our own: how many made. */
static int fill_numbers(int *fds, int upto)
{
	int n = 0, p[2];

	if (tcp_pair(fds))
		return -1;
	n = 3;
	while (fds[n - 1] < upto && n + 2 <= MAXFILES) {
		if (pipe2(p, O_NONBLOCK))
			return -1;
		fds[n++] = p[0];
		fds[n++] = p[1];
	}
	return n;
}

/* Is every file still open, and has none of them received anything? */
static int files_untouched(const int *fds, int n)
{
	char c;
	int i;

	for (i = 0; i < n; i++)
		if (fcntl(fds[i], F_GETFD) < 0)
			return 10;	/* closed under us */
	if (recv(fds[1], &c, 1, MSG_DONTWAIT) != -1 || errno != EAGAIN ||
	    recv(fds[2], &c, 1, MSG_DONTWAIT) != -1 || errno != EAGAIN)
		return 11;	/* a byte (or an end) on the TCP stream */
	for (i = 3; i + 1 < n; i += 2)
		if (read(fds[i], &c, 1) != -1 || errno != EAGAIN)
			return 12;	/* a byte on a pipe, or its writer closed */
	return 0;
}

/* The child's channel: 40 round trips, its end waiting in poll() too. */
static int own_channel_round_trips(void)
{
	char buf[16];
	size_t len;
	shmq_t *q;
	int i, fd, r = 0;

	q = must_open(own_addr, NULL);
	if (!q)
		return 20;
	fd = shmq_fd(q);
	for (i = 0; i < ROUNDS && r == 0; i++) {
		usleep(2000);	/* let the parent park in poll() */
		if (shmq_send(q, "x", 1))
			r = 21;
		while (r == 0 && (r = shmq_try_recv(q, buf, sizeof(buf), &len)) == -EAGAIN)
			r = t_readable(fd, 5000) ? 0 : 22;
	}
	shmq_close(q);
	return r;
}

static int child_body(shmq_t *inherited, shmq_hub_t *hub)
{
	int fds[MAXFILES], n, r;

	syscall(SYS_close_range, 3U, ~0U, 0U);
	n = fill_numbers(fds, highest_fd() + 8);
	if (n < 0)
		return 30;
	r = own_channel_round_trips();
	if (r == 0)
		r = files_untouched(fds, n);
	if (r)
		return r;
	shmq_close(inherited);
	shmq_hub_close(hub);
	r = files_untouched(fds, n);
	return r ? r + 100 : 0;
}

/*
 * A _Fork() child that closed what it inherited (as it should) and filled
 * the numbers with pipes of its own, then fork()s: the grandchild's fork
 * handler must leave the pipes alone (the list it inherited is the
 * grandparent's) and must not walk holders that were freed.
 */
static int fork_after_raw_fork(shmq_t *inherited, shmq_hub_t *hub)
{
	int fds[MAXFILES], n, st;
	pid_t pid;

	syscall(SYS_close_range, 3U, ~0U, 0U);
	n = fill_numbers(fds, highest_fd() + 8);
	if (n < 0)
		return 30;
	shmq_close(inherited);
	shmq_hub_close(hub);
	pid = fork();
	if (pid == 0)
		_exit(files_untouched(fds, n));
	st = wait_child(pid, 10000);
	if (st == -1)
		return 40;	/* the grandchild hung in fork() */
	return child_exit_code(st) ? child_exit_code(st) + 200 : files_untouched(fds, n);
}

/* The parent's end of the child's channel: answer, waiting in poll(). */
static void serve_child(shmq_t *q)
{
	char buf[16];
	size_t len;
	int fd = shmq_fd(q), i, r;

	for (i = 0; i < ROUNDS; i++) {
		while ((r = shmq_try_recv(q, buf, sizeof(buf), &len)) == -EAGAIN) {
			sh->parked++;
			if (!t_readable(fd, 5000))
				return;
		}
		if (r || shmq_send(q, buf, len))
			return;
	}
}

static void one_child(shmq_t *q, shmq_hub_t *hub, int raw)
{
	struct shmq_options o = { .open_timeout_ms = 10000 };
	shmq_t *own;
	pid_t pid;
	int st;

	own_addr = tap_name("own");
	sh->parked = 0;
	fflush(stdout);
	pid = raw ? _Fork() : fork();
	if (pid < 0)
		bail_out("fork: %s", strerror(errno));
	if (pid == 0) {
		alarm(60);
		_exit(child_body(q, hub));
	}
	own = must_open(own_addr, &o);
	if (own)
		serve_child(own);
	st = wait_child(pid, 30000);
	shmq_close(own);
	is_int(child_exit_code(st), 0, "%s child: its files untouched, every wake arrived "
	       "(10 closed, 11 TCP, 12 pipe, 2x its channel; 1xx after closing what it inherited)", raw ? "a _Fork()" : "a fork()");
	ok(sh->parked >= ROUNDS / 2, "  the parent waited in poll() in %d of %d rounds",
	   sh->parked, ROUNDS);
	is_int(t_round_trip(q), 0, "  the parent's own channel still works");
}

int main(void)
{
	const char *addr, *hub_addr;
	shmq_hub_t *hub;
	shmq_t *q;
	pid_t e;

	tap_start(120);
	sh = shared_page(4096);
	addr = tap_name("fork");
	hub_addr = tap_name("hub");
	e = spawn(echo, (void *)addr);
	q = must_open(addr, NULL);
	if (!q || shmq_hub_open(hub_addr, NULL, &hub))
		bail_out("open");
	ok(shmq_fd(q) >= 0 && shmq_send_fd(q) >= 0 && shmq_hub_fd(hub) >= 0,
	   "the parent holds a channel's two descriptors and a hub's");
	is_int(t_round_trip(q), 0, "a round trip before any fork");
	one_child(q, hub, 0);
	one_child(q, hub, 1);
	{
		pid_t pid;

		fflush(stdout);
		pid = _Fork();
		if (pid == 0) {
			alarm(60);
			_exit(fork_after_raw_fork(q, hub));
		}
		is_int(child_exit_code(wait_child(pid, 30000)), 0,
		       "a fork() in a _Fork() child that closed what it inherited: the "
		       "grandchild neither hangs (40) nor closes the child's files (2xx)");
		is_int(t_round_trip(q), 0, "  the parent's own channel still works");
	}
	shmq_hub_close(hub);
	shmq_close(q);
	ok(child_exit_code(wait_child(e, 5000)) == 0, "the echo peer ended cleanly");
	return done_testing();
}
