//! One connection's state, and what asyncio's `_SelectorTransport` and `_FlowControlMixin`
//! do with it: the write buffer and its water marks, closing, the fatal-error path, and the
//! calls into the protocol.

use crate::loop_core::Local;
use crate::transport::io::WriteBuffer;
use crate::transport::stream_feed::StreamFeed;
use crate::transport::DEFAULT_HIGH_WATER;
use asyncio::embed::FdReadiness;
use pyo3::exceptions::{PyKeyboardInterrupt, PySystemExit};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyType};
use std::cell::{Cell, RefCell};
use std::os::fd::RawFd;
use std::rc::Weak;
use std::task::Waker;

/// asyncio's `constants.LOG_THRESHOLD_FOR_CONNLOST_WRITES`.
const LOG_THRESHOLD_FOR_CONNLOST_WRITES: u32 = 5;

/// What reading calls on the protocol, looked up once per `set_protocol`.
pub(crate) enum Reader {
    /// A `Protocol`: its bound `data_received`, and the streams fast path for asyncio's
    /// `StreamReaderProtocol`.
    Data(Py<PyAny>, Option<StreamFeed>),
    /// A `BufferedProtocol`: its bound `get_buffer` and `buffer_updated`.
    Buffered(Py<PyAny>, Py<PyAny>),
}

pub(crate) struct Conn {
    pub(crate) fd: RawFd,
    /// The reactor registration; dropped (deregistered) before the socket is closed.
    pub(crate) io: RefCell<Option<FdReadiness>>,
    pub(crate) local: Weak<Local>,
    pub(crate) loop_: Py<PyAny>,
    /// The context the protocol's callbacks run in (asyncio's reader handle's).
    pub(crate) context: Py<PyAny>,
    pub(crate) sock: RefCell<Option<Py<PyAny>>>,
    /// The Python transport object the protocol sees (`asyncio_rs._loop._SocketTransport`);
    /// dropped when the connection is lost, which ends the cycle through it.
    pub(crate) transport: RefCell<Option<Py<PyAny>>>,
    pub(crate) protocol: RefCell<Option<Py<PyAny>>>,
    pub(crate) reader: RefCell<Option<Reader>>,
    pub(crate) server: RefCell<Option<Py<PyAny>>>,
    pub(crate) buffer: RefCell<WriteBuffer>,
    pub(crate) high_water: Cell<usize>,
    pub(crate) low_water: Cell<usize>,
    pub(crate) protocol_paused: Cell<bool>,
    /// `connection_made` has been called: reading may start.
    pub(crate) started: Cell<bool>,
    /// `pause_reading()`.
    pub(crate) paused: Cell<bool>,
    /// `close()` (or a fatal error).
    pub(crate) closing: Cell<bool>,
    /// `write_eof()`.
    pub(crate) eof: Cell<bool>,
    /// End of file was read and the protocol kept the connection open: no more reading.
    pub(crate) read_done: Cell<bool>,
    /// asyncio's `_conn_lost`: set when `connection_lost` is scheduled, then counts writes.
    pub(crate) conn_lost: Cell<u32>,
    /// `connection_lost` has run: the driver task ends.
    pub(crate) finished: Cell<bool>,
    /// The driver task is on the loop: it keeps the connection's Python objects alive, so the
    /// garbage collector must not see them (`SocketTransport::__traverse__`).
    pub(crate) driven: Cell<bool>,
    /// The driver task's waker, woken when what it waits for changes.
    pub(crate) waker: RefCell<Option<Waker>>,
    /// asyncio's `_empty_waiter`: a future `loop.sendfile` waits on for the buffer to empty;
    /// `write()` is refused while it is set.
    pub(crate) empty_waiter: RefCell<Option<Py<PyAny>>>,
    /// The server's `_detach` takes the transport (Python 3.13+).
    pub(crate) detach_with_transport: bool,
}

impl Conn {
    /// A connection on `fd`, registered as `io`, in its initial state (not reading yet, no
    /// protocol, asyncio's default water marks); `file` is what `connection_lost` closes.
    pub(crate) fn new(
        py: Python<'_>,
        fd: RawFd,
        io: FdReadiness,
        local: &std::rc::Rc<Local>,
        loop_: &Bound<'_, PyAny>,
        file: &Bound<'_, PyAny>,
        transport: &Bound<'_, PyAny>,
    ) -> PyResult<Conn> {
        Ok(Conn {
            fd,
            io: RefCell::new(Some(io)),
            local: std::rc::Rc::downgrade(local),
            loop_: loop_.clone().unbind(),
            context: crate::handle::copy_context(py)?,
            sock: RefCell::new(Some(file.clone().unbind())),
            transport: RefCell::new(Some(transport.clone().unbind())),
            protocol: RefCell::new(None),
            reader: RefCell::new(None),
            server: RefCell::new(None),
            buffer: RefCell::default(),
            high_water: Cell::new(DEFAULT_HIGH_WATER),
            low_water: Cell::new(DEFAULT_HIGH_WATER / 4),
            protocol_paused: Cell::new(false),
            started: Cell::new(false),
            paused: Cell::new(false),
            closing: Cell::new(false),
            eof: Cell::new(false),
            read_done: Cell::new(false),
            conn_lost: Cell::new(0),
            finished: Cell::new(false),
            driven: Cell::new(true),
            waker: RefCell::new(None),
            empty_waiter: RefCell::new(None),
            detach_with_transport: false,
        })
    }

    pub(crate) fn wants_read(&self) -> bool {
        self.started.get()
            && !self.paused.get()
            && !self.closing.get()
            && !self.read_done.get()
            && self.conn_lost.get() == 0
    }

    pub(crate) fn wants_write(&self) -> bool {
        self.conn_lost.get() == 0 && !self.buffer.borrow().is_empty()
    }

    /// Tells the driver task to look again at what it waits for.
    pub(crate) fn wake(&self) {
        if let Some(waker) = self.waker.borrow().as_ref() {
            waker.wake_by_ref();
        }
    }

    pub(crate) fn transport(&self, py: Python<'_>) -> Py<PyAny> {
        match &*self.transport.borrow() {
            Some(t) => t.clone_ref(py),
            None => py.None(),
        }
    }

    pub(crate) fn protocol(&self, py: Python<'_>) -> Py<PyAny> {
        match &*self.protocol.borrow() {
            Some(p) => p.clone_ref(py),
            None => py.None(),
        }
    }

    pub(crate) fn set_protocol(&self, protocol: &Bound<'_, PyAny>) -> PyResult<()> {
        let py = protocol.py();
        static BUFFERED: PyOnceLock<Py<PyType>> = PyOnceLock::new();
        let buffered = BUFFERED.import(py, "asyncio.protocols", "BufferedProtocol")?;
        let reader = if protocol.is_instance(buffered)? {
            Reader::Buffered(
                protocol.getattr(intern!(py, "get_buffer"))?.unbind(),
                protocol.getattr(intern!(py, "buffer_updated"))?.unbind(),
            )
        } else {
            Reader::Data(
                protocol.getattr(intern!(py, "data_received"))?.unbind(),
                StreamFeed::detect(protocol)?,
            )
        };
        *self.reader.borrow_mut() = Some(reader);
        *self.protocol.borrow_mut() = Some(protocol.clone().unbind());
        Ok(())
    }

    /// Calls `f` inside the transport's context. `KeyboardInterrupt` and `SystemExit` are
    /// returned as `Err(Some)`; another exception goes to `fatal_error` with `message` and
    /// comes back as `Err(None)`.
    pub(crate) fn call_protocol<'py, R>(
        &self,
        py: Python<'py>,
        message: &str,
        f: impl FnOnce() -> PyResult<R>,
    ) -> Result<R, Option<PyErr>> {
        let called = crate::handle::in_context(py, &self.context, f);
        match called {
            Ok(r) => Ok(r),
            Err(e) if is_exit(py, &e) => Err(Some(e)),
            Err(e) => {
                self.fatal_error(py, e, message).map_err(Some)?;
                Err(None)
            }
        }
    }

    /// Calls `f` inside the transport's context as asyncio's reader handle would: an
    /// exception goes to the loop's exception handler (`Exception in callback {what}`) and the
    /// transport stays open; `KeyboardInterrupt` and `SystemExit` are returned.
    pub(crate) fn call_reported(
        &self,
        py: Python<'_>,
        what: &str,
        f: impl FnOnce() -> PyResult<()>,
    ) -> PyResult<()> {
        match crate::handle::in_context(py, &self.context, f) {
            Ok(()) => Ok(()),
            Err(e) if is_exit(py, &e) => Err(e),
            Err(e) => {
                let context = PyDict::new(py);
                context.set_item("message", format!("Exception in callback {what}"))?;
                context.set_item("exception", e.value(py))?;
                context.set_item("transport", self.transport(py))?;
                context.set_item("protocol", self.protocol(py))?;
                self.loop_
                    .bind(py)
                    .call_method1(intern!(py, "call_exception_handler"), (context,))?;
                Ok(())
            }
        }
    }

    /// asyncio's `_fatal_error`: an `OSError` is only logged in debug mode; anything else goes
    /// to the loop's exception handler. The connection is then closed without flushing.
    pub(crate) fn fatal_error(&self, py: Python<'_>, exc: PyErr, message: &str) -> PyResult<()> {
        let is_os_error = exc.is_instance_of::<pyo3::exceptions::PyOSError>(py);
        let value = exc.value(py).clone().into_any();
        if !is_os_error {
            let context = PyDict::new(py);
            context.set_item("message", message)?;
            context.set_item("exception", &value)?;
            context.set_item("transport", self.transport(py))?;
            context.set_item("protocol", self.protocol(py))?;
            self.loop_
                .bind(py)
                .call_method1(intern!(py, "call_exception_handler"), (context,))?;
        }
        self.force_close(py, Some(value))
    }

    /// asyncio's `_force_close`: drops the write buffer, stops reading and schedules
    /// `connection_lost(exc)`.
    pub(crate) fn force_close(
        &self,
        py: Python<'_>,
        exc: Option<Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        if self.conn_lost.get() != 0 {
            return Ok(());
        }
        self.buffer.borrow_mut().clear();
        self.closing.set(true);
        self.conn_lost.set(1);
        self.schedule_connection_lost(py, exc)
    }

    /// asyncio's `close`: stops reading; `connection_lost(None)` comes once the buffer is
    /// flushed.
    pub(crate) fn close(&self, py: Python<'_>) -> PyResult<()> {
        if self.closing.get() {
            return Ok(());
        }
        self.closing.set(true);
        if self.buffer.borrow().is_empty() {
            self.conn_lost.set(self.conn_lost.get() + 1);
            self.schedule_connection_lost(py, None)?;
        }
        self.wake();
        Ok(())
    }

    fn schedule_connection_lost(
        &self,
        py: Python<'_>,
        exc: Option<Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let transport = self.transport(py);
        let callback = transport
            .bind(py)
            .getattr(intern!(py, "_call_connection_lost"))?;
        self.loop_
            .bind(py)
            .call_method1(intern!(py, "call_soon"), (callback, exc))?;
        self.wake();
        Ok(())
    }

    /// Completes the empty waiter, if any and not done: with `None` when `exc` is `None`.
    pub(crate) fn settle_empty_waiter(
        &self,
        py: Python<'_>,
        exc: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let waiter = self.empty_waiter.borrow().as_ref().map(|w| w.clone_ref(py));
        let Some(waiter) = waiter else { return Ok(()) };
        let waiter = waiter.bind(py);
        if waiter.call_method0(intern!(py, "done"))?.is_truthy()? {
            return Ok(());
        }
        match exc {
            None => waiter.call_method1(intern!(py, "set_result"), (py.None(),))?,
            Some(e) => waiter.call_method1(intern!(py, "set_exception"), (e,))?,
        };
        Ok(())
    }

    /// `write()` after the connection was lost: counted, and logged past asyncio's threshold.
    pub(crate) fn write_after_lost(&self, py: Python<'_>) -> PyResult<()> {
        if self.conn_lost.get() >= LOG_THRESHOLD_FOR_CONNLOST_WRITES {
            py.import(intern!(py, "asyncio.log"))?
                .getattr(intern!(py, "logger"))?
                .call_method1(intern!(py, "warning"), ("socket.send() raised exception.",))?;
        }
        self.conn_lost.set(self.conn_lost.get() + 1);
        Ok(())
    }

    /// `_FlowControlMixin.set_write_buffer_limits`.
    pub(crate) fn set_write_buffer_limits(
        &self,
        py: Python<'_>,
        high: Option<i64>,
        low: Option<i64>,
    ) -> PyResult<()> {
        let high = match (high, low) {
            (Some(h), _) => h,
            (None, None) => DEFAULT_HIGH_WATER as i64,
            (None, Some(l)) => 4 * l,
        };
        let low = low.unwrap_or(high / 4);
        if !(high >= low && low >= 0) {
            return Err(pyo3::exceptions::PyValueError::new_err(format!(
                "high ({high}) must be >= low ({low}) must be >= 0"
            )));
        }
        self.high_water.set(high as usize);
        self.low_water.set(low as usize);
        self.maybe_pause_protocol(py)
    }

    /// `_FlowControlMixin._maybe_pause_protocol`, from `write()`: `pause_writing` runs in
    /// the writer's context.
    pub(crate) fn maybe_pause_protocol(&self, py: Python<'_>) -> PyResult<()> {
        if self.buffer.borrow().len() <= self.high_water.get() || self.protocol_paused.get() {
            return Ok(());
        }
        self.protocol_paused.set(true);
        self.flow_call(py, "pause_writing", false)
    }

    /// `_FlowControlMixin._maybe_resume_protocol`, from the driver, in the transport's
    /// context.
    pub(crate) fn maybe_resume_protocol(&self, py: Python<'_>) -> PyResult<()> {
        if !self.protocol_paused.get() || self.buffer.borrow().len() > self.low_water.get() {
            return Ok(());
        }
        self.protocol_paused.set(false);
        self.flow_call(py, "resume_writing", true)
    }

    /// `protocol.pause_writing()` / `resume_writing()`: an exception goes to the exception
    /// handler, the connection stays.
    fn flow_call(&self, py: Python<'_>, name: &str, enter: bool) -> PyResult<()> {
        let protocol = self.protocol(py);
        let call = || protocol.bind(py).call_method0(name).map(drop);
        let called = if enter {
            crate::handle::in_context(py, &self.context, call)
        } else {
            call()
        };
        match called {
            Ok(()) => Ok(()),
            Err(e) if is_exit(py, &e) => Err(e),
            Err(e) => {
                let context = PyDict::new(py);
                context.set_item("message", format!("protocol.{name}() failed"))?;
                context.set_item("exception", e.value(py))?;
                context.set_item("transport", self.transport(py))?;
                context.set_item("protocol", protocol)?;
                self.loop_
                    .bind(py)
                    .call_method1(intern!(py, "call_exception_handler"), (context,))?;
                Ok(())
            }
        }
    }

    /// asyncio's `_call_connection_lost`: `protocol.connection_lost(exc)`, then the socket is
    /// closed and every reference the connection holds is dropped.
    pub(crate) fn connection_lost(&self, py: Python<'_>, exc: &Bound<'_, PyAny>) -> PyResult<()> {
        if self.finished.get() {
            return Ok(());
        }
        let protocol = self.protocol.borrow().as_ref().map(|p| p.clone_ref(py));
        // In the context of the handle that called this, as asyncio does.
        let called = match protocol {
            Some(p) => p
                .bind(py)
                .call_method1(intern!(py, "connection_lost"), (exc,))
                .map(drop),
            None => Ok(()),
        };
        self.finished.set(true);
        self.buffer.borrow_mut().clear();
        drop(self.io.borrow_mut().take());
        let sock = self.sock.borrow_mut().take();
        let closed = match &sock {
            Some(s) => s.bind(py).call_method0(intern!(py, "close")).map(drop),
            None => Ok(()),
        };
        let server = self.server.borrow_mut().take();
        let detached = match &server {
            Some(s) if self.detach_with_transport => s
                .bind(py)
                .call_method1(intern!(py, "_detach"), (self.transport(py),))
                .map(drop),
            Some(s) => s.bind(py).call_method0(intern!(py, "_detach")).map(drop),
            None => Ok(()),
        };
        drop(self.reader.borrow_mut().take());
        drop(self.protocol.borrow_mut().take());
        drop(self.transport.borrow_mut().take());
        self.wake();
        let lost = pyo3::exceptions::PyConnectionError::new_err("Connection is closed by peer");
        let waiter = self.settle_empty_waiter(py, Some(lost.value(py).as_any()));
        called.and(closed).and(detached).and(waiter)
    }
}

impl Conn {
    /// The Python objects the connection holds, for the garbage collector.
    pub(crate) fn traverse(&self, visit: &pyo3::PyVisit<'_>) -> Result<(), pyo3::PyTraverseError> {
        visit.call(&self.loop_)?;
        visit.call(&self.context)?;
        for cell in [
            &self.sock,
            &self.transport,
            &self.protocol,
            &self.server,
            &self.empty_waiter,
        ] {
            if let Ok(obj) = cell.try_borrow() {
                visit.call(&*obj)?;
            }
        }
        if let Ok(reader) = self.reader.try_borrow() {
            match &*reader {
                Some(Reader::Data(f, feed)) => {
                    visit.call(f)?;
                    if let Some(feed) = feed {
                        feed.traverse(visit)?;
                    }
                }
                Some(Reader::Buffered(g, u)) => {
                    visit.call(g)?;
                    visit.call(u)?;
                }
                None => {}
            }
        }
        Ok(())
    }

    /// Drops the references that can make cycles (the transport, the protocol).
    pub(crate) fn clear(&self) {
        for cell in [
            &self.transport,
            &self.protocol,
            &self.server,
            &self.empty_waiter,
        ] {
            if let Ok(mut obj) = cell.try_borrow_mut() {
                drop(obj.take());
            }
        }
        if let Ok(mut reader) = self.reader.try_borrow_mut() {
            drop(reader.take());
        }
    }
}

pub(crate) fn is_exit(py: Python<'_>, e: &PyErr) -> bool {
    e.is_instance_of::<PyKeyboardInterrupt>(py) || e.is_instance_of::<PySystemExit>(py)
}
