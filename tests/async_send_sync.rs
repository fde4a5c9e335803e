//! Which handles cross threads: checked at compile time.
#![allow(dead_code)]

use asyncio::{
    ConcurrentFuture, Handle, LoopHandle, Runner, Sleep, Task, TaskError, TaskRef, TimerHandle,
    ToThread,
};

fn is_send<T: Send>() {}
fn is_sync<T: Sync>() {}
fn is_clone<T: Clone>() {}

/// Compiles only if `T` is not `Send`: with a `Send` type both impls apply and inference fails.
trait AmbiguousIfSend<A> {
    fn some_item() {}
}
impl<T: ?Sized> AmbiguousIfSend<()> for T {}
impl<T: ?Sized + Send> AmbiguousIfSend<u8> for T {}

macro_rules! assert_not_send {
    ($t:ty) => {
        let _ = <$t as AmbiguousIfSend<_>>::some_item;
    };
}

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
