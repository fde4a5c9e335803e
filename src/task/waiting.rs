//! What a task is parked on, for the call graph and `asyncio-ps`: a byte in the task, set by a
//! queue, lock, event, condition, semaphore, barrier, future or timer when it actually parks
//! the task, and cleared at the task's next step.
//!
//! asyncio shows the future a coroutine awaits; a Rust future keeps no frames, so the
//! primitives say where they park instead. Only the slow path pays: the primitive already
//! queues a waiter (or a timer) there, and this adds a look-up of the running task. An
//! acquire, get or put that needs no wait records nothing.

use crate::runtime::context;

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
}

const KINDS: [&str; 11] = [
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
];

/// The low bits: a [`Waiting`].
const KIND: u8 = 0x3f;
/// The wait is under a `wait_for`.
pub(crate) const UNDER_WAIT_FOR: u8 = 0x80;
/// The wait is under a `timeout` block.
pub(crate) const UNDER_TIMEOUT: u8 = 0x40;

/// The running task parks on `what` (its time limits, noted after, are kept).
#[cold]
#[inline(never)]
pub(crate) fn note(what: Waiting) {
    if what != Waiting::Nothing {
        context::with_core(|core| core.note_waiting(|tag| with_kind(tag, what)));
    }
}

/// `tag` waiting on `what`, its time limits kept.
pub(crate) fn with_kind(tag: u8, what: Waiting) -> u8 {
    (tag & !KIND) | what as u8
}

/// The running task's wait, whatever it is, is under a time limit (`UNDER_WAIT_FOR` or
/// `UNDER_TIMEOUT`).
#[cold]
#[inline(never)]
pub(crate) fn note_limit(limit: u8) {
    context::with_core(|core| core.note_waiting(|tag| tag | limit));
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
