//! tokio's `AsyncRead`, `AsyncWrite` and `AsyncBufRead` (feature `tokio-io`; the traits
//! only, no tokio runtime).

use crate::net::{TcpStream, UnixStream};
use crate::{StreamReader, StreamWriter};
use std::borrow::Borrow;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use tokio::io::{AsyncBufRead, AsyncRead, AsyncWrite, ReadBuf};

/// The socket impls, for `$ty` (a socket or a reference to one) reaching `$base`.
macro_rules! socket_io {
    ($ty:ty, $base:ty) => {
        impl AsyncRead for $ty {
            /// Reads into the unfilled, possibly uninitialised, part of `buf`.
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut ReadBuf<'_>,
            ) -> Poll<io::Result<()>> {
                if buf.remaining() == 0 {
                    return Poll::Ready(Ok(()));
                }
                let s: &$base = (*self).borrow();
                // SAFETY: `poll_read_uninit` only stores bytes the kernel wrote, never
                // uninitialised ones, so the part already initialised stays so.
                let unfilled = unsafe { buf.unfilled_mut() };
                let n = ready!(s.io.poll_read_uninit(cx, unfilled))?;
                // SAFETY: `poll_read_uninit` initialised the first `n` bytes it was given.
                unsafe { buf.assume_init(n) };
                buf.advance(n);
                Poll::Ready(Ok(()))
            }
        }

        impl AsyncWrite for $ty {
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

socket_io!(TcpStream, TcpStream);
socket_io!(&TcpStream, TcpStream);
socket_io!(UnixStream, UnixStream);
socket_io!(&UnixStream, UnixStream);

impl AsyncRead for StreamReader {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let n = ready!(self.get_mut().poll_read_some(cx, buf.initialize_unfilled()))?;
        buf.advance(n);
        Poll::Ready(Ok(()))
    }
}

impl AsyncBufRead for StreamReader {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        self.get_mut().poll_fill_buf(cx)
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        self.get_mut().consume(amt);
    }
}

impl AsyncWrite for StreamWriter {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        super::writer::poll_write(&self, cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        super::writer::poll_flush(&self, cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        super::writer::poll_close(&self, cx)
    }
}
