//! Cancellation a task can catch: `on_cancel`, `catch_cancel`, `cancelling`/`uncancel`, and
//! how the deadlines meet them. Cases ported from CPython's test_tasks.py (cancelling,
//! uncancel) and test_timeouts.py; the times are the virtual clock's.

use asyncio::{
    CancelledError, TimeoutError, catch_cancel, create_task, current_task, get_running_loop,
    on_cancel, sleep, timeout, wait_for,
};
use std::cell::RefCell;
use std::rc::Rc;

type Log = Rc<RefCell<Vec<String>>>;

fn log() -> Log {
    Rc::new(RefCell::new(Vec::new()))
}

fn note(log: &Log, what: impl Into<String>) {
    log.borrow_mut().push(what.into());
}

fn now() -> f64 {
    get_running_loop().time()
}

/// `except CancelledError: await cleanup(); raise` with a cleanup that awaits.
fn goodbye(log: &Log, delay: f64) -> impl std::future::Future<Output = ()> + use<> {
    let log = log.clone();
    async move {
        sleep(delay).await;
        note(&log, format!("goodbye at {}", now()));
    }
}

#[asyncio::test(virtual_time)]
async fn on_cancel_runs_the_cleanup_then_the_task_ends_cancelled() {
    let log = log();
    let worker = create_task(on_cancel(sleep(3600.0), goodbye(&log, 0.5)));
    sleep(1.0).await;
    worker.cancel_with("shutting down");
    let err = worker.clone().await.unwrap_err();
    assert!(err.is_cancelled());
    assert_eq!(err.to_string(), "cancelled: shutting down");
    assert!(worker.cancelled());
    assert_eq!(*log.borrow(), ["goodbye at 1.5"]);
}

#[asyncio::test(virtual_time)]
async fn on_cancel_not_cancelled_gives_the_body_output_and_never_runs_the_cleanup() {
    let log = log();
    let out = on_cancel(async { 7 }, goodbye(&log, 0.0)).await;
    assert_eq!(out, 7);
    sleep(1.0).await;
    assert!(log.borrow().is_empty());
}

#[asyncio::test(virtual_time)]
async fn the_body_runs_no_further_once_cancelled() {
    let log = log();
    let l = log.clone();
    let worker = create_task(on_cancel(
        async move {
            sleep(1.0).await;
            note(&l, "body after the sleep");
        },
        async {},
    ));
    // The body's sleep ends in the turn the cancel comes: the cancellation wins, as in
    // asyncio, where the task's next step gets the CancelledError.
    let w = worker.clone();
    let _at = get_running_loop().call_at(1.0, move || {
        w.cancel();
    });
    assert!(worker.await.unwrap_err().is_cancelled());
    assert!(log.borrow().is_empty());
}

#[asyncio::test(virtual_time)]
async fn catch_cancel_catches_and_the_task_carries_on_uncancelled() {
    let worker = create_task(async {
        let caught = catch_cancel(sleep(3600.0)).await;
        let me = current_task().unwrap();
        (caught, me.cancelling(), now())
    });
    sleep(1.0).await;
    worker.cancel_with("stop");
    let (caught, cancelling, at) = worker.clone().await.unwrap();
    assert_eq!(
        caught,
        Err(CancelledError {
            msg: Some("stop".into())
        })
    );
    assert_eq!((cancelling, at), (0, 1.0));
    assert!(!worker.cancelled());
}

#[asyncio::test(virtual_time)]
async fn a_task_cancelled_again_after_catching_is_cancelled_again() {
    let worker = create_task(async {
        let first = catch_cancel(sleep(3600.0)).await;
        assert!(first.is_err());
        sleep(3600.0).await; // no scope here: the drop-based cancel
        "unreachable"
    });
    sleep(1.0).await;
    worker.cancel();
    sleep(1.0).await;
    assert!(!worker.done());
    worker.cancel();
    assert!(worker.clone().await.unwrap_err().is_cancelled());
}

/// test_tasks.py: test_cancelling.
#[asyncio::test(virtual_time)]
async fn cancelling_counts_every_cancel_until_the_task_ends() {
    let t = create_task(sleep(10.0));
    assert_eq!(t.cancelling(), 0);
    assert!(t.cancel());
    assert_eq!(t.cancelling(), 1);
    assert!(t.cancel());
    assert_eq!(t.cancelling(), 2);
    assert!(t.clone().await.unwrap_err().is_cancelled());
    assert!(!t.cancel());
    assert_eq!(t.cancelling(), 2);
}

/// test_tasks.py: test_uncancel_basic.
#[asyncio::test(virtual_time)]
async fn uncancel_basic() {
    let t = create_task(async {
        if catch_cancel(sleep(10.0)).await.is_err() {
            sleep(10.0).await;
        }
    });
    sleep(0.01).await;
    assert!(t.cancel());
    assert_eq!(t.cancelling(), 1);
    assert!(!t.cancelled());
    sleep(0.01).await;
    // catch_cancel uncancelled it.
    assert_eq!(t.cancelling(), 0);
    assert!(!t.done());
    assert!(t.cancel());
    assert_eq!(t.cancelling(), 1);
    assert!(t.clone().await.unwrap_err().is_cancelled());
    assert!(t.cancelled() && t.done());
    // uncancel no longer matters once the task is done.
    t.uncancel();
    assert!(t.cancelled() && t.done());
}

#[asyncio::test(virtual_time)]
async fn uncancel_before_delivery_takes_the_cancel_back() {
    let t = create_task(async {
        sleep(1.0).await;
        "ran on"
    });
    sleep(0).await;
    t.cancel();
    assert_eq!(t.uncancel(), 0);
    assert_eq!(t.await.unwrap(), "ran on");
}

#[asyncio::test(virtual_time)]
async fn the_innermost_scope_catches_first_then_the_cancellation_goes_on_up() {
    let log = log();
    let l = log.clone();
    let worker = create_task(async move {
        let r = catch_cancel(on_cancel(sleep(3600.0), goodbye(&l, 1.0))).await;
        note(&l, format!("outer caught: {}", r.is_err()));
        sleep(1.0).await;
        "carried on"
    });
    sleep(1.0).await;
    worker.cancel();
    assert_eq!(worker.await.unwrap(), "carried on");
    assert_eq!(*log.borrow(), ["goodbye at 2", "outer caught: true"]);
}

#[asyncio::test(virtual_time)]
async fn a_second_cancel_interrupts_the_cleanup_as_in_python() {
    let log = log();
    let worker = create_task(on_cancel(sleep(3600.0), goodbye(&log, 10.0)));
    sleep(1.0).await;
    worker.cancel();
    sleep(1.0).await;
    worker.cancel();
    assert!(worker.await.unwrap_err().is_cancelled());
    assert!(log.borrow().is_empty());
    assert_eq!(now(), 2.0);
}

#[asyncio::test(virtual_time)]
async fn a_self_cancel_inside_a_scope_is_caught_at_the_next_await() {
    let r = catch_cancel(async {
        current_task().unwrap().cancel();
        sleep(1.0).await;
    })
    .await;
    assert!(r.is_err());
    assert_eq!(now(), 0.0);
    assert_eq!(current_task().unwrap().cancelling(), 0);
}

// --- timeout and wait_for ---

#[asyncio::test(virtual_time)]
async fn timeout_runs_the_cleanup_and_still_gives_timeout_error() {
    let log = log();
    let cm = timeout(1.0, on_cancel(sleep(3600.0), goodbye(&log, 0.5)));
    let handle = cm.handle();
    assert_eq!(cm.await, Err(TimeoutError::default()));
    assert!(handle.expired());
    assert_eq!(*log.borrow(), ["goodbye at 1.5"]);
    let me = current_task().unwrap();
    assert_eq!(me.cancelling(), 0);
    // The task is not cancelled: it carries on.
    sleep(1.0).await;
    assert_eq!(now(), 2.5);
}

#[asyncio::test(virtual_time)]
async fn wait_for_runs_the_cleanup_and_still_gives_timeout_error() {
    let log = log();
    let r = wait_for(on_cancel(sleep(3600.0), goodbye(&log, 0.5)), 1.0).await;
    assert_eq!(r, Err(TimeoutError::default()));
    assert_eq!(*log.borrow(), ["goodbye at 1.5"]);
    assert_eq!(current_task().unwrap().cancelling(), 0);
}

/// test_timeouts.py's rule: a cancel from outside in the same turn as the deadline stays a
/// cancellation, whichever comes first.
#[asyncio::test(virtual_time)]
async fn an_outer_cancel_while_the_deadline_expires_stays_a_cancellation() {
    for outer_first in [true, false] {
        let log = log();
        let l = log.clone();
        let worker = create_task(async move {
            let r = catch_cancel(timeout(1.0, on_cancel(sleep(3600.0), goodbye(&l, 0.5)))).await;
            (r, current_task().unwrap().cancelling())
        });
        // The canceller's timer is at the deadline's tick, armed before the deadline's own
        // (which the worker's first poll arms) or after it.
        let w = worker.clone();
        let cancel_at = |w: asyncio::Task<_>| {
            get_running_loop().call_at(1.0, move || {
                w.cancel();
            })
        };
        let canceller = if outer_first {
            let c = cancel_at(w);
            sleep(0).await;
            c
        } else {
            sleep(0).await;
            cancel_at(w)
        };
        let (r, cancelling) = worker.await.unwrap();
        drop(canceller);
        assert_eq!(r.map_err(|e| e.msg), Err(None), "outer_first={outer_first}");
        assert_eq!(cancelling, 0);
        assert_eq!(
            log.borrow().len(),
            1,
            "the cleanup ran once, outer_first={outer_first}"
        );
    }
}

#[asyncio::test(virtual_time)]
async fn an_outer_cancel_without_a_catching_scope_ends_the_task() {
    let log = log();
    let l = log.clone();
    let worker =
        create_task(async move { timeout(1.0, on_cancel(sleep(3600.0), goodbye(&l, 0.5))).await });
    sleep(0.5).await;
    worker.cancel();
    assert!(worker.await.unwrap_err().is_cancelled());
    assert_eq!(*log.borrow(), ["goodbye at 1"]);
}

#[asyncio::test(virtual_time)]
async fn catch_cancel_inside_an_expiring_timeout_catches_it_and_the_block_finishes() {
    let cm = timeout(1.0, async {
        let caught = catch_cancel(sleep(10.0)).await;
        sleep(5.0).await;
        (caught.is_err(), now())
    });
    let handle = cm.handle();
    assert_eq!(cm.await, Ok((true, 6.0)));
    assert!(handle.expired());
    assert_eq!(current_task().unwrap().cancelling(), 0);
}

/// test_timeouts.py: test_nested_timeouts, with a cleanup inside: the outer converts, the
/// inner passes the cancellation on.
#[asyncio::test(virtual_time)]
async fn nested_timeouts_expiring_together_the_outer_converts() {
    let log = log();
    let l = log.clone();
    let outer = timeout(1.0, async move {
        let inner = timeout(1.0, on_cancel(sleep(10.0), goodbye(&l, 0.0)));
        let h = inner.handle();
        let r = inner.await;
        unreachable!("the inner block passes the cancellation on: {r:?} {h:?}");
    });
    assert_eq!(outer.await, Err(TimeoutError::default()));
    assert_eq!(*log.borrow(), ["goodbye at 1"]);
}

#[asyncio::test(virtual_time)]
async fn an_inner_timeout_converts_and_the_outer_runs_on() {
    let log = log();
    let l = log.clone();
    let r = timeout(5.0, async move {
        let inner = timeout(1.0, on_cancel(sleep(10.0), goodbye(&l, 0.0))).await;
        sleep(1.0).await;
        inner
    })
    .await;
    assert_eq!(r, Ok(Err(TimeoutError::default())));
    assert_eq!(now(), 2.0);
}

/// test_timeouts.py: test_foreign_cancel_doesnt_timeout_if_not_expired.
#[asyncio::test(virtual_time)]
async fn a_foreign_cancel_inside_a_timeout_is_not_a_timeout() {
    let cm = asyncio::Timeout::new(now() + 10.0);
    let inner = cm.clone();
    let r = catch_cancel(inner.run(async {
        current_task().unwrap().cancel();
        sleep(10.0).await;
    }))
    .await;
    assert!(r.is_err());
    assert!(!cm.expired());
}

/// test_timeouts.py: test_cancel_in_timeout_after_cancellation.
#[asyncio::test(virtual_time)]
async fn a_cancel_in_a_timeout_after_a_caught_one_is_a_cancellation() {
    let first = catch_cancel(async {
        current_task().unwrap().cancel();
        sleep(1.0).await;
    })
    .await;
    assert!(first.is_err());
    let second = catch_cancel(timeout(
        1.0,
        on_cancel(
            async {
                current_task().unwrap().cancel();
                sleep(2.0).await;
            },
            async {},
        ),
    ))
    .await;
    assert!(second.is_err());
}

/// At shutdown every task is cancelled once, as asyncio.run does: a cleanup that awaits
/// finishes.
#[test]
fn shutdown_lets_a_cleanup_finish() {
    let log = log();
    let l = log.clone();
    asyncio::Runner::new().virtual_time(true).run(async move {
        let _worker = create_task(on_cancel(sleep(3600.0), goodbye(&l, 1.0)));
        sleep(1.0).await;
    });
    assert_eq!(*log.borrow(), ["goodbye at 2"]);
}

#[asyncio::test(virtual_time)]
async fn a_shielded_inner_runs_on_while_the_cleanup_runs() {
    let log = log();
    let l = log.clone();
    let inner = Rc::new(RefCell::new(None));
    let keep = inner.clone();
    let worker = create_task(async move {
        let shielded = asyncio::shield(async {
            sleep(2.0).await;
            "saved"
        });
        *keep.borrow_mut() = Some(shielded.task());
        on_cancel(shielded, goodbye(&l, 0.0)).await
    });
    sleep(1.0).await;
    worker.cancel();
    assert!(worker.await.unwrap_err().is_cancelled());
    let inner = inner.borrow_mut().take().unwrap();
    assert_eq!(inner.await.unwrap(), "saved");
    assert_eq!(*log.borrow(), ["goodbye at 1"]);
}

// --- TaskGroup ---

/// test_taskgroups.py's shape: a child fails while the body awaits inside a cleanup scope;
/// the body's cleanup runs, the group raises the child's error, and the task is not left
/// cancelled.
#[asyncio::test(virtual_time)]
async fn a_failing_child_cancels_the_body_through_its_cleanup_scope() {
    let log = log();
    let l = log.clone();
    let r = asyncio::TaskGroup::run(|tg| async move {
        let _child = tg.create_task(async {
            sleep(1.0).await;
            Err::<(), _>("child failed")
        });
        on_cancel(sleep(3600.0), goodbye(&l, 0.5)).await;
        Ok(())
    })
    .await;
    assert_eq!(r.unwrap_err().exceptions(), ["child failed"]);
    assert_eq!(*log.borrow(), ["goodbye at 1.5"]);
    assert_eq!(current_task().unwrap().cancelling(), 0);
    sleep(1.0).await; // the task carries on
    assert_eq!(now(), 2.5);
}

/// A cancel from outside that comes up out of the body cancels the children and goes on up
/// once they have ended (their cleanups included), as asyncio's `__aexit__` waits.
#[asyncio::test(virtual_time)]
async fn an_outer_cancel_through_the_body_waits_for_the_children_then_goes_on_up() {
    let log = log();
    let (l, l2) = (log.clone(), log.clone());
    let worker = create_task(async move {
        let r = catch_cancel(asyncio::TaskGroup::run(|tg| async move {
            let child_log = l.clone();
            let _child = tg.create_task(async move {
                on_cancel(sleep(3600.0), goodbye(&child_log, 2.0)).await;
                Ok::<(), String>(())
            });
            on_cancel(sleep(3600.0), goodbye(&l, 0.5)).await;
            Ok(())
        }))
        .await;
        note(&l2, format!("caught at {}: {}", now(), r.is_err()));
    });
    sleep(1.0).await;
    worker.cancel();
    worker.await.unwrap();
    assert_eq!(
        *log.borrow(),
        // As in asyncio: the children are cancelled when the body's cancellation reaches the
        // group (at 1.5), and the catch waits for their cleanup.
        ["goodbye at 1.5", "goodbye at 3.5", "caught at 3.5: true"]
    );
}
