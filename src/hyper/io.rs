//! hyper's `Read` and `Write` on the loop's sockets: hyper reads straight into its own
//! uninitialised buffer, and writes headers and body with one `sendmsg`.

use crate::net::{TcpStream, UnixStream};
use ::hyper::rt::{Read, ReadBufCursor, Write};
use std::borrow::Borrow;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

/// The impls for `$ty` (a socket or a reference to one) reaching `$base`.
macro_rules! hyper_io {
    ($ty:ty, $base:ty) => {
        impl Read for $ty {
            /// Reads into the unfilled, possibly uninitialised, part of `buf`.
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                mut buf: ReadBufCursor<'_>,
            ) -> Poll<io::Result<()>> {
                let s: &$base = (*self).borrow();
                // SAFETY: `poll_read_uninit` only stores bytes the kernel wrote, never
                // uninitialised ones, into the slice.
                let room = unsafe { buf.as_mut() };
                if room.is_empty() {
                    return Poll::Ready(Ok(()));
                }
                let n = ready!(s.io.poll_read_uninit(cx, room))?;
                // SAFETY: `poll_read_uninit` initialised the first `n` bytes it was given.
                unsafe { buf.advance(n) };
                Poll::Ready(Ok(()))
            }
        }

        impl Write for $ty {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                let s: &$base = (*self).borrow();
                s.poll_write(cx, buf)
            }

            fn poll_write_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                let s: &$base = (*self).borrow();
                s.io.poll_write_vectored(cx, bufs)
            }

            fn is_write_vectored(&self) -> bool {
                true
            }

            /// Nothing is buffered: a write went to the socket.
            fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(Ok(()))
            }

            /// Shuts down the write half.
            fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                let s: &$base = (*self).borrow();
                Poll::Ready(s.io.shutdown_write())
            }
        }
    };
}

hyper_io!(TcpStream, TcpStream);
hyper_io!(&TcpStream, TcpStream);
hyper_io!(UnixStream, UnixStream);
hyper_io!(&UnixStream, UnixStream);
