"""asyncio_rs's native socket transport: what a protocol relies on (buffering and flow
control, close, abort, end of file, reading paused) and bad input (a protocol that raises,
writes after close), as asyncio's own socket transport does them."""

import asyncio
import contextvars
import gc
import socket
import unittest

import asyncio_rs

from _support import LoopTestCase, Recording, assert_no_leaks


class Recorder(Recording, asyncio.Protocol):
    """Records its calls; ``eof`` is what ``eof_received`` returns."""

    def __init__(self, eof=None):
        super().__init__()
        self.data = bytearray()
        self.eof = eof
        self.lost = None

    def data_received(self, data):
        self.calls.append("data")
        self.data += data

    def eof_received(self):
        self.calls.append("eof")
        return self.eof


class TransportTestCase(LoopTestCase):
    def setUp(self):
        super().setUp()
        self.ours, self.peer = socket.socketpair()
        self.peer.setblocking(False)

    def tearDown(self):
        self.peer.close()
        super().tearDown()

    def connect(self, protocol):
        """Our transport over one end of a socket pair; ``self.peer`` is the other."""
        tr, proto = self.loop.run_until_complete(
            self.loop.create_connection(lambda: protocol, sock=self.ours))
        return tr

    def read_peer(self, n):
        async def read():
            got = bytearray()
            while len(got) < n:
                chunk = await self.loop.sock_recv(self.peer, n - len(got))
                if not chunk:
                    break
                got += chunk
            return bytes(got)
        return self.loop.run_until_complete(read())


class Basics(TransportTestCase):
    def test_the_transport_is_native_and_an_asyncio_transport(self):
        tr = self.connect(Recorder())
        self.assertIsInstance(tr, asyncio.Transport)
        self.assertEqual(type(tr).__name__, "_SocketTransport")
        self.assertIsInstance(tr.write.__self__, asyncio_rs._native.SocketTransport)
        self.assertEqual(tr.get_extra_info("socket").fileno(), self.ours.fileno())
        self.assertEqual(tr.get_extra_info("sockname"), self.ours.getsockname())
        self.assertEqual(tr.get_extra_info("peername"), self.ours.getpeername())
        self.assertTrue(tr.can_write_eof())
        self.assertTrue(tr.is_reading())
        self.assertFalse(tr.is_closing())
        self.assertIn("read=polling", repr(tr))
        tr.close()
        self.turns()

    def test_data_both_ways_and_callbacks_in_the_transports_context(self):
        var = contextvars.ContextVar("var", default="unset")
        seen = []

        class P(Recorder):
            def data_received(self, data):
                seen.append(var.get())
                super().data_received(data)
                self.transport.write(data.upper())

        async def connect():
            var.set("creator")
            return await self.loop.create_connection(P, sock=self.ours)

        tr, proto = self.loop.run_until_complete(connect())
        self.peer.send(b"hello")
        self.assertEqual(self.read_peer(5), b"HELLO")
        self.assertEqual(bytes(proto.data), b"hello")
        self.assertEqual(seen, ["creator"])
        self.assertEqual(proto.calls[0], "made")
        tr.close()
        self.turns()
        self.assertEqual(proto.calls[-1], "lost")
        self.assertIsNone(proto.lost)
        self.assertEqual(self.ours.fileno(), -1, "the socket is closed with the transport")

    def test_reads_large_and_small_arrive_whole_and_in_order(self):
        import os

        types = set()

        class Typed(Recorder):
            def data_received(self, data):
                types.add(type(data))
                super().data_received(data)

        proto = Typed()
        self.connect(proto)
        sent = bytearray()

        async def send():
            # Each side of the sizes where a read is copied out of the spare buffer.
            for size in (100_000, 3, 70_000, 1, 448, 449, 1024, 4096, 4097, 65_536, 10):
                chunk = os.urandom(size)
                sent.extend(chunk)
                await self.loop.sock_sendall(self.peer, chunk)
                await asyncio.sleep(0.001)

        self.loop.run_until_complete(send())
        self.until(lambda: len(proto.data) == len(sent))
        self.assertEqual(proto.data, sent)
        self.assertEqual(types, {bytes})
        proto.transport.close()
        self.turns()

    def test_writes_of_bytearray_memoryview_and_writelines(self):
        tr = self.connect(Recorder())
        tr.write(bytearray(b"ab"))
        tr.write(memoryview(b"xcdx")[1:3])
        tr.writelines([b"e", bytearray(b"f"), memoryview(b"g")])
        self.assertEqual(self.read_peer(7), b"abcdefg")
        # asyncio's own words (3.14 changed them): its write checks the type first.
        with self.assertRaises(TypeError) as want:
            asyncio.selector_events._SelectorSocketTransport.write(None, "text")
        with self.assertRaises(TypeError) as got:
            tr.write("text")
        self.assertEqual(str(got.exception), str(want.exception))
        tr.close()
        self.turns()

    def test_pause_reading_stops_data_received_and_resume_delivers(self):
        proto = Recorder()
        tr = self.connect(proto)
        tr.pause_reading()
        self.assertFalse(tr.is_reading())
        self.peer.send(b"later")
        self.turns(5)
        self.assertEqual(proto.data, b"")
        tr.resume_reading()
        self.until(lambda: proto.data == b"later")
        tr.close()
        self.turns()

    def test_buffered_protocol_reads_into_its_buffer(self):
        class Buffered(asyncio.BufferedProtocol):
            def __init__(self):
                self.buf = bytearray(4)
                self.got = bytearray()
                self.lost = False

            def get_buffer(self, sizehint):
                return self.buf

            def buffer_updated(self, nbytes):
                self.got += self.buf[:nbytes]

            def connection_lost(self, exc):
                self.lost = True

        proto = Buffered()
        tr = self.connect(proto)
        self.peer.send(b"0123456789")
        self.until(lambda: proto.got == b"0123456789")
        self.peer.close()
        self.until(lambda: proto.lost)
        self.assertTrue(tr.is_closing())


class FlowControl(TransportTestCase):
    def test_writes_buffer_and_pause_writing_under_a_slow_reader(self):
        proto = Recorder()
        tr = self.connect(proto)
        self.assertEqual(tr.get_write_buffer_limits(), (16384, 65536))
        payload = bytes(range(256)) * 16384  # 4 MiB: more than the socket takes
        tr.write(payload)
        self.assertGreater(tr.get_write_buffer_size(), 65536)
        self.assertEqual(proto.calls, ["made", "pause"])
        tr.write(b"!")  # buffered behind the rest, in order
        got = self.read_peer(len(payload) + 1)
        self.assertEqual(got, payload + b"!")
        self.until(lambda: tr.get_write_buffer_size() == 0)
        self.assertEqual(proto.calls, ["made", "pause", "resume"])
        tr.close()
        self.turns()

    def test_set_write_buffer_limits_checks_and_may_pause_at_once(self):
        proto = Recorder()
        tr = self.connect(proto)
        with self.assertRaisesRegex(ValueError, "must be >= low"):
            tr.set_write_buffer_limits(high=1, low=2)
        tr.set_write_buffer_limits(low=100)
        self.assertEqual(tr.get_write_buffer_limits(), (100, 400))
        tr.write(bytes(4 << 20))
        self.assertIn("pause", proto.calls)
        tr.set_write_buffer_limits(high=1 << 30)  # no second pause_writing
        self.assertEqual(proto.calls.count("pause"), 1)
        tr.abort()
        self.turns()

    def test_close_flushes_the_buffer_then_loses_the_connection(self):
        proto = Recorder()
        tr = self.connect(proto)
        payload = bytes(3 << 20)
        tr.write(payload)
        tr.close()
        self.assertTrue(tr.is_closing())
        self.turns()
        self.assertNotIn("lost", proto.calls, "connection_lost waits for the flush")
        self.assertEqual(self.read_peer(len(payload) + 1), payload)  # then end of file
        self.until(lambda: "lost" in proto.calls)
        self.assertIsNone(proto.lost)

    def test_abort_drops_the_buffer(self):
        proto = Recorder()
        tr = self.connect(proto)
        payload = bytes(8 << 20)
        tr.write(payload)
        tr.abort()
        self.assertEqual(tr.get_write_buffer_size(), 0)
        self.assertTrue(tr.is_closing())
        self.turns()
        self.assertEqual(proto.calls[-1], "lost")
        self.assertLess(len(self.read_peer(len(payload))), len(payload))

    def test_write_eof_shuts_the_write_half_after_the_buffer(self):
        proto = Recorder()
        tr = self.connect(proto)
        tr.write(bytes(2 << 20))
        tr.write_eof()
        with self.assertRaisesRegex(RuntimeError, "after write_eof"):
            tr.write(b"x")
        self.assertEqual(len(self.read_peer(3 << 20)), 2 << 20)  # all, then end of file
        self.peer.send(b"still reading")
        self.until(lambda: proto.data == b"still reading")
        tr.close()
        self.turns()


class Sendfile(TransportTestCase):
    def test_sendfile_sends_the_file_and_refuses_writes_meanwhile(self):
        import tempfile

        proto = Recorder()
        tr = self.connect(proto)
        payload = bytes(range(256)) * 4096  # 1 MiB
        with tempfile.TemporaryFile() as f:
            f.write(payload)
            f.seek(0)

            async def send():
                task = self.loop.create_task(self.loop.sendfile(tr, f))
                await asyncio.sleep(0)
                with self.assertRaisesRegex(RuntimeError, "sendfile is in progress"):
                    tr.write(b"x")
                return await task

            task = self.loop.create_task(send())
            got = self.read_peer(len(payload))
            self.assertEqual(self.loop.run_until_complete(task), len(payload))
        self.assertEqual(got, payload)
        tr.write(b"after")  # the transport works again, reading too
        self.assertEqual(self.read_peer(5), b"after")
        self.peer.send(b"in")
        self.until(lambda: proto.data == b"in")
        tr.close()
        self.turns()


class EndOfFile(TransportTestCase):
    def test_eof_received_false_closes(self):
        proto = Recorder(eof=None)
        tr = self.connect(proto)
        self.peer.shutdown(socket.SHUT_WR)
        self.until(lambda: "lost" in proto.calls)
        self.assertEqual(proto.calls, ["made", "eof", "lost"])
        self.assertTrue(tr.is_closing())

    def test_eof_received_true_keeps_the_connection_writable(self):
        proto = Recorder(eof=True)
        tr = self.connect(proto)
        self.peer.send(b"last")
        self.peer.shutdown(socket.SHUT_WR)
        self.until(lambda: "eof" in proto.calls)
        self.turns()
        self.assertEqual(proto.calls, ["made", "data", "eof"])
        tr.write(b"reply")
        self.assertEqual(self.read_peer(5), b"reply")
        tr.close()
        self.turns()
        self.assertEqual(proto.calls[-1], "lost")


class BadInput(TransportTestCase):
    def test_data_received_raising_goes_to_the_handler_and_closes(self):
        class Raising(Recorder):
            def data_received(self, data):
                raise ValueError("boom")

        proto = Raising()
        tr = self.connect(proto)
        self.peer.send(b"x")
        self.until(lambda: "lost" in proto.calls)
        [ctx] = self.errors
        self.assertEqual(ctx["message"], "Fatal error: protocol.data_received() call failed.")
        self.assertIsInstance(ctx["exception"], ValueError)
        self.assertIs(ctx["transport"], tr)
        self.assertIs(ctx["protocol"], proto)
        self.assertIs(proto.lost, ctx["exception"])
        self.assertEqual(self.read_peer(1), b"", "the peer sees the connection closed")

    def test_empty_get_buffer_is_a_fatal_error(self):
        class Empty(asyncio.BufferedProtocol):
            def get_buffer(self, sizehint):
                return bytearray()

            def buffer_updated(self, nbytes):
                raise AssertionError("not called")

        tr = self.connect(Empty())
        self.peer.send(b"x")
        self.until(lambda: self.errors)
        self.assertIn("get_buffer() call failed", self.errors[0]["message"])
        self.assertIsInstance(self.errors[0]["exception"], RuntimeError)
        self.assertTrue(tr.is_closing())
        self.turns()

    def test_keyboard_interrupt_in_data_received_escapes_run_forever(self):
        class Interrupting(Recorder):
            def data_received(self, data):
                super().data_received(data)
                raise KeyboardInterrupt

        proto = Interrupting()
        tr = self.connect(proto)
        self.peer.send(b"x")
        with self.assertRaises(KeyboardInterrupt):
            self.loop.run_until_complete(asyncio.sleep(1))
        self.assertEqual(proto.data, b"x")
        self.assertFalse(tr.is_closing(), "not a fatal error")
        tr.close()
        self.turns()

    def test_writes_after_the_connection_is_lost_are_dropped_then_logged(self):
        proto = Recorder()
        tr = self.connect(proto)
        tr.abort()
        self.turns()
        for _ in range(4):
            tr.write(b"x")
        with self.assertLogs("asyncio", "WARNING") as logs:
            tr.write(b"x")
            tr.write(b"x")
        self.assertIn("socket.send() raised exception.", logs.output[0])
        self.assertEqual(tr.get_write_buffer_size(), 0)

    def test_a_peer_reset_is_connection_lost_with_the_error(self):
        proto = Recorder()
        tr = self.connect(proto)
        self.peer.close()
        self.until(lambda: "lost" in proto.calls)
        tr.write(b"after")  # no error: dropped
        self.assertEqual(self.errors, [])


class Abandoned(unittest.TestCase):
    def test_a_transport_left_open_when_its_loop_closes_is_warned_of_and_closed(self):
        loop = asyncio_rs.new_event_loop()
        ours, peer = socket.socketpair()
        tr, proto = loop.run_until_complete(loop.create_connection(Recorder, sock=ours))
        loop.close()
        del tr, proto
        with self.assertWarnsRegex(ResourceWarning, "unclosed transport"):
            gc.collect()
        self.assertEqual(ours.fileno(), -1)
        self.assertEqual(peer.recv(1), b"", "the peer sees the connection closed")
        peer.close()


class NoLeaks(unittest.TestCase):
    def test_connections_leave_no_objects_behind(self):
        loop = asyncio_rs.new_event_loop()

        async def echo_many(n):
            srv = await loop.create_server(Recorder, "127.0.0.1", 0)
            port = srv.sockets[0].getsockname()[1]
            for _ in range(n):
                tr, proto = await loop.create_connection(Recorder, "127.0.0.1", port)
                tr.write(b"ping")
                tr.close()
                while proto.lost is None and "lost" not in proto.calls:
                    await asyncio.sleep(0)
            srv.close()
            await srv.wait_closed()

        assert_no_leaks(self, loop, echo_many, 20, 200)


if __name__ == "__main__":
    unittest.main()
