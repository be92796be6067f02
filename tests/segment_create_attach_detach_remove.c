/* Segments: create, open, attach, detach and remove round trips. */
#include <sys/ipc.h>
#include <sys/shm.h>

#include "internal.h"
#include "tap.h"

int main(void)
{
	struct shmq_addr a, byid;
	struct shmq_seg_info info;
	char idtext[32];
	int id, id2, r;
	void *p, *q;

	tap_start(30);
	shmq_addr_parse(tap_name("seg"), &a);

	is_int(shmq_seg_open(&a, &id), -ENOENT, "open before create: -ENOENT");
	is_int(shmq_seg_create(&a, 8192, 0, SHMQ_SEG_EXCL, &id), 0, "create");
	is_int(shmq_seg_create(&a, 8192, 0, SHMQ_SEG_EXCL, &id2), -EEXIST,
	       "exclusive create of an existing segment: -EEXIST");
	is_int(shmq_seg_create(&a, 8192, 0, 0, &id2), 0,
	       "non-exclusive create returns the existing segment");
	is_int(id2, id, "  with the same id");
	is_int(shmq_seg_open(&a, &id2), 0, "open finds it");
	is_int(id2, id, "  same id");

	snprintf(idtext, sizeof(idtext), "id:%d", id);
	shmq_addr_parse(idtext, &byid);
	is_int(shmq_seg_open(&byid, &id2), 0, "open by id:%d", id);
	is_int(shmq_seg_create(&byid, 4096, 0, 0, &id2), -EINVAL,
	       "create by id is -EINVAL");

	is_int(shmq_seg_attach(id, 0, &p), 0, "attach read-write");
	is_int(shmq_seg_attach(id, 0, &q), 0, "attach a second time");
	memcpy(p, "hello", 6);
	ok(!strcmp(q, "hello"), "both mappings see the same bytes");
	is_int(shmq_seg_stat(id, &info), 0, "stat");
	is_int(info.nattch, 2, "  two attachments");
	is_int(shmq_seg_detach(q), 0, "detach one");
	is_int(shmq_seg_detach(q), -EINVAL, "detach it again: -EINVAL");

	is_int(shmq_seg_remove(id), 0, "remove while attached");
	is_int(shmq_seg_open(&a, &id2), -ENOENT, "the key no longer finds it");
	is_int(shmq_seg_stat(id, &info), 0, "the id still stats while attached");
	ok(info.removed, "  marked removed");
	is_int(info.key, IPC_PRIVATE, "  its key is now IPC_PRIVATE");
	ok(!strcmp(p, "hello"), "the mapping still works after removal");
	is_int(shmq_seg_detach(p), 0, "last detach");
	r = shmq_seg_stat(id, &info);
	ok(r == -EINVAL || r == -EIDRM, "after the last detach the id is gone (%d)", r);
	is_int(shmq_seg_remove(id), -EINVAL, "removing it again: -EINVAL");

	is_int(shmq_seg_create(&a, 0, 0, 0, &id), -EINVAL, "size 0 is -EINVAL");
	is_int(shmq_seg_create(&a, 4096, 01777, 0, &id), -EINVAL,
	       "mode beyond 0777 is -EINVAL");
	is_int(shmq_seg_attach(-1, 0, &p), -EINVAL, "attach a bad id: -EINVAL");

	/* Huge pages are optional: the fallback still yields a segment. */
	is_int(shmq_seg_create(&a, 4096, 0600, SHMQ_SEG_HUGETLB | SHMQ_SEG_EXCL,
			       &id), 0, "create with SHMQ_SEG_HUGETLB (or its fallback)");
	is_int(shmq_seg_remove(id), 0, "  and remove it");
	return done_testing();
}
