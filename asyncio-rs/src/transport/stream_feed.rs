//! The streams fast path: for a protocol that is exactly asyncio's `StreamReaderProtocol`,
//! whose reader is exactly asyncio's `StreamReader`, the transport does what
//! `data_received` would (`StreamReader.feed_data`: append to `_buffer`, wake `_waiter`,
//! pause reading past twice the limit) in Rust, on the objects' own attributes, instead of
//! running those three Python functions per read. Anything else (a subclass, a reader at
//! end of file, no reader) goes through `data_received` as before, so asyncio's streams
//! behave as they do on asyncio's loop; so does a program that replaced either method.

use crate::streams::Attrs;
use crate::transport::conn::{Conn, Reader};
use pyo3::exceptions::PyNotImplementedError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyByteArray, PyBytes, PyType, PyWeakrefReference};

pub(crate) struct StreamFeed {
    protocol: Py<PyAny>,
    /// `asyncio.streams.StreamReader`.
    reader_type: Py<PyAny>,
}

impl StreamFeed {
    /// The fast path for `protocol`, when its type is exactly `StreamReaderProtocol`.
    pub(crate) fn detect(protocol: &Bound<'_, PyAny>) -> PyResult<Option<StreamFeed>> {
        static PROTOCOL: PyOnceLock<Py<PyType>> = PyOnceLock::new();
        static READER: PyOnceLock<Py<PyType>> = PyOnceLock::new();
        let py = protocol.py();
        let protocol_type = PROTOCOL.import(py, "asyncio.streams", "StreamReaderProtocol")?;
        if !protocol.get_type().is(protocol_type) {
            return Ok(None);
        }
        let reader_type = READER.import(py, "asyncio.streams", "StreamReader")?;
        // A program that replaced either method (to instrument it) gets it called.
        for (class, name) in [
            (protocol_type, intern!(py, "data_received")),
            (reader_type, intern!(py, "feed_data")),
        ] {
            let module = class.getattr(name)?.getattr(intern!(py, "__module__"))?;
            if !module.eq(intern!(py, "asyncio.streams"))? {
                return Ok(None);
            }
        }
        // The native read (and write and drain, once `connection_made` has made the
        // writer) for asyncio's own reader.
        if let Some(reader) = reader_of(protocol)? {
            crate::streams::swap_reader(&reader)?;
        }
        Ok(Some(StreamFeed {
            protocol: protocol.clone().unbind(),
            reader_type: reader_type.clone().into_any().unbind(),
        }))
    }

    pub(crate) fn clone_ref(&self, py: Python<'_>) -> StreamFeed {
        StreamFeed {
            protocol: self.protocol.clone_ref(py),
            reader_type: self.reader_type.clone_ref(py),
        }
    }

    pub(crate) fn traverse(&self, visit: &pyo3::PyVisit<'_>) -> Result<(), pyo3::PyTraverseError> {
        visit.call(&self.protocol)?;
        visit.call(&self.reader_type)
    }

    /// `protocol.data_received(data)`, done here; `false` when it must be called instead.
    pub(crate) fn feed(&self, py: Python<'_>, data: &Bound<'_, PyBytes>) -> PyResult<bool> {
        let Some(reader) = reader_of(self.protocol.bind(py))? else {
            return Ok(true); // no reader: data_received drops the data
        };
        let reader_type = reader.get_type();
        if !(reader_type.is(self.reader_type.bind(py))
            || crate::streams::is_native_reader(&reader_type))
        {
            return Ok(false);
        }
        // The reader's attributes, in its instance dictionary (asyncio's `StreamReader`
        // defines no descriptor of those names).
        let attrs = Attrs::of(&reader);
        if attrs.get(intern!(py, "_eof"))?.is_truthy()? || data.as_bytes().is_empty() {
            return Ok(false);
        }
        let buffer = attrs.get(intern!(py, "_buffer"))?;
        let Ok(buffer) = buffer.cast::<PyByteArray>() else {
            return Ok(false);
        };
        let old = buffer.len();
        let bytes = data.as_bytes();
        buffer.resize(old + bytes.len())?;
        // SAFETY: the bytearray was just resized to hold `bytes` after its `old` bytes, and
        // no Python code runs between that and this copy (the GIL is held), so its storage
        // is valid for those writes and does not alias `bytes` (another object).
        unsafe {
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), buffer.data().add(old), bytes.len());
        }
        let waiter = attrs.get(intern!(py, "_waiter"))?;
        if !waiter.is_none() {
            attrs.set(intern!(py, "_waiter"), py.None())?;
            if !waiter.call_method0(intern!(py, "cancelled"))?.is_truthy()? {
                waiter.call_method1(intern!(py, "set_result"), (py.None(),))?;
            }
        }
        let transport = attrs.get(intern!(py, "_transport"))?;
        if transport.is_none() || attrs.get(intern!(py, "_paused"))?.is_truthy()? {
            return Ok(true);
        }
        let limit: usize = attrs.get(intern!(py, "_limit"))?.extract()?;
        if buffer.len() > limit.saturating_mul(2) {
            match transport.call_method0(intern!(py, "pause_reading")) {
                Ok(_) => attrs.set(intern!(py, "_paused"), true)?,
                Err(e) if e.is_instance_of::<PyNotImplementedError>(py) => {
                    attrs.set(intern!(py, "_transport"), py.None())?
                }
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }
}

/// The protocol's reader (`_stream_reader_wr()`), if it has one still alive.
fn reader_of<'py>(protocol: &Bound<'py, PyAny>) -> PyResult<Option<Bound<'py, PyAny>>> {
    let py = protocol.py();
    let weak = Attrs::of(protocol).get(intern!(py, "_stream_reader_wr"))?;
    if weak.is_none() {
        return Ok(None);
    }
    if let Ok(weak) = weak.cast_exact::<PyWeakrefReference>() {
        return weak.upgrade().map_or(Ok(None), |r| Ok(Some(r)));
    }
    let reader = weak.call0()?;
    Ok((!reader.is_none()).then_some(reader))
}

/// After `connection_made`: a server's `StreamReaderProtocol` has made its `StreamWriter`,
/// which gets the native `write` and `drain`. (A client's is made by `open_connection`
/// after the transport: it stays asyncio's.)
pub(crate) fn connection_made(py: Python<'_>, conn: &Conn) -> PyResult<()> {
    let protocol = match &*conn.reader.borrow() {
        Some(Reader::Data(_, Some(feed))) => feed.protocol.clone_ref(py),
        _ => return Ok(()),
    };
    match crate::streams::server_writer(protocol.bind(py))? {
        Some(writer) => crate::streams::swap_writer(&writer),
        None => Ok(()),
    }
}
