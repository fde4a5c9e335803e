"""What the package's test files share: a test case around a fresh loop, the protocol
callbacks every transport test records, and the check that many operations leave no
objects behind."""

import asyncio
import gc
import unittest

import asyncio_rs


class LoopTestCase(unittest.TestCase):
    """A fresh asyncio_rs loop per test; what its exception handler gets is in
    ``self.errors``."""

    def setUp(self):
        self.loop = asyncio_rs.new_event_loop()
        self.errors = []
        self.loop.set_exception_handler(lambda loop, ctx: self.errors.append(ctx))

    def tearDown(self):
        self.loop.close()

    def run_(self, coro):
        return self.loop.run_until_complete(coro)

    def turns(self, n=3):
        """Lets the loop turn ``n`` times."""
        for _ in range(n):
            self.run_(asyncio.sleep(0))

    def until(self, predicate, timeout=5.0):
        """Runs the loop until ``predicate()`` is true; fails after ``timeout`` seconds."""
        async def wait():
            deadline = self.loop.time() + timeout
            while not predicate():
                if self.loop.time() > deadline:
                    raise AssertionError("timed out")
                await asyncio.sleep(0.001)
        self.run_(wait())


class Recording:
    """A protocol's connection callbacks, recorded in ``calls`` (``lost``: the exception
    ``connection_lost`` got)."""

    def __init__(self):
        self.calls = []
        self.lost = "not lost"

    def connection_made(self, transport):
        self.transport = transport
        self.calls.append("made")

    def pause_writing(self):
        self.calls.append("pause")

    def resume_writing(self):
        self.calls.append("resume")

    def connection_lost(self, exc):
        self.calls.append("lost")
        self.lost = exc


def assert_no_leaks(test, loop, many, warmup, n):
    """Runs ``many(warmup)`` then ``many(n)`` on ``loop``, then closes it: the second run
    must leave fewer than 100 more objects that the garbage collector tracks (one left per
    operation would be ``n``)."""
    try:
        loop.run_until_complete(many(warmup))
        gc.collect()
        before = len(gc.get_objects())
        loop.run_until_complete(many(n))
        gc.collect()
        test.assertLess(len(gc.get_objects()) - before, 100)
    finally:
        loop.close()
