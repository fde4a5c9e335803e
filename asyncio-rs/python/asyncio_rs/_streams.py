"""asyncio_rs's streams fast path: asyncio's ``StreamReader`` and ``StreamWriter`` with
``read``, ``write`` and ``drain`` as native methods (``_native.install_streams``).

These subclasses add no state and keep asyncio's class names: the native methods work on
the attributes asyncio's own methods use, so everything else (``readline``,
``readexactly``, ``feed_eof``, ``wait_closed``, ...) is asyncio's code on the same state.
Nobody makes them: the socket transport, for asyncio's own ``StreamReaderProtocol``,
assigns ``__class__`` of an exact ``asyncio.StreamReader`` (and of the server side's exact
``asyncio.StreamWriter``) when asyncio's methods were not replaced. ``isinstance`` still
holds; subclasses and patched classes keep their own code.

``read(n)`` and ``drain()`` return a native awaitable with the coroutine protocol (errors
are raised when it is awaited, as with asyncio's coroutines); ``read()`` to end of file is
asyncio's coroutine.
"""

import asyncio

from . import _native

__all__ = ()


class StreamReader(asyncio.StreamReader):
    __slots__ = ()


class StreamWriter(asyncio.StreamWriter):
    __slots__ = ()


for _cls in (StreamReader, StreamWriter):
    _cls.__qualname__ = _cls.__name__
del _cls

_native.install_streams(StreamReader, StreamWriter)
