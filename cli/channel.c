/* SPDX-License-Identifier: MIT */
/*
 * What the channel commands share: signals, the channel options, opening
 * a channel or a hub with one line on failure, and addresses.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cli.h"

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

/* --spin, --block, --hybrid: one of them, said once (or again the same). */
static void set_wait(struct chan_opts *co, int wait, const char *opt)
{
	if (co->wait_opt && co->wait != wait)
		usage_error("%s and %s contradict each other: choose one", co->wait_opt, opt);
	co->wait = wait;
	co->wait_opt = opt;
}

int chan_option(struct chan_opts *co, int c, const char *arg)
{
	uint64_t n;

	switch (c) {
	case 0x100:
		set_wait(co, SHMQ_WAIT_SPIN, "--spin");
		return 1;
	case 0x101:
		set_wait(co, SHMQ_WAIT_BLOCK, "--block");
		return 1;
	case 0x102:
		set_wait(co, SHMQ_WAIT_HYBRID, "--hybrid");
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
		if (co->ntrust == 16)
			usage_error("at most 16 --trust-uid");
		if (parse_user(arg, &co->trust[co->ntrust]))
			usage_error("--trust-uid '%s' is neither a user nor a uid", arg);
		co->ntrust++;
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

void check_chan_opts(const struct chan_opts *co, int hub)
{
	if (hub && co->connect)
		usage_error("--hub and --connect contradict each other: --hub serves a hub, "
			    "--connect is one of its clients");
	if (hub && co->persistent)
		usage_error("--hub and --persistent do not mix: a hub's channels are pairs");
	if (co->connect && co->persistent)
		usage_error("--connect and --persistent do not mix: a hub's channels are pairs");
}

void classic_takes_no_channel_options(const struct chan_opts *co)
{
	const char *opt = co->wait_opt ? co->wait_opt : co->capacity ? "--capacity" :
			  co->persistent ? "--persistent" : co->ntrust ? "--trust-uid" :
			  co->mode ? "--mode" : co->connect ? "--connect" : NULL;

	if (opt)
		usage_error("--classic and %s do not mix: the classic recipe has its own "
			    "20-byte segment and no channel", opt);
}

void chan_options(const struct chan_opts *co, struct shmq_options *o,
		  char *err, size_t errsize)
{
	memset(o, 0, sizeof(*o));
	o->wait = co->wait;
	o->flags = SHMQ_INTERRUPTIBLE | (co->persistent ? SHMQ_PERSISTENT : 0);
	/* The role fixes the side: every sender feeds what receivers read. */
	if (co->persistent && co->role)
		o->flags |= co->role == ROLE_SENDER ? SHMQ_ENDPOINT0 : SHMQ_ENDPOINT1;
	/* A pair: two senders (or two pings) never meet; the second waits its turn. */
	else if (co->role)
		o->flags |= co->role == ROLE_SENDER ? SHMQ_SENDER : SHMQ_RECEIVER;
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
		/* The library's own reason, unless it is the usual one. */
		if (err[0] && !strstr(err, "no peer arrived"))
			fail("%s: %s (%s)", addr, err, t);
		else
			fail("%s: no peer arrived within %s", addr, t);
	} else if (r == -EACCES && err[0]) {
		const char *m = strstr(err, "has mode ");
		char hint[48] = "";

		/* A wider mode than ours: say how to ask for it. */
		if (m && strstr(err, "grants more than"))
			snprintf(hint, sizeof(hint), " (--mode %.4s to join it)", m + 9);
		else if (strstr(err, "uid is trusted"))
			snprintf(hint, sizeof(hint), " (--trust-uid)");
		fail("%s: refused: %s%s", addr, err, hint);
	} else {
		fail("%s: %s", addr, err[0] ? err : shmq_strerror(r));
	}
}

/*
 * A sign of life while an open waits: after a second, one line on stderr,
 * if that is a terminal (a script's logs stay quiet).
 */

static void *notice_main(void *arg)
{
	struct notice *n = arg;
	struct timespec until;
	int r = 0;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 1;
	pthread_mutex_lock(&n->lock);
	while (!n->done && r != ETIMEDOUT)
		r = pthread_cond_timedwait(&n->done_cond, &n->lock, &until);
	if (!n->done) {
		fputs(n->line, stderr);
		fflush(stderr);
	}
	pthread_mutex_unlock(&n->lock);
	return NULL;
}

void notice_start(struct notice *n, const char *fmt, const char *who, const char *addr)
{
	memset(n, 0, sizeof(*n));
	if (!isatty(2))
		return;
	snprintf(n->line, sizeof(n->line), fmt, cli_cmd, who, addr);
	pthread_mutex_init(&n->lock, NULL);
	pthread_cond_init(&n->done_cond, NULL);
	n->started = pthread_create(&n->thread, NULL, notice_main, n) == 0;
}

void notice_stop(struct notice *n)
{
	if (!n->started)
		return;
	pthread_mutex_lock(&n->lock);
	n->done = 1;
	pthread_cond_signal(&n->done_cond);
	pthread_mutex_unlock(&n->lock);
	pthread_join(n->thread, NULL);
	n->started = 0;
}

shmq_t *open_channel(const char *addr, const struct chan_opts *co)
{
	struct shmq_options o;
	struct shmq_addr a;
	struct notice n;
	char err[512] = "";
	shmq_t *q;
	int r;

	if (parse_addr_or_fail(addr, &a))
		return NULL;
	chan_options(co, &o, err, sizeof(err));
	notice_start(&n, co->connect ? "shmq: %s: waiting for the hub's server at "
		     "'%s%s' (Ctrl-C to stop)\n" : "shmq: %s: waiting for %s at '%s' "
		     "(Ctrl-C to stop)\n", co->connect ? "" : co->peer, addr);
	r = co->connect ? shmq_connect(addr, &o, &q) : shmq_open(addr, &o, &q);
	notice_stop(&n);
	if (r == 0)
		return q;
	if (r != -EINTR)	/* else the caller exits with the signal's status */
		open_failure(addr, co, r, err);
	return NULL;
}

/*
 * A hub server holds a descriptor per client (the pidfd that watches it):
 * raise the soft limit to the hard one, as servers do, so that 1,000
 * clients fit under a soft limit of 1,024.
 */
static void raise_descriptor_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

shmq_hub_t *open_hub(const char *addr, const struct chan_opts *co)
{
	struct shmq_options o;
	struct shmq_addr a;
	char err[512] = "";
	shmq_hub_t *h;
	int r;

	if (parse_addr_or_fail(addr, &a))
		return NULL;
	raise_descriptor_limit();
	chan_options(co, &o, err, sizeof(err));
	o.flags &= ~(SHMQ_PERSISTENT | SHMQ_ENDPOINT0 | SHMQ_ENDPOINT1);
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

int parse_addr_or_fail(const char *text, struct shmq_addr *a)
{
	int r = shmq_addr_parse(text, a);

	/* An address that cannot be one is a usage error (exit 2), as the README says. */
	if (r == -EINVAL && !strcmp(a->why, "unknown address form"))
		usage_error("invalid address '%s': expected %s", text, shmq_addr_forms());
	if (r == -EINVAL)
		usage_error("invalid address '%s': %s", text, a->why);
	/* ftok: the file is what is missing (or unreadable), not a segment. */
	if (r)
		return fail("%s: %s: %s", text, a->path, strerror(-r)), r;
	return 0;
}

/*
 * A live pair no longer holds its key: its second end marks it removed at
 * once, so that the kernel frees it with its ends, and the key becomes 0.
 * Its header still says the NAME it was made for: find it among the
 * segments marked removed.  0 (one found, in *@shmid), -ENOENT (none), or
 * -EEXIST (several: a name was reused while an older pair still runs).
 */
int find_removed_by_name(const struct shmq_addr *a, int *shmid, char *ids, size_t size)
{
	struct shmq_seg_info *list;
	struct shmq_desc d;
	size_t n, i, used = 0;
	int found = 0;

	if (a->kind != SHMQ_ADDR_NAME || shmq_seg_list(&list, &n))
		return -ENOENT;
	for (i = 0; i < n; i++) {
		if (!list[i].removed || list[i].key != IPC_PRIVATE ||
		    shmq_describe(list[i].shmid, &d) || d.addr_kind != SHMQ_ADDR_NAME ||
		    strcmp(d.name, a->name))
			continue;
		if (used < size)
			used += (size_t)snprintf(ids + used, size - used, "%sid:%d",
						 found ? ", " : "", list[i].shmid);
		*shmid = list[i].shmid;
		found++;
	}
	free(list);
	return found == 1 ? 0 : found ? -EEXIST : -ENOENT;
}

int resolve_shmid(const char *text, int *shmid)
{
	struct shmq_addr a;
	char ids[256] = "";
	int r = parse_addr_or_fail(text, &a);

	if (r)
		return r;
	r = shmq_seg_open(&a, shmid);
	if (r == -ENOENT)
		r = find_removed_by_name(&a, shmid, ids, sizeof(ids));
	if (r == -ENOENT)
		fail("%s: no such segment", text);
	else if (r == -EEXIST)
		fail("%s: several live channels were made at this name (%s): name one by its id",
		     text, ids);
	else if (r)
		fail("%s: %s", text, shmq_strerror(r));
	return r;
}

