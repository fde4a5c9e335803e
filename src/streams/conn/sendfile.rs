//! `Conn::sendfile`: asyncio's `loop.sendfile(transport, file, offset, count)` on a stream
//! connection.
//!
//! # How
//! As asyncio's: the write buffer is sent first; then, on a plain socket (or a pipe), the
//! file goes by `sendfile(2)` straight from the page cache to the socket, waiting for the
//! socket's writability in between; over TLS, or when the kernel refuses `sendfile` for
//! these fds before anything was sent (`EINVAL`, `ENOSYS`...), it is read in chunks and
//! written through the connection's own write path, waiting for the buffer to drain under
//! its low-water mark after each.
//!
//! Meanwhile the connection is the file's: `write` is refused (logged and dropped, where
//! asyncio raises `RuntimeError`), a `close` or `write_eof` waits for the end, and the
//! protocol hears no `pause_writing` / `resume_writing` for the file's own bytes (asyncio
//! swaps in a `_SendfileFallbackProtocol`; its driver checks [`Conn::sending_file`]).
//! A failure of the sends loses the connection with the error, as a failed write does, so
//! the socket is closed and the protocol told.

use super::Conn;
use crate::net::sock_sendfile::{MAX_CHUNK, sendfile, unsupported};
use std::fs::File;
use std::future::poll_fn;
use std::io::{self, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::rc::Rc;
use std::task::{Context, Poll};

/// The chunk of the read-and-write fallback (asyncio reads 16 KiB; bigger chunks cost fewer
/// turns of the loop, and the buffer's high-water mark bounds what waits in memory anyway).
const FALLBACK_CHUNK: usize = 64 * 1024;

impl Conn {
    /// Sends `count` bytes of `file` from `offset` (to its end when `None`); the number sent.
    /// The file's position is left just after the last byte sent, as asyncio leaves it.
    pub(crate) async fn sendfile(
        self: &Rc<Self>,
        file: &File,
        offset: u64,
        count: Option<u64>,
    ) -> io::Result<u64> {
        if count == Some(0) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "count must be a positive integer (got 0)",
            ));
        }
        self.begin_sendfile()?;
        let _end = EndOnDrop(self);
        poll_fn(|cx| self.poll_empty(cx)).await?;
        let end = count.map(|c| offset.saturating_add(c));
        let mut position = offset;
        let result = match self.send_native(file, &mut position, end).await {
            Some(Err(e)) if unsupported(&e) && position == offset => {
                self.send_copies(file, &mut position, end).await
            }
            Some(result) => result,
            None => self.send_copies(file, &mut position, end).await,
        };
        // Part of the file sent, or a broken connection: the stream cannot go on. An error
        // before anything was sent (a file not open for reading) leaves it as it was.
        if let Err(e) = &result {
            if position != offset || broken(e) {
                self.lose(Some(e));
            }
        }
        if position != offset {
            (&*file).seek(SeekFrom::Start(position))?;
        }
        result.map(|()| position - offset)
    }

    /// Whether a `sendfile` runs: the driver keeps the protocol out of its flow control.
    pub(crate) fn sending_file(&self) -> bool {
        self.w.borrow().sending_file
    }

    fn begin_sendfile(&self) -> io::Result<()> {
        let mut w = self.w.borrow_mut();
        if self.lost.get() || w.closing {
            return Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "Transport is closing",
            ));
        }
        if w.sending_file {
            return Err(io::Error::new(
                io::ErrorKind::ResourceBusy,
                "another sendfile is in progress on this transport",
            ));
        }
        if w.eof {
            return Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "cannot sendfile after write_eof()",
            ));
        }
        w.sending_file = true;
        Ok(())
    }

    /// The connection is gone, as a send on it would say.
    fn gone(&self) -> io::Error {
        self.lost_error().unwrap_or_else(|| {
            io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "Connection is closed by peer",
            )
        })
    }

    /// Ready once everything written before is sent (TLS records too).
    fn poll_empty(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.lost.get() {
            return Poll::Ready(Err(self.gone()));
        }
        let mut w = self.w.borrow_mut();
        let tls_pending = self
            .sock
            .borrow()
            .as_ref()
            .is_some_and(super::Sock::has_pending_output);
        if w.pending() == 0 && !w.flushing && !tls_pending {
            return Poll::Ready(Ok(()));
        }
        w.empty_waiter = Some(cx.waker().clone());
        let idle = !w.flushing;
        drop(w);
        if idle {
            self.start_flusher();
        }
        Poll::Pending
    }

    /// `sendfile(2)` until `end` or the end of the file; `None` over TLS.
    async fn send_native(
        &self,
        file: &File,
        position: &mut u64,
        end: Option<u64>,
    ) -> Option<io::Result<()>> {
        loop {
            let want = end.map_or(MAX_CHUNK, |end| end - *position);
            if want == 0 {
                return Some(Ok(()));
            }
            let sent = poll_fn(|cx| {
                let sock = self.sock.borrow();
                let Some(sock) = sock.as_ref() else {
                    return Poll::Ready(Some(Err(self.gone())));
                };
                match sock.poll_write_fd(cx, |fd| sendfile(&fd, file, position, want)) {
                    None => Poll::Ready(None),
                    Some(Poll::Pending) => Poll::Pending,
                    Some(Poll::Ready(r)) => Poll::Ready(Some(r)),
                }
            })
            .await;
            match sent? {
                Ok(0) => return Some(Ok(())), // the end of the file
                Ok(_) => {}
                Err(e) => return Some(Err(e)),
            }
        }
    }

    /// The fallback: reads the file in chunks and writes them, draining in between.
    async fn send_copies(
        &self,
        file: &File,
        position: &mut u64,
        end: Option<u64>,
    ) -> io::Result<()> {
        let conn = self.me.upgrade().ok_or_else(|| self.gone())?;
        let mut chunk = vec![0; FALLBACK_CHUNK];
        loop {
            let want = end.map_or(FALLBACK_CHUNK as u64, |end| end - *position);
            let want = want.min(FALLBACK_CHUNK as u64) as usize;
            if want == 0 {
                return Ok(());
            }
            let n = match file.read_at(&mut chunk[..want], *position) {
                Ok(0) => return Ok(()),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            // The file's own bytes pass the refusal of writes (nothing else runs meanwhile).
            self.w.borrow_mut().sending_file = false;
            conn.write(&chunk[..n]);
            self.w.borrow_mut().sending_file = true;
            if self.lost.get() {
                return Err(self.gone());
            }
            *position += n as u64;
            let mut waited = false;
            poll_fn(|cx| self.poll_drain(cx, &mut waited)).await?;
            if self.lost.get() {
                return Err(self.gone());
            }
        }
    }

    /// The file is sent (or not): writes are taken again, what waited (a `close`, a
    /// `write_eof`) is done, and the driver sees the buffer's state anew.
    fn end_sendfile(&self) {
        let mut w = self.w.borrow_mut();
        w.sending_file = false;
        w.empty_waiter = None;
        let waiting = w.pending() > 0 || w.eof || w.closing;
        let watcher = w.watcher.take();
        drop(w);
        if waiting && !self.lost.get() {
            self.start_flusher();
        }
        if let Some(watcher) = watcher {
            watcher.wake();
        }
    }
}

/// Whether `e` says the connection itself failed.
fn broken(e: &io::Error) -> bool {
    use io::ErrorKind::*;
    matches!(
        e.kind(),
        BrokenPipe | ConnectionReset | ConnectionAborted | NotConnected | TimedOut
    )
}

/// Ends the sendfile however its future ends (done, failed or dropped).
struct EndOnDrop<'a>(&'a Conn);

impl Drop for EndOnDrop<'_> {
    fn drop(&mut self) {
        self.0.end_sendfile();
    }
}
