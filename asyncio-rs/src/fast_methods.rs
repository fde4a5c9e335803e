//! The loop's hottest methods as plain CPython methods, installed on `CoreLoop` in place of
//! PyO3's.
//!
//! Every task step calls `loop.call_soon(step, context=ctx)`, every future asks
//! `loop.get_debug()`, and every `sleep(d)` calls `call_later`. PyO3's generic argument
//! handling (a new tuple for `*args`, a keyword scan building its own view of `context=`)
//! and its call trampoline cost about as much as the method itself. These entry points take
//! CPython's vectorcall arguments as they come (`METH_FASTCALL | METH_KEYWORDS`), with
//! `context` the one keyword, and hand them to the same code (`CoreLoop::call_soon_impl` and
//! the like).

use crate::loop_core::CoreLoop;
use pyo3::exceptions::{PyRuntimeError, PyTypeError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyTuple;
use std::ffi::CStr;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr::null_mut;
use std::sync::atomic::{AtomicPtr, Ordering};

pub(crate) type Object = *mut ffi::PyObject;

/// Runs `body` as the method's call: its error becomes the raised exception, and a panic
/// (a bug) a `RuntimeError` instead of unwinding into the interpreter.
///
/// # Safety
/// `slf` must be the method's `self`, called from CPython (so with the GIL held).
pub(crate) unsafe fn method(
    slf: Object,
    body: impl for<'py> FnOnce(Python<'py>, &Bound<'py, CoreLoop>) -> PyResult<Object>,
) -> Object {
    // SAFETY: CPython calls a method with the GIL held.
    unsafe {
        guarded(|py| {
            // SAFETY: the method descriptor has checked that `self` is a `CoreLoop` (or a
            // subclass's instance), which it keeps alive.
            let slf = pyo3::Borrowed::from_ptr(py, slf).cast_unchecked::<CoreLoop>();
            body(py, &slf)
        })
    }
}

/// Runs `body` as a C function's call from CPython: its error becomes the raised exception,
/// and a panic (a bug) a `RuntimeError` instead of unwinding into the interpreter.
///
/// # Safety
/// Called from CPython, with the GIL held.
pub(crate) unsafe fn guarded(
    body: impl for<'py> FnOnce(Python<'py>) -> PyResult<Object>,
) -> Object {
    // SAFETY: the caller holds the GIL.
    let py = unsafe { Python::assume_attached() };
    match catch_unwind(AssertUnwindSafe(|| body(py))) {
        Ok(Ok(out)) => out,
        Ok(Err(e)) => {
            e.restore(py);
            null_mut()
        }
        Err(_) => {
            PyRuntimeError::new_err("asyncio_rs: internal error (a panic) in a native method")
                .restore(py);
            null_mut()
        }
    }
}

/// A call's arguments: the positional ones (with the required ones given by keyword, as
/// `call_soon(callback=f)`, put in their places) and `context=`.
struct Args<'a, 'py> {
    py: Python<'py>,
    positional: std::borrow::Cow<'a, [Object]>,
    context: Option<Bound<'py, PyAny>>,
}

/// A required argument given by keyword (`call_later(delay=1, callback=f)`), put in its
/// place among the positional ones (null where none is given yet); asyncio's errors for a
/// keyword it does not know or a value given twice.
#[cold]
fn by_keyword(
    name: &str,
    required: &[&str],
    positional: &mut std::borrow::Cow<'_, [Object]>,
    key: &pyo3::Borrowed<'_, '_, PyAny>,
    value: Object,
) -> PyResult<()> {
    let key = key.to_string();
    let Some(at) = required.iter().position(|r| *r == key) else {
        return Err(PyTypeError::new_err(format!(
            "{name}() got an unexpected keyword argument '{key}'"
        )));
    };
    let slots = positional.to_mut();
    if slots.len() <= at {
        slots.resize(at + 1, std::ptr::null_mut());
    } else if !slots[at].is_null() {
        return Err(PyTypeError::new_err(format!(
            "{name}() got multiple values for argument '{key}'"
        )));
    }
    slots[at] = value;
    Ok(())
}

impl<'a, 'py> Args<'a, 'py> {
    /// # Safety
    /// `args`, `nargs` and `kwnames` as CPython passes them to a `METH_FASTCALL |
    /// METH_KEYWORDS` method, valid for `'a`.
    #[inline]
    unsafe fn parse(
        py: Python<'py>,
        name: &str,
        required: &[&str],
        args: *const Object,
        nargs: ffi::Py_ssize_t,
        kwnames: Object,
    ) -> PyResult<Args<'a, 'py>> {
        let nargs = usize::try_from(nargs).unwrap_or(0);
        let positional: &[Object] = if nargs == 0 {
            &[]
        } else {
            // SAFETY: CPython passes `nargs` positional arguments at `args`.
            unsafe { std::slice::from_raw_parts(args, nargs) }
        };
        let mut positional = std::borrow::Cow::Borrowed(positional);
        let mut context = None;
        if !kwnames.is_null() {
            // SAFETY: `kwnames` is the tuple of the keyword names, whose values follow the
            // positional arguments at `args`.
            let n = unsafe { ffi::PyTuple_GET_SIZE(kwnames) };
            for i in 0..n {
                // SAFETY: as above, `i` is within the tuple.
                let key = unsafe { ffi::PyTuple_GET_ITEM(kwnames, i) };
                // SAFETY: as above: value `i` of the keywords, alive for the call.
                let value = unsafe { *args.add(nargs + i as usize) };
                if is_context(key) {
                    // SAFETY: as above.
                    context = Some(unsafe { pyo3::Borrowed::from_ptr(py, value) }.to_owned());
                } else {
                    // SAFETY: a live str of the tuple.
                    let key = unsafe { pyo3::Borrowed::from_ptr(py, key) };
                    by_keyword(name, required, &mut positional, &key, value)?;
                }
            }
        }
        // Only the keywords' cold path leaves holes (nulls) in the positional arguments.
        let given = |i: usize| positional.get(i).is_some_and(|o| !o.is_null());
        let complete = positional.len() >= required.len()
            && (matches!(positional, std::borrow::Cow::Borrowed(_))
                || (0..required.len()).all(given));
        if !complete {
            let names: Vec<String> = (0..required.len())
                .filter(|&i| !given(i))
                .map(|i| format!("'{}'", required[i]))
                .collect();
            return Err(PyTypeError::new_err(format!(
                "{name}() missing {} required positional argument{}: {}",
                names.len(),
                if names.len() == 1 { "" } else { "s" },
                names.join(" and ")
            )));
        }
        Ok(Args {
            py,
            positional,
            context,
        })
    }

    fn at(&self, i: usize) -> Bound<'py, PyAny> {
        // SAFETY: a positional argument, alive for the call.
        unsafe { pyo3::Borrowed::from_ptr(self.py, self.positional[i]) }.to_owned()
    }

    /// The positional arguments from `from` on, as the tuple `*args`.
    fn rest(&self, from: usize) -> PyResult<Bound<'py, PyTuple>> {
        let items = &self.positional[from..];
        if items.is_empty() {
            return Ok(crate::handle::empty_tuple(self.py));
        }
        let n = ffi::Py_ssize_t::try_from(items.len()).unwrap_or(ffi::Py_ssize_t::MAX);
        // SAFETY: a new tuple of `n` items (the shared empty one when `n` is 0), or NULL with
        // an exception set.
        let tuple = unsafe { Bound::from_owned_ptr_or_err(self.py, ffi::PyTuple_New(n))? };
        for (i, &item) in items.iter().enumerate() {
            // SAFETY: `item` is alive for the call; the new tuple takes a reference to it, in
            // its slot `i`, which is empty and within its length.
            unsafe {
                ffi::Py_INCREF(item);
                ffi::PyTuple_SET_ITEM(tuple.as_ptr(), i as ffi::Py_ssize_t, item);
            }
        }
        Ok(tuple.cast_into::<PyTuple>()?)
    }
}

/// The `str` objects seen spelling the keyword `context` (ours, CPython's C `Task`'s): one
/// reference to each is kept forever, so an address here is never another object's.
static CONTEXT_KEYS: [AtomicPtr<ffi::PyObject>; 2] =
    [AtomicPtr::new(null_mut()), AtomicPtr::new(null_mut())];

/// Whether the keyword name `key` (a `str`) is `context`. Keyword names are interned, so
/// this is a pointer compare but for the first call from each kind of caller.
#[inline]
fn is_context(key: Object) -> bool {
    CONTEXT_KEYS
        .iter()
        .any(|known| known.load(Ordering::Relaxed) == key)
        || is_context_slow(key)
}

#[cold]
fn is_context_slow(key: Object) -> bool {
    // SAFETY: `key` is a live str and the GIL is held.
    let equal = unsafe { ffi::PyUnicode_CompareWithASCIIString(key, c"context".as_ptr()) } == 0;
    if equal {
        for known in &CONTEXT_KEYS {
            if known
                .compare_exchange(null_mut(), key, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
            {
                // SAFETY: as above; the reference kept is the slot's.
                unsafe { ffi::Py_INCREF(key) };
                break;
            }
        }
    }
    equal
}

unsafe extern "C" fn call_soon(
    slf: Object,
    args: *const Object,
    nargs: ffi::Py_ssize_t,
    kwnames: Object,
) -> Object {
    // SAFETY: called by CPython as a method, with its vectorcall arguments.
    unsafe {
        method(slf, |py, slf| {
            let a = Args::parse(py, "call_soon", &["callback"], args, nargs, kwnames)?;
            let handle = CoreLoop::call_soon_impl(slf, a.at(0), a.rest(1)?, a.context)?;
            Ok(handle.into_ptr())
        })
    }
}

/// `call_later(delay, ...)` and `call_at(when, ...)`: the time first, then as `call_soon`.
///
/// # Safety
/// As [`method`], with the method's vectorcall arguments.
unsafe fn timer_method(
    slf: Object,
    (args, nargs, kwnames): (*const Object, ffi::Py_ssize_t, Object),
    name: &str,
    required: [&str; 2],
    schedule: Schedule,
) -> Object {
    // SAFETY: as the caller promised.
    unsafe {
        method(slf, |py, slf| {
            let a = Args::parse(py, name, &required, args, nargs, kwnames)?;
            let time = a.at(0).extract()?;
            let handle = schedule(slf, time, a.at(1), a.rest(2)?, a.context)?;
            Ok(handle.into_ptr())
        })
    }
}

type Schedule = for<'py> fn(
    &Bound<'py, CoreLoop>,
    Option<f64>,
    Bound<'py, PyAny>,
    Bound<'py, PyTuple>,
    Option<Bound<'py, PyAny>>,
) -> PyResult<Py<crate::handle::TimerHandle>>;

unsafe extern "C" fn call_later(
    slf: Object,
    args: *const Object,
    nargs: ffi::Py_ssize_t,
    kwnames: Object,
) -> Object {
    let required = ["delay", "callback"];
    // SAFETY: called by CPython as a method, with its vectorcall arguments.
    unsafe {
        let call = (args, nargs, kwnames);
        timer_method(slf, call, "call_later", required, CoreLoop::call_later_impl)
    }
}

unsafe extern "C" fn call_at(
    slf: Object,
    args: *const Object,
    nargs: ffi::Py_ssize_t,
    kwnames: Object,
) -> Object {
    let required = ["when", "callback"];
    // SAFETY: called by CPython as a method, with its vectorcall arguments.
    unsafe {
        timer_method(
            slf,
            (args, nargs, kwnames),
            "call_at",
            required,
            CoreLoop::call_at_impl,
        )
    }
}

unsafe extern "C" fn get_debug(slf: Object, _: Object) -> Object {
    // SAFETY: called by CPython as a method.
    unsafe {
        method(slf, |py, slf| {
            Ok(pyo3::types::PyBool::new(py, slf.get().get_debug())
                .to_owned()
                .into_ptr())
        })
    }
}

unsafe extern "C" fn time(slf: Object, _: Object) -> Object {
    // SAFETY: called by CPython as a method.
    unsafe {
        method(slf, |py, slf| {
            // SAFETY: a new float, or NULL with an exception set.
            let t = ffi::PyFloat_FromDouble(slf.get().time());
            Ok(Bound::from_owned_ptr_or_err(py, t)?.into_ptr())
        })
    }
}

/// Installs the methods on `CoreLoop`, replacing PyO3's of the same names.
pub(crate) fn install(py: Python<'_>) -> PyResult<()> {
    let methods = [
        (
            c"call_soon",
            Meth::Fast(call_soon),
            c"call_soon($self, callback, *args, context=None)\n--\n\n\
              Calls callback(*args) at the next turn of the loop, in context.",
        ),
        (
            c"call_later",
            Meth::Fast(call_later),
            c"call_later($self, delay, callback, *args, context=None)\n--\n\n\
              Calls callback(*args) after delay seconds.",
        ),
        (
            c"call_at",
            Meth::Fast(call_at),
            c"call_at($self, when, callback, *args, context=None)\n--\n\n\
              Calls callback(*args) at the loop time when.",
        ),
        (
            c"get_debug",
            Meth::NoArgs(get_debug),
            c"get_debug($self, /)\n--\n\nWhether the loop is in debug mode.",
        ),
        (
            c"time",
            Meth::NoArgs(time),
            c"time($self, /)\n--\n\nThe loop's monotonic clock, in seconds.",
        ),
    ];
    for (name, meth, doc) in methods {
        add(py, name, meth, doc)?;
    }
    Ok(())
}

/// A `METH_FASTCALL | METH_KEYWORDS` method.
pub(crate) type Fast =
    unsafe extern "C" fn(Object, *const Object, ffi::Py_ssize_t, Object) -> Object;

/// A C method: its calling convention, with its function.
pub(crate) enum Meth {
    /// `METH_FASTCALL | METH_KEYWORDS`.
    Fast(Fast),
    /// `METH_O`: one positional argument.
    O(ffi::PyCFunction),
    /// `METH_NOARGS`.
    NoArgs(ffi::PyCFunction),
}

/// Sets `CoreLoop.<name>` to the C method `meth`; `doc` starts with its text signature.
pub(crate) fn add(
    py: Python<'_>,
    name: &'static CStr,
    meth: Meth,
    doc: &'static CStr,
) -> PyResult<()> {
    add_to(&py.get_type::<CoreLoop>(), name, meth, doc)
}

/// Sets `ty.<name>` to the C method `meth`, whose `self` must be a `ty`; `doc` starts with
/// its text signature.
pub(crate) fn add_to(
    ty: &Bound<'_, pyo3::types::PyType>,
    name: &'static CStr,
    meth: Meth,
    doc: &'static CStr,
) -> PyResult<()> {
    let py = ty.py();
    let (ml_meth, ml_flags) = match meth {
        Meth::Fast(f) => (
            ffi::PyMethodDefPointer {
                PyCFunctionFastWithKeywords: f,
            },
            ffi::METH_FASTCALL | ffi::METH_KEYWORDS,
        ),
        Meth::O(f) => (ffi::PyMethodDefPointer { PyCFunction: f }, ffi::METH_O),
        Meth::NoArgs(f) => (ffi::PyMethodDefPointer { PyCFunction: f }, ffi::METH_NOARGS),
    };
    let def = ffi::PyMethodDef {
        ml_name: name.as_ptr(),
        ml_meth,
        ml_flags,
        ml_doc: doc.as_ptr(),
    };
    // The descriptor points at its definition for as long as the type lives: the types are
    // made once per process, so the few bytes are leaked on purpose.
    let def: &'static mut ffi::PyMethodDef = Box::leak(Box::new(def));
    // SAFETY: the GIL is held, `ty` is a type object and `def` a complete method definition
    // that outlives it; a new reference or NULL with an exception set comes back.
    let descr = unsafe {
        Bound::from_owned_ptr_or_err(
            py,
            ffi::PyDescr_NewMethod(ty.as_ptr().cast::<ffi::PyTypeObject>(), def),
        )?
    };
    ty.setattr(name.to_str().unwrap_or_default(), descr)?;
    Ok(())
}
