//! The fields of a task that do not depend on its future's type and never leave its loop's
//! thread: flags, the local reference count, awaiters, the await graph, names and callbacks.

use super::cell::Base;
use crate::error::{CancelledError, TaskError};
use crate::runtime::core::Core;
use crate::util::slab::Key;
use std::cell::{Cell, RefCell};
use std::panic::Location;
use std::rc::Weak;
use std::task::Waker;
use std::time::Duration;

/// Cancellation was asked for (the future is dropped at the task's next turn).
pub(super) const CANCEL_REQUESTED: u8 = 1 << 0;
/// The task is done: its outcome is set (or taken).
pub(super) const DONE: u8 = 1 << 1;
/// The task ended cancelled; still known after its outcome was taken.
pub(super) const WAS_CANCELLED: u8 = 1 << 2;
/// A scope that can catch cancellation ([`on_cancel`](super::on_cancel),
/// [`catch_cancel`](super::catch_cancel)) is on the task's stack: a cancel is delivered to it
/// instead of dropping the future.
pub(super) const SCOPED: u8 = 1 << 3;
/// A cancellation is being delivered in this poll, not caught yet: asyncio's `CancelledError`
/// on its way up the stack. Set at the poll's start, or by a scope raising it again.
pub(super) const DELIVERING: u8 = 1 << 4;
/// The task runs in a context of its own (see `contextvars`): its steps switch to it.
pub(super) const IN_CONTEXT: u8 = 1 << 5;
/// The task has a `runtime.spawn` span in [`Extra`] (feature `tracing`): its polls enter it.
#[cfg(feature = "tracing")]
pub(super) const TRACED: u8 = 1 << 6;
/// The task's cancel went to the task it awaits (asyncio's `_fut_waiter.cancel()`), kept in
/// [`Extra`]: this task waits for that one to end, and is cancelled only if it ends so.
pub(super) const FORWARDED: u8 = 1 << 7;

/// Kept small: a task that is spawned, polled and joined touches only these; what few tasks
/// use is in [`Extra`].
pub(crate) struct Common {
    /// Local references: the slab's while the task is pending, and the handles'.
    local_refs: Cell<u32>,
    flags: Cell<u8>,
    polls: Cell<u32>,
    /// asyncio's `cancelling()`: cancels asked for and not taken back by `uncancel`.
    cancels: Cell<u32>,
    /// How many catching scopes are on the task's stack (in the padding next to `flags`).
    scopes: Cell<u16>,
    id: u64,
    pub(super) core: Weak<Core>,
    /// The first awaiter; more are in `Extra`.
    waiter: Cell<Option<Waker>>,
    /// The packed slab key of the task this one last found pending when it awaited it, or 0.
    awaiting: Cell<u64>,
    location: &'static Location<'static>,
    extra: RefCell<Option<Box<Extra>>>,
}

/// A done callback, bound to a handle of its task.
pub(super) type DoneCallback = Box<dyn FnOnce()>;

/// A task waiting on this one, while its combinator's state lives.
type AwaitEdge = (u64, Weak<dyn std::any::Any>);

/// What only some tasks need, allocated on first use.
#[derive(Default)]
pub(super) struct Extra {
    name: Option<String>,
    cancel_msg: Option<String>,
    more_waiters: Vec<Waker>,
    /// Done callbacks, bound to their task handle, with their ids.
    callbacks: Vec<(u64, DoneCallback)>,
    next_callback_id: u64,
    pub(super) busy: Duration,
    /// When the task's first step ran, on a loop that times steps (debug mode,
    /// `introspection::serve`).
    pub(super) born: Option<std::time::Instant>,
    /// Tasks (by id) that wait on this one through a combinator, each edge live while its
    /// combinator's state is (the call graph). The first inline: it is usually the only one,
    /// and a gather of many tasks should not pay an allocation per task for it.
    awaited_by: Option<AwaitEdge>,
    more_awaited_by: Vec<AwaitEdge>,
    /// The task's span for tokio-console, while a subscriber wants it (see `trace`).
    #[cfg(feature = "tracing")]
    span: Option<tracing::Span>,
    /// The task this one's cancel went to, while it has not ended (see [`FORWARDED`]).
    forwarded_to: Option<super::TaskRef>,
}

impl Common {
    /// With one local reference, owned by whoever made the task.
    pub(super) fn new(id: u64, core: Weak<Core>, location: &'static Location<'static>) -> Self {
        Common {
            local_refs: Cell::new(1),
            flags: Cell::new(0),
            polls: Cell::new(0),
            cancels: Cell::new(0),
            scopes: Cell::new(0),
            id,
            core,
            waiter: Cell::new(None),
            awaiting: Cell::new(0),
            location,
            extra: RefCell::new(None),
        }
    }

    pub(super) fn local_ref_inc(&self) {
        let n = self.local_refs.get();
        // A leak of four billion handles; stop before the count wraps.
        assert!(n < u32::MAX, "task reference count overflow");
        self.local_refs.set(n + 1);
    }

    pub(super) fn local_refs(&self) -> u32 {
        self.local_refs.get()
    }

    /// True if that was the last local reference.
    pub(super) fn local_ref_dec(&self) -> bool {
        let n = self.local_refs.get() - 1;
        self.local_refs.set(n);
        n == 0
    }

    pub(super) fn flags(&self) -> u8 {
        self.flags.get()
    }

    pub(super) fn set_flag(&self, flag: u8) {
        self.flags.set(self.flags.get() | flag);
    }

    pub(super) fn clear_flag(&self, flag: u8) {
        self.flags.set(self.flags.get() & !flag);
    }

    /// Whether the task has a context of its own, kept by its loop (`Core::task_context`).
    pub(crate) fn in_context(&self) -> bool {
        self.flags.get() & IN_CONTEXT != 0
    }

    pub(crate) fn set_in_context(&self, yes: bool) {
        let flags = self.flags.get() & !IN_CONTEXT;
        self.flags.set(flags | if yes { IN_CONTEXT } else { 0 });
    }

    /// The running step set a variable with no context current: the one it made is the
    /// task's from the step's end.
    pub(crate) fn mark_in_context(&self) {
        self.set_flag(IN_CONTEXT);
    }

    pub(super) fn count_poll(&self) {
        self.awaiting.set(0);
        self.polls.set(self.polls.get().saturating_add(1));
    }

    pub(super) fn with_extra<R>(&self, f: impl FnOnce(&mut Extra) -> R) -> R {
        f(self.extra.borrow_mut().get_or_insert_with(Default::default))
    }

    /// Wakes every awaiter and schedules the done callbacks, once the outcome is set.
    pub(super) fn wake_all(&self, core: &Core) {
        if let Some(waker) = self.waiter.take() {
            waker.wake();
        }
        let rest = self.extra.borrow_mut().as_mut().map(|e| {
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

    /// The message of a cancel asked for, taken.
    pub(super) fn cancelled_error(&self) -> TaskError {
        let msg = self
            .extra
            .borrow_mut()
            .as_mut()
            .and_then(|e| e.cancel_msg.take());
        TaskError::Cancelled(CancelledError { msg })
    }

    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    pub(crate) fn done(&self) -> bool {
        self.flags.get() & DONE != 0
    }

    pub(crate) fn cancelled(&self) -> bool {
        self.flags.get() & WAS_CANCELLED != 0
    }

    /// The slab key of the task this one last found pending in its current step, or 0.
    pub(crate) fn awaiting(&self) -> u64 {
        self.awaiting.get()
    }

    /// Records that the task `awaiter` waits on this one while `live` is alive.
    pub(crate) fn add_awaited_by(&self, awaiter: u64, live: Weak<dyn std::any::Any>) {
        self.with_extra(|e| {
            let edge = (awaiter, live);
            match &e.awaited_by {
                Some((_, first)) if first.strong_count() > 0 => {
                    e.more_awaited_by.retain(|(_, l)| l.strong_count() > 0);
                    e.more_awaited_by.push(edge);
                }
                _ => e.awaited_by = Some(edge),
            }
        });
    }

    /// The ids of the tasks waiting on this one through a combinator that still waits.
    pub(crate) fn awaited_by(&self) -> Vec<u64> {
        self.extra.borrow().as_ref().map_or_else(Vec::new, |e| {
            e.awaited_by
                .iter()
                .chain(&e.more_awaited_by)
                .filter(|(_, live)| live.strong_count() > 0)
                .map(|(id, _)| *id)
                .collect()
        })
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

    /// Adds a done callback (bound to a handle of this task) and gives its id; gives the
    /// callback back too if the task is done already, for the caller to schedule.
    pub(crate) fn add_callback(
        &self,
        bound: Box<dyn FnOnce()>,
    ) -> (u64, Option<Box<dyn FnOnce()>>) {
        let done = self.done();
        self.with_extra(|e| {
            e.next_callback_id += 1;
            let id = e.next_callback_id;
            if done {
                (id, Some(bound))
            } else {
                e.callbacks.push((id, bound));
                (id, None)
            }
        })
    }

    pub(crate) fn remove_callback(&self, id: u64) -> bool {
        let removed = self.extra.borrow_mut().as_mut().and_then(|e| {
            let at = e.callbacks.iter().position(|(i, _)| *i == id)?;
            Some(e.callbacks.remove(at))
        });
        // Dropped outside the borrow: it holds a handle to this task.
        removed.is_some()
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

    #[cfg(feature = "tracing")]
    pub(super) fn set_span(&self, span: tracing::Span) {
        self.with_extra(|e| e.span = Some(span));
    }

    /// Calls `f` with the task's span, if it has one. `f` must not touch the task.
    #[cfg(feature = "tracing")]
    pub(super) fn with_span(&self, f: impl FnOnce(&tracing::Span)) {
        if let Some(span) = self.extra.borrow().as_ref().and_then(|e| e.span.as_ref()) {
            f(span);
        }
    }

    #[cfg(feature = "tracing")]
    pub(super) fn take_span(&self) -> Option<tracing::Span> {
        self.extra.borrow_mut().as_mut().and_then(|e| e.span.take())
    }

    pub(crate) fn location(&self) -> &'static Location<'static> {
        self.location
    }

    pub(crate) fn polls(&self) -> u64 {
        u64::from(self.polls.get())
    }

    /// When the task's first step ran, if its loop timed it (see `Extra::born`).
    pub(crate) fn born(&self) -> Option<std::time::Instant> {
        self.extra.borrow().as_ref().and_then(|e| e.born)
    }

    pub(crate) fn busy(&self) -> Duration {
        self.extra
            .borrow()
            .as_ref()
            .map_or(Duration::ZERO, |e| e.busy)
    }
}

impl Base {
    pub(crate) fn key(&self) -> u64 {
        self.header.key
    }

    pub(crate) fn cancel(&self, msg: Option<String>) -> bool {
        let common = &self.common;
        let flags = common.flags.get();
        if flags & DONE != 0 {
            return false;
        }
        common.cancels.set(common.cancels.get().saturating_add(1));
        // As asyncio cancels the future a task waits on: the task it awaits goes too, and if
        // that one takes the cancel, this one waits for it to end (see `settle_forwarded`).
        let awaited = common.awaiting.replace(0);
        if awaited != 0 {
            let awaited = common
                .core
                .upgrade()
                .and_then(|core| core.task_by_key(Key::from_u64(awaited)));
            if let Some(awaited) = awaited {
                let taken = match &msg {
                    Some(msg) => awaited.cancel_with(msg.clone()),
                    None => awaited.cancel(),
                };
                if taken && flags & (CANCEL_REQUESTED | DELIVERING | FORWARDED) == 0 {
                    common.set_flag(FORWARDED);
                    common.with_extra(|e| {
                        e.forwarded_to = Some(awaited);
                        e.cancel_msg = msg;
                    });
                    return true;
                }
            }
        }
        // A cancellation already on its way up the stack in this poll carries this one too, as
        // asyncio throws one `CancelledError` for cancels asked before the task's next step.
        if flags & (CANCEL_REQUESTED | DELIVERING) == 0 {
            common.set_flag(CANCEL_REQUESTED);
            if msg.is_some() {
                common.with_extra(|e| e.cancel_msg = msg);
            }
        }
        self.header.schedule();
        true
    }
}

impl Common {
    /// Before a step of a task whose cancel went to the task it awaits: once that one has
    /// ended, the cancel is settled. Ended cancelled, it is this task's cancellation now (as
    /// asyncio raises its `CancelledError` at the await); ended with a value or a panic, this
    /// task carries on and gets it, as asyncio's does. Still running (this step is for a
    /// timer, say), nothing changes.
    pub(super) fn settle_forwarded(&self) {
        let ended = self.with_extra(|e| match &e.forwarded_to {
            Some(awaited) if !awaited.done() => None,
            _ => Some(e.forwarded_to.take()),
        });
        let Some(awaited) = ended else {
            return;
        };
        self.clear_flag(FORWARDED);
        if awaited.as_ref().is_some_and(|t| t.cancelled()) {
            self.set_flag(CANCEL_REQUESTED);
        }
        // Dropped with no borrow of this task held: it may be the awaited task's last handle.
        drop(awaited);
    }

    /// A cancel of this task's own overtakes one sent to the task it awaits.
    pub(super) fn drop_forwarded(&self) {
        if self.flags.get() & FORWARDED != 0 {
            self.clear_flag(FORWARDED);
            let awaited = self.with_extra(|e| e.forwarded_to.take());
            drop(awaited);
        }
    }
}

// Catchable cancellation (see `super::catch`): the counts asyncio keeps, and the scopes.
impl Common {
    /// asyncio's `Task.cancelling()`.
    pub(crate) fn cancelling(&self) -> u32 {
        self.cancels.get()
    }

    /// asyncio's `Task.uncancel()` (3.13+): one cancel request less; at zero, a cancel not
    /// delivered yet is dropped too.
    pub(crate) fn uncancel(&self) -> u32 {
        let n = self.cancels.get().saturating_sub(1);
        self.cancels.set(n);
        if n == 0 && self.flags.get() & DONE == 0 {
            self.clear_flag(CANCEL_REQUESTED);
        }
        n
    }

    /// A catching scope enters; its level (1 for the outermost).
    pub(crate) fn scope_enter(&self) -> u16 {
        let n = self.scopes.get();
        assert!(n < u16::MAX, "too many nested cancellation scopes");
        self.scopes.set(n + 1);
        self.set_flag(SCOPED);
        n + 1
    }

    pub(crate) fn scope_exit(&self) {
        let n = self.scopes.get().saturating_sub(1);
        self.scopes.set(n);
        if n == 0 {
            self.clear_flag(SCOPED);
        }
    }

    pub(crate) fn scope_depth(&self) -> u16 {
        self.scopes.get()
    }

    /// Whether a cancellation is on its way up the stack, not caught yet.
    pub(crate) fn delivering(&self) -> bool {
        self.flags.get() & DELIVERING != 0
    }

    /// Catches the cancellation on its way up: its error, with the message.
    pub(crate) fn take_delivery(&self) -> CancelledError {
        self.clear_flag(DELIVERING);
        let msg = self
            .extra
            .borrow_mut()
            .as_mut()
            .and_then(|e| e.cancel_msg.take());
        CancelledError { msg }
    }

    /// Raises a caught cancellation again (asyncio's bare `raise` in an `except` block).
    pub(crate) fn raise_again(&self, error: CancelledError) {
        if error.msg.is_some() {
            self.with_extra(|e| e.cancel_msg = error.msg);
        }
        self.set_flag(DELIVERING);
    }
}
