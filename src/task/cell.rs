//! The task itself: its future, its outcome, its name and its waiters.
//!
//! # States
//! A task is *pending* while `future` is `Some`; it is *done* once `outcome` is not `Pending`.
//! The loop is the only one that polls or drops the future, always on the loop's thread.
//! `cancel` only records the request and wakes the task; the loop then drops the future at the
//! task's next turn and completes it as cancelled, so cleanup in `Drop` runs inside the loop,
//! never in the middle of someone else's poll.
//!
//! # Ownership
//! The loop's slab holds one `Rc` while the task is pending and lets go when it completes;
//! every [`Task`](super::Task) handle holds another. The outcome lives until the last handle
//! drops; a panic that no handle took is logged then, as asyncio logs
//! "Task exception was never retrieved".

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

pub(crate) enum Outcome<T> {
    Pending,
    Done(Result<T, TaskError>),
    Taken,
}

type DoneCallback<T> = Box<dyn FnOnce(&Task<T>)>;

pub(crate) struct TaskCell<T> {
    pub(crate) header: Arc<Header>,
    pub(crate) id: u64,
    pub(crate) core: Weak<Core>,
    waker: Waker,
    future: RefCell<Option<Pin<Box<dyn Future<Output = T>>>>>,
    pub(crate) outcome: RefCell<Outcome<T>>,
    /// `Some` once cancellation was asked for, with its message.
    cancel_request: RefCell<Option<Option<String>>>,
    pub(crate) name: RefCell<Option<String>>,
    /// Set on completion when the outcome is `Cancelled`: still known after the outcome is taken.
    was_cancelled: Cell<bool>,
    waiters: RefCell<Vec<Waker>>,
    callbacks: RefCell<Vec<(u64, DoneCallback<T>)>>,
    next_callback_id: Cell<u64>,
    pub(crate) location: &'static Location<'static>,
    pub(crate) polls: Cell<u64>,
    pub(crate) busy: Cell<Duration>,
}

/// What the loop and the introspection functions need of a task, whatever its output type.
pub(crate) trait RawTask {
    fn id(&self) -> u64;
    /// Polls the task, or drops its future if cancellation was asked for.
    fn run(self: Rc<Self>, core: &Core);
    fn cancel(&self, msg: Option<String>) -> bool;
    fn done(&self) -> bool;
    fn cancelled(&self) -> bool;
    fn name(&self) -> String;
    fn set_name(&self, name: String);
    fn location(&self) -> &'static Location<'static>;
    fn polls(&self) -> u64;
    fn busy(&self) -> Duration;
}

impl<T: 'static> TaskCell<T> {
    pub(crate) fn new(
        header: Arc<Header>,
        id: u64,
        core: Weak<Core>,
        future: Pin<Box<dyn Future<Output = T>>>,
        location: &'static Location<'static>,
    ) -> Self {
        TaskCell {
            waker: Waker::from(header.clone()),
            header,
            id,
            core,
            future: RefCell::new(Some(future)),
            outcome: RefCell::new(Outcome::Pending),
            cancel_request: RefCell::new(None),
            name: RefCell::new(None),
            was_cancelled: Cell::new(false),
            waiters: RefCell::new(Vec::new()),
            callbacks: RefCell::new(Vec::new()),
            next_callback_id: Cell::new(0),
            location,
            polls: Cell::new(0),
            busy: Cell::new(Duration::ZERO),
        }
    }

    fn complete(self: &Rc<Self>, core: &Core, outcome: Result<T, TaskError>) {
        self.was_cancelled
            .set(matches!(outcome, Err(TaskError::Cancelled(_))));
        *self.outcome.borrow_mut() = Outcome::Done(outcome);
        self.header.state.complete();
        core.remove_task(self.header.key);
        for waker in self.waiters.take() {
            waker.wake();
        }
        for (_, callback) in self.callbacks.take() {
            let task = Task::from_cell(self.clone());
            core.call_soon(Box::new(move || callback(&task)), None);
        }
    }

    /// Takes the outcome: the first caller gets it, later ones an `InvalidStateError`.
    pub(crate) fn take_outcome(&self) -> Option<Result<T, TaskError>> {
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

    pub(crate) fn add_waiter(&self, waker: &Waker) {
        let mut waiters = self.waiters.borrow_mut();
        if !waiters.iter().any(|w| w.will_wake(waker)) {
            waiters.push(waker.clone());
        }
    }

    pub(crate) fn add_done_callback(self: &Rc<Self>, callback: DoneCallback<T>) -> u64 {
        let id = self.next_callback_id.get();
        self.next_callback_id.set(id + 1);
        if self.done() {
            let task = Task::from_cell(self.clone());
            match self.core.upgrade() {
                Some(core) => core.call_soon(Box::new(move || callback(&task)), None),
                None => callback(&task),
            }
        } else {
            self.callbacks.borrow_mut().push((id, callback));
        }
        id
    }

    pub(crate) fn remove_done_callback(&self, id: u64) -> bool {
        let mut callbacks = self.callbacks.borrow_mut();
        let before = callbacks.len();
        callbacks.retain(|(i, _)| *i != id);
        callbacks.len() != before
    }
}

impl<T: 'static> RawTask for TaskCell<T> {
    fn id(&self) -> u64 {
        self.id
    }

    fn run(self: Rc<Self>, core: &Core) {
        self.header.state.start_poll();
        if let Some(msg) = self.cancel_request.borrow_mut().take() {
            let future = self.future.borrow_mut().take();
            if future.is_some() {
                drop(future);
                self.complete(core, Err(TaskError::Cancelled(CancelledError { msg })));
            }
            return;
        }
        let mut slot = self.future.borrow_mut();
        let Some(future) = slot.as_mut() else { return };
        self.polls.set(self.polls.get() + 1);
        let started = core.debug.then(Instant::now);
        let previous = core.enter_task(self.header.key);
        let mut cx = Context::from_waker(&self.waker);
        let result = catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(&mut cx)));
        core.leave_task(previous);
        if let Some(started) = started {
            let took = started.elapsed();
            self.busy.set(self.busy.get() + took);
            if took >= core.slow_callback_duration {
                log::warn!(
                    "Executing <Task {}> took {:.3} seconds",
                    self.name(),
                    took.as_secs_f64()
                );
            }
        }
        let outcome = match result {
            Ok(Poll::Pending) => return,
            Ok(Poll::Ready(value)) => Ok(value),
            Err(payload) => Err(TaskError::Panicked(PanicError::new(payload))),
        };
        let future = slot.take();
        drop(slot);
        drop(future);
        self.complete(core, outcome);
    }

    fn cancel(&self, msg: Option<String>) -> bool {
        if self.done() {
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

    fn done(&self) -> bool {
        !matches!(*self.outcome.borrow(), Outcome::Pending)
    }

    fn cancelled(&self) -> bool {
        self.was_cancelled.get()
    }

    fn name(&self) -> String {
        match &*self.name.borrow() {
            Some(name) => name.clone(),
            None => format!("Task-{}", self.id),
        }
    }

    fn set_name(&self, name: String) {
        *self.name.borrow_mut() = Some(name);
    }

    fn location(&self) -> &'static Location<'static> {
        self.location
    }

    fn polls(&self) -> u64 {
        self.polls.get()
    }

    fn busy(&self) -> Duration {
        self.busy.get()
    }
}

impl<T> Drop for TaskCell<T> {
    fn drop(&mut self) {
        if let Outcome::Done(Err(TaskError::Panicked(p))) = &*self.outcome.borrow() {
            log::error!(
                "Task exception was never retrieved: Task-{} created at {} {}",
                self.id,
                self.location,
                p
            );
        }
    }
}
