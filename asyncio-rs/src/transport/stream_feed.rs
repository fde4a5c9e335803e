//! The streams fast path: for a protocol that is exactly asyncio's `StreamReaderProtocol`,
//! whose reader is exactly asyncio's `StreamReader`, the transport does what
//! `data_received` would (`StreamReader.feed_data`: append to `_buffer`, wake `_waiter`,
//! pause reading past twice the limit) in Rust, on the objects' own attributes, instead of
//! running those three Python functions per read. Anything else (a subclass, a reader at
//! end of file, no reader) goes through `data_received` as before, so asyncio's streams
//! behave as they do on asyncio's loop; so does a program that replaced either method.

use pyo3::exceptions::PyNotImplementedError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyByteArray, PyBytes, PyType};

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
        let protocol = self.protocol.bind(py);
        let weak = protocol.getattr(intern!(py, "_stream_reader_wr"))?;
        if weak.is_none() {
            return Ok(true); // no reader: data_received drops the data
        }
        let reader = weak.call0()?;
        if reader.is_none() {
            return Ok(true);
        }
        if !reader.get_type().is(self.reader_type.bind(py))
            || reader.getattr(intern!(py, "_eof"))?.is_truthy()?
            || data.as_bytes().is_empty()
        {
            return Ok(false);
        }
        let buffer = reader.getattr(intern!(py, "_buffer"))?;
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
        let waiter = reader.getattr(intern!(py, "_waiter"))?;
        if !waiter.is_none() {
            reader.setattr(intern!(py, "_waiter"), py.None())?;
            if !waiter.call_method0(intern!(py, "cancelled"))?.is_truthy()? {
                waiter.call_method1(intern!(py, "set_result"), (py.None(),))?;
            }
        }
        let transport = reader.getattr(intern!(py, "_transport"))?;
        if transport.is_none() || reader.getattr(intern!(py, "_paused"))?.is_truthy()? {
            return Ok(true);
        }
        let limit: usize = reader.getattr(intern!(py, "_limit"))?.extract()?;
        if buffer.len() > limit.saturating_mul(2) {
            match transport.call_method0(intern!(py, "pause_reading")) {
                Ok(_) => reader.setattr(intern!(py, "_paused"), true)?,
                Err(e) if e.is_instance_of::<PyNotImplementedError>(py) => {
                    reader.setattr(intern!(py, "_transport"), py.None())?
                }
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }
}
