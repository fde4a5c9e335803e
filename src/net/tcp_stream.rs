//! `TcpStream`: a connected TCP socket on the running loop.

use super::stream::Stream;
use super::sys;
use crate::reactor::{Direction, IoSource};
use std::future::poll_fn;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::task::{Context, Poll};

/// A TCP connection registered with the running loop.
///
/// Reads and writes take `&self`, so one task can read while another writes. When two tasks
/// wait on the same direction both are woken; each retries its call.
///
/// # Examples
/// ```
/// use asyncio::net::{TcpListener, TcpStream};
/// # asyncio::run(async {
/// let listener = TcpListener::bind("127.0.0.1:0".parse().unwrap())?;
/// let client = TcpStream::connect(listener.local_addr()?).await?;
/// let (server, _) = listener.accept().await?;
/// client.write_all(b"hi").await?;
/// client.shutdown(std::net::Shutdown::Write)?;
/// let mut got = Vec::new();
/// let mut buf = [0; 16];
/// loop {
///     let n = server.read(&mut buf).await?;
///     if n == 0 { break; }
///     got.extend_from_slice(&buf[..n]);
/// }
/// assert_eq!(got, b"hi");
/// # std::io::Result::Ok(())
/// # }).unwrap();
/// ```
#[derive(Debug)]
pub struct TcpStream {
    /// The shared stream; the streams layer reads through it into uninitialised memory.
    pub(crate) io: Stream<mio::net::TcpStream>,
}

impl TcpStream {
    /// Connects to `addr` (asyncio's `loop.sock_connect`).
    ///
    /// # Errors
    /// The connection's error with its real kind (`ConnectionRefused`, …); outside a running
    /// loop, an error of kind `Other`.
    ///
    /// # Cancel safety
    /// Dropping the future abandons the attempt and closes the socket.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let listener = asyncio::net::TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    /// let addr = listener.local_addr().unwrap();
    /// drop(listener);
    /// let err = asyncio::net::TcpStream::connect(addr).await.unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
    /// # });
    /// ```
    pub async fn connect(addr: SocketAddr) -> io::Result<TcpStream> {
        Self::connect_from(addr, None).await
    }

    /// Connects to `addr` from `local` if given (asyncio's `local_addr`).
    pub(crate) async fn connect_from(
        addr: SocketAddr,
        local: Option<SocketAddr>,
    ) -> io::Result<TcpStream> {
        let std = sys::start_connect(addr, local)?;
        let io = IoSource::new(mio::net::TcpStream::from_std(std))?;
        poll_fn(|cx| poll_connected(&io, cx)).await?;
        Ok(TcpStream {
            io: Stream::connected(io),
        })
    }

    /// Wraps a connected std socket, making it non-blocking.
    ///
    /// # Errors
    /// Outside a running loop, or when the socket cannot be registered.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let s = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// let s = asyncio::net::TcpStream::from_std(s).unwrap();
    /// assert_eq!(s.peer_addr().unwrap(), l.local_addr().unwrap());
    /// # });
    /// ```
    pub fn from_std(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        stream.set_nonblocking(true)?;
        Self::from_mio(mio::net::TcpStream::from_std(stream))
    }

    pub(crate) fn from_mio(stream: mio::net::TcpStream) -> io::Result<TcpStream> {
        Ok(TcpStream {
            io: Stream::new(stream)?,
        })
    }

    /// Reads into `buf`, waiting until some bytes arrive; `Ok(0)` is end of stream
    /// (asyncio's `loop.sock_recv`).
    ///
    /// # Errors
    /// The socket's error (`ConnectionReset`, …).
    ///
    /// # Cancel safety
    /// Cancel safe: if dropped before it completes, no bytes were read.
    ///
    /// # Examples
    /// See [`TcpStream`].
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
    /// See the [module](crate::net) example.
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
    /// # let l = asyncio::net::TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    /// # let s = asyncio::net::TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
    /// # let (peer, _) = l.accept().await.unwrap();
    /// # peer.write_all(b"x").await.unwrap();
    /// let mut buf = [0; 8];
    /// let n = std::future::poll_fn(|cx| s.poll_read(cx, &mut buf)).await.unwrap();
    /// assert_eq!(&buf[..n], b"x");
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
    /// # let l = asyncio::net::TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    /// # let s = asyncio::net::TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
    /// let err = s.try_read(&mut [0; 8]).unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::WouldBlock);
    /// # });
    /// ```
    #[inline]
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.try_read(buf)
    }

    /// Writes some of `buf`, waiting until the socket takes at least one byte.
    ///
    /// # Errors
    /// The socket's error (`BrokenPipe`, `ConnectionReset`, …).
    ///
    /// # Cancel safety
    /// Cancel safe: if dropped before it completes, nothing was written.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// # let l = asyncio::net::TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    /// # let s = asyncio::net::TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
    /// let n = s.write(b"hello").await.unwrap();
    /// assert!(n > 0);
    /// # });
    /// ```
    pub async fn write(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.write(buf).await
    }

    /// Writes all of `buf` (asyncio's `loop.sock_sendall`).
    ///
    /// # Errors
    /// The socket's error.
    ///
    /// # Cancel safety
    /// Not cancel safe: an unknown prefix of `buf` may have been sent.
    ///
    /// # Examples
    /// See the [module](crate::net) example.
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
    /// # let l = asyncio::net::TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    /// # let s = asyncio::net::TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
    /// let n = std::future::poll_fn(|cx| s.poll_write(cx, b"x")).await.unwrap();
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
    /// ```
    /// # asyncio::run(async {
    /// # let l = asyncio::net::TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    /// # let s = asyncio::net::TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
    /// assert_eq!(s.try_write(b"abc").unwrap(), 3);
    /// # });
    /// ```
    #[inline]
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.try_write(buf)
    }

    /// Shuts down the read half, the write half (sends FIN: the peer reads end of stream), or
    /// both.
    ///
    /// # Errors
    /// `NotConnected` if the peer is gone.
    ///
    /// # Examples
    /// See [`TcpStream`].
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.shutdown(how)
    }

    /// The peer's address (asyncio's `get_extra_info("peername")`).
    ///
    /// # Errors
    /// `NotConnected` if the connection is gone.
    ///
    /// # Examples
    /// See [`TcpStream::from_std`].
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// The local address (asyncio's `get_extra_info("sockname")`).
    ///
    /// # Errors
    /// When the OS refuses.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// # let l = asyncio::net::TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    /// let s = asyncio::net::TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
    /// assert!(s.local_addr().unwrap().ip().is_loopback());
    /// # });
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// Sets `TCP_NODELAY` (asyncio's transports set it on every TCP connection).
    ///
    /// # Errors
    /// When the OS refuses.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// # let l = asyncio::net::TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    /// let s = asyncio::net::TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
    /// s.set_nodelay(true).unwrap();
    /// assert!(s.nodelay().unwrap());
    /// # });
    /// ```
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.io.get_ref().set_nodelay(nodelay)
    }

    /// Whether `TCP_NODELAY` is set.
    ///
    /// # Errors
    /// When the OS refuses.
    ///
    /// # Examples
    /// See [`set_nodelay`](Self::set_nodelay).
    pub fn nodelay(&self) -> io::Result<bool> {
        self.io.get_ref().nodelay()
    }

    /// Waits for read or write readiness (for the streams layer's reads, and for protocols
    /// layered on the socket, like TLS).
    #[inline]
    pub(crate) fn poll_ready(&self, dir: Direction, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io.poll_ready(dir, cx)
    }

    /// Sets `SO_LINGER` to zero, so that dropping the socket resets the connection (RST)
    /// instead of closing it in order (asyncio's `transport.abort()`).
    #[allow(dead_code)] // used by the streams' abort
    pub(crate) fn set_abortive_close(&self) -> io::Result<()> {
        self.io.set_abortive_close()
    }
}

/// Ready when a non-blocking connect has finished: its error, or success.
fn poll_connected(
    io: &IoSource<mio::net::TcpStream>,
    cx: &mut Context<'_>,
) -> Poll<io::Result<()>> {
    loop {
        std::task::ready!(io.poll_ready(Direction::Write, cx))?;
        if let Some(e) = io.get_ref().take_error()? {
            return Poll::Ready(Err(e));
        }
        match io.get_ref().peer_addr() {
            Ok(_) => return Poll::Ready(Ok(())),
            Err(e) if e.kind() == io::ErrorKind::NotConnected => {
                // A spurious edge: wait for the next. If the source is still ready (a final
                // hang-up state), the connection failed without an error to take.
                io.clear_ready(Direction::Write);
                if io.is_ready(Direction::Write) {
                    return Poll::Ready(Err(e));
                }
            }
            Err(e) => return Poll::Ready(Err(e)),
        }
    }
}

impl AsFd for TcpStream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.as_fd()
    }
}

impl AsRawFd for TcpStream {
    fn as_raw_fd(&self) -> RawFd {
        self.io.as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A read that does not fill the buffer drained the socket: readiness is forgotten, so the
    /// next read waits for the poller's edge instead of trying a `recv` that says `EAGAIN`
    /// (one `recv` per message). A read that fills the buffer keeps it: more may be there.
    #[test]
    fn a_short_read_forgets_read_readiness() {
        crate::run(async {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let mut peer = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
            let (sock, _) = listener.accept().unwrap();
            let sock = TcpStream::from_std(sock).unwrap();
            peer.set_nodelay(true).unwrap();
            use std::io::Write;

            peer.write_all(&[1; 8]).unwrap();
            let mut buf = [0u8; 8];
            sock.read_exact(&mut buf).await.unwrap();
            assert!(
                sock.io.source.is_ready(Direction::Read),
                "a full read keeps readiness"
            );

            peer.write_all(b"hello").unwrap();
            let n = sock.read(&mut [0u8; 64]).await.unwrap();
            assert_eq!(n, 5);
            assert!(
                !sock.io.source.is_ready(Direction::Read),
                "a short read forgets it"
            );

            peer.write_all(b"again").unwrap();
            let mut room = [std::mem::MaybeUninit::uninit(); 64];
            let n = poll_fn(|cx| sock.io.poll_read_uninit(cx, &mut room))
                .await
                .unwrap();
            assert_eq!(n, 5);
            // SAFETY: `poll_read_uninit` initialised the `n` bytes it reported.
            let got: Vec<u8> = room[..n]
                .iter()
                .map(|b| unsafe { b.assume_init() })
                .collect();
            assert_eq!(got, b"again");
            assert!(
                !sock.io.source.is_ready(Direction::Read),
                "so does an uninitialised one"
            );
        });
    }
}
