"""The event loops the Python benches compare: asyncio's own, asyncio_rs, and uvloop and rloop
when they are installed."""

import asyncio

import asyncio_rs


def loops(**extra):
    """Name to loop factory, in the order the tables print them; ``extra`` (a bench's own
    variants) comes after asyncio_rs."""
    found = {"asyncio": asyncio.new_event_loop, "asyncio_rs": asyncio_rs.new_event_loop, **extra}
    for name in ("uvloop", "rloop"):
        try:
            found[name] = __import__(name).new_event_loop
        except ImportError:
            pass
    return found
