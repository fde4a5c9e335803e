//! `LoopHandle::create_future`, kept beside the type it makes.

use super::Future;
use crate::LoopHandle;
use crate::runtime::context;

impl LoopHandle {
    /// A new pending [`Future`] on this loop (asyncio's `loop.create_future()`).
    ///
    /// # Panics
    /// If called from another thread than the running loop's (the future is not `Send` and
    /// belongs to the loop's thread).
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let fut: asyncio::Future<u32> = asyncio::get_running_loop().create_future();
    /// fut.clone().set_result(3).unwrap();
    /// assert_eq!(fut.await.unwrap(), 3);
    /// # });
    /// ```
    pub fn create_future<T: 'static>(&self) -> Future<T> {
        match context::current_core() {
            Some(core) if core.shared.id == self.shared.id => Future::on(&core),
            _ => panic!(
                "create_future must be called from the loop's own thread while it runs \
                 (Non-thread-safe operation invoked on an event loop other than the current one)"
            ),
        }
    }
}
