"""asyncio_rs's TCP and Unix socket transport: ``_native.SocketTransport`` does the I/O and
calls the protocol from Rust; this class is what the protocol sees, an
``asyncio.Transport`` (with asyncio's ``_FlowControlMixin``, as asyncio's own socket
transport), whose hot methods are the native ones, bound in its instance dictionary."""

import inspect
from asyncio import base_events, constants, transports

from . import _native
from ._base import _NativeFlowControl, _NativeTransport, _socket_extra

# Python 3.13's Server keeps its transports: _attach and _detach take the transport.
_SERVER_KEEPS_CLIENTS = len(inspect.signature(base_events.Server._attach).parameters) > 1

# The native methods each transport binds in its instance dictionary: those called per
# read or write (streams call them all), so that a call is one lookup, no Python frame.
_NATIVE = (
    "write", "writelines", "close", "is_closing", "is_reading", "pause_reading",
    "resume_reading", "get_write_buffer_size",
)
# The other native methods, forwarded by the class: binding them per transport costs each
# connection a dozen objects the garbage collector tracks (the accept rate's largest cost).
_FORWARDED = (
    "write_eof", "can_write_eof", "abort", "get_write_buffer_limits",
    "set_write_buffer_limits", "set_protocol", "get_protocol", "_force_close",
    "_fatal_error", "_call_connection_lost", "_make_empty_waiter", "_reset_empty_waiter",
)


def _forward(name):
    def method(self, *args, **kwargs):
        return getattr(self._core, name)(*args, **kwargs)
    method.__name__ = method.__qualname__ = name
    return method


class _SocketTransport(_NativeTransport, _NativeFlowControl, transports.Transport):
    """A connected stream socket's transport, driven by the Rust loop."""

    _start_tls_compatible = True
    # loop.sendfile() uses os.sendfile on the socket (EventLoop._sendfile_native).
    _sendfile_compatible = constants._SendfileMode.TRY_NATIVE
    _sock = None

    def __init__(self, loop, sock, protocol, waiter=None, extra=None, server=None,
                 nodelay=True):
        transports.BaseTransport.__init__(self, extra)
        _socket_extra(self._extra, sock)
        self._loop = loop
        self._server = server
        self._sock = sock
        self._sock_fd = sock.fileno()
        if nodelay:  # false from the native accept loop, which did it
            base_events._set_nodelay(sock)
        # The server first: a closed one refuses (an AssertionError, as asyncio's transport
        # gets), and then no native half was made, to be driven or collected.
        if server is not None:
            if _SERVER_KEEPS_CLIENTS:
                server._attach(self)
            else:
                server._attach()
        try:
            core = _native.SocketTransport(loop, sock, protocol, self, server,
                                           _SERVER_KEEPS_CLIENTS)
        except BaseException:
            if server is not None:
                server._detach(self) if _SERVER_KEEPS_CLIENTS else server._detach()
            raise
        loop._transports[self._sock_fd] = self
        self._start(core, protocol, waiter, _NATIVE)

    def _close_abandoned(self):
        self._sock.close()
        server = self._server
        if server is not None and _SERVER_KEEPS_CLIENTS:
            server._detach(self)


for _name in _FORWARDED:
    setattr(_SocketTransport, _name, _forward(_name))
del _name
