//! One end of a pipe (or of a socket or character device used as one), asyncio's
//! `_UnixReadPipeTransport` / `_UnixWritePipeTransport`: its state and I/O, and the driver's
//! turn, which reads a read end (`data_received`, then `eof_received` and `connection_lost`
//! at end of file) and flushes a write end's buffer. The methods the protocol calls are in
//! `pipe.rs`.
//!
//! As asyncio's, the write end of a pipe or socket is also watched for reading: it becomes
//! readable (or in error) when the reader closes, which loses the connection at once
//! (`BrokenPipeError` if bytes were still buffered).

use crate::loop_core::{os_error, Local};
use crate::transport::conn::Conn;
use crate::transport::driver::{self, Drive};
use crate::transport::io::{self, would_block};
use crate::transport::shell::Transport;
use pyo3::exceptions::{PyBrokenPipeError, PyOSError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::cell::RefCell;
use std::os::fd::OwnedFd;

/// The most one read takes (64 KiB, as the socket driver's: asyncio's 256 KiB would make
/// each read an `mmap`).
const MAX_SIZE: usize = 64 * 1024;

/// asyncio's `constants.LOG_THRESHOLD_FOR_CONNLOST_WRITES`.
pub(crate) const LOG_THRESHOLD_FOR_CONNLOST_WRITES: u32 = 5;

pub(crate) struct Pipe {
    pub(crate) conn: Conn,
    /// The write end (else the read end).
    pub(crate) write: bool,
    /// A write end that is a pipe or socket: watched for the reader closing.
    pub(crate) watch_read: bool,
    /// The read end's bound `protocol.data_received`.
    pub(crate) data_received: RefCell<Option<Py<PyAny>>>,
    /// The duplicate of the fd the transport works on, when the fd itself is registered
    /// already; closed after `conn` deregisters it.
    pub(crate) dup: RefCell<Option<OwnedFd>>,
}

impl Pipe {
    /// asyncio's read end `_fatal_error`: `EIO` (a pty whose other side closed) is quiet;
    /// any other error goes to the exception handler. The transport is then closed.
    pub(crate) fn read_fatal(&self, py: Python<'_>, exc: PyErr, message: &str) -> PyResult<()> {
        let conn = &self.conn;
        let eio = exc.is_instance_of::<PyOSError>(py)
            && exc
                .value(py)
                .getattr(intern!(py, "errno"))
                .and_then(|e| e.extract::<i32>())
                .is_ok_and(|e| e == libc::EIO);
        let value = exc.value(py).clone().into_any();
        if !eio {
            let context = PyDict::new(py);
            context.set_item("message", message)?;
            context.set_item("exception", &value)?;
            context.set_item("transport", conn.transport(py))?;
            context.set_item("protocol", conn.protocol(py))?;
            conn.loop_
                .bind(py)
                .call_method1(intern!(py, "call_exception_handler"), (context,))?;
        }
        conn.force_close(py, Some(value))
    }

    /// asyncio's read end `_read_ready`.
    fn read_ready(&self, py: Python<'_>, local: &Local) -> PyResult<()> {
        let conn = &self.conn;
        let (data, n) = match io::read_bytes(py, conn.fd, MAX_SIZE, &local.spare_read) {
            Ok(got) => got,
            Err(io::RecvError::Os(e)) if would_block(&e) => {
                driver::clear(conn, false);
                return Ok(());
            }
            Err(io::RecvError::Os(e)) => {
                return self.read_fatal(py, os_error(e), "Fatal read error on pipe transport")
            }
            Err(io::RecvError::Python(e)) => {
                return self.read_fatal(py, e, "Fatal read error on pipe transport")
            }
        };
        if n == 0 {
            // End of file: `eof_received()`, then `connection_lost(None)`, each at the next
            // turn, in the transport's context.
            let eof_received = conn
                .protocol(py)
                .bind(py)
                .getattr(intern!(py, "eof_received"))?;
            let kwargs = PyDict::new(py);
            kwargs.set_item("context", conn.context.bind(py))?;
            conn.loop_.bind(py).call_method(
                intern!(py, "call_soon"),
                (eof_received,),
                Some(&kwargs),
            )?;
            return conn.force_close(py, None);
        }
        if n < MAX_SIZE {
            driver::clear(conn, false);
        }
        let received = self
            .data_received
            .borrow()
            .as_ref()
            .map(|f| f.clone_ref(py));
        let Some(received) = received else {
            return Ok(());
        };
        conn.call_reported(py, "_UnixReadPipeTransport._read_ready()", || {
            received.bind(py).call1((data,)).map(drop)
        })
    }

    /// asyncio's write end `_write_ready`: the protocol may resume writing once the buffer
    /// is empty; a closing transport then loses its connection.
    fn write_ready(&self, py: Python<'_>) -> PyResult<()> {
        let conn = &self.conn;
        let written = io::write(conn.fd, conn.buffer.borrow().unsent());
        match written {
            Ok(n) => conn.buffer.borrow_mut().consume(n),
            Err(e) if would_block(&e) => {
                driver::clear(conn, true);
                return Ok(());
            }
            Err(e) => {
                conn.buffer.borrow_mut().clear();
                return driver::fatal(py, conn, os_error(e), "Fatal write error on pipe transport");
            }
        }
        if !conn.buffer.borrow().is_empty() {
            return Ok(());
        }
        conn.maybe_resume_protocol(py)?;
        if conn.closing.get() && conn.buffer.borrow().is_empty() {
            let none = py.None().into_bound(py);
            conn.call_reported(py, "_UnixWritePipeTransport._write_ready()", || {
                conn.connection_lost(py, &none)
            })?;
        }
        Ok(())
    }

    /// The write end became readable: the reader closed.
    fn peer_closed(&self, py: Python<'_>) -> PyResult<()> {
        let conn = &self.conn;
        let exc = if conn.buffer.borrow().is_empty() {
            None
        } else {
            Some(PyBrokenPipeError::new_err(()).value(py).clone().into_any())
        };
        conn.force_close(py, exc)
    }
}

impl Drive for Pipe {
    fn conn(&self) -> &Conn {
        &self.conn
    }

    fn wants_read(&self) -> bool {
        let conn = &self.conn;
        if self.write {
            self.watch_read && conn.started.get() && conn.conn_lost.get() == 0
        } else {
            conn.wants_read()
        }
    }

    fn wants_write(&self) -> bool {
        self.write && self.conn.wants_write()
    }

    fn turn(&self, py: Python<'_>, local: &Local) -> PyResult<()> {
        if self.wants_read() && driver::ready(&self.conn, false) {
            let outcome = if self.write {
                self.peer_closed(py)
            } else {
                self.read_ready(py, local)
            };
            outcome.or_else(|e| report(py, e))?;
        }
        if self.wants_write() && driver::ready(&self.conn, true) {
            self.write_ready(py).or_else(|e| report(py, e))?;
        }
        Ok(())
    }
}

/// An error of the transport's own bookkeeping: kept only if it must stop the loop.
fn report(py: Python<'_>, e: PyErr) -> PyResult<()> {
    if crate::transport::conn::is_exit(py, &e) {
        return Err(e);
    }
    e.write_unraisable(py, None);
    Ok(())
}

impl Transport for Pipe {
    fn set_protocol(&self, protocol: &Bound<'_, PyAny>) -> PyResult<()> {
        let py = protocol.py();
        if !self.write {
            let received = protocol.getattr(intern!(py, "data_received"))?;
            *self.data_received.borrow_mut() = Some(received.unbind());
        }
        *self.conn.protocol.borrow_mut() = Some(protocol.clone().unbind());
        Ok(())
    }

    fn received(&self) -> Option<&RefCell<Option<Py<PyAny>>>> {
        Some(&self.data_received)
    }

    /// The duplicate fd, if any, is closed once the connection has deregistered it.
    fn connection_lost(&self, py: Python<'_>, exc: &Bound<'_, PyAny>) -> PyResult<()> {
        drop(self.data_received.borrow_mut().take());
        let lost = self.conn.connection_lost(py, exc);
        drop(self.dup.borrow_mut().take());
        lost
    }
}
