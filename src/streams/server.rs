//! `Server`: listening sockets, their accept loops, and the connections they made
//! (asyncio's `Server`).
//!
//! # Ownership
//! The `ServerState` is shared by the `Server` handles and, weakly, by the accept loops and
//! the connections (so nothing here forms a cycle). Each connection made by the server holds
//! a [`ServerLink`] and detaches itself when it is lost; `wait_closed` is ready once the
//! server is closed and no connection is left (asyncio 3.12+).

use super::accept::Listener;
use super::addr::StreamAddr;
use super::conn::Conn;
use crate::task::Task;
use crate::util::slab::{Key, Slab};
use std::cell::{Cell, RefCell};
use std::future::poll_fn;
use std::io;
use std::path::PathBuf;
use std::rc::{Rc, Weak};
use std::task::{Poll, Waker};

/// Starts the accept loop of one listener of a server.
pub(crate) type StartAccepting = Box<dyn Fn(&Rc<ServerState>, Rc<Listener>) -> Task<()>>;

pub(crate) struct ServerState {
    pub(crate) listeners: Vec<Rc<Listener>>,
    pub(crate) addrs: Vec<StreamAddr>,
    pub(crate) accept_tasks: RefCell<Vec<Task<()>>>,
    /// Starts an accept loop for one listener.
    pub(crate) start_accepting: StartAccepting,
    pub(crate) backlog: i32,
    pub(crate) serving: Cell<bool>,
    pub(crate) closed: Cell<bool>,
    pub(crate) serving_forever: Cell<bool>,
    pub(crate) clients: RefCell<Slab<Weak<Conn>>>,
    pub(crate) waiters: RefCell<Vec<Waker>>,
    /// The Unix socket file to remove on close, with its inode at bind time (asyncio 3.13's
    /// `cleanup_socket`: a file replaced since is left alone).
    pub(crate) unix_path: Option<(PathBuf, u64)>,
}

/// A connection's membership in its server.
pub(crate) struct ServerLink {
    server: Weak<ServerState>,
    key: Key,
}

impl ServerLink {
    pub(crate) fn detach(self) {
        if let Some(server) = self.server.upgrade() {
            let removed = server.clients.borrow_mut().remove(self.key);
            drop(removed);
            server.wake_if_done();
        }
    }
}

impl ServerState {
    pub(crate) fn attach(self: &Rc<Self>, conn: &Rc<Conn>) {
        let key = self.clients.borrow_mut().insert(Rc::downgrade(conn));
        conn.attach(ServerLink {
            server: Rc::downgrade(self),
            key,
        });
    }

    /// Closed, and every connection it made is gone.
    fn is_done(&self) -> bool {
        self.closed.get() && self.clients.borrow().is_empty()
    }

    fn wake_if_done(&self) {
        if self.is_done() {
            let waiters = std::mem::take(&mut *self.waiters.borrow_mut());
            waiters.into_iter().for_each(Waker::wake);
        }
    }

    pub(crate) fn start_serving(self: &Rc<Self>) -> io::Result<()> {
        if self.serving.get() || self.closed.get() {
            return Ok(());
        }
        self.serving.set(true);
        let mut tasks = Vec::new();
        for listener in &self.listeners {
            listener.listen(self.backlog)?;
            tasks.push((self.start_accepting)(self, listener.clone()));
        }
        self.accept_tasks.borrow_mut().extend(tasks);
        Ok(())
    }

    pub(crate) fn close(&self) {
        if self.closed.replace(true) {
            return;
        }
        self.serving.set(false);
        for listener in &self.listeners {
            listener.close();
        }
        for task in self.accept_tasks.borrow_mut().drain(..) {
            task.cancel();
        }
        if let Some((path, ino)) = &self.unix_path {
            use std::os::unix::fs::MetadataExt;
            if std::fs::metadata(path).is_ok_and(|m| m.ino() == *ino) {
                let _ = std::fs::remove_file(path);
            }
        }
        // Wake serve_forever and, if no connection is left, wait_closed.
        let waiters = std::mem::take(&mut *self.waiters.borrow_mut());
        waiters.into_iter().for_each(Waker::wake);
        self.wake_if_done();
    }

    fn clients(&self) -> Vec<Rc<Conn>> {
        self.clients
            .borrow()
            .iter()
            .filter_map(|(_, w)| w.upgrade())
            .collect()
    }

    fn wait(&self, cx: &mut std::task::Context<'_>) {
        let mut waiters = self.waiters.borrow_mut();
        if !waiters.iter().any(|w| w.will_wake(cx.waker())) {
            waiters.push(cx.waker().clone());
        }
    }
}

/// A listening server (asyncio's `Server`), made by [`start_server`](crate::start_server) or
/// [`start_unix_server`](crate::start_unix_server). A cheap `Clone` handle; dropping the last
/// one closes the listening sockets (as leaving `async with server:`), but not the
/// connections already made.
///
/// # Examples
/// ```
/// # asyncio::run(async {
/// let server = asyncio::start_server(|_r, w: asyncio::StreamWriter| async move {
///     w.write(b"bye\n");
/// }, "127.0.0.1", 0).await?;
/// assert!(server.is_serving());
/// let port = server.sockets()[0].as_inet().unwrap().port();
/// let (mut r, _w) = asyncio::open_connection("127.0.0.1", port).await?;
/// assert_eq!(r.readline().await.unwrap(), b"bye\n");
/// server.close();
/// server.wait_closed().await;
/// assert!(!server.is_serving());
/// # std::io::Result::Ok(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct Server {
    inner: Rc<Handle>,
}

struct Handle {
    state: Rc<ServerState>,
}

impl Drop for Handle {
    fn drop(&mut self) {
        if !self.state.closed.get() {
            crate::runtime::debug::warn_unclosed(|| {
                format!("<Server sockets={:?}>", self.state.addrs)
            });
        }
        self.state.close();
    }
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("sockets", &self.sockets())
            .field("serving", &self.is_serving())
            .finish()
    }
}

impl Server {
    pub(crate) fn new(state: Rc<ServerState>) -> Server {
        Server {
            inner: Rc::new(Handle { state }),
        }
    }

    fn state(&self) -> &Rc<ServerState> {
        &self.inner.state
    }

    /// The addresses of the listening sockets (asyncio's `[s.getsockname() for s in
    /// server.sockets]`); empty once closed. `Display` prints them as Python does.
    ///
    /// # Examples
    /// See [`Server`].
    pub fn sockets(&self) -> Vec<StreamAddr> {
        if self.state().closed.get() {
            Vec::new()
        } else {
            self.state().addrs.clone()
        }
    }

    /// The listening sockets' file descriptors, in the order of
    /// [`sockets`](Self::sockets) (asyncio's `[s.fileno() for s in server.sockets]`): for the
    /// socket options a server wants read or set (`socket2::SockRef::from(&BorrowedFd)`),
    /// or to hand the listener to another process. Empty once closed. The server owns them:
    /// borrow, do not close; to pass one on, `dup` it.
    ///
    /// # Examples
    /// ```
    /// use std::os::fd::BorrowedFd;
    /// # asyncio::run(async {
    /// let server = asyncio::start_server(|_r, _w| async {}, "127.0.0.1", 0).keep_alive(true).await?;
    /// let fd = server.socket_fds()[0];
    /// // SAFETY: the server is open, so its socket is.
    /// let sock = unsafe { BorrowedFd::borrow_raw(fd) };
    /// assert!(socket2::SockRef::from(&sock).keepalive()?);
    /// server.close();
    /// assert!(server.socket_fds().is_empty());
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn socket_fds(&self) -> Vec<std::os::fd::RawFd> {
        if self.state().closed.get() {
            return Vec::new();
        }
        let listeners = &self.state().listeners;
        listeners.iter().filter_map(|l| l.raw_fd()).collect()
    }

    /// Whether the server accepts connections.
    ///
    /// # Examples
    /// See [`Server`].
    pub fn is_serving(&self) -> bool {
        self.state().serving.get()
    }

    /// Starts accepting connections, for a server made with `.start_serving(false)`; does
    /// nothing if it already serves or is closed.
    ///
    /// # Errors
    /// If a socket cannot listen.
    ///
    /// # Cancel safety
    /// Cancel safe: serving starts at the first poll.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let server = asyncio::start_server(|_r, _w| async {}, "127.0.0.1", 0)
    ///     .start_serving(false)
    ///     .await?;
    /// assert!(!server.is_serving());
    /// server.start_serving().await?;
    /// assert!(server.is_serving());
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub async fn start_serving(&self) -> io::Result<()> {
        self.state().start_serving()?;
        crate::sleep(0).await;
        Ok(())
    }

    /// Serves until the server is closed (asyncio's `serve_forever`). If this future is
    /// dropped (its task cancelled), the server is closed, as in asyncio.
    ///
    /// # Errors
    /// If the server is closed already, or another `serve_forever` runs (asyncio's
    /// `RuntimeError`); if a socket cannot listen.
    ///
    /// # Cancel safety
    /// Dropping it closes the server.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let server = asyncio::start_server(|_r, _w| async {}, "127.0.0.1", 0).await?;
    /// let closer = server.clone();
    /// asyncio::get_running_loop().call_later(0.01, move || closer.close());
    /// server.serve_forever().await?; // returns once closed
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub async fn serve_forever(&self) -> io::Result<()> {
        let state = self.state().clone();
        if state.serving_forever.get() {
            return Err(io::Error::other(
                "server is already being awaited on serve_forever()",
            ));
        }
        if state.closed.get() {
            return Err(io::Error::other("server is closed"));
        }
        state.start_serving()?;
        state.serving_forever.set(true);
        struct Guard(Rc<ServerState>);
        impl Drop for Guard {
            fn drop(&mut self) {
                self.0.serving_forever.set(false);
                self.0.close();
            }
        }
        let guard = Guard(state);
        poll_fn(|cx| {
            if guard.0.closed.get() {
                Poll::Ready(())
            } else {
                guard.0.wait(cx);
                Poll::Pending
            }
        })
        .await;
        Ok(())
    }

    /// Stops listening: the listening sockets are closed now; connections already made go on
    /// (asyncio's `close`).
    ///
    /// # Examples
    /// See [`Server`].
    pub fn close(&self) {
        self.state().close();
    }

    /// Waits until the server is closed and every connection it made is closed (asyncio
    /// 3.12+'s `wait_closed`).
    ///
    /// # Cancel safety
    /// Cancel safe.
    ///
    /// # Examples
    /// See [`Server`].
    pub async fn wait_closed(&self) {
        let state = self.state();
        poll_fn(|cx| {
            if state.is_done() {
                Poll::Ready(())
            } else {
                state.wait(cx);
                Poll::Pending
            }
        })
        .await
    }

    /// Closes every connection the server made, after each sends what it has buffered
    /// (asyncio's `close_clients`).
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let server = asyncio::start_server(|r, w| async move {
    ///     let _conn = (r, w); // a handler's streams live as long as it runs
    ///     asyncio::sleep(3600).await
    /// }, "127.0.0.1", 0).await?;
    /// let port = server.sockets()[0].as_inet().unwrap().port();
    /// let (mut r, _w) = asyncio::open_connection("127.0.0.1", port).await?;
    /// asyncio::sleep(0.01).await;
    /// server.close();
    /// server.close_clients();
    /// server.wait_closed().await;
    /// assert_eq!(r.read(10).await?, b"");
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn close_clients(&self) {
        for conn in self.state().clients() {
            conn.close();
        }
    }

    /// Closes every connection the server made at once, dropping buffered data; peers see a
    /// reset (asyncio's `abort_clients`).
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let server = asyncio::start_server(|r, w| async move {
    ///     let _conn = (r, w); // a handler's streams live as long as it runs
    ///     asyncio::sleep(3600).await
    /// }, "127.0.0.1", 0).await?;
    /// let port = server.sockets()[0].as_inet().unwrap().port();
    /// let (mut r, _w) = asyncio::open_connection("127.0.0.1", port).await?;
    /// asyncio::sleep(0.01).await;
    /// server.abort_clients();
    /// assert_eq!(r.read(10).await.unwrap_err().kind(), std::io::ErrorKind::ConnectionReset);
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn abort_clients(&self) {
        for conn in self.state().clients() {
            conn.abort();
        }
    }
}
