//! The streams fast path's methods: `StreamReader.read`, `StreamWriter.write` and
//! `StreamWriter.drain` as plain CPython methods of `asyncio_rs._streams`' subclasses of
//! asyncio's `StreamReader` and `StreamWriter`.
//!
//! Those subclasses add no state: they work on the attributes asyncio's classes keep
//! (`_buffer`, `_waiter`, `_eof`, `_exception`, `_paused`, `_transport`, ...), so every
//! method not made native (`readline`, `readexactly`, `feed_eof`, ...) runs asyncio's code on
//! the same state. The transport turns an exact `asyncio.StreamReader` (when its protocol is
//! asyncio's `StreamReaderProtocol`) and the protocol's exact `asyncio.StreamWriter` into
//! them by assigning `__class__` ([`swap_reader`], [`swap_writer`]), unless a program
//! replaced one of the methods they stand for; subclasses are left alone.

mod awaitable;
mod slots;
mod steps;

use crate::fast_methods::{add_to, guarded, Meth, Object};
use awaitable::StreamAwaitable;
use pyo3::ffi;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyString, PyType};
pub(crate) use steps::Attrs;

/// The classes the fast path works with, and asyncio's methods it stands for.
pub(crate) struct Classes {
    /// `asyncio_rs._streams.StreamReader` / `StreamWriter`.
    reader: Py<PyType>,
    writer: Py<PyType>,
    /// asyncio's `StreamReader`, `StreamWriter` and `StreamReaderProtocol`.
    asyncio_reader: Py<PyType>,
    asyncio_writer: Py<PyType>,
    protocol: Py<PyType>,
    /// asyncio's `StreamReader.read` and `StreamWriter.drain`, for the cases they do.
    read: Py<PyAny>,
    drain: Py<PyAny>,
    /// asyncio's methods the native ones replace or skip, as imported: `(class, name,
    /// function)`. A class whose attribute is no longer that function is not swapped.
    reader_methods: Vec<(Py<PyType>, Py<PyString>, Py<PyAny>)>,
    writer_methods: Vec<(Py<PyType>, Py<PyString>, Py<PyAny>)>,
}

static CLASSES: PyOnceLock<Classes> = PyOnceLock::new();

fn classes(py: Python<'_>) -> Option<&Classes> {
    CLASSES.get(py)
}

impl Classes {
    /// Whether `ty` is asyncio's `StreamReader` or ours, whose `_exception` is what
    /// `exception()` returns.
    fn is_stream_reader(&self, ty: &Bound<'_, PyType>) -> bool {
        ty.is(self.reader.bind(ty.py())) || ty.is(self.asyncio_reader.bind(ty.py()))
    }
}

/// Whether a reader of type `ty` may be fed by the transport: asyncio's `StreamReader` or
/// ours.
pub(crate) fn is_native_reader(ty: &Bound<'_, PyType>) -> bool {
    classes(ty.py()).is_some_and(|c| ty.is(c.reader.bind(ty.py())))
}

fn unchanged(py: Python<'_>, methods: &[(Py<PyType>, Py<PyString>, Py<PyAny>)]) -> PyResult<bool> {
    for (class, name, function) in methods {
        if !class.bind(py).getattr(name.bind(py))?.is(function.bind(py)) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Makes `reader` ours if it is exactly asyncio's `StreamReader`, with asyncio's methods.
pub(crate) fn swap_reader(reader: &Bound<'_, PyAny>) -> PyResult<()> {
    let py = reader.py();
    let Some(c) = classes(py) else { return Ok(()) };
    if reader.get_type().is(c.asyncio_reader.bind(py)) && unchanged(py, &c.reader_methods)? {
        reader.setattr(intern!(py, "__class__"), c.reader.bind(py))?;
    }
    Ok(())
}

/// Makes `writer` ours if it is exactly asyncio's `StreamWriter`, with asyncio's methods.
pub(crate) fn swap_writer(writer: &Bound<'_, PyAny>) -> PyResult<()> {
    let py = writer.py();
    let Some(c) = classes(py) else { return Ok(()) };
    if writer.get_type().is(c.asyncio_writer.bind(py)) && unchanged(py, &c.writer_methods)? {
        writer.setattr(intern!(py, "__class__"), c.writer.bind(py))?;
    }
    Ok(())
}

/// The `StreamWriter` a server's `StreamReaderProtocol` made in `connection_made`: its
/// `_stream_writer` up to Python 3.12; from 3.13, which no longer keeps it there, the one
/// the handler's coroutine (the protocol's `_task`, not started yet) was given.
pub(crate) fn server_writer<'py>(
    protocol: &Bound<'py, PyAny>,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    let py = protocol.py();
    let attrs = Attrs::of(protocol);
    if let Some(writer) = attrs.get_own(intern!(py, "_stream_writer"))? {
        return Ok((!writer.is_none()).then_some(writer));
    }
    let Some(c) = classes(py) else {
        return Ok(None);
    };
    let Some(task) = attrs
        .get_own(intern!(py, "_task"))?
        .filter(|t| !t.is_none())
    else {
        return Ok(None);
    };
    let coro = task.call_method0(intern!(py, "get_coro"))?;
    let Ok(frame) = coro.getattr(intern!(py, "cr_frame")) else {
        return Ok(None); // not a coroutine
    };
    if frame.is_none() {
        return Ok(None);
    }
    let locals = frame.getattr(intern!(py, "f_locals"))?;
    for value in locals.call_method0(intern!(py, "values"))?.try_iter()? {
        let value = value?;
        if value.get_type().is(c.asyncio_writer.bind(py))
            && Attrs::of(&value)
                .get(intern!(py, "_protocol"))?
                .is(protocol)
        {
            return Ok(Some(value));
        }
    }
    Ok(None)
}

/// Installs the native methods on `reader` and `writer` (`asyncio_rs._streams`' classes)
/// and enables the swap. asyncio's methods are taken as they are now: if a program already
/// replaced one, nothing is swapped.
#[pyfunction]
pub(crate) fn install_streams(
    reader: &Bound<'_, PyType>,
    writer: &Bound<'_, PyType>,
) -> PyResult<()> {
    let py = reader.py();
    let streams = py.import("asyncio.streams")?;
    let class =
        |name: &str| -> PyResult<Bound<'_, PyType>> { Ok(streams.getattr(name)?.cast_into()?) };
    let (asyncio_reader, asyncio_writer, protocol) = (
        class("StreamReader")?,
        class("StreamWriter")?,
        class("StreamReaderProtocol")?,
    );
    let mut pristine = true;
    let mut methods = |class: &Bound<'_, PyType>, names: &[&str]| -> PyResult<Vec<_>> {
        let mut out = Vec::new();
        for name in names {
            let function = class.getattr(*name)?;
            let module = function.getattr(intern!(py, "__module__"))?;
            pristine &= module.eq(intern!(py, "asyncio.streams"))?;
            out.push((
                class.clone().unbind(),
                PyString::intern(py, name).unbind(),
                function.unbind(),
            ));
        }
        Ok(out)
    };
    let reader_methods = methods(
        &asyncio_reader,
        &["read", "_wait_for_data", "_maybe_resume_transport"],
    )?;
    let mut writer_methods = methods(&asyncio_writer, &["write", "drain"])?;
    writer_methods.extend(methods(&asyncio_reader, &["exception"])?);
    writer_methods.extend(methods(&protocol, &["_drain_helper"])?);
    if !pristine {
        return Ok(()); // replaced before asyncio_rs was imported: no fast path
    }
    let read = asyncio_reader.getattr("read")?.unbind();
    let drain = asyncio_writer.getattr("drain")?.unbind();
    add_to(
        reader,
        c"read",
        Meth::Fast(read_method),
        c"read($self, n=-1)\n--\n\nReads up to n bytes (asyncio's StreamReader.read).",
    )?;
    add_to(
        writer,
        c"write",
        Meth::O(write_method),
        c"write($self, data, /)\n--\n\nWrites data to the transport.",
    )?;
    add_to(
        writer,
        c"drain",
        Meth::NoArgs(drain_method),
        c"drain($self, /)\n--\n\n\
          Waits until the transport's write buffer is below its high-water mark.",
    )?;
    let _ = CLASSES.set(
        py,
        Classes {
            reader: reader.clone().unbind(),
            writer: writer.clone().unbind(),
            asyncio_reader: asyncio_reader.unbind(),
            asyncio_writer: asyncio_writer.unbind(),
            protocol: protocol.unbind(),
            read,
            drain,
            reader_methods,
            writer_methods,
        },
    );
    Ok(())
}

/// The `n` of `read(n)` / `read(n=n)` / `read()` when it is an `int` in range; `None` for
/// any other call, which asyncio's `read` gets (its errors, its conversions).
///
/// # Safety
/// CPython's vectorcall arguments, valid for the call.
unsafe fn read_n(args: *const Object, nargs: ffi::Py_ssize_t, kwnames: Object) -> Option<isize> {
    let arg = match (nargs, kwnames.is_null()) {
        (0, true) => return Some(-1),
        (1, true) => {
            // SAFETY: one positional argument.
            unsafe { *args }
        }
        (0, false) => {
            // SAFETY: `kwnames` is a tuple of strs, whose values are at `args`.
            unsafe {
                if ffi::PyTuple_GET_SIZE(kwnames) != 1
                    || ffi::PyUnicode_CompareWithASCIIString(
                        ffi::PyTuple_GET_ITEM(kwnames, 0),
                        c"n".as_ptr(),
                    ) != 0
                {
                    return None;
                }
                *args
            }
        }
        _ => return None,
    };
    // SAFETY: `arg` is a live object; a failed conversion's error is cleared.
    unsafe {
        if ffi::PyLong_Check(arg) == 0 {
            return None;
        }
        let n = ffi::PyLong_AsSsize_t(arg);
        if n == -1 && !ffi::PyErr_Occurred().is_null() {
            ffi::PyErr_Clear();
            return None;
        }
        Some(n)
    }
}

unsafe extern "C" fn read_method(
    slf: Object,
    args: *const Object,
    nargs: ffi::Py_ssize_t,
    kwnames: Object,
) -> Object {
    // SAFETY: called by CPython as a method, with the GIL and its vectorcall arguments.
    unsafe {
        guarded(|py| {
            let reader = pyo3::Borrowed::from_ptr(py, slf);
            match read_n(args, nargs, kwnames) {
                Some(n) if n >= 0 => {
                    Ok(Bound::new(py, StreamAwaitable::read(&reader, n))?.into_ptr())
                }
                _ => {
                    // asyncio's read (read to end of file, or its own argument handling),
                    // called with the same arguments.
                    let Some(c) = classes(py) else {
                        return Err(pyo3::exceptions::PyRuntimeError::new_err(
                            "asyncio_rs streams not installed",
                        ));
                    };
                    let nargs = usize::try_from(nargs).unwrap_or(0);
                    let nkw = if kwnames.is_null() {
                        0
                    } else {
                        ffi::PyTuple_GET_SIZE(kwnames) as usize
                    };
                    let mut all = Vec::with_capacity(1 + nargs + nkw);
                    all.push(slf);
                    all.extend_from_slice(std::slice::from_raw_parts(args, nargs + nkw));
                    let out =
                        ffi::PyObject_Vectorcall(c.read.as_ptr(), all.as_ptr(), 1 + nargs, kwnames);
                    Bound::from_owned_ptr_or_err(py, out).map(Bound::into_ptr)
                }
            }
        })
    }
}

unsafe extern "C" fn write_method(slf: Object, data: Object) -> Object {
    // SAFETY: called by CPython as a method with one argument, with the GIL.
    unsafe {
        guarded(|py| {
            let writer = pyo3::Borrowed::from_ptr(py, slf).to_owned();
            let data = pyo3::Borrowed::from_ptr(py, data);
            Attrs::of(&writer)
                .get(intern!(py, "_transport"))?
                .call_method1(intern!(py, "write"), (data,))?;
            Ok(py.None().into_ptr())
        })
    }
}

unsafe extern "C" fn drain_method(slf: Object, _: Object) -> Object {
    // SAFETY: called by CPython as a method, with the GIL.
    unsafe {
        guarded(|py| {
            let writer = pyo3::Borrowed::from_ptr(py, slf);
            Ok(Bound::new(py, StreamAwaitable::drain(&writer))?.into_ptr())
        })
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<StreamAwaitable>()?;
    slots::install_slots(m.py());
    m.add_function(wrap_pyfunction!(install_streams, m)?)
}
