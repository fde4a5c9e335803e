"""asyncio_rs's servers: the native accept loop (bursts, closing, out of file descriptors, a
protocol factory that raises, no leaks) and TLS over the native transport, against
CPython's own loop in the other role."""

import asyncio
import os
import socket
import ssl
import subprocess
import sys
import textwrap
import threading
import unittest

import asyncio_rs
import test as _cpython_tests
from asyncio_rs._transport import _SocketTransport

from _support import LoopTestCase, assert_no_leaks


def _cert(name):
    here = os.path.dirname(_cpython_tests.__file__)
    for path in (os.path.join(here, "certdata", name), os.path.join(here, name)):
        if os.path.exists(path):
            return path
    raise unittest.SkipTest(f"CPython's test certificate {name} is not installed")


class Counting(asyncio.Protocol):
    made = 0
    lost = 0

    def connection_made(self, transport):
        type(self).made += 1
        self.transport = transport

    def data_received(self, data):
        self.transport.write(data)

    def connection_lost(self, exc):
        type(self).lost += 1


class ServerTestCase(LoopTestCase):
    def tearDown(self):
        # The server ends of the connections see their clients' end of file, and close.
        self.until(lambda: not any(isinstance(t, _SocketTransport) and not t.is_closing()
                                   for t in self.loop._transports.values()))
        self.until(lambda: all(t._core._state()[0] for t in self.loop._transports.values()
                               if isinstance(t, _SocketTransport)))
        super().tearDown()


class Accept(ServerTestCase):
    def test_a_burst_beyond_the_backlog_is_accepted_at_most_backlog_per_readiness(self):
        class P(Counting):
            made = 0
        listener = socket.create_server(("127.0.0.1", 0), backlog=64)
        clients = [socket.create_connection(listener.getsockname()) for _ in range(40)]
        for c in clients:
            self.addCleanup(c.close)
        server = self.loop.run_until_complete(
            self.loop.create_server(P, sock=listener, backlog=4))
        def accepted():
            return [t for t in self.loop._transports.values()
                    if isinstance(t, _SocketTransport)]
        counts = [len(accepted())]
        while counts[-1] < 40:
            self.loop.call_soon(self.loop.stop)
            self.loop.run_forever()  # one turn: one readiness of the listening socket
            counts.append(len(accepted()))
            self.assertLess(len(counts), 100)
        steps = [b - a for a, b in zip(counts, counts[1:])]
        self.assertLessEqual(max(steps), 4, steps)
        self.assertGreater(len(steps), 5, steps)
        self.until(lambda: P.made == 40)
        for c in clients:
            c.sendall(b"x")
            c.setblocking(False)

        async def echoed():
            return await asyncio.gather(*(self.loop.sock_recv(c, 1) for c in clients))
        self.assertEqual(self.loop.run_until_complete(echoed()), [b"x"] * 40)
        for c in clients:
            c.close()
        server.close()
        self.loop.run_until_complete(server.wait_closed())
        self.until(lambda: P.lost == 40)
        self.assertEqual(self.errors, [])

    def test_close_stops_accepting_and_accepted_connections_keep_working(self):
        async def main():
            server = await asyncio.start_server(echo, "127.0.0.1", 0)
            fd = server.sockets[0].fileno()
            self.assertEqual(self.loop._selector.get_key(fd).events, 1)
            addr = server.sockets[0].getsockname()
            r, w = await asyncio.open_connection(*addr)
            w.write(b"one")
            self.assertEqual(await r.readexactly(3), b"one")
            server.close()
            with self.assertRaises(KeyError):
                self.loop._selector.get_key(fd)
            with self.assertRaises(OSError):
                await asyncio.open_connection(*addr)
            w.write(b"two")
            self.assertEqual(await r.readexactly(3), b"two")
            w.close()
            await w.wait_closed()
            await server.wait_closed()

        async def echo(r, w):
            while data := await r.read(100):
                w.write(data)
            w.close()

        self.loop.run_until_complete(main())
        self.assertEqual(self.errors, [])

    def test_start_serving_false_accepts_only_once_started(self):
        async def main():
            server = await self.loop.create_server(Counting, "127.0.0.1", 0,
                                                   start_serving=False)
            self.assertFalse(server.is_serving())
            fd = server.sockets[0].fileno()
            with self.assertRaises(KeyError):
                self.loop._selector.get_key(fd)
            made = Counting.made
            await server.start_serving()
            self.assertTrue(server.is_serving())
            self.assertEqual(self.loop._selector.get_key(fd).events, 1)
            client = socket.create_connection(server.sockets[0].getsockname())
            while Counting.made == made:
                await asyncio.sleep(0.001)
            client.sendall(b"ok")
            client.setblocking(False)
            self.assertEqual(await self.loop.sock_recv(client, 2), b"ok")
            client.close()
            server.close()
            await server.wait_closed()

        self.loop.run_until_complete(main())

    def test_a_raising_protocol_factory_goes_to_the_handler_and_closes_that_connection(self):
        calls = []

        def factory():
            calls.append(1)
            if len(calls) == 1:
                raise ZeroDivisionError("no protocol")
            return Counting()

        async def main():
            server = await self.loop.create_server(factory, "127.0.0.1", 0)
            addr = server.sockets[0].getsockname()
            r, w = await asyncio.open_connection(*addr)
            self.assertEqual(await r.read(), b"", "the connection is closed")
            w.close()
            r, w = await asyncio.open_connection(*addr)
            w.write(b"echo")
            self.assertEqual(await r.readexactly(4), b"echo", "the server goes on")
            w.close()
            server.close()
            await server.wait_closed()

        self.loop.run_until_complete(main())
        self.assertEqual(len(self.errors), 1)
        self.assertEqual(self.errors[0]["message"],
                         "Error on transport creation for incoming connection")
        self.assertIsInstance(self.errors[0]["exception"], ZeroDivisionError)

    def test_a_factory_that_closes_the_server_ends_accepting_not_the_batch(self):
        made = []
        server = None

        def factory():
            made.append(1)
            if len(made) == 1:
                server.close()  # a one-shot server
            return Counting()

        async def main():
            nonlocal server
            server = await self.loop.create_server(factory, "127.0.0.1", 0)
            addr = server.sockets[0].getsockname()
            clients = [socket.create_connection(addr) for _ in range(3)]
            # The three were queued before the listener became readable: asyncio accepts the
            # whole batch, then makes their protocols.
            await asyncio.sleep(0.05)
            for c in clients:
                c.close()
            await server.wait_closed()

        self.loop.run_until_complete(main())
        self.assertEqual(len(made), 3)
        # No accept on the closed listener (EBADF), only the closed server's refusals.
        self.assertFalse([e for e in self.errors if isinstance(e.get("exception"), OSError)])

    def test_addresses_nodelay_and_unix_servers(self):
        async def main(path):
            got = self.loop.create_future()

            class P(asyncio.Protocol):
                def connection_made(self, transport):
                    sock = transport.get_extra_info("socket")
                    nodelay = (sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
                               if sock.family == socket.AF_INET else None)
                    got.set_result((transport.get_extra_info("peername"),
                                    transport.get_extra_info("sockname"), nodelay,
                                    sock.gettimeout()))
                    transport.close()

            server = await self.loop.create_server(P, "127.0.0.1", 0)
            client = socket.create_connection(server.sockets[0].getsockname())
            self.assertEqual(await got, (client.getsockname(), client.getpeername(), 1, 0.0))
            client.close()
            server.close()
            got = self.loop.create_future()
            server = await self.loop.create_unix_server(P, path)
            client = socket.socket(socket.AF_UNIX)
            client.connect(path)
            self.assertEqual(await got, ("", path, None, 0.0))
            client.close()
            server.close()
            await server.wait_closed()

        import tempfile
        with tempfile.TemporaryDirectory() as d:
            self.loop.run_until_complete(main(os.path.join(d, "s")))
        self.assertEqual(self.errors, [])


_EMFILE = textwrap.dedent("""
    import asyncio, errno, os, resource, socket, asyncio_rs
    asyncio.constants.ACCEPT_RETRY_DELAY = 0.05
    loop = asyncio_rs.new_event_loop()
    errors, made = [], []
    loop.set_exception_handler(lambda loop, ctx: errors.append(ctx))
    class P(asyncio.Protocol):
        def connection_made(self, tr):
            made.append(tr)
    server = loop.run_until_complete(loop.create_server(P, "127.0.0.1", 0))
    fd = server.sockets[0].fileno()
    client = socket.socket()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    lowest_free = os.dup(0); os.close(lowest_free)
    resource.setrlimit(resource.RLIMIT_NOFILE, (lowest_free, hard))
    client.connect(server.sockets[0].getsockname())
    loop.run_until_complete(asyncio.sleep(0.01))
    assert not made, made
    assert len(errors) == 1, errors
    assert errors[0]["message"] == "socket.accept() out of system resource", errors
    assert errors[0]["exception"].errno == errno.EMFILE, errors
    try:
        loop._selector.get_key(fd)
        raise AssertionError("the listening socket is still watched")
    except KeyError:
        pass
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    loop.run_until_complete(asyncio.sleep(0.2))
    assert len(made) == 1 and len(errors) == 1, (made, errors)
    assert loop._selector.get_key(fd).events == 1
    made[0].close(); client.close(); server.close()
    loop.run_until_complete(server.wait_closed())
    loop.close()
    print("ok")
""")


class OutOfFiles(unittest.TestCase):
    def test_emfile_is_reported_then_accepting_pauses_and_resumes(self):
        out = subprocess.run([sys.executable, "-c", _EMFILE], capture_output=True, text=True,
                             timeout=60)
        self.assertEqual(out.stdout.strip(), "ok", out.stderr)


def _contexts():
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(_cert("keycert.pem"))
    client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client.check_hostname = False
    client.verify_mode = ssl.CERT_NONE
    return server, client


async def _tls_echo_server(server_ctx):
    async def echo(r, w):
        while data := await r.read(65536):
            w.write(data)
            await w.drain()
        w.close()
    return await asyncio.start_server(echo, "127.0.0.1", 0, ssl=server_ctx)


async def _tls_client(port, client_ctx, payloads):
    r, w = await asyncio.open_connection("127.0.0.1", port, ssl=client_ctx)
    got = []
    for p in payloads:
        w.write(p)
        got.append(await r.readexactly(len(p)))
    raw = w.transport._ssl_protocol._transport
    w.close()
    await w.wait_closed()
    return got, type(raw)


class _OtherLoop:
    """CPython's own loop, in a thread."""

    def __enter__(self):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever)
        self.thread.start()
        return self

    def run(self, coro, timeout=10):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def __exit__(self, *exc):
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()
        self.loop.close()


PAYLOADS = [b"hello", b"x" * 100_000, b"bye"]


class TLS(ServerTestCase):
    def test_tls_echo_on_our_loop_both_ends_over_native_transports(self):
        server_ctx, client_ctx = _contexts()

        async def main():
            server = await _tls_echo_server(server_ctx)
            got, raw = await _tls_client(server.sockets[0].getsockname()[1], client_ctx,
                                         PAYLOADS)
            server.close()
            await server.wait_closed()
            return got, raw

        got, raw = self.loop.run_until_complete(main())
        self.assertEqual(got, PAYLOADS)
        self.assertIs(raw, _SocketTransport)
        self.assertEqual(self.errors, [])

    def test_our_tls_server_with_cpythons_client(self):
        server_ctx, client_ctx = _contexts()
        server = self.loop.run_until_complete(_tls_echo_server(server_ctx))
        port = server.sockets[0].getsockname()[1]
        with _OtherLoop() as other:
            fut = asyncio.run_coroutine_threadsafe(
                _tls_client(port, client_ctx, PAYLOADS), other.loop)
            self.until(fut.done)
            got, _ = fut.result()
        self.assertEqual(got, PAYLOADS)
        server.close()
        self.loop.run_until_complete(server.wait_closed())
        self.assertEqual(self.errors, [])

    def test_our_tls_client_with_cpythons_server(self):
        server_ctx, client_ctx = _contexts()
        with _OtherLoop() as other:
            server = other.run(_tls_echo_server(server_ctx))
            port = server.sockets[0].getsockname()[1]
            got, raw = self.loop.run_until_complete(_tls_client(port, client_ctx, PAYLOADS))
            other.loop.call_soon_threadsafe(server.close)
        self.assertEqual(got, PAYLOADS)
        self.assertIs(raw, _SocketTransport)
        self.assertEqual(self.errors, [])


class StreamsFastPath(ServerTestCase):
    def serve(self, handler, **kwargs):
        server = self.loop.run_until_complete(
            asyncio.start_server(handler, "127.0.0.1", 0, **kwargs))
        self.servers.append(server)
        return server.sockets[0].getsockname()

    def setUp(self):
        super().setUp()
        self.servers = []

    def tearDown(self):
        for server in self.servers:
            server.close()
            self.loop.run_until_complete(server.wait_closed())
        super().tearDown()

    def test_the_transport_feeds_asyncios_stream_reader_itself(self):
        got = []

        async def handler(r, w):
            got.append(await r.readexactly(5))
            got.append(await r.readuntil(b"!"))
            got.append(await r.read())
            w.close()

        addr = self.serve(handler)
        calls = []

        def profile(frame, event, arg):
            if event == "call" and frame.f_code.co_name in ("data_received", "feed_data"):
                calls.append(frame.f_code.co_name)

        async def client():
            r, w = await asyncio.open_connection(*addr)
            for part in (b"he", b"llo wor", b"ld!", b"rest"):
                w.write(part)
                await asyncio.sleep(0.01)
            w.write_eof()
            await r.read()
            w.close()

        sys.setprofile(profile)
        try:
            self.loop.run_until_complete(client())
        finally:
            sys.setprofile(None)
        self.assertEqual(got, [b"hello", b" world!", b"rest"])
        self.assertEqual(calls, [], "asyncio's own protocol is fed natively")

    def test_a_cancelled_waiter_is_left_alone(self):
        state = {}

        async def handler(r, w):
            waiter = self.loop.create_future()
            waiter.cancel()
            r._waiter = waiter  # as when data comes in the turn its read() was cancelled
            state["ready"] = True
            while not r._buffer:
                await asyncio.sleep(0.001)
            state["data"] = await r.read(10)
            state["waiter"] = r._waiter
            w.close()

        addr = self.serve(handler)
        with socket.create_connection(addr) as c:
            self.until(lambda: "ready" in state)
            c.sendall(b"late")
            self.until(lambda: "data" in state)
        self.assertEqual(state, {"ready": True, "data": b"late", "waiter": None})
        self.assertEqual(self.errors, [])

    def test_a_replaced_data_received_is_called(self):
        calls = []
        original = asyncio.StreamReaderProtocol.data_received

        def counting(self, data):
            calls.append(data)
            return original(self, data)

        async def handler(r, w):
            calls.append(await r.readexactly(2))
            w.close()

        asyncio.StreamReaderProtocol.data_received = counting
        try:
            addr = self.serve(handler)
            with socket.create_connection(addr) as c:
                c.sendall(b"ok")
                self.until(lambda: len(calls) == 2)
        finally:
            asyncio.StreamReaderProtocol.data_received = original
        self.assertEqual(calls, [b"ok", b"ok"])

    def test_a_full_buffer_pauses_reading_and_reading_it_resumes(self):
        state = {}

        async def handler(r, w):
            while len(r._buffer) <= 2 * r._limit:
                await asyncio.sleep(0.001)
            state["paused"] = not w.transport.is_reading()
            state["data"] = await r.readexactly(3000)
            state["resumed"] = w.transport.is_reading()
            w.close()

        addr = self.serve(handler, limit=1000)
        with socket.create_connection(addr) as c:
            c.sendall(b"x" * 3000)
            self.until(lambda: "resumed" in state)
        self.assertEqual(state, {"paused": True, "data": b"x" * 3000, "resumed": True})

    def test_a_subclass_of_the_protocol_gets_its_data_received(self):
        seen = []

        class Mine(asyncio.StreamReaderProtocol):
            def data_received(self, data):
                seen.append(data)
                super().data_received(data)

        async def main():
            reader = asyncio.StreamReader()
            server = await self.loop.create_server(lambda: Mine(reader), "127.0.0.1", 0)
            c = socket.create_connection(server.sockets[0].getsockname())
            c.sendall(b"abc")
            self.assertEqual(await reader.readexactly(3), b"abc")
            c.close()
            await reader.read()
            for t in list(self.loop._transports.values()):
                t.close()
            server.close()
            await server.wait_closed()

        self.loop.run_until_complete(main())
        self.assertEqual(b"".join(seen), b"abc")


class NoLeaks(unittest.TestCase):
    def test_accepted_connections_leave_no_objects_behind(self):
        loop = asyncio_rs.new_event_loop()

        async def connect_many(n):
            class P(Counting):
                lost = 0
            server = await loop.create_server(P, "127.0.0.1", 0)
            addr = server.sockets[0].getsockname()
            for _ in range(n):
                c = socket.create_connection(addr)
                c.setblocking(False)
                await loop.sock_sendall(c, b"ping")
                self.assertEqual(await loop.sock_recv(c, 4), b"ping")
                c.close()
            while P.lost < n:
                await asyncio.sleep(0.001)
            server.close()
            await server.wait_closed()

        assert_no_leaks(self, loop, connect_many, 20, 300)


if __name__ == "__main__":
    unittest.main()
