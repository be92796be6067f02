/* SPDX-License-Identifier: MIT */
/*
 * shmq: message passing between processes on one Linux host over
 * System V shared memory.
 *
 * Conventions, everywhere in this header:
 *  - functions return 0 (or a count) on success and -errno on failure;
 *    they never set errno, never print and never exit;
 *  - shmq_strerror() turns any such return value into a sentence.
 */
#ifndef SHMQ_H
#define SHMQ_H

#include <errno.h>	/* results are -errno: -EPIPE, -EAGAIN, ... */
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/ipc.h>	/* key_t, also under strict ISO C */

#ifdef __cplusplus
extern "C" {
#endif

#define SHMQ_VERSION_MAJOR 0
#define SHMQ_VERSION_MINOR 1
#define SHMQ_VERSION_PATCH 0
#define SHMQ_VERSION_STRING "0.1.0"

/* The version of the library actually loaded, e.g. "0.1.0". */
const char *shmq_version(void);

/* A sentence for a -errno (or errno) value returned by this library. */
const char *shmq_strerror(int err);

/* ------------------------------------------------------------------ */
/* Addresses                                                           */
/* ------------------------------------------------------------------ */

/*
 * One string names a segment everywhere (library, CLI, Python):
 *
 *   NAME             1..63 of [A-Za-z0-9._-], not starting with '-';
 *                    key = FNV-1a-32("shmq/" NAME), never IPC_PRIVATE.
 *                    The name is stored in a shmq segment, so a key
 *                    collision is detected instead of obeyed.
 *   ftok:PATH:PROJ   exactly ftok(3)'s key; PROJ is 1..255 (decimal,
 *                    0x hex, or one character such as 'A').
 *   key:KEY          a key in hex (0x...) or decimal, not 0.
 *   id:SHMID         an existing segment's identifier.
 */
enum shmq_addr_kind {
	SHMQ_ADDR_NAME = 1,
	SHMQ_ADDR_FTOK = 2,
	SHMQ_ADDR_KEY = 3,
	SHMQ_ADDR_ID = 4,
};

#define SHMQ_NAME_MAX 63
#define SHMQ_ADDR_PATH_MAX 1024

struct shmq_addr {
	int kind;		/* enum shmq_addr_kind */
	key_t key;		/* NAME, FTOK, KEY; IPC_PRIVATE for ID */
	int shmid;		/* ID; -1 otherwise */
	int proj;		/* FTOK: the project id, 1..255 */
	uint64_t dev;		/* FTOK: st_dev of PATH when parsed */
	uint64_t ino;		/* FTOK: st_ino of PATH when parsed */
	char name[SHMQ_NAME_MAX + 1];		/* NAME */
	char path[SHMQ_ADDR_PATH_MAX];		/* FTOK */
	const char *why;	/* on -EINVAL: what was wrong, a static string */
};

/* The valid forms, for error messages: "NAME, ftok:PATH:PROJ, ...". */
const char *shmq_addr_forms(void);

/*
 * Parse @text into @addr.  -EINVAL for a malformed address (addr->why
 * says what is wrong); for ftok:, the errors of stat(2) on PATH.
 */
int shmq_addr_parse(const char *text, struct shmq_addr *addr);

/* The canonical text of @addr into @buf; returns its length or -ENOSPC. */
int shmq_addr_format(const struct shmq_addr *addr, char *buf, size_t size);

/* ------------------------------------------------------------------ */
/* Segments: thin, honest wrappers over shmget/shmat/shmdt/shmctl      */
/* ------------------------------------------------------------------ */

#define SHMQ_SEG_EXCL 0x1	/* create: fail with -EEXIST if present */
#define SHMQ_SEG_HUGETLB 0x2	/* create: try SHM_HUGETLB, fall back */
#define SHMQ_SEG_RDONLY 0x4	/* attach: read-only mapping */

struct shmq_seg_info {
	key_t key;
	int shmid;
	uint64_t size;
	uid_t uid, cuid;	/* owner, creator */
	gid_t gid, cgid;
	unsigned mode;		/* permission bits, 0777 */
	uint64_t nattch;
	pid_t cpid, lpid;	/* creator, last shmat/shmdt */
	int64_t atime, dtime, ctime;	/* seconds since the epoch, 0: never */
	int removed;		/* marked for removal (SHM_DEST) */
	int locked;		/* SHM_LOCKED */
	int64_t rss, swap;	/* bytes resident / swapped; -1: unknown */
};

/*
 * Create a segment of @size bytes with permission @mode (0 means 0600)
 * at @addr (not an id: address).  Without SHMQ_SEG_EXCL an existing
 * segment is returned as is.
 */
int shmq_seg_create(const struct shmq_addr *addr, size_t size, unsigned mode,
		    unsigned flags, int *shmid);
/* The id of the existing segment at @addr; -ENOENT if there is none. */
int shmq_seg_open(const struct shmq_addr *addr, int *shmid);
int shmq_seg_attach(int shmid, unsigned flags, void **base);
int shmq_seg_detach(void *base);
/* Mark for removal; the kernel frees it at the last detach. */
int shmq_seg_remove(int shmid);
int shmq_seg_stat(int shmid, struct shmq_seg_info *info);
/*
 * Every segment on the host, from /proc/sysvipc/shm (or SHM_INFO and
 * SHM_STAT where /proc is missing), sorted by id.  Free *list with free().
 */
int shmq_seg_list(struct shmq_seg_info **list, size_t *count);

/* ------------------------------------------------------------------ */
/* Processes                                                           */
/* ------------------------------------------------------------------ */

enum shmq_pid_state {
	SHMQ_PID_DEAD = 0,	/* no such process (or a newer one has the pid) */
	SHMQ_PID_ALIVE = 1,
	SHMQ_PID_STOPPED = 2,	/* SIGSTOP, or stopped by a tracer */
	SHMQ_PID_ZOMBIE = 3,	/* exited, not yet reaped: dead for shmq */
	SHMQ_PID_UNKNOWN = 4,	/* cannot tell: /proc unreadable (out of
				 * descriptors, not mounted); never taken for
				 * alive by the library */
	SHMQ_PID_ELSEWHERE = 5,	/* alive, in another PID namespace (a
				 * container's): its pid means another
				 * process, or none, here */
};

/*
 * What process @pid is doing.  If @not_after is non-zero, a process that
 * started after that time (seconds since the epoch) is not the one meant
 * and is reported dead: that is how pid reuse is told apart.  Pid 0 is
 * SHMQ_PID_UNKNOWN: it is what the kernel records (as a segment's
 * creator, say) for a process in a PID namespace we cannot see into.
 */
int shmq_pid_state(pid_t pid, int64_t not_after);

/*
 * A few words for a state: "alive", "stopped", "zombie", "dead",
 * "unknown", "alive in another PID namespace".
 */
const char *shmq_pid_state_name(int state);

/* ------------------------------------------------------------------ */
/* Channels: a duplex pair of rings between two processes              */
/* ------------------------------------------------------------------ */

/*
 * Two processes that open the same address meet.  The first creates the
 * channel and (by default) waits for the second; each end can both send
 * and receive, through one ring per direction.
 *
 * Lifetime "pair" (the default): once both ends are attached the segment
 * is marked for removal, so the kernel frees it when both are gone, even
 * after kill -9, and the address is free for a new pair at once.
 * Lifetime "persistent" (SHMQ_PERSISTENT): the segment stays until removed;
 * a restarted end takes over its dead predecessor's slot and resumes where
 * the shared positions stand (records peeked but not released come again).
 * A sender there that waits for room goes on waiting while the consumer
 * is away (never came, closed, abandoned or died): one may come back.
 *
 * Delivery: every message committed before a peer closes or dies is
 * received first; then end of stream (-EPIPE), -ECONNABORTED (the peer
 * abandoned the channel) or -ECONNRESET (the peer died, or no longer has
 * the segment attached: it called exec).  A blocked call notices within
 * 100 ms.  A corrupted channel returns -EBADMSG and stays so; its peer is
 * told and stops too (after what was committed), and closing it abandons.
 * What the producer published must agree with what the ring holds: a tail
 * or an end of stream beyond an empty slot is -EBADMSG, never an endless
 * wait or an end of stream with messages missing.
 *
 * Liveness: opening holds what watching the peer needs (a descriptor: a
 * pidfd, or the peer's /proc stat file) until the channel closes.  With no
 * descriptor to spare the open fails with -EMFILE and leaves nothing;
 * a zombie is never taken for alive.  Each process that opens an end also
 * holds a life token (a private segment the kernel frees at its exit or
 * exec), so liveness holds between PID namespaces that share the IPC one
 * (containers): nothing that is not proven dead is removed or taken over.
 *
 * Threads: one thread may send while another receives on the same
 * channel; two threads must not send (or receive) on it at once.
 *
 * fork and exec: a handle belongs to the process that opened it.  In a
 * child made by fork(), shmq_close() and shmq_abandon() of an inherited
 * handle only release the child's copy of the mapping and memory, and
 * change nothing the parent or the peer sees; every other call on it is
 * -ECHILD.  A child made without fork()'s handlers (_Fork(), the raw
 * system call) is told apart by its pid in shmq_close() and shmq_abandon()
 * only.  A child that wants a channel opens its own.  The descriptors
 * the library holds (shmq_fd()'s, pidfds, sockets) are closed in a fork()
 * child before it runs, so a child that closes its descriptors and opens
 * files under the same numbers never has one written to or closed by the
 * library; after _Fork() closing an inherited handle closes none of them
 * (its other calls are not checked there: do not make them).  exec detaches the
 * segment, closes the descriptors and ends the process's life token; the
 * peer then sees this process gone (-ECONNRESET), even while a child
 * forked earlier keeps the segment attached.
 */
typedef struct shmq shmq_t;

enum shmq_wait_mode {
	SHMQ_WAIT_HYBRID = 0,	/* spin for spin_ns, then sleep (default) */
	SHMQ_WAIT_SPIN = 1,	/* never sleep: lowest latency, burns a core */
	SHMQ_WAIT_BLOCK = 2,	/* sleep at once: lowest CPU */
};

#define SHMQ_PERSISTENT 0x1u	/* the segment outlives the pair */
#define SHMQ_INTERRUPTIBLE 0x2u	/* blocking calls return -EINTR when a
				 * signal handler interrupts their sleep
				 * (else they resume); see also .stop */
#define SHMQ_HUGEPAGES 0x4u	/* try SHM_HUGETLB, fall back quietly */
/*
 * Persistent channels: take endpoint 0 (the creator's side) or 1.  Each
 * endpoint sends on its own ring, so a restarted process that names its
 * side always resumes its own direction.  Without either flag, an opener
 * takes the endpoint with messages waiting for it, else a never-used one.
 */
#define SHMQ_ENDPOINT0 0x8u
#define SHMQ_ENDPOINT1 0x10u
/*
 * A pair's roles: an end that sends (a producer, a client) or receives (a
 * consumer, a server).  Two ends of the same role never pair: one that
 * finds another of its role waiting at the address waits in line, until
 * that one has its peer and the address is free again (or its open
 * deadline).  Ends without a role pair with anyone.  Persistent channels
 * fix sides with SHMQ_ENDPOINT0/1 instead; hub clients need neither.
 */
#define SHMQ_SENDER 0x20u
#define SHMQ_RECEIVER 0x40u

#define SHMQ_DEFAULT_CAPACITY (1u << 20)
#define SHMQ_MIN_CAPACITY 4096u
#define SHMQ_MAX_CAPACITY (1u << 30)

/* A zeroed struct is the default for every field. */
struct shmq_options {
	/*
	 * Ring sizes in bytes, from this end's point of view; 0 means 1 MiB.
	 * Rounded up to a power of two in [4 KiB, 1 GiB].  Only the creator's
	 * values count; the largest message is capacity / 2 - 8 bytes.
	 */
	size_t send_capacity;
	size_t recv_capacity;
	unsigned mode;		/* permission bits; 0 means 0600 */
	unsigned flags;		/* SHMQ_PERSISTENT, SHMQ_INTERRUPTIBLE, ... */
	int wait;		/* enum shmq_wait_mode */
	int64_t spin_ns;	/* hybrid spin budget; 0 means 20 us */
	int64_t open_timeout_ms;	/* for the peer to arrive; 0: forever */
	/*
	 * A segment created or owned by another uid is refused (-EACCES),
	 * unless that uid is listed here, or the mode asked for grants group
	 * access and the creator's group is one of ours.
	 */
	const uid_t *trust_uids;
	size_t n_trust_uids;
	/* If set, a failed open writes one line saying why here. */
	char *errbuf;
	size_t errbuf_size;
	/*
	 * If set, blocking calls (open's wait for the peer included) return
	 * -EINTR within 50 ms of *stop becoming nonzero.  Point it at the flag
	 * a signal handler sets: a signal that arrives while no call is
	 * asleep interrupts nothing, but the flag is seen.
	 */
	const volatile sig_atomic_t *stop;
};

/*
 * Open the channel at @address (see the address forms above).  Besides the
 * errors of the calls below: -ETIMEDOUT (no peer within open_timeout_ms),
 * -EIDRM (someone removed the segment while this creator waited: nobody
 * could find it to join), -EMFILE (no descriptor to watch the peer with),
 * -EACCES, -EADDRINUSE, -EPROTO, -EPROTONOSUPPORT, -EBUSY, -EINTR; with
 * options->errbuf set, one line saying why.
 */
int shmq_open(const char *address, const struct shmq_options *options,
	      shmq_t **channel);
/*
 * Half close: this end sends no more (sends fail with -ESHUTDOWN); the
 * peer receives what was committed, then -EPIPE, while this end can still
 * receive.  Like shutdown(fd, SHUT_WR).
 */
int shmq_shutdown(shmq_t *channel);
/* Clean close: the peer receives what was committed, then -EPIPE. */
int shmq_close(shmq_t *channel);
/* Close without end of stream: the peer gets -ECONNABORTED after draining. */
int shmq_abandon(shmq_t *channel);

/*
 * Copying calls.  Timeouts are relative, in nanoseconds: the plain form
 * waits forever, try_ never waits (-EAGAIN), _timed waits that long
 * (-ETIMEDOUT).  send commits any records reserved before it too.
 * recv sets *len to the message's length; if it exceeds @size the call
 * returns -EMSGSIZE and the message stays queued.
 */
int shmq_send(shmq_t *q, const void *buf, size_t len);
int shmq_try_send(shmq_t *q, const void *buf, size_t len);
int shmq_send_timed(shmq_t *q, const void *buf, size_t len, int64_t timeout_ns);
int shmq_recv(shmq_t *q, void *buf, size_t size, size_t *len);
int shmq_try_recv(shmq_t *q, void *buf, size_t size, size_t *len);
int shmq_recv_timed(shmq_t *q, void *buf, size_t size, size_t *len,
		    int64_t timeout_ns);

/*
 * Zero-copy calls.  reserve hands out @len bytes in the ring to fill in
 * place (timeout as above: <0 forever, 0 try); several reservations form a
 * batch that commit publishes with one store, or discard forgets.  trim
 * shrinks the newest reservation.  peek returns the next record without
 * consuming it; release frees every record peeked so far with one store.
 * A peeked pointer is valid until release (or close).
 */
int shmq_reserve(shmq_t *q, size_t len, void **buf, int64_t timeout_ns);
int shmq_trim(shmq_t *q, size_t len);
int shmq_commit(shmq_t *q);
void shmq_discard(shmq_t *q);
int shmq_peek(shmq_t *q, const void **buf, size_t *len, int64_t timeout_ns);
int shmq_release(shmq_t *q);

/* Change how blocking calls wait (spin_ns as in shmq_options). */
int shmq_set_wait(shmq_t *q, int wait, int64_t spin_ns);

/*
 * A descriptor for an event loop (poll, epoll, select, libuv, asyncio),
 * readable while a receive on this end would not return -EAGAIN: a
 * message is queued, the stream ended, the peer died, or the channel is
 * poisoned.  Level-triggered, like a socket's: once try_ calls have
 * drained the end (down to -EAGAIN) it stops being readable by itself;
 * there is nothing to acknowledge.  A race can leave it readable once for
 * nothing; the try_ call then says -EAGAIN and clears it.
 *
 * Made at the first call (the same descriptor after that), owned by the
 * channel: never close it; shmq_close() does.  Until the first call the
 * channel pays nothing for it.  After it, a message costs its sender a
 * system call only when this end has said -EAGAIN since the last one
 * (it sleeps, or will): the sender sees that in shared memory.  A peer's
 * death makes it readable at once (a pidfd), and so does its close.
 *
 * For receiving; shmq_send_fd() is for sending.  The descriptor is an
 * epoll set holding a unix datagram socket in the abstract namespace: both
 * processes must share a network namespace as well as the IPC one.  Use
 * it from the thread that receives.  -ECHILD in a fork child, -EMFILE and
 * the like; -EXDEV while the peer is attached from another network
 * namespace (its wakes could not reach this descriptor).  Where the peer's
 * pid is not visible (another PID namespace), its death is reported by
 * the next try_ call rather than by the descriptor: keep a timeout.
 */
int shmq_fd(shmq_t *q);
/*
 * The same for sending: a descriptor that is *readable* (an epoll set is
 * never writable) while a send of the largest message would not wait:
 * there is room for it, or a send would fail at once (the peer of a pair
 * closed or died, shutdown, poison).  Once try_send has said -EAGAIN it
 * stops being readable until the receiver frees room; it may then turn
 * readable before there is room for the message you wanted (try again).
 * Wait for it (POLLIN), then try_send until -EAGAIN.  On a persistent
 * channel a consumer's death does not make it readable (a send would
 * wait for the next consumer).  Errors as for shmq_fd().
 */
int shmq_send_fd(shmq_t *q);

enum shmq_peer_state {
	SHMQ_PEER_NONE = 0,	/* never attached (persistent channels) */
	SHMQ_PEER_ATTACHED = 1,
	SHMQ_PEER_CLOSED = 2,	/* closed cleanly: end of stream */
	SHMQ_PEER_ABANDONED = 3,	/* closed without end of stream */
	SHMQ_PEER_DEAD = 4,	/* died without closing */
	SHMQ_PEER_SEALED = 5,	/* shmq_describe() only: a pair's creator gave
				 * up waiting; nobody may join it any more */
};

struct shmq_info {
	int shmid;
	key_t key;
	int slot;		/* 0: this end created the channel, 1: joined */
	int persistent;
	size_t send_capacity, recv_capacity;
	size_t max_send, max_recv;	/* the largest message each way */
	pid_t peer_pid;		/* 0 if no peer ever attached */
	int peer_state;		/* enum shmq_peer_state */
	uint64_t instance;	/* random, fixed at creation */
};
int shmq_info(shmq_t *q, struct shmq_info *info);

/* ------------------------------------------------------------------ */
/* Hubs: one server, many clients, each on a channel of its own        */
/* ------------------------------------------------------------------ */

/*
 * A server opens a hub at an address; each client that connects gets a
 * private pair channel to the server (endpoint 1 of it, the server
 * holding endpoint 0), with every guarantee of a channel: its own rings,
 * so no client can read or block another's traffic, end of stream, death
 * detection, nothing left behind.  The server waits for all its clients
 * with one blocking call, which sleeps on one futex word that every client
 * wakes.
 *
 * Each client's channel is created with mode 0600 and owned by that
 * client's uid, whatever the hub's own mode: a group that may reach the hub
 * (mode 0660) cannot reach each other's channels.
 *
 * The hub segment stays at its address while the server runs and is
 * removed by shmq_hub_close(); a server that died leaves it to the next
 * server at that address (or `shmq clean`).  Connecting clients then get
 * -ECONNREFUSED.  shmq_open() on a hub's address connects as a client too.
 * If someone removes the hub's segment while the server runs (shmq rm
 * --force, ipcrm), no client can find it: shmq_hub_wait() says -EIDRM.
 *
 * One thread uses a hub (and its clients' channels) at a time; pointers in
 * the options (stop) must stay valid while the hub is open.
 */
typedef struct shmq_hub shmq_hub_t;

/*
 * Serve at @address.  Options as for shmq_open(): send_capacity and
 * recv_capacity size each client's channel from the server's side (64 KiB
 * each by default, not 1 MiB: each client costs 4 KiB plus both rings of
 * shared memory, 132 KiB by default, 129 MiB for 1,000 clients), mode
 * and trust_uids govern who may connect, wait and spin_ns how
 * shmq_hub_wait() waits.  -EADDRINUSE if a live server (or a channel)
 * holds the address.
 */
int shmq_hub_open(const char *address, const struct shmq_options *options,
		  shmq_hub_t **hub);
/*
 * Wait for a client with something to receive: a message, or the end of
 * its stream (its close, abandonment or death, after its last message),
 * which shmq_recv() and friends then return without waiting.  Accepts new
 * clients on the way.  Clients take turns, so a busy one cannot starve the
 * rest.  A client whose stream has ended is returned again until
 * shmq_hub_drop().  Timeout as for shmq_recv_timed(): -ETIMEDOUT, or
 * -EAGAIN when 0; -EINTR as for channels; -EIDRM once the hub's segment
 * was removed by someone else.
 */
int shmq_hub_wait(shmq_hub_t *hub, shmq_t **client, int64_t timeout_ns);
/*
 * A descriptor for an event loop, as shmq_fd() is for a channel: readable
 * while shmq_hub_wait(hub, &c, 0) would not return -EAGAIN (a client with
 * a message or whose stream ended, a client's death at once), and also
 * when a client asks to come in or has just joined, so that a wait(0)
 * lets it in.  Level-triggered: once wait(0) has said -EAGAIN it stops
 * being readable by itself.  Messages of a held client can make it
 * readable for nothing (wait(0) then says -EAGAIN and clears it); a held
 * client's death does not.  One descriptor, made at the first call and
 * owned by the hub (shmq_hub_close() closes it).  -ECHILD in a fork
 * child, -EMFILE and the like.
 */
int shmq_hub_fd(shmq_hub_t *hub);
/*
 * Hold @client (@hold nonzero): shmq_hub_wait() passes it over, for its
 * messages and its end alike, until it is let go again (@hold 0).  For a
 * server that cannot take more from one client for now (its answers do not
 * fit in that client's ring): the others are served meanwhile, and the
 * server looks at the held one itself (a try_ call) when it chooses.
 * -EINVAL if @client is not the hub's.
 */
int shmq_hub_hold(shmq_hub_t *hub, shmq_t *client, int hold);
/* Close @client's channel (its end of stream) and forget it. */
int shmq_hub_drop(shmq_hub_t *hub, shmq_t *client);
/* The connected clients: their count, and each by index (NULL past it). */
size_t shmq_hub_count(const shmq_hub_t *hub);
shmq_t *shmq_hub_client(const shmq_hub_t *hub, size_t index);
/* Close every client's channel and remove the hub from its address. */
int shmq_hub_close(shmq_hub_t *hub);

/*
 * Connect to the hub at @address as a client, waiting for a server to
 * appear for up to options->open_timeout_ms (0: forever).  Unlike
 * shmq_open(), never creates anything.  -EPROTOTYPE if the address holds
 * a channel; -ECONNREFUSED if the hub's server is gone.
 */
int shmq_connect(const char *address, const struct shmq_options *options,
		 shmq_t **channel);

/* ------------------------------------------------------------------ */
/* Topics: one publisher, any number of subscribers                    */
/* ------------------------------------------------------------------ */

/*
 * A topic carries one publisher's messages to every subscriber, each of
 * whom reads them all, in order, at its own pace.  There is one publisher
 * at a time (a second live one is refused, -EBUSY) and any number of
 * subscribers, up to max_subscribers, chosen by whoever creates the topic
 * (no limit is built in).  Either role may come first.
 *
 * Every message has a 64-bit sequence number, from 0, which continues
 * across a persistent topic's publishers.  It is whole or not delivered.
 * The publisher may skip numbers (shmq_pub_skip_to(): a bridge keeps a
 * remote topic's numbers, gaps included); every subscriber counts the
 * numbers missing between two messages it received as lost.
 *
 * A subscriber is lossless (the default) or lossy (SHMQ_SUB_LOSSY):
 *  - the publisher never overwrites a message a lossless subscriber has
 *    not consumed: it waits for the slowest (within its own timeout).  A
 *    dead subscriber stops holding it within 100 ms of its death; a live
 *    one that stops reading holds it, unless slow_subscriber_ms is set:
 *    then it is evicted after that long, and its next receive says so
 *    (-EOVERFLOW) after what it had not yet read was lost;
 *  - the publisher never waits for a lossy one.  Lapped, it learns how
 *    many it lost (shmq_sub_lost(), and the gap in the sequence numbers,
 *    both told with the next message it receives)
 *    and goes on from the oldest message the ring still holds; it never
 *    returns a torn or overwritten message.
 *
 * Where a subscriber starts: the next message (SHMQ_FROM_NEXT, the
 * default), the oldest the ring holds (SHMQ_FROM_OLDEST), or from_seq
 * (SHMQ_FROM_SEQ) if the ring holds it: else -ERANGE, and errbuf names
 * the oldest it holds.
 *
 * Ends: after the publisher's close, subscribers receive everything
 * committed, then -EPIPE; after its death, -ECONNRESET.  A subscriber's
 * close or death never disturbs the publisher or the other subscribers.
 * A topic that is not persistent is removed when its publisher closes; a
 * dead publisher's is removed by the next opener, or by `shmq clean`.
 *
 * Waking: one wake reaches every subscriber that sleeps; the publisher
 * pays a system call only when one does.  Blocking calls wait as a
 * channel's do (options->wait).  Liveness holds across PID namespaces
 * (life tokens), and the same trust rules as channels apply.
 */
#define SHMQ_KIND_TOPIC 3

enum shmq_topic_from {
	SHMQ_FROM_NEXT = 0,	/* the next message published (default) */
	SHMQ_FROM_OLDEST = 1,	/* the oldest the ring still holds */
	SHMQ_FROM_SEQ = 2,	/* from_seq, if the ring still holds it */
};
#define SHMQ_SUB_LOSSY 0x1u	/* never hold the publisher; count losses */

/* A zeroed struct is the default for every field. */
struct shmq_topic_options {
	/* The creator's geometry (whoever comes first); others' are ignored. */
	size_t slots;		/* messages the ring holds: a power of two, >= 2;
				 * 0: 512 */
	size_t slot_size;	/* bytes per message, 32 of them its header: a
				 * power of two in [64, 1 MiB]; 0: 2048.  The
				 * ring (slots x slot_size) is 4 KiB to 1 GiB,
				 * allocated whole, and mapped by each end,
				 * when it opens */
	size_t max_subscribers;	/* 0: 1024 */
	/* A subscriber's. */
	int from;		/* enum shmq_topic_from */
	uint64_t from_seq;
	unsigned flags;		/* SHMQ_SUB_LOSSY */
	/* The publisher's: evict a lossless subscriber that holds it longer. */
	int64_t slow_subscriber_ms;	/* 0: never */
};

typedef struct shmq_pub shmq_pub_t;
typedef struct shmq_sub shmq_sub_t;

/*
 * Open the publisher of the topic at @address (@options as for a channel:
 * mode, trust, wait, open_timeout_ms is not used; @topic may be NULL).
 */
int shmq_pub_open(const char *address, const struct shmq_options *options,
		  const struct shmq_topic_options *topic, shmq_pub_t **pub);
/*
 * Publish: copying, or zero-copy (reserve room for up to @len bytes,
 * write them, commit the length written).  Timeouts as for channels (<0
 * forever, 0 try).  -EMSGSIZE past slot_size - 32 bytes; -EAGAIN or
 * -ETIMEDOUT while a lossless subscriber holds every slot.
 */
int shmq_pub_send(shmq_pub_t *pub, const void *buf, size_t len);
int shmq_pub_try_send(shmq_pub_t *pub, const void *buf, size_t len);
int shmq_pub_send_timed(shmq_pub_t *pub, const void *buf, size_t len, int64_t timeout_ns);
int shmq_pub_reserve(shmq_pub_t *pub, size_t len, void **buf, int64_t timeout_ns);
int shmq_pub_commit(shmq_pub_t *pub, size_t len);
/* The sequence number the next message will have. */
uint64_t shmq_pub_next_seq(const shmq_pub_t *pub);
/*
 * Give the next message sequence number @seq, skipping those between:
 * every subscriber counts them lost.  But the first skip on a topic where
 * nothing was ever published says where its stream begins: subscribers
 * that joined before it lose nothing by it (a later skip before the first
 * message is a loss already).  -EINVAL below shmq_pub_next_seq() or at
 * UINT64_MAX, -EBUSY while a reservation is open, -ECHILD in a fork child.
 * A publish at seq UINT64_MAX (the number that means "none") is refused,
 * -EOVERFLOW.
 */
int shmq_pub_skip_to(shmq_pub_t *pub, uint64_t seq);
/* The largest message this topic takes (its creator's slot_size - 32). */
size_t shmq_pub_max_message(const shmq_pub_t *pub);
/* How many subscribers hold a slot now (live or not yet found dead). */
size_t shmq_pub_subscribers(const shmq_pub_t *pub);
/* End the stream (subscribers get -EPIPE after draining) and free. */
int shmq_pub_close(shmq_pub_t *pub);
/*
 * Leave as if dead: subscribers drain, then -ECONNRESET (a bridge whose
 * origin publisher died says so this way).  A persistent topic is left
 * for the next publisher; another is removed, as at a close.
 */
int shmq_pub_abandon(shmq_pub_t *pub);

/* Subscribe to the topic at @address (@topic: where to start, policy). */
int shmq_sub_open(const char *address, const struct shmq_options *options,
		  const struct shmq_topic_options *topic, shmq_sub_t **sub);
/*
 * Receive the next message: copying, or zero-copy (peek, then release).
 * -EPIPE / -ECONNRESET at the end (after draining); -EOVERFLOW if evicted
 * (lossless, slow_subscriber_ms); -ERANGE if the message a SHMQ_FROM_SEQ
 * subscriber was to start at was overwritten before it was read;
 * -EBADMSG if the topic is corrupted.  A lossy subscriber's release says
 * -ESTALE if the message was overwritten while peeked: what it read may
 * be torn, and is counted lost.
 */
int shmq_sub_recv(shmq_sub_t *sub, void *buf, size_t size, size_t *len);
int shmq_sub_try_recv(shmq_sub_t *sub, void *buf, size_t size, size_t *len);
int shmq_sub_recv_timed(shmq_sub_t *sub, void *buf, size_t size, size_t *len,
			int64_t timeout_ns);
int shmq_sub_peek(shmq_sub_t *sub, const void **buf, size_t *len, int64_t timeout_ns);
int shmq_sub_release(shmq_sub_t *sub);
/* The sequence number of the last message received; UINT64_MAX: none. */
uint64_t shmq_sub_seq(const shmq_sub_t *sub);
/*
 * How many messages this subscriber lost: lapped (lossy), torn while
 * peeked, or skipped by the publisher (shmq_pub_skip_to()).
 */
uint64_t shmq_sub_lost(const shmq_sub_t *sub);
/*
 * A descriptor for an event loop, as shmq_fd() is for a channel: readable
 * while shmq_sub_try_recv() would not return -EAGAIN (a message, the end
 * of the stream, an eviction; the publisher's death at once where its pid
 * is visible, else found by the next try_ call: keep a timeout).
 * Level-triggered; made at the first call, owned by the subscriber
 * (shmq_sub_close() closes it).  Until a try_ call on it says -EAGAIN the
 * publisher pays nothing for it; after that, the wake that follows costs
 * the publisher a datagram to it and a look at the subscriber table.
 * -ECHILD in a fork child, -EXDEV while the publisher is attached from
 * another network namespace (checked when it is made: a publisher that
 * comes back later from another one cannot wake it; keep a timeout),
 * -EMFILE and the like.  A publisher of an older build never wakes it.
 */
int shmq_sub_fd(shmq_sub_t *sub);
/* Leave the topic; the publisher and the others are not disturbed. */
int shmq_sub_close(shmq_sub_t *sub);

/* One subscriber of a topic, for tools (shmq_describe_subscribers()). */
struct shmq_subscriber_desc {
	size_t slot;		/* its place in the topic's table */
	pid_t pid;		/* in its own PID namespace */
	int state;		/* enum shmq_peer_state */
	int pid_state;		/* enum shmq_pid_state, while attached */
	int lossy;
	int evicted;
	uint64_t head;		/* the seq after the last it received */
	uint64_t lag;		/* messages published that it has not read */
	uint64_t lost;		/* what it lost */
};
/*
 * The subscribers of topic @shmid that hold or held a slot, read-only:
 * up to @max into @subs, and how many there are in *@count.  0, or
 * -EPROTOTYPE (not a topic) and the errors of shmq_describe().
 */
int shmq_describe_subscribers(int shmid, struct shmq_subscriber_desc *subs, size_t max,
			      size_t *count);

/* ------------------------------------------------------------------ */
/* Inspection, for tools: what a segment holds, read-only              */
/* ------------------------------------------------------------------ */

#define SHMQ_KIND_CHANNEL 1
#define SHMQ_KIND_HUB 2
/*
 * A process's life token (shmq_describe() only): the small private segment
 * each process that opens an end holds, freed by the kernel when it exits
 * or calls exec; creator_pid and creator_state describe the process.  One
 * that is stale was left by a process killed while making it.
 */
#define SHMQ_KIND_LIFE 0x100
/* "channel", "hub", "life token", or "unknown kind". */
const char *shmq_kind_name(int kind);

struct shmq_desc_endpoint {
	int state;		/* enum shmq_peer_state (never DEAD) */
	pid_t pid;
	int pid_state;		/* enum shmq_pid_state, for an attached end */
};

struct shmq_desc {
	int kind;		/* SHMQ_KIND_CHANNEL or SHMQ_KIND_HUB; for a
				 * hub, ep[0] is the server and capacity[]
				 * each client's channel's */
	int ready;		/* 0: the creator has not finished (or died) */
	unsigned major, minor;	/* layout version */
	int persistent;
	int addr_kind;		/* enum shmq_addr_kind it was created for */
	char name[SHMQ_NAME_MAX + 1];
	uint64_t dev, ino;	/* FTOK */
	int proj;
	uint64_t capacity[2];	/* [0]: endpoint 0 to 1, [1]: 1 to 0 */
	uint64_t queued[2];	/* bytes committed, not yet released */
	uid_t creator_uid;
	pid_t creator_pid;
	int creator_state;	/* enum shmq_pid_state */
	int64_t created;	/* seconds since the epoch */
	unsigned mode;		/* the mode asked for at creation */
	struct shmq_desc_endpoint ep[2];
	int stale;		/* a leftover `shmq clean` may remove */
};

/*
 * Describe the shmq segment @shmid by attaching it read-only for a moment,
 * if its size is one a shmq segment can have (others are not touched).
 * Every header field an opener checks is checked.  -EPROTO: not a shmq
 * segment; -EPROTONOSUPPORT: another layout major; -EBADMSG: corrupted
 * (an unknown kind, impossible capacities, a name no opener writes);
 * -EACCES: not readable by us.  stale is set only for what is proven
 * dead: a segment in set-up whose creator (as the kernel recorded it)
 * lives is never stale, however long it takes.
 */
int shmq_describe(int shmid, struct shmq_desc *desc);

/*
 * What has flowed through a shmq segment: counters that only grow, for
 * rates (shmq top).  Read the same way as shmq_describe() (attached
 * read-only for a moment).  A channel: bytes[i], the ring bytes committed
 * from endpoint i to the other since it was made (each message takes 8
 * bytes of header and its length rounded up to 8), and released[i], those
 * its reader has freed.  A topic: messages, the next sequence number.  A
 * hub: nothing of its own (its clients' channels are channels).
 */
struct shmq_traffic {
	int kind;
	uint64_t bytes[2];
	uint64_t released[2];
	uint64_t messages;
	uint64_t reserved[4];	/* 0 */
};
int shmq_describe_traffic(int shmid, struct shmq_traffic *traffic);

#ifdef __cplusplus
}
#endif
#endif /* SHMQ_H */
