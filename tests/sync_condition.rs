//! Condition: notify(n), notify_all, wait_for, shared locks, and cancellation.

use asyncio::{Condition, Lock, create_task, get_running_loop, sleep};
use std::cell::{Cell, RefCell};
use std::rc::Rc;

async fn settle() {
    for _ in 0..10 {
        sleep(0).await;
    }
}

/// A task that waits once on `cond` and records its id in `woken`.
fn waiter(cond: &Condition, id: u32, woken: &Rc<RefCell<Vec<u32>>>) -> asyncio::Task<()> {
    let (cond, woken) = (cond.clone(), woken.clone());
    create_task(async move {
        let guard = cond.acquire().await;
        let _guard = cond.wait(guard).await;
        woken.borrow_mut().push(id);
    })
}

#[asyncio::test]
async fn notify_n_wakes_n_waiters_first_come_first() {
    let cond = Condition::new();
    let woken = Rc::default();
    let tasks: Vec<_> = (0..4).map(|id| waiter(&cond, id, &woken)).collect();
    settle().await;
    {
        let _guard = cond.acquire().await;
        cond.notify(2).unwrap();
        settle().await;
        // Woken, but they need the lock back, which we still hold.
        assert!(woken.borrow().is_empty());
    }
    settle().await;
    assert_eq!(*woken.borrow(), [0, 1]);
    {
        let _guard = cond.acquire().await;
        cond.notify_all().unwrap();
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(*woken.borrow(), [0, 1, 2, 3]);
}

#[asyncio::test]
async fn notify_without_the_lock_is_a_runtime_error() {
    let cond = Condition::new();
    assert_eq!(
        cond.notify(1).unwrap_err().msg,
        "cannot notify on un-acquired lock"
    );
    assert!(cond.notify_all().is_err());
}

#[asyncio::test]
async fn wait_releases_the_lock_and_takes_it_back() {
    let cond = Condition::new();
    let inside = Rc::new(Cell::new(false));
    let task = {
        let (cond, inside) = (cond.clone(), inside.clone());
        create_task(async move {
            let guard = cond.acquire().await;
            let guard = cond.wait(guard).await;
            inside.set(true);
            assert!(cond.locked());
            drop(guard);
        })
    };
    settle().await;
    assert!(!cond.locked(), "the waiter released the lock while waiting");
    let guard = cond.acquire().await;
    cond.notify(1).unwrap();
    drop(guard);
    task.await.unwrap();
    assert!(inside.get());
    assert!(!cond.locked());
}

#[asyncio::test(virtual_time)]
async fn wait_for_returns_once_the_predicate_holds() {
    let cond = Condition::new();
    let count = Rc::new(Cell::new(0));
    let consumer = {
        let (cond, count) = (cond.clone(), count.clone());
        create_task(async move {
            let guard = cond.acquire().await;
            let _guard = cond.wait_for(guard, || count.get() >= 3).await;
            get_running_loop().time()
        })
    };
    for _ in 0..5 {
        sleep(1).await;
        let _guard = cond.acquire().await;
        count.set(count.get() + 1);
        cond.notify_all().unwrap();
    }
    assert_eq!(consumer.await.unwrap(), 3.0);
}

#[asyncio::test]
async fn wait_for_with_a_true_predicate_does_not_wait() {
    let cond = Condition::new();
    let guard = cond.acquire().await;
    let guard = cond.wait_for(guard, || true).await;
    assert!(cond.locked());
    drop(guard);
}

#[asyncio::test]
async fn two_conditions_share_one_lock() {
    let lock = Lock::new();
    let a = Condition::with_lock(lock.clone());
    let b = Condition::with_lock(lock.clone());
    let woken = Rc::new(RefCell::new(Vec::new()));
    let on_a = waiter(&a, 1, &woken);
    let on_b = waiter(&b, 2, &woken);
    settle().await;
    let guard = lock.acquire().await;
    assert!(a.locked() && b.locked());
    b.notify_all().unwrap(); // only b's waiter
    drop(guard);
    settle().await;
    assert_eq!(*woken.borrow(), [2]);
    let guard = a.acquire().await; // the same lock, through the other condition
    assert!(lock.locked());
    a.notify(1).unwrap();
    drop(guard);
    on_a.await.unwrap();
    on_b.await.unwrap();
    assert_eq!(*woken.borrow(), [2, 1]);
}

#[asyncio::test]
#[should_panic(expected = "another lock")]
async fn wait_with_a_guard_of_another_lock_panics() {
    let cond = Condition::new();
    let other = Lock::new();
    let guard = other.acquire().await;
    drop(cond.wait(guard));
}

#[asyncio::test]
async fn notified_waiter_cancelled_before_it_runs_passes_the_notification_on() {
    let cond = Condition::new();
    let woken = Rc::default();
    let first = waiter(&cond, 1, &woken);
    let second = waiter(&cond, 2, &woken);
    settle().await;
    let guard = cond.acquire().await;
    cond.notify(1).unwrap(); // reaches `first`...
    first.cancel(); // ...which is cancelled before it could act on it
    drop(guard);
    second.await.unwrap();
    assert!(first.cancelled());
    assert_eq!(*woken.borrow(), [2]);
    assert!(!cond.locked());
}

#[asyncio::test]
async fn waiter_cancelled_while_taking_the_lock_back_passes_it_on() {
    let cond = Condition::new();
    let woken = Rc::default();
    let first = waiter(&cond, 1, &woken);
    let second = waiter(&cond, 2, &woken);
    settle().await;
    let guard = cond.acquire().await;
    cond.notify(1).unwrap();
    settle().await; // `first` now waits for the lock we hold
    first.cancel();
    settle().await;
    drop(guard);
    second.await.unwrap();
    assert_eq!(*woken.borrow(), [2]);
    assert!(!cond.locked());
}

#[asyncio::test]
async fn queued_waiter_cancelled_is_simply_forgotten() {
    let cond = Condition::new();
    let woken = Rc::default();
    let first = waiter(&cond, 1, &woken);
    let second = waiter(&cond, 2, &woken);
    let third = waiter(&cond, 3, &woken);
    settle().await;
    first.cancel();
    settle().await;
    let guard = cond.acquire().await;
    cond.notify(1).unwrap();
    drop(guard);
    second.await.unwrap();
    settle().await;
    assert_eq!(*woken.borrow(), [2]);
    assert!(!third.done());
    third.cancel();
}

#[asyncio::test]
async fn explicit_style_release() {
    let cond = Condition::new();
    cond.acquire().await.forget();
    assert!(cond.locked());
    cond.release().unwrap();
    assert!(cond.release().is_err());
}
