//! `AsyncFd`: any file descriptor awaited from Rust, the `async` counterpart of
//! `add_reader`.
//!
//! One design among those possible, chosen because it fits an edge-triggered reactor: the
//! `AsyncFd` owns its object and its registration for its whole life, as tokio's `AsyncFd`
//! does, so readiness is remembered between waits and a wait costs no system call. Free
//! functions `wait_readable(fd)` would instead register and deregister the fd on every wait
//! (two `epoll_ctl`s each, as asyncio's `sock_*` pay) and could not remember an edge between
//! two waits. Readiness is cleared by the user, when their I/O says `WouldBlock`, through
//! [`AsyncFdReadyGuard::try_io`] or [`AsyncFdReadyGuard::clear_ready`].

use crate::reactor::{Direction, Registration};
use std::future::poll_fn;
use std::io;
use std::os::fd::{AsRawFd, RawFd};

/// An object with a file descriptor (a socket, a pipe, an eventfd, a tty), registered with
/// the running loop for as long as it lives, whose readiness can be awaited.
///
/// The object should be non-blocking: the loop only says when to try, and a blocking call
/// would block the loop. The fd is deregistered when the `AsyncFd` drops or by
/// [`into_inner`](AsyncFd::into_inner); the object is dropped (closed) after that.
///
/// # Examples
/// ```
/// use asyncio::net::AsyncFd;
/// use std::io::{Read, Write};
/// use std::os::unix::net::UnixStream;
/// # asyncio::run(async {
/// let (mut tx, rx) = UnixStream::pair()?;
/// rx.set_nonblocking(true)?;
/// let rx = AsyncFd::new(rx)?;
/// tx.write_all(b"ping")?;
/// let mut buf = [0; 4];
/// let n = loop {
///     let mut guard = rx.readable().await?;
///     match guard.try_io(|sock| (&*sock).read(&mut buf)) {
///         Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
///         other => break other?,
///     }
/// };
/// assert_eq!(&buf[..n], b"ping");
/// # std::io::Result::Ok(())
/// # }).unwrap();
/// ```
pub struct AsyncFd<T: AsRawFd> {
    /// `Some` until `into_inner`.
    inner: Option<T>,
    fd: RawFd,
    reg: Registration,
}

impl<T: AsRawFd> AsyncFd<T> {
    /// Registers `inner`'s fd with the running loop, for reading and writing.
    ///
    /// # Errors
    /// Outside a running loop; `InvalidInput` when the fd is not open, `PermissionDenied`
    /// when it cannot be polled (a regular file), `AlreadyExists` when the loop has it
    /// registered already (by `add_reader`, a socket of this crate or another `AsyncFd`).
    /// `inner` is dropped on error.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let file = std::fs::File::open("Cargo.toml")?;
    /// let err = asyncio::net::AsyncFd::new(file).err().unwrap();
    /// assert_eq!(err.kind(), std::io::ErrorKind::PermissionDenied);
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn new(inner: T) -> io::Result<Self> {
        let fd = inner.as_raw_fd();
        let interest = mio::Interest::READABLE | mio::Interest::WRITABLE;
        let reg = Registration::new(&mut mio::unix::SourceFd(&fd), interest)
            .map_err(|e| crate::reactor::watch::refused(fd, e))?;
        Ok(AsyncFd {
            inner: Some(inner),
            fd,
            reg,
        })
    }

    /// The object.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let (a, _b) = std::os::unix::net::UnixStream::pair()?;
    /// let a = asyncio::net::AsyncFd::new(a)?;
    /// assert!(a.get_ref().peer_addr().is_ok());
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn get_ref(&self) -> &T {
        self.inner.as_ref().expect("AsyncFd used after into_inner")
    }

    /// Deregisters the fd and gives the object back, open.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let (a, _b) = std::os::unix::net::UnixStream::pair()?;
    /// let a = asyncio::net::AsyncFd::new(a)?.into_inner();
    /// let again = asyncio::net::AsyncFd::new(a)?; // no longer registered: allowed again
    /// # drop(again);
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn into_inner(mut self) -> T {
        self.reg.deregister(&mut mio::unix::SourceFd(&self.fd));
        self.inner.take().expect("AsyncFd used after into_inner")
    }

    async fn ready(&self, dir: Direction) -> io::Result<AsyncFdReadyGuard<'_, T>> {
        poll_fn(|cx| self.reg.poll_ready(dir, cx)).await?;
        Ok(AsyncFdReadyGuard { fd: self, dir })
    }

    /// Waits until the fd may be readable (or is at end of file, hung up or in error), and
    /// returns a guard to try the read with.
    ///
    /// # Errors
    /// When awaited on another loop than the one the `AsyncFd` was made on.
    ///
    /// # Cancel safety
    /// Cancel safe: dropping the future loses nothing; readiness stays remembered.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let (mut tx, rx) = std::os::unix::net::UnixStream::pair()?;
    /// let rx = asyncio::net::AsyncFd::new(rx)?;
    /// std::io::Write::write_all(&mut tx, b"x")?;
    /// let _guard = rx.readable().await?;
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub async fn readable(&self) -> io::Result<AsyncFdReadyGuard<'_, T>> {
        self.ready(Direction::Read).await
    }

    /// Waits until the fd may be writable (or hung up, or in error), and returns a guard to
    /// try the write with.
    ///
    /// # Errors
    /// When awaited on another loop than the one the `AsyncFd` was made on.
    ///
    /// # Cancel safety
    /// Cancel safe: dropping the future loses nothing; readiness stays remembered.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let (tx, _rx) = std::os::unix::net::UnixStream::pair()?;
    /// let tx = asyncio::net::AsyncFd::new(tx)?;
    /// let mut guard = tx.writable().await?;
    /// let n = guard.try_io(|sock| std::io::Write::write(&mut &*sock, b"hi"))?;
    /// assert_eq!(n, 2);
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub async fn writable(&self) -> io::Result<AsyncFdReadyGuard<'_, T>> {
        self.ready(Direction::Write).await
    }
}

impl<T: AsRawFd> AsRawFd for AsyncFd<T> {
    fn as_raw_fd(&self) -> RawFd {
        self.fd
    }
}

impl<T: AsRawFd> Drop for AsyncFd<T> {
    fn drop(&mut self) {
        if self.inner.is_some() {
            self.reg.deregister(&mut mio::unix::SourceFd(&self.fd));
        }
    }
}

impl<T: AsRawFd + std::fmt::Debug> std::fmt::Debug for AsyncFd<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncFd")
            .field("inner", &self.inner)
            .finish()
    }
}

/// Says an [`AsyncFd`] may be ready in one direction; made by
/// [`readable`](AsyncFd::readable) and [`writable`](AsyncFd::writable).
///
/// The readiness is remembered until cleared: clear it when the I/O says `WouldBlock`
/// ([`try_io`](Self::try_io) does), or the next wait returns at once.
///
/// # Examples
/// ```
/// # asyncio::run(async {
/// let (tx, _rx) = std::os::unix::net::UnixStream::pair()?;
/// let tx = asyncio::net::AsyncFd::new(tx)?;
/// let mut guard = tx.writable().await?;
/// guard.clear_ready();
/// # std::io::Result::Ok(())
/// # }).unwrap();
/// ```
#[must_use = "a guard that is dropped without trying the I/O leaves the readiness set"]
pub struct AsyncFdReadyGuard<'a, T: AsRawFd> {
    fd: &'a AsyncFd<T>,
    dir: Direction,
}

impl<'a, T: AsRawFd> AsyncFdReadyGuard<'a, T> {
    /// Forgets the readiness: the next wait waits for the poller's next event.
    pub fn clear_ready(&mut self) {
        self.fd.reg.clear(self.dir);
    }

    /// Runs one non-blocking I/O call on the object; a `WouldBlock` from it clears the
    /// readiness and is returned, for the caller to wait again.
    ///
    /// # Errors
    /// What `f` returns.
    pub fn try_io<R>(&mut self, f: impl FnOnce(&'a T) -> io::Result<R>) -> io::Result<R> {
        let result = f(self.fd.get_ref());
        if matches!(&result, Err(e) if e.kind() == io::ErrorKind::WouldBlock) {
            self.clear_ready();
        }
        result
    }

    /// The object.
    pub fn get_ref(&self) -> &'a T {
        self.fd.get_ref()
    }
}

impl<T: AsRawFd> std::fmt::Debug for AsyncFdReadyGuard<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncFdReadyGuard")
            .field("dir", &self.dir)
            .finish()
    }
}
