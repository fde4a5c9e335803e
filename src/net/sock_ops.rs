//! asyncio's `loop.sock_*`: awaitable calls on sockets the user made and owns.
//!
//! # Which sockets
//! The methods take `&impl AsFd`, so a `std::net` socket, a `socket2::Socket`, a Unix socket
//! or a mio socket all serve, borrowed for the call; socket options and addresses go through
//! `socket2` (`SockAddr` covers IPv4, IPv6 and Unix addresses; a `std::net::SocketAddr`
//! converts into one). Accepted sockets come back as `socket2::Socket`, which converts into
//! any std socket with `.into()`.
//!
//! # Blocking sockets
//! asyncio requires non-blocking sockets. Sends and receives here pass `MSG_DONTWAIT`, so
//! they never block the loop whatever the socket's mode, and a blocking socket works.
//! `sock_connect`, `sock_accept` and `sock_sendfile` have no such flag: for them a blocking
//! socket is refused with `InvalidInput` (asyncio's `ValueError`), checked with one `fcntl`.
//!
//! # How they wait
//! As asyncio's: the call is tried first, and only when it would block is the fd watched
//! (registered with the poller through the loop's fd table, shared with `add_reader`) until
//! it is ready, then tried again. The watch ends with the call. A socket the crate made
//! itself (`asyncio::net::TcpStream`, streams) is registered already: use its own methods;
//! here it fails with `AlreadyExists` when a call would have to wait.

use crate::reactor::Direction;
use crate::reactor::watch::Waiter;
use crate::runtime::LoopHandle;
use socket2::{SockAddr, SockRef, Socket};
use std::future::poll_fn;
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, AsRawFd, RawFd};

#[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
const SEND_FLAGS: libc::c_int = libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL;
#[cfg(not(any(target_os = "linux", target_os = "android", target_os = "freebsd")))]
const SEND_FLAGS: libc::c_int = libc::MSG_DONTWAIT;
const RECV_FLAGS: libc::c_int = libc::MSG_DONTWAIT;

fn as_uninit(buf: &mut [u8]) -> &mut [MaybeUninit<u8>] {
    // SAFETY: `[u8]` and `[MaybeUninit<u8>]` have the same layout, and the receives this
    // feeds only store bytes the kernel wrote, so `buf` stays initialised.
    unsafe { &mut *(buf as *mut [u8] as *mut [MaybeUninit<u8>]) }
}

/// Tries `io` until it does not say `WouldBlock`, waiting for `dir` of `fd` in between
/// (asyncio's try, then `add_reader`/`add_writer` and retry). `Interrupted` is retried.
async fn retry<R>(
    fd: RawFd,
    dir: Direction,
    mut io: impl FnMut() -> io::Result<R>,
) -> io::Result<R> {
    let mut waiter: Option<Waiter> = None;
    loop {
        match io() {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
        wait(fd, dir, &mut waiter).await?;
    }
}

/// Waits for `dir` of `fd` after the I/O said `WouldBlock`, watching the fd on first need.
async fn wait(fd: RawFd, dir: Direction, waiter: &mut Option<Waiter>) -> io::Result<()> {
    if waiter.as_ref().is_none_or(Waiter::is_closed) {
        *waiter = Some(Waiter::new(fd, dir)?);
    }
    let w = waiter.as_ref().expect("made above");
    // No event is dispatched between the I/O's `WouldBlock` and here (only the loop's poll
    // dispatches), so clearing cannot lose one.
    w.clear();
    poll_fn(|cx| w.poll_ready(cx)).await
}

/// Refuses a blocking socket for the calls that have no `MSG_DONTWAIT`.
fn require_nonblocking(sock: &SockRef<'_>, what: &str) -> io::Result<()> {
    if sock.nonblocking()? {
        return Ok(());
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("{what}: the socket must be non-blocking (call set_nonblocking(true) first)"),
    ))
}

impl LoopHandle {
    /// Receives up to `n` bytes from `sock` (asyncio's `loop.sock_recv`); an empty vector at
    /// end of stream.
    ///
    /// # Errors
    /// What `recv` says; `AlreadyExists` when the call must wait and the socket is one the
    /// loop has registered already (an [`asyncio::net`](crate::net) socket, a stream's, an
    /// [`AsyncFd`](crate::net::AsyncFd)): use that object's own methods.
    ///
    /// # Panics
    /// If awaited on another thread than the loop's.
    ///
    /// # Cancel safety
    /// Cancel safe: no data is taken from the socket unless the call completes.
    ///
    /// # Examples
    /// ```
    /// use std::io::Write;
    /// # asyncio::run(async {
    /// let (mut peer, sock) = std::os::unix::net::UnixStream::pair()?;
    /// peer.write_all(b"hello")?;
    /// let data = asyncio::get_running_loop().sock_recv(&sock, 1024).await?;
    /// assert_eq!(data, b"hello");
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub async fn sock_recv(&self, sock: &impl AsFd, n: usize) -> io::Result<Vec<u8>> {
        let mut buf = vec![0; n];
        let got = self.sock_recv_into(sock, &mut buf).await?;
        buf.truncate(got);
        Ok(buf)
    }

    /// Receives into `buf` from `sock`; how many bytes (asyncio's `loop.sock_recv_into`).
    ///
    /// # Errors
    /// As [`sock_recv`](LoopHandle::sock_recv).
    ///
    /// # Panics
    /// If awaited on another thread than the loop's.
    ///
    /// # Cancel safety
    /// Cancel safe: no data is taken from the socket unless the call completes.
    ///
    /// # Examples
    /// ```
    /// use std::io::Write;
    /// # asyncio::run(async {
    /// let (mut peer, sock) = std::os::unix::net::UnixStream::pair()?;
    /// peer.write_all(b"hi")?;
    /// let mut buf = [0; 8];
    /// let n = asyncio::get_running_loop().sock_recv_into(&sock, &mut buf).await?;
    /// assert_eq!(&buf[..n], b"hi");
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub async fn sock_recv_into(&self, sock: &impl AsFd, buf: &mut [u8]) -> io::Result<usize> {
        self.watch_loop_id("sock_recv_into");
        let s = SockRef::from(sock);
        let buf = as_uninit(buf);
        retry(s.as_raw_fd(), Direction::Read, || {
            s.recv_with_flags(buf, RECV_FLAGS)
        })
        .await
    }

    /// Receives one datagram of up to `n` bytes and its sender's address (asyncio's
    /// `loop.sock_recvfrom`); a longer datagram is cut.
    ///
    /// # Errors
    /// As [`sock_recv`](LoopHandle::sock_recv).
    ///
    /// # Panics
    /// If awaited on another thread than the loop's.
    ///
    /// # Cancel safety
    /// Cancel safe: no datagram is taken unless the call completes.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let a = std::net::UdpSocket::bind("127.0.0.1:0")?;
    /// let b = std::net::UdpSocket::bind("127.0.0.1:0")?;
    /// b.send_to(b"ping", a.local_addr()?)?;
    /// let (data, from) = asyncio::get_running_loop().sock_recvfrom(&a, 100).await?;
    /// assert_eq!((data.as_slice(), from.as_socket()), (&b"ping"[..], Some(b.local_addr()?)));
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub async fn sock_recvfrom(
        &self,
        sock: &impl AsFd,
        n: usize,
    ) -> io::Result<(Vec<u8>, SockAddr)> {
        let mut buf = vec![0; n];
        let (got, addr) = self.sock_recvfrom_into(sock, &mut buf).await?;
        buf.truncate(got);
        Ok((buf, addr))
    }

    /// Receives one datagram into `buf`; its length and sender (asyncio's
    /// `loop.sock_recvfrom_into`).
    ///
    /// # Errors
    /// As [`sock_recv`](LoopHandle::sock_recv).
    ///
    /// # Panics
    /// If awaited on another thread than the loop's.
    ///
    /// # Cancel safety
    /// Cancel safe: no datagram is taken unless the call completes.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let a = std::net::UdpSocket::bind("127.0.0.1:0")?;
    /// let b = std::net::UdpSocket::bind("127.0.0.1:0")?;
    /// b.send_to(b"ping", a.local_addr()?)?;
    /// let mut buf = [0; 16];
    /// let (n, _from) = asyncio::get_running_loop().sock_recvfrom_into(&a, &mut buf).await?;
    /// assert_eq!(&buf[..n], b"ping");
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub async fn sock_recvfrom_into(
        &self,
        sock: &impl AsFd,
        buf: &mut [u8],
    ) -> io::Result<(usize, SockAddr)> {
        self.watch_loop_id("sock_recvfrom_into");
        let s = SockRef::from(sock);
        let buf = as_uninit(buf);
        retry(s.as_raw_fd(), Direction::Read, || {
            s.recv_from_with_flags(buf, RECV_FLAGS)
        })
        .await
    }

    /// Sends all of `data` (asyncio's `loop.sock_sendall`), waiting for room as often as
    /// needed. Writing to a closed peer is `BrokenPipe`, never `SIGPIPE`.
    ///
    /// # Errors
    /// What `send` says; `AlreadyExists` when the socket is one of the loop's own.
    ///
    /// # Panics
    /// If awaited on another thread than the loop's.
    ///
    /// # Cancel safety
    /// Not cancel safe: when dropped part of `data` may have been sent, and how much is lost
    /// (as in asyncio).
    ///
    /// # Examples
    /// ```
    /// use std::io::Read;
    /// # asyncio::run(async {
    /// let (mut peer, sock) = std::os::unix::net::UnixStream::pair()?;
    /// asyncio::get_running_loop().sock_sendall(&sock, b"hello").await?;
    /// let mut buf = [0; 5];
    /// peer.read_exact(&mut buf)?;
    /// assert_eq!(&buf, b"hello");
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub async fn sock_sendall(&self, sock: &impl AsFd, data: &[u8]) -> io::Result<()> {
        self.watch_loop_id("sock_sendall");
        let s = SockRef::from(sock);
        let mut sent = 0;
        let mut waiter = None;
        while sent < data.len() {
            match s.send_with_flags(&data[sent..], SEND_FLAGS) {
                Ok(n) => sent += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    wait(s.as_raw_fd(), Direction::Write, &mut waiter).await?;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Sends one datagram to `addr`; how many bytes were sent (asyncio's `loop.sock_sendto`).
    ///
    /// # Errors
    /// What `sendto` says; `AlreadyExists` when the socket is one of the loop's own.
    ///
    /// # Panics
    /// If awaited on another thread than the loop's.
    ///
    /// # Cancel safety
    /// Cancel safe: the datagram is sent whole or not at all, and only if the call
    /// completes.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let a = std::net::UdpSocket::bind("127.0.0.1:0")?;
    /// let b = std::net::UdpSocket::bind("127.0.0.1:0")?;
    /// let lp = asyncio::get_running_loop();
    /// assert_eq!(lp.sock_sendto(&a, b"ping", b.local_addr()?).await?, 4);
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub async fn sock_sendto(
        &self,
        sock: &impl AsFd,
        data: &[u8],
        addr: impl Into<SockAddr>,
    ) -> io::Result<usize> {
        self.watch_loop_id("sock_sendto");
        let s = SockRef::from(sock);
        let addr = addr.into();
        retry(s.as_raw_fd(), Direction::Write, || {
            s.send_to_with_flags(data, &addr, SEND_FLAGS)
        })
        .await
    }

    /// Connects `sock` to `addr` (asyncio's `loop.sock_connect`; the address is resolved
    /// already, as [`getaddrinfo`](std::net::ToSocketAddrs) would give it).
    ///
    /// # Errors
    /// `InvalidInput` for a blocking socket; what the connection ends with (`ConnectionRefused`,
    /// a timeout from the kernel, ...); `AlreadyExists` when the socket is one of the loop's
    /// own.
    ///
    /// # Panics
    /// If awaited on another thread than the loop's.
    ///
    /// # Cancel safety
    /// Not cancel safe: when dropped the connection attempt goes on in the kernel, and the
    /// socket cannot be connected again; close it.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
    /// sock.set_nonblocking(true)?;
    /// asyncio::get_running_loop().sock_connect(&sock, listener.local_addr()?).await?;
    /// assert_eq!(sock.peer_addr()?.as_socket(), Some(listener.local_addr()?));
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub async fn sock_connect(
        &self,
        sock: &impl AsFd,
        addr: impl Into<SockAddr>,
    ) -> io::Result<()> {
        self.watch_loop_id("sock_connect");
        let s = SockRef::from(sock);
        require_nonblocking(&s, "sock_connect")?;
        match s.connect(&addr.into()) {
            Ok(()) => return Ok(()),
            Err(e) if in_progress(&e) => {}
            Err(e) => return Err(e),
        }
        let mut waiter = None;
        loop {
            wait(s.as_raw_fd(), Direction::Write, &mut waiter).await?;
            if let Some(e) = s.take_error()? {
                return Err(e);
            }
            // Writable with no error and a peer: connected. Without a peer it was an early
            // wakeup: wait again.
            match s.peer_addr() {
                Ok(_) => return Ok(()),
                Err(e) if e.raw_os_error() == Some(libc::ENOTCONN) => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Accepts a connection on the listening `sock` (asyncio's `loop.sock_accept`): the new
    /// socket, non-blocking and close-on-exec, and the peer's address.
    ///
    /// # Errors
    /// `InvalidInput` for a blocking listener; what `accept` says; `AlreadyExists` when the
    /// socket is one of the loop's own.
    ///
    /// # Panics
    /// If awaited on another thread than the loop's.
    ///
    /// # Cancel safety
    /// Cancel safe: a connection is taken from the queue only when the call completes.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// listener.set_nonblocking(true)?;
    /// let client = std::net::TcpStream::connect(listener.local_addr()?)?;
    /// let (conn, peer) = asyncio::get_running_loop().sock_accept(&listener).await?;
    /// assert_eq!(peer.as_socket(), Some(client.local_addr()?));
    /// let conn: std::net::TcpStream = conn.into();
    /// # drop(conn);
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub async fn sock_accept(&self, sock: &impl AsFd) -> io::Result<(Socket, SockAddr)> {
        self.watch_loop_id("sock_accept");
        let s = SockRef::from(sock);
        require_nonblocking(&s, "sock_accept")?;
        let (conn, addr) = retry(s.as_raw_fd(), Direction::Read, || s.accept()).await?;
        conn.set_nonblocking(true)?;
        Ok((conn, addr))
    }
}

/// Whether a non-blocking `connect` goes on in the background (asyncio catches
/// `BlockingIOError` and `InterruptedError`: `EINPROGRESS`, `EAGAIN` of a Unix socket whose
/// listener's queue is full, `EINTR`).
fn in_progress(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EINPROGRESS | libc::EAGAIN | libc::EINTR)
    )
}
