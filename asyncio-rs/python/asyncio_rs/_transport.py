"""asyncio_rs's TCP and Unix socket transport: ``_native.SocketTransport`` does the I/O and
calls the protocol from Rust; this class is what the protocol sees, an
``asyncio.Transport`` (with asyncio's ``_FlowControlMixin``, as asyncio's own socket
transport), whose hot methods are the native ones, bound in its instance dictionary."""

import inspect
import warnings
from asyncio import base_events, constants, futures, transports, trsock

from . import _native

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


class _SocketTransport(transports._FlowControlMixin, transports.Transport):
    """A connected stream socket's transport, driven by the Rust loop."""

    _start_tls_compatible = True
    # loop.sendfile() uses os.sendfile on the socket (EventLoop._sendfile_native).
    _sendfile_compatible = constants._SendfileMode.TRY_NATIVE
    _sock = None

    def __init__(self, loop, sock, protocol, waiter=None, extra=None, server=None,
                 nodelay=True):
        transports.BaseTransport.__init__(self, extra)
        self._extra["socket"] = trsock.TransportSocket(sock)
        if "sockname" not in self._extra:
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
        pass  # the native write does it

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
            server = self._server
            if server is not None and _SERVER_KEEPS_CLIENTS:
                server._detach(self)


for _name in _FORWARDED:
    setattr(_SocketTransport, _name, _forward(_name))
del _name
