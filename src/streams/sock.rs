//! `Sock`: the socket under a stream connection, plain (TCP, Unix) or TLS over one of those.

use super::addr::StreamAddr;
use super::buffer::ReadBuf;
use crate::net::{TcpStream, UnixStream};
use crate::reactor::Direction;
use std::io;
use std::net::Shutdown;
use std::task::{Context, Poll};

pub(crate) enum Sock {
    Tcp(TcpStream),
    Unix(UnixStream),
    /// A child's stdin, stdout or stderr (`subprocess`).
    Pipe(crate::subprocess::PipeIo),
    #[cfg(feature = "tls")]
    Tls(Box<super::tls::TlsSock>),
}

impl Sock {
    #[inline]
    pub(crate) fn poll_read(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        match self {
            Sock::Tcp(s) => s.poll_read(cx, buf),
            Sock::Unix(s) => s.poll_read(cx, buf),
            Sock::Pipe(p) => p.poll_read(cx, buf),
            #[cfg(feature = "tls")]
            Sock::Tls(s) => s.poll_read(cx, buf),
        }
    }

    /// Reads once into `buf`'s spare room (a socket's read fills uninitialised room
    /// directly) and commits what it read.
    #[inline]
    pub(crate) fn poll_read_buf(
        &self,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf,
    ) -> Poll<io::Result<usize>> {
        // A socket not ready waits before the buffer makes room for a read.
        match self {
            Sock::Tcp(s) => {
                std::task::ready!(s.poll_ready(Direction::Read, cx))?;
                // SAFETY: `poll_read_uninit` initialises the bytes it reports.
                unsafe { buf.read_uninit(|b| s.io.poll_read_uninit(cx, b)) }
            }
            Sock::Unix(s) => {
                std::task::ready!(s.poll_ready(Direction::Read, cx))?;
                // SAFETY: as above.
                unsafe { buf.read_uninit(|b| s.io.poll_read_uninit(cx, b)) }
            }
            _ => {
                let n = std::task::ready!(self.poll_read(cx, buf.read_room()?))?;
                buf.commit_read(n);
                Poll::Ready(Ok(n))
            }
        }
    }

    /// Reads what already arrived into `buf`'s spare room, without waiting, and commits it.
    pub(crate) fn try_read_buf(&self, buf: &mut ReadBuf) -> io::Result<usize> {
        let ready = |r: io::Result<usize>| Poll::Ready(r);
        let polled = match self {
            // SAFETY: `try_read_uninit` initialises the bytes it reports.
            Sock::Tcp(s) => unsafe { buf.read_uninit(|b| ready(s.io.try_read_uninit(b))) },
            // SAFETY: as above.
            Sock::Unix(s) => unsafe { buf.read_uninit(|b| ready(s.io.try_read_uninit(b))) },
            _ => {
                let n = self.try_read(buf.read_room()?)?;
                buf.commit_read(n);
                return Ok(n);
            }
        };
        match polled {
            Poll::Ready(r) => r,
            Poll::Pending => unreachable!("a try never waits"),
        }
    }

    #[inline]
    pub(crate) fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Sock::Tcp(s) => s.try_read(buf),
            Sock::Unix(s) => s.try_read(buf),
            Sock::Pipe(p) => p.try_read(buf),
            #[cfg(feature = "tls")]
            Sock::Tls(s) => s.try_read(buf),
        }
    }

    #[inline]
    pub(crate) fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Sock::Tcp(s) => s.try_write(buf),
            Sock::Unix(s) => s.try_write(buf),
            Sock::Pipe(p) => p.try_write(buf),
            #[cfg(feature = "tls")]
            Sock::Tls(s) => s.try_write(buf),
        }
    }

    #[inline]
    pub(crate) fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self {
            Sock::Tcp(s) => s.poll_write(cx, buf),
            Sock::Unix(s) => s.poll_write(cx, buf),
            Sock::Pipe(p) => p.poll_write(cx, buf),
            #[cfg(feature = "tls")]
            Sock::Tls(s) => s.poll_write(cx, buf),
        }
    }

    /// Runs `f` on the fd once it is writable (see `Stream::poll_write_fd`); `None` over
    /// TLS, where bytes must go through the session.
    pub(crate) fn poll_write_fd<R>(
        &self,
        cx: &mut Context<'_>,
        f: impl FnMut(std::os::fd::RawFd) -> io::Result<R>,
    ) -> Option<Poll<io::Result<R>>> {
        match self {
            Sock::Tcp(s) => Some(s.io.poll_write_fd(cx, f)),
            Sock::Unix(s) => Some(s.io.poll_write_fd(cx, f)),
            Sock::Pipe(p) => Some(p.poll_write_fd(cx, f)),
            #[cfg(feature = "tls")]
            Sock::Tls(_) => None,
        }
    }

    /// Readiness of the socket itself (for the layer above it).
    #[allow(dead_code)] // used by TLS
    pub(crate) fn poll_ready(&self, dir: Direction, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self {
            Sock::Tcp(s) => s.poll_ready(dir, cx),
            Sock::Unix(s) => s.poll_ready(dir, cx),
            Sock::Pipe(p) => p.poll_ready(dir, cx),
            #[cfg(feature = "tls")]
            Sock::Tls(s) => s.inner().poll_ready(dir, cx),
        }
    }

    /// Bytes accepted by a write but not yet on the socket (TLS records).
    #[inline]
    pub(crate) fn has_pending_output(&self) -> bool {
        match self {
            #[cfg(feature = "tls")]
            Sock::Tls(s) => s.has_pending_output(),
            _ => false,
        }
    }

    #[inline]
    pub(crate) fn poll_flush(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self {
            #[cfg(feature = "tls")]
            Sock::Tls(s) => s.poll_flush(cx),
            _ => {
                let _ = cx;
                Poll::Ready(Ok(()))
            }
        }
    }

    /// Whether the write half can be shut alone (not over TLS, as asyncio's SSL transport).
    pub(crate) fn can_write_eof(&self) -> bool {
        match self {
            #[cfg(feature = "tls")]
            Sock::Tls(_) => false,
            _ => true,
        }
    }

    /// An orderly close: TLS says `close_notify` first.
    pub(crate) fn prepare_close(&self) {
        #[cfg(feature = "tls")]
        if let Sock::Tls(s) = self {
            s.close_notify();
        }
    }

    pub(crate) fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        match self {
            Sock::Tcp(s) => s.shutdown(how),
            Sock::Unix(s) => s.shutdown(how),
            Sock::Pipe(p) => p.shutdown(how),
            #[cfg(feature = "tls")]
            Sock::Tls(s) => s.inner().shutdown(how),
        }
    }

    pub(crate) fn set_abortive_close(&self) -> io::Result<()> {
        match self {
            Sock::Tcp(s) => s.set_abortive_close(),
            Sock::Unix(s) => s.set_abortive_close(),
            Sock::Pipe(_) => Ok(()),
            #[cfg(feature = "tls")]
            Sock::Tls(s) => s.inner().set_abortive_close(),
        }
    }

    /// Tells `owner` of an error (a reset) that arrives while no task reads the socket.
    /// Pipes are not watched: their errors are the writer's to meet.
    pub(crate) fn watch_errors(&self, owner: std::rc::Weak<dyn crate::reactor::OnSocketError>) {
        match self {
            Sock::Tcp(s) => s.io.watch_errors(owner),
            Sock::Unix(s) => s.io.watch_errors(owner),
            Sock::Pipe(_) => {}
            #[cfg(feature = "tls")]
            Sock::Tls(s) => s.inner().watch_errors(owner),
        }
    }

    /// The socket's pending error (`SO_ERROR`), taken.
    pub(crate) fn take_error(&self) -> Option<io::Error> {
        let taken = match self {
            Sock::Tcp(s) => s.io.take_error(),
            Sock::Unix(s) => s.io.take_error(),
            Sock::Pipe(_) => Ok(None),
            #[cfg(feature = "tls")]
            Sock::Tls(s) => return s.inner().take_error(),
        };
        taken.unwrap_or_else(Some)
    }

    /// The fd under the connection (the socket's, under TLS too; the pipe's).
    pub(crate) fn raw_fd(&self) -> std::os::fd::RawFd {
        use std::os::fd::AsRawFd;
        match self {
            Sock::Tcp(s) => s.as_raw_fd(),
            Sock::Unix(s) => s.as_raw_fd(),
            Sock::Pipe(p) => p.raw_fd(),
            #[cfg(feature = "tls")]
            Sock::Tls(s) => s.inner().raw_fd(),
        }
    }

    /// asyncio's `peername`, if the socket has one.
    pub(crate) fn peer_addr(&self) -> Option<StreamAddr> {
        match self {
            #[cfg(feature = "tls")]
            Sock::Tls(s) => s.inner().peer_addr(),
            Sock::Tcp(s) => s.peer_addr().ok().map(StreamAddr::Inet),
            Sock::Unix(s) => s.peer_addr().ok().map(|a| StreamAddr::from_unix(&a)),
            Sock::Pipe(_) => None,
        }
    }

    /// asyncio's `sockname`, if the socket has one.
    pub(crate) fn local_addr(&self) -> Option<StreamAddr> {
        match self {
            #[cfg(feature = "tls")]
            Sock::Tls(s) => s.inner().local_addr(),
            Sock::Tcp(s) => s.local_addr().ok().map(StreamAddr::Inet),
            Sock::Unix(s) => s.local_addr().ok().map(|a| StreamAddr::from_unix(&a)),
            Sock::Pipe(_) => None,
        }
    }
}

pub(crate) trait CanWriteEof {
    fn is_none_or_can_write_eof(&self) -> bool;
}

impl CanWriteEof for Option<&Sock> {
    fn is_none_or_can_write_eof(&self) -> bool {
        self.is_none_or(Sock::can_write_eof)
    }
}
