//! `PipeWriter`: the write end of a child's stdin, buffered, with flow control (asyncio gives a
//! `StreamWriter` there; this type has the same method names).
//!
//! # States
//! Open → closing (`close` called; the buffer is still being flushed) → closed (fd closed).
//! A write error (the child closed its stdin: `EPIPE`) is saved, the buffer dropped and the fd
//! closed: later drains report the error, later writes are dropped, as asyncio's pipe
//! transport does after its "fatal error".
//!
//! # Who writes
//! `write` tries the pipe at once while nothing is buffered; what the pipe does not take is
//! buffered and written by a flusher task that lives only while the buffer is not empty.

use super::sigpipe;
use crate::reactor::{Direction, IoSource};
use std::cell::{Cell, RefCell};
use std::future::poll_fn;
use std::io;
use std::os::fd::AsFd;
use std::rc::Rc;
use std::task::{Poll, Waker};

/// asyncio's default high-water mark; `drain` waits above it until the buffer is back under
/// the low-water mark (a quarter of it).
const HIGH_WATER: usize = 64 * 1024;
const LOW_WATER: usize = HIGH_WATER / 4;

/// A child's stdin, written from the loop: `write`, `drain`, `close`, as asyncio's
/// `StreamWriter`.
///
/// Dropping it closes the pipe once the buffered bytes are written, so the child sees end of
/// file.
///
/// # Examples
/// ```
/// use asyncio::subprocess::PIPE;
/// # asyncio::run(async {
/// let mut proc = asyncio::create_subprocess_exec("cat", [""; 0]).stdin(PIPE).stdout(PIPE).await?;
/// let stdin = proc.stdin.take().unwrap();
/// stdin.write(b"meow");
/// stdin.drain().await?;
/// stdin.close();
/// assert_eq!(proc.stdout.as_mut().unwrap().read_to_end().await?, b"meow");
/// assert_eq!(proc.wait().await, 0);
/// # std::io::Result::Ok(())
/// # }).unwrap();
/// ```
pub struct PipeWriter {
    inner: Rc<Inner>,
}

struct Inner {
    /// `None` once closed.
    io: RefCell<Option<IoSource<mio::unix::pipe::Sender>>>,
    /// Bytes not yet written are `buf[sent..]`.
    buf: RefCell<Vec<u8>>,
    sent: Cell<usize>,
    /// Over the high-water mark and not yet back under the low one.
    paused: Cell<bool>,
    closing: Cell<bool>,
    flushing: Cell<bool>,
    error: RefCell<Option<(io::ErrorKind, Option<i32>, String)>>,
    /// Tasks in `drain` or `wait_closed`.
    waiters: RefCell<Vec<Waker>>,
}

impl std::fmt::Debug for PipeWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PipeWriter")
            .field("buffered", &self.inner.pending())
            .field("closing", &self.inner.closing.get())
            .finish()
    }
}

impl Inner {
    fn pending(&self) -> usize {
        self.buf.borrow().len() - self.sent.get()
    }

    fn wake_all(&self) {
        for w in self.waiters.take() {
            w.wake();
        }
    }

    fn saved_error(&self) -> Option<io::Error> {
        let e = self.error.borrow();
        e.as_ref().map(|(kind, raw, msg)| match raw {
            Some(code) => io::Error::from_raw_os_error(*code),
            None => io::Error::new(*kind, msg.clone()),
        })
    }

    /// Writes once; `Ok(0)` for a closed writer.
    fn try_write(&self, data: &[u8]) -> io::Result<usize> {
        let io = self.io.borrow();
        let Some(io) = io.as_ref() else {
            return Ok(0);
        };
        io.try_io(Direction::Write, |tx| sigpipe::write(tx.as_fd(), data))
    }

    /// The write failed: keep the error, drop the buffer, close the pipe, wake everyone.
    fn fatal(&self, e: io::Error) {
        log::debug!("stdin pipe of a child lost: {e}");
        *self.error.borrow_mut() = Some((e.kind(), e.raw_os_error(), e.to_string()));
        self.buf.borrow_mut().clear();
        self.sent.set(0);
        self.paused.set(false);
        self.close_now();
    }

    fn close_now(&self) {
        let io = self.io.borrow_mut().take();
        drop(io);
        self.wake_all();
    }

    fn after_progress(&self) {
        if self.paused.get() && self.pending() <= LOW_WATER {
            self.paused.set(false);
            self.wake_all();
        }
        if self.pending() == 0 {
            self.buf.borrow_mut().clear();
            self.sent.set(0);
            if self.closing.get() {
                self.close_now();
            }
        }
    }
}

/// The flusher task: writes the buffer out as the pipe takes it.
async fn flush(inner: Rc<Inner>) {
    loop {
        if inner.pending() == 0 || inner.io.borrow().is_none() {
            break;
        }
        let result = poll_fn(|cx| {
            let io = inner.io.borrow();
            let Some(io) = io.as_ref() else {
                return Poll::Ready(Ok(0));
            };
            let buf = inner.buf.borrow();
            let data = &buf[inner.sent.get()..];
            io.poll_io(Direction::Write, cx, |tx| sigpipe::write(tx.as_fd(), data))
        })
        .await;
        match result {
            Ok(n) => {
                inner.sent.set(inner.sent.get() + n);
                inner.after_progress();
            }
            Err(e) => {
                inner.fatal(e);
                break;
            }
        }
    }
    inner.flushing.set(false);
}

impl PipeWriter {
    pub(crate) fn new(tx: mio::unix::pipe::Sender) -> io::Result<PipeWriter> {
        let io = IoSource::with_interest(tx, mio::Interest::WRITABLE)?;
        io.assume_ready();
        Ok(PipeWriter {
            inner: Rc::new(Inner {
                io: RefCell::new(Some(io)),
                buf: RefCell::new(Vec::new()),
                sent: Cell::new(0),
                paused: Cell::new(false),
                closing: Cell::new(false),
                flushing: Cell::new(false),
                error: RefCell::new(None),
                waiters: RefCell::new(Vec::new()),
            }),
        })
    }

    /// Writes `data`, or buffers what the pipe does not take now (asyncio's `write`: it never
    /// waits; call [`drain`](Self::drain) to wait for room). After `close` or after the pipe
    /// broke the bytes are dropped, as asyncio's transport does.
    ///
    /// # Examples
    /// See [`PipeWriter`].
    pub fn write(&self, mut data: &[u8]) {
        let inner = &self.inner;
        if inner.closing.get() || inner.io.borrow().is_none() || data.is_empty() {
            return;
        }
        if inner.pending() == 0 {
            match inner.try_write(data) {
                Ok(n) => data = &data[n..],
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return inner.fatal(e),
            }
            if data.is_empty() {
                return;
            }
        }
        inner.buf.borrow_mut().extend_from_slice(data);
        if inner.pending() > HIGH_WATER {
            inner.paused.set(true);
        }
        if !inner.flushing.replace(true) {
            drop(crate::create_task(flush(inner.clone())));
        }
    }

    /// Writes every buffer of `chunks` (asyncio's `writelines`).
    ///
    /// # Examples
    /// ```
    /// use asyncio::subprocess::PIPE;
    /// # asyncio::run(async {
    /// let mut proc = asyncio::create_subprocess_exec("cat", [""; 0]).stdin(PIPE).stdout(PIPE).await?;
    /// let (out, _) = {
    ///     proc.stdin.as_ref().unwrap().writelines([&b"a"[..], b"b"]);
    ///     proc.communicate(None).await?
    /// };
    /// assert_eq!(out, b"ab");
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn writelines<'a>(&self, chunks: impl IntoIterator<Item = &'a [u8]>) {
        for chunk in chunks {
            self.write(chunk);
        }
    }

    /// Waits until the buffer is small enough to write more (asyncio's `drain`): at once
    /// while under 64 KiB, else until it is back under 16 KiB.
    ///
    /// # Errors
    /// The error that broke the pipe: `BrokenPipe` when the child closed its stdin (exited,
    /// say) before taking everything.
    ///
    /// # Cancel safety
    /// Cancel safe: the bytes stay buffered and keep being written.
    ///
    /// # Examples
    /// ```
    /// use asyncio::subprocess::PIPE;
    /// # asyncio::run(async {
    /// let proc = asyncio::create_subprocess_exec("true", [""; 0]).stdin(PIPE).await?;
    /// proc.wait().await;
    /// let stdin = proc.stdin.as_ref().unwrap();
    /// stdin.write(&vec![0; 1 << 20]);
    /// let err = stdin.drain().await.unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::BrokenPipe);
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub async fn drain(&self) -> io::Result<()> {
        poll_fn(|cx| {
            if let Some(e) = self.inner.saved_error() {
                return Poll::Ready(Err(e));
            }
            if !self.inner.paused.get() {
                return Poll::Ready(Ok(()));
            }
            self.inner.waiters.borrow_mut().push(cx.waker().clone());
            Poll::Pending
        })
        .await
    }

    /// Closes the pipe once the buffered bytes are written; the child then reads end of file
    /// (asyncio's `close`; for a pipe it is also `write_eof`).
    ///
    /// # Examples
    /// See [`PipeWriter`].
    pub fn close(&self) {
        if self.inner.closing.replace(true) {
            return;
        }
        if self.inner.pending() == 0 {
            self.inner.close_now();
        }
    }

    /// Whether `close` was called or the pipe broke (asyncio's `is_closing`).
    ///
    /// # Examples
    /// ```
    /// use asyncio::subprocess::PIPE;
    /// # asyncio::run(async {
    /// let mut proc = asyncio::create_subprocess_exec("true", [""; 0]).stdin(PIPE).await?;
    /// let stdin = proc.stdin.take().unwrap();
    /// assert!(!stdin.is_closing());
    /// stdin.close();
    /// assert!(stdin.is_closing());
    /// # proc.wait().await;
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn is_closing(&self) -> bool {
        self.inner.closing.get() || self.inner.io.borrow().is_none()
    }

    /// Waits until the pipe is closed, after [`close`](Self::close) (asyncio's
    /// `wait_closed`).
    ///
    /// # Errors
    /// The error that broke the pipe, if one did.
    ///
    /// # Cancel safety
    /// Cancel safe.
    ///
    /// # Examples
    /// ```
    /// use asyncio::subprocess::PIPE;
    /// # asyncio::run(async {
    /// let mut proc = asyncio::create_subprocess_exec("cat", [""; 0]).stdin(PIPE).await?;
    /// let stdin = proc.stdin.take().unwrap();
    /// stdin.write(b"x");
    /// stdin.close();
    /// stdin.wait_closed().await?;
    /// assert_eq!(proc.wait().await, 0);
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub async fn wait_closed(&self) -> io::Result<()> {
        poll_fn(|cx| {
            if self.inner.io.borrow().is_some() {
                self.inner.waiters.borrow_mut().push(cx.waker().clone());
                return Poll::Pending;
            }
            Poll::Ready(self.inner.saved_error().map_or(Ok(()), Err))
        })
        .await
    }

    /// Bytes buffered and not yet written (asyncio's `transport.get_write_buffer_size`).
    ///
    /// # Examples
    /// ```
    /// use asyncio::subprocess::PIPE;
    /// # asyncio::run(async {
    /// let proc = asyncio::create_subprocess_exec("true", [""; 0]).stdin(PIPE).await?;
    /// assert_eq!(proc.stdin.as_ref().unwrap().get_write_buffer_size(), 0);
    /// # proc.wait().await;
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn get_write_buffer_size(&self) -> usize {
        self.inner.pending()
    }
}

impl Drop for PipeWriter {
    fn drop(&mut self) {
        self.close();
    }
}
