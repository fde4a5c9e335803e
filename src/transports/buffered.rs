//! `BufferedProtocol` (the protocol reads into its own buffer), and [`AnyProtocol`]: what
//! the loop can run, a [`Protocol`] or a [`Buffered`] one.
//!
//! The driver is generic over the sealed `Callbacks`: how one read reaches the protocol
//! (into the loop's buffer, then `data_received`; or into the protocol's `get_buffer`, then
//! `buffer_updated`) is the only difference, and each is monomorphised, with no dynamic call.

use super::{Protocol, Transport};
use std::cell::RefCell;
use std::io;
use std::task::{Context, Poll};

/// A protocol that receives into a buffer of its own, without a copy (asyncio's
/// `BufferedProtocol`). Run it wrapped in [`Buffered`] wherever a protocol is taken
/// ([`create_connection`](crate::LoopHandle::create_connection), `create_server`, …).
///
/// For each read the loop asks [`get_buffer`](Self::get_buffer) for room, reads the socket
/// straight into it, and calls [`buffer_updated`](Self::buffer_updated) with how many bytes
/// it wrote there. The other callbacks, their order and the handling of a panic are
/// [`Protocol`]'s. A `get_buffer` that returns an empty buffer counts as a panic (asyncio
/// raises `RuntimeError`).
///
/// # Examples
/// ```
/// use asyncio::{Buffered, BufferedProtocol};
/// /// Counts bytes into a fixed buffer, as a parser over its own memory would.
/// struct Counter { buf: [u8; 4096], total: usize, done: asyncio::Event }
/// impl BufferedProtocol for Counter {
///     fn get_buffer(&mut self, _size_hint: usize) -> &mut [u8] { &mut self.buf }
///     fn buffer_updated(&mut self, nbytes: usize) { self.total += nbytes; }
///     fn connection_lost(&mut self, _exc: Option<std::io::Error>) { self.done.set(); }
/// }
/// # asyncio::run(async {
/// let (a, b) = asyncio::net::UnixStream::pair()?;
/// let done = asyncio::Event::new();
/// let counter = Counter { buf: [0; 4096], total: 0, done: done.clone() };
/// let lp = asyncio::get_running_loop();
/// let (_t, proto) = lp.connect_accepted_socket(move || Buffered(counter), a).await?;
/// let (_r, w) = asyncio::open_socket(b);
/// w.write(&[1; 100_000]);
/// w.close();
/// done.wait().await;
/// assert_eq!(proto.borrow().0.total, 100_000);
/// # std::io::Result::Ok(())
/// # }).unwrap();
/// ```
pub trait BufferedProtocol {
    /// The connection is made. Called first, once.
    fn connection_made(&mut self, transport: Transport) {
        let _ = transport;
    }

    /// Room for the next read: at least one byte; `size_hint` is how much the loop would
    /// read at most (64 KiB).
    fn get_buffer(&mut self, size_hint: usize) -> &mut [u8];

    /// The last read wrote `nbytes` bytes at the start of the buffer `get_buffer` gave.
    fn buffer_updated(&mut self, nbytes: usize);

    /// As [`Protocol::eof_received`].
    fn eof_received(&mut self) -> bool {
        false
    }

    /// As [`Protocol::connection_lost`].
    fn connection_lost(&mut self, exc: Option<io::Error>) {
        let _ = exc;
    }

    /// As [`Protocol::pause_writing`].
    fn pause_writing(&mut self) {}

    /// As [`Protocol::resume_writing`].
    fn resume_writing(&mut self) {}
}

/// Runs a [`BufferedProtocol`] where a protocol is taken; the protocol is `.0`.
///
/// # Examples
/// See [`BufferedProtocol`].
#[derive(Debug, Default, Clone)]
pub struct Buffered<B>(pub B);

/// What the loop can run on a connection: any [`Protocol`], or a [`BufferedProtocol`] in
/// [`Buffered`]. Sealed: implement one of those two instead.
///
/// # Examples
/// ```
/// fn runnable<P: asyncio::AnyProtocol>() {}
/// struct Quiet;
/// impl asyncio::Protocol for Quiet {}
/// runnable::<Quiet>();
/// ```
pub trait AnyProtocol: sealed::Callbacks + 'static {}

impl<P: Protocol + 'static> AnyProtocol for P {}
impl<B: BufferedProtocol + 'static> AnyProtocol for Buffered<B> {}

pub(crate) mod sealed {
    use super::*;

    /// The driver's view of a protocol: its callbacks, and how one read reaches it.
    pub trait Callbacks {
        #[doc(hidden)]
        fn made(&mut self, t: Transport);
        #[doc(hidden)]
        fn eof(&mut self) -> bool;
        #[doc(hidden)]
        fn lost(&mut self, exc: Option<io::Error>);
        #[doc(hidden)]
        fn pause(&mut self);
        #[doc(hidden)]
        fn resume(&mut self);
        /// Reads once from `t`'s connection and gives the bytes to the protocol, each piece
        /// of user code run through `call` (named as the callback, false if it panicked:
        /// the connection is then aborted). A panic before the read gives `Ready(Err(_))`.
        #[doc(hidden)]
        fn read(
            proto: &RefCell<Self>,
            t: &Transport,
            cx: &mut Context<'_>,
            call: &mut dyn FnMut(&str, &mut dyn FnMut()) -> bool,
        ) -> Poll<io::Result<usize>>
        where
            Self: Sized;
    }
}

impl<P: Protocol> sealed::Callbacks for P {
    fn made(&mut self, t: Transport) {
        self.connection_made(t);
    }
    fn eof(&mut self) -> bool {
        self.eof_received()
    }
    fn lost(&mut self, exc: Option<io::Error>) {
        self.connection_lost(exc);
    }
    fn pause(&mut self) {
        self.pause_writing();
    }
    fn resume(&mut self) {
        self.resume_writing();
    }
    fn read(
        proto: &RefCell<Self>,
        t: &Transport,
        cx: &mut Context<'_>,
        call: &mut dyn FnMut(&str, &mut dyn FnMut()) -> bool,
    ) -> Poll<io::Result<usize>> {
        super::driver::with_scratch(|buf| {
            let read = t.shared.conn.poll_read_into(cx, buf);
            if let Poll::Ready(Ok(n @ 1..)) = read {
                call("data_received", &mut || {
                    proto.borrow_mut().data_received(&buf[..n])
                });
            }
            read
        })
    }
}

impl<B: BufferedProtocol> sealed::Callbacks for Buffered<B> {
    fn made(&mut self, t: Transport) {
        self.0.connection_made(t);
    }
    fn eof(&mut self) -> bool {
        self.0.eof_received()
    }
    fn lost(&mut self, exc: Option<io::Error>) {
        self.0.connection_lost(exc);
    }
    fn pause(&mut self) {
        self.0.pause_writing();
    }
    fn resume(&mut self) {
        self.0.resume_writing();
    }
    fn read(
        proto: &RefCell<Self>,
        t: &Transport,
        cx: &mut Context<'_>,
        call: &mut dyn FnMut(&str, &mut dyn FnMut()) -> bool,
    ) -> Poll<io::Result<usize>> {
        let mut read = Poll::Pending;
        // get_buffer and the read into what it lent, under one borrow of the protocol.
        let lent = call("get_buffer", &mut || {
            let mut p = proto.borrow_mut();
            let buf = p.0.get_buffer(super::driver::READ_SIZE);
            assert!(!buf.is_empty(), "get_buffer() returned an empty buffer");
            read = t.shared.conn.poll_read_into(cx, buf);
        });
        if !lent {
            return Poll::Ready(Err(io::Error::other("get_buffer() panicked")));
        }
        if let Poll::Ready(Ok(n @ 1..)) = read {
            call("buffer_updated", &mut || {
                proto.borrow_mut().0.buffer_updated(n)
            });
        }
        read
    }
}
