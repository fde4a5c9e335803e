//! The awaitable's C slots, set by hand: `tp_iternext` (`next()`, and `await` on 3.12+)
//! and `am_send` (`await` and a task's steps on 3.11, a task's steps on 3.12+; PyO3 does not
//! expose it). A step's return value goes back as `am_send`'s result, with no
//! `StopIteration` made at all, or, from `next()`, as no exception when it is `None` (a
//! drain) and as a `StopIteration` set unnormalized otherwise, as CPython's own generators
//! do. PyO3's `__next__` trampoline would make and normalize a `StopIteration` per step.

use crate::fast_methods::Object;
use crate::streams::awaitable::{Step, StreamAwaitable};
use pyo3::exceptions::{PyBaseException, PyRuntimeError, PyStopIteration, PyValueError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyTuple;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Sets the type's `tp_iternext` and `am_send` to [`iternext`] and [`am_send`]. `__next__`
/// and `send` called by name stay PyO3's, doing the same steps.
pub(crate) fn install_slots(py: Python<'_>) {
    let ty = py.get_type::<StreamAwaitable>();
    let tp = ty.as_type_ptr();
    // SAFETY: the GIL is held and `tp` is the class's heap type object, alive for the
    // process. Its `tp_as_async` points into that object (PyO3 filled it for `__await__`),
    // so both slots are writable; `PyType_Modified` drops any cached lookups.
    unsafe {
        (*tp).tp_iternext = Some(iternext);
        let methods = (*tp).tp_as_async;
        if !methods.is_null() {
            (*methods).am_send = Some(am_send);
        }
        ffi::PyType_Modified(tp);
    }
}

/// One step from a C slot: `value` (NULL for `next()`) sent in; a panic (a bug) becomes a
/// `RuntimeError`.
///
/// # Safety
/// `slf` is a `StreamAwaitable`, `value` NULL or an object, both alive for the call; the GIL
/// is held.
unsafe fn raw_step<'py>(py: Python<'py>, slf: Object, value: Object) -> PyResult<Step<'py>> {
    // SAFETY: as the caller promises; the slots are only on this (final) class's type.
    let slf = unsafe { pyo3::Borrowed::from_ptr(py, slf).cast_unchecked::<StreamAwaitable>() };
    let value = if value.is_null() {
        py.None().into_bound(py)
    } else {
        // SAFETY: as above.
        unsafe { pyo3::Borrowed::from_ptr(py, value) }.to_owned()
    };
    let Ok(mut this) = slf.try_borrow_mut() else {
        return Err(PyValueError::new_err("coroutine already executing"));
    };
    match catch_unwind(AssertUnwindSafe(|| this.step(&value))) {
        Ok(step) => step,
        Err(_) => Err(PyRuntimeError::new_err(
            "asyncio_rs: internal error (a panic) in a stream's awaitable",
        )),
    }
}

unsafe extern "C" fn am_send(slf: Object, value: Object, out: *mut Object) -> ffi::PySendResult {
    // SAFETY: CPython calls the slot with the GIL held and its arguments alive.
    let py = unsafe { Python::assume_attached() };
    // SAFETY: as above; `out` is writable.
    unsafe {
        match raw_step(py, slf, value) {
            Ok(Step::Yield(v)) => {
                *out = v.into_ptr();
                ffi::PySendResult::PYGEN_NEXT
            }
            Ok(Step::Return(v)) => {
                *out = v.into_ptr();
                ffi::PySendResult::PYGEN_RETURN
            }
            Err(e) => {
                e.restore(py);
                *out = std::ptr::null_mut();
                ffi::PySendResult::PYGEN_ERROR
            }
        }
    }
}

unsafe extern "C" fn iternext(slf: Object) -> Object {
    // SAFETY: CPython calls the slot with the GIL held and `slf` alive.
    let py = unsafe { Python::assume_attached() };
    // SAFETY: as above.
    match unsafe { raw_step(py, slf, std::ptr::null_mut()) } {
        Ok(Step::Yield(v)) => v.into_ptr(),
        Ok(Step::Return(v)) => {
            if !v.is_none() {
                stop_iteration(&v);
            }
            std::ptr::null_mut()
        }
        Err(e) => {
            e.restore(py);
            std::ptr::null_mut()
        }
    }
}

/// Raises `StopIteration(value)` as CPython's `_PyGen_SetStopIterationValue` does: the
/// value itself as the exception's argument (made into the exception only when caught),
/// but a tuple or an exception inside a `StopIteration` made now.
fn stop_iteration(value: &Bound<'_, PyAny>) {
    let py = value.py();
    if value.is_instance_of::<PyTuple>() || value.is_instance_of::<PyBaseException>() {
        match py.get_type::<PyStopIteration>().call1((value,)) {
            Ok(exc) => PyErr::from_value(exc).restore(py),
            Err(e) => e.restore(py),
        }
        return;
    }
    // SAFETY: the GIL is held; the exception type and the value are alive.
    unsafe { ffi::PyErr_SetObject(ffi::PyExc_StopIteration, value.as_ptr()) };
}
