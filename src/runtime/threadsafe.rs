//! `run_coroutine_threadsafe` and `ConcurrentFuture`: running a future on a loop from another
//! thread, and waiting for it there (blocking) or on another loop (awaiting).

use super::context;
use super::handle::LoopHandle;
use crate::error::{CancelledError, InvalidStateError, PanicError, TaskError, TimeoutError};
use crate::time::IntoDelay;
use crate::util::slab::Key;
use std::future::{Future, IntoFuture};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::Instant;

enum Outcome<T> {
    Pending,
    Done(Result<T, TaskError>),
    Taken,
}

struct State<T> {
    outcome: Outcome<T>,
    waker: Option<Waker>,
    /// The task on the loop, once it exists: its slab key, to cancel it from the loop's side.
    task_key: Option<u64>,
    /// Threads blocked in `result`: the condvar is signalled only when there are some, as
    /// signalling costs a syscall.
    blocked: usize,
}

struct Inner<T> {
    state: Mutex<State<T>>,
    done: Condvar,
}

impl<T> Inner<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records the outcome unless one is there (a cancel may have come first).
    fn finish(&self, result: Result<T, TaskError>) {
        let mut state = self.lock();
        if !matches!(state.outcome, Outcome::Pending) {
            return;
        }
        state.outcome = Outcome::Done(result);
        let waker = state.waker.take();
        let blocked = state.blocked > 0;
        drop(state);
        if blocked {
            self.done.notify_all();
        }
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

/// The result of a future run on a loop by [`run_coroutine_threadsafe`] (Python's
/// `concurrent.futures.Future`). `Send`: wait for it with the blocking
/// [`result`](ConcurrentFuture::result) on any thread, or `.await` it on another loop.
///
/// # Cancel safety
/// Dropping it (or a pending `.await` of it) leaves the future running on its loop.
///
/// # Examples
/// ```
/// # asyncio::run(async {
/// let lp = asyncio::get_running_loop();
/// let waiter = std::thread::spawn(move || {
///     let fut = asyncio::run_coroutine_threadsafe(async { 3 }, &lp);
///     fut.result(Some(2.0)).unwrap()
/// });
/// while !waiter.is_finished() {
///     asyncio::sleep(0.001).await;
/// }
/// assert_eq!(waiter.join().unwrap(), 3);
/// # });
/// ```
#[must_use = "the future runs on its loop either way; this is how its result is seen"]
pub struct ConcurrentFuture<T> {
    inner: Arc<Inner<T>>,
    handle: LoopHandle,
}

/// Submits `fut` to the loop behind `handle` from any thread; it runs there as a task
/// (asyncio's `run_coroutine_threadsafe`).
///
/// `fut` is any [`IntoFuture`] that is `Send`; its `into_future()` is called on the loop's
/// thread, so the future it makes need not be `Send` (a builder such as
/// [`create_subprocess_exec`](crate::create_subprocess_exec)'s goes across as it is).
///
/// If the loop is closed, the returned future is already cancelled.
///
/// # Examples
/// ```
/// # asyncio::run(async {
/// let handle = asyncio::get_running_loop();
/// let worker = std::thread::spawn(move || {
///     let fut = asyncio::run_coroutine_threadsafe(async { asyncio::sleep(0.01).await; 3 }, &handle);
///     fut.result(Some(2.0)).unwrap()
/// });
/// while !worker.is_finished() {
///     asyncio::sleep(0.001).await;
/// }
/// assert_eq!(worker.join().unwrap(), 3);
/// # });
/// ```
pub fn run_coroutine_threadsafe<F>(fut: F, handle: &LoopHandle) -> ConcurrentFuture<F::Output>
where
    F: IntoFuture + Send + 'static,
    F::Output: Send + 'static,
{
    // `into_future` runs on the loop's thread, in `spawn_threadsafe`'s closure call.
    spawn_threadsafe(move || fut, handle)
}

/// Sends `make` to the loop, where it makes the future that runs as a task there: only the
/// closure crosses threads, so the future need not be `Send`.
pub(crate) fn spawn_threadsafe<M, F>(make: M, handle: &LoopHandle) -> ConcurrentFuture<F::Output>
where
    M: FnOnce() -> F + Send + 'static,
    F: IntoFuture + 'static,
    F::Output: Send + 'static,
{
    let inner = Arc::new(Inner {
        state: Mutex::new(State {
            outcome: Outcome::Pending,
            waker: None,
            task_key: None,
            blocked: 0,
        }),
        done: Condvar::new(),
    });
    let mut submission = Submission {
        make: Some(make),
        inner: inner.clone(),
    };
    let submitted = handle.call_soon_threadsafe(move || submission.start());
    if submitted.is_err() {
        inner.finish(Err(TaskError::Cancelled(CancelledError {
            msg: Some("Event loop is closed".into()),
        })));
    }
    ConcurrentFuture {
        inner,
        handle: handle.clone(),
    }
}

/// What crosses to the loop: the closure that makes the future, and the shared state. If it
/// is dropped without having run (its loop closed first), the future ends cancelled instead
/// of leaving a waiter blocked forever.
struct Submission<M, T> {
    make: Option<M>,
    inner: Arc<Inner<T>>,
}

impl<M, F> Submission<M, F::Output>
where
    M: FnOnce() -> F,
    F: IntoFuture + 'static,
    F::Output: Send + 'static,
{
    fn start(&mut self) {
        let Some(make) = self.make.take() else { return };
        if !matches!(self.inner.lock().outcome, Outcome::Pending) {
            return;
        }
        let future = match catch_unwind(AssertUnwindSafe(|| make().into_future())) {
            Ok(future) => future,
            Err(p) => {
                return self
                    .inner
                    .finish(Err(TaskError::Panicked(PanicError::new(p))));
            }
        };
        let task = crate::task::create_lazy_task(future);
        {
            let mut state = self.inner.lock();
            if !matches!(state.outcome, Outcome::Pending) {
                // Cancelled from the other side while `make` ran.
                drop(state);
                task.cancel();
                return;
            }
            state.task_key = Some(task.key());
        }
        let inner = self.inner.clone();
        task.add_done_callback(move |task| inner.finish(task.result()));
    }
}

impl<M, T> Drop for Submission<M, T> {
    fn drop(&mut self) {
        if self.make.is_some() {
            self.inner.finish(Err(TaskError::Cancelled(CancelledError {
                msg: Some("Event loop is closed".into()),
            })));
        }
    }
}

impl<T: Send + 'static> ConcurrentFuture<T> {
    /// Blocks this thread until the outcome is there, or for at most `timeout` (seconds or a
    /// `Duration`; `None` waits forever).
    ///
    /// # Errors
    /// `TaskError::Timeout` when the time runs out (the future keeps running);
    /// `TaskError::Cancelled` / `Panicked` for the task's own end; `InvalidState` if the
    /// outcome was already taken.
    ///
    /// # Panics
    /// Called on the loop's own thread while it runs, where it would wait forever.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let handle = asyncio::get_running_loop();
    /// let t = std::thread::spawn(move || {
    ///     let fut = asyncio::run_coroutine_threadsafe(asyncio::sleep(3600.0), &handle);
    ///     let timed_out = matches!(fut.result(Some(0.01)), Err(asyncio::TaskError::Timeout(_)));
    ///     fut.cancel();
    ///     timed_out
    /// });
    /// while !t.is_finished() {
    ///     asyncio::sleep(0.001).await;
    /// }
    /// assert!(t.join().unwrap());
    /// # });
    /// ```
    pub fn result<D: IntoDelay>(&self, timeout: Option<D>) -> Result<T, TaskError> {
        assert!(
            context::current_loop_id() != self.handle.shared.id,
            "ConcurrentFuture::result would block the loop it waits for; await it instead"
        );
        let deadline = timeout
            .and_then(IntoDelay::into_delay)
            .map(|d| Instant::now() + d);
        let mut state = self.inner.lock();
        state.blocked += 1;
        while matches!(state.outcome, Outcome::Pending) {
            match deadline {
                None => {
                    state = self
                        .inner
                        .done
                        .wait(state)
                        .unwrap_or_else(|e| e.into_inner())
                }
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        state.blocked -= 1;
                        return Err(TaskError::Timeout(TimeoutError::default()));
                    }
                    state = self
                        .inner
                        .done
                        .wait_timeout(state, left)
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                }
            }
        }
        state.blocked -= 1;
        take(&mut state)
    }

    /// Cancels the task on its loop. Returns false if the outcome is already there.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let handle = asyncio::get_running_loop();
    /// let fut = asyncio::run_coroutine_threadsafe(asyncio::sleep(3600.0), &handle);
    /// assert!(fut.cancel());
    /// assert!(fut.done());
    /// assert!(fut.await.unwrap_err().is_cancelled());
    /// # });
    /// ```
    pub fn cancel(&self) -> bool {
        let state = self.inner.lock();
        if !matches!(state.outcome, Outcome::Pending) {
            return false;
        }
        let key = state.task_key;
        drop(state);
        self.inner
            .finish(Err(TaskError::Cancelled(CancelledError::default())));
        if let Some(key) = key {
            let _ = self.handle.call_soon_threadsafe(move || {
                if let Some(task) =
                    context::with_core(|core| core.task_by_key(Key::from_u64(key))).flatten()
                {
                    task.cancel();
                }
            });
        }
        true
    }

    /// Whether the outcome is there (finished, failed or cancelled).
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let handle = asyncio::get_running_loop();
    /// let fut = asyncio::run_coroutine_threadsafe(async {}, &handle);
    /// assert!(!fut.done());
    /// asyncio::sleep(0.01).await;
    /// assert!(fut.done());
    /// # });
    /// ```
    pub fn done(&self) -> bool {
        !matches!(self.inner.lock().outcome, Outcome::Pending)
    }
}

fn take<T>(state: &mut State<T>) -> Result<T, TaskError> {
    match std::mem::replace(&mut state.outcome, Outcome::Taken) {
        Outcome::Done(result) => result,
        Outcome::Taken => Err(TaskError::InvalidState(InvalidStateError {
            msg: "the result was already retrieved",
        })),
        Outcome::Pending => unreachable!("checked by the caller"),
    }
}

impl<T: Send + 'static> Future for ConcurrentFuture<T> {
    type Output = Result<T, TaskError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut state = self.inner.lock();
        if matches!(state.outcome, Outcome::Pending) {
            if !state
                .waker
                .as_ref()
                .is_some_and(|w| w.will_wake(cx.waker()))
            {
                state.waker = Some(cx.waker().clone());
            }
            return Poll::Pending;
        }
        Poll::Ready(take(&mut state))
    }
}
