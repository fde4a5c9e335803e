//! `start_server` and `start_unix_server`: binding, and the handler each connection runs.

use super::accept::{accept_loop, Handler, Listener, ListenerSock};
use super::addr::StreamAddr;
use super::reader::{StreamReader, DEFAULT_LIMIT};
use super::resolve::resolve;
use super::server::{Server, ServerState};
use super::writer::StreamWriter;
use crate::net::sys::{bind_tcp, BindOptions};
use std::cell::{Cell, RefCell};
use std::future::{Future, IntoFuture};
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::pin::Pin;
use std::rc::Rc;

/// What a connection handler may return: `()`, or a `Result` whose error is logged (as
/// asyncio logs an exception escaping `client_connected_cb`).
pub trait HandlerOutput {
    /// Reports the outcome.
    fn report(self);
}

impl HandlerOutput for () {
    fn report(self) {}
}

impl<T, E: std::fmt::Debug> HandlerOutput for Result<T, E> {
    fn report(self) {
        if let Err(e) = self {
            log::error!("Unhandled error in client_connected_cb: {e:?}");
        }
    }
}

pub(super) fn erase<H, F>(handler: H) -> Handler
where
    H: Fn(StreamReader, StreamWriter) -> F + 'static,
    F: Future + 'static,
    F::Output: HandlerOutput,
{
    Rc::new(move |r, w| {
        let fut = handler(r, w);
        Box::pin(async move { fut.await.report() })
    })
}

/// Seconds a server waits for a client's TLS handshake, as asyncio's default.
#[cfg(feature = "tls")]
const TLS_HANDSHAKE_TIMEOUT: f64 = 60.0;

/// Runs the TLS handshake before the handler; a failed handshake ends the connection
/// without calling the handler (asyncio logs it and drops the connection), and so does one
/// that takes longer than [`TLS_HANDSHAKE_TIMEOUT`].
#[cfg(feature = "tls")]
fn with_tls(handler: Handler, context: crate::tls::TlsContext, shutdown_timeout: f64) -> Handler {
    Rc::new(move |r, w| {
        let handler = handler.clone();
        let context = context.clone();
        Box::pin(async move {
            w.set_ssl_shutdown_timeout(shutdown_timeout);
            // asyncio's `ssl_handshake_timeout`: a client that never finishes its handshake
            // must not hold a connection (and `wait_closed`) forever.
            match crate::wait_for(w.handshake(&context, None), TLS_HANDSHAKE_TIMEOUT).await {
                Ok(Ok(())) => handler(r, w).await,
                Ok(Err(e)) => log::debug!("TLS handshake failed: {e}"),
                Err(_) => {
                    log::debug!("TLS handshake timed out");
                    w.abort();
                }
            }
        })
    })
}

pub(super) struct Common {
    pub(super) handler: Handler,
    #[cfg(feature = "tls")]
    pub(super) ssl: Option<crate::tls::TlsContext>,
    #[cfg(feature = "tls")]
    pub(super) ssl_shutdown_timeout: f64,
    pub(super) backlog: i32,
    pub(super) limit: usize,
    pub(super) start_serving: bool,
}

impl Common {
    pub(super) fn new(handler: Handler) -> Common {
        Common {
            handler,
            #[cfg(feature = "tls")]
            ssl: None,
            #[cfg(feature = "tls")]
            ssl_shutdown_timeout: super::conn::TLS_SHUTDOWN_TIMEOUT,
            backlog: 100,
            limit: DEFAULT_LIMIT,
            start_serving: true,
        }
    }

    pub(super) fn build(
        self,
        listeners: Vec<Rc<Listener>>,
        addrs: Vec<StreamAddr>,
        unix_path: Option<(PathBuf, u64)>,
    ) -> io::Result<Server> {
        let (handler, limit, backlog) = (self.handler, self.limit, self.backlog);
        #[cfg(feature = "tls")]
        let handler = match self.ssl {
            Some(context) => with_tls(handler, context, self.ssl_shutdown_timeout),
            None => handler,
        };
        let state = Rc::new(ServerState {
            listeners,
            addrs,
            accept_tasks: RefCell::new(Vec::new()),
            start_accepting: Box::new(move |state, listener| {
                crate::task::create_lazy_task(accept_loop(
                    Rc::downgrade(state),
                    listener,
                    handler.clone(),
                    limit,
                    backlog.max(1) as usize,
                ))
            }),
            backlog,
            serving: Cell::new(false),
            closed: Cell::new(false),
            serving_forever: Cell::new(false),
            clients: RefCell::new(crate::util::slab::Slab::new()),
            waiters: RefCell::new(Vec::new()),
            unix_path,
        });
        let server = Server::new(state.clone());
        if self.start_serving {
            state.start_serving()?;
        }
        Ok(server)
    }
}

/// Starts a TCP server (asyncio's `start_server`): each connection runs
/// `handler(reader, writer)` as its own task; a handler that panics or fails ends its own
/// connection only. `host` `None` (or `""`) listens on all interfaces, IPv4 and IPv6; a name
/// is resolved and every address bound. Options are builder methods: `backlog`,
/// `reuse_port`, `limit`, `start_serving`.
///
/// # Errors
/// The bind error with its kind (`AddrInUse`, …), its message naming the address.
///
/// # Cancel safety
/// Dropping the future before it completes closes what it bound.
///
/// # Examples
/// ```
/// async fn handle_echo(mut reader: asyncio::StreamReader, writer: asyncio::StreamWriter) {
///     let data = reader.read(100).await.unwrap();
///     writer.write(&data);
///     writer.drain().await.unwrap();
///     writer.close();
/// }
///
/// # asyncio::run(async {
/// let server = asyncio::start_server(handle_echo, "127.0.0.1", 0).await?;
/// let port = server.sockets()[0].as_inet().unwrap().port();
/// let (mut reader, writer) = asyncio::open_connection("127.0.0.1", port).await?;
/// writer.write(b"Hello World!");
/// assert_eq!(reader.read(100).await?, b"Hello World!");
/// # std::io::Result::Ok(())
/// # }).unwrap();
/// ```
pub fn start_server<'a, H, F>(
    handler: H,
    host: impl Into<Option<&'a str>>,
    port: u16,
) -> StartServer
where
    H: Fn(StreamReader, StreamWriter) -> F + 'static,
    F: Future + 'static,
    F::Output: HandlerOutput,
{
    StartServer {
        common: Common::new(erase(handler)),
        host: host.into().map(str::to_owned),
        port,
        reuse_port: false,
        reuse_address: true,
    }
}

/// The future of [`start_server`], with its options. Await it (it is `IntoFuture`).
#[must_use = "the server starts only when this is awaited"]
pub struct StartServer {
    common: Common,
    host: Option<String>,
    port: u16,
    reuse_port: bool,
    reuse_address: bool,
}

impl StartServer {
    /// The listen backlog (default 100).
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let server = asyncio::start_server(|_r, _w| async {}, "127.0.0.1", 0).backlog(1024).await.unwrap();
    /// # drop(server);
    /// # });
    /// ```
    pub fn backlog(mut self, backlog: i32) -> Self {
        self.common.backlog = backlog;
        self
    }

    /// Sets `SO_REUSEPORT`, so several sockets (say one loop per core) share the port and
    /// the kernel spreads connections among them.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let a = asyncio::start_server(|_r, _w| async {}, "127.0.0.1", 0).reuse_port(true).await.unwrap();
    /// let port = a.sockets()[0].as_inet().unwrap().port();
    /// let b = asyncio::start_server(|_r, _w| async {}, "127.0.0.1", port).reuse_port(true).await.unwrap();
    /// # drop((a, b));
    /// # });
    /// ```
    pub fn reuse_port(mut self, on: bool) -> Self {
        self.reuse_port = on;
        self
    }

    /// Sets `SO_REUSEADDR` (default on, as asyncio on POSIX).
    ///
    /// # Examples
    /// ```
    /// let start = asyncio::start_server(|_r, _w| async {}, "127.0.0.1", 0).reuse_address(false);
    /// # drop(start);
    /// ```
    pub fn reuse_address(mut self, on: bool) -> Self {
        self.reuse_address = on;
        self
    }

    /// The buffer limit of each connection's reader (default 64 KiB).
    ///
    /// # Examples
    /// ```
    /// let start = asyncio::start_server(|_r, _w| async {}, "127.0.0.1", 0).limit(1 << 20);
    /// # drop(start);
    /// ```
    pub fn limit(mut self, limit: usize) -> Self {
        self.common.limit = limit;
        self
    }

    /// Serves TLS (asyncio's `ssl=`): each connection's handshake runs before its handler.
    ///
    /// # Examples
    /// ```no_run
    /// # async fn f(config: std::sync::Arc<asyncio::tls::rustls::ServerConfig>) -> std::io::Result<()> {
    /// let _server = asyncio::start_server(|_r, _w| async {}, "0.0.0.0", 443).ssl(config).await?;
    /// # Ok(()) }
    /// # let _ = f;
    /// ```
    #[cfg(feature = "tls")]
    pub fn ssl(mut self, context: std::sync::Arc<rustls::ServerConfig>) -> Self {
        self.common.ssl = Some(context.into());
        self
    }

    /// How long a TLS close may take to flush `close_notify` before the connection is
    /// aborted (asyncio's `ssl_shutdown_timeout`; default 30 s). See
    /// [`StreamWriter::close`](crate::StreamWriter::close).
    ///
    /// # Examples
    /// ```
    /// let open = asyncio::start_server(|_r, _w| async {}, "127.0.0.1", 0).ssl_shutdown_timeout(std::time::Duration::from_secs(5));
    /// # drop(open);
    /// ```
    #[cfg(feature = "tls")]
    pub fn ssl_shutdown_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.common.ssl_shutdown_timeout = timeout.as_secs_f64();
        self
    }

    /// Whether to accept at once (default); with `false`, the sockets are bound but do not
    /// listen until [`Server::start_serving`] or [`Server::serve_forever`].
    ///
    /// # Examples
    /// See [`Server::start_serving`].
    pub fn start_serving(mut self, on: bool) -> Self {
        self.common.start_serving = on;
        self
    }

    async fn run(self) -> io::Result<Server> {
        let all_interfaces = self.host.as_deref().is_none_or_empty();
        let addrs: Vec<SocketAddr> = if all_interfaces {
            vec![
                SocketAddr::from((Ipv4Addr::UNSPECIFIED, self.port)),
                SocketAddr::from((Ipv6Addr::UNSPECIFIED, self.port)),
            ]
        } else {
            let mut addrs = resolve(self.host.as_deref().unwrap_or_default(), self.port).await?;
            let mut seen = std::collections::HashSet::new();
            addrs.retain(|a| seen.insert(*a));
            addrs
        };
        let opts = BindOptions {
            backlog: self.common.backlog,
            reuse_address: self.reuse_address,
            reuse_port: self.reuse_port,
            listen: false,
        };
        let mut listeners = Vec::new();
        let mut bound = Vec::new();
        for addr in addrs {
            match bind_tcp(addr, opts) {
                Ok(l) => {
                    bound.push(StreamAddr::Inet(l.local_addr()?));
                    listeners.push(Listener::new(ListenerSock::TcpBound(l)));
                }
                // A host without IPv6 still serves on IPv4 when asked for every interface.
                Err(e)
                    if all_interfaces
                        && addr.is_ipv6()
                        && matches!(
                            e.raw_os_error(),
                            Some(libc::EADDRNOTAVAIL | libc::EAFNOSUPPORT)
                        ) => {}
                Err(e) => {
                    return Err(io::Error::new(
                        e.kind(),
                        format!(
                            "error while attempting to bind on address {}: {e}",
                            StreamAddr::Inet(addr)
                        ),
                    ))
                }
            }
        }
        self.common.build(listeners, bound, None)
    }
}

trait NoneOrEmpty {
    fn is_none_or_empty(&self) -> bool;
}

impl NoneOrEmpty for Option<&str> {
    fn is_none_or_empty(&self) -> bool {
        self.is_none_or(str::is_empty)
    }
}

impl IntoFuture for StartServer {
    type Output = io::Result<Server>;
    type IntoFuture = Pin<Box<dyn Future<Output = io::Result<Server>>>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}
