"""asyncio_rs's native ``StreamReader.read`` / ``StreamWriter.write`` / ``drain``
(``asyncio_rs._streams``): each scenario runs on asyncio's own loop and on ours, and what a
program sees (data, exceptions and their messages, the reader's state) must be the same.
The fast path must also be there: on our loop the transport gives asyncio's own streams
the native methods, and leaves subclasses and patched classes alone."""

import asyncio
import gc
import socket
import unittest

import asyncio_rs
from asyncio_rs import _streams

LOOPS = (("asyncio", asyncio.new_event_loop), ("ours", asyncio_rs.new_event_loop))


def outcome(exc):
    return (type(exc).__name__, str(exc))


class Pair:
    """A served connection: the server side's ``reader`` and ``writer`` (asyncio's streams,
    made by ``start_server``) and the client's non-blocking socket."""

    def __init__(self, **server_kwargs):
        self.server_kwargs = server_kwargs

    async def __aenter__(self):
        loop = self.loop = asyncio.get_running_loop()
        got = loop.create_future()
        self.done = loop.create_future()

        self.writers = []

        async def handler(reader, writer):
            self.writers.append(writer)
            if not got.done():
                got.set_result((reader, writer))
            await self.done

        self.server = await asyncio.start_server(handler, "127.0.0.1", 0, **self.server_kwargs)
        self.client = socket.socket()
        self.client.setblocking(False)
        await loop.sock_connect(self.client, self.server.sockets[0].getsockname())
        self.reader, self.writer = await got
        return self

    async def __aexit__(self, *exc):
        self.done.set_result(None)
        for writer in self.writers:
            writer.close()
        self.client.close()
        self.server.close()
        await self.server.wait_closed()

    async def send(self, data):
        await self.loop.sock_sendall(self.client, data)

    async def recv_exactly(self, n):
        got = bytearray()
        while len(got) < n:
            chunk = await self.loop.sock_recv(self.client, n - len(got))
            if not chunk:
                break
            got += chunk
        return bytes(got)


async def arrived(reader, n):
    """Waits (on the loop, without reading) until ``n`` bytes are in the reader's buffer."""
    for _ in range(2000):
        if len(reader._buffer) >= n:
            return
        await asyncio.sleep(0.001)
    raise AssertionError("data did not arrive")


class Differential(unittest.TestCase):
    def both(self, scenario):
        """Runs ``scenario()`` on each loop; what it returns must be the same."""
        results = {}
        for name, factory in LOOPS:
            loop = factory()
            try:
                results[name] = loop.run_until_complete(asyncio.wait_for(scenario(), 10))
            finally:
                loop.close()
        self.assertEqual(results["ours"], results["asyncio"])
        return results["ours"]


class Read(Differential):
    def test_buffered_waiting_and_partial(self):
        async def scenario():
            async with Pair() as p:
                waiting = asyncio.create_task(p.reader.read(5))
                await asyncio.sleep(0.01)
                was_done = waiting.done()
                await p.send(b"hello world")
                first = await waiting
                await arrived(p.reader, 6)
                rest = await p.reader.read(100)
                return was_done, first, rest, p.reader._waiter, bytes(p.reader._buffer)

        self.assertEqual(self.both(scenario), (False, b"hello", b" world", None, b""))

    def test_zero_negative_and_eof(self):
        async def scenario():
            async with Pair() as p:
                await p.send(b"abcdef")
                await arrived(p.reader, 6)
                zero = await p.reader.read(0)
                await p.send(b"ghi")
                p.client.shutdown(socket.SHUT_WR)
                everything = await p.reader.read()
                at_eof = p.reader.at_eof()
                again = await p.reader.read(10)
                return zero, everything, at_eof, again, await p.reader.read(-1)

        self.assertEqual(self.both(scenario), (b"", b"abcdefghi", True, b"", b""))

    def test_set_exception(self):
        async def scenario():
            async with Pair() as p:
                await p.send(b"data")
                await arrived(p.reader, 4)
                p.reader.set_exception(ValueError("boom"))
                seen = []
                for n in (10, 0, -1):
                    try:
                        await p.reader.read(n)
                    except ValueError as e:
                        seen.append(outcome(e))
                try:
                    await p.writer.drain()
                except ValueError as e:
                    seen.append(outcome(e))
                return seen, bytes(p.reader._buffer)

        self.assertEqual(self.both(scenario), ([("ValueError", "boom")] * 4, b"data"))

    def test_exception_wakes_a_waiting_read(self):
        async def scenario():
            async with Pair() as p:
                waiting = asyncio.create_task(p.reader.read(5))
                await asyncio.sleep(0.01)
                p.reader.set_exception(ConnectionError("gone"))
                try:
                    await waiting
                except ConnectionError as e:
                    return outcome(e), p.reader._waiter

        self.assertEqual(self.both(scenario), (("ConnectionError", "gone"), None))

    def test_two_reads_at_once(self):
        async def scenario():
            async with Pair() as p:
                first = asyncio.create_task(p.reader.read(5))
                await asyncio.sleep(0.01)
                try:
                    await p.reader.read(5)
                except RuntimeError as e:
                    second = outcome(e)
                await p.send(b"x")
                return second, await first

        second, first = self.both(scenario)
        self.assertEqual(first, b"x")
        self.assertIn("already waiting for incoming data", second[1])

    def test_cancelled_while_waiting(self):
        async def scenario():
            async with Pair() as p:
                waiting = asyncio.create_task(p.reader.read(5))
                await asyncio.sleep(0.01)
                waiting.cancel()
                try:
                    await waiting
                except asyncio.CancelledError:
                    cancelled = True
                waiter = p.reader._waiter
                await p.send(b"after")
                return cancelled, waiter, await p.reader.read(5)

        self.assertEqual(self.both(scenario), (True, None, b"after"))

    def test_wait_for_gather_and_tasks(self):
        async def scenario():
            async with Pair() as p:
                try:
                    await asyncio.wait_for(p.reader.read(3), 0.01)
                except asyncio.TimeoutError:
                    timed_out = p.reader._waiter
                await p.send(b"abcdef")
                a = await asyncio.wait_for(p.reader.read(3), 5)
                (b,) = await asyncio.gather(p.reader.read(2))
                c = await asyncio.create_task(p.reader.read(1))
                return timed_out, a, b, c

        self.assertEqual(self.both(scenario), (None, b"abc", b"de", b"f"))

    def test_other_methods_on_the_same_state(self):
        async def scenario():
            async with Pair() as p:
                await p.send(b"line one\nline two\nrest12345")
                p.client.shutdown(socket.SHUT_WR)
                got = [await p.reader.readline(), await p.reader.read(4),
                       await p.reader.readuntil(b"\n"), await p.reader.readexactly(4)]
                got.append(await p.reader.read())
                return got, p.reader.at_eof()

        self.assertEqual(self.both(scenario),
                         ([b"line one\n", b"line", b" two\n", b"rest", b"12345"], True))

    def test_paused_reader_resumes(self):
        # A small limit: the transport is paused past twice the limit and resumed as the
        # reads empty the buffer; every byte arrives.
        payload = bytes(range(256)) * 400

        async def scenario():
            async with Pair(limit=1024) as p:
                sending = asyncio.create_task(p.send(payload))
                await arrived(p.reader, 2048)
                paused = p.reader._paused
                got = bytearray()
                while len(got) < len(payload):
                    got += await p.reader.read(1000)
                await sending
                return paused, got == payload, p.reader._paused

        self.assertEqual(self.both(scenario), (True, True, False))

    def test_awaitable_protocol(self):
        async def scenario():
            async with Pair() as p:
                unstarted = p.reader.read(1)
                seen = [asyncio.iscoroutine(unstarted)]
                try:
                    unstarted.send(1)
                except TypeError as e:
                    seen.append(outcome(e))
                unstarted.close()
                closed = p.reader.read(1)
                closed.close()
                try:
                    await closed
                except RuntimeError as e:
                    seen.append(outcome(e))
                try:
                    p.reader.read(1).throw(KeyError("k"))
                except KeyError as e:
                    seen.append(outcome(e))
                await p.send(b"z")
                done = p.reader.read(1)
                seen.append(await done)
                try:
                    await done
                except RuntimeError as e:
                    seen.append(outcome(e))
                return seen

        self.assertEqual(self.both(scenario), [
            True,
            ("TypeError", "can't send non-None value to a just-started coroutine"),
            ("RuntimeError", "cannot reuse already awaited coroutine"),
            ("KeyError", "'k'"),
            b"z",
            ("RuntimeError", "cannot reuse already awaited coroutine"),
        ])


class Drain(Differential):
    def test_paused_drain_waits_for_resume(self):
        payload = b"x" * (1 << 20)

        async def scenario():
            async with Pair() as p:
                sock = p.writer.transport.get_extra_info("socket")
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
                p.writer.transport.set_write_buffer_limits(high=1024)
                p.writer.write(payload)
                draining = asyncio.create_task(p.writer.drain())
                await asyncio.sleep(0.01)
                waited = not draining.done()
                got = await p.recv_exactly(len(payload))
                return waited, len(got), await draining

        self.assertEqual(self.both(scenario), (True, 1 << 20, None))

    def test_drain_at_once_and_after_close(self):
        async def scenario():
            async with Pair() as p:
                p.writer.write(b"ping")
                first = await p.writer.drain()
                echoed = await p.recv_exactly(4)
                p.writer.close()
                await asyncio.sleep(0.01)
                try:
                    await p.writer.drain()
                except ConnectionResetError as e:
                    return first, echoed, outcome(e)

        self.assertEqual(self.both(scenario),
                         (None, b"ping", ("ConnectionResetError", "Connection lost")))

    def test_write_types(self):
        async def scenario():
            async with Pair() as p:
                p.writer.write(bytearray(b"ab"))
                p.writer.write(memoryview(b"cd"))
                p.writer.writelines([b"e", b"f"])
                await p.writer.drain()
                try:
                    p.writer.write("text")
                except TypeError as e:
                    bad = outcome(e)
                return await p.recv_exactly(6), bad

        got, bad = self.both(scenario)
        self.assertEqual(got, b"abcdef")
        self.assertEqual(bad[0], "TypeError")


class FastPath(unittest.TestCase):
    def setUp(self):
        self.loop = asyncio_rs.new_event_loop()

    def tearDown(self):
        self.loop.close()

    def test_asyncio_streams_get_the_native_methods(self):
        async def main():
            async with Pair() as p:
                r, w = p.reader, p.writer
                # The server side's reader and writer, and a client's reader.
                cr, cw = await asyncio.open_connection(*p.server.sockets[0].getsockname())
                cw.close()
                return type(r), type(w), type(cr), isinstance(r, asyncio.StreamReader)

        r, w, cr, is_reader = self.loop.run_until_complete(main())
        self.assertIs(r, _streams.StreamReader)
        self.assertIs(w, _streams.StreamWriter)
        self.assertIs(cr, _streams.StreamReader)
        self.assertTrue(is_reader)
        self.assertEqual((r.__name__, w.__name__), ("StreamReader", "StreamWriter"))
        self.assertIsInstance(_streams.StreamReader.read, type(list.append))

    def test_a_subclass_keeps_its_code(self):
        class Counting(asyncio.StreamReader):
            reads = 0

            async def read(self, n=-1):
                Counting.reads += 1
                return await super().read(n)

        async def main():
            loop = asyncio.get_running_loop()
            a, b = socket.socketpair()
            reader = Counting(loop=loop)
            transport, _ = await loop.connect_accepted_socket(
                lambda: asyncio.StreamReaderProtocol(reader), a)
            b.send(b"hi")
            got = await reader.read(2)
            transport.close()
            b.close()
            return type(reader), got

        kind, got = self.loop.run_until_complete(main())
        self.assertIs(kind, Counting)
        self.assertEqual((got, Counting.reads), (b"hi", 1))

    def test_a_patched_read_is_called(self):
        original = asyncio.StreamReader.read
        calls = []

        async def patched(self, n=-1):
            calls.append(n)
            return await original(self, n)

        async def main():
            async with Pair() as p:
                await p.send(b"hey")
                return type(p.reader), await p.reader.read(3)

        asyncio.StreamReader.read = patched
        try:
            kind, got = self.loop.run_until_complete(main())
        finally:
            asyncio.StreamReader.read = original
        self.assertIs(kind, asyncio.StreamReader)
        self.assertEqual((got, calls), (b"hey", [3]))

    def test_echo_leaves_no_objects_behind(self):
        async def echo(p, rounds):
            for _ in range(rounds):
                await p.send(b"ping")
                data = await p.reader.read(100)
                p.writer.write(data)
                await p.writer.drain()
                await p.recv_exactly(len(data))

        async def main():
            async with Pair() as p:
                await echo(p, 50)
                gc.collect()
                before = len(gc.get_objects())
                await echo(p, 2000)
                gc.collect()
                return len(gc.get_objects()) - before

        self.assertLess(self.loop.run_until_complete(main()), 50)


if __name__ == "__main__":
    unittest.main()
