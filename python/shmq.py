# SPDX-License-Identifier: MIT
"""shmq for Python: message passing over System V shared memory.

    import shmq

    with shmq.open("jobs") as ch:          # meets whoever opens "jobs"
        ch.send(b"hello")
        reply = ch.recv(timeout=1.0)        # bytes
        for msg in ch:                      # until the peer closes
            ...

A server of many clients: shmq.Hub(address), whose wait() returns the next
client's Channel; a client: shmq.connect(address) (or shmq.open).  Topics:
shmq.Publisher(address) and shmq.Subscriber(address).

The classes stand on _shmq, a native extension built with libshmq (make
builds it where Python's headers are installed).  Errors are the usual
OSError subclasses: TimeoutError, BlockingIOError (try_ calls),
ConnectionResetError (the peer died), ConnectionAbortedError (it gave up),
PermissionError (a segment we do not trust).  The end of the stream is
shmq.EndOfStream, an EOFError.

Signals: every wait releases the GIL and lets Python run its signal
handlers at least every 50 ms, so Ctrl-C raises KeyboardInterrupt
promptly.  A receive runs the handlers after it has copied a message and
before it consumes it: if one raises, the message is kept and the next
receive returns it.  An exception that lands after recv() has returned
(before its value is stored) loses that message with it; where that
matters, use `with ch.peek() as msg:`, which consumes the message only
when the block completes (an exception in it leaves the message to come
again).  A send interrupted that way either sent its message or did not:
the exception says which (it comes from inside send() only before the
message was committed).

Zero copy: `with ch.peek() as msg:` (a read-only memoryview into the
ring) and `with ch.reserve(n) as buf:` (a writable one: committed when the
block completes, discarded on an exception).  A view is valid in its block
alone; using it after is a ValueError, and while any buffer taken from it
lives, the channel refuses to receive, send or close (BufferError).

fork: a Channel (Hub, Publisher, Subscriber) belongs to the process that
opened it.  In a child, every call on it raises ChildProcessError, and its
garbage collection (or the child's exit) changes nothing the parent or the
peer sees.  A child that wants a channel opens its own.

Threads: one thread may send while another receives on the same channel;
a hub and its clients' channels are used by one thread at a time.  A
call that would break that, or a close while another thread waits, gets
RuntimeError.
"""

import asyncio as _asyncio
import errno as _errno
import importlib.machinery as _machinery
import importlib.util as _util
import os

__all__ = ["open", "connect", "Channel", "Hub", "Publisher", "Subscriber",
           "EndOfStream", "version"]

WAIT_HYBRID, WAIT_SPIN, WAIT_BLOCK = 0, 1, 2
_PERSISTENT = 0x1
_ENDPOINT0, _ENDPOINT1 = 0x8, 0x10
_ROLES = {None: 0, "sender": 0x20, "receiver": 0x40}
_WAITS = {"hybrid": WAIT_HYBRID, "spin": WAIT_SPIN, "block": WAIT_BLOCK}


def _load_core():
    """_shmq: installed beside this module, or built in the source tree
    (../build/python, or $SHMQ_PYTHON_CORE's directory)."""
    try:
        import _shmq
        return _shmq
    except ImportError:
        pass
    here = os.path.dirname(os.path.abspath(__file__))
    dirs = [os.environ.get("SHMQ_PYTHON_CORE", ""),
            os.path.join(here, "..", "build", "python")]
    for d in dirs:
        for suffix in _machinery.EXTENSION_SUFFIXES:
            path = os.path.join(d, "_shmq" + suffix)
            if d and os.path.exists(path):
                spec = _util.spec_from_file_location("_shmq", path)
                mod = _util.module_from_spec(spec)
                spec.loader.exec_module(mod)
                return mod
    raise ImportError("shmq's native core (_shmq) is not built: run make "
                      "(it needs Python's headers: apt install python3-dev)")


_core = _load_core()


class EndOfStream(EOFError):
    """The peer closed (or shut down) its sending side: nothing more comes."""


_core._register_end_of_stream(EndOfStream)
_PEER_STATES = {0: "none", 1: "attached", 2: "closed", 3: "abandoned", 4: "dead"}


def version():
    """The version of the libshmq in use."""
    return _core.version()


def _addr(address):
    return os.fsdecode(address)


def _options(*, capacity=0, send_capacity=0, recv_capacity=0, mode=0o600,
             persistent=False, endpoint=None, role=None, wait="hybrid", spin_us=0,
             trust_uids=()):
    """The options as the core takes them."""
    flags = _PERSISTENT if persistent else 0
    if endpoint is not None:
        flags |= _ENDPOINT1 if endpoint else _ENDPOINT0
    if role not in _ROLES:
        raise ValueError("role must be 'sender', 'receiver' or None")
    if wait not in _WAITS:
        raise ValueError("wait must be 'hybrid', 'spin' or 'block'")
    return (send_capacity or capacity, recv_capacity or capacity, mode,
            flags | _ROLES[role], _WAITS[wait], int(spin_us * 1000),
            tuple(int(u) for u in trust_uids))


def _not_awaited(obj):
    """A close under a task that waits on the end's descriptor would pull
    it from under the event loop: refused, as a close under a waiting
    thread is."""
    if getattr(obj, "_awaited", None):
        raise RuntimeError("a task is waiting on it (recv_async, wait_async): "
                           "it cannot be closed now")


class _Receiver:
    """What every receiving end shares: iteration to the end of the
    stream, and its asyncio forms, on the end's descriptor (fileno())."""

    def __iter__(self):
        """Every message until the end of the stream."""
        while True:
            try:
                yield self.recv()
            except EndOfStream:
                return

    async def recv_async(self, timeout=None):
        """The next message, awaited on the event loop (fileno()).  It
        first waits up to 5 us in place, as a hybrid wait spins: an answer
        already on its way is taken without a trip through the loop, which
        is held that long at most."""
        msg = self._recv_within(_ASYNC_LOOK_S)
        if msg is not None:
            return msg
        return await _when_ready(self, self.try_recv, self.fileno, timeout, "recv")

    def __aiter__(self):
        return self

    async def __anext__(self):
        try:
            return await self.recv_async()
        except EndOfStream:
            raise StopAsyncIteration from None

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.close()


class Channel(_core.Channel, _Receiver):
    """One end of a shmq channel.  Use shmq.open() to make one.

    Options (all keywords, as the C library's): timeout (s to wait for the
    peer; None: forever), capacity / send_capacity / recv_capacity (bytes),
    mode (0o600), persistent, endpoint (0 or 1, for persistent channels),
    role ("sender" or "receiver": two ends of one role never pair; the
    second waits its turn), wait ("hybrid", "spin", "block"), spin_us,
    trust_uids (uids whose segments are accepted).

    send(data, timeout=None), try_send(data) (BlockingIOError if full),
    send_many(messages, timeout=None) -> how many (committed 64 at a time),
    recv(timeout=None) -> bytes, try_recv() -> bytes or None,
    recv_many(max=64, timeout=None) -> [bytes] (waits for the first only),
    with peek(timeout=None) as view, with reserve(n, timeout=None) as view,
    shutdown(), close(), abandon(), info, fileno() and send_fileno() (for
    event loops), and the asyncio forms recv_async() and send_async().
    recv and peek with timeout=0 look once and raise TimeoutError;
    try_recv() and recv_many(timeout=0) say "nothing" with None and [].
    send() to a peer that closed raises BrokenPipeError.  A hub client's
    close() and abandon() both drop it from the hub (an end of stream)."""

    _hub = None

    def __init__(self, address, *, connect=False, timeout=None, **options):
        self._open(_addr(address), _options(**options), connect, timeout)
        self.address = address

    @property
    def info(self):
        """Capacities, the largest messages, the peer and its state."""
        (shmid, key, slot, persistent, send_cap, recv_cap, max_send, max_recv,
         peer_pid, peer_state) = self._info()
        return {"shmid": shmid, "key": key, "endpoint": slot,
                "persistent": bool(persistent), "send_capacity": send_cap,
                "recv_capacity": recv_cap, "max_send": max_send,
                "max_recv": max_recv, "peer_pid": peer_pid,
                "peer_state": _PEER_STATES.get(peer_state, "?")}

    def close(self):
        """Close cleanly: the peer receives what was sent, then EndOfStream."""
        _not_awaited(self)
        if self._hub is not None:
            self._hub.drop(self)
        else:
            super().close()

    def abandon(self):
        """Close without end of stream: the peer gets ConnectionAbortedError."""
        _not_awaited(self)
        if self._hub is not None:
            self._hub.drop(self)
        else:
            super().abandon()

    def __exit__(self, exc_type, exc, tb):
        # Leaving by an exception is not a clean end of the stream.
        if exc_type is None:
            self.close()
        else:
            self.abandon()

    async def send_async(self, data, timeout=None):
        """Send one message, awaiting room on the event loop."""
        def attempt():
            try:
                self.try_send(data)
                return True
            except BlockingIOError:
                return None
        await _when_ready(self, attempt, self.send_fileno, timeout, "send")



def _seconds(timeout):
    """A timeout as the sync calls take it: None, or seconds >= 0."""
    if timeout is None:
        return None
    t = float(timeout)
    if not t >= 0:
        raise ValueError("timeout must be >= 0 or None")
    return t


_ASYNC_LOOK_S = 5e-6    # how long recv_async waits in place first


async def _when_ready(obj, attempt, fileno, timeout, what):
    """attempt() until it returns something other than None, waiting on
    the descriptor in between, up to timeout seconds.  Where the end has
    no descriptor that can reach us (a peer in another network namespace:
    EXDEV), it polls instead, every 1 ms to 50 ms."""
    timeout = _seconds(timeout)
    loop = _asyncio.get_running_loop()
    deadline = None if timeout is None else loop.time() + timeout
    poll = 0.001
    while True:
        got = attempt()
        if got is not None:
            return got
        left = None if deadline is None else deadline - loop.time()
        if left is not None and left <= 0:
            raise TimeoutError(_errno.ETIMEDOUT, "%s: timed out" % what)
        try:
            fd = fileno()
        except OSError as e:
            if e.errno != _errno.EXDEV:
                raise
            await _asyncio.sleep(poll if left is None else min(poll, left))
            poll = min(poll * 2, 0.05)
            continue
        # The end's own set of the descriptors its tasks wait on: a
        # receiving task and a sending one may wait at once, two on one
        # descriptor may not (add_reader would drop the first's reader).
        awaited = obj.__dict__.setdefault("_awaited", set())
        if fd in awaited:
            raise RuntimeError("%s: another task is already waiting on this end" % what)
        # A bare future, a reader and a timer: no task per wait.
        ready = loop.create_future()
        loop.add_reader(fd, _settle, ready)
        # The descriptor misses nothing, but a peer in another PID
        # namespace dies silently: look again at least every second.
        timer = loop.call_later(1.0 if left is None else min(left, 1.0), _settle, ready)
        awaited.add(fd)
        try:
            await ready
        finally:
            awaited.discard(fd)
            timer.cancel()
            loop.remove_reader(fd)


def _settle(fut):
    if not fut.done():
        fut.set_result(None)


class Publisher(_core.Publisher):
    """The publisher of the topic at an address: every subscriber gets every
    message.  Options as for channels (mode, persistent, wait, trust_uids),
    and, when this one creates the topic: slots, slot_size (bytes per
    message, 16 of them its header), max_subscribers; slow_subscriber (s,
    None: never): evict a lossless subscriber that holds the publisher that
    long.

    send(data, timeout=None), try_send(data), with reserve(n) as view,
    next_seq, skip_to(seq), subscribers, max_message, close()."""

    def __init__(self, address, *, slots=0, slot_size=0, max_subscribers=0,
                 slow_subscriber=None, **options):
        slow = 0 if slow_subscriber is None else max(1, int(slow_subscriber * 1000))
        self._open(_addr(address), _options(**options),
                   (slots, slot_size, max_subscribers, 0, 0, 0, slow))
        self.address = address

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.close()


class Subscriber(_core.Subscriber, _Receiver):
    """A subscriber to the topic at an address.  start: "next" (default),
    "oldest" (the oldest message the topic still holds) or a sequence
    number; lossy: never hold the publisher, and count what is lost
    (.lost).  .seq is the last message's sequence number.  Other options
    as for Publisher.  recv, try_recv, recv_many and peek as for Channel;
    a lossy subscriber's peek block ends in OSError(ESTALE) if the message
    was overwritten while it was read (counted lost).  fileno(), and
    recv_async() and async for on it, as for Channel."""

    def __init__(self, address, *, start="next", lossy=False, slots=0, slot_size=0,
                 max_subscribers=0, **options):
        if start == "next":
            where, seq = 0, 0
        elif start == "oldest":
            where, seq = 1, 0
        elif isinstance(start, int) and not isinstance(start, bool) and start >= 0:
            where, seq = 2, start
        else:
            raise ValueError('start must be "next", "oldest" or a sequence number')
        self._open(_addr(address), _options(**options),
                   (slots, slot_size, max_subscribers, where, seq, 1 if lossy else 0, 0))
        self.address = address

    def close(self):
        """Leave the topic; the publisher and the others are not disturbed."""
        _not_awaited(self)
        super().close()


def open(address, **options):
    """Open (and meet the peer on) a channel: see Channel for the options.
    If the address is a hub's, this connects to it as a client."""
    return Channel(address, **options)


def connect(address, **options):
    """Connect to the hub at address as a client, waiting (up to timeout
    seconds) for its server; never creates anything."""
    return Channel(address, connect=True, **options)


class Hub(_core.Hub):
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
        self._clients = {}
        self._open(_addr(address), _options(**options))
        self.address = address

    def wait(self, timeout=None):
        """The next client with something to receive (a message, or the end
        of its stream) as a Channel; TimeoutError after timeout seconds."""
        # A client whose message was kept when an exception landed in its
        # receive has it pending here, not in its ring: first.
        for ch in self._clients.values():
            if ch._pending:
                return ch
        handle = self._wait(timeout)
        ch = self._clients.get(handle)
        if ch is None:
            ch = self._client(Channel, handle)
            ch._hub = self
            ch.address = self.address
            self._clients[handle] = ch
        return ch

    async def wait_async(self, timeout=None):
        """The next client, awaited on the event loop (fileno())."""
        def attempt():
            try:
                return self.wait(0)
            except TimeoutError:
                return None
        return await _when_ready(self, attempt, self.fileno, timeout, "hub wait")

    def drop(self, ch):
        """Close a client's channel (its end of stream) and forget it."""
        _not_awaited(ch)
        self._drop(ch)      # first: it refuses while a view or a wait holds it
        for handle, c in list(self._clients.items()):
            if c is ch:
                del self._clients[handle]

    def __len__(self):
        return self._count()

    def close(self):
        """Close every client's channel and go.  Refused (RuntimeError,
        BufferError) while a view of a client's message or a wait holds
        any of them; then nothing is closed."""
        clients = getattr(self, "_clients", {})
        for ch in clients.values():
            _not_awaited(ch)
            ch._check_closable()
        _not_awaited(self)
        self._check_closable()
        for ch in clients.values():
            ch._forget()
        clients.clear()
        super().close()

    def __del__(self):
        if self.is_open:
            self.close()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.close()
