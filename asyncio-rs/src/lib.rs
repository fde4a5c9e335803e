//! `asyncio_rs._native`: the native half of the Python package `asyncio-rs`, which runs
//! CPython's asyncio on this workspace's Rust event loop. See `python/asyncio_rs` for the
//! Python half and the list of what is native and what delegates to asyncio.

mod child;
mod fast_methods;
mod fast_tasks;
mod handle;
mod loop_core;
mod sock;
mod streams;
mod thread_bound;
mod transport;

use pyo3::prelude::*;

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<loop_core::CoreLoop>()?;
    fast_methods::install(m.py())?;
    fast_tasks::install(m.py())?;
    m.add_class::<handle::Handle>()?;
    m.add_class::<handle::TimerHandle>()?;
    m.add_class::<transport::SocketTransport>()?;
    m.add_function(wrap_pyfunction!(child::watch_child, m)?)?;
    sock::register(m)?;
    m.add_class::<transport::DatagramTransport>()?;
    m.add_class::<transport::PipeTransport>()?;
    m.add_class::<transport::Acceptor>()?;
    streams::register(m)?;
    Ok(())
}
