//! `TaskGroup` and `ExceptionGroup`.

mod common;

use asyncio::{TaskGroup, create_task, sleep};
use common::{DropCount, Log, after, now, others_pending};
use std::cell::RefCell;
use std::rc::Rc;

async fn job(log: Log, name: &'static str, secs: f64, fail: bool) -> Result<&'static str, String> {
    log.push(format!("{name} start"));
    sleep(secs).await;
    if fail {
        log.push(format!("{name} fails at {}", now()));
        return Err(format!("{name} failed"));
    }
    log.push(format!("{name} done at {}", now()));
    Ok(name)
}

#[asyncio::test(virtual_time)]
async fn leaving_the_group_waits_for_every_child() {
    let log = Log::default();
    let l = log.clone();
    let (a, b) = TaskGroup::run(|tg| async move {
        let a = tg.create_task(job(l.clone(), "a", 1.0, false));
        let b = tg.create_task(job(l.clone(), "b", 3.0, false));
        l.push("body done");
        Ok((a, b))
    })
    .await
    .unwrap();
    assert_eq!(now(), 3.0);
    assert_eq!((a.result().unwrap(), b.result().unwrap()), ("a", "b"));
    assert_eq!(
        log.lines(),
        [
            "body done",
            "a start",
            "b start",
            "a done at 1",
            "b done at 3"
        ]
    );
    assert_eq!(others_pending(), 0);
}

#[asyncio::test(virtual_time)]
async fn one_failing_child_is_reported_and_cancels_the_rest() {
    let log = Log::default();
    let d = DropCount::default();
    let slow = Rc::new(RefCell::new(None));
    let (l, d2, s) = (log.clone(), d.clone(), slow.clone());
    let err = TaskGroup::run(|tg| async move {
        let _task = tg.create_task(job(l.clone(), "bad", 1.0, true));
        *s.borrow_mut() = Some(tg.create_task(async move { Ok(after(10.0, 1, d2).await) }));
        sleep(5.0).await;
        l.push("body not cancelled?!");
        Ok(())
    })
    .await
    .unwrap_err();
    assert_eq!(err.exceptions(), ["bad failed"]);
    assert_eq!(
        err.to_string(),
        "unhandled errors in a TaskGroup (1 sub-exception)"
    );
    assert_eq!(
        now(),
        1.0,
        "the group ended when the cancelled children ended"
    );
    assert_eq!(d.get(), 1, "the slow child's future was dropped");
    assert!(slow.borrow().as_ref().unwrap().cancelled());
    assert_eq!(
        log.lines(),
        ["bad start", "bad fails at 1"],
        "the body was cancelled too"
    );
    assert_eq!(others_pending(), 0);
}

#[asyncio::test(virtual_time)]
async fn failures_in_the_same_turn_are_all_reported() {
    let log = Log::default();
    let l = log.clone();
    let err = TaskGroup::run(|tg| async move {
        let _task = tg.create_task(job(l.clone(), "x", 1.0, true));
        let _task = tg.create_task(job(l.clone(), "y", 1.0, true));
        let _task = tg.create_task(job(l.clone(), "z", 2.0, true));
        Ok(())
    })
    .await
    .unwrap_err();
    // y was already finishing in the same turn; z was cancelled before it failed.
    assert_eq!(err.into_exceptions(), ["x failed", "y failed"]);
}

#[asyncio::test(virtual_time)]
async fn an_err_from_the_body_cancels_the_children_and_is_grouped() {
    let d = DropCount::default();
    let d2 = d.clone();
    let err = TaskGroup::run(|tg| async move {
        let _task = tg.create_task(async move { Ok::<_, String>(after(10.0, 0, d2).await) });
        sleep(1.0).await;
        Err::<(), _>("body failed".to_string())
    })
    .await
    .unwrap_err();
    assert_eq!(err.exceptions(), ["body failed"]);
    assert_eq!(d.get(), 1);
    assert_eq!(now(), 1.0);
    assert_eq!(others_pending(), 0);
}

#[asyncio::test(virtual_time)]
async fn cancelling_the_parent_cancels_the_children() {
    let d = DropCount::default();
    let d2 = d.clone();
    let parent = create_task(async move {
        TaskGroup::run(|tg| async move {
            let d3 = d2.clone();
            let _task = tg.create_task(async move { Ok::<_, ()>(after(10.0, 0, d3).await) });
            let _task = tg.create_task(async move { Ok::<_, ()>(after(20.0, 0, d2).await) });
            Ok(())
        })
        .await
    });
    sleep(1.0).await;
    assert_eq!(others_pending(), 3);
    parent.cancel();
    assert!(parent.clone().await.unwrap_err().is_cancelled());
    sleep(0).await;
    assert_eq!(d.get(), 2);
    assert_eq!(others_pending(), 0);
    assert_eq!(now(), 1.0);
}

#[asyncio::test(virtual_time)]
async fn a_child_that_is_cancelled_from_outside_is_not_an_error() {
    let r = TaskGroup::run(|tg| async move {
        let t = tg.create_task(async {
            sleep(10.0).await;
            Ok::<_, String>(())
        });
        let _task = tg.create_task(async {
            sleep(2.0).await;
            Ok(())
        });
        sleep(1.0).await;
        t.cancel();
        Ok(())
    })
    .await;
    assert_eq!(r, Ok(()));
    assert_eq!(now(), 2.0);
}

#[asyncio::test(virtual_time)]
async fn a_child_panic_cancels_the_rest_and_is_raised_again() {
    let d = DropCount::default();
    let d2 = d.clone();
    let parent = create_task(async move {
        TaskGroup::run(|tg| async move {
            let _task = tg.create_task(async {
                sleep(1.0).await;
                if true {
                    panic!("child panicked");
                }
                Ok::<_, String>(())
            });
            let _task = tg.create_task(async move { Ok(after(10.0, 0, d2).await) });
            Ok(())
        })
        .await
    });
    match parent.await {
        Err(asyncio::TaskError::Panicked(p)) => assert_eq!(p.message(), Some("child panicked")),
        other => panic!("{other:?}"),
    }
    assert_eq!(d.get(), 1);
    assert_eq!(now(), 1.0);
    assert_eq!(others_pending(), 0);
}

#[asyncio::test(virtual_time)]
async fn children_can_start_siblings() {
    let log = Log::default();
    let l = log.clone();
    TaskGroup::run(|tg| async move {
        let tg2 = tg.clone();
        let _task = tg.create_task(async move {
            sleep(1.0).await;
            let _task = tg2.create_task(job(l, "sibling", 2.0, false));
            Ok::<_, String>(())
        });
        Ok(())
    })
    .await
    .unwrap();
    assert_eq!(now(), 3.0);
    assert_eq!(log.lines(), ["sibling start", "sibling done at 3"]);
}

#[asyncio::test(virtual_time)]
async fn create_task_after_the_group_finished_gives_a_cancelled_task() {
    let keep = Rc::new(RefCell::new(None));
    let k = keep.clone();
    TaskGroup::run(|tg| async move {
        *k.borrow_mut() = Some(tg);
        Ok::<_, String>(())
    })
    .await
    .unwrap();
    let tg = keep.borrow_mut().take().unwrap();
    let late = tg.create_task(async { Ok(1) });
    let err = late.await.unwrap_err();
    assert!(err.is_cancelled());
}

#[asyncio::test(virtual_time)]
async fn an_empty_group_returns_the_body_value_at_once() {
    let r = TaskGroup::<()>::run(|_tg| async { Ok(5) }).await;
    assert_eq!(r, Ok(5));
    assert_eq!(now(), 0.0);
}

#[asyncio::test(virtual_time)]
async fn an_eager_child_runs_inside_create_and_its_failure_is_reported() {
    let log = Log::default();
    let l = log.clone();
    let err = TaskGroup::run(|tg| async move {
        let ok = tg.create_eager_task(async { Ok::<_, String>(1) });
        assert!(ok.done());
        let _task = tg.create_eager_task(async { Err::<(), _>("at once".to_string()) });
        l.push("body goes on until its next await");
        sleep(1.0).await;
        l.push("never");
        Ok(())
    })
    .await
    .unwrap_err();
    assert_eq!(err.exceptions(), ["at once"]);
    assert_eq!(log.lines(), ["body goes on until its next await"]);
    assert_eq!(now(), 0.0);
    assert_eq!(others_pending(), 0);
}
