"""asyncio_rs: a drop-in asyncio event loop for CPython, on the Rust ``asyncio`` crate's
event loop.

    import asyncio, asyncio_rs
    asyncio_rs.run(main())
    asyncio.run(main(), loop_factory=asyncio_rs.new_event_loop)   # Python 3.12+
    with asyncio.Runner(loop_factory=asyncio_rs.new_event_loop) as r: r.run(main())
"""

import asyncio
from asyncio import unix_events

from ._loop import EventLoop, new_event_loop

__all__ = ("EventLoop", "EventLoopPolicy", "new_event_loop", "run", "install")
__version__ = "0.1.0"


# asyncio.DefaultEventLoopPolicy on Unix, under its own name: 3.14 deprecates the public one
# (its access warns), and importing asyncio_rs must not warn.
class EventLoopPolicy(unix_events._UnixDefaultEventLoopPolicy):
    """asyncio's default (Unix) policy, making ``asyncio_rs.EventLoop`` loops; for code
    that still sets a policy: ``asyncio.set_event_loop_policy(asyncio_rs.EventLoopPolicy())``.
    """

    def _loop_factory(self):
        return EventLoop()

    def new_event_loop(self):
        return EventLoop()


def install():
    """Makes ``asyncio_rs.EventLoopPolicy`` the current policy."""
    asyncio.set_event_loop_policy(EventLoopPolicy())


def run(main, *, debug=None):
    """Runs the coroutine ``main`` on a new ``asyncio_rs.EventLoop`` and returns its result,
    as ``asyncio.run`` does (every other task is cancelled, async generators and the default
    executor are shut down, the loop is closed)."""
    with asyncio.Runner(debug=debug, loop_factory=new_event_loop) as runner:
        return runner.run(main)
