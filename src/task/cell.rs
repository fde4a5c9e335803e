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

/// The fields of a task that do not depend on its future's type.
pub(crate) struct Common {
    pub(crate) header: Arc<Header>,
    pub(crate) id: u64,
    pub(crate) core: Weak<Core>,
    waker: Waker,
    /// `Some` once cancellation was asked for, with its message.
    cancel_request: RefCell<Option<Option<String>>>,
    name: RefCell<Option<String>>,
    done: Cell<bool>,
    /// Set on completion when the outcome is `Cancelled`: still known after it is taken.
    was_cancelled: Cell<bool>,
    /// The first awaiter inline (the usual case costs no allocation), the others after it.
    waiter: RefCell<Option<Waker>>,
    more_waiters: RefCell<Vec<Waker>>,
    next_callback_id: Cell<u64>,
    location: &'static Location<'static>,
    polls: Cell<u64>,
    busy: Cell<Duration>,
}

pub(crate) struct TaskCell<F: Future> {
    common: Common,
    stage: RefCell<Stage<F>>,
    callbacks: RefCell<Vec<(u64, DoneCallback<F::Output>)>>,
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
                cancel_request: RefCell::new(None),
                name: RefCell::new(None),
                done: Cell::new(false),
                was_cancelled: Cell::new(false),
                waiter: RefCell::new(None),
                more_waiters: RefCell::new(Vec::new()),
                next_callback_id: Cell::new(0),
                location,
                polls: Cell::new(0),
                busy: Cell::new(Duration::ZERO),
            },
            stage: RefCell::new(Stage::Running(future)),
            callbacks: RefCell::new(Vec::new()),
        }
    }

    fn complete(self: &Rc<Self>, core: &Core, outcome: Result<F::Output, TaskError>) {
        let common = &self.common;
        common
            .was_cancelled
            .set(matches!(outcome, Err(TaskError::Cancelled(_))));
        *self.stage.borrow_mut() = Stage::Done(outcome);
        common.done.set(true);
        common.header.state.complete();
        core.remove_task(common.header.key);
        let first = common.waiter.take();
        if let Some(waker) = first {
            waker.wake();
        }
        for waker in common.more_waiters.take() {
            waker.wake();
        }
        let callbacks = self.callbacks.take();
        if !callbacks.is_empty() {
            let task = Task::from_cell(self.clone());
            for (_, callback) in callbacks {
                let task = task.clone();
                core.call_soon(Box::new(move || callback(&task)), None);
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
        if let Some(msg) = common.cancel_request.borrow_mut().take() {
            if self.drop_future() {
                self.complete(core, Err(TaskError::Cancelled(CancelledError { msg })));
            }
            return;
        }
        common.polls.set(common.polls.get() + 1);
        let started = core.debug.then(Instant::now);
        let previous = core.enter_task(common.header.key);
        let mut cx = Context::from_waker(&common.waker);
        let ready = self.poll_future(&mut cx);
        core.leave_task(previous);
        if let Some(started) = started {
            let took = started.elapsed();
            common.busy.set(common.busy.get() + took);
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
            Stage::Taken if !self.common.done.get() => None,
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
        let id = self.common.next_callback_id.get();
        self.common.next_callback_id.set(id + 1);
        if self.common.done.get() {
            let core = self.common.core.upgrade();
            let task = Task::from_cell(self);
            match core {
                Some(core) => core.call_soon(Box::new(move || callback(&task)), None),
                None => callback(&task),
            }
        } else {
            self.callbacks.borrow_mut().push((id, callback));
        }
        id
    }

    fn remove_done_callback(&self, id: u64) -> bool {
        let mut callbacks = self.callbacks.borrow_mut();
        let before = callbacks.len();
        callbacks.retain(|(i, _)| *i != id);
        callbacks.len() != before
    }
}

impl Common {
    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    pub(crate) fn key(&self) -> u64 {
        self.header.key
    }

    pub(crate) fn cancel(&self, msg: Option<String>) -> bool {
        if self.done.get() {
            return false;
        }
        let mut request = self.cancel_request.borrow_mut();
        if request.is_none() {
            *request = Some(msg);
        }
        drop(request);
        self.header.schedule();
        true
    }

    pub(crate) fn done(&self) -> bool {
        self.done.get()
    }

    pub(crate) fn cancelled(&self) -> bool {
        self.was_cancelled.get()
    }

    pub(crate) fn add_waiter(&self, waker: &Waker) {
        let mut first = self.waiter.borrow_mut();
        match &*first {
            None => *first = Some(waker.clone()),
            Some(w) if w.will_wake(waker) => {}
            Some(_) => {
                let mut more = self.more_waiters.borrow_mut();
                if !more.iter().any(|w| w.will_wake(waker)) {
                    more.push(waker.clone());
                }
            }
        }
    }

    pub(crate) fn name(&self) -> String {
        match &*self.name.borrow() {
            Some(name) => name.clone(),
            None => format!("Task-{}", self.id),
        }
    }

    pub(crate) fn set_name(&self, name: String) {
        *self.name.borrow_mut() = Some(name);
    }

    pub(crate) fn location(&self) -> &'static Location<'static> {
        self.location
    }

    pub(crate) fn polls(&self) -> u64 {
        self.polls.get()
    }

    pub(crate) fn busy(&self) -> Duration {
        self.busy.get()
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
