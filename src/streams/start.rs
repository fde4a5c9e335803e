//! `start_server` and `start_unix_server`: binding, and the handler each connection runs.

#[cfg(feature = "tls")]
use super::accept::guarded;
use super::accept::{
    Accept, Handler, Listener, ListenerSock, Serve, StreamsAccept, accept_loop, connection_task,
};
use super::addr::StreamAddr;
use super::hosts::Hosts;
use super::reader::{DEFAULT_LIMIT, StreamReader};
use super::server::{Server, ServerState};
use super::writer::StreamWriter;
use crate::net::sys::BindOptions;
use std::cell::{Cell, RefCell};
use std::future::{Future, IntoFuture};
use std::io;
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
            use crate::runtime::exception_handler::{ExceptionContext, report};
            let line = format!("Unhandled error in client_connected_cb: {e:?}");
            report(
                ExceptionContext::new("Unhandled error in client_connected_cb")
                    .with_exception(std::io::Error::other(format!("{e:?}")))
                    .logged_as(line),
            );
        }
    }
}

/// A handler of the concrete type the user gave: its connection task holds the handler's
/// future inline, with no box between the task and the future.
struct Erased<H>(H);

impl<H, F> Serve for Erased<H>
where
    H: Fn(StreamReader, StreamWriter) -> F + 'static,
    F: Future + 'static,
    F::Output: HandlerOutput,
{
    fn spawn(&self, r: StreamReader, w: StreamWriter, kept: StreamWriter) {
        drop(crate::task::create_lazy_task(self.task(r, w, kept)));
    }

    #[cfg(feature = "tls")]
    fn boxed(&self, r: StreamReader, w: StreamWriter) -> Pin<Box<dyn Future<Output = ()>>> {
        let fut = (self.0)(r, w);
        Box::pin(async move { fut.await.report() })
    }
}

impl<H, F> Erased<H>
where
    H: Fn(StreamReader, StreamWriter) -> F,
    F: Future,
    F::Output: HandlerOutput,
{
    /// The connection's task, whose future holds the handler's inline. The handler is called
    /// now, when the connection is made, as asyncio calls `client_connected_cb`.
    fn task(
        &self,
        r: StreamReader,
        w: StreamWriter,
        kept: StreamWriter,
    ) -> impl Future<Output = ()> + use<H, F> {
        connection_task((self.0)(r, w), kept)
    }
}

pub(super) fn erase<H, F>(handler: H) -> Handler
where
    H: Fn(StreamReader, StreamWriter) -> F + 'static,
    F: Future + 'static,
    F::Output: HandlerOutput,
{
    Rc::new(Erased(handler))
}

/// Runs the TLS handshake before the handler; a failed handshake ends the connection
/// without calling the handler (asyncio logs it and drops the connection), and so does one
/// that takes longer than `handshake_timeout`.
#[cfg(feature = "tls")]
struct WithTls {
    handler: Handler,
    context: crate::tls::TlsContext,
    shutdown_timeout: f64,
    handshake_timeout: std::time::Duration,
}

#[cfg(feature = "tls")]
impl Serve for WithTls {
    fn spawn(&self, r: StreamReader, w: StreamWriter, kept: StreamWriter) {
        drop(crate::task::create_lazy_task(connection_task(
            self.boxed(r, w),
            kept,
        )));
    }

    fn boxed(&self, r: StreamReader, w: StreamWriter) -> Pin<Box<dyn Future<Output = ()>>> {
        let handler = self.handler.clone();
        let context = self.context.clone();
        let (shutdown_timeout, handshake_timeout) = (self.shutdown_timeout, self.handshake_timeout);
        Box::pin(async move {
            w.set_ssl_shutdown_timeout(shutdown_timeout);
            // A client that never finishes its handshake is aborted at the timeout: it must
            // not hold a connection (and `wait_closed`) forever.
            match w.handshake(&context, None, handshake_timeout).await {
                // A handler that panicked is logged; `kept` closes the connection as the
                // task ends.
                Ok(()) => {
                    if let Some(served) = guarded(|| handler.boxed(r, w)) {
                        served.await;
                    }
                }
                Err(e) => log::debug!("TLS handshake failed: {e}"),
            }
        })
    }
}

#[cfg(feature = "tls")]
fn with_tls(
    handler: Handler,
    context: crate::tls::TlsContext,
    shutdown_timeout: f64,
    handshake_timeout: Option<std::time::Duration>,
) -> Handler {
    Rc::new(WithTls {
        handler,
        context,
        shutdown_timeout,
        handshake_timeout: handshake_timeout.unwrap_or(super::tls::TLS_HANDSHAKE_TIMEOUT),
    })
}

/// Makes a server's [`Accept`] from its TLS options (a protocol server's connections run
/// the handshake themselves, before `connection_made`).
pub(crate) type MakeAcceptor = Box<dyn FnOnce(Option<super::TlsSetup>) -> Rc<dyn Accept>>;

/// What a server runs for each connection.
pub(super) enum Served {
    /// A stream handler, TLS wrapped around it.
    Streams(Handler),
    /// Anything else (a protocol), made when the server is built.
    Other(MakeAcceptor),
}

pub(super) struct Common {
    pub(super) served: Served,
    #[cfg(feature = "tls")]
    pub(super) ssl: Option<crate::tls::TlsContext>,
    #[cfg(feature = "tls")]
    pub(super) ssl_shutdown_timeout: f64,
    /// `None`: the default, which asyncio does not count as given.
    #[cfg(feature = "tls")]
    pub(super) ssl_handshake_timeout: Option<std::time::Duration>,
    pub(super) backlog: i32,
    pub(super) limit: usize,
    pub(super) start_serving: bool,
}

impl Common {
    pub(super) fn new(handler: Handler) -> Common {
        Self::serving(Served::Streams(handler))
    }

    pub(super) fn serving(served: Served) -> Common {
        Common {
            served,
            #[cfg(feature = "tls")]
            ssl: None,
            #[cfg(feature = "tls")]
            ssl_shutdown_timeout: super::conn::TLS_SHUTDOWN_TIMEOUT,
            #[cfg(feature = "tls")]
            ssl_handshake_timeout: None,
            backlog: 100,
            limit: DEFAULT_LIMIT,
            start_serving: true,
        }
    }

    /// Refuses options asyncio refuses, before anything is bound (a limit of 0 would fail
    /// each connection's reader, and so every connection, in the accept loop).
    pub(super) fn check(&self) -> io::Result<()> {
        if self.limit == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "Limit cannot be <= 0",
            ));
        }
        #[cfg(feature = "tls")]
        super::tls::handshake_timeout(self.ssl_handshake_timeout, self.ssl.is_some())?;
        Ok(())
    }

    pub(super) fn build(
        self,
        listeners: Vec<Rc<Listener>>,
        addrs: Vec<StreamAddr>,
        unix_path: Option<(PathBuf, u64)>,
    ) -> io::Result<Server> {
        let (limit, backlog) = (self.limit, self.backlog);
        let acceptor: Rc<dyn Accept> = match self.served {
            Served::Streams(handler) => {
                #[cfg(feature = "tls")]
                let handler = match self.ssl {
                    Some(context) => with_tls(
                        handler,
                        context,
                        self.ssl_shutdown_timeout,
                        self.ssl_handshake_timeout,
                    ),
                    None => handler,
                };
                Rc::new(StreamsAccept { handler, limit })
            }
            Served::Other(make) => {
                #[cfg(feature = "tls")]
                let tls = self.ssl.map(|context| super::TlsSetup {
                    context,
                    server_hostname: None,
                    shutdown_timeout: self.ssl_shutdown_timeout,
                    handshake_timeout: self
                        .ssl_handshake_timeout
                        .unwrap_or(super::tls::TLS_HANDSHAKE_TIMEOUT),
                });
                #[cfg(not(feature = "tls"))]
                let tls = None;
                make(tls)
            }
        };
        let state = Rc::new(ServerState {
            listeners,
            addrs,
            accept_tasks: RefCell::new(Vec::new()),
            start_accepting: Box::new(move |state, listener| {
                crate::task::create_lazy_task(accept_loop(
                    Rc::downgrade(state),
                    listener,
                    acceptor.clone(),
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
/// is resolved and every address bound; for several hosts, see [`StartServer::hosts`].
/// Options are builder methods: `hosts`, `backlog`, `reuse_port`, `reuse_address`, `limit`,
/// `start_serving`.
///
/// # Errors
/// The resolver's error; or the bind error with its kind (`AddrInUse`, …), its message
/// naming the address, after closing every socket already bound.
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
        hosts: Hosts::one(host.into()),
        port,
        reuse_port: false,
        reuse_address: true,
        sock: None,
        keep_alive: false,
    }
}

/// A TCP server whose connections `make`'s acceptor takes (a protocol server), with
/// `start_server`'s options and defaults.
pub(crate) fn server_with<'a>(
    make: MakeAcceptor,
    host: impl Into<Option<&'a str>>,
    port: u16,
) -> StartServer {
    StartServer {
        common: Common::serving(Served::Other(make)),
        hosts: Hosts::one(host.into()),
        port,
        reuse_port: false,
        reuse_address: true,
        sock: None,
        keep_alive: false,
    }
}

/// The future of [`start_server`], with its options. Await it (it is `IntoFuture`).
#[must_use = "the server starts only when this is awaited"]
pub struct StartServer {
    common: Common,
    hosts: Hosts,
    port: u16,
    reuse_port: bool,
    reuse_address: bool,
    /// An already-bound listener to serve instead of binding (`sock=`).
    sock: Option<std::net::TcpListener>,
    keep_alive: bool,
}

impl StartServer {
    /// Listens on every address of each of `hosts` instead of `host` (asyncio's `host` as a
    /// sequence of strings). Each host is a name or a literal address, resolved as `host` is;
    /// names are resolved concurrently. An address that several hosts resolve to is bound
    /// once, and [`Server::sockets`] lists every socket, in the order of the hosts.
    ///
    /// As in asyncio, if one address fails to bind, the sockets already bound are closed and
    /// the error names that address; an empty list binds nothing and gives a server with no
    /// sockets; and `""` in the list is a name like any other (which fails to resolve), not
    /// "all interfaces" as `host` `""` is. With `port` 0 each socket gets its own port.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let server = asyncio::start_server(|_r, _w| async {}, None, 0)
    ///     .hosts(["127.0.0.1", "127.0.0.1"])
    ///     .await?;
    /// assert_eq!(server.sockets().len(), 1); // bound once
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn hosts(mut self, hosts: impl IntoIterator<Item = impl AsRef<str>>) -> Self {
        let hosts = hosts.into_iter().map(|h| h.as_ref().to_owned()).collect();
        self.hosts = Hosts::Each(hosts);
        self
    }

    /// Serves `listener`, a socket already bound (and perhaps listening), instead of binding
    /// (asyncio's `sock=`): one a parent process or systemd's socket activation handed
    /// over (`TcpListener::from_raw_fd(3)`), or the one a restarting server passes to its
    /// successor. `host` must be `None` and `port` 0, and `hosts` unset (asyncio's
    /// `ValueError`, here `InvalidInput` when awaited); the socket options of binding
    /// (`reuse_address`, `reuse_port`) are the listener's own. It is made non-blocking and
    /// listens with [`backlog`](Self::backlog); closing the server closes it.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let addr = listener.local_addr()?;
    /// let server = asyncio::start_server(|_r, w: asyncio::StreamWriter| async move {
    ///     w.write(b"hi\n");
    /// }, None, 0).sock(listener).await?;
    /// assert_eq!(server.sockets()[0].as_inet(), Some(addr));
    /// let (mut r, _w) = asyncio::open_connection("127.0.0.1", addr.port()).await?;
    /// assert_eq!(r.readline().await?, b"hi\n");
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn sock(mut self, listener: std::net::TcpListener) -> Self {
        self.sock = Some(listener);
        self
    }

    /// Sets `SO_KEEPALIVE` on the listening sockets, which the accepted connections inherit
    /// (asyncio 3.13's `keep_alive`): the kernel probes idle peers and drops the dead ones.
    /// Off by default.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let server = asyncio::start_server(|_r, _w| async {}, "127.0.0.1", 0).keep_alive(true).await?;
    /// # drop(server);
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn keep_alive(mut self, on: bool) -> Self {
        self.keep_alive = on;
        self
    }

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

    /// The buffer limit of each connection's reader (default 64 KiB). Awaiting the server
    /// fails with `InvalidInput` for 0 (asyncio's `ValueError`).
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

    /// How long a client's TLS handshake may take before its connection is aborted, without
    /// calling the handler (asyncio's `ssl_handshake_timeout`; default 60 s). Without
    /// [`ssl`](Self::ssl), or zero, it is refused when awaited, with `InvalidInput` (asyncio's
    /// `ValueError`), before anything is bound.
    ///
    /// # Examples
    /// ```no_run
    /// # async fn f(config: std::sync::Arc<asyncio::tls::rustls::ServerConfig>) -> std::io::Result<()> {
    /// let _server = asyncio::start_server(|_r, _w| async {}, "0.0.0.0", 443)
    ///     .ssl(config)
    ///     .ssl_handshake_timeout(std::time::Duration::from_secs(10))
    ///     .await?;
    /// # Ok(()) }
    /// # let _ = f;
    /// ```
    #[cfg(feature = "tls")]
    pub fn ssl_handshake_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.common.ssl_handshake_timeout = Some(timeout);
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
        self.common.check()?;
        let opts = BindOptions {
            backlog: self.common.backlog,
            reuse_address: self.reuse_address,
            reuse_port: self.reuse_port,
            listen: false,
        };
        let sockets = match self.sock {
            Some(listener) => {
                if !matches!(self.hosts, Hosts::All) || self.port != 0 {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        "host/port and sock can not be specified at the same time",
                    ));
                }
                listener.set_nonblocking(true)?;
                vec![listener]
            }
            None => self.hosts.bind(self.port, opts).await?,
        };
        let mut listeners = Vec::new();
        let mut bound = Vec::new();
        for listener in sockets {
            if self.keep_alive {
                socket2::SockRef::from(&listener).set_keepalive(true)?;
            }
            bound.push(StreamAddr::Inet(listener.local_addr()?));
            listeners.push(Listener::new(ListenerSock::TcpBound(listener)));
        }
        self.common.build(listeners, bound, None)
    }
}

impl IntoFuture for StartServer {
    type Output = io::Result<Server>;
    type IntoFuture = Pin<Box<dyn Future<Output = io::Result<Server>>>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Memory per connection: a connection's task holds the handler's future at most twice
    /// (the capture and the awaited value), not once more per level of wrapping.
    #[test]
    fn a_connection_task_holds_the_handler_future_at_most_twice() {
        crate::run(async {
            let erased = Erased(|r: StreamReader, w: StreamWriter| async move {
                let buf = [7u8; 1000];
                crate::sleep(0.0).await;
                std::hint::black_box((buf, r, w));
            });
            let pair = || {
                let (a, _b) = crate::net::UnixStream::pair().unwrap();
                crate::open_socket(a)
            };
            let (r, w) = pair();
            let handler_size = std::mem::size_of_val(&(erased.0)(r, w));
            assert!(handler_size >= 1000);
            let ((r, w), (_, kept)) = (pair(), pair());
            let task = erased.task(r, w, kept);
            let size = std::mem::size_of_val(&task);
            assert!(
                size <= 2 * handler_size + 64,
                "{size} bytes for a {handler_size}-byte handler"
            );
        });
    }
}
