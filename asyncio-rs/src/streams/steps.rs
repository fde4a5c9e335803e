//! The work of asyncio's `StreamReader.read(n)` (with `_wait_for_data` and
//! `_maybe_resume_transport`) and of `StreamWriter.drain()`'s case that does not wait, on the
//! objects' own attributes, in the order asyncio's code reads and writes them (the same on
//! CPython 3.11, 3.12 and 3.13).

use crate::streams::awaitable::Step;
use crate::streams::classes;
use pyo3::exceptions::PyRuntimeError;
use pyo3::ffi;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyDict, PySlice, PyString};

/// An object's attributes, read and written in its instance dictionary where they are
/// (asyncio's streams keep all theirs there, and their classes define no descriptor of those
/// names): one dictionary lookup instead of `getattr`'s walk of the class's MRO first. A name
/// not in the dictionary is `getattr`'s (its `AttributeError`, or a class attribute).
pub(crate) struct Attrs<'a, 'py> {
    obj: &'a Bound<'py, PyAny>,
    dict: Option<Bound<'py, PyDict>>,
}

impl<'a, 'py> Attrs<'a, 'py> {
    pub(crate) fn of(obj: &'a Bound<'py, PyAny>) -> Attrs<'a, 'py> {
        let py = obj.py();
        // SAFETY: the GIL is held and `obj` is alive; a new reference to its dictionary (made
        // if it had none) comes back, or NULL with an exception set (a type without one).
        let dict = unsafe { ffi::PyObject_GenericGetDict(obj.as_ptr(), std::ptr::null_mut()) };
        // SAFETY: as above.
        let dict = unsafe { Bound::from_owned_ptr_or_err(py, dict) };
        let dict = match dict {
            Ok(d) => d.cast_into::<PyDict>().ok(),
            Err(_) => None,
        };
        Attrs { obj, dict }
    }

    pub(crate) fn get(&self, name: &Bound<'py, PyString>) -> PyResult<Bound<'py, PyAny>> {
        if let Some(dict) = &self.dict {
            if let Some(value) = dict.get_item(name)? {
                return Ok(value);
            }
        }
        self.obj.getattr(name)
    }

    /// The attribute if the instance dictionary has it (`None` when it has not, without
    /// looking at the class).
    pub(crate) fn get_own(
        &self,
        name: &Bound<'py, PyString>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        match &self.dict {
            Some(dict) => dict.get_item(name),
            None => Ok(None),
        }
    }

    pub(crate) fn set(
        &self,
        name: &Bound<'py, PyString>,
        value: impl IntoPyObject<'py>,
    ) -> PyResult<()> {
        match &self.dict {
            Some(dict) => dict.set_item(name, value),
            None => self.obj.setattr(name, value),
        }
    }
}

/// How a read's first step ended.
pub(crate) enum Started<'py> {
    /// With the data (or the end of the stream's `b''`).
    Done(Bound<'py, PyAny>),
    /// Waiting on the reader's `_waiter`: its `__await__()` iterator, and what that yielded.
    Waiting(Bound<'py, PyAny>, Bound<'py, PyAny>),
}

/// `iter.send(value)` as `await` does it (`PyIter_Send`: a coroutine or a C future's
/// iterator return without raising `StopIteration`).
pub(crate) fn send<'py>(
    iter: &Bound<'py, PyAny>,
    value: &Bound<'py, PyAny>,
) -> PyResult<Step<'py>> {
    let py = iter.py();
    let mut out = std::ptr::null_mut();
    // SAFETY: the GIL is held and both objects are alive for the call; `out` receives a new
    // reference (the yielded or returned value) unless the call fails.
    let sent = unsafe { ffi::PyIter_Send(iter.as_ptr(), value.as_ptr(), &mut out) };
    match sent {
        ffi::PySendResult::PYGEN_ERROR => Err(PyErr::fetch(py)),
        // SAFETY: as above, `out` is a new reference.
        ffi::PySendResult::PYGEN_NEXT => Ok(Step::Yield(unsafe { Bound::from_owned_ptr(py, out) })),
        // SAFETY: as above.
        ffi::PySendResult::PYGEN_RETURN => {
            Ok(Step::Return(unsafe { Bound::from_owned_ptr(py, out) }))
        }
    }
}

/// `read(n)` (`n >= 0`) up to its wait, if it must wait: `raise self._exception`, `b''` for
/// `n == 0`, then, with the buffer empty and no end of file, `_wait_for_data('read')`'s
/// checks, the transport resumed, a new `_waiter` and its first step.
pub(crate) fn read_start<'py>(reader: &Bound<'py, PyAny>, n: isize) -> PyResult<Started<'py>> {
    let py = reader.py();
    let attrs = Attrs::of(reader);
    let exc = attrs.get(intern!(py, "_exception"))?;
    if !exc.is_none() {
        return Err(PyErr::from_value(exc));
    }
    if n == 0 {
        return Ok(Started::Done(PyBytes::new(py, b"").into_any()));
    }
    let empty = !attrs.get(intern!(py, "_buffer"))?.is_truthy()?;
    if empty && !attrs.get(intern!(py, "_eof"))?.is_truthy()? {
        if !attrs.get(intern!(py, "_waiter"))?.is_none() {
            return Err(PyRuntimeError::new_err(
                "read() called while another coroutine is already waiting for incoming data",
            ));
        }
        resume_transport(&attrs)?;
        let waiter = attrs
            .get(intern!(py, "_loop"))?
            .call_method0(intern!(py, "create_future"))?;
        attrs.set(intern!(py, "_waiter"), &waiter)?;
        // From here on, asyncio's `finally: self._waiter = None` applies.
        let first = awaited(&waiter)
            .and_then(|waiting| Ok((send(&waiting, &py.None().into_bound(py))?, waiting)));
        match first {
            Ok((Step::Yield(fut), waiting)) => return Ok(Started::Waiting(waiting, fut)),
            Ok((Step::Return(_), _)) => end_wait(reader)?,
            Err(e) => return Err(end_wait(reader).err().unwrap_or(e)),
        }
    }
    take_from(&attrs, n).map(Started::Done)
}

/// `fut.__await__()`, as `await` gets it (the type's `am_await` slot).
fn awaited<'py>(fut: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let py = fut.py();
    // SAFETY: the GIL is held; a type object's `tp_as_async` is NULL or points at its
    // async slots, which live as long as the type (kept alive by `fut`).
    let slot = unsafe {
        let methods = (*ffi::Py_TYPE(fut.as_ptr())).tp_as_async;
        if methods.is_null() {
            None
        } else {
            (*methods).am_await
        }
    };
    match slot {
        // SAFETY: the slot's own object; a new reference or NULL with an exception set.
        Some(am_await) => unsafe { Bound::from_owned_ptr_or_err(py, am_await(fut.as_ptr())) },
        None => fut.call_method0(intern!(py, "__await__")),
    }
}

/// `if self._paused: self._paused = False; self._transport.resume_reading()`.
fn resume_transport(attrs: &Attrs<'_, '_>) -> PyResult<()> {
    let py = attrs.obj.py();
    if attrs.get(intern!(py, "_paused"))?.is_truthy()? {
        attrs.set(intern!(py, "_paused"), false)?;
        attrs
            .get(intern!(py, "_transport"))?
            .call_method0(intern!(py, "resume_reading"))?;
    }
    Ok(())
}

/// `_wait_for_data`'s `finally`.
pub(crate) fn end_wait(reader: &Bound<'_, PyAny>) -> PyResult<()> {
    let py = reader.py();
    Attrs::of(reader).set(intern!(py, "_waiter"), py.None())
}

/// The end of `read(n)`: `bytes(self._buffer[:n])`, `del self._buffer[:n]`,
/// `self._maybe_resume_transport()`.
pub(crate) fn take<'py>(reader: &Bound<'py, PyAny>, n: isize) -> PyResult<Bound<'py, PyAny>> {
    take_from(&Attrs::of(reader), n)
}

fn take_from<'py>(attrs: &Attrs<'_, 'py>, n: isize) -> PyResult<Bound<'py, PyAny>> {
    let py = attrs.obj.py();
    let buffer = attrs.get(intern!(py, "_buffer"))?;
    let data = match buffer.cast::<PyByteArray>() {
        Ok(bytes) => {
            let k = bytes.len().min(n.unsigned_abs());
            // SAFETY: no Python code runs while the slice is borrowed (the copy into a new
            // bytes object allocates but calls nothing that could resize the bytearray).
            let data = PyBytes::new(py, unsafe { &bytes.as_bytes()[..k] });
            if k > 0 {
                // SAFETY: the GIL is held and `bytes` is alive; `0..k` is within its length.
                let done = unsafe { ffi::PySequence_DelSlice(bytes.as_ptr(), 0, k as isize) };
                if done < 0 {
                    return Err(PyErr::fetch(py));
                }
            }
            data.into_any()
        }
        Err(_) => {
            // Not a bytearray (a program replaced it): the same operations, by protocol.
            let slice = PySlice::new(py, 0, n, 1);
            let data = py
                .get_type::<PyBytes>()
                .call1((buffer.get_item(&slice)?,))?;
            buffer.del_item(&slice)?;
            data
        }
    };
    if attrs.get(intern!(py, "_paused"))?.is_truthy()? {
        let len = attrs.get(intern!(py, "_buffer"))?.len()?;
        if len
            .into_pyobject(py)?
            .le(attrs.get(intern!(py, "_limit"))?)?
        {
            resume_transport(attrs)?;
        }
    }
    Ok(data)
}

/// Whether `drain()` is done at once, without waiting: no exception on the reader (raised
/// if there is one), the transport not closing, and the protocol (asyncio's
/// `StreamReaderProtocol`) neither paused nor lost. Any other case is asyncio's `drain`.
pub(crate) fn drain_at_once(writer: &Bound<'_, PyAny>) -> PyResult<bool> {
    let py = writer.py();
    let Some(classes) = classes(py) else {
        return Ok(false);
    };
    let attrs = Attrs::of(writer);
    let reader = attrs.get(intern!(py, "_reader"))?;
    if !reader.is_none() {
        if !classes.is_stream_reader(&reader.get_type()) {
            return Ok(false); // its own exception() must be called
        }
        let exc = Attrs::of(&reader).get(intern!(py, "_exception"))?;
        if !exc.is_none() {
            return Err(PyErr::from_value(exc));
        }
    }
    let closing = attrs
        .get(intern!(py, "_transport"))?
        .call_method0(intern!(py, "is_closing"))?;
    if closing.is_truthy()? {
        return Ok(false);
    }
    let protocol = attrs.get(intern!(py, "_protocol"))?;
    if !protocol.get_type().is(classes.protocol.bind(py)) {
        return Ok(false);
    }
    let protocol = Attrs::of(&protocol);
    Ok(!protocol.get(intern!(py, "_connection_lost"))?.is_truthy()?
        && !protocol.get(intern!(py, "_paused"))?.is_truthy()?)
}

/// asyncio's own `StreamWriter.drain(writer)` coroutine.
pub(crate) fn asyncio_drain<'py>(writer: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let py = writer.py();
    match classes(py) {
        Some(classes) => classes.drain.bind(py).call1((writer,)),
        None => writer.call_method0(intern!(py, "drain")),
    }
}
