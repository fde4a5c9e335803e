//! Listening sockets of a server and the loop that accepts on each.

use super::addr::StreamAddr;
use super::conn::{Conn, Sock};
use super::reader::{Source, StreamReader};
use super::server::ServerState;
use super::start::HandlerOutput;
use super::writer::StreamWriter;
use crate::net::{TcpListener, UnixListener};
use std::cell::RefCell;
use std::future::poll_fn;
use std::io;
use std::os::fd::AsFd;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::{Rc, Weak};
use std::task::{Context, Poll};
use std::time::Duration;

/// How long accepting pauses after running out of fds or memory (asyncio's
/// `ACCEPT_RETRY_DELAY`): at the limit the listener stays readable, and retrying at once
/// would spin the CPU.
const ACCEPT_RETRY_DELAY: Duration = Duration::from_secs(1);

/// A client-connected callback, type-erased: what a server does with each connection it
/// accepts.
pub(crate) trait Serve {
    /// Calls the handler and starts the connection's task, which holds `kept` (a handle on
    /// the connection) until the handler's future is done.
    fn spawn(&self, r: StreamReader, w: StreamWriter, kept: StreamWriter);

    /// The handler's future, boxed, for a layer that runs something before it (TLS).
    #[cfg(feature = "tls")]
    fn boxed(
        &self,
        r: StreamReader,
        w: StreamWriter,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()>>>;
}

pub(crate) type Handler = Rc<dyn Serve>;

/// What a server does with each connection it accepts: a stream handler's task
/// ([`StreamsAccept`]), or a protocol's (in `transports`).
pub(crate) trait Accept {
    /// Takes over `conn`, which the server already counts as its own.
    fn accept(&self, conn: Rc<Conn>);
}

/// A stream handler as a server's [`Accept`]: a reader and a writer over each connection.
pub(crate) struct StreamsAccept {
    pub(crate) handler: Handler,
    /// The buffer limit of each connection's reader.
    pub(crate) limit: usize,
}

impl Accept for StreamsAccept {
    fn accept(&self, conn: Rc<Conn>) {
        serve(&*self.handler, conn, self.limit);
    }
}

/// A connection's task: `served`, its outcome reported, then `kept` dropped (why: see
/// [`accept_loop`]).
///
/// Every server's connection task is this one future around the handler's, with no async
/// block between: a future that an async block (or `async fn`) captures and awaits is stored
/// twice in it (as the capture and as the awaited value), so each level of wrapping would
/// add the handler's future again to every connection's task.
pub(crate) async fn connection_task<F>(served: F, kept: StreamWriter)
where
    F: std::future::Future,
    F::Output: HandlerOutput,
{
    served.await.report();
    drop(kept);
}

pub(crate) enum ListenerSock {
    /// Bound, not yet listening, not registered: a socket that does not listen reports a
    /// hang-up to the poller, which must not be taken for a closed listener.
    TcpBound(std::net::TcpListener),
    UnixBound(std::os::unix::net::UnixListener),
    Tcp(TcpListener),
    Unix(UnixListener),
}

/// A server's listening socket; `None` once the server closed it.
pub(crate) struct Listener {
    sock: RefCell<Option<ListenerSock>>,
}

impl Listener {
    pub(crate) fn new(sock: ListenerSock) -> Rc<Listener> {
        Rc::new(Listener {
            sock: RefCell::new(Some(sock)),
        })
    }

    /// Starts listening and registers the socket with the loop.
    pub(crate) fn listen(&self, backlog: i32) -> io::Result<()> {
        let mut sock = self.sock.borrow_mut();
        let listening = match sock.take() {
            Some(ListenerSock::TcpBound(l)) => {
                crate::net::sys::listen(&l.as_fd(), backlog)?;
                ListenerSock::Tcp(TcpListener::from_std(l)?)
            }
            Some(ListenerSock::UnixBound(l)) => {
                crate::net::sys::listen(&l.as_fd(), backlog)?;
                ListenerSock::Unix(UnixListener::from_std(l)?)
            }
            Some(other) => other,
            None => return Ok(()),
        };
        *sock = Some(listening);
        Ok(())
    }

    /// The socket's fd; `None` once closed.
    pub(crate) fn raw_fd(&self) -> Option<std::os::fd::RawFd> {
        use std::os::fd::AsRawFd;
        Some(match self.sock.borrow().as_ref()? {
            ListenerSock::TcpBound(l) => l.as_raw_fd(),
            ListenerSock::UnixBound(l) => l.as_raw_fd(),
            ListenerSock::Tcp(l) => l.as_raw_fd(),
            ListenerSock::Unix(l) => l.as_raw_fd(),
        })
    }

    pub(crate) fn close(&self) {
        let sock = self.sock.borrow_mut().take();
        drop(sock);
    }

    /// `None` once closed.
    /// The next connection and its peer's address, which `accept` gives (so the connection
    /// need not ask for it).
    fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<Option<io::Result<(Sock, StreamAddr)>>> {
        let sock = self.sock.borrow();
        let result = match sock.as_ref() {
            None => return Poll::Ready(None),
            Some(ListenerSock::Tcp(l)) => std::task::ready!(l.poll_accept(cx))
                .map(|(s, peer)| (Sock::Tcp(s), StreamAddr::Inet(peer))),
            Some(ListenerSock::Unix(l)) => std::task::ready!(l.poll_accept(cx))
                .map(|(s, peer)| (Sock::Unix(s), StreamAddr::from_unix(&peer))),
            Some(ListenerSock::TcpBound(_) | ListenerSock::UnixBound(_)) => {
                unreachable!("accepting starts after listen")
            }
        };
        Poll::Ready(Some(result))
    }
}

/// What an accept error means for the loop (asyncio's `_accept_connection`).
fn is_resource_limit(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    )
}

fn is_transient(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::Interrupted
        || e.kind() == io::ErrorKind::ConnectionAborted
        || matches!(e.raw_os_error(), Some(libc::EPROTO | libc::EPERM))
}

/// Starts the handler's task for one accepted connection.
///
/// The handler is user code called here, inside the accept loop: a panic in it (before it
/// returns its future) must cost that connection only, as an exception in asyncio's
/// `client_connected_cb` does. The connection is closed, the panic logged, and accepting goes
/// on.
fn serve(handler: &dyn Serve, conn: Rc<Conn>, limit: usize) {
    let guard = conn.clone();
    let started = guarded(|| {
        let reader = StreamReader::from_source(Source::Conn(conn.clone()), limit);
        let writer = StreamWriter::new(conn);
        // As asyncio's protocol holds the writer until the connection is lost, the
        // connection stays open until the handler returns, even if the handler drops
        // (or never uses) its writer: its reader still gets the client's bytes.
        let kept = writer.clone();
        handler.spawn(reader, writer, kept);
    });
    if started.is_none() {
        guard.close();
    }
}

/// Calls the user's handler (`make` calls it and gives what it returned), catching a panic:
/// `None` after logging it as asyncio logs an exception raised by `client_connected_cb`.
pub(crate) fn guarded<T>(make: impl FnOnce() -> T) -> Option<T> {
    match catch_unwind(AssertUnwindSafe(make)) {
        Ok(made) => Some(made),
        Err(panic) => {
            let panic = crate::PanicError::new(panic);
            crate::runtime::exception_handler::report_panic(
                "Unhandled exception in client_connected_cb",
                panic,
            );
            None
        }
    }
}

/// Accepts connections until the listener closes, starting `handler` as a task for each.
pub(crate) async fn accept_loop(
    server: Weak<ServerState>,
    listener: Rc<Listener>,
    acceptor: Rc<dyn Accept>,
    backlog: usize,
) {
    let mut streak = 0;
    loop {
        match poll_fn(|cx| listener.poll_accept(cx)).await {
            None => return,
            Some(Ok((sock, peer))) => {
                let conn = Conn::accepted(sock, peer);
                match server.upgrade() {
                    Some(server) => server.attach(&conn),
                    None => return,
                }
                acceptor.accept(conn);
                // A burst of connections must not starve the tasks serving them: as asyncio
                // accepts at most `backlog` per readiness event, yield a turn after as many.
                streak += 1;
                if streak >= backlog {
                    streak = 0;
                    crate::sleep(0).await;
                }
            }
            Some(Err(e)) if is_transient(&e) => {}
            Some(Err(e)) => {
                use crate::runtime::exception_handler::{ExceptionContext, report};
                let (message, line) = if is_resource_limit(&e) {
                    let line = format!(
                        "socket.accept() out of system resource ({e}); \
                         pausing accept for {}s",
                        ACCEPT_RETRY_DELAY.as_secs_f64()
                    );
                    ("socket.accept() out of system resource", line)
                } else {
                    (
                        "socket.accept() failed",
                        format!("socket.accept() failed: {e}"),
                    )
                };
                report(
                    ExceptionContext::new(message)
                        .with_exception(e)
                        .logged_as(line),
                );
                streak = 0;
                crate::sleep(ACCEPT_RETRY_DELAY).await;
            }
        }
    }
}
