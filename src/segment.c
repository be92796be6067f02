/* SPDX-License-Identifier: MIT */
/*
 * The segment layer: create, open, attach, detach, remove, stat, list.
 *
 * Each function says once, plainly, what the system call does, and
 * turns its failure into -errno.  Nothing here knows what lives inside a
 * segment.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>

#include "internal.h"

#ifndef SHM_STAT_ANY
#define SHM_STAT_ANY 15		/* Linux 4.17: SHM_STAT without read access */
#endif
#ifndef SHM_HUGETLB
#define SHM_HUGETLB 04000
#endif

SHMQ_API int shmq_seg_create(const struct shmq_addr *addr, size_t size,
			     unsigned mode, unsigned flags, int *shmid)
{
	int shmflg, id;

	if (addr->kind == SHMQ_ADDR_ID)
		return -EINVAL;		/* an id names an existing segment */
	if (size == 0 || (mode & ~0777u))
		return -EINVAL;
	if (mode == 0)
		mode = 0600;
	shmflg = IPC_CREAT | (int)mode;
	if (flags & SHMQ_SEG_EXCL)
		shmflg |= IPC_EXCL;
	id = -1;
	if (flags & SHMQ_SEG_HUGETLB)
		id = shmget(addr->key, size, shmflg | SHM_HUGETLB);
	/* No huge pages reserved, or not allowed: ordinary pages will do. */
	if (id < 0)
		id = shmget(addr->key, size, shmflg);
	if (id < 0)
		return -errno;
	*shmid = id;
	return 0;
}

SHMQ_API int shmq_seg_open(const struct shmq_addr *addr, int *shmid)
{
	struct shmid_ds ds;
	int id;

	if (addr->kind == SHMQ_ADDR_ID) {
		if (shmctl(addr->shmid, IPC_STAT, &ds) < 0) {
			/* Exists but unreadable is still "exists". */
			if (errno != EACCES)
				return errno == EINVAL ? -ENOENT : -errno;
		}
		*shmid = addr->shmid;
		return 0;
	}
	/* Size 0 and no mode bits: find it, whatever our access to it. */
	id = shmget(addr->key, 0, 0);
	if (id < 0)
		return -errno;
	*shmid = id;
	return 0;
}

SHMQ_API int shmq_seg_attach(int shmid, unsigned flags, void **base)
{
	void *p = shmat(shmid, NULL, (flags & SHMQ_SEG_RDONLY) ? SHM_RDONLY : 0);

	if (p == (void *)-1)
		return -errno;
	*base = p;
	return 0;
}

SHMQ_API int shmq_seg_detach(void *base)
{
	return shmdt(base) < 0 ? -errno : 0;
}

SHMQ_API int shmq_seg_remove(int shmid)
{
	return shmctl(shmid, IPC_RMID, NULL) < 0 ? -errno : 0;
}

int shmq_seg_set_owner(int shmid, uid_t uid)
{
	struct shmid_ds ds;

	if (shmctl(shmid, IPC_STAT, &ds) < 0)
		return -errno;
	ds.shm_perm.uid = uid;
	return shmctl(shmid, IPC_SET, &ds) < 0 ? -errno : 0;
}

static void info_from_ds(struct shmq_seg_info *i, int shmid,
			 const struct shmid_ds *ds)
{
	memset(i, 0, sizeof(*i));
	i->key = ds->shm_perm.__key;
	i->shmid = shmid;
	i->size = ds->shm_segsz;
	i->uid = ds->shm_perm.uid;
	i->gid = ds->shm_perm.gid;
	i->cuid = ds->shm_perm.cuid;
	i->cgid = ds->shm_perm.cgid;
	i->mode = ds->shm_perm.mode & 0777;
	i->removed = !!(ds->shm_perm.mode & SHM_DEST);
	i->locked = !!(ds->shm_perm.mode & SHM_LOCKED);
	i->nattch = ds->shm_nattch;
	i->cpid = ds->shm_cpid;
	i->lpid = ds->shm_lpid;
	i->atime = ds->shm_atime;
	i->dtime = ds->shm_dtime;
	i->ctime = ds->shm_ctime;
	i->rss = -1;
	i->swap = -1;
}

SHMQ_API int shmq_seg_stat(int shmid, struct shmq_seg_info *info)
{
	struct shmid_ds ds;

	if (shmctl(shmid, IPC_STAT, &ds) < 0)
		return -errno;
	info_from_ds(info, shmid, &ds);
	return 0;
}

struct seg_vec {
	struct shmq_seg_info *v;
	size_t n, cap;
};

static int vec_push(struct seg_vec *vec, const struct shmq_seg_info *i)
{
	if (vec->n == vec->cap) {
		size_t cap = vec->cap ? vec->cap * 2 : 16;
		void *p = realloc(vec->v, cap * sizeof(*vec->v));

		if (!p)
			return -ENOMEM;
		vec->v = p;
		vec->cap = cap;
	}
	vec->v[vec->n++] = *i;
	return 0;
}

/* The columns of /proc/sysvipc/shm we use, found by name in its header. */
enum {
	COL_KEY, COL_SHMID, COL_PERMS, COL_SIZE, COL_CPID, COL_LPID,
	COL_NATTCH, COL_UID, COL_GID, COL_CUID, COL_CGID, COL_ATIME,
	COL_DTIME, COL_CTIME, COL_RSS, COL_SWAP, NCOLS
};
static const char *const col_names[NCOLS] = {
	"key", "shmid", "perms", "size", "cpid", "lpid", "nattch", "uid",
	"gid", "cuid", "cgid", "atime", "dtime", "ctime", "rss", "swap",
};

#define MAX_FIELDS 32

static int split(char *line, char **field)
{
	int n = 0;
	char *save = NULL, *tok;

	for (tok = strtok_r(line, " \t\n", &save); tok && n < MAX_FIELDS;
	     tok = strtok_r(NULL, " \t\n", &save))
		field[n++] = tok;
	return n;
}

/* Which field of the header line each column is: 0, or -EPROTO. */
static int find_columns(char *header, int *where)
{
	char *field[MAX_FIELDS];
	int i, j, n = split(header, field);

	for (i = 0; i < NCOLS; i++) {
		where[i] = -1;
		for (j = 0; j < n; j++)
			if (!strcmp(field[j], col_names[i]))
				where[i] = j;
		/* rss and swap are newer than the rest; the rest are required. */
		if (where[i] < 0 && i != COL_RSS && i != COL_SWAP)
			return -EPROTO;
	}
	return 0;
}

/* One line of /proc/sysvipc/shm: 0, or -1 if it is not one. */
static int parse_row(char *line, const int *where, struct shmq_seg_info *s)
{
	char *field[MAX_FIELDS];
	long long v[NCOLS];
	unsigned long perms;
	int i, n = split(line, field);

	if (where[COL_PERMS] >= n)
		return -1;
	for (i = 0; i < NCOLS; i++)
		v[i] = where[i] >= 0 && where[i] < n ? strtoll(field[where[i]], NULL, 10) : -1;
	perms = strtoul(field[where[COL_PERMS]], NULL, 8);
	memset(s, 0, sizeof(*s));
	s->key = (key_t)v[COL_KEY];
	s->shmid = (int)v[COL_SHMID];
	s->mode = perms & 0777;
	s->removed = !!(perms & SHM_DEST);
	s->locked = !!(perms & SHM_LOCKED);
	s->size = (uint64_t)v[COL_SIZE];
	s->cpid = (pid_t)v[COL_CPID];
	s->lpid = (pid_t)v[COL_LPID];
	s->nattch = (uint64_t)v[COL_NATTCH];
	s->uid = (uid_t)v[COL_UID];
	s->gid = (gid_t)v[COL_GID];
	s->cuid = (uid_t)v[COL_CUID];
	s->cgid = (gid_t)v[COL_CGID];
	s->atime = v[COL_ATIME];
	s->dtime = v[COL_DTIME];
	s->ctime = v[COL_CTIME];
	s->rss = v[COL_RSS];
	s->swap = v[COL_SWAP];
	return 0;
}

static int list_proc(struct seg_vec *vec)
{
	FILE *f = fopen("/proc/sysvipc/shm", "re");
	char line[1024];
	int where[NCOLS];
	int err;

	if (!f)
		return -errno;
	err = fgets(line, sizeof(line), f) ? find_columns(line, where) : -EIO;
	while (!err && fgets(line, sizeof(line), f)) {
		struct shmq_seg_info s;

		if (parse_row(line, where, &s) == 0)
			err = vec_push(vec, &s);
	}
	fclose(f);
	return err;
}

/* The fallback where /proc is not mounted: walk the kernel's index. */
static int list_shm_stat(struct seg_vec *vec)
{
	struct shm_info si;
	struct shmid_ds ds;
	struct shmq_seg_info s;
	int max, i, id, err;

	max = shmctl(0, SHM_INFO, (struct shmid_ds *)(void *)&si);
	if (max < 0)
		return -errno;
	for (i = 0; i <= max; i++) {
		/* Zeroed: memcheck does not know SHM_STAT_ANY fills it. */
		memset(&ds, 0, sizeof(ds));
		id = shmctl(i, SHM_STAT_ANY, &ds);
		if (id < 0 && errno == EINVAL)
			id = shmctl(i, SHM_STAT, &ds);	/* before 4.17 */
		if (id < 0)
			continue;	/* a free slot, or one we may not read */
		info_from_ds(&s, id, &ds);
		err = vec_push(vec, &s);
		if (err)
			return err;
	}
	return 0;
}

static int by_shmid(const void *a, const void *b)
{
	const struct shmq_seg_info *x = a, *y = b;

	return (x->shmid > y->shmid) - (x->shmid < y->shmid);
}

int shmq_seg_list_from(int use_proc, struct shmq_seg_info **list,
		       size_t *count)
{
	struct seg_vec vec = { 0 };
	int err = -ENOENT;

	if (use_proc != 0)
		err = list_proc(&vec);
	if (err && use_proc != 1) {
		vec.n = 0;
		err = list_shm_stat(&vec);
	}
	if (err) {
		free(vec.v);
		return err;
	}
	if (vec.n)
		qsort(vec.v, vec.n, sizeof(*vec.v), by_shmid);
	*list = vec.v;
	*count = vec.n;
	return 0;
}

SHMQ_API int shmq_seg_list(struct shmq_seg_info **list, size_t *count)
{
	return shmq_seg_list_from(-1, list, count);
}

void shmq_seg_prefault(void *p, size_t len, int write)
{
#ifdef MADV_POPULATE_WRITE
	if (madvise(p, len, write ? MADV_POPULATE_WRITE : MADV_POPULATE_READ) == 0 ||
	    errno != EINVAL)
		return;	/* done, or a page the touch below would die on: skip */
#else
	(void)write;
#endif
	/* A kernel before 5.14: read each page (a read-only mapping too). */
	for (size_t i = 0; i < len; i += 4096)
		(void)*(volatile unsigned char *)((unsigned char *)p + i);
}
