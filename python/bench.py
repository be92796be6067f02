# SPDX-License-Identifier: MIT
"""Python to Python, as separate processes: shmq against what Python users
have.  Each row forks its own peer; repetitions interleave the rows, and
the table shows medians (min-max).

  shmq ping-pong      1 KiB each way, blocking calls (hybrid waits)
  shmq asyncio        the same, the measuring side on asyncio
  shmq stream         64 B messages one way, send() and recv() each
  shmq stream batched the same, send_many() and recv_many() 256 at a time
  classic             the classic recipe: a SysV segment, a flag byte
                      polled with time.sleep(1e-6) in between (sysv_ipc)
  sysv_ipc spin       the same, spinning: no sleep, no synchronisation
  multiprocessing     multiprocessing.Pipe, 1 KiB ping-pong

The two sysv_ipc rows need python3-sysv-ipc; if the python running this
lacks it, they run under /usr/bin/python3 when that has it (said so in
the table), else they are skipped with a note.

    PYTHONPATH=python python3 python/bench.py [-t SECONDS] [-r REPS]
"""
import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PING = 1024
SMALL = 64


def _shmq():
    sys.path.insert(0, HERE)
    import shmq
    return shmq


def _fork(body):
    pid = os.fork()
    if pid == 0:
        try:
            body()
        finally:
            os._exit(0)
    return pid


def _timed(step, seconds, per=100):
    """Round trips (or messages) a second: step() per at a time."""
    n, t0 = 0, time.monotonic()
    end = t0 + seconds
    while True:
        for _ in range(per):
            step()
        n += per
        if time.monotonic() >= end:
            return n / (time.monotonic() - t0)


def _echo(name):
    shmq = _shmq()
    with shmq.open(name, timeout=10) as ch:
        for msg in ch:
            ch.send(msg)


def shmq_pingpong(seconds):
    shmq = _shmq()
    name = "b-py-%d" % os.getpid()
    pid = _fork(lambda: _echo(name))
    msg = b"p" * PING
    with shmq.open(name, timeout=10) as ch:
        def step():
            ch.send(msg)
            if len(ch.recv()) != PING:
                raise SystemExit("a wrong echo")
        rate = _timed(step, seconds)
    os.waitpid(pid, 0)
    return rate


def shmq_asyncio(seconds):
    shmq = _shmq()
    name = "b-pya-%d" % os.getpid()
    pid = _fork(lambda: _echo(name))
    msg = b"p" * PING

    async def run():
        with shmq.open(name, timeout=10) as ch:
            n, t0 = 0, time.monotonic()
            while time.monotonic() - t0 < seconds:
                for _ in range(100):
                    await ch.send_async(msg)
                    if len(await ch.recv_async()) != PING:
                        raise SystemExit("a wrong echo")
                n += 100
            return n / (time.monotonic() - t0)
    rate = asyncio.run(run())
    os.waitpid(pid, 0)
    return rate


def _stream(seconds, batched):
    shmq = _shmq()
    name = "b-pys-%d" % os.getpid()

    def produce():
        with shmq.open(name, timeout=10) as ch:
            msg = b"s" * SMALL
            batch = [msg] * 256
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                for _ in range(4):
                    if batched:
                        ch.send_many(batch)
                    else:
                        for _ in range(256):
                            ch.send(msg)
    pid = _fork(produce)
    n = 0
    with shmq.open(name, timeout=10) as ch:
        t0 = None
        try:
            while True:
                got = ch.recv_many(256) if batched else [ch.recv()]
                if t0 is None:
                    t0 = time.monotonic()
                n += len(got)
        except shmq.EndOfStream:
            pass
        rate = n / (time.monotonic() - t0)
    os.waitpid(pid, 0)
    return rate


def shmq_stream(seconds):
    return _stream(seconds, False)


def shmq_stream_batched(seconds):
    return _stream(seconds, True)


def _sysv_pair(seconds, nap):
    """The classic recipe (nap > 0) or its spinning form (nap None): one
    segment, byte 0 the flag (1: a request, 2: the answer), read and
    written through a memoryview of it (sysv_ipc's fastest way: no system
    call per access)."""
    import sysv_ipc
    mem = sysv_ipc.SharedMemory(None, sysv_ipc.IPC_CREX, size=PING + 1)
    mv = memoryview(mem)
    try:
        mv[0] = 0

        def wait_for(flag):
            while mv[0] != flag:
                if nap:
                    time.sleep(nap)

        def serve():
            while True:
                wait_for(1)
                if mv[1] == ord("q"):
                    return
                data = bytes(mv[1:])
                mv[1:] = data
                mv[0] = 2
        pid = _fork(serve)
        msg = b"p" * PING

        def step():
            mv[1:] = msg
            mv[0] = 1
            wait_for(2)
            if bytes(mv[1:]) != msg:
                raise SystemExit("a wrong echo")
        rate = _timed(step, seconds, per=10 if nap else 100)
        mv[1] = ord("q")
        mv[0] = 1
        os.waitpid(pid, 0)
        return rate
    finally:
        mv.release()
        mem.detach()
        mem.remove()


def classic(seconds):
    return _sysv_pair(seconds, 1e-6)


def sysv_spin(seconds):
    return _sysv_pair(seconds, None)


def mp_pipe(seconds):
    import multiprocessing
    ctx = multiprocessing.get_context("fork")
    a, b = ctx.Pipe()

    def serve():
        while True:
            m = b.recv_bytes()
            if not m:
                return
            b.send_bytes(m)
    pid = _fork(serve)
    msg = b"p" * PING

    def step():
        a.send_bytes(msg)
        if len(a.recv_bytes()) != PING:
            raise SystemExit("a wrong echo")
    rate = _timed(step, seconds)
    a.send_bytes(b"")
    os.waitpid(pid, 0)
    return rate


ROWS = [
    ("shmq ping-pong", "1 KiB round trips/s", shmq_pingpong, False),
    ("shmq asyncio", "1 KiB round trips/s", shmq_asyncio, False),
    ("shmq stream", "64 B messages/s", shmq_stream, False),
    ("shmq stream batched", "64 B messages/s", shmq_stream_batched, False),
    ("classic (sleep-polling)", "1 KiB round trips/s", classic, True),
    ("sysv_ipc spin, no sync", "1 KiB round trips/s", sysv_spin, True),
    ("multiprocessing.Pipe", "1 KiB round trips/s", mp_pipe, False),
]


def _sysv_python():
    """A python3 that has sysv_ipc: this one, or /usr/bin/python3."""
    for py in (sys.executable, "/usr/bin/python3"):
        if os.path.exists(py) and subprocess.run(
                [py, "-c", "import sysv_ipc"], capture_output=True).returncode == 0:
            return py
    return None


def _one(py, row, seconds):
    """One repetition of a row, in a fresh process of its own."""
    r = subprocess.run([py, os.path.abspath(__file__), "--one", row, "-t", str(seconds)],
                       capture_output=True, text=True, timeout=60 + 10 * seconds)
    if r.returncode != 0:
        raise SystemExit("%s failed: %s" % (row, r.stderr.strip()[-400:]))
    return float(r.stdout.split()[-1])


def _fmt(x):
    return "%.2fM" % (x / 1e6) if x >= 1e6 else "%.0fk" % (x / 1e3) if x >= 1e4 else "%.0f" % x


def main():
    ap = argparse.ArgumentParser(description="shmq from Python, against the alternatives")
    ap.add_argument("-t", "--seconds", type=float, default=0.5, help="per repetition")
    ap.add_argument("-r", "--reps", type=int, default=3)
    ap.add_argument("--one", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.one:
        fn = {name: f for name, _, f, _ in ROWS}[a.one]
        print("%.1f" % fn(a.seconds))
        return
    sysv_py = _sysv_python()
    rows = [r for r in ROWS if not r[3] or sysv_py]
    rates = {name: [] for name, _, _, _ in rows}
    for _ in range(a.reps):
        for name, _, _, needs_sysv in rows:
            rates[name].append(_one(sysv_py if needs_sysv else sys.executable, name, a.seconds))
    med = {n: statistics.median(r) for n, r in rates.items()}
    print("shmq from Python (%s), medians of %d interleaved repetitions of %.2g s:"
          % (sys.version.split()[0], a.reps, a.seconds))
    print("| method | what | rate | min-max |")
    print("|---|---|---:|---:|")
    for name, what, _, needs_sysv in rows:
        r = rates[name]
        note = " (%s)" % sysv_py if needs_sysv and sysv_py != sys.executable else ""
        print("| %s%s | %s | %s | %s-%s |" % (name, note, what, _fmt(med[name]),
                                            _fmt(min(r)), _fmt(max(r))))
    if not sysv_py:
        print("(no python3 with sysv_ipc here: the classic and sysv_ipc rows are "
              "skipped; apt install python3-sysv-ipc)")
    pp = med["shmq ping-pong"]
    print("ratios: asyncio/blocking %.2fx; batched 64 B %s messages/s"
          % (med["shmq asyncio"] / pp, _fmt(med["shmq stream batched"])), end="")
    if sysv_py:
        print("; ping-pong/sysv_ipc spin %.2fx; ping-pong/classic %.0fx"
              % (pp / med["sysv_ipc spin, no sync"], pp / med["classic (sleep-polling)"]), end="")
    print("; ping-pong/multiprocessing %.1fx" % (pp / med["multiprocessing.Pipe"]))


if __name__ == "__main__":
    main()
