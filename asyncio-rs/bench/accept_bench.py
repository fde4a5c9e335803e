"""Connection accept rate: a server whose protocol does nothing, and a client that connects
and closes, one connection after the other, on 127.0.0.1. Per connection the server accepts,
makes the transport, calls connection_made, reads the end of file, closes and calls
connection_lost. asyncio_rs against uvloop, rloop and CPython's own loop.

Usage: accept_bench.py [n=2000] [loops=ours,uvloop,rloop,asyncio]   (wall clock, side note)
       accept_bench.py serve LOOP N     (one server; prints its port; returns after N
                                         connections were lost: accept_callgrind.sh)
       accept_bench.py client PORT N    (the client alone)
"""

import asyncio
import socket
import subprocess
import sys
import time

from echo_bench import loop_factory


class Quiet(asyncio.Protocol):
    def connection_lost(self, exc):
        ENDED.counter -= 1
        if ENDED.counter == 0:
            ENDED.set_result(None)


ENDED = None


async def serve(n):
    global ENDED
    loop = asyncio.get_running_loop()
    ENDED = loop.create_future()
    ENDED.counter = n
    server = await loop.create_server(Quiet, "127.0.0.1", 0, backlog=4096)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await ENDED


def client(port, n):
    addr = ("127.0.0.1", port)
    for _ in range(n):
        s = socket.create_connection(addr)
        s.close()


def main(args):
    opts = dict(a.split("=", 1) for a in args)
    n = int(opts.get("n", 2000))
    loops = opts.get("loops", "ours,uvloop,rloop,asyncio").split(",")
    print(f"{n} connections, connect+close one after the other; connections per second")
    for name in loops:
        server = subprocess.Popen([sys.executable, __file__, "serve", name, str(n)],
                                  stdout=subprocess.PIPE, text=True)
        port = int(server.stdout.readline())
        t0 = time.perf_counter()
        client(port, n)
        server.wait()
        print(f"{name:<8} {n / (time.perf_counter() - t0):>9.0f}", flush=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve"]:
        lp = loop_factory(sys.argv[2])()
        asyncio.set_event_loop(lp)
        lp.run_until_complete(serve(int(sys.argv[3])))
    elif sys.argv[1:2] == ["client"]:
        client(int(sys.argv[2]), int(sys.argv[3]))
    else:
        main(sys.argv[1:])
