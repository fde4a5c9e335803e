//! The Rust ecosystem's traits on this crate's types, each behind its feature.
//!
//! - `futures-io`: futures-io's [`AsyncRead`]/[`AsyncWrite`] on
//!   [`TcpStream`](crate::net::TcpStream) and [`UnixStream`](crate::net::UnixStream) (and on
//!   `&` of each, so one task reads while another writes), [`AsyncRead`] +
//!   [`AsyncBufRead`] on [`StreamReader`](crate::StreamReader), [`AsyncWrite`] on
//!   [`StreamWriter`](crate::StreamWriter).
//! - `tokio-io`: tokio's traits on the same types; tokio's runtime is not needed (the crate
//!   is built with its default features off).
//! - `stream`: futures-core's `Stream` on [`AsCompleted`](crate::AsCompleted),
//!   [`StreamReader::lines`](crate::StreamReader::lines), the listeners' `incoming` and a
//!   queue's `stream()`; futures-sink's `Sink` on a queue's `sink()`.
//!
//! The sockets read into uninitialised memory where the trait allows it (tokio's
//! `ReadBuf`), and write from several buffers with one `sendmsg`. Closing (`poll_close`,
//! `poll_shutdown`) shuts down the write half: the peer reads end of stream and can answer.
//!
//! A [`StreamWriter`](crate::StreamWriter) buffers what the socket does not take, as
//! asyncio's does: `poll_write` accepts everything unless the buffer is over its high-water
//! mark, where it waits as [`drain`](crate::StreamWriter::drain) does; `poll_flush` is a
//! drain (what is buffered is sent by the loop in any case); `poll_close` is
//! [`write_eof`](crate::StreamWriter::write_eof) after the buffer. Writing after a close is
//! an error of kind `BrokenPipe`.
//!
//! [`AsyncRead`]: https://docs.rs/futures-io/0.3/futures_io/trait.AsyncRead.html
//! [`AsyncWrite`]: https://docs.rs/futures-io/0.3/futures_io/trait.AsyncWrite.html
//! [`AsyncBufRead`]: https://docs.rs/futures-io/0.3/futures_io/trait.AsyncBufRead.html

#[cfg(feature = "futures-io")]
mod futures_io;
#[cfg(feature = "stream")]
pub(crate) mod queue;
#[cfg(feature = "stream")]
pub(crate) mod stream;
#[cfg(feature = "tokio-io")]
mod tokio_io;
#[cfg(any(feature = "futures-io", feature = "tokio-io"))]
mod writer;
