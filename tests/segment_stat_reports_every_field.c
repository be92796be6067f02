/* stat reports what the kernel holds, field by field. */
#include <sys/shm.h>

#include "internal.h"
#include "tap.h"

int main(void)
{
	struct shmq_addr a;
	struct shmq_seg_info i;
	struct shmid_ds ds;
	int64_t before = time(NULL);
	int id;
	void *p;

	tap_start(30);
	shmq_addr_parse(tap_name("stat"), &a);
	if (shmq_seg_create(&a, 12345, 0640, SHMQ_SEG_EXCL, &id))
		bail_out("create");
	is_int(shmq_seg_stat(id, &i), 0, "stat a fresh segment");
	is_int(i.shmid, id, "shmid");
	is_int(i.key, a.key, "key");
	is_int(i.size, 12345, "size is exactly what was asked");
	is_int(i.mode, 0640, "mode");
	is_int(i.uid, geteuid(), "owner uid");
	is_int(i.cuid, geteuid(), "creator uid");
	is_int(i.gid, getegid(), "owner gid");
	is_int(i.cgid, getegid(), "creator gid");
	is_int(i.cpid, getpid(), "creator pid");
	is_int(i.nattch, 0, "no attachments");
	is_int(i.atime, 0, "never attached: atime 0");
	ok(i.ctime >= before && i.ctime <= time(NULL) + 1, "ctime is now");
	ok(!i.removed && !i.locked, "neither removed nor locked");

	shmq_seg_attach(id, 0, &p);
	shmq_seg_stat(id, &i);
	is_int(i.nattch, 1, "after attach: one attachment");
	is_int(i.lpid, getpid(), "last pid is ours");
	ok(i.atime >= before, "atime set");

	shmctl(id, IPC_STAT, &ds);
	is_int(i.atime, ds.shm_atime, "atime agrees with IPC_STAT");
	shmq_seg_remove(id);
	shmq_seg_stat(id, &i);
	ok(i.removed, "after remove, still attached: removed");
	shmq_seg_detach(p);
	return done_testing();
}
