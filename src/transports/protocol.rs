//! `Protocol`: asyncio's callbacks of a stream connection.

use super::Transport;
use std::io;

/// The callbacks of a stream connection (asyncio's `Protocol`), for
/// [`create_connection`](crate::LoopHandle::create_connection),
/// [`create_server`](crate::LoopHandle::create_server) and their Unix twins.
///
/// The loop calls them one at a time, never inside one another and never inside a
/// [`Transport`] method, in asyncio's order: `connection_made` first, once; then
/// `data_received` as bytes arrive (reading is eager: whenever the socket is readable, unless
/// [`pause_reading`](Transport::pause_reading)), `eof_received` once if the peer shuts its
/// side, `pause_writing` / `resume_writing` as the write buffer crosses its water marks; and
/// `connection_lost` once, last.
///
/// What asyncio calls synchronously from inside a transport method (`pause_writing` from
/// inside `write`) is called here as soon as the callback that wrote returns, before any other
/// callback of this connection: a protocol's `&mut self` is never borrowed twice.
///
/// A callback that panics aborts the connection (buffered data is dropped, the peer sees a
/// reset); the panic is logged at error level and `connection_lost` gets an error saying so.
/// The loop, the server and the other connections go on.
///
/// # Examples
/// asyncio's `EchoServerProtocol` and a client that sends one message:
/// ```
/// use asyncio::{Protocol, Transport};
///
/// struct Echo { transport: Option<Transport> }
/// impl Protocol for Echo {
///     fn connection_made(&mut self, t: Transport) { self.transport = Some(t); }
///     fn data_received(&mut self, data: &[u8]) {
///         self.transport.as_ref().unwrap().write(data);
///         self.transport.as_ref().unwrap().close();
///     }
/// }
///
/// struct Client { message: &'static [u8], got: Vec<u8>, done: asyncio::Event }
/// impl Protocol for Client {
///     fn connection_made(&mut self, t: Transport) { t.write(self.message); }
///     fn data_received(&mut self, data: &[u8]) { self.got.extend_from_slice(data); }
///     fn connection_lost(&mut self, _exc: Option<std::io::Error>) { self.done.set(); }
/// }
///
/// # asyncio::run(async {
/// let lp = asyncio::get_running_loop();
/// let server = lp.create_server(|| Echo { transport: None }, "127.0.0.1", 0).await?;
/// let port = server.sockets()[0].as_inet().unwrap().port();
/// let done = asyncio::Event::new();
/// let client = Client { message: b"Hello World!", got: Vec::new(), done: done.clone() };
/// let (_transport, proto) = lp.create_connection(move || client, "127.0.0.1", port).await?;
/// done.wait().await;
/// assert_eq!(proto.borrow().got, b"Hello World!");
/// # std::io::Result::Ok(())
/// # }).unwrap();
/// ```
pub trait Protocol {
    /// The connection is made; `transport` writes to it and closes it. Called first, once.
    fn connection_made(&mut self, transport: Transport) {
        let _ = transport;
    }

    /// Bytes arrived (at most 64 KiB at a time); `data` is lent for the call only.
    fn data_received(&mut self, data: &[u8]) {
        let _ = data;
    }

    /// The peer shut its writing side (it sent FIN, or TLS's `close_notify`). Return `false`
    /// (the default, as asyncio's `None`) to have the transport close itself; `true` to keep
    /// it open for writing, and close it yourself later. Nothing is read after it.
    fn eof_received(&mut self) -> bool {
        false
    }

    /// The connection is closed: `None` after [`close`](Transport::close) finished sending
    /// (or [`abort`](Transport::abort)), the error otherwise (a reset, a failed write, a
    /// panicking callback). Called last, once, and only after `connection_made`.
    fn connection_lost(&mut self, exc: Option<io::Error>) {
        let _ = exc;
    }

    /// The write buffer went above its high-water mark (64 KiB by default): stop writing
    /// until [`resume_writing`](Self::resume_writing).
    fn pause_writing(&mut self) {}

    /// The write buffer drained to its low-water mark (16 KiB by default) after a
    /// [`pause_writing`](Self::pause_writing).
    fn resume_writing(&mut self) {}
}
