//! `CoreLoop`: the native half of `asyncio_rs.EventLoop`, over the crate's own loop.
//!
//! The Python class `EventLoop` mixes this class into asyncio's selector event loop
//! (`asyncio_rs/_loop.py`): the methods here shadow asyncio's hot ones and its selector
//! hooks, and asyncio's pure-Python code does the rest on top of them.

use crate::handle::{dispatch, Handle, Parts, TimerHandle, NO_TIMER};
use crate::thread_bound::ThreadBound;
use asyncio::embed::{EmbeddedLoop, TimerKey};
use asyncio::LoopHandle;
use pyo3::exceptions::{PyOSError, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyInt, PyTuple};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::os::fd::RawFd;
use std::rc::{Rc, Weak};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

/// Emptied `Handle`s a loop keeps for its next `call_soon`s.
const SPARE_HANDLES: usize = 16;

/// Turns between looks at pending signals, besides the looks after a wait a signal interrupted.
const SIGNAL_CHECK_INTERVAL: u32 = 64;

/// The loop's thread-bound state.
pub(crate) struct Local {
    pub(crate) lp: EmbeddedLoop,
    /// A `KeyboardInterrupt` or `SystemExit` raised by a callback, on its way out of
    /// `run_forever`.
    pub(crate) pending: RefCell<Option<PyErr>>,
    pub(crate) closed: Cell<bool>,
    /// asyncio's debug mode (the loop's `get_debug()`): callbacks are timed.
    pub(crate) debug: Arc<AtomicBool>,
    /// What watches each fd's reading (`false`) and writing (`true`): cancelled when replaced
    /// or removed as asyncio's selector loop cancels its handles.
    watchers: RefCell<HashMap<(RawFd, bool), Watcher>>,
    /// The native transports' spare read buffer, a `bytes` nothing else references
    /// (`transport::io::recv_bytes`).
    pub(crate) spare_read: RefCell<Option<Py<PyAny>>>,
    /// `Handle`s run and let go, emptied, for `call_soon` to fill again (`run_queued`).
    spare_handles: RefCell<Vec<Py<Handle>>>,
}

/// The owner of one direction of an fd's watch: an `add_reader` / `add_writer` handle, or a
/// pending `sock_*` call.
pub(crate) enum Watcher {
    Handle(Py<Handle>),
    Sock(Rc<crate::sock::Op>),
}

impl Watcher {
    /// Replaced or removed: a handle is cancelled; a `sock_*` call leaves its future pending
    /// and no longer removes the watch when that future is done, as asyncio's handle does.
    fn cancel(&self) {
        match self {
            Watcher::Handle(handle) => handle.get().cancel(),
            Watcher::Sock(op) => op.disown(),
        }
    }
}

impl Local {
    /// Calls `on_ready` at each turn while `fd` is readable (or writable), on the one
    /// registration the Rust reactor keeps per fd; `owner` replaces (and cancels) the
    /// direction's previous watcher.
    pub(crate) fn set_watch(
        &self,
        fd: RawFd,
        write: bool,
        on_ready: impl FnMut() + 'static,
        owner: Watcher,
    ) -> PyResult<()> {
        if write {
            self.lp.add_writer(fd, on_ready)
        } else {
            self.lp.add_reader(fd, on_ready)
        }
        .map_err(os_error)?;
        let old = self.watchers.borrow_mut().insert((fd, write), owner);
        if let Some(old) = old {
            old.cancel();
        }
        Ok(())
    }

    /// Stops watching a direction of `fd`; whether it was watched.
    pub(crate) fn clear_watch(&self, fd: RawFd, write: bool) -> bool {
        let removed = if write {
            self.lp.remove_writer(fd)
        } else {
            self.lp.remove_reader(fd)
        };
        let old = self.watchers.borrow_mut().remove(&(fd, write));
        if let Some(old) = old {
            old.cancel();
        }
        removed
    }
}

#[pyclass(subclass, frozen, module = "asyncio_rs._native")]
pub(crate) struct CoreLoop {
    remote: LoopHandle,
    /// `time.monotonic()` at the Rust loop's time 0: added to that time, `time()` reads the
    /// clock `time.monotonic()` reads, as asyncio's `loop.time()` does, so that
    /// `call_at(time.monotonic() + d)` waits `d`.
    epoch: f64,
    closed: AtomicBool,
    stopping: AtomicBool,
    debug: Arc<AtomicBool>,
    pub(crate) local: ThreadBound<Rc<Local>>,
}

/// Releases the GIL while the loop waits in `epoll_wait`.
///
/// CPython's own save and restore of the thread state, not PyO3's `Python::attach` and
/// `detach`: at one connection every request is a turn that waits, and PyO3's wrapping (its
/// attach count, a thread-local reached through `__tls_get_addr` at each step, and a look at
/// its pool of references dropped by threads not attached) cost about 100 instructions per
/// request (callgrind, Protocol echo). The wait runs no Python and no PyO3 code, so the count
/// need not read 0 in it; that pool is emptied at the next call of one of our methods from
/// Python instead of right after the wait.
fn release_gil(wait: &mut dyn FnMut()) {
    /// Takes the GIL back when dropped, after the wait or in its unwinding.
    struct Reattach(*mut pyo3::ffi::PyThreadState);
    impl Drop for Reattach {
        fn drop(&mut self) {
            // SAFETY: the state this thread saved below, not restored since.
            unsafe { pyo3::ffi::PyEval_RestoreThread(self.0) };
        }
    }
    // SAFETY: this hook is `_run_once`'s, whose turns run on its thread with the GIL held.
    let _reattach = Reattach(unsafe { pyo3::ffi::PyEval_SaveThread() });
    wait();
}

/// Marks a token that is a `TimerHandle`'s (objects are aligned, so a pointer's low bit is 0).
const TIMER_TAG: usize = 1;

/// The `TimerHandle` of a timer token, with the token's reference.
fn timer_of_token(py: Python<'_>, token: usize) -> Bound<'_, TimerHandle> {
    // SAFETY: a timer token is a `TimerHandle`'s pointer, tagged, with a reference of its own
    // (made in `schedule_at`), which its holder (the caller, the wheel, then the ready queue)
    // hands over here once.
    unsafe {
        Bound::from_owned_ptr(py, (token & !TIMER_TAG) as *mut pyo3::ffi::PyObject)
            .cast_into_unchecked::<TimerHandle>()
    }
}

/// Gives back the reference of a `TimerHandle`'s token that will not run.
fn release_timer_token(py: Python<'_>, token: usize) {
    drop(timer_of_token(py, token));
}

/// Takes a `TimerHandle`'s timer off the wheel of `loop_`, its loop, and releases the wheel's
/// reference. From another thread than the loop's, nothing is done: the handle is marked
/// cancelled already, and its timer fires as a no-op.
pub(crate) fn cancel_timer(py: Python<'_>, loop_: &Py<PyAny>, timer: &AtomicU64) {
    let Ok(core) = loop_.bind(py).cast::<CoreLoop>() else {
        return;
    };
    let Some(local) = core.get().local.try_get() else {
        return;
    };
    let key = timer.swap(NO_TIMER, Ordering::Relaxed);
    if key == NO_TIMER {
        return;
    }
    if let Some(token) = local.lp.cancel_timer_token(TimerKey::from_raw(key)) {
        release_timer_token(py, token);
    }
}

/// Runs a `Handle` that `call_soon` queued as a token, or a `TimerHandle` whose timer fired
/// (or, with `run` false, drops it: the loop closed first).
fn run_queued(local: &Weak<Local>, token: usize, run: bool) {
    // SAFETY: the loop runs and drops its queue's entries in its turns and its close, which
    // hold the GIL (released around the wait for I/O only, where none runs).
    let py = unsafe { Python::assume_attached() };
    if token & TIMER_TAG != 0 {
        let handle = timer_of_token(py, token);
        handle.get().timer.store(NO_TIMER, Ordering::Relaxed);
        if run {
            dispatch(local, handle.unbind());
        }
        return;
    }
    // SAFETY: the tokens of this loop are queued by `call_soon_impl` alone: each is a
    // `Handle`'s pointer with a reference of its own, which the queue gives back here once.
    let handle = unsafe {
        Bound::from_owned_ptr(py, token as *mut pyo3::ffi::PyObject).cast_into_unchecked::<Handle>()
    };
    if !run {
        return;
    }
    dispatch(local, handle.clone().unbind());
    // A handle that nobody else holds (the caller of `call_soon` let it go) is emptied and kept
    // for a next `call_soon`: making and freeing a Python object costs as much as the rest of
    // the call.
    // SAFETY: the GIL is held and `handle` is a live object.
    if unsafe { pyo3::ffi::Py_REFCNT(handle.as_ptr()) } != 1 {
        return;
    }
    let Some(local) = local.upgrade() else { return };
    if local.spare_handles.borrow().len() >= SPARE_HANDLES || local.closed.get() {
        return;
    }
    // SAFETY: the only reference is `handle`, and nothing of its is borrowed; emptying it may
    // run finalizers, which find no spare taken from or given to the list meanwhile.
    unsafe {
        handle
            .get()
            .cb
            .refill(handle.py(), Parts::empty(handle.py()))
    };
    local.spare_handles.borrow_mut().push(handle.unbind());
}

fn closed_error() -> PyErr {
    PyRuntimeError::new_err("Event loop is closed")
}

/// An fd or an object with `fileno()`, as asyncio's selectors take them.
fn fileobj_to_fd(obj: &Bound<'_, PyAny>) -> PyResult<RawFd> {
    let fd: RawFd = if obj.is_instance_of::<PyInt>() {
        obj.extract()?
    } else {
        obj.py()
            .import("selectors")?
            .call_method1("_fileobj_to_fd", (obj,))?
            .extract()?
    };
    if fd < 0 {
        return Err(PyValueError::new_err(format!(
            "Invalid file descriptor: {fd}"
        )));
    }
    Ok(fd)
}

/// The `OSError` CPython's epoll selector raises for the same failure.
pub(crate) fn os_error(e: std::io::Error) -> PyErr {
    let errno = e.raw_os_error().unwrap_or(match e.kind() {
        std::io::ErrorKind::InvalidInput => libc_errno::EBADF,
        std::io::ErrorKind::PermissionDenied => libc_errno::EPERM,
        std::io::ErrorKind::AlreadyExists => libc_errno::EEXIST,
        _ => 0,
    });
    let message = std::io::Error::from_raw_os_error(errno).to_string();
    let message = message.split(" (os error").next().unwrap_or("").to_owned();
    PyOSError::new_err((errno, message))
}

mod libc_errno {
    pub(super) const EPERM: i32 = 1;
    pub(super) const EBADF: i32 = 9;
    pub(super) const EEXIST: i32 = 17;
}

impl CoreLoop {
    /// The loop's state, on this thread. A loop that no thread is running is taken over by
    /// the thread that asks: asyncio lets a loop made on one thread run on another (a worker
    /// thread's `run_forever`, say), and be closed from the first again once it stopped.
    #[inline]
    pub(crate) fn local_of<'a>(slf: &'a Bound<'_, Self>) -> PyResult<&'a Rc<Local>> {
        slf.get().local.get()
    }

    pub(crate) fn check_open(&self) -> PyResult<()> {
        if self.closed.load(Ordering::Relaxed) {
            return Err(closed_error());
        }
        Ok(())
    }

    /// asyncio's debug-mode checks of a scheduling call, done by asyncio's own methods.
    #[inline(always)]
    fn debug_checks(
        slf: &Bound<'_, Self>,
        callback: &Bound<'_, PyAny>,
        what: &str,
    ) -> PyResult<()> {
        if slf.get().debug.load(Ordering::Relaxed) {
            slf.call_method0("_check_thread")?;
            slf.call_method1("_check_callback", (callback, what))?;
        }
        Ok(())
    }

    /// What a new handle of this loop calls: `context` is a copy of the current one when not
    /// given, and in debug mode the handle keeps where it was made.
    #[inline]
    fn new_parts(
        slf: &Bound<'_, Self>,
        callback: Bound<'_, PyAny>,
        args: Bound<'_, PyTuple>,
        context: Option<Bound<'_, PyAny>>,
    ) -> PyResult<Parts> {
        let debug = slf.get().debug.load(Ordering::Relaxed);
        Parts::new(slf.py(), slf.as_any(), callback, args, context, debug)
    }

    /// A new `Handle` of this loop (`call_soon`, `add_reader`) for `parts`, not queued yet.
    #[inline]
    fn new_handle(py: Python<'_>, parts: Parts) -> PyResult<Py<Handle>> {
        Py::new(py, Handle { cb: parts.into() })
    }

    fn watch(
        slf: &Bound<'_, Self>,
        fd: &Bound<'_, PyAny>,
        write: bool,
        callback: Bound<'_, PyAny>,
        args: Bound<'_, PyTuple>,
    ) -> PyResult<Py<Handle>> {
        let this = slf.get();
        this.check_open()?;
        let local = Self::local_of(slf)?;
        let fd = fileobj_to_fd(fd)?;
        let py = slf.py();
        let handle = Self::new_handle(py, Self::new_parts(slf, callback, args, None)?)?;
        let weak = Rc::downgrade(local);
        let run = handle.clone_ref(py);
        let on_ready = move || {
            let handle = Python::attach(|py| run.clone_ref(py));
            dispatch(&weak, handle);
        };
        local.set_watch(fd, write, on_ready, Watcher::Handle(handle.clone_ref(py)))?;
        Ok(handle)
    }

    fn unwatch(slf: &Bound<'_, Self>, fd: &Bound<'_, PyAny>, write: bool) -> PyResult<bool> {
        let this = slf.get();
        if this.closed.load(Ordering::Relaxed) {
            return Ok(false);
        }
        let local = Self::local_of(slf)?;
        let fd = fileobj_to_fd(fd)?;
        Ok(local.clear_watch(fd, write))
    }
}

#[pymethods]
impl CoreLoop {
    #[new]
    #[pyo3(signature = (*_args, **_kwargs))]
    fn new(
        py: Python<'_>,
        _args: &Bound<'_, PyTuple>,
        _kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let lp = EmbeddedLoop::new().map_err(os_error)?;
        let remote = lp.handle();
        // Read after the loop's own time, so that the epoch errs late by the gap between the
        // two reads: a `when` taken from `time.monotonic()` is then never ahead of the loop,
        // and one already reached runs at the next turn.
        let started = remote.time();
        let monotonic: f64 = py
            .import(intern!(py, "time"))?
            .call_method0(intern!(py, "monotonic"))?
            .extract()?;
        let epoch = monotonic - started;
        let debug = Arc::new(AtomicBool::new(false));
        let local = Rc::new_cyclic(|weak: &Weak<Local>| {
            let weak = weak.clone();
            lp.set_dispatch(move |token, run| run_queued(&weak, token, run));
            Local {
                lp,
                pending: RefCell::new(None),
                closed: Cell::new(false),
                debug: debug.clone(),
                watchers: RefCell::new(HashMap::new()),
                spare_read: RefCell::new(None),
                spare_handles: RefCell::new(Vec::new()),
            }
        });
        Ok(CoreLoop {
            remote,
            epoch,
            closed: AtomicBool::new(false),
            stopping: AtomicBool::new(false),
            debug,
            local: ThreadBound::new(local),
        })
    }

    #[getter(_closed)]
    fn closed_attr(&self) -> bool {
        self.closed.load(Ordering::Relaxed)
    }

    #[setter(_closed)]
    fn set_closed_attr(&self, value: bool) {
        self.closed.store(value, Ordering::Relaxed);
    }

    #[getter(_stopping)]
    fn stopping_attr(&self) -> bool {
        self.stopping.load(Ordering::Relaxed)
    }

    #[setter(_stopping)]
    fn set_stopping_attr(&self, value: bool) {
        self.stopping.store(value, Ordering::Relaxed);
    }

    #[getter(_debug)]
    fn debug_attr(&self) -> bool {
        self.debug.load(Ordering::Relaxed)
    }

    #[setter(_debug)]
    fn set_debug_attr(&self, value: bool) {
        self.debug.store(value, Ordering::Relaxed);
    }

    fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Relaxed)
    }

    fn stop(&self) {
        self.stopping.store(true, Ordering::Relaxed);
    }

    #[pyo3(signature = (callback, *args, context=None))]
    fn call_soon_threadsafe(
        slf: &Bound<'_, Self>,
        callback: Bound<'_, PyAny>,
        args: Bound<'_, PyTuple>,
        context: Option<Bound<'_, PyAny>>,
    ) -> PyResult<Py<Handle>> {
        let this = slf.get();
        this.check_open()?;
        if this.debug.load(Ordering::Relaxed) {
            slf.call_method1("_check_callback", (&callback, "call_soon_threadsafe"))?;
        }
        let py = slf.py();
        let handle = Self::new_handle(py, Self::new_parts(slf, callback, args, context)?)?;
        let queued = handle.clone_ref(py);
        let owner: Py<CoreLoop> = slf.clone().unbind();
        this.remote
            .call_soon_threadsafe(move || {
                Python::attach(|py| {
                    if let Ok(local) = owner.get().local.get() {
                        dispatch(&Rc::downgrade(local), queued);
                    }
                    drop(owner);
                    let _ = py;
                })
            })
            .map_err(|_| closed_error())?;
        Ok(handle)
    }

    /// Wakes the loop from its wait (asyncio's self-pipe write).
    fn _write_to_self(&self) {
        let _ = self.remote.call_soon_threadsafe(|| {});
    }

    /// Turns the loop until `stop()` (the GIL is released while it waits for I/O), or until
    /// a callback or a signal handler raises `KeyboardInterrupt` or `SystemExit`.
    ///
    /// asyncio calls `_run_once` from `run_forever` alone, as
    /// `while True: self._run_once(); if self._stopping: break`; running that loop here
    /// saves a Python-level call per turn and changes nothing else. A `stop()` before the
    /// run still gets one turn that does not wait, as in asyncio.
    fn _run_once(slf: &Bound<'_, Self>) -> PyResult<()> {
        let py = slf.py();
        let local = Self::local_of(slf)?;
        let this = slf.get();
        let _turning = this.local.turning();
        let mut first = true;
        let mut turns = 0u32;
        let mut signalled = Ok(());
        local.lp.run(Some(release_gil), |interrupted| {
            if !first {
                if local.pending.borrow().is_some() {
                    return None;
                }
                // A signal that came while Python code ran was handled there, by the
                // interpreter's eval breaker (a callback's first bytecode looks); one that
                // interrupted the wait is looked at here, as the selectors module does on
                // `EINTR`. Turns that ran no Python code are caught by the look every so
                // many turns (each look costs as much as a tenth of a one-callback turn).
                if interrupted || turns % SIGNAL_CHECK_INTERVAL == 0 {
                    signalled = py.check_signals();
                }
                if signalled.is_err() || this.stopping.load(Ordering::Relaxed) {
                    return None;
                }
            }
            first = false;
            turns = turns.wrapping_add(1);
            Some(!this.stopping.load(Ordering::Relaxed))
        });
        if let Some(e) = local.pending.borrow_mut().take() {
            return Err(e);
        }
        signalled
    }

    #[pyo3(signature = (fd, callback, *args))]
    fn _add_reader(
        slf: &Bound<'_, Self>,
        fd: &Bound<'_, PyAny>,
        callback: Bound<'_, PyAny>,
        args: Bound<'_, PyTuple>,
    ) -> PyResult<Py<Handle>> {
        Self::watch(slf, fd, false, callback, args)
    }

    fn _remove_reader(slf: &Bound<'_, Self>, fd: &Bound<'_, PyAny>) -> PyResult<bool> {
        Self::unwatch(slf, fd, false)
    }

    #[pyo3(signature = (fd, callback, *args))]
    fn _add_writer(
        slf: &Bound<'_, Self>,
        fd: &Bound<'_, PyAny>,
        callback: Bound<'_, PyAny>,
        args: Bound<'_, PyTuple>,
    ) -> PyResult<Py<Handle>> {
        Self::watch(slf, fd, true, callback, args)
    }

    fn _remove_writer(slf: &Bound<'_, Self>, fd: &Bound<'_, PyAny>) -> PyResult<bool> {
        Self::unwatch(slf, fd, true)
    }

    /// Which of `fd`'s directions are watched, as a selectors event mask (1 read, 2 write).
    fn _watch_mask(slf: &Bound<'_, Self>, fd: RawFd) -> PyResult<u8> {
        let watchers = Self::local_of(slf)?.watchers.borrow();
        let read = u8::from(watchers.contains_key(&(fd, false)));
        let write = u8::from(watchers.contains_key(&(fd, true)));
        Ok(read | write << 1)
    }

    /// Closes the Rust loop: the callbacks, timers and fd watches not run are dropped.
    fn _close_native(slf: &Bound<'_, Self>) -> PyResult<()> {
        let local = Self::local_of(slf)?;
        slf.get().closed.store(true, Ordering::Relaxed);
        local.closed.set(true);
        let watchers = std::mem::take(&mut *local.watchers.borrow_mut());
        for watcher in watchers.into_values() {
            watcher.cancel();
        }
        local.lp.close();
        local.pending.borrow_mut().take();
        let spare = std::mem::take(&mut *local.spare_handles.borrow_mut());
        drop(spare);
        Ok(())
    }
}

impl CoreLoop {
    /// Whether the loop is in debug mode (`get_debug()`, installed by `fast_methods`).
    pub(crate) fn get_debug(&self) -> bool {
        self.debug.load(Ordering::Relaxed)
    }

    /// The loop's monotonic clock, in seconds (`time()`).
    pub(crate) fn time(&self) -> f64 {
        self.remote.time() + self.epoch
    }

    /// `call_soon(callback, *args, context=None)` (installed by `fast_methods`).
    pub(crate) fn call_soon_impl(
        slf: &Bound<'_, Self>,
        callback: Bound<'_, PyAny>,
        args: Bound<'_, PyTuple>,
        context: Option<Bound<'_, PyAny>>,
    ) -> PyResult<Py<Handle>> {
        let this = slf.get();
        this.check_open()?;
        Self::debug_checks(slf, &callback, "call_soon")?;
        let local = Self::local_of(slf)?;
        let py = slf.py();
        let parts = Self::new_parts(slf, callback, args, context)?;
        let spare = local.spare_handles.borrow_mut().pop();
        let handle = match spare {
            Some(handle) => {
                // SAFETY: a spare handle has no other reference (see `run_queued`), and
                // nothing of its is borrowed.
                unsafe { handle.get().cb.refill(py, parts) };
                handle
            }
            None => Self::new_handle(py, parts)?,
        };
        // The queue's reference, as a token that `run_queued` takes back.
        let queued = handle.clone_ref(py).into_ptr();
        local.lp.call_soon_token(queued as usize);
        Ok(handle)
    }

    /// `call_later(delay, callback, *args, context=None)`.
    pub(crate) fn call_later_impl(
        slf: &Bound<'_, Self>,
        delay: Option<f64>,
        callback: Bound<'_, PyAny>,
        args: Bound<'_, PyTuple>,
        context: Option<Bound<'_, PyAny>>,
    ) -> PyResult<Py<TimerHandle>> {
        let delay = delay.ok_or_else(|| PyTypeError::new_err("delay must not be None"))?;
        let this = slf.get();
        // One clock reading serves `when` and the wheel's look at whether it is due.
        let now = this.remote.time();
        let when = now + this.epoch + delay;
        let at = (now + delay, Some(now));
        Self::schedule_at(slf, when, at, callback, args, context, "call_later")
    }

    /// `call_at(when, callback, *args, context=None)`.
    pub(crate) fn call_at_impl(
        slf: &Bound<'_, Self>,
        when: Option<f64>,
        callback: Bound<'_, PyAny>,
        args: Bound<'_, PyTuple>,
        context: Option<Bound<'_, PyAny>>,
    ) -> PyResult<Py<TimerHandle>> {
        let when = when.ok_or_else(|| PyTypeError::new_err("when cannot be None"))?;
        let at = (when - slf.get().epoch, None);
        Self::schedule_at(slf, when, at, callback, args, context, "call_at")
    }

    /// A `TimerHandle` for `when`; `at` is that time on the Rust loop's clock, and the loop
    /// time the caller has just read, if it did.
    fn schedule_at(
        slf: &Bound<'_, Self>,
        when: f64,
        at: (f64, Option<f64>),
        callback: Bound<'_, PyAny>,
        args: Bound<'_, PyTuple>,
        context: Option<Bound<'_, PyAny>>,
        what: &str,
    ) -> PyResult<Py<TimerHandle>> {
        let this = slf.get();
        this.check_open()?;
        Self::debug_checks(slf, &callback, what)?;
        let local = Self::local_of(slf)?;
        let py = slf.py();
        let cb = Self::new_parts(slf, callback, args, context)?.into();
        let timer = AtomicU64::new(NO_TIMER);
        let handle = Py::new(py, TimerHandle { cb, when, timer })?;
        // The wheel's reference, as a tagged token that `run_queued` or `cancel_timer` takes
        // back: no boxed closure, no handle of the Rust loop's.
        let token = handle.clone_ref(py).into_ptr() as usize | TIMER_TAG;
        match local.lp.call_at_token(at.0, token, at.1) {
            Some(key) => handle.get().timer.store(key.to_raw(), Ordering::Relaxed),
            None => release_timer_token(py, token),
        }
        Ok(handle)
    }
}
