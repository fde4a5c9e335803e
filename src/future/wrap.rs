//! `wrap_future`: a loop [`Future`] that follows a [`ConcurrentFuture`] of any thread.
//!
//! # Design
//! asyncio chains the two futures with a done callback on the concurrent one that calls
//! `call_soon_threadsafe`. Here the cross-thread path already exists: a `ConcurrentFuture`
//! wakes the waker of whoever awaits it from the thread that finishes it, and a task's waker
//! reaches its loop from any thread. So a small helper task on this loop awaits the concurrent
//! future and copies its outcome into the loop future; no new cross-thread machinery, and the
//! value crosses threads inside the `ConcurrentFuture` where it is already `Send`.
//!
//! Cancellation goes both ways, as asyncio's `_chain_future` does: cancelling the loop future
//! cancels the helper, whose drop cancels the concurrent future; the concurrent future ending
//! cancelled cancels the loop future.

use super::Future;
use crate::error::TaskError;
use crate::runtime::ConcurrentFuture;
use std::pin::Pin;
use std::task::{Context, Poll};

/// A [`Future`] on the running loop that completes when `source` does (asyncio's
/// `wrap_future` of a `concurrent.futures.Future`).
///
/// `source`'s value becomes the result; its cancellation (with its message) cancels the
/// future; any other failure (a panic in the coroutine, say) is set as the exception, a
/// [`TaskError`] there. Cancelling the returned future cancels `source`.
///
/// The waiting is done by a helper task on this loop (named `wrap_future`, and seen by
/// [`all_tasks`](crate::all_tasks) while it waits); if that task is cancelled (the loop
/// shutting down) it cancels both futures.
///
/// # Panics
/// Outside a running loop.
///
/// # Examples
/// ```
/// # asyncio::run(async {
/// // Usually `handle` is another thread's loop; see `run_coroutine_threadsafe`.
/// let handle = asyncio::get_running_loop();
/// let remote = asyncio::run_coroutine_threadsafe(async { 6 * 7 }, &handle);
/// let fut: asyncio::Future<i32> = asyncio::wrap_future(remote);
/// assert_eq!(fut.await.unwrap(), 42);
/// # });
/// ```
pub fn wrap_future<T: Send + 'static>(source: ConcurrentFuture<T>) -> Future<T> {
    let dest = Future::new();
    let task = crate::task::create_lazy_task(Chain {
        source,
        dest: dest.clone(),
    })
    .with_name("wrap_future");
    dest.add_done_callback(move |dest| {
        if dest.cancelled() {
            task.cancel();
        }
    });
    dest
}

/// The helper task's future: waits for `source`, then settles `dest`.
struct Chain<T: Send + 'static> {
    source: ConcurrentFuture<T>,
    dest: Future<T>,
}

impl<T: Send + 'static> std::future::Future for Chain<T> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let outcome = match Pin::new(&mut self.source).poll(cx) {
            Poll::Ready(outcome) => outcome,
            Poll::Pending => return Poll::Pending,
        };
        // Someone may have set `dest` already (asyncio skips a cancelled destination too);
        // the source's outcome then has nowhere to go.
        if !self.dest.done() {
            let _ = match outcome {
                Ok(value) => self.dest.set_result(value),
                Err(TaskError::Cancelled(e)) => {
                    match e.msg {
                        Some(msg) => self.dest.cancel_with(msg),
                        None => self.dest.cancel(),
                    };
                    Ok(())
                }
                Err(e) => self.dest.set_exception(e),
            };
        }
        Poll::Ready(())
    }
}

impl<T: Send + 'static> Drop for Chain<T> {
    fn drop(&mut self) {
        // Both are no-ops after a normal end: the source is done and so is `dest`.
        self.source.cancel();
        self.dest.cancel();
    }
}
