# SPDX-License-Identifier: MIT
"""shmq for Python: message passing over System V shared memory.

    import shmq

    with shmq.open("jobs") as ch:          # meets whoever opens "jobs"
        ch.send(b"hello")
        reply = ch.recv(timeout=1.0)        # bytes
        for msg in ch:                      # until the peer closes
            ...

A server of many clients: shmq.Hub(address), whose wait() returns the next
client's Channel; a client: shmq.connect(address) (or shmq.open).

A thin ctypes layer over libshmq (no compiler needed).  Errors are the
usual OSError subclasses: TimeoutError, BlockingIOError (try_ calls),
ConnectionResetError (the peer died), ConnectionAbortedError (it gave up),
PermissionError (a segment we do not trust).  The end of the stream is
shmq.EndOfStream, an EOFError.  Blocking calls wait in short slices, so
Ctrl-C raises KeyboardInterrupt promptly.  A message the library had
already received when the exception came is kept, and the next recv (or
try_recv) returns it: none is lost.  A send interrupted that way may have
committed its message just before: it was sent, and sending it again
sends it twice.

The library is found through $SHMQ_LIBRARY, then next to this file
(../build/libshmq.so in the source tree), then the system's library path.
"""

import ctypes
import ctypes.util
import errno as _errno
import os

__all__ = ["open", "connect", "Channel", "Hub", "EndOfStream", "version"]

WAIT_HYBRID, WAIT_SPIN, WAIT_BLOCK = 0, 1, 2
_PERSISTENT, _INTERRUPTIBLE = 0x1, 0x2
_ENDPOINT0, _ENDPOINT1 = 0x8, 0x10
_ROLES = {None: 0, "sender": 0x20, "receiver": 0x40}
_SLICE_NS = 100_000_000  # how often a blocked call lets Python see signals
_NO_MESSAGE = ctypes.c_size_t(-1).value  # the length slot holds no message


class EndOfStream(EOFError):
    """The peer closed (or shut down) its sending side: nothing more comes."""


# Set by make install to the library's directory: the module finds the
# library it was installed with, under any PREFIX.
_INSTALLED_LIBDIR = None


def _find_library():
    wanted = os.environ.get("SHMQ_LIBRARY")
    if wanted:
        # Asked for by name: that one, or a clear failure, never another.
        try:
            return ctypes.CDLL(wanted)
        except OSError as e:
            raise ImportError("SHMQ_LIBRARY=%s cannot be loaded: %s" % (wanted, e)) from e
    here = os.path.dirname(os.path.abspath(__file__))
    candidates = [os.path.join(here, "..", "build", "libshmq.so"),
                  os.path.join(here, "libshmq.so")]
    if _INSTALLED_LIBDIR:
        candidates.append(os.path.join(_INSTALLED_LIBDIR, "libshmq.so.0"))
    candidates.append(ctypes.util.find_library("shmq"))
    for path in candidates:
        if path and (os.path.exists(path) or not os.path.dirname(path)):
            try:
                return ctypes.CDLL(path)
            except OSError:
                continue
    raise ImportError("libshmq not found: build it with make, or set SHMQ_LIBRARY")


_lib = _find_library()


class _Options(ctypes.Structure):
    _fields_ = [("send_capacity", ctypes.c_size_t),
                ("recv_capacity", ctypes.c_size_t),
                ("mode", ctypes.c_uint),
                ("flags", ctypes.c_uint),
                ("wait", ctypes.c_int),
                ("spin_ns", ctypes.c_int64),
                ("open_timeout_ms", ctypes.c_int64),
                ("trust_uids", ctypes.POINTER(ctypes.c_uint)),
                ("n_trust_uids", ctypes.c_size_t),
                ("errbuf", ctypes.c_char_p),
                ("errbuf_size", ctypes.c_size_t),
                ("stop", ctypes.c_void_p)]


class _Info(ctypes.Structure):
    _fields_ = [("shmid", ctypes.c_int),
                ("key", ctypes.c_int),
                ("slot", ctypes.c_int),
                ("persistent", ctypes.c_int),
                ("send_capacity", ctypes.c_size_t),
                ("recv_capacity", ctypes.c_size_t),
                ("max_send", ctypes.c_size_t),
                ("max_recv", ctypes.c_size_t),
                ("peer_pid", ctypes.c_int),
                ("peer_state", ctypes.c_int),
                ("instance", ctypes.c_uint64)]


def _fn(name, restype, *argtypes):
    f = getattr(_lib, name)
    f.restype = restype
    f.argtypes = argtypes
    return f


_p = ctypes.c_void_p
_version = _fn("shmq_version", ctypes.c_char_p)
_strerror = _fn("shmq_strerror", ctypes.c_char_p, ctypes.c_int)
_open = _fn("shmq_open", ctypes.c_int, ctypes.c_char_p, ctypes.POINTER(_Options),
            ctypes.POINTER(_p))
_close = _fn("shmq_close", ctypes.c_int, _p)
_abandon = _fn("shmq_abandon", ctypes.c_int, _p)
_shutdown = _fn("shmq_shutdown", ctypes.c_int, _p)
_send_timed = _fn("shmq_send_timed", ctypes.c_int, _p, ctypes.c_char_p,
                  ctypes.c_size_t, ctypes.c_int64)
_recv_timed = _fn("shmq_recv_timed", ctypes.c_int, _p, _p, ctypes.c_size_t,
                  ctypes.POINTER(ctypes.c_size_t), ctypes.c_int64)
_info = _fn("shmq_info", ctypes.c_int, _p, ctypes.POINTER(_Info))
_connect = _fn("shmq_connect", ctypes.c_int, ctypes.c_char_p, ctypes.POINTER(_Options),
               ctypes.POINTER(_p))
_hub_open = _fn("shmq_hub_open", ctypes.c_int, ctypes.c_char_p,
                ctypes.POINTER(_Options), ctypes.POINTER(_p))
_hub_wait = _fn("shmq_hub_wait", ctypes.c_int, _p, ctypes.POINTER(_p), ctypes.c_int64)
_hub_drop = _fn("shmq_hub_drop", ctypes.c_int, _p, _p)
_hub_count = _fn("shmq_hub_count", ctypes.c_size_t, _p)
_hub_close = _fn("shmq_hub_close", ctypes.c_int, _p)

_PEER_STATES = {0: "none", 1: "attached", 2: "closed", 3: "abandoned", 4: "dead"}


def version():
    """The version of the libshmq in use."""
    return _version().decode()


def _error(r, what):
    e = -r
    text = _strerror(r).decode()
    if e == _errno.EPIPE:
        return EndOfStream(text)
    if e == _errno.ETIMEDOUT:
        return TimeoutError(e, "%s: %s" % (what, text))
    return OSError(e, "%s: %s" % (what, text))   # the matching subclass


def _deadline(timeout):
    if timeout is None:
        return None
    if timeout < 0:
        raise ValueError("timeout must be >= 0 or None")
    return _now_ns() + int(timeout * 1e9)


def _now_ns():
    import time
    return time.monotonic_ns()


class _Receiver:
    """Iteration to the end of the stream, for whatever has recv(); and the
    rule that what was received pending belongs to the opening process."""

    def __iter__(self):
        """Every message until the end of the stream."""
        while True:
            try:
                yield self.recv()
            except EndOfStream:
                return

    def _own(self, what):
        if self._pid != os.getpid():
            raise OSError(_errno.ECHILD, "recv: the %s belongs to the process "
                          "that opened it" % what)


class Channel(_Receiver):
    """One end of a shmq channel.  Use shmq.open() to make one.

    Options (all keywords, as the C library's): timeout (s to wait for the
    peer; None: forever), capacity / send_capacity / recv_capacity (bytes),
    mode (0o600), persistent, endpoint (0 or 1, for persistent channels),
    role ("sender" or "receiver": two ends of one role never pair; the
    second waits its turn), wait ("hybrid", "spin", "block"), spin_us,
    trust_uids (uids whose segments are accepted)."""

    def __init__(self, address, *, connect=False, timeout=None, **options):
        opts, why, keep = _options(**options)
        self._q = _p()
        deadline = _deadline(timeout)
        # One interruptible wait for the peer: a signal ends it with EINTR,
        # and Python runs its handler (Ctrl-C raises KeyboardInterrupt).
        while True:
            if deadline is None:
                opts.open_timeout_ms = 0          # forever
            else:
                opts.open_timeout_ms = max(1, (deadline - _now_ns()) // 1_000_000)
            r = (_connect if connect else _open)(
                address.encode() if isinstance(address, str) else address,
                ctypes.byref(opts), ctypes.byref(self._q))
            if r != -_errno.EINTR:
                break
        if r:
            self._q = None
            detail = why.value.decode(errors="replace")
            if r == -_errno.ETIMEDOUT:
                raise TimeoutError(_errno.ETIMEDOUT, "%s: %s" % (
                    address, detail or "no peer arrived"))
            raise OSError(-r, "%s: %s" % (address, detail or _strerror(r).decode()))
        self._setup(address)

    def _setup(self, address, hub=None):
        info = _Info()
        _info(self._q, ctypes.byref(info))
        self._buf = ctypes.create_string_buffer(max(int(info.max_recv), 1))
        # The library writes a received message's length here; until Python
        # has taken the message, it is pending (see _take).
        self._len = ctypes.c_size_t(_NO_MESSAGE)
        self._pid = os.getpid()     # a pending message is this process's only
        self.address = address
        self._hub = hub             # a hub server's client: the hub closes it

    # -- sending -----------------------------------------------------------

    def send(self, data, timeout=None):
        """Send one message (bytes-like).  Waits for room, up to timeout s."""
        data = bytes(data)
        self._wait(lambda ns: _send_timed(self._check(), data, len(data), ns),
                   timeout, "send")

    def try_send(self, data):
        """Send if there is room now; BlockingIOError if not."""
        data = bytes(data)
        r = _send_timed(self._check(), data, len(data), 0)
        if r:
            raise _error(r, "send")

    def shutdown(self):
        """Send no more: the peer gets EndOfStream; this end still receives."""
        r = _shutdown(self._check())
        if r:
            raise _error(r, "shutdown")

    # -- receiving ---------------------------------------------------------

    def recv(self, timeout=None):
        """The next message as bytes.  EndOfStream when the peer closed."""
        self._check()
        if self._len.value == _NO_MESSAGE:
            self._wait(self._recv_into_buf, timeout, "recv")
        return self._take()

    def try_recv(self):
        """The next message if one is there now, else None."""
        self._check()
        if self._len.value == _NO_MESSAGE:
            r = self._recv_into_buf(0)
            if r == -_errno.EAGAIN:
                return None
            if r:
                raise _error(r, "recv")
        return self._take()

    def _recv_into_buf(self, ns):
        # The length slot is written only with a message (the buffer holds
        # the largest one, so -EMSGSIZE cannot happen).
        return _recv_timed(self._check(), self._buf, len(self._buf),
                           ctypes.byref(self._len), ns)

    def _take(self):
        # An exception (KeyboardInterrupt) may land between any two steps;
        # the message stays pending until the slot is emptied, last.  A
        # fork child has a copy of the slot, not the message: the library
        # says -ECHILD to its calls, and so does this.
        self._own("channel")
        data = ctypes.string_at(self._buf, self._len.value)
        self._len.value = _NO_MESSAGE
        return data

    # -- the rest ----------------------------------------------------------

    @property
    def info(self):
        """Capacities, the largest messages, the peer and its state."""
        i = _Info()
        _info(self._check(), ctypes.byref(i))
        return {"shmid": i.shmid, "key": i.key & 0xffffffff, "endpoint": i.slot,
                "persistent": bool(i.persistent), "send_capacity": i.send_capacity,
                "recv_capacity": i.recv_capacity, "max_send": i.max_send,
                "max_recv": i.max_recv, "peer_pid": i.peer_pid,
                "peer_state": _PEER_STATES.get(i.peer_state, "?")}

    def close(self):
        """Close cleanly: the peer receives what was sent, then EndOfStream."""
        if self._q and self._hub:
            self._hub.drop(self)
        elif self._q:
            _close(self._q)
            self._q = None

    def abandon(self):
        """Close without end of stream: the peer gets ConnectionAbortedError."""
        if self._q and self._hub:
            self._hub.drop(self)
        elif self._q:
            _abandon(self._q)
            self._q = None

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        # Leaving by an exception is not a clean end of the stream.
        if exc_type is None:
            self.close()
        else:
            self.abandon()

    def __del__(self):
        if getattr(self, "_q", None) and not getattr(self, "_hub", None):
            _abandon(self._q)
            self._q = None

    def _check(self):
        if not self._q:
            raise ValueError("the channel is closed")
        return self._q

    def _wait(self, call, timeout, what):
        # In slices: between them Python runs its signal handlers.
        deadline = _deadline(timeout)
        first = True
        while True:
            ns = _SLICE_NS if deadline is None else min(_SLICE_NS, deadline - _now_ns())
            if ns <= 0 and not first:   # the first look is made, timeout=0 too
                raise TimeoutError(_errno.ETIMEDOUT, "%s: timed out" % what)
            r = call(max(ns, 0))
            first = False
            if r == 0:
                return
            if r not in (-_errno.ETIMEDOUT, -_errno.EINTR, -_errno.EAGAIN):
                raise _error(r, what)


def _options(*, capacity=0, send_capacity=0, recv_capacity=0, mode=0o600,
             persistent=False, endpoint=None, role=None, wait="hybrid", spin_us=0,
             trust_uids=()):
    """The C options, a buffer for the reason of a failure, and what must
    stay alive as long as the options are used."""
    opts = _Options()
    opts.send_capacity = send_capacity or capacity
    opts.recv_capacity = recv_capacity or capacity
    opts.mode = mode
    opts.flags = _INTERRUPTIBLE | (_PERSISTENT if persistent else 0)
    if endpoint is not None:
        opts.flags |= _ENDPOINT1 if endpoint else _ENDPOINT0
    if role not in _ROLES:
        raise ValueError("role must be 'sender', 'receiver' or None")
    opts.flags |= _ROLES[role]
    opts.wait = {"hybrid": WAIT_HYBRID, "spin": WAIT_SPIN, "block": WAIT_BLOCK}[wait]
    opts.spin_ns = int(spin_us * 1000)
    arr = None
    if trust_uids:
        arr = (ctypes.c_uint * len(trust_uids))(*trust_uids)
        opts.trust_uids = ctypes.cast(arr, ctypes.POINTER(ctypes.c_uint))
        opts.n_trust_uids = len(trust_uids)
    why = ctypes.create_string_buffer(512)
    opts.errbuf = ctypes.cast(why, ctypes.c_char_p)
    opts.errbuf_size = len(why)
    return opts, why, arr


class _TopicOptions(ctypes.Structure):
    _fields_ = [("slots", ctypes.c_size_t),
                ("slot_size", ctypes.c_size_t),
                ("max_subscribers", ctypes.c_size_t),
                ("start", ctypes.c_int),
                ("from_seq", ctypes.c_uint64),
                ("flags", ctypes.c_uint),
                ("slow_subscriber_ms", ctypes.c_int64)]


_pub_open = _fn("shmq_pub_open", ctypes.c_int, ctypes.c_char_p, ctypes.POINTER(_Options),
                ctypes.POINTER(_TopicOptions), ctypes.POINTER(_p))
_pub_send_timed = _fn("shmq_pub_send_timed", ctypes.c_int, _p, ctypes.c_char_p,
                      ctypes.c_size_t, ctypes.c_int64)
_pub_next_seq = _fn("shmq_pub_next_seq", ctypes.c_uint64, _p)
_pub_subscribers = _fn("shmq_pub_subscribers", ctypes.c_size_t, _p)
_pub_close = _fn("shmq_pub_close", ctypes.c_int, _p)
_sub_open = _fn("shmq_sub_open", ctypes.c_int, ctypes.c_char_p, ctypes.POINTER(_Options),
                ctypes.POINTER(_TopicOptions), ctypes.POINTER(_p))
_sub_peek = _fn("shmq_sub_peek", ctypes.c_int, _p, ctypes.POINTER(_p),
                ctypes.POINTER(ctypes.c_size_t), ctypes.c_int64)
_sub_release = _fn("shmq_sub_release", ctypes.c_int, _p)
_sub_seq = _fn("shmq_sub_seq", ctypes.c_uint64, _p)
_sub_lost = _fn("shmq_sub_lost", ctypes.c_uint64, _p)
_sub_close = _fn("shmq_sub_close", ctypes.c_int, _p)
_SUB_LOSSY = 0x1


def _topic_options(slots=0, slot_size=0, max_subscribers=0):
    t = _TopicOptions()
    t.slots, t.slot_size, t.max_subscribers = slots, slot_size, max_subscribers
    return t


def _open_topic(opener, address, topic, options):
    opts, why, keep = _options(**options)
    handle = _p()
    while True:
        r = opener(address.encode() if isinstance(address, str) else address,
                   ctypes.byref(opts), ctypes.byref(topic), ctypes.byref(handle))
        if r != -_errno.EINTR:
            break
    if r:
        detail = why.value.decode(errors="replace")
        raise OSError(-r, "%s: %s" % (address, detail or _strerror(r).decode()))
    return handle


class _Handle:
    """What a hub, a publisher and a subscriber share: one handle, closed
    once (by close(), the with block, or the garbage collector)."""
    _what = "handle"
    _h = None

    def _closer(self, handle):
        raise NotImplementedError

    def close(self):
        """A hub closes every client's channel and goes; a publisher ends the
        stream (subscribers get what was sent, then EndOfStream); a
        subscriber goes, disturbing nobody."""
        if self._h:
            self._closer(self._h)
            self._h = None

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.close()

    def __del__(self):
        self.close()

    def _check(self):
        if not self._h:
            raise ValueError("the %s is closed" % self._what)
        return self._h


class Publisher(_Handle):
    """The publisher of the topic at an address: every subscriber gets every
    message.  Options as for channels (mode, persistent, wait, trust_uids),
    and, when this one creates the topic: slots, slot_size (bytes per
    message, 16 of them its header), max_subscribers; slow_subscriber (s):
    evict a lossless subscriber that holds the publisher that long."""

    def __init__(self, address, *, slots=0, slot_size=0, max_subscribers=0,
                 slow_subscriber=None, **options):
        topic = _topic_options(slots, slot_size, max_subscribers)
        if slow_subscriber is not None:
            topic.slow_subscriber_ms = max(1, int(slow_subscriber * 1000))
        self._h = _open_topic(_pub_open, address, topic, options)
        self.address = address

    _what = "publisher"

    def _closer(self, handle):
        _pub_close(handle)

    def send(self, data, timeout=None):
        """Publish one message; waits (up to timeout s) for the slowest
        lossless subscriber."""
        data = bytes(data)
        Channel._wait(self, lambda ns: _pub_send_timed(self._check(), data, len(data), ns),
                      timeout, "send")

    def try_send(self, data):
        """Publish if no lossless subscriber holds every slot; else
        BlockingIOError."""
        data = bytes(data)
        r = _pub_send_timed(self._check(), data, len(data), 0)
        if r:
            raise _error(r, "send")

    @property
    def next_seq(self):
        """The sequence number the next message will have."""
        return _pub_next_seq(self._check())

    @property
    def subscribers(self):
        """How many subscribers hold a slot now."""
        return _pub_subscribers(self._check())



class Subscriber(_Handle, _Receiver):
    """A subscriber to the topic at an address.  start: "next" (default),
    "oldest" (the oldest message the topic still holds) or a sequence
    number; lossy: never hold the publisher, and count what is lost
    (.lost).  .seq is the last message's sequence number.  Other options
    as for Publisher."""

    def __init__(self, address, *, start="next", lossy=False, slots=0, slot_size=0,
                 max_subscribers=0, **options):
        topic = _topic_options(slots, slot_size, max_subscribers)
        if start == "next":
            topic.start = 0
        elif start == "oldest":
            topic.start = 1
        elif isinstance(start, int) and start >= 0:
            topic.start, topic.from_seq = 2, start
        else:
            raise ValueError('start must be "next", "oldest" or a sequence number')
        topic.flags = _SUB_LOSSY if lossy else 0
        self._h = _open_topic(_sub_open, address, topic, options)
        self.address = address
        # A peeked message stays pending until taken, so that an exception
        # (KeyboardInterrupt) between two steps never loses it.
        self._ptr = _p()
        self._len = ctypes.c_size_t(_NO_MESSAGE)
        self._pid = os.getpid()

    def recv(self, timeout=None):
        """The next message as bytes; EndOfStream after the publisher's close."""
        while True:
            self._check()
            if self._len.value == _NO_MESSAGE:
                Channel._wait(self, self._peek, timeout, "recv")
            data = self._take()
            if data is not None:
                return data

    def try_recv(self):
        """The next message if one is there now, else None."""
        while True:
            self._check()
            if self._len.value == _NO_MESSAGE:
                r = self._peek(0)
                if r == -_errno.EAGAIN:
                    return None
                if r:
                    raise _error(r, "recv")
            data = self._take()
            if data is not None:
                return data

    def _peek(self, ns):
        return _sub_peek(self._check(), ctypes.byref(self._ptr), ctypes.byref(self._len), ns)

    def _take(self):
        self._own("subscriber")
        data = ctypes.string_at(self._ptr, self._len.value)
        r = _sub_release(self._h)
        self._len.value = _NO_MESSAGE
        # Overwritten while it was read (lossy): counted lost, not returned.
        return None if r == -_errno.ESTALE else data

    @property
    def seq(self):
        """The sequence number of the last message received (None: none yet)."""
        s = _sub_seq(self._check())
        return None if s == 2 ** 64 - 1 else s

    @property
    def lost(self):
        """How many messages this (lossy) subscriber lost."""
        return _sub_lost(self._check())

    _what = "subscriber"

    def _closer(self, handle):
        _sub_close(handle)


def open(address, **options):
    """Open (and meet the peer on) a channel: see Channel for the options.
    If the address is a hub's, this connects to it as a client."""
    return Channel(address, **options)


def connect(address, **options):
    """Connect to the hub at address as a client, waiting (up to timeout
    seconds) for its server; never creates anything."""
    return Channel(address, connect=True, **options)


class Hub(_Handle):
    """A server of many clients, each on a channel of its own.

        with shmq.Hub("svc") as hub:
            while True:
                ch = hub.wait()            # a client with a message, or ended
                try:
                    msg = ch.try_recv()
                except (EndOfStream, ConnectionError):
                    ch.close()             # drops it from the hub
                    continue
                if msg is not None:
                    ch.send(msg)
    """

    def __init__(self, address, **options):
        opts, why, keep = _options(**options)
        self._h = _p()
        r = _hub_open(address.encode() if isinstance(address, str) else address,
                      ctypes.byref(opts), ctypes.byref(self._h))
        if r:
            self._h = None
            detail = why.value.decode(errors="replace")
            raise OSError(-r, "%s: %s" % (address, detail or _strerror(r).decode()))
        self.address = address
        self._clients = {}

    def wait(self, timeout=None):
        """The next client with something to receive (a message, or the end
        of its stream) as a Channel; TimeoutError after timeout seconds."""
        c = _p()
        deadline = _deadline(timeout)
        # A client whose message was received as an exception landed (see
        # Channel._take) has it waiting in Python, not in its ring: first.
        for ch in self._clients.values():
            if ch._len.value != _NO_MESSAGE:
                return ch
        while True:
            ns = _SLICE_NS if deadline is None else min(_SLICE_NS, deadline - _now_ns())
            r = _hub_wait(self._check(), ctypes.byref(c), max(ns, 0))
            if r == 0:
                break
            if r not in (-_errno.ETIMEDOUT, -_errno.EINTR, -_errno.EAGAIN):
                raise _error(r, "hub wait")
            if deadline is not None and _now_ns() >= deadline:
                raise TimeoutError(_errno.ETIMEDOUT, "hub wait: timed out")
        ch = self._clients.get(c.value)
        if ch is None:
            # The hub owns the handle: _hub first, so that a half-made
            # Channel (an exception between these lines) never abandons it
            # in __del__; the next wait returns the client again.
            ch = Channel.__new__(Channel)
            ch._hub = self
            ch._q = _p(c.value)
            ch._setup(self.address, hub=self)
            self._clients[c.value] = ch
        return ch

    def drop(self, ch):
        """Close a client's channel (its end of stream) and forget it."""
        if ch._q and self._clients.pop(ch._q.value, None) is ch:
            _hub_drop(self._check(), ch._q)
        ch._q = None

    def __len__(self):
        return _hub_count(self._check()) if self._h else 0

    _what = "hub"

    def _closer(self, handle):
        # Every client's channel goes with the hub.
        for ch in self._clients.values():
            ch._q = None
        self._clients.clear()
        _hub_close(handle)
