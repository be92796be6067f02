/* SPDX-License-Identifier: MIT */
/* shmq: the command.  Dispatch, help and version; each command lives in its own file. */
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

const char *cli_cmd = NULL;

static const struct cmd *const cmds[] = {
	&send_command,
	&recv_command,
	&pub_command,
	&sub_command,
	&bridge_command,
	&ping_command,
	&pong_command,
	&demo_command,
	&bench_command,
	&ls_command,
	&top_command,
	&stat_command,
	&rm_command,
	&create_command,
	&clean_command,
};

static const char addr_help[] =
	"Addresses:\n"
	"  NAME             a name, 1-63 of [A-Za-z0-9._-]\n"
	"  ftok:PATH:PROJ   the key ftok(3) gives for PATH and PROJ (1-255)\n"
	"  key:KEY          a key in hex (0x1234abcd) or decimal\n"
	"  id:SHMID         an existing segment's id\n";

const struct cmd *find_cmd(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(cmds[i]->name, name))
			return cmds[i];
	return NULL;
}

static int failures;	/* fail() said something: check_stdout() need not */

int fail(const char *fmt, ...)
{
	va_list ap;

	failures++;
	fflush(stdout);
	fprintf(stderr, "shmq: ");
	if (cli_cmd)
		fprintf(stderr, "%s: ", cli_cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

void usage_error(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "shmq: ");
	if (cli_cmd)
		fprintf(stderr, "%s: ", cli_cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "; try 'shmq %s%s--help'\n", cli_cmd ? cli_cmd : "",
		cli_cmd ? " " : "");
	exit(EXIT_USAGE);
}

void bad_option(const char *shortopts, char **argv)
{
	const char *typed = optind > 0 ? argv[optind - 1] : "?";

	if (optopt && optopt < 0x100 && !strchr(shortopts, optopt))
		usage_error("unknown option '-%c'", optopt);
	if (optopt)
		usage_error("option '%s' needs a value", typed);
	usage_error("unknown option '%s'", typed);
}

void print_help(const struct cmd *c)
{
	printf("Usage: shmq %s %s\n%s\n\n%s\n%s", c->name, c->synopsis,
	       c->summary, c->help, c->takes_address ? addr_help : "");
	exit(0);
}

void print_version(void)
{
	printf("shmq %s (library %s)\n", SHMQ_VERSION_STRING, shmq_version());
	exit(0);
}

static void main_help(FILE *f)
{
	size_t i;

	fprintf(f, "Usage: shmq COMMAND [ARGS]\n"
		   "Message passing between processes over System V shared memory.\n\n"
		   "Commands:\n");
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %-8s %s\n", cmds[i]->name, cmds[i]->summary);
	fprintf(f, "\n%s\n'shmq COMMAND --help' tells more; 'shmq --version' the version.\n",
		addr_help);
}

/*
 * At exit: what was printed must have been written.  A full disk or
 * >/dev/full: one line and exit 1, never a silent success with the
 * output lost.  A closed pipe: 141, as everywhere in the CLI.
 */
static void check_stdout(void)
{
	int bad = fflush(stdout) != 0 || ferror(stdout);
	int err = errno;

	if (!bad)
		return;
	/* The reader went away: quietly, as SIGPIPE would have (it is ignored). */
	if (err == EPIPE)
		_exit(128 + SIGPIPE);
	if (!failures)	/* a write error already said, once */
		fprintf(stderr, "shmq: %s%scannot write to standard output: %s\n",
		cli_cmd ? cli_cmd : "", cli_cmd ? ": " : "", strerror(err ? err : EIO));
	_exit(1);
}

int main(int argc, char **argv)
{
	const struct cmd *c;
	int i;

	atexit(check_stdout);

	if (argc < 2) {
		fprintf(stderr, "Usage: shmq COMMAND [ARGS]; try 'shmq --help'\n");
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		if (argc > 2 && (c = find_cmd(argv[2])) != NULL) {
			cli_cmd = c->name;
			print_help(c);
		}
		main_help(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V"))
		print_version();
	c = find_cmd(argv[1]);
	if (!c) {
		fprintf(stderr, "shmq: unknown command '%s'; try 'shmq --help'\n",
			argv[1]);
		return EXIT_USAGE;
	}
	cli_cmd = c->name;
	/* --help and --version work for every command, wherever they appear. */
	for (i = 2; i < argc && strcmp(argv[i], "--"); i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			print_help(c);
		if (!strcmp(argv[i], "--version"))
			print_version();
	}
	optind = 1;
	opterr = 0;	/* one line of our own instead (bad_option) */
	return c->run(argc - 1, argv + 1);
}
