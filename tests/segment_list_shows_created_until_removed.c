/*
 * The list shows a created segment, with the fields stat gives, and stops
 * showing it once removed; the /proc reader and the SHM_STAT fallback agree.
 */
#include "internal.h"
#include "tap.h"

static const struct shmq_seg_info *find(const struct shmq_seg_info *v,
					size_t n, int id)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i].shmid == id)
			return &v[i];
	return NULL;
}

int main(void)
{
	struct shmq_seg_info *v = NULL, *w = NULL, st;
	const struct shmq_seg_info *e, *f;
	struct shmq_addr a;
	size_t n, m, k;
	int id, sorted = 1;
	void *p;

	tap_start(30);
	shmq_addr_parse(tap_name("list"), &a);
	if (shmq_seg_create(&a, 6000, 0604, SHMQ_SEG_EXCL, &id))
		bail_out("create");
	shmq_seg_attach(id, 0, &p);
	shmq_seg_stat(id, &st);

	is_int(shmq_seg_list(&v, &n), 0, "list");
	e = find(v, n, id);
	ok(e != NULL, "the new segment is listed");
	if (e) {
		is_int(e->key, a.key, "  key");
		is_int(e->size, 6000, "  size");
		is_int(e->mode, 0604, "  mode");
		is_int(e->nattch, 1, "  attachments");
		is_int(e->cpid, getpid(), "  creator pid");
		is_int(e->cuid, st.cuid, "  creator uid");
		is_int(e->ctime, st.ctime, "  ctime");
		ok(e->rss >= 0, "  rss known from /proc (%lld)", (long long)e->rss);
	} else {
		skip(8, "not listed");
	}
	for (k = 1; k < n; k++)
		sorted &= v[k - 1].shmid < v[k].shmid;
	ok(sorted, "sorted by id");

	is_int(shmq_seg_list_from(0, &w, &m), 0, "the SHM_STAT fallback lists");
	f = find(w, m, id);
	ok(f && e && f->key == e->key && f->size == e->size &&
	   f->mode == e->mode && f->nattch == e->nattch && f->cpid == e->cpid &&
	   f->uid == e->uid && f->removed == e->removed,
	   "  and agrees with /proc on the segment");
	is_int(m, n, "  and on the count");
	free(v);
	free(w);

	shmq_seg_remove(id);
	shmq_seg_list(&v, &n);
	e = find(v, n, id);
	ok(e && e->removed, "removed but attached: listed as removed");
	free(v);
	shmq_seg_detach(p);
	shmq_seg_list(&v, &n);
	ok(find(v, n, id) == NULL, "after the last detach it is gone from the list");
	free(v);
	return done_testing();
}
