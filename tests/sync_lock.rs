//! Lock: fairness, the explicit style, and cancellation at every point of a wait.

use asyncio::{Lock, create_task, get_running_loop, sleep};
use std::cell::RefCell;
use std::rc::Rc;

async fn settle() {
    for _ in 0..10 {
        sleep(0).await;
    }
}

type Log = Rc<RefCell<Vec<String>>>;

async fn lock_competitor(n: u64, lock: Lock, log: Log) {
    let say = |s: String| {
        log.borrow_mut()
            .push(format!("{} {s}", get_running_loop().time()))
    };
    say(format!("competitor{n} try to get lock"));
    let _held = lock.acquire().await;
    say(format!("competitor{n} get the lock"));
    sleep(n).await;
    say(format!("competitor{n} give up the lock"));
}

#[asyncio::test(virtual_time)]
async fn seed_competitors_get_the_lock_in_fifo_order_at_exact_times() {
    let lock = Lock::new();
    let log: Log = Rc::default();
    let tasks: Vec<_> = (1..5)
        .map(|n| create_task(lock_competitor(n, lock.clone(), log.clone())))
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let expected = [
        "0 competitor1 try to get lock",
        "0 competitor1 get the lock",
        "0 competitor2 try to get lock",
        "0 competitor3 try to get lock",
        "0 competitor4 try to get lock",
        "1 competitor1 give up the lock",
        "1 competitor2 get the lock",
        "3 competitor2 give up the lock",
        "3 competitor3 get the lock",
        "6 competitor3 give up the lock",
        "6 competitor4 get the lock",
        "10 competitor4 give up the lock",
    ];
    assert_eq!(*log.borrow(), expected);
    assert!(!lock.locked());
}

#[asyncio::test]
async fn guard_releases_on_drop_and_locked_reports_it() {
    let lock = Lock::new();
    assert!(!lock.locked());
    let guard = lock.acquire().await;
    assert!(lock.locked());
    drop(guard);
    assert!(!lock.locked());
}

#[asyncio::test]
async fn explicit_acquire_then_release() {
    let lock = Lock::new();
    lock.acquire().await.forget();
    assert!(lock.locked());
    lock.release().unwrap();
    assert!(!lock.locked());
}

#[asyncio::test]
async fn releasing_an_unlocked_lock_is_a_runtime_error() {
    let lock = Lock::new();
    let err = lock.release().unwrap_err();
    assert_eq!(
        err,
        asyncio::RuntimeError {
            msg: "Lock is not acquired."
        }
    );
}

#[asyncio::test]
async fn not_reentrant_a_second_acquire_by_the_holder_waits() {
    let lock = Lock::new();
    let _held = lock.acquire().await;
    assert!(lock.try_acquire().is_none());
    let again = create_task(lock.acquire());
    settle().await;
    assert!(!again.done());
    again.cancel();
}

#[asyncio::test]
async fn any_task_may_release_as_in_asyncio() {
    let lock = Lock::new();
    lock.acquire().await.forget();
    let other = lock.clone();
    create_task(async move { other.release().unwrap() })
        .await
        .unwrap();
    assert!(!lock.locked());
}

#[asyncio::test]
async fn newcomer_cannot_barge_past_a_woken_waiter() {
    let lock = Lock::new();
    let held = lock.acquire().await;
    let waiter = create_task(lock.acquire());
    settle().await;
    drop(held); // handed to `waiter`, which has not run yet
    assert!(lock.locked());
    assert!(lock.try_acquire().is_none());
    let guard = waiter.await.unwrap();
    drop(guard);
    assert!(!lock.locked());
}

#[asyncio::test]
async fn cancelled_queued_waiter_leaves_the_queue() {
    let lock = Lock::new();
    let held = lock.acquire().await;
    let first = create_task(lock.acquire());
    let second = create_task(lock.acquire());
    settle().await;
    first.cancel();
    settle().await;
    drop(held);
    let guard = second.await.unwrap();
    assert!(lock.locked());
    drop(guard);
    assert!(!lock.locked());
}

#[asyncio::test]
async fn waiter_cancelled_just_after_it_was_handed_the_lock_passes_it_on() {
    let lock = Lock::new();
    let held = lock.acquire().await;
    let first = create_task(lock.acquire());
    let second = create_task(lock.acquire());
    settle().await;
    drop(held); // the lock goes to `first`...
    first.cancel(); // ...which is cancelled before it runs
    let guard = second.await.unwrap();
    assert!(first.cancelled());
    drop(guard);
    assert!(!lock.locked());
}

#[asyncio::test]
async fn last_waiter_cancelled_after_handoff_frees_the_lock() {
    let lock = Lock::new();
    let held = lock.acquire().await;
    let only = create_task(lock.acquire());
    settle().await;
    drop(held);
    only.cancel();
    settle().await;
    assert!(!lock.locked());
    assert!(lock.try_acquire().is_some());
}
