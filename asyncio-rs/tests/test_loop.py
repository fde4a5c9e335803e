"""asyncio_rs's own tests: the loop's behaviour a program relies on, and bad input getting
CPython's error or warning, never a crash."""

import asyncio
import contextvars
import ctypes
import functools
import gc
import inspect
import os
import signal
import re
import socket
import subprocess
import sys
import threading
import time
import types
import unittest
import warnings
import weakref
from unittest import mock

import asyncio_rs

from _support import LoopTestCase


class Scheduling(LoopTestCase):
    def test_call_soon_runs_in_order_with_args_and_context(self):
        var = contextvars.ContextVar("var", default="none")
        seen = []
        ctx = contextvars.copy_context()
        ctx.run(var.set, "ctx")
        self.loop.call_soon(seen.append, 1)
        self.loop.call_soon(lambda: seen.append(var.get()), context=ctx)
        self.loop.call_soon(seen.append, 3)
        self.loop.call_soon(self.loop.stop)
        self.loop.run_forever()
        self.assertEqual(seen, [1, "ctx", 3])

    def test_cancelled_handles_do_not_run(self):
        seen = []
        h = self.loop.call_soon(seen.append, 1)
        t = self.loop.call_later(0.001, seen.append, 2)
        self.assertFalse(h.cancelled())
        h.cancel()
        t.cancel()
        self.assertTrue(h.cancelled() and t.cancelled())
        self.loop.run_until_complete(asyncio.sleep(0.01))
        self.assertEqual(seen, [])

    def test_timers_fire_in_order_of_when(self):
        seen = []
        now = self.loop.time()
        t = self.loop.call_at(now + 0.02, seen.append, "b")
        self.loop.call_later(0.01, seen.append, "a")
        self.assertEqual(t.when(), now + 0.02)
        self.loop.run_until_complete(asyncio.sleep(0.05))
        self.assertEqual(seen, ["a", "b"])

    def test_a_due_timer_runs_before_a_stop_queued_after_it_as_in_asyncio(self):
        # asyncio's _run_once moves every timer whose time has come to the ready queue
        # before it runs that queue, so call_later(0) (or call_at(time())) runs in the same
        # iteration as a stop() queued after it, and before what the ready callbacks queue.
        def outcome(loop):
            seen = []
            for _ in range(10):  # several tries: one could fall on an edge of the clock
                loop.call_later(0, seen.append, "later")
                loop.call_at(loop.time(), seen.append, "at")
                loop.call_soon(lambda: loop.call_soon(seen.append, "queued by soon"))
                loop.call_soon(loop.stop)
                loop.run_forever()
                seen.append("stopped")
            loop.close()
            return seen

        want = outcome(asyncio.new_event_loop())
        self.assertEqual(want[:3], ["later", "at", "stopped"])
        self.assertEqual(outcome(asyncio_rs.new_event_loop()), want)

    def test_time_reads_time_monotonic_as_asyncio_s_does(self):
        # asyncio's loop.time() is time.monotonic(), and programs mix the two:
        # call_at(time.monotonic() + d) must wait d, not as long as the machine has been up.
        loop = asyncio_rs.new_event_loop()
        self.addCleanup(loop.close)
        before = time.monotonic()
        now = loop.time()
        after = time.monotonic()
        self.assertLessEqual(before - 0.01, now)
        self.assertLessEqual(now, after + 0.01)
        seen = []
        loop.call_at(time.monotonic(), seen.append, "due")
        loop.call_at(time.monotonic() + 3600, seen.append, "in an hour")
        loop.call_soon(loop.stop)
        loop.run_forever()
        self.assertEqual(seen, ["due"])

    def test_call_later_none_delay_is_a_type_error(self):
        with self.assertRaises(TypeError):
            self.loop.call_later(None, print)

    def test_arguments_by_keyword_as_asyncios_loop_takes_them(self):
        def outcome(loop):
            seen = []

            def note(*args):
                seen.append(args)

            calls = [
                lambda: loop.call_soon(callback=note),
                lambda: loop.call_later(delay=0, callback=note),
                lambda: loop.call_later(0, callback=lambda: note("later")),
                lambda: loop.call_at(when=loop.time(), callback=lambda: note("at")),
                lambda: loop.call_soon(note, 1, callback=note),
                lambda: loop.call_later(callback=note),
                lambda: loop.call_soon(note, 2, nope=1),
            ]
            out = []
            for call in calls:
                try:
                    call()
                    out.append("ok")
                except TypeError as e:
                    out.append(str(e).split("()")[1])  # the message after the method's name
            loop.run_until_complete(asyncio.sleep(0.01))
            loop.close()
            return out, seen

        want = outcome(asyncio.new_event_loop())
        self.assertEqual(want[0][:4], ["ok"] * 4)
        self.assertEqual(outcome(asyncio_rs.new_event_loop()), want)

    def test_call_soon_threadsafe_wakes_a_waiting_loop(self):
        fut = self.loop.create_future()

        def other():
            time.sleep(0.05)
            self.loop.call_soon_threadsafe(fut.set_result, threading.get_ident())

        threading.Thread(target=other).start()
        ident = self.loop.run_until_complete(asyncio.wait_for(fut, 5))
        self.assertNotEqual(ident, threading.get_ident())

    def test_other_threads_run_while_the_loop_waits(self):
        # The GIL is released in epoll_wait: a thread counting meanwhile makes progress.
        count = [0]
        stop = threading.Event()

        def spin():
            while not stop.is_set():
                count[0] += 1

        t = threading.Thread(target=spin)
        t.start()
        self.loop.run_until_complete(asyncio.sleep(0.1))
        stop.set()
        t.join()
        self.assertGreater(count[0], 1000)

    def test_futures_and_tasks_are_cpythons_c_ones(self):
        fut = self.loop.create_future()
        self.assertIs(type(fut), asyncio.futures._CFuture)

        async def main():
            return 7

        task = self.loop.create_task(main())
        self.assertIs(type(task), asyncio.tasks._CTask)
        self.assertEqual(self.loop.run_until_complete(task), 7)

    def test_run_helper_and_debug(self):
        async def main():
            return asyncio.get_running_loop().get_debug()

        self.assertTrue(asyncio_rs.run(main(), debug=True))
        self.assertFalse(asyncio_rs.run(main(), debug=False))

    def test_handle_repr_as_asyncio_in_and_out_of_debug_mode(self):
        # asyncio's: the arguments (3.14: in debug mode only) and, in debug mode, where the
        # handle was made; the clocks differ, so TimerHandle's when= is left out.
        def reprs(loop, debug):
            loop.set_debug(debug)
            try:
                h = loop.call_soon(print, 1, 2)
                t = loop.call_later(10, print, 3)
                t.cancel()
                h.cancel()
                return [repr(h), re.sub(r" when=[^ >]+", "", repr(t))]
            finally:
                loop.close()

        for debug in (False, True):
            self.assertEqual(reprs(asyncio_rs.new_event_loop(), debug),
                             reprs(asyncio.new_event_loop(), debug))


class BadInput(LoopTestCase):
    def test_a_callback_that_raises_goes_to_the_handler_and_the_loop_goes_on(self):
        seen = []
        self.loop.call_soon(lambda: 1 / 0)
        self.loop.call_soon(seen.append, "after")
        self.loop.run_until_complete(asyncio.sleep(0))
        self.assertEqual(seen, ["after"])
        self.assertEqual(len(self.errors), 1)
        self.assertIsInstance(self.errors[0]["exception"], ZeroDivisionError)
        self.assertTrue(self.errors[0]["message"].startswith("Exception in callback"))

    def test_keyboard_interrupt_escapes_run_forever_and_the_rest_runs_next_time(self):
        seen = []

        def interrupt():
            raise KeyboardInterrupt

        self.loop.call_soon(interrupt)
        self.loop.call_soon(seen.append, "later")
        with self.assertRaises(KeyboardInterrupt):
            self.loop.run_forever()
        self.assertEqual(seen, [])
        self.assertFalse(self.loop.is_running())
        self.assertIsNone(asyncio._get_running_loop())
        self.loop.run_until_complete(asyncio.sleep(0))
        self.assertEqual(seen, ["later"])

    def test_keyboard_interrupt_in_a_timer_escapes_and_the_loop_runs_again(self):
        def interrupt():
            raise KeyboardInterrupt

        self.loop.call_later(0.001, interrupt)
        with self.assertRaises(KeyboardInterrupt):
            self.loop.run_until_complete(asyncio.sleep(3600))
        self.assertFalse(self.loop.is_running())
        self.assertEqual(self.loop.run_until_complete(asyncio.sleep(0, "again")), "again")

    def test_system_exit_escapes_run_until_complete(self):
        async def main():
            raise SystemExit(3)

        with self.assertRaises(SystemExit):
            self.loop.run_until_complete(main())

    def test_add_reader_on_a_closed_fd_is_oserror(self):
        a, b = socket.socketpair()
        fd = a.fileno()
        a.close()
        b.close()
        with self.assertRaises(OSError):
            self.loop.add_reader(fd, print)
        with self.assertRaises(ValueError):
            self.loop.add_reader(-1, print)

    def test_add_reader_calls_while_readable_and_remove_reader_stops(self):
        a, b = socket.socketpair()
        a.setblocking(False)
        got = []

        def on_read():
            got.append(a.recv(100))
            if len(got) == 2:
                self.loop.remove_reader(a)

        self.loop.add_reader(a, on_read)
        b.send(b"one")
        self.loop.run_until_complete(asyncio.sleep(0.01))
        b.send(b"two")
        self.loop.run_until_complete(asyncio.sleep(0.01))
        b.send(b"three")
        self.loop.run_until_complete(asyncio.sleep(0.01))
        self.assertEqual(got, [b"one", b"two"])
        self.assertFalse(self.loop.remove_reader(a))
        a.close()
        b.close()

    def test_closed_while_tasks_are_pending_warns_not_crashes(self):
        async def forever():
            await asyncio.sleep(3600)

        task = self.loop.create_task(forever())
        self.loop.run_until_complete(asyncio.sleep(0))
        self.loop.close()
        self.assertFalse(task.done())
        with warnings.catch_warnings(record=True):
            warnings.simplefilter("always")
            del task
            gc.collect()
        # CPython's report of the task, through the loop's exception handler.
        messages = [ctx["message"] for ctx in self.errors]
        self.assertIn("Task was destroyed but it is pending!", messages)

    def test_callbacks_pending_at_close_are_dropped_not_run(self):
        class Callback:
            calls = 0

            def __call__(self):
                Callback.calls += 1

        cb = Callback()
        gone = weakref.ref(cb)
        self.loop.call_soon(cb)
        self.loop.call_later(0.001, cb)
        later = self.loop.call_later(0.001, Callback())
        del cb
        self.loop.close()
        gc.collect()
        # The loop let go of what it held: only the handles kept hold their callbacks.
        self.assertIsNone(gone())
        self.assertEqual(Callback.calls, 0)
        later.cancel()
        self.assertTrue(later.cancelled())

    def test_a_callback_after_close_is_cpythons_runtime_error(self):
        self.loop.close()
        for call in (
            lambda: self.loop.call_soon(print),
            lambda: self.loop.call_later(1, print),
            lambda: self.loop.call_at(0, print),
            lambda: self.loop.call_soon_threadsafe(print),
            lambda: self.loop.run_forever(),
        ):
            with self.assertRaisesRegex(RuntimeError, "Event loop is closed"):
                call()
        self.assertTrue(self.loop.is_closed())

    def test_closing_a_running_loop_is_a_runtime_error(self):
        async def main():
            with self.assertRaisesRegex(RuntimeError, "Cannot close a running event loop"):
                self.loop.close()

        self.loop.run_until_complete(main())


CTRL_C_PROGRAM = """
import asyncio, sys
async def main():
    print("ready", flush=True)
    try:
        await asyncio.sleep(30)
    except asyncio.CancelledError:
        print("main cancelled", flush=True)
        raise
if sys.argv[1] == "ours":
    import asyncio_rs
    asyncio_rs.run(main())
else:
    asyncio.run(main())
"""


class Import(unittest.TestCase):
    def test_importing_does_not_warn(self):
        # 3.14 deprecates asyncio.DefaultEventLoopPolicy: EventLoopPolicy must not touch it.
        done = subprocess.run(
            [sys.executable, "-W", "error::DeprecationWarning", "-c", "import asyncio_rs"],
            capture_output=True, text=True,
        )
        self.assertEqual((done.returncode, done.stderr), (0, ""))


class CtrlC(unittest.TestCase):
    def run_interrupted(self, which):
        child = subprocess.Popen(
            [sys.executable, "-c", CTRL_C_PROGRAM, which],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            # A shell's background job ignores SIGINT, and Python keeps that.
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        self.assertEqual(child.stdout.readline(), "ready\n")
        time.sleep(0.1)
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=30)
        return child.returncode, out, err.strip().splitlines()[-1:]

    def test_ctrl_c_cancels_main_and_raises_keyboard_interrupt_as_asyncio_run(self):
        want = self.run_interrupted("cpython")
        self.assertEqual(want[1:], ("main cancelled\n", ["KeyboardInterrupt"]))
        self.assertEqual(self.run_interrupted("ours"), want)


class Signals(LoopTestCase):
    """A Python signal handler (``signal.signal``) runs on our loop as on asyncio's: when a
    signal interrupts the loop's wait, and when one comes while only native callbacks run."""

    def setUp(self):
        super().setUp()
        self.order = []
        old = signal.signal(signal.SIGUSR1, lambda *_: self.on_signal())
        self.addCleanup(signal.signal, signal.SIGUSR1, old)

    def on_signal(self):
        self.order.append("handler")
        self.loop.stop()

    def test_a_signal_that_interrupts_the_wait_runs_its_handler_at_once(self):
        main = threading.main_thread().ident
        # Sent once the loop waits for its only timer, with the GIL released.
        sender = threading.Timer(0.05, signal.pthread_kill, (main, signal.SIGUSR1))
        self.loop.call_soon(sender.start)
        self.loop.call_later(10, self.order.append, "timer")
        self.loop.call_later(10, self.loop.stop)
        self.loop.run_forever()
        sender.join()
        self.assertEqual(self.order, ["handler"])

    def test_a_signal_sent_from_native_callbacks_is_handled_within_a_few_turns(self):
        # libc's kill through ctypes trips the signal without running its handler (os.kill
        # runs it at once), and functools.partial links run no bytecode: nothing but the
        # loop's own look at pending signals can run the handler before the chain's end.
        kill = ctypes.CDLL(None).kill
        end = functools.partial(self.order.append, "end")
        for _ in range(100):
            end = functools.partial(self.loop.call_soon, end)
        self.loop.call_soon(kill, os.getpid(), signal.SIGUSR1)
        self.loop.call_soon(end)
        self.loop.call_later(10, self.loop.stop)
        self.loop.run_forever()
        self.assertEqual(self.order, ["handler"])


class SlowCallbacks(LoopTestCase):
    def test_a_slow_callback_is_logged_in_debug_mode(self):
        def slow():
            time.sleep(0.1)

        self.loop.set_debug(True)
        self.loop.slow_callback_duration = 0.05
        with self.assertLogs("asyncio", "WARNING") as logs:
            self.loop.call_soon(slow)
            self.loop.run_until_complete(asyncio.sleep(0))
        slow_ones = [r.getMessage() for r in logs.records if "slow" in r.getMessage()]
        self.assertEqual(len(slow_ones), 1, slow_ones)
        self.assertRegex(slow_ones[0], r"^Executing <Handle .*slow\(\) at .*> took \d+\.\d{3} seconds$")
        took = float(slow_ones[0].split(" took ")[1].split()[0])
        self.assertGreaterEqual(took, 0.1)

    def test_nothing_is_timed_or_logged_out_of_debug_mode(self):
        self.loop.slow_callback_duration = 0.0
        with self.assertNoLogs("asyncio", "WARNING"):
            self.loop.call_soon(time.sleep, 0.01)
            self.loop.run_until_complete(asyncio.sleep(0))

    @mock.patch("asyncio.base_events.logger")
    def test_slow_callbacks_and_tasks_as_cpythons_test_base_events(self, m_logger):
        # CPython's test_log_slow_callbacks, on our loop.
        def stop_loop_cb(loop):
            loop.stop()

        async def stop_loop_coro(loop):
            loop.stop()

        self.loop.set_debug(True)
        self.loop.slow_callback_duration = 0.0
        self.loop.call_soon(stop_loop_cb, self.loop)
        self.loop.run_forever()
        fmt, *args = m_logger.warning.call_args[0]
        self.assertRegex(fmt % tuple(args), "^Executing <Handle.*stop_loop_cb.*> took .* seconds$")
        asyncio.ensure_future(stop_loop_coro(self.loop), loop=self.loop)
        self.loop.run_forever()
        fmt, *args = m_logger.warning.call_args[0]
        self.assertRegex(fmt % tuple(args), "^Executing <Task.*stop_loop_coro.*> took .* seconds$")

    def test_the_current_handle_is_known_to_the_exception_handler_in_debug_mode(self):
        seen = []

        def fail():
            seen.append(self.loop._current_handle)
            raise ValueError("boom")

        self.loop.set_debug(True)
        handle = self.loop.call_soon(fail)
        self.loop.run_until_complete(asyncio.sleep(0))
        self.assertEqual(seen, [handle])
        self.assertIsNone(self.loop._current_handle)
        self.assertIsInstance(self.errors[0]["exception"], ValueError)
        self.assertIn("source_traceback", self.errors[0])


class NoLeaks(LoopTestCase):
    def test_100000_callbacks_leave_no_objects_behind(self):
        def burst():
            for i in range(100_000):
                self.loop.call_soon(noop, [i])
            self.loop.call_soon(self.loop.stop)
            self.loop.run_forever()
            for i in range(1000):
                self.loop.call_later(0.0, noop, [i]).cancel()
            self.loop.run_until_complete(asyncio.sleep(0))

        assert_bursts_leave_nothing(self, burst)

    def test_a_handle_let_go_releases_its_callback_and_one_kept_stays_itself(self):
        # The loop keeps the handles it ran and nobody holds, emptied, for later call_soons:
        # their callbacks must be released as a freed handle's are, and a handle the caller
        # kept must never be filled again.
        seen = []

        class Target:
            def method(self):
                seen.append("ran")

        target = Target()
        gone = weakref.ref(target)
        self.loop.call_soon(target.method)
        kept = self.loop.call_soon(seen.append, "kept")
        self.loop.call_soon(seen.append, "cancelled").cancel()
        del target
        self.loop.run_until_complete(asyncio.sleep(0))
        self.assertEqual(seen, ["ran", "kept"])
        self.assertIsNone(gone())
        later = [self.loop.call_soon(seen.append, i) for i in range(20)]
        self.assertNotIn(kept, later)
        self.assertEqual((kept._callback, kept._args), (seen.append, ("kept",)))
        self.assertFalse(any(h.cancelled() for h in later))
        self.loop.run_until_complete(asyncio.sleep(0))
        self.assertEqual(seen[2:], list(range(20)))


class TimerReferences(LoopTestCase):
    """A timer's reference to its handle (a token on the Rust loop's wheel) is given back
    when it fires, when it is cancelled, and when the loop closes first: the callback's
    objects go as soon as nothing else holds the handle."""

    class Target:
        def method(self):
            pass

    def scheduled(self, loop, delay):
        target = self.Target()
        return loop.call_later(delay, target.method), weakref.ref(target)

    def test_cancelled_on_the_loop_s_thread(self):
        handle, gone = self.scheduled(self.loop, 3600)
        handle.cancel()
        del handle
        self.assertIsNone(gone())

    def test_fired(self):
        handle, gone = self.scheduled(self.loop, 0)
        self.loop.run_until_complete(asyncio.sleep(0.01))
        handle.cancel()  # after it ran: nothing to take off the wheel
        del handle
        self.assertIsNone(gone())

    def test_cancelled_from_another_thread_then_fired_as_a_no_op(self):
        seen = []
        handle = self.loop.call_later(0.001, seen.append, "ran")
        other, gone = self.scheduled(self.loop, 0.001)
        for h in (handle, other):
            thread = threading.Thread(target=h.cancel)
            thread.start()
            thread.join()
        del other, h
        self.assertIsNotNone(gone())  # the wheel holds it until it fires
        self.loop.run_until_complete(asyncio.sleep(0.01))
        self.assertEqual(seen, [])
        self.assertTrue(handle.cancelled())
        self.assertIsNone(gone())

    def test_pending_when_the_loop_closes(self):
        loop = asyncio_rs.new_event_loop()
        handle, gone = self.scheduled(loop, 3600)
        del handle
        self.assertIsNotNone(gone())
        loop.close()
        self.assertIsNone(gone())

    def test_never_due(self):
        target = self.Target()
        gone = weakref.ref(target)
        handle = self.loop.call_at(float("inf"), target.method)
        del target
        self.assertEqual(handle.when(), float("inf"))
        self.loop.run_until_complete(asyncio.sleep(0))
        del handle
        self.assertIsNone(gone())


def assert_bursts_leave_nothing(test, burst):
    """Runs ``burst()`` twice (the first warms caches): the second must leave the number of
    objects the garbage collector tracks within 50 of what it was."""
    burst()
    gc.collect()
    before = len(gc.get_objects())
    burst()
    gc.collect()
    after = len(gc.get_objects())
    test.assertLess(abs(after - before), 50, (before, after))


def noop(*args):
    pass


class NativeFutures(LoopTestCase):
    """create_future() and create_task(), C methods of the loop, keep asyncio's behaviour."""

    def test_create_future_is_a_c_future_of_the_loop(self):
        self.assertIsInstance(
            inspect.getattr_static(type(self.loop), "create_future"), types.MethodDescriptorType
        )
        fut = self.loop.create_future()
        self.assertIs(type(fut), asyncio.futures.Future)
        self.assertIs(fut.get_loop(), self.loop)
        self.loop.call_soon(fut.set_result, 42)
        self.assertEqual(self.loop.run_until_complete(fut), 42)
        with self.assertRaises(TypeError):
            self.loop.create_future(1)

    def test_create_task_with_name_and_context(self):
        self.assertIsInstance(
            inspect.getattr_static(type(self.loop), "create_task"), types.MethodDescriptorType
        )
        var = contextvars.ContextVar("var", default="outside")
        ctx = contextvars.copy_context()
        ctx.run(var.set, "inside")

        async def read():
            return var.get()

        named = self.loop.create_task(read(), name="reader", context=ctx)
        self.assertIs(type(named), asyncio.tasks.Task)
        self.assertIs(named.get_loop(), self.loop)
        self.assertEqual(named.get_name(), "reader")
        plain = self.loop.create_task(read())
        self.assertRegex(plain.get_name(), r"^Task-\d+$")
        by_keyword = self.loop.create_task(coro=read(), context=ctx, name=None)
        self.assertRegex(by_keyword.get_name(), r"^Task-\d+$")
        results = self.loop.run_until_complete(asyncio.gather(named, plain, by_keyword))
        self.assertEqual(results, ["inside", "outside", "inside"])

    def test_bad_arguments_raise_type_error(self):
        with self.assertRaises(TypeError):
            self.loop.create_task()
        coro = noop_coro()
        with self.assertRaises(TypeError):
            self.loop.create_task(coro, bogus=1)
        with self.assertRaises(TypeError):
            self.loop.create_task(coro, None)
        coro.close()
        with self.assertRaises(TypeError):
            self.loop.create_task(42)

    def test_task_factory_is_honoured(self):
        ctx = contextvars.copy_context()

        def factory_calls(loop):
            calls = []

            def factory(loop, coro, **kwargs):
                calls.append((loop, kwargs))
                return asyncio.Task(coro, loop=loop, **kwargs)

            loop.set_task_factory(factory)
            first = loop.create_task(noop_coro(), name="first")
            second = loop.create_task(noop_coro(), context=ctx)
            self.assertEqual(first.get_name(), "first")
            loop.run_until_complete(asyncio.gather(first, second))
            return [(called is loop, kwargs) for called, kwargs in calls]

        # The factory gets what asyncio's loop gives it: the context alone up to 3.13, every
        # keyword (the name too) from 3.14.
        theirs = asyncio.new_event_loop()
        try:
            expected = factory_calls(theirs)
        finally:
            theirs.close()
        self.assertEqual(expected[1], (True, {"context": ctx}))
        self.assertEqual(factory_calls(self.loop), expected)

    @unittest.skipUnless(hasattr(asyncio, "eager_task_factory"), "3.12+")
    def test_eager_task_factory_starts_the_task_at_once(self):
        self.loop.set_task_factory(asyncio.eager_task_factory)

        async def main():
            task = self.loop.create_task(noop_coro(), name="eager")
            return task.done(), task.get_name()

        # A task of a running loop runs to its first suspension inside create_task.
        self.assertEqual(self.loop.run_until_complete(main()), (True, "eager"))

    def test_closed_loop_raises_runtime_error(self):
        self.loop.close()
        coro = noop_coro()
        with self.assertRaisesRegex(RuntimeError, "Event loop is closed"):
            self.loop.create_task(coro)
        coro.close()

    def test_debug_mode_source_traceback_ends_at_the_caller(self):
        self.loop.set_debug(True)
        task = self.loop.create_task(noop_coro())
        frame = task._source_traceback[-1]
        self.assertEqual(frame.filename, __file__)
        self.assertEqual(frame.name, "test_debug_mode_source_traceback_ends_at_the_caller")
        self.loop.run_until_complete(task)
        self.loop.set_debug(False)
        self.assertIsNone(self.loop.create_future()._source_traceback)
        self.loop.run_until_complete(self.loop.create_task(noop_coro()))

    def test_no_leak(self):
        def burst():
            for _ in range(500):
                self.loop.create_future().cancel()
                self.loop.create_task(noop_coro(), name="t", context=None)
            self.loop.run_until_complete(asyncio.sleep(0))

        assert_bursts_leave_nothing(self, burst)


async def noop_coro():
    return None


if __name__ == "__main__":
    unittest.main()
