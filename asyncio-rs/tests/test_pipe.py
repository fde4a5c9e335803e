"""asyncio_rs's native pipe transports: reading (data, pause and resume, end of file), writing
(buffering, flow control on a full pipe, close after the flush), the reader closing under a
writer, subprocesses over them, and bad input, as asyncio's own pipe transports do them."""

import asyncio
import os
import socket
import sys
import tempfile
import tty
import unittest

import asyncio_rs

from _support import LoopTestCase, Recording, assert_no_leaks


class Recorder(Recording, asyncio.Protocol):
    def __init__(self):
        super().__init__()
        self.data = bytearray()

    def data_received(self, data):
        self.calls.append("data")
        self.data += data

    def eof_received(self):
        self.calls.append("eof")


class PipeTestCase(LoopTestCase):
    def setUp(self):
        super().setUp()
        self.r, self.w = os.pipe()

    def tearDown(self):
        for fd in (self.r, self.w):
            try:
                os.close(fd)
            except OSError:
                pass
        super().tearDown()

    def read_end(self, proto):
        pipe = os.fdopen(self.r, "rb", 0)
        self.r = -1
        tr, _ = self.run_(self.loop.connect_read_pipe(lambda: proto, pipe))
        return tr

    def write_end(self, proto):
        pipe = os.fdopen(self.w, "wb", 0)
        self.w = -1
        tr, _ = self.run_(self.loop.connect_write_pipe(lambda: proto, pipe))
        return tr


class Reading(PipeTestCase):
    def test_data_then_eof_received_then_connection_lost(self):
        proto = Recorder()
        tr = self.read_end(proto)
        self.assertIsInstance(tr, asyncio.ReadTransport)
        self.assertIsInstance(tr.close.__self__, asyncio_rs._native.PipeTransport)
        self.assertTrue(tr.is_reading())
        os.write(self.w, b"hello ")
        os.write(self.w, b"pipe")
        self.until(lambda: proto.data == b"hello pipe")
        os.close(self.w)
        self.until(lambda: "lost" in proto.calls)
        self.assertEqual(proto.calls[-2:], ["eof", "lost"])
        self.assertIsNone(proto.lost)
        self.assertTrue(tr.is_closing())
        self.assertEqual(tr.get_extra_info("pipe").closed, True)

    def test_pause_and_resume_reading(self):
        proto = Recorder()
        tr = self.read_end(proto)
        tr.pause_reading()
        self.assertFalse(tr.is_reading())
        os.write(self.w, b"held")
        self.turns(5)
        self.assertEqual(proto.data, b"")
        tr.resume_reading()
        self.until(lambda: proto.data == b"held")
        tr.close()
        self.turns()
        self.assertEqual(proto.calls[-1], "lost")

    def test_a_raising_data_received_goes_to_the_exception_handler(self):
        class Raises(Recorder):
            def data_received(self, data):
                super().data_received(data)
                if data == b"boom":
                    raise ZeroDivisionError

        proto = Raises()
        tr = self.read_end(proto)
        os.write(self.w, b"boom")
        self.until(lambda: self.errors)
        os.write(self.w, b"after")
        self.until(lambda: proto.data == b"boomafter")
        self.assertIsInstance(self.errors[0]["exception"], ZeroDivisionError)
        self.assertFalse(tr.is_closing())
        tr.close()
        self.turns()

    def test_a_regular_file_is_refused(self):
        with tempfile.TemporaryFile() as f:
            with self.assertRaisesRegex(ValueError, "Pipe transport is for pipes/sockets only."):
                self.run_(self.loop.connect_read_pipe(Recorder, f))
            with self.assertRaisesRegex(ValueError, "Pipe transport is only for pipes, sockets"):
                self.run_(self.loop.connect_write_pipe(Recorder, f))


class Writing(PipeTestCase):
    def test_write_then_close_after_the_flush(self):
        proto = Recorder()
        tr = self.write_end(proto)
        self.assertIsInstance(tr, asyncio.WriteTransport)
        tr.write(b"abc")
        tr.write(bytearray(b"def"))
        tr.write(memoryview(b"ghi"))
        self.assertEqual(os.read(self.r, 100), b"abcdefghi")
        with self.assertRaises(AssertionError):
            tr.write("text")
        tr.close()
        self.turns()
        self.assertEqual(proto.calls, ["made", "lost"])
        self.assertEqual(os.read(self.r, 100), b"", "the reader sees end of file")

    def test_a_full_pipe_buffers_pauses_and_resumes_writing(self):
        proto = Recorder()
        tr = self.write_end(proto)
        chunk = b"x" * 65536
        written = 0
        while "pause" not in proto.calls:
            tr.write(chunk)
            written += len(chunk)
        self.assertGreater(tr.get_write_buffer_size(), 64 * 1024)
        tr.close()
        got = 0

        async def drain():
            nonlocal got
            os.set_blocking(self.r, False)
            while got < written:
                try:
                    got += len(os.read(self.r, 1 << 20))
                except BlockingIOError:
                    await asyncio.sleep(0.001)
        self.run_(asyncio.wait_for(drain(), 5))
        self.until(lambda: "lost" in proto.calls)
        self.assertEqual(proto.calls, ["made", "pause", "resume", "lost"])
        self.assertEqual(got, written)

    def test_the_reader_closing_loses_the_connection_with_broken_pipe(self):
        proto = Recorder()
        tr = self.write_end(proto)
        self.turns()
        while tr.get_write_buffer_size() == 0:
            tr.write(b"x" * 65536)
        os.close(self.r)
        self.until(lambda: "lost" in proto.calls)
        self.assertIsInstance(proto.lost, BrokenPipeError)
        self.assertEqual(tr.get_write_buffer_size(), 0)
        with self.assertLogs("asyncio", "WARNING"):
            for _ in range(6):
                tr.write(b"late")

    def test_the_reader_closing_with_nothing_buffered_loses_it_quietly(self):
        proto = Recorder()
        self.write_end(proto)
        self.turns()
        os.close(self.r)
        self.until(lambda: "lost" in proto.calls)
        self.assertIsNone(proto.lost)

    def test_a_socket_as_a_pipe(self):
        ours, peer = socket.socketpair()
        proto = Recorder()
        tr, _ = self.run_(self.loop.connect_write_pipe(lambda: proto, ours))
        tr.write(b"over a socket")
        self.assertEqual(peer.recv(100), b"over a socket")
        peer.close()
        self.until(lambda: "lost" in proto.calls)
        ours.close()


class OneFdBothWays(PipeTestCase):
    def test_a_pty_read_and_written_through_one_fd(self):
        master, slave = os.openpty()
        tty.setraw(slave)
        rproto, wproto = Recorder(), Recorder()
        rtr, _ = self.run_(self.loop.connect_read_pipe(lambda: rproto, os.fdopen(slave, "rb", 0)))
        wtr, _ = self.run_(self.loop.connect_write_pipe(
            lambda: wproto, os.fdopen(slave, "wb", 0, closefd=False)))
        wtr.write(b"out")
        self.assertEqual(os.read(master, 100), b"out")
        os.write(master, b"in")
        self.until(lambda: rproto.data == b"in")
        wtr.close()
        rtr.close()
        self.turns()
        self.assertEqual(wproto.calls[-1], "lost")
        self.assertEqual(rproto.calls[-1], "lost")
        os.close(master)


class Subprocess(unittest.TestCase):
    def test_cat_echoes_stdin_to_stdout(self):
        async def main():
            proc = await asyncio.create_subprocess_exec(
                "cat", stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE)
            kinds = [type(proc._transport.get_pipe_transport(fd)).__name__ for fd in (0, 1, 2)]
            data = bytes(range(256)) * 1000
            out, err = await proc.communicate(data)
            return kinds, out == data, err, proc.returncode

        self.assertEqual(asyncio_rs.run(main()), (
            ["_WritePipeTransport", "_ReadPipeTransport", "_ReadPipeTransport"], True, b"", 0))

    def test_stderr_and_line_by_line(self):
        async def main():
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-c",
                "import sys\nfor line in sys.stdin: print(line.strip().upper(), flush=True)\n"
                "print('done', file=sys.stderr)",
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE)
            lines = []
            for word in (b"one", b"two"):
                proc.stdin.write(word + b"\n")
                await proc.stdin.drain()
                lines.append(await proc.stdout.readline())
            proc.stdin.close()
            err = await proc.stderr.read()
            await proc.wait()
            return lines, err, proc.returncode

        self.assertEqual(asyncio_rs.run(main()), ([b"ONE\n", b"TWO\n"], b"done\n", 0))


class NoLeaks(unittest.TestCase):
    def test_pipes_leave_no_objects_behind(self):
        loop = asyncio_rs.new_event_loop()

        async def many(n):
            for _ in range(n):
                r, w = os.pipe()
                rproto, wproto = Recorder(), Recorder()
                await loop.connect_read_pipe(lambda: rproto, os.fdopen(r, "rb", 0))
                wtr, _ = await loop.connect_write_pipe(lambda: wproto, os.fdopen(w, "wb", 0))
                for _ in range(10):
                    wtr.write(b"x" * 100)
                wtr.close()
                while "lost" not in rproto.calls:
                    await asyncio.sleep(0)
            await asyncio.sleep(0)

        assert_no_leaks(self, loop, many, 20, 300)


if __name__ == "__main__":
    unittest.main()
