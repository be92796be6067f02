/* SPDX-License-Identifier: MIT */
/*
 * The kernel's IPC, each in its ordinary, idiomatic use: blocking calls,
 * whole messages, TCP_NODELAY for TCP; each copies the message in and out
 * once, as shmq's copying calls do.
 */
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"
#include "shmq.h"

/* ------------------------------------------------------------------ */
/* Byte streams: pipes, unix sockets, TCP                              */
/* ------------------------------------------------------------------ */

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int read_all(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		ssize_t n = read(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EPIPE;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* fd[0], fd[1]: side 0 -> 1; fd[2], fd[3]: side 1 -> 0. */
static int pipe_prepare(struct bench_ctx *c)
{
	if (pipe(c->fd) || pipe(c->fd + 2))
		return -errno;
	return 0;
}

static int fd_out(struct bench_ctx *c, int side)
{
	return side == 0 ? c->fd[1] : c->fd[3];
}

static int fd_in(struct bench_ctx *c, int side)
{
	return side == 0 ? c->fd[2] : c->fd[0];
}

static int pipe_connect(struct bench_ctx *c, int side)
{
	/* Keep our ends only, so a peer's exit reads as end of file. */
	close(side == 0 ? c->fd[0] : c->fd[1]);
	close(side == 0 ? c->fd[3] : c->fd[2]);
	return 0;
}

static int fd_send(struct bench_ctx *c, int side, const void *buf)
{
	return write_all(fd_out(c, side), buf, c->size);
}

static int fd_recv(struct bench_ctx *c, int side, void *buf)
{
	return read_all(fd_in(c, side), buf, c->size);
}

static void fds_cleanup(struct bench_ctx *c)
{
	int i;

	for (i = 0; i < 4; i++)
		if (c->fd[i] > 0)
			close(c->fd[i]);
}

/* A socket pair: fd[0] is side 0's end, fd[1] side 1's (both ways). */
static int unix_prepare(struct bench_ctx *c)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		return -errno;
	c->fd[0] = sv[0];
	c->fd[1] = sv[1];
	c->fd[2] = c->fd[3] = -1;
	return 0;
}

static int sock_connect(struct bench_ctx *c, int side)
{
	close(c->fd[1 - side]);
	return 0;
}

static int sock_send(struct bench_ctx *c, int side, const void *buf)
{
	return write_all(c->fd[side], buf, c->size);
}

static int sock_recv(struct bench_ctx *c, int side, void *buf)
{
	return read_all(c->fd[side], buf, c->size);
}

/* TCP over loopback: the parent listens; side 1 accepts, side 0 connects. */
static int tcp_prepare(struct bench_ctx *c)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (s < 0)
		return -errno;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(s, (struct sockaddr *)&a, sizeof(a)) || listen(s, 1) ||
	    getsockname(s, (struct sockaddr *)&a, &len)) {
		close(s);
		return -errno;
	}
	c->fd[2] = s;
	c->fd[0] = c->fd[1] = c->fd[3] = -1;
	c->port = ntohs(a.sin_port);
	return 0;
}

static int tcp_connect(struct bench_ctx *c, int side)
{
	int one = 1, s;

	if (side == 1) {
		s = accept(c->fd[2], NULL, NULL);
	} else {
		struct sockaddr_in a = { .sin_family = AF_INET };

		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		a.sin_port = htons((uint16_t)c->port);
		s = socket(AF_INET, SOCK_STREAM, 0);
		if (s >= 0 && connect(s, (struct sockaddr *)&a, sizeof(a))) {
			close(s);
			s = -1;
		}
	}
	if (s < 0)
		return -errno;
	close(c->fd[2]);
	setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->fd[side] = s;
	return 0;
}

static void tcp_disconnect(struct bench_ctx *c, int side)
{
	close(c->fd[side]);
}

/* ------------------------------------------------------------------ */
/* Message queues                                                      */
/* ------------------------------------------------------------------ */

static long read_limit(const char *path)
{
	FILE *f = fopen(path, "r");
	long v = -1;

	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

/* One SysV queue; the message type says which way it goes. */
static int msgq_prepare(struct bench_ctx *c)
{
	long max = read_limit("/proc/sys/kernel/msgmax");

	if (max > 0 && (long)c->size > max) {
		snprintf(c->skip, sizeof(c->skip),
			 "messages over msgmax (%ld bytes, /proc/sys/kernel/msgmax)", max);
		return 1;
	}
	c->id = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
	return c->id < 0 ? -errno : 0;
}

struct msgbuf_hdr {
	long mtype;
	char mtext[];
};

static int msgq_connect(struct bench_ctx *c, int side)
{
	(void)side;
	c->priv = malloc(sizeof(struct msgbuf_hdr) + c->size);
	return c->priv ? 0 : -ENOMEM;
}

static int msgq_send(struct bench_ctx *c, int side, const void *buf)
{
	struct msgbuf_hdr *m = c->priv;

	m->mtype = side + 1;
	memcpy(m->mtext, buf, c->size);
	while (msgsnd(c->id, m, c->size, 0))
		if (errno != EINTR)
			return -errno;
	return 0;
}

static int msgq_recv(struct bench_ctx *c, int side, void *buf)
{
	struct msgbuf_hdr *m = c->priv;
	ssize_t n;

	while ((n = msgrcv(c->id, m, c->size, 2 - side, 0)) < 0)
		if (errno != EINTR)
			return -errno;
	if ((size_t)n != c->size)
		return -EBADMSG;
	memcpy(buf, m->mtext, c->size);
	return 0;
}

static void msgq_disconnect(struct bench_ctx *c, int side)
{
	(void)side;
	free(c->priv);
}

static void msgq_cleanup(struct bench_ctx *c)
{
	msgctl(c->id, IPC_RMID, NULL);
}

/* Two POSIX queues, one per direction. */
static int mq_prepare(struct bench_ctx *c)
{
	struct mq_attr attr = { .mq_maxmsg = 8, .mq_msgsize = (long)c->size };
	char name[96];
	int i;

	for (i = 0; i < 2; i++) {
		mqd_t q;

		snprintf(name, sizeof(name), "/%s-%d", c->name, i);
		q = mq_open(name, O_CREAT | O_EXCL | O_RDWR, 0600, &attr);
		if (q == (mqd_t)-1) {
			int e = errno;

			if (i == 1) {
				snprintf(name, sizeof(name), "/%s-0", c->name);
				mq_unlink(name);
			}
			if (e == EINVAL || e == EMFILE || e == ENOSPC) {
				snprintf(c->skip, sizeof(c->skip),
					 "messages over msgsize_max (%ld bytes, "
					 "/proc/sys/fs/mqueue/msgsize_max)",
					 read_limit("/proc/sys/fs/mqueue/msgsize_max"));
				return 1;
			}
			if (e == ENOSYS) {
				snprintf(c->skip, sizeof(c->skip), "no POSIX message queues here");
				return 1;
			}
			return -e;
		}
		c->fd[i] = (int)q;
	}
	return 0;
}

static int mq_connect(struct bench_ctx *c, int side)
{
	(void)c;
	(void)side;
	return 0;
}

static int mq_tsend(struct bench_ctx *c, int side, const void *buf)
{
	while (mq_send((mqd_t)c->fd[side], buf, c->size, 0))
		if (errno != EINTR)
			return -errno;
	return 0;
}

static int mq_trecv(struct bench_ctx *c, int side, void *buf)
{
	ssize_t n;

	while ((n = mq_receive((mqd_t)c->fd[1 - side], buf, c->size, NULL)) < 0)
		if (errno != EINTR)
			return -errno;
	return (size_t)n == c->size ? 0 : -EBADMSG;
}

static void mq_cleanup(struct bench_ctx *c)
{
	char name[96];
	int i;

	for (i = 0; i < 2; i++) {
		snprintf(name, sizeof(name), "/%s-%d", c->name, i);
		mq_unlink(name);
		mq_close((mqd_t)c->fd[i]);
	}
}

#define KERNEL_SUITES (SUITE_PINGPONG_1K | SUITE_STREAM_1K | SUITE_WAKE)

/* ------------------------------------------------------------------ */
/* Receivers in an event loop                                          */
/* ------------------------------------------------------------------ */

/*
 * pipe-epoll: the two pipes, read without blocking; a receiver that
 * finds nothing waits in epoll_wait() on an epoll set holding its pipe.
 * fd[0..3] as for pipes; priv holds the set.
 */
static int pipe_epoll_connect(struct bench_ctx *c, int side)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int in = fd_in(c, side), ep;

	pipe_connect(c, side);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0 || fcntl(in, F_SETFL, O_NONBLOCK) || epoll_ctl(ep, EPOLL_CTL_ADD, in, &ev))
		return -errno;
	c->priv = (void *)(intptr_t)ep;
	return 0;
}

static int pipe_epoll_recv(struct bench_ctx *c, int side, void *buf)
{
	int in = fd_in(c, side), ep = (int)(intptr_t)c->priv;
	struct epoll_event ev;
	char *p = buf;
	size_t got = 0;

	while (got < c->size) {
		ssize_t n = read(in, p + got, c->size - got);

		if (n > 0) {
			got += (size_t)n;
			continue;
		}
		if (n == 0)
			return -EPIPE;
		if (errno != EAGAIN && errno != EINTR)
			return -errno;
		if (errno == EAGAIN && epoll_wait(ep, &ev, 1, -1) < 0 && errno != EINTR)
			return -errno;
	}
	return 0;
}

/*
 * eventfd: shared memory with an eventfd as the doorbell, as
 * TensorPipe's shared-memory transport does.  Each direction has one
 * mailbox in the shared mapping: the sender waits until the previous
 * message was taken, writes, publishes the sequence, and rings (a write
 * to the receiver's eventfd, every message); the receiver takes a new
 * sequence, else reads the eventfd empty, looks again, and waits in
 * epoll_wait().  The eventfds are made before fork: it needs related
 * processes, or descriptors passed over a socket.
 */
struct mailbox {
	uint64_t seq;		/* published by the sender */
	uint64_t taken;		/* by the receiver */
	unsigned char data[];
};

static struct mailbox *mailbox_of(struct bench_ctx *c, int dir)
{
	size_t each = (sizeof(struct mailbox) + c->size + 127) / 128 * 128;

	return (struct mailbox *)((char *)c->shared + (size_t)dir * each);
}

static int evfd_prepare(struct bench_ctx *c)
{
	size_t each = (sizeof(struct mailbox) + c->size + 127) / 128 * 128;

	c->shared_len = 2 * each;
	c->shared = mmap(NULL, c->shared_len, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (c->shared == MAP_FAILED) {
		c->shared = NULL;
		return -errno;
	}
	c->fd[0] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);	/* side 1 sleeps on it */
	c->fd[1] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);	/* side 0 sleeps on it */
	c->fd[2] = c->fd[3] = -1;
	return c->fd[0] < 0 || c->fd[1] < 0 ? -errno : 0;
}

static int evfd_connect(struct bench_ctx *c, int side)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int ep = epoll_create1(EPOLL_CLOEXEC);

	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, c->fd[side == 0 ? 1 : 0], &ev))
		return -errno;
	c->priv = (void *)(intptr_t)ep;
	return 0;
}

static int evfd_send(struct bench_ctx *c, int side, const void *buf)
{
	struct mailbox *m = mailbox_of(c, side);
	uint64_t seq = __atomic_load_n(&m->seq, __ATOMIC_RELAXED), one = 1;

	/* One message in flight per direction: wait for the last to be taken. */
	while (__atomic_load_n(&m->taken, __ATOMIC_ACQUIRE) != seq)
		sched_yield();
	memcpy(m->data, buf, c->size);
	__atomic_store_n(&m->seq, seq + 1, __ATOMIC_RELEASE);
	return write(c->fd[side], &one, 8) == 8 ? 0 : -errno;
}

static int evfd_recv(struct bench_ctx *c, int side, void *buf)
{
	struct mailbox *m = mailbox_of(c, 1 - side);
	int ep = (int)(intptr_t)c->priv;
	struct epoll_event ev;
	uint64_t n;

	for (;;) {
		uint64_t taken = __atomic_load_n(&m->taken, __ATOMIC_RELAXED);

		if (__atomic_load_n(&m->seq, __ATOMIC_ACQUIRE) != taken) {
			memcpy(buf, m->data, c->size);
			__atomic_store_n(&m->taken, taken + 1, __ATOMIC_RELEASE);
			return 0;
		}
		/* Empty the doorbell, then look once more before sleeping. */
		if (read(c->fd[1 - side], &n, 8) == 8)
			continue;
		if (epoll_wait(ep, &ev, 1, -1) < 0 && errno != EINTR)
			return -errno;
	}
}

static void evfd_cleanup(struct bench_ctx *c)
{
	fds_cleanup(c);
	bench_unmap_shared(c);
}

const struct transport bench_kernel[] = {
	{ .name = "pipe", .family = FAMILY_KERNEL, .suites = KERNEL_SUITES | SUITE_IDLE,
	  .about = "two pipes",
	  .prepare = pipe_prepare, .connect = pipe_connect, .send = fd_send,
	  .recv = fd_recv, .disconnect = bench_no_disconnect, .cleanup = fds_cleanup },
	{ .name = "unix", .family = FAMILY_KERNEL, .suites = KERNEL_SUITES,
	  .about = "a unix stream socket pair",
	  .prepare = unix_prepare, .connect = sock_connect, .send = sock_send,
	  .recv = sock_recv, .disconnect = bench_no_disconnect, .cleanup = fds_cleanup },
	{ .name = "tcp", .family = FAMILY_KERNEL, .suites = KERNEL_SUITES,
	  .about = "TCP over loopback, TCP_NODELAY",
	  .prepare = tcp_prepare, .connect = tcp_connect, .send = sock_send,
	  .recv = sock_recv, .disconnect = tcp_disconnect, .cleanup = fds_cleanup },
	{ .name = "msgq", .family = FAMILY_KERNEL, .suites = KERNEL_SUITES,
	  .about = "a System V message queue",
	  .prepare = msgq_prepare, .connect = msgq_connect, .send = msgq_send,
	  .recv = msgq_recv, .disconnect = msgq_disconnect, .cleanup = msgq_cleanup },
	{ .name = "pipe-epoll", .family = FAMILY_KERNEL, .suites = SUITE_WAKE,
	  .about = "two pipes, receivers in an event loop: read until EAGAIN, "
		   "then epoll_wait",
	  .prepare = pipe_prepare, .connect = pipe_epoll_connect, .send = fd_send,
	  .recv = pipe_epoll_recv, .disconnect = bench_no_disconnect, .cleanup = fds_cleanup },
	{ .name = "eventfd", .family = FAMILY_KERNEL, .suites = SUITE_WAKE,
	  .about = "a mailbox in shared memory per direction, an eventfd rung "
		   "per message, receivers in epoll_wait (related processes only)",
	  .prepare = evfd_prepare, .connect = evfd_connect, .send = evfd_send,
	  .recv = evfd_recv, .disconnect = bench_no_disconnect, .cleanup = evfd_cleanup },
	{ .name = "mq", .family = FAMILY_KERNEL, .suites = KERNEL_SUITES,
	  .about = "two POSIX message queues",
	  .prepare = mq_prepare, .connect = mq_connect, .send = mq_tsend,
	  .recv = mq_trecv, .disconnect = bench_no_disconnect, .cleanup = mq_cleanup },
};
const size_t bench_kernel_count = sizeof(bench_kernel) / sizeof(bench_kernel[0]);
