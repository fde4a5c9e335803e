//! asyncio's pipe transports (`unix_events._UnixReadPipeTransport` and
//! `_UnixWritePipeTransport`), native: the driver reads a read end and calls
//! `data_received` / `eof_received`, and flushes a write end's buffer, from Rust.
//!
//! As asyncio's, the write end of a pipe or socket is also watched for reading: it becomes
//! readable (or in error) when the reader closes, which loses the connection at once
//! (`BrokenPipeError` if bytes were still buffered). The Python classes the protocol sees
//! are in `asyncio_rs._pipe`.

use crate::loop_core::{os_error, CoreLoop, Local};
use crate::thread_bound::ThreadBound;
use crate::transport::conn::Conn;
use crate::transport::driver::{self, Drive, Driver};
use crate::transport::io::{self, would_block};
use asyncio::embed::FdReadiness;
use pyo3::exceptions::{PyAssertionError, PyBrokenPipeError, PyOSError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyDict, PyMemoryView};
use std::cell::RefCell;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::rc::Rc;

/// The most one read takes (64 KiB, as the socket driver's: asyncio's 256 KiB would make
/// each read an `mmap`).
const MAX_SIZE: usize = 64 * 1024;

/// asyncio's `constants.LOG_THRESHOLD_FOR_CONNLOST_WRITES`.
const LOG_THRESHOLD_FOR_CONNLOST_WRITES: u32 = 5;

pub(crate) struct Pipe {
    conn: Conn,
    /// The write end (else the read end).
    write: bool,
    /// A write end that is a pipe or socket: watched for the reader closing.
    watch_read: bool,
    /// The read end's bound `protocol.data_received`.
    data_received: RefCell<Option<Py<PyAny>>>,
    /// The duplicate of the fd the transport works on, when the fd itself is registered
    /// already; closed after `conn` deregisters it.
    dup: RefCell<Option<OwnedFd>>,
}

impl Pipe {
    /// asyncio's read end `_fatal_error`: `EIO` (a pty whose other side closed) is quiet;
    /// any other error goes to the exception handler. The transport is then closed.
    fn read_fatal(&self, py: Python<'_>, exc: PyErr, message: &str) -> PyResult<()> {
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
        let ready = |write| {
            self.conn
                .io
                .borrow()
                .as_ref()
                .is_some_and(|io| io.is_ready(write))
        };
        if self.wants_read() && ready(false) {
            let outcome = if self.write {
                self.peer_closed(py)
            } else {
                self.read_ready(py, local)
            };
            outcome.or_else(|e| report(py, e))?;
        }
        if self.wants_write() && ready(true) {
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

#[pyclass(frozen, module = "asyncio_rs._native")]
pub(crate) struct PipeTransport {
    p: ThreadBound<Rc<Pipe>>,
}

impl PipeTransport {
    fn p(&self) -> PyResult<&Rc<Pipe>> {
        self.p.get()
    }
}

#[pymethods]
impl PipeTransport {
    /// Registers `pipe`'s fd (non-blocking already) with `loop`'s reactor and starts the
    /// driver; `write`: the write end, `watch_read`: watched for its reader closing.
    #[new]
    #[pyo3(signature = (loop_, pipe, protocol, transport, write, watch_read))]
    fn new(
        loop_: &Bound<'_, PyAny>,
        pipe: &Bound<'_, PyAny>,
        protocol: &Bound<'_, PyAny>,
        transport: &Bound<'_, PyAny>,
        write: bool,
        watch_read: bool,
    ) -> PyResult<Self> {
        let py = loop_.py();
        let local = loop_.cast::<CoreLoop>()?.get().local.get()?.clone();
        let fd: RawFd = pipe.call_method0(intern!(py, "fileno"))?.extract()?;
        let mut dup = None;
        let io = match local.lp.entered(|| FdReadiness::new(fd)) {
            Ok(io) => io,
            // The fd is another transport's already (a pty read and written through one
            // fd, as asyncio's selector allows): this one works on a duplicate, which
            // shares the open file, and closes it when done.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                // SAFETY: `fd` is the open fd of `pipe` (the reactor just found it
                // registered), which keeps it open across this call.
                let own = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) }
                    .try_clone_to_owned()
                    .map_err(os_error)?;
                let io = local
                    .lp
                    .entered(|| FdReadiness::new(own.as_raw_fd()))
                    .map_err(os_error)?;
                dup = Some(own);
                io
            }
            Err(e) => return Err(os_error(e)),
        };
        let io_fd = dup.as_ref().map_or(fd, |d| d.as_raw_fd());
        let conn = Conn::new(py, io_fd, io, &local, loop_, pipe, transport)?;
        let p = Rc::new(Pipe {
            conn,
            write,
            watch_read,
            data_received: RefCell::new(None),
            dup: RefCell::new(dup),
        });
        set_protocol(&p, protocol)?;
        local.lp.spawn(Driver { conn: p.clone() });
        Ok(PipeTransport {
            p: ThreadBound::new(p),
        })
    }

    /// asyncio's write end `write`: written now if the buffer is empty; the rest is
    /// buffered until the pipe is writable.
    fn write(&self, data: &Bound<'_, PyAny>) -> PyResult<()> {
        let py = data.py();
        let p = self.p()?;
        let conn = &p.conn;
        let bytes = if let Ok(b) = data.cast::<PyBytes>() {
            b.clone()
        } else if data.is_instance_of::<PyByteArray>() || data.is_instance_of::<PyMemoryView>() {
            py.get_type::<PyBytes>()
                .call1((data,))?
                .cast_into::<PyBytes>()?
        } else {
            return Err(PyAssertionError::new_err(data.repr()?.to_string()));
        };
        let bytes = bytes.as_bytes();
        if bytes.is_empty() {
            return Ok(());
        }
        if conn.conn_lost.get() != 0 || conn.closing.get() {
            // (Counted once the connection is lost: before, the buffer still flushes.)
            if conn.conn_lost.get() != 0 {
                if conn.conn_lost.get() >= LOG_THRESHOLD_FOR_CONNLOST_WRITES {
                    py.import(intern!(py, "asyncio.log"))?
                        .getattr(intern!(py, "logger"))?
                        .call_method1(
                            intern!(py, "warning"),
                            ("pipe closed by peer or os.write(pipe, data) raised exception.",),
                        )?;
                }
                conn.conn_lost.set(conn.conn_lost.get() + 1);
            }
            return Ok(());
        }
        let mut rest = bytes;
        if conn.buffer.borrow().is_empty() {
            match io::write(conn.fd, bytes) {
                Ok(n) if n == bytes.len() => return Ok(()),
                Ok(n) => rest = &bytes[n..],
                Err(e) if would_block(&e) => {}
                Err(e) => {
                    return conn.fatal_error(py, os_error(e), "Fatal write error on pipe transport")
                }
            }
            conn.wake();
        }
        conn.buffer.borrow_mut().extend(rest);
        conn.maybe_pause_protocol(py)
    }

    fn can_write_eof(&self) -> bool {
        true
    }

    /// Write end: `connection_lost(None)` once the buffer is flushed (asyncio's `write_eof`
    /// and `close`). Read end: stops reading; `connection_lost(None)` at the next turn.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        self.p()?.conn.close(py)
    }

    /// Closes at once, dropping the buffer; `connection_lost(None)` at the next turn.
    fn abort(&self, py: Python<'_>) -> PyResult<()> {
        self.p()?.conn.force_close(py, None)
    }

    #[pyo3(signature = (exc, message="Fatal error on pipe transport"))]
    fn _fatal_error(&self, exc: &Bound<'_, PyAny>, message: &str) -> PyResult<()> {
        let py = exc.py();
        let p = self.p()?;
        let exc = PyErr::from_value(exc.clone());
        if p.write {
            p.conn.fatal_error(py, exc, message)
        } else {
            p.read_fatal(py, exc, message)
        }
    }

    fn is_closing(&self) -> PyResult<bool> {
        Ok(self.p()?.conn.closing.get())
    }

    fn is_reading(&self) -> PyResult<bool> {
        let conn = &self.p()?.conn;
        Ok(!conn.paused.get() && !conn.closing.get())
    }

    fn pause_reading(&self) -> PyResult<()> {
        let conn = &self.p()?.conn;
        if !conn.closing.get() && !conn.paused.get() {
            conn.paused.set(true);
        }
        Ok(())
    }

    fn resume_reading(&self) -> PyResult<()> {
        let conn = &self.p()?.conn;
        if conn.closing.get() || !conn.paused.get() {
            return Ok(());
        }
        conn.paused.set(false);
        conn.wake();
        Ok(())
    }

    fn get_write_buffer_size(&self) -> PyResult<usize> {
        Ok(self.p()?.conn.buffer.borrow().len())
    }

    /// `(low, high)`.
    fn get_write_buffer_limits(&self) -> PyResult<(usize, usize)> {
        let conn = &self.p()?.conn;
        Ok((conn.low_water.get(), conn.high_water.get()))
    }

    #[pyo3(signature = (high=None, low=None))]
    fn set_write_buffer_limits(
        &self,
        py: Python<'_>,
        high: Option<i64>,
        low: Option<i64>,
    ) -> PyResult<()> {
        self.p()?.conn.set_write_buffer_limits(py, high, low)
    }

    fn set_protocol(&self, protocol: &Bound<'_, PyAny>) -> PyResult<()> {
        set_protocol(self.p()?, protocol)
    }

    fn get_protocol(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        Ok(self.p()?.conn.protocol(py))
    }

    #[getter]
    fn _protocol_paused(&self) -> PyResult<bool> {
        Ok(self.p()?.conn.protocol_paused.get())
    }

    /// After `connection_made`: reading (or the watch of the reader) starts.
    fn _start_reading(&self) -> PyResult<()> {
        let conn = &self.p()?.conn;
        conn.started.set(true);
        conn.wake();
        Ok(())
    }

    #[pyo3(signature = (exc=None))]
    fn _call_connection_lost(
        &self,
        py: Python<'_>,
        exc: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let none = py.None().into_bound(py);
        let p = self.p()?;
        drop(p.data_received.borrow_mut().take());
        let lost = p.conn.connection_lost(py, exc.unwrap_or(&none));
        drop(p.dup.borrow_mut().take());
        lost
    }

    /// The references of a transport no longer driven (its loop closed while it was open).
    fn __traverse__(&self, visit: pyo3::PyVisit<'_>) -> Result<(), pyo3::PyTraverseError> {
        let Some(p) = self.p.try_get() else {
            return Ok(());
        };
        if p.conn.driven.get() {
            return Ok(());
        }
        p.conn.traverse(&visit)?;
        if let Ok(f) = p.data_received.try_borrow() {
            visit.call(&*f)?;
        }
        Ok(())
    }

    fn __clear__(&self) {
        if let Some(p) = self.p.try_get() {
            p.conn.clear();
            if let Ok(mut f) = p.data_received.try_borrow_mut() {
                drop(f.take());
            }
        }
    }

    /// For `__repr__`: (lost, closing, polling, buffer size).
    fn _state(&self) -> PyResult<(bool, bool, bool, usize)> {
        let p = self.p()?;
        let polling = if p.write {
            p.wants_write()
        } else {
            p.wants_read()
        };
        Ok((
            p.conn.finished.get(),
            p.conn.closing.get(),
            polling,
            p.conn.buffer.borrow().len(),
        ))
    }
}

fn set_protocol(p: &Pipe, protocol: &Bound<'_, PyAny>) -> PyResult<()> {
    let py = protocol.py();
    if !p.write {
        let received = protocol.getattr(intern!(py, "data_received"))?;
        *p.data_received.borrow_mut() = Some(received.unbind());
    }
    *p.conn.protocol.borrow_mut() = Some(protocol.clone().unbind());
    Ok(())
}
