//! The default executor: a pool of threads for blocking work (`to_thread`,
//! `run_in_executor`).
//!
//! Threads start lazily, one per job while none is idle, up to `min(32, cores + 4)` as Python's
//! `ThreadPoolExecutor`; a thread idle for [`KEEP_ALIVE`] exits. A job's result goes back to the
//! loop through [`Remote::finish_job`](super::remote::Remote::finish_job), which the loop
//! counts, so the virtual clock does not jump while blocking work is out.

use super::context;
use super::remote::RemoteItem;
use super::shared::Shared;
use crate::error::{PanicError, TaskError};
use std::collections::VecDeque;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

const KEEP_ALIVE: Duration = Duration::from_secs(10);
/// How long closing the loop waits for running jobs, as `shutdown_default_executor`'s default.
pub(crate) const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(300);

type Job = Box<dyn FnOnce() + Send>;

struct PoolState {
    queue: VecDeque<Job>,
    threads: usize,
    idle: usize,
    shutdown: bool,
}

struct PoolInner {
    state: Mutex<PoolState>,
    /// Signalled when a job is queued or shutdown begins.
    work: Condvar,
    /// Signalled when a thread exits.
    exited: Condvar,
    max_threads: usize,
}

pub(crate) struct Pool {
    inner: Arc<PoolInner>,
}

fn lock(m: &Mutex<PoolState>) -> MutexGuard<'_, PoolState> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Pool {
    pub(crate) fn new() -> Pool {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Pool {
            inner: Arc::new(PoolInner {
                state: Mutex::new(PoolState {
                    queue: VecDeque::new(),
                    threads: 0,
                    idle: 0,
                    shutdown: false,
                }),
                work: Condvar::new(),
                exited: Condvar::new(),
                max_threads: (cores + 4).min(32),
            }),
        }
    }

    pub(crate) fn submit(&self, job: Job) {
        let mut state = lock(&self.inner.state);
        state.queue.push_back(job);
        // A thread is started unless an idle one is left for every queued job: idle threads
        // count down only when they wake, so several submits can find the same idle one.
        if state.queue.len() <= state.idle {
            self.inner.work.notify_one();
        } else if state.threads < self.inner.max_threads {
            state.threads += 1;
            let inner = self.inner.clone();
            let spawned = std::thread::Builder::new()
                .name("asyncio-blocking".into())
                .spawn(move || worker(&inner));
            if let Err(e) = spawned {
                state.threads -= 1;
                log::error!("could not start a blocking-pool thread: {e}");
            }
        }
    }

    /// Tells the threads to exit once the queue is empty (asyncio's
    /// `shutdown_default_executor`); [`wait_exited`](Pool::wait_exited) waits for them.
    pub(crate) fn begin_shutdown(&self) {
        lock(&self.inner.state).shutdown = true;
        self.inner.work.notify_all();
    }

    /// Waits up to `timeout` for every thread to exit; true once none is left.
    pub(crate) fn wait_exited(&self, timeout: std::time::Duration) -> bool {
        let state = lock(&self.inner.state);
        let (state, _) = self
            .inner
            .exited
            .wait_timeout_while(state, timeout, |s| s.threads > 0)
            .unwrap_or_else(|e| e.into_inner());
        state.threads == 0
    }
}

fn worker(inner: &PoolInner) {
    let mut state = lock(&inner.state);
    loop {
        if let Some(job) = state.queue.pop_front() {
            drop(state);
            job();
            state = lock(&inner.state);
            continue;
        }
        if state.shutdown {
            break;
        }
        state.idle += 1;
        let (next, timeout) = inner
            .work
            .wait_timeout(state, KEEP_ALIVE)
            .unwrap_or_else(|e| e.into_inner());
        state = next;
        state.idle -= 1;
        if timeout.timed_out() && state.queue.is_empty() && !state.shutdown {
            break;
        }
    }
    state.threads -= 1;
    inner.exited.notify_all();
}

struct Slot<R> {
    result: Option<Result<R, TaskError>>,
    waker: Option<Waker>,
}

/// A blocking call running on the default executor; resolves to its return value, or
/// `Err(TaskError::Panicked)` if it panicked.
///
/// Made by [`to_thread`](crate::to_thread) and
/// [`LoopHandle::run_in_executor`](crate::LoopHandle::run_in_executor).
///
/// # Cancel safety
/// Dropping it does not stop the thread (threads cannot be cancelled, in Python either): the
/// call runs to its end and its result is dropped.
#[must_use = "a ToThread does nothing until awaited"]
pub struct ToThread<R> {
    job: Option<Job>,
    slot: Arc<Mutex<Slot<R>>>,
}

impl<R: Send + 'static> ToThread<R> {
    pub(crate) fn new<F>(f: F) -> Self
    where
        F: FnOnce() -> R + Send + 'static,
    {
        let slot = Arc::new(Mutex::new(Slot {
            result: None,
            waker: None,
        }));
        let job_slot = slot.clone();
        let job: Job = Box::new(move || {
            let result = catch_unwind(AssertUnwindSafe(f))
                .map_err(|p| TaskError::Panicked(PanicError::new(p)));
            let mut slot = job_slot.lock().unwrap_or_else(|e| e.into_inner());
            slot.result = Some(result);
            if let Some(waker) = slot.waker.take() {
                waker.wake();
            }
        });
        ToThread {
            job: Some(job),
            slot,
        }
    }

    /// Hands the job to the pool of the loop running on this thread.
    pub(crate) fn submit(&mut self) {
        let Some(job) = self.job.take() else { return };
        let core = context::current_core().expect("to_thread: no running event loop");
        let shared: Arc<Shared> = core.shared.clone();
        if !shared.remote.start_job() {
            return;
        }
        let counted: Job = Box::new(move || {
            // The call's own panic is caught inside `job`; what can still panic is the drop of
            // a result nobody awaits any more. Caught here, it neither kills the pool's
            // thread (which the pool would go on counting) nor skips `finish_job` (the loop
            // would count the job in flight forever, and its close would wait for it).
            if let Err(p) = catch_unwind(AssertUnwindSafe(job)) {
                let p = PanicError::new(p);
                log::error!("Exception while dropping the result of a default executor job: {p}");
            }
            shared.remote.finish_job(RemoteItem::Call(Box::new(|| {})));
        });
        core.pool
            .borrow_mut()
            .get_or_insert_with(Pool::new)
            .submit(counted);
    }
}

impl<R: Send + 'static> Future for ToThread<R> {
    type Output = Result<R, TaskError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.submit();
        let mut slot = self.slot.lock().unwrap_or_else(|e| e.into_inner());
        match slot.result.take() {
            Some(result) => Poll::Ready(result),
            None => {
                if !slot.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                    slot.waker = Some(cx.waker().clone());
                }
                drop(slot);
                crate::task::waiting::note(cx.waker(), crate::task::waiting::Waiting::ToThread);
                Poll::Pending
            }
        }
    }
}

/// Runs a blocking closure on the loop's default thread pool and awaits its result
/// (asyncio's `to_thread`). The closure starts when the future is first polled.
///
/// # Errors
/// `TaskError::Panicked` if the closure panicked.
///
/// # Panics
/// When polled outside a running loop.
///
/// # Examples
/// ```
/// # asyncio::run(async {
/// let sum = asyncio::to_thread(|| (1..=10u64).sum::<u64>()).await.unwrap();
/// assert_eq!(sum, 55);
/// # });
/// ```
pub fn to_thread<F, R>(f: F) -> ToThread<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    // As asyncio's `to_thread`: the call sees a copy of the caller's context variables.
    match crate::contextvars::snapshot() {
        None => ToThread::new(f),
        Some(vars) => {
            ToThread::new(move || crate::contextvars::Context::from_snapshot(vars).run(f))
        }
    }
}
