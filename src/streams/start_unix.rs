//! `start_unix_server`: a Unix-domain stream server.

use super::accept::{Listener, ListenerSock};
use super::addr::StreamAddr;
use super::reader::StreamReader;
use super::server::Server;
use super::start::{Common, HandlerOutput, MakeAcceptor, Served, erase};
use super::writer::StreamWriter;
use crate::net::sys::{BindOptions, bind_unix};
use std::future::{Future, IntoFuture};
use std::io;
use std::path::PathBuf;
use std::pin::Pin;

/// Starts a Unix-domain server at `path` (asyncio's `start_unix_server`). A stale socket
/// file at `path` is replaced; the file is removed when the server closes (asyncio 3.13's
/// `cleanup_socket`), unless it was replaced meanwhile.
///
/// # Errors
/// The bind error (`AddrInUse` if `path` exists and is not a socket, `NotFound` for a
/// missing directory, …).
///
/// # Cancel safety
/// Dropping the future before it completes closes what it bound.
///
/// # Examples
/// See [`open_unix_connection`](crate::open_unix_connection).
pub fn start_unix_server<H, F>(handler: H, path: impl Into<PathBuf>) -> StartUnixServer
where
    H: Fn(StreamReader, StreamWriter) -> F + 'static,
    F: Future + 'static,
    F::Output: HandlerOutput,
{
    StartUnixServer {
        common: Common::new(erase(handler)),
        path: path.into(),
        sock: None,
    }
}

/// A Unix server whose connections `make`'s acceptor takes (a protocol server), with
/// `start_unix_server`'s options and defaults.
pub(crate) fn unix_server_with(make: MakeAcceptor, path: impl Into<PathBuf>) -> StartUnixServer {
    StartUnixServer {
        common: Common::serving(Served::Other(make)),
        path: path.into(),
        sock: None,
    }
}

/// The future of [`start_unix_server`], with its options. Await it.
#[must_use = "the server starts only when this is awaited"]
pub struct StartUnixServer {
    common: Common,
    path: PathBuf,
    /// An already-bound listener to serve instead of binding (`sock=`).
    sock: Option<std::os::unix::net::UnixListener>,
}

impl StartUnixServer {
    /// Serves `listener`, a Unix socket already bound (and perhaps listening), instead of
    /// binding `path` (asyncio's `sock=`): one that systemd's socket activation or a parent
    /// process handed over. `path` must then be empty (`""`; asyncio's `ValueError`, here
    /// `InvalidInput` when awaited). The socket file is the binder's: closing the server
    /// closes the socket and leaves the file, where asyncio 3.13 would remove it.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let path = std::env::temp_dir().join(format!("asyncio-sock-{}.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let listener = std::os::unix::net::UnixListener::bind(&path)?;
    /// let server = asyncio::start_unix_server(|_r, w: asyncio::StreamWriter| async move {
    ///     w.write(b"hi\n");
    /// }, "").sock(listener).await?;
    /// let (mut r, _w) = asyncio::open_unix_connection(&path).await?;
    /// assert_eq!(r.readline().await?, b"hi\n");
    /// server.close();
    /// assert!(path.exists());
    /// # std::fs::remove_file(&path)?;
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn sock(mut self, listener: std::os::unix::net::UnixListener) -> Self {
        self.sock = Some(listener);
        self
    }

    /// The listen backlog (default 100).
    ///
    /// # Examples
    /// ```
    /// let start = asyncio::start_unix_server(|_r, _w| async {}, "/tmp/x.sock").backlog(10);
    /// # drop(start);
    /// ```
    pub fn backlog(mut self, backlog: i32) -> Self {
        self.common.backlog = backlog;
        self
    }

    /// The buffer limit of each connection's reader (default 64 KiB). Awaiting the server
    /// fails with `InvalidInput` for 0 (asyncio's `ValueError`).
    ///
    /// # Examples
    /// ```
    /// let start = asyncio::start_unix_server(|_r, _w| async {}, "/tmp/x.sock").limit(1024);
    /// # drop(start);
    /// ```
    pub fn limit(mut self, limit: usize) -> Self {
        self.common.limit = limit;
        self
    }

    /// Serves TLS over the Unix socket (asyncio's `ssl=`).
    ///
    /// # Examples
    /// ```no_run
    /// # async fn f(config: std::sync::Arc<asyncio::tls::rustls::ServerConfig>) -> std::io::Result<()> {
    /// let _server = asyncio::start_unix_server(|_r, _w| async {}, "/tmp/tls.sock").ssl(config).await?;
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
    /// let open = asyncio::start_unix_server(|_r, _w| async {}, "/tmp/x.sock").ssl_shutdown_timeout(std::time::Duration::from_secs(5));
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
    /// let _server = asyncio::start_unix_server(|_r, _w| async {}, "/tmp/tls.sock")
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

    /// Whether to accept at once (default true).
    ///
    /// # Examples
    /// ```
    /// let start = asyncio::start_unix_server(|_r, _w| async {}, "/tmp/x.sock").start_serving(false);
    /// # drop(start);
    /// ```
    pub fn start_serving(mut self, on: bool) -> Self {
        self.common.start_serving = on;
        self
    }

    async fn run(self) -> io::Result<Server> {
        use std::os::unix::fs::{FileTypeExt, MetadataExt};
        self.common.check()?;
        if let Some(listener) = self.sock {
            if !self.path.as_os_str().is_empty() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "path and sock can not be specified at the same time",
                ));
            }
            listener.set_nonblocking(true)?;
            let addr = StreamAddr::from_unix(&listener.local_addr()?);
            let listener = Listener::new(ListenerSock::UnixBound(listener));
            return self.common.build(vec![listener], vec![addr], None);
        }
        if std::fs::symlink_metadata(&self.path).is_ok_and(|m| m.file_type().is_socket()) {
            let _ = std::fs::remove_file(&self.path);
        }
        let opts = BindOptions {
            backlog: self.common.backlog,
            listen: false,
            ..BindOptions::default()
        };
        let listener = bind_unix(&self.path, opts)?;
        let ino = std::fs::metadata(&self.path)?.ino();
        let addr = StreamAddr::Unix(Some(self.path.clone()));
        self.common.build(
            vec![Listener::new(ListenerSock::UnixBound(listener))],
            vec![addr],
            Some((self.path, ino)),
        )
    }
}

impl IntoFuture for StartUnixServer {
    type Output = io::Result<Server>;
    type IntoFuture = Pin<Box<dyn Future<Output = io::Result<Server>>>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}
