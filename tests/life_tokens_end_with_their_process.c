/*
 * Life tokens (src/life.c): the private segment each process that opens an
 * end holds, by which other PID namespaces tell whether it lives.  It must
 * go exactly when its process does: at exit (kill -9 included) and at
 * exec, and not be kept alive by a fork child.  It is never left behind,
 * and one left by a process killed while making it is told for ours and
 * removed by `shmq clean`, while a segment of the same shape that is not
 * ours is left alone.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chan.h"

static char name[64], pers[64];

/* The life tokens the process @pid made, as the kernel lists them. */
static int token_of(pid_t pid)
{
	struct shmq_seg_info *v;
	size_t n, i;
	int id = -1;

	if (shmq_seg_list(&v, &n))
		return -1;
	for (i = 0; i < n; i++) {
		struct shmq_desc d;

		if (v[i].cpid == pid && v[i].key == IPC_PRIVATE &&
		    shmq_describe(v[i].shmid, &d) == 0 && d.kind == SHMQ_KIND_LIFE)
			id = v[i].shmid;
	}
	free(v);
	return id;
}

/* Wait (up to 5 s) for segment @id to be gone. */
static int gone(int id)
{
	struct shmq_seg_info s;
	int i;

	for (i = 0; i < 500; i++) {
		if (shmq_seg_stat(id, &s))
			return 1;
		usleep(10000);
	}
	return 0;
}

struct board {
	int step, done;
	pid_t grandchild;
};
static struct board *b;

/* Open an end (a pair's creator that meets nobody in 1 ms), then obey. */
static int holder(void *arg)
{
	struct shmq_options o = { .open_timeout_ms = 1 };
	int how = *(int *)arg;
	shmq_t *q;
	pid_t g;

	/* The token is made at the first open; it stays after the open ends. */
	shmq_open(name, &o, &q);
	__atomic_store_n(&b->done, 1, __ATOMIC_RELEASE);
	t_next_order(&b->step, 0);
	switch (how) {
	case 1:		/* exec: the token goes, the process stays */
		execl("/bin/sleep", "sleep", "3", (char *)NULL);
		return 1;
	case 2:		/* a fork child outlives us: it must not keep the token */
		g = fork();
		if (g == 0) {
			sleep(3);
			_exit(0);
		}
		b->grandchild = g;
		return 0;
	default:
		pause();	/* until killed */
		return 0;
	}
}

/* A persistent channel's sender that sends once, then calls exec. */
static int exec_sender(void *arg)
{
	struct shmq_options o = { .flags = SHMQ_PERSISTENT | SHMQ_SENDER };
	shmq_t *q = must_open(pers, &o);

	(void)arg;
	if (!q)
		return 1;
	shmq_send(q, "x", 1);
	t_next_order(&b->step, 0);
	/* A child keeps the segment attached: the attach count cannot tell. */
	if (fork() == 0) {
		sleep(3);
		_exit(0);
	}
	execl("/bin/sleep", "sleep", "3", (char *)NULL);
	return 1;
}

static pid_t start(int *how, int *token)
{
	pid_t pid;
	int i;

	b->done = b->step = 0;
	pid = spawn(holder, how);
	for (i = 0; i < 10000 && !__atomic_load_n(&b->done, __ATOMIC_ACQUIRE); i++)
		usleep(1000);
	*token = token_of(pid);
	return pid;
}

static int run_clean(const char *flags, char *out, size_t size)
{
	const char *shmq = getenv("SHMQ");
	char cmd[512];
	FILE *f;
	size_t n;

	snprintf(cmd, sizeof(cmd), "%s clean %s 2>&1", shmq ? shmq : "build/shmq", flags);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	n = fread(out, 1, size - 1, f);
	out[n] = '\0';
	return pclose(f);
}

int main(void)
{
	int how, token, id, id2, st;
	struct shmq_desc d;
	char out[4096], want[128];
	pid_t pid;
	void *p;

	tap_start(90);
	b = shared_page(4096);
	snprintf(name, sizeof(name), "t-life-%d", (int)getpid());
	snprintf(pers, sizeof(pers), "t-life-pers-%d", (int)getpid());

	how = 0;
	pid = start(&how, &token);
	ok(token >= 0, "a process that opened an end holds a life token (id %d)", token);
	ok(token >= 0 && shmq_describe(token, &d) == 0 && d.kind == SHMQ_KIND_LIFE &&
	   !d.stale && d.creator_pid == pid, "  described as its process's, alive");
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	ok(token >= 0 && gone(token), "  kill -9: the kernel frees it");

	how = 1;
	pid = start(&how, &token);
	t_order(&b->step, &b->step, 1);
	ok(token >= 0 && gone(token), "exec: the token goes while the process lives on");
	ok(kill(pid, 0) == 0, "  (the process is still there)");
	waitpid(pid, &st, 0);

	how = 2;
	pid = start(&how, &token);
	t_order(&b->step, &b->step, 1);
	waitpid(pid, &st, 0);
	ok(token >= 0 && gone(token), "a fork child that outlives its parent does not keep "
	   "the parent's token alive");
	ok(b->grandchild > 0 && kill(b->grandchild, 0) == 0, "  (the child is still there)");
	if (b->grandchild > 0)
		kill(b->grandchild, SIGKILL);
	usleep(100000);

	/*
	 * A persistent channel's peer that calls exec while a child it forked
	 * keeps the segment attached: the attach count cannot tell, and the
	 * pidfd's process lives on; its token, gone with the old program, does.
	 */
	{
		struct shmq_options o = { .flags = SHMQ_PERSISTENT | SHMQ_RECEIVER };
		struct shmq_info info = { 0 };
		shmq_t *q = must_open(pers, &o);
		char buf[8];
		size_t n;
		int64_t t0;
		int i, r;

		b->step = 0;
		pid = spawn(exec_sender, NULL);
		ok(q && shmq_recv_timed(q, buf, sizeof(buf), &n, 10000000000LL) == 0,
		   "a persistent channel's sender sends, then calls exec");
		/* An empty look watches the sender's process (its pidfd) now. */
		usleep(2000);
		ok(q && shmq_try_recv(q, buf, sizeof(buf), &n) == -EAGAIN,
		   "  its receiver has looked at it since");
		t_order(&b->step, &b->step, 1);
		for (i = 0; i < 200 && q; i++) {
			if (shmq_info(q, &info) == 0 && info.peer_state == SHMQ_PEER_DEAD)
				break;
			usleep(10000);
		}
		ok(info.peer_state == SHMQ_PEER_DEAD && kill(pid, 0) == 0,
		   "  its receiver sees the sender gone while its process lives on (%d)",
		   info.peer_state);
		t0 = tap_now_ns();
		r = q ? shmq_recv_timed(q, buf, sizeof(buf), &n, 5000000000LL) : -1;
		ok(r == -ECONNRESET && tap_now_ns() - t0 < 200000000,
		   "  a blocking receive says the peer died (%s), in %.0f ms (under 200)",
		   shmq_strerror(r), (tap_now_ns() - t0) / 1e6);
		if (q) {
			shmq_info(q, &info);
			shmq_close(q);
			shmctl(info.shmid, IPC_RMID, NULL);
		}
		waitpid(pid, &st, 0);
	}

	/* A process killed between making its token and marking it removed. */
	id = shmget(IPC_PRIVATE, 3000, IPC_CREAT | 0600);
	id2 = shmget(IPC_PRIVATE, 3001, IPC_CREAT | 0600);
	if (id >= 0 && shmq_seg_attach(id, 0, &p) == 0) {
		memcpy(p, "shmqlife", 8);
		shmq_seg_detach(p);
	}
	ok(id >= 0 && shmq_describe(id, &d) == 0 && d.kind == SHMQ_KIND_LIFE && d.stale,
	   "a token left unremoved by a killed process is told for ours, and stale");
	ok(id2 >= 0 && shmq_describe(id2, &d) == -EPROTO,
	   "  a segment of the same shape without our mark is not");
	run_clean("--dry-run", out, sizeof(out));
	snprintf(want, sizeof(want), "would remove id:%d (life token", id);
	ok(strstr(out, want) != NULL, "  clean --dry-run would remove the leftover");
	snprintf(want, sizeof(want), "id:%d ", id2);
	ok(strstr(out, want) == NULL, "  and says nothing of the other");
	run_clean("", out, sizeof(out));
	ok(gone(id), "  clean removes it");
	ok(shmq_seg_stat(id2, &(struct shmq_seg_info){ 0 }) == 0, "  and leaves the other");
	shmctl(id2, IPC_RMID, NULL);
	return done_testing();
}
