//! The few socket calls std and mio do not make the way we need.

use std::io;
use std::mem::MaybeUninit;
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd};

/// `send` without `SIGPIPE`. std's `UnixStream::write` is a plain `write(2)`, which raises
/// `SIGPIPE` on a closed peer and would kill a process that did not ignore it.
#[inline]
pub(crate) fn send(sock: &impl AsRawFd, buf: &[u8]) -> io::Result<usize> {
    #[cfg(any(
        target_os = "linux",
        target_os = "android",
        target_os = "freebsd",
        target_os = "netbsd",
        target_os = "openbsd",
        target_os = "dragonfly",
        target_os = "illumos",
        target_os = "solaris"
    ))]
    const FLAGS: libc::c_int = libc::MSG_NOSIGNAL;
    // Elsewhere (Apple) sockets are made with SO_NOSIGPIPE instead; see `no_sigpipe`.
    #[cfg(not(any(
        target_os = "linux",
        target_os = "android",
        target_os = "freebsd",
        target_os = "netbsd",
        target_os = "openbsd",
        target_os = "dragonfly",
        target_os = "illumos",
        target_os = "solaris"
    )))]
    const FLAGS: libc::c_int = 0;
    // SAFETY: `buf` is readable for `buf.len()` bytes during the call, and a send only reads
    // it; `sock` is borrowed, so its fd stays open.
    unsafe {
        transfer(
            Transfer::Send,
            sock,
            buf.as_ptr().cast_mut(),
            buf.len(),
            FLAGS,
        )
    }
}

/// `send` from several buffers at once: `sendmsg`, without `SIGPIPE` as [`send`].
#[cfg(any(feature = "futures-io", feature = "tokio-io", feature = "hyper"))]
pub(crate) fn send_vectored(sock: &impl AsRawFd, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
    #[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
    const FLAGS: libc::c_int = libc::MSG_NOSIGNAL;
    #[cfg(not(any(target_os = "linux", target_os = "android", target_os = "freebsd")))]
    const FLAGS: libc::c_int = 0;
    // Past IOV_MAX the call fails; what is left goes in the next write.
    let bufs = &bufs[..bufs.len().min(1024)];
    // SAFETY: an all-zero `msghdr` is valid (no address, no control data).
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    // `IoSlice` is guaranteed ABI-compatible with `iovec` on Unix; sendmsg only reads them.
    msg.msg_iov = bufs.as_ptr().cast_mut().cast();
    msg.msg_iovlen = bufs.len() as _;
    // SAFETY: `msg` points at `bufs`, readable for the call; `sock` is borrowed, so its fd
    // stays open.
    byte_count(unsafe { libc::sendmsg(sock.as_raw_fd(), &msg, FLAGS) })
}

/// `recv` into `buf`.
#[inline]
pub(crate) fn recv(sock: &impl AsRawFd, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: `[u8]` and `[MaybeUninit<u8>]` have the same layout, and `recv_uninit` only
    // stores bytes the kernel wrote (never uninitialised ones), so `buf` stays initialised.
    let buf = unsafe { &mut *(buf as *mut [u8] as *mut [MaybeUninit<u8>]) };
    recv_uninit(sock, buf)
}

/// `recv` into memory that need not be initialised. On `Ok(n)`, `n <= buf.len()` and the
/// first `n` bytes of `buf` are initialised (the kernel wrote them).
///
/// On Linux (x86-64 and arm64, where the socket calls have always been system calls of their
/// own) both this and [`send`] are made as plain system calls: glibc's `recv` and `send`
/// are pthread cancellation points, which in a process with more than one thread (a loop not
/// on the main thread, the blocking pool) wrap every call in two atomic updates of the
/// thread's cancellation state. Nothing here uses pthread cancellation.
#[inline]
pub(crate) fn recv_uninit(sock: &impl AsRawFd, buf: &mut [MaybeUninit<u8>]) -> io::Result<usize> {
    // SAFETY: `buf` is writable for `buf.len()` bytes during the call (the kernel only ever
    // writes bytes into it); `sock` is borrowed, so its fd stays open.
    unsafe { transfer(Transfer::Recv, sock, buf.as_mut_ptr().cast(), buf.len(), 0) }
}

/// Which way [`transfer`] moves bytes.
#[derive(Clone, Copy)]
enum Transfer {
    Send,
    Recv,
}

/// A `send` or `recv` without an address: a plain system call where the socket calls have
/// always been their own (Linux on x86-64 and arm64; see [`recv_uninit`]), libc's elsewhere.
///
/// # Safety
/// `buf` is valid for `len` bytes for the call: readable for a send, writable for a recv.
#[inline]
unsafe fn transfer(
    way: Transfer,
    sock: &impl AsRawFd,
    buf: *mut u8,
    len: usize,
    flags: libc::c_int,
) -> io::Result<usize> {
    let fd = sock.as_raw_fd();
    #[cfg(all(
        target_os = "linux",
        any(target_arch = "x86_64", target_arch = "aarch64")
    ))]
    // SAFETY: the caller vouches for `buf`; `fd` is open while `sock` is borrowed; the address
    // and its length are null, as `send` and `recv` pass them.
    let n = unsafe {
        let call = match way {
            Transfer::Send => libc::SYS_sendto,
            Transfer::Recv => libc::SYS_recvfrom,
        };
        libc::syscall(
            call,
            fd as libc::c_long,
            buf,
            len,
            flags as libc::c_long,
            std::ptr::null_mut::<libc::sockaddr>(),
            std::ptr::null_mut::<libc::socklen_t>(),
        )
    };
    #[cfg(not(all(
        target_os = "linux",
        any(target_arch = "x86_64", target_arch = "aarch64")
    )))]
    // SAFETY: as above.
    let n = unsafe {
        match way {
            Transfer::Send => libc::send(fd, buf.cast_const().cast(), len, flags),
            Transfer::Recv => libc::recv(fd, buf.cast(), len, flags),
        }
    };
    byte_count(n)
}

/// What a socket call returned: a byte count, or when negative the error it left in `errno`.
#[inline]
fn byte_count(n: impl TryInto<usize>) -> io::Result<usize> {
    n.try_into().map_err(|_| io::Error::last_os_error())
}

/// Sets `SO_NOSIGPIPE` where `MSG_NOSIGNAL` does not exist.
pub(crate) fn no_sigpipe(sock: &impl AsFd) -> io::Result<()> {
    #[cfg(any(
        target_os = "macos",
        target_os = "ios",
        target_os = "tvos",
        target_os = "watchos"
    ))]
    socket2::SockRef::from(sock).set_nosigpipe(true)?;
    let _ = sock;
    Ok(())
}

/// How a listening TCP socket is made (asyncio's `create_server` options).
#[derive(Clone, Copy, Debug)]
pub(crate) struct BindOptions {
    pub(crate) backlog: i32,
    pub(crate) reuse_address: bool,
    pub(crate) reuse_port: bool,
    /// Listen at once; when false the socket is only bound.
    pub(crate) listen: bool,
}

impl Default for BindOptions {
    fn default() -> Self {
        // asyncio's defaults: backlog 100, SO_REUSEADDR on POSIX.
        BindOptions {
            backlog: 100,
            reuse_address: true,
            reuse_port: false,
            listen: true,
        }
    }
}

/// A non-blocking listening socket. IPv6 sockets are IPv6-only, as asyncio makes them, so
/// `::` and `0.0.0.0` can both be bound on one port.
pub(crate) fn bind_tcp(addr: SocketAddr, opts: BindOptions) -> io::Result<std::net::TcpListener> {
    let domain = socket2::Domain::for_address(addr);
    let sock = socket2::Socket::new(domain, socket2::Type::STREAM, Some(socket2::Protocol::TCP))?;
    sock.set_cloexec(true)?;
    if opts.reuse_address {
        sock.set_reuse_address(true)?;
    }
    if opts.reuse_port {
        sock.set_reuse_port(true)?;
    }
    if addr.is_ipv6() {
        sock.set_only_v6(true)?;
    }
    sock.set_nonblocking(true)?;
    sock.bind(&addr.into())?;
    if opts.listen {
        sock.listen(opts.backlog)?;
    }
    Ok(sock.into())
}

/// A non-blocking Unix-domain listening socket at `path`.
pub(crate) fn bind_unix(
    path: &std::path::Path,
    opts: BindOptions,
) -> io::Result<std::os::unix::net::UnixListener> {
    let sock = socket2::Socket::new(socket2::Domain::UNIX, socket2::Type::STREAM, None)?;
    sock.set_cloexec(true)?;
    sock.set_nonblocking(true)?;
    sock.bind(&socket2::SockAddr::unix(path)?)?;
    if opts.listen {
        sock.listen(opts.backlog)?;
    }
    Ok(std::os::fd::OwnedFd::from(sock).into())
}

/// Starts listening on a socket bound without listening (asyncio's `start_serving=False`
/// listens only when serving starts).
pub(crate) fn listen(sock: &impl AsFd, backlog: i32) -> io::Result<()> {
    socket2::SockRef::from(sock).listen(backlog)
}

/// Starts a non-blocking connect, from `local` if given. The connection completes (or fails)
/// when the socket becomes writable.
pub(crate) fn start_connect(
    addr: SocketAddr,
    local: Option<SocketAddr>,
) -> io::Result<std::net::TcpStream> {
    let domain = socket2::Domain::for_address(addr);
    let sock = socket2::Socket::new(domain, socket2::Type::STREAM, Some(socket2::Protocol::TCP))?;
    sock.set_cloexec(true)?;
    sock.set_nonblocking(true)?;
    no_sigpipe(&sock)?;
    if let Some(local) = local {
        sock.bind(&local.into())?;
    }
    match sock.connect(&addr.into()) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
        Err(e) => return Err(e),
    }
    Ok(sock.into())
}

/// Reads from a stream socket with `recv` (which reads into a buffer of `len` bytes), and
/// after a short read forgets its read readiness: the socket was drained, and the
/// edge-triggered registration reports the next bytes with a new event. Without this, each
/// message costs a second `recv` that only says `EAGAIN`.
#[inline]
pub(crate) fn poll_stream_read<S: mio::event::Source>(
    io: &crate::reactor::IoSource<S>,
    cx: &mut std::task::Context<'_>,
    len: usize,
    recv: impl FnMut(&S) -> io::Result<usize>,
) -> std::task::Poll<io::Result<usize>> {
    let polled = io.poll_io(crate::reactor::Direction::Read, cx, recv);
    if let std::task::Poll::Ready(Ok(n)) = polled {
        if n > 0 && n < len {
            io.clear_ready(crate::reactor::Direction::Read);
        }
    }
    polled
}
