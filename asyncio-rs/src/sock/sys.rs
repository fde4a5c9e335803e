//! `recv`, `recv_into` and `send` done here rather than by the socket's Python methods, when
//! that changes nothing but the cost: the socket is a plain one (its class keeps CPython's
//! own method) and non-blocking. A socket that would block then costs no `BlockingIOError`
//! raised and caught, which is most of a waiting call's price. Any other case (an overriding
//! class, a timeout, an argument the method would refuse) goes to the Python method, so its
//! errors stay CPython's.

use crate::loop_core::os_error;
use pyo3::buffer::PyUntypedBuffer;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyInt, PyString};
use pyo3::{ffi, intern};
use std::io;
use std::os::fd::RawFd;
use std::os::raw::c_int;
use std::ptr;

extern "C" {
    // Public CPython API (Doc/c-api/bytes.rst), as CPython's own `socket.recv` uses it.
    fn _PyBytes_Resize(bytes: *mut *mut ffi::PyObject, newsize: ffi::Py_ssize_t) -> c_int;
}

/// The socket methods done here.
#[derive(Clone, Copy)]
pub(crate) enum Method {
    Recv,
    RecvInto,
    Send,
}

impl Method {
    fn name(self, py: Python<'_>) -> &Bound<'_, PyString> {
        match self {
            Method::Recv => intern!(py, "recv"),
            Method::RecvInto => intern!(py, "recv_into"),
            Method::Send => intern!(py, "send"),
        }
    }
}

/// `_socket.socket`'s own method, to recognise a class that did not override it.
fn cpython_method(py: Python<'_>, method: Method) -> PyResult<&Bound<'_, PyAny>> {
    static METHODS: [PyOnceLock<Py<PyAny>>; 3] =
        [PyOnceLock::new(), PyOnceLock::new(), PyOnceLock::new()];
    METHODS[method as usize]
        .get_or_try_init(py, || {
            Ok(py
                .import("_socket")?
                .getattr("socket")?
                .getattr(method.name(py))?
                .unbind())
        })
        .map(|m| m.bind(py))
}

/// `sock`'s fd when `sock.<method>` is CPython's and the socket is non-blocking (timeout 0).
pub(crate) fn plain_fd(sock: &Bound<'_, PyAny>, method: Method) -> PyResult<Option<RawFd>> {
    let py = sock.py();
    let Ok(cpython) = cpython_method(py, method) else {
        return Ok(None);
    };
    match sock.get_type().getattr(method.name(py)) {
        Ok(m) if m.is(cpython) => {}
        _ => return Ok(None),
    }
    // False exactly when the timeout is 0.
    if sock.call_method0(intern!(py, "getblocking"))?.is_truthy()? {
        return Ok(None);
    }
    let fd: RawFd = sock.call_method0(intern!(py, "fileno"))?.extract()?;
    Ok((fd >= 0).then_some(fd))
}

/// Runs a socket system call, retried on `EINTR` after Python's signal handlers ran (as
/// CPython's socket methods do, PEP 475); `None` when it would block.
fn syscall(py: Python<'_>, mut call: impl FnMut() -> isize) -> PyResult<Option<usize>> {
    loop {
        let n = call();
        if n >= 0 {
            return Ok(Some(n as usize));
        }
        let e = io::Error::last_os_error();
        match e.kind() {
            io::ErrorKind::Interrupted => py.check_signals()?,
            io::ErrorKind::WouldBlock => return Ok(None),
            _ => return Err(os_error(e)),
        }
    }
}

/// `sock.recv(n)` on a plain socket's `fd`: `Ok(None)` when it would block, `Err(None)` for
/// an `n` the Python method must judge (not an int, negative or zero).
pub(crate) fn recv<'py>(
    py: Python<'py>,
    fd: RawFd,
    n: &Bound<'py, PyAny>,
) -> Result<Option<Bound<'py, PyAny>>, Option<PyErr>> {
    let n = match n
        .cast::<PyInt>()
        .ok()
        .and_then(|n| n.extract::<usize>().ok())
    {
        Some(n) if n > 0 && n <= isize::MAX as usize => n,
        _ => return Err(None),
    };
    // SAFETY: the GIL is held; a NULL source asks for an uninitialised bytes object of `n`
    // bytes, returned as a new reference (or NULL with an exception set), which `owned`
    // takes (and frees on every path but the resize's).
    let owned = unsafe {
        Bound::from_owned_ptr_or_err(
            py,
            ffi::PyBytes_FromStringAndSize(ptr::null(), n as ffi::Py_ssize_t),
        )
    }
    .map_err(Some)?;
    // SAFETY: the object is a new bytes object of `n` bytes, ours alone, so its buffer (which
    // `PyBytes_AsString` returns) may be written while `owned` lives.
    let buf = unsafe { ffi::PyBytes_AsString(owned.as_ptr()) };
    // SAFETY: `buf` is valid for writes of `n` bytes for the call's duration.
    let got = syscall(py, || unsafe { libc::recv(fd, buf.cast(), n, 0) }).map_err(Some)?;
    let Some(got) = got else {
        return Ok(None);
    };
    if got == n {
        return Ok(Some(owned));
    }
    let mut obj = owned.into_ptr();
    // SAFETY: `obj` is a bytes object with a reference count of one (ours, taken back from
    // `owned`); on failure `_PyBytes_Resize` frees it, sets it to NULL and sets an exception.
    if unsafe { _PyBytes_Resize(&mut obj, got as ffi::Py_ssize_t) } < 0 {
        return Err(Some(PyErr::fetch(py)));
    }
    // SAFETY: `obj` is a valid, owned reference to a bytes object.
    Ok(Some(unsafe { Bound::from_owned_ptr(py, obj) }))
}

/// `sock.recv_into(buf)` on a plain socket's `fd`: the count, `Ok(None)` when it would
/// block, `Err(None)` for a buffer the Python method must judge.
pub(crate) fn recv_into<'py>(
    py: Python<'py>,
    fd: RawFd,
    buf: &Bound<'py, PyAny>,
) -> Result<Option<Bound<'py, PyAny>>, Option<PyErr>> {
    let Ok(view) = PyUntypedBuffer::get(buf) else {
        return Err(None);
    };
    if view.readonly() || !view.is_c_contiguous() || view.len_bytes() == 0 {
        return Err(None);
    }
    let (ptr, len) = (view.buf_ptr(), view.len_bytes());
    // SAFETY: the buffer is held until `view` drops, writable and C-contiguous, so `ptr` is
    // valid for writes of `len` bytes.
    let got = syscall(py, || unsafe { libc::recv(fd, ptr, len, 0) }).map_err(Some)?;
    view.release(py);
    Ok(got.map(|n| n.into_pyobject(py).expect("an int").into_any()))
}

/// `sock.send(data[start..])` on a plain socket's `fd`: the count sent, `Ok(None)` when it
/// would block, `Err(None)` for data the Python method must judge.
pub(crate) fn send(
    py: Python<'_>,
    fd: RawFd,
    data: &Bound<'_, PyAny>,
    start: usize,
) -> Result<Option<usize>, Option<PyErr>> {
    let sent = |bytes: &[u8]| {
        let rest = bytes.get(start..).unwrap_or_default();
        // SAFETY: `rest` is valid for reads of its length for the call's duration.
        syscall(py, || unsafe {
            libc::send(fd, rest.as_ptr().cast(), rest.len(), 0)
        })
    };
    if let Ok(bytes) = data.cast::<PyBytes>() {
        return sent(bytes.as_bytes()).map_err(Some);
    }
    let Ok(view) = PyUntypedBuffer::get(data) else {
        return Err(None);
    };
    if !view.is_c_contiguous() || view.item_size() != 1 || view.dimensions() > 1 {
        return Err(None);
    }
    // SAFETY: the buffer is held until `view` drops and C-contiguous, so its pointer is valid
    // for reads of `len_bytes()` bytes.
    let bytes =
        unsafe { std::slice::from_raw_parts(view.buf_ptr().cast::<u8>(), view.len_bytes()) };
    let outcome = sent(bytes).map_err(Some);
    view.release(py);
    outcome
}
