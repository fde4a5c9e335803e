"""What asyncio_rs's transport classes (``_transport``, ``_datagram``, ``_pipe``) share. Each
is the Python object around a native half, ``self._core``, which does the I/O and calls the
protocol from Rust; the class binds the native methods called most in its instance
dictionary. Shared here: the start (those methods bound, ``connection_made`` then reading
scheduled), ``__repr__`` from the native state, the ``ResourceWarning`` of a transport
collected open, and write flow control left to the native half. The defaults are the
socket transports'; the pipes override what differs."""

import warnings
from asyncio import futures, transports, trsock

# The native state (lost, closing, reading, writing, buffer size) of a transport whose
# native half was never made.
_NO_CORE = (True, False, False, False, 0)


class _NativeTransport:
    """A transport whose native half is ``_core``."""

    __slots__ = ()
    _core = None

    def _start(self, core, protocol, waiter, names):
        """Binds ``core``'s methods ``names`` in the instance dictionary, then schedules
        ``connection_made`` and, once it has been called, the start of reading."""
        self._core = core
        d = self.__dict__
        for name in names:
            d[name] = getattr(core, name)
        loop = self._loop
        loop.call_soon(protocol.connection_made, self)
        loop.call_soon(core._start_reading)
        if waiter is not None:
            loop.call_soon(futures._set_result_unless_cancelled, waiter, None)

    @property
    def _protocol(self):
        core = self._core
        return core.get_protocol() if core is not None else None

    def _fd(self):
        return self._sock_fd

    def __repr__(self):
        core = self._core
        lost, closing, reading, writing, size = core._state() if core is not None else _NO_CORE
        info = [self.__class__.__name__]
        if lost:
            info.append("closed")
        elif closing:
            info.append("closing")
        info.append(f"fd={self._fd()}")
        info += self._io_repr(lost, reading, writing, size)
        return "<{}>".format(" ".join(info))

    def _io_repr(self, lost, reading, writing, size):
        """What ``__repr__`` says of reading and writing (asyncio's ``_SelectorTransport``)."""
        if lost or self._loop is None or self._loop.is_closed():
            return []
        return ["read=polling" if reading else "read=idle",
                f"write=<{'polling' if writing else 'idle'}, bufsize={size}>"]

    def __del__(self, _warn=warnings.warn):
        core = self._core
        try:
            lost = core is None or core._state()[0]
        except RuntimeError:  # collected on another thread than its loop's: leave it be
            return
        if not lost:
            _warn(f"unclosed transport {self!r}", ResourceWarning, source=self)
            self._close_abandoned()

    def _close_abandoned(self):
        """Closes the file of a transport collected open."""
        self._sock.close()


def _socket_extra(extra, sock):
    """asyncio's ``_SelectorTransport`` extra info: the socket and its two addresses."""
    extra["socket"] = trsock.TransportSocket(sock)
    if "sockname" not in extra:
        try:
            extra["sockname"] = sock.getsockname()
        except OSError:
            extra["sockname"] = None
    if "peername" not in extra:
        try:
            extra["peername"] = sock.getpeername()
        except OSError:
            extra["peername"] = None


class _NativeFlowControl(transports._FlowControlMixin):
    """asyncio's write flow control, which the native half does: its ``write`` pauses the
    protocol and its flush resumes it."""

    __slots__ = ()

    @property
    def _protocol_paused(self):
        return self._core._protocol_paused

    def _maybe_pause_protocol(self):
        pass

    def _maybe_resume_protocol(self):
        pass
