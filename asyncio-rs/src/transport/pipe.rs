//! asyncio's pipe transports (`unix_events._UnixReadPipeTransport` and
//! `_UnixWritePipeTransport`), native: the methods the protocol calls (`write`, `close`,
//! `abort`, reading paused, the water marks), over the state and I/O in `pipe_end.rs`. The
//! Python classes the protocol sees are in `asyncio_rs._pipe`.

use crate::loop_core::{os_error, CoreLoop};
use crate::thread_bound::ThreadBound;
use crate::transport::conn::Conn;
use crate::transport::driver::{Drive, Driver};
use crate::transport::io::{self, would_block};
use crate::transport::pipe_end::{set_protocol, Pipe, LOG_THRESHOLD_FOR_CONNLOST_WRITES};
use asyncio::embed::FdReadiness;
use pyo3::exceptions::PyAssertionError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyMemoryView};
use std::cell::RefCell;
use std::os::fd::{AsRawFd, RawFd};
use std::rc::Rc;

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
        let local = CoreLoop::local_of(loop_.cast::<CoreLoop>()?)?.clone();
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
            p: ThreadBound::follow(&loop_.cast::<CoreLoop>()?.get().local, p),
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
