//! `TcpListener`: a listening TCP socket on the running loop.

use super::TcpStream;
use super::sys::{self, BindOptions};
use crate::reactor::{Direction, IoSource};
use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::task::{Context, Poll};

/// A listening TCP socket registered with the running loop.
///
/// # Examples
/// ```
/// use asyncio::net::{TcpListener, TcpStream};
/// # asyncio::run(async {
/// let listener = TcpListener::bind("127.0.0.1:0".parse().unwrap())?;
/// let _client = TcpStream::connect(listener.local_addr()?).await?;
/// let (_conn, peer) = listener.accept().await?;
/// assert!(peer.ip().is_loopback());
/// # std::io::Result::Ok(())
/// # }).unwrap();
/// ```
#[derive(Debug)]
pub struct TcpListener {
    io: IoSource<mio::net::TcpListener>,
}

impl TcpListener {
    /// Binds and listens on `addr` with asyncio's defaults: `SO_REUSEADDR`, backlog 100,
    /// IPv6 sockets IPv6-only. Port 0 picks a free port (see [`local_addr`](Self::local_addr)).
    ///
    /// # Errors
    /// `AddrInUse`, `PermissionDenied`, …; outside a running loop, kind `Other`.
    ///
    /// # Examples
    /// See [`TcpListener`].
    pub fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
        Self::from_std(sys::bind_tcp(addr, BindOptions::default())?)
    }

    /// Wraps a listening std socket, making it non-blocking.
    ///
    /// # Errors
    /// Outside a running loop, or when the socket cannot be registered.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let std = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let addr = std.local_addr().unwrap();
    /// let l = asyncio::net::TcpListener::from_std(std).unwrap();
    /// assert_eq!(l.local_addr().unwrap(), addr);
    /// # });
    /// ```
    pub fn from_std(listener: std::net::TcpListener) -> io::Result<TcpListener> {
        listener.set_nonblocking(true)?;
        let io = IoSource::with_interest(
            mio::net::TcpListener::from_std(listener),
            mio::Interest::READABLE,
        )?;
        io.assume_ready();
        Ok(TcpListener { io })
    }

    /// Waits for a connection and accepts it (asyncio's `loop.sock_accept`).
    ///
    /// # Errors
    /// The accept error (`EMFILE` as an error whose `raw_os_error()` is `EMFILE`, …).
    ///
    /// # Cancel safety
    /// Cancel safe: if dropped before it completes, no connection was taken.
    ///
    /// # Examples
    /// See [`TcpListener`].
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// The poll form of [`accept`](Self::accept).
    ///
    /// # Errors
    /// As [`accept`](Self::accept).
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let l = asyncio::net::TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    /// let _c = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// let (_s, _) = std::future::poll_fn(|cx| l.poll_accept(cx)).await.unwrap();
    /// # });
    /// ```
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        let (stream, addr) =
            std::task::ready!(self.io.poll_io(Direction::Read, cx, |l| l.accept()))?;
        Poll::Ready(Ok((TcpStream::from_mio(stream)?, addr)))
    }

    /// The address the listener is bound to.
    ///
    /// # Errors
    /// When the OS refuses.
    ///
    /// # Examples
    /// See [`TcpListener`].
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }
}

impl AsFd for TcpListener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}

impl AsRawFd for TcpListener {
    fn as_raw_fd(&self) -> RawFd {
        self.io.get_ref().as_raw_fd()
    }
}
