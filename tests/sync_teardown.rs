//! A loop that closes with tasks still waiting on primitives drops them cleanly: the hand-offs
//! their drops make wake tasks of a closing loop, which must be harmless.

use asyncio::{Barrier, Condition, Event, Lock, Queue, Semaphore, create_task, sleep};

#[test]
fn closing_a_loop_with_waiters_everywhere() {
    let lock = Lock::new();
    let sem = Semaphore::new(1);
    let queue: Queue<u32> = Queue::new(1);
    let l2 = lock.clone();
    asyncio::run(async move {
        let held = l2.acquire().await;
        let permit = sem.acquire().await;
        queue.put_nowait(0).unwrap();
        let event = Event::new();
        let cond = Condition::new();
        let barrier = Barrier::new(5);
        let mut waiters = Vec::new();
        for _ in 0..3 {
            waiters.push(create_task(l2.acquire()).as_ref());
            waiters.push(create_task(sem.acquire()).as_ref());
            waiters.push(create_task(queue.put(1)).as_ref());
            waiters.push(create_task(event.wait()).as_ref());
            waiters.push(create_task(barrier.wait()).as_ref());
            let cond = cond.clone();
            waiters.push(
                create_task(async move {
                    let g = cond.acquire().await;
                    let _g = cond.wait(g).await;
                })
                .as_ref(),
            );
        }
        sleep(0).await;
        sleep(0).await;
        // Hand the lock and the permit over, then leave before anyone runs.
        drop(held);
        drop(permit);
        assert_eq!(queue.get_nowait(), Ok(0));
        assert!(waiters.iter().all(|t| !t.done()));
    });
    // Every waiter was dropped with the loop and passed what it held on: nothing is held now.
    assert!(!lock.locked());
    assert!(lock.try_acquire().is_some());
}
