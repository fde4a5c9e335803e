//! `LocalExec`: hyper's executor as tasks on the running loop, `!Send` futures welcome.

use std::future::Future;

/// Runs the futures hyper hands over (an HTTP/2 connection's streams, a client
/// connection's background work) as tasks of the running loop, with
/// [`create_task`](crate::create_task). The futures need not be `Send`: a handler may hold
/// an `Rc`, and HTTP/2 runs on one loop.
///
/// # Panics
/// `execute` panics outside a running loop, as `create_task` does.
///
/// # Examples
/// ```
/// use asyncio::hyper::LocalExec;
/// use hyper::rt::Executor;
/// # asyncio::run(async {
/// let shared = std::rc::Rc::new(std::cell::Cell::new(0));
/// let s = shared.clone();
/// LocalExec.execute(async move { s.set(1) }); // an Rc: not Send
/// asyncio::sleep(0).await;
/// assert_eq!(shared.get(), 1);
/// # });
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct LocalExec;

impl<F> ::hyper::rt::Executor<F> for LocalExec
where
    F: Future + 'static,
{
    fn execute(&self, fut: F) {
        // The task runs to its end without its handle, as asyncio's tasks do.
        drop(crate::create_task(fut));
    }
}
