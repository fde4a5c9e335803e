//! Compile-time checks of what users rely on: handles and futures are `Clone`/`'static` where
//! they must be (so they move into `create_task`), and deliberately not `Send` (they belong to
//! one loop, as in asyncio).

#[macro_use]
#[path = "support/auto_traits.rs"]
mod auto_traits;
use asyncio::{
    Acquire, Barrier, BarrierWait, BoundedSemaphore, BrokenBarrierError, Condition, ConditionWait,
    Event, EventWait, Get, GetNowaitError, Join, LifoQueue, Lock, LockGuard, PriorityQueue, Put,
    PutNowaitError, Queue, QueueEmpty, QueueFull, QueueShutDown, Semaphore, SemaphoreAcquire,
    SemaphorePermit, ValueError,
};

fn is_clone<T: Clone + 'static>() {}
fn is_static<T: 'static>() {}

#[test]
fn handles_are_cheap_clones() {
    is_clone::<Lock>();
    is_clone::<Event>();
    is_clone::<Condition>();
    is_clone::<Semaphore>();
    is_clone::<BoundedSemaphore>();
    is_clone::<Barrier>();
    is_clone::<Queue<String>>();
    is_clone::<LifoQueue<String>>();
    is_clone::<PriorityQueue<String>>();
}

#[test]
fn futures_and_guards_can_be_given_to_create_task() {
    is_static::<Acquire>();
    is_static::<LockGuard>();
    is_static::<EventWait>();
    is_static::<ConditionWait>();
    is_static::<SemaphoreAcquire>();
    is_static::<SemaphorePermit>();
    is_static::<BarrierWait>();
    is_static::<Put<String>>();
    is_static::<Get<String>>();
    is_static::<Join>();
}

#[test]
fn primitives_belong_to_one_thread() {
    assert_not_send!(
        Lock,
        LockGuard,
        Event,
        Condition,
        Semaphore,
        BoundedSemaphore,
        Barrier
    );
    assert_not_send!(
        Queue<u8>,
        LifoQueue<u8>,
        PriorityQueue<u8>,
        Get<u8>,
        Put<u8>
    );
}

#[test]
fn errors_are_send_and_sync() {
    fn send_sync<T: Send + Sync + std::error::Error + 'static>() {}
    send_sync::<QueueEmpty>();
    send_sync::<QueueFull<u8>>();
    send_sync::<QueueShutDown>();
    send_sync::<GetNowaitError>();
    send_sync::<PutNowaitError<u8>>();
    send_sync::<BrokenBarrierError>();
    send_sync::<ValueError>();
}
