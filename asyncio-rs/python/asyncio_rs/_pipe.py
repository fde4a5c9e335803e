"""asyncio_rs's pipe transports: ``_native.PipeTransport`` reads a pipe's read end, flushes
a write end's buffer and calls the protocol from Rust; these classes are what the protocol
sees (``asyncio.ReadTransport`` / ``asyncio.WriteTransport``), with the native methods
bound in their instance dictionary. They take what asyncio's take (pipes, sockets,
character devices) and make the fd non-blocking as asyncio's do; asyncio's subprocess
transports run on them."""

import os
import stat
from asyncio import transports

from . import _native
from ._base import _NativeFlowControl, _NativeTransport

_READ_NATIVE = (
    "close", "is_closing", "is_reading", "pause_reading", "resume_reading", "set_protocol",
    "get_protocol", "_fatal_error", "_call_connection_lost",
)
_WRITE_NATIVE = (
    "write", "can_write_eof", "close", "abort", "is_closing", "get_write_buffer_size",
    "get_write_buffer_limits", "set_write_buffer_limits", "set_protocol", "get_protocol",
    "_fatal_error", "_call_connection_lost",
)


class _PipeTransportBase(_NativeTransport):
    _pipe = None

    def _start_pipe(self, loop, pipe, protocol, waiter, write, watch_read, names):
        self._extra["pipe"] = pipe
        self._loop = loop
        os.set_blocking(self._fileno, False)
        core = _native.PipeTransport(loop, pipe, protocol, self, write, watch_read)
        self._pipe = pipe
        # Reading (or watching for the reader to close) starts once connection_made() has
        # been called.
        self._start(core, protocol, waiter, names)

    @property
    def _closing(self):
        return self._core.is_closing()

    def _fd(self):
        return self._fileno

    def _io_repr(self, lost, reading, writing, size):
        if lost:
            return ["closed"]
        if self._loop.is_closed():
            return ["open"]
        if isinstance(self, transports.WriteTransport):
            return ["polling" if writing else "idle", f"bufsize={size}"]
        return ["polling" if reading else "idle"]

    def _close_abandoned(self):
        self._pipe.close()


class _ReadPipeTransport(_PipeTransportBase, transports.ReadTransport):
    """A pipe's read end, driven by the Rust loop (asyncio's ``_UnixReadPipeTransport``)."""

    max_size = 64 * 1024

    def __init__(self, loop, pipe, protocol, waiter=None, extra=None):
        super().__init__(extra)
        self._fileno = pipe.fileno()
        mode = os.fstat(self._fileno).st_mode
        if not (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or stat.S_ISCHR(mode)):
            raise ValueError("Pipe transport is for pipes/sockets only.")
        self._start_pipe(loop, pipe, protocol, waiter, False, False, _READ_NATIVE)


class _WritePipeTransport(_PipeTransportBase, _NativeFlowControl, transports.WriteTransport):
    """A pipe's write end, driven by the Rust loop (asyncio's ``_UnixWritePipeTransport``)."""

    def __init__(self, loop, pipe, protocol, waiter=None, extra=None):
        transports.BaseTransport.__init__(self, extra)
        self._fileno = pipe.fileno()
        mode = os.fstat(self._fileno).st_mode
        is_char = stat.S_ISCHR(mode)
        is_fifo = stat.S_ISFIFO(mode)
        is_socket = stat.S_ISSOCK(mode)
        if not (is_char or is_fifo or is_socket):
            raise ValueError("Pipe transport is only for "
                             "pipes, sockets and character devices")
        # The reader closing makes the write end of a pipe or socket readable.
        self._start_pipe(loop, pipe, protocol, waiter, True, is_socket or is_fifo,
                         _WRITE_NATIVE)

    def write_eof(self):
        self._core.close()
