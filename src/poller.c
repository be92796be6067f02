/* SPDX-License-Identifier: MIT */
/*
 * The poller: a descriptor an event loop can wait on for a channel end
 * (shmq_fd()), as the second way to sleep on an eventcount beside the
 * futex (eventcount.h).
 *
 * What the program polls is an epoll set holding two things:
 *  - a datagram socket in the abstract unix namespace, bound to a name
 *    made of a random 64-bit token, which the consumer publishes beside
 *    the eventcount it would sleep on.  A producer that finds the
 *    SHMQ_EC_POLLER bit set sends it one byte;
 *  - the peer's pidfd, which the kernel makes readable when the peer
 *    dies: a death is seen at once, with nobody to send anything.
 * The set is level-triggered: it stays ready while a byte is queued or
 * the peer is dead, and a receive that finds nothing empties the socket
 * before it announces itself again (channel.c), so a drained end stops
 * being ready without any call the program could forget.
 *
 * Why a socket: anybody can send to an abstract name (no file, no mode,
 * nothing left behind when a process dies), but only its holder can read
 * it, so a stranger who finds the name (in /proc/net/unix) can at worst
 * make it ready for nothing: never take a wake away.  A FIFO's byte could
 * be read by anyone who can open it; an eventfd would have to be handed
 * to the producer over a connection first.
 *
 * Each process sends from one socket of its own, made when it opens its
 * first channel, so that a wake never needs a descriptor then.  A wake
 * holds a little of that socket's send buffer until the poller reads it;
 * if a few hundred pollers have not, a fresh socket carries the wake.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "atomics.h"
#include "eventcount.h"

/* What epoll hands back for the socket, and for a channel's one pidfd. */
#define SOCK_TAG 0
#define PEER_TAG 1

/* This process's sending socket (a fork child makes its own: held.c). */
static struct shmq_held sender = { -1, 0, &sender, &sender };

static socklen_t poller_name(uint64_t token, struct sockaddr_un *sa)
{
	int n;

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	/* sun_path[0] stays 0: the abstract namespace. */
	n = snprintf(sa->sun_path + 1, sizeof(sa->sun_path) - 1, "shmq.%016llx",
		     (unsigned long long)token);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
}

static int dgram_socket(void)
{
	return socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
}

int shmq_poller_prepare(void)
{
	/*
	 * Each wake not yet read holds some of the send buffer: the default
	 * (208 KiB) holds 278.  Ask for more; the kernel grants up to twice
	 * net.core.wmem_max, and it costs memory only while wakes wait.
	 */
	int fd, want = 4 << 20;

	if (shmq_held_fd(&sender) >= 0)
		return 0;
	fd = dgram_socket();
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &want, sizeof(want));
	if (!shmq_held_take_once(&sender, fd))
		close(fd);	/* another thread made it first */
	return 0;
}

/* Bind @p->sock to a fresh random name: 0, or -errno. */
static int bind_random(struct shmq_poller *p)
{
	struct sockaddr_un sa;
	int tries;

	for (tries = 0; tries < 16; tries++) {
		if (getrandom(&p->token, sizeof(p->token), GRND_NONBLOCK) !=
		    sizeof(p->token))
			return -EAGAIN;
		if (!p->token)
			continue;
		if (bind(shmq_held_num(&p->sock), (struct sockaddr *)&sa, poller_name(p->token, &sa)) == 0)
			return 0;
		/* Taken (by chance, or by someone who guesses): draw again. */
		if (errno != EADDRINUSE)
			return -errno;
	}
	return -EADDRINUSE;
}

int shmq_poller_open(struct shmq_poller **out)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct shmq_poller *p = malloc(sizeof(*p));
	int r = 0, fd;

	*out = NULL;
	if (!p)
		return -ENOMEM;
	shmq_held_init(&p->watched);
	shmq_held_init(&p->ep);
	shmq_held_init(&p->sock);
	fd = dgram_socket();
	if (fd < 0)
		r = -errno;
	else
		shmq_held_take(&p->sock, fd);
	if (r == 0)
		r = bind_random(p);
	if (r == 0) {
		fd = epoll_create1(EPOLL_CLOEXEC);
		if (fd < 0)
			r = -errno;
		else
			shmq_held_take(&p->ep, fd);
	}
	ev.data.u64 = SOCK_TAG;
	if (r == 0 && epoll_ctl(fd, EPOLL_CTL_ADD, shmq_held_num(&p->sock), &ev) < 0)
		r = -errno;
	if (r)
		shmq_poller_close(p);
	else
		*out = p;
	return r;
}

void shmq_poller_close(struct shmq_poller *p)
{
	if (!p)
		return;
	shmq_held_close(&p->watched);
	shmq_held_close(&p->ep);
	shmq_held_close(&p->sock);
	free(p);
}

void shmq_poller_announce(const struct shmq_poller *p, struct shmq_ec *ec, uint64_t *token)
{
	/*
	 * The token first, the bit with a release: a waker's acquire exchange
	 * that sees the bit reads this token (shmq_ec_wake()).  Stored each
	 * time, so one scribbled over by whoever can write the line lasts
	 * only until now.  The full barrier is the Dekker half: the caller
	 * looks once more after it.
	 */
	shmq_store_relaxed(token, p->token);
	shmq_fetch_or_release(&ec->waiting, SHMQ_EC_POLLER);
	shmq_smp_mb();
}

int shmq_poller_drain(struct shmq_poller *p, uint64_t *tags, int max, int *ntags)
{
	struct epoll_event ev[16];
	char buf[64];
	int n = epoll_wait(shmq_held_num(&p->ep), ev, 16, 0), i, j, k = 0;
	int sock = shmq_held_num(&p->sock);

	for (i = 0; i < n; i++) {
		/*
		 * At most a queue's worth (max_dgram_qlen is 10 by default):
		 * a stranger who keeps refilling it must not keep a try_
		 * call here.  What is left keeps the descriptor ready.
		 */
		if (ev[i].data.u64 == SOCK_TAG)
			for (j = 0; j < 64 && recv(sock, buf, sizeof(buf), MSG_DONTWAIT) >= 0; j++)
				;
		else if (k < max)
			tags[k++] = ev[i].data.u64;
	}
	if (ntags)
		*ntags = k;
	return n > 0 ? n : 0;
}

int shmq_poller_add(struct shmq_poller *p, int pidfd, uint64_t tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = tag };

	return epoll_ctl(shmq_held_num(&p->ep), EPOLL_CTL_ADD, pidfd, &ev) ? -errno : 0;
}

int shmq_poller_add_once(struct shmq_poller *p, int pidfd, uint64_t tag)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLONESHOT, .data.u64 = tag };

	return epoll_ctl(shmq_held_num(&p->ep), EPOLL_CTL_ADD, pidfd, &ev) ? -errno : 0;
}

void shmq_poller_remove(struct shmq_poller *p, int pidfd)
{
	epoll_ctl(shmq_held_num(&p->ep), EPOLL_CTL_DEL, pidfd, NULL);
}

void shmq_poller_watch(struct shmq_poller *p, int pidfd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = PEER_TAG };
	int fd, ep = shmq_held_num(&p->ep);

	/*
	 * The set holds a copy of its own, taken out before it is closed.
	 * Not the watcher's: the watcher closes a dead peer's pidfd when it
	 * watches the next, and epoll drops an entry only once every copy of
	 * the file is closed, which a fork child's copy can prevent; a
	 * dead peer's pidfd left in would keep the descriptor ready for good.
	 */
	if (shmq_held_num(&p->watched) >= 0) {
		epoll_ctl(ep, EPOLL_CTL_DEL, shmq_held_num(&p->watched), NULL);
		shmq_held_close(&p->watched);
	}
	if (pidfd < 0)
		return;
	fd = fcntl(pidfd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0)
		return;	/* out of descriptors: the death is seen by a call */
	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0)
		shmq_held_take(&p->watched, fd);
	else
		close(fd);
}

void shmq_poller_wake(uint64_t token)
{
	struct sockaddr_un sa;
	socklen_t len;
	int fd = shmq_held_fd(&sender);
	const char byte = 0;

	if (!token)
		return;
	len = poller_name(token, &sa);
	if (fd >= 0 && sendto(fd, &byte, 1, MSG_DONTWAIT | MSG_NOSIGNAL,
			      (struct sockaddr *)&sa, len) == 1)
		return;
	/*
	 * No such socket (its poller is gone), or its queue is full (then it
	 * is ready already): nothing to do.  Our send buffer full of wakes
	 * that other pollers have not read yet: send this one from a socket
	 * of its own.
	 */
	if (fd >= 0 && errno != EAGAIN && errno != ENOBUFS)
		return;
	fd = dgram_socket();
	if (fd < 0)
		return;
	sendto(fd, &byte, 1, MSG_DONTWAIT | MSG_NOSIGNAL, (struct sockaddr *)&sa, len);
	close(fd);
}
