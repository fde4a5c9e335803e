//! A cancel that reaches a `TaskGroup` or a `gather` waits for the children they cancel, as
//! asyncio's `TaskGroup.__aexit__` and gathering future do, whether or not the task has a
//! catching scope of its own; the times are the virtual clock's.

use asyncio::{
    TaskGroup, catch_cancel, create_task, gather, gather_tasks, get_running_loop, on_cancel, sleep,
    timeout,
};
use std::cell::RefCell;
use std::rc::Rc;

type Log = Rc<RefCell<Vec<String>>>;

fn log() -> Log {
    Rc::new(RefCell::new(Vec::new()))
}

fn now() -> f64 {
    get_running_loop().time()
}

/// A child that sleeps for an hour and, cancelled, says goodbye after `delay` seconds.
fn child(
    log: &Log,
    name: &'static str,
    delay: f64,
) -> impl std::future::Future<Output = ()> + use<> {
    let log = log.clone();
    on_cancel(sleep(3600.0), async move {
        sleep(delay).await;
        log.borrow_mut()
            .push(format!("{name} goodbye at {}", now()));
    })
}

#[asyncio::test(virtual_time)]
async fn an_outer_cleanup_runs_after_the_groups_children_have_ended() {
    let log = log();
    let (l, l2) = (log.clone(), log.clone());
    let worker = create_task(on_cancel(
        TaskGroup::run(move |tg| async move {
            let _child = tg.create_task(async move {
                child(&l, "child", 2.0).await;
                Ok::<(), String>(())
            });
            sleep(3600.0).await;
            Ok(())
        }),
        async move { l2.borrow_mut().push(format!("outer cleanup at {}", now())) },
    ));
    sleep(1.0).await;
    worker.cancel();
    assert!(worker.await.unwrap_err().is_cancelled());
    assert_eq!(*log.borrow(), ["child goodbye at 3", "outer cleanup at 3"]);
}

#[asyncio::test(virtual_time)]
async fn a_task_without_a_scope_ends_cancelled_once_its_groups_children_have_ended() {
    let log = log();
    let l = log.clone();
    let worker = create_task(TaskGroup::run(move |tg| async move {
        let _child = tg.create_task(async move {
            child(&l, "child", 2.0).await;
            Ok::<(), String>(())
        });
        Ok(())
    }));
    sleep(1.0).await;
    worker.cancel();
    assert!(worker.await.unwrap_err().is_cancelled());
    assert_eq!(now(), 3.0);
    assert_eq!(*log.borrow(), ["child goodbye at 3"]);
}

#[asyncio::test(virtual_time)]
async fn catch_cancel_around_a_gather_waits_for_every_childs_cleanup() {
    let log = log();
    let (a, b) = (child(&log, "a", 0.5), child(&log, "b", 2.0));
    let l = log.clone();
    let worker = create_task(async move {
        let caught = catch_cancel(gather(vec![
            Box::pin(a) as std::pin::Pin<Box<dyn std::future::Future<Output = ()>>>,
            Box::pin(b),
        ]))
        .await;
        l.borrow_mut()
            .push(format!("caught at {}: {}", now(), caught.is_err()));
        sleep(1.0).await; // the task carries on, uncancelled
        now()
    });
    sleep(1.0).await;
    worker.cancel();
    assert_eq!(worker.await.unwrap(), 4.0);
    assert_eq!(
        *log.borrow(),
        ["a goodbye at 1.5", "b goodbye at 3", "caught at 3: true"]
    );
}

#[asyncio::test(virtual_time)]
async fn a_gather_of_tasks_cancelled_from_outside_waits_for_them_then_raises() {
    let log = log();
    let tasks = vec![
        create_task(child(&log, "a", 1.0)),
        create_task(child(&log, "b", 2.0)),
    ];
    let watched = tasks.clone();
    let worker = create_task(gather_tasks(tasks));
    sleep(1.0).await;
    worker.cancel();
    assert!(worker.await.unwrap_err().is_cancelled());
    assert_eq!(now(), 3.0);
    assert!(watched.iter().all(|t| t.cancelled()));
    assert_eq!(*log.borrow(), ["a goodbye at 2", "b goodbye at 3"]);
}

/// asyncio's rule: a gathering future asked to cancel raises `CancelledError` once its
/// children end, even if they caught their cancellation and returned a value.
#[asyncio::test(virtual_time)]
async fn a_cancelled_gather_raises_even_if_its_children_carry_on() {
    let stubborn = || async {
        let _ = catch_cancel(sleep(3600.0)).await;
        sleep(0.5).await;
        "carried on"
    };
    let worker =
        create_task(async move { catch_cancel(gather(vec![stubborn(), stubborn()])).await });
    sleep(1.0).await;
    worker.cancel();
    assert!(worker.await.unwrap().is_err());
    assert_eq!(now(), 1.5);
}

/// `async with timeout(1): await gather(...)`: the deadline cancels the gather, which waits
/// for its children's cleanups; then `TimeoutError`.
#[asyncio::test(virtual_time)]
async fn a_timeout_around_a_gather_waits_for_the_cleanups_then_times_out() {
    let log = log();
    let a = child(&log, "a", 0.5);
    let r = timeout(1.0, gather(vec![a])).await;
    assert!(r.is_err());
    assert_eq!(now(), 1.5);
    assert_eq!(*log.borrow(), ["a goodbye at 1.5"]);
    sleep(1.0).await; // not left cancelled
    assert_eq!(now(), 2.5);
}

/// Dropping a gather (not cancelling its task) still cancels its children at once, without
/// waiting: nothing can wait in a drop.
#[asyncio::test(virtual_time)]
async fn dropping_a_gather_cancels_its_children_without_waiting() {
    let log = log();
    let tasks = vec![create_task(child(&log, "a", 2.0))];
    let watched = tasks[0].clone();
    sleep(0.0).await; // the child starts, and enters its cleanup scope
    drop(gather_tasks(tasks));
    sleep(0.0).await;
    sleep(3.0).await;
    assert!(watched.cancelled());
    assert_eq!(*log.borrow(), ["a goodbye at 2"]);
}

#[asyncio::test(virtual_time)]
async fn a_cancelled_gather_macro_waits_for_both_children() {
    let log = log();
    let (a, b) = (child(&log, "a", 0.5), child(&log, "b", 2.0));
    let worker = create_task(async move { catch_cancel(asyncio::gather!(a, b)).await.is_err() });
    sleep(1.0).await;
    worker.cancel();
    assert!(worker.await.unwrap());
    assert_eq!(now(), 3.0);
    assert_eq!(*log.borrow(), ["a goodbye at 1.5", "b goodbye at 3"]);
}

/// `try_gather` is asyncio's `gather` without `return_exceptions`: cancelled, it raises at
/// the first child that ends, and the others finish their cleanups on their own.
#[asyncio::test(virtual_time)]
async fn a_cancelled_try_gather_raises_once_the_first_child_has_ended() {
    let log = log();
    let ok = |log: &Log, name, delay| {
        let c = child(log, name, delay);
        async move {
            c.await;
            Ok::<(), String>(())
        }
    };
    let (a, b) = (ok(&log, "a", 0.5), ok(&log, "b", 2.0));
    let l = log.clone();
    let worker = create_task(async move {
        let caught = catch_cancel(asyncio::try_gather(vec![
            Box::pin(a) as std::pin::Pin<Box<dyn std::future::Future<Output = _>>>,
            Box::pin(b),
        ]))
        .await;
        l.borrow_mut()
            .push(format!("caught at {}: {}", now(), caught.is_err()));
    });
    sleep(1.0).await;
    worker.cancel();
    worker.await.unwrap();
    sleep(5.0).await;
    assert_eq!(
        *log.borrow(),
        ["a goodbye at 1.5", "caught at 1.5: true", "b goodbye at 3"]
    );
}

// --- A task awaiting another's handle ---

/// asyncio cancels the task a cancelled task awaits and waits for it: the awaiting task ends
/// cancelled once the awaited one has, its cleanup included.
#[asyncio::test(virtual_time)]
async fn a_task_awaiting_another_ends_cancelled_once_that_one_has() {
    let log = log();
    let inner = create_task(child(&log, "inner", 2.0));
    let watched = inner.clone();
    let l = log.clone();
    let outer = create_task(on_cancel(inner, async move {
        l.borrow_mut().push(format!("outer cleanup at {}", now()));
    }));
    sleep(1.0).await;
    outer.cancel();
    assert!(outer.await.unwrap_err().is_cancelled());
    assert!(watched.cancelled());
    assert_eq!(*log.borrow(), ["inner goodbye at 3", "outer cleanup at 3"]);
}

/// If the awaited task catches the cancel and returns a value, the awaiting task gets it and
/// carries on (asyncio's `_fut_waiter.cancel()` took the cancel), with `cancelling()` at 1.
#[asyncio::test(virtual_time)]
async fn a_task_whose_awaited_task_carries_on_gets_its_value() {
    let inner = create_task(async {
        let _ = catch_cancel(sleep(3600.0)).await;
        sleep(0.5).await;
        "carried on"
    });
    let outer = create_task(async move {
        let value = inner.await.unwrap();
        sleep(1.0).await;
        (value, now(), asyncio::current_task().unwrap().cancelling())
    });
    sleep(1.0).await;
    outer.cancel();
    assert_eq!(outer.await.unwrap(), ("carried on", 2.5, 1));
}

/// A second cancel does not wait: the awaiting task ends at its next step.
#[asyncio::test(virtual_time)]
async fn a_second_cancel_ends_the_awaiting_task_at_once() {
    let log = log();
    let inner = create_task(child(&log, "inner", 2.0));
    let outer = create_task(inner);
    sleep(1.0).await;
    outer.cancel();
    sleep(0.5).await;
    assert!(!outer.done());
    outer.cancel();
    assert!(outer.await.unwrap_err().is_cancelled());
    assert_eq!(now(), 1.5);
}
