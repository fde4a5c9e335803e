//! `asyncio_rs._native`: the native half of the Python package `asyncio-rs`, which runs
//! CPython's asyncio on this workspace's Rust event loop. See `python/asyncio_rs` for the
//! Python half and the list of what is native and what delegates to asyncio.

mod handle;
mod loop_core;
mod thread_bound;
mod transport;

use pyo3::prelude::*;

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<loop_core::CoreLoop>()?;
    m.add_class::<handle::Handle>()?;
    m.add_class::<handle::TimerHandle>()?;
    m.add_class::<transport::SocketTransport>()?;
    m.add_class::<transport::Acceptor>()?;
    Ok(())
}
