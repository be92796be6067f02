/*
 * Who may open what:
 *  - a persistent channel's third live opener gets -EBUSY, and may take
 *    the slot of a holder that died;
 *  - a segment pre-created by another uid (squatting) is refused with
 *    -EACCES, unless that uid is trusted; so is one whose mode grants more
 *    than was asked;
 *  - group sharing with mode 0660 works for members of the creator's
 *    group and not for others;
 *  - a name whose key belongs to another name's channel, an ftok address
 *    whose key holds a channel made for something else, and a segment
 *    that is not shmq's at all are clear errors, never someone else's data.
 * The uid tests run children as other users, so they need root; they are
 * skipped otherwise.
 */
#include <grp.h>
#include <signal.h>
#include <sys/ipc.h>
#include <sys/shm.h>

#include "chan.h"
#include "internal.h"

struct shared {
	int ready;
	int result;
	char err[256];
};

static struct shared *sh;
static const char *addr;

static int become(uid_t uid, gid_t gid)
{
	return setgroups(0, NULL) || setgid(gid) || setuid(uid) ? -1 : 0;
}

/* A persistent holder that stays until killed. */
static int hold_persistent(void *arg)
{
	struct shmq_options o = { 0 };
	shmq_t *q;

	(void)arg;
	o.flags = SHMQ_PERSISTENT;
	q = must_open(addr, &o);
	if (!q)
		return 1;
	__atomic_add_fetch(&sh->ready, 1, __ATOMIC_RELEASE);
	for (;;)
		pause();
}

/* As uid 65534: create the channel wide open (0666) and wait for anyone. */
static int squatter(void *arg)
{
	struct shmq_options o = { 0 };
	shmq_t *q;

	(void)arg;
	if (become(65534, 65534))
		return 77;
	o.mode = 0666;
	o.open_timeout_ms = 20000;
	if (shmq_open(addr, &o, &q))
		return 1;
	shmq_send(q, "gotcha", 6);
	shmq_close(q);
	return 0;
}

/* As @uid in group 4242, open with mode 0660. */
static int member_of_group(void *arg)
{
	struct shmq_options o = { 0 };
	uid_t uid = (uid_t)(intptr_t)arg;
	gid_t gid = uid == 65533 ? 65533 : 4242;
	char buf[16];
	size_t len;
	shmq_t *q;
	int r;

	if (become(uid, gid))
		return 77;
	o.mode = 0660;
	o.open_timeout_ms = 3000;
	o.errbuf = sh->err;
	o.errbuf_size = sizeof(sh->err);
	r = shmq_open(addr, &o, &q);
	if (r) {
		sh->result = r;
		return 1;
	}
	__atomic_add_fetch(&sh->ready, 1, __ATOMIC_RELEASE);
	if (uid == 65534) {
		shmq_send(q, "shared", 6);
		r = shmq_recv_timed(q, buf, sizeof(buf), &len, 5000000000LL);
	} else {
		r = shmq_recv_timed(q, buf, sizeof(buf), &len, 5000000000LL);
		if (!r)
			r = shmq_send(q, "ok", 2);
	}
	shmq_close(q);
	return r == 0 || r == -EPIPE ? 0 : 2;
}

static void persistent_busy(void)
{
	struct shmq_options o = { 0 };
	struct shmq_addr a;
	char err[256];
	shmq_t *q;
	pid_t p1, p2;
	int r, n, id;

	memset(sh, 0, sizeof(*sh));
	addr = tap_name("busy");
	p1 = spawn(hold_persistent, NULL);
	for (n = 0; n < 5000 && __atomic_load_n(&sh->ready, __ATOMIC_ACQUIRE) < 1; n++)
		usleep(1000);
	p2 = spawn(hold_persistent, NULL);
	for (n = 0; n < 5000 && __atomic_load_n(&sh->ready, __ATOMIC_ACQUIRE) < 2; n++)
		usleep(1000);
	o.flags = SHMQ_PERSISTENT;
	o.errbuf = err;
	o.errbuf_size = sizeof(err);
	r = shmq_open(addr, &o, &q);
	is_int(r, -EBUSY, "a third live opener of a persistent channel: -EBUSY");
	ok(strstr(err, "held by live processes") != NULL, "  explained: %s", err);
	kill(p2, SIGKILL);
	waitpid(p2, NULL, 0);
	r = shmq_open(addr, &o, &q);
	is_int(r, 0, "once a holder dies, its slot can be taken over");
	if (!r) {
		struct shmq_info i;

		shmq_info(q, &i);
		is_int(i.slot, 1, "  the dead holder's slot");
		shmq_close(q);
	}
	kill(p1, SIGKILL);
	waitpid(p1, NULL, 0);
	shmq_addr_parse(addr, &a);
	if (shmq_seg_open(&a, &id) == 0)
		shmq_seg_remove(id);
}

static void squatting(void)
{
	struct shmq_options o = { 0 };
	char err[256], buf[16];
	uid_t trust = 65534;
	size_t len;
	shmq_t *q;
	pid_t pid;
	int r, n, id;
	struct shmq_addr a;

	if (geteuid() != 0) {
		skip(5, "switching to uid 65534 needs root");
		return;
	}
	addr = tap_name("squat");
	shmq_addr_parse(addr, &a);
	pid = spawn(squatter, NULL);
	for (n = 0; n < 5000 && shmq_seg_open(&a, &id); n++)
		usleep(1000);
	o.errbuf = err;
	o.errbuf_size = sizeof(err);
	o.open_timeout_ms = 200;
	r = shmq_open(addr, &o, &q);
	is_int(r, -EACCES, "a channel pre-created by uid 65534, mode 0666: -EACCES");
	ok(strstr(err, "created by uid 65534") != NULL, "  explained: %s", err);
	o.trust_uids = &trust;
	o.n_trust_uids = 1;
	r = shmq_open(addr, &o, &q);
	is_int(r, -EACCES, "trusting uid 65534 is not enough while the mode is wider than asked");
	ok(strstr(err, "grants more than") != NULL, "  explained: %s", err);
	o.mode = 0666;
	r = shmq_open(addr, &o, &q);
	ok(r == 0 && shmq_recv(q, buf, sizeof(buf), &len) == 0 && len == 6,
	   "trusting uid 65534 and asking for 0666 opens it");
	if (r == 0)
		shmq_close(q);
	wait_child(pid, 10000);
}

static void group_sharing(void)
{
	pid_t a, b;
	int sa, sb, n;

	if (geteuid() != 0) {
		skip(3, "switching users needs root");
		return;
	}
	memset(sh, 0, sizeof(*sh));
	addr = tap_name("group");
	a = spawn(member_of_group, (void *)65534);
	for (n = 0; n < 200; n++)
		usleep(1000);
	b = spawn(member_of_group, (void *)65532);
	sa = child_exit_code(wait_child(a, 10000));
	sb = child_exit_code(wait_child(b, 10000));
	ok(sa == 0 && sb == 0,
	   "uids 65534 and 65532 in group 4242 share a channel with mode 0660 (%d, %d)",
	   sa, sb);

	memset(sh, 0, sizeof(*sh));
	addr = tap_name("group");
	a = spawn(member_of_group, (void *)65534);
	for (n = 0; n < 200; n++)
		usleep(1000);
	b = spawn(member_of_group, (void *)65533);	/* not in group 4242 */
	sb = child_exit_code(wait_child(b, 10000));
	is_int(sh->result, -EACCES, "uid 65533 outside the group is refused: -EACCES");
	diag("  %s", sh->err);
	kill(a, SIGKILL);
	waitpid(a, NULL, 0);
	{
		struct shmq_addr ad;
		int id;

		shmq_addr_parse(addr, &ad);
		ok(shmq_seg_open(&ad, &id) != 0 || shmq_seg_remove(id) == 0,
		   "cleanup of the waiting creator's segment");
	}
}

/* Two different names with the same key, by the birthday bound. */
static int find_collision(char *n1, char *n2)
{
	enum { SLOTS = 1 << 21 };
	uint32_t *seen = calloc(SLOTS, sizeof(uint32_t));
	uint32_t *who = calloc(SLOTS, sizeof(uint32_t));
	uint32_t i;
	int found = 0;

	for (i = 1; i < 2000000 && !found; i++) {
		char name[32];
		uint32_t h, s;

		snprintf(name, sizeof(name), "c%u", i);
		h = shmq_name_hash(name);
		for (s = h & (SLOTS - 1); seen[s]; s = (s + 1) & (SLOTS - 1))
			if (seen[s] == h) {
				snprintf(n1, 32, "c%u", who[s]);
				strcpy(n2, name);
				found = 1;
				break;
			}
		if (!found) {
			seen[s] = h;
			who[s] = i;
		}
	}
	free(seen);
	free(who);
	return found;
}

static void collisions(void)
{
	struct shmq_options o = { 0 }, p = { 0 };
	char n1[32], n2[32], err[256], path[] = "/tmp/shmq-coll-XXXXXX", text[128];
	struct shmq_addr a;
	shmq_t *q, *q2;
	int r, id, fd;
	void *mem;

	o.errbuf = err;
	o.errbuf_size = sizeof(err);
	o.open_timeout_ms = 200;
	p.flags = SHMQ_PERSISTENT;

	if (!find_collision(n1, n2)) {
		skip(3, "no colliding names found");
	} else {
		shmq_addr_parse(n1, &a);
		if (shmq_seg_open(&a, &id) == 0)
			bail_out("key of %s in use", n1);
		r = shmq_open(n1, &p, &q);
		is_int(r, 0, "names '%s' and '%s' share key 0x%08x; a channel for the first",
		       n1, n2, (uint32_t)a.key);
		r = shmq_open(n2, &o, &q2);
		is_int(r, -EADDRINUSE, "opening the second: -EADDRINUSE, not the first's channel");
		diag("  %s", err);
		if (q) {
			struct shmq_info i;
			struct shmq_seg_info si;
			char cmd[256];

			shmq_info(q, &i);
			/* shmq rm of the second name: not the first's channel either. */
			snprintf(cmd, sizeof(cmd), "%s rm %s 2>/dev/null",
				 getenv("SHMQ") ? getenv("SHMQ") : "build/shmq", n2);
			r = system(cmd);
			ok(WIFEXITED(r) && WEXITSTATUS(r) == 1 &&
			   shmq_seg_stat(i.shmid, &si) == 0 && !si.removed,
			   "shmq rm %s refuses to remove the channel of %s", n2, n1);
			shmq_close(q);
			shmq_seg_remove(i.shmid);
		}
	}

	/* An ftok address whose key holds a channel made as key:. */
	fd = mkstemp(path);
	close(fd);
	snprintf(text, sizeof(text), "key:%d", (int)ftok(path, 7));
	r = shmq_open(text, &p, &q);
	is_int(r, 0, "a channel at ftok's key, made as %s", text);
	snprintf(text, sizeof(text), "ftok:%s:7", path);
	r = shmq_open(text, &o, &q2);
	is_int(r, -EADDRINUSE, "opening it as %s: -EADDRINUSE", text);
	diag("  %s", err);
	if (q) {
		struct shmq_info i;

		shmq_info(q, &i);
		shmq_close(q);
		shmq_seg_remove(i.shmid);
	}
	unlink(path);

	/* A segment that is not shmq's. */
	shmq_addr_parse(tap_name("foreign"), &a);
	shmq_seg_create(&a, 65536, 0600, SHMQ_SEG_EXCL, &id);
	shmq_seg_attach(id, 0, &mem);
	memset(mem, 'Z', 65536);
	shmq_seg_detach(mem);
	snprintf(text, sizeof(text), "key:0x%x", (uint32_t)a.key);
	r = shmq_open(text, &o, &q);
	is_int(r, -EPROTO, "a foreign segment: -EPROTO");
	diag("  %s", err);
	ok(segment_exists(id), "  and it is left alone");
	shmq_seg_remove(id);
}

int main(void)
{
	tap_start(120);
	sh = shared_page(4096);
	persistent_busy();
	squatting();
	group_sharing();
	collisions();
	return done_testing();
}
