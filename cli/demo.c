/* SPDX-License-Identifier: MIT */
/* shmq demo: the classic ping-pong, done right, explained step by step. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "stats.h"

/* Run `shmq ARGS...` as a child process of its own. */
static pid_t run_self(char *const args[])
{
	pid_t pid = fork();

	if (pid == 0) {
		execv("/proc/self/exe", args);
		_exit(127);
	}
	return pid;
}

static int reap(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static size_t count_segments(key_t key, int *ours)
{
	struct shmq_seg_info *v;
	size_t n, i;

	*ours = 0;
	if (shmq_seg_list(&v, &n))
		return 0;
	for (i = 0; i < n; i++) {
		struct shmq_desc d;

		if (v[i].key == key)
			(*ours)++;
		else if (v[i].removed && shmq_describe(v[i].shmid, &d) == 0 &&
			 d.creator_pid == getpid())
			(*ours)++;
	}
	free(v);
	return n;
}

static int run_demo(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "rounds", required_argument, NULL, 'r' },
		{ "count", required_argument, NULL, 'c' },
		{ 0 }
	};
	uint64_t rounds = 100, count = 1000000;
	char name[64], rounds_s[32], count_s[32];
	struct shmq_addr a;
	size_t before, after;
	int ours, c, st1, st2, failed = 0;
	pid_t pong, ping;

	while ((c = getopt_long(argc, argv, "r:c:", opts, NULL)) != -1) {
		if (c == 'r') {
			if (parse_uint(optarg, 100000000, &rounds) || !rounds)
				usage_error("invalid --rounds '%s' (a count from 1 to 100000000)",
					    optarg);
		} else if (c == 'c') {
			if (parse_uint(optarg, 1000000000, &count) || !count)
				usage_error("invalid --count '%s' (a count from 1 to 1000000000)",
					    optarg);
		} else {
			bad_option("r:c:", argv);
		}
	}
	if (optind != argc)
		usage_error("takes no arguments");
	setvbuf(stdout, NULL, _IOLBF, 0);
	snprintf(name, sizeof(name), "demo-%d", (int)getpid());
	snprintf(rounds_s, sizeof(rounds_s), "%llu", (unsigned long long)rounds);
	snprintf(count_s, sizeof(count_s), "%llu", (unsigned long long)count);
	shmq_addr_parse(name, &a);
	before = count_segments(a.key, &ours);

	printf("shmq demo: the classic shared-memory ping-pong, done right.\n\n"
	       "The classic recipe: two processes share a System V segment found by\n"
	       "an ftok key; a client writes \"ping\", a server answers \"pong\", 100\n"
	       "times, then \"end\", and both poll with sleeps in between.  It tears\n"
	       "messages, hangs if the peer dies and leaves the segment behind.\n\n");
	printf("Step 1. Two separate processes meet on the channel '%s' (key 0x%08x).\n"
	       "        Whichever arrives first creates it and waits for the other; once\n"
	       "        both are there, the segment is already marked for removal, so the\n"
	       "        kernel frees it when they are gone, even if they crash.\n\n",
	       name, (uint32_t)a.key);
	{
		char *pong_args[] = { "shmq", "pong", name, NULL };
		char *ping_args[] = { "shmq", "ping", name, "--text", "-c", rounds_s,
				      "-i", "0", "--show", "5", NULL };

		pong = run_self(pong_args);
		printf("        pong process: pid %d, answers each \"ping\" with \"pong\"\n",
		       (int)pong);
		ping = run_self(ping_args);
		printf("        ping process: pid %d, %s rounds\n\n", (int)ping, rounds_s);
		st1 = reap(ping);
		st2 = reap(pong);
	}
	failed |= st1 || st2;
	printf("\n        Every answer was checked.  The first rounds carry the start-up\n"
	       "        cost (page faults, cold caches); the median is the steady state.\n\n");

	printf("Step 2. The same exchange at full speed: %s round trips of 1 KiB\n"
	       "        messages (or as many as fit in 3 seconds, on a busy machine), each\n"
	       "        answer checked.  A waiting side spins briefly, then sleeps on a\n"
	       "        futex, so an idle side uses no CPU.\n\n",
	       count_s);
	{
		char *pong_args[] = { "shmq", "pong", name, NULL };
		char *ping_args[] = { "shmq", "ping", name, "-c", count_s, "-s", "1024",
				      "-i", "0", "-w", "3s", "--quiet", NULL };

		pong = run_self(pong_args);
		ping = run_self(ping_args);
		st1 = reap(ping);
		st2 = reap(pong);
	}
	failed |= st1 || st2;
	printf("\n        ('shmq bench' measures shmq against the classic sleep-polling recipe,\n"
	       "        pipes, sockets and message queues on this machine.)\n\n");

	after = count_segments(a.key, &ours);
	printf("Step 3. Nothing is left behind: %zu segment%s on the host before the demo,\n"
	       "        %zu after, and %s of the demo's ('shmq ls' lists them all).\n",
	       before, before == 1 ? "" : "s", after, ours ? "SOME" : "none");
	failed |= ours != 0;
	if (failed)
		return fail("the demo did not go as it should (see above)");
	printf("\nDone.  Try it in two shells:  shmq recv jobs   and   seq 3 | shmq send jobs\n");
	return 0;
}

const struct cmd demo_command = {
	.name = "demo",
	.run = run_demo,
	.synopsis = "[--rounds N] [--count M]",
	.summary = "the classic ping-pong, done right, explained step by step",
	.help =
	"Starts a pong process and a ping process on a fresh channel, runs the\n"
	"classic example's 100 rounds, then a million 1 KiB round trips, then\n"
	"shows that no segment is left.\n"
	"\n"
	"  -r, --rounds N      rounds of the classic exchange (default 100)\n"
	"  -c, --count M       fast round trips (default 1000000)\n",
};
