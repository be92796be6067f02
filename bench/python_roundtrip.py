"""Round trips a second between two Python processes, 1 KiB each way:
shmq's binding (hybrid waits) and, when python3-sysv-ipc is installed,
the raw sysv_ipc recipe it replaces (one segment, a flag byte spun on,
no synchronisation at all).  Repetitions interleave the methods; the
medians are printed.

    PYTHONPATH=python python3 bench/python_roundtrip.py [-s SIZE] [-t SECONDS] [-r REPS]
"""
import argparse
import os
import statistics
import sys
import time

import shmq


def shmq_pair(size, seconds):
    name = "b-pyrt-%d" % os.getpid()
    pid = os.fork()
    if pid == 0:
        try:
            with shmq.open(name, timeout=10) as ch:
                for msg in ch:
                    ch.send(msg)
        finally:
            os._exit(0)
    msg = b"x" * size
    with shmq.open(name, timeout=10) as ch:
        n, end = 0, time.monotonic() + seconds
        t0 = time.monotonic()
        while True:
            for _ in range(100):
                ch.send(msg)
                if ch.recv() != msg:
                    raise SystemExit("shmq: a wrong echo")
            n += 100
            if time.monotonic() >= end:
                break
        rate = n / (time.monotonic() - t0)
    os.waitpid(pid, 0)
    return rate


def sysv_pair(size, seconds):
    import sysv_ipc
    mem = sysv_ipc.SharedMemory(None, sysv_ipc.IPC_CREX, size=size + 1)
    try:
        mem.write(b"\0")
        pid = os.fork()
        if pid == 0:
            try:
                while True:
                    while mem.read(1) != b"\1":
                        pass
                    data = mem.read(size, offset=1)
                    if data[:1] == b"q":
                        break
                    mem.write(data, offset=1)
                    mem.write(b"\2")
            finally:
                os._exit(0)
        msg = b"x" * size
        n, end = 0, time.monotonic() + seconds
        t0 = time.monotonic()
        while True:
            for _ in range(100):
                mem.write(msg, offset=1)
                mem.write(b"\1")
                while mem.read(1) != b"\2":
                    pass
                if mem.read(size, offset=1) != msg:
                    raise SystemExit("sysv_ipc: a wrong echo")
            n += 100
            if time.monotonic() >= end:
                break
        rate = n / (time.monotonic() - t0)
        mem.write(b"q", offset=1)
        mem.write(b"\1")
        os.waitpid(pid, 0)
        return rate
    finally:
        mem.detach()
        mem.remove()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-s", "--size", type=int, default=1024)
    ap.add_argument("-t", "--seconds", type=float, default=1.0)
    ap.add_argument("-r", "--reps", type=int, default=3)
    a = ap.parse_args()
    methods = [("shmq (native core)", shmq_pair)]
    try:
        import sysv_ipc  # noqa: F401
        methods.append(("sysv_ipc spin, no sync", sysv_pair))
    except ImportError:
        print("(python3-sysv-ipc is not installed: its row is skipped)")
    rates = {m: [] for m, _ in methods}
    for _ in range(a.reps):
        for m, fn in methods:
            rates[m].append(fn(a.size, a.seconds))
    print("%d B round trips a second, Python to Python (median of %d, min-max):"
          % (a.size, a.reps))
    for m, _ in methods:
        r = rates[m]
        print("  %-24s %9.0f  (%.0f-%.0f)" % (m, statistics.median(r), min(r), max(r)))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
