//! `open_connection`, `open_unix_connection`, `open_socket`: the client side of streams.

use super::conn::{Conn, Sock};
use super::connect_errors::ConnectErrors;
use super::happy_eyeballs::staggered;
use super::reader::{DEFAULT_LIMIT, Source, StreamReader};
use super::resolve::{combine, interleave, resolve};
use super::writer::StreamWriter;
use crate::net::{TcpStream, UnixStream};
use std::future::{Future, IntoFuture};
use std::io;
use std::net::SocketAddr;
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// asyncio's recommended `happy_eyeballs_delay` (RFC 8305).
const HAPPY_EYEBALLS_DELAY: Duration = Duration::from_millis(250);

/// A connected pair of streams: what `open_connection` returns.
pub type Streams = (StreamReader, StreamWriter);

/// Refuses a reader limit of 0 as asyncio does (`ValueError`), before connecting: the reader
/// could not be made with it.
fn check_limit(limit: usize) -> io::Result<()> {
    if limit == 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "Limit cannot be <= 0",
        ));
    }
    Ok(())
}

fn streams(sock: Sock, limit: usize) -> Streams {
    let conn = Conn::new(sock);
    (
        StreamReader::from_source(Source::Conn(conn.clone()), limit),
        StreamWriter::new(conn),
    )
}

/// Opens a TCP connection and returns its reader and writer (asyncio's `open_connection`).
///
/// The host name is resolved on the loop's blocking pool; every address is tried, with
/// happy eyeballs (a new attempt every 250 ms while earlier ones are pending, families
/// alternating); the first to connect wins. Options are builder methods:
/// [`limit`](OpenConnection::limit), [`local_addr`](OpenConnection::local_addr),
/// [`happy_eyeballs_delay`](OpenConnection::happy_eyeballs_delay).
///
/// # Errors
/// The connection error with its real kind (`ConnectionRefused`, `TimedOut`, …); a
/// resolution error; with several addresses that failed differently, one error saying
/// "Multiple exceptions" with the first one's kind; `InvalidInput` for a
/// [`limit`](OpenConnection::limit) of 0. With TLS, the handshake's error, or `TimedOut`
/// when it takes longer than the
/// [`ssl_handshake_timeout`](OpenConnection::ssl_handshake_timeout) (60 s by default).
///
/// # Cancel safety
/// Dropping the future abandons every attempt and closes their sockets.
///
/// # Examples
/// ```no_run
/// # asyncio::run(async {
/// let (mut reader, writer) = asyncio::open_connection("example.com", 80).await?;
/// writer.write(b"HEAD / HTTP/1.0\r\n\r\n");
/// let status = reader.readline().await?;
/// # let _ = status;
/// # std::io::Result::Ok(())
/// # }).unwrap();
/// ```
pub fn open_connection(host: &str, port: u16) -> OpenConnection {
    OpenConnection {
        host: host.to_owned(),
        port,
        limit: DEFAULT_LIMIT,
        local_addr: None,
        delay: Some(HAPPY_EYEBALLS_DELAY),
        family: None,
        all_errors: false,
        sock: None,
        #[cfg(feature = "tls")]
        ssl: None,
        #[cfg(feature = "tls")]
        server_hostname: None,
        #[cfg(feature = "tls")]
        ssl_shutdown_timeout: super::conn::TLS_SHUTDOWN_TIMEOUT,
        #[cfg(feature = "tls")]
        ssl_handshake_timeout: None,
    }
}

/// The future of [`open_connection`], with its options. Await it (it is `IntoFuture`).
///
/// # Cancel safety
/// Dropping it abandons every attempt and closes their sockets.
#[must_use = "a connection is only made when this is awaited"]
#[derive(Debug, Clone)]
pub struct OpenConnection {
    host: String,
    port: u16,
    limit: usize,
    local_addr: Option<SocketAddr>,
    delay: Option<Duration>,
    family: Option<crate::AddressFamily>,
    all_errors: bool,
    /// A connected socket to use instead of connecting (`Arc`: the builder is `Clone`).
    sock: Option<Arc<OwnedFd>>,
    #[cfg(feature = "tls")]
    ssl: Option<crate::tls::TlsContext>,
    #[cfg(feature = "tls")]
    server_hostname: Option<String>,
    #[cfg(feature = "tls")]
    ssl_shutdown_timeout: f64,
    /// `None`: the default, which asyncio does not count as given.
    #[cfg(feature = "tls")]
    ssl_handshake_timeout: Option<Duration>,
}

impl OpenConnection {
    /// The reader's buffer limit (default 64 KiB). With 0, awaiting fails with
    /// `InvalidInput` ("Limit cannot be <= 0", asyncio's `ValueError`) before connecting.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// # let server = asyncio::start_server(|_r, _w| async {}, "127.0.0.1", 0).await.unwrap();
    /// # let port = server.sockets()[0].as_inet().unwrap().port();
    /// let (reader, _w) = asyncio::open_connection("127.0.0.1", port).limit(1024).await.unwrap();
    /// assert_eq!(reader.limit(), 1024);
    /// # });
    /// ```
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }

    /// Binds the socket to this local address before connecting.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// # let server = asyncio::start_server(|_r, _w| async {}, "127.0.0.1", 0).await.unwrap();
    /// # let port = server.sockets()[0].as_inet().unwrap().port();
    /// let (_r, w) = asyncio::open_connection("127.0.0.1", port)
    ///     .local_addr("127.0.0.1:0".parse().unwrap())
    ///     .await
    ///     .unwrap();
    /// assert!(w.sockname().unwrap().as_inet().unwrap().ip().is_loopback());
    /// # });
    /// ```
    pub fn local_addr(mut self, addr: SocketAddr) -> Self {
        self.local_addr = Some(addr);
        self
    }

    /// The stagger between connection attempts (default 0.25 s); `None` tries the addresses
    /// one after the other, each to its end.
    ///
    /// # Examples
    /// ```
    /// let open = asyncio::open_connection("localhost", 80).happy_eyeballs_delay(None);
    /// # drop(open);
    /// ```
    pub fn happy_eyeballs_delay(mut self, delay: Option<Duration>) -> Self {
        self.delay = delay;
        self
    }

    /// Connects only to the host's addresses of this family (asyncio's
    /// `family=socket.AF_INET` / `AF_INET6`). When it has none, awaiting fails with
    /// `NotFound` ("getaddrinfo() returned empty list").
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// # let server = asyncio::start_server(|_r, _w| async {}, "127.0.0.1", 0).await?;
    /// # let port = server.sockets()[0].as_inet().unwrap().port();
    /// let (_r, w) = asyncio::open_connection("127.0.0.1", port)
    ///     .family(asyncio::AddressFamily::Inet)
    ///     .await?;
    /// assert!(w.peername().unwrap().as_inet().unwrap().is_ipv4());
    /// let err = asyncio::open_connection("127.0.0.1", port)
    ///     .family(asyncio::AddressFamily::Inet6)
    ///     .await
    ///     .unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn family(mut self, family: crate::AddressFamily) -> Self {
        self.family = Some(family);
        self
    }

    /// When every address fails, returns all their errors (asyncio 3.12's `all_errors=True`,
    /// an `ExceptionGroup`): the `io::Error` carries a [`ConnectErrors`] listing each address
    /// with its error, and has the first one's kind. Without it, the error is the one
    /// failure, or one saying "Multiple exceptions" with the first one's kind.
    ///
    /// # Examples
    /// See [`ConnectErrors`].
    pub fn all_errors(mut self, on: bool) -> Self {
        self.all_errors = on;
        self
    }

    /// Uses `sock`, a stream socket connected already, instead of connecting (asyncio's
    /// `sock=`): a `std::net::TcpStream`, a `std::os::unix::net::UnixStream`, a
    /// `socket2::Socket` or an `OwnedFd` (say one a parent process handed over). As in
    /// asyncio the host must be empty and the port 0 (`open_connection("", 0).sock(s)`),
    /// and with [`ssl`](Self::ssl) a [`server_hostname`](Self::server_hostname) is needed;
    /// [`local_addr`](Self::local_addr) and [`family`](Self::family) cannot be given.
    /// The socket is made non-blocking; it belongs to the connection from then on.
    ///
    /// # Errors
    /// When awaited: `InvalidInput` for options given with it, a datagram or listening
    /// socket, a family other than TCP's and Unix's, or an fd that is not a socket;
    /// `NotConnected` for a socket not connected (or its connection's error if it failed).
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let sock = std::net::TcpStream::connect(listener.local_addr()?)?;
    /// let (_r, w) = asyncio::open_connection("", 0).sock(sock).await?;
    /// assert_eq!(w.peername().unwrap().as_inet(), Some(listener.local_addr()?));
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn sock(mut self, sock: impl Into<OwnedFd>) -> Self {
        self.sock = Some(Arc::new(sock.into()));
        self
    }

    /// Speaks TLS over the connection (asyncio's `ssl=`), verifying the server as
    /// [`server_hostname`](Self::server_hostname) or else the host connected to.
    ///
    /// # Examples
    /// ```no_run
    /// # async fn f(config: std::sync::Arc<asyncio::tls::rustls::ClientConfig>) -> std::io::Result<()> {
    /// let (_reader, _writer) = asyncio::open_connection("example.com", 443).ssl(config).await?;
    /// # Ok(()) }
    /// # let _ = f;
    /// ```
    #[cfg(feature = "tls")]
    pub fn ssl(mut self, context: std::sync::Arc<rustls::ClientConfig>) -> Self {
        self.ssl = Some(context.into());
        self
    }

    /// How long a TLS close may take to flush `close_notify` before the connection is
    /// aborted (asyncio's `ssl_shutdown_timeout`; default 30 s). See
    /// [`StreamWriter::close`](crate::StreamWriter::close).
    ///
    /// # Examples
    /// ```
    /// let open = asyncio::open_connection("localhost", 443).ssl_shutdown_timeout(std::time::Duration::from_secs(5));
    /// # drop(open);
    /// ```
    #[cfg(feature = "tls")]
    pub fn ssl_shutdown_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.ssl_shutdown_timeout = timeout.as_secs_f64();
        self
    }

    /// How long the TLS handshake may take before the connection is aborted and awaiting
    /// fails with `TimedOut` (asyncio's `ssl_handshake_timeout`; default 60 s). Without
    /// [`ssl`](Self::ssl), or zero, it is refused when awaited, with `InvalidInput` (asyncio's
    /// `ValueError`).
    ///
    /// # Examples
    /// ```no_run
    /// # async fn f(config: std::sync::Arc<asyncio::tls::rustls::ClientConfig>) -> std::io::Result<()> {
    /// let (_r, _w) = asyncio::open_connection("example.com", 443)
    ///     .ssl(config)
    ///     .ssl_handshake_timeout(std::time::Duration::from_secs(10))
    ///     .await?;
    /// # Ok(()) }
    /// # let _ = f;
    /// ```
    #[cfg(feature = "tls")]
    pub fn ssl_handshake_timeout(mut self, timeout: Duration) -> Self {
        self.ssl_handshake_timeout = Some(timeout);
        self
    }

    /// The name the server's certificate is checked against (and sent as SNI) when
    /// [`ssl`](Self::ssl) is set; the host by default.
    ///
    /// # Examples
    /// ```no_run
    /// # async fn f(config: std::sync::Arc<asyncio::tls::rustls::ClientConfig>) -> std::io::Result<()> {
    /// let (_r, _w) = asyncio::open_connection("10.0.0.7", 443)
    ///     .ssl(config)
    ///     .server_hostname("internal.example.com")
    ///     .await?;
    /// # Ok(()) }
    /// # let _ = f;
    /// ```
    #[cfg(feature = "tls")]
    pub fn server_hostname(mut self, name: &str) -> Self {
        self.server_hostname = Some(name.to_owned());
        self
    }

    /// The TLS options, checked (a handshake timeout without TLS, or zero, is refused);
    /// `None` without [`ssl`](Self::ssl).
    ///
    /// # Errors
    /// `InvalidInput` for a handshake timeout asyncio refuses.
    #[cfg(feature = "tls")]
    pub(crate) fn tls_setup(&self) -> io::Result<Option<super::TlsSetup>> {
        let handshake_timeout =
            super::tls::handshake_timeout(self.ssl_handshake_timeout, self.ssl.is_some())?;
        if self.ssl.is_some() && self.host.is_empty() && self.server_hostname.is_none() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "You must set server_hostname when using ssl without a host",
            ));
        }
        Ok(self.ssl.as_ref().map(|context| super::TlsSetup {
            context: context.clone(),
            server_hostname: Some(self.server_hostname.clone().unwrap_or(self.host.clone())),
            shutdown_timeout: self.ssl_shutdown_timeout,
            handshake_timeout,
        }))
    }

    /// The TLS options, checked (a handshake timeout without TLS, or zero, is refused);
    /// `None` without [`ssl`](Self::ssl).
    ///
    /// # Errors
    /// `InvalidInput` for a handshake timeout asyncio refuses.
    #[cfg(not(feature = "tls"))]
    pub(crate) fn tls_setup(&self) -> io::Result<Option<super::TlsSetup>> {
        Ok(None)
    }

    /// Resolves the host and connects to one of its addresses (happy eyeballs), or takes
    /// the socket given with [`sock`](Self::sock).
    pub(crate) async fn connect(&mut self) -> io::Result<Sock> {
        if let Some(sock) = self.sock.take() {
            return self.adopt(sock);
        }
        let mut addrs = resolve(&self.host, self.port).await?;
        if let Some(family) = self.family {
            addrs.retain(|a| a.is_ipv4() == (family == crate::AddressFamily::Inet));
            if addrs.is_empty() {
                return Err(io::Error::new(
                    io::ErrorKind::NotFound,
                    "getaddrinfo() returned empty list",
                ));
            }
        }
        let outcome = match self.delay {
            Some(delay) if addrs.len() > 1 => {
                staggered(interleave(addrs), self.local_addr, delay).await
            }
            _ => {
                let mut errors = Vec::new();
                let mut connected = None;
                for addr in addrs {
                    match TcpStream::connect_from(addr, self.local_addr).await {
                        Ok(s) => {
                            connected = Some(s);
                            break;
                        }
                        Err(e) => errors.push((addr, e)),
                    }
                }
                connected.ok_or(errors)
            }
        };
        match outcome {
            Ok(stream) => Ok(Sock::Tcp(stream)),
            Err(errors) if self.all_errors => Err(ConnectErrors::into_io_error(errors)),
            Err(errors) => Err(combine(errors.into_iter().map(|(_, e)| e).collect())),
        }
    }

    /// The connection over a given socket, after asyncio's checks of the other options.
    fn adopt(&self, sock: Arc<OwnedFd>) -> io::Result<Sock> {
        if !self.host.is_empty() || self.port != 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "host/port and sock can not be specified at the same time",
            ));
        }
        if self.local_addr.is_some() || self.family.is_some() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "local_addr and family can not be used when sock is specified",
            ));
        }
        // A clone of the builder shares the socket: each connection gets its own fd.
        let fd = Arc::try_unwrap(sock).or_else(|shared| shared.try_clone())?;
        super::connected_sock::adopt(fd)
    }

    async fn run(mut self) -> io::Result<Streams> {
        check_limit(self.limit)?;
        let tls = self.tls_setup()?;
        let sock = self.connect().await?;
        let streams = streams(sock, self.limit);
        if let Some(tls) = &tls {
            tls.handshake(streams.1.conn()).await?;
        }
        Ok(streams)
    }
}

impl IntoFuture for OpenConnection {
    type Output = io::Result<Streams>;
    type IntoFuture = Pin<Box<dyn Future<Output = io::Result<Streams>>>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}

/// Opens a Unix-domain connection (asyncio's `open_unix_connection`).
///
/// # Errors
/// `NotFound`, `ConnectionRefused`, … with their real kinds; `InvalidInput` for a
/// [`limit`](OpenUnixConnection::limit) of 0. With TLS, the handshake's error, or `TimedOut`
/// when it takes longer than the
/// [`ssl_handshake_timeout`](OpenUnixConnection::ssl_handshake_timeout) (60 s by default).
///
/// # Cancel safety
/// Dropping the future abandons the attempt.
///
/// # Examples
/// ```
/// # asyncio::run(async {
/// let path = std::env::temp_dir().join(format!("asyncio-ouc-{}.sock", std::process::id()));
/// let server = asyncio::start_unix_server(|mut r: asyncio::StreamReader, w: asyncio::StreamWriter| async move {
///     let line = r.readline().await.unwrap();
///     w.write(&line);
/// }, &path).await?;
/// let (mut reader, writer) = asyncio::open_unix_connection(&path).await?;
/// writer.write(b"ping\n");
/// assert_eq!(reader.readline().await.unwrap(), b"ping\n");
/// server.close();
/// # std::io::Result::Ok(())
/// # }).unwrap();
/// ```
pub fn open_unix_connection(path: impl Into<PathBuf>) -> OpenUnixConnection {
    OpenUnixConnection {
        path: path.into(),
        limit: DEFAULT_LIMIT,
        #[cfg(feature = "tls")]
        ssl: None,
        #[cfg(feature = "tls")]
        ssl_shutdown_timeout: super::conn::TLS_SHUTDOWN_TIMEOUT,
        #[cfg(feature = "tls")]
        ssl_handshake_timeout: None,
    }
}

/// The future of [`open_unix_connection`], with its options. Await it.
///
/// # Cancel safety
/// Dropping it abandons the attempt.
#[must_use = "a connection is only made when this is awaited"]
#[derive(Debug, Clone)]
pub struct OpenUnixConnection {
    path: PathBuf,
    limit: usize,
    #[cfg(feature = "tls")]
    ssl: Option<(crate::tls::TlsContext, String)>,
    #[cfg(feature = "tls")]
    ssl_shutdown_timeout: f64,
    /// `None`: the default, which asyncio does not count as given.
    #[cfg(feature = "tls")]
    ssl_handshake_timeout: Option<Duration>,
}

impl OpenUnixConnection {
    /// The reader's buffer limit (default 64 KiB). With 0, awaiting fails with
    /// `InvalidInput` ("Limit cannot be <= 0", asyncio's `ValueError`) before connecting.
    ///
    /// # Examples
    /// ```
    /// let open = asyncio::open_unix_connection("/tmp/x.sock").limit(1024);
    /// # drop(open);
    /// ```
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }
}

impl OpenUnixConnection {
    /// The path to connect to.
    pub(crate) fn path(&self) -> &std::path::Path {
        &self.path
    }

    /// The TLS options, checked; `None` without [`ssl`](Self::ssl).
    ///
    /// # Errors
    /// `InvalidInput` for a handshake timeout asyncio refuses.
    #[cfg(feature = "tls")]
    pub(crate) fn tls_setup(&self) -> io::Result<Option<super::TlsSetup>> {
        let handshake_timeout =
            super::tls::handshake_timeout(self.ssl_handshake_timeout, self.ssl.is_some())?;
        Ok(self.ssl.as_ref().map(|(context, name)| super::TlsSetup {
            context: context.clone(),
            server_hostname: Some(name.clone()),
            shutdown_timeout: self.ssl_shutdown_timeout,
            handshake_timeout,
        }))
    }

    /// The TLS options, checked; `None` without [`ssl`](Self::ssl).
    ///
    /// # Errors
    /// `InvalidInput` for a handshake timeout asyncio refuses.
    #[cfg(not(feature = "tls"))]
    pub(crate) fn tls_setup(&self) -> io::Result<Option<super::TlsSetup>> {
        Ok(None)
    }

    /// Speaks TLS over the Unix socket, verifying the server as `server_hostname` (asyncio's
    /// `ssl=` and `server_hostname=`, required together here).
    ///
    /// # Examples
    /// ```no_run
    /// # async fn f(config: std::sync::Arc<asyncio::tls::rustls::ClientConfig>) -> std::io::Result<()> {
    /// let (_r, _w) = asyncio::open_unix_connection("/tmp/tls.sock").ssl(config, "localhost").await?;
    /// # Ok(()) }
    /// # let _ = f;
    /// ```
    #[cfg(feature = "tls")]
    pub fn ssl(
        mut self,
        context: std::sync::Arc<rustls::ClientConfig>,
        server_hostname: &str,
    ) -> Self {
        self.ssl = Some((context.into(), server_hostname.to_owned()));
        self
    }

    /// How long a TLS close may take to flush `close_notify` before the connection is
    /// aborted (asyncio's `ssl_shutdown_timeout`; default 30 s). See
    /// [`StreamWriter::close`](crate::StreamWriter::close).
    ///
    /// # Examples
    /// ```
    /// let open = asyncio::open_unix_connection("/tmp/tls.sock").ssl_shutdown_timeout(std::time::Duration::from_secs(5));
    /// # drop(open);
    /// ```
    #[cfg(feature = "tls")]
    pub fn ssl_shutdown_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.ssl_shutdown_timeout = timeout.as_secs_f64();
        self
    }

    /// How long the TLS handshake may take before the connection is aborted and awaiting
    /// fails with `TimedOut` (asyncio's `ssl_handshake_timeout`; default 60 s). Without
    /// [`ssl`](Self::ssl), or zero, it is refused when awaited, with `InvalidInput` (asyncio's
    /// `ValueError`).
    ///
    /// # Examples
    /// ```no_run
    /// # async fn f(config: std::sync::Arc<asyncio::tls::rustls::ClientConfig>) -> std::io::Result<()> {
    /// let (_r, _w) = asyncio::open_unix_connection("/tmp/tls.sock")
    ///     .ssl(config, "localhost")
    ///     .ssl_handshake_timeout(std::time::Duration::from_secs(10))
    ///     .await?;
    /// # Ok(()) }
    /// # let _ = f;
    /// ```
    #[cfg(feature = "tls")]
    pub fn ssl_handshake_timeout(mut self, timeout: Duration) -> Self {
        self.ssl_handshake_timeout = Some(timeout);
        self
    }
}

impl IntoFuture for OpenUnixConnection {
    type Output = io::Result<Streams>;
    type IntoFuture = Pin<Box<dyn Future<Output = io::Result<Streams>>>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            check_limit(self.limit)?;
            let tls = self.tls_setup()?;
            let sock = UnixStream::connect(&self.path).await?;
            let streams = streams(Sock::Unix(sock), self.limit);
            if let Some(tls) = &tls {
                tls.handshake(streams.1.conn()).await?;
            }
            Ok(streams)
        })
    }
}

/// A socket that streams can be made from: [`TcpStream`](crate::net::TcpStream) or
/// [`UnixStream`](crate::net::UnixStream).
pub trait StreamSocket: sealed::Sealed {}
impl StreamSocket for TcpStream {}
impl StreamSocket for UnixStream {}

mod sealed {
    /// A socket taken apart for streams; nothing outside the crate can make or open one.
    pub struct Opaque(pub(crate) super::Sock);

    pub trait Sealed {
        fn into_sock(self) -> Opaque;
    }
    impl Sealed for crate::net::TcpStream {
        fn into_sock(self) -> Opaque {
            Opaque(super::Sock::Tcp(self))
        }
    }
    impl Sealed for crate::net::UnixStream {
        fn into_sock(self) -> Opaque {
            Opaque(super::Sock::Unix(self))
        }
    }
}

/// Streams over an already connected socket (asyncio's `open_connection(sock=sock)`), with
/// the default 64 KiB limit.
///
/// # Examples
/// ```
/// # asyncio::run(async {
/// let (a, b) = asyncio::net::UnixStream::pair().unwrap();
/// let ((_ra, wa), (mut rb, _wb)) = (asyncio::open_socket(a), asyncio::open_socket(b));
/// wa.write(b"over a socketpair\n");
/// assert_eq!(rb.readline().await.unwrap(), b"over a socketpair\n");
/// # });
/// ```
pub fn open_socket(sock: impl StreamSocket) -> Streams {
    streams(sock.into_sock().0, DEFAULT_LIMIT)
}

/// The socket under a [`StreamSocket`] (for `connect_accepted_socket`).
pub(crate) fn stream_sock(sock: impl StreamSocket) -> Sock {
    sock.into_sock().0
}
