"""The Python binding (python/shmq.py and its core, python/_shmq.c): messages both ways, iteration to the
end of the stream, timeouts, a dead peer after the drain, Ctrl-C while
blocked (KeyboardInterrupt, nothing lost), the command-line tools on the
other end, and address errors.  Skipped where libshmq cannot be loaded
into Python (a sanitizer build)."""
import os
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, "tests/lib")
from tap import BUILD, diag, done, load_shmq, ok  # noqa: E402

SHMQ = os.environ.get("SHMQ", os.path.join(BUILD, "shmq"))
shmq = load_shmq()

signal.alarm(120)
name = "t-py-%d" % os.getpid()


def echo_child(address, count=None, die=False):
    pid = os.fork()
    if pid == 0:
        try:
            with shmq.open(address) as ch:
                for i, msg in enumerate(ch):
                    ch.send(msg[::-1])
                    if die and i == 2:
                        os.kill(os.getpid(), signal.SIGKILL)
        finally:
            os._exit(0)
    return pid


ok(shmq.version().count(".") == 2, "shmq.version() is %s" % shmq.version())

# Both ways, and a clean end.
pid = echo_child(name)
with shmq.open(name, timeout=10) as ch:
    info = ch.info
    ok(info["peer_pid"] == pid and info["peer_state"] == "attached",
       "open meets a forked peer (pid %d)" % pid)
    ok(info["max_send"] == 1048576 // 2 - 8, "the default capacity: largest message 524280")
    replies = []
    for m in (b"abc", b"", b"x" * 100000):
        ch.send(m)
        replies.append(ch.recv(timeout=5))
    ok(replies == [b"cba", b"", b"x" * 100000], "messages go both ways whole, the empty one too")
    ok(ch.try_recv() is None, "try_recv on an empty channel: None")
    t0 = time.monotonic()
    try:
        ch.recv(timeout=0.2)
        ok(False, "recv(timeout=0.2) times out")
    except TimeoutError:
        dt = time.monotonic() - t0
        ok(0.2 <= dt < 1.5, "recv(timeout=0.2) raises TimeoutError after %.2f s" % dt)
    ch.shutdown()
    try:
        ch.send(b"more")
        ok(False, "send after shutdown fails")
    except OSError as e:
        ok(e.errno == 108, "send after shutdown: OSError ESHUTDOWN")
    try:
        ch.recv(timeout=5)
        ok(False, "the peer's close ends our stream")
    except shmq.EndOfStream as e:
        ok(isinstance(e, EOFError), "then the peer's close: EndOfStream, an EOFError")
os.waitpid(pid, 0)

# A dead peer: what it sent arrives first, then ConnectionResetError.
pid = echo_child(name, die=True)
with shmq.open(name, timeout=10) as ch:
    for i in range(5):
        ch.send(b"m%d" % i)
    got = []
    try:
        while True:
            got.append(ch.recv(timeout=5))
    except ConnectionResetError:
        ok(got == [b"0m", b"1m", b"2m"], "the peer's 3 answers arrive, then ConnectionResetError")
    except Exception as e:
        ok(False, "a dead peer: ConnectionResetError, not %r" % e)
os.waitpid(pid, 0)

# Ctrl-C while blocked in recv: KeyboardInterrupt, and nothing is lost.
pid = echo_child(name)
with shmq.open(name, timeout=10) as ch:
    threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT)).start()
    t0 = time.monotonic()
    try:
        ch.recv()
        ok(False, "Ctrl-C interrupts a blocked recv")
    except KeyboardInterrupt:
        dt = time.monotonic() - t0
        ok(0.25 <= dt < 1.0, "Ctrl-C while blocked in recv: KeyboardInterrupt after %.2f s" % dt)
    ch.send(b"still")
    ok(ch.recv(timeout=5) == b"llits", "the channel works after it")
os.waitpid(pid, 0)

# Signals landing anywhere in a stream of receives (a handler that raises,
# as Ctrl-C's does).  With recv: a signal is checked before the message is
# consumed, so one that lands inside recv keeps the message for the next
# call (seen as ch._pending after the exception); one that lands after recv
# returned loses that message with the value (Python's own rule), so what
# is missing is at most the interrupts that did not keep one.  With peek:
# nothing is missing at all (a message comes again if the exception landed
# inside its with block).
# Ctrl-C itself: SIGINT, raising KeyboardInterrupt as Python's own handler
# does, while a receive is under way: armed just before each call and
# disarmed first thing after it, so it lands inside the call (the point)
# or in the try around it, never in the test's own bookkeeping.
Interrupted = KeyboardInterrupt
armed = [False]


def storm_handler(signum, frame):
    if armed[0]:
        raise KeyboardInterrupt()


COUNT = 20000


def storm(receive):
    pid = os.fork()
    if pid == 0:
        try:
            with shmq.open(name, timeout=10) as ch:
                for i in range(COUNT):
                    ch.send(b"%d" % i)
        finally:
            os._exit(0)
    old_handler = signal.signal(signal.SIGINT, storm_handler)
    stop, go = threading.Event(), threading.Event()

    def pester():
        go.wait()
        while not stop.is_set():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.0002)

    got, interrupts, kept, ended = [], 0, 0, False
    with shmq.open(name, timeout=10) as ch:
        pesterer = threading.Thread(target=pester)
        pesterer.start()
        go.set()
        while not ended:
            armed[0] = True
            try:
                receive(ch, got)
                armed[0] = False
            except Interrupted:
                armed[0] = False
                interrupts += 1
                kept += ch._pending
            except shmq.EndOfStream:
                armed[0] = False
                ended = True
        stop.set()
        pesterer.join()
    signal.signal(signal.SIGINT, old_handler)
    os.waitpid(pid, 0)
    return got, interrupts, kept


def plain(ch, got):
    got.append(ch.recv(timeout=10))


def in_place(ch, got):
    with ch.peek(timeout=10) as m:
        got.append(bytes(m))


got, interrupts, kept = storm(plain)
want = [b"%d" % i for i in range(COUNT)]
nums = [int(m) for m in got]
missing = COUNT - len(got)
ok(nums == sorted(set(nums)) and missing <= interrupts - kept,
   "recv: %d signals raised in a stream of %d receives; %d landed inside recv and "
   "kept their message; %d missing, each lost after recv returned"
   % (interrupts, COUNT, kept, missing))
diag("interrupts that kept a message: %d of %d" % (kept, interrupts))
got, interrupts, kept = storm(in_place)
dedup = [m for i, m in enumerate(got) if i == 0 or got[i - 1] != m]
ok(dedup == want and interrupts > 0,
   "peek: %d signals raised in a stream of %d: none missing, in order "
   "(%d delivered again)" % (interrupts, COUNT, len(got) - len(dedup)))

# The command-line tools on the other end.
p = subprocess.Popen([SHMQ, "recv", name, "--timeout", "10s"], stdout=subprocess.PIPE)
with shmq.open(name, timeout=10) as ch:
    for m in (b"one", b"two", b"three"):
        ch.send(m)
out = p.communicate(timeout=10)[0]
ok(p.returncode == 0 and out == b"one\ntwo\nthree\n", "Python sends, shmq recv prints, end of stream")
p = subprocess.Popen([SHMQ, "send", name, "alpha", "beta", "--timeout", "10s"])
with shmq.open(name, timeout=10) as ch:
    got = list(ch)
p.wait(timeout=10)
ok(got == [b"alpha", b"beta"] and p.returncode == 0, "shmq send, Python iterates to the end")

# A message left pending (peeked, its block never entered): the next recv
# has it; a fork child does not (ChildProcessError, errno ECHILD); after
# close, recv says so; recv(timeout=0) looks once.
pid = os.fork()
if pid == 0:
    try:
        with shmq.open(name, timeout=10) as ch:
            for m in (b"a", b"b", b"c"):
                ch.send(m)
            ch.recv(timeout=10)
    finally:
        os._exit(0)
with shmq.open(name, timeout=10) as ch:
    view = ch.peek(timeout=5)
    del view
    ok(ch._pending, "a message peeked and not taken stays pending")
    child = os.fork()
    if child == 0:
        try:
            ch.recv(timeout=1)
            os._exit(1)
        except ChildProcessError as e:
            os._exit(0 if e.errno == 10 else 2)
        except BaseException:
            os._exit(3)
    _, st = os.waitpid(child, 0)
    ok(os.WIFEXITED(st) and os.WEXITSTATUS(st) == 0,
       "a fork child does not get the parent's pending message (ECHILD)")
    ok(ch.recv(timeout=5) == b"a", "  the parent's next recv returns it")
    time.sleep(0.2)
    ok(ch.recv(timeout=0) == b"b", "recv(timeout=0) returns a queued message")
    ch.send(b"done")
try:
    ch.recv()
    ok(False, "recv on a closed channel")
except ValueError:
    ok(True, "recv on a closed channel is ValueError")
os.waitpid(pid, 0)

# A hub: a client's message left pending is offered again by wait().
with shmq.Hub(name) as hub:
    p = subprocess.Popen([SHMQ, "ping", "--connect", name, "-c", "2", "-i", "0",
                          "-q", "--timeout", "10s"], stdout=subprocess.PIPE)
    served, ended, first = 0, False, True
    try:
        while not ended:
            ch = hub.wait(timeout=5)
            if first and not ch._pending:
                view = ch.peek(timeout=5)
                del view
                again = hub.wait(timeout=5)
                ok(again is ch and ch._pending, "a hub offers a client's pending message first")
                first = False
            try:
                msg = ch.try_recv()
            except (shmq.EndOfStream, ConnectionError):
                ch.close()
                ended = True
                continue
            if msg is not None:
                ch.send(msg)
                served += 1
    except TimeoutError:
        pass
    out = p.communicate(timeout=15)[0]
    ok(p.returncode == 0 and ended and served >= 2,
       "a hub serves on: %d answered, ping exit %d" % (served, p.returncode))

# Roles: a second sender waits its turn, and its deadline says why.
pid = os.fork()
if pid == 0:
    try:
        with shmq.open(name, role="sender", timeout=5) as ch:
            ch.send(b"first")
    finally:
        os._exit(0)
time.sleep(0.2)
try:
    shmq.open(name, role="sender", timeout=0.3)
    ok(False, "a second sender does not pair with the first")
except TimeoutError as e:
    ok("another sender" in str(e), "a second sender waits in line until its deadline: %s" % e)
with shmq.open(name, role="receiver", timeout=5) as ch:
    ok(ch.recv(timeout=5) == b"first", "  the receiver meets the first sender")
os.waitpid(pid, 0)
try:
    shmq.open(name, role="boss")
    ok(False, "an unknown role is refused")
except ValueError:
    ok(True, "an unknown role is refused (ValueError)")

# Addresses.
try:
    shmq.open("not an address", timeout=1)
    ok(False, "a bad address is refused")
except OSError as e:
    ok(e.errno == 22 and "a name uses only" in str(e), "a bad address: EINVAL, saying what is wrong")
path = "/tmp/shmq-py-%d" % os.getpid()
open(path, "w").close()
pid = echo_child("ftok:%s:7" % path)
with shmq.open("ftok:%s:7" % path, timeout=10) as ch:
    ch.send(b"ftok")
    ok(ch.recv(timeout=5) == b"kotf", "an ftok: address works")
os.waitpid(pid, 0)
os.unlink(path)
r = subprocess.run([SHMQ, "stat", name], capture_output=True)
ok(r.returncode == 1, "nothing is left at the name")

# A hub: this process serves, two forked clients (connect, and open which
# finds the hub) each send three messages and check the echoes.
hubname = name + "-hub"
with shmq.Hub(hubname) as hub:
    kids = []
    for k in range(2):
        pid = os.fork()
        if pid == 0:
            status = 1
            try:
                how = shmq.connect if k == 0 else shmq.open
                with how(hubname, timeout=10) as ch:
                    good = True
                    for i in range(3):
                        msg = b"%d:%d" % (k, i)
                        ch.send(msg)
                        good = good and ch.recv(timeout=10) == msg[::-1]
                status = 0 if good else 2
            finally:
                os._exit(status)
        kids.append(pid)
    ended = echoed = 0
    while ended < 2:
        ch = hub.wait(timeout=10)
        try:
            msg = ch.try_recv()
        except EOFError:
            ch.close()
            ended += 1
            continue
        if msg is not None:
            ch.send(msg[::-1])
            echoed += 1
    codes = [os.waitpid(pid, 0)[1] for pid in kids]
    ok(codes == [0, 0] and echoed == 6,
       "a Hub serves two clients (connect and open), each echoed on its own channel")
    ok(len(hub) == 0, "  ended clients are dropped by closing them")
r = subprocess.run([SHMQ, "stat", hubname], capture_output=True)
ok(r.returncode == 1, "  closing the hub removes it")
try:
    shmq.connect(hubname, timeout=0.1)
    ok(False, "connect with no server times out")
except TimeoutError:
    ok(True, "connect with no server times out")

# A missing ftok file is named as such; a module whose native core was
# never built says how to build it.
try:
    shmq.open("ftok:/nonexistent/file:1", timeout=1)
    ok(False, "a missing ftok file is refused")
except FileNotFoundError as e:
    ok("/nonexistent/file" in str(e), "a missing ftok file: FileNotFoundError naming the file")
import shutil
import tempfile
lone = tempfile.mkdtemp()
shutil.copy("python/shmq.py", lone)
env = {k: v for k, v in os.environ.items() if k != "SHMQ_PYTHON_CORE"}
r = subprocess.run([sys.executable, "-c", "import shmq"], capture_output=True, text=True,
                   env=dict(env, PYTHONPATH=lone), cwd=lone)
shutil.rmtree(lone)
ok(r.returncode != 0 and "not built: run make" in r.stderr,
   "without its native core, import says how to build it")

done()
