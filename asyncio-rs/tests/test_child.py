"""Subprocesses on asyncio_rs: the child is reaped by the Rust loop's child watcher (a pidfd
on the reactor), not by a thread or the policy's watcher, and its exit reaches asyncio's
subprocess transport as asyncio's watchers report it."""

import asyncio
import contextlib
import os
import signal
import sys
import threading
import time
import unittest
from unittest import mock

import asyncio_rs


def _state(pid):
    """The child's state letter in /proc (Z for a zombie), or None once it is reaped."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return None


class ChildWatcher(unittest.TestCase):
    def run_on_ours(self, coro):
        return asyncio_rs.run(coro)

    def test_exit_codes_and_output(self):
        async def main():
            ok = await asyncio.create_subprocess_exec(
                sys.executable, "-c", "import sys; print('out'); sys.exit(7)",
                stdout=asyncio.subprocess.PIPE)
            out, _ = await ok.communicate()
            shell = await asyncio.create_subprocess_shell("exit 3")
            return out, ok.returncode, await shell.wait()

        self.assertEqual(self.run_on_ours(main()), (b"out\n", 7, 3))

    def test_killed_child_reports_minus_the_signal(self):
        async def main():
            proc = await asyncio.create_subprocess_exec("sleep", "30")
            proc.send_signal(signal.SIGKILL)
            return await proc.wait()

        self.assertEqual(self.run_on_ours(main()), -signal.SIGKILL)

    def test_no_thread_per_child_and_policy_watcher_unused(self):
        watcher = mock.Mock()

        async def main():
            before = threading.active_count()
            procs = [await asyncio.create_subprocess_exec("sleep", "0.2") for _ in range(20)]
            during = threading.active_count()
            codes = await asyncio.gather(*(p.wait() for p in procs))
            return before, during, codes

        # 3.14 removed child watchers (and get_child_watcher) from asyncio.
        if hasattr(asyncio.events, "get_child_watcher"):
            policy = mock.patch.object(asyncio.events, "get_child_watcher", return_value=watcher)
        else:
            policy = contextlib.nullcontext()
        with policy:
            before, during, codes = self.run_on_ours(main())
        self.assertEqual(codes, [0] * 20)
        # asyncio 3.11's default ThreadedChildWatcher starts one thread per running child.
        self.assertEqual(during, before)
        watcher.add_child_handler.assert_not_called()

    def test_child_outliving_a_closed_loop_is_still_reaped(self):
        loop = asyncio_rs.new_event_loop()
        proc = loop.run_until_complete(asyncio.create_subprocess_exec("sleep", "0.1"))
        pid = proc.pid
        # The transport's close would kill it; the loop closing alone must not leave a zombie.
        loop.close()
        deadline = time.monotonic() + 10
        while _state(pid) is not None and time.monotonic() < deadline:
            time.sleep(0.02)
        self.assertIsNone(_state(pid), "the child was left a zombie")

    def test_child_reaped_by_someone_else_reports_255(self):
        async def main():
            proc = await asyncio.create_subprocess_exec("sleep", "30")
            os.kill(proc.pid, signal.SIGKILL)
            # Reap it behind the watcher's back, as a stray waitpid(-1) would, before the
            # loop turns again.
            try:
                os.waitpid(proc.pid, 0)
            except ChildProcessError:
                # Where pidfds are refused (under valgrind, say), a thread of the watcher
                # reaps at once and may come first.
                self.skipTest("the watcher's thread reaped the child first")
            return await proc.wait()

        self.assertEqual(self.run_on_ours(main()), 255)


if __name__ == "__main__":
    unittest.main()
