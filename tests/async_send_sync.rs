//! Which handles cross threads: checked at compile time.
#![allow(dead_code)]

#[macro_use]
#[path = "support/auto_traits.rs"]
mod auto_traits;
use asyncio::{
    ConcurrentFuture, Handle, LoopHandle, Runner, Sleep, Task, TaskError, TaskRef, TimerHandle,
    ToThread,
};
use auto_traits::{is_clone, is_send, is_sync};

#[test]
fn loop_handles_and_cross_thread_futures_are_send() {
    is_send::<LoopHandle>();
    is_sync::<LoopHandle>();
    is_clone::<LoopHandle>();
    is_send::<ConcurrentFuture<u32>>();
    is_send::<ToThread<u32>>();
    is_send::<Sleep>();
    is_send::<TaskError>();
    is_sync::<TaskError>();
}

#[test]
fn loop_bound_objects_are_not_send() {
    // Tasks, their handles and callbacks belong to one loop, as in asyncio.
    assert_not_send!(Task<u32>);
    assert_not_send!(TaskRef);
    assert_not_send!(Handle);
    assert_not_send!(TimerHandle);
    assert_not_send!(Runner);
    is_clone::<Task<u32>>();
    is_clone::<TaskRef>();
}
