//! `UnixDatagram`: a Unix-domain datagram socket on the running loop.

use crate::reactor::{Direction, IoSource};
use std::future::poll_fn;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::os::unix::net::SocketAddr;
use std::path::Path;
use std::task::{Context, Poll};

/// A Unix-domain datagram socket (`AF_UNIX`, `SOCK_DGRAM`) registered with the running loop.
/// Same shape as [`UdpSocket`](super::UdpSocket), with paths for addresses.
///
/// Unlike UDP, a Unix datagram is never dropped for lack of room: a send to a peer whose
/// queue is full waits until it reads. A send to a path nobody is bound to fails with
/// `NotFound` or `ConnectionRefused`.
///
/// # Examples
/// ```
/// use asyncio::net::UnixDatagram;
/// # asyncio::run(async {
/// let dir = std::env::temp_dir().join(format!("asyncio-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let path = dir.join("server.sock");
/// # let _ = std::fs::remove_file(&path);
/// let server = UnixDatagram::bind(&path)?;
/// let client = UnixDatagram::unbound()?;
/// client.send_to(b"ping", &path).await?;
/// let mut buf = [0; 16];
/// let (n, from) = server.recv_from(&mut buf).await?;
/// assert_eq!(&buf[..n], b"ping");
/// assert!(from.as_pathname().is_none(), "an unbound sender has no name");
/// # std::fs::remove_dir_all(&dir)?;
/// # std::io::Result::Ok(())
/// # }).unwrap();
/// ```
#[derive(Debug)]
pub struct UnixDatagram {
    io: IoSource<mio::net::UnixDatagram>,
}

impl UnixDatagram {
    /// Binds a new socket to `path`, which must not exist yet.
    ///
    /// # Errors
    /// `AddrInUse` if the path exists; `NotFound` if its directory does not; outside a
    /// running loop, kind `Other`.
    ///
    /// # Examples
    /// See [`UnixDatagram`].
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixDatagram> {
        Self::from_mio(mio::net::UnixDatagram::bind(path)?)
    }

    /// A new socket bound to no path: it can send, and receive replies only on a connected
    /// pair or after [`connect`](Self::connect) (the peer sees no address to reply to).
    ///
    /// # Errors
    /// When the OS refuses, or outside a running loop.
    ///
    /// # Examples
    /// See [`UnixDatagram`].
    pub fn unbound() -> io::Result<UnixDatagram> {
        Self::from_mio(mio::net::UnixDatagram::unbound()?)
    }

    /// A pair of sockets connected to each other (`socketpair(AF_UNIX, SOCK_DGRAM)`).
    ///
    /// # Errors
    /// When the OS refuses, or outside a running loop.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let (a, b) = asyncio::net::UnixDatagram::pair().unwrap();
    /// a.send(b"one").await.unwrap();
    /// a.send(b"two").await.unwrap();
    /// let mut buf = [0; 8];
    /// assert_eq!(b.recv(&mut buf).await.unwrap(), 3, "boundaries are kept");
    /// assert_eq!(b.recv(&mut buf).await.unwrap(), 3);
    /// # });
    /// ```
    pub fn pair() -> io::Result<(UnixDatagram, UnixDatagram)> {
        let (a, b) = mio::net::UnixDatagram::pair()?;
        Ok((Self::from_mio(a)?, Self::from_mio(b)?))
    }

    /// Wraps a std socket, making it non-blocking.
    ///
    /// # Errors
    /// Outside a running loop, or when the socket cannot be registered.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let (a, _b) = std::os::unix::net::UnixDatagram::pair().unwrap();
    /// let a = asyncio::net::UnixDatagram::from_std(a).unwrap();
    /// assert!(a.peer_addr().is_ok());
    /// # });
    /// ```
    pub fn from_std(socket: std::os::unix::net::UnixDatagram) -> io::Result<UnixDatagram> {
        socket.set_nonblocking(true)?;
        Self::from_mio(mio::net::UnixDatagram::from_std(socket))
    }

    fn from_mio(socket: mio::net::UnixDatagram) -> io::Result<UnixDatagram> {
        let io = IoSource::new(socket)?;
        io.assume_ready();
        Ok(UnixDatagram { io })
    }

    /// Sets the default peer to the socket at `path`.
    ///
    /// # Errors
    /// `NotFound` if nothing is bound there; `ConnectionRefused` if it is not a datagram
    /// socket.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let err = asyncio::net::UnixDatagram::unbound().unwrap().connect("/nonexistent/sock").unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    /// # });
    /// ```
    pub fn connect(&self, path: impl AsRef<Path>) -> io::Result<()> {
        self.io.get_ref().connect(path)
    }

    /// Sends one datagram to the connected peer, waiting while the peer's queue is full.
    ///
    /// # Errors
    /// `NotConnected` without a peer; `ConnectionRefused` once the peer is closed.
    ///
    /// # Cancel safety
    /// Cancel safe: if the future is dropped before it completes, nothing was sent.
    ///
    /// # Examples
    /// See [`pair`](Self::pair).
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        poll_fn(|cx| self.io.poll_io(Direction::Write, cx, |s| s.send(buf))).await
    }

    /// Sends one datagram to the connected peer without waiting.
    ///
    /// # Errors
    /// `WouldBlock` if the peer's queue is full; as [`send`](Self::send).
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let (a, _b) = asyncio::net::UnixDatagram::pair().unwrap();
    /// assert_eq!(a.try_send(b"abc").unwrap(), 3);
    /// # });
    /// ```
    pub fn try_send(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.try_io(Direction::Write, |s| s.send(buf))
    }

    /// Sends one datagram to the socket bound at `path`.
    ///
    /// # Errors
    /// `NotFound` / `ConnectionRefused` if nobody is bound there.
    ///
    /// # Cancel safety
    /// Cancel safe: if the future is dropped before it completes, nothing was sent.
    ///
    /// # Examples
    /// See [`UnixDatagram`].
    pub async fn send_to(&self, buf: &[u8], path: impl AsRef<Path>) -> io::Result<usize> {
        let path = path.as_ref();
        poll_fn(|cx| self.poll_send_to(cx, buf, path)).await
    }

    /// The poll form of [`send_to`](Self::send_to).
    ///
    /// # Errors
    /// As [`send_to`](Self::send_to).
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let err = asyncio::net::UnixDatagram::unbound().unwrap();
    /// let err = std::future::poll_fn(|cx| err.poll_send_to(cx, b"x", "/nonexistent/sock".as_ref()))
    ///     .await
    ///     .unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    /// # });
    /// ```
    pub fn poll_send_to(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
        path: &Path,
    ) -> Poll<io::Result<usize>> {
        self.io
            .poll_io(Direction::Write, cx, |s| s.send_to(buf, path))
    }

    /// Sends one datagram to the socket bound at `path` without waiting.
    ///
    /// # Errors
    /// `WouldBlock` if the receiver's queue is full; as [`send_to`](Self::send_to).
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let s = asyncio::net::UnixDatagram::unbound().unwrap();
    /// let err = s.try_send_to(b"x", "/nonexistent/sock").unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    /// # });
    /// ```
    pub fn try_send_to(&self, buf: &[u8], path: impl AsRef<Path>) -> io::Result<usize> {
        let path = path.as_ref();
        self.io.try_io(Direction::Write, |s| s.send_to(buf, path))
    }

    /// Waits until the socket can send (for the datagram endpoint's buffer).
    pub(crate) fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io.poll_ready(Direction::Write, cx)
    }

    /// Whether the poller reports writability (see `IoSource::set_interest`).
    pub(crate) fn set_write_interest(&self, on: bool) -> io::Result<()> {
        self.io.set_interest(super::datagram_socket::interest(on))
    }

    /// Receives one datagram from the connected peer, waiting until one arrives.
    ///
    /// # Errors
    /// The socket's error.
    ///
    /// # Cancel safety
    /// Cancel safe: a datagram is never lost; it is taken from the kernel only when the
    /// future returns it.
    ///
    /// # Examples
    /// See [`pair`](Self::pair).
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        poll_fn(|cx| self.io.poll_io(Direction::Read, cx, |s| s.recv(buf))).await
    }

    /// Receives one datagram without waiting.
    ///
    /// # Errors
    /// `WouldBlock` if none is waiting; the socket's error.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let (a, _b) = asyncio::net::UnixDatagram::pair().unwrap();
    /// let err = a.try_recv(&mut [0; 8]).unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::WouldBlock);
    /// # });
    /// ```
    pub fn try_recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.try_io(Direction::Read, |s| s.recv(buf))
    }

    /// Receives one datagram and its sender's address (unnamed for an unbound sender).
    ///
    /// # Errors
    /// The socket's error.
    ///
    /// # Cancel safety
    /// Cancel safe: a datagram is never lost; it is taken from the kernel only when the
    /// future returns it.
    ///
    /// # Examples
    /// See [`UnixDatagram`].
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        poll_fn(|cx| self.poll_recv_from(cx, buf)).await
    }

    /// The poll form of [`recv_from`](Self::recv_from).
    ///
    /// # Errors
    /// As [`recv_from`](Self::recv_from).
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let (a, b) = asyncio::net::UnixDatagram::pair().unwrap();
    /// a.send(b"x").await.unwrap();
    /// let mut buf = [0; 8];
    /// let (n, _) = std::future::poll_fn(|cx| b.poll_recv_from(cx, &mut buf)).await.unwrap();
    /// assert_eq!(n, 1);
    /// # });
    /// ```
    pub fn poll_recv_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<(usize, SocketAddr)>> {
        self.io.poll_io(Direction::Read, cx, |s| s.recv_from(buf))
    }

    /// The local address: the bound path, or unnamed.
    ///
    /// # Errors
    /// When the OS refuses.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let s = asyncio::net::UnixDatagram::unbound().unwrap();
    /// assert!(s.local_addr().unwrap().is_unnamed());
    /// # });
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The connected peer's address.
    ///
    /// # Errors
    /// `NotConnected` without a peer.
    ///
    /// # Examples
    /// See [`from_std`](Self::from_std).
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// Takes the socket's pending error (`SO_ERROR`), clearing it.
    ///
    /// # Errors
    /// When the OS refuses.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let s = asyncio::net::UnixDatagram::unbound().unwrap();
    /// assert!(s.take_error().unwrap().is_none());
    /// # });
    /// ```
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.get_ref().take_error()
    }
}

impl AsFd for UnixDatagram {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}

impl AsRawFd for UnixDatagram {
    fn as_raw_fd(&self) -> RawFd {
        self.io.get_ref().as_raw_fd()
    }
}
