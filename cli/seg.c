/* SPDX-License-Identifier: MIT */
/* shmq ls, stat, rm, create: segments, in the spirit of ipcs and ipcrm. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <unistd.h>

#include "cli.h"

static int command_line(pid_t pid, char *buf, size_t size);

/* "removed, still attached", "attached", "unattached", plus ", locked". */
static const char *status_words(const struct shmq_seg_info *s, char *buf,
				size_t size)
{
	const char *base;

	if (s->removed)
		base = "removed, still attached";
	else if (s->nattch)
		base = "attached";
	else
		base = "unattached";
	snprintf(buf, size, "%s%s", base, s->locked ? ", locked" : "");
	return buf;
}

static int creator_state(const struct shmq_seg_info *s)
{
	/* The creator cannot have started after the segment last changed. */
	return shmq_pid_state(s->cpid, s->ctime);
}

#define CLASSIC_SIZE 20	/* the classic recipe's segment */

/* "channel 'jobs', pair" and the like; "" for other segments. */
static const char *shmq_words(const struct shmq_desc *d, int r, uint64_t segsz,
			      char *buf, size_t size)
{
	char name[4 * sizeof(d->name)];

	shown(d->name, name, sizeof(name));
	if (r == -EPROTO && segsz == CLASSIC_SIZE)
		snprintf(buf, size, "classic ping-pong's size (20 B), not shmq's");
	else if (r == -EPROTO || r == -EACCES || r == -EINVAL || r == -EIDRM || r == -ENOENT)
		snprintf(buf, size, "%s", r == -EACCES ? "?" : "");
	else if (r == -EPROTONOSUPPORT)
		snprintf(buf, size, "shmq layout %u.%u (unsupported)", d->major, d->minor);
	else if (r == -EBADMSG)
		snprintf(buf, size, "shmq, corrupted");
	else if (r)
		snprintf(buf, size, "?");
	else if (d->kind == SHMQ_KIND_LIFE)
		snprintf(buf, size, "life token of pid %d%s", (int)d->creator_pid,
			 d->stale ? ", stale: its process died making it" : "");
	else if (!d->ready)
		snprintf(buf, size, "%s, %s", d->kind ? shmq_kind_name(d->kind) : "shmq",
			 d->stale ? "stale: creator died while setting up" : "being set up");
	else if (d->kind == SHMQ_KIND_TOPIC)
		snprintf(buf, size, "topic%s%s%s, %s%s", d->addr_kind == SHMQ_ADDR_NAME ?
			 " '" : "", d->addr_kind == SHMQ_ADDR_NAME ? name : "",
			 d->addr_kind == SHMQ_ADDR_NAME ? "'" : "",
			 d->persistent ? "persistent" : "until its publisher closes",
			 d->stale ? ", stale: nobody alive holds it" : "");
	else if (d->kind == SHMQ_KIND_HUB)
		snprintf(buf, size, "hub%s%s%s, %s", d->addr_kind == SHMQ_ADDR_NAME ?
			 " '" : "", d->addr_kind == SHMQ_ADDR_NAME ? name : "",
			 d->addr_kind == SHMQ_ADDR_NAME ? "'" : "",
			 d->stale ? "stale: its server died" : "serving");
	else if (d->addr_kind == SHMQ_ADDR_NAME)
		snprintf(buf, size, "channel '%s', %s%s", name,
			 d->persistent ? "persistent" : "pair",
			 d->stale ? ", stale: creator died waiting" : "");
	else
		snprintf(buf, size, "channel (%s), %s%s",
			 d->addr_kind == SHMQ_ADDR_FTOK ? "ftok" : "key",
			 d->persistent ? "persistent" : "pair",
			 d->stale ? ", stale: creator died waiting" : "");
	return buf;
}

const char *endpoint_words(const struct shmq_desc_endpoint *e, char *buf,
				  size_t size)
{
	switch (e->state) {
	case SHMQ_PEER_ATTACHED:
		snprintf(buf, size, "pid %d (%s)", (int)e->pid,
			 shmq_pid_state_name(e->pid_state));
		break;
	case SHMQ_PEER_CLOSED:
		snprintf(buf, size, "closed by pid %d", (int)e->pid);
		break;
	case SHMQ_PEER_ABANDONED:
		snprintf(buf, size, "abandoned by pid %d", (int)e->pid);
		break;
	case SHMQ_PEER_SEALED:
		snprintf(buf, size, "sealed: its creator gave up waiting");
		break;
	default:
		snprintf(buf, size, "free");
	}
	return buf;
}

static void json_desc(struct json *j, const struct shmq_desc *d, int r)
{
	char buf[96];
	int i;

	if (r) {
		json_null(j, "shmq");
		return;
	}
	json_open(j, "shmq", '{');
	json_str(j, "kind", shmq_kind_name(d->kind));
	if (d->kind == SHMQ_KIND_LIFE) {
		json_bool(j, "stale", d->stale);
		json_int(j, "creator_pid", d->creator_pid);
		json_str(j, "creator", shmq_pid_state_name(d->creator_state));
		json_close(j, '}');
		return;
	}
	snprintf(buf, sizeof(buf), "%u.%u", d->major, d->minor);
	json_str(j, "layout", buf);
	json_bool(j, "ready", d->ready);
	json_bool(j, "stale", d->stale);
	json_str(j, "lifetime", d->kind == SHMQ_KIND_HUB ? "server" :
		 d->persistent ? "persistent" : "pair");
	if (d->addr_kind == SHMQ_ADDR_NAME)
		json_str(j, "name", d->name);
	else
		json_null(j, "name");
	json_int(j, "creator_pid", d->creator_pid);
	json_str(j, "creator", shmq_pid_state_name(d->creator_state));
	json_open(j, "rings", '[');
	for (i = 0; i < 2; i++) {
		json_open(j, NULL, '{');
		json_uint(j, "capacity", d->capacity[i]);
		json_uint(j, "queued", d->queued[i]);
		json_close(j, '}');
	}
	json_close(j, ']');
	json_open(j, "endpoints", '[');
	for (i = 0; i < 2; i++) {
		static const char *const st[] = { "free", "attached", "closed", "abandoned",
						  "free", "sealed" };
		unsigned e = (unsigned)d->ep[i].state;

		json_open(j, NULL, '{');
		json_str(j, "state", st[e < 6 ? e : 0]);
		json_int(j, "pid", d->ep[i].pid);
		if (d->ep[i].state == SHMQ_PEER_ATTACHED)
			json_str(j, "process", shmq_pid_state_name(d->ep[i].pid_state));
		json_close(j, '}');
	}
	json_close(j, ']');
	json_close(j, '}');
}

static void json_segment(struct json *j, const struct shmq_seg_info *s)
{
	char buf[64];

	snprintf(buf, sizeof(buf), "0x%08x", (uint32_t)s->key);
	json_str(j, "key", buf);
	json_int(j, "shmid", s->shmid);
	json_uint(j, "size", s->size);
	json_str(j, "owner", user_name(s->uid, buf, sizeof(buf)));
	json_uint(j, "uid", s->uid);
	json_str(j, "group", group_name(s->gid, buf, sizeof(buf)));
	json_uint(j, "gid", s->gid);
	json_uint(j, "cuid", s->cuid);
	json_uint(j, "cgid", s->cgid);
	snprintf(buf, sizeof(buf), "%04o", s->mode);
	json_str(j, "mode", buf);
	json_uint(j, "nattch", s->nattch);
	json_int(j, "cpid", s->cpid);
	json_str(j, "creator", shmq_pid_state_name(creator_state(s)));
	json_int(j, "lpid", s->lpid);
	json_int(j, "atime", s->atime);
	json_int(j, "dtime", s->dtime);
	json_int(j, "ctime", s->ctime);
	json_bool(j, "removed", s->removed);
	json_bool(j, "locked", s->locked);
	json_str(j, "status", status_words(s, buf, sizeof(buf)));
	if (s->rss >= 0)
		json_int(j, "rss", s->rss);
	else
		json_null(j, "rss");
	if (s->swap >= 0)
		json_int(j, "swap", s->swap);
	else
		json_null(j, "swap");
}

/*
 * What kind of segment, for ls --kind: "channel", "hub", "life" (a
 * process's life token), "classic", "other".
 */
static const char *kind_of(const struct shmq_seg_info *s, const struct shmq_desc *d, int dr)
{
	if (dr == 0 && d->ready && d->kind == SHMQ_KIND_HUB)
		return "hub";
	if (dr == 0 && d->kind == SHMQ_KIND_LIFE)
		return "life";
	if (dr == 0 && d->ready && d->kind == SHMQ_KIND_TOPIC)
		return "topic";
	if (dr == 0 || dr == -EBADMSG || dr == -EPROTONOSUPPORT)
		return "channel";	/* a channel, or shmq's in some state */
	if (s->size == CLASSIC_SIZE)
		return "classic";
	return "other";
}

struct ls_filter {
	const char *kind;	/* NULL: any */
	int shmq_only;
	int by_owner;
	uid_t owner;
};

static int wanted(const struct ls_filter *f, const struct shmq_seg_info *s,
		  const struct shmq_desc *d, int dr)
{
	const char *k = kind_of(s, d, dr);

	if (f->shmq_only && (!strcmp(k, "classic") || !strcmp(k, "other")))
		return 0;
	if (f->kind && strcmp(f->kind, k))
		return 0;
	return !f->by_owner || s->uid == f->owner;
}

static void ls_json(const struct shmq_seg_info *v, size_t n, const struct ls_filter *f)
{
	struct json j;
	size_t i;

	json_start(&j, stdout);
	json_open(&j, NULL, '[');
	for (i = 0; i < n; i++) {
		struct shmq_desc d;
		int dr = shmq_describe(v[i].shmid, &d);

		if (!wanted(f, &v[i], &d, dr))
			continue;
		json_open(&j, NULL, '{');
		json_segment(&j, &v[i]);
		json_str(&j, "kind", kind_of(&v[i], &d, dr));
		json_desc(&j, &d, dr);
		json_close(&j, '}');
	}
	json_close(&j, ']');
	json_end(&j);
}

static int run_ls(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "bytes", no_argument, NULL, 'b' },
		{ "shmq", no_argument, NULL, 'q' },
		{ "kind", required_argument, NULL, 'k' },
		{ "owner", required_argument, NULL, 'o' },
		{ 0 }
	};
	static const char *const head[] = {
		"KEY", "ID", "SIZE", "OWNER", "MODE", "ATT", "CREATOR", "STATUS", "SHMQ",
	};
	struct ls_filter f = { 0 };
	struct shmq_seg_info *v;
	struct table t;
	size_t n, i, shown_rows = 0;
	int json = 0, bytes = 0, c, r;

	while ((c = getopt_long(argc, argv, "jbqk:o:", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = 1;
			break;
		case 'b':
			bytes = 1;
			break;
		case 'q':
			f.shmq_only = 1;
			break;
		case 'k':
			if (strcmp(optarg, "channel") && strcmp(optarg, "hub") &&
			    strcmp(optarg, "topic") && strcmp(optarg, "life") &&
			    strcmp(optarg, "classic") && strcmp(optarg, "other"))
				usage_error("invalid --kind '%s' (channel, hub, topic, life, "
					    "classic or other)", optarg);
			f.kind = optarg;
			break;
		case 'o':
			if (parse_user(optarg, &f.owner))
				usage_error("--owner '%s' is neither a user nor a uid", optarg);
			f.by_owner = 1;
			break;
		default:
			bad_option("jbqk:o:", argv);
		}
	}
	if (optind != argc)
		usage_error("takes no arguments");
	r = shmq_seg_list(&v, &n);
	if (r)
		return fail("cannot list segments: %s", shmq_strerror(r));
	if (json) {
		ls_json(v, n, &f);
		free(v);
		return 0;
	}
	table_init(&t, 9, head, "lrrllrlll");
	for (i = 0; i < n; i++) {
		char key[16], id[16], size[32], owner[64], mode[8], att[24];
		char creator[48], status[64], what[512];
		struct shmq_desc d;
		int dr = shmq_describe(v[i].shmid, &d);
		int cs = dr == 0 ? d.creator_state : creator_state(&v[i]);

		if (!wanted(&f, &v[i], &d, dr))
			continue;
		snprintf(key, sizeof(key), "0x%08x", (uint32_t)v[i].key);
		snprintf(id, sizeof(id), "%d", v[i].shmid);
		if (bytes)
			snprintf(size, sizeof(size), "%llu", (unsigned long long)v[i].size);
		else
			human_size(v[i].size, size, sizeof(size));
		user_name(v[i].uid, owner, sizeof(owner));
		snprintf(mode, sizeof(mode), "%04o", v[i].mode);
		snprintf(att, sizeof(att), "%llu", (unsigned long long)v[i].nattch);
		snprintf(creator, sizeof(creator), "%d %s", (int)v[i].cpid,
			 shmq_pid_state_name(cs));
		table_row(&t, key, id, size, owner, mode, att, creator,
			  status_words(&v[i], status, sizeof(status)),
			  shmq_words(&d, dr, v[i].size, what, sizeof(what)));
		shown_rows++;
	}
	if (shown_rows)
		table_print(&t, stdout);
	else
		printf(n ? "no segments match\n" : "no shared memory segments\n");
	table_free(&t);
	free(v);
	return 0;
}

/* The /proc listing knows rss and swap; stat alone does not. */
static void fill_usage(struct shmq_seg_info *s)
{
	struct shmq_seg_info *v;
	size_t n, i;

	if (shmq_seg_list(&v, &n))
		return;
	for (i = 0; i < n; i++)
		if (v[i].shmid == s->shmid) {
			s->rss = v[i].rss;
			s->swap = v[i].swap;
		}
	free(v);
}

/* A topic's subscribers, one line each (or a JSON array). */
static void topic_subscribers(int shmid, struct json *j)
{
	struct shmq_subscriber_desc *v = calloc(4096, sizeof(*v));
	size_t n = 0, i;

	if (!v || shmq_describe_subscribers(shmid, v, 4096, &n)) {
		free(v);
		return;
	}
	if (n > 4096)
		n = 4096;
	if (j)
		json_open(j, "subscribers", '[');
	else
		printf("subscribers (slot, pid, state, policy, next seq, lag, lost):\n");
	for (i = 0; i < n; i++) {
		const struct shmq_subscriber_desc *d = &v[i];
		const char *st = d->evicted ? "evicted" : d->state == SHMQ_PEER_ATTACHED ?
			shmq_pid_state_name(d->pid_state) : d->state == SHMQ_PEER_CLOSED ?
			"closed" : d->state == SHMQ_PEER_NONE ? "free" : "gone";

		if (!j) {
			printf("  %4zu  pid %-7d %-9s %-8s next %-10llu lag %-8llu lost %llu\n",
			       d->slot, (int)d->pid, st, d->lossy ? "lossy" : "lossless",
			       (unsigned long long)d->head, (unsigned long long)d->lag,
			       (unsigned long long)d->lost);
			continue;
		}
		json_open(j, NULL, '{');
		json_uint(j, "slot", d->slot);
		json_int(j, "pid", d->pid);
		json_str(j, "state", st);
		json_str(j, "policy", d->lossy ? "lossy" : "lossless");
		json_uint(j, "next_seq", d->head);
		json_uint(j, "lag", d->lag);
		json_uint(j, "lost", d->lost);
		json_close(j, '}');
	}
	if (j)
		json_close(j, ']');
	free(v);
}

static int run_stat(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ 0 }
	};
	struct shmq_seg_info s;
	struct shmq_desc d;
	char b1[64], b2[64], b3[128];
	int json = 0, c, r, shmid, dr, i;

	while ((c = getopt_long(argc, argv, "j", opts, NULL)) != -1) {
		if (c == 'j')
			json = 1;
		else
			bad_option("j", argv);
	}
	if (optind + 1 != argc)
		usage_error("takes one address");
	if (resolve_shmid(argv[optind], &shmid))
		return 1;
	r = shmq_seg_stat(shmid, &s);
	if (r == -EINVAL || r == -EIDRM)
		return fail("%s: no such segment", argv[optind]);
	if (r)
		return fail("%s: %s", argv[optind], shmq_strerror(r));
	fill_usage(&s);
	dr = shmq_describe(shmid, &d);
	if (json) {
		struct json j;

		json_start(&j, stdout);
		json_open(&j, NULL, '{');
		json_str(&j, "address", argv[optind]);
		json_segment(&j, &s);
		json_desc(&j, &d, dr);
		if (dr == 0 && d.kind == SHMQ_KIND_TOPIC)
			topic_subscribers(shmid, &j);
		json_close(&j, '}');
		json_end(&j);
		return 0;
	}
	printf("address   %s\n", argv[optind]);
	printf("key       0x%08x%s\n", (uint32_t)s.key,
	       s.key == IPC_PRIVATE ? " (private: removed, or never had a key)" : "");
	printf("id        %d\n", s.shmid);
	printf("size      %s (%llu bytes)\n", human_size(s.size, b1, sizeof(b1)),
	       (unsigned long long)s.size);
	printf("mode      %04o\n", s.mode);
	printf("owner     %s (uid %u), group %s (gid %u)\n",
	       user_name(s.uid, b1, sizeof(b1)), (unsigned)s.uid,
	       group_name(s.gid, b2, sizeof(b2)), (unsigned)s.gid);
	printf("creator   %s (uid %u), group %s (gid %u), pid %d (%s)\n",
	       user_name(s.cuid, b1, sizeof(b1)), (unsigned)s.cuid,
	       group_name(s.cgid, b2, sizeof(b2)), (unsigned)s.cgid,
	       (int)s.cpid, shmq_pid_state_name(creator_state(&s)));
	printf("attached  %llu\n", (unsigned long long)s.nattch);
	printf("last pid  %d\n", (int)s.lpid);
	printf("status    %s\n", status_words(&s, b3, sizeof(b3)));
	printf("attach    %s\n", iso_time(s.atime, b1, sizeof(b1)));
	printf("detach    %s\n", iso_time(s.dtime, b2, sizeof(b2)));
	printf("change    %s\n", iso_time(s.ctime, b3, sizeof(b3)));
	if (s.rss >= 0)
		printf("resident  %s\n", human_size((uint64_t)s.rss, b1, sizeof(b1)));
	if (s.swap >= 0)
		printf("swapped   %s\n", human_size((uint64_t)s.swap, b1, sizeof(b1)));
	if (dr == -EPROTO)
		printf("shmq      no: not a shmq segment\n");
	if (dr == -EPROTO || (dr && dr != -EBADMSG && dr != -EPROTONOSUPPORT))
		return 0;
	printf("shmq      %s\n", shmq_words(&d, dr, s.size, b3, sizeof(b3)));
	if (dr || !d.ready || d.kind == SHMQ_KIND_LIFE)
		return 0;
	printf("layout    %u.%u\n", d.major, d.minor);
	printf("created   %s by pid %d (%s), uid %u, mode %04o\n",
	       iso_time(d.created, b1, sizeof(b1)), (int)d.creator_pid,
	       shmq_pid_state_name(d.creator_state), (unsigned)d.creator_uid, d.mode);
	if (d.kind == SHMQ_KIND_TOPIC) {
		char cmd[1024];

		printf("publisher %s\n", endpoint_words(&d.ep[0], b3, sizeof(b3)));
		/* Which program: a bridge names its remote endpoint there. */
		if (d.ep[0].state == SHMQ_PEER_ATTACHED &&
		    (d.ep[0].pid_state == SHMQ_PID_ALIVE || d.ep[0].pid_state == SHMQ_PID_STOPPED) &&
		    command_line(d.ep[0].pid, cmd, sizeof(cmd)))
			printf("          running: %s\n", cmd);
		printf("messages  %llu published; a ring of %s, a table of %llu "
		       "subscriber slots\n", (unsigned long long)d.queued[0],
		       human_size(d.capacity[0], b1, sizeof(b1)),
		       (unsigned long long)(d.capacity[1] / 128));
		topic_subscribers(shmid, NULL);
		return 0;
	}
	if (d.kind == SHMQ_KIND_HUB) {
		printf("server    %s\n", endpoint_words(&d.ep[0], b3, sizeof(b3)));
		printf("clients   each on its own channel: %s to the client, %s "
		       "back\n", human_size(d.capacity[0], b1, sizeof(b1)),
		       human_size(d.capacity[1], b2, sizeof(b2)));
		return 0;
	}
	for (i = 0; i < 2; i++) {
		printf("ring %d>%d  %s, %s queued\n", i, 1 - i,
		       human_size(d.capacity[i], b1, sizeof(b1)),
		       human_size(d.queued[i], b2, sizeof(b2)));
	}
	for (i = 0; i < 2; i++)
		printf("end %d     %s\n", i, endpoint_words(&d.ep[i], b3, sizeof(b3)));
	return 0;
}

/*
 * A classic recipe's leftover: 20 bytes, nobody attached, its creator
 * proven gone, and nothing in it but what the protocol writes ("ping",
 * "pong", or "end" over one of them).  All zeroes could be anyone's.  Only such a segment is
 * attached to look (read-only), so others' segments stay untouched.
 */
static int classic_leftover(const struct shmq_seg_info *s)
{
	static const char zero[CLASSIC_SIZE - 4];
	unsigned char b[CLASSIC_SIZE];
	int st;
	void *p;

	if (s->size != CLASSIC_SIZE || s->nattch || s->removed)
		return 0;
	st = shmq_pid_state(s->cpid, s->ctime);
	if (st != SHMQ_PID_DEAD && st != SHMQ_PID_ZOMBIE)
		return 0;
	if (shmq_seg_attach(s->shmid, SHMQ_SEG_RDONLY, &p))
		return 0;
	memcpy(b, p, sizeof(b));
	shmq_seg_detach(p);
	if (memcmp(b + 4, zero, sizeof(zero)))
		return 0;
	return !memcmp(b, "ping", 4) || !memcmp(b, "pong", 4) || !memcmp(b, "end", 4);
}

/*
 * The command line of process @pid, its arguments joined by spaces and
 * escaped for the terminal, in @buf: 1, or 0 if it cannot be read.
 */
static int command_line(pid_t pid, char *buf, size_t size)
{
	char path[64], raw[1024];
	ssize_t n, i;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, raw, sizeof(raw) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	while (n > 0 && raw[n - 1] == 0)
		n--;
	for (i = 0; i < n; i++)
		if (raw[i] == 0)
			raw[i] = ' ';
	raw[n] = 0;
	escape_text(raw, 0, buf, size);
	return 1;
}

/* Why clean keeps a shmq segment: the decision --dry-run explains. */
static const char *kept_why(const struct shmq_desc *d, int r, char *buf, size_t size)
{
	const struct shmq_desc_endpoint *e = &d->ep[0];
	char who[96];

	if (r == -EBADMSG)
		return "corrupted: clean removes only what is proven dead";
	if (r)
		return "cannot be read from here: left alone";
	endpoint_words(e, who, sizeof(who));
	if (!d->ready)
		snprintf(buf, size, "being set up; its creator (as the kernel recorded it) "
			 "is %s", shmq_pid_state_name(d->creator_state));
	else if (d->kind == SHMQ_KIND_HUB)
		snprintf(buf, size, "its server is %s", who);
	else if (d->persistent)
		snprintf(buf, size, "persistent: kept until removed with shmq rm");
	else if (d->ep[1].state != SHMQ_PEER_NONE)
		snprintf(buf, size, "both ends joined; the kernel frees it when both are gone");
	else
		snprintf(buf, size, "its creator, waiting for a peer, is %s", who);
	return buf;
}

static int run_clean(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dry-run", no_argument, NULL, 'n' },
		{ 0 }
	};
	struct shmq_seg_info *v;
	size_t n, i;
	int dry = 0, failed = 0, found = 0, c, r;

	while ((c = getopt_long(argc, argv, "n", opts, NULL)) != -1) {
		if (c == 'n')
			dry = 1;
		else
			bad_option("n", argv);
	}
	if (optind != argc)
		usage_error("takes no arguments");
	r = shmq_seg_list(&v, &n);
	if (r)
		return fail("cannot list segments: %s", shmq_strerror(r));
	for (i = 0; i < n; i++) {
		struct shmq_desc d;
		char what[512];
		int dr = shmq_describe(v[i].shmid, &d);

		if (dr == -EPROTO && classic_leftover(&v[i])) {
			snprintf(what, sizeof(what), "classic ping-pong, its creator "
				 "pid %d died", (int)v[i].cpid);
		} else if (dr || !d.stale) {
			char why[256];

			/* A shmq segment kept: say why, when asked to explain. */
			if (dry && (dr == 0 || dr == -EBADMSG))
				printf("kept id:%d (%s): %s\n", v[i].shmid,
				       shmq_words(&d, dr, v[i].size, what, sizeof(what)),
				       kept_why(&d, dr, why, sizeof(why)));
			continue;
		}
		else
			shmq_words(&d, 0, v[i].size, what, sizeof(what));
		found++;
		if (dry) {
			printf("would remove id:%d (%s)\n", v[i].shmid, what);
			continue;
		}
		r = shmq_seg_remove(v[i].shmid);
		if (r == 0)
			printf("removed id:%d (%s)\n", v[i].shmid, what);
		else
			failed |= fail("id:%d: %s", v[i].shmid,
				       r == -EPERM ? "permission denied" : shmq_strerror(r));
	}
	if (!found)
		printf("no stale shmq segments\n");
	free(v);
	return failed;
}

/*
 * A name's key (or an ftok key) can hold the channel of another name or
 * file: a collision, as an opener refuses it.  Removing it by this
 * address would remove someone else's channel: refuse, and say how to
 * remove it if that is what is meant.
 */
static int made_for_another(const struct shmq_addr *a, int shmid, const char *text)
{
	struct shmq_desc d;
	char buf[4 * SHMQ_NAME_MAX + 8];

	if ((a->kind != SHMQ_ADDR_NAME && a->kind != SHMQ_ADDR_FTOK) ||
	    shmq_describe(shmid, &d) != 0 || !d.ready)
		return 0;
	if (a->kind == SHMQ_ADDR_NAME && d.addr_kind == SHMQ_ADDR_NAME &&
	    strcmp(d.name, a->name) != 0) {
		fail("%s: the segment at its key (id:%d) is the channel of the name '%s'; "
		     "rm id:%d removes it", text, shmid, shown(d.name, buf, sizeof(buf)), shmid);
		return 1;
	}
	if (d.addr_kind != a->kind || (a->kind == SHMQ_ADDR_FTOK &&
				       (d.dev != a->dev || d.ino != a->ino || d.proj != a->proj))) {
		fail("%s: the segment at its key (id:%d) was made for another %s; "
		     "rm id:%d removes it", text, shmid,
		     a->kind == SHMQ_ADDR_FTOK ? "file" : "address", shmid);
		return 1;
	}
	return 0;
}

static int remove_one(const char *text, int force)
{
	struct shmq_seg_info s;
	struct shmq_addr a;
	int shmid, r;

	if (parse_addr_or_fail(text, &a))
		return 1;
	r = shmq_seg_open(&a, &shmid);
	if (r == -ENOENT) {
		char ids[256] = "";

		/* A live pair at this name (its key is gone): as stat finds it. */
		r = find_removed_by_name(&a, &shmid, ids, sizeof(ids));
		if (r == -EEXIST)
			return fail("%s: several live channels were made at this name (%s): "
				    "name one by its id", text, ids);
		if (r)
			return fail("%s: no such segment", text);
	}
	if (r)
		return fail("%s: %s", text, shmq_strerror(r));
	r = shmq_seg_stat(shmid, &s);
	if (r == -EINVAL || r == -EIDRM)
		return fail("%s: no such segment", text);
	/* Without read access stat fails, but removal may still be ours. */
	if (r == 0 && s.removed)
		return fail("%s: already removed (%llu attachment(s) remain; the "
			    "kernel frees it at the last detach)", text,
			    (unsigned long long)s.nattch);
	if (r == 0 && s.nattch && !force)
		return fail("%s: in use by %llu attachment(s); --force removes it "
			    "anyway (attached processes keep their mapping)", text,
			    (unsigned long long)s.nattch);
	if (r == 0 && made_for_another(&a, shmid, text))
		return 1;
	{
		int known = r == 0;	/* what stat said, if it could say */

		r = shmq_seg_remove(shmid);
		if ((r == -EPERM || r == -EACCES) && known)
			return fail("%s: permission denied (owned by uid %u, created by "
				    "uid %u)", text, (unsigned)s.uid, (unsigned)s.cuid);
		if (r == -EPERM || r == -EACCES)
			return fail("%s: permission denied (not yours, nor readable "
				    "to say whose)", text);
	}
	if (r == -EINVAL || r == -EIDRM)
		return fail("%s: no such segment", text);
	if (r)
		return fail("%s: %s", text, shmq_strerror(r));
	return 0;
}

static int run_rm(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "force", no_argument, NULL, 'f' },
		{ 0 }
	};
	int force = 0, failed = 0, c, i;

	while ((c = getopt_long(argc, argv, "f", opts, NULL)) != -1) {
		if (c == 'f')
			force = 1;
		else
			bad_option("f", argv);
	}
	if (optind == argc)
		usage_error("needs at least one address");
	for (i = optind; i < argc; i++)
		failed |= remove_one(argv[i], force);
	return failed;
}

static int run_create(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "size", required_argument, NULL, 's' },
		{ "mode", required_argument, NULL, 'm' },
		{ "excl", no_argument, NULL, 'x' },
		{ 0 }
	};
	struct shmq_seg_info s;
	struct shmq_addr a;
	uint64_t size = 0, mode = 0600;
	char buf[32], *end;
	int excl = 0, mode_given = 0, c, r, shmid;

	while ((c = getopt_long(argc, argv, "s:m:x", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (parse_size(optarg, &size) || size == 0)
				usage_error("invalid size '%s'", optarg);
			break;
		case 'm':
			mode = strtoull(optarg, &end, 8);
			if (*end || !*optarg || mode > 0777)
				usage_error("invalid mode '%s' (octal, such as 0640)", optarg);
			mode_given = 1;
			break;
		case 'x':
			excl = 1;
			break;
		default:
			bad_option("s:m:x", argv);
		}
	}
	if (optind + 1 != argc)
		usage_error("takes one address");
	if (!size)
		usage_error("--size is required");
	if (parse_addr_or_fail(argv[optind], &a))
		return 1;
	if (a.kind == SHMQ_ADDR_ID)
		usage_error("an id names an existing segment; create needs a "
			    "NAME, ftok: or key: address");
	r = shmq_seg_create(&a, size, (unsigned)mode, SHMQ_SEG_EXCL, &shmid);
	if (r == -EEXIST && !excl) {
		r = shmq_seg_open(&a, &shmid);
		if (!r && !(r = shmq_seg_stat(shmid, &s)))
			printf("exists: id:%d key:0x%08x size %s mode %04o\n", shmid,
			       (uint32_t)a.key, human_size(s.size, buf, sizeof(buf)),
			       s.mode);
		if (!r && s.size < size)
			return fail("%s: exists with %llu bytes, fewer than asked",
				    argv[optind], (unsigned long long)s.size);
		/* A mode asked for and not had is not success. */
		if (!r && mode_given && s.mode != mode)
			return fail("%s: exists with mode %04o, not the %04o asked for "
				    "(remove it first to change it)", argv[optind], s.mode,
				    (unsigned)mode);
	} else if (r == 0) {
		printf("created: id:%d key:0x%08x size %s mode %04o\n", shmid,
		       (uint32_t)a.key, human_size(size, buf, sizeof(buf)),
		       (unsigned)mode);
	}
	if (r == -EEXIST)
		return fail("%s: already exists", argv[optind]);
	if (r == -EINVAL)
		return fail("%s: invalid size %llu (beyond the kernel's SHMMAX?)",
			    argv[optind], (unsigned long long)size);
	if (r == -EACCES)
		return fail("%s: permission denied", argv[optind]);
	if (r)
		return fail("%s: %s", argv[optind], shmq_strerror(r));
	return 0;
}

const struct cmd ls_command = {
	.name = "ls",
	.run = run_ls,
	.synopsis = "[--json] [--bytes] [--shmq] [--kind KIND] [--owner USER]",
	.summary = "list every shared memory segment on the host",
	.help =
	"Lists every System V shared memory segment, as ipcs -m does, with the\n"
	"creator's pid and whether it is alive, a plain-words status, and for\n"
	"shmq segments their kind and name (anything read from a segment is\n"
	"shown with control characters and non-UTF-8 bytes escaped).  Only\n"
	"segments whose size a shmq segment can have are attached to look.\n"
	"\n"
	"  -j, --json          one JSON object per segment, in an array\n"
	"  -b, --bytes         sizes in bytes\n"
	"  -q, --shmq          shmq's segments only\n"
	"  -k, --kind KIND     channel, hub, topic, life (a process's life token),\n"
	"                      classic (the classic recipe's 20-byte size)\n"
	"                      or other\n"
	"  -o, --owner USER    segments owned by USER (a name or a uid)\n",
};

const struct cmd stat_command = {
	.name = "stat",
	.takes_address = 1,
	.run = run_stat,
	.synopsis = "ADDR [--json]",
	.summary = "show one segment in full",
	.help =
	"Shows every field the kernel keeps for the segment at ADDR, and for a\n"
	"shmq segment its kind, name, ends and rings.\n"
	"\n"
	"  -j, --json    the same as a JSON object\n",
};

const struct cmd rm_command = {
	.name = "rm",
	.takes_address = 1,
	.run = run_rm,
	.synopsis = "[--force] ADDR...",
	.summary = "remove segments",
	.help =
	"Marks each segment for removal; the kernel frees it at the last\n"
	"detach.  A segment with live attachments is refused unless --force.\n"
	"Keeps going past a failure; exits 1 if any failed.\n"
	"\n"
	"  -f, --force    remove even if processes are attached\n",
};

const struct cmd create_command = {
	.name = "create",
	.takes_address = 1,
	.run = run_create,
	.synopsis = "ADDR --size N [--mode 0640] [--excl]",
	.summary = "create a plain segment (for the classic ftok recipe)",
	.help =
	"Creates a plain segment of N bytes (suffixes K, M, G: powers of 1024).\n"
	"An existing segment is reported and left alone (exit 0), unless it is\n"
	"smaller, or has another mode than a --mode asked for (exit 1), or\n"
	"--excl.\n"
	"\n"
	"  -s, --size N     size in bytes (required)\n"
	"  -m, --mode MODE  permission bits in octal (default 0600)\n"
	"  -x, --excl       fail if the segment exists\n",
};

const struct cmd clean_command = {
	.name = "clean",
	.run = run_clean,
	.synopsis = "[--dry-run]",
	.summary = "remove shmq segments left by processes that died",
	.help =
	"Removes shmq segments nobody can use any more: a channel whose creator\n"
	"died before anyone joined, or before it finished setting up (a live\n"
	"creator's is never stale, however long it takes), a hub whose server\n"
	"died, and a classic recipe's 20-byte segment whose creator died, that\n"
	"nobody has attached and that holds nothing but \"ping\", \"pong\" or\n"
	"\"end\", and a life token left by a process killed while making it.\n"
	"Other segments, and persistent channels, are never touched.  Only what\n"
	"is proven dead goes, from any PID namespace: a process this one cannot\n"
	"see is judged by its life token, and one that cannot be judged is kept.\n"
	"\n"
	"  -n, --dry-run    say what would be removed and, for each shmq segment\n"
	"                   kept, why; remove nothing\n",
};
