"""asyncio_rs.EventLoop: asyncio's Unix event loop with the Rust loop under it.

What is native (``asyncio_rs._native.CoreLoop``, over the Rust crate's loop: its ready
queue, timer wheel, reactor and cross-thread door):

- ``time``, ``call_soon``, ``call_later``, ``call_at``, ``call_soon_threadsafe`` and their
  ``Handle`` / ``TimerHandle``;
- one turn of the loop (``_run_once``), which releases the GIL while it waits in
  ``epoll_wait``; ``stop``, ``is_closed``, ``get_debug``;
- the selector hooks ``_add_reader`` / ``_remove_reader`` / ``_add_writer`` /
  ``_remove_writer``, on the Rust reactor;
- TCP and Unix socket transports (``_make_socket_transport``, under
  ``create_connection``, ``create_server``, ``connect_accepted_socket``, streams): the
  transport's reads, writes, write buffer and flow control, and its calls of the protocol,
  run in Rust on the reactor (``_transport.py``);
- accepting connections for a plain TCP or Unix server (``_start_serving``): ``accept4``
  in Rust on the reactor, up to ``backlog`` per readiness, and the protocol and transport
  made at once, without asyncio's task per connection (``_server.py``,
  ``_native.Acceptor``); ``ssl=`` and ``start_tls`` put asyncio's ``SSLProtocol`` over the
  native transport (``_make_ssl_transport``);
- for asyncio's own ``StreamReaderProtocol``, the transport feeds its ``StreamReader``
  itself (``feed_data``'s append, wake-up and pause), without the Python calls; the streams
  classes users see are asyncio's, unchanged.

What delegates to asyncio's pure-Python classes (``BaseEventLoop`` and the Unix selector
loop), running on those native pieces:

- ``run_forever`` / ``run_until_complete`` / ``close`` / ``is_running`` (a loop over the
  native turn);
- ``create_future`` / ``create_task`` (CPython's C ``Future`` and ``Task``);
- ``add_reader`` / ``add_writer`` (asyncio's checks, then the native hooks);
- connecting, happy eyeballs, ``Server``, accepting for a TLS server (asyncio's
  ``_accept_connection``, making our transports); TLS itself (asyncio's ``SSLProtocol``);
  ``sendfile`` (asyncio's ``sock_sendfile`` on the transport's socket);
- the ``sock_*`` methods, UDP, pipes, subprocesses, signal handlers,
  ``getaddrinfo``, executors, exception handlers: asyncio's own code
  over the native reader/writer hooks.
"""

import asyncio
import selectors
from asyncio import base_events, unix_events

from . import _native, _server
from ._transport import _SocketTransport

__all__ = ("EventLoop", "new_event_loop")


class _WatchView:
    """What asyncio's transports ask of ``loop._selector`` (their ``__repr__`` looks up an
    fd's key): answered from the native loop's watches. It is not a selector: nothing
    selects on it."""

    __slots__ = ("_loop",)

    def __init__(self, loop):
        self._loop = loop

    def get_key(self, fileobj):
        fd = selectors._fileobj_to_fd(fileobj)
        mask = self._loop._watch_mask(fd)
        if not mask:
            raise KeyError(f"{fileobj!r} is not registered")
        return selectors.SelectorKey(fileobj, fd, mask, None)

    def get_map(self):
        return None

    def close(self):
        pass


class EventLoop(_native.CoreLoop, unix_events._UnixSelectorEventLoop):
    """An asyncio event loop running on the Rust loop of the ``asyncio`` crate."""

    def __init__(self):
        unix_events._UnixSelectorEventLoop.__init__(self, _WatchView(self))

    def close(self):
        if self.is_running():
            raise RuntimeError("Cannot close a running event loop")
        if self.is_closed():
            return
        try:
            super().close()
        finally:
            self._close_native()

    def _make_socket_transport(self, sock, protocol, waiter=None, *, extra=None,
                               server=None):
        return _SocketTransport(self, sock, protocol, waiter, extra, server)

    _start_serving = _server.start_serving
    _make_ssl_transport = _server.make_ssl_transport

    async def _sendfile_native(self, transp, file, offset, count):
        if not isinstance(transp, _SocketTransport):
            return await super()._sendfile_native(transp, file, offset, count)
        # asyncio's, with the transport's fd taken off the reactor while sock_sendfile
        # watches it itself.
        del self._transports[transp._sock_fd]
        resume_reading = transp.is_reading()
        transp.pause_reading()
        await transp._make_empty_waiter()
        transp._core._detach()
        try:
            return await self.sock_sendfile(transp._sock, file, offset, count, fallback=False)
        finally:
            transp._core._attach()
            transp._reset_empty_waiter()
            if resume_reading:
                transp.resume_reading()
            self._transports[transp._sock_fd] = transp

    def _add_callback(self, handle):
        # A signal's handle (asyncio's `_handle_signal`), which asyncio puts in its own
        # ready queue: here it goes to the Rust loop's.
        if not handle._cancelled:
            self.call_soon(handle._run)

    def _process_events(self, event_list):  # pragma: no cover - the Rust loop polls
        raise RuntimeError("asyncio_rs.EventLoop has no selector to process")


def new_event_loop():
    """A new ``asyncio_rs.EventLoop`` (for ``asyncio.run(..., loop_factory=...)``)."""
    return EventLoop()
