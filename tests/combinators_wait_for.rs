//! `wait_for`.

mod common;

use asyncio::{TimeoutError, create_task, sleep, wait_for};
use common::{DropCount, Log, after, now, others_pending};
use std::time::Duration;

#[asyncio::test(virtual_time)]
async fn times_out_after_exactly_the_timeout_and_drops_the_inner_future() {
    let d = DropCount::default();
    let r = wait_for(after(3600.0, (), d.clone()), 1.0).await;
    assert_eq!(r, Err(TimeoutError::default()));
    assert_eq!(now(), 1.0);
    assert_eq!(
        d.get(),
        1,
        "the inner future is dropped before wait_for returns"
    );
    assert_eq!(others_pending(), 0);
    assert_eq!(asyncio::get_running_loop().stats().timers, 0);
}

#[asyncio::test(virtual_time)]
async fn returns_the_output_when_in_time() {
    let d = DropCount::default();
    assert_eq!(wait_for(after(1.0, 5, d.clone()), 2.0).await, Ok(5));
    assert_eq!(now(), 1.0);
    // The timer was removed with the WaitFor.
    assert_eq!(asyncio::get_running_loop().stats().timers, 0);
}

#[asyncio::test(virtual_time)]
async fn none_waits_forever() {
    let d = DropCount::default();
    assert_eq!(wait_for(after(10_000.0, 1, d), None).await, Ok(1));
    assert_eq!(now(), 10_000.0);
}

#[asyncio::test(virtual_time)]
async fn accepts_durations_and_integers() {
    let d = DropCount::default();
    assert!(
        wait_for(after(5.0, (), d.clone()), Duration::from_millis(1500))
            .await
            .is_err()
    );
    assert_eq!(now(), 1.5);
    assert!(wait_for(after(5.0, (), d.clone()), 2).await.is_err());
    assert_eq!(now(), 3.5);
}

#[asyncio::test(virtual_time)]
async fn an_output_arriving_in_the_same_turn_as_the_timeout_is_returned() {
    // The inner sleep and the timeout end at the same tick: the output wins.
    let d = DropCount::default();
    assert_eq!(wait_for(after(1.0, "made it", d), 1.0).await, Ok("made it"));
    assert_eq!(now(), 1.0);
}

#[asyncio::test(virtual_time)]
async fn zero_timeout_returns_a_ready_output_and_times_out_otherwise() {
    let done = create_task(async { 3 });
    sleep(0).await;
    assert_eq!(wait_for(done, 0.0).await.unwrap().unwrap(), 3);
    let d = DropCount::default();
    assert!(wait_for(after(1.0, (), d.clone()), 0.0).await.is_err());
    assert_eq!(d.get(), 1);
    assert_eq!(now(), 0.0);
}

#[asyncio::test(virtual_time)]
async fn cancelling_the_caller_drops_the_inner_future_and_is_not_swallowed() {
    let d = DropCount::default();
    let log = Log::default();
    let (d2, l2) = (d.clone(), log.clone());
    let caller = create_task(async move {
        let r = wait_for(after(10.0, (), d2), 5.0).await;
        l2.push(format!("wait_for returned {r:?}"));
    });
    sleep(1.0).await;
    caller.cancel();
    assert!(caller.clone().await.unwrap_err().is_cancelled());
    assert_eq!(d.get(), 1);
    assert!(log.lines().is_empty(), "the caller never resumed");
    assert_eq!(now(), 1.0);
    assert_eq!(asyncio::get_running_loop().stats().timers, 0);
}

#[asyncio::test(virtual_time)]
async fn prints_timeout_like_the_seed() {
    async fn eternity(log: Log) {
        sleep(3600).await;
        log.push("yay!");
    }
    let log = Log::default();
    match wait_for(eternity(log.clone()), 1.0).await {
        Ok(()) => {}
        Err(TimeoutError { .. }) => log.push("timeout!"),
    }
    assert_eq!(log.lines(), ["timeout!"]);
    assert_eq!(now(), 1.0);
}

#[asyncio::test(virtual_time)]
async fn timeout_counts_from_the_first_poll() {
    let d = DropCount::default();
    let fut = wait_for(after(10.0, (), d), 1.0);
    sleep(5.0).await;
    assert!(fut.await.is_err());
    assert_eq!(now(), 6.0);
}
