/* SPDX-License-Identifier: MIT */
/*
 * shmq bench's report: the machine it ran on, the ratios between rows, and
 * the tables, JSON, CSV and Markdown of one run.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "bench_cli.h"

void describe_machine(struct machine *m)
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
	return r->t->family == FAMILY_KERNEL;
}

/* Ratios against the best kernel transport and the floor, per table. */
void bench_ratios(struct bench_result *res, size_t n)
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
			if (res[j].t->family == FAMILY_FLOOR)
				floor_v = res[i].mode == MODE_PINGPONG ? res[j].p50 : res[j].rate;
		}
		/* The floor's line ping-pong is the same whatever the size. */
		if (!floor_v && res[i].mode == MODE_PINGPONG)
			for (j = 0; j < n; j++)
				if (!res[j].status && res[j].mode == MODE_PINGPONG &&
				    res[j].t->family == FAMILY_FLOOR)
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

const char *size_words(size_t s, char *buf, size_t size)
{
	if (s >= 1024 * 1024 && s % (1024 * 1024) == 0)
		snprintf(buf, size, "%zu MiB", s >> 20);
	else if (s >= 1024 && s % 1024 == 0)
		snprintf(buf, size, "%zu KiB", s >> 10);
	else
		snprintf(buf, size, "%zu B", s);
	return buf;
}

/* A table's columns and title, for one mode and size. */
static int table_layout(int mode, size_t size, const char *const **head,
			char *title, size_t tsize)
{
	static const char *const pp_head[] = { "transport", "round trips/s", "min-max",
		"p50 us", "p99 us", "p99.9 us", "max us", "CPU us/rt", "vs kernel", "vs floor" };
	static const char *const st_head[] = { "transport", "messages/s", "min-max", "MB/s",
		"CPU us/msg", "vs kernel", "of bound" };
	static const char *const wk_head[] = { "transport", "p50 us", "p99 us", "max us",
		"samples" };
	static const char *const id_head[] = { "transport", "CPU while idle" };
	char sz[32];

	size_words(size, sz, sizeof(sz));
	switch (mode) {
	case MODE_PINGPONG:
		*head = pp_head;
		snprintf(title, tsize, "Ping-pong, %s messages (vs kernel: round trips/s "
			 "over the best kernel transport's; vs floor: p50 over the "
			 "floor's; min-max: the spread of the repetitions)", sz);
		return 10;
	case MODE_STREAM:
		*head = st_head;
		snprintf(title, tsize, "Streaming, %s messages one way (of bound: share "
			 "of the floor's rate, a bare fixed-slot ring between the two "
			 "processes; min-max: the spread of the repetitions)", sz);
		return 7;
	case MODE_WAKE:
		*head = wk_head;
		snprintf(title, tsize, "Wake-up: send to the return of a receiver that "
			 "was asleep, %s", sz);
		return 5;
	default:
		*head = id_head;
		snprintf(title, tsize, "Idle: CPU used by a receiver blocked with nothing "
			 "to receive");
		return 2;
	}
}

/* The repetitions' lowest and highest rates: "1.20M-1.52M". */
static const char *spread(const struct bench_result *r, char *buf, size_t size)
{
	char lo[16], hi[16];

	snprintf(buf, size, "%s-%s", si(r->rate_min, lo, sizeof(lo)),
		 si(r->rate_max, hi, sizeof(hi)));
	return buf;
}

/* One result as a row of its mode's table. */
static void result_row(struct table *t, const struct bench_result *r)
{
	char c[10][32];

	if (r->status) {
		char note[540];

		snprintf(note, sizeof(note), "%s: %s", r->status > 0 ? "skipped" : "FAILED",
			 r->note);
		table_row(t, r->t->name, note, "", "", "", "", "", "", "", "");
		return;
	}
	switch (r->mode) {
	case MODE_PINGPONG:
		table_row(t, r->t->name, si(r->rate, c[0], 32), spread(r, c[8], 32),
			  us(r->p50, c[1], 32),
			  us(r->p99, c[2], 32), us(r->p999, c[3], 32), us(r->max, c[4], 32),
			  us(r->cpu_us * 1e3, c[5], 32), ratio(r->vs_kernel, c[6], 32),
			  ratio(r->vs_floor, c[7], 32));
		break;
	case MODE_STREAM:
		snprintf(c[1], 32, "%.0f", r->mbps);
		if (r->vs_floor > 0)
			snprintf(c[4], 32, "%.0f%%", r->vs_floor * 100);
		else
			snprintf(c[4], 32, "-");
		table_row(t, r->t->name, si(r->rate, c[0], 32), spread(r, c[8], 32), c[1],
			  us(r->cpu_us * 1e3, c[2], 32), ratio(r->vs_kernel, c[3], 32), c[4]);
		break;
	case MODE_WAKE:
		snprintf(c[3], 32, "%llu", (unsigned long long)r->messages);
		table_row(t, r->t->name, us(r->p50, c[0], 32), us(r->p99, c[1], 32),
			  us(r->max, c[2], 32), c[3]);
		break;
	default:
		snprintf(c[0], 32, "%.2f%%", r->idle_cpu);
		table_row(t, r->t->name, c[0]);
		break;
	}
}

/* A Markdown table: header, rule, rows. */
static void print_markdown(const struct table *t, const char *const *head, int cols)
{
	size_t row;
	int col;

	for (col = 0; col < cols; col++)
		printf("| %s ", head[col]);
	printf("|\n");
	for (col = 0; col < cols; col++)
		printf("|%s", col ? "---:" : "---");
	printf("|\n");
	for (row = 0; row < t->nrows; row++) {
		for (col = 0; col < cols; col++)
			printf("| %s ", t->cell[row * (size_t)cols + (size_t)col]);
		printf("|\n");
	}
}

/* Text or Markdown tables, one per mode and size. */
static void print_tables(const struct bench_result *res, size_t n, int md)
{
	size_t i, k, sizes[64], nsizes = 0;
	int mode;

	for (i = 0; i < n; i++) {
		for (k = 0; k < nsizes && sizes[k] != res[i].size; k++)
			;
		if (k == nsizes && nsizes < 64)
			sizes[nsizes++] = res[i].size;
	}
	for (mode = 0; mode < MODE_COUNT; mode++)
		for (k = 0; k < nsizes; k++) {
			const char *const *head;
			char title[256];
			struct table t;
			int cols, rows = 0;

			for (i = 0; i < n; i++)
				rows += res[i].mode == mode && res[i].size == sizes[k];
			if (!rows)
				continue;
			cols = table_layout(mode, sizes[k], &head, title, sizeof(title));
			printf(md ? "\n**%s**\n\n" : "\n%s\n", title);
			table_init(&t, cols, head, "lrrrrrrrrr");
			for (i = 0; i < n; i++)
				if (res[i].mode == mode && res[i].size == sizes[k])
					result_row(&t, &res[i]);
			if (md)
				print_markdown(&t, head, cols);
			else
				table_print(&t, stdout);
			table_free(&t);
		}
}

void print_json(const struct bench_result *res, size_t n,
		const struct machine *m, const struct bench_job *base)
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
	json_int(&j, NULL, base->pin[0]);
	json_int(&j, NULL, base->pin[1]);
	json_close(&j, ']');
	json_int(&j, "reps", base->reps);
	json_open(&j, "results", '[');
	for (i = 0; i < n; i++) {
		const struct bench_result *r = &res[i];

		json_open(&j, NULL, '{');
		json_str(&j, "transport", r->t->name);
		json_str(&j, "kind", bench_family_name(r->t->family));
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

void print_csv(const struct bench_result *res, size_t n)
{
	size_t i;

	printf("transport,kind,mode,size,status,messages_verified,rate,mb_per_s,"
	       "p50_ns,p99_ns,p999_ns,max_ns,cpu_us_per_message,idle_cpu_percent,"
	       "vs_best_kernel,vs_floor,note\n");
	for (i = 0; i < n; i++) {
		const struct bench_result *r = &res[i];

		printf("%s,%s,%s,%zu,%s,%llu,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,"
		       "%.6g,%.6g,\"%s\"\n", r->t->name, bench_family_name(r->t->family),
		       bench_mode_name(r->mode), r->size,
		       r->status == 0 ? "ok" : r->status > 0 ? "skipped" : "failed",
		       (unsigned long long)r->messages, r->rate, r->mbps, r->p50, r->p99,
		       r->p999, r->max, r->cpu_us, r->idle_cpu, r->vs_kernel, r->vs_floor,
		       r->note);
	}
}

void print_report(const struct bench_result *res, size_t n,
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


/* The same run as JSON, CSV and Markdown, for make bench: PREFIX.json, ... */
int save_results(const char *prefix, const struct bench_result *res, size_t n,
		 const struct machine *m, const struct bench_job *base)
{
	static const char *const ext[] = { ".json", ".csv", ".md" };
	int k;

	for (k = 0; k < 3; k++) {
		char path[4096];

		snprintf(path, sizeof(path), "%s%s", prefix, ext[k]);
		fflush(stdout);
		if (!freopen(path, "w", stdout))
			return fail("cannot write %s: %s", path, strerror(errno));
		if (k == 0)
			print_json(res, n, m, base);
		else if (k == 1)
			print_csv(res, n);
		else
			print_report(res, n, m, base, 1);
		fflush(stdout);
		fprintf(stderr, "wrote %s\n", path);
	}
	return 0;
}
