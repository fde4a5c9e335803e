//! `Stream`: what [`TcpStream`](super::TcpStream) and [`UnixStream`](super::UnixStream)
//! share, a connected stream socket registered with the running loop. Each public type wraps
//! one and forwards to it, keeping its own documentation.

use super::sys;
use crate::reactor::{Direction, IoSource};
use std::future::poll_fn;
use std::io;
use std::mem::MaybeUninit;
use std::net::Shutdown;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::task::{Context, Poll};

/// The sockets a [`Stream`] is made of: `mio::net::TcpStream` and `mio::net::UnixStream`.
pub(crate) trait Socket: mio::event::Source + AsFd + AsRawFd {}

impl<S: mio::event::Source + AsFd + AsRawFd> Socket for S {}

/// A connected stream socket on the running loop.
pub(crate) struct Stream<S: Socket> {
    pub(super) source: IoSource<S>,
}

impl<S: Socket> Stream<S> {
    /// Registers a connected socket. Writes to it never raise `SIGPIPE`.
    pub(super) fn new(sock: S) -> io::Result<Self> {
        sys::no_sigpipe(&sock)?;
        Ok(Self::connected(IoSource::new(sock)?))
    }

    /// A registered socket whose connect has just finished: it is likely ready both ways, so
    /// the first read or write tries its call at once.
    pub(super) fn connected(source: IoSource<S>) -> Self {
        source.assume_ready();
        Stream { source }
    }

    /// Tells `owner` of an error (a reset) that arrives while no task reads.
    pub(crate) fn watch_errors(&self, owner: std::rc::Weak<dyn crate::reactor::OnSocketError>) {
        self.source.watch_errors(owner);
    }

    /// Takes the socket's pending error (`SO_ERROR`).
    pub(crate) fn take_error(&self) -> io::Result<Option<io::Error>> {
        socket2::SockRef::from(self.get_ref()).take_error()
    }

    /// The socket, for calls of its own kind (addresses, options).
    #[inline]
    pub(super) fn get_ref(&self) -> &S {
        self.source.get_ref()
    }

    pub(super) async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        poll_fn(|cx| self.poll_read(cx, buf)).await
    }

    pub(super) async fn read_exact(&self, mut buf: &mut [u8]) -> io::Result<()> {
        while !buf.is_empty() {
            match self.read(buf).await? {
                0 => return Err(io::ErrorKind::UnexpectedEof.into()),
                n => buf = &mut buf[n..],
            }
        }
        Ok(())
    }

    #[inline]
    pub(super) fn poll_read(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let len = buf.len();
        sys::poll_stream_read(&self.source, cx, len, |s| sys::recv(s, buf))
    }

    /// `poll_read` into memory that need not be initialised: on `Ok(n)` the first `n` bytes
    /// of `buf` are. For the streams layer's read buffer, through the public types' `io`.
    #[inline]
    pub(crate) fn poll_read_uninit(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [MaybeUninit<u8>],
    ) -> Poll<io::Result<usize>> {
        let len = buf.len();
        sys::poll_stream_read(&self.source, cx, len, |s| sys::recv_uninit(s, buf))
    }

    /// `try_read` into memory that need not be initialised, as `poll_read_uninit`.
    #[inline]
    pub(crate) fn try_read_uninit(&self, buf: &mut [MaybeUninit<u8>]) -> io::Result<usize> {
        self.source
            .try_io(Direction::Read, |s| sys::recv_uninit(s, buf))
    }

    #[inline]
    pub(super) fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.source.try_io(Direction::Read, |s| sys::recv(s, buf))
    }

    pub(super) async fn write(&self, buf: &[u8]) -> io::Result<usize> {
        poll_fn(|cx| self.poll_write(cx, buf)).await
    }

    pub(super) async fn write_all(&self, mut buf: &[u8]) -> io::Result<()> {
        while !buf.is_empty() {
            let n = self.write(buf).await?;
            buf = &buf[n..];
        }
        Ok(())
    }

    #[inline]
    pub(super) fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.source
            .poll_io(Direction::Write, cx, |s| sys::send(s, buf))
    }

    /// Runs `f` on the socket's fd once it is writable, until it does not say `WouldBlock`:
    /// for a write the socket's own calls do not make (`sendfile(2)`).
    pub(crate) fn poll_write_fd<R>(
        &self,
        cx: &mut Context<'_>,
        mut f: impl FnMut(RawFd) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        self.source
            .poll_io(Direction::Write, cx, |s| f(s.as_raw_fd()))
    }

    /// Sends from several buffers in one `sendmsg` (the standard I/O traits' vectored writes).
    #[cfg(any(feature = "futures-io", feature = "tokio-io", feature = "hyper"))]
    pub(crate) fn poll_write_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.source
            .poll_io(Direction::Write, cx, |s| sys::send_vectored(s, bufs))
    }

    /// Shuts down the write half, for the standard I/O traits' `close` / `shutdown`.
    #[cfg(any(feature = "futures-io", feature = "tokio-io", feature = "hyper"))]
    pub(crate) fn shutdown_write(&self) -> io::Result<()> {
        match self.shutdown(Shutdown::Write) {
            // The peer is gone already: the write half is as shut as it can be.
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
            other => other,
        }
    }

    #[inline]
    pub(super) fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        self.source.try_io(Direction::Write, |s| sys::send(s, buf))
    }

    pub(super) fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        socket2::SockRef::from(self.get_ref()).shutdown(how)
    }

    #[inline]
    pub(super) fn poll_ready(&self, dir: Direction, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.source.poll_ready(dir, cx)
    }

    /// Sets `SO_LINGER` to zero, so that dropping the socket resets the connection (RST).
    pub(super) fn set_abortive_close(&self) -> io::Result<()> {
        socket2::SockRef::from(self.get_ref()).set_linger(Some(std::time::Duration::ZERO))
    }
}

/// Shows just the registered source, so the public types' derived `Debug` reads as if they
/// held it themselves.
impl<S: Socket + std::fmt::Debug> std::fmt::Debug for Stream<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.source.fmt(f)
    }
}

impl<S: Socket> AsFd for Stream<S> {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.get_ref().as_fd()
    }
}

impl<S: Socket> AsRawFd for Stream<S> {
    fn as_raw_fd(&self) -> RawFd {
        self.get_ref().as_raw_fd()
    }
}
