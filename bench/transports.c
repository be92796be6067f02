/* SPDX-License-Identifier: MIT */
/*
 * The transports of shmq bench.  Each is the ordinary, idiomatic use of
 * its mechanism: blocking calls, whole messages, TCP_NODELAY for TCP.
 * Each copies the message in and out once, as shmq's copying calls do.
 */
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifdef HAVE_ZMQ
#include <zmq.h>
#endif

#include "bench.h"
#include "clock.h"
#include "shmq.h"

/* ------------------------------------------------------------------ */
/* shmq                                                                */
/* ------------------------------------------------------------------ */

static int shmq_prepare(struct bench_ctx *c)
{
	(void)c;
	return 0;
}

/* The library's default, unless asked; always room for two messages. */
static void shmq_bench_options(const struct bench_ctx *c, int wait,
			       struct shmq_options *o)
{
	size_t cap = c->capacity ? c->capacity : SHMQ_DEFAULT_CAPACITY;

	while (cap / 2 - 8 < c->size * 2 && cap < SHMQ_MAX_CAPACITY)
		cap *= 2;
	memset(o, 0, sizeof(*o));
	o->send_capacity = o->recv_capacity = cap;
	o->wait = wait;
	o->open_timeout_ms = 10000;
}

static int shmq_connect_wait(struct bench_ctx *c, int wait)
{
	struct shmq_options o;
	shmq_t *q;
	int r;

	shmq_bench_options(c, wait, &o);
	r = shmq_open(c->name, &o, &q);
	if (r)
		return r;
	c->priv = q;
	return 0;
}

static int shmq_connect_spin(struct bench_ctx *c, int side)
{
	(void)side;
	return shmq_connect_wait(c, SHMQ_WAIT_SPIN);
}

static int shmq_connect_hybrid(struct bench_ctx *c, int side)
{
	(void)side;
	return shmq_connect_wait(c, SHMQ_WAIT_HYBRID);
}

static int shmq_connect_block(struct bench_ctx *c, int side)
{
	(void)side;
	return shmq_connect_wait(c, SHMQ_WAIT_BLOCK);
}

static int shmq_tsend(struct bench_ctx *c, int side, const void *buf)
{
	(void)side;
	return shmq_send(c->priv, buf, c->size);
}

static int shmq_trecv(struct bench_ctx *c, int side, void *buf)
{
	size_t len;
	int r = shmq_recv(c->priv, buf, c->size, &len);

	(void)side;
	return r ? r : len == c->size ? 0 : -EBADMSG;
}

static void *shmq_claim(struct bench_ctx *c, int side)
{
	void *buf;

	(void)side;
	c->error = shmq_reserve(c->priv, c->size, &buf, -1);
	return c->error ? NULL : buf;
}

static int shmq_publish(struct bench_ctx *c, int side)
{
	int r = shmq_commit(c->priv);

	(void)side;
	return r < 0 ? r : 0;
}

static const void *shmq_take(struct bench_ctx *c, int side)
{
	const void *buf;
	size_t len;

	(void)side;
	c->error = shmq_peek(c->priv, &buf, &len, -1);
	if (!c->error && len != c->size)
		c->error = -EBADMSG;
	return c->error ? NULL : buf;
}

static int shmq_done(struct bench_ctx *c, int side)
{
	int r = shmq_release(c->priv);

	(void)side;
	return r < 0 ? r : 0;
}

static void shmq_disconnect(struct bench_ctx *c, int side)
{
	(void)side;
	shmq_close(c->priv);
}

/*
 * shmq-hub: side 0 serves a hub, side 1 connects to it.  Side 0 receives
 * the way a server does: shmq_hub_wait() for a client with a message,
 * then a receive on that client's channel.
 */
struct hub_side {
	shmq_hub_t *hub;
	shmq_t *q;
};

static int hub_tconnect(struct bench_ctx *c, int side)
{
	struct hub_side *hs = calloc(1, sizeof(*hs));
	struct shmq_options o;
	int64_t end = 0;
	int r;

	if (!hs)
		return -ENOMEM;
	c->priv = hs;
	shmq_bench_options(c, SHMQ_WAIT_HYBRID, &o);
	if (side == 1)
		return shmq_connect(c->name, &o, &hs->q);
	r = shmq_hub_open(c->name, &o, &hs->hub);
	/* Until the client is in (its first message may wait meanwhile). */
	while (r == 0 && shmq_hub_count(hs->hub) == 0) {
		shmq_t *ready;

		if (!end)
			end = now_ns() + 10000000000LL;
		else if (now_ns() > end)
			return -ETIMEDOUT;
		r = shmq_hub_wait(hs->hub, &ready, 1000000);
		if (r == -ETIMEDOUT)
			r = 0;
	}
	if (r == 0)
		hs->q = shmq_hub_client(hs->hub, 0);
	return r;
}

static int hub_tsend(struct bench_ctx *c, int side, const void *buf)
{
	struct hub_side *hs = c->priv;

	(void)side;
	return shmq_send(hs->q, buf, c->size);
}

static int hub_trecv(struct bench_ctx *c, int side, void *buf)
{
	struct hub_side *hs = c->priv;
	shmq_t *q = hs->q;
	size_t len;
	int r = 0;

	if (side == 0)
		r = shmq_hub_wait(hs->hub, &q, -1);
	if (r == 0)
		r = shmq_recv(q, buf, c->size, &len);
	return r ? r : len == c->size ? 0 : -EBADMSG;
}

static void hub_tdisconnect(struct bench_ctx *c, int side)
{
	struct hub_side *hs = c->priv;

	if (side == 0 && hs->hub)
		shmq_hub_close(hs->hub);
	else if (side == 1 && hs->q)
		shmq_close(hs->q);
	free(hs);
}

static void nothing(struct bench_ctx *c)
{
	(void)c;
}

/* ------------------------------------------------------------------ */
/* spinflag and classic: one flag in the data's cache line             */
/* ------------------------------------------------------------------ */

/*
 * The well-known naive method: one region, a 1-byte flag at the start of
 * the data's cache line.  0: empty; 1: a message from side 0; 2: from
 * side 1.  The writer waits for empty, copies in, sets its flag; the
 * reader waits for the other side's flag, copies out, sets empty.
 * spinflag busy-spins on the flag; classic sleeps 1 us between polls,
 * as the classic recipe does.
 */
struct flagbox {
	uint8_t flag;
	uint8_t data[];
};

static int flag_prepare(struct bench_ctx *c)
{
	c->shared_len = sizeof(struct flagbox) + c->size;
	c->shared = mmap(NULL, c->shared_len, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	return c->shared == MAP_FAILED ? -errno : 0;
}

static void flag_cleanup(struct bench_ctx *c)
{
	if (c->shared && c->shared != MAP_FAILED)
		munmap(c->shared, c->shared_len);
}

static int flag_connect(struct bench_ctx *c, int side)
{
	(void)c;
	(void)side;
	return 0;
}

static void flag_wait(struct flagbox *b, uint8_t want, int sleepy)
{
	static const struct timespec us = { 0, 1000 };

	while (__atomic_load_n(&b->flag, __ATOMIC_ACQUIRE) != want) {
		if (sleepy)
			nanosleep(&us, NULL);
		else
			__builtin_ia32_pause();
	}
}

static int flag_send(struct bench_ctx *c, int side, const void *buf, int sleepy)
{
	struct flagbox *b = c->shared;

	flag_wait(b, 0, sleepy);
	memcpy(b->data, buf, c->size);
	__atomic_store_n(&b->flag, (uint8_t)(side + 1), __ATOMIC_RELEASE);
	return 0;
}

static int flag_recv(struct bench_ctx *c, int side, void *buf, int sleepy)
{
	struct flagbox *b = c->shared;

	flag_wait(b, (uint8_t)(2 - side), sleepy);
	memcpy(buf, b->data, c->size);
	__atomic_store_n(&b->flag, 0, __ATOMIC_RELEASE);
	return 0;
}

static int spin_send(struct bench_ctx *c, int side, const void *buf)
{
	return flag_send(c, side, buf, 0);
}

static int spin_recv(struct bench_ctx *c, int side, void *buf)
{
	return flag_recv(c, side, buf, 0);
}

static int sleepy_send(struct bench_ctx *c, int side, const void *buf)
{
	return flag_send(c, side, buf, 1);
}

static int sleepy_recv(struct bench_ctx *c, int side, void *buf)
{
	return flag_recv(c, side, buf, 1);
}

static void no_disconnect(struct bench_ctx *c, int side)
{
	(void)c;
	(void)side;
}

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

/* ------------------------------------------------------------------ */
/* ZeroMQ ipc://, when built with libzmq                               */
/* ------------------------------------------------------------------ */

#ifdef HAVE_ZMQ
struct zmq_side {
	void *ctx, *sock;
};

static int zq_prepare(struct bench_ctx *c)
{
	(void)c;
	return 0;
}

static int zq_connect(struct bench_ctx *c, int side)
{
	struct zmq_side *z = calloc(1, sizeof(*z));
	char ep[128];
	int r;

	if (!z)
		return -ENOMEM;
	snprintf(ep, sizeof(ep), "ipc:///tmp/%s.zmq", c->name);
	z->ctx = zmq_ctx_new();
	z->sock = zmq_socket(z->ctx, ZMQ_PAIR);
	r = side == 1 ? zmq_bind(z->sock, ep) : zmq_connect(z->sock, ep);
	if (r) {
		zmq_close(z->sock);
		zmq_ctx_term(z->ctx);
		free(z);
		return -EIO;
	}
	c->priv = z;
	/*
	 * connect() is asynchronous: a round trip makes sure the pipe is up,
	 * so no measurement includes setting it up.
	 */
	{
		char hi = 'h';

		if (side == 0) {
			if (zmq_send(z->sock, &hi, 1, 0) != 1 || zmq_recv(z->sock, &hi, 1, 0) != 1)
				return -EIO;
		} else {
			if (zmq_recv(z->sock, &hi, 1, 0) != 1 || zmq_send(z->sock, &hi, 1, 0) != 1)
				return -EIO;
		}
	}
	return 0;
}

static int zq_send(struct bench_ctx *c, int side, const void *buf)
{
	struct zmq_side *z = c->priv;

	(void)side;
	while (zmq_send(z->sock, buf, c->size, 0) < 0)
		if (zmq_errno() != EINTR)
			return -EIO;
	return 0;
}

static int zq_recv(struct bench_ctx *c, int side, void *buf)
{
	struct zmq_side *z = c->priv;
	int n;

	(void)side;
	while ((n = zmq_recv(z->sock, buf, c->size, 0)) < 0)
		if (zmq_errno() != EINTR)
			return -EIO;
	return (size_t)n == c->size ? 0 : -EBADMSG;
}

static void zq_disconnect(struct bench_ctx *c, int side)
{
	struct zmq_side *z = c->priv;
	int linger = 10000;

	/* Deliver what is queued before closing (up to 10 s), not drop it. */
	(void)side;
	zmq_setsockopt(z->sock, ZMQ_LINGER, &linger, sizeof(linger));
	zmq_close(z->sock);
	zmq_ctx_term(z->ctx);
	free(z);
}

static void zq_cleanup(struct bench_ctx *c)
{
	char path[128];

	snprintf(path, sizeof(path), "/tmp/%s.zmq", c->name);
	unlink(path);
}
#else
static int zq_prepare(struct bench_ctx *c)
{
	snprintf(c->skip, sizeof(c->skip),
		 "built without libzmq (install libzmq3-dev, then make)");
	return 1;
}
#define zq_connect NULL
#define zq_send NULL
#define zq_recv NULL
#define zq_disconnect NULL
#define zq_cleanup nothing
#endif

/* ------------------------------------------------------------------ */

/* The floor has no send/recv: the runner drives a bare cache line. */
static int floor_prepare(struct bench_ctx *c)
{
	c->shared_len = 4096;
	c->shared = mmap(NULL, c->shared_len, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	return c->shared == MAP_FAILED ? -errno : 0;
}

#define SHMQ_T(n, w, conn, what) \
	{ .name = n, .kind = "shmq", .about = what, .wait = w, \
	  .prepare = shmq_prepare, .connect = conn, .send = shmq_tsend, \
	  .recv = shmq_trecv, .disconnect = shmq_disconnect, .cleanup = nothing }

const struct transport bench_transports[] = {
	{ .name = "floor", .kind = "floor",
	  .about = "one cache line ping-ponged between two processes; streaming: "
		   "one process's memcpy",
	  .prepare = floor_prepare, .cleanup = flag_cleanup },
	SHMQ_T("shmq-spin", 1, shmq_connect_spin, "shmq, waits never sleep"),
	SHMQ_T("shmq-hybrid", 0, shmq_connect_hybrid,
	       "shmq, hybrid waits (spin 20 us, then sleep): the default"),
	SHMQ_T("shmq-block", 2, shmq_connect_block, "shmq, waits sleep at once"),
	{ .name = "shmq-zc", .kind = "shmq",
	  .about = "shmq, hybrid waits, zero-copy calls (reserve/commit, "
		   "peek/release): written and read in place",
	  .prepare = shmq_prepare, .connect = shmq_connect_hybrid,
	  .send = shmq_tsend, .recv = shmq_trecv, .disconnect = shmq_disconnect,
	  .cleanup = nothing, .claim = shmq_claim, .publish = shmq_publish,
	  .take = shmq_take, .done = shmq_done },
	{ .name = "shmq-hub", .kind = "shmq",
	  .about = "shmq, a hub's server and one client; the server receives "
		   "through shmq_hub_wait(), as a server of many does",
	  .prepare = shmq_prepare, .connect = hub_tconnect, .send = hub_tsend,
	  .recv = hub_trecv, .disconnect = hub_tdisconnect, .cleanup = nothing },
	{ .name = "spinflag", .kind = "naive",
	  .about = "a 1-byte flag in the data's cache line, busy-spin, memcpy in and out",
	  .prepare = flag_prepare, .connect = flag_connect, .send = spin_send,
	  .recv = spin_recv, .disconnect = no_disconnect, .cleanup = flag_cleanup },
	{ .name = "classic", .kind = "naive",
	  .about = "the classic recipe: poll the flag, nanosleep 1 us between polls",
	  .prepare = flag_prepare, .connect = flag_connect, .send = sleepy_send,
	  .recv = sleepy_recv, .disconnect = no_disconnect, .cleanup = flag_cleanup },
	{ .name = "pipe", .kind = "kernel", .about = "two pipes",
	  .prepare = pipe_prepare, .connect = pipe_connect, .send = fd_send,
	  .recv = fd_recv, .disconnect = no_disconnect, .cleanup = fds_cleanup },
	{ .name = "unix", .kind = "kernel", .about = "a unix stream socket pair",
	  .prepare = unix_prepare, .connect = sock_connect, .send = sock_send,
	  .recv = sock_recv, .disconnect = no_disconnect, .cleanup = fds_cleanup },
	{ .name = "tcp", .kind = "kernel", .about = "TCP over loopback, TCP_NODELAY",
	  .prepare = tcp_prepare, .connect = tcp_connect, .send = sock_send,
	  .recv = sock_recv, .disconnect = tcp_disconnect, .cleanup = fds_cleanup },
	{ .name = "msgq", .kind = "kernel", .about = "a System V message queue",
	  .prepare = msgq_prepare, .connect = msgq_connect, .send = msgq_send,
	  .recv = msgq_recv, .disconnect = msgq_disconnect, .cleanup = msgq_cleanup },
	{ .name = "mq", .kind = "kernel", .about = "two POSIX message queues",
	  .prepare = mq_prepare, .connect = mq_connect, .send = mq_tsend,
	  .recv = mq_trecv, .disconnect = no_disconnect, .cleanup = mq_cleanup },
	{ .name = "zmq", .kind = "library", .about = "ZeroMQ PAIR sockets over ipc://",
	  .prepare = zq_prepare, .connect = zq_connect, .send = zq_send,
	  .recv = zq_recv, .disconnect = zq_disconnect, .cleanup = zq_cleanup },
};

const size_t bench_ntransports = sizeof(bench_transports) / sizeof(bench_transports[0]);

const struct transport *bench_find(const char *name)
{
	size_t i;

	for (i = 0; i < bench_ntransports; i++)
		if (!strcmp(bench_transports[i].name, name))
			return &bench_transports[i];
	return NULL;
}
