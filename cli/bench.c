/* SPDX-License-Identifier: MIT */
/*
 * shmq bench: shmq against kernel IPC (and the naive shared-memory
 * methods, and the physical floor) in one run, on this machine.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "../bench/bench.h"
#include "cli.h"

#define MAX_JOBS 512

struct plan {
	const struct transport *t;
	struct bench_job job;
};

struct machine {
	char cpu[128], host[64], kernel[128], date[32];
	long cpus;
};

static void describe_machine(struct machine *m)
{
	struct utsname u;
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[256];
	time_t now = time(NULL);
	struct tm tm;

	snprintf(m->cpu, sizeof(m->cpu), "unknown CPU");
	while (f && fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');

		if (!strncmp(line, "model name", 10) && colon) {
			snprintf(m->cpu, sizeof(m->cpu), "%s", colon + 2);
			m->cpu[strcspn(m->cpu, "\n")] = '\0';
			break;
		}
	}
	if (f)
		fclose(f);
	uname(&u);
	snprintf(m->kernel, sizeof(m->kernel), "%s", u.release);
	if (gethostname(m->host, sizeof(m->host)))
		snprintf(m->host, sizeof(m->host), "unknown");
	m->host[sizeof(m->host) - 1] = '\0';
	localtime_r(&now, &tm);
	strftime(m->date, sizeof(m->date), "%Y-%m-%d %H:%M", &tm);
	m->cpus = sysconf(_SC_NPROCESSORS_ONLN);
}

static int is_kernel(const struct bench_result *r)
{
	return !strcmp(r->t->kind, "kernel");
}

/* Ratios against the best kernel transport and the floor, per table. */
static void ratios(struct bench_result *res, size_t n)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		double kernel = 0, floor_v = 0;

		if (res[i].status)
			continue;
		for (j = 0; j < n; j++) {
			if (res[j].status || res[j].mode != res[i].mode || res[j].size != res[i].size)
				continue;
			if (is_kernel(&res[j]) && res[j].rate > kernel)
				kernel = res[j].rate;
			if (!strcmp(res[j].t->kind, "floor"))
				floor_v = res[i].mode == MODE_PINGPONG ? res[j].p50 : res[j].rate;
		}
		/* The floor's line ping-pong is the same whatever the size. */
		if (!floor_v && res[i].mode == MODE_PINGPONG)
			for (j = 0; j < n; j++)
				if (!res[j].status && res[j].mode == MODE_PINGPONG &&
				    !strcmp(res[j].t->kind, "floor"))
					floor_v = res[j].p50;
		res[i].vs_kernel = kernel > 0 ? res[i].rate / kernel : 0;
		if (res[i].mode == MODE_PINGPONG)
			res[i].vs_floor = floor_v > 0 ? res[i].p50 / floor_v : 0;
		else
			res[i].vs_floor = floor_v > 0 ? res[i].rate / floor_v : 0;
	}
}

static const char *si(double v, char *buf, size_t size)
{
	if (v >= 1e9)
		snprintf(buf, size, "%.2fG", v / 1e9);
	else if (v >= 1e6)
		snprintf(buf, size, "%.2fM", v / 1e6);
	else if (v >= 1e3)
		snprintf(buf, size, "%.1fk", v / 1e3);
	else
		snprintf(buf, size, "%.0f", v);
	return buf;
}

static const char *us(double ns, char *buf, size_t size)
{
	if (ns >= 1e6)
		snprintf(buf, size, "%.0f", ns / 1e3);
	else if (ns >= 1e4)
		snprintf(buf, size, "%.1f", ns / 1e3);
	else
		snprintf(buf, size, "%.2f", ns / 1e3);
	return buf;
}

static const char *ratio(double v, char *buf, size_t size)
{
	if (v <= 0)
		snprintf(buf, size, "-");
	else if (v >= 100)
		snprintf(buf, size, "%.0fx", v);
	else if (v >= 10)
		snprintf(buf, size, "%.1fx", v);
	else
		snprintf(buf, size, "%.2fx", v);
	return buf;
}

static const char *size_words(size_t s, char *buf, size_t size)
{
	if (s >= 1024 * 1024 && s % (1024 * 1024) == 0)
		snprintf(buf, size, "%zu MiB", s >> 20);
	else if (s >= 1024 && s % 1024 == 0)
		snprintf(buf, size, "%zu KiB", s >> 10);
	else
		snprintf(buf, size, "%zu B", s);
	return buf;
}

/* Text or Markdown tables, one per mode and size. */
static void print_tables(const struct bench_result *res, size_t n, int md)
{
	static const char *const pp_head[] = { "transport", "round trips/s", "p50 us",
		"p99 us", "p99.9 us", "max us", "CPU us/rt", "vs kernel", "vs floor" };
	static const char *const st_head[] = { "transport", "messages/s", "MB/s",
		"CPU us/msg", "vs kernel", "of bound" };
	static const char *const wk_head[] = { "transport", "p50 us", "p99 us", "max us",
		"samples" };
	static const char *const id_head[] = { "transport", "CPU while idle" };
	int mode;
	size_t i, k, sizes[64], nsizes = 0;

	for (i = 0; i < n; i++) {
		for (k = 0; k < nsizes && sizes[k] != res[i].size; k++)
			;
		if (k == nsizes && nsizes < 64)
			sizes[nsizes++] = res[i].size;
	}
	for (mode = 0; mode < MODE_COUNT; mode++) {
		for (k = 0; k < nsizes; k++) {
			struct table t;
			char sz[32], title[128];
			int rows = 0, cols;
			const char *const *head;

			for (i = 0; i < n; i++)
				rows += res[i].mode == mode && res[i].size == sizes[k];
			if (!rows)
				continue;
			switch (mode) {
			case MODE_PINGPONG:
				head = pp_head;
				cols = 9;
				snprintf(title, sizeof(title), "Ping-pong, %s messages "
					 "(vs kernel: round trips/s over the best kernel "
					 "transport's; vs floor: p50 over the floor's)",
					 size_words(sizes[k], sz, sizeof(sz)));
				break;
			case MODE_STREAM:
				head = st_head;
				cols = 6;
				snprintf(title, sizeof(title), "Streaming, %s messages one way "
					 "(of bound: share of one process's memcpy rate)",
					 size_words(sizes[k], sz, sizeof(sz)));
				break;
			case MODE_WAKE:
				head = wk_head;
				cols = 5;
				snprintf(title, sizeof(title), "Wake-up: send to the return of a "
					 "receiver that was asleep, %s", size_words(sizes[k], sz, sizeof(sz)));
				break;
			default:
				head = id_head;
				cols = 2;
				snprintf(title, sizeof(title), "Idle: CPU used by a receiver "
					 "blocked with nothing to receive");
				break;
			}
			printf(md ? "\n**%s**\n\n" : "\n%s\n", title);
			table_init(&t, cols, head, "lrrrrrrrr");
			for (i = 0; i < n; i++) {
				const struct bench_result *r = &res[i];
				char c[9][32];

				if (r->mode != mode || r->size != sizes[k])
					continue;
				if (r->status) {
					char note[220];

					snprintf(note, sizeof(note), "%s: %s",
						 r->status > 0 ? "skipped" : "FAILED", r->note);
					table_row(&t, r->t->name, note, "", "", "", "", "", "", "");
					continue;
				}
				switch (mode) {
				case MODE_PINGPONG:
					table_row(&t, r->t->name, si(r->rate, c[0], 32),
						  us(r->p50, c[1], 32), us(r->p99, c[2], 32),
						  us(r->p999, c[3], 32), us(r->max, c[4], 32),
						  us(r->cpu_us * 1e3, c[5], 32),
						  ratio(r->vs_kernel, c[6], 32), ratio(r->vs_floor, c[7], 32));
					break;
				case MODE_STREAM:
					snprintf(c[1], 32, "%.0f", r->mbps);
					table_row(&t, r->t->name, si(r->rate, c[0], 32), c[1],
						  us(r->cpu_us * 1e3, c[2], 32),
						  ratio(r->vs_kernel, c[3], 32),
						  r->vs_floor > 0 ? (snprintf(c[4], 32, "%.0f%%",
						  r->vs_floor * 100), c[4]) : "-");
					break;
				case MODE_WAKE:
					snprintf(c[3], 32, "%llu", (unsigned long long)r->messages);
					table_row(&t, r->t->name, us(r->p50, c[0], 32),
						  us(r->p99, c[1], 32), us(r->max, c[2], 32), c[3]);
					break;
				default:
					snprintf(c[0], 32, "%.2f%%", r->idle_cpu);
					table_row(&t, r->t->name, c[0]);
					break;
				}
			}
			if (md) {
				/* A Markdown table: header, rule, rows. */
				size_t row;
				int col;

				for (col = 0; col < cols; col++)
					printf("| %s ", head[col]);
				printf("|\n");
				for (col = 0; col < cols; col++)
					printf("|%s", col ? "---:" : "---");
				printf("|\n");
				for (row = 0; row < t.nrows; row++) {
					for (col = 0; col < cols; col++)
						printf("| %s ", t.cell[row * (size_t)cols + (size_t)col]);
					printf("|\n");
				}
			} else {
				table_print(&t, stdout);
			}
			table_free(&t);
		}
	}
}

static void print_json(const struct bench_result *res, size_t n,
		       const struct machine *m, const struct plan *p)
{
	struct json j;
	size_t i;

	json_start(&j, stdout);
	json_open(&j, NULL, '{');
	json_str(&j, "shmq", SHMQ_VERSION_STRING);
	json_str(&j, "date", m->date);
	json_str(&j, "host", m->host);
	json_str(&j, "cpu", m->cpu);
	json_int(&j, "cpus", m->cpus);
	json_str(&j, "kernel", m->kernel);
	json_open(&j, "pin", '[');
	json_int(&j, NULL, p->job.pin[0]);
	json_int(&j, NULL, p->job.pin[1]);
	json_close(&j, ']');
	json_int(&j, "reps", p->job.reps);
	json_open(&j, "results", '[');
	for (i = 0; i < n; i++) {
		const struct bench_result *r = &res[i];

		json_open(&j, NULL, '{');
		json_str(&j, "transport", r->t->name);
		json_str(&j, "kind", r->t->kind);
		json_str(&j, "mode", bench_mode_name(r->mode));
		json_uint(&j, "size", r->size);
		json_str(&j, "status", r->status == 0 ? "ok" : r->status > 0 ? "skipped" : "failed");
		json_str(&j, "note", r->note);
		json_uint(&j, "messages_verified", r->messages);
		json_int(&j, "reps", r->reps);
		json_num(&j, "rate", r->rate);
		json_num(&j, "rate_min", r->rate_min);
		json_num(&j, "rate_max", r->rate_max);
		json_num(&j, "mb_per_s", r->mbps);
		json_num(&j, "p50_ns", r->p50);
		json_num(&j, "p99_ns", r->p99);
		json_num(&j, "p999_ns", r->p999);
		json_num(&j, "max_ns", r->max);
		json_num(&j, "cpu_us_per_message", r->cpu_us);
		json_num(&j, "idle_cpu_percent", r->idle_cpu);
		json_num(&j, "vs_best_kernel", r->vs_kernel);
		json_num(&j, "vs_floor", r->vs_floor);
		json_close(&j, '}');
	}
	json_close(&j, ']');
	json_close(&j, '}');
	json_end(&j);
}

static void print_csv(const struct bench_result *res, size_t n)
{
	size_t i;

	printf("transport,kind,mode,size,status,messages_verified,rate,mb_per_s,"
	       "p50_ns,p99_ns,p999_ns,max_ns,cpu_us_per_message,idle_cpu_percent,"
	       "vs_best_kernel,vs_floor,note\n");
	for (i = 0; i < n; i++) {
		const struct bench_result *r = &res[i];

		printf("%s,%s,%s,%zu,%s,%llu,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,"
		       "%.6g,%.6g,\"%s\"\n", r->t->name, r->t->kind,
		       bench_mode_name(r->mode), r->size,
		       r->status == 0 ? "ok" : r->status > 0 ? "skipped" : "failed",
		       (unsigned long long)r->messages, r->rate, r->mbps, r->p50, r->p99,
		       r->p999, r->max, r->cpu_us, r->idle_cpu, r->vs_kernel, r->vs_floor,
		       r->note);
	}
}

static void print_report(const struct bench_result *res, size_t n,
			 const struct machine *m, const struct bench_job *base, int md)
{
	printf(md ? "shmq %s on %s: %s, %ld CPUs, Linux %s, %s; processes "
		    "pinned to CPUs %d and %d; median of %d repetitions; every "
		    "message verified\n" :
		    "shmq %s bench on %s: %s, %ld CPUs, Linux %s, %s\n"
		    "processes pinned to CPUs %d and %d; median of %d repetitions; "
		    "every message verified\n",
	       SHMQ_VERSION_STRING, m->host, m->cpu, m->cpus, m->kernel, m->date,
	       base->pin[0], base->pin[1], base->reps);
	print_tables(res, n, md);
}

static int add(struct plan *plans, size_t *n, const struct transport *t,
	       const struct bench_job *base, int mode, size_t size)
{
	if (*n >= MAX_JOBS)
		return -1;
	plans[*n].t = t;
	plans[*n].job = *base;
	plans[*n].job.mode = mode;
	plans[*n].job.size = size;
	(*n)++;
	return 0;
}

static int parse_list(char *s, char **items, int max)
{
	int n = 0;
	char *save = NULL, *tok;

	for (tok = strtok_r(s, ",", &save); tok && n < max; tok = strtok_r(NULL, ",", &save))
		items[n++] = tok;
	return n;
}

/* Naive spinners and kernel paths that sleep: who can be woken or idle. */
static int sleeps(const struct transport *t)
{
	return strcmp(t->name, "shmq-spin") && strcmp(t->name, "spinflag") &&
	       strcmp(t->kind, "floor");
}

static int run_bench(int argc, char **argv)
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
		{ 0 }
	};
	struct bench_job base = { 0 };
	struct plan *plans;
	struct bench_result *res;
	char *sizes_s = NULL, *modes_s = NULL, *trans_s = NULL, *save = NULL;
	int json = 0, csv = 0, md = 0, c, custom = 0, progress_tty = isatty(2);
	struct machine m;
	size_t nplans = 0, i;
	uint64_t v;
	int64_t ns;
	double t0;

	base.seconds = 0.15;
	base.reps = 5;
	base.idle_seconds = 1.0;
	base.wake_samples = 100;
	base.pin[0] = 0;
	base.pin[1] = 1;
	while ((c = getopt_long(argc, argv, "s:m:t:S:c:r:p:PI:jCMlK:O:", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			sizes_s = optarg;
			custom = 1;
			break;
		case 'm':
			modes_s = optarg;
			custom = 1;
			break;
		case 't':
			trans_s = optarg;
			custom = 1;
			break;
		case 'S':
			if (parse_duration(optarg, &ns) || ns < 1000000)
				usage_error("invalid --seconds '%s'", optarg);
			base.seconds = ns / 1e9;
			break;
		case 'c':
			if (parse_uint(optarg, 1000000000000ull, &v) || v < 1)
				usage_error("invalid --count '%s'", optarg);
			base.count = v;
			base.wake_samples = v < 100 ? (int)v : 100;
			break;
		case 'r':
			if (parse_uint(optarg, 31, &v) || v < 1)
				usage_error("invalid --reps '%s' (1 to 31)", optarg);
			base.reps = (int)v;
			break;
		case 'p':
			if (sscanf(optarg, "%d,%d", &base.pin[0], &base.pin[1]) != 2 ||
			    base.pin[0] < 0 || base.pin[1] < 0)
				usage_error("invalid --pin '%s' (two CPUs, such as 0,1)", optarg);
			break;
		case 'P':
			base.pin[0] = base.pin[1] = -1;
			break;
		case 'I':
			if (parse_duration(optarg, &ns) || ns < 1000000)
				usage_error("invalid --idle-seconds '%s'", optarg);
			base.idle_seconds = ns / 1e9;
			break;
		case 'j':
			json = 1;
			break;
		case 'C':
			csv = 1;
			break;
		case 'M':
			md = 1;
			break;
		case 'O':
			save = optarg;
			break;
		case 'K':
			if (parse_size(optarg, &v) || v < SHMQ_MIN_CAPACITY || v > SHMQ_MAX_CAPACITY)
				usage_error("invalid --capacity '%s' (4K to 1G)", optarg);
			base.capacity = (size_t)v;
			break;
		case 'l':
			/* What this build can run; what it cannot, on stderr. */
			for (i = 0; i < bench_ntransports; i++) {
				const struct transport *t = &bench_transports[i];

				if (!t->connect && strcmp(t->kind, "floor")) {
					fprintf(stderr, "(%s is not in this build: its library's "
						"headers were missing at make time)\n", t->name);
					continue;
				}
				printf("%-12s %-8s %s\n", t->name, t->kind, t->about);
			}
			return 0;
		default:
			bad_option("s:m:t:S:c:r:p:PI:jCMlK:O:", argv);
		}
	}
	if (optind != argc)
		usage_error("takes no arguments");
	if (json + csv + md > 1)
		usage_error("--json, --csv and --markdown are exclusive");
	plans = calloc(MAX_JOBS, sizeof(*plans));
	res = calloc(MAX_JOBS, sizeof(*res));
	if (!plans || !res) {
		free(plans);
		free(res);
		return fail("out of memory");
	}
	describe_machine(&m);
	if (m.cpus < 2 && base.pin[0] >= 0) {
		base.pin[0] = base.pin[1] = -1;	/* one CPU: nothing to pin apart */
	}

	if (!custom) {
		/* The default suite. */
		for (i = 0; i < bench_ntransports; i++)
			add(plans, &nplans, &bench_transports[i], &base, MODE_PINGPONG, 1024);
		for (i = 0; i < bench_ntransports; i++)
			add(plans, &nplans, &bench_transports[i], &base, MODE_STREAM, 1024);
		for (i = 0; i < bench_ntransports; i++) {
			const struct transport *t = &bench_transports[i];

			if (!strcmp(t->kind, "shmq") || !strcmp(t->kind, "floor") ||
			    !strcmp(t->name, "spinflag"))
				add(plans, &nplans, t, &base, MODE_PINGPONG, 8);
		}
		for (i = 0; i < bench_ntransports; i++)
			if (sleeps(&bench_transports[i]))
				add(plans, &nplans, &bench_transports[i], &base, MODE_WAKE, 64);
		for (i = 0; i < bench_ntransports; i++) {
			const char *n = bench_transports[i].name;

			if (!strcmp(n, "shmq-hybrid") || !strcmp(n, "shmq-block") ||
			    !strcmp(n, "shmq-spin") || !strcmp(n, "pipe") || !strcmp(n, "classic"))
				add(plans, &nplans, &bench_transports[i], &base, MODE_IDLE, 64);
		}
	} else {
		char *sl[32], *ml[8], *tl[32], dflt_s[] = "1K", dflt_m[] = "pingpong,stream";
		int ns_ = parse_list(sizes_s ? sizes_s : dflt_s, sl, 32);
		int nm = parse_list(modes_s ? modes_s : dflt_m, ml, 8);
		int nt = trans_s ? parse_list(trans_s, tl, 32) : 0;
		int modes[MODE_COUNT], nmodes = 0, a, b2, k;
		size_t sizes[32];

		for (a = 0; a < ns_; a++) {
			if (parse_size(sl[a], &v) || v < 8 || v > (1u << 20))
				usage_error("invalid size '%s' (8 B to 1 MiB)", sl[a]);
			sizes[a] = (size_t)v;
		}
		for (a = 0; a < nm; a++) {
			if (!strcmp(ml[a], "all")) {
				for (k = 0; k < MODE_COUNT; k++)
					modes[nmodes++ % MODE_COUNT] = k;
				nmodes = MODE_COUNT;
			} else if (!strcmp(ml[a], "pingpong") || !strcmp(ml[a], "ping-pong")) {
				modes[nmodes++] = MODE_PINGPONG;
			} else if (!strcmp(ml[a], "stream")) {
				modes[nmodes++] = MODE_STREAM;
			} else if (!strcmp(ml[a], "wake")) {
				modes[nmodes++] = MODE_WAKE;
			} else if (!strcmp(ml[a], "idle")) {
				modes[nmodes++] = MODE_IDLE;
			} else {
				usage_error("invalid mode '%s' (pingpong, stream, wake, idle, all)", ml[a]);
			}
			if (nmodes > MODE_COUNT)
				nmodes = MODE_COUNT;
		}
		for (k = 0; k < nt; k++)
			if (!bench_find(tl[k]))
				usage_error("unknown transport '%s' (shmq bench --list names them)", tl[k]);
		for (a = 0; a < nmodes; a++)
			for (b2 = 0; b2 < ns_; b2++)
				for (i = 0; i < bench_ntransports; i++) {
					const struct transport *t = &bench_transports[i];
					int want = !nt;

					for (k = 0; k < nt; k++)
						want |= !strcmp(tl[k], t->name);
					if (!want)
						continue;
					/* Nothing to wake or idle in a spinner or the floor. */
					if ((modes[a] == MODE_WAKE || modes[a] == MODE_IDLE) &&
					    !strcmp(t->kind, "floor"))
						continue;
					add(plans, &nplans, t, &base, modes[a], sizes[b2]);
				}
	}

	t0 = now_ns() / 1e9;
	for (i = 0; i < nplans; i++) {
		char sz[32];

		fprintf(stderr, progress_tty ? "\r\033[K[%zu/%zu] %s, %s, %s" :
			"[%zu/%zu] %s, %s, %s\n", i + 1, nplans,
			bench_mode_name(plans[i].job.mode),
			size_words(plans[i].job.size, sz, sizeof(sz)), plans[i].t->name);
		bench_run(plans[i].t, &plans[i].job, &res[i]);
	}
	if (progress_tty)
		fprintf(stderr, "\r\033[K");
	fprintf(stderr, "shmq bench: %zu measurements in %.1f s\n", nplans,
		now_ns() / 1e9 - t0);
	ratios(res, nplans);

	if (json) {
		print_json(res, nplans, &m, &plans[0]);
	} else if (csv) {
		print_csv(res, nplans);
	} else {
		print_report(res, nplans, &m, &base, md);
	}
	if (save) {
		/* The same run as JSON, CSV and Markdown, for make bench. */
		static const char *const ext[] = { ".json", ".csv", ".md" };
		int k;

		for (k = 0; k < 3; k++) {
			char path[4096];

			snprintf(path, sizeof(path), "%s%s", save, ext[k]);
			fflush(stdout);
			if (!freopen(path, "w", stdout)) {
				fail("cannot write %s: %s", path, strerror(errno));
				break;
			}
			if (k == 0)
				print_json(res, nplans, &m, &plans[0]);
			else if (k == 1)
				print_csv(res, nplans);
			else
				print_report(res, nplans, &m, &base, 1);
			fflush(stdout);
			fprintf(stderr, "wrote %s\n", path);
		}
	}
	{
		int failed = 0;

		for (i = 0; i < nplans; i++)
			failed |= res[i].status < 0;
		free(plans);
		free(res);
		return failed;
	}
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
	"  -l, --list             list the transports\n",
};
