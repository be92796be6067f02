/* SPDX-License-Identifier: MIT */
/* shmq ls, stat, rm, create: segments, in the spirit of ipcs and ipcrm. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <unistd.h>

#include "cli.h"

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

int cmd_ls(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ 0 }
	};
	static const char *const head[] = {
		"KEY", "ID", "SIZE", "OWNER", "MODE", "ATT", "CREATOR", "STATUS",
	};
	struct shmq_seg_info *v;
	struct table t;
	size_t n, i;
	int json = 0, c, r;

	while ((c = getopt_long(argc, argv, "j", opts, NULL)) != -1) {
		if (c == 'j')
			json = 1;
		else
			usage_error("unknown option");
	}
	if (optind != argc)
		usage_error("takes no arguments");
	r = shmq_seg_list(&v, &n);
	if (r)
		return fail("cannot list segments: %s", shmq_strerror(r));
	if (json) {
		struct json j;

		json_start(&j, stdout);
		json_open(&j, NULL, '[');
		for (i = 0; i < n; i++) {
			json_open(&j, NULL, '{');
			json_segment(&j, &v[i]);
			json_close(&j, '}');
		}
		json_close(&j, ']');
		json_end(&j);
		free(v);
		return 0;
	}
	table_init(&t, 8, head, "lrrllrll");
	for (i = 0; i < n; i++) {
		char key[16], id[16], size[32], owner[64], mode[8], att[24];
		char creator[48], status[64];

		snprintf(key, sizeof(key), "0x%08x", (uint32_t)v[i].key);
		snprintf(id, sizeof(id), "%d", v[i].shmid);
		human_size(v[i].size, size, sizeof(size));
		user_name(v[i].uid, owner, sizeof(owner));
		snprintf(mode, sizeof(mode), "%04o", v[i].mode);
		snprintf(att, sizeof(att), "%llu", (unsigned long long)v[i].nattch);
		snprintf(creator, sizeof(creator), "%d %s", (int)v[i].cpid,
			 shmq_pid_state_name(creator_state(&v[i])));
		table_row(&t, key, id, size, owner, mode, att, creator,
			  status_words(&v[i], status, sizeof(status)));
	}
	if (n)
		table_print(&t, stdout);
	else
		printf("no shared memory segments\n");
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

int cmd_stat(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ 0 }
	};
	struct shmq_seg_info s;
	char b1[64], b2[64], b3[64];
	int json = 0, c, r, shmid;

	while ((c = getopt_long(argc, argv, "j", opts, NULL)) != -1) {
		if (c == 'j')
			json = 1;
		else
			usage_error("unknown option");
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
	if (json) {
		struct json j;

		json_start(&j, stdout);
		json_open(&j, NULL, '{');
		json_str(&j, "address", argv[optind]);
		json_segment(&j, &s);
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
	if (r == -ENOENT)
		return fail("%s: no such segment", text);
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
	r = shmq_seg_remove(shmid);
	if (r == -EPERM || r == -EACCES)
		return fail("%s: permission denied (owned by uid %u, created by "
			    "uid %u)", text, (unsigned)s.uid, (unsigned)s.cuid);
	if (r == -EINVAL || r == -EIDRM)
		return fail("%s: no such segment", text);
	if (r)
		return fail("%s: %s", text, shmq_strerror(r));
	return 0;
}

int cmd_rm(int argc, char **argv)
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
			usage_error("unknown option");
	}
	if (optind == argc)
		usage_error("needs at least one address");
	for (i = optind; i < argc; i++)
		failed |= remove_one(argv[i], force);
	return failed;
}

int cmd_create(int argc, char **argv)
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
	int excl = 0, c, r, shmid;

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
			break;
		case 'x':
			excl = 1;
			break;
		default:
			usage_error("unknown option");
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
