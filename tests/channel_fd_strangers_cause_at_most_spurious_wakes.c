/*
 * A stranger who finds a descriptor's socket (its abstract name is in
 * /proc/net/unix for all to read) can send to it, and nothing else: it
 * can make the descriptor ready for nothing, never take a wake-up away.
 * The stranger here is another process, of another uid when the test
 * runs as root.  While it floods the receiver's socket (filling the queue
 * until the kernel refuses more), a fd-driven receiver still gets every
 * message in order; once it stops, a try_ call makes the descriptor quiet
 * again, and the next message still wakes it.
 */
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <grp.h>

#include "chan.h"
#include "channel.h"

#define MESSAGES 20000

struct shared {
	int stop;
	long sent;	/* the stranger's datagrams that the kernel took */
	long refused;	/* ... and refused (a full queue) */
	uint64_t token;	/* the receiver's socket, as /proc/net/unix shows it */
};

static struct shared *sh;
static const char *addr;

/* 50 bytes to the socket named by @token, as anyone could send them. */
static void flood_once(int s, uint64_t token)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int n = snprintf(sa.sun_path + 1, sizeof(sa.sun_path) - 1, "shmq.%016llx",
			 (unsigned long long)token);
	socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);

	for (int i = 0; i < 50; i++) {
		if (sendto(s, "!", 1, MSG_DONTWAIT, (struct sockaddr *)&sa, len) == 1)
			__atomic_fetch_add(&sh->sent, 1, __ATOMIC_RELAXED);
		else
			__atomic_fetch_add(&sh->refused, 1, __ATOMIC_RELAXED);
	}
}

/* Is the name in /proc/net/unix, where a stranger would find it? */
static int listed(uint64_t token)
{
	char line[512], want[32];
	FILE *f = fopen("/proc/net/unix", "r");
	int found = 0;

	if (!f)
		return 0;
	snprintf(want, sizeof(want), "@shmq.%016llx", (unsigned long long)token);
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, want) != NULL;
	fclose(f);
	return found;
}

static int stranger(void *arg)
{
	int s;

	(void)arg;
	if (geteuid() == 0 && (setgroups(0, NULL) || setresgid(65534, 65534, 65534) ||
			       setresuid(65534, 65534, 65534)))
		return 1;
	s = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (s < 0)
		return 2;
	while (!__atomic_load_n(&sh->stop, __ATOMIC_ACQUIRE)) {
		flood_once(s, sh->token);
		usleep(200);
	}
	return 0;
}

static int producer(void *arg)
{
	shmq_t *q = must_open(addr, NULL);
	uint64_t i;

	(void)arg;
	if (!q)
		return 1;
	for (i = 0; i < MESSAGES; i++) {
		if (shmq_send(q, &i, sizeof(i)))
			return 2;
		if (i % 64 == 0)
			usleep(50);	/* let the receiver run dry and park */
	}
	/* The last one comes when the receiver asks, the stranger gone. */
	while (__atomic_load_n(&sh->stop, __ATOMIC_ACQUIRE) != 2)
		usleep(1000);
	shmq_send(q, &i, sizeof(i));
	return shmq_close(q) ? 3 : 0;
}

static int readable(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, ms) == 1;
}

int main(void)
{
	uint64_t next = 0, got;
	int fd, r = 0, spurious = 0;
	pid_t prod, str;
	size_t len;
	shmq_t *q;

	tap_start(120);
	sh = shared_page(4096);
	addr = tap_name("fdstranger");
	prod = spawn(producer, NULL);
	q = must_open(addr, NULL);
	if (!q)
		bail_out("open");
	fd = shmq_fd(q);
	sh->token = q->poller->token;
	ok(listed(sh->token), "the socket's name is in /proc/net/unix for anyone");
	str = spawn(stranger, NULL);
	while (next < MESSAGES) {
		r = shmq_try_recv(q, &got, sizeof(got), &len);
		if (r == -EAGAIN) {
			if (!readable(fd, 10000))
				break;	/* a wake-up lost: fails below */
			continue;
		}
		if (r || got != next)
			break;
		next++;
	}
	is_int(r, 0, "under the stranger's flood: no error");
	is_int((long)next, MESSAGES, "every message, in order, woken through the descriptor");
	__atomic_store_n(&sh->stop, 1, __ATOMIC_RELEASE);
	is_int(child_exit_code(wait_child(str, 10000)), 0, "the stranger%s sent what it could",
	       geteuid() == 0 ? " (uid 65534)" : "");
	diag("the stranger's datagrams: %ld taken, %ld refused (queue full)",
	     sh->sent, sh->refused);
	ok(sh->sent > 0, "the stranger did reach the socket");
	while (shmq_try_recv(q, &got, sizeof(got), &len) == 0)
		spurious--;	/* nothing is left: the last one comes later */
	is_int(spurious, 0, "nothing more arrived meanwhile");
	ok(!readable(fd, 100), "the stranger gone, one -EAGAIN makes the descriptor quiet");
	__atomic_store_n(&sh->stop, 2, __ATOMIC_RELEASE);
	ok(readable(fd, 10000), "the next real message still wakes it");
	is_int(shmq_try_recv(q, &got, sizeof(got), &len), 0, "and is there");
	is_int(child_exit_code(wait_child(prod, 10000)), 0, "the producer sent everything");
	shmq_close(q);
	return done_testing();
}
