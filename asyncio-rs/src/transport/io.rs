//! The socket calls of a transport, on the fd of the Python socket it keeps, and its write
//! buffer.

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use std::cell::RefCell;
use std::io;
use std::os::fd::RawFd;
use std::os::raw::c_int;
use std::ptr;

extern "C" {
    // Public CPython API (Doc/c-api/bytes.rst) since 2.x, as CPython's own `socket.recv`
    // uses it; PyO3's binding of it is crate-private.
    fn _PyBytes_Resize(bytes: *mut *mut ffi::PyObject, newsize: ffi::Py_ssize_t) -> c_int;
}

/// Bytes accepted by `write()` and not sent yet.
#[derive(Default)]
pub(crate) struct WriteBuffer {
    bytes: Vec<u8>,
    /// Where the unsent bytes start: sending advances it instead of moving the rest.
    head: usize,
}

impl WriteBuffer {
    pub(crate) fn len(&self) -> usize {
        self.bytes.len() - self.head
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub(crate) fn unsent(&self) -> &[u8] {
        &self.bytes[self.head..]
    }

    pub(crate) fn extend(&mut self, data: &[u8]) {
        if self.head > 0 && self.head >= self.bytes.len() / 2 {
            self.bytes.drain(..self.head);
            self.head = 0;
        }
        self.bytes.extend_from_slice(data);
    }

    pub(crate) fn consume(&mut self, n: usize) {
        self.head += n;
        if self.head >= self.bytes.len() {
            self.clear();
        }
    }

    pub(crate) fn clear(&mut self) {
        self.bytes.clear();
        self.head = 0;
    }
}

fn check(n: isize) -> io::Result<usize> {
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

pub(crate) enum RecvError {
    Os(io::Error),
    Python(PyErr),
}

/// Reads up to this many bytes are copied into an exact `bytes`, and the big one is kept for
/// the next read. Below this size the copy (vector moves) and an exact allocation (CPython's
/// small-object allocator up to 512 bytes, then malloc's bins) cost less than shrinking the
/// big object with `realloc` and allocating the next one: at 1 KiB, ~300 instructions
/// against ~630. Above it, the copy is `rep movsb` and grows with the size.
const COPY_AT_MOST: usize = 4096;

/// `recv(2)` of up to `cap` bytes into a `bytes` object, as CPython's `socket.recv` does:
/// into an uninitialised object of `cap` bytes, shrunk to what was read, so that the kernel's
/// copy is the only one. `spare` keeps that object between calls when the read was small
/// enough to copy instead (one loop runs one read at a time, so one spare serves all its
/// transports). Returns the object and its length.
pub(crate) fn recv_bytes<'py>(
    py: Python<'py>,
    fd: RawFd,
    cap: usize,
    spare: &RefCell<Option<Py<PyAny>>>,
) -> Result<(Bound<'py, PyBytes>, usize), RecvError> {
    fill_bytes(py, fd, cap, spare, recv_raw)
}

/// [`recv_bytes`] with `read(2)`, for pipes and character devices.
pub(crate) fn read_bytes<'py>(
    py: Python<'py>,
    fd: RawFd,
    cap: usize,
    spare: &RefCell<Option<Py<PyAny>>>,
) -> Result<(Bound<'py, PyBytes>, usize), RecvError> {
    fill_bytes(py, fd, cap, spare, read_raw)
}

/// A system call reading into raw memory: `recv_raw` or `read_raw`.
type RawRead = unsafe fn(RawFd, *mut u8, usize) -> io::Result<usize>;

fn fill_bytes<'py>(
    py: Python<'py>,
    fd: RawFd,
    cap: usize,
    spare: &RefCell<Option<Py<PyAny>>>,
    read_raw: RawRead,
) -> Result<(Bound<'py, PyBytes>, usize), RecvError> {
    let mut obj = match spare.borrow_mut().take() {
        Some(obj) => obj.into_ptr(),
        None => {
            // SAFETY: the GIL is held; a NULL source asks for an uninitialised object of
            // `cap` bytes, returned as a new reference (or NULL with an exception set).
            let obj =
                unsafe { ffi::PyBytes_FromStringAndSize(ptr::null(), cap as ffi::Py_ssize_t) };
            if obj.is_null() {
                return Err(RecvError::Python(PyErr::fetch(py)));
            }
            obj
        }
    };
    // SAFETY: `obj` is a bytes object of `cap` bytes whose only reference is ours (new, or
    // the spare, which is never shared), so its buffer (which `PyBytes_AsString` returns for
    // a bytes object) may be written until it is shared.
    let buf: *mut u8 = unsafe { ffi::PyBytes_AsString(obj) }.cast();
    // SAFETY: `buf` is valid for writes of `cap` bytes, as said above.
    let read = unsafe { read_raw(fd, buf, cap) };
    let keep = |obj| {
        // SAFETY: `obj` is our owned reference, handed to the `Py` that keeps it.
        *spare.borrow_mut() = Some(unsafe { Bound::from_owned_ptr(py, obj) }.unbind());
    };
    let n = match read {
        Ok(n) => n,
        Err(e) => {
            keep(obj);
            return Err(RecvError::Os(e));
        }
    };
    if n <= COPY_AT_MOST {
        // SAFETY: the kernel wrote `n <= cap` bytes at `buf`, which stays valid while `obj`
        // (still ours) lives.
        let small = PyBytes::new(py, unsafe { std::slice::from_raw_parts(buf, n) });
        keep(obj);
        return Ok((small, n));
    }
    if n < cap {
        // SAFETY: `obj` is a bytes object with a reference count of one (ours); on failure
        // `_PyBytes_Resize` frees it, sets it to NULL and sets an exception.
        if unsafe { _PyBytes_Resize(&mut obj, n as ffi::Py_ssize_t) } < 0 {
            return Err(RecvError::Python(PyErr::fetch(py)));
        }
    }
    // SAFETY: `obj` is a valid, owned reference to a bytes object.
    let bytes = unsafe { Bound::from_owned_ptr(py, obj).cast_into_unchecked::<PyBytes>() };
    Ok((bytes, n))
}

/// `recv(2)` into raw memory (a Python buffer's).
///
/// # Safety
/// `ptr` must be valid for writes of `len` bytes for the call's duration.
pub(crate) unsafe fn recv_raw(fd: RawFd, ptr: *mut u8, len: usize) -> io::Result<usize> {
    // SAFETY: the caller's promise.
    retry(|| check(unsafe { libc::recv(fd, ptr.cast(), len, 0) }))
}

/// `read(2)` into raw memory.
///
/// # Safety
/// `ptr` must be valid for writes of `len` bytes for the call's duration.
pub(crate) unsafe fn read_raw(fd: RawFd, ptr: *mut u8, len: usize) -> io::Result<usize> {
    // SAFETY: the caller's promise.
    retry(|| check(unsafe { libc::read(fd, ptr.cast(), len) }))
}

/// `write(2)` of `data` (a pipe's; `EPIPE` rather than `SIGPIPE` as Python ignores the
/// signal); `EINTR` is retried.
pub(crate) fn write(fd: RawFd, data: &[u8]) -> io::Result<usize> {
    // SAFETY: `data` is valid for reads of `data.len()` bytes for the call's duration.
    retry(|| check(unsafe { libc::write(fd, data.as_ptr().cast(), data.len()) }))
}

/// `send(2)` of `data`, without `SIGPIPE`; `EINTR` is retried.
pub(crate) fn send(fd: RawFd, data: &[u8]) -> io::Result<usize> {
    // SAFETY: `data` is valid for reads of `data.len()` bytes for the call's duration.
    retry(|| check(unsafe { libc::send(fd, data.as_ptr().cast(), data.len(), libc::MSG_NOSIGNAL) }))
}

/// `shutdown(fd, SHUT_WR)`.
pub(crate) fn shutdown_write(fd: RawFd) -> io::Result<()> {
    // SAFETY: a plain system call on an integer fd; it touches no memory of ours.
    if unsafe { libc::shutdown(fd, libc::SHUT_WR) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

fn retry(mut f: impl FnMut() -> io::Result<usize>) -> io::Result<usize> {
    loop {
        match f() {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

pub(crate) fn would_block(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::WouldBlock
}
