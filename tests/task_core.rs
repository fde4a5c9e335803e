//! The task core: spawning, awaiting, cancelling, panics, callbacks, names. These tests also
//! run under valgrind memcheck (`scripts/valgrind.sh`) and Miri (`scripts/miri.sh`).

mod support;

use asyncio::{Runner, TaskError, all_tasks, create_task, current_task, get_running_loop, sleep};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use support::{DropFlag, Transcript};

#[asyncio::test]
async fn a_task_returns_its_output() {
    let task = create_task(async { String::from("done") });
    assert_eq!(task.await.unwrap(), "done");
}

#[asyncio::test]
async fn tasks_start_in_creation_order_after_the_creator_yields() {
    let order = Rc::new(RefCell::new(Vec::new()));
    let tasks: Vec<_> = (0..5)
        .map(|i| {
            let order = order.clone();
            create_task(async move { order.borrow_mut().push(i) })
        })
        .collect();
    assert!(
        order.borrow().is_empty(),
        "a new task waits for the loop's next turn"
    );
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(*order.borrow(), vec![0, 1, 2, 3, 4]);
}

#[asyncio::test]
async fn sleep_zero_yields_exactly_one_turn() {
    let log = Transcript::new();
    let l = log.clone();
    let other = create_task(async move {
        for i in 0..3 {
            l.print(format!("other {i}"));
            sleep(0).await;
        }
    });
    for i in 0..3 {
        sleep(0).await;
        log.print(format!("main {i}"));
    }
    other.await.unwrap();
    assert_eq!(
        log.lines(),
        [
            "other 0", "main 0", "other 1", "main 1", "other 2", "main 2"
        ]
    );
}

#[asyncio::test]
async fn dropping_the_handle_does_not_cancel() {
    let finished = Rc::new(Cell::new(false));
    let f = finished.clone();
    drop(create_task(async move {
        sleep(0).await;
        f.set(true);
    }));
    sleep(0).await;
    sleep(0).await;
    assert!(finished.get());
}

#[asyncio::test(virtual_time)]
async fn cancel_drops_the_future_at_the_next_turn() {
    let drops = Rc::new(RefCell::new(0));
    let flag = DropFlag(drops.clone());
    let task = create_task(async move {
        let _flag = flag;
        sleep(10.0).await;
        unreachable!("cancelled before the sleep ends");
    });
    sleep(0).await;
    assert!(task.cancel());
    assert_eq!(*drops.borrow(), 0, "cancel only asks");
    assert!(!task.done());
    sleep(0).await;
    assert_eq!(*drops.borrow(), 1);
    assert!(task.done() && task.cancelled());
    assert!(!task.cancel(), "a done task cannot be cancelled");
    assert!(matches!(task.await, Err(TaskError::Cancelled(_))));
    assert_eq!(
        get_running_loop().time(),
        0.0,
        "the cancelled sleep did not hold the clock"
    );
}

#[asyncio::test(virtual_time)]
async fn cancellation_at_each_await_point() {
    for point in 0..4 {
        let reached = Rc::new(Cell::new(0));
        let r = reached.clone();
        let task = create_task(async move {
            for step in 1..=4 {
                sleep(1.0).await;
                r.set(step);
            }
        });
        sleep(f64::from(point) + 0.5).await;
        task.cancel_with(format!("at {point}"));
        let err = task.clone().await.unwrap_err();
        assert_eq!(err.to_string(), format!("cancelled: at {point}"));
        assert_eq!(reached.get(), point, "no step after the cancel ran");
        sleep(10.0).await;
        assert_eq!(reached.get(), point);
    }
}

#[asyncio::test]
async fn a_task_can_cancel_itself() {
    let task = create_task(async {
        current_task().unwrap().cancel();
        sleep(0).await;
        unreachable!("dropped at the next turn");
    });
    assert!(task.await.unwrap_err().is_cancelled());
}

#[asyncio::test]
async fn cancelling_before_the_first_poll_never_polls() {
    let polled = Rc::new(Cell::new(false));
    let p = polled.clone();
    let task = create_task(async move { p.set(true) });
    task.cancel();
    assert!(task.await.unwrap_err().is_cancelled());
    assert!(!polled.get());
}

#[asyncio::test]
async fn a_panic_ends_only_its_task() {
    let survivor = create_task(async {
        sleep(0).await;
        sleep(0).await;
        "alive"
    });
    let bad = create_task(async {
        sleep(0).await;
        panic!("boom");
    });
    match bad.await {
        Err(TaskError::Panicked(p)) => assert_eq!(p.message(), Some("boom")),
        other => panic!("expected a panic, got {other:?}"),
    }
    assert_eq!(survivor.await.unwrap(), "alive");
}

#[asyncio::test]
async fn result_is_invalid_while_pending_and_taken_once() {
    let task = create_task(async { 5 });
    let other = task.clone();
    assert!(matches!(task.result(), Err(TaskError::InvalidState(_))));
    sleep(0).await;
    assert_eq!(task.result().unwrap(), 5);
    assert!(
        matches!(other.await, Err(TaskError::InvalidState(_))),
        "already taken"
    );
    assert!(task.done() && !task.cancelled());
}

#[asyncio::test]
async fn every_clone_awaits_the_same_task() {
    let task = create_task(async {
        sleep(0).await;
        1
    });
    let a = create_task({
        let t = task.clone();
        async move { t.await.is_ok() }
    });
    let b = create_task({
        let t = task.clone();
        async move { t.await.is_ok() }
    });
    // One awaiter takes the value; the other learns it was taken. Both wake.
    let (a, b) = (a.await.unwrap(), b.await.unwrap());
    assert!(a ^ b);
}

#[asyncio::test]
async fn done_callbacks_run_soon_after_completion_in_order() {
    let log = Rc::new(RefCell::new(Vec::new()));
    let task = create_task(async { 3 });
    for i in 0..3 {
        let log = log.clone();
        task.add_done_callback(move |t| log.borrow_mut().push((i, t.done())));
    }
    let removed = task.add_done_callback(|_| unreachable!("removed"));
    assert!(task.remove_done_callback(removed));
    sleep(0).await; // the task runs
    assert!(task.done());
    sleep(0).await; // its callbacks run
    assert_eq!(*log.borrow(), vec![(0, true), (1, true), (2, true)]);
    let late = log.clone();
    task.add_done_callback(move |_| late.borrow_mut().push((9, true)));
    sleep(0).await;
    assert_eq!(
        log.borrow().last(),
        Some(&(9, true)),
        "a callback added after completion runs"
    );
}

#[asyncio::test]
async fn names_ids_and_introspection() {
    let me = current_task().unwrap();
    assert!(me.name().starts_with("Task-"));
    let task = create_task(sleep(1.0)).with_name("worker-1");
    assert_eq!(task.name(), "worker-1");
    task.set_name("renamed");
    assert_eq!(task.as_ref().name(), "renamed");
    assert_ne!(task.id(), me.id());
    let all = all_tasks();
    assert!(all.contains(&me) && all.contains(&task.as_ref()));
    assert_eq!(task.location().file(), file!());
    task.cancel();
    sleep(0).await;
    assert!(
        !all_tasks().contains(&task.as_ref()),
        "done tasks leave all_tasks"
    );
    assert!(format!("{task:?}").contains("cancelled"));
}

#[test]
fn current_task_is_none_outside_a_task() {
    assert!(current_task().is_none());
    assert!(all_tasks().is_empty());
    Runner::new().run(async {
        let lp = get_running_loop();
        lp.call_soon(|| assert!(current_task().is_none(), "callbacks run outside any task"));
        sleep(0).await;
    });
}

#[asyncio::test]
async fn a_hundred_thousand_tasks_spawned_and_joined() {
    // A thousand under Miri, where a hundred thousand take many minutes.
    let n: u64 = if cfg!(miri) { 1_000 } else { 100_000 };
    let counter = Rc::new(Cell::new(0u64));
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let c = counter.clone();
            create_task(async move {
                c.set(c.get() + 1);
                i
            })
        })
        .collect();
    let mut sum = 0;
    for t in tasks {
        sum += t.await.unwrap();
    }
    assert_eq!(counter.get(), n);
    assert_eq!(sum, (0..n).sum::<u64>());
    assert_eq!(all_tasks().len(), 1, "only the main task is left");
}

#[test]
fn wakers_work_from_other_threads() {
    let got = Runner::new().run(async {
        let waiter = create_task(async {
            let (tx, rx) = std::sync::mpsc::channel::<std::task::Waker>();
            let woken = Rc::new(Cell::new(false));
            let thread = std::thread::spawn(move || rx.recv().unwrap().wake());
            let mut sent = Some(tx);
            std::future::poll_fn(|cx| {
                if let Some(tx) = sent.take() {
                    tx.send(cx.waker().clone()).unwrap();
                    return std::task::Poll::Pending;
                }
                woken.set(true);
                std::task::Poll::Ready(())
            })
            .await;
            thread.join().unwrap();
            woken.get()
        });
        waiter.await.unwrap()
    });
    assert!(got);
}

/// Takes a clone of the task's own waker and finishes.
async fn own_waker() -> std::task::Waker {
    std::future::poll_fn(|cx| std::task::Poll::Ready(cx.waker().clone())).await
}

#[test]
fn a_waker_outliving_its_task_and_loop_is_freed_on_another_thread() {
    // The task's future (holding a `!Send` `Rc`) is dropped on the loop's thread when it
    // finishes; the waker keeps only the allocation alive, and the last drop, on another
    // thread after the loop closed, frees it (valgrind checks there is no leak and no read
    // of freed memory).
    let dropped = Rc::new(RefCell::new(0));
    let flag = DropFlag(dropped.clone());
    let waker = Runner::new().run(async move {
        let task = create_task(async move {
            let _flag = flag;
            own_waker().await
        });
        let waker = task.await.unwrap();
        waker.wake_by_ref(); // a finished task ignores wakes
        sleep(0).await;
        waker
    });
    assert_eq!(
        *dropped.borrow(),
        1,
        "the future was dropped on the loop's thread"
    );
    let clones: Vec<_> = (0..4).map(|_| waker.clone()).collect();
    std::thread::spawn(move || {
        for w in clones {
            w.wake();
        }
        drop(waker);
    })
    .join()
    .unwrap();
}

#[test]
fn a_pending_task_woken_from_another_thread_after_its_loop_closed_is_dropped_cleanly() {
    let (tx, rx) = std::sync::mpsc::channel::<std::task::Waker>();
    let dropped = Rc::new(RefCell::new(0));
    let flag = DropFlag(dropped.clone());
    Runner::new().run(async move {
        drop(create_task(async move {
            let _flag = flag;
            tx.send(own_waker().await).unwrap();
            std::future::pending::<()>().await
        }));
        sleep(0).await;
        // The main task ends with the other still pending: the loop cancels it on close.
    });
    assert_eq!(
        *dropped.borrow(),
        1,
        "closing the loop dropped the pending future"
    );
    let waker = rx.recv().unwrap();
    std::thread::spawn(move || waker.wake()).join().unwrap();
}

#[asyncio::test]
async fn a_panicking_drop_of_an_unclaimed_output_still_frees_the_task() {
    struct PanicOnDrop;
    impl Drop for PanicOnDrop {
        fn drop(&mut self) {
            panic!("PanicOnDrop");
        }
    }
    let task = create_task(async { PanicOnDrop });
    sleep(0).await;
    assert!(task.done());
    // Dropping the last handle drops the output, whose `Drop` panics: the panic reaches the
    // dropper, and the task is freed all the same (valgrind reports a leak otherwise).
    let dropped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(task)));
    assert!(dropped.is_err());
}
