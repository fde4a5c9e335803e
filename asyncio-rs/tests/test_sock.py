"""asyncio_rs's native sock_* methods: each call's result, waiting on the reactor, a reader
and a writer on one socket, cancellation, CPython's errors, and no leaks."""

import asyncio
import errno
import gc
import inspect
import os
import socket
import ssl
import struct
import tempfile
import tracemalloc
import unittest
from asyncio import selector_events

import asyncio_rs


class SockTestCase(unittest.TestCase):
    def setUp(self):
        self.loop = asyncio_rs.new_event_loop()
        self.errors = []
        self.loop.set_exception_handler(lambda loop, ctx: self.errors.append(ctx))
        self.socks = []

    def tearDown(self):
        self.loop.close()
        for s in self.socks:
            s.close()
        self.assertEqual(self.errors, [])

    def pair(self, family=socket.AF_UNIX, type=socket.SOCK_STREAM):
        a, b = socket.socketpair(family, type)
        for s in (a, b):
            s.setblocking(False)
            self.socks.append(s)
        return a, b

    def tcp_listener(self):
        srv = socket.socket()
        self.socks.append(srv)
        srv.bind(("127.0.0.1", 0))
        srv.listen()
        srv.setblocking(False)
        return srv

    def wait(self, coro):
        return self.loop.run_until_complete(coro)

    def turn(self, n=1):
        for _ in range(n):
            self.wait(asyncio.sleep(0))


class Methods(SockTestCase):
    def test_the_methods_are_the_native_ones(self):
        for name in ("sock_recv", "sock_recv_into", "sock_recvfrom", "sock_recvfrom_into",
                     "sock_sendall", "sock_sendto", "sock_connect", "sock_accept"):
            ours = getattr(asyncio_rs.EventLoop, name)
            self.assertIsNot(ours, getattr(selector_events.BaseSelectorEventLoop, name), name)
            self.assertTrue(inspect.iscoroutinefunction(ours), name)

    def test_recv_at_once_and_after_waiting(self):
        a, b = self.pair()
        b.send(b"ready")
        self.assertEqual(self.wait(self.loop.sock_recv(a, 100)), b"ready")

        async def later():
            await asyncio.sleep(0.01)
            b.send(b"later")

        self.loop.create_task(later())
        self.assertEqual(self.wait(self.loop.sock_recv(a, 100)), b"later")
        self.assertEqual(self.loop._watch_mask(a.fileno()), 0)

    def test_recv_into_and_recvfrom_into_fill_the_buffer(self):
        a, b = self.pair(type=socket.SOCK_DGRAM)
        buf = bytearray(8)
        self.loop.call_later(0.01, b.send, b"abc")
        self.assertEqual(self.wait(self.loop.sock_recv_into(a, buf)), 3)
        self.assertEqual(buf[:3], b"abc")
        self.loop.call_later(0.01, b.send, b"0123456789")
        n, _addr = self.wait(self.loop.sock_recvfrom_into(a, buf, 4))
        self.assertEqual((n, bytes(buf[:4])), (4, b"0123"))
        view = memoryview(bytearray(5))
        self.loop.call_later(0.01, b.send, b"xyz")
        n, _addr = self.wait(self.loop.sock_recvfrom_into(a, view))
        self.assertEqual((n, view[:3].tobytes()), (3, b"xyz"))

    def test_udp_recvfrom_and_sendto(self):
        rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for s in (rx, tx):
            s.setblocking(False)
            self.socks.append(s)
        rx.bind(("127.0.0.1", 0))
        tx.bind(("127.0.0.1", 0))

        async def main():
            got = self.loop.create_task(self.loop.sock_recvfrom(rx, 100))
            await asyncio.sleep(0)
            self.assertFalse(got.done())
            self.assertEqual(await self.loop.sock_sendto(tx, b"ping", rx.getsockname()), 4)
            return await got

        self.assertEqual(self.wait(main()), (b"ping", tx.getsockname()))

    def test_sendall_sends_everything_across_partial_sends(self):
        a, b = self.pair()
        a.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        data = bytes(range(256)) * 4096  # 1 MiB: many partial sends

        async def reader():
            got = bytearray()
            while len(got) < len(data):
                got += await self.loop.sock_recv(b, 65536)
            return bytes(got)

        async def main():
            r = self.loop.create_task(reader())
            await self.loop.sock_sendall(a, memoryview(data))
            return await r

        self.assertEqual(self.wait(main()), data)
        self.assertIsNone(self.wait(self.loop.sock_sendall(a, b"")))

    def test_tcp_accept_and_connect(self):
        srv = self.tcp_listener()
        cli = socket.socket()
        cli.setblocking(False)
        self.socks.append(cli)

        async def main():
            accepted = self.loop.create_task(self.loop.sock_accept(srv))
            await asyncio.sleep(0)
            self.assertFalse(accepted.done())
            await self.loop.sock_connect(cli, ("localhost", srv.getsockname()[1]))
            conn, addr = await accepted
            self.socks.append(conn)
            self.assertEqual(addr, cli.getsockname())
            self.assertEqual(conn.gettimeout(), 0)  # made non-blocking, as asyncio does
            await self.loop.sock_sendall(cli, b"hi")
            return await self.loop.sock_recv(conn, 10)

        self.assertEqual(self.wait(main()), b"hi")

    def test_unix_connect_and_accept(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "s")
            srv = socket.socket(socket.AF_UNIX)
            self.socks.append(srv)
            srv.bind(path)
            srv.listen()
            srv.setblocking(False)
            cli = socket.socket(socket.AF_UNIX)
            cli.setblocking(False)
            self.socks.append(cli)

            async def main():
                await self.loop.sock_connect(cli, path)
                conn, _ = await self.loop.sock_accept(srv)
                self.socks.append(conn)
                await self.loop.sock_sendall(conn, b"unix")
                return await self.loop.sock_recv(cli, 10)

            self.assertEqual(self.wait(main()), b"unix")

    def test_a_socket_class_overriding_its_methods_has_them_called(self):
        calls = []

        class Traced(socket.socket):
            def recv(self, n):
                calls.append(("recv", n))
                return super().recv(n)

            def send(self, data):
                calls.append(("send", len(data)))
                return super().send(data)

        a0, b = self.pair()
        a = Traced(fileno=a0.detach())
        self.socks.append(a)
        a.setblocking(False)
        self.loop.call_later(0.01, b.send, b"in")
        self.assertEqual(self.wait(self.loop.sock_recv(a, 5)), b"in")
        self.wait(self.loop.sock_sendall(a, b"out"))
        self.assertEqual(b.recv(5), b"out")
        # asyncio's order: a try, then one more when the socket is readable.
        self.assertEqual(calls, [("recv", 5), ("recv", 5), ("send", 3)])

    def test_sock_sendfile_still_works(self):
        a, b = self.pair()
        data = os.urandom(300_000)
        with tempfile.TemporaryFile() as f:
            f.write(data)
            f.flush()
            f.seek(0)

            async def reader():
                got = bytearray()
                while len(got) < len(data):
                    got += await self.loop.sock_recv(b, 65536)
                return bytes(got)

            async def main():
                r = self.loop.create_task(reader())
                sent = await self.loop.sock_sendfile(a, f)
                return sent, await r

            self.assertEqual(self.wait(main()), (len(data), data))


class OneSocketBothWays(SockTestCase):
    def test_recv_and_sendall_wait_on_one_socket_at_once(self):
        a, b = self.pair()
        a.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        data = b"x" * 500_000

        async def main():
            recv = self.loop.create_task(self.loop.sock_recv(a, 100))
            send = self.loop.create_task(self.loop.sock_sendall(a, data))
            await asyncio.sleep(0.01)
            self.assertFalse(recv.done() or send.done())
            self.assertEqual(self.loop._watch_mask(a.fileno()), 3)
            b.send(b"reply")
            self.assertEqual(await recv, b"reply")
            self.assertFalse(send.done())  # the writer stayed
            got = 0
            while got < len(data):
                got += len(await self.loop.sock_recv(b, 65536))
            await send

        self.wait(main())
        self.assertEqual(self.loop._watch_mask(a.fileno()), 0)

    def test_recv_beside_an_add_writer_callback(self):
        a, b = self.pair()
        writable = []

        async def main():
            self.loop.add_writer(a.fileno(), writable.append, 1)
            recv = self.loop.create_task(self.loop.sock_recv(a, 100))
            await asyncio.sleep(0.01)
            self.assertTrue(writable)
            b.send(b"data")
            self.assertEqual(await recv, b"data")
            self.assertTrue(self.loop.remove_writer(a.fileno()))

        self.wait(main())

    def scenario_second_recv(self, loop):
        """A second sock_recv on a socket while one waits, as asyncio 3.11-3.13 do it: the
        second replaces the first's reader; the first stays pending, and cancelling it
        leaves the second's reader alone."""
        a, b = socket.socketpair()
        for s in (a, b):
            s.setblocking(False)

        async def main():
            first = loop.create_task(loop.sock_recv(a, 100))
            await asyncio.sleep(0)
            second = loop.create_task(loop.sock_recv(a, 100))
            await asyncio.sleep(0)
            b.send(b"one")
            got = await second
            await asyncio.sleep(0.01)
            first_done = first.done()
            third = loop.create_task(loop.sock_recv(a, 100))
            await asyncio.sleep(0)
            first.cancel()
            await asyncio.sleep(0)
            b.send(b"two")
            return got, first_done, first.cancelled(), await third

        try:
            return loop.run_until_complete(main())
        finally:
            a.close()
            b.close()

    def scenario_add_reader_over_recv(self, loop):
        """add_reader on a socket whose sock_recv waits: the callback replaces the call's
        reader (the call stays pending); after remove_reader, cancelling the call is quiet."""
        a, b = socket.socketpair()
        for s in (a, b):
            s.setblocking(False)
        seen = []

        async def main():
            recv = loop.create_task(loop.sock_recv(a, 100))
            await asyncio.sleep(0)
            loop.add_reader(a.fileno(), lambda: seen.append(a.recv(100)))
            b.send(b"to the callback")
            for _ in range(10):
                await asyncio.sleep(0.001)
            removed = loop.remove_reader(a.fileno())
            pending = not recv.done()
            recv.cancel()
            await asyncio.sleep(0)
            return seen, removed, pending, recv.cancelled(), loop.remove_reader(a.fileno())

        try:
            return loop.run_until_complete(main())
        finally:
            a.close()
            b.close()

    def test_add_reader_replaces_a_waiting_recv_as_in_asyncio(self):
        cpython = asyncio.SelectorEventLoop()
        try:
            want = self.scenario_add_reader_over_recv(cpython)
        finally:
            cpython.close()
        self.assertEqual(want, ([b"to the callback"], True, True, True, False))
        self.assertEqual(self.scenario_add_reader_over_recv(self.loop), want)

    def test_a_second_recv_replaces_the_first_as_in_asyncio(self):
        cpython = asyncio.SelectorEventLoop()
        try:
            want = self.scenario_second_recv(cpython)
        finally:
            cpython.close()
        self.assertEqual(want, (b"one", False, True, b"two"))
        self.assertEqual(self.scenario_second_recv(self.loop), want)


class Cancellation(SockTestCase):
    def test_cancelling_a_waiting_call_removes_the_watch(self):
        a, b = self.pair()
        for method, args, sock in (
            (self.loop.sock_recv, (a, 10), a),
            (self.loop.sock_accept, (self.tcp_listener(),), None),
        ):
            sock = sock or args[0]

            async def main():
                t = self.loop.create_task(method(*args))
                await asyncio.sleep(0)
                self.assertEqual(self.loop._watch_mask(sock.fileno()), 1)
                t.cancel()
                with self.assertRaises(asyncio.CancelledError):
                    await t
                await asyncio.sleep(0)
                return self.loop._watch_mask(sock.fileno())

            self.assertEqual(self.wait(main()), 0)
        # Nothing was read by the cancelled call.
        b.send(b"kept")
        self.assertEqual(a.recv(10), b"kept")

    def test_cancelling_sendall_removes_the_writer(self):
        a, b = self.pair()
        a.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)

        async def main():
            t = self.loop.create_task(self.loop.sock_sendall(a, b"x" * 1_000_000))
            await asyncio.sleep(0.01)
            self.assertEqual(self.loop._watch_mask(a.fileno()), 2)
            t.cancel()
            await asyncio.sleep(0)
            await asyncio.sleep(0)
            return self.loop._watch_mask(a.fileno())

        self.assertEqual(self.wait(main()), 0)

    def test_closing_the_loop_with_a_waiting_call_leaves_it_pending(self):
        a, _b = self.pair()
        t = self.loop.create_task(self.loop.sock_recv(a, 10))
        self.turn()
        self.assertFalse(t.done())
        t.cancel()
        self.turn()
        loop2 = asyncio_rs.new_event_loop()
        destroyed = []
        loop2.set_exception_handler(lambda loop, ctx: destroyed.append(ctx["message"]))
        fut = None

        async def start():
            nonlocal fut
            fut = asyncio.ensure_future(loop2.sock_recv(a, 10))
            await asyncio.sleep(0)

        loop2.run_until_complete(start())
        loop2.close()
        self.assertFalse(fut.done())
        del fut
        gc.collect()
        self.assertEqual(destroyed, ["Task was destroyed but it is pending!"])


class Errors(SockTestCase):
    def test_a_closed_socket_is_oserror_ebadf(self):
        a, _b = self.pair()
        a.close()
        with self.assertRaises(OSError) as cm:
            self.wait(self.loop.sock_recv(a, 10))
        self.assertEqual(cm.exception.errno, errno.EBADF)
        with self.assertRaises(OSError):
            self.wait(self.loop.sock_sendall(a, b"x"))

    def test_a_blocking_socket_in_debug_mode_is_valueerror(self):
        a, b = self.pair()
        b.setblocking(True)
        self.loop.set_debug(True)
        for call in (
            lambda: self.loop.sock_recv(b, 1),
            lambda: self.loop.sock_recv_into(b, bytearray(1)),
            lambda: self.loop.sock_recvfrom(b, 1),
            lambda: self.loop.sock_recvfrom_into(b, bytearray(1)),
            lambda: self.loop.sock_sendall(b, b"x"),
            lambda: self.loop.sock_sendto(b, b"x", None),
            lambda: self.loop.sock_connect(b, "x"),
            lambda: self.loop.sock_accept(b),
        ):
            with self.assertRaisesRegex(ValueError, "the socket must be non-blocking"):
                self.wait(call())
        self.loop.set_debug(False)
        self.assertEqual(self.wait(self.loop.sock_sendall(b, b"x")), None)
        self.assertEqual(a.recv(1), b"x")

    def test_bad_arguments_get_the_socket_methods_errors(self):
        a, b = self.pair()
        b.send(b"data")
        with self.assertRaisesRegex(ValueError, "negative buffersize in recv"):
            self.wait(self.loop.sock_recv(a, -1))
        with self.assertRaises(TypeError):
            self.wait(self.loop.sock_recv(a, "10"))
        with self.assertRaises(TypeError):
            self.wait(self.loop.sock_recv_into(a, b"read-only"))
        with self.assertRaises(TypeError):
            self.wait(self.loop.sock_sendall(a, "text"))
        self.assertEqual(self.wait(self.loop.sock_recv(a, 0)), b"")
        self.assertEqual(self.wait(self.loop.sock_recv(a, 10)), b"data")

    def test_an_ssl_socket_is_typeerror(self):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        s = ctx.wrap_socket(socket.socket(), do_handshake_on_connect=False)
        self.socks.append(s)
        with self.assertRaisesRegex(TypeError, "Socket cannot be of type SSLSocket"):
            self.wait(self.loop.sock_recv(s, 1))

    def test_connection_refused(self):
        srv = self.tcp_listener()
        addr = srv.getsockname()
        srv.close()
        cli = socket.socket()
        cli.setblocking(False)
        self.socks.append(cli)
        with self.assertRaises(ConnectionRefusedError) as cm:
            self.wait(self.loop.sock_connect(cli, addr))
        self.assertEqual(cm.exception.errno, errno.ECONNREFUSED)

    def test_a_reset_fails_the_waiting_recv_with_connectionreseterror(self):
        srv = self.tcp_listener()
        cli = socket.socket()
        cli.setblocking(False)
        self.socks.append(cli)

        async def main():
            await self.loop.sock_connect(cli, srv.getsockname())
            conn, _ = await self.loop.sock_accept(srv)
            recv = self.loop.create_task(self.loop.sock_recv(cli, 10))
            await asyncio.sleep(0)
            # Close with unread data and a zero linger: the peer sends RST.
            await self.loop.sock_sendall(cli, b"unread")
            await asyncio.sleep(0.01)
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()
            await recv

        with self.assertRaises(ConnectionResetError):
            self.wait(main())
        self.assertEqual(self.loop._watch_mask(cli.fileno()), 0)

    def test_a_socket_of_a_transport_is_refused(self):
        a, b = self.pair()

        async def main():
            tr, _ = await self.loop.connect_accepted_socket(asyncio.Protocol, a)
            try:
                with self.assertRaisesRegex(RuntimeError, "is used by transport"):
                    await self.loop.sock_recv(a, 10)
            finally:
                tr.close()
                await asyncio.sleep(0)

        self.wait(main())


class NoLeaks(SockTestCase):
    def test_10000_round_trips_leave_no_objects_behind(self):
        a, b = self.pair()

        async def echo(n):
            for _ in range(n):
                data = await self.loop.sock_recv(b, 100)
                await self.loop.sock_sendall(b, data)

        async def client(n):
            buf = bytearray(100)
            for i in range(n):
                await self.loop.sock_sendall(a, b"ping %d" % i)
                await self.loop.sock_recv_into(a, buf)

        async def both(n):
            await asyncio.gather(echo(n), client(n))

        def burst(n):
            self.wait(both(n))

        burst(100)  # warm caches
        gc.collect()
        before = len(gc.get_objects())
        burst(10_000)
        gc.collect()
        after = len(gc.get_objects())
        self.assertLess(abs(after - before), 50, (before, after))
        # Objects gc does not track (the bytes received, memory the calls allocate).
        tracemalloc.start()
        try:
            burst(100)
            gc.collect()
            before = tracemalloc.get_traced_memory()[0]
            burst(2000)
            gc.collect()
            after = tracemalloc.get_traced_memory()[0]
        finally:
            tracemalloc.stop()
        self.assertLess(after - before, 32 * 1024, (before, after))


if __name__ == "__main__":
    unittest.main()
