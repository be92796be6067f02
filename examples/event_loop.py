# SPDX-License-Identifier: MIT
"""One asyncio loop serving a hub and two shmq channels: the Python twin
of event_loop.c.

    PYTHONPATH=python python3 examples/event_loop.py svc left right &
    shmq send left              (in a second terminal: a message per line)
    shmq send right three       (back in the first)
    shmq ping svc -c 5 -i 0 -q

and Ctrl-D to `shmq send left` ends it.  The hub's clients get each
message back (so shmq ping measures the loop); the channels' messages are
printed with their address.  It exits once both channels' streams have
ended.  Opening a channel waits for its peer, so the channels are opened
in worker threads while the hub already serves.
"""
import asyncio
import sys

import shmq


async def serve_hub(hub):
    """Echo every client's messages; drop it at its end or death."""
    while True:
        ch = await hub.wait_async()
        try:
            while (msg := ch.try_recv()) is not None:
                ch.send(msg, timeout=0.1)
        except (EOFError, ConnectionError, TimeoutError):
            ch.close()


async def print_channel(address):
    ch = await asyncio.to_thread(shmq.open, address, role="receiver")
    with ch:
        async for msg in ch:
            print("%s: %s" % (address, msg.decode(errors="replace")), flush=True)


async def main(svc, left, right):
    with shmq.Hub(svc) as hub:
        server = asyncio.create_task(serve_hub(hub))
        await asyncio.gather(print_channel(left), print_channel(right))
        server.cancel()
        try:
            await server
        except asyncio.CancelledError:
            pass


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit("usage: event_loop.py HUB LEFT RIGHT")
    asyncio.run(main(*sys.argv[1:]))
