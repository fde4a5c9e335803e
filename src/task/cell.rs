//! The task itself: its future, its outcome, its name and its waiters, in one allocation.
//!
//! # States
//! `future` holds the future while the task is pending; `outcome` is `Pending`, then
//! `Done(outcome)`, then `Taken` once a handle moved the outcome out. The loop is the only one
//! that polls or drops the future, always on the loop's thread. `cancel` only records the
//! request and wakes the task; the loop then drops the future at the task's next turn and
//! completes it as cancelled, so cleanup in `Drop` runs inside the loop, never in the middle
//! of someone else's poll. A cancel asked for while the task runs wins over the value it
//! returns in that step, as in asyncio.
//!
//! # Ownership
//! The loop's slab holds one `Rc` while the task is pending and lets go when it completes;
//! every [`Task`](super::Task) handle holds another. The outcome lives until the last handle
//! drops; a panic that no handle took is logged then, as asyncio logs
//! "Task exception was never retrieved".
//!
//! # Pinning
//! The future is stored inline and polled in place: the `Rc` allocation never moves, and the
//! future leaves its `Option` only by being dropped in place (the `Option` is overwritten with
//! `None`), which is what `Pin` asks. That is the one `unsafe` of the task core. The outcome
//! lives in a cell of its own, so a future whose `Drop` looks at its own task finds the
//! outcome cell free.
//!
//! # The await graph
//! When a task's poll finds another task pending (`Task::poll`), the awaiting task records the
//! awaited one's key. Cancelling a task cancels the task it awaits, as asyncio's
//! `Task.cancel` cancels `_fut_waiter`; merely dropping a `Task` handle cancels nothing.

use super::header::Header;
use super::Task;
use crate::error::{CancelledError, InvalidStateError, PanicError, TaskError};
use crate::runtime::core::Core;
use crate::util::slab::Key;
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe, Location};
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

enum Outcome<T> {
    Pending,
    Done(Result<T, TaskError>),
    Taken,
}

type DoneCallback<T> = Box<dyn FnOnce(&Task<T>)>;

/// Cancellation was asked for (the future is dropped at the task's next turn).
const CANCEL_REQUESTED: u8 = 1 << 0;
/// The task is done: `outcome` is `Done` or `Taken`.
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
    /// The packed slab key of the task this one last found pending when it awaited it, or 0.
    awaiting: Cell<u64>,
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
    future: RefCell<Option<F>>,
    outcome: RefCell<Outcome<F::Output>>,
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
                awaiting: Cell::new(0),
                location,
                extra: RefCell::new(None),
            },
            future: RefCell::new(Some(future)),
            outcome: RefCell::new(Outcome::Pending),
        }
    }

    fn complete(self: &Rc<Self>, core: &Core, outcome: Result<F::Output, TaskError>) {
        let common = &self.common;
        let cancelled = matches!(outcome, Err(TaskError::Cancelled(_)));
        *self.outcome.borrow_mut() = Outcome::Done(outcome);
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
        let mut slot = self.future.borrow_mut();
        let future = slot.as_mut()?;
        // SAFETY: the future lives inside an `Rc` allocation that is never moved, and it is
        // never moved out of `slot`: it leaves only by being dropped in place when `slot` is
        // overwritten with `None` (see the module's "Pinning" note).
        let future = unsafe { Pin::new_unchecked(future) };
        match catch_unwind(AssertUnwindSafe(|| future.poll(cx))) {
            Ok(Poll::Pending) => None,
            Ok(Poll::Ready(value)) => Some(Ok(value)),
            Err(payload) => Some(Err(TaskError::Panicked(PanicError::new(payload)))),
        }
    }

    /// Drops the future in place. `None` if it was gone already; `Some(Err)` with the panic if
    /// its `Drop` panicked, which ends the task as panicked instead of unwinding the loop.
    fn drop_future(&self) -> Option<Result<(), TaskError>> {
        let mut slot = self.future.borrow_mut();
        slot.as_ref()?;
        // The assignment drops the future where it lies; if its `Drop` panics, `None` is
        // still written.
        let dropped = catch_unwind(AssertUnwindSafe(|| *slot = None));
        Some(dropped.map_err(|p| TaskError::Panicked(PanicError::new(p))))
    }

    /// The message of a cancel asked for, taken.
    fn cancelled_error(&self) -> TaskError {
        let msg = self
            .common
            .extra
            .borrow_mut()
            .as_mut()
            .and_then(|e| e.cancel_msg.take());
        TaskError::Cancelled(CancelledError { msg })
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
            if let Some(dropped) = self.drop_future() {
                let outcome = dropped.and_then(|()| Err(self.cancelled_error()));
                self.complete(core, outcome);
            }
            return;
        }
        common.awaiting.set(0);
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
            let dropped = self.drop_future().unwrap_or(Ok(()));
            let outcome = match (outcome, dropped) {
                (Ok(_), _) if common.flags.get() & CANCEL_REQUESTED != 0 => {
                    Err(self.cancelled_error())
                }
                (Ok(value), Ok(())) => Ok(value),
                (Ok(_), Err(panicked)) => Err(panicked),
                (Err(e), _) => Err(e),
            };
            self.complete(core, outcome);
        }
    }
}

impl<F: Future + 'static> TaskOutput<F::Output> for TaskCell<F> {
    fn take_outcome(&self) -> Option<Result<F::Output, TaskError>> {
        let mut outcome = self.outcome.borrow_mut();
        match &*outcome {
            Outcome::Pending => None,
            Outcome::Taken => Some(Err(TaskError::InvalidState(InvalidStateError {
                msg: "the task's result was already retrieved through another handle",
            }))),
            Outcome::Done(_) => match std::mem::replace(&mut *outcome, Outcome::Taken) {
                Outcome::Done(result) => Some(result),
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
        match &*self.outcome.borrow() {
            Outcome::Done(outcome) => f(outcome),
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
                self.with_extra(|e| e.cancel_msg = msg.clone());
            }
        }
        self.header.schedule();
        // As asyncio cancels the future a task waits on: the task it awaits goes too.
        let awaited = self.awaiting.replace(0);
        if awaited != 0 {
            let awaited = self
                .core
                .upgrade()
                .and_then(|core| core.task_by_key(Key::from_u64(awaited)));
            match (awaited, msg) {
                (Some(awaited), Some(msg)) => {
                    let _ = awaited.cancel_with(msg);
                }
                (Some(awaited), None) => {
                    let _ = awaited.cancel();
                }
                (None, _) => {}
            }
        }
        true
    }

    pub(crate) fn done(&self) -> bool {
        self.flags.get() & DONE != 0
    }

    pub(crate) fn cancelled(&self) -> bool {
        self.flags.get() & WAS_CANCELLED != 0
    }

    /// Records that this task found `awaited` pending (the await graph).
    pub(crate) fn set_awaiting(&self, awaited: u64) {
        self.awaiting.set(awaited);
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
        if let Outcome::Done(Err(TaskError::Panicked(p))) = &*self.outcome.borrow() {
            log::error!(
                "Task exception was never retrieved: Task-{} created at {} {}",
                self.common.id,
                self.common.location,
                p
            );
        }
    }
}
