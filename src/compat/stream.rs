//! futures-core's `Stream` on what asyncio iterates with `async for` (feature `stream`):
//! [`as_completed`](crate::as_completed), a reader's [`lines`](crate::StreamReader::lines),
//! a listener's accept loop ([`incoming`](crate::net::TcpListener::incoming)).

use crate::net::{TcpListener, TcpStream, UnixListener, UnixStream};
use crate::{AsCompleted, ReadError, StreamReader, TaskError};
use futures_core::{FusedStream, Stream};
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

/// The outcomes in the order the tasks finish: `Stream::poll_next` is
/// [`poll_next_task`](AsCompleted::poll_next_task) with the task's result taken.
///
/// `AsCompleted` is an `Iterator` too, so a method both traits have (`next`, `collect`,
/// `map`) needs its trait named: `StreamExt::next(&mut it)`.
///
/// # Examples
/// ```
/// use futures_core::Stream;
/// # asyncio::Runner::new().virtual_time(true).run(async {
/// let slow = async { asyncio::sleep(2.0).await; "slow" };
/// let fast = async { asyncio::sleep(1.0).await; "fast" };
/// let mut it = asyncio::as_completed(vec![
///     Box::pin(slow) as std::pin::Pin<Box<dyn std::future::Future<Output = _>>>,
///     Box::pin(fast),
/// ]);
/// let mut order = Vec::new();
/// while let Some(outcome) = std::future::poll_fn(|cx| std::pin::Pin::new(&mut it).poll_next(cx)).await {
///     order.push(outcome.unwrap());
/// }
/// assert_eq!(order, ["fast", "slow"]);
/// # });
/// ```
impl<T: 'static> Stream for AsCompleted<T> {
    /// # Errors
    /// The task's `Cancelled` or `Panicked`, or `TaskError::Timeout` past the timeout.
    type Item = Result<T, TaskError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_next_task(cx).map(|next| {
            next.map(|task| match task {
                Ok(task) => task.result(),
                Err(timeout) => Err(TaskError::Timeout(timeout)),
            })
        })
    }
}

impl StreamReader {
    /// The lines of the stream, `\n` included, as a `futures_core::Stream` (`async for line
    /// in reader`); the last may lack its `\n`. Each is [`readline`](Self::readline)'s, and
    /// so are its errors; after an error the stream goes on with what follows.
    ///
    /// With feature `futures-io`, futures' `AsyncBufReadExt::lines` (which gives `String`s
    /// without `\n`) is there too: call it as `AsyncBufReadExt::lines(reader)`.
    ///
    /// # Examples
    /// ```
    /// use futures_core::Stream;
    /// # asyncio::run(async {
    /// let mut r = asyncio::StreamReader::new();
    /// r.feed_data(b"one\ntwo");
    /// r.feed_eof();
    /// let mut lines = r.lines();
    /// let mut got = Vec::new();
    /// while let Some(line) = std::future::poll_fn(|cx| std::pin::Pin::new(&mut lines).poll_next(cx)).await {
    ///     got.push(line.unwrap());
    /// }
    /// assert_eq!(got, [&b"one\n"[..], b"two"]);
    /// # });
    /// ```
    pub fn lines(self) -> Lines {
        Lines {
            reader: self,
            scanned: 0,
            done: false,
        }
    }
}

/// The lines of a [`StreamReader`], a `futures_core::Stream`: see
/// [`StreamReader::lines`].
///
/// # Cancel safety
/// Dropping it (or a `next` on it) loses no line: the bytes stay in the reader, which
/// [`into_inner`](Self::into_inner) gives back.
#[derive(Debug)]
pub struct Lines {
    reader: StreamReader,
    /// How much of the buffer was searched for `\n` already.
    scanned: usize,
    done: bool,
}

impl Lines {
    /// The reader, with what it buffered past the last line given.
    ///
    /// # Examples
    /// ```
    /// let r = asyncio::StreamReader::new();
    /// let r = r.lines().into_inner();
    /// assert!(r.buffer().is_empty());
    /// ```
    pub fn into_inner(self) -> StreamReader {
        self.reader
    }
}

impl Stream for Lines {
    type Item = Result<Vec<u8>, ReadError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        let next = std::task::ready!(this.reader.poll_line(cx, &mut this.scanned));
        this.done = next.is_none();
        Poll::Ready(next)
    }
}

impl FusedStream for Lines {
    fn is_terminated(&self) -> bool {
        self.done
    }
}

/// The accept loop of a listener as a `futures_core::Stream`, made by
/// [`TcpListener::incoming`] and [`UnixListener::incoming`]. It never ends: each item is an
/// accepted connection or the error of one accept (`EMFILE`, …); the listener goes on.
///
/// # Cancel safety
/// Dropping it loses no connection: one not accepted yet stays in the listener's backlog.
#[derive(Debug)]
pub struct Incoming<'a, L> {
    listener: &'a L,
}

impl TcpListener {
    /// The connections as they arrive, a `futures_core::Stream` (feature `stream`).
    ///
    /// # Examples
    /// ```
    /// use futures_core::Stream;
    /// # asyncio::run(async {
    /// let listener = asyncio::net::TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    /// let _client = asyncio::net::TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    /// let mut incoming = listener.incoming();
    /// let next = std::future::poll_fn(|cx| std::pin::Pin::new(&mut incoming).poll_next(cx));
    /// let (stream, peer) = next.await.unwrap().unwrap();
    /// assert_eq!(stream.peer_addr().unwrap(), peer);
    /// # });
    /// ```
    pub fn incoming(&self) -> Incoming<'_, TcpListener> {
        Incoming { listener: self }
    }
}

impl UnixListener {
    /// The connections as they arrive, a `futures_core::Stream` (feature `stream`).
    ///
    /// # Examples
    /// See [`TcpListener::incoming`].
    pub fn incoming(&self) -> Incoming<'_, UnixListener> {
        Incoming { listener: self }
    }
}

impl Stream for Incoming<'_, TcpListener> {
    type Item = io::Result<(TcpStream, std::net::SocketAddr)>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.listener.poll_accept(cx).map(Some)
    }
}

impl Stream for Incoming<'_, UnixListener> {
    type Item = io::Result<(UnixStream, std::os::unix::net::SocketAddr)>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.listener.poll_accept(cx).map(Some)
    }
}
