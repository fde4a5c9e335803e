"""TCP echo on 127.0.0.1: asyncio_rs against uvloop, rloop and CPython's own loop, in one run.

Two servers, each on every loop: the seed's streams echo server (``start_server``, a pure
Python handler reading up to 64 KiB, as benches/echo/echo_server.py) and a Protocol echo
server (``data_received`` writes the data back). One fixed load client (echo_client.c, plain
blocking sockets, a thread per connection, C) pinned to core 0; the server pinned to core 1.
Each row: the client's request rate and the server's CPU time per request (its threads'
/proc/PID/task/*/schedstat over the measured window), loops interleaved, the median of REPS.

Usage: echo_bench.py [secs=2] [reps=3] [conns=64] [sizes=64,16384] [loops=ours,uvloop,rloop,asyncio]
       echo_bench.py serve LOOP KIND [CONNS]   (one server; prints its port; with CONNS,
                                                 returns after that many connections ended)
"""

import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


ENDED = None  # a future done once the expected connections ended


def _ended():
    ENDED.counter -= 1
    if ENDED.counter == 0:
        ENDED.set_result(None)


class Echo(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.transport.write(data)

    def connection_lost(self, exc):
        if ENDED is not None:
            _ended()


async def handle_echo(reader, writer):
    while data := await reader.read(65536):
        writer.write(data)
        await writer.drain()
    writer.close()
    if ENDED is not None:
        _ended()


async def serve(kind, conns=None):
    global ENDED
    loop = asyncio.get_running_loop()
    if conns:
        ENDED = loop.create_future()
        ENDED.counter = conns
    if kind == "streams":
        server = await asyncio.start_server(handle_echo, "127.0.0.1", 0, backlog=1024)
    else:
        server = await loop.create_server(Echo, "127.0.0.1", 0, backlog=1024)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        if conns:
            await ENDED
        else:
            await server.serve_forever()


def loop_factory(name):
    if name == "ours":
        import asyncio_rs
        return asyncio_rs.new_event_loop
    if name == "uvloop":
        import uvloop
        return uvloop.new_event_loop
    if name == "rloop":
        import rloop
        return rloop.new_event_loop
    return asyncio.new_event_loop


def serve_main(name, kind, conns=None):
    loop = loop_factory(name)()
    asyncio.set_event_loop(loop)
    loop.run_until_complete(serve(kind, conns))


def cpu_ns(pid):
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        except OSError:
            pass
    return total


def pinned(core, argv):
    return (["taskset", "-c", core] if shutil.which("taskset") else []) + argv


def measured(client, name, kind, conns, size, secs, sample):
    """(requests, seconds, sample(server pid) at the window's start and at its end) of one
    server under the client, or None when the server failed."""
    server = subprocess.Popen(pinned("1", [sys.executable, __file__, "serve", name, kind]),
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        port = server.stdout.readline().strip()
        if not port:
            return None
        cl = subprocess.Popen(pinned("0", [client, port, str(conns), str(size), str(secs)]),
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            if cl.stdout.readline().strip() != "start":
                return None
            before = sample(server.pid)
            line = cl.stdout.readline().split()
            after = sample(server.pid)
            if not line or line[0] != "done":
                return None
            return int(line[1]), float(line[2]), before, after
        finally:
            cl.kill()
            cl.wait()
    finally:
        server.kill()
        server.wait()


def one(client, name, kind, conns, size, secs):
    """(requests per second, server CPU µs per request), or None when the server failed."""
    got = measured(client, name, kind, conns, size, secs, cpu_ns)
    if got is None:
        return None
    ops, elapsed, c0, c1 = got
    return ops / elapsed, (c1 - c0) / 1e3 / max(ops, 1)


def build_client():
    """The load client, compiled from echo_client.c; its path."""
    client = os.path.join(os.environ.get("TMPDIR", "/tmp"), "asyncio-rs-echo-client")
    subprocess.run(["cc", "-O2", "-pthread", "-o", client, os.path.join(HERE, "echo_client.c")],
                   check=True)
    return client


def main(args):
    opts = dict(a.split("=", 1) for a in args)
    secs = float(opts.get("secs", 2))
    reps = int(opts.get("reps", 3))
    conns = int(opts.get("conns", 64))
    sizes = [int(s) for s in opts.get("sizes", "64,16384").split(",")]
    loops = opts.get("loops", "ours,uvloop,rloop,asyncio").split(",")
    client = build_client()
    print(f"{conns} connections, {secs} s windows, median of {reps}; "
          "server CPU per request (lower is better) and the ratio of each loop's to ours")
    print(f"{'server':<9} {'size':>6} {'loop':<8} {'req/s':>9} {'CPU µs/req':>11} {'× ours':>7}")
    for kind in ("streams", "protocol"):
        for size in sizes:
            results = {name: [] for name in loops}
            for _ in range(reps):
                for name in loops:  # interleaved
                    r = one(client, name, kind, conns, size, secs)
                    if r is not None:
                        results[name].append(r)
            ours = results.get("ours")
            base = statistics.median(c for _, c in ours) if ours else None
            for name in loops:
                got = results[name]
                if not got:
                    print(f"{kind:<9} {size:>6} {name:<8} {'failed':>9}")
                    continue
                rate = statistics.median(r for r, _ in got)
                cpu = statistics.median(c for _, c in got)
                ratio = f"{cpu / base:.2f}" if base else "-"
                print(f"{kind:<9} {size:>6} {name:<8} {rate:>9.0f} {cpu:>11.2f} {ratio:>7}",
                      flush=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve"]:
        serve_main(sys.argv[2], sys.argv[3], *map(int, sys.argv[4:5]))
    else:
        main(sys.argv[1:])
