//! The subprocess protocol form (asyncio's `loop.subprocess_exec` / `loop.subprocess_shell`
//! with a `SubprocessProtocol` and a `SubprocessTransport`), on [`Command`] and [`Process`].
//!
//! # Order of the callbacks
//! As asyncio's `base_subprocess`: `connection_made` first; `pipe_data_received(fd, data)` as
//! the child writes (fd 1, 2); `pipe_connection_lost(fd, exc)` once per pipe as it closes;
//! `process_exited` once the child is reaped (before or after the pipes close, as it
//! happens); `connection_lost(None)` last, once the child exited and every pipe is closed.
//! Each pipe is read by a task of its own and the child waited for by another; callbacks run
//! one at a time, never inside one another.

use super::{Command, PIPE, Process};
use crate::runtime::LoopHandle;
use crate::{StreamReader, StreamWriter};
use std::cell::{Cell, RefCell};
use std::ffi::OsStr;
use std::future::{Future, IntoFuture};
use std::io;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::rc::Rc;

/// The callbacks of a child process (asyncio's `SubprocessProtocol`), for
/// [`LoopHandle::subprocess_exec`] and [`LoopHandle::subprocess_shell`]. See the module's
/// order of the callbacks; a callback that panics is logged and the others go on.
///
/// # Examples
/// ```
/// use asyncio::subprocess::SubprocessProtocol;
/// struct Collect { out: Vec<u8>, done: asyncio::Event }
/// impl SubprocessProtocol for Collect {
///     fn pipe_data_received(&mut self, fd: i32, data: &[u8]) {
///         if fd == 1 { self.out.extend_from_slice(data); }
///     }
///     fn connection_lost(&mut self, _exc: Option<std::io::Error>) { self.done.set(); }
/// }
/// # asyncio::run(async {
/// let done = asyncio::Event::new();
/// let proto = Collect { out: Vec::new(), done: done.clone() };
/// let lp = asyncio::get_running_loop();
/// let (t, p) = lp.subprocess_exec(move || proto, "echo", ["hi"]).await?;
/// done.wait().await;
/// assert_eq!(p.borrow().out, b"hi\n");
/// assert_eq!(t.get_returncode(), Some(0));
/// # std::io::Result::Ok(())
/// # }).unwrap();
/// ```
pub trait SubprocessProtocol {
    /// The child is started; `transport` signals it and writes its stdin. Called first.
    fn connection_made(&mut self, transport: SubprocessTransport) {
        let _ = transport;
    }

    /// The child wrote `data` to its stdout (`fd` 1) or stderr (2).
    fn pipe_data_received(&mut self, fd: i32, data: &[u8]) {
        let _ = (fd, data);
    }

    /// One of the child's pipes closed (0: stdin, 1: stdout, 2: stderr); `exc` if by an error.
    fn pipe_connection_lost(&mut self, fd: i32, exc: Option<io::Error>) {
        let _ = (fd, exc);
    }

    /// The child exited ([`SubprocessTransport::get_returncode`] says how).
    fn process_exited(&mut self) {}

    /// The child exited and every pipe is closed. Called last, once.
    fn connection_lost(&mut self, exc: Option<io::Error>) {
        let _ = exc;
    }
}

struct Inner {
    process: RefCell<Process>,
    stdin: RefCell<Option<StreamWriter>>,
    /// Pipes not yet closed, and whether the child was reaped: `connection_lost` waits for
    /// both.
    open_pipes: Cell<usize>,
    exited: Cell<bool>,
    finished: Cell<bool>,
}

/// The handle on a child run with a [`SubprocessProtocol`] (asyncio's
/// `SubprocessTransport`); a cheap `Clone`. Dropping it leaves the child running.
///
/// # Examples
/// See [`SubprocessProtocol`].
#[derive(Clone)]
pub struct SubprocessTransport {
    inner: Rc<Inner>,
}

impl std::fmt::Debug for SubprocessTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SubprocessTransport")
            .field("pid", &self.get_pid())
            .field("returncode", &self.get_returncode())
            .finish()
    }
}

impl SubprocessTransport {
    /// The child's process id.
    ///
    /// # Examples
    /// See [`SubprocessProtocol`].
    pub fn get_pid(&self) -> u32 {
        self.inner.process.borrow().pid()
    }

    /// The child's return code once it exited (`-N` if killed by signal `N`).
    ///
    /// # Examples
    /// See [`SubprocessProtocol`].
    pub fn get_returncode(&self) -> Option<i32> {
        self.inner.process.borrow().returncode()
    }

    /// The child's stdin (asyncio's `get_pipe_transport(0)`), if it is a pipe and not yet
    /// closed: write to it, `close` it to give the child end of file. The read pipes are
    /// the protocol's (`pipe_data_received`).
    ///
    /// # Examples
    /// ```
    /// # use asyncio::subprocess::SubprocessProtocol;
    /// # struct Out(Vec<u8>, asyncio::Event);
    /// # impl SubprocessProtocol for Out {
    /// #     fn pipe_data_received(&mut self, _fd: i32, d: &[u8]) { self.0.extend_from_slice(d); }
    /// #     fn connection_lost(&mut self, _e: Option<std::io::Error>) { self.1.set(); }
    /// # }
    /// # asyncio::run(async {
    /// # let done = asyncio::Event::new();
    /// # let proto = Out(Vec::new(), done.clone());
    /// let (t, p) = asyncio::get_running_loop().subprocess_exec(move || proto, "cat", asyncio::subprocess::NO_ARGS).await?;
    /// let stdin = t.stdin().unwrap();
    /// stdin.write(b"meow");
    /// stdin.close();
    /// done.wait().await;
    /// assert_eq!(p.borrow().0, b"meow");
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn stdin(&self) -> Option<StreamWriter> {
        self.inner.stdin.borrow().clone()
    }

    /// Sends signal `sig` to the child.
    ///
    /// # Errors
    /// `ESRCH` (Python's `ProcessLookupError`) once the child was reaped.
    ///
    /// # Examples
    /// See [`kill`](Self::kill).
    pub fn send_signal(&self, sig: i32) -> io::Result<()> {
        self.inner.process.borrow().send_signal(sig)
    }

    /// Sends `SIGTERM`.
    ///
    /// # Errors
    /// As [`send_signal`](Self::send_signal).
    ///
    /// # Examples
    /// See [`kill`](Self::kill).
    pub fn terminate(&self) -> io::Result<()> {
        self.inner.process.borrow().terminate()
    }

    /// Sends `SIGKILL`.
    ///
    /// # Errors
    /// As [`send_signal`](Self::send_signal).
    ///
    /// # Examples
    /// ```
    /// # struct Quiet;
    /// # impl asyncio::subprocess::SubprocessProtocol for Quiet {}
    /// # asyncio::run(async {
    /// let (t, _p) = asyncio::get_running_loop().subprocess_shell(|| Quiet, "sleep 30").await?;
    /// t.kill()?;
    /// while t.get_returncode().is_none() { asyncio::sleep(0.01).await; }
    /// assert_eq!(t.get_returncode(), Some(-9));
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn kill(&self) -> io::Result<()> {
        self.inner.process.borrow().kill()
    }

    /// Closes the child's stdin and, if it still runs, kills it (asyncio's `close`). The
    /// callbacks still follow (the pipes' loss, `process_exited`, `connection_lost`).
    ///
    /// # Examples
    /// ```
    /// # struct Quiet;
    /// # impl asyncio::subprocess::SubprocessProtocol for Quiet {}
    /// # asyncio::run(async {
    /// let (t, _p) = asyncio::get_running_loop().subprocess_shell(|| Quiet, "sleep 30").await?;
    /// t.close();
    /// while t.get_returncode().is_none() { asyncio::sleep(0.01).await; }
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn close(&self) {
        if let Some(stdin) = self.inner.stdin.borrow().as_ref() {
            stdin.close();
        }
        if self.get_returncode().is_none() {
            let _ = self.kill();
        }
    }
}

/// Calls one callback, logging a panic (asyncio's `_call` runs it with `call_soon`, whose
/// exceptions go to the loop's handler).
fn call<P: SubprocessProtocol>(proto: &RefCell<P>, what: &str, f: impl FnOnce(&mut P)) {
    let result = catch_unwind(AssertUnwindSafe(|| f(&mut proto.borrow_mut())));
    if let Err(payload) = result {
        let panic = crate::PanicError::new(payload);
        log::error!("Exception in SubprocessProtocol.{what}: {panic}");
    }
}

/// `connection_lost(None)` once the child exited and every pipe closed.
fn try_finish<P: SubprocessProtocol>(inner: &Inner, proto: &RefCell<P>) {
    if inner.exited.get() && inner.open_pipes.get() == 0 && !inner.finished.replace(true) {
        call(proto, "connection_lost", |p| p.connection_lost(None));
    }
}

async fn read_pipe<P: SubprocessProtocol>(
    inner: Rc<Inner>,
    proto: Rc<RefCell<P>>,
    fd: i32,
    mut reader: StreamReader,
) {
    let exc = loop {
        match reader.read(64 * 1024).await {
            Ok(data) if data.is_empty() => break None,
            Ok(data) => call(&proto, "pipe_data_received", |p| {
                p.pipe_data_received(fd, &data)
            }),
            Err(e) => break Some(e),
        }
    };
    call(&proto, "pipe_connection_lost", |p| {
        p.pipe_connection_lost(fd, exc)
    });
    inner.open_pipes.set(inner.open_pipes.get() - 1);
    try_finish(&inner, &proto);
}

async fn watch_stdin<P: SubprocessProtocol>(
    inner: Rc<Inner>,
    proto: Rc<RefCell<P>>,
    stdin: StreamWriter,
) {
    let exc = stdin.wait_closed().await.err();
    inner.stdin.borrow_mut().take();
    call(&proto, "pipe_connection_lost", |p| {
        p.pipe_connection_lost(0, exc)
    });
    inner.open_pipes.set(inner.open_pipes.get() - 1);
    try_finish(&inner, &proto);
}

async fn watch_exit<P: SubprocessProtocol>(inner: Rc<Inner>, proto: Rc<RefCell<P>>) {
    let wait = {
        let process = inner.process.borrow();
        let state = process.state.clone();
        async move { state.wait().await }
    };
    wait.await;
    inner.exited.set(true);
    // The child's end of stdin is gone with it: asyncio's write pipe sees the reader go and
    // closes (what was buffered is lost, with `BrokenPipe`).
    let stdin = inner.stdin.borrow().clone();
    if let Some(stdin) = stdin {
        if stdin.get_write_buffer_size() > 0 {
            stdin.abort();
        } else {
            stdin.close();
        }
    }
    call(&proto, "process_exited", P::process_exited);
    try_finish(&inner, &proto);
}

/// Starts the child and the protocol's tasks.
fn start<P, F>(factory: F, command: Command) -> io::Result<(SubprocessTransport, Rc<RefCell<P>>)>
where
    F: FnOnce() -> P,
    P: SubprocessProtocol + 'static,
{
    let mut process = command.spawn()?;
    let (stdin, stdout, stderr) = (
        process.stdin.take(),
        process.stdout.take(),
        process.stderr.take(),
    );
    let open = usize::from(stdin.is_some())
        + usize::from(stdout.is_some())
        + usize::from(stderr.is_some());
    let inner = Rc::new(Inner {
        process: RefCell::new(process),
        stdin: RefCell::new(stdin.clone()),
        open_pipes: Cell::new(open),
        exited: Cell::new(false),
        finished: Cell::new(false),
    });
    let proto = Rc::new(RefCell::new(factory()));
    let transport = SubprocessTransport {
        inner: inner.clone(),
    };
    call(&proto, "connection_made", |p| {
        p.connection_made(transport.clone())
    });
    let spawn = |f: Pin<Box<dyn Future<Output = ()>>>| drop(crate::task::create_lazy_task(f));
    if let Some(stdin) = stdin {
        spawn(Box::pin(watch_stdin(inner.clone(), proto.clone(), stdin)));
    }
    for (fd, reader) in [(1, stdout), (2, stderr)] {
        if let Some(reader) = reader {
            spawn(Box::pin(read_pipe(
                inner.clone(),
                proto.clone(),
                fd,
                reader,
            )));
        }
    }
    spawn(Box::pin(watch_exit(inner, proto.clone())));
    Ok((transport, proto))
}

/// The future of [`LoopHandle::subprocess_exec`] and [`LoopHandle::subprocess_shell`], with
/// the child's options. Await it (it is `IntoFuture`): it starts the child and gives the
/// transport and the protocol.
///
/// # Errors
/// As [`Command::spawn`] (`NotFound` for a missing program).
///
/// # Cancel safety
/// Dropped before it is awaited, no child is started.
#[must_use = "the child starts only when this is awaited"]
pub struct SubprocessSpawn<F> {
    factory: F,
    command: Command,
}

impl<F> SubprocessSpawn<F> {
    /// Changes the [`Command`] (its stdio, working directory, environment): stdin, stdout
    /// and stderr are pipes by default, as in asyncio.
    ///
    /// # Examples
    /// ```
    /// use asyncio::subprocess::DEVNULL;
    /// # struct Quiet;
    /// # impl asyncio::subprocess::SubprocessProtocol for Quiet {}
    /// # asyncio::run(async {
    /// let lp = asyncio::get_running_loop();
    /// let (t, _p) = lp.subprocess_shell(|| Quiet, "exit 3").command(|c| c.stdin(DEVNULL)).await?;
    /// assert!(t.stdin().is_none());
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn command(mut self, f: impl FnOnce(Command) -> Command) -> Self {
        self.command = f(self.command);
        self
    }
}

impl<P, F> IntoFuture for SubprocessSpawn<F>
where
    F: FnOnce() -> P + 'static,
    P: SubprocessProtocol + 'static,
{
    type Output = io::Result<(SubprocessTransport, Rc<RefCell<P>>)>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output>>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move { start(self.factory, self.command) })
    }
}

impl LoopHandle {
    /// Runs `program` with `args` as a child whose pipes a protocol made by `factory` hears
    /// (asyncio's `loop.subprocess_exec`); stdin, stdout and stderr are pipes unless
    /// [`command`](SubprocessSpawn::command) says otherwise.
    ///
    /// # Examples
    /// See [`SubprocessProtocol`].
    pub fn subprocess_exec<P, F, I, S>(
        &self,
        factory: F,
        program: impl AsRef<OsStr>,
        args: I,
    ) -> SubprocessSpawn<F>
    where
        F: FnOnce() -> P + 'static,
        P: SubprocessProtocol + 'static,
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let command = super::create_subprocess_exec(program, args);
        SubprocessSpawn {
            factory,
            command: command.stdin(PIPE).stdout(PIPE).stderr(PIPE),
        }
    }

    /// Runs `cmd` through `/bin/sh -c` as a child whose pipes a protocol made by `factory`
    /// hears (asyncio's `loop.subprocess_shell`); otherwise as
    /// [`subprocess_exec`](Self::subprocess_exec).
    ///
    /// # Examples
    /// See [`SubprocessTransport::kill`].
    pub fn subprocess_shell<P, F>(&self, factory: F, cmd: impl AsRef<OsStr>) -> SubprocessSpawn<F>
    where
        F: FnOnce() -> P + 'static,
        P: SubprocessProtocol + 'static,
    {
        let command = super::create_subprocess_shell(cmd);
        SubprocessSpawn {
            factory,
            command: command.stdin(PIPE).stdout(PIPE).stderr(PIPE),
        }
    }
}
