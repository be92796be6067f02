/* Many processes race an exclusive create: exactly one wins. */
#include "internal.h"
#include "tap.h"

#define RACERS 8

int main(void)
{
	struct shmq_addr a;
	int pipefd[2], round, wins_ok = 1, i, id;

	tap_start(60);
	shmq_addr_parse(tap_name("race"), &a);
	for (round = 0; round < 20; round++) {
		pid_t pid[RACERS];
		int wins = 0, losses = 0;

		if (pipe(pipefd))
			bail_out("pipe");
		for (i = 0; i < RACERS; i++) {
			pid[i] = fork();
			if (pid[i] == 0) {
				char c;

				close(pipefd[1]);
				/* Start together: everyone waits for the close. */
				if (read(pipefd[0], &c, 1) < 0)
					_exit(3);
				int r = shmq_seg_create(&a, 4096, 0600,
							SHMQ_SEG_EXCL, &id);
				_exit(r == 0 ? 0 : r == -EEXIST ? 1 : 2);
			}
		}
		close(pipefd[0]);
		close(pipefd[1]);
		for (i = 0; i < RACERS; i++) {
			int code = child_exit_code(wait_child(pid[i], 10000));

			wins += code == 0;
			losses += code == 1;
		}
		if (wins != 1 || losses != RACERS - 1) {
			wins_ok = 0;
			diag("round %d: %d wins, %d -EEXIST", round, wins, losses);
		}
		if (shmq_seg_open(&a, &id) == 0)
			shmq_seg_remove(id);
	}
	ok(wins_ok, "20 rounds of %d racers: one winner each, the rest -EEXIST",
	   RACERS);
	is_int(shmq_seg_open(&a, &id), -ENOENT, "nothing left behind");
	return done_testing();
}
