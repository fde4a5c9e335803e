//! asyncio's `Handle` and `TimerHandle`: a callback the loop will call, in a context.

use crate::loop_core::Local;
use pyo3::exceptions::{PyKeyboardInterrupt, PySystemExit};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyTuple};
use std::cell::UnsafeCell;
use std::os::raw::c_int;
use std::rc::{Rc, Weak};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

extern "C" {
    // Public CPython API (cpython/context.h) since 3.7; declared here as not every PyO3
    // version binds them.
    fn PyContext_Enter(ctx: *mut ffi::PyObject) -> c_int;
    fn PyContext_Exit(ctx: *mut ffi::PyObject) -> c_int;
    fn PyContext_CopyCurrent() -> *mut ffi::PyObject;
}

/// The empty tuple, the `args` of a callback given none: kept here, since PyO3's
/// `PyTuple::empty` calls `PyTuple_New(0)`, which costs as much again as taking a reference.
pub(crate) fn empty_tuple(py: Python<'_>) -> Bound<'_, PyTuple> {
    static EMPTY: PyOnceLock<Py<PyTuple>> = PyOnceLock::new();
    EMPTY
        .get_or_init(py, || PyTuple::empty(py).unbind())
        .bind(py)
        .clone()
}

/// Calls `f` inside the context `ctx` (a `contextvars.Context`), which must not be entered
/// already.
pub(crate) fn in_context<R>(
    py: Python<'_>,
    ctx: &Py<PyAny>,
    f: impl FnOnce() -> PyResult<R>,
) -> PyResult<R> {
    let ctx = ctx.as_ptr();
    // SAFETY: the GIL is held and `ctx` is a live object its caller keeps; a non-context
    // object or an already entered one makes `PyContext_Enter` fail with an exception.
    if unsafe { PyContext_Enter(ctx) } < 0 {
        return Err(PyErr::fetch(py));
    }
    let called = f();
    // SAFETY: as above; `ctx` was entered by this thread just now.
    if unsafe { PyContext_Exit(ctx) } < 0 {
        return Err(PyErr::fetch(py));
    }
    called
}

/// A new copy of the current context (`contextvars.copy_context()`).
pub(crate) fn copy_context(py: Python<'_>) -> PyResult<Py<PyAny>> {
    // SAFETY: called with the GIL held; returns a new reference or NULL with an exception
    // set, which `from_owned_ptr_or_err` turns into the error.
    Ok(unsafe { Bound::from_owned_ptr_or_err(py, PyContext_CopyCurrent())? }.unbind())
}

/// What a handle calls: `callback(*args)` inside `context`.
pub(crate) struct Callback {
    /// Read through `Deref`; replaced only by [`refill`](Callback::refill).
    parts: UnsafeCell<Parts>,
    cancelled: AtomicBool,
}

/// A callback's objects.
pub(crate) struct Parts {
    callback: Py<PyAny>,
    args: Py<PyTuple>,
    context: Py<PyAny>,
    loop_: Py<PyAny>,
    /// Where the handle was made, in debug mode (asyncio's `_source_traceback`).
    source_traceback: Option<Py<PyAny>>,
}

// SAFETY: `parts` is written by `refill` alone, whose caller holds the one reference to the
// handle around it: no other thread, and no borrow of ours, can be reading it then. Otherwise
// it is only read, as the plain fields it holds would be.
unsafe impl Sync for Callback {}

impl std::ops::Deref for Callback {
    type Target = Parts;

    #[inline]
    fn deref(&self) -> &Parts {
        // SAFETY: see `Sync`: no write happens while a reference to the handle is shared.
        unsafe { &*self.parts.get() }
    }
}

impl From<Parts> for Callback {
    fn from(parts: Parts) -> Callback {
        Callback {
            parts: UnsafeCell::new(parts),
            cancelled: AtomicBool::new(false),
        }
    }
}

impl Callback {
    /// Gives a spare handle's callback new objects (the old ones are released), not cancelled.
    ///
    /// # Safety
    /// The caller holds the only reference to the handle, and borrows nothing of its parts.
    pub(crate) unsafe fn refill(&self, py: Python<'_>, parts: Parts) {
        self.cancelled.store(false, Ordering::Relaxed);
        // SAFETY: as the caller promised, nothing else reads or writes `parts` meanwhile; the
        // old objects are released after the write, and their finalizers may look at the
        // handle (through the garbage collector) again.
        let old = unsafe { std::mem::replace(&mut *self.parts.get(), parts) };
        old.release(py);
    }
}

impl Parts {
    /// Releases the objects now, as dropping them would, without PyO3's look at whether this
    /// thread holds the GIL (a thread-local read; two per reused handle's `call_soon`).
    fn release(self, py: Python<'_>) {
        let Parts {
            callback,
            args,
            context,
            loop_,
            source_traceback,
        } = self;
        callback.drop_ref(py);
        args.drop_ref(py);
        context.drop_ref(py);
        loop_.drop_ref(py);
        if let Some(traceback) = source_traceback {
            traceback.drop_ref(py);
        }
    }

    /// What a spare handle holds: nothing of a callback's.
    pub(crate) fn empty(py: Python<'_>) -> Parts {
        Parts {
            callback: py.None(),
            args: empty_tuple(py).unbind(),
            context: py.None(),
            loop_: py.None(),
            source_traceback: None,
        }
    }

    /// `context` is `contextvars.copy_context()` when not given, as in asyncio.
    pub(crate) fn new(
        py: Python<'_>,
        loop_: &Bound<'_, PyAny>,
        callback: Bound<'_, PyAny>,
        args: Bound<'_, PyTuple>,
        context: Option<Bound<'_, PyAny>>,
        debug: bool,
    ) -> PyResult<Parts> {
        let context = match context {
            Some(c) if !c.is_none() => c.unbind(),
            _ => copy_context(py)?,
        };
        let source_traceback = if debug {
            let frame = py.import("sys")?.call_method1("_getframe", (0,))?;
            let stack = py
                .import("asyncio.format_helpers")?
                .call_method1("extract_stack", (frame,))?;
            Some(stack.unbind())
        } else {
            None
        };
        Ok(Parts {
            source_traceback,
            callback: callback.unbind(),
            args: args.unbind(),
            context,
            loop_: loop_.clone().unbind(),
        })
    }
}

impl Callback {
    pub(crate) fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Relaxed)
    }

    /// Calls the callback. An exception goes to the loop's exception handler, as asyncio's
    /// `Handle._run` does, except `KeyboardInterrupt` and `SystemExit`, which are returned
    /// to stop the loop.
    pub(crate) fn run(&self, py: Python<'_>, handle: &Bound<'_, PyAny>) -> PyResult<()> {
        let outcome = in_context(py, &self.context, || self.call(py));
        match outcome {
            Ok(()) => Ok(()),
            Err(e) if e.is_instance_of::<PyKeyboardInterrupt>(py) => Err(e),
            Err(e) if e.is_instance_of::<PySystemExit>(py) => Err(e),
            Err(e) => {
                if let Err(e) = self.report(py, handle, e) {
                    e.write_unraisable(py, Some(handle));
                }
                Ok(())
            }
        }
    }

    /// `callback(*args)`, through vectorcall on the tuple's items (as `Context.run` does).
    fn call(&self, py: Python<'_>) -> PyResult<()> {
        let args = self.args.bind(py);
        let tuple = args.as_ptr().cast::<ffi::PyTupleObject>();
        // SAFETY: the GIL is held; `tuple` is a live tuple that `self` keeps, so its `len()`
        // items stay alive for the call, which borrows them.
        let returned = unsafe {
            ffi::PyObject_Vectorcall(
                self.callback.as_ptr(),
                (*tuple).ob_item.as_ptr(),
                args.len(),
                std::ptr::null_mut(),
            )
        };
        // SAFETY: a new reference, or NULL with an exception set.
        unsafe { Bound::from_owned_ptr_or_err(py, returned) }.map(drop)
    }

    fn report(&self, py: Python<'_>, handle: &Bound<'_, PyAny>, exc: PyErr) -> PyResult<()> {
        let source = self.source(py)?;
        let context = PyDict::new(py);
        context.set_item("message", format!("Exception in callback {source}"))?;
        context.set_item("exception", exc.into_value(py))?;
        context.set_item("handle", handle)?;
        if let Some(tb) = &self.source_traceback {
            context.set_item("source_traceback", tb.bind(py))?;
        }
        self.loop_
            .bind(py)
            .call_method1("call_exception_handler", (context,))?;
        Ok(())
    }

    /// `cb(args)` as asyncio prints a callback: from 3.14 on, the arguments only in debug
    /// mode (`_format_callback_source(..., debug=loop.get_debug())`).
    fn source(&self, py: Python<'_>) -> PyResult<String> {
        static TAKES_DEBUG: PyOnceLock<bool> = PyOnceLock::new();
        let format = py
            .import("asyncio.format_helpers")?
            .getattr("_format_callback_source")?;
        let takes_debug = *TAKES_DEBUG.get_or_try_init(py, || -> PyResult<bool> {
            let signature = py
                .import("inspect")?
                .call_method1("signature", (&format,))?;
            signature.getattr("parameters")?.contains("debug")
        })?;
        let args = (self.callback.bind(py), self.args.bind(py));
        if takes_debug {
            let kwargs = PyDict::new(py);
            let debug = self.loop_.bind(py).call_method0("get_debug")?;
            kwargs.set_item("debug", debug)?;
            format.call(args, Some(&kwargs))?.extract()
        } else {
            format.call1(args)?.extract()
        }
    }

    /// asyncio's `<Handle cb(args) created at file:line>`. asyncio's `cancel()` drops the
    /// callback, so a cancelled handle shows none (`<Handle cancelled>`), but in debug mode,
    /// where it keeps its repr of that moment (`<Handle cancelled cb(args) ...>`).
    fn repr(&self, py: Python<'_>, kind: &str, extra: &str) -> PyResult<String> {
        let cancelled = self.is_cancelled();
        let state = if cancelled { " cancelled" } else { "" };
        let debug = self.loop_.bind(py).call_method0("get_debug")?.is_truthy()?;
        let source = if !cancelled || debug {
            format!(" {}", self.source(py)?)
        } else {
            String::new()
        };
        let mut created = String::new();
        if let Some(tb) = &self.source_traceback {
            let tb = tb.bind(py);
            if tb.len()? > 0 {
                let frame = tb.get_item(-1)?;
                let (file, line) = (frame.get_item(0)?, frame.get_item(1)?);
                created = format!(" created at {file}:{line}");
            }
        }
        Ok(format!("<{kind}{state}{extra}{source}{created}>"))
    }

    fn traverse(&self, visit: &pyo3::PyVisit<'_>) -> Result<(), pyo3::PyTraverseError> {
        visit.call(&self.callback)?;
        visit.call(&self.args)?;
        visit.call(&self.context)?;
        if let Some(tb) = &self.source_traceback {
            visit.call(tb)?;
        }
        visit.call(&self.loop_)
    }
}

/// A pyclass with a [`Callback`] inside.
pub(crate) trait HasCallback: pyo3::PyClass + Sync {
    fn callback(&self) -> &Callback;
}

/// Runs the handle's callback, from the loop's ready queue. While a `KeyboardInterrupt` or
/// `SystemExit` from an earlier callback of the turn is on its way out of `run_forever`, the
/// handle is queued again instead, so it runs in order at the next run.
pub(crate) fn dispatch<T>(local: &Weak<Local>, handle: Py<T>)
where
    T: HasCallback<Frozen = pyo3::pyclass::boolean_struct::True>,
{
    // SAFETY: the loop runs its ready callbacks in its turns alone, and those run inside
    // `_run_once` and `_close_native`, which hold the GIL (released around the wait for I/O
    // only, where no callback runs).
    let py = unsafe { Python::assume_attached() };
    let Some(local) = local.upgrade() else { return };
    let cb = handle.get().callback();
    if local.closed.get() || cb.is_cancelled() {
        // Released now, as a `Bound`: a `Py`'s drop would look at PyO3's count of attached
        // calls, which the loop's turns do not raise, and defer the release to PyO3's pool.
        drop(handle.into_bound(py));
        return;
    }
    if local.pending.borrow().is_some() {
        let weak = Rc::downgrade(&local);
        local.lp.call_soon(move || dispatch(&weak, handle));
        return;
    }
    let outcome = {
        let bound = handle.bind(py).as_any();
        if local.debug.load(Ordering::Relaxed) {
            run_timed(py, cb, bound)
        } else {
            cb.run(py, bound)
        }
    };
    if let Err(e) = outcome {
        *local.pending.borrow_mut() = Some(e);
    }
    // Dropped as a `Bound`, which needs no look at whether this thread is attached.
    drop(handle.into_bound(py));
}

/// Debug mode's run of a callback: as asyncio's `_run_once`, the loop's `_current_handle` is
/// the handle meanwhile, and a callback that took `slow_callback_duration` seconds or more is
/// logged as `Executing <Handle ...> took 0.123 seconds`.
#[cold]
fn run_timed(py: Python<'_>, cb: &Callback, handle: &Bound<'_, PyAny>) -> PyResult<()> {
    let loop_ = cb.loop_.bind(py);
    let started = std::time::Instant::now();
    let noted = loop_.setattr("_current_handle", handle);
    let outcome = cb.run(py, handle);
    let took = started.elapsed().as_secs_f64();
    let logged = noted
        .and_then(|()| loop_.setattr("_current_handle", py.None()))
        .and_then(|()| match outcome {
            Ok(()) => warn_if_slow(py, loop_, handle, took),
            Err(_) => Ok(()),
        });
    if let Err(e) = logged {
        e.write_unraisable(py, Some(handle));
    }
    outcome
}

fn warn_if_slow(
    py: Python<'_>,
    loop_: &Bound<'_, PyAny>,
    handle: &Bound<'_, PyAny>,
    took: f64,
) -> PyResult<()> {
    let limit: f64 = loop_.getattr("slow_callback_duration")?.extract()?;
    if took < limit {
        return Ok(());
    }
    // Looked up at each use, as asyncio's own code does (tests patch it).
    let base_events = py.import("asyncio.base_events")?;
    let shown = base_events.call_method1("_format_handle", (handle,))?;
    base_events
        .getattr("logger")?
        .call_method1("warning", ("Executing %s took %.3f seconds", shown, took))?;
    Ok(())
}

/// asyncio's `Handle`: made by `call_soon` and `add_reader`.
#[pyclass(frozen, module = "asyncio_rs._native")]
pub(crate) struct Handle {
    pub(crate) cb: Callback,
}

impl HasCallback for Handle {
    fn callback(&self) -> &Callback {
        &self.cb
    }
}

#[pymethods]
impl Handle {
    /// Stops the callback from being called, if it has not been yet.
    pub(crate) fn cancel(&self) {
        self.cb.cancelled.store(true, Ordering::Relaxed);
    }

    fn cancelled(&self) -> bool {
        self.cb.is_cancelled()
    }

    fn get_context(&self, py: Python<'_>) -> Py<PyAny> {
        self.cb.context.clone_ref(py)
    }

    /// Calls the callback now, as the loop would.
    fn _run(slf: &Bound<'_, Self>) -> PyResult<()> {
        slf.get().cb.run(slf.py(), slf.as_any())
    }

    #[getter]
    fn _source_traceback(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        self.cb.source_traceback.as_ref().map(|tb| tb.clone_ref(py))
    }

    #[getter]
    fn _callback(&self, py: Python<'_>) -> Py<PyAny> {
        self.cb.callback.clone_ref(py)
    }

    #[getter]
    fn _args(&self, py: Python<'_>) -> Py<PyTuple> {
        self.cb.args.clone_ref(py)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        self.cb.repr(py, "Handle", "")
    }

    fn __traverse__(&self, visit: pyo3::PyVisit<'_>) -> Result<(), pyo3::PyTraverseError> {
        self.cb.traverse(&visit)
    }
}

/// asyncio's `TimerHandle`: made by `call_later` and `call_at`. Its timer is a token on the
/// Rust loop's wheel (see `loop_core::schedule_at`); cancelling it on the loop's thread takes
/// the timer off the wheel at once.
#[pyclass(frozen, module = "asyncio_rs._native")]
pub(crate) struct TimerHandle {
    pub(crate) cb: Callback,
    pub(crate) when: f64,
    /// The wheel's key of its timer (`TimerKey::to_raw`) while it is there, else `NO_TIMER`.
    pub(crate) timer: AtomicU64,
}

/// A `TimerHandle` whose timer is not on the wheel: it fired, was cancelled, or never was.
pub(crate) const NO_TIMER: u64 = u64::MAX;

impl HasCallback for TimerHandle {
    fn callback(&self) -> &Callback {
        &self.cb
    }
}

#[pymethods]
impl TimerHandle {
    fn cancel(&self, py: Python<'_>) {
        self.cb.cancelled.store(true, Ordering::Relaxed);
        if self.timer.load(Ordering::Relaxed) != NO_TIMER {
            crate::loop_core::cancel_timer(py, &self.cb.loop_, &self.timer);
        }
    }

    fn cancelled(&self) -> bool {
        self.cb.is_cancelled()
    }

    /// The loop time the callback is scheduled for.
    fn when(&self) -> f64 {
        self.when
    }

    fn get_context(&self, py: Python<'_>) -> Py<PyAny> {
        self.cb.context.clone_ref(py)
    }

    fn _run(slf: &Bound<'_, Self>) -> PyResult<()> {
        slf.get().cb.run(slf.py(), slf.as_any())
    }

    #[getter]
    fn _source_traceback(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        self.cb.source_traceback.as_ref().map(|tb| tb.clone_ref(py))
    }

    #[getter]
    fn _callback(&self, py: Python<'_>) -> Py<PyAny> {
        self.cb.callback.clone_ref(py)
    }

    #[getter]
    fn _args(&self, py: Python<'_>) -> Py<PyTuple> {
        self.cb.args.clone_ref(py)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        self.cb
            .repr(py, "TimerHandle", &format!(" when={}", self.when))
    }

    fn __traverse__(&self, visit: pyo3::PyVisit<'_>) -> Result<(), pyo3::PyTraverseError> {
        self.cb.traverse(&visit)
    }

    fn __lt__(&self, other: &TimerHandle) -> bool {
        self.when < other.when
    }

    fn __le__(&self, other: &TimerHandle) -> bool {
        self.when <= other.when
    }

    fn __gt__(&self, other: &TimerHandle) -> bool {
        self.when > other.when
    }

    fn __ge__(&self, other: &TimerHandle) -> bool {
        self.when >= other.when
    }
}
