"""Heap and RSS per idle connection of a CPython asyncio (or uvloop) echo server, in the
scenario of benches/memory/conns.rs: N clients (blocking sockets in a thread) each send one
byte and read it back, then idle; the handlers wait in their next read.

Usage: python3 idle_conns.py asyncio|uvloop N. Prints "heap_per_conn rss_per_conn": heap is
what tracemalloc traces (Python's allocations, the readers' buffers included, and the client
sockets' objects, about 100 bytes each), RSS the growth of resident memory (the client side
included, as it is about 60 bytes per connection in conns.rs's bare baseline).
"""
import asyncio
import resource
import socket
import sys
import threading
import tracemalloc


def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


def clients(port, n, out):
    for _ in range(n):
        c = socket.create_connection(("127.0.0.1", port))
        c.sendall(b"x")
        assert c.recv(1) == b"x"
        out.append(c)


async def echo(reader, writer):
    while data := await reader.read(65536):
        writer.write(data)
        await writer.drain()


async def main(n):
    server = await asyncio.start_server(echo, "127.0.0.1", 0, backlog=4096)
    port = server.sockets[0].getsockname()[1]
    rss0, heap0 = rss(), tracemalloc.get_traced_memory()[0]
    out = []
    t = threading.Thread(target=clients, args=(port, n, out))
    t.start()
    while t.is_alive():
        await asyncio.sleep(0.001)
    await asyncio.sleep(0.05)
    heap = tracemalloc.get_traced_memory()[0] - heap0
    grown = rss() - rss0
    for c in out:
        c.close()
    # The handlers are cancelled at the end of the run; that is no error worth printing.
    asyncio.get_running_loop().set_exception_handler(lambda loop, context: None)
    return heap, grown


if __name__ == "__main__":
    kind, n = sys.argv[1], int(sys.argv[2])
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 2 * n + 64), hard))
    tracemalloc.start()
    if kind == "uvloop":
        import uvloop
        heap, grown = uvloop.run(main(n))
    else:
        heap, grown = asyncio.run(main(n))
    print(f"{heap / n:.0f} {grown / n:.0f}")
