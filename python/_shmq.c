/* SPDX-License-Identifier: MIT */
/*
 * _shmq: the native core of the Python binding.  python/shmq.py builds the
 * public classes (Channel, Hub, Publisher, Subscriber) on the four types
 * here, which hold the library's handles and make every call.
 *
 * What only native code can promise:
 *  - Every wait releases the GIL, in slices of SLICE_NS: between them (and
 *    whenever a signal ends a sleep: the handles are interruptible) Python
 *    runs its signal handlers.
 *  - Signals are checked *before* a message is consumed: a message is
 *    peeked, copied, the handlers run, and only then released.  If a
 *    handler raises (KeyboardInterrupt), the message stays pending and the
 *    next receive returns it.  After the release nothing runs Python code
 *    until the call returns.
 *  - Zero copy: peek() and reserve() hand out a View, whose memoryview
 *    points into the ring for the length of a with block.  While any
 *    buffer of it is alive the handle refuses to receive, send or close
 *    (BufferError), so no view ever outlives the memory it shows.
 *  - Threads: one thread may send while another receives; a second one
 *    doing the same, or a close while another thread waits, is refused
 *    (RuntimeError), never a crash.
 *  - fork: a handle belongs to the process that opened it; in a child the
 *    library says -ECHILD to every call, and dropping the handle there
 *    changes nothing the parent or the peer sees.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include "shmq.h"

#define SLICE_NS 50000000LL	/* how long a wait goes without Python */
#define RAISED 1		/* a Python exception is set */

enum kind { K_CHANNEL, K_HUB, K_PUB, K_SUB };

typedef struct {
	PyObject_HEAD
	void *h;		/* the library's handle; NULL once closed */
	int kind;
	PyObject *hub;		/* a hub's client: the hub, which owns h */
	const void *msg;	/* peeked, not yet handed over */
	size_t msg_len;
	int has_msg;
	void *res;		/* reserved, not yet committed */
	size_t res_len;
	int has_res;
	Py_ssize_t exports;	/* live buffers of this handle's views */
	int rx_busy, tx_busy;	/* a thread is in a receive / a send */
	unsigned gen;		/* fork_gen when it was opened */
	int borrowed;		/* a hub's client: the hub frees h */
	uint64_t msg_id, res_id;	/* which message / reservation is held */
} Handle;

typedef struct {
	PyObject_HEAD
	Handle *owner;
	int writable;		/* a reservation's, not a message's */
	uint64_t id;		/* the owner's msg_id or res_id when made */
	int done;		/* its with block has ended */
	Py_ssize_t exports;
	PyObject *mv;		/* the memoryview __enter__ handed out */
} View;

static PyObject *end_of_stream;	/* shmq.EndOfStream, once registered */
static unsigned fork_gen;	/* bumped in every fork child */
static PyTypeObject ChannelType, HubType, PubType, SubType, ViewType;

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* -errno as the matching exception (OSError picks its subclass). */
static PyObject *raise_err(int r, const char *what)
{
	PyObject *args, *exc;

	if (r == RAISED)
		return NULL;
	if (r == -EPIPE) {
		PyErr_SetString(end_of_stream ? end_of_stream : PyExc_EOFError,
				shmq_strerror(r));
		return NULL;
	}
	args = Py_BuildValue("(is)", -r, what);
	if (!args)
		return NULL;
	exc = PyObject_Call(PyExc_OSError, args, NULL);
	Py_DECREF(args);
	if (exc) {
		PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
		Py_DECREF(exc);
	}
	return NULL;
}

static PyObject *raise_op(int r, const char *op)
{
	char what[256];

	if (r == RAISED)
		return NULL;
	snprintf(what, sizeof(what), "%s: %s", op, shmq_strerror(r));
	return raise_err(r, what);
}

/* A send's failure: -EPIPE there is the peer's close, BrokenPipeError. */
static PyObject *raise_send(int r, const char *op)
{
	char what[256];
	PyObject *args;

	if (r != -EPIPE)
		return raise_op(r, op);
	snprintf(what, sizeof(what), "%s: the peer closed the channel", op);
	args = Py_BuildValue("(is)", EPIPE, what);
	if (args) {
		PyErr_SetObject(PyExc_BrokenPipeError, args);
		Py_DECREF(args);
	}
	return NULL;
}

/* None: forever (-1); else seconds >= 0, as nanoseconds. */
static int parse_timeout(PyObject *t, int64_t *ns)
{
	double d;

	if (!t || t == Py_None) {
		*ns = -1;
		return 0;
	}
	d = PyFloat_AsDouble(t);
	if (d == -1.0 && PyErr_Occurred())
		return -1;
	if (!(d >= 0)) {
		PyErr_SetString(PyExc_ValueError, "timeout must be >= 0 or None");
		return -1;
	}
	*ns = d > 1e9 ? (int64_t)1e18 : (int64_t)(d * 1e9);
	return 0;
}

typedef int (*attempt_fn)(Handle *o, int64_t ns, void *arg);

/*
 * Call @fn until it says something other than "not yet", for up to
 * @timeout_ns (-1: forever): in slices, the GIL released, Python's signal
 * handlers run between them.  The first look is always made.
 */
static int run_sliced(Handle *o, attempt_fn fn, void *arg, int64_t timeout_ns)
{
	int64_t deadline = timeout_ns < 0 ? -1 : now_ns() + timeout_ns;
	int first = 1, r;

	for (;;) {
		int64_t ns = SLICE_NS;

		if (deadline >= 0) {
			int64_t left = deadline - now_ns();

			if (left <= 0 && !first)
				return -ETIMEDOUT;
			if (left < ns)
				ns = left > 0 ? left : 0;
		}
		if (ns == 0) {
			r = fn(o, 0, arg);
		} else {
			Py_BEGIN_ALLOW_THREADS
			r = fn(o, ns, arg);
			Py_END_ALLOW_THREADS
		}
		first = 0;
		if (r != -ETIMEDOUT && r != -EINTR && r != -EAGAIN)
			return r;
		if (PyErr_CheckSignals() < 0)
			return RAISED;
		if (ns == 0 && timeout_ns == 0)
			return -EAGAIN;
	}
}

/* The handle, open, used by the process that opened it; else NULL, raised. */
static void *live(Handle *o)
{
	if (!o->h) {
		PyErr_SetString(PyExc_ValueError, "it is closed");
		return NULL;
	}
	if (o->gen != fork_gen) {
		/* What it holds pending is the parent's, not this child's. */
		raise_err(-ECHILD, "it belongs to the process that opened it: "
			  "a fork child opens its own");
		return NULL;
	}
	return o->h;
}

static void on_fork_child(void)
{
	fork_gen++;
}

static int no_views(Handle *o)
{
	if (o->exports) {
		PyErr_SetString(PyExc_BufferError, "a view of a message or a reservation "
				"is still alive: release it (end its with block, del it) first");
		return -1;
	}
	return 0;
}

/*
 * The flag a call claims: its direction's, except that a hub and all its
 * clients' channels are used by one thread at a time (the library's rule),
 * so they share the hub's one.
 */
static int *busy_flag(Handle *o, int *own)
{
	return o->hub ? &((Handle *)o->hub)->rx_busy : own;
}
#define RX(o) busy_flag((o), &(o)->rx_busy)
#define TX(o) busy_flag((o), &(o)->tx_busy)

/* Claim a direction for this thread: 0, or -1 raised. */
static int enter(Handle *o, int *busy, int need_no_views)
{
	if (!live(o) || (need_no_views && no_views(o)))
		return -1;
	if (*busy) {
		PyErr_SetString(PyExc_RuntimeError, "another thread is using this "
				"end the same way: one sender and one receiver at a time");
		return -1;
	}
	*busy = 1;
	return 0;
}

/* ---- opening -------------------------------------------------------- */

struct open_args {
	const char *address;
	struct shmq_options opts;
	struct shmq_topic_options topic;
	uid_t uids[64];
	char why[512];
	int connect;
};

/* The options tuple shmq.py makes: see _options() there. */
static int parse_options(PyObject *t, struct open_args *a)
{
	PyObject *uids;
	unsigned long long send, recv;
	long long spin;
	Py_ssize_t i, n;

	memset(&a->opts, 0, sizeof(a->opts));
	if (!PyArg_ParseTuple(t, "KKIIiLO!;options", &send, &recv, &a->opts.mode,
			      &a->opts.flags, &a->opts.wait, &spin, &PyTuple_Type, &uids))
		return -1;
	a->opts.send_capacity = (size_t)send;
	a->opts.recv_capacity = (size_t)recv;
	a->opts.spin_ns = spin;
	a->opts.flags |= SHMQ_INTERRUPTIBLE;
	n = PyTuple_GET_SIZE(uids);
	if (n > (Py_ssize_t)(sizeof(a->uids) / sizeof(a->uids[0]))) {
		PyErr_SetString(PyExc_ValueError, "at most 64 trusted uids");
		return -1;
	}
	for (i = 0; i < n; i++) {
		unsigned long u = PyLong_AsUnsignedLong(PyTuple_GET_ITEM(uids, i));

		if (u == (unsigned long)-1 && PyErr_Occurred())
			return -1;
		if (u >= (unsigned long)(uid_t)-1) {
			PyErr_SetString(PyExc_ValueError, "a trusted uid out of range");
			return -1;
		}
		a->uids[i] = (uid_t)u;
	}
	a->opts.trust_uids = n ? a->uids : NULL;
	a->opts.n_trust_uids = (size_t)n;
	a->why[0] = '\0';
	a->opts.errbuf = a->why;
	a->opts.errbuf_size = sizeof(a->why);
	return 0;
}

static int parse_topic(PyObject *t, struct open_args *a)
{
	unsigned long long slots, size, max, from_seq;
	long long slow;

	memset(&a->topic, 0, sizeof(a->topic));
	if (!PyArg_ParseTuple(t, "KKKiKIL;topic options", &slots, &size, &max,
			      &a->topic.from, &from_seq, &a->topic.flags, &slow))
		return -1;
	a->topic.slots = (size_t)slots;
	a->topic.slot_size = (size_t)size;
	a->topic.max_subscribers = (size_t)max;
	a->topic.from_seq = from_seq;
	a->topic.slow_subscriber_ms = slow;
	return 0;
}

static int open_once(Handle *o, struct open_args *a)
{
	switch (o->kind) {
	case K_CHANNEL:
		return (a->connect ? shmq_connect : shmq_open)(a->address, &a->opts,
							       (shmq_t **)&o->h);
	case K_HUB:
		return shmq_hub_open(a->address, &a->opts, (shmq_hub_t **)&o->h);
	case K_PUB:
		return shmq_pub_open(a->address, &a->opts, &a->topic, (shmq_pub_t **)&o->h);
	default:
		return shmq_sub_open(a->address, &a->opts, &a->topic, (shmq_sub_t **)&o->h);
	}
}

/*
 * Open, waiting for the peer (channels) up to @timeout_ns with the GIL
 * released; a signal ends the wait, its handler runs, and unless it
 * raised, the open starts again with the time left.
 */
static int open_handle(Handle *o, struct open_args *a, int64_t timeout_ns)
{
	int64_t deadline = timeout_ns < 0 ? -1 : now_ns() + timeout_ns;
	int r;

	for (;;) {
		if (deadline < 0) {
			a->opts.open_timeout_ms = 0;
		} else {
			int64_t left = (deadline - now_ns()) / 1000000;

			a->opts.open_timeout_ms = left > 0 ? left : 1;
		}
		Py_BEGIN_ALLOW_THREADS
		r = open_once(o, a);
		Py_END_ALLOW_THREADS
		if (r != -EINTR)
			break;
		o->h = NULL;
		if (PyErr_CheckSignals() < 0)
			return RAISED;
	}
	if (r)
		o->h = NULL;
	return r;
}

static PyObject *h_open(Handle *o, PyObject *args, int kind)
{
	struct open_args a;
	PyObject *opts, *topic = NULL, *timeout = Py_None;
	int64_t ns;
	int r;

	if (o->h || o->hub) {
		PyErr_SetString(PyExc_ValueError, "already open");
		return NULL;
	}
	a.connect = 0;
	if (kind == K_PUB || kind == K_SUB)
		r = PyArg_ParseTuple(args, "sO!O!", &a.address, &PyTuple_Type, &opts,
				     &PyTuple_Type, &topic);
	else
		r = PyArg_ParseTuple(args, "sO!|pO", &a.address, &PyTuple_Type, &opts,
				     &a.connect, &timeout);
	if (!r || parse_options(opts, &a) || (topic && parse_topic(topic, &a)) ||
	    parse_timeout(timeout, &ns))
		return NULL;
	o->kind = kind;
	o->gen = fork_gen;
	r = open_handle(o, &a, ns);
	if (r == RAISED)
		return NULL;
	if (r) {
		char what[768];

		snprintf(what, sizeof(what), "%s: %s", a.address, a.why[0] ? a.why :
			 r == -ETIMEDOUT ? "no peer arrived" : shmq_strerror(r));
		return raise_err(r, what);
	}
	Py_RETURN_NONE;
}

/* ---- closing -------------------------------------------------------- */

static int free_handle(Handle *o, int clean)
{
	void *h = o->h;

	o->h = NULL;
	o->has_msg = o->has_res = 0;
	if (!h || o->borrowed)
		return 0;
	switch (o->kind) {
	case K_CHANNEL:
		return clean ? shmq_close(h) : shmq_abandon(h);
	case K_HUB:
		return shmq_hub_close(h);
	case K_PUB:
		return shmq_pub_close(h);
	default:
		return shmq_sub_close(h);
	}
}

static int closable(Handle *o)
{
	Handle *b = o->hub ? (Handle *)o->hub : o;

	/* In a fork child, the flags are the parent's threads': not ours. */
	if (o->gen == fork_gen && (b->rx_busy || b->tx_busy)) {
		PyErr_SetString(PyExc_RuntimeError,
				"another thread is waiting on it: it cannot be closed now");
		return -1;
	}
	return no_views(o);
}

static PyObject *h_close(Handle *o, PyObject *noargs)
{
	(void)noargs;
	if (closable(o))
		return NULL;
	free_handle(o, 1);
	Py_RETURN_NONE;
}

static PyObject *h_abandon(Handle *o, PyObject *noargs)
{
	(void)noargs;
	if (closable(o))
		return NULL;
	free_handle(o, 0);
	Py_RETURN_NONE;
}

static void h_dealloc(Handle *o)
{
	PyObject_GC_UnTrack(o);
	/* Dropped unclosed: a channel is abandoned (no end of stream). */
	free_handle(o, 0);
	Py_CLEAR(o->hub);
	Py_TYPE(o)->tp_free((PyObject *)o);
}

/* A client and its hub refer to each other (the hub's table in Python). */
static int h_traverse(Handle *o, visitproc visit, void *arg)
{
	Py_VISIT(o->hub);
	return 0;
}

static int h_clear(Handle *o)
{
	Py_CLEAR(o->hub);
	return 0;
}

static PyObject *h_is_open(Handle *o, void *closure)
{
	(void)closure;
	return PyBool_FromLong(o->h != NULL);
}

static PyObject *h_pending(Handle *o, void *closure)
{
	(void)closure;
	return PyBool_FromLong(o->has_msg);
}

/* ---- receiving ------------------------------------------------------ */

static int peek_once(Handle *o, int64_t ns, void *arg)
{
	(void)arg;
	if (o->kind == K_SUB)
		return shmq_sub_peek(o->h, &o->msg, &o->msg_len, ns);
	return shmq_peek(o->h, &o->msg, &o->msg_len, ns);
}

/* A message pending (peeked, kept): 0, or -errno / RAISED. */
static int fetch(Handle *o, int64_t timeout_ns)
{
	int r;

	if (o->has_msg)
		return 0;
	r = run_sliced(o, peek_once, NULL, timeout_ns);
	if (r == 0) {
		o->has_msg = 1;
		o->msg_id++;
	}
	return r;
}

/* Free the pending message: 0, or -ESTALE (a lossy subscriber's was overwritten). */
static int consume(Handle *o)
{
	o->has_msg = 0;
	if (o->kind == K_SUB)
		return shmq_sub_release(o->h);
	return shmq_release(o->h);
}

/*
 * The pending message as bytes, consumed; NULL with the message kept if
 * the copy fails or a signal handler raises; Py_None for a lossy
 * subscriber's message overwritten while copied (counted lost).
 */
static PyObject *take(Handle *o, int check_signals)
{
	PyObject *b = PyBytes_FromStringAndSize(o->msg, (Py_ssize_t)o->msg_len);

	if (!b)
		return NULL;
	if (check_signals && PyErr_CheckSignals() < 0) {
		Py_DECREF(b);
		return NULL;
	}
	if (consume(o) == -ESTALE) {
		Py_DECREF(b);
		Py_RETURN_NONE;
	}
	return b;
}

static PyObject *recv_common(Handle *o, int64_t timeout_ns, int none_at_timeout)
{
	PyObject *b;

	if (enter(o, RX(o), 1))
		return NULL;
	for (;;) {
		int r = fetch(o, timeout_ns);

		if (r) {
			*RX(o) = 0;
			if ((r == -EAGAIN && timeout_ns == 0) ||
			    (r == -ETIMEDOUT && none_at_timeout))
				Py_RETURN_NONE;
			return raise_op(r, "recv");
		}
		b = take(o, 1);
		if (b != Py_None)
			break;
		Py_DECREF(b);	/* overwritten: the next one */
	}
	*RX(o) = 0;
	return b;
}

static PyObject *h_recv(Handle *o, PyObject *args, PyObject *kw)
{
	static char *names[] = { "timeout", NULL };
	PyObject *t = Py_None;
	int64_t ns;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "|O:recv", names, &t) ||
	    parse_timeout(t, &ns))
		return NULL;
	if (ns == 0)
		ns = 1;		/* recv(timeout=0): one look, then TimeoutError */
	return recv_common(o, ns, 0);
}

static PyObject *h_try_recv(Handle *o, PyObject *noargs)
{
	(void)noargs;
	return recv_common(o, 0, 0);
}

/* _recv_within(seconds): the next message if one comes that soon, else None. */
static PyObject *h_recv_within(Handle *o, PyObject *arg)
{
	double d = PyFloat_AsDouble(arg);

	if (d == -1.0 && PyErr_Occurred())
		return NULL;
	return recv_common(o, d > 0 ? (int64_t)(d * 1e9) : 0, 1);
}

/*
 * Up to @max messages already there, after the first (waited for).  The
 * signal handlers run before the first is consumed only: once one is in
 * the list, the list is what the call returns, so nothing after it may
 * raise (a pending signal is handled when the call returns).  Each
 * message goes into the list before it is consumed.
 */
static int gather(Handle *o, PyObject *list, Py_ssize_t max)
{
	while (PyList_GET_SIZE(list) < max) {
		Py_ssize_t n = PyList_GET_SIZE(list);
		PyObject *b;
		int r;

		if (!o->has_msg) {
			r = peek_once(o, 0, NULL);
			if (r)
				return r == -EAGAIN || n ? 0 : r;
			o->has_msg = 1;
			o->msg_id++;
		}
		if (n == 0 && PyErr_CheckSignals() < 0)
			return RAISED;
		b = PyBytes_FromStringAndSize(o->msg, (Py_ssize_t)o->msg_len);
		if (!b || PyList_Append(list, b)) {
			Py_XDECREF(b);
			return n ? (PyErr_Clear(), 0) : RAISED;	/* kept, for next time */
		}
		Py_DECREF(b);
		if (consume(o) == -ESTALE)	/* overwritten while copied: lost */
			PyList_SetSlice(list, n, n + 1, NULL);
	}
	return 0;
}

static PyObject *h_recv_many(Handle *o, PyObject *args, PyObject *kw)
{
	static char *names[] = { "max", "timeout", NULL };
	Py_ssize_t max = 64;
	PyObject *t = Py_None, *list;
	int64_t ns;
	int r;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "|nO:recv_many", names, &max, &t) ||
	    parse_timeout(t, &ns))
		return NULL;
	if (max < 1) {
		PyErr_SetString(PyExc_ValueError, "max must be at least 1");
		return NULL;
	}
	list = PyList_New(0);
	if (!list || enter(o, RX(o), 1)) {
		Py_XDECREF(list);
		return NULL;
	}
	do {
		r = fetch(o, ns);
		if (r == 0)
			r = gather(o, list, max);
	} while (r == 0 && PyList_GET_SIZE(list) == 0);	/* all overwritten */
	*RX(o) = 0;
	/* What was taken is returned, even if the rest ended in an error. */
	if (PyList_GET_SIZE(list)) {
		if (r == RAISED && PyErr_ExceptionMatches(PyExc_MemoryError))
			PyErr_Clear();
		if (!PyErr_Occurred())
			return list;
	}
	Py_DECREF(list);
	if (r == -EAGAIN && ns == 0)
		return PyList_New(0);
	return raise_op(r ? r : -EAGAIN, "recv_many");
}

/* ---- sending -------------------------------------------------------- */

struct send_args {
	const void *p;
	size_t len;
};

static int send_once(Handle *o, int64_t ns, void *arg)
{
	struct send_args *s = arg;

	if (o->kind == K_PUB)
		return shmq_pub_send_timed(o->h, s->p, s->len, ns);
	return shmq_send_timed(o->h, s->p, s->len, ns);
}

/* A reservation whose with block failed, its view gone now: forget it. */
static int settle_reservation(Handle *o)
{
	if (!o->has_res)
		return 0;
	if (no_views(o))
		return -1;
	if (o->kind == K_CHANNEL)
		shmq_discard(o->h);
	o->has_res = 0;		/* a publisher's is simply not committed */
	return 0;
}

static PyObject *send_common(Handle *o, PyObject *data, int64_t ns)
{
	Py_buffer buf;
	struct send_args s;
	int r;

	if (enter(o, TX(o), 0))
		return NULL;
	if (settle_reservation(o) || PyObject_GetBuffer(data, &buf, PyBUF_SIMPLE)) {
		*TX(o) = 0;
		return NULL;
	}
	s.p = buf.buf;
	s.len = (size_t)buf.len;
	r = run_sliced(o, send_once, &s, ns);
	PyBuffer_Release(&buf);
	*TX(o) = 0;
	if (r)
		return raise_send(r, "send");
	Py_RETURN_NONE;
}

static PyObject *h_send(Handle *o, PyObject *args, PyObject *kw)
{
	static char *names[] = { "data", "timeout", NULL };
	PyObject *data, *t = Py_None;
	int64_t ns;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "O|O:send", names, &data, &t) ||
	    parse_timeout(t, &ns))
		return NULL;
	if (ns == 0)
		ns = 1;		/* send(timeout=0): one look, then TimeoutError */
	return send_common(o, data, ns);
}

static PyObject *h_try_send(Handle *o, PyObject *data)
{
	return send_common(o, data, 0);
}

static PyObject *h_shutdown(Handle *o, PyObject *noargs)
{
	int r;

	(void)noargs;
	if (enter(o, TX(o), 0))
		return NULL;
	if (o->has_res) {
		/* Its message would be dropped without a word: say so instead. */
		*TX(o) = 0;
		PyErr_SetString(PyExc_BufferError, "a reservation is open: commit it "
				"(end its with block) before shutdown()");
		return NULL;
	}
	r = shmq_shutdown(o->h);
	*TX(o) = 0;
	if (r)
		return raise_op(r, "shutdown");
	Py_RETURN_NONE;
}

/* ---- zero copy: views ----------------------------------------------- */

static PyObject *make_view(Handle *o, int writable)
{
	View *v = PyObject_GC_New(View, &ViewType);

	if (!v)
		return NULL;
	Py_INCREF(o);
	v->owner = o;
	v->writable = writable;
	v->done = 0;
	v->exports = 0;
	v->mv = NULL;
	v->id = writable ? o->res_id : o->msg_id;
	PyObject_GC_Track(v);
	return (PyObject *)v;
}

static PyObject *h_peek(Handle *o, PyObject *args, PyObject *kw)
{
	static char *names[] = { "timeout", NULL };
	PyObject *t = Py_None;
	int64_t ns;
	int r;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "|O:peek", names, &t) ||
	    parse_timeout(t, &ns) || enter(o, RX(o), 1))
		return NULL;
	r = fetch(o, ns == 0 ? 1 : ns);
	*RX(o) = 0;
	if (r)
		return raise_op(r, "peek");
	return make_view(o, 0);
}

struct reserve_args {
	size_t len;
};

static int reserve_once(Handle *o, int64_t ns, void *arg)
{
	struct reserve_args *a = arg;

	if (o->kind == K_PUB)
		return shmq_pub_reserve(o->h, a->len, &o->res, ns);
	return shmq_reserve(o->h, a->len, &o->res, ns);
}

static PyObject *h_reserve(Handle *o, PyObject *args, PyObject *kw)
{
	static char *names[] = { "size", "timeout", NULL };
	PyObject *t = Py_None;
	Py_ssize_t size;
	struct reserve_args a;
	int64_t ns;
	int r;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "n|O:reserve", names, &size, &t) ||
	    parse_timeout(t, &ns))
		return NULL;
	if (size < 0) {
		PyErr_SetString(PyExc_ValueError, "size must be >= 0");
		return NULL;
	}
	if (enter(o, TX(o), 0))
		return NULL;
	if (settle_reservation(o)) {
		*TX(o) = 0;
		return NULL;
	}
	a.len = (size_t)size;
	r = run_sliced(o, reserve_once, &a, ns == 0 ? 1 : ns);
	*TX(o) = 0;
	if (r)
		return raise_send(r, "reserve");
	o->has_res = 1;
	o->res_len = a.len;
	o->res_id++;
	return make_view(o, 1);
}

/*
 * One message of send_many: reserved in place and copied.  The batch is
 * committed every 64 messages, and before any wait for room.
 */
static int put_one(Handle *o, PyObject *item, int64_t deadline, int *pending)
{
	struct reserve_args a;
	Py_buffer b;
	void *dst;
	int r;

	if (PyObject_GetBuffer(item, &b, PyBUF_SIMPLE))
		return RAISED;
	r = shmq_reserve(o->h, (size_t)b.len, &dst, 0);
	if ((r == -EAGAIN || r == -ENOBUFS) && *pending) {
		shmq_commit(o->h);	/* ours fill the ring: let them go first */
		*pending = 0;
		r = shmq_reserve(o->h, (size_t)b.len, &dst, 0);
	}
	if (r == -EAGAIN && deadline != 0) {
		int64_t left = deadline < 0 ? -1 : deadline - now_ns();

		a.len = (size_t)b.len;
		r = run_sliced(o, reserve_once, &a, deadline < 0 ? -1 : left > 0 ? left : 1);
		dst = o->res;
	}
	if (r == 0) {
		memcpy(dst, b.buf, (size_t)b.len);
		if (++*pending == 64) {
			shmq_commit(o->h);	/* the receiver starts on them */
			*pending = 0;
		}
	}
	PyBuffer_Release(&b);
	return r;
}

/* The exception a send_many ends with says how many went: its `sent`. */
static void note_sent(Py_ssize_t n)
{
	PyObject *type, *value, *tb, *count;

	PyErr_Fetch(&type, &value, &tb);
	PyErr_NormalizeException(&type, &value, &tb);
	count = PyLong_FromSsize_t(n);
	if (value && count && PyObject_SetAttrString(value, "sent", count) < 0)
		PyErr_Clear();	/* an exception that takes no attributes */
	Py_XDECREF(count);
	PyErr_Restore(type, value, tb);
}

/*
 * send_many(messages, timeout=None): every message of an iterable, in
 * batches of 64 committed with one store (and at most one wake) each,
 * within one deadline; how many were sent.  On an error (a timeout, a
 * signal handler's exception, an item that is not bytes-like) the
 * messages before it were sent, and the exception's `sent` says how many.
 */
static PyObject *h_send_many(Handle *o, PyObject *args, PyObject *kw)
{
	static char *names[] = { "messages", "timeout", NULL };
	PyObject *msgs, *t = Py_None, *it, *item;
	Py_ssize_t n = 0;
	int64_t ns, deadline;
	int r = 0, pending = 0;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "O|O:send_many", names, &msgs, &t) ||
	    parse_timeout(t, &ns) || enter(o, TX(o), 0))
		return NULL;
	/* One deadline for the whole batch; 0 stays a try. */
	deadline = ns < 0 ? -1 : ns == 0 ? 0 : now_ns() + ns;
	it = settle_reservation(o) ? NULL : PyObject_GetIter(msgs);
	while (it && (item = PyIter_Next(it))) {
		r = put_one(o, item, deadline, &pending);
		Py_DECREF(item);
		if (r)
			break;
		n++;
		/* After each commit of 64: a clean place to stop for a signal. */
		if (pending == 0 && PyErr_CheckSignals() < 0) {
			r = RAISED;
			break;
		}
	}
	if (pending)
		shmq_commit(o->h);
	Py_XDECREF(it);
	*TX(o) = 0;
	if (it && !PyErr_Occurred() && r)
		raise_send(r == -EAGAIN ? -ETIMEDOUT : r, "send_many");
	if (PyErr_Occurred()) {
		if (it)
			note_sent(n);
		return NULL;
	}
	return PyLong_FromSsize_t(n);
}

static int view_getbuffer(View *v, Py_buffer *view, int flags)
{
	Handle *o = v->owner;
	void *p = v->writable ? o->res : (void *)o->msg;
	size_t len = v->writable ? o->res_len : o->msg_len;

	if (v->done || !o->h || !(v->writable ? o->has_res : o->has_msg) ||
	    v->id != (v->writable ? o->res_id : o->msg_id)) {
		PyErr_SetString(PyExc_ValueError, "the view is no longer valid: used after its with "
				"block, or its message or reservation is gone");
		view->obj = NULL;
		return -1;
	}
	if (PyBuffer_FillInfo(view, (PyObject *)v, p, (Py_ssize_t)len, !v->writable, flags))
		return -1;
	v->exports++;
	o->exports++;
	return 0;
}

static void view_releasebuffer(View *v, Py_buffer *view)
{
	(void)view;
	v->exports--;
	v->owner->exports--;
}

static PyObject *view_enter(View *v, PyObject *noargs)
{
	(void)noargs;
	if (v->mv || v->done) {
		PyErr_SetString(PyExc_ValueError, "a view's with block is entered once");
		return NULL;
	}
	v->mv = PyMemoryView_FromObject((PyObject *)v);
	Py_XINCREF(v->mv);
	return v->mv;
}

/* Let go of the memoryview handed out: 0 if no buffer of it is left. */
static int view_let_go(View *v)
{
	if (v->mv) {
		PyObject *r = PyObject_CallMethod(v->mv, "release", NULL);

		if (!r)
			PyErr_Clear();	/* exports of its own: counted below */
		Py_XDECREF(r);
		Py_CLEAR(v->mv);
	}
	return v->exports ? -1 : 0;
}

static PyObject *view_exit(View *v, PyObject *args)
{
	Handle *o = v->owner;
	int failed = PyTuple_GET_SIZE(args) > 0 && PyTuple_GET_ITEM(args, 0) != Py_None;
	int r = 0;

	if (v->done)
		Py_RETURN_FALSE;
	v->done = 1;
	if (view_let_go(v)) {
		PyErr_SetString(PyExc_BufferError, "a view taken from the block's "
				"memoryview outlives it: the message stays (or the "
				"reservation is not sent) until it is released");
		return NULL;
	}
	if (!o->h || (v->writable ? !o->has_res : !o->has_msg) ||
	    v->id != (v->writable ? o->res_id : o->msg_id))
		Py_RETURN_FALSE;	/* not ours any more: nothing to do */
	if (v->writable) {
		o->has_res = 0;
		if (failed && o->kind == K_CHANNEL)
			shmq_discard(o->h);
		else if (!failed)
			r = o->kind == K_PUB ? shmq_pub_commit(o->h, o->res_len) :
			    shmq_commit(o->h);
	} else if (!failed) {
		r = consume(o);
	}
	if (r < 0)	/* commit and release may count what they did */
		return raise_op(r, v->writable ? "commit" : "release");
	Py_RETURN_FALSE;	/* an exception in the block goes on */
}

static void view_dealloc(View *v)
{
	PyObject_GC_UnTrack(v);
	Py_CLEAR(v->mv);
	Py_CLEAR(v->owner);
	PyObject_GC_Del(v);
}

/* The memoryview handed out refers back to the view. */
static int view_traverse(View *v, visitproc visit, void *arg)
{
	Py_VISIT(v->mv);
	Py_VISIT(v->owner);
	return 0;
}

static int view_clear(View *v)
{
	Py_CLEAR(v->mv);	/* the owner stays: buffers may still point at it */
	return 0;
}

static PyObject *view_len(View *v, void *closure)
{
	(void)closure;
	return PyLong_FromSize_t(v->writable ? v->owner->res_len : v->owner->msg_len);
}

static PyBufferProcs view_as_buffer = {
	(getbufferproc)view_getbuffer,
	(releasebufferproc)view_releasebuffer,
};

static PyMethodDef view_methods[] = {
	{ "__enter__", (PyCFunction)view_enter, METH_NOARGS, NULL },
	{ "__exit__", (PyCFunction)view_exit, METH_VARARGS, NULL },
	{ NULL, NULL, 0, NULL },
};

static PyGetSetDef view_getset[] = {
	{ "size", (getter)view_len, NULL, "bytes in the message or reservation", NULL },
	{ NULL, NULL, NULL, NULL, NULL },
};

/* ---- the rest: info, descriptors, hubs, topics ---------------------- */

static PyObject *h_info(Handle *o, PyObject *noargs)
{
	struct shmq_info i;
	int r;

	(void)noargs;
	if (!live(o))
		return NULL;
	r = shmq_info(o->h, &i);
	if (r)
		return raise_op(r, "info");
	return Py_BuildValue("(iIiinnnnii)", i.shmid, (unsigned)i.key, i.slot, i.persistent,
			     (Py_ssize_t)i.send_capacity, (Py_ssize_t)i.recv_capacity,
			     (Py_ssize_t)i.max_send, (Py_ssize_t)i.max_recv,
			     (int)i.peer_pid, i.peer_state);
}

static PyObject *h_fileno(Handle *o, PyObject *noargs)
{
	int r;

	(void)noargs;
	if (enter(o, RX(o), 0))	/* made by the receiving side's thread */
		return NULL;
	r = o->kind == K_HUB ? shmq_hub_fd(o->h) :
	    o->kind == K_SUB ? shmq_sub_fd(o->h) : shmq_fd(o->h);
	*RX(o) = 0;
	return r < 0 ? raise_op(r, "fileno") : PyLong_FromLong(r);
}

static PyObject *h_send_fileno(Handle *o, PyObject *noargs)
{
	int r;

	(void)noargs;
	if (enter(o, TX(o), 0))
		return NULL;
	r = shmq_send_fd(o->h);
	*TX(o) = 0;
	return r < 0 ? raise_op(r, "send_fileno") : PyLong_FromLong(r);
}

static int hub_wait_once(Handle *o, int64_t ns, void *arg)
{
	return shmq_hub_wait(o->h, arg, ns);
}

/* _wait(timeout): the next client's handle, as a number. */
static PyObject *hub_wait(Handle *o, PyObject *args)
{
	PyObject *t = Py_None;
	shmq_t *c = NULL;
	int64_t ns;
	int r;

	if (!PyArg_ParseTuple(args, "|O", &t) || parse_timeout(t, &ns) ||
	    enter(o, RX(o), 0))
		return NULL;
	/* wait(0) is a true try: only that re-arms the hub's descriptor. */
	r = run_sliced(o, hub_wait_once, &c, ns);
	*RX(o) = 0;
	if (r)
		return raise_op(r == -EAGAIN ? -ETIMEDOUT : r, "hub wait");
	return PyLong_FromVoidPtr(c);
}

/* _client(cls, handle): a client's channel, of class @cls, owned by us. */
static PyObject *hub_client(Handle *o, PyObject *args)
{
	PyTypeObject *cls;
	PyObject *ptr;
	Handle *c;

	if (!PyArg_ParseTuple(args, "O!O", &PyType_Type, &cls, &ptr) || !live(o))
		return NULL;
	if (!PyType_IsSubtype(cls, &ChannelType)) {
		PyErr_SetString(PyExc_TypeError, "not a channel class");
		return NULL;
	}
	c = (Handle *)cls->tp_alloc(cls, 0);
	if (!c)
		return NULL;
	c->h = PyLong_AsVoidPtr(ptr);
	if (!c->h) {
		Py_DECREF(c);
		if (!PyErr_Occurred())
			PyErr_SetString(PyExc_ValueError, "no client handle");
		return NULL;
	}
	c->kind = K_CHANNEL;
	c->gen = o->gen;
	c->borrowed = 1;
	Py_INCREF(o);
	c->hub = (PyObject *)o;
	return (PyObject *)c;
}

/* _drop(channel): close a client's channel (its end of stream). */
static PyObject *hub_drop(Handle *o, PyObject *arg)
{
	Handle *c;

	if (!PyObject_TypeCheck(arg, &ChannelType)) {
		PyErr_SetString(PyExc_TypeError, "not a channel");
		return NULL;
	}
	c = (Handle *)arg;
	if (c->hub != (PyObject *)o || !c->h)
		Py_RETURN_NONE;
	if (closable(c))
		return NULL;
	if (o->h)
		shmq_hub_drop(o->h, c->h);
	c->h = NULL;
	c->has_msg = 0;
	Py_RETURN_NONE;
}

/* _check_closable(): raise unless close() would succeed now. */
static PyObject *h_check_closable(Handle *o, PyObject *noargs)
{
	(void)noargs;
	if (closable(o))
		return NULL;
	Py_RETURN_NONE;
}

/* _forget(): the hub closed this client's channel (hub close). */
static PyObject *h_forget(Handle *o, PyObject *noargs)
{
	(void)noargs;
	o->h = NULL;
	o->has_msg = o->has_res = 0;
	Py_RETURN_NONE;
}

static PyObject *hub_count(Handle *o, PyObject *noargs)
{
	(void)noargs;
	return PyLong_FromSize_t(o->h ? shmq_hub_count(o->h) : 0);
}

static PyObject *pub_next_seq(Handle *o, void *closure)
{
	(void)closure;
	return live(o) ? PyLong_FromUnsignedLongLong(shmq_pub_next_seq(o->h)) : NULL;
}

/* skip_to(seq): the next message gets seq; those skipped count lost. */
static PyObject *pub_skip_to(Handle *o, PyObject *arg)
{
	unsigned long long seq;
	int r;

	if (!live(o))
		return NULL;
	seq = PyLong_AsUnsignedLongLong(arg);
	if (seq == (unsigned long long)-1 && PyErr_Occurred())
		return NULL;
	r = shmq_pub_skip_to(o->h, seq);
	if (r == -EINVAL) {
		PyErr_Format(PyExc_ValueError, "seq %llu is below the next, %llu", seq,
			     (unsigned long long)shmq_pub_next_seq(o->h));
		return NULL;
	}
	if (r)
		return raise_op(r, "skip_to");
	Py_RETURN_NONE;
}

static PyObject *pub_subscribers(Handle *o, void *closure)
{
	(void)closure;
	return live(o) ? PyLong_FromSize_t(shmq_pub_subscribers(o->h)) : NULL;
}

static PyObject *pub_max_message(Handle *o, void *closure)
{
	(void)closure;
	return live(o) ? PyLong_FromSize_t(shmq_pub_max_message(o->h)) : NULL;
}

static PyObject *sub_seq(Handle *o, void *closure)
{
	uint64_t s;

	(void)closure;
	if (!live(o))
		return NULL;
	s = shmq_sub_seq(o->h);
	if (s == UINT64_MAX)
		Py_RETURN_NONE;
	return PyLong_FromUnsignedLongLong(s);
}

static PyObject *sub_lost(Handle *o, void *closure)
{
	(void)closure;
	return live(o) ? PyLong_FromUnsignedLongLong(shmq_sub_lost(o->h)) : NULL;
}

/* ---- the types ------------------------------------------------------ */

#define OPENER(name, kind) \
	static PyObject *name(Handle *o, PyObject *args) { return h_open(o, args, kind); }
OPENER(ch_open, K_CHANNEL)
OPENER(hub_open, K_HUB)
OPENER(pub_open, K_PUB)
OPENER(sub_open, K_SUB)

#define KW (METH_VARARGS | METH_KEYWORDS)
#define COMMON \
	{ "close", (PyCFunction)h_close, METH_NOARGS, "close cleanly" }, \
	{ "_forget", (PyCFunction)h_forget, METH_NOARGS, NULL }, \
	{ "_check_closable", (PyCFunction)h_check_closable, METH_NOARGS, NULL }
#define RECEIVE \
	{ "recv", (PyCFunction)(void (*)(void))h_recv, KW, "the next message, as bytes" }, \
	{ "try_recv", (PyCFunction)h_try_recv, METH_NOARGS, "the next message now, or None" }, \
	{ "_recv_within", (PyCFunction)h_recv_within, METH_O, NULL }, \
	{ "recv_many", (PyCFunction)(void (*)(void))h_recv_many, KW, \
	  "every message there (up to max), waiting for the first" }, \
	{ "peek", (PyCFunction)(void (*)(void))h_peek, KW, \
	  "with ch.peek() as msg: the next message in place, consumed at the end" }
#define SEND \
	{ "send", (PyCFunction)(void (*)(void))h_send, KW, "send one message" }, \
	{ "try_send", (PyCFunction)h_try_send, METH_O, "send if there is room now" }, \
	{ "reserve", (PyCFunction)(void (*)(void))h_reserve, KW, \
	  "with ch.reserve(n) as buf: fill n bytes in place, sent at the end" }

static PyMethodDef ch_methods[] = {
	{ "_open", (PyCFunction)ch_open, METH_VARARGS, NULL },
	COMMON, RECEIVE, SEND,
	{ "abandon", (PyCFunction)h_abandon, METH_NOARGS, "close without end of stream" },
	{ "shutdown", (PyCFunction)h_shutdown, METH_NOARGS, "send no more" },
	{ "send_many", (PyCFunction)(void (*)(void))h_send_many, KW,
	  "send every message of an iterable as one batch; how many" },
	{ "_info", (PyCFunction)h_info, METH_NOARGS, NULL },
	{ "fileno", (PyCFunction)h_fileno, METH_NOARGS,
	  "a descriptor, readable while a receive would not wait" },
	{ "send_fileno", (PyCFunction)h_send_fileno, METH_NOARGS,
	  "a descriptor, readable while a send would not wait" },
	{ NULL, NULL, 0, NULL },
};

static PyMethodDef hub_methods[] = {
	{ "_open", (PyCFunction)hub_open, METH_VARARGS, NULL },
	COMMON,
	{ "_wait", (PyCFunction)hub_wait, METH_VARARGS, NULL },
	{ "_client", (PyCFunction)hub_client, METH_VARARGS, NULL },
	{ "_drop", (PyCFunction)hub_drop, METH_O, NULL },
	{ "_count", (PyCFunction)hub_count, METH_NOARGS, NULL },
	{ "fileno", (PyCFunction)h_fileno, METH_NOARGS,
	  "a descriptor, readable while wait(0) would find a client" },
	{ NULL, NULL, 0, NULL },
};

static PyMethodDef pub_methods[] = {
	{ "_open", (PyCFunction)pub_open, METH_VARARGS, NULL },
	{ "skip_to", (PyCFunction)pub_skip_to, METH_O,
	  "skip_to(seq): the next message gets seq; every subscriber counts those "
	  "skipped as lost" },
	COMMON, SEND,
	{ NULL, NULL, 0, NULL },
};

static PyMethodDef sub_methods[] = {
	{ "_open", (PyCFunction)sub_open, METH_VARARGS, NULL },
	COMMON, RECEIVE,
	{ "fileno", (PyCFunction)h_fileno, METH_NOARGS,
	  "a descriptor, readable while a receive would not wait" },
	{ NULL, NULL, 0, NULL },
};

#define GETSET_COMMON \
	{ "is_open", (getter)h_is_open, NULL, "not yet closed", NULL }, \
	{ "_pending", (getter)h_pending, NULL, NULL, NULL }

static PyGetSetDef ch_getset[] = { GETSET_COMMON, { NULL, NULL, NULL, NULL, NULL } };
static PyGetSetDef pub_getset[] = {
	GETSET_COMMON,
	{ "next_seq", (getter)pub_next_seq, NULL, "the next message's sequence number", NULL },
	{ "subscribers", (getter)pub_subscribers, NULL, "subscribers holding a slot now", NULL },
	{ "max_message", (getter)pub_max_message, NULL, "the largest message", NULL },
	{ NULL, NULL, NULL, NULL, NULL },
};
static PyGetSetDef sub_getset[] = {
	GETSET_COMMON,
	{ "seq", (getter)sub_seq, NULL, "the last message's sequence number, or None", NULL },
	{ "lost", (getter)sub_lost, NULL, "messages lost (lossy)", NULL },
	{ NULL, NULL, NULL, NULL, NULL },
};

#define HANDLE_TYPE(var, pyname, methods, getset) \
	static PyTypeObject var = { \
		PyVarObject_HEAD_INIT(NULL, 0) \
		.tp_name = "_shmq." pyname, \
		.tp_basicsize = sizeof(Handle), \
		.tp_dealloc = (destructor)h_dealloc, \
		.tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC, \
		.tp_traverse = (traverseproc)h_traverse, \
		.tp_clear = (inquiry)h_clear, \
		.tp_free = PyObject_GC_Del, \
		.tp_methods = methods, \
		.tp_getset = getset, \
		.tp_new = PyType_GenericNew, \
	}
HANDLE_TYPE(ChannelType, "Channel", ch_methods, ch_getset);
HANDLE_TYPE(HubType, "Hub", hub_methods, ch_getset);
HANDLE_TYPE(PubType, "Publisher", pub_methods, pub_getset);
HANDLE_TYPE(SubType, "Subscriber", sub_methods, sub_getset);

static PyTypeObject ViewType = {
	PyVarObject_HEAD_INIT(NULL, 0)
	.tp_name = "_shmq.View",
	.tp_basicsize = sizeof(View),
	.tp_dealloc = (destructor)view_dealloc,
	.tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
	.tp_traverse = (traverseproc)view_traverse,
	.tp_clear = (inquiry)view_clear,
	.tp_doc = "A message (peek) or a reservation (reserve) in place: "
		  "with it as view, for the block alone.",
	.tp_as_buffer = &view_as_buffer,
	.tp_methods = view_methods,
	.tp_getset = view_getset,
};

static PyObject *mod_register(PyObject *self, PyObject *cls)
{
	(void)self;
	Py_INCREF(cls);
	Py_XSETREF(end_of_stream, cls);
	Py_RETURN_NONE;
}

static PyObject *mod_version(PyObject *self, PyObject *noargs)
{
	(void)self;
	(void)noargs;
	return PyUnicode_FromString(shmq_version());
}

static PyObject *mod_strerror(PyObject *self, PyObject *arg)
{
	long e = PyLong_AsLong(arg);

	(void)self;
	if (e == -1 && PyErr_Occurred())
		return NULL;
	return PyUnicode_FromString(shmq_strerror((int)e));
}

static PyMethodDef mod_methods[] = {
	{ "_register_end_of_stream", mod_register, METH_O, NULL },
	{ "version", mod_version, METH_NOARGS, "the version of libshmq" },
	{ "strerror", mod_strerror, METH_O, "a -errno as a sentence" },
	{ NULL, NULL, 0, NULL },
};

static struct PyModuleDef shmq_module = {
	PyModuleDef_HEAD_INIT, "_shmq",
	"The native core of shmq's Python binding: use the shmq module.",
	-1, mod_methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__shmq(void);
PyMODINIT_FUNC PyInit__shmq(void)
{
	PyTypeObject *types[] = { &ChannelType, &HubType, &PubType, &SubType, &ViewType };
	const char *names[] = { "Channel", "Hub", "Publisher", "Subscriber", "View" };
	PyObject *m;
	size_t i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (PyType_Ready(types[i]) < 0)
			return NULL;
	if (pthread_atfork(NULL, NULL, on_fork_child))
		return PyErr_NoMemory();
	m = PyModule_Create(&shmq_module);
	if (!m)
		return NULL;
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		Py_INCREF(types[i]);
		if (PyModule_AddObject(m, names[i], (PyObject *)types[i]) < 0) {
			Py_DECREF(types[i]);
			Py_DECREF(m);
			return NULL;
		}
	}
	return m;
}
