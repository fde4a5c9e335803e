//! asyncio's `loop.sock_*` methods (selector_events' `sock_recv` & co.), native: each tries
//! its socket call at once, and only when the socket would block makes a future that the
//! reactor completes (`op`).
//!
//! The entry points are functions of the loop, called by the `async def` methods of
//! `asyncio_rs.EventLoop` (which keep asyncio's coroutine signatures): each returns the
//! call's result, or the future to await when it has to wait. As in asyncio, a call works on
//! the Python socket's own methods (`sock.recv` ...), so their errors are CPython's, and the
//! socket must be non-blocking (checked in debug mode).

mod op;
mod sys;

use crate::loop_core::CoreLoop;
use op::{attempt, pend, unless_blocked, Kind};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyMemoryView, PyType};
use std::cell::Cell;
use std::os::fd::RawFd;

pub(crate) use op::Op;

/// Adds the functions to the extension module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(sock_check, m)?)?;
    m.add_function(wrap_pyfunction!(sock_recv, m)?)?;
    m.add_function(wrap_pyfunction!(sock_recv_into, m)?)?;
    m.add_function(wrap_pyfunction!(sock_recvfrom, m)?)?;
    m.add_function(wrap_pyfunction!(sock_recvfrom_into, m)?)?;
    m.add_function(wrap_pyfunction!(sock_sendall, m)?)?;
    m.add_function(wrap_pyfunction!(sock_sendto, m)?)?;
    m.add_function(wrap_pyfunction!(sock_connect, m)?)?;
    m.add_function(wrap_pyfunction!(sock_accept, m)?)?;
    Ok(())
}

/// asyncio's checks before each call: not an `ssl.SSLSocket` (`TypeError`); in debug mode,
/// a non-blocking socket (`ValueError`).
#[pyfunction]
fn sock_check(lp: &Bound<'_, CoreLoop>, sock: &Bound<'_, PyAny>) -> PyResult<()> {
    let py = sock.py();
    static SSL_SOCKET: PyOnceLock<Option<Py<PyType>>> = PyOnceLock::new();
    let ssl_socket = SSL_SOCKET.get_or_init(py, || {
        let ty = py.import("ssl").and_then(|m| m.getattr("SSLSocket")).ok()?;
        Some(ty.cast_into::<PyType>().ok()?.unbind())
    });
    if let Some(ty) = ssl_socket {
        if sock.is_instance(ty.bind(py))? {
            return Err(PyTypeError::new_err("Socket cannot be of type SSLSocket"));
        }
    }
    if lp.get().get_debug() && sock.call_method0(intern!(py, "gettimeout"))?.ne(0)? {
        return Err(PyValueError::new_err("the socket must be non-blocking"));
    }
    Ok(())
}

fn fileno(sock: &Bound<'_, PyAny>) -> PyResult<RawFd> {
    sock.call_method0(intern!(sock.py(), "fileno"))?.extract()
}

/// The fd, when `kind`'s socket call may be done by `sys`.
fn plain_fd(sock: &Bound<'_, PyAny>, kind: &Kind) -> PyResult<Option<RawFd>> {
    match kind.native() {
        Some(method) => sys::plain_fd(sock, method),
        None => Ok(None),
    }
}

/// Waits for the socket, on the fd `plain` gave or else `sock.fileno()`.
fn wait<'py>(
    lp: &Bound<'py, CoreLoop>,
    sock: &Bound<'py, PyAny>,
    kind: Kind,
    plain: Option<RawFd>,
) -> PyResult<Bound<'py, PyAny>> {
    let fd = match plain {
        Some(fd) => fd,
        None => fileno(sock)?,
    };
    pend(lp, sock, fd, kind, plain)
}

/// The checks, one try, and the wait when the socket would block.
fn start<'py>(
    lp: &Bound<'py, CoreLoop>,
    sock: &Bound<'py, PyAny>,
    kind: Kind,
) -> PyResult<Bound<'py, PyAny>> {
    sock_check(lp, sock)?;
    try_or_wait(lp, sock, kind)
}

/// One try of the call, and the wait when the socket would block.
fn try_or_wait<'py>(
    lp: &Bound<'py, CoreLoop>,
    sock: &Bound<'py, PyAny>,
    kind: Kind,
) -> PyResult<Bound<'py, PyAny>> {
    let plain = plain_fd(sock, &kind)?;
    match attempt(sock, &kind, plain)? {
        Some(done) => Ok(done),
        None => wait(lp, sock, kind, plain),
    }
}

/// The entry points that are [`start`] with their arguments as the socket method takes
/// them: `name(args) => Kind`, one a line.
macro_rules! started {
    ($($(#[$doc:meta])* $name:ident($($arg:ident),*) => $kind:ident;)*) => {$(
        $(#[$doc])*
        #[pyfunction]
        fn $name<'py>(
            lp: &Bound<'py, CoreLoop>,
            sock: &Bound<'py, PyAny>,
            $($arg: Py<PyAny>,)*
        ) -> PyResult<Bound<'py, PyAny>> {
            start(lp, sock, Kind::$kind { $($arg),* })
        }
    )*};
}

started! {
    /// `sock.recv(n)`: the bytes, or the future of them.
    sock_recv(n) => Recv;
    /// `sock.recv_into(buf)`: the count, or the future of it.
    sock_recv_into(buf) => RecvInto;
    /// `sock.recvfrom(bufsize)`: `(bytes, address)`, or the future of it.
    sock_recvfrom(bufsize) => RecvFrom;
    /// `sock.accept()`: `(conn, address)` with `conn` non-blocking, or the future of it.
    sock_accept() => Accept;
}

/// `sock.recvfrom_into(buf, nbytes or len(buf))`: `(count, address)`, or the future of it.
#[pyfunction]
fn sock_recvfrom_into<'py>(
    lp: &Bound<'py, CoreLoop>,
    sock: &Bound<'py, PyAny>,
    buf: &Bound<'py, PyAny>,
    nbytes: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    sock_check(lp, sock)?;
    let nbytes = if nbytes.is_truthy()? {
        nbytes.clone()
    } else {
        buf.len()?.into_pyobject(sock.py())?.into_any()
    };
    let kind = Kind::RecvFromInto {
        buf: buf.clone().unbind(),
        nbytes: nbytes.unbind(),
    };
    try_or_wait(lp, sock, kind)
}

/// Sends all of `data`: `None` when the first `send` took it all, else the future of
/// `None`, done when the rest is sent (from where each partial send left off).
#[pyfunction]
fn sock_sendall<'py>(
    lp: &Bound<'py, CoreLoop>,
    sock: &Bound<'py, PyAny>,
    data: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let py = sock.py();
    sock_check(lp, sock)?;
    let plain = sys::plain_fd(sock, sys::Method::Send)?;
    let sent = match plain.map(|fd| sys::send(py, fd, data, 0)) {
        Some(Ok(sent)) => sent,
        Some(Err(Some(e))) => return Err(e),
        _ => {
            let sent = unless_blocked(py, sock.call_method1(intern!(py, "send"), (data,)))?;
            sent.map(|n| n.extract::<usize>()).transpose()?
        }
    };
    let n = sent.unwrap_or(0);
    if n == data.len()? {
        return Ok(py.None().into_bound(py));
    }
    let view = PyMemoryView::from(data)?.into_any().unbind();
    let pos = Cell::new(n);
    wait(lp, sock, Kind::SendAll { view, pos }, plain)
}

/// `sock.sendto(data, address)`: the count, or the future of it.
#[pyfunction]
fn sock_sendto<'py>(
    lp: &Bound<'py, CoreLoop>,
    sock: &Bound<'py, PyAny>,
    data: &Bound<'py, PyAny>,
    address: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let py = sock.py();
    sock_check(lp, sock)?;
    let sent = sock.call_method1(intern!(py, "sendto"), (data, address));
    if let Some(n) = unless_blocked(py, sent)? {
        return Ok(n);
    }
    let kind = Kind::SendTo {
        data: data.clone().unbind(),
        address: address.clone().unbind(),
    };
    wait(lp, sock, kind, None)
}

/// `sock.connect(address)` to a resolved address (the Python method resolves it and checks
/// the socket first): `None`, or the future of `None` while the connection is in progress.
#[pyfunction]
fn sock_connect<'py>(
    lp: &Bound<'py, CoreLoop>,
    sock: &Bound<'py, PyAny>,
    address: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let py = sock.py();
    let fd = fileno(sock)?;
    if let Some(done) = unless_blocked(py, sock.call_method1(intern!(py, "connect"), (address,)))? {
        return Ok(done);
    }
    let address = address.clone().unbind();
    pend(lp, sock, fd, Kind::Connect { address }, None)
}
