"""asyncio_rs's pipe transports: ``_native.PipeTransport`` reads a pipe's read end, flushes
a write end's buffer and calls the protocol from Rust; these classes are what the protocol
sees (``asyncio.ReadTransport`` / ``asyncio.WriteTransport``), with the native methods
bound in their instance dictionary. They take what asyncio's take (pipes, sockets,
character devices) and make the fd non-blocking as asyncio's do; asyncio's subprocess
transports run on them."""

import os
import stat
import warnings
from asyncio import futures, transports

from . import _native

_READ_NATIVE = (
    "close", "is_closing", "is_reading", "pause_reading", "resume_reading", "set_protocol",
    "get_protocol", "_fatal_error", "_call_connection_lost",
)
_WRITE_NATIVE = (
    "write", "can_write_eof", "close", "abort", "is_closing", "get_write_buffer_size",
    "get_write_buffer_limits", "set_write_buffer_limits", "set_protocol", "get_protocol",
    "_fatal_error", "_call_connection_lost",
)


class _PipeTransportBase:
    _pipe = None
    _core = None

    def _start(self, loop, pipe, protocol, waiter, write, watch_read, names):
        self._extra["pipe"] = pipe
        self._loop = loop
        os.set_blocking(self._fileno, False)
        core = _native.PipeTransport(loop, pipe, protocol, self, write, watch_read)
        self._core = core
        self._pipe = pipe
        d = self.__dict__
        for name in names:
            d[name] = getattr(core, name)
        loop.call_soon(protocol.connection_made, self)
        # Reading (or watching for the reader to close) starts once connection_made()
        # has been called.
        loop.call_soon(core._start_reading)
        if waiter is not None:
            loop.call_soon(futures._set_result_unless_cancelled, waiter, None)

    @property
    def _protocol(self):
        return self._core.get_protocol() if self._core is not None else None

    @property
    def _closing(self):
        return self._core.is_closing()

    def _lost(self):
        core = self._core
        return core is None or core._state()[0]

    def __repr__(self):
        info = [self.__class__.__name__]
        core = self._core
        lost, closing, reading, writing, size = (
            core._state() if core else (True, False, False, False, 0))
        polling = writing if isinstance(self, transports.WriteTransport) else reading
        if lost:
            info.append("closed")
        elif closing:
            info.append("closing")
        info.append(f"fd={self._fileno}")
        if not lost and self._loop.is_closed():
            info.append("open")
        elif not lost:
            info.append("polling" if polling else "idle")
            if isinstance(self, transports.WriteTransport):
                info.append(f"bufsize={size}")
        else:
            info.append("closed")
        return "<{}>".format(" ".join(info))

    def __del__(self, _warn=warnings.warn):
        try:
            lost = self._lost()
        except RuntimeError:  # collected on another thread than its loop's: leave it be
            return
        if not lost and self._pipe is not None:
            _warn(f"unclosed transport {self!r}", ResourceWarning, source=self)
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
        self._start(loop, pipe, protocol, waiter, False, False, _READ_NATIVE)


class _WritePipeTransport(_PipeTransportBase, transports._FlowControlMixin,
                          transports.WriteTransport):
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
        self._start(loop, pipe, protocol, waiter, True, is_socket or is_fifo, _WRITE_NATIVE)

    @property
    def _protocol_paused(self):
        return self._core._protocol_paused

    def _maybe_pause_protocol(self):
        pass  # the native write does it

    def _maybe_resume_protocol(self):
        pass  # the native flush does it

    def write_eof(self):
        self._core.close()
