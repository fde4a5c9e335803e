//! Barrier: arrival indexes, rounds, reset, abort, n_waiting and cancellation.

use asyncio::{Barrier, BrokenBarrierError, create_task, get_running_loop, sleep};

async fn settle() {
    for _ in 0..10 {
        sleep(0).await;
    }
}

#[asyncio::test(virtual_time)]
async fn all_pass_together_when_the_last_arrives() {
    let barrier = Barrier::new(3);
    let tasks: Vec<_> = (1..=3)
        .map(|n| {
            let barrier = barrier.clone();
            create_task(async move {
                sleep(n).await;
                let index = barrier.wait().await.unwrap();
                (index, get_running_loop().time())
            })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    assert_eq!(out, [(0, 3.0), (1, 3.0), (2, 3.0)]);
    assert_eq!(barrier.n_waiting(), 0);
    assert!(!barrier.broken());
}

#[asyncio::test]
async fn n_waiting_counts_tasks_at_the_barrier() {
    let barrier = Barrier::new(3);
    assert_eq!(barrier.parties(), 3);
    let a = create_task(barrier.wait());
    let b = create_task(barrier.wait());
    settle().await;
    assert_eq!(barrier.n_waiting(), 2);
    assert_eq!(barrier.wait().await, Ok(2));
    assert_eq!(a.await.unwrap(), Ok(0));
    assert_eq!(b.await.unwrap(), Ok(1));
    assert_eq!(barrier.n_waiting(), 0);
}

#[asyncio::test]
async fn the_barrier_is_reusable_round_after_round() {
    let barrier = Barrier::new(2);
    for _ in 0..3 {
        let other = create_task(barrier.wait());
        let mine = barrier.wait().await.unwrap();
        let theirs = other.await.unwrap().unwrap();
        assert_eq!(mine + theirs, 1);
    }
}

#[asyncio::test]
async fn arrivals_while_draining_wait_for_the_next_round() {
    let barrier = Barrier::new(2);
    let a = create_task(barrier.wait());
    let b = create_task(barrier.wait());
    // b releases the round; before a has left, c and d arrive.
    let c = create_task(barrier.wait());
    let d = create_task(barrier.wait());
    settle().await;
    assert_eq!(a.await.unwrap(), Ok(0));
    assert_eq!(b.await.unwrap(), Ok(1));
    let (c, d) = (c.await.unwrap().unwrap(), d.await.unwrap().unwrap());
    assert_eq!((c, d), (0, 1));
}

#[asyncio::test]
async fn abort_breaks_waiters_and_later_callers_until_reset() {
    let barrier = Barrier::new(3);
    let a = create_task(barrier.wait());
    settle().await;
    barrier.abort();
    assert!(barrier.broken());
    assert_eq!(a.await.unwrap(), Err(BrokenBarrierError));
    assert_eq!(barrier.wait().await, Err(BrokenBarrierError));
    barrier.reset();
    assert!(!barrier.broken());
    let b = create_task(barrier.wait());
    let c = create_task(barrier.wait());
    settle().await;
    assert_eq!(barrier.wait().await, Ok(2));
    assert!(b.await.unwrap().is_ok() && c.await.unwrap().is_ok());
}

#[asyncio::test]
async fn reset_with_waiters_breaks_them_and_refills() {
    let barrier = Barrier::new(3);
    let a = create_task(barrier.wait());
    let b = create_task(barrier.wait());
    settle().await;
    barrier.reset();
    assert_eq!(a.await.unwrap(), Err(BrokenBarrierError));
    assert_eq!(b.await.unwrap(), Err(BrokenBarrierError));
    assert!(!barrier.broken());
    assert_eq!(barrier.n_waiting(), 0);
    let c = create_task(barrier.wait());
    let d = create_task(barrier.wait());
    settle().await;
    assert_eq!(barrier.wait().await, Ok(2));
    assert_eq!(c.await.unwrap(), Ok(0));
    assert_eq!(d.await.unwrap(), Ok(1));
}

#[asyncio::test]
async fn a_cancelled_waiter_leaves_the_barrier() {
    let barrier = Barrier::new(2);
    let a = create_task(barrier.wait());
    settle().await;
    assert_eq!(barrier.n_waiting(), 1);
    a.cancel();
    settle().await;
    assert_eq!(barrier.n_waiting(), 0);
    let b = create_task(barrier.wait());
    settle().await;
    assert_eq!(barrier.wait().await, Ok(1));
    assert_eq!(b.await.unwrap(), Ok(0));
}

#[test]
#[should_panic(expected = "parties must be >= 1")]
fn zero_parties_is_refused() {
    let _ = Barrier::new(0);
}
