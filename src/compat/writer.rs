//! What the futures-io and tokio `AsyncWrite` of a [`StreamWriter`] share.

use crate::StreamWriter;
use std::io;
use std::task::{Context, Poll, ready};

fn closed() -> io::Error {
    io::Error::new(io::ErrorKind::BrokenPipe, "the stream writer is closed")
}

/// The least a write accepts while under the high-water mark, so that a mark of 0 still
/// moves bytes in useful pieces.
const MIN_ACCEPT: usize = 16 * 1024;

/// Accepts as much of `buf` as fits under the high-water mark (at least [`MIN_ACCEPT`]
/// bytes), waiting as a drain does while over it: a `write_all` of a large buffer to a peer
/// that does not read holds at most about the mark in memory, not the whole buffer.
pub(super) fn poll_write(
    w: &StreamWriter,
    cx: &mut Context<'_>,
    buf: &[u8],
) -> Poll<io::Result<usize>> {
    let conn = w.conn();
    if conn.write_closed() {
        return Poll::Ready(Err(conn.lost_error().unwrap_or_else(closed)));
    }
    if !conn.is_drained() {
        ready!(conn.poll_drain(cx, &mut false))?;
    }
    let (_, high) = conn.write_buffer_limits();
    let room = high
        .saturating_sub(conn.write_buffer_size())
        .max(MIN_ACCEPT);
    let n = buf.len().min(room);
    conn.write(&buf[..n]);
    Poll::Ready(Ok(n))
}

/// A drain: the loop sends what is buffered in any case.
pub(super) fn poll_flush(w: &StreamWriter, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
    let conn = w.conn();
    if conn.is_drained() {
        return Poll::Ready(Ok(()));
    }
    if conn.write_closed() && !conn.is_lost() {
        // Closing or after write_eof: the buffer goes out on its own.
        return Poll::Ready(Ok(()));
    }
    conn.poll_drain(cx, &mut false)
}

/// `write_eof` once the buffer is sent (a close over TLS, which has no half close).
pub(super) fn poll_close(w: &StreamWriter, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
    ready!(poll_flush(w, cx))?;
    if w.can_write_eof() {
        w.write_eof();
    } else {
        w.close();
    }
    Poll::Ready(Ok(()))
}
