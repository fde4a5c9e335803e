//! What the native `StreamReader.read(n)` and `StreamWriter.drain()` return: an object with
//! the whole coroutine protocol (`__await__`, `send`, `throw`, `close`), so `await`,
//! `create_task`, `wait_for` and `gather` take it as they take asyncio's coroutines
//! (`collections.abc.Coroutine` recognises it by those methods).
//!
//! Like the coroutine it replaces, it does nothing until its first step, and its errors are
//! raised there (at `await`), not at the call. A read that must wait sets the reader's
//! `_waiter` and waits on it as `await fut` does (through the future's own `__await__()`
//! iterator, so the task sees `_asyncio_future_blocking` as usual); whichever way the wait
//! ends (woken, an exception thrown in, `close()`, dropped unfinished) `_waiter` goes back to
//! `None`, as asyncio's `finally` does. A drain that must wait is asyncio's own
//! `StreamWriter.drain` coroutine, driven from here.

use crate::streams::steps::{self, Started};
use pyo3::exceptions::{
    PyBaseException, PyDeprecationWarning, PyRuntimeError, PyStopIteration, PyTypeError,
};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyTraceback, PyTuple, PyType};

#[derive(Clone, Copy)]
enum Kind {
    Read,
    Drain,
}

enum State {
    /// `read(n)`, not started.
    Read {
        reader: Py<PyAny>,
        n: isize,
    },
    /// `read(n)` waiting on the reader's `_waiter`: that future's `__await__()` iterator.
    Waiting {
        reader: Py<PyAny>,
        n: isize,
        waiting: Py<PyAny>,
    },
    /// `drain()`, not started.
    Drain {
        writer: Py<PyAny>,
    },
    /// asyncio's own coroutine, for the case not done natively.
    Delegated(Py<PyAny>),
    Done,
}

/// One step's outcome: a value yielded to the task (a future), or the return value.
pub(crate) enum Step<'py> {
    Yield(Bound<'py, PyAny>),
    Return(Bound<'py, PyAny>),
}

#[pyclass(module = "asyncio_rs._native", freelist = 64)]
pub(crate) struct StreamAwaitable {
    kind: Kind,
    state: State,
}

impl StreamAwaitable {
    pub(crate) fn read(reader: &Bound<'_, PyAny>, n: isize) -> StreamAwaitable {
        StreamAwaitable {
            kind: Kind::Read,
            state: State::Read {
                reader: reader.clone().unbind(),
                n,
            },
        }
    }

    pub(crate) fn drain(writer: &Bound<'_, PyAny>) -> StreamAwaitable {
        StreamAwaitable {
            kind: Kind::Drain,
            state: State::Drain {
                writer: writer.clone().unbind(),
            },
        }
    }

    /// `send(value)`: runs to the next yield or to the end.
    pub(super) fn step<'py>(&mut self, value: &Bound<'py, PyAny>) -> PyResult<Step<'py>> {
        let py = value.py();
        let started = matches!(self.state, State::Read { .. } | State::Drain { .. });
        if started && !value.is_none() {
            return Err(PyTypeError::new_err(
                "can't send non-None value to a just-started coroutine",
            ));
        }
        match std::mem::replace(&mut self.state, State::Done) {
            State::Read { reader, n } => {
                let reader = reader.into_bound(py);
                match steps::read_start(&reader, n)? {
                    Started::Done(data) => Ok(Step::Return(data)),
                    Started::Waiting(waiting, fut) => {
                        self.state = State::Waiting {
                            reader: reader.unbind(),
                            n,
                            waiting: waiting.unbind(),
                        };
                        Ok(Step::Yield(fut))
                    }
                }
            }
            State::Waiting { reader, n, waiting } => {
                let reader = reader.into_bound(py);
                match steps::send(waiting.bind(py), value) {
                    Ok(Step::Yield(fut)) => {
                        self.state = State::Waiting {
                            reader: reader.unbind(),
                            n,
                            waiting,
                        };
                        Ok(Step::Yield(fut))
                    }
                    Ok(Step::Return(_)) => {
                        steps::end_wait(&reader)?;
                        steps::take(&reader, n).map(Step::Return)
                    }
                    Err(e) => Err(steps::end_wait(&reader).err().unwrap_or(e)),
                }
            }
            State::Drain { writer } => {
                let writer = writer.bind(py);
                if steps::drain_at_once(writer)? {
                    return Ok(Step::Return(py.None().into_bound(py)));
                }
                let coro = steps::asyncio_drain(writer)?;
                self.state = State::Delegated(coro.clone().unbind());
                self.delegated(&coro, value)
            }
            State::Delegated(coro) => {
                let coro = coro.into_bound(py);
                self.state = State::Delegated(coro.clone().unbind());
                self.delegated(&coro, value)
            }
            State::Done => Err(PyRuntimeError::new_err(
                "cannot reuse already awaited coroutine",
            )),
        }
    }

    fn delegated<'py>(
        &mut self,
        coro: &Bound<'py, PyAny>,
        value: &Bound<'py, PyAny>,
    ) -> PyResult<Step<'py>> {
        let step = steps::send(coro, value);
        if !matches!(step, Ok(Step::Yield(_))) {
            self.state = State::Done;
        }
        step
    }

    /// Ends the coroutine where it stands, as `close()` or its collection would: a waiting
    /// read's `finally` runs (`_waiter = None`).
    fn abandon(&mut self, py: Python<'_>) -> PyResult<()> {
        match std::mem::replace(&mut self.state, State::Done) {
            State::Waiting { reader, .. } => steps::end_wait(reader.bind(py)),
            State::Delegated(coro) => coro.bind(py).call_method0(intern!(py, "close")).map(drop),
            _ => Ok(()),
        }
    }
}

/// A step as `__next__` / `send` give it: the yielded value, or `StopIteration(value)`.
fn as_next(step: PyResult<Step<'_>>) -> PyResult<Py<PyAny>> {
    match step? {
        Step::Yield(v) => Ok(v.unbind()),
        Step::Return(v) => Err(PyStopIteration::new_err((v.unbind(),))),
    }
}

#[pymethods]
impl StreamAwaitable {
    fn __await__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&mut self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        as_next(self.step(&py.None().into_bound(py)))
    }

    fn send(&mut self, value: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        as_next(self.step(value))
    }

    /// Raises the exception where the coroutine stands (a cancelled task throws
    /// `CancelledError` in here).
    #[pyo3(signature = (typ, val=None, tb=None))]
    fn throw(
        &mut self,
        typ: &Bound<'_, PyAny>,
        val: Option<&Bound<'_, PyAny>>,
        tb: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let py = typ.py();
        let mut args = vec![typ.clone()];
        args.extend(val.cloned());
        args.extend(tb.cloned());
        let args = PyTuple::new(py, args)?;
        let inner = match &self.state {
            State::Waiting { waiting, .. } => Some(waiting.bind(py).clone()),
            State::Delegated(coro) => Some(coro.bind(py).clone()),
            _ => None,
        };
        let Some(inner) = inner else {
            // Not started, or finished: the exception comes straight out.
            self.state = State::Done;
            return Err(thrown(typ, val, tb));
        };
        match inner.call_method1(intern!(py, "throw"), args) {
            Ok(yielded) => Ok(yielded.unbind()),
            Err(e) => {
                if let State::Waiting { reader, .. } =
                    std::mem::replace(&mut self.state, State::Done)
                {
                    steps::end_wait(reader.bind(py))?;
                }
                Err(e)
            }
        }
    }

    fn close(&mut self, py: Python<'_>) -> PyResult<()> {
        self.abandon(py)
    }

    #[getter]
    fn __name__(&self) -> &'static str {
        match self.kind {
            Kind::Read => "read",
            Kind::Drain => "drain",
        }
    }

    #[getter]
    fn __qualname__(&self) -> &'static str {
        match self.kind {
            Kind::Read => "StreamReader.read",
            Kind::Drain => "StreamWriter.drain",
        }
    }

    fn __traverse__(&self, visit: pyo3::PyVisit<'_>) -> Result<(), pyo3::PyTraverseError> {
        match &self.state {
            State::Read { reader, .. } => visit.call(reader),
            State::Waiting {
                reader, waiting, ..
            } => {
                visit.call(reader)?;
                visit.call(waiting)
            }
            State::Drain { writer } => visit.call(writer),
            State::Delegated(coro) => visit.call(coro),
            State::Done => Ok(()),
        }
    }

    fn __clear__(&mut self) {
        self.state = State::Done;
    }
}

impl Drop for StreamAwaitable {
    fn drop(&mut self) {
        if let State::Waiting { .. } = self.state {
            Python::attach(|py| {
                if let Err(e) = self.abandon(py) {
                    e.write_unraisable(py, None);
                }
            });
        }
    }
}

/// The exception `throw(typ, val, tb)` raises, as a generator's `throw` makes it.
fn thrown(
    typ: &Bound<'_, PyAny>,
    val: Option<&Bound<'_, PyAny>>,
    tb: Option<&Bound<'_, PyAny>>,
) -> PyErr {
    let py = typ.py();
    let val = val.filter(|v| !v.is_none());
    let tb = tb.filter(|t| !t.is_none());
    if (val.is_some() || tb.is_some()) && py.version_info() >= (3, 12) {
        let warning = py.get_type::<PyDeprecationWarning>();
        let message = c"the (type, exc, tb) signature of throw() is deprecated, \
                        use the single-arg signature instead.";
        if let Err(e) = PyErr::warn(py, &warning, message, 1) {
            return e;
        }
    }
    let exc = if typ.is_instance_of::<PyBaseException>() {
        if val.is_some() {
            return PyTypeError::new_err("instance exception may not have a separate value");
        }
        Ok(typ.clone())
    } else if let Some(cls) = typ
        .cast::<PyType>()
        .ok()
        .filter(|t| t.is_subclass_of::<PyBaseException>().unwrap_or(false))
    {
        match val {
            None => cls.call0(),
            Some(v) if v.is_instance(cls).unwrap_or(false) => Ok(v.clone()),
            Some(v) => match v.cast::<PyTuple>() {
                Ok(args) => cls.call1(args),
                Err(_) => cls.call1((v,)),
            },
        }
    } else {
        return PyTypeError::new_err(format!(
            "exceptions must be classes or instances deriving from BaseException, not {}",
            typ.get_type()
                .name()
                .map(|n| n.to_string())
                .unwrap_or_default()
        ));
    };
    let exc = match exc {
        Ok(exc) => exc,
        Err(e) => return e,
    };
    if let Some(tb) = tb {
        if !tb.is_instance_of::<PyTraceback>() {
            return PyTypeError::new_err("throw() third argument must be a traceback object");
        }
        if let Err(e) = exc.setattr(intern!(py, "__traceback__"), tb) {
            return e;
        }
    }
    PyErr::from_value(exc)
}
