//! `timeout`, `timeout_at` and `Timeout`.

mod common;

use asyncio::{Timeout, TimeoutError, sleep, timeout, timeout_at};
use common::{DropCount, after, now};

#[asyncio::test(virtual_time)]
async fn a_block_of_awaits_is_cut_at_the_deadline() {
    let d = DropCount::default();
    let d2 = d.clone();
    let r = timeout(2.5, async move {
        let _p = d2.probe();
        sleep(1.0).await;
        sleep(1.0).await;
        sleep(1.0).await;
        "never"
    })
    .await;
    assert_eq!(r, Err(TimeoutError::default()));
    assert_eq!(now(), 2.5);
    assert_eq!(d.get(), 1);
}

#[asyncio::test(virtual_time)]
async fn the_deadline_is_fixed_when_timeout_is_called() {
    let block = timeout(2.0, sleep(1.5));
    assert_eq!(block.handle().when(), Some(2.0));
    sleep(1.0).await;
    assert!(block.await.is_err());
    assert_eq!(now(), 2.0);
}

#[asyncio::test(virtual_time)]
async fn timeout_none_never_expires() {
    let d = DropCount::default();
    assert_eq!(timeout(None, after(500.0, 1, d)).await, Ok(1));
}

#[asyncio::test(virtual_time)]
async fn timeout_at_uses_loop_time() {
    sleep(10.0).await;
    let d = DropCount::default();
    let r = timeout_at(12.0, after(5.0, (), d.clone())).await;
    assert!(r.is_err());
    assert_eq!(now(), 12.0);
    assert_eq!(timeout_at(None, async { 1 }).await, Ok(1));
}

#[asyncio::test(virtual_time)]
async fn reschedule_later_extends_the_block() {
    let cm = Timeout::new(1.0);
    let inner = cm.clone();
    let r = cm
        .run(async move {
            sleep(0.5).await;
            inner.reschedule(3.0);
            sleep(2.0).await;
            "done"
        })
        .await;
    assert_eq!(r, Ok("done"));
    assert_eq!(now(), 2.5);
    assert!(!cm.expired());
    assert_eq!(cm.when(), Some(3.0));
}

#[asyncio::test(virtual_time)]
async fn reschedule_earlier_and_into_the_past() {
    let cm = Timeout::new(100.0);
    let inner = cm.clone();
    assert!(
        cm.run(async move {
            inner.reschedule(2.0);
            sleep(50.0).await;
        })
        .await
        .is_err()
    );
    assert_eq!(now(), 2.0);
    assert!(cm.expired());

    let cm = Timeout::new(None);
    let inner = cm.clone();
    let r = cm
        .run(async move {
            sleep(1.0).await;
            inner.reschedule(0.5); // already past
            sleep(50.0).await;
        })
        .await;
    assert!(r.is_err());
    assert_eq!(now(), 3.0);
}

#[asyncio::test(virtual_time)]
async fn reschedule_from_outside_the_block() {
    let cm = Timeout::new(None);
    let handle = cm.clone();
    let block = asyncio::create_task(async move { cm.run(sleep(100.0)).await });
    sleep(1.0).await;
    handle.reschedule(now() + 1.0);
    assert!(block.await.unwrap().is_err());
    assert_eq!(now(), 2.0);
    assert!(handle.expired());
}

#[asyncio::test(virtual_time)]
#[should_panic(expected = "Cannot change state of expired Timeout")]
async fn reschedule_after_expiry_panics() {
    let cm = Timeout::new(1.0);
    let _ = cm.run(sleep(5.0)).await;
    cm.reschedule(10.0);
}

#[asyncio::test(virtual_time)]
#[should_panic(expected = "Timeout has already been entered")]
async fn a_timeout_runs_one_block() {
    let cm = Timeout::new(None);
    cm.run(async {}).await.unwrap();
    let _ = cm.run(async {}).await;
}

#[asyncio::test(virtual_time)]
async fn nested_timeouts_the_inner_one_fires_first() {
    let d = DropCount::default();
    let r = timeout(5.0, async {
        let inner = timeout(1.0, after(3.0, (), d.clone())).await;
        assert!(inner.is_err());
        "outer body went on"
    })
    .await;
    assert_eq!(r, Ok("outer body went on"));
    assert_eq!(now(), 1.0);

    let r = timeout(1.0, async {
        let _ = timeout(5.0, after(3.0, (), d.clone())).await;
        unreachable!("the outer deadline cuts the inner block")
    })
    .await;
    assert!(r.is_err());
    assert_eq!(now(), 2.0);
    assert_eq!(asyncio::get_running_loop().stats().timers, 0);
}

#[asyncio::test(virtual_time)]
async fn a_ready_output_wins_over_the_deadline_in_the_same_turn() {
    let d = DropCount::default();
    assert_eq!(timeout(1.0, after(1.0, 8, d)).await, Ok(8));
}
