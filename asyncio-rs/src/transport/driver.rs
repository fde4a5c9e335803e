//! The task that drives one connection on the loop's reactor: it flushes the write buffer
//! when the socket is writable and reads when it is readable, calling the protocol.
//!
//! The registration is edge-triggered; the driver forgets a direction's readiness when the
//! socket says `EAGAIN`, or after a read that did not fill the buffer (the socket was drained,
//! and new bytes make a new edge: edges are taken in only while the loop polls, never while
//! the driver runs). As asyncio's level-triggered selector calls a reader once per turn, the
//! driver reads once per turn and, while the socket may hold more, comes back at the next.

use crate::loop_core::{os_error, Local};
use crate::transport::conn::{is_exit, Conn, Reader};
use crate::transport::io::{self, would_block};
use pyo3::buffer::PyUntypedBuffer;
use pyo3::exceptions::{PyRuntimeError, PyTypeError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

/// The most one read takes, into a new `bytes` of this size shrunk to what came: 64 KiB, as
/// libuv reads. asyncio's 256 KiB is above glibc's mmap threshold, which would make each
/// read an `mmap`, `mremap` and `munmap`.
const MAX_SIZE: usize = 64 * 1024;

/// A transport a [`Driver`] drives: its connection state, what it waits for, and one turn of
/// its I/O (the stream socket's is `turn`; datagrams and pipes have their own).
pub(crate) trait Drive {
    fn conn(&self) -> &Conn;
    fn wants_read(&self) -> bool;
    fn wants_write(&self) -> bool;
    /// `Err`: a `KeyboardInterrupt` or `SystemExit` for `run_forever` to raise.
    fn turn(&self, py: Python<'_>, local: &Local) -> PyResult<()>;
}

impl Drive for Conn {
    fn conn(&self) -> &Conn {
        self
    }

    fn wants_read(&self) -> bool {
        Conn::wants_read(self)
    }

    fn wants_write(&self) -> bool {
        Conn::wants_write(self)
    }

    fn turn(&self, py: Python<'_>, local: &Local) -> PyResult<()> {
        turn(py, self, local)
    }
}

pub(crate) struct Driver<T: Drive = Conn> {
    pub(crate) conn: Rc<T>,
}

impl<T: Drive> Drop for Driver<T> {
    fn drop(&mut self) {
        self.conn.conn().driven.set(false);
    }
}

impl<T: Drive> Future for Driver<T> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &*self.conn;
        let conn = this.conn();
        if conn.finished.get() {
            return Poll::Ready(());
        }
        {
            let mut waker = conn.waker.borrow_mut();
            if !waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                *waker = Some(cx.waker().clone());
            }
        }
        let Some(local) = conn.local.upgrade() else {
            return Poll::Ready(());
        };
        if local.closed.get() {
            return Poll::Ready(());
        }
        // SAFETY: the loop polls its tasks in its turns alone, and those run inside
        // `_run_once` and `_close_native`, which hold the GIL (released around the wait for
        // I/O only, where no task runs). `Python::attach` would only count one more
        // attachment (thread-local reads and writes at each of the transport's turns).
        let py = unsafe { Python::assume_attached() };
        if local.pending.borrow().is_some() {
            // A KeyboardInterrupt is on its way out of run_forever: the protocol is called
            // at the next run, in order.
            cx.waker().wake_by_ref();
        } else if let Err(e) = this.turn(py, &local) {
            *local.pending.borrow_mut() = Some(e);
        }
        if conn.finished.get() {
            return Poll::Ready(());
        }
        let mut again = false;
        if let Some(io) = conn.io.borrow().as_ref() {
            if this.wants_write() && io.poll_ready(true, cx).is_ready() {
                again = true;
            }
            if this.wants_read() && io.poll_ready(false, cx).is_ready() {
                again = true;
            }
        }
        if again {
            cx.waker().wake_by_ref();
        }
        Poll::Pending
    }
}

/// One turn's I/O: a flush of the write buffer, then one read. `Err` is a `KeyboardInterrupt`
/// or `SystemExit` for `run_forever` to raise.
fn turn(py: Python<'_>, conn: &Conn, local: &Local) -> PyResult<()> {
    if conn.wants_write() && ready(conn, true) {
        write_ready(py, conn)?;
    }
    if conn.wants_read() && ready(conn, false) {
        read_ready(py, conn, local)?;
    }
    Ok(())
}

/// The reactor saw the fd ready for writing (`write`) or reading, since the last `clear`.
pub(crate) fn ready(conn: &Conn, write: bool) -> bool {
    conn.io
        .borrow()
        .as_ref()
        .is_some_and(|io| io.is_ready(write))
}

pub(crate) fn clear(conn: &Conn, write: bool) {
    if let Some(io) = conn.io.borrow().as_ref() {
        io.clear(write);
    }
}

/// `fatal_error`, keeping only what must stop the loop.
pub(crate) fn fatal(py: Python<'_>, conn: &Conn, exc: PyErr, message: &str) -> PyResult<()> {
    match conn.fatal_error(py, exc, message) {
        Err(e) if is_exit(py, &e) => Err(e),
        Err(e) => {
            e.write_unraisable(py, None);
            Ok(())
        }
        Ok(()) => Ok(()),
    }
}

/// What `call_protocol` returned, as the driver's outcome.
fn called<R>(outcome: Result<R, Option<PyErr>>) -> PyResult<Option<R>> {
    match outcome {
        Ok(r) => Ok(Some(r)),
        Err(Some(e)) => Err(e),
        Err(None) => Ok(None),
    }
}

/// asyncio's `_read_ready__data_received` / `_read_ready__get_buffer`.
fn read_ready(py: Python<'_>, conn: &Conn, local: &Local) -> PyResult<()> {
    let reader = match &*conn.reader.borrow() {
        Some(Reader::Data(f, feed)) => {
            Reader::Data(f.clone_ref(py), feed.as_ref().map(|s| s.clone_ref(py)))
        }
        Some(Reader::Buffered(get, updated)) => {
            Reader::Buffered(get.clone_ref(py), updated.clone_ref(py))
        }
        None => return Ok(()),
    };
    match reader {
        Reader::Data(data_received, feed) => {
            let (data, n) = match io::recv_bytes(py, conn.fd, MAX_SIZE, &local.spare_read) {
                Ok(got) => got,
                Err(io::RecvError::Os(e)) if would_block(&e) => {
                    clear(conn, false);
                    return Ok(());
                }
                Err(io::RecvError::Os(e)) => {
                    return fatal(
                        py,
                        conn,
                        os_error(e),
                        "Fatal read error on socket transport",
                    );
                }
                Err(io::RecvError::Python(e)) => {
                    return fatal(py, conn, e, "Fatal read error on socket transport");
                }
            };
            if n == 0 {
                return eof(py, conn);
            }
            if n < MAX_SIZE {
                clear(conn, false);
            }
            let outcome = conn.call_protocol(
                py,
                "Fatal error: protocol.data_received() call failed.",
                || {
                    if let Some(feed) = &feed {
                        if feed.feed(py, &data)? {
                            return Ok(());
                        }
                    }
                    data_received.bind(py).call1((data,)).map(drop)
                },
            );
            called(outcome).map(drop)
        }
        Reader::Buffered(get_buffer, buffer_updated) => {
            let outcome = conn.call_protocol(
                py,
                "Fatal error: protocol.get_buffer() call failed.",
                || {
                    let buf = get_buffer.bind(py).call1((-1,))?;
                    if buf.len()? == 0 {
                        return Err(PyRuntimeError::new_err(
                            "get_buffer() returned an empty buffer",
                        ));
                    }
                    Ok(buf)
                },
            );
            let Some(buf) = called(outcome)? else {
                return Ok(());
            };
            let n = match recv_into(conn, &buf) {
                Ok(n) => n,
                Err(e) if e.is_instance_of::<pyo3::exceptions::PyBlockingIOError>(py) => {
                    clear(conn, false);
                    return Ok(());
                }
                Err(e) => return fatal(py, conn, e, "Fatal read error on socket transport"),
            };
            if n.0 == 0 {
                return eof(py, conn);
            }
            if n.0 < n.1 {
                clear(conn, false);
            }
            let outcome = conn.call_protocol(
                py,
                "Fatal error: protocol.buffer_updated() call failed.",
                || buffer_updated.bind(py).call1((n.0,)).map(drop),
            );
            called(outcome).map(drop)
        }
    }
}

/// `sock.recv_into(buf)`: how many bytes were read, and the buffer's size.
fn recv_into(conn: &Conn, buf: &Bound<'_, PyAny>) -> PyResult<(usize, usize)> {
    let view = PyUntypedBuffer::get(buf)?;
    if view.readonly() || !view.is_c_contiguous() {
        return Err(PyTypeError::new_err(
            "recv_into() argument 'buffer' must be a writable contiguous buffer",
        ));
    }
    let len = view.len_bytes();
    // SAFETY: the buffer is held (not released) until `view` drops after the call, writable
    // and C-contiguous, so `buf_ptr()` is valid for writes of `len_bytes()` bytes.
    let n = unsafe { io::recv_raw(conn.fd, view.buf_ptr().cast(), len) };
    view.release(buf.py());
    Ok((n.map_err(os_error)?, len))
}

/// asyncio's `_read_ready__on_eof`: the protocol keeps the connection open (writable) by
/// returning true from `eof_received`; otherwise it is closed.
fn eof(py: Python<'_>, conn: &Conn) -> PyResult<()> {
    let protocol = conn.protocol(py);
    let outcome = conn.call_protocol(
        py,
        "Fatal error: protocol.eof_received() call failed.",
        || {
            protocol
                .bind(py)
                .call_method0(intern!(py, "eof_received"))?
                .is_truthy()
        },
    );
    match called(outcome)? {
        Some(true) => conn.read_done.set(true),
        Some(false) => conn.close(py)?,
        None => {}
    }
    Ok(())
}

/// asyncio's `_write_ready`: sends what the buffer holds; once empty, a closing transport
/// loses its connection and one that had `write_eof()` shuts its write half.
fn write_ready(py: Python<'_>, conn: &Conn) -> PyResult<()> {
    if conn.conn_lost.get() != 0 {
        return Ok(());
    }
    let sent = io::send(conn.fd, conn.buffer.borrow().unsent());
    let n = match sent {
        Ok(n) => n,
        Err(e) if would_block(&e) => {
            clear(conn, true);
            return Ok(());
        }
        Err(e) => {
            conn.buffer.borrow_mut().clear();
            let e = os_error(e);
            let value = e.value(py).clone().into_any();
            fatal(py, conn, e, "Fatal write error on socket transport")?;
            return match conn.settle_empty_waiter(py, Some(&value)) {
                Err(e) => report(py, conn, e),
                Ok(()) => Ok(()),
            };
        }
    };
    conn.buffer.borrow_mut().consume(n);
    conn.maybe_resume_protocol(py)?;
    if !conn.buffer.borrow().is_empty() {
        return Ok(());
    }
    let done = if let Err(e) = conn.settle_empty_waiter(py, None) {
        Err(e)
    } else if conn.closing.get() {
        conn.connection_lost(py, &py.None().into_bound(py))
    } else if conn.eof.get() {
        io::shutdown_write(conn.fd).map_err(os_error)
    } else {
        Ok(())
    };
    match done {
        Err(e) if is_exit(py, &e) => Err(e),
        Err(e) => report(py, conn, e),
        Ok(()) => Ok(()),
    }
}

/// An exception of the transport's own callback, as asyncio's handle reports it.
fn report(py: Python<'_>, conn: &Conn, e: PyErr) -> PyResult<()> {
    let context = PyDict::new(py);
    context.set_item(
        "message",
        "Exception in callback _SocketTransport._write_ready()",
    )?;
    context.set_item("exception", e.value(py))?;
    context.set_item("transport", conn.transport(py))?;
    conn.loop_
        .bind(py)
        .call_method1(intern!(py, "call_exception_handler"), (context,))?;
    Ok(())
}
