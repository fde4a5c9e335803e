//! Which combinator types cross threads: checked at compile time.
#![allow(dead_code)]

#[macro_use]
#[path = "support/auto_traits.rs"]
mod auto_traits;
use asyncio::{
    AsCompleted, ExceptionGroup, Gather, NextCompleted, Shield, Sleep, TaskGroup, Timeout,
    TryGather, WaitFor, WaitFuture, WithTimeout,
};
use auto_traits::{is_send, is_sync};

#[test]
fn time_limits_on_send_futures_are_send() {
    // So `run_coroutine_threadsafe(wait_for(...))` and a `timeout` block inside it work.
    is_send::<WaitFor<Sleep>>();
    is_send::<WithTimeout<Sleep>>();
    is_send::<Timeout>();
    is_sync::<Timeout>();
    is_send::<ExceptionGroup<String>>();
}

#[test]
fn combinators_holding_tasks_are_not_send() {
    // They hold `Task` handles, which belong to one loop.
    assert_not_send!(Gather<u32>);
    assert_not_send!(TryGather<u32, ()>);
    assert_not_send!(Shield<u32>);
    assert_not_send!(WaitFuture<u32>);
    assert_not_send!(AsCompleted<u32>);
    assert_not_send!(NextCompleted<u32>);
    assert_not_send!(TaskGroup<()>);
}

#[test]
fn wait_for_runs_inside_run_coroutine_threadsafe() {
    asyncio::Runner::new().virtual_time(true).run(async {
        let handle = asyncio::get_running_loop();
        let fut = asyncio::run_coroutine_threadsafe(
            async { asyncio::wait_for(asyncio::sleep(10.0), 1.0).await.is_err() },
            &handle,
        );
        assert!(fut.await.unwrap());
        assert_eq!(asyncio::get_running_loop().time(), 1.0);
    });
}
