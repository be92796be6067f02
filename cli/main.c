/* SPDX-License-Identifier: MIT */
/* shmq: the command.  Dispatch, help, and the helpers every command shares. */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <math.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

const char *cli_cmd = NULL;
volatile sig_atomic_t cli_signal;

static void on_signal(int sig)
{
	cli_signal = sig;
}

void catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;	/* no SA_RESTART: let waits return */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

int signal_status(void)
{
	return 128 + (cli_signal ? cli_signal : SIGINT);
}

int chan_option(struct chan_opts *co, int c, const char *arg)
{
	uint64_t n;

	switch (c) {
	case 0x100:
		co->wait = SHMQ_WAIT_SPIN;
		return 1;
	case 0x101:
		co->wait = SHMQ_WAIT_BLOCK;
		return 1;
	case 0x102:
		co->wait = SHMQ_WAIT_HYBRID;
		return 1;
	case 0x103:
		if (parse_duration(arg, &co->timeout_ns))
			usage_error("invalid timeout '%s' (such as 500ms, 2s, 1.5)", arg);
		return 1;
	case 0x104:
		if (parse_size(arg, &n) || n < SHMQ_MIN_CAPACITY || n > SHMQ_MAX_CAPACITY)
			usage_error("invalid capacity '%s' (4K to 1G)", arg);
		co->capacity = (size_t)n;
		return 1;
	case 0x105:
		co->persistent = 1;
		return 1;
	case 0x106:
		if (parse_uint(arg, UINT32_MAX - 1, &n) || co->ntrust == 16)
			usage_error("invalid --trust-uid '%s'", arg);
		co->trust[co->ntrust++] = (uid_t)n;
		return 1;
	case 0x107: {
		char *end;
		unsigned long m = strtoul(arg, &end, 8);

		if (!*arg || *end || m > 0777 || !(m & 0600))
			usage_error("invalid --mode '%s' (octal, such as 0660)", arg);
		co->mode = (unsigned)m;
		return 1;
	}
	case 0x108:
		co->connect = 1;
		return 1;
	}
	return 0;
}

void chan_options(const struct chan_opts *co, struct shmq_options *o,
		  char *err, size_t errsize)
{
	memset(o, 0, sizeof(*o));
	o->wait = co->wait;
	o->flags = SHMQ_INTERRUPTIBLE | (co->persistent ? SHMQ_PERSISTENT : 0);
	o->send_capacity = o->recv_capacity = co->capacity;
	if (co->timeout_ns >= 0)
		o->open_timeout_ms = co->timeout_ns / 1000000 ? co->timeout_ns / 1000000 : 1;
	o->errbuf = err;
	o->errbuf_size = errsize;
	o->stop = &cli_signal;
	o->mode = co->mode;
	o->trust_uids = co->trust;
	o->n_trust_uids = co->ntrust;
}

void open_failure(const char *addr, const struct chan_opts *co, int r,
		  const char *err)
{
	if (r == -ETIMEDOUT) {
		char t[32];

		snprintf(t, sizeof(t), "%.3g s", co->timeout_ns / 1e9);
		fail("%s: no peer arrived within %s", addr, t);
	} else if (r == -EACCES && err[0]) {
		fail("%s: refused: %s%s", addr, err, strstr(err, "uid is trusted") ?
		     " (--trust-uid)" : "");
	} else {
		fail("%s: %s", addr, err[0] ? err : shmq_strerror(r));
	}
}

shmq_t *open_channel(const char *addr, const struct chan_opts *co)
{
	struct shmq_options o;
	char err[512] = "";
	shmq_t *q;
	int r;

	chan_options(co, &o, err, sizeof(err));
	r = co->connect ? shmq_connect(addr, &o, &q) : shmq_open(addr, &o, &q);
	if (r == 0)
		return q;
	if (r != -EINTR)	/* else the caller exits with the signal's status */
		open_failure(addr, co, r, err);
	return NULL;
}

shmq_hub_t *open_hub(const char *addr, const struct chan_opts *co)
{
	struct shmq_options o;
	char err[512] = "";
	shmq_hub_t *h;
	int r;

	chan_options(co, &o, err, sizeof(err));
	o.flags &= ~SHMQ_PERSISTENT;	/* a hub lives as long as its server */
	r = shmq_hub_open(addr, &o, &h);
	if (r == 0)
		return h;
	if (r != -EINTR)
		open_failure(addr, co, r, err);
	return NULL;
}

int channel_failure(const char *addr, const char *verb, int err,
		    unsigned long long count)
{
	const char *what;

	switch (err) {
	case -EPIPE:
		what = "the peer closed the channel";
		break;
	case -ECONNRESET:
		what = "the peer died";
		break;
	case -ECONNABORTED:
		what = "the peer gave up (abandoned the channel)";
		break;
	case -ETIMEDOUT:
		what = "timed out";
		break;
	default:
		what = shmq_strerror(err);
	}
	return fail("%s: %s (after %llu message%s %s)", addr, what, count,
		    count == 1 ? "" : "s", verb);
}

static const struct cmd cmds[] = {
	{ "send", cmd_send, "[OPTIONS] ADDR [MSG...]",
	  "send the arguments, or stdin, as messages",
	  "Sends each MSG as a message; without any, reads stdin: one message per\n"
	  "line, or per NUL-terminated record with -0, or a byte-exact stream in\n"
	  "chunks with --raw.  Closes the channel at the end, so the receiver sees\n"
	  "the end of the stream.  Either side may start first.\n"
	  "Exit status: 0 when everything was sent; 1 if the peer closed, died or\n"
	  "gave up first; 128+N after signal N (the receiver is told).\n"
	  "\n"
	  "  -0, --null          stdin holds NUL-terminated records\n"
	  "  -r, --raw           stdin is a byte stream, sent in chunks\n"
	  CHAN_OPTS_HELP },
	{ "recv", cmd_recv, "[OPTIONS] ADDR",
	  "write received messages to stdout",
	  "Writes each message and a newline (a NUL with -0, nothing with --raw)\n"
	  "to stdout until the sender closes.  Every message committed before the\n"
	  "sender ended is written before recv reports how it ended.\n"
	  "Exit status: 0 at the end of the stream (or after COUNT messages); 1 if\n"
	  "the sender died or gave up, or on a timeout; 128+N after signal N.\n"
	  "\n"
	  "  -n, --count COUNT   stop after COUNT messages\n"
	  "  -0, --null          end each message with a NUL\n"
	  "  -r, --raw           write the bytes only (for send --raw)\n"
	  "  -H, --hub           serve a hub at ADDR and collect from any number of\n"
	  "                      senders, each on its own channel, whole messages\n"
	  "                      only, until Ctrl-C, COUNT or --timeout of silence\n"
	  CHAN_OPTS_HELP },
	{ "ping", cmd_ping, "[OPTIONS] ADDR",
	  "measure round trips to a pong",
	  "Sends a message, waits for the answer and checks it, like ping(8):\n"
	  "one line per round when there is an interval, and always a summary with\n"
	  "the minimum, median, 99th, 99.9th percentile and maximum round trip\n"
	  "time, and the rate.  Ctrl-C stops it (with the summary).\n"
	  "\n"
	  "  -c, --count N       N round trips (default: until interrupted)\n"
	  "  -s, --size N        message size in bytes (default 64)\n"
	  "  -i, --interval T    pause between rounds (default 1s; 0: flood)\n"
	  "  -t, --text          send \"ping\" and expect \"pong\"\n"
	  "      --show N        print the first N rounds as a conversation\n"
	  "  -q, --quiet         the summary only\n"
	  "  -C, --classic       the classic recipe's raw protocol (ADDR defaults to\n"
	  "                      ftok:/tmp/example:42; 100 rounds, then \"end\")\n"
	  CHAN_OPTS_HELP },
	{ "pong", cmd_pong, "[OPTIONS] ADDR",
	  "answer every message (\"ping\" with \"pong\")",
	  "Answers each message with itself, or \"ping\" with \"pong\", until\n"
	  "the pinger closes.  With --hub, serves any number of pingers at once,\n"
	  "each on a channel of its own, until Ctrl-C (or --timeout of silence).\n"
	  "\n"
	  "  -H, --hub           serve a hub at ADDR: every `shmq ping ADDR` (or\n"
	  "                      send, recv; --connect to start before the server)\n"
	  "                      gets its own channel\n"
	  "  -C, --classic       the classic recipe's raw protocol: answer \"ping\"\n"
	  "                      with \"pong\" in a 20-byte segment; on \"end\",\n"
	  "                      remove it and its ftok file (ADDR defaults to\n"
	  "                      ftok:/tmp/example:42)\n"
	  "  -v, --verbose       say how many were answered\n"
	  CHAN_OPTS_HELP },
	{ "demo", cmd_demo, "[--rounds N] [--count M]",
	  "the classic ping-pong, done right, explained step by step",
	  "Starts a pong process and a ping process on a fresh channel, runs the\n"
	  "classic example's 100 rounds, then a million 1 KiB round trips, then\n"
	  "shows that no segment is left.\n"
	  "\n"
	  "  -r, --rounds N      rounds of the classic exchange (default 100)\n"
	  "  -c, --count M       fast round trips (default 1000000)\n" },
	{ "bench", cmd_bench, "[OPTIONS]",
	  "measure shmq against kernel IPC, side by side",
	  "Measures every transport in the same run, on this machine: shmq in its\n"
	  "three wait modes, the naive shared-memory methods (spinflag, classic),\n"
	  "pipes, unix and TCP sockets, SysV and POSIX message queues, ZeroMQ when\n"
	  "built with it, and the floor (one cache line between two processes; for\n"
	  "streaming, one process's memcpy).  Each measurement forks two processes\n"
	  "pinned to two CPUs, warms up, repeats and reports the median; every\n"
	  "message is verified.  The default suite takes well under a minute.\n"
	  "\n"
	  "  -s, --size LIST        message sizes, 8 B to 1 MiB (default 1K)\n"
	  "  -m, --mode LIST        pingpong, stream, wake, idle or all\n"
	  "                         (default pingpong,stream)\n"
	  "  -t, --transports LIST  which transports (--list names them)\n"
	  "  -S, --seconds T        length of a repetition (default 0.15)\n"
	  "  -c, --count N          messages per repetition instead\n"
	  "  -r, --reps N           repetitions (default 5)\n"
	  "  -p, --pin A,B          CPUs for the two processes (default 0,1)\n"
	  "      --no-pin           let the scheduler place them\n"
	  "  -I, --idle-seconds T   how long the idle receiver waits (default 1)\n"
	  "  -j, --json             results as JSON\n"
	  "  -C, --csv              results as CSV\n"
	  "  -M, --markdown         results as Markdown tables\n"
	  "  -O, --save PREFIX      also write PREFIX.json, .csv and .md\n"
	  "      --capacity N       shmq's ring size (default: the library's, 1M)\n"
	  "  -l, --list             list the transports\n" },
	{ "ls", cmd_ls, "[--json]",
	  "list every shared memory segment on the host",
	  "Lists every System V shared memory segment, as ipcs -m does, with the\n"
	  "creator's pid and whether it is alive, a plain-words status, and for\n"
	  "shmq segments their kind and name.\n"
	  "\n"
	  "  --json    one JSON object per segment, in an array\n" },
	{ "stat", cmd_stat, "ADDR [--json]",
	  "show one segment in full",
	  "Shows every field the kernel keeps for the segment at ADDR.\n"
	  "\n"
	  "  --json    the same as a JSON object\n" },
	{ "rm", cmd_rm, "[--force] ADDR...",
	  "remove segments",
	  "Marks each segment for removal; the kernel frees it at the last\n"
	  "detach.  A segment with live attachments is refused unless --force.\n"
	  "Keeps going past a failure; exits 1 if any failed.\n"
	  "\n"
	  "  -f, --force    remove even if processes are attached\n" },
	{ "create", cmd_create, "ADDR --size N [--mode 0640] [--excl]",
	  "create a plain segment (for the classic ftok recipe)",
	  "Creates a plain segment of N bytes (suffixes K, M, G: powers of 1024).\n"
	  "An existing segment is reported and left alone unless --excl.\n"
	  "\n"
	  "  -s, --size N     size in bytes (required)\n"
	  "  -m, --mode MODE  permission bits in octal (default 0600)\n"
	  "  -x, --excl       fail if the segment exists\n" },
	{ "clean", cmd_clean, "[--dry-run]",
	  "remove shmq segments left by processes that died",
	  "Removes shmq segments nobody can use any more: a channel whose creator\n"
	  "died before anyone joined, or before it finished setting up.  Other\n"
	  "segments, and persistent channels, are never touched.\n"
	  "\n"
	  "  -n, --dry-run    say what would be removed, remove nothing\n" },
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
		if (!strcmp(cmds[i].name, name))
			return &cmds[i];
	return NULL;
}

int fail(const char *fmt, ...)
{
	va_list ap;

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
	fprintf(stderr, "\nTry 'shmq %s%s--help'.\n", cli_cmd ? cli_cmd : "",
		cli_cmd ? " " : "");
	exit(EXIT_USAGE);
}

void print_help(const struct cmd *c)
{
	printf("Usage: shmq %s %s\n%s\n\n%s\n%s", c->name, c->synopsis,
	       c->summary, c->help, addr_help);
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
		fprintf(f, "  %-8s %s\n", cmds[i].name, cmds[i].summary);
	fprintf(f, "\n%s\n'shmq COMMAND --help' tells more; 'shmq --version' the version.\n",
		addr_help);
}

int parse_addr_or_fail(const char *text, struct shmq_addr *a)
{
	int r = shmq_addr_parse(text, a);

	if (r == -EINVAL)
		return fail("invalid address '%s': %s (expected %s)", text,
			    a->why, shmq_addr_forms()), -EINVAL;
	if (r)
		return fail("%s: %s", text, strerror(-r)), r;
	return 0;
}

int resolve_shmid(const char *text, int *shmid)
{
	struct shmq_addr a;
	int r = parse_addr_or_fail(text, &a);

	if (r)
		return r;
	r = shmq_seg_open(&a, shmid);
	if (r == -ENOENT)
		fail("%s: no such segment", text);
	else if (r)
		fail("%s: %s", text, shmq_strerror(r));
	return r;
}

const char *human_size(uint64_t n, char *buf, size_t size)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)n;
	int u = 0;

	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, size, "%llu B", (unsigned long long)n);
	else if (v == floor(v))
		snprintf(buf, size, "%.0f %s", v, unit[u]);
	else
		snprintf(buf, size, "%.1f %s", v, unit[u]);
	return buf;
}

int parse_size(const char *s, uint64_t *out)
{
	char *end;
	double v;

	if (!s || !*s || *s == '-')
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || v < 0)
		return -1;
	switch (*end) {
	case 'k': case 'K': v *= 1024; end++; break;
	case 'm': case 'M': v *= 1024.0 * 1024; end++; break;
	case 'g': case 'G': v *= 1024.0 * 1024 * 1024; end++; break;
	default: break;
	}
	if (*end == 'i' && end[1] == 'B')
		end += 2;
	else if (*end == 'B')
		end++;
	if (*end || v > 1e18 || v != floor(v))
		return -1;
	*out = (uint64_t)v;
	return 0;
}

int parse_duration(const char *s, int64_t *ns)
{
	char *end;
	double v, mult = 1e9;

	if (!s || !*s || *s == '-')
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || v < 0)
		return -1;
	if (!strcmp(end, "ns"))
		mult = 1;
	else if (!strcmp(end, "us"))
		mult = 1e3;
	else if (!strcmp(end, "ms"))
		mult = 1e6;
	else if (!strcmp(end, "s") || !*end)
		mult = 1e9;
	else if (!strcmp(end, "m") || !strcmp(end, "min"))
		mult = 60e9;
	else
		return -1;
	if (v * mult > 9e18)
		return -1;
	*ns = (int64_t)(v * mult);
	return 0;
}

int parse_uint(const char *s, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!s || !*s || *s == '-')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return -1;
	*out = v;
	return 0;
}

const char *user_name(unsigned uid, char *buf, size_t size)
{
	struct passwd *pw = getpwuid(uid);

	if (pw)
		snprintf(buf, size, "%s", pw->pw_name);
	else
		snprintf(buf, size, "%u", uid);
	return buf;
}

const char *group_name(unsigned gid, char *buf, size_t size)
{
	struct group *gr = getgrgid(gid);

	if (gr)
		snprintf(buf, size, "%s", gr->gr_name);
	else
		snprintf(buf, size, "%u", gid);
	return buf;
}

const char *iso_time(int64_t t, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t == 0) {
		snprintf(buf, size, "never");
		return buf;
	}
	localtime_r(&tt, &tm);
	strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm);
	return buf;
}

/* JSON */

static void json_escape(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void json_key(struct json *j, const char *key)
{
	if (!j->first[j->depth])
		fputc(',', j->f);
	j->first[j->depth] = 0;
	if (key) {
		json_escape(j->f, key);
		fputc(':', j->f);
	}
}

void json_start(struct json *j, FILE *f)
{
	memset(j, 0, sizeof(*j));
	j->f = f;
	j->first[0] = 1;
}

void json_open(struct json *j, const char *key, char bracket)
{
	json_key(j, key);
	fputc(bracket, j->f);
	j->first[++j->depth] = 1;
}

void json_close(struct json *j, char bracket)
{
	fputc(bracket, j->f);
	j->depth--;
}

void json_str(struct json *j, const char *key, const char *v)
{
	json_key(j, key);
	json_escape(j->f, v);
}

void json_int(struct json *j, const char *key, long long v)
{
	json_key(j, key);
	fprintf(j->f, "%lld", v);
}

void json_uint(struct json *j, const char *key, unsigned long long v)
{
	json_key(j, key);
	fprintf(j->f, "%llu", v);
}

void json_num(struct json *j, const char *key, double v)
{
	json_key(j, key);
	if (isfinite(v))
		fprintf(j->f, "%.6g", v);
	else
		fputs("null", j->f);
}

void json_bool(struct json *j, const char *key, int v)
{
	json_key(j, key);
	fputs(v ? "true" : "false", j->f);
}

void json_null(struct json *j, const char *key)
{
	json_key(j, key);
	fputs("null", j->f);
}

void json_end(struct json *j)
{
	fputc('\n', j->f);
	fflush(j->f);
}

/* Tables */

void table_init(struct table *t, int ncols, const char *const *head,
		const char *align)
{
	memset(t, 0, sizeof(*t));
	t->ncols = ncols;
	t->head = head;
	t->align = align;
}

void table_row(struct table *t, ...)
{
	va_list ap;
	int i;

	if (t->nrows == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		char **p = realloc(t->cell, cap * (size_t)t->ncols * sizeof(*p));

		if (!p)
			return;
		t->cell = p;
		t->cap = cap;
	}
	va_start(ap, t);
	for (i = 0; i < t->ncols; i++) {
		const char *s = va_arg(ap, const char *);

		t->cell[t->nrows * (size_t)t->ncols + (size_t)i] = strdup(s ? s : "");
	}
	va_end(ap);
	t->nrows++;
}

void table_print(const struct table *t, FILE *f)
{
	size_t w[32] = { 0 }, r;
	int i;

	for (i = 0; i < t->ncols && i < 32; i++) {
		w[i] = strlen(t->head[i]);
		for (r = 0; r < t->nrows; r++) {
			const char *s = t->cell[r * (size_t)t->ncols + (size_t)i];

			if (s && strlen(s) > w[i])
				w[i] = strlen(s);
		}
	}
	for (r = 0; r <= t->nrows; r++) {
		for (i = 0; i < t->ncols && i < 32; i++) {
			const char *s = r == 0 ? t->head[i] :
				t->cell[(r - 1) * (size_t)t->ncols + (size_t)i];
			int last = i == t->ncols - 1;

			if (!s)
				s = "";
			if (t->align && t->align[i] == 'r')
				fprintf(f, "%*s%s", (int)w[i], s, last ? "" : "  ");
			else if (last)
				fprintf(f, "%s", s);
			else
				fprintf(f, "%-*s  ", (int)w[i], s);
		}
		fputc('\n', f);
	}
}

void table_free(struct table *t)
{
	size_t i;

	for (i = 0; i < t->nrows * (size_t)t->ncols; i++)
		free(t->cell[i]);
	free(t->cell);
	t->cell = NULL;
	t->nrows = t->cap = 0;
}

int main(int argc, char **argv)
{
	const struct cmd *c;
	int i;

	if (argc < 2) {
		fprintf(stderr, "Usage: shmq COMMAND [ARGS]\nTry 'shmq --help'.\n");
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
		fprintf(stderr, "shmq: unknown command '%s'\nTry 'shmq --help'.\n",
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
	return c->run(argc - 1, argv + 1);
}
