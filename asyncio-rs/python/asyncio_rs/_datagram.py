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
from asyncio import transports

from . import _native
from ._base import _NativeFlowControl, _NativeTransport, _socket_extra

# The native methods each transport binds in its instance dictionary.
_NATIVE = (
    "sendto", "close", "abort", "is_closing", "is_reading", "pause_reading", "resume_reading",
    "get_write_buffer_size",
    "get_write_buffer_limits", "set_write_buffer_limits", "set_protocol", "get_protocol",
    "_force_close", "_fatal_error", "_call_connection_lost",
)


class _DatagramTransport(_NativeTransport, _NativeFlowControl, transports.DatagramTransport):
    """A datagram socket's transport (UDP, ``AF_UNIX``), driven by the Rust loop."""

    max_size = 256 * 1024
    _sock = None

    def __init__(self, loop, sock, protocol, address=None, waiter=None, extra=None):
        transports.BaseTransport.__init__(self, extra)
        _socket_extra(self._extra, sock)
        self._loop = loop
        self._sock = sock
        self._sock_fd = sock.fileno()
        self._address = address
        core = _native.DatagramTransport(
            loop, sock, protocol, self, address, bool(self._extra["peername"]),
            sys.version_info >= (3, 13))
        loop._transports[self._sock_fd] = self
        self._start(core, protocol, waiter, _NATIVE)
