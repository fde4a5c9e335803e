//! asyncio's datagram transport (`_SelectorDatagramTransport`), native: the methods the
//! protocol calls (`sendto`, `close`, `abort`, the water marks), over the state and I/O in
//! `dgram.rs`. The Python class the protocol sees, `asyncio_rs._datagram._DatagramTransport`,
//! binds them in its instance dictionary.

use crate::loop_core::{os_error, CoreLoop};
use crate::thread_bound::ThreadBound;
use crate::transport::conn::{is_exit, Conn};
use crate::transport::dgram::{set_protocol, Dgram, Outcome, Queued};
use crate::transport::driver::{Drive, Driver};
use asyncio::embed::FdReadiness;
use pyo3::exceptions::{PyOSError, PyTypeError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyMemoryView};
use std::cell::RefCell;
use std::os::fd::RawFd;
use std::rc::Rc;

#[pyclass(frozen, module = "asyncio_rs._native")]
pub(crate) struct DatagramTransport {
    d: ThreadBound<Rc<Dgram>>,
}

impl DatagramTransport {
    fn d(&self) -> PyResult<&Rc<Dgram>> {
        self.d.get()
    }
}

#[pymethods]
impl DatagramTransport {
    /// Registers `sock`'s fd with `loop`'s reactor and starts the transport's driver;
    /// `address` is `remote_addr`, `connected` whether the socket has a peer.
    #[new]
    #[pyo3(signature = (loop_, sock, protocol, transport, address=None, connected=false, py313=false))]
    fn new(
        loop_: &Bound<'_, PyAny>,
        sock: &Bound<'_, PyAny>,
        protocol: &Bound<'_, PyAny>,
        transport: &Bound<'_, PyAny>,
        address: Option<&Bound<'_, PyAny>>,
        connected: bool,
        py313: bool,
    ) -> PyResult<Self> {
        let py = loop_.py();
        let local = CoreLoop::local_of(loop_.cast::<CoreLoop>()?)?.clone();
        let fd: RawFd = sock.call_method0(intern!(py, "fileno"))?.extract()?;
        let family: i32 = sock.getattr(intern!(py, "family"))?.extract()?;
        let io = local
            .lp
            .entered(|| FdReadiness::new(fd))
            .map_err(os_error)?;
        let conn = Conn::new(py, fd, io, &local, loop_, sock, transport)?;
        let d = Rc::new(Dgram {
            conn,
            queue: RefCell::default(),
            inet: family == libc::AF_INET,
            connected,
            py313,
            address: address.filter(|a| !a.is_none()).map(|a| a.clone().unbind()),
            datagram_received: RefCell::new(None),
            last_peer: RefCell::new(None),
        });
        set_protocol(&d, protocol)?;
        local.lp.spawn(Driver { conn: d.clone() });
        Ok(DatagramTransport {
            d: ThreadBound::follow(&loop_.cast::<CoreLoop>()?.get().local, d),
        })
    }

    /// asyncio's `sendto`: sent now if nothing is queued, else queued (a copy) for when the
    /// socket is writable. An `OSError` of the send goes to `protocol.error_received`.
    #[pyo3(signature = (data, addr=None))]
    fn sendto(&self, data: &Bound<'_, PyAny>, addr: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        let py = data.py();
        let d = self.d()?;
        let conn = &d.conn;
        let bytes = if let Ok(b) = data.cast::<PyBytes>() {
            b.clone()
        } else if data.is_instance_of::<PyByteArray>() || data.is_instance_of::<PyMemoryView>() {
            py.get_type::<PyBytes>()
                .call1((data,))?
                .cast_into::<PyBytes>()?
        } else {
            return Err(PyTypeError::new_err(format!(
                "data argument must be a bytes-like object, not {}",
                data.get_type().name()?.repr()?
            )));
        };
        if bytes.as_bytes().is_empty() && !d.py313 {
            return Ok(());
        }
        let mut addr = addr.filter(|a| !a.is_none()).cloned();
        if let Some(address) = &d.address {
            let address = address.bind(py);
            if let Some(a) = &addr {
                if !a.is(address) && !a.eq(address)? {
                    return Err(PyValueError::new_err(format!(
                        "Invalid address: must be None or {}",
                        address.str()?
                    )));
                }
            }
            addr = Some(address.clone());
        }
        // After `close()` or a fatal error: counted and dropped, as asyncio does for a
        // connected transport. Its unconnected one still sends while the socket is open (until
        // `connection_lost`), and so does this one; after that, asyncio fails on the closed
        // socket (`AttributeError`), and this one counts and drops.
        if conn.conn_lost.get() != 0 && (d.address.is_some() || conn.finished.get()) {
            return conn.write_after_lost(py);
        }
        if d.queue.borrow().is_empty() {
            match d.send_one(py, &bytes, addr.as_ref()) {
                Outcome::Done(()) => return Ok(()),
                // The driver now waits for the socket to take the queue.
                Outcome::WouldBlock => conn.wake(),
                Outcome::Failed(e) if e.is_instance_of::<PyOSError>(py) => {
                    let protocol = conn.protocol(py);
                    return protocol
                        .bind(py)
                        .call_method1(intern!(py, "error_received"), (e.value(py),))
                        .map(drop);
                }
                Outcome::Failed(e) if is_exit(py, &e) => return Err(e),
                Outcome::Failed(e) => {
                    return conn.fatal_error(py, e, "Fatal write error on datagram transport")
                }
            }
        }
        conn.buffer.borrow_mut().extend(bytes.as_bytes());
        d.queue.borrow_mut().push_back(Queued {
            len: bytes.as_bytes().len(),
            addr: addr.map(Bound::unbind),
        });
        conn.maybe_pause_protocol(py)
    }

    /// Stops reading; `connection_lost(None)` once the queue is sent.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        self.d()?.conn.close(py)
    }

    /// Closes at once: the queue is dropped; `connection_lost(None)` at the next turn.
    fn abort(&self, py: Python<'_>) -> PyResult<()> {
        self.d()?.clear_queue();
        self.d()?.conn.force_close(py, None)
    }

    #[pyo3(signature = (exc=None))]
    fn _force_close(&self, exc: Option<&Bound<'_, PyAny>>, py: Python<'_>) -> PyResult<()> {
        let d = self.d()?;
        d.clear_queue();
        d.conn
            .force_close(py, exc.filter(|e| !e.is_none()).cloned())
    }

    #[pyo3(signature = (exc, message="Fatal error on transport"))]
    fn _fatal_error(&self, exc: &Bound<'_, PyAny>, message: &str) -> PyResult<()> {
        let d = self.d()?;
        d.clear_queue();
        d.conn
            .fatal_error(exc.py(), PyErr::from_value(exc.clone()), message)
    }

    fn is_closing(&self) -> PyResult<bool> {
        Ok(self.d()?.conn.closing.get())
    }

    fn is_reading(&self) -> PyResult<bool> {
        let conn = &self.d()?.conn;
        Ok(!conn.closing.get() && !conn.paused.get())
    }

    /// No datagram is read (the kernel queues them, and drops what does not fit) until
    /// `resume_reading`.
    fn pause_reading(&self) -> PyResult<()> {
        let conn = &self.d()?.conn;
        if !conn.closing.get() && !conn.paused.get() {
            conn.paused.set(true);
        }
        Ok(())
    }

    fn resume_reading(&self) -> PyResult<()> {
        let conn = &self.d()?.conn;
        if conn.closing.get() || !conn.paused.get() {
            return Ok(());
        }
        conn.paused.set(false);
        conn.wake();
        Ok(())
    }

    fn get_write_buffer_size(&self) -> PyResult<usize> {
        let d = self.d()?;
        let header = if d.py313 {
            8 * d.queue.borrow().len()
        } else {
            0
        };
        Ok(d.conn.buffer.borrow().len() + header)
    }

    /// `(low, high)`.
    fn get_write_buffer_limits(&self) -> PyResult<(usize, usize)> {
        let conn = &self.d()?.conn;
        Ok((conn.low_water.get(), conn.high_water.get()))
    }

    #[pyo3(signature = (high=None, low=None))]
    fn set_write_buffer_limits(
        &self,
        py: Python<'_>,
        high: Option<i64>,
        low: Option<i64>,
    ) -> PyResult<()> {
        self.d()?.conn.set_write_buffer_limits(py, high, low)
    }

    fn set_protocol(&self, protocol: &Bound<'_, PyAny>) -> PyResult<()> {
        set_protocol(self.d()?, protocol)
    }

    fn get_protocol(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        Ok(self.d()?.conn.protocol(py))
    }

    #[getter]
    fn _protocol_paused(&self) -> PyResult<bool> {
        Ok(self.d()?.conn.protocol_paused.get())
    }

    /// After `connection_made`: reading starts.
    fn _start_reading(&self) -> PyResult<()> {
        let conn = &self.d()?.conn;
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
        let d = self.d()?;
        d.clear_queue();
        drop(d.datagram_received.borrow_mut().take());
        d.conn.connection_lost(py, exc.unwrap_or(&none))
    }

    /// The references of a transport no longer driven (its loop closed while it was open).
    fn __traverse__(&self, visit: pyo3::PyVisit<'_>) -> Result<(), pyo3::PyTraverseError> {
        let Some(d) = self.d.try_get() else {
            return Ok(());
        };
        if d.conn.driven.get() {
            return Ok(());
        }
        d.conn.traverse(&visit)?;
        if let Ok(f) = d.datagram_received.try_borrow() {
            visit.call(&*f)?;
        }
        Ok(())
    }

    fn __clear__(&self) {
        if let Some(d) = self.d.try_get() {
            d.conn.clear();
            if let Ok(mut f) = d.datagram_received.try_borrow_mut() {
                drop(f.take());
            }
        }
    }

    /// For `__repr__`: (lost, closing, reading, writing, buffer size).
    fn _state(&self) -> PyResult<(bool, bool, bool, bool, usize)> {
        let d = self.d()?;
        Ok((
            d.conn.finished.get(),
            d.conn.closing.get(),
            d.wants_read(),
            d.wants_write(),
            d.conn.buffer.borrow().len(),
        ))
    }
}
