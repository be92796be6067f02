"""The Python binding's topics (shmq.Publisher, shmq.Subscriber): two
subscriber processes each get every message, in order, with its sequence
number; a late one starts from the oldest held; a lossy one counts exactly
what it lost; the end is EndOfStream; a second publisher is refused.
Skipped where libshmq cannot be loaded into Python (a sanitizer build)."""
import errno
import os
import subprocess
import sys
import time

sys.path.insert(0, "tests/lib")
from tap import done, load_shmq, ok  # noqa: E402

shmq = load_shmq()
import signal  # noqa: E402
signal.alarm(120)
name = "t-pytopic-%d" % os.getpid()
N = 20000


def subscriber(address, out, **kw):
    """Fork a subscriber that writes "count first last bad lost end" to out."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        got, first, last, bad, end = 0, None, None, 0, "?"
        try:
            with shmq.Subscriber(address, **kw) as s:
                os.write(w, b"j")
                for m in s:
                    seq = s.seq
                    if int(m) != seq or (last is not None and not kw.get("lossy")
                                         and seq != last + 1):
                        bad += 1
                    first = seq if first is None else first
                    last = seq
                    got += 1
                end = "eos"
                lost = s.lost
        except Exception as e:   # report, do not hang the parent
            end, lost = repr(e), -1
        with open(out, "w") as f:
            f.write("%d %s %s %d %d %s" % (got, first, last, bad, lost, end))
        os._exit(0)
    os.close(w)
    os.read(r, 1)      # joined
    os.close(r)
    return pid


def result(path):
    got, first, last, bad, lost, end = open(path).read().split()
    return int(got), first, last, int(bad), int(lost), end


tmp = "/tmp/shmq-pytopic-%d" % os.getpid()
os.makedirs(tmp, exist_ok=True)
try:
    pids = [subscriber(name, "%s/s%d" % (tmp, i)) for i in range(2)]
    pids.append(subscriber(name, "%s/lossy" % tmp, lossy=True))
    with shmq.Publisher(name, slots=64, slot_size=64) as p:
        ok(p.subscribers == 3, "three subscribers joined (%d)" % p.subscribers)
        for i in range(N):
            p.send(b"%d" % i)
        ok(p.next_seq == N, "the publisher's next_seq is %d" % p.next_seq)
        try:
            shmq.Publisher(name)
            ok(False, "a second publisher is refused")
        except OSError as e:
            ok(e.errno == errno.EBUSY and "live publisher" in str(e),
               "a second publisher is refused: %s" % e)
    for pid in pids:
        os.waitpid(pid, 0)
    for i in range(2):
        got, first, last, bad, lost, end = result("%s/s%d" % (tmp, i))
        ok((got, first, last, bad, end) == (N, "0", str(N - 1), 0, "eos"),
           "subscriber %d: all %d in order with their seq, then EndOfStream (%s)"
           % (i, got, end))
    got, first, last, bad, lost, end = result("%s/lossy" % tmp)
    ok(end == "eos" and bad == 0 and got + lost == int(last) + 1,
       "the lossy one: received %d + lost %d = every seq up to %s" % (got, lost, last))

    # Late, from the oldest the topic holds.
    with shmq.Publisher(name, slots=64, slot_size=64) as p:
        for i in range(1000):
            p.try_send(b"%d" % i)
        with shmq.Subscriber(name, start="oldest") as s:
            first = int(s.recv())
            ok(first == 1000 - 63 and s.seq == first,
               "a late subscriber from the oldest starts at %d" % first)
        try:
            shmq.Subscriber(name, start=5)
            ok(False, "a start no longer held is refused")
        except OSError as e:
            ok(e.errno == errno.ERANGE and "oldest it holds" in str(e),
               "a start no longer held is refused: %s" % e)

    # Skipped numbers: a stream that begins at 10**12, a gap, the end.
    with shmq.Publisher(name) as p:
        with shmq.Subscriber(name) as s:
            p.skip_to(10**12)
            p.send(b"a")
            p.skip_to(10**12 + 10)
            p.send(b"b")
            try:
                p.skip_to(5)
                ok(False, "a skip backwards is refused")
            except ValueError as e:
                ok("below the next" in str(e), "a skip backwards is refused: %s" % e)
            p.skip_to(10**12 + 20)
            p.close()
            got = [(bytes(s.recv()), s.seq) for _ in range(2)]
            try:
                s.recv()
            except shmq.EndOfStream:
                pass
            ok(got == [(b"a", 10**12), (b"b", 10**12 + 10)] and s.lost == 9 + 9,
               "skip_to: seqs %s, lost %d (9 between, 9 after the last)"
               % ([q for _, q in got], s.lost))
finally:
    subprocess.run(["rm", "-rf", tmp])

done()
