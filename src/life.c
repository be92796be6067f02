/* SPDX-License-Identifier: MIT */
/*
 * Life tokens: liveness that needs nothing but the IPC namespace.
 *
 * A pid means something only in its own PID namespace.  Containers that
 * share an IPC namespace (a Kubernetes pod, `docker run --ipc=host`) see
 * each other's segments but not each other's processes: from there the
 * kernel's creator pid of a segment reads 0, and a pid in an owner word
 * names nobody, or somebody else.  Deciding "dead" from that lost data.
 *
 * So every process that holds a shmq end also holds a life token: a tiny
 * System V segment of its own, made at IPC_PRIVATE, attached once with
 * MADV_DONTFORK and marked removed at once.  The kernel frees it when its
 * last attach goes, which is exactly when the process exits (any way,
 * kill -9 included) or calls exec; a fork child does not inherit the
 * attach (MADV_DONTFORK), so it cannot keep its parent's token alive.
 * Anyone in the IPC namespace can then ask the kernel whether token id N
 * still exists: that answer is the same in every PID namespace.  Nothing
 * is ever left behind, since the token is removed from its first moment.
 *
 * An end publishes its token beside its owner word, in a life word:
 *
 *   bits  0..31  token id + 1 (0: no token: an older build)
 *   bits 32..42  the cookie: the token's size is SHMQ_LIFE_SIZE_MIN + it
 *   bits 43..63  a tag of the owner word's holder (pid and start time)
 *
 * The tag ties the life word to the owner word it belongs to: a claimant
 * stores its life word right after winning the compare-and-swap of the
 * owner word, so a reader that finds the tags disagree is looking at a
 * claim in progress and says "unknown" rather than guess.  (A holder
 * killed between those two stores leaves its slot unknown for good to
 * readers in other PID namespaces: `shmq rm` frees it.)  The cookie tells a reused id from ours:
 * an id comes back only after the kernel's 16-bit sequence wraps, and
 * then it is also a removed private segment of exactly our size in one
 * case in 2048.
 *
 * pids stay, for display and as a fast path: the token's kernel record
 * names its creator's pid in the reader's namespace (0 when it cannot be
 * seen from there).  While the token exists that pid cannot have been
 * reused, so a pidfd opened on it, checked against the token afterwards,
 * watches the holder itself, even from a parent PID namespace.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/shm.h>
#include <unistd.h>

#include "atomics.h"
#include "internal.h"
#include "layout.h"

#ifndef SHM_STAT_ANY
#define SHM_STAT_ANY 15
#endif

#define COOKIE_BITS 11
#define COOKIE_MASK ((1u << COOKIE_BITS) - 1)
#define TAG_SHIFT (32 + COOKIE_BITS)

/* This process's token; remade in a child (another pid). */
static pthread_mutex_t mine_lock = PTHREAD_MUTEX_INITIALIZER;
static pid_t mine_pid;
static int mine_id = -1;
static unsigned mine_cookie;

static uint64_t tag_of(uint64_t owner)
{
	uint64_t x = (owner >> 2) * 0x9e3779b97f4a7c15ull;

	/* Never 0, so a life word is never 0 for a real holder. */
	return (x >> TAG_SHIFT) | 1;
}

uint64_t shmq_life_word(uint64_t owner, int id, unsigned cookie)
{
	if (id < 0)
		return 0;
	return tag_of(owner) << TAG_SHIFT | (uint64_t)(cookie & COOKIE_MASK) << 32 |
	       ((uint64_t)(uint32_t)id + 1);
}

/*
 * What a token holds, so that one left behind can be told for ours: a
 * process killed between making it and marking it removed (a few
 * microseconds, once per process) leaves it unattached and not removed,
 * and `shmq clean` removes it (shmq_life_leftover()).
 */
struct life_page {
	uint64_t magic;		/* "shmqlife" */
	int32_t pid;
	uint32_t pad;
	uint64_t start;
};
#define LIFE_MAGIC 0x6566696c716d6873ull

static int make_token(uint64_t owner, int *id, unsigned *cookie)
{
	uint16_t rnd = 0;
	struct life_page *lp;
	void *p;
	int shmid;

	if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != sizeof(rnd))
		rnd = (uint16_t)(shmq_now_ns() ^ getpid());
	*cookie = rnd & COOKIE_MASK;
	shmid = shmget(IPC_PRIVATE, SHMQ_LIFE_SIZE_MIN + *cookie, IPC_CREAT | IPC_EXCL | 0600);
	if (shmid < 0)
		return -errno;
	p = shmat(shmid, NULL, 0);
	if (p == (void *)-1) {
		int err = -errno;

		shmctl(shmid, IPC_RMID, NULL);
		return err;
	}
	lp = p;
	lp->pid = (int32_t)getpid();
	lp->start = shmq_owner_start(owner);
	shmq_store_release(&lp->magic, LIFE_MAGIC);
	/*
	 * Removed from now on: the kernel frees it at our last detach, which
	 * is our exit or exec.  A child must not keep it attached.
	 */
	if (shmctl(shmid, IPC_RMID, NULL) < 0 ||
	    madvise(p, SHMQ_LIFE_SIZE_MIN + *cookie, MADV_DONTFORK) < 0) {
		int err = -errno;

		shmctl(shmid, IPC_RMID, NULL);
		shmdt(p);
		return err;
	}
	*id = shmid;
	return 0;
}

int shmq_life_mine(uint64_t owner, uint64_t *life)
{
	pid_t me = getpid();
	int r = 0;

	pthread_mutex_lock(&mine_lock);
	if (mine_pid != me) {
		r = make_token(owner, &mine_id, &mine_cookie);
		if (r == 0)
			mine_pid = me;
	}
	if (r == 0)
		*life = shmq_life_word(owner, mine_id, mine_cookie);
	pthread_mutex_unlock(&mine_lock);
	return r;
}

/*
 * The kernel's record of segment @id, also where we may not read it
 * (SHM_STAT_ANY, 4.17, by index, which is the id's low bits: 15 of them,
 * or 24 with ipcmni_extend): 0, -ENOENT gone, or -errno.
 */
static int stat_any(int id, struct shmid_ds *ds)
{
	static const int index_bits[] = { 15, 24 };
	size_t i;

	if (shmctl(id, IPC_STAT, ds) == 0)
		return 0;
	if (errno == EINVAL || errno == EIDRM)
		return -ENOENT;
	if (errno != EACCES)
		return -errno;
	for (i = 0; i < SHMQ_ARRAY_SIZE(index_bits); i++) {
		int r = shmctl(id & ((1 << index_bits[i]) - 1), SHM_STAT_ANY, ds);

		if (r == id)
			return 0;
		if (r < 0 && errno != EINVAL && errno != EIDRM)
			return -EACCES;
	}
	return -ENOENT;
}

/*
 * The kernel's record of the token @life names, in *@ds: SHMQ_PID_ALIVE,
 * _DEAD (gone, or its id now names another segment) or _UNKNOWN.
 */
static int token_stat(uint64_t life, struct shmid_ds *ds)
{
	int id = (int)((life & 0xffffffffu) - 1);
	unsigned cookie = (unsigned)(life >> 32) & COOKIE_MASK;
	int r;

	if ((life & 0xffffffffu) == 0 || id < 0)
		return SHMQ_PID_DEAD;
	r = stat_any(id, ds);
	if (r == -ENOENT)
		return SHMQ_PID_DEAD;
	if (r)
		return SHMQ_PID_UNKNOWN;
	/* Another segment has the id now: ours is gone. */
	if (ds->shm_perm.__key != IPC_PRIVATE || !(ds->shm_perm.mode & SHM_DEST) ||
	    ds->shm_segsz != SHMQ_LIFE_SIZE_MIN + cookie || ds->shm_nattch == 0)
		return SHMQ_PID_DEAD;
	return SHMQ_PID_ALIVE;
}

int shmq_life_token_state(uint64_t life, pid_t *here)
{
	struct shmid_ds ds;
	int st = token_stat(life, &ds);

	*here = st == SHMQ_PID_ALIVE ? ds.shm_cpid : 0;
	return st;
}

int shmq_life_matches(uint64_t owner, uint64_t life)
{
	return life != 0 && life >> TAG_SHIFT == tag_of(owner);
}

int shmq_life_uid(uint64_t life, uid_t *uid)
{
	struct shmid_ds ds;

	if (token_stat(life, &ds) != SHMQ_PID_ALIVE)
		return -ESRCH;
	*uid = ds.shm_perm.cuid;
	return 0;
}

int shmq_claim(uint64_t *owner, uint64_t *life_w, uint64_t old, uint64_t me,
	       uint64_t life)
{
	/*
	 * Only the winner writes its life word, after winning: a loser that
	 * wrote first could erase a winner's word for good.  A reader between
	 * the two stores finds the tags apart and says "unknown", never
	 * "dead" (shmq_holder_state).
	 */
	if (!shmq_cas(owner, old, me))
		return 0;
	shmq_store_release(life_w, life);
	return 1;
}

int shmq_life_shaped(const struct shmq_seg_info *s)
{
	return s->key == IPC_PRIVATE && s->size >= SHMQ_LIFE_SIZE_MIN &&
	       s->size <= SHMQ_LIFE_SIZE_MIN + COOKIE_MASK;
}

int shmq_life_leftover(const struct shmq_seg_info *s, pid_t *pid)
{
	struct life_page lp;
	void *p;

	/* Removed or attached: a live token, or not ours to judge. */
	if (!shmq_life_shaped(s) || s->removed || s->nattch)
		return 0;
	if (shmq_seg_attach(s->shmid, SHMQ_SEG_RDONLY, &p))
		return 0;
	memcpy(&lp, p, sizeof(lp));
	shmq_seg_detach(p);
	*pid = lp.pid;
	/*
	 * Its magic is written after it was attached; unattached and not
	 * removed now, its maker is gone (or exec'd) without finishing.
	 */
	return lp.magic == LIFE_MAGIC;
}
