//! `UnixStream`: a connected Unix-domain stream socket on the running loop.

use super::stream::Stream;
use super::sys;
use crate::reactor::{Direction, IoSource};
use std::future::poll_fn;
use std::io;
use std::net::Shutdown;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::os::unix::net::SocketAddr;
use std::path::Path;
use std::task::{Context, Poll};

/// A Unix-domain stream socket registered with the running loop. Same API as
/// [`TcpStream`](super::TcpStream).
///
/// # Examples
/// ```
/// # asyncio::run(async {
/// let (a, b) = asyncio::net::UnixStream::pair()?;
/// a.write_all(b"ping").await?;
/// let mut buf = [0; 4];
/// b.read_exact(&mut buf).await?;
/// assert_eq!(&buf, b"ping");
/// # std::io::Result::Ok(())
/// # }).unwrap();
/// ```
#[derive(Debug)]
pub struct UnixStream {
    /// The shared stream; the streams layer reads through it into uninitialised memory.
    pub(crate) io: Stream<mio::net::UnixStream>,
}

impl UnixStream {
    /// Connects to the socket at `path` (asyncio's `loop.sock_connect` on `AF_UNIX`).
    ///
    /// # Errors
    /// `NotFound` if nothing is there, `ConnectionRefused` if nobody listens, ….
    ///
    /// # Cancel safety
    /// Dropping the future abandons the attempt and closes the socket.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let err = asyncio::net::UnixStream::connect("/nonexistent/sock").await.unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    /// # });
    /// ```
    pub async fn connect(path: impl AsRef<Path>) -> io::Result<UnixStream> {
        let io = IoSource::new(mio::net::UnixStream::connect(path)?)?;
        sys::no_sigpipe(io.get_ref())?;
        poll_fn(|cx| {
            std::task::ready!(io.poll_ready(Direction::Write, cx))?;
            Poll::Ready(match io.get_ref().take_error()? {
                Some(e) => Err(e),
                None => Ok(()),
            })
        })
        .await?;
        Ok(UnixStream {
            io: Stream::connected(io),
        })
    }

    /// A connected pair (asyncio's `socket.socketpair()` then `open_connection(sock=…)`).
    ///
    /// # Errors
    /// When the OS refuses, or outside a running loop.
    ///
    /// # Examples
    /// See [`UnixStream`].
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let (a, b) = mio::net::UnixStream::pair()?;
        Ok((Self::from_mio(a)?, Self::from_mio(b)?))
    }

    /// Wraps a connected std socket, making it non-blocking.
    ///
    /// # Errors
    /// Outside a running loop, or when the socket cannot be registered.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// let a = asyncio::net::UnixStream::from_std(a).unwrap();
    /// # drop(a);
    /// # });
    /// ```
    pub fn from_std(stream: std::os::unix::net::UnixStream) -> io::Result<UnixStream> {
        stream.set_nonblocking(true)?;
        Self::from_mio(mio::net::UnixStream::from_std(stream))
    }

    pub(crate) fn from_mio(stream: mio::net::UnixStream) -> io::Result<UnixStream> {
        Ok(UnixStream {
            io: Stream::new(stream)?,
        })
    }

    /// Reads into `buf`, waiting until some bytes arrive; `Ok(0)` is end of stream.
    ///
    /// # Errors
    /// The socket's error.
    ///
    /// # Cancel safety
    /// Cancel safe: if dropped before it completes, no bytes were read.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let (a, b) = asyncio::net::UnixStream::pair().unwrap();
    /// drop(a);
    /// assert_eq!(b.read(&mut [0; 8]).await.unwrap(), 0);
    /// # });
    /// ```
    pub async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.read(buf).await
    }

    /// Reads exactly `buf.len()` bytes.
    ///
    /// # Errors
    /// `UnexpectedEof` if the stream ends first; the socket's error.
    ///
    /// # Cancel safety
    /// Not cancel safe: bytes read before the drop are lost.
    ///
    /// # Examples
    /// See [`UnixStream`].
    pub async fn read_exact(&self, buf: &mut [u8]) -> io::Result<()> {
        self.io.read_exact(buf).await
    }

    /// The poll form of [`read`](Self::read).
    ///
    /// # Errors
    /// As [`read`](Self::read).
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let (a, b) = asyncio::net::UnixStream::pair().unwrap();
    /// a.try_write(b"x").unwrap();
    /// let mut buf = [0; 8];
    /// let n = std::future::poll_fn(|cx| b.poll_read(cx, &mut buf)).await.unwrap();
    /// assert_eq!(n, 1);
    /// # });
    /// ```
    #[inline]
    pub fn poll_read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.io.poll_read(cx, buf)
    }

    /// Reads what is there without waiting.
    ///
    /// # Errors
    /// `WouldBlock` if nothing is there; the socket's error.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let (a, _b) = asyncio::net::UnixStream::pair().unwrap();
    /// assert_eq!(a.try_read(&mut [0; 8]).unwrap_err().kind(), std::io::ErrorKind::WouldBlock);
    /// # });
    /// ```
    #[inline]
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.try_read(buf)
    }

    /// Writes some of `buf`, waiting until the socket takes at least one byte.
    ///
    /// # Errors
    /// The socket's error (`BrokenPipe`, …); never `SIGPIPE`.
    ///
    /// # Cancel safety
    /// Cancel safe: if dropped before it completes, nothing was written.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let (a, b) = asyncio::net::UnixStream::pair().unwrap();
    /// drop(b);
    /// let err = a.write(b"x").await.unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::BrokenPipe);
    /// # });
    /// ```
    pub async fn write(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.write(buf).await
    }

    /// Writes all of `buf`.
    ///
    /// # Errors
    /// The socket's error.
    ///
    /// # Cancel safety
    /// Not cancel safe: an unknown prefix of `buf` may have been sent.
    ///
    /// # Examples
    /// See [`UnixStream`].
    pub async fn write_all(&self, buf: &[u8]) -> io::Result<()> {
        self.io.write_all(buf).await
    }

    /// The poll form of [`write`](Self::write).
    ///
    /// # Errors
    /// As [`write`](Self::write).
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let (a, _b) = asyncio::net::UnixStream::pair().unwrap();
    /// let n = std::future::poll_fn(|cx| a.poll_write(cx, b"x")).await.unwrap();
    /// assert_eq!(n, 1);
    /// # });
    /// ```
    #[inline]
    pub fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.io.poll_write(cx, buf)
    }

    /// Writes what the socket takes now, without waiting.
    ///
    /// # Errors
    /// `WouldBlock` if the socket's buffer is full; the socket's error.
    ///
    /// # Examples
    /// See [`poll_read`](Self::poll_read).
    #[inline]
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.try_write(buf)
    }

    /// Shuts down the read half, the write half (the peer reads end of stream), or both.
    ///
    /// # Errors
    /// `NotConnected` if the peer is gone.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let (a, b) = asyncio::net::UnixStream::pair().unwrap();
    /// a.shutdown(std::net::Shutdown::Write).unwrap();
    /// assert_eq!(b.read(&mut [0; 8]).await.unwrap(), 0);
    /// # });
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.shutdown(how)
    }

    /// The peer's address (unnamed for most clients).
    ///
    /// # Errors
    /// `NotConnected` if the connection is gone.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let (a, _b) = asyncio::net::UnixStream::pair().unwrap();
    /// assert!(a.peer_addr().unwrap().is_unnamed());
    /// # });
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// The local address.
    ///
    /// # Errors
    /// When the OS refuses.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let (a, _b) = asyncio::net::UnixStream::pair().unwrap();
    /// assert!(a.local_addr().unwrap().is_unnamed());
    /// # });
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// Waits for read or write readiness (for the streams layer's reads, and for protocols
    /// layered on the socket, like TLS).
    #[inline]
    pub(crate) fn poll_ready(&self, dir: Direction, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io.poll_ready(dir, cx)
    }

    /// `SO_LINGER` 0: dropping resets instead of closing in order.
    #[allow(dead_code)] // used by the streams' abort
    pub(crate) fn set_abortive_close(&self) -> io::Result<()> {
        self.io.set_abortive_close()
    }
}

impl AsFd for UnixStream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.as_fd()
    }
}

impl AsRawFd for UnixStream {
    fn as_raw_fd(&self) -> RawFd {
        self.io.as_raw_fd()
    }
}
