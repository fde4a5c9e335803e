//! What the native transports' Python objects (`SocketTransport`, `DatagramTransport`,
//! `PipeTransport`) share: a [`Shell`] around the state their driver drives, reached on the
//! loop's thread alone, and the Python methods that only read or steer the connection
//! ([`shell_methods!`]: closing, reading paused, the water marks, the protocol, the garbage
//! collector's hooks, `_state` for `__repr__`). What differs (writing, aborting, the
//! connection's loss, the constructor) is each transport's own.

use crate::loop_core::{CoreLoop, Local};
use crate::thread_bound::ThreadBound;
use crate::transport::conn::Conn;
use crate::transport::driver::{Drive, Driver};
use asyncio::embed::FdReadiness;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyMemoryView};
use pyo3::{PyTraverseError, PyVisit};
use std::cell::RefCell;
use std::os::fd::RawFd;
use std::rc::Rc;

/// A transport's state beyond what its driver needs: how it takes a new protocol, what it
/// holds beside its connection, and what it does when the connection is lost.
pub(crate) trait Transport: Drive + 'static {
    /// `set_protocol`: what reading calls is looked up on the new protocol.
    fn set_protocol(&self, protocol: &Bound<'_, PyAny>) -> PyResult<()>;

    /// The protocol's bound reading method (`datagram_received`, a pipe's `data_received`),
    /// where the transport holds it beside the connection's reader.
    fn received(&self) -> Option<&RefCell<Option<Py<PyAny>>>> {
        None
    }

    /// `_start_reading`, after `connection_made`: reading (or a pipe's watch of its reader)
    /// starts.
    fn start_reading(&self, _py: Python<'_>) -> PyResult<()> {
        let conn = self.conn();
        conn.started.set(true);
        conn.wake();
        Ok(())
    }

    /// `get_write_buffer_size`.
    fn write_buffer_size(&self) -> usize {
        self.conn().buffer.borrow().len()
    }

    /// `_call_connection_lost(exc)`.
    fn connection_lost(&self, py: Python<'_>, exc: &Bound<'_, PyAny>) -> PyResult<()> {
        self.conn().connection_lost(py, exc)
    }
}

/// Registers `fd` with `local`'s reactor.
pub(crate) fn register(local: &Local, fd: RawFd) -> std::io::Result<FdReadiness> {
    local.lp.entered(|| FdReadiness::new(fd))
}

/// `data` as `bytes`: itself, or a copy of a `bytearray` or `memoryview`; `None` for
/// anything else (each transport raises asyncio's error for it).
#[inline]
pub(crate) fn bytes_of<'py>(data: &Bound<'py, PyAny>) -> PyResult<Option<Bound<'py, PyBytes>>> {
    if let Ok(b) = data.cast::<PyBytes>() {
        return Ok(Some(b.clone()));
    }
    if data.is_instance_of::<PyByteArray>() || data.is_instance_of::<PyMemoryView>() {
        let copy = data.py().get_type::<PyBytes>().call1((data,))?;
        return Ok(Some(copy.cast_into::<PyBytes>()?));
    }
    Ok(None)
}

/// The state of one transport's Python object, on the thread of its loop (which it follows
/// when another thread takes the loop over).
pub(crate) struct Shell<T> {
    state: ThreadBound<Rc<T>>,
}

impl<T: Transport> Shell<T> {
    /// Starts `state`'s driver on `core`'s loop.
    pub(crate) fn start(core: &Bound<'_, CoreLoop>, local: &Local, state: Rc<T>) -> Self {
        local.lp.spawn(Driver {
            conn: state.clone(),
        });
        Shell {
            state: ThreadBound::follow(&core.get().local, state),
        }
    }

    /// The state, on the loop's thread (another thread takes it over, unless the loop runs).
    #[inline]
    pub(crate) fn get(&self) -> PyResult<&Rc<T>> {
        self.state.get()
    }

    #[inline]
    pub(crate) fn conn(&self) -> PyResult<&Conn> {
        Ok(self.state.get()?.conn())
    }

    pub(crate) fn is_reading(&self) -> PyResult<bool> {
        let conn = self.conn()?;
        Ok(!conn.closing.get() && !conn.paused.get())
    }

    pub(crate) fn pause_reading(&self) -> PyResult<()> {
        let conn = self.conn()?;
        if !conn.closing.get() && !conn.paused.get() {
            conn.paused.set(true);
        }
        Ok(())
    }

    pub(crate) fn resume_reading(&self) -> PyResult<()> {
        let conn = self.conn()?;
        if conn.closing.get() || !conn.paused.get() {
            return Ok(());
        }
        conn.paused.set(false);
        conn.wake();
        Ok(())
    }

    /// The references of a transport no longer driven (its loop closed while it was open),
    /// so that an abandoned transport is collected (and warned of, by the Python class);
    /// while the driver runs, the loop keeps them.
    pub(crate) fn traverse(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        let Some(state) = self.state.try_get() else {
            return Ok(());
        };
        if state.conn().driven.get() {
            return Ok(());
        }
        state.conn().traverse(&visit)?;
        if let Some(Ok(f)) = state.received().map(RefCell::try_borrow) {
            visit.call(&*f)?;
        }
        Ok(())
    }

    pub(crate) fn clear(&self) {
        if let Some(state) = self.state.try_get() {
            state.conn().clear();
            if let Some(Ok(mut f)) = state.received().map(RefCell::try_borrow_mut) {
                drop(f.take());
            }
        }
    }

    /// For `__repr__`: (lost, closing, reading, writing, buffer size).
    pub(crate) fn state(&self) -> PyResult<(bool, bool, bool, bool, usize)> {
        let state = self.state.get()?;
        let conn = state.conn();
        Ok((
            conn.finished.get(),
            conn.closing.get(),
            state.wants_read(),
            state.wants_write(),
            conn.buffer.borrow().len(),
        ))
    }
}

/// The Python methods every transport class has, over its `shell` field (a second
/// `#[pymethods]` block of the class).
macro_rules! shell_methods {
    ($class:ty) => {
        #[pymethods]
        impl $class {
            /// Stops reading; `connection_lost(None)` once what is buffered is sent (a
            /// pipe's read end: at the next turn).
            fn close(&self, py: Python<'_>) -> PyResult<()> {
                self.shell.conn()?.close(py)
            }

            fn is_closing(&self) -> PyResult<bool> {
                Ok(self.shell.conn()?.closing.get())
            }

            fn is_reading(&self) -> PyResult<bool> {
                self.shell.is_reading()
            }

            fn pause_reading(&self) -> PyResult<()> {
                self.shell.pause_reading()
            }

            fn resume_reading(&self) -> PyResult<()> {
                self.shell.resume_reading()
            }

            /// `(low, high)`.
            fn get_write_buffer_limits(&self) -> PyResult<(usize, usize)> {
                let conn = self.shell.conn()?;
                Ok((conn.low_water.get(), conn.high_water.get()))
            }

            #[pyo3(signature = (high=None, low=None))]
            fn set_write_buffer_limits(
                &self,
                py: Python<'_>,
                high: Option<i64>,
                low: Option<i64>,
            ) -> PyResult<()> {
                self.shell.conn()?.set_write_buffer_limits(py, high, low)
            }

            fn set_protocol(&self, protocol: &Bound<'_, PyAny>) -> PyResult<()> {
                $crate::transport::shell::Transport::set_protocol(&**self.shell.get()?, protocol)
            }

            fn get_write_buffer_size(&self) -> PyResult<usize> {
                Ok($crate::transport::shell::Transport::write_buffer_size(
                    &**self.shell.get()?,
                ))
            }

            #[pyo3(signature = (exc=None))]
            fn _call_connection_lost(
                &self,
                py: Python<'_>,
                exc: Option<&Bound<'_, PyAny>>,
            ) -> PyResult<()> {
                let none = py.None().into_bound(py);
                let exc = exc.unwrap_or(&none);
                $crate::transport::shell::Transport::connection_lost(&**self.shell.get()?, py, exc)
            }

            fn get_protocol(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
                Ok(self.shell.conn()?.protocol(py))
            }

            #[getter]
            fn _protocol_paused(&self) -> PyResult<bool> {
                Ok(self.shell.conn()?.protocol_paused.get())
            }

            /// After `connection_made`: reading (or a pipe's watch of its reader) starts.
            fn _start_reading(&self, py: Python<'_>) -> PyResult<()> {
                $crate::transport::shell::Transport::start_reading(&**self.shell.get()?, py)
            }

            fn __traverse__(&self, visit: pyo3::PyVisit<'_>) -> Result<(), pyo3::PyTraverseError> {
                self.shell.traverse(visit)
            }

            fn __clear__(&self) {
                self.shell.clear()
            }

            /// For `__repr__`: (lost, closing, reading, writing, buffer size).
            fn _state(&self) -> PyResult<(bool, bool, bool, bool, usize)> {
                self.shell.state()
            }
        }
    };
}

pub(crate) use shell_methods;
