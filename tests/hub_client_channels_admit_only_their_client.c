/*
 * A hub shared with a group (mode 0660) lets every member ask for a
 * channel, but each client's channel admits only the server and that
 * client: it is created 0600 and owned by the client's uid.  Tried as three
 * users in one group (run as root; skipped otherwise): the server, a
 * client, and another member who finds the client's channel in
 * /proc/sysvipc/shm and tries to attach it.
 */
#include <grp.h>
#include <sys/shm.h>

#include "chan.h"

#define GROUP 65530
#define SERVER 65531
#define CLIENT 65532
#define MEMBER 65533

struct shared {
	int hub_up, client_shmid, client_done, member_done;
	int client_rt, member_hub, member_attach, member_open, owner_uid;
	unsigned mode;
};

static struct shared *sh;
static const char *addr;

static void become(uid_t uid)
{
	gid_t g = GROUP;

	if (setgroups(1, &g) || setgid(GROUP) || setuid(uid))
		_exit(90);
}

static int until(const int *flag)
{
	int64_t end = tap_now_ns() + 10000000000LL;

	while (!__atomic_load_n(flag, __ATOMIC_ACQUIRE))
		if (tap_now_ns() > end)
			return -1;
		else
			usleep(1000);
	return 0;
}

static int server(void *arg)
{
	struct shmq_options o = { 0 };
	shmq_hub_t *h;
	char buf[64];
	size_t len;
	shmq_t *c;

	(void)arg;
	become(SERVER);
	o.mode = 0660;
	if (shmq_hub_open(addr, &o, &h))
		return 1;
	__atomic_store_n(&sh->hub_up, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&sh->member_done, __ATOMIC_ACQUIRE)) {
		if (shmq_hub_wait(h, &c, 100000000LL))
			continue;
		if (shmq_try_recv(c, buf, sizeof(buf), &len) == 0)
			shmq_send(c, buf, len);
		else
			shmq_hub_drop(h, c);
	}
	shmq_hub_close(h);
	return 0;
}

static int client(void *arg)
{
	struct shmq_options o = { 0 };
	struct shmq_info info;
	struct shmq_seg_info s;
	char buf[64];
	size_t len;
	shmq_t *q;

	(void)arg;
	become(CLIENT);
	o.mode = 0660;		/* trust creators in our group: the server */
	o.open_timeout_ms = 10000;
	if (until(&sh->hub_up) || shmq_connect(addr, &o, &q))
		return 1;
	sh->client_rt = shmq_send(q, "hi", 2) == 0 &&
		shmq_recv_timed(q, buf, sizeof(buf), &len, 5000000000LL) == 0;
	shmq_info(q, &info);
	if (shmq_seg_stat(info.shmid, &s) == 0) {
		sh->owner_uid = (int)s.uid;
		sh->mode = s.mode;
	}
	__atomic_store_n(&sh->client_shmid, info.shmid, __ATOMIC_RELEASE);
	until(&sh->member_done);
	shmq_close(q);
	return 0;
}

static int member(void *arg)
{
	struct shmq_options o = { 0 };
	struct shmq_addr a;
	char id[32];
	shmq_t *q;
	void *p;
	int hid;

	(void)arg;
	become(MEMBER);
	if (until(&sh->client_shmid))
		return 1;
	/* The hub itself is the group's: a member may attach it. */
	shmq_addr_parse(addr, &a);
	if (shmq_seg_open(&a, &hid) == 0 && (p = shmat(hid, NULL, SHM_RDONLY)) != (void *)-1) {
		sh->member_hub = 1;
		shmdt(p);
	}
	p = shmat(sh->client_shmid, NULL, 0);
	sh->member_attach = p == (void *)-1 ? -errno : 0;
	p = shmat(sh->client_shmid, NULL, SHM_RDONLY);
	if (p != (void *)-1) {
		sh->member_attach = 1;
		shmdt(p);
	}
	snprintf(id, sizeof(id), "id:%d", sh->client_shmid);
	o.mode = 0660;
	o.open_timeout_ms = 1000;
	sh->member_open = shmq_open(id, &o, &q);
	if (sh->member_open == 0)
		shmq_close(q);
	__atomic_store_n(&sh->member_done, 1, __ATOMIC_RELEASE);
	return 0;
}

int main(void)
{
	pid_t s, c, m;

	tap_start(60);
	if (geteuid() != 0)
		skip_all("needs root, to act as three users");
	sh = shared_page(4096);
	addr = tap_name("hub-uids");
	s = spawn(server, NULL);
	c = spawn(client, NULL);
	m = spawn(member, NULL);
	ok(child_exit_code(wait_child(m, 20000)) == 0, "the group member ran");
	ok(child_exit_code(wait_child(c, 20000)) == 0, "the client connected");
	ok(child_exit_code(wait_child(s, 20000)) == 0, "the server served");
	ok(sh->client_rt, "  the client's round trip worked");
	is_int(sh->owner_uid, CLIENT, "  its channel is owned by the client's uid");
	is_int(sh->mode, 0600, "  with mode 0600, whatever the hub's mode");
	ok(sh->member_hub, "a group member may attach the hub");
	is_int(sh->member_attach, -EACCES, "  but not the client's channel (shmat: EACCES)");
	is_int(sh->member_open, -EACCES, "  nor open it with shmq (id:SHMID)");
	return done_testing();
}
