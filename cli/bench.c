/* SPDX-License-Identifier: MIT */
/*
 * shmq bench: shmq against kernel IPC (and the naive shared-memory
 * methods, and the physical floor) in one run, on this machine.  Parsing,
 * planning and running are here; the report is in bench_report.c.  Which
 * transport runs in which row of the default suite is each transport's
 * own fact (its suites), so nothing here names one.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_cli.h"
#include "../bench/fanout.h"
#include "../bench/bridge_bench.h"
#include "../bench/hub.h"

#define MAX_JOBS 512

struct plan {
	const struct transport *t;
	struct bench_job job;
};

/* What the command line asked for. */
struct bench_args {
	struct bench_job base;
	char *sizes, *modes, *transports, *save, *subscribers;
	int fan_wait;		/* -m fanout: --wait */
	char *idle;		/* -m hub: --idle */
	int json, csv, md, custom;
	int reps_given;		/* -r: else fanout and hub take three */
};

static int parse_list(char *s, char **items, int max)
{
	int n = 0;
	char *save = NULL, *tok;

	for (tok = strtok_r(s, ",", &save); tok && n < max; tok = strtok_r(NULL, ",", &save))
		items[n++] = tok;
	return n;
}

/* --list: what this build runs on stdout, what it cannot on stderr. */
static int list_transports(void)
{
	size_t i;

	for (i = 0; i < bench_count(); i++) {
		const struct transport *t = bench_transport(i);

		if (!bench_available(t)) {
			fprintf(stderr, "(%s is not in this build: its library's headers "
				"were missing at make time)\n", t->name);
			continue;
		}
		printf("%-12s %-8s %s\n", t->name, bench_family_name(t->family), t->about);
	}
	return 0;
}

static void parse_job_option(struct bench_job *b, int c, const char *arg)
{
	uint64_t v;
	int64_t ns;

	switch (c) {
	case 'S':
		if (parse_duration(arg, &ns) || ns < 1000000)
			usage_error("invalid --seconds '%s'", arg);
		b->seconds = ns / 1e9;
		break;
	case 'c':
		if (parse_uint(arg, 1000000000000ull, &v) || v < 1)
			usage_error("invalid --count '%s'", arg);
		b->count = v;
		b->wake_samples = v < 100 ? (int)v : 100;
		break;
	case 'r':
		if (parse_uint(arg, 31, &v) || v < 1)
			usage_error("invalid --reps '%s' (1 to 31)", arg);
		b->reps = (int)v;
		break;
	case 'p':
		if (sscanf(arg, "%d,%d", &b->pin[0], &b->pin[1]) != 2 ||
		    b->pin[0] < 0 || b->pin[1] < 0)
			usage_error("invalid --pin '%s' (two CPUs, such as 0,1)", arg);
		break;
	case 'P':
		b->pin[0] = b->pin[1] = -1;
		break;
	case 'I':
		if (parse_duration(arg, &ns) || ns < 1000000)
			usage_error("invalid --idle-seconds '%s'", arg);
		b->idle_seconds = ns / 1e9;
		break;
	case 'K':
		if (parse_size(arg, &v) || v < SHMQ_MIN_CAPACITY || v > SHMQ_MAX_CAPACITY)
			usage_error("invalid --capacity '%s' (4K to 1G)", arg);
		b->capacity = (size_t)v;
		break;
	}
}

#define BENCH_SHORTOPTS "s:m:t:S:c:r:p:PI:jCMlK:O:k:w:n:"

/* The command line into @a; exits for --list, --help and usage errors. */
static void parse_args(int argc, char **argv, struct bench_args *a)
{
	static const struct option opts[] = {
		{ "size", required_argument, NULL, 's' },
		{ "mode", required_argument, NULL, 'm' },
		{ "transports", required_argument, NULL, 't' },
		{ "seconds", required_argument, NULL, 'S' },
		{ "count", required_argument, NULL, 'c' },
		{ "reps", required_argument, NULL, 'r' },
		{ "pin", required_argument, NULL, 'p' },
		{ "no-pin", no_argument, NULL, 'P' },
		{ "idle-seconds", required_argument, NULL, 'I' },
		{ "json", no_argument, NULL, 'j' },
		{ "csv", no_argument, NULL, 'C' },
		{ "markdown", no_argument, NULL, 'M' },
		{ "list", no_argument, NULL, 'l' },
		{ "capacity", required_argument, NULL, 'K' },
		{ "save", required_argument, NULL, 'O' },
		{ "subscribers", required_argument, NULL, 'k' },
		{ "wait", required_argument, NULL, 'w' },
		{ "idle", required_argument, NULL, 'n' },
		{ 0 }
	};
	int c;

	memset(a, 0, sizeof(*a));
	a->base.seconds = 0.15;
	a->base.reps = 5;
	a->base.idle_seconds = 1.0;
	a->base.wake_samples = 100;
	a->base.pin[1] = 1;
	while ((c = getopt_long(argc, argv, BENCH_SHORTOPTS, opts, NULL)) != -1) {
		switch (c) {
		case 's':
			a->sizes = optarg;
			a->custom = 1;
			break;
		case 'm':
			a->modes = optarg;
			a->custom = 1;
			break;
		case 't':
			a->transports = optarg;
			a->custom = 1;
			break;
		case 'j':
			a->json = 1;
			break;
		case 'C':
			a->csv = 1;
			break;
		case 'M':
			a->md = 1;
			break;
		case 'O':
			a->save = optarg;
			break;
		case 'k':
			a->subscribers = optarg;
			break;
		case 'n':
			a->idle = optarg;
			break;
		case 'w':
			if (strcmp(optarg, "hybrid") && strcmp(optarg, "block"))
				usage_error("invalid --wait '%s' (hybrid or block)", optarg);
			a->fan_wait = !strcmp(optarg, "block") ? SHMQ_WAIT_BLOCK : SHMQ_WAIT_HYBRID;
			break;
		case 'l':
			exit(list_transports());
		case 'S': case 'c': case 'r': case 'p': case 'P': case 'I': case 'K':
			a->reps_given |= c == 'r';
			parse_job_option(&a->base, c, optarg);
			break;
		default:
			bad_option(BENCH_SHORTOPTS, argv);
		}
	}
	if (optind != argc)
		usage_error("takes no arguments");
	if (a->json + a->csv + a->md > 1)
		usage_error("--json, --csv and --markdown are exclusive");
}

static void add(struct plan *plans, size_t *n, const struct transport *t,
		const struct bench_job *base, int mode, size_t size)
{
	if (*n >= MAX_JOBS)
		return;
	plans[*n].t = t;
	plans[*n].job = *base;
	plans[*n].job.mode = mode;
	plans[*n].job.size = size;
	(*n)++;
}

/* The default suite: each transport's rows, as its suites say. */
static size_t plan_suite(struct plan *plans, const struct bench_job *base)
{
	static const struct { unsigned suite; int mode; size_t size; } rows[] = {
		{ SUITE_PINGPONG_1K, MODE_PINGPONG, 1024 },
		{ SUITE_STREAM_1K, MODE_STREAM, 1024 },
		{ SUITE_PINGPONG_8, MODE_PINGPONG, 8 },
		{ SUITE_WAKE, MODE_WAKE, 64 },
		{ SUITE_IDLE, MODE_IDLE, 64 },
	};
	size_t n = 0, r, i;

	for (r = 0; r < sizeof(rows) / sizeof(rows[0]); r++)
		for (i = 0; i < bench_count(); i++)
			if (bench_transport(i)->suites & rows[r].suite)
				add(plans, &n, bench_transport(i), base, rows[r].mode, rows[r].size);
	return n;
}

static int parse_mode(const char *s, int *modes, int nmodes)
{
	static const struct { const char *name; int mode; } names[] = {
		{ "pingpong", MODE_PINGPONG }, { "ping-pong", MODE_PINGPONG },
		{ "stream", MODE_STREAM }, { "wake", MODE_WAKE }, { "idle", MODE_IDLE },
	};
	size_t i;
	int k;

	if (!strcmp(s, "all")) {
		for (k = 0; k < MODE_COUNT; k++)
			modes[k] = k;
		return MODE_COUNT;
	}
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(s, names[i].name)) {
			if (nmodes < MODE_COUNT)
				modes[nmodes++] = names[i].mode;
			return nmodes;
		}
	usage_error("invalid mode '%s' (pingpong, stream, wake, idle, all)", s);
}

/* --size, --mode, --transports: every combination asked for. */
static size_t plan_custom(struct plan *plans, struct bench_args *a)
{
	char *sl[32], *ml[8], *tl[32], dflt_s[] = "1K", dflt_m[] = "pingpong,stream";
	int ns = parse_list(a->sizes ? a->sizes : dflt_s, sl, 32);
	int nm = parse_list(a->modes ? a->modes : dflt_m, ml, 8);
	int nt = a->transports ? parse_list(a->transports, tl, 32) : 0;
	int modes[MODE_COUNT], nmodes = 0, m, z, k;
	size_t sizes[32], n = 0, i;
	uint64_t v;

	for (z = 0; z < ns; z++) {
		if (parse_size(sl[z], &v) || v < 8 || v > (1u << 20))
			usage_error("invalid size '%s' (8 B to 1 MiB)", sl[z]);
		sizes[z] = (size_t)v;
	}
	for (m = 0; m < nm; m++)
		nmodes = parse_mode(ml[m], modes, nmodes);
	for (k = 0; k < nt; k++)
		if (!bench_find(tl[k]))
			usage_error("unknown transport '%s' (shmq bench --list names them)", tl[k]);
	for (m = 0; m < nmodes; m++)
		for (z = 0; z < ns; z++)
			for (i = 0; i < bench_count(); i++) {
				const struct transport *t = bench_transport(i);
				int want = !nt;

				for (k = 0; k < nt; k++)
					want |= !strcmp(tl[k], t->name);
				/* Nothing sleeps in the floor to wake, or to idle. */
				if (!want || ((modes[m] == MODE_WAKE || modes[m] == MODE_IDLE) &&
					      t->family == FAMILY_FLOOR))
					continue;
				add(plans, &n, t, &a->base, modes[m], sizes[z]);
			}
	return n;
}

/* Every measurement, one after another, with progress on stderr. */
static void run_plans(const struct plan *plans, struct bench_result *res, size_t n)
{
	int tty = isatty(2);
	double t0 = now_ns() / 1e9;
	size_t i;

	for (i = 0; i < n; i++) {
		char sz[32];

		fprintf(stderr, tty ? "\r\033[K[%zu/%zu] %s, %s, %s" : "[%zu/%zu] %s, %s, %s\n",
			i + 1, n, bench_mode_name(plans[i].job.mode),
			size_words(plans[i].job.size, sz, sizeof(sz)), plans[i].t->name);
		bench_run(plans[i].t, &plans[i].job, &res[i]);
	}
	if (tty)
		fprintf(stderr, "\r\033[K");
	fprintf(stderr, "shmq bench: %zu measurements in %.1f s\n", n, now_ns() / 1e9 - t0);
}

/* The machine a fanout or hub table was measured on, first. */
static void print_machine(void)
{
	struct machine m;

	describe_machine(&m);
	printf("machine: %s, %ld CPUs, Linux %s, host %s, %s\n\n", m.cpu, m.cpus,
	       m.kernel, m.host, m.date);
	fflush(stdout);
}

/*
 * -m fanout: its own measurement (bench/fanout.c), one publisher and K
 * subscribers, which the pairwise runner cannot express.
 */
static int run_fanout(struct bench_args *a)
{
	char *sl[32], *kl[16], dflt_s[] = "64,1K", dflt_k[] = "1,2,4,8,64";
	int ns = parse_list(a->sizes ? a->sizes : dflt_s, sl, 32);
	int nk = parse_list(a->subscribers ? a->subscribers : dflt_k, kl, 16), ks[16], i;
	size_t sizes[32];
	uint64_t v;

	if (a->transports || a->json || a->csv || a->md || a->save)
		usage_error("-m fanout measures its own four ways and prints a table: "
			    "no --transports, --json, --csv, --markdown or --save");
	for (i = 0; i < ns; i++) {
		if (parse_size(sl[i], &v) || v < 16 || v > (1u << 16))
			usage_error("invalid fanout size '%s' (16 B to 64 KiB)", sl[i]);
		sizes[i] = (size_t)v;
	}
	for (i = 0; i < nk; i++) {
		if (parse_uint(kl[i], 256, &v) || !v)
			usage_error("invalid --subscribers '%s' (1 to 256)", kl[i]);
		ks[i] = (int)v;
	}
	print_machine();
	return bench_fanout(sizes, ns, ks, nk, a->reps_given ? a->base.reps : 3,
			    a->base.count, a->fan_wait);
}

/*
 * -m hub: one active client among N idle ones (bench/hub.c), its own
 * measurement too.
 */
static int run_hub(struct bench_args *a)
{
	char *nl[16], dflt_n[] = "0,10,100,1000";
	int nn = parse_list(a->idle ? a->idle : dflt_n, nl, 16), ns[16], i;
	uint64_t v, size = 64;

	if (a->transports || a->json || a->csv || a->md || a->save || a->subscribers ||
	    a->fan_wait)
		usage_error("-m hub measures one thing and prints a table: no --transports, "
			    "--json, --csv, --markdown, --save, --subscribers or --wait");
	if (a->sizes && (parse_size(a->sizes, &v) || v < 8 || v > 32768))
		usage_error("invalid hub size '%s' (one size, 8 B to 32 KiB)", a->sizes);
	if (a->sizes)
		size = v;
	for (i = 0; i < nn; i++) {
		if (parse_uint(nl[i], 4096, &v))
			usage_error("invalid --idle '%s' (0 to 4096)", nl[i]);
		ns[i] = (int)v;
	}
	print_machine();
	return bench_hub((size_t)size, ns, nn, a->reps_given ? a->base.reps : 3,
			 a->base.count);
}

/*
 * -m bridge: a topic over two shmq bridges and loopback TCP, against
 * ZeroMQ's PUB/SUB alone (bench/bridge_bench.c).
 */
static int run_bridge_bench(struct bench_args *a)
{
	char *sl[8], dflt_s[] = "64,1K";
	int ns = parse_list(a->sizes ? a->sizes : dflt_s, sl, 8), i;
	size_t sizes[8];
	uint64_t v;

	if (a->transports || a->json || a->csv || a->md || a->save || a->subscribers ||
	    a->fan_wait || a->idle)
		usage_error("-m bridge measures two paths and prints a table: no --transports, "
			    "--json, --csv, --markdown, --save, --subscribers, --wait or --idle");
	for (i = 0; i < ns; i++) {
		if (parse_size(sl[i], &v) || v < 24 || v > (1u << 20) - 32)
			usage_error("invalid bridge size '%s' (24 B to 1 MiB less 32)", sl[i]);
		sizes[i] = (size_t)v;
	}
	print_machine();
	return bench_bridge(sizes, ns, a->reps_given ? a->base.reps : 3, a->base.count);
}

static int run_bench(int argc, char **argv)
{
	struct bench_args a;
	struct plan *plans;
	struct bench_result *res;
	struct machine m;
	size_t n, i;
	int failed = 0;

	parse_args(argc, argv, &a);
	if (a.modes && !strcmp(a.modes, "fanout"))
		return run_fanout(&a);
	if (a.modes && !strcmp(a.modes, "hub"))
		return run_hub(&a);
	if (a.modes && !strcmp(a.modes, "bridge"))
		return run_bridge_bench(&a);
	if (a.subscribers || a.fan_wait)
		usage_error("--subscribers and --wait are for -m fanout");
	if (a.idle)
		usage_error("--idle is for -m hub");
	plans = calloc(MAX_JOBS, sizeof(*plans));
	res = calloc(MAX_JOBS, sizeof(*res));
	if (!plans || !res) {
		free(plans);
		free(res);
		return fail("out of memory");
	}
	describe_machine(&m);
	if (m.cpus < 2 && a.base.pin[0] >= 0)
		a.base.pin[0] = a.base.pin[1] = -1;	/* one CPU: nothing to pin apart */
	n = a.custom ? plan_custom(plans, &a) : plan_suite(plans, &a.base);
	run_plans(plans, res, n);
	bench_ratios(res, n);
	if (a.json)
		print_json(res, n, &m, &a.base);
	else if (a.csv)
		print_csv(res, n);
	else
		print_report(res, n, &m, &a.base, a.md);
	if (a.save)
		failed |= save_results(a.save, res, n, &m, &a.base);
	for (i = 0; i < n; i++)
		failed |= res[i].status < 0;
	free(plans);
	free(res);
	return failed;
}

const struct cmd bench_command = {
	.name = "bench",
	.run = run_bench,
	.synopsis = "[OPTIONS]",
	.summary = "measure shmq against kernel IPC, side by side",
	.help =
	"Measures every transport in the same run, on this machine: shmq in its\n"
	"three wait modes, the naive shared-memory methods (spinflag, classic),\n"
	"pipes, unix and TCP sockets, SysV and POSIX message queues, ZeroMQ when\n"
	"built with it, and the floor (one cache line between two processes; for\n"
	"streaming, a bare fixed-slot ring between two processes, with the same\n"
	"stamp and check).  Each measurement forks two processes\n"
	"pinned to two CPUs, warms up, repeats and reports the median; every\n"
	"message is verified.  The default suite takes well under a minute.\n"
	"\n"
	"  -s, --size LIST        message sizes, 8 B to 1 MiB (default 1K)\n"
	"  -m, --mode LIST        pingpong, stream, wake, idle or all\n"
	"                         (default pingpong,stream); or fanout alone: one\n"
	"                         publisher, K subscriber processes, by a topic\n"
	"                         (lossless, lossy), K channels and K pipes; or hub\n"
	"                         alone: a hub's idle clients against its active one;\n"
	"                         or bridge alone: a topic over two shmq bridges\n"
	"                         and loopback TCP, against ZeroMQ PUB/SUB alone\n"
	"  -k, --subscribers LIST for fanout: K (default 1,2,4,8,64)\n"
	"  -n, --idle LIST        for -m hub (one client ping-pongs, N more are\n"
	"                         connected and idle): N (default 0,10,100,1000)\n"
	"  -w, --wait MODE        for fanout: how every end waits, hybrid (the\n"
	"                         default) or block\n"
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
	"  -l, --list             list the transports\n",
};
