/* SPDX-License-Identifier: MIT */
/* The shmq command: shared helpers.  Uses the public header only. */
#ifndef SHMQ_CLI_H
#define SHMQ_CLI_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include "shmq.h"
#include "clock.h"

/* Exit statuses: 0 success, 1 failure, 2 usage error. */
#define EXIT_USAGE 2

struct cmd {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *synopsis;	/* after "shmq NAME " */
	const char *summary;	/* one line for `shmq --help` */
	const char *help;	/* the body of `shmq NAME --help` */
	int takes_address;	/* its help explains the address forms */
};

extern const char *cli_cmd;	/* the running command, for messages */

/* "shmq: CMD: message" on stderr; returns 1 (the failure status). */
__attribute__((format(printf, 1, 2))) int fail(const char *fmt, ...);
/* A usage error: one line, with a hint; exit 2. */
__attribute__((noreturn, format(printf, 1, 2))) void usage_error(const char *fmt, ...);
/* getopt_long() returned '?' (opterr is off): say which option, and exit 2. */
__attribute__((noreturn)) void bad_option(const char *shortopts, char **argv);
/* Print `shmq CMD --help` text and exit 0. */
__attribute__((noreturn)) void print_help(const struct cmd *c);
__attribute__((noreturn)) void print_version(void);
const struct cmd *find_cmd(const char *name);

/* Parse an address, or say in one line what is wrong with it (-errno). */
int parse_addr_or_fail(const char *text, struct shmq_addr *a);
/* The shmid at an address; prints the failure and returns -errno. */
int resolve_shmid(const char *text, int *shmid);
int find_removed_by_name(const struct shmq_addr *a, int *shmid, char *ids, size_t size);
/* seg.c: an end of a shmq segment in words ("pid 12 (alive)", "free"). */
const char *endpoint_words(const struct shmq_desc_endpoint *e, char *buf, size_t size);

/* "1.5 MiB" from a byte count. */
const char *human_size(uint64_t n, char *buf, size_t size);
/* "64K", "1M", "4096", "1.5G" -> bytes; -1 if invalid. */
int parse_size(const char *s, uint64_t *out);
/* "100ms", "2s", "1.5", "250us" -> ns (bare numbers are seconds). */
int parse_duration(const char *s, int64_t *ns);
int parse_uint(const char *s, uint64_t max, uint64_t *out);
const char *user_name(unsigned uid, char *buf, size_t size);
/* A user name or a uid, as util-linux takes them: 0, or -1. */
int parse_user(const char *s, uid_t *uid);
const char *group_name(unsigned gid, char *buf, size_t size);
const char *iso_time(int64_t t, char *buf, size_t size);

/*
 * What came from a segment (or anyone else), made safe to print: control
 * characters (C0, DEL, C1) and bytes that are not UTF-8 become visible
 * escapes (\xNN; in JSON, \u00NN and the text \\xNN), so a crafted name
 * can neither drive the terminal nor break the JSON.  escape_text()
 * returns the length written (truncated to fit @size); shown() the text.
 */
size_t escape_text(const char *in, int json, char *out, size_t size);
const char *shown(const char *in, char *buf, size_t size);

/* A minimal JSON writer, enough for flat records and arrays of them. */
struct json {
	FILE *f;
	int depth;
	int first[16];
};
void json_start(struct json *j, FILE *f);
void json_open(struct json *j, const char *key, char bracket);
void json_close(struct json *j, char bracket);
void json_str(struct json *j, const char *key, const char *v);
void json_int(struct json *j, const char *key, long long v);
void json_uint(struct json *j, const char *key, unsigned long long v);
void json_num(struct json *j, const char *key, double v);
void json_bool(struct json *j, const char *key, int v);
void json_null(struct json *j, const char *key);
void json_end(struct json *j);

/*
 * Signals: SIGINT, SIGTERM and SIGHUP set cli_signal (no SA_RESTART, so
 * blocking calls return); SIGPIPE is ignored, so writes fail with EPIPE.
 */
#include <signal.h>
extern volatile sig_atomic_t cli_signal;
void catch_signals(void);
/* The status a command should exit with after cli_signal: 128 + signal. */
int signal_status(void);

/*
 * Options every channel command shares.  @role fixes the side of a
 * persistent channel (a sender always produces into the stream receivers
 * consume); @peer names who is waited for, in the sign of life.
 */
enum { ROLE_SENDER = 1, ROLE_RECEIVER = 2 };
struct chan_opts {
	int wait;		/* enum shmq_wait_mode */
	const char *wait_opt;	/* the option that set it, to catch a second */
	int64_t timeout_ns;	/* for the peer and for each wait; <0 forever */
	size_t capacity;	/* both directions; 0: default */
	int persistent;
	uid_t trust[16];	/* --trust-uid */
	size_t ntrust;
	unsigned mode;		/* 0: the library's 0600 */
	int connect;		/* a hub's client: wait for it, never create */
	int role;		/* ROLE_SENDER, ROLE_RECEIVER */
	const char *peer;	/* "a receiver", "a pong", ... */
};
#define CHAN_OPTS_INIT(role, peer) \
	{ SHMQ_WAIT_HYBRID, NULL, -1, 0, 0, { 0 }, 0, 0, 0, role, peer }
/* getopt_long entries and their handling, shared by send/recv/ping/pong. */
#define CHAN_LONGOPTS \
	{ "spin", no_argument, NULL, 0x100 }, \
	{ "block", no_argument, NULL, 0x101 }, \
	{ "hybrid", no_argument, NULL, 0x102 }, \
	{ "timeout", required_argument, NULL, 0x103 }, \
	{ "capacity", required_argument, NULL, 0x104 }, \
	{ "persistent", no_argument, NULL, 0x105 }, \
	{ "trust-uid", required_argument, NULL, 0x106 }, \
	{ "mode", required_argument, NULL, 0x107 }, \
	{ "connect", no_argument, NULL, 0x108 }
int chan_option(struct chan_opts *co, int c, const char *arg);
/* Options that contradict each other (@hub: --hub was given): usage errors. */
void check_chan_opts(const struct chan_opts *co, int hub);
/* --classic with a channel option (all but --timeout): a usage error. */
void classic_takes_no_channel_options(const struct chan_opts *co);
#define CHAN_OPTS_HELP \
	"      --spin          never sleep while waiting (lowest latency)\n" \
	"      --block         sleep at once while waiting (lowest CPU)\n" \
	"      --hybrid        spin briefly, then sleep (the default)\n" \
	"      --timeout T     give up on a peer or a wait after T (100ms, 2s, ...)\n" \
	"      --capacity N    ring size each way when creating (default 1M)\n" \
	"      --persistent    a channel that outlives both ends; senders always\n" \
	"                      take one side and receivers the other\n" \
	"      --trust-uid USER accept a channel created by USER (a name or a uid;\n" \
	"                      repeatable)\n" \
	"      --mode MODE     permissions when creating (default 0600; 0660 shares\n" \
	"                      with the group, whose members are then trusted)\n" \
	"      --connect       the address is a hub (shmq pong --hub): wait for its\n" \
	"                      server and never create a channel there (a hub that\n" \
	"                      is already up is found without it)\n"
/* A topic's geometry options (pub, sub, bridge), beyond the channel ones. */
#define TOPIC_LONGOPTS \
	{ "slots", required_argument, NULL, 0x200 }, \
	{ "slot-size", required_argument, NULL, 0x201 }, \
	{ "max-subscribers", required_argument, NULL, 0x202 }
#define TOPIC_GEOMETRY_HELP \
	"      --slots N       when creating: messages the ring holds (a power\n" \
	"                      of two; default 512)\n" \
	"      --slot-size N   when creating: bytes per message, 32 of them its\n" \
	"                      header (a power of two, 64 to 1M; default 2K)\n" \
	"      --max-subscribers N  when creating: subscriber slots (default 1024)\n"
#define TOPIC_OPTS_HELP TOPIC_GEOMETRY_HELP \
	"      --spin          never sleep while waiting (lowest latency)\n" \
	"      --block         sleep at once while waiting (lowest CPU)\n" \
	"      --hybrid        spin briefly, then sleep (the default)\n" \
	"      --timeout T     give up on a wait after T (100ms, 2s, ...)\n" \
	"      --persistent    a topic that outlives its publisher; the next one\n" \
	"                      goes on with the sequence numbers\n" \
	"      --trust-uid USER accept a topic created by USER (repeatable)\n" \
	"      --mode MODE     permissions when creating (default 0600)\n"
/* --slots, --slot-size, --max-subscribers: 1 if @c was one of them. */
int topic_option(struct shmq_topic_options *to, int c, const char *arg);
/* The library's options for @co; a failure's reason goes to @err. */
void chan_options(const struct chan_opts *co, struct shmq_options *o,
		  char *err, size_t errsize);
/* One line for a failed open or hub_open of @addr. */
void open_failure(const char *addr, const struct chan_opts *co, int r,
		  const char *err);
/*
 * Open @addr (parsed first, so its errors are the address's own); on
 * failure print one line and return NULL.  While it waits for the peer,
 * after a second, say so on stderr if that is a terminal.
 */
shmq_t *open_channel(const char *addr, const struct chan_opts *co);
/* Serve a hub at @addr; the same on failure. */
shmq_hub_t *open_hub(const char *addr, const struct chan_opts *co);
/*
 * A sign of life while waiting for a peer: unless stopped within a second,
 * print @fmt (with the command, @who and @addr) on stderr, if that is a
 * terminal.
 */
#include <pthread.h>
struct notice {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t done_cond;
	int done, started;
	char line[256];
};
void notice_start(struct notice *n, const char *fmt, const char *who,
		  const char *addr);
void notice_stop(struct notice *n);
/* One line for a channel error after @count messages; returns 1. */
int channel_failure(const char *addr, const char *verb, int err,
		    unsigned long long count);

/* ping and pong (ping.c), and the classic protocol they may speak (classic.c). */
#define CLASSIC_DEFAULT "ftok:/tmp/example:42"
struct ping_opts {
	uint64_t count;		/* 0: until interrupted */
	size_t size;
	int64_t interval_ns;	/* < 0: not given (1 s, or 0 for --classic) */
	int show;		/* print the first rounds as a conversation */
	int quiet;		/* summary only */
	int text;		/* send "ping", expect "pong" */
	int64_t deadline_ns;	/* -w: stop after this long (0: no limit) */
};
struct hist;
/* The summary; with an interval (> 0) no rate, which would measure pauses. */
void ping_summary(const char *addr, const struct hist *h, size_t size,
		  int64_t elapsed, int64_t interval_ns);
int classic_pong(const char *addr, int64_t timeout_ns, int verbose);
int classic_ping(const char *addr, const struct ping_opts *po, int64_t timeout_ns);

/* The subcommands, each defined (help text included) with its code. */
extern const struct cmd send_command, recv_command, pub_command, sub_command, ping_command, pong_command, demo_command, bench_command, ls_command, stat_command, rm_command, create_command, clean_command, top_command,
	bridge_command;

/* An aligned text table: add rows of strings, then print. */
struct table {
	int ncols;
	const char *const *head;
	const char *align;	/* per column: 'l' or 'r' */
	char **cell;
	size_t nrows, cap;
};
void table_init(struct table *t, int ncols, const char *const *head,
		const char *align);
void table_row(struct table *t, ...);	/* ncols strings */
void table_print(const struct table *t, FILE *f);
void table_free(struct table *t);
#endif
