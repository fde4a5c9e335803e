//! futures-io's `AsyncRead`, `AsyncWrite` and `AsyncBufRead` (feature `futures-io`).

use crate::net::{TcpStream, UnixStream};
use crate::{StreamReader, StreamWriter};
use futures_io::{AsyncBufRead, AsyncRead, AsyncWrite};
use std::borrow::Borrow;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};

/// The socket impls, for `$ty` (a socket or a reference to one) reaching `$base`.
macro_rules! socket_io {
    ($ty:ty, $base:ty) => {
        impl AsyncRead for $ty {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut [u8],
            ) -> Poll<io::Result<usize>> {
                let s: &$base = (*self).borrow();
                s.poll_read(cx, buf)
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

            /// Nothing is buffered: a write went to the socket.
            fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(Ok(()))
            }

            /// Shuts down the write half.
            fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
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
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().poll_read_some(cx, buf)
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

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        super::writer::poll_close(&self, cx)
    }
}
