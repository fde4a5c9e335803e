//! `UnixListener`: a listening Unix-domain socket on the running loop.

use super::UnixStream;
use crate::reactor::{Direction, IoSource};
use std::future::poll_fn;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::os::unix::net::SocketAddr;
use std::path::Path;
use std::task::{Context, Poll};

/// A listening Unix-domain socket registered with the running loop.
///
/// Dropping it does not remove the socket file (as asyncio before 3.13's
/// `cleanup_socket`); `start_unix_server`'s server does.
///
/// # Examples
/// ```
/// # asyncio::run(async {
/// let dir = std::env::temp_dir().join(format!("asyncio-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let path = dir.join("l.sock");
/// let _ = std::fs::remove_file(&path);
/// let listener = asyncio::net::UnixListener::bind(&path)?;
/// let _client = asyncio::net::UnixStream::connect(&path).await?;
/// let (_conn, _addr) = listener.accept().await?;
/// std::fs::remove_file(&path)?;
/// # std::io::Result::Ok(())
/// # }).unwrap();
/// ```
#[derive(Debug)]
pub struct UnixListener {
    io: IoSource<mio::net::UnixListener>,
}

impl UnixListener {
    /// Binds and listens on `path`.
    ///
    /// # Errors
    /// `AddrInUse` if the file exists, `NotFound` for a missing directory, ….
    ///
    /// # Examples
    /// See [`UnixListener`].
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixListener> {
        Self::from_mio(mio::net::UnixListener::bind(path)?)
    }

    /// Wraps a listening std socket, making it non-blocking.
    ///
    /// # Errors
    /// Outside a running loop, or when the socket cannot be registered.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// # let path = std::env::temp_dir().join(format!("asyncio-doc2-{}.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let std = std::os::unix::net::UnixListener::bind(&path).unwrap();
    /// let l = asyncio::net::UnixListener::from_std(std).unwrap();
    /// # drop(l); std::fs::remove_file(&path).unwrap();
    /// # });
    /// ```
    pub fn from_std(listener: std::os::unix::net::UnixListener) -> io::Result<UnixListener> {
        listener.set_nonblocking(true)?;
        Self::from_mio(mio::net::UnixListener::from_std(listener))
    }

    fn from_mio(listener: mio::net::UnixListener) -> io::Result<UnixListener> {
        let io = IoSource::with_interest(listener, mio::Interest::READABLE)?;
        io.assume_ready();
        Ok(UnixListener { io })
    }

    /// Waits for a connection and accepts it.
    ///
    /// # Errors
    /// The accept error (`EMFILE`, …).
    ///
    /// # Cancel safety
    /// Cancel safe: if dropped before it completes, no connection was taken.
    ///
    /// # Examples
    /// See [`UnixListener`].
    pub async fn accept(&self) -> io::Result<(UnixStream, SocketAddr)> {
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
    /// # let path = std::env::temp_dir().join(format!("asyncio-doc3-{}.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let l = asyncio::net::UnixListener::bind(&path).unwrap();
    /// let _c = std::os::unix::net::UnixStream::connect(&path).unwrap();
    /// let (_s, _) = std::future::poll_fn(|cx| l.poll_accept(cx)).await.unwrap();
    /// # std::fs::remove_file(&path).unwrap();
    /// # });
    /// ```
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(UnixStream, SocketAddr)>> {
        let (stream, addr) =
            std::task::ready!(self.io.poll_io(Direction::Read, cx, |l| l.accept()))?;
        Poll::Ready(Ok((UnixStream::from_mio(stream)?, addr)))
    }

    /// The address the listener is bound to.
    ///
    /// # Errors
    /// When the OS refuses.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// # let path = std::env::temp_dir().join(format!("asyncio-doc4-{}.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let l = asyncio::net::UnixListener::bind(&path).unwrap();
    /// assert_eq!(l.local_addr().unwrap().as_pathname(), Some(path.as_path()));
    /// # std::fs::remove_file(&path).unwrap();
    /// # });
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }
}

impl AsFd for UnixListener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}

impl AsRawFd for UnixListener {
    fn as_raw_fd(&self) -> RawFd {
        self.io.get_ref().as_raw_fd()
    }
}
