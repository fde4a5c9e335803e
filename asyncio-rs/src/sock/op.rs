//! One `sock_*` call waiting for its socket: the reactor calls it while the fd is ready; it
//! retries the socket call and completes the future, as asyncio's `_sock_recv` & co. do.
//!
//! The call is the fd's reader (or writer) on the loop's one registration per fd
//! (`Local::set_watch`, shared with `add_reader` / `add_writer`), so a `sock_recv` and a
//! `sock_sendall` or an `add_writer` wait on one socket at once. A later reader of the same
//! fd replaces it, as in asyncio: the replaced call's future then stays pending until
//! cancelled, and its end no longer removes the watch.

use super::sys::{self, Method};
use crate::loop_core::{CoreLoop, Local, Watcher};
use crate::thread_bound::ThreadBound;
use pyo3::exceptions::{
    PyBlockingIOError, PyInterruptedError, PyKeyboardInterrupt, PyOSError, PyRuntimeError,
    PySystemExit,
};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PySlice};
use std::cell::{Cell, RefCell};
use std::os::fd::RawFd;
use std::rc::{Rc, Weak};

/// Which socket call, with its arguments as the caller gave them (the socket's own method
/// checks them and raises CPython's errors).
pub(crate) enum Kind {
    Recv {
        n: Py<PyAny>,
    },
    RecvInto {
        buf: Py<PyAny>,
    },
    RecvFrom {
        bufsize: Py<PyAny>,
    },
    RecvFromInto {
        buf: Py<PyAny>,
        nbytes: Py<PyAny>,
    },
    /// `view`: a memoryview of the data; `pos`: how much of it was sent.
    SendAll {
        view: Py<PyAny>,
        pos: Cell<usize>,
    },
    SendTo {
        data: Py<PyAny>,
        address: Py<PyAny>,
    },
    /// Waiting for a non-blocking `connect` to finish.
    Connect {
        address: Py<PyAny>,
    },
    Accept,
}

impl Kind {
    /// The socket method this module may do itself (`sys`), if any.
    pub(crate) fn native(&self) -> Option<Method> {
        match self {
            Kind::Recv { .. } => Some(Method::Recv),
            Kind::RecvInto { .. } => Some(Method::RecvInto),
            Kind::SendAll { .. } => Some(Method::Send),
            _ => None,
        }
    }

    fn writes(&self) -> bool {
        matches!(
            self,
            Kind::SendAll { .. } | Kind::SendTo { .. } | Kind::Connect { .. }
        )
    }
}

/// `Some(result)`, or `None` when the socket said `EAGAIN` / `EINTR` (asyncio's "try again
/// next time").
pub(crate) fn unless_blocked<'py>(
    py: Python<'py>,
    called: PyResult<Bound<'py, PyAny>>,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    match called {
        Ok(value) => Ok(Some(value)),
        Err(e)
            if e.is_instance_of::<PyBlockingIOError>(py)
                || e.is_instance_of::<PyInterruptedError>(py) =>
        {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// What a call done here (`sys`) gave: `Err(None)` when the Python method must do it.
fn native<'py>(
    done: Result<Option<Bound<'py, PyAny>>, Option<PyErr>>,
) -> Option<PyResult<Option<Bound<'py, PyAny>>>> {
    match done {
        Ok(value) => Some(Ok(value)),
        Err(Some(e)) => Some(Err(e)),
        Err(None) => None,
    }
}

/// One try of the call: `Some(result)` when it is done, `None` to wait for the next
/// readiness. `plain`: the fd, when the socket is one `sys` may call directly.
pub(crate) fn attempt<'py>(
    sock: &Bound<'py, PyAny>,
    kind: &Kind,
    plain: Option<RawFd>,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    let py = sock.py();
    if let Some(fd) = plain {
        let done = match kind {
            Kind::Recv { n } => native(sys::recv(py, fd, n.bind(py))),
            Kind::RecvInto { buf } => native(sys::recv_into(py, fd, buf.bind(py))),
            _ => None,
        };
        if let Some(done) = done {
            return done;
        }
    }
    let called = match kind {
        Kind::Recv { n } => sock.call_method1(intern!(py, "recv"), (n,)),
        Kind::RecvInto { buf } => sock.call_method1(intern!(py, "recv_into"), (buf,)),
        Kind::RecvFrom { bufsize } => sock.call_method1(intern!(py, "recvfrom"), (bufsize,)),
        Kind::RecvFromInto { buf, nbytes } => {
            sock.call_method1(intern!(py, "recvfrom_into"), (buf, nbytes))
        }
        Kind::SendAll { view, pos } => return send_rest(sock, view.bind(py), pos, plain),
        Kind::SendTo { data, address } => {
            sock.call_method1(intern!(py, "sendto"), (data, 0, address))
        }
        Kind::Connect { address } => return connected(sock, address.bind(py)),
        Kind::Accept => return accept(sock),
    };
    unless_blocked(py, called)
}

/// `sock.send(view[pos:])`; done (with `None`) once all of it is sent.
fn send_rest<'py>(
    sock: &Bound<'py, PyAny>,
    view: &Bound<'py, PyAny>,
    pos: &Cell<usize>,
    plain: Option<RawFd>,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    let py = sock.py();
    let start = pos.get();
    let sent = match plain.map(|fd| sys::send(py, fd, view, start)) {
        Some(Ok(sent)) => sent,
        Some(Err(Some(e))) => return Err(e),
        _ => {
            let rest = view.get_item(PySlice::new(py, start as isize, isize::MAX, 1))?;
            let sent = unless_blocked(py, sock.call_method1(intern!(py, "send"), (rest,)))?;
            sent.map(|n| n.extract::<usize>()).transpose()?
        }
    };
    let Some(sent) = sent else {
        return Ok(None);
    };
    let start = start + sent;
    if start == view.len()? {
        return Ok(Some(py.None().into_bound(py)));
    }
    pos.set(start);
    Ok(None)
}

/// asyncio's `_sock_connect_cb`: the connection's outcome, from `SO_ERROR`.
fn connected<'py>(
    sock: &Bound<'py, PyAny>,
    address: &Bound<'py, PyAny>,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    let py = sock.py();
    let got = sock.call_method1(
        intern!(py, "getsockopt"),
        (libc::SOL_SOCKET, libc::SO_ERROR),
    );
    let Some(err) = unless_blocked(py, got)? else {
        return Ok(None);
    };
    let err: i32 = err.extract()?;
    if err != 0 {
        // OSError(errno, ...) is made as its errno's subclass (ConnectionRefusedError...).
        let message = format!("Connect call failed {}", address.str()?);
        return Err(PyOSError::new_err((err, message)));
    }
    Ok(Some(py.None().into_bound(py)))
}

/// asyncio's `_sock_accept`: `(conn, address)`, the connection made non-blocking.
pub(crate) fn accept<'py>(sock: &Bound<'py, PyAny>) -> PyResult<Option<Bound<'py, PyAny>>> {
    let py = sock.py();
    let Some(pair) = unless_blocked(py, sock.call_method0(intern!(py, "accept")))? else {
        return Ok(None);
    };
    pair.get_item(0)?
        .call_method1(intern!(py, "setblocking"), (false,))?;
    Ok(Some(pair))
}

/// What must stop the loop rather than fail the call: `KeyboardInterrupt`, `SystemExit`.
fn is_exit(py: Python<'_>, e: &PyErr) -> bool {
    e.is_instance_of::<PyKeyboardInterrupt>(py) || e.is_instance_of::<PySystemExit>(py)
}

/// A call waiting for its socket.
pub(crate) struct Op {
    local: Weak<Local>,
    fd: RawFd,
    write: bool,
    sock: Py<PyAny>,
    fut: Py<PyAny>,
    /// The future's done callback, taken off before the call completes the future itself.
    on_done: RefCell<Option<Py<PyAny>>>,
    /// Whether the fd's watch is still this call's (not replaced or removed).
    owns_watch: Cell<bool>,
    /// Whether a retry is in the loop's ready queue (see `queue`).
    queued: Cell<bool>,
    kind: Kind,
    /// The fd, when `sys` may do the call (see `attempt`).
    plain: Option<RawFd>,
}

impl Op {
    /// The watch was replaced or removed: the call no longer removes it.
    pub(crate) fn disown(&self) {
        self.owns_watch.set(false);
    }

    /// Stops watching the fd, if the watch is still this call's.
    fn unwatch(&self, local: &Local) {
        if self.owns_watch.get() && !local.closed.get() {
            local.clear_watch(self.fd, self.write);
        }
    }

    /// The reactor's call, while the fd is ready: the retry goes to the back of the loop's
    /// ready queue, behind the callbacks already there, as asyncio's selector appends the
    /// reader's handle to `_ready` after what was ready before the poll. A `task.cancel()`
    /// queued before then cancels the call before it accepts a connection (or reads bytes)
    /// that its cancelled future would lose (3.14's test_sock_accept_racing).
    fn queue(self: &Rc<Self>) {
        let Some(local) = self.local.upgrade() else {
            return;
        };
        if self.queued.replace(true) {
            return;
        }
        let op = self.clone();
        local.lp.call_soon(move || {
            op.queued.set(false);
            op.on_ready();
        });
    }

    fn on_ready(&self) {
        Python::attach(|py| {
            let Some(local) = self.local.upgrade() else {
                return;
            };
            // While a KeyboardInterrupt is on its way out of run_forever, the call waits for
            // the next run (the watch is level-triggered).
            if local.closed.get() || local.pending.borrow().is_some() {
                return;
            }
            match self.step(py, &local) {
                Err(e) if is_exit(py, &e) => *local.pending.borrow_mut() = Some(e),
                Err(e) => e.write_unraisable(py, Some(self.fut.bind(py))),
                Ok(()) => {}
            }
        });
    }

    fn step(&self, py: Python<'_>, local: &Local) -> PyResult<()> {
        let fut = self.fut.bind(py);
        // Cancelled: the done callback, already queued, removes the watch.
        if fut.call_method0(intern!(py, "done"))?.is_truthy()? {
            return Ok(());
        }
        let outcome = match attempt(self.sock.bind(py), &self.kind, self.plain) {
            Ok(None) => return Ok(()),
            Ok(Some(value)) => Ok(value),
            Err(e) if is_exit(py, &e) => return Err(e),
            Err(e) => Err(e),
        };
        self.unwatch(local);
        if let Some(on_done) = self.on_done.borrow_mut().take() {
            fut.call_method1(intern!(py, "remove_done_callback"), (on_done,))?;
        }
        match outcome {
            Ok(value) => fut.call_method1(intern!(py, "set_result"), (value,))?,
            Err(e) => fut.call_method1(intern!(py, "set_exception"), (e.into_value(py),))?,
        };
        Ok(())
    }
}

/// Makes the call wait: a new future from `loop.create_future()`, completed by the reactor
/// when the socket is ready; cancelling it stops the watch.
pub(crate) fn pend<'py>(
    core: &Bound<'py, CoreLoop>,
    sock: &Bound<'py, PyAny>,
    fd: RawFd,
    kind: Kind,
    plain: Option<RawFd>,
) -> PyResult<Bound<'py, PyAny>> {
    let py = core.py();
    let fut = create_future(core)?;
    ensure_no_transport(core, fd)?;
    let this = core.get();
    this.check_open()?;
    let local = CoreLoop::local_of(core)?;
    let write = kind.writes();
    let op = Rc::new(Op {
        local: Rc::downgrade(local),
        fd,
        write,
        sock: sock.clone().unbind(),
        fut: fut.clone().unbind(),
        on_done: RefCell::new(None),
        owns_watch: Cell::new(true),
        queued: Cell::new(false),
        kind,
        plain,
    });
    let ready = op.clone();
    local.set_watch(fd, write, move || ready.queue(), Watcher::Sock(op.clone()))?;
    // A weak reference: the future (which the awaiting task keeps) must not keep the call
    // alive once the reactor has let it go.
    let on_done = Py::new(
        py,
        SockDone {
            op: ThreadBound::follow(&core.get().local, Rc::downgrade(&op)),
        },
    )?;
    fut.call_method1(intern!(py, "add_done_callback"), (&on_done,))?;
    *op.on_done.borrow_mut() = Some(on_done.into_any());
    Ok(fut)
}

/// `loop.create_future()`; asyncio's own (`BaseEventLoop.create_future`, a Python frame
/// around `Future(loop=loop)`) is inlined, while a class that overrides it gets its call.
fn create_future<'py>(core: &Bound<'py, CoreLoop>) -> PyResult<Bound<'py, PyAny>> {
    let py = core.py();
    // The loop's own `create_future`, unless a subclass replaced it.
    static OURS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let ours = OURS.get_or_try_init(py, || -> PyResult<_> {
        Ok(py
            .get_type::<CoreLoop>()
            .getattr(intern!(py, "create_future"))?
            .unbind())
    })?;
    let name = intern!(py, "create_future");
    if !core.get_type().getattr(name)?.is(ours) {
        return core.call_method0(name);
    }
    crate::fast_tasks::new_future(core.as_any())
}

/// asyncio's `_ensure_fd_no_transport(fd)`: a `RuntimeError` when a transport not closing
/// owns the fd. `loop._transports` is a `WeakValueDictionary`, looked up in its `data` dict
/// (its `__getitem__` would raise and catch a `KeyError` for each fd it does not hold).
fn ensure_no_transport(core: &Bound<'_, CoreLoop>, fd: RawFd) -> PyResult<()> {
    let py = core.py();
    let transports = core.getattr(intern!(py, "_transports"))?;
    let data = transports.getattr(intern!(py, "data"));
    let Some(data) = data.ok().and_then(|d| d.cast_into::<PyDict>().ok()) else {
        core.call_method1(intern!(py, "_ensure_fd_no_transport"), (fd,))?;
        return Ok(());
    };
    let Some(weak) = data.get_item(fd)? else {
        return Ok(());
    };
    let transport = weak.call0()?;
    if transport.is_none()
        || transport
            .call_method0(intern!(py, "is_closing"))?
            .is_truthy()?
    {
        return Ok(());
    }
    Err(PyRuntimeError::new_err(format!(
        "File descriptor {fd} is used by transport {}",
        transport.repr()?
    )))
}

/// The done callback of a waiting call's future: a cancelled call stops watching its fd (as
/// asyncio's `_sock_read_done` / `_sock_write_done`).
#[pyclass(frozen, module = "asyncio_rs._native")]
pub(crate) struct SockDone {
    op: ThreadBound<Weak<Op>>,
}

#[pymethods]
impl SockDone {
    fn __call__(&self, _fut: &Bound<'_, PyAny>) -> PyResult<()> {
        let Some(op) = self.op.get()?.upgrade() else {
            return Ok(());
        };
        if let Some(local) = op.local.upgrade() {
            op.unwatch(&local);
        }
        Ok(())
    }
}
