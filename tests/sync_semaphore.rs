//! Semaphore and BoundedSemaphore: limits, fairness, the explicit style, over-release and
//! cancellation.

use asyncio::{BoundedSemaphore, Semaphore, create_task, get_running_loop, sleep};
use std::cell::{Cell, RefCell};
use std::rc::Rc;

async fn settle() {
    for _ in 0..10 {
        sleep(0).await;
    }
}

#[asyncio::test(virtual_time)]
async fn at_most_value_holders_at_once_served_in_order() {
    let sem = Semaphore::new(2);
    let inside = Rc::new(Cell::new(0));
    let most = Rc::new(Cell::new(0));
    let entered = Rc::new(RefCell::new(Vec::new()));
    let tasks: Vec<_> = (0..5)
        .map(|n| {
            let (sem, inside, most, entered) =
                (sem.clone(), inside.clone(), most.clone(), entered.clone());
            create_task(async move {
                let _permit = sem.acquire().await;
                entered.borrow_mut().push((n, get_running_loop().time()));
                inside.set(inside.get() + 1);
                most.set(most.get().max(inside.get()));
                sleep(1).await;
                inside.set(inside.get() - 1);
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(most.get(), 2);
    assert_eq!(
        *entered.borrow(),
        [(0, 0.0), (1, 0.0), (2, 1.0), (3, 1.0), (4, 2.0)]
    );
    assert_eq!(get_running_loop().time(), 3.0);
}

#[asyncio::test]
async fn locked_means_acquire_would_wait() {
    let sem = Semaphore::new(1);
    assert!(!sem.locked());
    let permit = sem.acquire().await;
    assert!(sem.locked());
    drop(permit);
    assert!(!sem.locked());
    assert!(Semaphore::new(0).locked());
}

#[asyncio::test]
async fn explicit_release_and_growth_past_the_initial_value() {
    let sem = Semaphore::new(1);
    sem.acquire().await.forget();
    assert!(sem.locked());
    sem.release();
    sem.release(); // a plain semaphore grows
    let a = sem.try_acquire().unwrap();
    let b = sem.try_acquire().unwrap();
    assert!(sem.try_acquire().is_none());
    drop((a, b));
}

#[asyncio::test]
async fn bounded_semaphore_refuses_release_past_its_initial_value() {
    let sem = BoundedSemaphore::new(2);
    let err = sem.release().unwrap_err();
    assert_eq!(err.msg, "BoundedSemaphore released too many times");
    sem.acquire().await.forget();
    sem.release().unwrap();
    assert!(sem.release().is_err());
    // Guards never push it past the bound either.
    let p = sem.acquire().await;
    drop(p);
    assert!(sem.release().is_err());
}

#[asyncio::test]
async fn release_hands_the_permit_to_a_waiter_not_a_newcomer() {
    let sem = Semaphore::new(1);
    let held = sem.acquire().await;
    let waiter = create_task(sem.acquire());
    settle().await;
    drop(held);
    assert!(sem.locked(), "the permit went to the waiter");
    assert!(sem.try_acquire().is_none());
    drop(waiter.await.unwrap());
    assert!(!sem.locked());
}

#[asyncio::test]
async fn waiter_cancelled_after_it_was_granted_a_permit_passes_it_on() {
    let sem = Semaphore::new(1);
    let held = sem.acquire().await;
    let first = create_task(sem.acquire());
    let second = create_task(sem.acquire());
    settle().await;
    drop(held);
    first.cancel();
    let permit = second.await.unwrap();
    drop(permit);
    assert!(!sem.locked());
    // Exactly one permit: no leak, no duplicate.
    let p = sem.try_acquire().unwrap();
    assert!(sem.try_acquire().is_none());
    drop(p);
}

#[asyncio::test]
async fn cancelled_queued_waiter_leaves_no_trace() {
    let sem = BoundedSemaphore::new(1);
    let held = sem.acquire().await;
    let first = create_task(sem.acquire());
    settle().await;
    first.cancel();
    settle().await;
    drop(held);
    assert!(!sem.locked());
    assert!(sem.release().is_err(), "the permit was not counted twice");
}
