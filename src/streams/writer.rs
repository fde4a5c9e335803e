//! `StreamWriter`: buffered writing to a connection (asyncio's `StreamWriter`).

use super::addr::StreamAddr;
use super::conn::Conn;
#[cfg(feature = "tls")]
use std::future::Future;
use std::future::poll_fn;
use std::io;
#[cfg(feature = "tls")]
use std::pin::Pin;
use std::rc::Rc;
#[cfg(feature = "tls")]
use std::task::{Context, Poll};
#[cfg(feature = "tls")]
use std::time::Duration;

/// Writes to a connection (asyncio's `StreamWriter`). A cheap `Clone` handle: clones write to
/// the same connection, and the connection is closed (after sending what is buffered) when
/// the last clone is dropped, as asyncio closes the transport of a collected writer.
///
/// [`write`](Self::write) never waits: it sends what the socket takes and buffers the rest,
/// which a background task sends. [`drain`](Self::drain) is the flow control: it waits while
/// the buffer is above the high-water mark (64 KiB by default) until it is back under the
/// low-water mark (16 KiB).
///
/// # Examples
/// ```
/// # asyncio::run(async {
/// let server = asyncio::start_server(|_r, w: asyncio::StreamWriter| async move {
///     w.write(b"hello\n");
///     w.close();
/// }, "127.0.0.1", 0).await?;
/// let port = server.sockets()[0].as_inet().unwrap().port();
/// let (mut reader, writer) = asyncio::open_connection("127.0.0.1", port).await?;
/// assert_eq!(reader.readline().await.unwrap(), b"hello\n");
/// writer.close();
/// writer.wait_closed().await?;
/// # std::io::Result::Ok(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct StreamWriter {
    inner: Rc<Handle>,
}

/// Closes the connection when the last writer goes.
struct Handle {
    conn: Rc<Conn>,
}

impl Drop for Handle {
    fn drop(&mut self) {
        if !self.conn.is_closing() {
            crate::runtime::debug::warn_unclosed(|| "<StreamWriter>".to_owned());
        }
        self.conn.close();
    }
}

impl std::fmt::Debug for StreamWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamWriter")
            .field("peername", &self.peername())
            .field("closing", &self.is_closing())
            .finish()
    }
}

impl StreamWriter {
    pub(crate) fn new(conn: Rc<Conn>) -> StreamWriter {
        StreamWriter {
            inner: Rc::new(Handle { conn }),
        }
    }

    /// Sends `data`, buffering what the socket does not take now; never waits. Data written
    /// after [`close`](Self::close), after [`write_eof`](Self::write_eof) or once the
    /// connection is lost is dropped (asyncio logs a warning after a few such writes).
    ///
    /// # Examples
    /// See [`StreamWriter`].
    pub fn write(&self, data: &[u8]) {
        self.conn().write(data);
    }

    /// Writes each item in turn (asyncio's `writelines`).
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// # let (a, b) = asyncio::net::UnixStream::pair().unwrap();
    /// # let ((_r, writer), (mut reader, _w)) = (asyncio::open_socket(a), asyncio::open_socket(b));
    /// writer.writelines([&b"a\n"[..], b"b\n"]);
    /// assert_eq!(reader.readline().await.unwrap(), b"a\n");
    /// # });
    /// ```
    pub fn writelines<I>(&self, lines: I)
    where
        I: IntoIterator,
        I::Item: AsRef<[u8]>,
    {
        for line in lines {
            self.write(line.as_ref());
        }
    }

    /// Waits until the write buffer is back under the low-water mark if it went over the
    /// high-water mark (asyncio's `drain`). Many tasks may drain at once; all are released
    /// together.
    ///
    /// # Errors
    /// The connection's error if it was lost by one (every waiting drain gets it); kind
    /// `ConnectionReset` ("Connection lost") when called after the connection was closed.
    ///
    /// # Cancel safety
    /// Cancel safe: the data stays buffered and is sent anyway.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// # let (a, b) = asyncio::net::UnixStream::pair().unwrap();
    /// # let ((_r, writer), (mut reader, _w)) = (asyncio::open_socket(a), asyncio::open_socket(b));
    /// let reading = asyncio::create_task(async move { reader.read_to_end().await.unwrap().len() });
    /// for _ in 0..64 {
    ///     writer.write(&[0; 16 * 1024]);
    ///     writer.drain().await.unwrap(); // bounded memory: waits for the reader
    /// }
    /// writer.close();
    /// assert_eq!(reading.await.unwrap(), 1 << 20);
    /// # });
    /// ```
    pub async fn drain(&self) -> io::Result<()> {
        if self.conn().is_drained() {
            return Ok(());
        }
        let closing = self.conn().is_closing() && !self.conn().is_lost();
        if closing {
            // As asyncio: let a close in progress finish before looking.
            crate::sleep(0).await;
        }
        let mut waited = false;
        poll_fn(|cx| self.conn().poll_drain(cx, &mut waited)).await
    }

    /// Whether [`write_eof`](Self::write_eof) is supported: true for TCP and Unix sockets,
    /// false over TLS (as asyncio's SSL transport).
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// # let (a, _b) = asyncio::net::UnixStream::pair().unwrap();
    /// # let (_r, writer) = asyncio::open_socket(a);
    /// assert!(writer.can_write_eof());
    /// # });
    /// ```
    pub fn can_write_eof(&self) -> bool {
        self.conn().can_write_eof()
    }

    /// Closes the write half once the buffer is sent: the peer reads end of stream, and can
    /// still answer (asyncio's `write_eof`).
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// # let (a, b) = asyncio::net::UnixStream::pair().unwrap();
    /// # let ((mut ra, wa), (mut rb, wb)) = (asyncio::open_socket(a), asyncio::open_socket(b));
    /// wa.write(b"question");
    /// wa.write_eof();
    /// assert_eq!(rb.read_to_end().await.unwrap(), b"question");
    /// wb.write(b"answer");
    /// wb.close();
    /// assert_eq!(ra.read_to_end().await.unwrap(), b"answer");
    /// # });
    /// ```
    pub fn write_eof(&self) {
        self.conn().write_eof();
    }

    /// Closes the connection once the buffer is sent (asyncio's `close`). The reader of this
    /// connection then reads end of stream.
    ///
    /// Over TLS, close sends `close_notify` after the buffer and waits for it to be flushed
    /// too, so that the peer can tell the close from a truncation; but at most the shutdown
    /// timeout (asyncio's `ssl_shutdown_timeout`, 30 s by default, set with the
    /// `ssl_shutdown_timeout` option of [`open_connection`](crate::open_connection),
    /// [`start_server`](crate::start_server), their Unix twins and `start_tls`): past it, with
    /// the peer still not reading, the
    /// connection is aborted, what is unsent dropped, and [`wait_closed`](Self::wait_closed)
    /// fails with `TimedOut`.
    ///
    /// # Examples
    /// See [`StreamWriter`].
    pub fn close(&self) {
        self.conn().close();
    }

    /// Upgrades the connection to TLS (asyncio's `start_tls`): what is buffered is sent in
    /// the clear first, then the handshake runs; the reader and this writer then carry
    /// plaintext over TLS. A client context needs `server_hostname`.
    ///
    /// The handshake may take 60 s (asyncio's `ssl_handshake_timeout`) before the connection
    /// is aborted; [`StartTls::ssl_handshake_timeout`] sets another time, and
    /// [`StartTls::ssl_shutdown_timeout`] how long a TLS close may take.
    ///
    /// # Errors
    /// The handshake's error (kind `InvalidData` for a certificate or protocol error, with
    /// the rustls error inside); the connection is then closed. Kind `TimedOut` ("SSL
    /// handshake is taking longer than 60.0 seconds: aborting the connection") when the
    /// handshake timeout passes; the connection is then aborted.
    ///
    /// # Cancel safety
    /// Not cancel safe: a dropped upgrade leaves the connection mid-handshake; close it.
    ///
    /// # Examples
    /// ```no_run
    /// # async fn f(writer: asyncio::StreamWriter, config: std::sync::Arc<asyncio::tls::rustls::ClientConfig>) -> std::io::Result<()> {
    /// writer.write(b"STARTTLS\r\n");
    /// writer.start_tls(config, Some("mail.example.com")).await?;
    /// # Ok(()) }
    /// # let _ = f;
    /// ```
    #[cfg(feature = "tls")]
    pub fn start_tls(
        &self,
        context: impl Into<crate::tls::TlsContext>,
        server_hostname: Option<&str>,
    ) -> StartTls {
        StartTls {
            writer: self.clone(),
            context: context.into(),
            server_hostname: server_hostname.map(str::to_owned),
            handshake_timeout: None,
            shutdown_timeout: None,
            running: None,
        }
    }

    /// Sets the seconds a TLS close may take (see [`close`](Self::close)).
    #[cfg(feature = "tls")]
    pub(crate) fn set_ssl_shutdown_timeout(&self, secs: f64) {
        self.conn().set_shutdown_timeout(secs);
    }

    /// Runs the TLS handshake; past `timeout` the connection is aborted.
    #[cfg(feature = "tls")]
    pub(crate) async fn handshake(
        &self,
        context: &crate::tls::TlsContext,
        server_hostname: Option<&str>,
        timeout: Duration,
    ) -> io::Result<()> {
        super::tls::handshake(self.conn(), context, server_hostname, timeout).await
    }

    /// The connection under this writer.
    pub(crate) fn conn(&self) -> &Rc<Conn> {
        &self.inner.conn
    }

    /// Closes at once, dropping what is buffered; the peer sees a reset (asyncio's
    /// `transport.abort()`).
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// # let (a, _b) = asyncio::net::UnixStream::pair().unwrap();
    /// # let (_r, writer) = asyncio::open_socket(a);
    /// writer.abort();
    /// assert!(writer.is_closing());
    /// # });
    /// ```
    pub fn abort(&self) {
        self.conn().abort();
    }

    /// Whether the connection is closed or closing (asyncio's `is_closing`).
    ///
    /// # Examples
    /// See [`abort`](Self::abort).
    pub fn is_closing(&self) -> bool {
        self.conn().is_closing()
    }

    /// Waits until the connection is closed (asyncio's `wait_closed`).
    ///
    /// # Errors
    /// The error that closed the connection, if one did.
    ///
    /// # Cancel safety
    /// Cancel safe.
    ///
    /// # Examples
    /// See [`StreamWriter`].
    pub async fn wait_closed(&self) -> io::Result<()> {
        poll_fn(|cx| self.conn().poll_closed(cx)).await
    }

    /// The peer's address (asyncio's `get_extra_info("peername")`), as it was when the
    /// connection was made.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// # let (a, _b) = asyncio::net::UnixStream::pair().unwrap();
    /// # let (_r, writer) = asyncio::open_socket(a);
    /// assert_eq!(writer.peername(), Some(asyncio::StreamAddr::Unix(None)));
    /// # });
    /// ```
    pub fn peername(&self) -> Option<StreamAddr> {
        self.conn().peer()
    }

    /// The local address (asyncio's `get_extra_info("sockname")`).
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// # let (a, _b) = asyncio::net::UnixStream::pair().unwrap();
    /// # let (_r, writer) = asyncio::open_socket(a);
    /// assert_eq!(writer.sockname(), Some(asyncio::StreamAddr::Unix(None)));
    /// # });
    /// ```
    pub fn sockname(&self) -> Option<StreamAddr> {
        self.conn().local()
    }

    /// The connection's socket as a file descriptor (asyncio's
    /// `get_extra_info("socket").fileno()`), `None` once lost; see
    /// [`Transport::socket_fd`](crate::Transport::socket_fd).
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let (a, _b) = asyncio::net::UnixStream::pair().unwrap();
    /// let (_r, writer) = asyncio::open_socket(a);
    /// assert!(writer.socket_fd().is_some());
    /// # });
    /// ```
    pub fn socket_fd(&self) -> Option<std::os::fd::RawFd> {
        self.conn().raw_fd()
    }

    /// Sets the high- and low-water marks of the write buffer (asyncio's
    /// `transport.set_write_buffer_limits`): with only `high`, low is `high / 4`; with only
    /// `low`, high is `4 * low`; with neither, 64 KiB and 16 KiB.
    ///
    /// # Panics
    /// If `low > high` (asyncio's `ValueError`).
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// # let (a, _b) = asyncio::net::UnixStream::pair().unwrap();
    /// # let (_r, writer) = asyncio::open_socket(a);
    /// writer.set_write_buffer_limits(Some(1024), None);
    /// assert_eq!(writer.get_write_buffer_limits(), (256, 1024));
    /// # });
    /// ```
    pub fn set_write_buffer_limits(&self, high: Option<usize>, low: Option<usize>) {
        let (high, low) = super::conn::water_marks(high, low);
        self.conn().set_write_buffer_limits(high, low);
    }

    /// The `(low, high)` water marks (asyncio's `get_write_buffer_limits`).
    ///
    /// # Examples
    /// See [`set_write_buffer_limits`](Self::set_write_buffer_limits).
    pub fn get_write_buffer_limits(&self) -> (usize, usize) {
        self.conn().write_buffer_limits()
    }

    /// Bytes written and not yet sent (asyncio's `get_write_buffer_size`).
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// # let (a, _b) = asyncio::net::UnixStream::pair().unwrap();
    /// # let (_r, writer) = asyncio::open_socket(a);
    /// writer.write(b"x");
    /// assert_eq!(writer.get_write_buffer_size(), 0); // the socket took it at once
    /// # });
    /// ```
    pub fn get_write_buffer_size(&self) -> usize {
        self.conn().write_buffer_size()
    }
}

/// The future of [`StreamWriter::start_tls`], with its options (asyncio's `start_tls` keyword
/// arguments). Set them before awaiting it.
///
/// # Cancel safety
/// Not cancel safe: a dropped upgrade leaves the connection mid-handshake; close it.
#[cfg(feature = "tls")]
#[must_use = "futures do nothing unless awaited"]
pub struct StartTls {
    writer: StreamWriter,
    context: crate::tls::TlsContext,
    server_hostname: Option<String>,
    handshake_timeout: Option<Duration>,
    shutdown_timeout: Option<Duration>,
    /// The upgrade, made from the options at the first poll.
    running: Option<Pin<Box<dyn Future<Output = io::Result<()>>>>>,
}

#[cfg(feature = "tls")]
impl StartTls {
    /// How long the handshake may take before the connection is aborted (asyncio's
    /// `ssl_handshake_timeout`; default 60 s). A zero timeout is refused when awaited, with
    /// `InvalidInput` (asyncio's `ValueError`).
    ///
    /// # Examples
    /// ```no_run
    /// # async fn f(writer: asyncio::StreamWriter, config: std::sync::Arc<asyncio::tls::rustls::ClientConfig>) -> std::io::Result<()> {
    /// writer
    ///     .start_tls(config, Some("mail.example.com"))
    ///     .ssl_handshake_timeout(std::time::Duration::from_secs(10))
    ///     .await?;
    /// # Ok(()) }
    /// # let _ = f;
    /// ```
    pub fn ssl_handshake_timeout(mut self, timeout: Duration) -> Self {
        self.handshake_timeout = Some(timeout);
        self
    }

    /// How long a TLS close may take to flush `close_notify` before the connection is
    /// aborted (asyncio's `ssl_shutdown_timeout`; default 30 s). See
    /// [`StreamWriter::close`].
    ///
    /// # Examples
    /// ```no_run
    /// # async fn f(writer: asyncio::StreamWriter, config: std::sync::Arc<asyncio::tls::rustls::ClientConfig>) -> std::io::Result<()> {
    /// writer
    ///     .start_tls(config, Some("mail.example.com"))
    ///     .ssl_shutdown_timeout(std::time::Duration::from_secs(5))
    ///     .await?;
    /// # Ok(()) }
    /// # let _ = f;
    /// ```
    pub fn ssl_shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = Some(timeout);
        self
    }

    async fn run(
        writer: StreamWriter,
        context: crate::tls::TlsContext,
        server_hostname: Option<String>,
        handshake_timeout: Option<Duration>,
        shutdown_timeout: Option<Duration>,
    ) -> io::Result<()> {
        let handshake_timeout = super::tls::handshake_timeout(handshake_timeout, true)?;
        // Send what was written in the clear before the handshake begins.
        let (low, high) = writer.get_write_buffer_limits();
        writer.conn().set_write_buffer_limits(0, 0);
        let drained = writer.drain().await;
        writer.conn().set_write_buffer_limits(high, low);
        drained?;
        if let Some(timeout) = shutdown_timeout {
            writer.set_ssl_shutdown_timeout(timeout.as_secs_f64());
        }
        writer
            .handshake(&context, server_hostname.as_deref(), handshake_timeout)
            .await
    }
}

#[cfg(feature = "tls")]
impl Future for StartTls {
    type Output = io::Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let running = this.running.get_or_insert_with(|| {
            Box::pin(StartTls::run(
                this.writer.clone(),
                this.context.clone(),
                this.server_hostname.take(),
                this.handshake_timeout,
                this.shutdown_timeout,
            ))
        });
        running.as_mut().poll(cx)
    }
}
