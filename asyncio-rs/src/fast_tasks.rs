//! `create_future()` and `create_task()` as plain CPython methods on `CoreLoop`, in place of
//! `BaseEventLoop`'s Python ones.
//!
//! Streams make a waiter future per read and the `sock_*` methods one per waiting call, so
//! `create_future` is on every request's path: asyncio's is a Python frame around
//! `Future(loop=self)`. Here it is that one vectorcall of CPython's C `Future`.
//!
//! `create_task(coro, *, name=None, context=None)` keeps `BaseEventLoop.create_task`'s
//! semantics (the same on 3.11, 3.12 and 3.13) by doing natively only its plain case: an
//! open loop, no task factory, not in debug mode, and the arguments as a call spelled
//! `create_task(coro, name=..., context=...)`. That case is `Task(coro, loop=self,
//! name=name, context=context)`: out of debug mode the task has no `_source_traceback` to
//! trim. Every other case (a closed loop's `RuntimeError`, a task factory with its 3.11
//! `(loop, coro)` call and `set_name`, eager start through a factory, debug mode's trimmed
//! source traceback, bad arguments' `TypeError`) is `BaseEventLoop.create_task` itself,
//! called with the same arguments.

use crate::fast_methods::{add, method, Meth, Object};
use crate::loop_core::CoreLoop;
use pyo3::exceptions::PyAttributeError;
use pyo3::ffi;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyString, PyTuple};
use std::ptr::null_mut;

/// What the methods call, looked up once.
struct Asyncio {
    /// The globals of `asyncio.futures` and `asyncio.tasks`, whose `Future` and `Task`
    /// (`_asyncio`'s C classes, or the Python ones without `_asyncio`) are read at each call,
    /// as `BaseEventLoop` reads them: a program or a test (3.14's test_free_threading) may
    /// replace them with the Python classes.
    futures: Py<PyDict>,
    tasks: Py<PyDict>,
    /// `BaseEventLoop.create_task`, for the cases not done here.
    base_create_task: Py<PyAny>,
    /// The keyword names `name` and `context`, as interned strs.
    name: Py<PyString>,
    context: Py<PyString>,
    /// `Task(...)`'s keyword names: `loop`, then `name` (bit 0) and `context` (bit 1) when
    /// given.
    task_kwnames: [Py<PyTuple>; 4],
}

impl Asyncio {
    /// `asyncio.futures.Future` now.
    fn future(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        current(py, &self.futures, intern!(py, "Future"))
    }

    /// `asyncio.tasks.Task` now.
    fn task(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        current(py, &self.tasks, intern!(py, "Task"))
    }
}

fn current(
    py: Python<'_>,
    globals: &Py<PyDict>,
    name: &Bound<'_, PyString>,
) -> PyResult<Py<PyAny>> {
    match globals.bind(py).get_item(name)? {
        Some(value) => Ok(value.unbind()),
        None => Err(PyAttributeError::new_err(format!("asyncio has no {name}"))),
    }
}

fn asyncio(py: Python<'_>) -> PyResult<&Asyncio> {
    static ASYNCIO: PyOnceLock<Asyncio> = PyOnceLock::new();
    ASYNCIO.get_or_try_init(py, || {
        let base = py.import("asyncio.base_events")?.getattr("BaseEventLoop")?;
        let kw = |names: &[&str]| -> PyResult<Py<PyTuple>> {
            let names: Vec<_> = names.iter().map(|n| PyString::intern(py, n)).collect();
            Ok(PyTuple::new(py, names)?.unbind())
        };
        Ok(Asyncio {
            futures: py.import("asyncio.futures")?.dict().unbind(),
            tasks: py.import("asyncio.tasks")?.dict().unbind(),
            base_create_task: base.getattr("create_task")?.unbind(),
            name: PyString::intern(py, "name").unbind(),
            context: PyString::intern(py, "context").unbind(),
            task_kwnames: [
                kw(&["loop"])?,
                kw(&["loop", "name"])?,
                kw(&["loop", "context"])?,
                kw(&["loop", "name", "context"])?,
            ],
        })
    })
}

/// `callable(*args, **kwargs)` through vectorcall: `args` holds the `nargs` positional
/// arguments, then the values of `kwnames` (a tuple of strs, or NULL for none).
///
/// # Safety
/// The GIL is held and `args` is valid as described, its objects alive for the call.
unsafe fn vectorcall(
    py: Python<'_>,
    callable: &Py<PyAny>,
    args: &[Object],
    nargs: usize,
    kwnames: Object,
) -> PyResult<Object> {
    // SAFETY: as the caller promised; a new reference or NULL with an exception set.
    unsafe {
        let out = ffi::PyObject_Vectorcall(callable.as_ptr(), args.as_ptr(), nargs, kwnames);
        Ok(Bound::from_owned_ptr_or_err(py, out)?.into_ptr())
    }
}

/// `Future(loop=lp)`, as `create_future` makes it (for the native callers of
/// `loop.create_future()`).
pub(crate) fn new_future<'py>(lp: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let py = lp.py();
    let a = asyncio(py)?;
    let loop_kw = a.task_kwnames[0].as_ptr();
    // SAFETY: the GIL is held; `lp` is alive for the call and `loop_kw` is a tuple of one str.
    unsafe {
        let out = vectorcall(py, &a.future(py)?, &[lp.as_ptr()], 0, loop_kw)?;
        Ok(Bound::from_owned_ptr(py, out))
    }
}

unsafe extern "C" fn create_future(slf: Object, _: Object) -> Object {
    // SAFETY: called by CPython as a method.
    unsafe {
        method(slf, |py, slf| {
            let a = asyncio(py)?;
            // `Future(loop=self)`.
            let loop_kw = a.task_kwnames[0].as_ptr();
            vectorcall(py, &a.future(py)?, &[slf.as_ptr()], 0, loop_kw)
        })
    }
}

/// `Task(coro, loop=self, name=name, context=context)` when that is all
/// `BaseEventLoop.create_task` would do for this call, else `None`.
///
/// # Safety
/// `args` and `kwnames` as CPython passes them to a `METH_FASTCALL | METH_KEYWORDS` method
/// called with one positional argument: the coroutine, then the keywords' values.
unsafe fn plain_task(
    py: Python<'_>,
    slf: &Bound<'_, CoreLoop>,
    a: &Asyncio,
    args: &[Object],
    kwnames: Object,
) -> PyResult<Option<Object>> {
    let core = slf.get();
    if core.get_debug() || core.check_open().is_err() {
        return Ok(None);
    }
    // [coro, self, name, context]; bit 0 of `given` for name, bit 1 for context.
    let mut call = [args[0], slf.as_ptr(), null_mut(), null_mut()];
    let mut given = 0usize;
    if !kwnames.is_null() {
        // SAFETY: `kwnames` is the tuple of the keyword names, whose values follow the one
        // positional argument in `args`.
        let n = unsafe { ffi::PyTuple_GET_SIZE(kwnames) } as usize;
        for i in 0..n {
            // SAFETY: as above, `i` is within the tuple. Keyword names are interned but for
            // odd callers (`**{...}` with built strings), which take asyncio's path.
            let key = unsafe { ffi::PyTuple_GET_ITEM(kwnames, i as ffi::Py_ssize_t) };
            let bit = if key == a.name.as_ptr() {
                0
            } else if key == a.context.as_ptr() {
                1
            } else {
                return Ok(None);
            };
            call[2 + bit] = args[1 + i];
            given |= 1 << bit;
        }
    }
    match slf.as_any().getattr(intern!(py, "_task_factory")) {
        Ok(factory) if factory.is_none() => {}
        _ => return Ok(None),
    }
    // The keywords not given leave no gap.
    let mut values = [null_mut(); 4];
    let mut len = 0;
    for p in call.into_iter().filter(|p| !p.is_null()) {
        values[len] = p;
        len += 1;
    }
    let kwnames = a.task_kwnames[given].as_ptr();
    // SAFETY: the GIL is held; `values` is the coroutine, then the values of `kwnames`,
    // each alive for the call (arguments of ours, or `self`).
    unsafe { vectorcall(py, &a.task(py)?, &values[..len], 1, kwnames) }.map(Some)
}

unsafe extern "C" fn create_task(
    slf: Object,
    args: *const Object,
    nargs: ffi::Py_ssize_t,
    kwnames: Object,
) -> Object {
    // SAFETY: called by CPython as a method, with its vectorcall arguments.
    unsafe {
        method(slf, |py, slf| {
            let a = asyncio(py)?;
            let nargs = usize::try_from(nargs).unwrap_or(0);
            let nkw = if kwnames.is_null() {
                0
            } else {
                ffi::PyTuple_GET_SIZE(kwnames) as usize
            };
            let all: &[Object] = if nargs + nkw == 0 {
                &[]
            } else {
                // SAFETY: CPython passes the positional arguments, then the keywords'
                // values, at `args`.
                std::slice::from_raw_parts(args, nargs + nkw)
            };
            if nargs == 1 {
                if let Some(task) = plain_task(py, slf, a, all, kwnames)? {
                    return Ok(task);
                }
            }
            // `BaseEventLoop.create_task(self, *args, **kwargs)`.
            let mut with_self = Vec::with_capacity(all.len() + 1);
            with_self.push(slf.as_ptr());
            with_self.extend_from_slice(all);
            vectorcall(py, &a.base_create_task, &with_self, nargs + 1, kwnames)
        })
    }
}

/// Installs the methods on `CoreLoop`, replacing `BaseEventLoop`'s for its subclasses.
pub(crate) fn install(py: Python<'_>) -> PyResult<()> {
    add(
        py,
        c"create_task",
        Meth::Fast(create_task),
        c"create_task($self, coro, *, name=None, context=None)\n--\n\n\
          Schedules the coroutine coro as a Task of the loop; returns the task.",
    )?;
    add(
        py,
        c"create_future",
        Meth::NoArgs(create_future),
        c"create_future($self, /)\n--\n\nA new Future attached to the loop.",
    )
}
