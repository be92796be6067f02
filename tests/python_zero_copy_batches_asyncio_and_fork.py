"""The native core's promises beyond plain send and recv: views into the
ring that live for their with block alone (a clear error after, never a
crash), batches, asyncio on the channel's descriptors, one thread per
direction, and a fork child that cannot disturb its parent's channel."""
import asyncio
import gc
import os
import signal
import sys
import threading
import time

sys.path.insert(0, "tests/lib")
from tap import diag, done, load_shmq, ok  # noqa: E402

shmq = load_shmq()
signal.alarm(120)
name = "t-pyz-%d" % os.getpid()


def peer(body):
    """Fork a process that opens the channel and runs body(ch)."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            with shmq.open(name, timeout=10) as ch:
                body(ch)
            code = 0
        finally:
            os._exit(code)
    return pid


def echo(ch):
    for msg in ch:
        ch.send(msg)


def expect(exc, fn, what):
    try:
        fn()
        ok(False, what + ": no error")
    except exc as e:
        ok(True, "%s: %s" % (what, type(e).__name__))


# Zero copy both ways: reserve fills in place, peek reads in place.
pid = peer(echo)
with shmq.open(name, timeout=10) as ch:
    with ch.reserve(5) as buf:
        ok(isinstance(buf, memoryview) and not buf.readonly and len(buf) == 5,
           "reserve(5) hands out a writable 5-byte memoryview")
        buf[:] = b"hello"
    with ch.peek(timeout=5) as msg:
        ok(msg.readonly and bytes(msg) == b"hello", "peek hands out the echo, read-only")
        kept = msg
    expect(ValueError, lambda: bytes(kept), "the view used after its block")
    try:
        with ch.reserve(4) as buf:
            buf[:] = b"lost"
            raise KeyError("abandon the message")
    except KeyError:
        pass
    ch.send(b"next")
    ok(ch.recv(timeout=5) == b"next", "a reservation left by an exception is discarded, not sent")
    # A view taken from the block's memoryview outlives it: the message
    # stays, and the channel refuses to receive or close until it goes.
    ch.send(b"pinned")
    try:
        with ch.peek(timeout=5) as msg:
            inner = memoryview(msg)[1:]
        ok(False, "a view that outlives its block is refused")
    except BufferError:
        ok(True, "a view that outlives its block: BufferError at the block's end")
    expect(BufferError, lambda: ch.try_recv(), "  receiving meanwhile")
    expect(BufferError, ch.close, "  closing meanwhile")
    ok(bytes(inner) == b"inned", "  the view still reads the message, which was not consumed")
    del inner
    gc.collect()
    ok(ch.recv(timeout=5) == b"pinned", "  once it is gone the message comes again")
    # An exception in a peek block leaves the message to come again.
    ch.send(b"again")
    try:
        with ch.peek(timeout=5) as msg:
            raise KeyError()
    except KeyError:
        pass
    ok(ch.recv(timeout=5) == b"again", "an exception in a peek block: the message comes again")
    # Batches.
    for i in range(10):
        ch.send(b"%d" % i)
    got = []
    while len(got) < 10:
        got += ch.recv_many(max=4, timeout=5)
    ok(got == [b"%d" % i for i in range(10)], "recv_many takes them in batches, in order")
    # send_many: more than the ring holds, in batches that wait for room.
    big = [b"%06d" % i + b"." * (i % 300) for i in range(20000)]
    back = []

    def collect():
        while len(back) < len(big):
            back.extend(ch.recv_many(max=1000, timeout=10))
    collector = threading.Thread(target=collect)
    collector.start()       # the echoes come back meanwhile: another thread
    sent = ch.send_many(iter(big), timeout=10)
    collector.join()
    ok(sent == len(big) and back == big,
       "send_many sends %d messages (several rings' worth) whole and in order" % sent)
    try:
        ch.send_many([b"ok", 3])
        ok(False, "send_many with a non-bytes item")
    except TypeError as e:
        ok(getattr(e, "sent", None) == 1, "send_many with a non-bytes item: TypeError, "
           "its sent = %s" % getattr(e, "sent", None))
    ok(ch.recv(timeout=5) == b"ok", "  the messages before it were sent")
    ok(ch.recv_many(timeout=0) == [], "recv_many(timeout=0) with nothing there: []")
    expect(ValueError, lambda: ch.recv_many(max=0), "recv_many(max=0)")
    expect(TypeError, lambda: ch.send("text"), "send of a str (not bytes)")
    # A view is of its own message or reservation, not of whatever the
    # channel holds later.
    v1 = ch.reserve(3)
    v2 = ch.reserve(4)
    expect(ValueError, v1.__enter__, "a reservation replaced by a newer one: its view")
    with v2 as b:
        b[:] = b"four"
    ok(ch.recv(timeout=5) == b"four", "  the newer one is sent")
os.waitpid(pid, 0)

# Threads: one receiver at a time; a second is refused, as is a close
# while it waits.
pid = peer(lambda ch: (time.sleep(1.0), ch.send(b"late"), ch.recv(timeout=10)))
with shmq.open(name, timeout=10) as ch:
    box = []
    t = threading.Thread(target=lambda: box.append(ch.recv(timeout=10)))
    t.start()
    time.sleep(0.2)
    expect(RuntimeError, lambda: ch.recv(timeout=0.1), "a second thread receiving at once")
    expect(RuntimeError, ch.close, "closing while another thread waits")
    t.join()
    ok(box == [b"late"], "  the waiting thread gets its message")
    ch.send(b"bye")
os.waitpid(pid, 0)

# fork: a child that drops, closes or exits with the parent's channel
# changes nothing for the parent or the peer.
pid = peer(echo)
with shmq.open(name, timeout=10) as ch:
    ch.send(b"before")
    ok(ch.recv(timeout=5) == b"before", "a channel works before a fork")
    for how in ("exit", "close", "abandon", "gc"):
        child = os.fork()
        if child == 0:
            try:
                if how == "close":
                    ch.close()
                elif how == "abandon":
                    ch.abandon()
                elif how == "gc":
                    del ch
                    gc.collect()
            finally:
                os._exit(0)
        os.waitpid(child, 0)
    ch.send(b"after")
    ok(ch.recv(timeout=5) == b"after" and ch.info["peer_state"] == "attached",
       "after children exit, close, abandon and collect it, parent and peer go on")
os.waitpid(pid, 0)


# asyncio: recv_async, send_async, async for, and a hub's wait_async.
async def async_side():
    with shmq.open(name, timeout=10) as ch:
        await ch.send_async(b"ping", timeout=5)
        a = await ch.recv_async(timeout=5)
        t0 = time.monotonic()
        try:
            await ch.recv_async(timeout=0.2)
            late = None
        except TimeoutError:
            late = time.monotonic() - t0
        await ch.send_async(b"end", timeout=5)
        rest = [m async for m in ch]
        return a, late, rest


def echo_then_three(ch):
    ch.send(ch.recv(timeout=10))
    ch.recv(timeout=10)
    for m in (b"x", b"y", b"z"):
        ch.send(m)


pid = peer(echo_then_three)
a, late, rest = asyncio.run(async_side())
os.waitpid(pid, 0)
ok(a == b"ping", "asyncio: send_async and recv_async")
ok(late is not None and 0.15 <= late < 1.5, "  recv_async(timeout=0.2) raises TimeoutError (%s s)"
   % (late and "%.2f" % late))
ok(rest == [b"x", b"y", b"z"], "  async for runs to the end of the stream")


async def hub_side(hubname):
    served = 0
    with shmq.Hub(hubname) as hub:
        while served < 2:
            ch = await hub.wait_async(timeout=10)
            try:
                msg = ch.try_recv()
            except (EOFError, ConnectionError):
                ch.close()
                continue
            if msg is not None:
                ch.send(msg[::-1])
                served += 1
    return served


hubname = name + "-hub"
kids = []
for k in range(2):
    child = os.fork()
    if child == 0:
        code = 1
        try:
            time.sleep(0.2)
            with shmq.connect(hubname, timeout=10) as ch:
                ch.send(b"ab%d" % k)
                code = 0 if ch.recv(timeout=10) == b"%dba" % k else 2
        finally:
            os._exit(code)
    kids.append(child)
served = asyncio.run(hub_side(hubname))
codes = [os.waitpid(p, 0)[1] for p in kids]
ok(served == 2 and codes == [0, 0], "asyncio: a hub serves two clients through wait_async")
# The edges of asyncio and of sending: a NaN timeout, two tasks on one
# end, shutdown inside a reservation, a send to a peer that closed.
def close_soon(ch):
    ch.recv(timeout=10)


pid = peer(close_soon)


async def edges():
    with shmq.open(name, timeout=10) as ch:
        try:
            await ch.recv_async(timeout=float("nan"))
            nan = None
        except ValueError:
            nan = "ValueError"
        first = asyncio.ensure_future(ch.recv_async(timeout=5))
        await asyncio.sleep(0.05)
        try:
            await ch.recv_async(timeout=1)
            second = None
        except RuntimeError:
            second = "RuntimeError"
        try:
            ch.close()
            closed = None
        except RuntimeError:
            closed = "RuntimeError"
        with ch.reserve(4) as buf:
            buf[:] = b"stop"
            try:
                ch.shutdown()
                shut = None
            except BufferError:
                shut = "BufferError"
        try:
            await first
            end = None
        except (EOFError, ConnectionError) as e:
            end = type(e).__name__
        try:
            for _ in range(3):
                ch.send(b"more")
            broken = None
        except BrokenPipeError:
            broken = "BrokenPipeError"
        return nan, second, shut, end, broken, closed


nan, second, shut, end, broken, closed = asyncio.run(edges())
os.waitpid(pid, 0)
ok(nan == "ValueError", "recv_async(timeout=nan): %s" % nan)
ok(second == "RuntimeError", "a second task waiting on the same end: %s" % second)
ok(closed == "RuntimeError", "closing it while a task waits on it: %s" % closed)
ok(shut == "BufferError", "shutdown() inside a reserve block: %s (the message is not lost)" % shut)
ok(end == "EndOfStream", "  the waiting task sees the peer's close: %s" % end)
ok(broken == "BrokenPipeError", "send to a peer that closed: %s" % broken)

# A topic's subscriber on asyncio (a worker thread waits for it): async
# for to the end, and a cancelled recv_async loses nothing.
topic = name + "-topic"


async def subscribe():
    with shmq.Subscriber(topic, start="oldest") as sub:
        waiter = asyncio.ensure_future(sub.recv_async())
        await asyncio.sleep(0.1)
        waiter.cancel()
        try:
            await waiter
        except asyncio.CancelledError:
            pass
        os.write(go_w, b"g")
        return [m async for m in sub]


go_r, go_w = os.pipe()
pid = os.fork()
if pid == 0:
    code = 1
    try:
        with shmq.Publisher(topic) as pub:
            os.read(go_r, 1)
            for i in range(100):
                pub.send(b"%d" % i)
            code = 0
    finally:
        os._exit(code)
time.sleep(0.2)
got = asyncio.run(subscribe())
os.waitpid(pid, 0)
ok(got == [b"%d" % i for i in range(100)],
   "asyncio: a subscriber's async for gets all 100 after a cancelled recv_async (%d)" % len(got))
with shmq.Hub(name + "-hub3") as hub:
    expect(TimeoutError, lambda: hub.wait(0), "hub.wait(0) with nobody there")

# A hub is not closed under a client's live view (nothing is closed then),
# and a hub dropped without close() is collected and frees its address.
hubname2 = name + "-hub2"
child = os.fork()
if child == 0:
    code = 1
    try:
        with shmq.connect(hubname2, timeout=10) as ch:
            ch.send(b"hold")
            ch.recv(timeout=10)
            code = 0
    finally:
        os._exit(code)
hub = shmq.Hub(hubname2)
ch = hub.wait(timeout=10)
with ch.peek(timeout=5) as msg:
    expect(BufferError, hub.close, "closing a hub while a client's message is viewed")
    ok(bytes(msg) == b"hold" and hub.is_open and ch.is_open, "  nothing was closed")
ch.send(b"ok")
os.waitpid(child, 0)
del hub, ch, msg
gc.collect()
try:
    with shmq.Hub(hubname2):
        ok(True, "a hub dropped without close() is collected: its address is free again")
except OSError as e:
    ok(False, "a hub dropped without close() is collected: %s" % e)

# The type hints name every public class, function and method.
import ast
stub = ast.parse(open("python/shmq.pyi").read())
hinted = {n.name: {m.name for m in n.body if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef))}
          for n in stub.body if isinstance(n, ast.ClassDef)}
funcs = {n.name for n in stub.body if isinstance(n, ast.FunctionDef)}
missing = [n for n in shmq.__all__ if n not in hinted and n not in funcs]
for cls in ("Channel", "Hub", "Publisher", "Subscriber"):
    public = {m for m in dir(getattr(shmq, cls)) if not m.startswith("_")
              and callable(getattr(getattr(shmq, cls), m))}
    missing += ["%s.%s" % (cls, m) for m in sorted(public - hinted.get(cls, set()))]
ok(not missing, "shmq.pyi hints every public name (missing: %s)" % (", ".join(missing) or "none"))
done()
