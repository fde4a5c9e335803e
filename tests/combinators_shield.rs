//! `shield`.

mod common;

use asyncio::{create_task, shield, sleep};
use common::{DropCount, Log, now, others_pending};

#[asyncio::test(virtual_time)]
async fn shielded_task_finishes_after_its_waiter_was_cancelled() {
    let log = Log::default();
    let l = log.clone();
    let inner_slot = std::rc::Rc::new(std::cell::RefCell::new(None));
    let slot = inner_slot.clone();
    let waiter = create_task(async move {
        let shielded = shield(async move {
            sleep(3.0).await;
            l.push(format!("inner done at {}", now()));
            "result"
        });
        *slot.borrow_mut() = Some(shielded.task());
        shielded.await
    });
    sleep(1.0).await;
    waiter.cancel();
    let err = waiter.clone().await.unwrap_err();
    assert!(
        err.is_cancelled(),
        "the outer await ends with CancelledError"
    );
    assert_eq!(now(), 1.0);
    let inner = inner_slot.borrow_mut().take().unwrap();
    assert!(!inner.done());
    assert_eq!(inner.await.unwrap(), "result");
    assert_eq!(log.lines(), ["inner done at 3"]);
    assert_eq!(others_pending(), 0);
}

#[asyncio::test(virtual_time)]
async fn wait_for_around_shield_times_out_without_cancelling() {
    let d = DropCount::default();
    let probe_owner = d.clone();
    let shielded = shield(async move {
        let _p = probe_owner.probe();
        sleep(2.0).await;
        5
    });
    let inner = shielded.task();
    assert!(asyncio::wait_for(shielded, 1.0).await.is_err());
    assert_eq!(d.get(), 0, "the inner future was not dropped");
    assert_eq!(inner.await.unwrap(), 5);
    assert_eq!(now(), 2.0);
    assert_eq!(d.get(), 1);
}

#[asyncio::test(virtual_time)]
async fn shield_gives_the_inner_outcome() {
    assert_eq!(shield(async { 9 }).await.unwrap(), 9);
    let panicked = shield(async { panic!("inner") }).await;
    assert!(panicked.unwrap_err().is_panic());
}

#[asyncio::test(virtual_time)]
async fn cancelling_the_inner_task_still_cancels_it() {
    let shielded = shield(sleep(10.0));
    shielded.task().cancel();
    assert!(shielded.await.unwrap_err().is_cancelled());
    assert_eq!(others_pending(), 0);
}
