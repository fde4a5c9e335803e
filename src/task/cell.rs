//! The task itself: its future, its outcome, its name and its waiters, in one allocation.
//!
//! # States
//! `stage` is `Running(future)` while the task is pending, then `Done(outcome)`, then `Taken`
//! once a handle moved the outcome out. The loop is the only one that polls or drops the
//! future, always on the loop's thread. `cancel` only records the request and wakes the task;
//! the loop then drops the future at the task's next turn and completes it as cancelled, so
//! cleanup in `Drop` runs inside the loop, never in the middle of someone else's poll.
//!
//! # Ownership
//! The loop's slab holds one `Rc` while the task is pending and lets go when it completes;
//! every [`Task`](super::Task) handle holds another. The outcome lives until the last handle
//! drops; a panic that no handle took is logged then, as asyncio logs
//! "Task exception was never retrieved".
//!
//! # Pinning
//! The future is stored inline and polled in place: the `Rc` allocation never moves, and the
//! future leaves `stage` only by being dropped there (`stage` is overwritten), which is what
//! `Pin` asks. That is the one `unsafe` of the task core.

use super::header::Header;
use super::Task;
use crate::error::{CancelledError, InvalidStateError, PanicError, TaskError};
use crate::runtime::core::Core;
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe, Location};
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

enum Stage<F: Future> {
    Running(F),
    Done(Result<F::Output, TaskError>),
    Taken,
}

type DoneCallback<T> = Box<dyn FnOnce(&Task<T>)>;

/// Cancellation was asked for (the future is dropped at the task's next turn).
const CANCEL_REQUESTED: u8 = 1 << 0;
/// The task is done: `stage` is `Done` or `Taken`.
const DONE: u8 = 1 << 1;
/// The task ended cancelled; still known after its outcome was taken.
const WAS_CANCELLED: u8 = 1 << 2;

/// The fields of a task that do not depend on its future's type. Kept small: a task that
/// is spawned, polled and joined touches only these; what few tasks use is in [`Extra`].
pub(crate) struct Common {
    pub(crate) header: Arc<Header>,
    pub(crate) id: u64,
    pub(crate) core: Weak<Core>,
    waker: Waker,
    flags: Cell<u8>,
    polls: Cell<u32>,
    /// The first awaiter; more are in `Extra`.
    waiter: Cell<Option<Waker>>,
    location: &'static Location<'static>,
    extra: RefCell<Option<Box<Extra>>>,
}

/// What only some tasks need, allocated on first use.
#[derive(Default)]
struct Extra {
    name: Option<String>,
    cancel_msg: Option<String>,
    more_waiters: Vec<Waker>,
    /// Done callbacks, bound to their task handle, with their ids.
    callbacks: Vec<(u64, Box<dyn FnOnce()>)>,
    next_callback_id: u64,
    busy: Duration,
}

pub(crate) struct TaskCell<F: Future> {
    common: Common,
    stage: RefCell<Stage<F>>,
}

/// What the loop and the introspection functions need of a task, whatever its type.
pub(crate) trait RawTask {
    fn common(&self) -> &Common;
    /// Polls the task, or drops its future if cancellation was asked for.
    fn run(self: Rc<Self>, core: &Core);
}

/// What a [`Task<T>`] handle needs: the above, plus the output.
pub(crate) trait TaskOutput<T>: RawTask {
    /// Takes the outcome: the first caller gets it, later ones an `InvalidStateError`.
    fn take_outcome(&self) -> Option<Result<T, TaskError>>;
    fn add_done_callback(self: Rc<Self>, callback: DoneCallback<T>) -> u64;
    fn remove_done_callback(&self, id: u64) -> bool;
    /// Whether the task is done, its outcome not taken yet, and `f` says yes to it (a look
    /// without taking, for the combinators: a failure ending a gather, `wait`'s FIRST_EXCEPTION).
    fn outcome_matches(&self, f: &mut dyn FnMut(&Result<T, TaskError>) -> bool) -> bool;
}

impl<F: Future + 'static> TaskCell<F> {
    pub(crate) fn new(
        header: Arc<Header>,
        id: u64,
        core: Weak<Core>,
        future: F,
        location: &'static Location<'static>,
    ) -> Self {
        TaskCell {
            common: Common {
                waker: Waker::from(header.clone()),
                header,
                id,
                core,
                flags: Cell::new(0),
                polls: Cell::new(0),
                waiter: Cell::new(None),
                location,
                extra: RefCell::new(None),
            },
            stage: RefCell::new(Stage::Running(future)),
        }
    }

    fn complete(self: &Rc<Self>, core: &Core, outcome: Result<F::Output, TaskError>) {
        let common = &self.common;
        let cancelled = matches!(outcome, Err(TaskError::Cancelled(_)));
        *self.stage.borrow_mut() = Stage::Done(outcome);
        common.set_flag(DONE | if cancelled { WAS_CANCELLED } else { 0 });
        common.header.state.complete();
        core.remove_task(common.header.key);
        if let Some(waker) = common.waiter.take() {
            waker.wake();
        }
        let rest = common.extra.borrow_mut().as_mut().map(|e| {
            (
                std::mem::take(&mut e.more_waiters),
                std::mem::take(&mut e.callbacks),
            )
        });
        if let Some((more_waiters, callbacks)) = rest {
            for waker in more_waiters {
                waker.wake();
            }
            for (_, callback) in callbacks {
                core.call_soon(callback, None);
            }
        }
    }

    /// Polls the future in place, catching a panic.
    fn poll_future(&self, cx: &mut Context<'_>) -> Option<Result<F::Output, TaskError>> {
        let mut stage = self.stage.borrow_mut();
        let Stage::Running(future) = &mut *stage else {
            return None;
        };
        // SAFETY: the future lives inside an `Rc` allocation that is never moved, and it is
        // never moved out of `stage`: it leaves only by being dropped in place when `stage`
        // is overwritten (see the module's "Pinning" note).
        let future = unsafe { Pin::new_unchecked(future) };
        match catch_unwind(AssertUnwindSafe(|| future.poll(cx))) {
            Ok(Poll::Pending) => None,
            Ok(Poll::Ready(value)) => Some(Ok(value)),
            Err(payload) => Some(Err(TaskError::Panicked(PanicError::new(payload)))),
        }
    }

    /// Drops the future, outside any borrow of `stage` (its `Drop` may reach this task).
    fn drop_future(&self) -> bool {
        let mut stage = self.stage.borrow_mut();
        if !matches!(*stage, Stage::Running(_)) {
            return false;
        }
        let running = std::mem::replace(&mut *stage, Stage::Taken);
        drop(stage);
        drop(running);
        true
    }
}

impl<F: Future + 'static> RawTask for TaskCell<F> {
    fn common(&self) -> &Common {
        &self.common
    }

    fn run(self: Rc<Self>, core: &Core) {
        let common = &self.common;
        common.header.state.start_poll();
        if common.flags.get() & CANCEL_REQUESTED != 0 {
            if self.drop_future() {
                let msg = common
                    .extra
                    .borrow_mut()
                    .as_mut()
                    .and_then(|e| e.cancel_msg.take());
                self.complete(core, Err(TaskError::Cancelled(CancelledError { msg })));
            }
            return;
        }
        common.polls.set(common.polls.get().saturating_add(1));
        let started = core.debug.then(Instant::now);
        let previous = core.enter_task(common.header.key);
        let mut cx = Context::from_waker(&common.waker);
        let ready = self.poll_future(&mut cx);
        core.leave_task(previous);
        if let Some(started) = started {
            let took = started.elapsed();
            common.with_extra(|e| e.busy += took);
            if took >= core.slow_callback_duration {
                log::warn!(
                    "Executing <Task {}> took {:.3} seconds",
                    common.name(),
                    took.as_secs_f64()
                );
            }
        }
        if let Some(outcome) = ready {
            // The future finished (or panicked): drop it before anyone sees the outcome.
            self.drop_future();
            self.complete(core, outcome);
        }
    }
}

impl<F: Future + 'static> TaskOutput<F::Output> for TaskCell<F> {
    fn take_outcome(&self) -> Option<Result<F::Output, TaskError>> {
        let mut stage = self.stage.borrow_mut();
        match &*stage {
            Stage::Running(_) => None,
            Stage::Taken if !self.common.done() => None,
            Stage::Taken => Some(Err(TaskError::InvalidState(InvalidStateError {
                msg: "the task's result was already retrieved through another handle",
            }))),
            Stage::Done(_) => match std::mem::replace(&mut *stage, Stage::Taken) {
                Stage::Done(result) => Some(result),
                _ => unreachable!(),
            },
        }
    }

    fn add_done_callback(self: Rc<Self>, callback: DoneCallback<F::Output>) -> u64 {
        let id = self.common.with_extra(|e| {
            e.next_callback_id += 1;
            e.next_callback_id
        });
        let core = self.common.core.upgrade();
        let done = self.common.done();
        let task = Task::from_cell(self.clone());
        // Bound to a handle of its task now: the cycle this makes (the task holds the
        // callback, the callback a handle) ends when the task completes and lets it go.
        let bound: Box<dyn FnOnce()> = Box::new(move || callback(&task));
        match (done, core) {
            (false, _) => self.common.with_extra(|e| e.callbacks.push((id, bound))),
            (true, Some(core)) => core.call_soon(bound, None),
            (true, None) => bound(),
        }
        id
    }

    fn remove_done_callback(&self, id: u64) -> bool {
        let removed = self.common.extra.borrow_mut().as_mut().and_then(|e| {
            let at = e.callbacks.iter().position(|(i, _)| *i == id)?;
            Some(e.callbacks.remove(at))
        });
        // Dropped outside the borrow: it holds a handle to this task.
        removed.is_some()
    }

    fn outcome_matches(&self, f: &mut dyn FnMut(&Result<F::Output, TaskError>) -> bool) -> bool {
        match &*self.stage.borrow() {
            Stage::Done(outcome) => f(outcome),
            _ => false,
        }
    }
}

impl Common {
    fn set_flag(&self, flag: u8) {
        self.flags.set(self.flags.get() | flag);
    }

    fn with_extra<R>(&self, f: impl FnOnce(&mut Extra) -> R) -> R {
        f(self.extra.borrow_mut().get_or_insert_with(Default::default))
    }

    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    pub(crate) fn key(&self) -> u64 {
        self.header.key
    }

    pub(crate) fn cancel(&self, msg: Option<String>) -> bool {
        let flags = self.flags.get();
        if flags & DONE != 0 {
            return false;
        }
        if flags & CANCEL_REQUESTED == 0 {
            self.set_flag(CANCEL_REQUESTED);
            if msg.is_some() {
                self.with_extra(|e| e.cancel_msg = msg);
            }
        }
        self.header.schedule();
        true
    }

    pub(crate) fn done(&self) -> bool {
        self.flags.get() & DONE != 0
    }

    pub(crate) fn cancelled(&self) -> bool {
        self.flags.get() & WAS_CANCELLED != 0
    }

    pub(crate) fn add_waiter(&self, waker: &Waker) {
        match self.waiter.take() {
            None => self.waiter.set(Some(waker.clone())),
            Some(first) if first.will_wake(waker) => self.waiter.set(Some(first)),
            Some(first) => {
                self.waiter.set(Some(first));
                self.with_extra(|e| {
                    if !e.more_waiters.iter().any(|w| w.will_wake(waker)) {
                        e.more_waiters.push(waker.clone());
                    }
                });
            }
        }
    }

    pub(crate) fn name(&self) -> String {
        match self.extra.borrow().as_ref().and_then(|e| e.name.clone()) {
            Some(name) => name,
            None => format!("Task-{}", self.id),
        }
    }

    pub(crate) fn set_name(&self, name: String) {
        self.with_extra(|e| e.name = Some(name));
    }

    pub(crate) fn location(&self) -> &'static Location<'static> {
        self.location
    }

    pub(crate) fn polls(&self) -> u64 {
        u64::from(self.polls.get())
    }

    pub(crate) fn busy(&self) -> Duration {
        self.extra
            .borrow()
            .as_ref()
            .map_or(Duration::ZERO, |e| e.busy)
    }
}

impl<F: Future> Drop for TaskCell<F> {
    fn drop(&mut self) {
        if let Stage::Done(Err(TaskError::Panicked(p))) = &*self.stage.borrow() {
            log::error!(
                "Task exception was never retrieved: Task-{} created at {} {}",
                self.common.id,
                self.common.location,
                p
            );
        }
    }
}
