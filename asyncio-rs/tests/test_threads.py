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
