//! Cancelled getters and putters lose no item and swallow no wake-up.

use asyncio::{Queue, create_task, sleep};

async fn settle() {
    for _ in 0..10 {
        sleep(0).await;
    }
}

#[asyncio::test]
async fn getter_cancelled_after_it_was_woken_passes_the_wake_up_on() {
    let q = Queue::new(0);
    let first = create_task(q.get());
    let second = create_task(q.get());
    settle().await;
    q.put_nowait("item").unwrap(); // wakes `first`...
    first.cancel(); // ...which is cancelled before it takes the item
    assert_eq!(second.await.unwrap(), Ok("item"));
    assert!(first.cancelled());
    assert!(q.empty());
}

#[asyncio::test]
async fn cancelled_getter_never_takes_an_item() {
    let q = Queue::new(0);
    let getter = create_task(q.get());
    settle().await;
    getter.cancel();
    settle().await;
    q.put_nowait(1).unwrap();
    settle().await;
    assert_eq!(q.qsize(), 1);
    assert_eq!(q.get_nowait(), Ok(1));
}

#[asyncio::test]
async fn putter_cancelled_after_it_was_woken_passes_the_room_on() {
    let q = Queue::new(1);
    q.put_nowait(0).unwrap();
    let first = create_task(q.put(1));
    let second = create_task(q.put(2));
    settle().await;
    assert_eq!(q.get_nowait(), Ok(0)); // room: wakes `first`...
    first.cancel(); // ...which is cancelled before it puts
    second.await.unwrap().unwrap();
    assert_eq!(q.get_nowait(), Ok(2));
    assert!(q.empty());
}

#[asyncio::test]
async fn woken_getter_that_finds_the_queue_emptied_waits_again() {
    let q = Queue::new(0);
    let getter = create_task(q.get());
    settle().await;
    q.put_nowait(1).unwrap();
    assert_eq!(q.get_nowait(), Ok(1)); // taken before the woken getter ran
    settle().await;
    assert!(!getter.done());
    q.put_nowait(2).unwrap();
    assert_eq!(getter.await.unwrap(), Ok(2));
}
