"""The classic server, written from its description: the same key and
segment; wait for b"ping" and answer b"pong"; when a message starts with
b"e", remove the segment, detach and unlink the path.  Usage: server.py PATH"""
import os
import sys
import time

import sysv_ipc

path = sys.argv[1]
open(path, "a").close()
key = sysv_ipc.ftok(path, 42, silence_warning=True)
mem = sysv_ipc.SharedMemory(key, sysv_ipc.IPC_CREAT, mode=0o644, size=20)
answered = 0
deadline = time.monotonic() + 30
while True:
    m = mem.read(4)
    if m.startswith(b"e"):
        mem.remove()
        mem.detach()
        os.unlink(path)
        break
    if m == b"ping":
        mem.write(b"pong")
        answered += 1
    if time.monotonic() > deadline:
        sys.exit("server: no end")
    time.sleep(0.000001)
print("server: answered %d" % answered)
