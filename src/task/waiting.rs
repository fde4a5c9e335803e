//! What a task is parked on, for the call graph and `asyncio-ps`: a byte in the task's header
//! (in padding), set by a queue, lock, event, condition, semaphore, barrier, future, timer,
//! socket or `to_thread` job when it actually parks the task, and cleared at the task's next
//! step.
//!
//! asyncio shows the future a coroutine awaits; a Rust future keeps no frames, so the
//! primitives say where they park instead. Only the slow path pays: the primitive already
//! queues a waiter (or a timer) there, and this adds a store through the waker it was given,
//! which for a task's own waker points at the task's header (another waker, a combinator's,
//! falls back to a look-up of the running task). An acquire, get or put that needs no wait
//! records nothing. Measured with callgrind: about 11 instructions per park, and one store per
//! task step for the clearing.

use super::TaskRef;
use super::header::Header;
use crate::runtime::context;
use std::task::Waker;

/// What a task waits on (the low bits of its byte).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Waiting {
    /// Not labelled (a list some other primitive keeps).
    #[default]
    Nothing = 0,
    QueueGet,
    QueuePut,
    QueueJoin,
    LockAcquire,
    EventWait,
    ConditionWait,
    SemaphoreAcquire,
    BarrierWait,
    Future,
    Sleep,
    IoRead,
    IoWrite,
    ToThread,
}

const KINDS: [&str; 14] = [
    "",
    "Queue.get",
    "Queue.put",
    "Queue.join",
    "Lock.acquire",
    "Event.wait",
    "Condition.wait",
    "Semaphore.acquire",
    "Barrier.wait",
    "Future",
    "sleep",
    "I/O read",
    "I/O write",
    "to_thread",
];

/// The low bits: a [`Waiting`].
const KIND: u8 = 0x3f;
/// The wait is under a `wait_for`.
pub(crate) const UNDER_WAIT_FOR: u8 = 0x80;
/// The wait is under a `timeout` block.
pub(crate) const UNDER_TIMEOUT: u8 = 0x40;

/// The task `waker` wakes parks on `what` (its time limits, noted after, are kept).
#[inline]
pub(crate) fn note(waker: &Waker, what: Waiting) {
    update(waker, !KIND, what as u8);
}

/// The wait of the task `waker` wakes, whatever it is, is under a time limit
/// (`UNDER_WAIT_FOR` or `UNDER_TIMEOUT`).
#[inline]
pub(crate) fn note_limit(waker: &Waker, limit: u8) {
    update(waker, !0, limit);
}

/// A task's own waker leads to its header; another (a combinator's) leaves the running task.
#[inline]
fn update(waker: &Waker, keep: u8, add: u8) {
    match Header::of_waker(waker) {
        Some(header) => header.update_waiting(keep, add),
        None => update_running(keep, add),
    }
}

#[cold]
#[inline(never)]
fn update_running(keep: u8, add: u8) {
    context::with_core(|core| core.note_waiting(keep, add));
}

/// The byte of a task: what it is parked on in its current step, or 0.
pub(crate) fn of(task: &TaskRef) -> u8 {
    task.waiting_tag()
}

/// The text for a task's byte: `Queue.get`, `wait_for(Lock.acquire)`, `timeout(?)`; `None`
/// when nothing is recorded.
pub(crate) fn describe(tag: u8) -> Option<String> {
    if tag == 0 {
        return None;
    }
    let mut text = match KINDS.get(usize::from(tag & KIND)) {
        Some(name) if !name.is_empty() => (*name).to_owned(),
        _ => "?".to_owned(),
    };
    if tag & UNDER_TIMEOUT != 0 {
        text = format!("timeout({text})");
    }
    if tag & UNDER_WAIT_FOR != 0 {
        text = format!("wait_for({text})");
    }
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_byte_reads_as_the_primitive_and_its_time_limits() {
        assert_eq!(describe(0), None);
        assert_eq!(describe(Waiting::QueueGet as u8).unwrap(), "Queue.get");
        assert_eq!(
            describe(Waiting::LockAcquire as u8 | UNDER_WAIT_FOR).unwrap(),
            "wait_for(Lock.acquire)"
        );
        assert_eq!(describe(UNDER_TIMEOUT).unwrap(), "timeout(?)");
        assert_eq!(describe(Waiting::Sleep as u8).unwrap(), "sleep");
    }
}
