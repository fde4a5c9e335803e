//! The server side: `create_server` and `create_unix_server`, on the streams' server
//! machinery (binding, the accept loop, [`Server`]) with a protocol per connection.

use super::connect::check_loop;
use super::{AnyProtocol, driver};
use crate::streams::TlsSetup;
use crate::streams::accept::Accept;
use crate::streams::conn::Conn;
use crate::streams::start::{MakeAcceptor, StartServer, server_with};
use crate::streams::start_unix::{StartUnixServer, unix_server_with};
use crate::{LoopHandle, Server};
use std::cell::RefCell;
use std::future::{Future, IntoFuture};
use std::io;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::pin::Pin;
use std::rc::Rc;
#[cfg(feature = "tls")]
use std::time::Duration;

/// A protocol server's handling of each connection: make the protocol, run the TLS
/// handshake if the server speaks TLS, start the protocol.
struct ProtocolAccept<F> {
    factory: F,
    tls: Option<Rc<TlsSetup>>,
}

impl<P, F> Accept for ProtocolAccept<F>
where
    F: Fn() -> P + 'static,
    P: AnyProtocol,
{
    fn accept(&self, conn: Rc<Conn>) {
        // The factory is user code called inside the accept loop: a panic in it costs this
        // connection only (asyncio logs "Error on transport creation" and closes the socket).
        let proto = match catch_unwind(AssertUnwindSafe(|| (self.factory)())) {
            Ok(proto) => Rc::new(RefCell::new(proto)),
            Err(panic) => {
                let panic = crate::PanicError::new(panic);
                let line =
                    format!("Exception in protocol_factory: {panic}; closing the connection");
                crate::runtime::exception_handler::report(
                    crate::runtime::exception_handler::ExceptionContext::panic(
                        "Exception in protocol_factory",
                        panic,
                    )
                    .logged_as(line),
                );
                conn.close();
                return;
            }
        };
        match &self.tls {
            None => drop(driver::start(conn, proto)),
            Some(tls) => {
                let tls = tls.clone();
                drop(crate::task::create_lazy_task(async move {
                    match tls.handshake(&conn).await {
                        Ok(()) => driver::made(conn, proto).1.await,
                        // As asyncio: a failed handshake ends the connection, and the
                        // protocol is never told of it.
                        Err(e) => {
                            log::debug!("TLS handshake failed: {e}");
                            conn.abort();
                        }
                    }
                }));
            }
        }
    }
}

fn acceptor<P, F>(factory: F) -> MakeAcceptor
where
    F: Fn() -> P + 'static,
    P: AnyProtocol,
{
    Box::new(move |tls| {
        Rc::new(ProtocolAccept {
            factory,
            tls: tls.map(Rc::new),
        })
    })
}

impl LoopHandle {
    /// Starts a TCP server that runs a protocol made by `factory` on each connection
    /// (asyncio's `loop.create_server`). Binding and the options are
    /// [`start_server`](crate::start_server)'s (`host` `None` or `""`: every interface); the
    /// server is the same [`Server`]. A factory or a callback that panics costs its own
    /// connection only; the server goes on.
    ///
    /// # Examples
    /// See [`Protocol`](crate::Protocol).
    pub fn create_server<'a, P, F>(
        &self,
        factory: F,
        host: impl Into<Option<&'a str>>,
        port: u16,
    ) -> CreateServer
    where
        F: Fn() -> P + 'static,
        P: AnyProtocol,
    {
        CreateServer {
            lp: self.clone(),
            start: server_with(acceptor(factory), host, port),
        }
    }

    /// Starts a Unix-domain server at `path` that runs a protocol made by `factory` on each
    /// connection (asyncio's `loop.create_unix_server`); the socket file is handled as
    /// [`start_unix_server`](crate::start_unix_server) does.
    ///
    /// # Examples
    /// ```
    /// use asyncio::{Protocol, Transport};
    /// struct Upper { t: Option<Transport> }
    /// impl Protocol for Upper {
    ///     fn connection_made(&mut self, t: Transport) { self.t = Some(t); }
    ///     fn data_received(&mut self, data: &[u8]) {
    ///         self.t.as_ref().unwrap().write(&data.to_ascii_uppercase());
    ///     }
    /// }
    /// struct Client { got: Vec<u8>, done: asyncio::Event }
    /// impl Protocol for Client {
    ///     fn connection_made(&mut self, t: Transport) { t.write(b"shout"); }
    ///     fn data_received(&mut self, data: &[u8]) {
    ///         self.got.extend_from_slice(data);
    ///         if self.got.len() == 5 { self.done.set(); }
    ///     }
    /// }
    /// # asyncio::run(async {
    /// let path = std::env::temp_dir().join(format!("asyncio-cus-{}.sock", std::process::id()));
    /// let lp = asyncio::get_running_loop();
    /// let server = lp.create_unix_server(|| Upper { t: None }, &path).await?;
    /// let done = asyncio::Event::new();
    /// let client = Client { got: Vec::new(), done: done.clone() };
    /// let (t, proto) = lp.create_unix_connection(move || client, &path).await?;
    /// done.wait().await;
    /// assert_eq!(proto.borrow().got, b"SHOUT");
    /// t.close();
    /// server.close();
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn create_unix_server<P, F>(&self, factory: F, path: impl Into<PathBuf>) -> CreateUnixServer
    where
        F: Fn() -> P + 'static,
        P: AnyProtocol,
    {
        CreateUnixServer {
            lp: self.clone(),
            start: unix_server_with(acceptor(factory), path),
        }
    }
}

/// The future of [`LoopHandle::create_server`], with its options. Await it (it is
/// `IntoFuture`).
///
/// # Errors
/// As [`start_server`](crate::start_server): the resolver's or the bind's error; outside the
/// handle's loop, an error of kind `Other`.
///
/// # Cancel safety
/// Dropping it before it completes closes what it bound.
#[must_use = "the server starts only when this is awaited"]
pub struct CreateServer {
    lp: LoopHandle,
    start: StartServer,
}

impl CreateServer {
    /// Serves an already-bound listener instead of binding (asyncio's `sock=`; see
    /// [`StartServer::sock`]): `host` `None` and `port` 0.
    ///
    /// # Examples
    /// ```
    /// # struct Quiet;
    /// # impl asyncio::Protocol for Quiet {}
    /// # asyncio::run(async {
    /// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let addr = listener.local_addr()?;
    /// let lp = asyncio::get_running_loop();
    /// let server = lp.create_server(|| Quiet, None, 0).sock(listener).await?;
    /// assert_eq!(server.sockets()[0].as_inet(), Some(addr));
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn sock(mut self, listener: std::net::TcpListener) -> Self {
        self.start = self.start.sock(listener);
        self
    }

    /// Sets `SO_KEEPALIVE` on the listening sockets and so on every connection (asyncio
    /// 3.13's `keep_alive`; see [`StartServer::keep_alive`]).
    ///
    /// # Examples
    /// ```
    /// # struct Quiet;
    /// # impl asyncio::Protocol for Quiet {}
    /// # asyncio::run(async {
    /// let lp = asyncio::get_running_loop();
    /// let server = lp.create_server(|| Quiet, "127.0.0.1", 0).keep_alive(true).await?;
    /// # drop(server);
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn keep_alive(mut self, on: bool) -> Self {
        self.start = self.start.keep_alive(on);
        self
    }

    /// Listens on every address of each of `hosts` (see [`StartServer::hosts`]).
    ///
    /// # Examples
    /// ```
    /// # struct Quiet;
    /// # impl asyncio::Protocol for Quiet {}
    /// # asyncio::run(async {
    /// let lp = asyncio::get_running_loop();
    /// let server = lp.create_server(|| Quiet, None, 0).hosts(["127.0.0.1"]).await?;
    /// assert_eq!(server.sockets().len(), 1);
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn hosts(mut self, hosts: impl IntoIterator<Item = impl AsRef<str>>) -> Self {
        self.start = self.start.hosts(hosts);
        self
    }

    /// The listen backlog (default 100).
    ///
    /// # Examples
    /// ```
    /// # struct Quiet;
    /// # impl asyncio::Protocol for Quiet {}
    /// # asyncio::run(async {
    /// let lp = asyncio::get_running_loop();
    /// let server = lp.create_server(|| Quiet, "127.0.0.1", 0).backlog(1024).await?;
    /// # drop(server);
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn backlog(mut self, backlog: i32) -> Self {
        self.start = self.start.backlog(backlog);
        self
    }

    /// Sets `SO_REUSEPORT` (see [`StartServer::reuse_port`]).
    ///
    /// # Examples
    /// ```
    /// # struct Quiet;
    /// # impl asyncio::Protocol for Quiet {}
    /// # asyncio::run(async {
    /// let lp = asyncio::get_running_loop();
    /// let a = lp.create_server(|| Quiet, "127.0.0.1", 0).reuse_port(true).await?;
    /// let port = a.sockets()[0].as_inet().unwrap().port();
    /// let b = lp.create_server(|| Quiet, "127.0.0.1", port).reuse_port(true).await?;
    /// # drop((a, b));
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn reuse_port(mut self, on: bool) -> Self {
        self.start = self.start.reuse_port(on);
        self
    }

    /// Sets `SO_REUSEADDR` (default on, as asyncio on POSIX).
    ///
    /// # Examples
    /// ```
    /// # struct Quiet;
    /// # impl asyncio::Protocol for Quiet {}
    /// # asyncio::run(async {
    /// let lp = asyncio::get_running_loop();
    /// let start = lp.create_server(|| Quiet, "127.0.0.1", 0).reuse_address(false);
    /// # drop(start);
    /// # });
    /// ```
    pub fn reuse_address(mut self, on: bool) -> Self {
        self.start = self.start.reuse_address(on);
        self
    }

    /// Whether to accept at once (default); with `false`, the sockets are bound but do not
    /// listen until [`Server::start_serving`] or [`Server::serve_forever`].
    ///
    /// # Examples
    /// ```
    /// # struct Quiet;
    /// # impl asyncio::Protocol for Quiet {}
    /// # asyncio::run(async {
    /// let lp = asyncio::get_running_loop();
    /// let server = lp.create_server(|| Quiet, "127.0.0.1", 0).start_serving(false).await?;
    /// assert!(!server.is_serving());
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn start_serving(mut self, on: bool) -> Self {
        self.start = self.start.start_serving(on);
        self
    }

    /// Serves TLS (asyncio's `ssl=`): each connection's handshake runs before its protocol's
    /// `connection_made`; a connection whose handshake fails is closed, and its protocol
    /// never told.
    ///
    /// # Examples
    /// ```no_run
    /// # struct Quiet;
    /// # impl asyncio::Protocol for Quiet {}
    /// # async fn f(config: std::sync::Arc<asyncio::tls::rustls::ServerConfig>) -> std::io::Result<()> {
    /// let lp = asyncio::get_running_loop();
    /// let _server = lp.create_server(|| Quiet, "0.0.0.0", 443).ssl(config).await?;
    /// # Ok(()) }
    /// # let _ = f;
    /// ```
    #[cfg(feature = "tls")]
    pub fn ssl(mut self, context: std::sync::Arc<rustls::ServerConfig>) -> Self {
        self.start = self.start.ssl(context);
        self
    }

    /// How long a client's TLS handshake may take (asyncio's `ssl_handshake_timeout`;
    /// default 60 s); see [`StartServer::ssl_handshake_timeout`].
    ///
    /// # Examples
    /// ```no_run
    /// # struct Quiet;
    /// # impl asyncio::Protocol for Quiet {}
    /// # async fn f(config: std::sync::Arc<asyncio::tls::rustls::ServerConfig>) -> std::io::Result<()> {
    /// let lp = asyncio::get_running_loop();
    /// let _server = lp
    ///     .create_server(|| Quiet, "0.0.0.0", 443)
    ///     .ssl(config)
    ///     .ssl_handshake_timeout(std::time::Duration::from_secs(10))
    ///     .await?;
    /// # Ok(()) }
    /// # let _ = f;
    /// ```
    #[cfg(feature = "tls")]
    pub fn ssl_handshake_timeout(mut self, timeout: Duration) -> Self {
        self.start = self.start.ssl_handshake_timeout(timeout);
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
    /// let start = lp
    ///     .create_server(|| Quiet, "127.0.0.1", 0)
    ///     .ssl_shutdown_timeout(std::time::Duration::from_secs(5));
    /// # drop(start);
    /// # });
    /// ```
    #[cfg(feature = "tls")]
    pub fn ssl_shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.start = self.start.ssl_shutdown_timeout(timeout);
        self
    }
}

impl IntoFuture for CreateServer {
    type Output = io::Result<Server>;
    type IntoFuture = Pin<Box<dyn Future<Output = io::Result<Server>>>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            check_loop(&self.lp, "create_server")?;
            self.start.await
        })
    }
}

/// The future of [`LoopHandle::create_unix_server`], with its options. Await it.
///
/// # Errors
/// As [`start_unix_server`](crate::start_unix_server); outside the handle's loop, an error of
/// kind `Other`.
///
/// # Cancel safety
/// Dropping it before it completes closes what it bound.
#[must_use = "the server starts only when this is awaited"]
pub struct CreateUnixServer {
    lp: LoopHandle,
    start: StartUnixServer,
}

impl CreateUnixServer {
    /// Serves an already-bound Unix listener instead of binding (asyncio's `sock=`; see
    /// [`StartUnixServer::sock`](crate::StartUnixServer::sock)): `path` `""`.
    ///
    /// # Examples
    /// ```
    /// # struct Quiet;
    /// # impl asyncio::Protocol for Quiet {}
    /// # asyncio::run(async {
    /// let (listener, _client) = {
    ///     let path = std::env::temp_dir().join(format!("asyncio-cus-sock-{}.sock", std::process::id()));
    ///     # let _ = std::fs::remove_file(&path);
    ///     let l = std::os::unix::net::UnixListener::bind(&path)?;
    ///     std::fs::remove_file(&path)?; // served all the same, through the fd
    ///     (l, ())
    /// };
    /// let lp = asyncio::get_running_loop();
    /// let server = lp.create_unix_server(|| Quiet, "").sock(listener).await?;
    /// assert_eq!(server.sockets().len(), 1);
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn sock(mut self, listener: std::os::unix::net::UnixListener) -> Self {
        self.start = self.start.sock(listener);
        self
    }

    /// The listen backlog (default 100).
    ///
    /// # Examples
    /// ```
    /// # struct Quiet;
    /// # impl asyncio::Protocol for Quiet {}
    /// # asyncio::run(async {
    /// let lp = asyncio::get_running_loop();
    /// let start = lp.create_unix_server(|| Quiet, "/tmp/x.sock").backlog(10);
    /// # drop(start);
    /// # });
    /// ```
    pub fn backlog(mut self, backlog: i32) -> Self {
        self.start = self.start.backlog(backlog);
        self
    }

    /// Whether to accept at once (default true).
    ///
    /// # Examples
    /// ```
    /// # struct Quiet;
    /// # impl asyncio::Protocol for Quiet {}
    /// # asyncio::run(async {
    /// let lp = asyncio::get_running_loop();
    /// let start = lp.create_unix_server(|| Quiet, "/tmp/x.sock").start_serving(false);
    /// # drop(start);
    /// # });
    /// ```
    pub fn start_serving(mut self, on: bool) -> Self {
        self.start = self.start.start_serving(on);
        self
    }

    /// Serves TLS over the Unix socket (asyncio's `ssl=`).
    ///
    /// # Examples
    /// ```no_run
    /// # struct Quiet;
    /// # impl asyncio::Protocol for Quiet {}
    /// # async fn f(config: std::sync::Arc<asyncio::tls::rustls::ServerConfig>) -> std::io::Result<()> {
    /// let lp = asyncio::get_running_loop();
    /// let _server = lp.create_unix_server(|| Quiet, "/tmp/tls.sock").ssl(config).await?;
    /// # Ok(()) }
    /// # let _ = f;
    /// ```
    #[cfg(feature = "tls")]
    pub fn ssl(mut self, context: std::sync::Arc<rustls::ServerConfig>) -> Self {
        self.start = self.start.ssl(context);
        self
    }

    /// How long a client's TLS handshake may take (asyncio's `ssl_handshake_timeout`;
    /// default 60 s).
    ///
    /// # Examples
    /// ```no_run
    /// # struct Quiet;
    /// # impl asyncio::Protocol for Quiet {}
    /// # async fn f(config: std::sync::Arc<asyncio::tls::rustls::ServerConfig>) -> std::io::Result<()> {
    /// let lp = asyncio::get_running_loop();
    /// let _server = lp
    ///     .create_unix_server(|| Quiet, "/tmp/tls.sock")
    ///     .ssl(config)
    ///     .ssl_handshake_timeout(std::time::Duration::from_secs(10))
    ///     .await?;
    /// # Ok(()) }
    /// # let _ = f;
    /// ```
    #[cfg(feature = "tls")]
    pub fn ssl_handshake_timeout(mut self, timeout: Duration) -> Self {
        self.start = self.start.ssl_handshake_timeout(timeout);
        self
    }
}

impl IntoFuture for CreateUnixServer {
    type Output = io::Result<Server>;
    type IntoFuture = Pin<Box<dyn Future<Output = io::Result<Server>>>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            check_loop(&self.lp, "create_unix_server")?;
            self.start.await
        })
    }
}
