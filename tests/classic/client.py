"""The classic client, written from its description: key ftok(PATH, 42),
a 20-byte segment opened with IPC_CREAT and mode 0644; write b"ping" at
offset 0, wait until the first 4 bytes differ from b"ping" (sleep-polling,
as the recipe does), expect b"pong"; after ROUNDS round trips write b"end"
and detach.  Usage: client.py PATH [ROUNDS]"""
import os
import sys
import time

import sysv_ipc

path = sys.argv[1]
rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 100
open(path, "a").close()  # create the path if it is missing
key = sysv_ipc.ftok(path, 42, silence_warning=True)
mem = sysv_ipc.SharedMemory(key, sysv_ipc.IPC_CREAT, mode=0o644, size=20)
deadline = time.monotonic() + 30
for i in range(rounds):
    mem.write(b"ping")
    while mem.read(4) == b"ping":
        if time.monotonic() > deadline:
            sys.exit("client: no pong")
        time.sleep(0.000001)
    answer = mem.read(4)
    if answer != b"pong":
        sys.exit("client: expected pong, got %r" % answer)
mem.write(b"end")
mem.detach()
print("client: %d round trips" % rounds)
