//! `StreamReader`: buffered reading from a connection (asyncio's `StreamReader`).

use super::buffer::ReadBuf;
use super::conn::Conn;
use super::error::{IncompleteReadError, LimitOverrunError, ReadError, SavedError};
use super::separator::{self, Separators};
use std::future::poll_fn;
use std::io;
use std::rc::Rc;
use std::task::{Context, Poll};

/// asyncio's default buffer limit, 64 KiB.
pub(crate) const DEFAULT_LIMIT: usize = 64 * 1024;

/// Where a reader's bytes come from.
pub(crate) enum Source {
    /// Only what `feed_data` gives.
    Fed,
    Conn(Rc<Conn>),
    /// Test input arriving in the given chunks, one per refill, with a turn of the loop in
    /// between.
    #[cfg(test)]
    Chunks(std::collections::VecDeque<Vec<u8>>, bool),
}

/// Reads from a connection: lines, separator-delimited records, exact sizes (asyncio's
/// `StreamReader`). Made by [`open_connection`](crate::open_connection) and given to a
/// [`start_server`](crate::start_server) handler.
///
/// The socket is read only when an operation needs more bytes than are buffered, up to
/// 64 KiB at a time (or as much as [`read_into`](Self::read_into)'s buffer holds); the
/// buffer holds at most the limit plus one such read while looking for a separator, and a
/// reader that stops reading stops the sender (TCP flow control), as asyncio's pausing of
/// the transport does.
///
/// A reader made by [`new`](StreamReader::new) reads only what [`feed_data`](Self::feed_data)
/// gives it.
///
/// # Examples
/// ```
/// # asyncio::run(async {
/// let mut reader = asyncio::StreamReader::new();
/// reader.feed_data(b"GET / HTTP/1.1\r\nHost: x\r\n\r\nbody");
/// reader.feed_eof();
/// assert_eq!(reader.readline().await.unwrap(), b"GET / HTTP/1.1\r\n");
/// assert_eq!(reader.readuntil(b"\r\n\r\n").await.unwrap(), b"Host: x\r\n\r\n");
/// assert_eq!(reader.read_to_end().await.unwrap(), b"body");
/// assert!(reader.at_eof());
/// # });
/// ```
pub struct StreamReader {
    buf: ReadBuf,
    eof: bool,
    exception: Option<SavedError>,
    limit: usize,
    source: Source,
}

impl Default for StreamReader {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for StreamReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamReader")
            .field("buffered", &self.buf.len())
            .field("eof", &self.eof)
            .field("limit", &self.limit)
            .finish()
    }
}

impl StreamReader {
    /// A reader fed by hand ([`feed_data`](Self::feed_data), [`feed_eof`](Self::feed_eof)),
    /// with the default 64 KiB limit.
    ///
    /// # Examples
    /// See [`StreamReader`].
    pub fn new() -> StreamReader {
        Self::with_limit(DEFAULT_LIMIT)
    }

    /// A reader fed by hand, with a buffer limit of `limit` bytes.
    ///
    /// # Panics
    /// If `limit` is 0 (asyncio's `ValueError`).
    ///
    /// # Examples
    /// ```
    /// assert_eq!(asyncio::StreamReader::with_limit(10).limit(), 10);
    /// ```
    pub fn with_limit(limit: usize) -> StreamReader {
        Self::from_source(Source::Fed, limit)
    }

    pub(crate) fn from_source(source: Source, limit: usize) -> StreamReader {
        assert!(limit > 0, "Limit cannot be <= 0");
        StreamReader {
            buf: ReadBuf::default(),
            eof: false,
            exception: None,
            limit,
            source,
        }
    }

    /// The buffer limit.
    ///
    /// # Examples
    /// See [`with_limit`](Self::with_limit).
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Appends bytes to the buffer, as if they had arrived.
    ///
    /// # Examples
    /// See [`StreamReader`].
    pub fn feed_data(&mut self, data: &[u8]) {
        debug_assert!(!self.eof, "feed_data after feed_eof");
        self.buf.extend(data);
    }

    /// Marks the end of the stream: reads return what is buffered, then nothing.
    ///
    /// # Examples
    /// See [`StreamReader`].
    pub fn feed_eof(&mut self) {
        self.eof = true;
    }

    /// Makes every later read fail with `err` (asyncio's `set_exception`).
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let mut r = asyncio::StreamReader::new();
    /// r.set_exception(std::io::ErrorKind::ConnectionReset.into());
    /// assert_eq!(r.read(10).await.unwrap_err().kind(), std::io::ErrorKind::ConnectionReset);
    /// assert_eq!(r.exception().unwrap().kind(), std::io::ErrorKind::ConnectionReset);
    /// # });
    /// ```
    pub fn set_exception(&mut self, err: io::Error) {
        self.exception = Some(SavedError::save(&err));
    }

    /// The error set by [`set_exception`](Self::set_exception) or met on the connection.
    ///
    /// # Examples
    /// See [`set_exception`](Self::set_exception).
    pub fn exception(&self) -> Option<io::Error> {
        self.exception.as_ref().map(SavedError::to_error)
    }

    fn check(&self) -> io::Result<()> {
        match &self.exception {
            Some(e) => Err(e.to_error()),
            None => Ok(()),
        }
    }

    /// Reads once more from the source into the buffer: `Ok(())` with either new bytes or
    /// `eof` set.
    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.check()?;
        if self.eof {
            return Poll::Ready(Ok(()));
        }
        let result = match &mut self.source {
            Source::Fed => return Poll::Pending,
            Source::Conn(conn) => match conn.poll_read(cx, &mut self.buf) {
                Poll::Ready(result) => result,
                Poll::Pending => {
                    self.buf.park();
                    return Poll::Pending;
                }
            },
            #[cfg(test)]
            Source::Chunks(chunks, yielded) => {
                if !*yielded {
                    *yielded = true;
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                *yielded = false;
                match chunks.pop_front() {
                    Some(c) => {
                        self.buf.extend(&c);
                        Ok(c.len())
                    }
                    None => Ok(0),
                }
            }
        };
        // Committed to the buffer by the read.
        Poll::Ready(self.after_read(result).map(drop))
    }

    /// Reads once from the connection straight into `out`, the buffer being empty and no
    /// error saved (`read_into` looked).
    fn poll_read_past(&mut self, cx: &mut Context<'_>, out: &mut [u8]) -> Poll<io::Result<usize>> {
        if self.eof {
            return Poll::Ready(Ok(0));
        }
        let result = match &self.source {
            Source::Conn(conn) => match conn.poll_read_into(cx, out) {
                Poll::Ready(result) => result,
                Poll::Pending => {
                    self.buf.park();
                    return Poll::Pending;
                }
            },
            _ => unreachable!("only a connection is read past the buffer"),
        };
        Poll::Ready(self.after_read(result))
    }

    /// Notes the end of the stream, or keeps the error for later reads.
    #[inline]
    fn after_read(&mut self, result: io::Result<usize>) -> io::Result<usize> {
        match &result {
            Ok(0) => self.eof = true,
            Ok(_) => {}
            Err(e) => self.exception = Some(SavedError::save(e)),
        }
        result
    }

    /// One read for the standard I/O traits' `poll_read`: what is buffered, or else one read
    /// from the source (straight into `out` when it is at least as large as the buffer).
    #[cfg(any(feature = "futures-io", feature = "tokio-io"))]
    pub(crate) fn poll_read_some(
        &mut self,
        cx: &mut Context<'_>,
        out: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.check()?;
        if out.is_empty() {
            return Poll::Ready(Ok(0));
        }
        if self.buf.is_empty() {
            if out.len() >= self.buf.room() && matches!(self.source, Source::Conn(_)) {
                return self.poll_read_past(cx, out);
            }
            std::task::ready!(self.poll_fill(cx))?;
        }
        let n = out.len().min(self.buf.len());
        out[..n].copy_from_slice(&self.buf.bytes()[..n]);
        self.buf.consume(n);
        Poll::Ready(Ok(n))
    }

    /// The standard I/O traits' `poll_fill_buf`: the buffered bytes, reading once if there
    /// are none; empty at end of stream.
    #[cfg(any(feature = "futures-io", feature = "tokio-io"))]
    pub(crate) fn poll_fill_buf(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        self.check()?;
        if self.buf.is_empty() {
            std::task::ready!(self.poll_fill(cx))?;
        }
        Poll::Ready(Ok(self.buf.bytes()))
    }

    /// The standard I/O traits' `consume`: drops `n` bytes returned by `poll_fill_buf`.
    #[cfg(any(feature = "futures-io", feature = "tokio-io"))]
    pub(crate) fn consume(&mut self, n: usize) {
        self.buf.consume(n.min(self.buf.len()));
    }

    /// `readline` as a poll function for [`Lines`](crate::Lines): `None` at the end of the
    /// stream. `scanned` is how much of the buffer was searched for `\n` already.
    #[cfg(feature = "stream")]
    pub(crate) fn poll_line(
        &mut self,
        cx: &mut Context<'_>,
        scanned: &mut usize,
    ) -> Poll<Option<Result<Vec<u8>, ReadError>>> {
        loop {
            if let Err(e) = self.check() {
                return Poll::Ready(Some(Err(e.into())));
            }
            let bytes = self.buf.bytes();
            if let Some(i) = bytes[*scanned..].iter().position(|&b| b == b'\n') {
                let end = *scanned + i + 1;
                *scanned = 0;
                if end - 1 > self.limit {
                    // As readline: the over-long line goes, `\n` included.
                    self.buf.consume(end);
                    return Poll::Ready(Some(Err(ReadError::LimitOverrun(LimitOverrunError {
                        message: "Separator is found, but chunk is longer than limit",
                        consumed: end - 1,
                    }))));
                }
                return Poll::Ready(Some(Ok(self.buf.take(end))));
            }
            *scanned = bytes.len();
            if *scanned > self.limit {
                let n = *scanned;
                *scanned = 0;
                self.buf.consume(n);
                return Poll::Ready(Some(Err(ReadError::LimitOverrun(LimitOverrunError {
                    message: "Separator is not found, and chunk exceed the limit",
                    consumed: n,
                }))));
            }
            if self.eof {
                let n = std::mem::take(scanned);
                return Poll::Ready((n > 0).then(|| Ok(self.buf.take(n))));
            }
            if let Err(e) = std::task::ready!(self.poll_fill(cx)) {
                return Poll::Ready(Some(Err(e.into())));
            }
        }
    }

    async fn fill(&mut self) -> io::Result<()> {
        poll_fn(|cx| self.poll_fill(cx)).await
    }

    /// Reads up to `n` bytes: what is buffered, or else what arrives next; empty at end of
    /// stream (asyncio's `read(n)`; `read(-1)` is [`read_to_end`](Self::read_to_end)).
    ///
    /// # Errors
    /// The connection's error.
    ///
    /// # Cancel safety
    /// Cancel safe: bytes are taken from the buffer only when the call returns.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let mut r = asyncio::StreamReader::new();
    /// r.feed_data(b"hello");
    /// r.feed_eof();
    /// assert_eq!(r.read(3).await.unwrap(), b"hel");
    /// assert_eq!(r.read(100).await.unwrap(), b"lo");
    /// assert_eq!(r.read(100).await.unwrap(), b"");
    /// # });
    /// ```
    pub async fn read(&mut self, n: usize) -> io::Result<Vec<u8>> {
        // As asyncio: a saved error is raised first, before what is buffered.
        self.check()?;
        if n == 0 {
            return Ok(Vec::new());
        }
        if self.buf.is_empty() {
            self.fill().await?;
        }
        let n = n.min(self.buf.len());
        Ok(self.buf.take(n))
    }

    /// Reads up to `buf.len()` bytes into `buf`: what is buffered, or else what arrives next;
    /// 0 at end of stream, or for an empty `buf` (Python's `readinto`, which asyncio's
    /// `StreamReader` lacks). It is [`read`](Self::read) without the allocation: a loop that
    /// reads into one buffer it keeps allocates nothing per read.
    ///
    /// # Errors
    /// The connection's error.
    ///
    /// # Cancel safety
    /// Cancel safe: bytes are taken from the buffer only when the call returns.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let mut r = asyncio::StreamReader::new();
    /// r.feed_data(b"hello");
    /// r.feed_eof();
    /// let mut buf = [0u8; 3];
    /// assert_eq!(r.read_into(&mut buf).await.unwrap(), 3);
    /// assert_eq!(&buf, b"hel");
    /// assert_eq!(r.read_into(&mut buf).await.unwrap(), 2);
    /// assert_eq!(&buf[..2], b"lo");
    /// assert_eq!(r.read_into(&mut buf).await.unwrap(), 0);
    /// # });
    /// ```
    pub async fn read_into(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.check()?;
        if buf.is_empty() {
            return Ok(0);
        }
        if self.buf.is_empty() {
            // As `BufReader`: a read at least as large as the buffer's would be goes straight
            // into `buf`, with no copy; a smaller one fills the buffer, for fewer reads.
            if buf.len() >= self.buf.room() && matches!(self.source, Source::Conn(_)) {
                return poll_fn(|cx| self.poll_read_past(cx, buf)).await;
            }
            self.fill().await?;
        }
        let n = buf.len().min(self.buf.len());
        buf[..n].copy_from_slice(&self.buf.bytes()[..n]);
        self.buf.consume(n);
        Ok(n)
    }

    /// Reads until the end of the stream (asyncio's `read(-1)` / `read()`).
    ///
    /// # Errors
    /// The connection's error; what was read before it is lost.
    ///
    /// # Cancel safety
    /// Cancel safe: bytes stay buffered until the call returns.
    ///
    /// # Examples
    /// See [`StreamReader`].
    pub async fn read_to_end(&mut self) -> io::Result<Vec<u8>> {
        while !self.eof {
            self.fill().await?;
        }
        self.check()?;
        let n = self.buf.len();
        Ok(self.buf.take(n))
    }

    /// Reads exactly `n` bytes (asyncio's `readexactly`).
    ///
    /// # Errors
    /// [`ReadError::IncompleteRead`] if the stream ends first, carrying the bytes that were
    /// there (they are consumed); [`ReadError::Io`] for the connection's error.
    ///
    /// # Cancel safety
    /// Cancel safe: bytes stay buffered until the call returns.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let mut r = asyncio::StreamReader::new();
    /// r.feed_data(b"\x00\x03abc");
    /// let len = r.readexactly(2).await.unwrap();
    /// assert_eq!(r.readexactly(len[1] as usize).await.unwrap(), b"abc");
    /// # });
    /// ```
    pub async fn readexactly(&mut self, n: usize) -> Result<Vec<u8>, ReadError> {
        self.check()?;
        while self.buf.len() < n {
            if self.eof {
                let len = self.buf.len();
                return Err(ReadError::IncompleteRead(IncompleteReadError {
                    partial: self.buf.take(len),
                    expected: Some(n),
                }));
            }
            self.fill().await?;
        }
        Ok(self.buf.take(n))
    }

    /// Reads up to and including a separator, or one of a set of separators (the match that
    /// ends first wins), as asyncio's `readuntil`.
    ///
    /// # Errors
    /// - [`ReadError::IncompleteRead`] if the stream ends first: the buffered bytes are
    ///   returned in it and consumed.
    /// - [`ReadError::LimitOverrun`] if no separator is found within the limit, or the
    ///   separator ends past it; the bytes stay buffered.
    /// - [`ReadError::Io`] for the connection's error.
    ///
    /// # Panics
    /// If no separator is given, or one is empty (asyncio's `ValueError`).
    ///
    /// # Cancel safety
    /// Cancel safe: bytes stay buffered until the call returns.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let mut r = asyncio::StreamReader::new();
    /// r.feed_data(b"key=value;rest");
    /// r.feed_eof();
    /// assert_eq!(r.readuntil(b"=").await.unwrap(), b"key=");
    /// assert_eq!(r.readuntil(";").await.unwrap(), b"value;");
    /// match r.readuntil(b";").await {
    ///     Err(asyncio::ReadError::IncompleteRead(e)) => assert_eq!(e.partial, b"rest"),
    ///     other => panic!("{other:?}"),
    /// }
    /// # });
    /// ```
    pub async fn readuntil(&mut self, separator: impl Separators) -> Result<Vec<u8>, ReadError> {
        let mut seps = separator.separators();
        assert!(
            !seps.is_empty(),
            "Separator should contain at least one element"
        );
        seps.sort_by_key(|s| s.len());
        let min_len = seps[0].len();
        let max_len = seps[seps.len() - 1].len();
        assert!(min_len > 0, "Separator should be at least one-byte string");
        self.check()?;
        let mut offset = 0;
        let (start, end) = loop {
            let buflen = self.buf.len();
            if buflen - offset.min(buflen) >= min_len {
                if let Some(found) = separator::find(self.buf.bytes(), &seps, offset) {
                    break found;
                }
                // A separator may straddle what is here and what comes next: search again
                // from where the longest one could begin.
                offset = (buflen + 1).saturating_sub(max_len);
                if offset > self.limit {
                    return Err(ReadError::LimitOverrun(LimitOverrunError {
                        message: "Separator is not found, and chunk exceed the limit",
                        consumed: offset,
                    }));
                }
            }
            if self.eof {
                return Err(ReadError::IncompleteRead(IncompleteReadError {
                    partial: self.buf.take(buflen),
                    expected: None,
                }));
            }
            self.fill().await?;
        };
        if start > self.limit {
            return Err(ReadError::LimitOverrun(LimitOverrunError {
                message: "Separator is found, but chunk is longer than limit",
                consumed: start,
            }));
        }
        Ok(self.buf.take(end))
    }

    /// Reads one line, `\n` included (asyncio's `readline`). At the end of the stream returns
    /// what is left (possibly without `\n`), then empty.
    ///
    /// # Errors
    /// [`ReadError::LimitOverrun`] when the line is longer than the limit (asyncio's
    /// `ValueError`): as asyncio, the over-long line is dropped from the buffer (up to and
    /// including its `\n` if it is there, else all that was buffered); [`ReadError::Io`] for
    /// the connection's error.
    ///
    /// # Cancel safety
    /// Cancel safe: bytes stay buffered until the call returns.
    ///
    /// # Examples
    /// See [`StreamReader`].
    pub async fn readline(&mut self) -> Result<Vec<u8>, ReadError> {
        match self.readuntil(b"\n").await {
            Ok(line) => Ok(line),
            Err(ReadError::IncompleteRead(e)) => Ok(e.partial),
            Err(ReadError::LimitOverrun(e)) => {
                if self.buf.bytes()[e.consumed.min(self.buf.len())..].starts_with(b"\n") {
                    self.buf.consume(e.consumed + 1);
                } else {
                    let n = self.buf.len();
                    self.buf.consume(n);
                }
                Err(ReadError::LimitOverrun(e))
            }
            Err(e) => Err(e),
        }
    }

    /// The next line, or `None` at the end of the stream: `async for line in reader`.
    ///
    /// # Errors
    /// As [`readline`](Self::readline).
    ///
    /// # Cancel safety
    /// Cancel safe, as [`readline`](Self::readline).
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let mut r = asyncio::StreamReader::new();
    /// r.feed_data(b"one\ntwo\nthree");
    /// r.feed_eof();
    /// let mut lines = Vec::new();
    /// while let Some(line) = r.next_line().await.unwrap() {
    ///     lines.push(line);
    /// }
    /// assert_eq!(lines, [&b"one\n"[..], b"two\n", b"three"]);
    /// # });
    /// ```
    pub async fn next_line(&mut self) -> Result<Option<Vec<u8>>, ReadError> {
        let line = self.readline().await?;
        Ok(if line.is_empty() { None } else { Some(line) })
    }

    /// Whether the stream ended and the buffer is empty (asyncio's `at_eof`). Looks at what
    /// already arrived on the connection, without waiting, to learn of the end.
    ///
    /// # Examples
    /// ```
    /// let mut r = asyncio::StreamReader::new();
    /// r.feed_data(b"x");
    /// r.feed_eof();
    /// assert!(!r.at_eof());
    /// ```
    pub fn at_eof(&mut self) -> bool {
        if self.buf.is_empty() && !self.eof && self.exception.is_none() {
            if let Source::Conn(conn) = &self.source {
                match conn.try_read(&mut self.buf) {
                    Ok(0) => self.eof = true,
                    Ok(_) => {} // committed by the read
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) => self.exception = Some(SavedError::save(&e)),
                }
            }
        }
        self.eof && self.buf.is_empty()
    }

    /// The bytes buffered and not yet read.
    ///
    /// # Examples
    /// ```
    /// let mut r = asyncio::StreamReader::new();
    /// r.feed_data(b"abc");
    /// assert_eq!(r.buffer(), b"abc");
    /// ```
    pub fn buffer(&self) -> &[u8] {
        self.buf.bytes()
    }
}
