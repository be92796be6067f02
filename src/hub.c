/* SPDX-License-Identifier: MIT */
/*
 * The hub layer: one server, many clients, each client on a channel of its
 * own, and one blocking wait for all of them.
 *
 * The hub segment sits at the hub's address (layout.h draws it): the usual
 * header, a door (an eventcount the server sleeps on) and 64 slots where
 * clients ask to come in.  A client claims a slot with a compare-and-swap
 * of its owner word and rings the door; the server answers with a pair
 * channel it created at IPC_PRIVATE, whose id only that client learns; the
 * client joins it as endpoint 1.  From then on they talk over that channel
 * like any pair: separate rings, so one client can neither read nor stall
 * another's traffic, and the channel's own end-of-stream and death rules.
 * The one addition: a client rings the door after each commit and at
 * close, so the server can sleep on the door for everyone at once.
 *
 * Everything the server reads from the hub segment is untrusted: a slot's
 * word is only compared, the server keeps what it answered in private
 * memory (struct slot_view), and the clients' channels check themselves.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "atomics.h"
#include "internal.h"
#include "hub_layout.h"
#include "hub_ready.h"
#include "kind.h"
#include "wait.h"

#define LOOK_AGAIN_NS 2000000	/* between looks for a server to appear */
/*
 * How long a client waiting in line for a slot sleeps before it looks at
 * the server itself.  Not the check interval: a thousand in line waking
 * every 50 ms took both cores of the test machine from the server they
 * waited for.  A server's death reaches the line sooner through the
 * clients in the slots, who look every check interval and wake the line.
 */
#define LINE_LOOK_NS 1000000000LL

/* What the server answered on a slot: private, never read back. */
struct slot_view {
	uint64_t asker;		/* the owner word it answered */
	shmq_t *pending;	/* the channel offered, until joined */
	int answered;		/* with a channel, or a refusal */
	int bit1;		/* its bit in the ready set + 1, or 0 */
};

struct shmq_hub {
	struct shmq_hdr *hdr;
	struct shmq_hub_area *area;
	int shmid;
	unsigned gen;		/* fork generation of the process that opened it */
	int removed;		/* someone removed the hub's segment */
	uint64_t me;		/* our owner word, in endpoint 0 */
	uint64_t life;		/* our life word, beside it (life.c) */
	unsigned mode;
	struct shmq_options chan_opts;	/* for each client's channel */
	struct shmq_waiter waiter;
	struct slot_view view[SHMQ_HUB_SLOTS];
	unsigned answered;	/* slots answered, not yet freed */
	uint32_t asks_seen;
	int64_t last_check;
	struct hub_client {
		shmq_t *q;
		int held;	/* shmq_hub_hold(): not returned by wait */
		int bit;	/* in the ready set, or -1: looked at every wait */
		int in_deaths;	/* its pidfd is in the deaths set */
	} *clients;
	size_t count, alloc;
	size_t unmarked;	/* clients with no bit */
	size_t next;		/* where the next scan of those starts: turns */
	shmq_t *found;
	/*
	 * The descriptor (shmq_hub_fd()), once asked for: its socket's token
	 * is in the door line, and each client's pidfd is in its set, tagged
	 * with the client's handle, while the client is not held.
	 */
	struct shmq_poller *poller;
	struct shmq_ready_set ready;	/* hub_ready.c */
	/*
	 * The clients' pidfds, each reported once when its process ends, so
	 * that a sweep learns every death with one system call (NULL: none
	 * could be made; then each client is looked at every sweep).
	 */
	struct shmq_poller *deaths;
	size_t sweep_at;	/* where the next share of token looks starts */
};

static int stopped(const struct shmq_options *o)
{
	return o && o->stop && *o->stop;
}

/* ------------------------------------------------------------------ */
/* The server                                                          */
/* ------------------------------------------------------------------ */

static struct shmq_hub_slot *slot_at(struct shmq_hub *h, int i)
{
	return &h->area->slot[i];
}

/*
 * A slot was freed: wake @n of the clients waiting in line, if any wait
 * (the eventcount's Dekker pair, with a count for `waiting`).  One per
 * slot: a woken client that finds it taken sleeps again, the slot having
 * gone to someone; one that died meanwhile costs the next its turn only
 * until its own periodic look.
 */
static void next_in_line(struct shmq_hub_area *area, int n)
{
	shmq_smp_mb();
	if (shmq_load_relaxed(&area->line.waiting)) {
		shmq_fetch_add_release(&area->line.seq, 1);
		shmq_futex_ops.wake(&area->line.seq, n);
	}
}

/* The client is done with slot @i (joined or gone): free it for the next. */
static void free_slot(struct shmq_hub *h, int i)
{
	struct slot_view *v = &h->view[i];

	if (v->answered)
		h->answered--;
	if (v->bit1)
		shmq_ready_free_bit(&h->ready, v->bit1 - 1);
	memset(v, 0, sizeof(*v));
	shmq_store_relaxed(&slot_at(h, i)->offered, 0);
	shmq_store_relaxed(&slot_at(h, i)->shmid, 0);
	/*
	 * Release: a client whose compare-and-swap reads this 0 (seq_cst,
	 * so acquire) sees `offered` back at 0 before it waits on it.
	 */
	shmq_store_release(&slot_at(h, i)->client, 0);
	next_in_line(h->area, 1);
}

/*
 * Put @c's pidfd in the descriptor's set, so that its death makes the
 * descriptor ready at once.  Without one (no pidfd here, or no
 * descriptor for it), its death is seen at the next look for any reason.
 */
static void poller_add_client(struct shmq_hub *h, shmq_t *c)
{
	int fd = shmq_chan_peer_pidfd(c);

	if (fd >= 0)
		shmq_poller_add(h->poller, fd, (uint64_t)(uintptr_t)c);
}

static void poller_remove_client(struct shmq_hub *h, shmq_t *c)
{
	int fd = shmq_chan_peer_pidfd(c);

	if (fd >= 0)
		shmq_poller_remove(h->poller, fd);
}

/* Put @c's pidfd in the deaths set: 1 done, 0 not (it is polled instead). */
static int watch_death(struct shmq_hub *h, shmq_t *c)
{
	int fd = shmq_chan_peer_pidfd(c);

	if (fd < 0)
		return 0;
	if (!h->deaths && shmq_poller_open(&h->deaths))
		return 0;
	return shmq_poller_add_once(h->deaths, fd, (uint64_t)(uintptr_t)c) == 0;
}

/*
 * The client in slot @i has joined: from now on hub_wait() watches its
 * channel, through its bit in the ready set if it said it marks it.
 */
static void adopt(struct shmq_hub *h, int i, shmq_t *c)
{
	struct slot_view *v = &h->view[i];
	int bit = v->bit1 && shmq_load_acquire(&slot_at(h, i)->marks) == 1 ? v->bit1 - 1 : -1;

	if (h->count == h->alloc) {
		size_t n = h->alloc ? 2 * h->alloc : 16;
		struct hub_client *more = realloc(h->clients, n * sizeof(*more));

		if (!more) {
			/* Tell it plainly rather than leave it waiting. */
			shmq_abandon(c);
			return;	/* its bit goes back with the slot */
		}
		h->clients = more;
		h->alloc = n;
	}
	h->clients[h->count].q = c;
	h->clients[h->count].held = 0;
	h->clients[h->count].in_deaths = watch_death(h, c);
	h->clients[h->count++].bit = bit;
	if (bit >= 0) {
		v->bit1 = 0;	/* the client's now, not the slot's */
		shmq_ready_own(&h->ready, bit, c);
	} else {
		h->unmarked++;
	}
	if (h->poller)
		poller_add_client(h, c);
}

/* Answer the client asking in slot @i (owner word @w) with a channel. */
static void answer(struct shmq_hub *h, int i, uint64_t w)
{
	struct shmq_hub_slot *sl = slot_at(h, i);
	struct slot_view *v = &h->view[i];
	struct shmq_info info;
	shmq_t *q = NULL;
	uid_t uid;
	/*
	 * The channel is the asker's and ours alone: owned by its uid, mode
	 * 0600, whatever the hub's mode lets in (others of a group that may
	 * reach the hub must not reach each other's channels).  An asker
	 * that names another process's life token (or, from an older build,
	 * another pid) gives its channel to that process's user, so it cannot
	 * use it itself.  The token's creator uid holds in any PID namespace.
	 */
	uint64_t life = shmq_load_acquire(&sl->life);
	int r = shmq_life_matches(w, life) ? shmq_life_uid(life, &uid) :
		shmq_owner_uid(w, &uid);

	if (r == 0)
		r = shmq_chan_offer(&h->chan_opts, uid, &q);
	if (r == 0) {
		int bit = shmq_ready_take_bit(&h->ready);

		shmq_info(q, &info);
		v->pending = q;
		v->bit1 = bit + 1;
		/* Before `offered`: the asker reads them after its acquire. */
		shmq_store_relaxed(&sl->ready_bit, (uint32_t)(bit + 1));
		shmq_store_relaxed(&sl->marks, 0);
	}
	v->asker = w;
	v->answered = 1;
	h->answered++;
	shmq_store_relaxed(&sl->shmid, r ? r : info.shmid);
	/* Release: the client's acquire load of `offered` sees the id. */
	shmq_store_release(&sl->offered, 1);
	shmq_futex_ops.wake(&sl->offered, 1);
}

/* Is the asker in slot @i, owner word @w, proven dead (from any namespace)? */
static int asker_dead(struct shmq_hub *h, int i, uint64_t w)
{
	return shmq_holder_alive(w, shmq_load_acquire(&slot_at(h, i)->life)) == 0;
}

/*
 * Move slot @i on: answer a new asker, adopt a client that joined, free
 * the slot of one that gave up.  With @sweep, also free the slots of
 * askers whose processes died (a look at /proc each: checks only).
 */
static void service_slot(struct shmq_hub *h, int i, int sweep)
{
	struct slot_view *v = &h->view[i];
	uint64_t w = shmq_load_acquire(&slot_at(h, i)->client);

	if (!v->answered) {
		if (w == 0)
			return;
		if (shmq_owner_state(w) != SHMQ_EP_ATTACHED ||
		    (sweep && asker_dead(h, i, w)))
			free_slot(h, i);	/* gone before we answered */
		else
			answer(h, i, w);
		return;
	}
	if (v->pending) {
		int r = shmq_chan_joined(v->pending);

		if (r == 1)
			adopt(h, i, v->pending);
		else if (r < 0)
			shmq_abandon(v->pending);	/* cannot watch it: say so */
		if (r) {
			v->pending = NULL;
			free_slot(h, i);
			return;
		}
	}
	/* The asker gave up (its word changed), or died. */
	if (w != v->asker || (sweep && asker_dead(h, i, w))) {
		if (v->pending && shmq_chan_withdraw(v->pending) == 1)
			adopt(h, i, v->pending);	/* it joined just then */
		v->pending = NULL;
		free_slot(h, i);
	}
}

/* Look at the slots if anyone asked since we last did, or still joins. */
static void service(struct shmq_hub *h)
{
	uint32_t asks = shmq_load_acquire(&h->area->asks);
	int i;

	if (asks == h->asks_seen && !h->answered)
		return;
	h->asks_seen = asks;
	for (i = 0; i < SHMQ_HUB_SLOTS; i++)
		service_slot(h, i, 0);
}

/*
 * A client a wait would return: from the ready set's queue, then from the
 * clients with no bit (each looked at, starting after the last returned,
 * so that a busy client cannot starve the rest).  @full: everything that
 * ends a wait (end of stream, the peer's state), else only the rings
 * (spinning).
 */
static int scan(struct shmq_hub *h, int full)
{
	size_t i, k;

	service(h);
	shmq_ready_drain(&h->ready);
	h->found = shmq_ready_next(&h->ready, full);
	if (h->found)
		return 1;
	for (i = 0; h->unmarked && i < h->count; i++) {
		shmq_t *c;

		k = (h->next + i) % h->count;
		if (h->clients[k].held || h->clients[k].bit >= 0)
			continue;
		c = h->clients[k].q;
		if (full ? shmq_chan_would_return(c) : shmq_chan_has_record(c)) {
			h->found = c;
			h->next = k + 1;
			return 1;
		}
	}
	return 0;
}

static int hub_ready(void *arg)
{
	struct shmq_hub *h = arg;

	return h->removed ? -EIDRM : scan(h, 1);
}

static int hub_poll(void *arg)
{
	return scan(arg, 0);
}

/* Look now at the clients whose processes these @n tags (handles) name. */
static void poll_tagged(struct shmq_hub *h, const uint64_t *tags, int n)
{
	size_t i;
	int k;

	for (k = 0; k < n; k++)
		for (i = 0; i < h->count; i++)
			/* A tag is only compared, never followed. */
			if ((uint64_t)(uintptr_t)h->clients[i].q == tags[k])
				shmq_chan_poll_peer(h->clients[i].q);
}

/*
 * The clients' processes: every death the deaths set reports (one system
 * call), every client it cannot watch, and an eighth of the others in
 * turn, for what no pidfd shows (an exec: the life token gone), so that
 * each is looked at within eight sweeps (0.2 to 0.4 s).
 */
static void sweep_clients(struct shmq_hub *h)
{
	size_t i, share = h->count / 8 + 1, at = h->count ? h->sweep_at % h->count : 0;
	uint64_t tags[16];
	int n;

	while (h->deaths && shmq_poller_drain(h->deaths, tags, 16, &n) && n > 0)
		poll_tagged(h, tags, n);
	for (i = 0; i < h->count; i++) {
		struct hub_client *hc = &h->clients[i];

		if (!hc->in_deaths || (i + h->count - at) % h->count < share)
			shmq_chan_poll_peer(hc->q);
		/* The queue: whoever a wait would return (a bit cleared by a stranger). */
		if (hc->bit >= 0 && shmq_chan_would_return(hc->q))
			shmq_ready_queue(&h->ready, hc->bit);
	}
	h->sweep_at = h->count ? (at + share) % h->count : 0;
}

/*
 * The sweep, at most every half check interval (25 ms), so that a server
 * that parks after each message does not look at every client each time:
 * the clients (sweep_clients()), and every asker's process.
 */
static void hub_check(void *arg)
{
	struct shmq_hub *h = arg;
	int64_t now = shmq_now_ns();
	struct shmq_seg_info s;
	int i;

	if (now - h->last_check < SHMQ_CHECK_INTERVAL_NS / 2)
		return;
	h->last_check = now;
	/* Removed by someone else: no client can find us any more. */
	if (shmq_seg_stat(h->shmid, &s) == 0 && s.removed)
		h->removed = 1;
	sweep_clients(h);
	for (i = 0; i < SHMQ_HUB_SLOTS; i++)
		service_slot(h, i, 1);
}

/*
 * Nothing to return, and an event loop may wait on our descriptor next
 * (also when shmq_hub_fd() makes it): empty its socket, look at each
 * client whose pidfd it reported (dead: a receive would say so now),
 * announce ourselves on the door, and look once more, as rearm() does for
 * a channel (channel.c).  Nonzero: a wait would return now.
 */
static int hub_rearm(struct shmq_hub *h)
{
	uint64_t tags[16];
	int n;

	if (shmq_poller_drain(h->poller, tags, 16, &n))
		poll_tagged(h, tags, n);
	shmq_poller_announce(h->poller, &h->area->door, &h->area->door_poller);
	return hub_ready(h);
}

SHMQ_API int shmq_hub_fd(shmq_hub_t *h)
{
	struct shmq_poller *p;
	size_t i;
	int r;

	if (!h)
		return -EINVAL;
	if (shmq_forked_since(h->gen))
		return -ECHILD;
	if (h->poller)
		return shmq_held_num(&h->poller->ep);
	/* A client's wakes from another network namespace would never come. */
	for (i = 0; i < h->count; i++)
		if (shmq_chan_peer_off_net(h->clients[i].q))
			return -EXDEV;
	r = shmq_poller_open(&p);
	if (r)
		return r;
	h->poller = p;
	for (i = 0; i < h->count; i++)
		if (!h->clients[i].held)
			poller_add_client(h, h->clients[i].q);
	/* Ready now if a wait would return now (for what came before, too). */
	if (hub_rearm(h))
		shmq_poller_wake(p->token);
	return shmq_held_num(&p->ep);
}

SHMQ_API int shmq_hub_wait(shmq_hub_t *h, shmq_t **client, int64_t timeout_ns)
{
	static const struct shmq_wait_ops ops = { hub_ready, hub_check, hub_poll };
	int r;

	*client = NULL;
	if (shmq_forked_since(h->gen))
		return -ECHILD;
	if ((r = hub_ready(h)) < 0)
		return r;
	if (!r) {
		if (timeout_ns == 0) {
			/* A call made after a client died learns it now. */
			hub_check(h);
			r = hub_ready(h);
			if (r == 0 && h->poller) {
				r = hub_rearm(h);
				if (r)	/* found after the announce: stay ready */
					shmq_poller_wake(h->poller->token);
			}
			if (r <= 0)
				return r ? r : -EAGAIN;
		} else {
			r = shmq_wait(&h->area->door, &h->waiter, &ops, h,
				      shmq_deadline(timeout_ns));
			if (r)
				return r;
		}
	}
	*client = h->found;
	return 0;
}

SHMQ_API int shmq_hub_drop(shmq_hub_t *h, shmq_t *c)
{
	size_t i;

	if (shmq_forked_since(h->gen))
		return -ECHILD;
	for (i = 0; i < h->count; i++)
		if (h->clients[i].q == c)
			break;
	if (i == h->count)
		return -EINVAL;
	if (h->poller && !h->clients[i].held)
		poller_remove_client(h, c);
	if (h->clients[i].in_deaths)
		shmq_poller_remove(h->deaths, shmq_chan_peer_pidfd(c));
	if (h->clients[i].bit >= 0)
		shmq_ready_free_bit(&h->ready, h->clients[i].bit);
	else
		h->unmarked--;
	memmove(&h->clients[i], &h->clients[i + 1],
		(h->count - i - 1) * sizeof(*h->clients));
	h->count--;
	if (h->next > i)
		h->next--;
	return shmq_close(c);
}

SHMQ_API int shmq_hub_hold(shmq_hub_t *h, shmq_t *c, int hold)
{
	size_t i;

	for (i = 0; i < h->count; i++)
		if (h->clients[i].q == c) {
			hold = !!hold;
			/* A held client must not keep the descriptor ready. */
			if (h->poller && hold != h->clients[i].held) {
				if (hold)
					poller_remove_client(h, c);
				else
					poller_add_client(h, c);
			}
			h->clients[i].held = hold;
			if (h->clients[i].bit >= 0)
				shmq_ready_hold(&h->ready, h->clients[i].bit, hold);
			if (h->poller && !hold && shmq_chan_would_return(c))
				shmq_poller_wake(h->poller->token);
			return 0;
		}
	return -EINVAL;
}

SHMQ_API size_t shmq_hub_count(const shmq_hub_t *h)
{
	return h->count;
}

SHMQ_API shmq_t *shmq_hub_client(const shmq_hub_t *h, size_t index)
{
	return index < h->count ? h->clients[index].q : NULL;
}

/* Create the hub segment at @a: -EEXIST if something holds the key. */
static int make_hub(struct shmq_hub *h, const struct shmq_addr *a)
{
	uint64_t c0 = shmq_round_capacity(h->chan_opts.send_capacity);
	uint64_t c1 = shmq_round_capacity(h->chan_opts.recv_capacity);
	void *p;
	int r, id;

	r = shmq_seg_create(a, SHMQ_HUB_SIZE, h->mode, SHMQ_SEG_EXCL, &id);
	if (r)
		return r;
	r = shmq_seg_attach(id, 0, &p);
	if (r) {
		shmq_seg_remove(id);
		return r;
	}
	h->hdr = p;
	h->area = (struct shmq_hub_area *)((unsigned char *)p + SHMQ_HDR_SIZE);
	shmq_ready_init(&h->ready, h->area);
	h->shmid = id;
	shmq_hdr_init(h->hdr, a, h->mode, SHMQ_KIND_HUB, 0, c0, c1, SHMQ_HUB_SIZE);
	h->hdr->ep[0].life = h->life;
	h->hdr->ep[0].netns = shmq_self_netns();
	shmq_store_release(&h->hdr->ep[0].owner, h->me);
	/* Last: a client that reads READY (acquire) sees all of the above. */
	shmq_store_release(&h->hdr->state, SHMQ_STATE_READY);
	return 0;
}

/*
 * Something holds the key of @a.  Remove it if it is a leftover of ours (a
 * hub whose server died, a pair nobody joined, a segment whose creator
 * died setting it up): 0, try again.  Else -errno, explained.
 */
static int clear_leftover(const struct shmq_addr *a, const struct shmq_options *o,
			  unsigned mode)
{
	struct shmq_seg_info s;
	struct shmq_desc d;
	int id, r;

	r = shmq_seg_open(a, &id);
	if (r == -ENOENT)
		return 0;	/* gone since */
	if (r == 0)
		r = shmq_seg_stat(id, &s);
	if (r == -EINVAL || r == -EIDRM)
		return 0;
	if (r)
		return r;
	if (!shmq_trusted(&s, mode, o))
		return -EACCES;
	r = shmq_describe(id, &d);
	if (r == -EINVAL || r == -EIDRM)
		return 0;
	if (r) {
		shmq_explain(o, "the address is held by segment id %d, which is "
			     "not a shmq segment", id);
		return -EADDRINUSE;
	}
	if (d.ready && a->kind == SHMQ_ADDR_NAME &&
	    (d.addr_kind != SHMQ_ADDR_NAME || strcmp(d.name, a->name))) {
		shmq_explain(o, "key 0x%08x collides: its segment (id %d) belongs "
			     "to another address", (uint32_t)a->key, id);
		return -EADDRINUSE;
	}
	if (d.stale) {
		shmq_seg_remove(id);
		return 0;
	}
	if (d.kind == SHMQ_KIND_HUB)
		shmq_explain(o, "a hub server (pid %d) already serves this "
			     "address", (int)d.ep[0].pid);
	else
		shmq_explain(o, "the address is in use by a shmq %s (segment id %d)",
			     shmq_kind_name(d.kind), id);
	return -EADDRINUSE;
}

/* The options of each client's channel, from the server's. */
static void set_client_options(struct shmq_hub *h, const struct shmq_options *o)
{
	if (o)
		h->chan_opts = *o;
	/* Each client's channel is a plain pair; the hub reports for it. */
	h->chan_opts.flags &= SHMQ_INTERRUPTIBLE | SHMQ_HUGEPAGES;
	h->chan_opts.errbuf = NULL;
	/*
	 * Smaller rings than a channel's 1 MiB: a hub's clients are many, and
	 * 1,000 of them take 4 KiB + 2 x 64 KiB each, 129 MiB in all.
	 */
	if (!h->chan_opts.send_capacity)
		h->chan_opts.send_capacity = SHMQ_HUB_DEFAULT_CAPACITY;
	if (!h->chan_opts.recv_capacity)
		h->chan_opts.recv_capacity = SHMQ_HUB_DEFAULT_CAPACITY;
}

SHMQ_API int shmq_hub_open(const char *address, const struct shmq_options *o,
			   shmq_hub_t **out)
{
	struct shmq_addr a;
	struct shmq_hub *h;
	unsigned mode;
	int64_t deadline;
	int r, tries;

	*out = NULL;
	r = shmq_begin_open(address, o, &a, &mode, &deadline);
	if (r)
		return r;
	if (a.kind == SHMQ_ADDR_ID) {
		shmq_explain(o, "a hub needs an address its clients can find "
			     "(a name, ftok: or key:), not an id");
		return -EINVAL;
	}
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->mode = mode;
	h->gen = shmq_fork_generation();
	set_client_options(h, o);
	h->me = shmq_owner((uint32_t)getpid(), shmq_self_start(), SHMQ_EP_ATTACHED);
	r = shmq_open_life(h->me, &h->life, o);
	if (r) {
		free(h);
		return r;
	}
	h->waiter.policy = o ? o->wait : SHMQ_WAIT_HYBRID;
	h->waiter.spin_ns = o && o->spin_ns ? o->spin_ns : SHMQ_DEFAULT_SPIN_NS;
	h->waiter.interruptible = o && (o->flags & SHMQ_INTERRUPTIBLE);
	h->waiter.stop = o ? o->stop : NULL;
	h->waiter.wake = &shmq_futex_ops;

	/* Each round removes one leftover; a live holder ends it. */
	for (tries = 0; tries < 100; tries++) {
		r = make_hub(h, &a);
		if (r != -EEXIST)
			break;
		r = clear_leftover(&a, o, mode);
		if (r)
			break;
		r = -EADDRINUSE;
	}
	if (r) {
		if (r == -EADDRINUSE && tries == 100)
			shmq_explain(o, "the address stayed taken");
		free(h);
		return r;
	}
	*out = h;
	return 0;
}

/* The hub and its clients' handles are another process's: let go of ours. */
static void free_forked(struct shmq_hub *h)
{
	size_t i;
	int k;

	for (k = 0; k < SHMQ_HUB_SLOTS; k++)
		if (h->view[k].pending)
			shmq_close(h->view[k].pending);	/* unmaps only */
	for (i = 0; i < h->count; i++)
		shmq_close(h->clients[i].q);
	shmq_poller_close(h->poller);
	shmq_poller_close(h->deaths);
	shmq_seg_detach(h->hdr);
	free(h->clients);
	free(h);
}

SHMQ_API int shmq_hub_close(shmq_hub_t *h)
{
	size_t i;
	int k;

	if (!h)
		return -EINVAL;
	if (shmq_opened_elsewhere(h->gen, h->me)) {
		free_forked(h);
		return 0;
	}
	/* No more answers: clients asking from now on are refused. */
	shmq_cas(&h->hdr->ep[0].owner, h->me, (h->me & ~(uint64_t)3) | SHMQ_EP_CLOSED);
	if (h->poller)
		shmq_cas(&h->area->door_poller, h->poller->token, (uint64_t)0);
	for (k = 0; k < SHMQ_HUB_SLOTS; k++) {
		struct shmq_hub_slot *sl = slot_at(h, k);
		struct slot_view *v = &h->view[k];

		if (v->pending && shmq_chan_withdraw(v->pending) == 1)
			shmq_close(v->pending);	/* joined at the last moment */
		v->pending = NULL;
		if (shmq_load_acquire(&sl->client) &&
		    !shmq_load_relaxed(&sl->offered)) {
			shmq_store_relaxed(&sl->shmid, -ECONNREFUSED);
			shmq_store_release(&sl->offered, 1);
			shmq_futex_ops.wake(&sl->offered, 1);
		}
	}
	/* Whoever waits in line learns now that nobody will serve it. */
	next_in_line(h->area, INT_MAX);
	for (i = 0; i < h->count; i++)
		shmq_close(h->clients[i].q);
	/* Ours to remove, unless someone did, and another took the address. */
	if (!h->removed)
		shmq_seg_remove(h->shmid);
	shmq_poller_close(h->poller);
	shmq_poller_close(h->deaths);
	shmq_seg_detach(h->hdr);
	free(h->clients);
	free(h);
	return 0;
}

/* ------------------------------------------------------------------ */
/* The client                                                          */
/* ------------------------------------------------------------------ */

/* Does the server that @server watches still serve this hub? */
static int server_alive(const struct shmq_hdr *hdr, struct shmq_peer *server)
{
	uint64_t w = shmq_load_acquire(&hdr->ep[0].owner);

	return w == server->owner && shmq_owner_state(w) == SHMQ_EP_ATTACHED &&
	       shmq_peer_alive(server);
}

/*
 * Attach the hub segment @shmid and check it is a hub made for @a.
 * -EAGAIN: it went away or is still being set up; look again.
 */
static int attach_hub(const struct shmq_addr *a, int shmid,
		      const struct shmq_options *o, unsigned mode, void **out)
{
	struct shmq_seg_info s;
	struct shmq_hdr copy, *hdr;
	void *p;
	int r;

	r = shmq_attach_vetted(shmid, mode, o, SHMQ_HUB_SIZE, "hub", &s, &p);
	if (r)
		return r;
	hdr = p;
	if (shmq_load_acquire(&hdr->state) != SHMQ_STATE_READY) {
		shmq_seg_detach(p);
		return -EAGAIN;
	}
	memcpy(&copy, hdr, offsetof(struct shmq_hdr, state));
	r = shmq_check_header(&copy, s.size, a, shmid, o, &shmq_hub_kind);
	if (r) {
		shmq_seg_detach(p);
		return r;
	}
	*out = p;
	return 0;
}

/*
 * Does the server wait in an event loop (shmq_hub_fd()) from another
 * network namespace?  Then our rings' wakes could never reach it.
 */
static int server_loop_unreachable(const struct shmq_hdr *hdr,
				   const struct shmq_hub_area *area)
{
	uint64_t ns = shmq_load_acquire(&hdr->ep[0].netns), mine = shmq_self_netns();

	return shmq_load_acquire(&area->door_poller) && ns && mine && ns != mine;
}

/* The server is gone: wake the whole line, so that each learns it now. */
static void line_server_gone(struct shmq_hub_area *area)
{
	shmq_fetch_add_release(&area->line.seq, 1);
	shmq_futex_ops.wake(&area->line.seq, INT_MAX);
}

/* Claim a free slot, starting anywhere: NULL if all are taken. */
static struct shmq_hub_slot *claim_slot(struct shmq_hub_area *area, uint64_t me,
					 uint64_t life)
{
	unsigned start = 0, i;

	if (getrandom(&start, sizeof(start), GRND_NONBLOCK) != sizeof(start))
		start = (unsigned)getpid();
	for (i = 0; i < SHMQ_HUB_SLOTS; i++) {
		struct shmq_hub_slot *sl = &area->slot[(start + i) % SHMQ_HUB_SLOTS];

		/* A look first: a thousand in line must not fight over lines. */
		if (shmq_load_relaxed(&sl->client) == 0 &&
		    shmq_claim(&sl->client, &sl->life, 0, me, life))
			return sl;
	}
	return NULL;
}

/*
 * Claim a slot, waiting in line for one while the server lives: 0, or
 * -errno.  In line: counted in `line.waiting`, asleep on `line.seq`, which
 * the server bumps as it frees a slot (next_in_line()); the count goes up
 * before the last look, so a slot freed after that look finds us counted
 * and moves seq, and the sleep returns at once.  A look at the server
 * every LINE_LOOK_NS, or when a client in a slot finds it gone.
 */
static int wait_for_slot(struct shmq_hdr *hdr, struct shmq_hub_area *area,
			 struct shmq_peer *server, uint64_t me, uint64_t life,
			 const struct shmq_options *o, int64_t deadline,
			 struct shmq_hub_slot **slot)
{
	int interruptible = o && (o->flags & SHMQ_INTERRUPTIBLE);

	for (;;) {
		uint32_t key = shmq_load_acquire(&area->line.seq);
		int64_t until;
		int r;

		if (!server_alive(hdr, server)) {
			shmq_explain(o, "the hub's server is gone");
			line_server_gone(area);
			return -ECONNREFUSED;
		}
		if ((*slot = claim_slot(area, me, life)))
			return 0;
		until = shmq_now_ns();
		if (until >= deadline) {
			shmq_explain(o, "all %d of the hub's slots stayed busy",
				     SHMQ_HUB_SLOTS);
			return -ETIMEDOUT;
		}
		if (stopped(o))
			return -EINTR;
		/*
		 * A server before layout 2.3 never wakes the line: look as
		 * often as its clients did.  A stop flag is looked at every
		 * check interval, as in any wait.
		 */
		until += hdr->minor < 3 ? LOOK_AGAIN_NS :
			 o && o->stop ? SHMQ_CHECK_INTERVAL_NS : LINE_LOOK_NS;
		shmq_fetch_add_seq_cst(&area->line.waiting, 1);
		shmq_smp_mb();	/* the Dekker half: counted, then the last look */
		*slot = claim_slot(area, me, life);
		/* A close after our look at the server woke a line we were not in yet. */
		r = *slot || shmq_load_acquire(&hdr->ep[0].owner) != server->owner ? 0 :
			shmq_futex_ops.wait(&area->line.seq, key,
					    until < deadline ? until : deadline);
		shmq_fetch_add_seq_cst(&area->line.waiting, (uint32_t)-1);
		if (*slot)
			return 0;
		if (r == -EINTR && interruptible)
			return -EINTR;
	}
}

/* Wait for the server's answer on our slot: the channel's id, or -errno. */
static int wait_for_offer(struct shmq_hdr *hdr, struct shmq_hub_area *area,
			  struct shmq_hub_slot *sl,
			  struct shmq_peer *server, const struct shmq_options *o,
			  int64_t deadline)
{
	int interruptible = o && (o->flags & SHMQ_INTERRUPTIBLE);
	int id;

	for (;;) {
		int64_t now = shmq_now_ns();
		int64_t until = now + SHMQ_CHECK_INTERVAL_NS;

		/* Acquire: pairs with the server's release; shmid is its answer. */
		if (shmq_load_acquire(&sl->offered))
			break;
		if (!server_alive(hdr, server)) {
			shmq_explain(o, "the hub's server died before answering");
			line_server_gone(area);
			return -ECONNREFUSED;
		}
		if (now >= deadline) {
			shmq_explain(o, "the hub's server did not answer in time");
			return -ETIMEDOUT;
		}
		if (stopped(o))
			return -EINTR;
		if (shmq_futex_ops.wait(&sl->offered, 0, until < deadline ? until : deadline) ==
		    -EINTR && interruptible)
			return -EINTR;
	}
	id = shmq_load_relaxed(&sl->shmid);
	if (id < 0)
		shmq_explain(o, "the hub's server refused: %s", shmq_strerror(id));
	return id;
}

/*
 * What our channel will ring (hub @map): the door, and the bit the server
 * gave us in the ready set, if it gave one (a server of layout 2.2 gives
 * none); then tell it we will mark it, before we join.
 */
static void ring_for(struct shmq_hub_area *area, struct shmq_hub_slot *sl, void *map,
		     struct shmq_hub_bell *bell)
{
	uint32_t b1 = shmq_load_relaxed(&sl->ready_bit);

	memset(bell, 0, sizeof(*bell));
	bell->map = map;
	bell->door = &area->door;
	bell->door_poller = &area->door_poller;
	if (b1 == 0 || b1 > SHMQ_HUB_READY_BITS)
		return;
	b1--;
	bell->ready = &area->slot[b1 / 64].ready;
	bell->ready_mask = (uint64_t)1 << (b1 % 64);
	bell->summary = &area->ready_summary;
	bell->summary_mask = (uint64_t)1 << (b1 / 64);
	shmq_store_release(&sl->marks, 1);
}

/*
 * Ask the attached hub @p for a channel: the handshake of layout.h.  The
 * server is watched (a pidfd, held while asking) from the start, so that
 * a server that dies, even one left a zombie, is never waited for.
 */
static int ask(void *p, int shmid, const struct shmq_options *o, unsigned mode,
	       int64_t deadline, shmq_t **out)
{
	struct shmq_seg_info hub;
	struct shmq_hdr *hdr = p;
	struct shmq_hub_area *area =
		(struct shmq_hub_area *)((unsigned char *)p + SHMQ_HDR_SIZE);
	uint64_t me = shmq_owner((uint32_t)getpid(), shmq_self_start(),
				 SHMQ_EP_ATTACHED);
	struct shmq_hub_slot *sl;
	struct shmq_peer server;
	uint64_t life;
	int r;

	r = shmq_open_life(me, &life, o);
	if (r)
		return r;
	r = shmq_seg_stat(shmid, &hub);
	if (r)
		return r;
	if (server_loop_unreachable(hdr, area)) {
		shmq_explain(o, "the hub's server waits in an event loop in another "
			     "network namespace, which no wake from here can reach");
		return -EXDEV;
	}
	shmq_peer_init(&server);
	r = shmq_peer_watch(&server, shmq_load_acquire(&hdr->ep[0].owner),
			    &hdr->ep[0].life);
	if (r) {
		shmq_explain(o, "cannot watch the hub's server: %s", strerror(-r));
		return r;
	}
	r = wait_for_slot(hdr, area, &server, me, life, o, deadline, &sl);
	if (r) {
		shmq_peer_forget(&server);
		return r;
	}
	shmq_fetch_add_release(&area->asks, 1);
	shmq_ec_notify(&area->door, &shmq_futex_ops, &area->door_poller);
	r = wait_for_offer(hdr, area, sl, &server, o, deadline);
	shmq_peer_forget(&server);
	if (r >= 0) {
		struct shmq_hub_bell bell;

		ring_for(area, sl, p, &bell);
		r = shmq_chan_take_offer(r, o, mode, &hub, &bell, out);
	}
	if (r == 0) {
		/* In: the server adopts us at once, not at our first message. */
		shmq_ec_notify(&area->door, &shmq_futex_ops, &area->door_poller);
		return 0;
	}
	/* Done with the slot: the server frees it (and withdraws any offer). */
	shmq_cas(&sl->client, me, (me & ~(uint64_t)3) | SHMQ_EP_CLOSED);
	shmq_ec_notify(&area->door, &shmq_futex_ops, &area->door_poller);
	return r;
}

int shmq_hub_connect(const struct shmq_addr *a, const struct shmq_options *o,
		     unsigned mode, int64_t deadline, shmq_t **out)
{
	for (;;) {
		void *p;
		int r, shmid;

		r = shmq_seg_open(a, &shmid);
		if (r == 0) {
			r = attach_hub(a, shmid, o, mode, &p);
			if (r == 0) {
				r = ask(p, shmid, o, mode, deadline, out);
				if (r)
					shmq_seg_detach(p);
				return r;
			}
		}
		if (r != -ENOENT && r != -EAGAIN)
			return r;
		if (a->kind == SHMQ_ADDR_ID && r == -ENOENT) {
			shmq_explain(o, "no segment with id %d", a->shmid);
			return r;
		}
		if (shmq_now_ns() >= deadline) {
			shmq_explain(o, "no hub server appeared in time");
			return -ETIMEDOUT;
		}
		if (stopped(o))
			return -EINTR;
		shmq_sleep_ns(LOOK_AGAIN_NS);
	}
}

SHMQ_API int shmq_connect(const char *address, const struct shmq_options *o,
			  shmq_t **out)
{
	struct shmq_addr a;
	unsigned mode;
	int64_t deadline;
	int r;

	*out = NULL;
	r = shmq_begin_open(address, o, &a, &mode, &deadline);
	return r ? r : shmq_hub_connect(&a, o, mode, deadline, out);
}

/* ------------------------------------------------------------------ */
/* The hub's kind                                                      */
/* ------------------------------------------------------------------ */

/* The header, the door and the slots: one size, whatever the clients'. */
static uint64_t hub_total_size(const struct shmq_hdr *copy)
{
	(void)copy;
	return SHMQ_HUB_SIZE;
}

static int hub_plausible_size(uint64_t size)
{
	return size == SHMQ_HUB_SIZE;
}

/* The server (endpoint 0), and each client's channel's capacities. */
static void hub_describe(const struct shmq_hdr *h, const struct shmq_hdr *copy,
			 struct shmq_desc *d)
{
	uint64_t w = shmq_load_acquire(&h->ep[0].owner);
	pid_t here;

	d->capacity[0] = copy->cap[0];
	d->capacity[1] = copy->cap[1];
	if (w == SHMQ_OWNER_SEALED)
		return;
	d->ep[0].state = shmq_owner_state(w) == SHMQ_EP_ATTACHED ? SHMQ_PEER_ATTACHED :
		shmq_owner_state(w) == SHMQ_EP_CLOSED ? SHMQ_PEER_CLOSED :
		shmq_owner_state(w) == SHMQ_EP_ABANDONED ? SHMQ_PEER_ABANDONED : SHMQ_PEER_NONE;
	d->ep[0].pid = (pid_t)shmq_owner_pid(w);
	if (d->ep[0].state == SHMQ_PEER_ATTACHED)
		d->ep[0].pid_state = shmq_holder_state(w, shmq_load_acquire(&h->ep[0].life),
						       &here);
}

/* shmq_open() at a hub's address: connect, as a client. */
const struct shmq_kind shmq_hub_kind = {
	.kind = SHMQ_KIND_HUB,
	.name = "hub",
	.total_size = hub_total_size,
	.plausible_size = hub_plausible_size,
	.describe = hub_describe,
	.open_existing = shmq_hub_connect,
};
