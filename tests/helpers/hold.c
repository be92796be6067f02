/*
 * hold ADDR-ID: attach segment id ADDR-ID and keep it attached until stdin
 * reaches end of file (or the process is killed).  Prints "held" once
 * attached, so a test knows when the attachment exists.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/shm.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char c;
	void *p;

	if (argc != 2)
		return 2;
	p = shmat(atoi(argv[1]), NULL, SHM_RDONLY);
	if (p == (void *)-1) {
		perror("hold: shmat");
		return 1;
	}
	printf("held\n");
	fflush(stdout);
	while (read(0, &c, 1) > 0)
		;
	shmdt(p);
	return 0;
}
