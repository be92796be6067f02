/* A read-only attach reads, and a write through it dies with SIGSEGV. */
#include "internal.h"
#include "tap.h"

int main(void)
{
	struct shmq_addr a;
	int id, status;
	void *rw, *ro;
	pid_t pid;

	tap_start(30);
	shmq_addr_parse(tap_name("ro"), &a);
	if (shmq_seg_create(&a, 4096, 0600, SHMQ_SEG_EXCL, &id))
		bail_out("create");
	shmq_seg_attach(id, 0, &rw);
	memcpy(rw, "data", 5);
	is_int(shmq_seg_attach(id, SHMQ_SEG_RDONLY, &ro), 0, "attach read-only");
	ok(!strcmp(ro, "data"), "a read-only mapping reads the data");

	pid = fork();
	if (pid == 0) {
		signal(SIGSEGV, SIG_DFL);
		((volatile char *)ro)[0] = 'X';
		_exit(0);	/* must not get here */
	}
	status = wait_child(pid, 10000);
	ok(status != -1 && WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV,
	   "a child writing through it dies with SIGSEGV");
	ok(!strcmp(rw, "data"), "the data is unchanged");
	shmq_seg_detach(ro);
	shmq_seg_detach(rw);
	is_int(shmq_seg_remove(id), 0, "remove");
	return done_testing();
}
