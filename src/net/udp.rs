//! `UdpSocket`: a UDP socket on the running loop (asyncio's `loop.sock_sendto` /
//! `loop.sock_recvfrom`, and the socket under a datagram endpoint).
//!
//! Socket options (broadcast, multicast, TTL) and the bind builder are in `udp_options.rs`.

use crate::reactor::{Direction, IoSource};
use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::task::{Context, Poll};

/// A UDP socket registered with the running loop.
///
/// Every call takes `&self`, so one task can receive while another sends. Datagrams keep
/// their boundaries: a receive takes one whole datagram, and the part that does not fit in
/// the buffer is discarded by the kernel, so receive into 64 KiB (the largest UDP payload)
/// when sizes are not known.
///
/// Errors are real `io::Error`s: on a [connected](Self::connect) socket, an ICMP
/// port-unreachable from the peer is the next `send` or `recv`'s `ConnectionRefused`. UDP
/// sockets never raise `SIGPIPE`.
///
/// # Examples
/// ```
/// use asyncio::net::UdpSocket;
/// # asyncio::run(async {
/// let a = UdpSocket::bind("127.0.0.1:0".parse().unwrap())?;
/// let b = UdpSocket::bind("127.0.0.1:0".parse().unwrap())?;
/// a.send_to(b"ping", b.local_addr()?).await?;
/// let mut buf = [0; 64];
/// let (n, from) = b.recv_from(&mut buf).await?;
/// assert_eq!((&buf[..n], from), (&b"ping"[..], a.local_addr()?));
/// # std::io::Result::Ok(())
/// # }).unwrap();
/// ```
#[derive(Debug)]
pub struct UdpSocket {
    pub(super) io: IoSource<mio::net::UdpSocket>,
}

impl UdpSocket {
    /// Binds a new socket to `addr`. Port 0 picks a free port (see
    /// [`local_addr`](Self::local_addr)). For `SO_REUSEADDR`, `SO_REUSEPORT` or
    /// `SO_BROADCAST` before the bind, use [`UdpSocket::options`].
    ///
    /// # Errors
    /// `AddrInUse`, `PermissionDenied`, …; outside a running loop, kind `Other`.
    ///
    /// # Examples
    /// See [`UdpSocket`].
    pub fn bind(addr: SocketAddr) -> io::Result<UdpSocket> {
        UdpSocket::options().bind(addr)
    }

    /// Wraps a std socket, making it non-blocking.
    ///
    /// # Errors
    /// Outside a running loop, or when the socket cannot be registered.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let std = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// let addr = std.local_addr().unwrap();
    /// let s = asyncio::net::UdpSocket::from_std(std).unwrap();
    /// assert_eq!(s.local_addr().unwrap(), addr);
    /// # });
    /// ```
    pub fn from_std(socket: std::net::UdpSocket) -> io::Result<UdpSocket> {
        socket.set_nonblocking(true)?;
        let io = IoSource::new(mio::net::UdpSocket::from_std(socket))?;
        // A datagram may be waiting already; the first receive tries at once.
        io.assume_ready();
        Ok(UdpSocket { io })
    }

    /// Sets the default peer: [`send`](Self::send) goes there, only its datagrams are
    /// received, and ICMP errors from it are reported (`ConnectionRefused`). UDP has no
    /// handshake, so this does not wait.
    ///
    /// # Errors
    /// `InvalidInput` for an address of the other family; `NetworkUnreachable`, ….
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let peer = asyncio::net::UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    /// let s = asyncio::net::UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    /// s.connect(peer.local_addr().unwrap()).unwrap();
    /// assert_eq!(s.peer_addr().unwrap(), peer.local_addr().unwrap());
    /// s.send(b"hi").await.unwrap();
    /// # });
    /// ```
    pub fn connect(&self, addr: SocketAddr) -> io::Result<()> {
        self.io.get_ref().connect(addr)
    }

    /// Sends one datagram to the connected peer, waiting while the socket's buffer is full.
    ///
    /// # Errors
    /// `NotConnected` without [`connect`](Self::connect); `ConnectionRefused` after the peer
    /// reported its port closed; a datagram larger than UDP allows is an error whose
    /// `raw_os_error()` is `EMSGSIZE`.
    ///
    /// # Cancel safety
    /// Cancel safe: a datagram is sent whole or not at all, and if the future is dropped
    /// before it completes, it was not sent.
    ///
    /// # Examples
    /// See [`connect`](Self::connect).
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        poll_fn(|cx| self.poll_send(cx, buf)).await
    }

    /// The poll form of [`send`](Self::send).
    ///
    /// # Errors
    /// As [`send`](Self::send).
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// # let peer = asyncio::net::UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    /// # let s = asyncio::net::UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    /// s.connect(peer.local_addr().unwrap()).unwrap();
    /// let n = std::future::poll_fn(|cx| s.poll_send(cx, b"x")).await.unwrap();
    /// assert_eq!(n, 1);
    /// # });
    /// ```
    pub fn poll_send(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.io.poll_io(Direction::Write, cx, |s| s.send(buf))
    }

    /// Sends one datagram to the connected peer without waiting.
    ///
    /// # Errors
    /// `WouldBlock` if the socket's buffer is full; as [`send`](Self::send).
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// # let peer = asyncio::net::UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    /// # let s = asyncio::net::UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    /// s.connect(peer.local_addr().unwrap()).unwrap();
    /// assert_eq!(s.try_send(b"abc").unwrap(), 3);
    /// # });
    /// ```
    pub fn try_send(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.try_io(Direction::Write, |s| s.send(buf))
    }

    /// Sends one datagram to `target` (asyncio's `loop.sock_sendto`).
    ///
    /// # Errors
    /// `InvalidInput` for an address of the other family; `PermissionDenied` for a broadcast
    /// address without [`set_broadcast`](Self::set_broadcast); ….
    ///
    /// # Cancel safety
    /// Cancel safe: if the future is dropped before it completes, nothing was sent.
    ///
    /// # Examples
    /// See [`UdpSocket`].
    pub async fn send_to(&self, buf: &[u8], target: SocketAddr) -> io::Result<usize> {
        poll_fn(|cx| self.poll_send_to(cx, buf, target)).await
    }

    /// The poll form of [`send_to`](Self::send_to).
    ///
    /// # Errors
    /// As [`send_to`](Self::send_to).
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// # let peer = asyncio::net::UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    /// # let s = asyncio::net::UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    /// let to = peer.local_addr().unwrap();
    /// let n = std::future::poll_fn(|cx| s.poll_send_to(cx, b"x", to)).await.unwrap();
    /// assert_eq!(n, 1);
    /// # });
    /// ```
    pub fn poll_send_to(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
        target: SocketAddr,
    ) -> Poll<io::Result<usize>> {
        self.io
            .poll_io(Direction::Write, cx, |s| s.send_to(buf, target))
    }

    /// Sends one datagram to `target` without waiting.
    ///
    /// # Errors
    /// `WouldBlock` if the socket's buffer is full; as [`send_to`](Self::send_to).
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// # let peer = asyncio::net::UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    /// # let s = asyncio::net::UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    /// assert_eq!(s.try_send_to(b"abc", peer.local_addr().unwrap()).unwrap(), 3);
    /// # });
    /// ```
    pub fn try_send_to(&self, buf: &[u8], target: SocketAddr) -> io::Result<usize> {
        self.io.try_io(Direction::Write, |s| s.send_to(buf, target))
    }

    /// Receives one datagram from the connected peer, waiting until one arrives.
    ///
    /// # Errors
    /// `ConnectionRefused` after the peer reported its port closed (ICMP); the socket's error.
    ///
    /// # Cancel safety
    /// Cancel safe: a datagram is never lost; it is taken from the kernel only when the
    /// future returns it.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// # let peer = asyncio::net::UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    /// # let s = asyncio::net::UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    /// s.connect(peer.local_addr().unwrap()).unwrap();
    /// peer.send_to(b"pong", s.local_addr().unwrap()).await.unwrap();
    /// let mut buf = [0; 16];
    /// let n = s.recv(&mut buf).await.unwrap();
    /// assert_eq!(&buf[..n], b"pong");
    /// # });
    /// ```
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        poll_fn(|cx| self.poll_recv(cx, buf)).await
    }

    /// The poll form of [`recv`](Self::recv).
    ///
    /// # Errors
    /// As [`recv`](Self::recv).
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// # let peer = asyncio::net::UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    /// # let s = asyncio::net::UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    /// # s.connect(peer.local_addr().unwrap()).unwrap();
    /// peer.send_to(b"x", s.local_addr().unwrap()).await.unwrap();
    /// let mut buf = [0; 8];
    /// let n = std::future::poll_fn(|cx| s.poll_recv(cx, &mut buf)).await.unwrap();
    /// assert_eq!(&buf[..n], b"x");
    /// # });
    /// ```
    pub fn poll_recv(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.io.poll_io(Direction::Read, cx, |s| s.recv(buf))
    }

    /// Receives one datagram from the connected peer without waiting.
    ///
    /// # Errors
    /// `WouldBlock` if none is waiting; as [`recv`](Self::recv).
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let s = asyncio::net::UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    /// let err = s.try_recv(&mut [0; 8]).unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::WouldBlock);
    /// # });
    /// ```
    pub fn try_recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.try_io(Direction::Read, |s| s.recv(buf))
    }

    /// Receives one datagram and its sender's address, waiting until one arrives
    /// (asyncio's `loop.sock_recvfrom`).
    ///
    /// # Errors
    /// The socket's error (`ConnectionRefused` on a connected socket, after ICMP).
    ///
    /// # Cancel safety
    /// Cancel safe: a datagram is never lost; it is taken from the kernel only when the
    /// future returns it.
    ///
    /// # Examples
    /// See [`UdpSocket`].
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
    /// # let peer = asyncio::net::UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    /// # let s = asyncio::net::UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    /// peer.send_to(b"x", s.local_addr().unwrap()).await.unwrap();
    /// let mut buf = [0; 8];
    /// let (n, from) = std::future::poll_fn(|cx| s.poll_recv_from(cx, &mut buf)).await.unwrap();
    /// assert_eq!((n, from), (1, peer.local_addr().unwrap()));
    /// # });
    /// ```
    pub fn poll_recv_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<(usize, SocketAddr)>> {
        self.io.poll_io(Direction::Read, cx, |s| s.recv_from(buf))
    }

    /// Receives one datagram and its sender's address without waiting.
    ///
    /// # Errors
    /// `WouldBlock` if none is waiting; as [`recv_from`](Self::recv_from).
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let s = asyncio::net::UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    /// let err = s.try_recv_from(&mut [0; 8]).unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::WouldBlock);
    /// # });
    /// ```
    pub fn try_recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.io.try_io(Direction::Read, |s| s.recv_from(buf))
    }

    /// Like [`recv_from`](Self::recv_from), but leaves the datagram queued: the next receive
    /// gets it again.
    ///
    /// # Errors
    /// As [`recv_from`](Self::recv_from).
    ///
    /// # Cancel safety
    /// Cancel safe: nothing is taken from the kernel.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// # let peer = asyncio::net::UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    /// # let s = asyncio::net::UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    /// peer.send_to(b"again", s.local_addr().unwrap()).await.unwrap();
    /// let mut buf = [0; 8];
    /// let (n, _) = s.peek_from(&mut buf).await.unwrap();
    /// let (m, _) = s.recv_from(&mut buf).await.unwrap();
    /// assert_eq!((n, m), (5, 5));
    /// # });
    /// ```
    pub async fn peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        poll_fn(|cx| self.io.poll_io(Direction::Read, cx, |s| s.peek_from(buf))).await
    }

    /// The local address (asyncio's `get_extra_info("sockname")`).
    ///
    /// # Errors
    /// When the OS refuses.
    ///
    /// # Examples
    /// See [`UdpSocket`].
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The connected peer's address (asyncio's `get_extra_info("peername")`).
    ///
    /// # Errors
    /// `NotConnected` without [`connect`](Self::connect).
    ///
    /// # Examples
    /// See [`connect`](Self::connect).
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
    /// let s = asyncio::net::UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    /// assert!(s.take_error().unwrap().is_none());
    /// # });
    /// ```
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.get_ref().take_error()
    }

    /// Waits until the socket is writable, for a caller that sends through `try_*` (the
    /// datagram transport's flush).
    pub(crate) fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io.poll_ready(Direction::Write, cx)
    }

    /// Whether the poller reports writability (see `IoSource::set_interest`).
    pub(crate) fn set_write_interest(&self, on: bool) -> io::Result<()> {
        self.io.set_interest(super::datagram_socket::interest(on))
    }
}

impl AsFd for UdpSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}

impl AsRawFd for UdpSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.io.get_ref().as_raw_fd()
    }
}
