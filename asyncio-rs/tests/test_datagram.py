"""asyncio_rs's native datagram transport: what a DatagramProtocol relies on (datagrams both
ways with their addresses, queueing and flow control when the socket is full, errors to
error_received, close and abort) and bad input (a protocol that raises, sendto after close,
wrong data or address), as asyncio's own datagram transport does them."""

import asyncio
import os
import socket
import sys
import tempfile
import unittest

import asyncio_rs

from _support import LoopTestCase, Recording, assert_no_leaks


class Recorder(Recording, asyncio.DatagramProtocol):
    def __init__(self):
        super().__init__()
        self.datagrams = []
        self.errors = []

    def datagram_received(self, data, addr):
        self.datagrams.append((data, addr))

    def error_received(self, exc):
        self.errors.append(exc)


class Echo(Recorder):
    def datagram_received(self, data, addr):
        super().datagram_received(data, addr)
        self.transport.sendto(data.upper(), addr)


class DatagramTestCase(LoopTestCase):
    def endpoint(self, factory, **kw):
        return self.run_(self.loop.create_datagram_endpoint(factory, **kw))


class Basics(DatagramTestCase):
    def test_the_transport_is_native_and_an_asyncio_datagram_transport(self):
        tr, proto = self.endpoint(Recorder, local_addr=("127.0.0.1", 0))
        self.assertIsInstance(tr, asyncio.DatagramTransport)
        self.assertIsInstance(tr.sendto.__self__, asyncio_rs._native.DatagramTransport)
        self.assertEqual(tr.get_extra_info("sockname")[0], "127.0.0.1")
        self.assertIsNone(tr.get_extra_info("peername"))
        self.assertEqual(proto.calls, ["made"])
        self.assertIn("read=polling", repr(tr))
        tr.close()
        self.turns()
        self.assertEqual(proto.calls, ["made", "lost"])
        self.assertIsNone(proto.lost)
        self.assertEqual(tr.get_extra_info("socket").fileno(), -1)

    def test_echo_both_ways_with_addresses(self):
        server, sproto = self.endpoint(Echo, local_addr=("127.0.0.1", 0))
        saddr = server.get_extra_info("sockname")
        client, cproto = self.endpoint(Recorder, remote_addr=saddr)
        caddr = client.get_extra_info("sockname")
        self.assertEqual(client.get_extra_info("peername"), saddr)
        for i in range(5):
            client.sendto(b"ping %d" % i)
        client.sendto(bytearray(b"bytearray"), saddr)
        client.sendto(memoryview(b"xmemoryview")[1:])
        self.until(lambda: len(cproto.datagrams) == 7)
        self.assertEqual(sproto.datagrams[0], (b"ping 0", caddr))
        self.assertEqual([d for d, _ in cproto.datagrams],
                         [b"PING %d" % i for i in range(5)] + [b"BYTEARRAY", b"MEMORYVIEW"])
        self.assertEqual({a for _, a in cproto.datagrams}, {saddr})
        # An unconnected transport sends to the address given.
        other, oproto = self.endpoint(Recorder, local_addr=("127.0.0.1", 0))
        other.sendto(b"to", saddr)
        self.until(lambda: oproto.datagrams)
        self.assertEqual(oproto.datagrams, [(b"TO", saddr)])
        for tr in (server, client, other):
            tr.close()
        self.turns()

    def test_a_host_name_and_ipv6_go_through_pythons_socket(self):
        server, sproto = self.endpoint(Echo, local_addr=("127.0.0.1", 0))
        port = server.get_extra_info("sockname")[1]
        client, cproto = self.endpoint(Recorder, local_addr=("127.0.0.1", 0))
        client.sendto(b"by name", ("localhost", port))
        self.until(lambda: cproto.datagrams)
        self.assertEqual(cproto.datagrams, [(b"BY NAME", ("127.0.0.1", port))])
        client.close()
        server.close()
        if socket.has_ipv6:
            try:
                server6, sproto6 = self.endpoint(Echo, local_addr=("::1", 0))
            except OSError:
                return
            client6, cproto6 = self.endpoint(
                Recorder, remote_addr=server6.get_extra_info("sockname")[:2])
            client6.sendto(b"six")
            self.until(lambda: cproto6.datagrams)
            self.assertEqual(cproto6.datagrams[0][0], b"SIX")
            self.assertEqual(cproto6.datagrams[0][1][:2], server6.get_extra_info("sockname")[:2])
            client6.close()
            server6.close()
        self.turns()

    def test_unix_datagram_sockets(self):
        with tempfile.TemporaryDirectory() as tmp:
            spath, cpath = os.path.join(tmp, "s"), os.path.join(tmp, "c")
            server, sproto = self.endpoint(Echo, local_addr=spath, family=socket.AF_UNIX)
            client, cproto = self.endpoint(Recorder, local_addr=cpath, family=socket.AF_UNIX)
            client.sendto(b"unix", spath)
            self.until(lambda: cproto.datagrams)
            self.assertEqual(sproto.datagrams, [(b"unix", cpath)])
            self.assertEqual(cproto.datagrams, [(b"UNIX", spath)])
            server.close()
            client.close()
            self.turns()

    def test_checks_and_messages_as_asyncio(self):
        server, sproto = self.endpoint(Recorder, local_addr=("127.0.0.1", 0))
        saddr = server.get_extra_info("sockname")
        client, cproto = self.endpoint(Recorder, remote_addr=saddr)
        with self.assertRaisesRegex(TypeError,
                                    "data argument must be a bytes-like object, not 'str'"):
            client.sendto("text")
        with self.assertRaisesRegex(ValueError,
                                    rf"Invalid address: must be None or \('127.0.0.1', {saddr[1]}\)"):
            client.sendto(b"x", ("127.0.0.1", saddr[1] + 1))
        client.sendto(b"")  # 3.11: nothing to send; 3.13: an empty datagram
        client.sendto(b"same address", saddr)
        self.until(lambda: any(d == b"same address" for d, _ in sproto.datagrams))
        expected = [b"same address"]
        if sys.version_info >= (3, 13):
            expected.insert(0, b"")
        self.assertEqual([d for d, _ in sproto.datagrams], expected)
        server.close()
        client.close()
        self.turns()


    def test_pause_and_resume_reading(self):
        tr, proto = self.endpoint(Recorder, local_addr=("127.0.0.1", 0))
        peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.addCleanup(peer.close)
        tr.pause_reading()
        self.assertFalse(tr.is_reading())
        peer.sendto(b"held", tr.get_extra_info("sockname"))
        self.turns(5)
        self.assertEqual(proto.datagrams, [])
        tr.resume_reading()
        self.assertTrue(tr.is_reading())
        self.until(lambda: proto.datagrams)
        self.assertEqual(proto.datagrams, [(b"held", ("127.0.0.1", peer.getsockname()[1]))])
        tr.close()
        self.assertFalse(tr.is_reading())
        self.turns()


class Errors(DatagramTestCase):
    def test_connected_udp_to_a_closed_port_gets_connection_refused(self):
        closed = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        closed.bind(("127.0.0.1", 0))
        addr = closed.getsockname()
        closed.close()
        tr, proto = self.endpoint(Recorder, remote_addr=addr)
        tr.sendto(b"anyone?")
        self.until(lambda: proto.errors)
        self.assertIsInstance(proto.errors[0], ConnectionRefusedError)
        self.assertFalse(tr.is_closing(), "an error_received leaves the transport open")
        tr.close()
        self.turns()

    def test_a_raising_datagram_received_goes_to_the_exception_handler(self):
        class Raises(Recorder):
            def datagram_received(self, data, addr):
                super().datagram_received(data, addr)
                if data == b"boom":
                    raise ZeroDivisionError("boom")

        tr, proto = self.endpoint(Raises, local_addr=("127.0.0.1", 0))
        peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        addr = tr.get_extra_info("sockname")
        peer.sendto(b"boom", addr)
        peer.sendto(b"after", addr)
        self.until(lambda: len(proto.datagrams) == 2)
        self.assertEqual(len(self.errors), 1)
        self.assertIsInstance(self.errors[0]["exception"], ZeroDivisionError)
        self.assertIs(self.errors[0]["transport"], tr)
        self.assertFalse(tr.is_closing())
        peer.close()
        tr.close()
        self.turns()

    def test_sendto_after_close_is_dropped_and_warned_of(self):
        server, sproto = self.endpoint(Recorder, local_addr=("127.0.0.1", 0))
        client, cproto = self.endpoint(Recorder, remote_addr=server.get_extra_info("sockname"))
        client.close()
        self.turns()
        self.assertIsNone(cproto.lost)
        with self.assertLogs("asyncio", "WARNING") as logs:
            for _ in range(6):
                client.sendto(b"late")
        self.assertIn("socket.send() raised exception.", logs.output[-1])
        self.turns()
        self.assertEqual(sproto.datagrams, [])
        server.close()
        self.turns()

    def test_an_unconnected_transport_still_sends_between_close_and_connection_lost(self):
        server, sproto = self.endpoint(Recorder, local_addr=("127.0.0.1", 0))
        client, cproto = self.endpoint(Recorder, local_addr=("127.0.0.1", 0))
        addr = server.get_extra_info("sockname")
        client.sendto(b"before", addr)
        client.close()
        client.sendto(b"after close", addr)  # asyncio sends it: its socket is still open
        self.turns()
        self.assertEqual(cproto.lost, None)
        self.assertEqual([d for d, _ in sproto.datagrams], [b"before", b"after close"])
        server.close()
        self.turns()


class FlowControl(DatagramTestCase):
    def unix_pair(self):
        """Our transport connected to a plain AF_UNIX datagram socket that reads only when
        told: the kernel's queue for it fills."""
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        ppath = os.path.join(tmp.name, "peer")
        peer = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        peer.bind(ppath)
        peer.setblocking(False)
        self.addCleanup(peer.close)
        tr, proto = self.endpoint(Recorder, local_addr=os.path.join(tmp.name, "ours"),
                                  remote_addr=ppath, family=socket.AF_UNIX)
        return tr, proto, peer

    def test_a_full_socket_queues_pauses_and_resumes_writing_and_close_flushes(self):
        tr, proto, peer = self.unix_pair()
        tr.set_write_buffer_limits(high=4000)
        self.assertEqual(tr.get_write_buffer_limits(), (1000, 4000))
        sent = 0
        while tr.get_write_buffer_size() == 0:
            tr.sendto(b"%05d" % sent + b"x" * 995)
            sent += 1
            self.assertLess(sent, 100000, "the socket never filled")
        header = 8 if sys.version_info >= (3, 13) else 0  # 3.13 counts a header per datagram
        self.assertEqual(tr.get_write_buffer_size(), 1000 + header, "bytes are counted")
        while "pause" not in proto.calls:
            tr.sendto(b"%05d" % sent + b"x" * 995)
            sent += 1
        self.assertEqual(proto.calls, ["made", "pause"])
        self.assertGreater(tr.get_write_buffer_size(), 4000)
        tr.close()
        self.assertTrue(tr.is_closing())
        got = []

        async def drain():
            while len(got) < sent:
                try:
                    got.append(peer.recv(2000))
                except BlockingIOError:
                    await asyncio.sleep(0.001)
        self.run_(asyncio.wait_for(drain(), 5))
        self.assertEqual([g[:5] for g in got], [b"%05d" % i for i in range(sent)],
                         "every datagram, in order")
        self.until(lambda: "lost" in proto.calls)
        self.assertEqual(proto.calls, ["made", "pause", "resume", "lost"])
        self.assertEqual(tr.get_write_buffer_size(), 0)

    def test_abort_drops_the_queue(self):
        tr, proto, peer = self.unix_pair()
        while tr.get_write_buffer_size() == 0:
            tr.sendto(b"x" * 1000)
        tr.abort()
        self.assertEqual(tr.get_write_buffer_size(), 0)
        self.turns()
        self.assertEqual(proto.calls[-1], "lost")
        self.assertIsNone(proto.lost)


class NoLeaks(unittest.TestCase):
    def test_ten_thousand_datagrams_leave_no_objects_behind(self):
        loop = asyncio_rs.new_event_loop()

        async def echo_many(n):
            server, _ = await loop.create_datagram_endpoint(Echo, local_addr=("127.0.0.1", 0))
            done = loop.create_future()

            class Counter(asyncio.DatagramProtocol):
                count = 0

                def datagram_received(self, data, addr):
                    self.count += 1
                    if self.count < n:
                        self.transport.sendto(data)
                    elif not done.done():
                        done.set_result(None)

                def connection_made(self, transport):
                    self.transport = transport

            client, _ = await loop.create_datagram_endpoint(
                Counter, remote_addr=server.get_extra_info("sockname"))
            for _ in range(8):  # a few in flight: a lost one does not stall the count
                client.sendto(b"x" * 64)
            await asyncio.wait_for(done, 120)  # a guard against a hang: valgrind is slow
            client.close()
            server.close()
            await asyncio.sleep(0)

        assert_no_leaks(self, loop, echo_many, 100, 5000)  # 10,000 datagrams, there and back


if __name__ == "__main__":
    unittest.main()
