//! Tasks as tokio-console sees them (feature `tracing`).
//!
//! tokio-console reads nothing of tokio's internals: it listens to `tracing` spans and events
//! of a fixed shape, the ones tokio emits with `--cfg tokio_unstable`, and any runtime that
//! emits the same is shown alike (console-subscriber's `console_without_tokio_unstable` cfg
//! lets it run without tokio's). So:
//! - each task gets a `runtime.spawn` span (`kind`, `task.name`, `task.id`, `size.bytes`,
//!   `loc.file`, `loc.line`, `loc.col`), with no parent, as tokio makes it;
//! - the span is entered around each poll (the console's polls, busy and idle times);
//! - each operation on the task's waker is a `runtime::waker` event with `op` (`waker.wake`,
//!   `waker.wake_by_ref`, `waker.clone`, `waker.drop`) and `task.id`, which there is the
//!   *span's* id, as in tokio (the console looks the span up by it);
//! - the span closes when the task completes.
//!
//! A task is named after it is created (`create_task(..).with_name(..)`) and the console reads
//! a span's fields only when the span is made, so the span is made at the task's first step,
//! not at `create_task`: by then the name is set. (A task started eagerly runs its first step
//! inside `create_task`, before it can be renamed: it shows as `Task-N`.)
//!
//! # Cost
//! Without the feature none of this is compiled. With it and no subscriber that wants the spans,
//! a task pays one test of the global maximum level at its first step, a flag test per poll and
//! a load per waker operation: no span is made and nothing is stored.

use super::common::{Common, TRACED};
use super::header::Header;
use std::sync::atomic::{AtomicU64, Ordering};
use tracing::level_filters::LevelFilter;

/// The id of the task's span (`tracing::Id::into_u64`) for its wakers, on any thread; 0 while
/// it has none. Kept in the header, the only part of a task that wakers reach.
pub(crate) struct SpanId(AtomicU64);

impl SpanId {
    pub(crate) fn new() -> SpanId {
        SpanId(AtomicU64::new(0))
    }
}

/// At a task's first step (`polls` just counted 1): makes its span if a subscriber may want it.
#[inline(always)]
pub(super) fn first_step(header: &Header, common: &Common, future_size: usize) {
    // One load of the global maximum level: OFF while no subscriber is set.
    if LevelFilter::current() >= LevelFilter::TRACE {
        open_span(header, common, future_size);
    }
}

#[cold]
#[inline(never)]
fn open_span(header: &Header, common: &Common, future_size: usize) {
    let location = common.location();
    let span = tracing::trace_span!(
        target: "runtime::task",
        parent: None,
        "runtime.spawn",
        kind = "local",
        task.name = %common.name(),
        task.id = common.id(),
        size.bytes = future_size,
        loc.file = location.file(),
        loc.line = location.line(),
        loc.col = location.column(),
    );
    if let Some(id) = span.id() {
        // Relaxed: the task's first waker is made after this, on this thread, and reaches
        // other threads only through something that synchronizes.
        header.span_id.0.store(id.into_u64(), Ordering::Relaxed);
        common.set_span(span);
        common.set_flag(TRACED);
    }
}

/// Enters the task's span for one poll, if it has one; [`exit`] leaves it after the poll.
/// (Not a guard: a guard's drop glue, on every poll of every task, costs more than the two
/// flag tests; the poll cannot unwind between the two, it catches panics.)
#[inline(always)]
pub(super) fn enter(common: &Common) {
    if common.flags() & TRACED != 0 {
        with_dispatch(common, |d, id| d.enter(id));
    }
}

/// Leaves the span [`enter`] entered.
#[inline(always)]
pub(super) fn exit(common: &Common) {
    if common.flags() & TRACED != 0 {
        with_dispatch(common, |d, id| d.exit(id));
    }
}

#[cold]
#[inline(never)]
fn with_dispatch(common: &Common, f: fn(&tracing::Dispatch, &tracing::Id)) {
    common.with_span(|span| {
        span.with_subscriber(|(id, dispatch)| f(dispatch, id));
    });
}

/// The task completed: its span closes, and its wakers stop reporting, as a span id may be
/// reused by a new span after it closes.
#[inline(always)]
pub(super) fn close(header: &Header, common: &Common) {
    if common.flags() & TRACED != 0 {
        close_span(header, common);
    }
}

#[cold]
#[inline(never)]
fn close_span(header: &Header, common: &Common) {
    header.span_id.0.store(0, Ordering::Relaxed);
    common.clear_flag(TRACED);
    drop(common.take_span());
}

/// What was done with a task's waker.
#[derive(Clone, Copy)]
pub(crate) enum WakerOp {
    /// `wake`, which consumes the waker: the console counts it as a drop too, so no `Drop`
    /// follows it.
    Wake,
    WakeByRef,
    Clone,
    Drop,
}

/// Reports a waker operation if the task has a span.
#[inline(always)]
pub(crate) fn waker_op(header: &Header, op: WakerOp) {
    let id = header.span_id.0.load(Ordering::Relaxed);
    if id != 0 {
        waker_event(id, op);
    }
}

#[cold]
#[inline(never)]
fn waker_event(id: u64, op: WakerOp) {
    let op = match op {
        WakerOp::Wake => "waker.wake",
        WakerOp::WakeByRef => "waker.wake_by_ref",
        WakerOp::Clone => "waker.clone",
        WakerOp::Drop => "waker.drop",
    };
    tracing::trace!(target: "runtime::waker", op = op, task.id = id);
}
