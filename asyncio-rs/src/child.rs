//! Subprocess exits on the Rust loop's child watcher: a pidfd on the reactor per child (a
//! thread where pidfds are refused), as the crate's own subprocesses are watched. asyncio's
//! subprocess transport (`base_subprocess`) is told of the exit through the same callback
//! its child watchers call, `callback(pid, returncode, *args)`.

use crate::loop_core::CoreLoop;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::PyTuple;

/// Reaps `pid` when it exits, then schedules `callback(pid, returncode, *args)` with the
/// loop's `call_soon`, so that a callback that raises goes to the exception handler. If the
/// loop is closed by then, the callback is dropped, as asyncio's watchers drop theirs.
#[pyfunction]
#[pyo3(signature = (loop_, pid, callback, *args))]
pub(crate) fn watch_child(
    loop_: &Bound<'_, PyAny>,
    pid: u32,
    callback: Bound<'_, PyAny>,
    args: Bound<'_, PyTuple>,
) -> PyResult<()> {
    let core = loop_.cast::<CoreLoop>()?;
    let local = CoreLoop::local_of(core)?.clone();
    let loop_ = loop_.clone().unbind();
    let callback = callback.unbind();
    let args = args.unbind();
    local.lp.watch_child(pid, move |returncode| {
        Python::attach(|py| {
            let mut call = vec![
                callback.into_any(),
                pid.into_pyobject(py)?.into_any().unbind(),
            ];
            call.push(returncode.into_pyobject(py)?.into_any().unbind());
            call.extend(args.bind(py).iter().map(Bound::unbind));
            let call = PyTuple::new(py, call)?;
            match loop_.bind(py).call_method1(intern!(py, "call_soon"), call) {
                Ok(_) => Ok(()),
                // Closed: nobody is left to tell.
                Err(e)
                    if loop_
                        .bind(py)
                        .call_method0(intern!(py, "is_closed"))?
                        .is_truthy()? =>
                {
                    drop(e);
                    Ok(())
                }
                Err(e) => Err(e),
            }
        })
        .unwrap_or_else(|e: PyErr| Python::attach(|py| e.write_unraisable(py, None)));
    });
    Ok(())
}
