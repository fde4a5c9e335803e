//! Waiters are reused once their futures are done with them: a queue's getters and a lock's
//! waiters, cancelled and timed out among reuses, lose no item, wake-up or lock.

use asyncio::{Lock, Queue, create_task, sleep};
use std::time::Duration;

async fn settle() {
    for _ in 0..10 {
        sleep(0).await;
    }
}

/// A worker's get in a loop reuses its waiter; cancelling woken getters on the way loses no
/// item and no wake-up.
#[asyncio::test(virtual_time)]
async fn recycled_getters_with_cancellations_lose_nothing() {
    let q: Queue<u32> = Queue::new(1);
    let got = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    let mut workers = Vec::new();
    for _ in 0..3 {
        let (q, got) = (q.clone(), got.clone());
        workers.push(create_task(async move {
            while let Ok(x) = q.get().await {
                got.borrow_mut().push(x);
                q.task_done().unwrap();
            }
        }));
    }
    let mut victims = Vec::new();
    let mut all_victims = Vec::new();
    for i in 0..200u32 {
        if i % 7 == 0 {
            // A getter woken and cancelled before it looks.
            let v = create_task({
                let q = q.clone();
                async move { q.get().await }
            });
            settle().await;
            victims.push(v.clone());
            all_victims.push(v);
        }
        q.put(i).await.unwrap();
        if let Some(v) = victims.pop() {
            v.cancel();
        }
        if i % 3 == 0 {
            settle().await;
        }
    }
    settle().await;
    q.shutdown(false);
    for w in workers {
        w.await.unwrap();
    }
    let mut got = got.borrow().clone();
    for v in all_victims {
        if let Ok(Ok(x)) = v.await {
            got.push(x);
        }
    }
    got.sort();
    assert_eq!(got, (0..200).collect::<Vec<_>>());
}

/// Lock waiters recycled across many rounds, with timeouts cancelling some.
#[asyncio::test(virtual_time)]
async fn lock_with_recycled_waiters_and_timeouts() {
    let lock = Lock::new();
    let count = std::rc::Rc::new(std::cell::Cell::new(0));
    let mut tasks = Vec::new();
    for i in 0..20u64 {
        let (lock, count) = (lock.clone(), count.clone());
        tasks.push(create_task(async move {
            for _ in 0..20 {
                let acquired =
                    asyncio::wait_for(lock.acquire(), Duration::from_millis(5 + i)).await;
                // A timed-out acquire leaves the lock to the others.
                if let Ok(guard) = acquired {
                    count.set(count.get() + 1);
                    sleep(0.001).await;
                    drop(guard);
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert!(!lock.locked());
    assert!(count.get() > 0);
    let _g = lock.acquire().await;
}
