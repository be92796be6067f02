# SPDX-License-Identifier: MIT
"""Send each word of the command line over a shmq channel, say so, then
print every answer until the peer closes:

    PYTHONPATH=python python3 examples/hello.py ADDRESS WORD...

Its peer can be `shmq pong ADDRESS` (answers each message with itself),
`shmq recv ADDRESS`, or another program that opens ADDRESS."""
import sys

import shmq

if len(sys.argv) < 2:
    sys.exit("usage: hello.py ADDRESS WORD...")
with shmq.open(sys.argv[1], timeout=5) as ch:   # waits up to 5 s for the peer
    for word in sys.argv[2:]:
        ch.send(word.encode())
    ch.shutdown()               # nothing more to send: the peer sees the end
    for msg in ch:              # until the peer closes (shmq.EndOfStream)
        print(msg.decode(errors="replace"))
