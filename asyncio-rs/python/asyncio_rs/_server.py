"""asyncio_rs's server hooks, which ``EventLoop`` takes as its own methods:

- ``_start_serving``: a plain TCP or Unix server accepts natively (``_native.Acceptor``, the
  listening socket's reader, registered with ``_add_reader`` as asyncio registers its own
  ``_accept_connection``; ``Server.close`` stops it through ``_stop_serving`` as it stops
  asyncio's). A TLS server keeps asyncio's accept path, whose transports are ours
  (``_make_ssl_transport`` below).
- ``_make_ssl_transport``: asyncio's ``SSLProtocol`` over our native socket transport (as
  ``start_tls`` does), where asyncio's selector loop would put its own Python transport.
"""

from asyncio import constants, selector_events, sslproto

from . import _native
from ._transport import _SocketTransport


def start_serving(self, protocol_factory, sock, sslcontext=None, server=None, backlog=100,
                  ssl_handshake_timeout=constants.SSL_HANDSHAKE_TIMEOUT,
                  ssl_shutdown_timeout=constants.SSL_SHUTDOWN_TIMEOUT):
    if sslcontext:
        return selector_events.BaseSelectorEventLoop._start_serving(
            self, protocol_factory, sock, sslcontext, server, backlog,
            ssl_handshake_timeout, ssl_shutdown_timeout)
    acceptor = _native.Acceptor(self, sock, protocol_factory, server, backlog,
                                _SocketTransport)
    self._add_reader(sock.fileno(), acceptor)


def make_ssl_transport(self, rawsock, protocol, sslcontext, waiter=None, *,
                       server_side=False, server_hostname=None, extra=None, server=None,
                       ssl_handshake_timeout=constants.SSL_HANDSHAKE_TIMEOUT,
                       ssl_shutdown_timeout=constants.SSL_SHUTDOWN_TIMEOUT):
    ssl_protocol = sslproto.SSLProtocol(
        self, protocol, sslcontext, waiter, server_side, server_hostname,
        ssl_handshake_timeout=ssl_handshake_timeout,
        ssl_shutdown_timeout=ssl_shutdown_timeout)
    _SocketTransport(self, rawsock, ssl_protocol, extra=extra, server=server)
    return ssl_protocol._app_transport
