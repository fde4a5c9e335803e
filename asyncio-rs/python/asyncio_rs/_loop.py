"""asyncio_rs.EventLoop: asyncio's Unix event loop with the Rust loop under it.

What is native (``asyncio_rs._native.CoreLoop``, over the Rust crate's loop: its ready
queue, timer wheel, reactor and cross-thread door):

- ``time``, ``call_soon``, ``call_later``, ``call_at``, ``call_soon_threadsafe`` and their
  ``Handle`` / ``TimerHandle`` (the first three and ``get_debug`` as plain C methods,
  without PyO3's argument handling); where asyncio has ``events._ThreadSafeHandle`` (3.14,
  3.13.1, 3.12.8), ``call_soon_threadsafe`` returns one, run through the native door;
- ``create_future`` (CPython's C ``Future(loop=self)``, called from C) and ``create_task``
  (the C ``Task``, made from C for an open loop without a task factory outside debug mode;
  every other case calls ``BaseEventLoop.create_task``), as plain C methods;
- the turns of ``run_forever`` (``_run_once`` turns until ``stop()``), which release the GIL
  while they wait in ``epoll_wait``; debug mode's ``Executing <Handle ...> took 0.123
  seconds`` warning for a callback slower than ``slow_callback_duration``; ``stop``,
  ``is_closed``, ``get_debug``;
- the selector hooks ``_add_reader`` / ``_remove_reader`` / ``_add_writer`` /
  ``_remove_writer``, on the Rust reactor;
- TCP and Unix socket transports (``_make_socket_transport``, under
  ``create_connection``, ``create_server``, ``connect_accepted_socket``, streams): the
  transport's reads, writes, write buffer and flow control, and its calls of the protocol,
  run in Rust on the reactor (``_transport.py``);
- the ``sock_*`` methods (``sock_recv``, ``sock_recv_into``, ``sock_recvfrom``,
  ``sock_recvfrom_into``, ``sock_sendall``, ``sock_sendto``, ``sock_connect``,
  ``sock_accept``; ``src/sock``): the socket call is tried at once and, when the socket
  would block, the call waits as the fd's reader or writer on the reactor (beside
  ``add_reader`` / ``add_writer`` ones, as in asyncio) and completes a future from Rust.
  The ``async def`` methods here only await that future; ``sock_connect`` resolves the
  address with asyncio's ``_ensure_resolved`` first.
- UDP and ``AF_UNIX`` datagram transports (``_make_datagram_transport``, under
  ``create_datagram_endpoint``, which resolves addresses and sets socket options in
  asyncio's code): ``sendto`` with its queue and flow control, and the reads that call
  ``datagram_received`` / ``error_received``, in Rust (``_datagram.py``);
- pipe transports (``_make_read_pipe_transport`` / ``_make_write_pipe_transport``, under
  ``connect_read_pipe``, ``connect_write_pipe`` and the subprocess transports' pipes): reads,
  end of file, the write buffer with flow control and the watch for a closed reader, in
  Rust (``_pipe.py``).
- accepting connections for a plain TCP or Unix server (``_start_serving``): ``accept4``
  in Rust on the reactor, up to ``backlog`` per readiness, and the protocol and transport
  made at once, without asyncio's task per connection (``_server.py``,
  ``_native.Acceptor``); ``ssl=`` and ``start_tls`` put asyncio's ``SSLProtocol`` over the
  native transport (``_make_ssl_transport``);
- for asyncio's own ``StreamReaderProtocol``, the transport feeds its ``StreamReader``
  itself (``feed_data``'s append, wake-up and pause), without the Python calls, and gives an
  exact ``asyncio.StreamReader`` (and a server's exact ``asyncio.StreamWriter``) native
  ``read``, ``write`` and ``drain`` by setting its ``__class__`` to ``_streams``' subclass
  (no new state; asyncio's other methods run on the same attributes; subclasses and
  patched classes are left alone).

What delegates to asyncio's pure-Python classes (``BaseEventLoop`` and the Unix selector
loop), running on those native pieces:

- ``run_forever`` / ``run_until_complete`` / ``close`` / ``is_running`` (the set-up around
  the native turns: the running loop, async generator hooks, ``_check_running``);
- ``create_task`` with a task factory, in debug mode or on a closed loop;
- ``add_reader`` / ``add_writer`` (asyncio's checks, then the native hooks);
- connecting, happy eyeballs, ``Server``, accepting for a TLS server (asyncio's
  ``_accept_connection``, making our transports); TLS itself (asyncio's ``SSLProtocol``);
  ``sendfile`` (asyncio's ``sock_sendfile`` on the transport's socket);
- subprocesses: asyncio's transport, over the native pipes, with the child reaped by the
  Rust loop's child watcher (a pidfd on the reactor; ``_make_subprocess_transport``), not
  the policy's;
- ``sock_sendfile`` (asyncio's, over ``add_writer``), signal handlers, ``getaddrinfo``,
  executors, exception handlers: asyncio's own code over the native reader/writer hooks.
"""

import asyncio
import selectors
import socket
from asyncio import base_events, events, futures, unix_events

from . import _native, _server
from . import _streams  # noqa: F401 (installs the streams fast path)
from ._transport import _SocketTransport
from ._datagram import _DatagramTransport
from ._pipe import _ReadPipeTransport, _WritePipeTransport

__all__ = ("EventLoop", "new_event_loop")

# What a waiting sock_* call returns: the future of `create_future()` (C or Python Future).
_FUTURES = (futures.Future, futures._PyFuture)


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

    def _make_datagram_transport(self, sock, protocol, address=None, waiter=None,
                                 extra=None):
        return _DatagramTransport(self, sock, protocol, address, waiter, extra)

    def _make_read_pipe_transport(self, pipe, protocol, waiter=None, extra=None):
        return _ReadPipeTransport(self, pipe, protocol, waiter, extra)

    def _make_write_pipe_transport(self, pipe, protocol, waiter=None, extra=None):
        return _WritePipeTransport(self, pipe, protocol, waiter, extra)
    _start_serving = _server.start_serving
    _make_ssl_transport = _server.make_ssl_transport

    if hasattr(events, "_ThreadSafeHandle"):
        def call_soon_threadsafe(self, callback, *args, context=None):
            # asyncio 3.14 (and 3.13.1, 3.12.8): the handle is an events._ThreadSafeHandle,
            # whose lock makes a cancel() from another thread wait for its running callback
            # (and a callback cancelled meanwhile not run); the native door runs its _run.
            self._check_closed()
            if self._debug:
                self._check_callback(callback, "call_soon_threadsafe")
            handle = events._ThreadSafeHandle(callback, args, self, context)
            if handle._source_traceback:
                # The frames of _ThreadSafeHandle.__init__ and of this method, as asyncio.
                del handle._source_traceback[-2:]
            _native.CoreLoop.call_soon_threadsafe(self, handle._run)
            return handle

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

    async def _make_subprocess_transport(self, protocol, args, shell, stdin, stdout, stderr,
                                         bufsize, extra=None, **kwargs):
        # asyncio's, with the child on the Rust loop's watcher (a pidfd on the reactor per
        # child) whatever watcher the policy holds, as uvloop ignores them too: no thread per
        # child, and no SIGCHLD handler.
        waiter = self.create_future()
        transp = unix_events._UnixSubprocessTransport(
            self, protocol, args, shell, stdin, stdout, stderr, bufsize,
            waiter=waiter, extra=extra, **kwargs)
        _native.watch_child(self, transp.get_pid(), self._child_watcher_callback, transp)
        try:
            await waiter
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException:
            transp.close()
            await transp._wait()
            raise
        return transp
    # The sock_* methods: the native call returns the result, or a future when the socket
    # has to be waited for (src/sock).

    async def sock_recv(self, sock, n):
        r = _native.sock_recv(self, sock, n)
        return (await r) if isinstance(r, _FUTURES) else r

    async def sock_recv_into(self, sock, buf):
        r = _native.sock_recv_into(self, sock, buf)
        return (await r) if isinstance(r, _FUTURES) else r

    async def sock_recvfrom(self, sock, bufsize):
        r = _native.sock_recvfrom(self, sock, bufsize)
        return (await r) if isinstance(r, _FUTURES) else r

    async def sock_recvfrom_into(self, sock, buf, nbytes=0):
        r = _native.sock_recvfrom_into(self, sock, buf, nbytes)
        return (await r) if isinstance(r, _FUTURES) else r

    async def sock_sendall(self, sock, data):
        r = _native.sock_sendall(self, sock, data)
        if r is not None:
            return await r

    async def sock_sendto(self, sock, data, address):
        r = _native.sock_sendto(self, sock, data, address)
        return (await r) if isinstance(r, _FUTURES) else r

    async def sock_connect(self, sock, address):
        _native.sock_check(self, sock)
        if sock.family == socket.AF_INET or (
                base_events._HAS_IPv6 and sock.family == socket.AF_INET6):
            resolved = await self._ensure_resolved(
                address, family=sock.family, type=sock.type, proto=sock.proto,
                loop=self,
            )
            _, _, _, _, address = resolved[0]
        r = _native.sock_connect(self, sock, address)
        if r is not None:
            try:
                return await r
            finally:
                # As asyncio: the failed future, kept by this frame in the error's
                # traceback, would keep the error (happy eyeballs' refcycles).
                r = None

    async def sock_accept(self, sock):
        r = _native.sock_accept(self, sock)
        return (await r) if isinstance(r, _FUTURES) else r

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
