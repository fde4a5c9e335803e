//! The task itself: header, common fields, future and outcome, in one allocation.
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
//! A task with a catching scope on its stack ([`catch`](super::catch)) goes through
//! `before_scoped_poll`/`after_scoped_poll` around its poll: the cancel is delivered in a poll
//! rather than dropping the future. The hot path pays one flag test for both cases, as it paid
//! for the cancel alone.
//!
//! # Ownership
//! The allocation is made here and freed through the [`TaskVtable`]: see the header's "Two
//! reference counts" and [`LocalRef`]. The loop's slab holds a local reference while the task
//! is pending and lets go when it completes; every [`Task`](super::Task) handle holds another.
//! The outcome lives until the last local reference drops; a panic that no handle took is
//! logged then, as asyncio logs "Task exception was never retrieved".
//!
//! # Pinning
//! The future is stored inline and polled in place: the allocation never moves, and the
//! future leaves its `Option` only by being dropped in place (the `Option` is overwritten with
//! `None`, or dropped with the body), which is what `Pin` asks. The outcome lives in a cell of
//! its own, so a future whose `Drop` looks at its own task finds the outcome cell free.
//!
//! # The await graph
//! When a task's poll finds another task pending (`Task::poll`), the awaiting task records the
//! awaited one's key. Cancelling a task cancels the task it awaits, as asyncio's
//! `Task.cancel` cancels `_fut_waiter`; merely dropping a `Task` handle cancels nothing.

use super::common::{
    CANCEL_REQUESTED, Common, DELIVERING, DONE, FORWARDED, IN_CONTEXT, SCOPED, WAS_CANCELLED,
};
use super::header::{Header, PanicPayload, TaskVtable};
use super::local::LocalRef;
use crate::contextvars;
use crate::error::{InvalidStateError, PanicError, TaskError};
use crate::runtime::core::Core;
use crate::runtime::shared::Shared;
use std::alloc::Layout;
use std::cell::RefCell;
use std::future::Future;
use std::panic::{AssertUnwindSafe, Location, catch_unwind};
use std::pin::Pin;
use std::ptr::{NonNull, addr_of_mut};
use std::rc::Weak;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

/// The error is boxed: it is rare, and a task's allocation should not carry its size.
enum Outcome<T> {
    Pending,
    Done(Result<T, Box<TaskError>>),
    Taken,
}

/// The start of every task allocation, whatever its future: what wakers reach (the header)
/// and what the loop's thread reaches without knowing the future's type.
#[repr(C)]
pub(crate) struct Base {
    pub(crate) header: Header,
    pub(crate) common: Common,
}

#[repr(C)]
pub(crate) struct TaskCell<F: Future> {
    base: Base,
    future: RefCell<Option<F>>,
    outcome: RefCell<Outcome<F::Output>>,
}

/// What the loop needs of a task, whatever its type.
pub(crate) trait RawTask {
    /// Polls the task, or drops its future if cancellation was asked for.
    ///
    /// # Safety
    /// The caller holds a reference for the duration, and `this` is that reference's own
    /// pointer to the header ([`LocalRef::header_ptr`]): the poll's wakers are made from it.
    unsafe fn run(&self, core: &Core, this: NonNull<Header>);
}

/// What a [`Task<T>`](super::Task) handle needs: the above, plus the output.
pub(crate) trait TaskOutput<T>: RawTask {
    /// Takes the outcome: the first caller gets it, later ones an `InvalidStateError`.
    fn take_outcome(&self) -> Option<Result<T, TaskError>>;
    /// Whether the task is done, its outcome not taken yet, and `f` says yes to it (a look
    /// without taking, for the combinators: a failure ending a gather, `wait`'s FIRST_EXCEPTION).
    fn outcome_matches(&self, f: &mut dyn FnMut(Result<&T, &TaskError>) -> bool) -> bool;
}

impl<F: Future + 'static> TaskCell<F> {
    const VTABLE: &'static TaskVtable = &TaskVtable {
        drop_body: Self::drop_body,
        dealloc: Self::dealloc,
    };

    /// Allocates a task, returning its first local reference.
    #[inline]
    pub(crate) fn allocate(
        key: u64,
        shared: Arc<Shared>,
        id: u64,
        core: Weak<Core>,
        future: F,
        location: &'static Location<'static>,
    ) -> LocalRef<TaskCell<F>> {
        let cell = Box::new(TaskCell {
            base: Base {
                header: Header::new(key, shared, Self::VTABLE),
                common: Common::new(id, core, location),
            },
            future: RefCell::new(Some(future)),
            outcome: RefCell::new(Outcome::Pending),
        });
        // SAFETY: a new allocation that starts with its `Base`. Its common fields count one
        // local reference, which the handle adopts; its header counts the loop's one.
        unsafe { LocalRef::adopt(NonNull::from(Box::leak(cell))) }
    }

    /// Returns the first panic a `Drop` raised: every part is dropped anyway, so that the
    /// caller can still give the header reference back (and free the task) before it
    /// re-raises.
    ///
    /// # Safety
    /// `header` is the header of a `TaskCell<F>` with no local reference left, on the loop's
    /// thread; the body is not used again.
    unsafe fn drop_body(header: NonNull<Header>) -> Option<PanicPayload> {
        let cell = header.cast::<TaskCell<F>>().as_ptr();
        // SAFETY: the allocation is alive (the loop still holds its header reference), and
        // without local references nothing else reads the body; wakers read only the header.
        unsafe {
            // Reported inside the borrow: with no local reference left, nothing the handler
            // runs can reach this task's outcome.
            if let Outcome::Done(Err(e)) = &*(*cell).outcome.borrow() {
                if let TaskError::Panicked(p) = &**e {
                    report_unretrieved(&(*cell).base.common, p);
                }
            }
        }
        let future = catch_unwind(AssertUnwindSafe(|| {
            // SAFETY: as above; each part is dropped exactly once, even if another panics.
            unsafe { std::ptr::drop_in_place(addr_of_mut!((*cell).future)) }
        }));
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            // SAFETY: as above.
            unsafe { std::ptr::drop_in_place(addr_of_mut!((*cell).outcome)) }
        }));
        let common = catch_unwind(AssertUnwindSafe(|| {
            // SAFETY: as above.
            unsafe { std::ptr::drop_in_place(addr_of_mut!((*cell).base.common)) }
        }));
        future.and(outcome).and(common).err()
    }

    /// # Safety
    /// `header` is the header of a `TaskCell<F>` whose last reference is gone and whose body
    /// was dropped.
    unsafe fn dealloc(header: NonNull<Header>) {
        let cell = header.cast::<TaskCell<F>>().as_ptr();
        // SAFETY: nobody can reach the task any more; the header is the only part left to
        // drop, and it is `Send + Sync`. The layout is the one `Box::new` allocated with.
        unsafe {
            std::ptr::drop_in_place(addr_of_mut!((*cell).base.header));
            std::alloc::dealloc(cell.cast(), Layout::new::<TaskCell<F>>());
        }
    }

    fn complete(&self, core: &Core, outcome: Result<F::Output, TaskError>) {
        let Base { header, common } = &self.base;
        let cancelled = matches!(outcome, Err(TaskError::Cancelled(_)));
        *self.outcome.borrow_mut() = Outcome::Done(outcome.map_err(Box::new));
        common.set_flag(DONE | if cancelled { WAS_CANCELLED } else { 0 });
        header.queued.finish();
        header.state.complete();
        #[cfg(feature = "tracing")]
        super::trace::close(header, common);
        if common.in_context() {
            core.set_task_context(header.key, common, None);
        }
        core.remove_task(header.key);
        common.wake_all(core);
    }

    /// Polls the future in place, catching a panic.
    fn poll_future(&self, cx: &mut Context<'_>) -> Option<Result<F::Output, TaskError>> {
        let mut slot = self.future.borrow_mut();
        let future = slot.as_mut()?;
        // SAFETY: the future lives inside the task allocation, which never moves, and it is
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
}

impl<F: Future + 'static> RawTask for TaskCell<F> {
    unsafe fn run(&self, core: &Core, this: NonNull<Header>) {
        let Base { header, common } = &self.base;
        header.queued.clear();
        header
            .waiting
            .store(0, std::sync::atomic::Ordering::Relaxed);
        // A wake from another thread that is still in the loop's cross-thread queue is
        // answered by this poll: take it now (seeing what its waker wrote), so that the drain
        // does not poll the task once more for it.
        if header.state.remote_pending() {
            header.state.take_remote();
        }
        // One test for the rare cases: a cancel to act on, or a catching scope on the stack.
        // The poll below stays the only one, so the hot path is compiled as it was.
        let mut scoped = None;
        if common.flags() & (CANCEL_REQUESTED | SCOPED | FORWARDED) != 0 {
            scoped = self.before_scoped_poll(core);
            if scoped.is_none() {
                return;
            }
        }
        common.count_poll();
        #[cfg(feature = "tracing")]
        if common.polls() == 1 {
            super::trace::first_step(header, common, std::mem::size_of::<F>());
        }
        #[cfg(feature = "tracing")]
        super::trace::enter(common);
        let started = core.debug.times_steps().then(Instant::now);
        let previous = core.enter_task(header.key);
        // SAFETY: as this function's contract says.
        let waker = unsafe { Header::waker_ref(this) };
        let mut cx = Context::from_waker(&waker);
        // Most tasks never touch a context variable: their steps skip the switch. (The flag
        // is read again after the step, which may have made the task's first context.)
        if common.flags() & IN_CONTEXT != 0 {
            enter_task_context(core, header.key);
        }
        let ready = self.poll_future(&mut cx);
        if common.flags() & IN_CONTEXT != 0 {
            leave_task_context(core, header.key, common);
        }
        core.leave_task(previous);
        #[cfg(feature = "tracing")]
        super::trace::exit(common);
        if let Some(started) = started {
            // Only a bool crosses into the cold code: `ready` itself stays in registers.
            debug_step(core, common, started, ready.is_some());
        }
        if let Some(outer) = scoped {
            return self.after_scoped_poll(core, ready, outer);
        }
        if let Some(outcome) = ready {
            self.finish(core, outcome);
        }
    }
}

impl<F: Future + 'static> TaskCell<F> {
    /// The future finished (or panicked): drop it before anyone sees the outcome.
    #[inline(always)]
    fn finish(&self, core: &Core, outcome: Result<F::Output, TaskError>) {
        let common = &self.base.common;
        let dropped = self.drop_future().unwrap_or(Ok(()));
        let outcome = match (outcome, dropped) {
            (Ok(_), _) if common.flags() & (CANCEL_REQUESTED | DELIVERING) != 0 => {
                common.clear_flag(DELIVERING);
                Err(common.cancelled_error())
            }
            (Ok(value), Ok(())) => Ok(value),
            (Ok(_), Err(panicked)) => Err(panicked),
            (Err(e), _) => Err(e),
        };
        self.complete(core, outcome);
    }

    /// Drops the future and ends the task as cancelled.
    fn end_cancelled(&self, core: &Core) {
        let common = &self.base.common;
        common.clear_flag(DELIVERING);
        if let Some(dropped) = self.drop_future() {
            let outcome = dropped.and_then(|()| Err(common.cancelled_error()));
            self.complete(core, outcome);
        }
    }

    /// A run with a cancel asked for, or with a catching scope on the stack. Without a scope
    /// the cancel drops the future (the drop-based cancel) and there is no poll: `None`. With
    /// one, the cancel is delivered: the task is polled with the cancellation on its way up,
    /// for the innermost scope to catch. Gives what `after_scoped_poll` restores. A cancel
    /// that went to the task this one awaits is settled first (`settle_forwarded`).
    #[cold]
    #[inline(never)]
    fn before_scoped_poll(&self, core: &Core) -> Option<u64> {
        let Base { header, common } = &self.base;
        if common.flags() & FORWARDED != 0 {
            common.settle_forwarded();
        }
        let flags = common.flags();
        if flags & CANCEL_REQUESTED != 0 {
            common.drop_forwarded();
            if flags & SCOPED == 0 {
                self.end_cancelled(core);
                return None;
            }
            common.clear_flag(CANCEL_REQUESTED);
            common.set_flag(DELIVERING);
        }
        Some(super::catch::enter_scoped_poll(header.key))
    }

    /// After a scoped poll: a cancellation that came out of it uncaught ends the task.
    #[cold]
    #[inline(never)]
    fn after_scoped_poll(
        &self,
        core: &Core,
        ready: Option<Result<F::Output, TaskError>>,
        outer: u64,
    ) {
        super::catch::leave_scoped_poll(outer);
        match ready {
            Some(outcome) => self.finish(core, outcome),
            None if self.base.common.delivering() => self.end_cancelled(core),
            None => {}
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
                Outcome::Done(result) => Some(result.map_err(|e| *e)),
                _ => unreachable!(),
            },
        }
    }

    fn outcome_matches(&self, f: &mut dyn FnMut(Result<&F::Output, &TaskError>) -> bool) -> bool {
        match &*self.outcome.borrow() {
            Outcome::Done(outcome) => f(outcome.as_ref().map_err(|e| &**e)),
            _ => false,
        }
    }
}

/// Reports a task's panic that nobody retrieved (asyncio's "Task exception was never
/// retrieved").
#[cold]
fn report_unretrieved(common: &Common, panic: &PanicError) {
    let (shown, message) = (panic.to_string(), panic.message().map(str::to_owned));
    use crate::runtime::exception_handler::{ExceptionContext, TaskInfo, report};
    let task = TaskInfo {
        id: common.id(),
        name: common.name(),
        location: common.location(),
    };
    let line = format!(
        "Task exception was never retrieved: Task-{} created at {} {}",
        task.id, task.location, shown
    );
    // The panic itself goes with the task's outcome; the report carries its message.
    let payload: Box<dyn std::any::Any + Send> = match message {
        Some(message) => Box::new(message),
        None => Box::new(()),
    };
    let exception = PanicError::new(payload);
    report(
        ExceptionContext::new("Task exception was never retrieved")
            .with_exception(exception)
            .with_task(task)
            .logged_as(line),
    );
}

/// Debug mode's bookkeeping after a task step (and a serving loop's, see `introspection`):
/// its busy time, its first step, and the log of a slow one (debug mode only).
#[cold]
#[inline(never)]
fn debug_step(core: &Core, common: &Common, started: Instant, finished: bool) {
    let took = started.elapsed();
    common.with_extra(|e| {
        e.busy += took;
        e.born.get_or_insert(started);
    });
    crate::runtime::debug::step_took(core, took, || {
        let state = if finished { "finished" } else { "pending" };
        format!(
            "<Task {state} name='{}' created at {}>",
            common.name(),
            common.location()
        )
    });
}

/// Makes the task's context current for a step; the loop keeps the one it replaced in the
/// task's place until the step ends.
#[inline(never)]
fn enter_task_context(core: &Core, key: u64) {
    let outer = contextvars::enter(core.take_task_context(key));
    if let Some(outer) = outer {
        core.keep_task_context(key, outer);
    }
}

/// Gives the thread back the context the step replaced, and the task the one it ran in: its
/// own, or the first one a `set` made during the step.
#[inline(never)]
fn leave_task_context(core: &Core, key: u64, common: &Common) {
    let outer = core.take_task_context(key);
    core.set_task_context(key, common, contextvars::leave(outer));
}
