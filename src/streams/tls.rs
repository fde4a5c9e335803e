//! TLS over a stream socket, with rustls (feature `tls`).
//!
//! A `TlsSock` sits where the plain socket was in a connection: reads pull ciphertext from
//! the socket into rustls and hand out plaintext; writes give plaintext to rustls and push its
//! records to the socket. Records rustls could not send yet stay in rustls; the connection's
//! flusher sends them (see `Sock::has_pending_output`), whether a write, a read (rustls
//! answering the peer) or a close (`close_notify`) made them.

use super::conn::Sock;
use crate::reactor::Direction;
use std::cell::RefCell;
use std::io::{self, Read, Write};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

/// How long a TLS handshake may take before the connection is aborted: asyncio's default
/// `ssl_handshake_timeout`.
pub(crate) const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(60);

/// The handshake timeout to use: the one `given`, else the default. asyncio refuses one given
/// without TLS to time, or one that is not positive (`ValueError`); so do we, with
/// `InvalidInput`.
pub(crate) fn handshake_timeout(given: Option<Duration>, tls: bool) -> io::Result<Duration> {
    let invalid = |msg: String| io::Error::new(io::ErrorKind::InvalidInput, msg);
    match given {
        None => Ok(TLS_HANDSHAKE_TIMEOUT),
        Some(_) if !tls => Err(invalid(
            "ssl_handshake_timeout is only meaningful with ssl".to_owned(),
        )),
        Some(t) if t.is_zero() => Err(invalid(format!(
            "ssl_handshake_timeout should be a positive number, got {:?}",
            t.as_secs_f64()
        ))),
        Some(t) => Ok(t),
    }
}

/// Runs the TLS handshake over `conn`; past `timeout` the connection is aborted.
pub(crate) async fn handshake(
    conn: &super::conn::Conn,
    context: &TlsContext,
    server_hostname: Option<&str>,
    timeout: Duration,
) -> io::Result<()> {
    let tls = match context.connection(server_hostname) {
        Ok(tls) => tls,
        Err(e) => {
            conn.abort();
            return Err(e);
        }
    };
    conn.upgrade_tls(tls)?;
    let handshake = std::future::poll_fn(|cx| conn.poll_handshake(cx));
    match crate::wait_for(handshake, timeout).await {
        Ok(done) => done,
        Err(_) => {
            // asyncio's `ssl_handshake_timeout`: a peer that never finishes its handshake
            // must hold neither the socket nor the caller forever.
            conn.abort();
            Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "SSL handshake is taking longer than {:?} seconds: aborting the connection",
                    timeout.as_secs_f64()
                ),
            ))
        }
    }
}

/// The TLS options of one side of a connection, checked: what a protocol's connection runs
/// before `connection_made`.
#[derive(Clone, Debug)]
pub(crate) struct TlsSetup {
    pub(crate) context: TlsContext,
    /// What a client verifies the server's certificate against; `None` for a server.
    pub(crate) server_hostname: Option<String>,
    pub(crate) shutdown_timeout: f64,
    pub(crate) handshake_timeout: Duration,
}

impl TlsSetup {
    /// Sets the connection's shutdown timeout and runs the handshake.
    pub(crate) async fn handshake(&self, conn: &super::conn::Conn) -> io::Result<()> {
        conn.set_shutdown_timeout(self.shutdown_timeout);
        let name = self.server_hostname.as_deref();
        handshake(conn, &self.context, name, self.handshake_timeout).await
    }
}

/// The TLS side of a connection: a client's or a server's configuration (asyncio's
/// `ssl.SSLContext`).
///
/// # Examples
/// ```
/// use asyncio::tls::{rustls, TlsContext};
/// let roots = rustls::RootCertStore::empty();
/// let config = rustls::ClientConfig::builder_with_provider(
///     rustls::crypto::ring::default_provider().into(),
/// )
/// .with_safe_default_protocol_versions()
/// .unwrap()
/// .with_root_certificates(roots)
/// .with_no_client_auth();
/// let ctx = TlsContext::from(std::sync::Arc::new(config));
/// assert!(matches!(ctx, TlsContext::Client(_)));
/// ```
#[derive(Clone, Debug)]
pub enum TlsContext {
    /// The client side: verifies the server.
    Client(Arc<rustls::ClientConfig>),
    /// The server side: presents a certificate.
    Server(Arc<rustls::ServerConfig>),
}

impl From<Arc<rustls::ClientConfig>> for TlsContext {
    fn from(c: Arc<rustls::ClientConfig>) -> Self {
        TlsContext::Client(c)
    }
}

impl From<Arc<rustls::ServerConfig>> for TlsContext {
    fn from(c: Arc<rustls::ServerConfig>) -> Self {
        TlsContext::Server(c)
    }
}

impl TlsContext {
    /// A new rustls connection; `server_name` is what a client verifies the certificate
    /// against (and sends as SNI).
    pub(crate) fn connection(&self, server_name: Option<&str>) -> io::Result<rustls::Connection> {
        let invalid = |e: rustls::Error| io::Error::new(io::ErrorKind::InvalidInput, e);
        Ok(match self {
            TlsContext::Client(config) => {
                let name = server_name.ok_or_else(|| {
                    io::Error::new(
                        io::ErrorKind::InvalidInput,
                        "server_hostname is required for a TLS client",
                    )
                })?;
                let name = rustls::pki_types::ServerName::try_from(name.to_owned())
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
                rustls::ClientConnection::new(config.clone(), name)
                    .map_err(invalid)?
                    .into()
            }
            TlsContext::Server(config) => rustls::ServerConnection::new(config.clone())
                .map_err(invalid)?
                .into(),
        })
    }
}

struct ReadSock<'a>(&'a Sock);

impl Read for ReadSock<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.try_read(buf)
    }
}

struct WriteSock<'a>(&'a Sock);

impl Write for WriteSock<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.try_write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn tls_error(e: rustls::Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e)
}

pub(crate) struct TlsSock {
    inner: Sock,
    tls: RefCell<rustls::Connection>,
}

impl TlsSock {
    pub(crate) fn new(inner: Sock, tls: rustls::Connection) -> TlsSock {
        TlsSock {
            inner,
            tls: RefCell::new(tls),
        }
    }

    pub(crate) fn inner(&self) -> &Sock {
        &self.inner
    }

    /// Calls `f` with the session (for the peer's certificate, the cipher, ALPN).
    pub(crate) fn with_session<R>(&self, f: impl FnOnce(&rustls::Connection) -> R) -> R {
        f(&self.tls.borrow())
    }

    pub(crate) fn has_pending_output(&self) -> bool {
        self.tls.borrow().wants_write()
    }

    /// Sends what rustls has queued; `Ok(false)` if the socket is full.
    fn try_flush(&self) -> io::Result<bool> {
        let mut tls = self.tls.borrow_mut();
        while tls.wants_write() {
            match tls.write_tls(&mut WriteSock(&self.inner)) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }

    pub(crate) fn poll_flush(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            if self.try_flush()? {
                return Poll::Ready(Ok(()));
            }
            std::task::ready!(self.inner.poll_ready(Direction::Write, cx))?;
        }
    }

    /// Reads ciphertext once and processes it. `Ok(false)` at the socket's end of stream.
    fn poll_read_tls(&self, cx: &mut Context<'_>) -> Poll<io::Result<bool>> {
        loop {
            let read = self.tls.borrow_mut().read_tls(&mut ReadSock(&self.inner));
            match read {
                Ok(0) => return Poll::Ready(Ok(false)),
                Ok(_) => {
                    let processed = self.tls.borrow_mut().process_new_packets();
                    if let Err(e) = processed {
                        // Tell the peer why (rustls queued an alert), then fail.
                        let _ = self.try_flush();
                        return Poll::Ready(Err(tls_error(e)));
                    }
                    // Handshake messages, session tickets, key updates: send them on.
                    let _ = self.try_flush()?;
                    return Poll::Ready(Ok(true));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    std::task::ready!(self.inner.poll_ready(Direction::Read, cx))?;
                }
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }

    /// Drives the handshake to its end.
    pub(crate) fn poll_handshake(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            std::task::ready!(self.poll_flush(cx))?;
            if !self.tls.borrow().is_handshaking() {
                return Poll::Ready(Ok(()));
            }
            if !std::task::ready!(self.poll_read_tls(cx))? {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "EOF occurred in violation of protocol (TLS handshake)",
                )));
            }
        }
    }

    pub(crate) fn poll_read(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        loop {
            match self.try_read(buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                other => return Poll::Ready(other),
            }
            if !std::task::ready!(self.poll_read_tls(cx))? {
                // The socket ended: rustls now says whether that was a clean close_notify
                // (`Ok(0)`) or a truncation (`UnexpectedEof`).
                return Poll::Ready(self.tls.borrow_mut().reader().read(buf));
            }
        }
    }

    /// Plaintext already decrypted, else ciphertext already arrived; `WouldBlock` if none.
    pub(crate) fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        let plain = self.tls.borrow_mut().reader().read(buf);
        match plain {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            other => return other,
        }
        let read = self.tls.borrow_mut().read_tls(&mut ReadSock(&self.inner));
        match read? {
            0 => self.tls.borrow_mut().reader().read(buf),
            _ => {
                self.tls
                    .borrow_mut()
                    .process_new_packets()
                    .map_err(tls_error)?;
                let _ = self.try_flush()?;
                self.tls.borrow_mut().reader().read(buf)
            }
        }
    }

    /// Takes plaintext if earlier records went out; `WouldBlock` otherwise.
    pub(crate) fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        if !self.try_flush()? {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let n = self.tls.borrow_mut().writer().write(buf)?;
        self.try_flush()?;
        if n == 0 && !buf.is_empty() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(n)
    }

    pub(crate) fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        loop {
            std::task::ready!(self.poll_flush(cx))?;
            match self.try_write(buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                other => return Poll::Ready(other),
            }
        }
    }

    /// Sends `close_notify`, as far as the socket takes it now.
    pub(crate) fn close_notify(&self) {
        self.tls.borrow_mut().send_close_notify();
        let _ = self.try_flush();
    }
}
