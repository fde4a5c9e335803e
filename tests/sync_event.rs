//! Event: set wakes every waiter, clear, and waiters dropped while waiting.

use asyncio::{Event, create_task, get_running_loop, sleep};

async fn settle() {
    for _ in 0..10 {
        sleep(0).await;
    }
}

#[asyncio::test(virtual_time)]
async fn seed_waiter_wakes_when_set_after_one_second() {
    let event = Event::new();
    let waiter = {
        let event = event.clone();
        create_task(async move {
            event.wait().await;
            get_running_loop().time()
        })
    };
    sleep(1).await;
    assert!(!waiter.done());
    event.set();
    assert_eq!(waiter.await.unwrap(), 1.0);
}

#[asyncio::test]
async fn set_wakes_every_waiter() {
    let event = Event::new();
    let waiters: Vec<_> = (0..5).map(|_| create_task(event.wait())).collect();
    settle().await;
    assert!(waiters.iter().all(|w| !w.done()));
    event.set();
    settle().await;
    assert!(waiters.iter().all(|w| w.done()));
}

#[asyncio::test]
async fn wait_on_a_set_event_returns_at_once_until_cleared() {
    let event = Event::new();
    event.set();
    assert!(event.is_set());
    event.wait().await;
    event.clear();
    assert!(!event.is_set());
    let waiter = create_task(event.wait());
    settle().await;
    assert!(!waiter.done());
    event.set();
    waiter.await.unwrap();
}

#[asyncio::test]
async fn waiters_woken_by_set_return_even_if_cleared_before_they_run() {
    let event = Event::new();
    let waiter = create_task(event.wait());
    settle().await;
    event.set();
    event.clear();
    settle().await;
    assert!(waiter.done());
}

#[asyncio::test]
async fn cancelled_waiter_does_not_keep_others_from_waking() {
    let event = Event::new();
    let a = create_task(event.wait());
    let b = create_task(event.wait());
    settle().await;
    a.cancel();
    settle().await;
    event.set();
    b.await.unwrap();
    assert!(a.cancelled());
}

#[asyncio::test]
async fn setting_twice_is_harmless() {
    let event = Event::new();
    event.set();
    event.set();
    assert!(event.is_set());
}
