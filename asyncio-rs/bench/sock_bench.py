"""The sock_* methods: a sock_recv / sock_sendall echo over a Unix socket pair, in one
process, on asyncio's own loop, asyncio_rs, asyncio_rs running asyncio's pure-Python sock_*
methods over its add_reader/add_writer hooks ("asyncio_rs-py": what asyncio_rs did before
its sock_* were native), uvloop and rloop (when installed).

One round trip: the client sock_sendall's 64 bytes and sock_recv's the echo; the server
sock_recv's them and sock_sendall's them back. Each side's sock_recv usually has to wait, so
the waiting path (a future completed by the reactor) is what is measured.

Usage: sock_bench.py [N] [ROUNDS]       (wall clock, loops alternating, best round)
       sock_bench.py --one LOOP N       (one run, for callgrind: sock_callgrind.sh runs it)
"""

import asyncio
import socket
import sys
import time
from asyncio import selector_events

import asyncio_rs
from _loops import loops

_PY_SOCK = ("sock_recv", "sock_recv_into", "sock_recvfrom", "sock_recvfrom_into",
            "sock_sendall", "sock_sendto", "sock_connect", "sock_accept")


class PySockLoop(asyncio_rs.EventLoop):
    """asyncio_rs with asyncio's own sock_* methods (the state before they were native)."""


for _name in _PY_SOCK:
    setattr(PySockLoop, _name, getattr(selector_events.BaseSelectorEventLoop, _name))

LOOPS = loops(**{"asyncio_rs-py": PySockLoop})

PAYLOAD = b"x" * 64


def echo(loop, n):
    a, b = socket.socketpair()
    a.setblocking(False)
    b.setblocking(False)

    async def server():
        for _ in range(n):
            data = await loop.sock_recv(b, 65536)
            await loop.sock_sendall(b, data)

    async def client():
        for _ in range(n):
            await loop.sock_sendall(a, PAYLOAD)
            await loop.sock_recv(a, 65536)

    async def main():
        await asyncio.gather(server(), client())

    try:
        loop.run_until_complete(main())
    finally:
        a.close()
        b.close()


def main():
    if sys.argv[1:2] == ["--one"]:
        loop = LOOPS[sys.argv[2]]()
        try:
            echo(loop, int(sys.argv[3]))
        finally:
            loop.close()
        return
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    best = {name: float("inf") for name in LOOPS}
    for _ in range(rounds):
        for name, factory in LOOPS.items():
            loop = factory()
            try:
                t = time.perf_counter()
                echo(loop, n)
                best[name] = min(best[name], time.perf_counter() - t)
            finally:
                loop.close()
    ours = best["asyncio_rs"]
    print(f"sock_recv/sock_sendall echo, 64 B, n={n}, best of {rounds}: us per round trip")
    for name, t in best.items():
        print(f"{name:<14}{t / n * 1e6:10.2f}   {t / ours:5.2f}x asyncio_rs")


if __name__ == "__main__":
    main()
