"""A loop made on one thread and run on another, as asyncio allows: the worker-thread loop
of programs that drive asyncio from synchronous code."""

import asyncio
import socket
import threading
import unittest

import asyncio_rs


class LoopOnAnotherThread(unittest.TestCase):
    def test_made_on_main_run_on_a_worker_then_closed_on_main(self):
        loop = asyncio_rs.new_event_loop()
        worker = threading.Thread(target=loop.run_forever)
        worker.start()

        async def echo_once():
            # Sockets, timers and tasks on the worker's loop.
            a, b = socket.socketpair()
            r1, w1 = await asyncio.open_connection(sock=a)
            r2, w2 = await asyncio.open_connection(sock=b)
            w1.write(b"ping")
            await w1.drain()
            got = await r2.readexactly(4)
            await asyncio.sleep(0.01)
            for w in (w1, w2):
                w.close()
            return got, threading.current_thread() is worker

        try:
            got = asyncio.run_coroutine_threadsafe(echo_once(), loop).result(10)
            self.assertEqual(got, (b"ping", True))
            # While it runs there, this thread may not touch it but through the threadsafe door.
            with self.assertRaisesRegex(RuntimeError, "Non-thread-safe operation"):
                loop.call_soon(print)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            worker.join(10)
        self.assertFalse(worker.is_alive())
        # Stopped: the main thread takes it back, runs it, and closes it.
        self.assertEqual(loop.run_until_complete(asyncio.sleep(0, "back")), "back")
        loop.close()
        self.assertTrue(loop.is_closed())

    def test_transports_and_waiting_calls_move_with_the_loop(self):
        loop = asyncio_rs.new_event_loop()
        errors = []
        loop.set_exception_handler(lambda lp, ctx: errors.append(ctx))
        a, b = socket.socketpair()
        a.setblocking(False)
        c, d = socket.socketpair()
        # Made on this thread: a waiting sock_recv and a streams connection.
        waiting = loop.create_task(loop.sock_recv(a, 100))
        reader, writer = loop.run_until_complete(asyncio.open_connection(sock=c))
        loop.run_until_complete(asyncio.sleep(0.01))
        out = {}

        def worker():
            async def main():
                waiting.cancel()
                await asyncio.sleep(0.01)
                out["mask"] = loop._watch_mask(a.fileno())
                b.send(b"after")
                out["recv"] = await asyncio.wait_for(loop.sock_recv(a, 100), 5)
                writer.write(b"from the worker")
                await writer.drain()
                out["peer"] = d.recv(100)
                d.send(b"to the worker")
                out["read"] = await reader.read(100)

            loop.run_until_complete(main())

        t = threading.Thread(target=worker)
        t.start()
        t.join(10)
        try:
            self.assertEqual(out, {"mask": 0, "recv": b"after", "peer": b"from the worker",
                                   "read": b"to the worker"})
            self.assertEqual(errors, [])
        finally:
            writer.close()
            loop.run_until_complete(asyncio.sleep(0))
            loop.close()
            for s in (a, b, d):
                s.close()

    def test_a_transport_used_while_its_loop_runs_elsewhere_is_refused(self):
        loop = asyncio_rs.new_event_loop()
        c, d = socket.socketpair()
        _, writer = loop.run_until_complete(asyncio.open_connection(sock=c))
        worker = threading.Thread(target=loop.run_forever)
        worker.start()
        try:
            with self.assertRaisesRegex(RuntimeError, "Non-thread-safe operation"):
                writer.write(b"x")
        finally:
            loop.call_soon_threadsafe(loop.stop)
            worker.join(10)
            writer.close()
            loop.run_until_complete(asyncio.sleep(0))
            loop.close()
            d.close()

    def test_made_on_a_worker_run_on_main(self):
        made = []
        t = threading.Thread(target=lambda: made.append(asyncio_rs.new_event_loop()))
        t.start()
        t.join()
        loop = made[0]
        try:
            self.assertEqual(loop.run_until_complete(asyncio.sleep(0.01, "ok")), "ok")
        finally:
            loop.close()

    def test_each_thread_in_turn_runs_its_own_asyncio_rs_run(self):
        out = []

        def work(i):
            async def main():
                await asyncio.sleep(0.01)
                return i

            out.append(asyncio_rs.run(main()))

        threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        self.assertEqual(sorted(out), [0, 1, 2, 3])


if __name__ == "__main__":
    unittest.main()
