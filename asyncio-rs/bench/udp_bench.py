"""UDP echo on each loop: a DatagramProtocol echo server and a connected client on one loop,
which sends the next datagram when the echo of the last comes back (``--inflight`` at a
time). Loops: asyncio's, asyncio_rs, asyncio_rs with asyncio's own Python datagram
transport over our reader/writer hooks ("asyncio_rs-py": what asyncio_rs did before its
native transport), uvloop and rloop when installed.

    python udp_bench.py                    # wall clock per round trip, best of 3
    python udp_bench.py --one LOOP N       # N round trips on one loop (for udp_callgrind.sh)
"""

import asyncio
import sys
import time
from asyncio import selector_events

import asyncio_rs
from _loops import loops


class _PyDatagramLoop(asyncio_rs.EventLoop):
    """asyncio_rs with asyncio's ``_SelectorDatagramTransport`` (the "before")."""

    def _make_datagram_transport(self, sock, protocol, address=None, waiter=None, extra=None):
        return selector_events._SelectorDatagramTransport(
            self, sock, protocol, address, waiter, extra)


LOOPS = loops(**{"asyncio_rs-py": _PyDatagramLoop})

SIZE = 64


class Echo(asyncio.DatagramProtocol):
    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        self.transport.sendto(data, addr)


def echo(loop, n, inflight=1):
    async def main():
        server, _ = await loop.create_datagram_endpoint(Echo, local_addr=("127.0.0.1", 0))
        done = loop.create_future()

        class Client(asyncio.DatagramProtocol):
            left = n

            def connection_made(self, transport):
                self.transport = transport

            def datagram_received(self, data, addr):
                self.left -= 1
                if self.left >= inflight:
                    self.transport.sendto(data)
                elif self.left <= 0 and not done.done():
                    done.set_result(None)

        client, _ = await loop.create_datagram_endpoint(
            Client, remote_addr=server.get_extra_info("sockname"))
        payload = b"x" * SIZE
        for _ in range(inflight):
            client.sendto(payload)
        await done
        client.close()
        server.close()

    loop.run_until_complete(main())


def one(name, n):
    loop = LOOPS[name]()
    try:
        echo(loop, n)
    finally:
        loop.close()


def main():
    n = 20000
    print(f"UDP echo, {SIZE} B, one in flight: ns per round trip (best of 3)")
    best = {}
    for _ in range(3):
        for name, factory in LOOPS.items():
            loop = factory()
            try:
                t = time.perf_counter()
                echo(loop, n)
                best[name] = min(best.get(name, float("inf")), time.perf_counter() - t)
            except Exception as e:  # a loop without UDP support, say
                print(f"{name}: {type(e).__name__}: {e}")
                best[name] = float("nan")
            finally:
                loop.close()
    ours = best["asyncio_rs"]
    for name, secs in best.items():
        print(f"{name:>14} {secs / n * 1e9:10.0f}   {secs / ours:.2f}x asyncio_rs")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--one"]:
        one(sys.argv[2], int(sys.argv[3]))
    else:
        main()
