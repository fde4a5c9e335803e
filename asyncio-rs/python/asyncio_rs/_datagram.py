"""asyncio_rs's datagram transport: ``_native.DatagramTransport`` sends, queues and reads
datagrams and calls the protocol from Rust; this class is what the protocol sees, an
``asyncio.DatagramTransport`` (with asyncio's ``_FlowControlMixin``, as asyncio's own),
whose methods are the native ones, bound in its instance dictionary.

One difference from asyncio's: ``sendto`` after ``close()`` is counted and dropped for every
transport (asyncio's does it for a connected one; its unconnected one still sends until the
socket is closed, and fails after). On Python 3.13 and later, empty datagrams are sent and
``get_write_buffer_size`` counts 8 bytes of header per queued datagram, as 3.13's asyncio
does; the water marks compare the data bytes alone."""

import sys
import warnings
from asyncio import futures, transports, trsock

from . import _native

# The native methods each transport binds in its instance dictionary.
_NATIVE = (
    "sendto", "close", "abort", "is_closing", "is_reading", "pause_reading", "resume_reading",
    "get_write_buffer_size",
    "get_write_buffer_limits", "set_write_buffer_limits", "set_protocol", "get_protocol",
    "_force_close", "_fatal_error", "_call_connection_lost",
)


class _DatagramTransport(transports._FlowControlMixin, transports.DatagramTransport):
    """A datagram socket's transport (UDP, ``AF_UNIX``), driven by the Rust loop."""

    max_size = 256 * 1024
    _sock = None

    def __init__(self, loop, sock, protocol, address=None, waiter=None, extra=None):
        transports.BaseTransport.__init__(self, extra)
        self._extra["socket"] = trsock.TransportSocket(sock)
        try:
            self._extra["sockname"] = sock.getsockname()
        except OSError:
            self._extra["sockname"] = None
        if "peername" not in self._extra:
            try:
                self._extra["peername"] = sock.getpeername()
            except OSError:
                self._extra["peername"] = None
        self._loop = loop
        self._sock = sock
        self._sock_fd = sock.fileno()
        self._address = address
        core = _native.DatagramTransport(
            loop, sock, protocol, self, address, bool(self._extra["peername"]),
            sys.version_info >= (3, 13))
        self._core = core
        d = self.__dict__
        for name in _NATIVE:
            d[name] = getattr(core, name)
        loop._transports[self._sock_fd] = self
        loop.call_soon(protocol.connection_made, self)
        # Reading starts once connection_made() has been called.
        loop.call_soon(core._start_reading)
        if waiter is not None:
            loop.call_soon(futures._set_result_unless_cancelled, waiter, None)

    @property
    def _protocol(self):
        return self._core.get_protocol()

    @property
    def _protocol_paused(self):
        return self._core._protocol_paused

    def _maybe_pause_protocol(self):
        pass  # the native sendto does it

    def _maybe_resume_protocol(self):
        pass  # the native flush does it

    def __repr__(self):
        lost, closing, reading, writing, size = self._core._state()
        info = [self.__class__.__name__]
        if lost:
            info.append("closed")
        elif closing:
            info.append("closing")
        info.append(f"fd={self._sock_fd}")
        if not lost and self._loop is not None and not self._loop.is_closed():
            info.append("read=polling" if reading else "read=idle")
            info.append(f"write=<{'polling' if writing else 'idle'}, bufsize={size}>")
        return "<{}>".format(" ".join(info))

    def __del__(self, _warn=warnings.warn):
        core = getattr(self, "_core", None)
        try:
            lost = core is None or core._state()[0]
        except RuntimeError:  # collected on another thread than its loop's: leave it be
            return
        if not lost:
            _warn(f"unclosed transport {self!r}", ResourceWarning, source=self)
            self._sock.close()
