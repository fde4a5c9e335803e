//! `PipeReader`: the read end of a child's stdout or stderr, buffered (asyncio gives a
//! `StreamReader` there; this type has the same method names).

use crate::reactor::{Direction, IoSource};
use std::future::poll_fn;
use std::io::{self, Read};
use std::task::{Context, Poll};

/// asyncio's default buffer limit for subprocess pipes, 64 KiB.
pub const DEFAULT_LIMIT: usize = 64 * 1024;

/// How much one read from the pipe asks for.
const CHUNK: usize = 64 * 1024;

/// A child's stdout or stderr, read from the loop: `read(n)`, `read_to_end`, `readline`,
/// `readexactly`, `readuntil`, as asyncio's `StreamReader`.
///
/// The pipe is read only when an operation needs more bytes than are buffered, so a child
/// writing faster than we read blocks on its full pipe (flow control) instead of growing our
/// buffer.
///
/// # Examples
/// ```
/// use asyncio::subprocess::PIPE;
/// # asyncio::run(async {
/// let mut proc = asyncio::create_subprocess_shell("printf 'one\\ntwo\\n'").stdout(PIPE).await?;
/// let mut out = proc.stdout.take().unwrap();
/// assert_eq!(out.readline().await?, b"one\n");
/// assert_eq!(out.read_to_end().await?, b"two\n");
/// assert!(out.at_eof());
/// assert_eq!(proc.wait().await, 0);
/// # std::io::Result::Ok(())
/// # }).unwrap();
/// ```
pub struct PipeReader {
    io: IoSource<mio::unix::pipe::Receiver>,
    /// Unread bytes are `buf[start..]`.
    buf: Vec<u8>,
    start: usize,
    eof: bool,
    limit: usize,
}

impl std::fmt::Debug for PipeReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PipeReader")
            .field("buffered", &self.buffered().len())
            .field("eof", &self.eof)
            .field("limit", &self.limit)
            .finish()
    }
}

impl PipeReader {
    pub(crate) fn new(rx: mio::unix::pipe::Receiver, limit: usize) -> io::Result<PipeReader> {
        let io = IoSource::with_interest(rx, mio::Interest::READABLE)?;
        io.assume_ready();
        Ok(PipeReader {
            io,
            buf: Vec::new(),
            start: 0,
            eof: false,
            limit,
        })
    }

    /// The buffer limit that `readline` and `readuntil` enforce (set by the builder's
    /// [`limit`](super::Command::limit)).
    ///
    /// # Examples
    /// ```
    /// use asyncio::subprocess::PIPE;
    /// # asyncio::run(async {
    /// let proc = asyncio::create_subprocess_exec("true", [""; 0]).stdout(PIPE).limit(10).await?;
    /// assert_eq!(proc.stdout.as_ref().unwrap().limit(), 10);
    /// # proc.wait().await;
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn limit(&self) -> usize {
        self.limit
    }

    fn buffered(&self) -> &[u8] {
        &self.buf[self.start..]
    }

    fn take(&mut self, n: usize) -> Vec<u8> {
        if self.start == 0 && n == self.buf.len() {
            return std::mem::take(&mut self.buf);
        }
        let out = self.buf[self.start..self.start + n].to_vec();
        self.start += n;
        if self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        }
        out
    }

    /// Reads once more from the pipe into the buffer; sets `eof` on end of file.
    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.eof {
            return Poll::Ready(Ok(()));
        }
        if self.start > 0 && self.start * 2 >= self.buf.len() {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        let len = self.buf.len();
        self.buf.resize(len + CHUNK, 0);
        let spare = &mut self.buf[len..];
        let result = self
            .io
            .poll_io(Direction::Read, cx, |rx| (&*rx).read(&mut *spare));
        let n = match &result {
            Poll::Ready(Ok(n)) => *n,
            _ => 0,
        };
        self.buf.truncate(len + n);
        match result {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Ready(Ok(0)) => {
                self.eof = true;
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Ok(_)) => Poll::Ready(Ok(())),
        }
    }

    async fn fill(&mut self) -> io::Result<()> {
        poll_fn(|cx| self.poll_fill(cx)).await
    }

    /// Reads up to `n` bytes: what is buffered, or else what arrives next; empty at end of
    /// file (asyncio's `read(n)`).
    ///
    /// # Errors
    /// The pipe's error.
    ///
    /// # Cancel safety
    /// Cancel safe: bytes are taken from the buffer only when the call returns.
    ///
    /// # Examples
    /// ```
    /// use asyncio::subprocess::PIPE;
    /// # asyncio::run(async {
    /// let mut proc = asyncio::create_subprocess_exec("echo", ["hello"]).stdout(PIPE).await?;
    /// let out = proc.stdout.as_mut().unwrap();
    /// assert_eq!(out.read(3).await?, b"hel");
    /// # proc.wait().await;
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub async fn read(&mut self, n: usize) -> io::Result<Vec<u8>> {
        if n == 0 {
            return Ok(Vec::new());
        }
        if self.buffered().is_empty() {
            self.fill().await?;
        }
        let n = n.min(self.buffered().len());
        Ok(self.take(n))
    }

    /// Reads until end of file (asyncio's `read()` / `read(-1)`).
    ///
    /// # Errors
    /// The pipe's error.
    ///
    /// # Cancel safety
    /// Cancel safe: bytes stay buffered until the call returns.
    ///
    /// # Examples
    /// See [`PipeReader`].
    pub async fn read_to_end(&mut self) -> io::Result<Vec<u8>> {
        while !self.eof {
            self.fill().await?;
        }
        let n = self.buffered().len();
        Ok(self.take(n))
    }

    /// Reads exactly `n` bytes (asyncio's `readexactly`).
    ///
    /// # Errors
    /// `UnexpectedEof` if the pipe ends first (the partial bytes stay buffered); the pipe's
    /// error.
    ///
    /// # Cancel safety
    /// Cancel safe: bytes stay buffered until the call returns.
    ///
    /// # Examples
    /// ```
    /// use asyncio::subprocess::PIPE;
    /// # asyncio::run(async {
    /// let mut proc = asyncio::create_subprocess_exec("echo", ["abc"]).stdout(PIPE).await?;
    /// let out = proc.stdout.as_mut().unwrap();
    /// assert_eq!(out.readexactly(2).await?, b"ab");
    /// assert!(out.readexactly(5).await.is_err());
    /// # proc.wait().await;
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub async fn readexactly(&mut self, n: usize) -> io::Result<Vec<u8>> {
        while self.buffered().len() < n {
            if self.eof {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!(
                        "{} bytes read on a total of {n} expected bytes",
                        self.buffered().len()
                    ),
                ));
            }
            self.fill().await?;
        }
        Ok(self.take(n))
    }

    /// Reads up to and including `separator`; at end of file, what is left (asyncio's
    /// `readuntil`, except that a missing separator at EOF returns the rest instead of raising
    /// `IncompleteReadError`).
    ///
    /// # Errors
    /// `InvalidData` when no separator is found within the limit (asyncio's
    /// `LimitOverrunError`); the bytes stay buffered. The pipe's error.
    ///
    /// # Panics
    /// If `separator` is empty.
    ///
    /// # Cancel safety
    /// Cancel safe: bytes stay buffered until the call returns.
    ///
    /// # Examples
    /// ```
    /// use asyncio::subprocess::PIPE;
    /// # asyncio::run(async {
    /// let mut proc = asyncio::create_subprocess_exec("printf", ["a;b"]).stdout(PIPE).await?;
    /// let out = proc.stdout.as_mut().unwrap();
    /// assert_eq!(out.readuntil(b";").await?, b"a;");
    /// assert_eq!(out.readuntil(b";").await?, b"b");
    /// # proc.wait().await;
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub async fn readuntil(&mut self, separator: &[u8]) -> io::Result<Vec<u8>> {
        assert!(
            !separator.is_empty(),
            "Separator should be at least one-byte string"
        );
        let mut searched = 0;
        loop {
            let hay = self.buffered();
            if let Some(i) = find(&hay[searched..], separator) {
                let end = searched + i + separator.len();
                if end > self.limit {
                    return Err(limit_overrun(
                        "Separator is found, but chunk is longer than limit",
                    ));
                }
                return Ok(self.take(end));
            }
            searched = hay.len().saturating_sub(separator.len() - 1);
            if hay.len() > self.limit {
                return Err(limit_overrun(
                    "Separator is not found, and chunk exceed the limit",
                ));
            }
            if self.eof {
                let n = hay.len();
                return Ok(self.take(n));
            }
            self.fill().await?;
        }
    }

    /// Reads one line, `\n` included; at end of file the last partial line, then empty
    /// (asyncio's `readline`).
    ///
    /// # Errors
    /// `InvalidData` if a line is longer than the limit (asyncio's `ValueError`); as asyncio
    /// does, the line (or the buffered part of it) is dropped. The pipe's error.
    ///
    /// # Cancel safety
    /// Cancel safe: bytes stay buffered until the call returns.
    ///
    /// # Examples
    /// See [`PipeReader`].
    pub async fn readline(&mut self) -> io::Result<Vec<u8>> {
        match self.readuntil(b"\n").await {
            Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                let hay = self.buffered();
                let drop = find(hay, b"\n").map_or(hay.len(), |i| i + 1);
                self.take(drop);
                Err(e)
            }
            other => other,
        }
    }

    /// Whether the buffer is empty and the pipe is at end of file (asyncio's `at_eof`).
    ///
    /// # Examples
    /// See [`PipeReader`].
    pub fn at_eof(&self) -> bool {
        self.eof && self.buffered().is_empty()
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn limit_overrun(msg: &'static str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}
