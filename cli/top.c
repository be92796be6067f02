/* SPDX-License-Identifier: MIT */
/*
 * shmq top: what flows, live.  Two readings of every shmq segment's
 * counters (shmq_describe_traffic(): the rings' positions, a topic's next
 * sequence number), an interval apart, give rates; everything is read
 * through read-only attaches, and only segments whose size a shmq segment
 * can have are attached at all.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#define MAX_SUBS 4096

struct obj {
	int shmid;
	struct shmq_desc d;
	struct shmq_traffic t0, t1;
	int gone;		/* between the two readings */
	double rate[2];		/* ring bytes/s each way; a topic's messages/s in [0] */
	int hub;		/* a hub's client: the hub's index, else -1 */
	int clients;		/* a hub: how many */
	size_t subs;		/* a topic: its subscribers, */
	uint64_t max_lag, lost;	/* the largest lag, and what all lost */
};

struct top_opts {
	double delay;
	uint64_t iterations;	/* 0: until interrupted */
	int once, json;
};

static void nap_seconds(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };

	while (!cli_signal && nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Every shmq channel, hub and topic now, with its first reading. */
static struct obj *first_reading(size_t *n)
{
	struct shmq_seg_info *list;
	struct obj *v;
	size_t count, i;

	*n = 0;
	if (shmq_seg_list(&list, &count))
		return NULL;
	v = calloc(count ? count : 1, sizeof(*v));
	for (i = 0; v && i < count; i++) {
		struct obj *o = &v[*n];

		if (shmq_describe(list[i].shmid, &o->d) || !o->d.ready ||
		    (o->d.kind != SHMQ_KIND_CHANNEL && o->d.kind != SHMQ_KIND_HUB &&
		     o->d.kind != SHMQ_KIND_TOPIC) ||
		    shmq_describe_traffic(list[i].shmid, &o->t0))
			continue;
		o->shmid = list[i].shmid;
		o->hub = -1;
		(*n)++;
	}
	free(list);
	return v;
}

/* A topic's subscribers: how many, the largest lag, what they lost. */
static void topic_subs(struct obj *o)
{
	static struct shmq_subscriber_desc subs[MAX_SUBS];
	size_t n = 0, i;

	if (shmq_describe_subscribers(o->shmid, subs, MAX_SUBS, &n))
		return;
	for (i = 0; i < n && i < MAX_SUBS; i++) {
		if (subs[i].state != SHMQ_PEER_ATTACHED)
			continue;
		o->subs++;
		o->max_lag = subs[i].lag > o->max_lag ? subs[i].lag : o->max_lag;
		o->lost += subs[i].lost;
	}
}

/*
 * The second reading, the rates, and who belongs to which hub: a hub's
 * clients' channels are private pairs its server made.
 */
static void second_reading(struct obj *v, size_t n, double dt)
{
	size_t i, k;

	for (i = 0; i < n; i++) {
		struct obj *o = &v[i];

		o->gone = shmq_describe_traffic(o->shmid, &o->t1) != 0;
		if (o->gone)
			continue;
		for (k = 0; k < 2; k++)
			o->rate[k] = (double)(o->t1.bytes[k] - o->t0.bytes[k]) / dt;
		if (o->d.kind == SHMQ_KIND_TOPIC) {
			o->rate[0] = (double)(o->t1.messages - o->t0.messages) / dt;
			topic_subs(o);
		}
	}
	for (i = 0; i < n; i++)
		for (k = 0; k < n && v[i].d.kind == SHMQ_KIND_CHANNEL; k++)
			if (v[k].d.kind == SHMQ_KIND_HUB && !v[i].d.name[0] &&
			    v[k].d.ep[0].state == SHMQ_PEER_ATTACHED &&
			    v[i].d.creator_pid == v[k].d.ep[0].pid) {
				v[i].hub = (int)k;
				v[k].clients++;
				v[k].rate[0] += v[i].rate[0];
				v[k].rate[1] += v[i].rate[1];
			}
}

static const char *rate_words(double r, char *buf, size_t size)
{
	char h[32];

	snprintf(buf, size, "%s/s", human_size((uint64_t)(r + 0.5), h, sizeof(h)));
	return buf;
}

static void print_channel(const struct obj *o, const char *kind, const char *name)
{
	char e0[64], e1[64], r0[32], r1[32], q[32];

	printf("%-8s %-20.20s %-10d %-22s %-22s %10s %10s %10s\n", kind, name, o->shmid,
	       endpoint_words(&o->d.ep[0], e0, sizeof(e0)),
	       endpoint_words(&o->d.ep[1], e1, sizeof(e1)),
	       rate_words(o->rate[0], r0, sizeof(r0)), rate_words(o->rate[1], r1, sizeof(r1)),
	       human_size(o->d.queued[0] + o->d.queued[1], q, sizeof(q)));
}

/* A hub's three busiest clients, under it. */
static void print_busiest(const struct obj *v, size_t n, size_t hub)
{
	const struct obj *top[3] = { NULL, NULL, NULL };
	size_t i;
	int k, j;

	for (i = 0; i < n; i++) {
		if (v[i].hub != (int)hub || v[i].gone)
			continue;
		for (k = 0; k < 3; k++)
			if (!top[k] || v[i].rate[0] + v[i].rate[1] > top[k]->rate[0] + top[k]->rate[1])
				break;
		if (k == 3)
			continue;
		for (j = 2; j > k; j--)
			top[j] = top[j - 1];
		top[k] = &v[i];
	}
	for (k = 0; k < 3 && top[k]; k++)
		print_channel(top[k], "", "  client");
}

static void print_text(const struct obj *v, size_t n, double dt)
{
	char name[80], e0[64], r0[32], r1[32], w[96];
	size_t i;

	printf("shmq top: every %.1f s%s\n", dt, isatty(1) ? " (Ctrl-C ends)" : "");
	printf("%-8s %-20s %-10s %-22s %-22s %10s %10s %10s\n", "KIND", "NAME", "ID",
	       "END 0", "END 1", "0>1", "1>0", "QUEUED");
	for (i = 0; i < n; i++) {
		const struct obj *o = &v[i];

		if (o->gone || o->hub >= 0)
			continue;
		shown(o->d.name[0] ? o->d.name : "(private)", name, sizeof(name));
		if (o->d.kind == SHMQ_KIND_CHANNEL) {
			print_channel(o, "channel", name);
		} else if (o->d.kind == SHMQ_KIND_HUB) {
			snprintf(w, sizeof(w), "%d client%s", o->clients, o->clients == 1 ? "" : "s");
			printf("%-8s %-20.20s %-10d %-22s %-22s %10s %10s\n", "hub", name, o->shmid,
			       endpoint_words(&o->d.ep[0], e0, sizeof(e0)), w,
			       rate_words(o->rate[0], r0, sizeof(r0)),
			       rate_words(o->rate[1], r1, sizeof(r1)));
			print_busiest(v, n, i);
		} else {
			snprintf(w, sizeof(w), "%zu subs, lag <= %llu, lost %llu", o->subs,
				 (unsigned long long)o->max_lag, (unsigned long long)o->lost);
			printf("%-8s %-20.20s %-10d %-22s %-33s %8.0f msg/s\n", "topic", name,
			       o->shmid, endpoint_words(&o->d.ep[0], e0, sizeof(e0)), w, o->rate[0]);
		}
	}
}

static void json_ends(struct json *j, const struct shmq_desc *d)
{
	int k;

	json_open(j, "ends", '[');
	for (k = 0; k < 2; k++) {
		json_open(j, NULL, '{');
		json_int(j, "pid", d->ep[k].state == SHMQ_PEER_NONE ? 0 : d->ep[k].pid);
		json_bool(j, "attached", d->ep[k].state == SHMQ_PEER_ATTACHED);
		if (d->ep[k].state == SHMQ_PEER_ATTACHED)
			json_str(j, "process", shmq_pid_state_name(d->ep[k].pid_state));
		else
			json_null(j, "process");
		json_close(j, '}');
	}
	json_close(j, ']');
}

static void json_obj(struct json *j, const struct obj *v, size_t n, size_t i)
{
	const struct obj *o = &v[i];
	size_t k;

	json_open(j, NULL, '{');
	json_str(j, "kind", o->d.kind == SHMQ_KIND_CHANNEL ? "channel" :
		 o->d.kind == SHMQ_KIND_HUB ? "hub" : "topic");
	json_str(j, "name", o->d.name);
	json_int(j, "shmid", o->shmid);
	json_ends(j, &o->d);
	if (o->d.kind == SHMQ_KIND_TOPIC) {
		json_num(j, "messages_per_s", o->rate[0]);
		json_uint(j, "subscribers", o->subs);
		json_uint(j, "max_lag", o->max_lag);
		json_uint(j, "lost", o->lost);
	} else {
		json_num(j, "bytes_per_s_0to1", o->rate[0]);
		json_num(j, "bytes_per_s_1to0", o->rate[1]);
		json_uint(j, "queued", o->d.queued[0] + o->d.queued[1]);
	}
	if (o->d.kind == SHMQ_KIND_HUB) {
		json_int(j, "clients", o->clients);
		json_open(j, "client_channels", '[');
		for (k = 0; k < n; k++)
			if (v[k].hub == (int)i && !v[k].gone)
				json_obj(j, v, n, k);
		json_close(j, ']');
	}
	json_close(j, '}');
}

static void print_json(const struct obj *v, size_t n, double dt)
{
	struct json j;
	size_t i;

	json_start(&j, stdout);
	json_open(&j, NULL, '{');
	json_num(&j, "interval", dt);
	json_open(&j, "objects", '[');
	for (i = 0; i < n; i++)
		if (!v[i].gone && v[i].hub < 0)
			json_obj(&j, v, n, i);
	json_close(&j, ']');
	json_close(&j, '}');
	json_end(&j);
}

static void parse_top(int argc, char **argv, struct top_opts *t)
{
	static const struct option opts[] = {
		{ "delay", required_argument, NULL, 'd' },
		{ "iterations", required_argument, NULL, 'n' },
		{ "once", no_argument, NULL, '1' },
		{ "json", no_argument, NULL, 'j' },
		{ 0 }
	};
	int64_t ns;
	int c;

	t->delay = 1.0;
	while ((c = getopt_long(argc, argv, "d:n:1j", opts, NULL)) != -1) {
		if (c == 'd') {
			if (parse_duration(optarg, &ns) || ns < 10000000 || ns > 3600000000000LL)
				usage_error("invalid delay '%s' (10ms to 1h; a bare number is seconds)",
					    optarg);
			t->delay = (double)ns / 1e9;
		} else if (c == 'n') {
			if (parse_uint(optarg, UINT32_MAX, &t->iterations) || !t->iterations)
				usage_error("invalid --iterations '%s'", optarg);
		} else if (c == '1') {
			t->once = 1;
		} else if (c == 'j') {
			t->json = 1;
		} else {
			bad_option("d:n:1j", argv);
		}
	}
	if (optind != argc)
		usage_error("takes no arguments");
	if (t->once)
		t->iterations = 1;
}

static int run_top(int argc, char **argv)
{
	struct top_opts t = { 0 };
	uint64_t it;

	parse_top(argc, argv, &t);
	catch_signals();
	for (it = 0; !cli_signal && (!t.iterations || it < t.iterations); it++) {
		size_t n;
		double t0 = now_s(), dt;
		struct obj *v = first_reading(&n);

		if (!v)
			return fail("cannot list the segments");
		nap_seconds(t.delay);
		dt = now_s() - t0;
		second_reading(v, n, dt > 0 ? dt : t.delay);
		if (!t.json && !t.once && isatty(1))
			printf("\033[H\033[J");	/* top(1)'s fresh screen */
		if (t.json)
			print_json(v, n, dt);
		else
			print_text(v, n, dt);
		fflush(stdout);
		free(v);
	}
	return cli_signal ? signal_status() : 0;
}

const struct cmd top_command = {
	.name = "top",
	.run = run_top,
	.synopsis = "[-d SECONDS] [-n N] [--once] [--json]",
	.summary = "watch what flows: rates of every channel, hub and topic",
	.help =
	"A live view, refreshed like top(1), of every shmq channel, hub and topic\n"
	"on the host: both ends (pid, state, whether the process lives), the ring\n"
	"bytes per second each way (each message is 8 bytes of header and its\n"
	"length rounded up to 8) and what is queued; for a hub its clients and\n"
	"the three busiest; for a topic its publisher, messages per second, and\n"
	"its subscribers' largest lag and what they lost.  Rates come from two\n"
	"readings of counters the rings keep anyway, an interval apart; every\n"
	"segment is attached read-only for a moment, and only those whose size a\n"
	"shmq segment can have.  Runs until Ctrl-C.\n"
	"\n"
	"  -d, --delay T       the interval (default 1s; 10ms to 1h)\n"
	"  -n, --iterations N  stop after N refreshes\n"
	"  -1, --once          one reading, then exit (for scripts)\n"
	"  -j, --json          one JSON object per reading\n",
};
