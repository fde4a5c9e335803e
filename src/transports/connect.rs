//! The client side: `create_connection`, `create_unix_connection`, `connect_accepted_socket`.

use super::{AnyProtocol, Transport, driver};
use crate::streams::TlsSetup;
use crate::streams::conn::{Conn, Sock};
use crate::{LoopHandle, OpenConnection, OpenUnixConnection, StreamSocket};
use std::cell::RefCell;
use std::future::{Future, IntoFuture};
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::rc::Rc;
use std::time::Duration;

/// What the connecting futures give: the transport, and the protocol the loop calls (shared
/// with it: do not hold a borrow across an `.await`, or the next callback finds it borrowed,
/// which counts as a panic of that callback and aborts the connection).
type Connected<P> = io::Result<(Transport, Rc<RefCell<P>>)>;

/// Refuses to run on a loop other than `lp`'s: the connection's tasks and socket would
/// belong to the wrong one.
pub(super) fn check_loop(lp: &LoopHandle, what: &str) -> io::Result<()> {
    let here = crate::try_get_running_loop().map_err(|e| io::Error::other(e.to_string()))?;
    if !here.same_loop(lp) {
        return Err(io::Error::other(format!("{what} awaited outside its loop")));
    }
    Ok(())
}

/// Runs the TLS handshake if asked, makes the protocol and starts it on `conn`.
async fn establish<P, F>(conn: Rc<Conn>, tls: Option<TlsSetup>, factory: F) -> Connected<P>
where
    F: FnOnce() -> P,
    P: AnyProtocol,
{
    if let Some(tls) = &tls {
        tls.handshake(&conn).await?;
    }
    let proto = Rc::new(RefCell::new(factory()));
    let transport = driver::start(conn, proto.clone());
    Ok((transport, proto))
}

impl LoopHandle {
    /// Opens a TCP connection run by a protocol made by `factory` (asyncio's
    /// `loop.create_connection`); await it for `(transport, protocol)`, after
    /// `connection_made` ran. The protocol is a [`Protocol`](crate::Protocol), or a
    /// [`BufferedProtocol`](crate::BufferedProtocol) in [`Buffered`](crate::Buffered) (so for
    /// every function here that takes a factory). Resolution, happy eyeballs and TLS are
    /// [`open_connection`](crate::open_connection)'s; the options are builder methods of
    /// [`CreateConnection`].
    ///
    /// # Examples
    /// See [`Protocol`](crate::Protocol).
    pub fn create_connection<P, F>(&self, factory: F, host: &str, port: u16) -> CreateConnection<F>
    where
        F: FnOnce() -> P + 'static,
        P: AnyProtocol,
    {
        CreateConnection {
            lp: self.clone(),
            factory,
            open: crate::open_connection(host, port),
        }
    }

    /// Opens a Unix-domain connection run by a protocol made by `factory` (asyncio's
    /// `loop.create_unix_connection`); await it for `(transport, protocol)`.
    ///
    /// # Examples
    /// See [`create_unix_server`](Self::create_unix_server).
    pub fn create_unix_connection<P, F>(
        &self,
        factory: F,
        path: impl Into<PathBuf>,
    ) -> CreateUnixConnection<F>
    where
        F: FnOnce() -> P + 'static,
        P: AnyProtocol,
    {
        CreateUnixConnection {
            lp: self.clone(),
            factory,
            open: crate::open_unix_connection(path),
        }
    }

    /// Runs a protocol made by `factory` over a socket connected already, say one accepted
    /// outside the loop's servers (asyncio's `loop.connect_accepted_socket`); await it for
    /// `(transport, protocol)`. With [`ssl`](ConnectAcceptedSocket::ssl), the server's side
    /// of the TLS handshake runs first.
    ///
    /// # Examples
    /// ```
    /// # use asyncio::{Protocol, Transport};
    /// struct Hello;
    /// impl Protocol for Hello {
    ///     fn connection_made(&mut self, t: Transport) { t.write(b"hello\n"); }
    /// }
    /// # asyncio::run(async {
    /// let listener = asyncio::net::TcpListener::bind("127.0.0.1:0".parse().unwrap())?;
    /// let addr = listener.local_addr()?;
    /// let client = asyncio::create_task(async move {
    ///     let (mut r, _w) = asyncio::open_connection("127.0.0.1", addr.port()).await.unwrap();
    ///     r.readline().await.unwrap()
    /// });
    /// let (sock, _peer) = listener.accept().await?;
    /// let (_t, _p) = asyncio::get_running_loop().connect_accepted_socket(|| Hello, sock).await?;
    /// assert_eq!(client.await.unwrap(), b"hello\n");
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn connect_accepted_socket<P, F>(
        &self,
        factory: F,
        sock: impl StreamSocket,
    ) -> ConnectAcceptedSocket<F>
    where
        F: FnOnce() -> P + 'static,
        P: AnyProtocol,
    {
        ConnectAcceptedSocket {
            lp: self.clone(),
            factory,
            sock: crate::streams::connect::stream_sock(sock),
            #[cfg(feature = "tls")]
            ssl: None,
            #[cfg(feature = "tls")]
            ssl_handshake_timeout: None,
            #[cfg(feature = "tls")]
            ssl_shutdown_timeout: crate::streams::conn::TLS_SHUTDOWN_TIMEOUT,
        }
    }
}

/// The future of [`LoopHandle::create_connection`], with its options. Await it (it is
/// `IntoFuture`).
///
/// # Errors
/// As [`open_connection`](crate::open_connection): the connection's or the resolver's
/// error, the TLS handshake's (or `TimedOut` past its timeout); outside the handle's loop,
/// an error of kind `Other`.
///
/// # Cancel safety
/// Dropping it abandons every attempt and closes their sockets; the protocol is made only
/// once connected, and then nothing is awaited any more.
#[must_use = "a connection is only made when this is awaited"]
pub struct CreateConnection<F> {
    lp: LoopHandle,
    factory: F,
    open: OpenConnection,
}

impl<F> CreateConnection<F> {
    /// Binds the socket to this local address before connecting.
    ///
    /// # Examples
    /// ```
    /// # struct Quiet;
    /// # impl asyncio::Protocol for Quiet {}
    /// # asyncio::run(async {
    /// # let server = asyncio::start_server(|_r, _w| async {}, "127.0.0.1", 0).await?;
    /// # let port = server.sockets()[0].as_inet().unwrap().port();
    /// let lp = asyncio::get_running_loop();
    /// let (t, _p) = lp
    ///     .create_connection(|| Quiet, "127.0.0.1", port)
    ///     .local_addr("127.0.0.1:0".parse().unwrap())
    ///     .await?;
    /// assert!(t.sockname().unwrap().as_inet().unwrap().ip().is_loopback());
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn local_addr(mut self, addr: SocketAddr) -> Self {
        self.open = self.open.local_addr(addr);
        self
    }

    /// The stagger between connection attempts (default 0.25 s); `None` tries the addresses
    /// one after the other.
    ///
    /// # Examples
    /// ```
    /// # struct Quiet;
    /// # impl asyncio::Protocol for Quiet {}
    /// # asyncio::run(async {
    /// let lp = asyncio::get_running_loop();
    /// let connect = lp.create_connection(|| Quiet, "localhost", 80).happy_eyeballs_delay(None);
    /// # drop(connect);
    /// # });
    /// ```
    pub fn happy_eyeballs_delay(mut self, delay: Option<Duration>) -> Self {
        self.open = self.open.happy_eyeballs_delay(delay);
        self
    }

    /// Connects only to the host's addresses of this family (asyncio's `family=`; see
    /// [`OpenConnection::family`]).
    ///
    /// # Examples
    /// ```
    /// # struct Quiet;
    /// # impl asyncio::Protocol for Quiet {}
    /// # asyncio::run(async {
    /// # let server = asyncio::start_server(|_r, _w| async {}, "127.0.0.1", 0).await?;
    /// # let port = server.sockets()[0].as_inet().unwrap().port();
    /// let lp = asyncio::get_running_loop();
    /// let (t, _p) = lp
    ///     .create_connection(|| Quiet, "127.0.0.1", port)
    ///     .family(asyncio::AddressFamily::Inet)
    ///     .await?;
    /// assert!(t.peername().unwrap().as_inet().unwrap().is_ipv4());
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn family(mut self, family: crate::AddressFamily) -> Self {
        self.open = self.open.family(family);
        self
    }

    /// When every address fails, the error carries each one's failure (asyncio 3.12's
    /// `all_errors=True`; see [`ConnectErrors`](crate::ConnectErrors)).
    ///
    /// # Examples
    /// ```
    /// # #[derive(Debug)]
    /// # struct Quiet;
    /// # impl asyncio::Protocol for Quiet {}
    /// # asyncio::run(async {
    /// let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    /// let lp = asyncio::get_running_loop();
    /// let err = lp.create_connection(|| Quiet, "127.0.0.1", closed.port()).all_errors(true).await.unwrap_err();
    /// assert_eq!(asyncio::ConnectErrors::of(&err).unwrap().errors()[0].0, closed);
    /// # });
    /// ```
    pub fn all_errors(mut self, on: bool) -> Self {
        self.open = self.open.all_errors(on);
        self
    }

    /// Runs the protocol over `sock`, a stream socket connected already, instead of
    /// connecting (asyncio's `sock=`): host `""` and port 0; see [`OpenConnection::sock`].
    ///
    /// # Examples
    /// ```
    /// # struct Quiet;
    /// # impl asyncio::Protocol for Quiet {}
    /// # asyncio::run(async {
    /// let (ours, _theirs) = std::os::unix::net::UnixStream::pair()?;
    /// let lp = asyncio::get_running_loop();
    /// let (t, _p) = lp.create_connection(|| Quiet, "", 0).sock(ours).await?;
    /// assert!(t.peername().is_some());
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn sock(mut self, sock: impl Into<std::os::fd::OwnedFd>) -> Self {
        self.open = self.open.sock(sock);
        self
    }

    /// Speaks TLS (asyncio's `ssl=`), verifying the server as
    /// [`server_hostname`](Self::server_hostname) or else the host; the handshake runs
    /// before `connection_made`.
    ///
    /// # Examples
    /// ```no_run
    /// # struct Quiet;
    /// # impl asyncio::Protocol for Quiet {}
    /// # async fn f(config: std::sync::Arc<asyncio::tls::rustls::ClientConfig>) -> std::io::Result<()> {
    /// let lp = asyncio::get_running_loop();
    /// let (_t, _p) = lp.create_connection(|| Quiet, "example.com", 443).ssl(config).await?;
    /// # Ok(()) }
    /// # let _ = f;
    /// ```
    #[cfg(feature = "tls")]
    pub fn ssl(mut self, context: std::sync::Arc<rustls::ClientConfig>) -> Self {
        self.open = self.open.ssl(context);
        self
    }

    /// The name the server's certificate is checked against (and sent as SNI) with
    /// [`ssl`](Self::ssl); the host by default.
    ///
    /// # Examples
    /// ```no_run
    /// # struct Quiet;
    /// # impl asyncio::Protocol for Quiet {}
    /// # async fn f(config: std::sync::Arc<asyncio::tls::rustls::ClientConfig>) -> std::io::Result<()> {
    /// let lp = asyncio::get_running_loop();
    /// let (_t, _p) = lp
    ///     .create_connection(|| Quiet, "10.0.0.7", 443)
    ///     .ssl(config)
    ///     .server_hostname("internal.example.com")
    ///     .await?;
    /// # Ok(()) }
    /// # let _ = f;
    /// ```
    #[cfg(feature = "tls")]
    pub fn server_hostname(mut self, name: &str) -> Self {
        self.open = self.open.server_hostname(name);
        self
    }

    /// How long the TLS handshake may take (asyncio's `ssl_handshake_timeout`; default
    /// 60 s); see [`OpenConnection::ssl_handshake_timeout`].
    ///
    /// # Examples
    /// ```
    /// # struct Quiet;
    /// # impl asyncio::Protocol for Quiet {}
    /// # asyncio::run(async {
    /// let lp = asyncio::get_running_loop();
    /// let connect = lp
    ///     .create_connection(|| Quiet, "localhost", 443)
    ///     .ssl_handshake_timeout(std::time::Duration::from_secs(10));
    /// # drop(connect);
    /// # });
    /// ```
    #[cfg(feature = "tls")]
    pub fn ssl_handshake_timeout(mut self, timeout: Duration) -> Self {
        self.open = self.open.ssl_handshake_timeout(timeout);
        self
    }

    /// How long a TLS close may take to flush `close_notify` (asyncio's
    /// `ssl_shutdown_timeout`; default 30 s).
    ///
    /// # Examples
    /// ```
    /// # struct Quiet;
    /// # impl asyncio::Protocol for Quiet {}
    /// # asyncio::run(async {
    /// let lp = asyncio::get_running_loop();
    /// let connect = lp
    ///     .create_connection(|| Quiet, "localhost", 443)
    ///     .ssl_shutdown_timeout(std::time::Duration::from_secs(5));
    /// # drop(connect);
    /// # });
    /// ```
    #[cfg(feature = "tls")]
    pub fn ssl_shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.open = self.open.ssl_shutdown_timeout(timeout);
        self
    }
}

impl<P, F> IntoFuture for CreateConnection<F>
where
    F: FnOnce() -> P + 'static,
    P: AnyProtocol,
{
    type Output = Connected<P>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output>>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            check_loop(&self.lp, "create_connection")?;
            let tls = self.open.tls_setup()?;
            let mut open = self.open;
            let sock = open.connect().await?;
            establish(Conn::new(sock), tls, self.factory).await
        })
    }
}

/// The future of [`LoopHandle::create_unix_connection`], with its options. Await it.
///
/// # Errors
/// As [`open_unix_connection`](crate::open_unix_connection); outside the handle's loop, an
/// error of kind `Other`.
///
/// # Cancel safety
/// Dropping it abandons the attempt.
#[must_use = "a connection is only made when this is awaited"]
pub struct CreateUnixConnection<F> {
    lp: LoopHandle,
    factory: F,
    open: OpenUnixConnection,
}

impl<F> CreateUnixConnection<F> {
    /// Speaks TLS over the Unix socket, verifying the server as `server_hostname` (asyncio's
    /// `ssl=` and `server_hostname=`, required together here).
    ///
    /// # Examples
    /// ```no_run
    /// # struct Quiet;
    /// # impl asyncio::Protocol for Quiet {}
    /// # async fn f(config: std::sync::Arc<asyncio::tls::rustls::ClientConfig>) -> std::io::Result<()> {
    /// let lp = asyncio::get_running_loop();
    /// let (_t, _p) = lp.create_unix_connection(|| Quiet, "/tmp/tls.sock").ssl(config, "localhost").await?;
    /// # Ok(()) }
    /// # let _ = f;
    /// ```
    #[cfg(feature = "tls")]
    pub fn ssl(
        mut self,
        context: std::sync::Arc<rustls::ClientConfig>,
        server_hostname: &str,
    ) -> Self {
        self.open = self.open.ssl(context, server_hostname);
        self
    }

    /// How long the TLS handshake may take (asyncio's `ssl_handshake_timeout`; default 60 s).
    ///
    /// # Examples
    /// ```
    /// # struct Quiet;
    /// # impl asyncio::Protocol for Quiet {}
    /// # asyncio::run(async {
    /// let lp = asyncio::get_running_loop();
    /// let connect = lp
    ///     .create_unix_connection(|| Quiet, "/tmp/tls.sock")
    ///     .ssl_handshake_timeout(std::time::Duration::from_secs(10));
    /// # drop(connect);
    /// # });
    /// ```
    #[cfg(feature = "tls")]
    pub fn ssl_handshake_timeout(mut self, timeout: Duration) -> Self {
        self.open = self.open.ssl_handshake_timeout(timeout);
        self
    }
}

impl<P, F> IntoFuture for CreateUnixConnection<F>
where
    F: FnOnce() -> P + 'static,
    P: AnyProtocol,
{
    type Output = Connected<P>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output>>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            check_loop(&self.lp, "create_unix_connection")?;
            let tls = self.open.tls_setup()?;
            let sock = crate::net::UnixStream::connect(self.open.path()).await?;
            establish(Conn::new(Sock::Unix(sock)), tls, self.factory).await
        })
    }
}

/// The future of [`LoopHandle::connect_accepted_socket`], with its options. Await it.
///
/// # Errors
/// With TLS, the handshake's error (or `TimedOut` past its timeout), after which the socket
/// is closed; outside the handle's loop, an error of kind `Other`.
///
/// # Cancel safety
/// Dropping it closes the socket.
#[must_use = "the protocol runs only when this is awaited"]
pub struct ConnectAcceptedSocket<F> {
    lp: LoopHandle,
    factory: F,
    sock: Sock,
    #[cfg(feature = "tls")]
    ssl: Option<crate::tls::TlsContext>,
    #[cfg(feature = "tls")]
    ssl_handshake_timeout: Option<Duration>,
    #[cfg(feature = "tls")]
    ssl_shutdown_timeout: f64,
}

impl<F> ConnectAcceptedSocket<F> {
    /// Serves TLS on the socket (asyncio's `ssl=`): the server's side of the handshake runs
    /// before `connection_made`.
    ///
    /// # Examples
    /// ```no_run
    /// # struct Quiet;
    /// # impl asyncio::Protocol for Quiet {}
    /// # async fn f(sock: asyncio::net::TcpStream, config: std::sync::Arc<asyncio::tls::rustls::ServerConfig>) -> std::io::Result<()> {
    /// let lp = asyncio::get_running_loop();
    /// let (_t, _p) = lp.connect_accepted_socket(|| Quiet, sock).ssl(config).await?;
    /// # Ok(()) }
    /// # let _ = f;
    /// ```
    #[cfg(feature = "tls")]
    pub fn ssl(mut self, context: std::sync::Arc<rustls::ServerConfig>) -> Self {
        self.ssl = Some(context.into());
        self
    }

    /// How long the TLS handshake may take (asyncio's `ssl_handshake_timeout`; default
    /// 60 s). Without [`ssl`](Self::ssl), or zero, it is refused when awaited, with
    /// `InvalidInput`.
    ///
    /// # Examples
    /// ```no_run
    /// # struct Quiet;
    /// # impl asyncio::Protocol for Quiet {}
    /// # async fn f(sock: asyncio::net::TcpStream, config: std::sync::Arc<asyncio::tls::rustls::ServerConfig>) -> std::io::Result<()> {
    /// let lp = asyncio::get_running_loop();
    /// let (_t, _p) = lp
    ///     .connect_accepted_socket(|| Quiet, sock)
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

    /// The checked TLS options.
    #[cfg(feature = "tls")]
    fn tls_setup(&self) -> io::Result<Option<TlsSetup>> {
        let handshake_timeout =
            crate::streams::tls::handshake_timeout(self.ssl_handshake_timeout, self.ssl.is_some())?;
        Ok(self.ssl.as_ref().map(|context| TlsSetup {
            context: context.clone(),
            server_hostname: None,
            shutdown_timeout: self.ssl_shutdown_timeout,
            handshake_timeout,
        }))
    }

    /// The checked TLS options.
    #[cfg(not(feature = "tls"))]
    fn tls_setup(&self) -> io::Result<Option<TlsSetup>> {
        Ok(None)
    }
}

impl<P, F> IntoFuture for ConnectAcceptedSocket<F>
where
    F: FnOnce() -> P + 'static,
    P: AnyProtocol,
{
    type Output = Connected<P>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output>>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            check_loop(&self.lp, "connect_accepted_socket")?;
            let tls = self.tls_setup()?;
            establish(Conn::new(self.sock), tls, self.factory).await
        })
    }
}
