/*
 * runas UID COMMAND...: run COMMAND as UID (and gid UID, no supplementary
 * groups).  Exits 77 when not root, so a test can skip.
 */

#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	uid_t uid;
	gid_t gid;

	if (argc < 3) {
		fprintf(stderr, "usage: runas UID[:GID] COMMAND...\n");
		return 2;
	}
	if (geteuid() != 0)
		return 77;
	uid = (uid_t)strtoul(argv[1], NULL, 10);
	gid = (gid_t)uid;
	{
		char *colon = strchr(argv[1], ':');

		if (colon)
			gid = (gid_t)strtoul(colon + 1, NULL, 10);
	}
	if (setgroups(0, NULL) || setgid(gid) || setuid(uid)) {
		perror("runas");
		return 77;
	}
	execvp(argv[2], argv + 2);
	perror(argv[2]);
	return 127;
}
