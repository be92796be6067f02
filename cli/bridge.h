/* SPDX-License-Identifier: MIT */
/*
 * shmq bridge: a topic carried over a network transport.  The transport
 * sits behind struct bridge_engine, so that another one is one more file;
 * bridge_zmq.c is ZeroMQ's (NULL when built without libzmq).
 *
 * Every message travels as one transport message: a 32-byte header (all
 * fields little-endian, as the host's: the bridge runs on x86-64 and
 * arm64 Linux) and the payload.  The importer checks every field before
 * it trusts any: a frame that fails is dropped and counted.
 */
#ifndef SHMQ_CLI_BRIDGE_H
#define SHMQ_CLI_BRIDGE_H

#include <stddef.h>
#include <poll.h>
#include <stdint.h>
#include <sys/types.h>

#define BRIDGE_MAGIC 0x42514853u	/* "SHQB" */
#define BRIDGE_VERSION 2		/* 2: batch frames */
enum bridge_type {
	BRIDGE_DATA = 1,	/* a message: seq is the origin topic's */
	BRIDGE_END = 2,		/* the origin publisher closed: seq = the end */
	BRIDGE_RESET = 3,	/* the origin publisher died: seq = the end */
	BRIDGE_START = 4,	/* an export's first: seq = where it began (its
				 * topic subscription may have been lapped
				 * before its first message: those are lost) */
	BRIDGE_BATCH = 5,	/* messages, each a struct bridge_rec and its
				 * payload; seq = the first one's */
	/* Hubs across hosts: seq is the remote client's id. */
	BRIDGE_HUB_DATA = 6,	/* a message of that client's channel */
	BRIDGE_HUB_END = 7,	/* its channel ended (closed, dropped) */
	BRIDGE_HUB_RESET = 8,	/* it died, or could not be served */
	BRIDGE_HUB_PING = 9,	/* a client side lives (each second) */
};
#define BRIDGE_BATCH_BYTES 65536u	/* an exporter's batch, records and all */
#define BRIDGE_BATCH_MAX 256u		/* messages in one batch */

struct bridge_hdr {
	uint32_t magic;
	uint8_t version;
	uint8_t type;
	uint16_t reserved;	/* 0 */
	uint32_t len;		/* payload bytes after the header */
	uint32_t check;		/* bridge_check() of the rest */
	uint64_t seq;
	uint64_t stream;	/* random per exporter run */
};
_Static_assert(sizeof(struct bridge_hdr) == 32, "bridge header");

static inline uint32_t bridge_check(const struct bridge_hdr *h)
{
	uint64_t x = (h->seq ^ (h->stream * 0x9e3779b97f4a7c15ull)) +
		     ((uint64_t)h->len << 8 | h->type);

	x ^= x >> 29;
	x *= 0xbf58476d1ce4e5b9ull;
	return (uint32_t)(x >> 32) ^ (uint32_t)x;
}

/*
 * What every frame must be, whatever its type: long enough to hold its
 * header, ours (magic, version, reserved), exactly as long as it says,
 * and checked.  The fields are read only after the length says they are
 * there.
 */
static inline int bridge_frame_sound(const struct bridge_hdr *h, ssize_t n)
{
	return n >= (ssize_t)sizeof(*h) && h->magic == BRIDGE_MAGIC &&
	       h->version == BRIDGE_VERSION && h->reserved == 0 &&
	       (size_t)n == sizeof(*h) + h->len && h->check == bridge_check(h);
}

/* One message of a batch frame, before its payload. */
struct bridge_rec {
	uint64_t seq;
	uint32_t len;
	uint32_t check;		/* bridge_rec_check() */
};
_Static_assert(sizeof(struct bridge_rec) == 16, "bridge batch record");

static inline uint32_t bridge_rec_check(uint64_t seq, uint32_t len, uint64_t stream)
{
	uint64_t x = (seq * 0xc2b2ae3d27d4eb4full) ^ stream ^ ((uint64_t)len << 17);

	x ^= x >> 31;
	x *= 0x94d049bb133111ebull;
	return (uint32_t)(x >> 32) ^ (uint32_t)x;
}

struct bridge_conn;

#define BRIDGE_KEY_LEN 40	/* a CURVE key as Z85 text */
#define BRIDGE_MAX_CLIENTS 256

/* Encryption and who may connect: all empty for none. */
struct bridge_security {
	char secret[BRIDGE_KEY_LEN + 1];	/* our secret key: CURVE on */
	char public_key[BRIDGE_KEY_LEN + 1];	/* ours, from it */
	char server[BRIDGE_KEY_LEN + 1];	/* an importer: the exporter's */
	/* An exporter: the only client keys it admits (none listed: any
	 * client that knows its public key). */
	char clients[BRIDGE_MAX_CLIENTS][BRIDGE_KEY_LEN + 1];
	size_t nclients;
	/* A hub's clients' side: its id to the server's side (not 0), the
	 * same across its reconnects. */
	uint64_t hub_id;
};

/* What an endpoint is for. */
enum bridge_role {
	BRIDGE_IMPORT = 0,	/* receives a topic's frames */
	BRIDGE_EXPORT = 1,	/* sends them, to every importer */
	BRIDGE_HUB_SERVER = 2,	/* beside a hub's server: many peers, each named */
	BRIDGE_HUB_CLIENT = 3,	/* beside its clients: one peer */
};

/*
 * What the engine has to say (a connect, a disconnect, a refused
 * handshake): @always for what is said without -v.
 */
typedef void (*bridge_log_fn)(void *ctx, int always, const char *line);

struct bridge_engine {
	const char *name;
	/*
	 * An endpoint for @role (enum bridge_role), bound or connected,
	 * encrypted if @sec says so (an exporter and a hub server are the
	 * servers): 0, or -1 with the reason in @err.  Events go to @log.
	 */
	int (*open)(struct bridge_conn **c, const char *endpoint, int role, int bind,
		    const struct bridge_security *sec, bridge_log_fn log, void *log_ctx,
		    char *err, size_t errsize);
	/* Where it is bound or connected (a wildcard port resolved). */
	const char *(*where)(struct bridge_conn *c);
	/*
	 * Send header and payload as one message, waiting up to @wait_ms
	 * (-1: forever) for room: 0, -EAGAIN (no room in time), -errno.
	 */
	int (*send)(struct bridge_conn *c, const struct bridge_hdr *h, const void *payload,
		    int wait_ms);
	/* The next message into @buf: its length, -EAGAIN (none in time), -errno. */
	ssize_t (*recv)(struct bridge_conn *c, void *buf, size_t size, int wait_ms);
	/*
	 * Wait up to @ms (-1: forever) for a frame to receive, or for one of
	 * the @n descriptors of @extra (their revents set): 1 a frame is
	 * there, 0 not, -errno.
	 */
	int (*wait)(struct bridge_conn *c, short events, struct pollfd *extra, int n, int ms);
	/* A hub's frames, to and from a peer named by its id (a server's). */
	int (*send_to)(struct bridge_conn *c, const void *id, size_t idlen,
		       const struct bridge_hdr *h, const void *payload, int wait_ms);
	/* The next frame, without waiting: its length (0 or more than @size:
	 * bad), the peer's id in @id (*@idlen in, its length out), -EAGAIN. */
	ssize_t (*recv_from)(struct bridge_conn *c, void *id, size_t *idlen, void *buf,
			     size_t size);
	/* Export: how many subscriptions arrived since the last call. */
	int (*joined)(struct bridge_conn *c);
	/* A new key pair, as Z85 text: 0, or -1 (built without CURVE). */
	int (*keygen)(char public_key[BRIDGE_KEY_LEN + 1], char secret[BRIDGE_KEY_LEN + 1]);
	/* The public key of @secret: 0, or -1 if it is not a key. */
	int (*public_of)(const char *secret, char public_key[BRIDGE_KEY_LEN + 1]);
	/* Close, letting what was sent go for up to @linger_ms. */
	void (*close)(struct bridge_conn *c, int linger_ms);
};

extern const struct bridge_engine *const bridge_zmq;

/* ---- the command's own (bridge.c, bridge_hub.c) ---------------------- */

#include "cli.h"

struct bridge {
	const struct bridge_engine *eng;
	struct bridge_conn *conn;
	const char *topic, *endpoint;	/* a hub bridge: the hub's address */
	int bind, lossy, verbose, follow;
	struct shmq_topic_options to;
	struct chan_opts co;	/* wait mode, --persistent, --mode, --trust-uid */
	struct bridge_security sec;
	uint64_t stream;
	uint64_t sent, dropped, bad, dups;
	uint64_t bad_said;	/* -v says the bad frame of this count */
	uint64_t got;		/* an export: messages of the current stream */
	uint64_t lost_at_last;	/* an export: its lost count at its last message */
	uint64_t toolarge;	/* an import: whole messages its topic cannot take */
	/* The engine's last line said without -v, to say a repeat once. */
	char last[512];
	int64_t last_at;
	uint64_t repeats;
};

/* -v: one line on stderr. */
__attribute__((format(printf, 2, 3)))
void say(const struct bridge *b, const char *fmt, ...);
/* A hub's bridges (bridge_hub.c): the server's side and the clients'. */
int bridge_hub_server(struct bridge *b);
int bridge_hub_client(struct bridge *b);
/* Is this a hub frame, whole and checked?  1 yes. */
int bridge_hub_frame_ok(const struct bridge_hdr *h, ssize_t n, size_t max);	/* NULL: not built with it */

#endif /* SHMQ_CLI_BRIDGE_H */
