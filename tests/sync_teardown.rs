//! A loop that closes with tasks still waiting on primitives drops them cleanly: the hand-offs
//! their drops make wake tasks of a closing loop, which must be harmless.

use asyncio::{create_task, sleep, Barrier, Condition, Event, Lock, Queue, Semaphore};

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
        for _ in 0..3 {
            let _ = create_task(l2.acquire());
            let _ = create_task(sem.acquire());
            let _ = create_task(queue.put(1));
            let _ = create_task(event.wait());
            let _ = create_task(barrier.wait());
            let cond = cond.clone();
            let _ = create_task(async move {
                let g = cond.acquire().await;
                let _g = cond.wait(g).await;
            });
        }
        sleep(0).await;
        sleep(0).await;
        // Hand the lock and the permit over, then leave before anyone runs.
        drop(held);
        drop(permit);
        assert_eq!(queue.get_nowait(), Ok(0));
    });
    // Every waiter was dropped with the loop and passed what it held on: nothing is held now.
    assert!(!lock.locked());
    assert!(lock.try_acquire().is_some());
}
