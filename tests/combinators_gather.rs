//! `gather`, `try_gather` and `gather!`.

mod common;

use asyncio::{gather, sleep, try_gather};
use common::{DropCount, Log, after, now, others_pending};

#[asyncio::test(virtual_time)]
async fn outputs_in_input_order_after_the_longest() {
    let d = DropCount::default();
    let out = gather(vec![
        after(3.0, "a", d.clone()),
        after(1.0, "b", d.clone()),
        after(2.0, "c", d.clone()),
    ])
    .await;
    assert_eq!(out, ["a", "b", "c"]);
    assert_eq!(now(), 3.0);
    assert_eq!(d.get(), 3);
    assert_eq!(others_pending(), 0);
}

#[asyncio::test(virtual_time)]
async fn factorial_output_order_matches_cpython() {
    async fn factorial(log: Log, name: &'static str, number: u64) {
        let mut f = 1;
        for i in 2..=number {
            log.push(format!("Task {name}: Compute factorial({i})..."));
            sleep(1).await;
            f *= i;
        }
        log.push(format!("Task {name}: factorial({number}) = {f}"));
    }
    let log = Log::default();
    gather(vec![
        factorial(log.clone(), "A", 2),
        factorial(log.clone(), "B", 3),
        factorial(log.clone(), "C", 4),
    ])
    .await;
    // `python3 seed/programs/gather_factorial.py`
    let expected = [
        "Task A: Compute factorial(2)...",
        "Task B: Compute factorial(2)...",
        "Task C: Compute factorial(2)...",
        "Task A: factorial(2) = 2",
        "Task B: Compute factorial(3)...",
        "Task C: Compute factorial(3)...",
        "Task B: factorial(3) = 6",
        "Task C: Compute factorial(4)...",
        "Task C: factorial(4) = 24",
    ];
    assert_eq!(log.lines(), expected);
    assert_eq!(now(), 3.0);
}

#[asyncio::test(virtual_time)]
async fn keeps_every_outcome_like_return_exceptions() {
    async fn coro(n: u64) -> Result<u64, String> {
        sleep(n as f64).await;
        if n == 1 { Err("boom".into()) } else { Ok(n) }
    }
    let out = gather(vec![coro(1), coro(2), coro(3)]).await;
    assert_eq!(out, [Err("boom".to_string()), Ok(2), Ok(3)]);
    assert_eq!(now(), 3.0);
}

#[asyncio::test(virtual_time)]
async fn tasks_start_when_gather_is_called() {
    let log = Log::default();
    let l = log.clone();
    let g = gather(vec![async move { l.push("child ran") }]);
    log.push("before await");
    sleep(0).await;
    assert_eq!(log.lines(), ["before await", "child ran"]);
    g.await;
}

#[asyncio::test(virtual_time)]
async fn empty_gather_is_ready_at_once() {
    let out: Vec<u8> = gather(Vec::<std::future::Ready<u8>>::new()).await;
    assert!(out.is_empty());
    assert_eq!(now(), 0.0);
}

#[asyncio::test(virtual_time)]
async fn dropping_a_gather_cancels_every_unfinished_child() {
    let d = DropCount::default();
    let g = gather(vec![
        after(1.0, 1, d.clone()),
        after(5.0, 2, d.clone()),
        after(9.0, 3, d.clone()),
    ]);
    let r = asyncio::wait_for(g, 2.0).await;
    assert!(r.is_err());
    assert_eq!(now(), 2.0);
    // Cancelled tasks drop their futures at their next turn.
    sleep(0).await;
    assert_eq!(d.get(), 3);
    assert_eq!(others_pending(), 0);
}

#[asyncio::test(virtual_time)]
async fn cancelling_the_awaiting_task_cancels_the_children() {
    let d = DropCount::default();
    let d2 = d.clone();
    let parent = asyncio::create_task(async move {
        gather(vec![after(5.0, 1, d2.clone()), after(6.0, 2, d2)]).await
    });
    sleep(1.0).await;
    assert_eq!(others_pending(), 3);
    parent.cancel();
    // As asyncio's: the gather cancels the children, and the parent ends once they have.
    assert!(parent.clone().await.unwrap_err().is_cancelled());
    assert_eq!(d.get(), 2);
    assert_eq!(others_pending(), 0);
    assert_eq!(now(), 1.0);
}

#[asyncio::test(virtual_time)]
async fn a_child_panic_is_raised_again_and_the_siblings_run_on() {
    let d = DropCount::default();
    let d2 = d.clone();
    let parent = asyncio::create_task(async move {
        let boom = Box::pin(async {
            sleep(1.0).await;
            if now() >= 1.0 {
                panic!("child failed");
            }
        }) as std::pin::Pin<Box<dyn std::future::Future<Output = ()>>>;
        let slow = Box::pin(after(10.0, (), d2));
        gather(vec![boom, slow]).await
    });
    let err = parent.await.unwrap_err();
    match err {
        asyncio::TaskError::Panicked(p) => assert_eq!(p.message(), Some("child failed")),
        other => panic!("{other:?}"),
    }
    assert_eq!(now(), 1.0);
    assert_eq!(
        others_pending(),
        1,
        "as in asyncio, the sibling is not cancelled"
    );
    sleep(9.0).await;
    assert_eq!(d.get(), 1);
    assert_eq!(others_pending(), 0);
}

#[asyncio::test(virtual_time)]
async fn try_gather_collects_values_when_all_succeed() {
    let out = try_gather((1..=2).map(|i| async move { Ok::<_, String>(i) })).await;
    assert_eq!(out, Ok(vec![1, 2]));
}

#[asyncio::test(virtual_time)]
async fn try_gather_returns_the_first_error_and_siblings_run_on() {
    async fn job(log: Log, secs: f64, fail: bool) -> Result<f64, String> {
        sleep(secs).await;
        log.push(format!("finished {secs}"));
        if fail {
            Err(format!("failed at {secs}"))
        } else {
            Ok(secs)
        }
    }
    let log = Log::default();
    let r = try_gather(vec![
        job(log.clone(), 3.0, false),
        job(log.clone(), 1.0, true),
        job(log.clone(), 2.0, true),
    ])
    .await;
    assert_eq!(r, Err("failed at 1".to_string()));
    assert_eq!(now(), 1.0);
    assert_eq!(
        others_pending(),
        2,
        "as in asyncio, siblings are not cancelled"
    );
    sleep(5.0).await;
    assert_eq!(log.lines(), ["finished 1", "finished 2", "finished 3"]);
    assert_eq!(others_pending(), 0);
}

#[asyncio::test(virtual_time)]
async fn dropping_a_pending_try_gather_cancels_the_children() {
    let d = DropCount::default();
    let d2 = d.clone();
    let fut = try_gather([1.0, 5.0].map(|secs| {
        let d = d2.clone();
        async move { Ok::<_, ()>(after(secs, 1, d).await) }
    }));
    assert!(asyncio::wait_for(fut, 2.0).await.is_err());
    sleep(0).await;
    assert_eq!(d.get(), 2);
    assert_eq!(others_pending(), 0);
}

#[asyncio::test(virtual_time)]
async fn gather_macro_gives_a_tuple_of_mixed_types() {
    let d = DropCount::default();
    let (a, b, c) = asyncio::gather!(
        after(1.0, 7u8, d.clone()),
        after(2.0, "two", d.clone()),
        async { vec![1, 2, 3] },
    )
    .await;
    assert_eq!((a, b, c), (7, "two", vec![1, 2, 3]));
    assert_eq!(now(), 2.0);
    assert_eq!(others_pending(), 0);
}

#[asyncio::test(virtual_time)]
async fn dropping_a_gather_macro_cancels_its_children() {
    let d = DropCount::default();
    let fut = asyncio::gather!(after(1.0, 1, d.clone()), after(5.0, "x", d.clone()));
    assert!(asyncio::wait_for(fut, 2.0).await.is_err());
    sleep(0).await;
    assert_eq!(d.get(), 2);
    assert_eq!(others_pending(), 0);
}

#[asyncio::test(virtual_time)]
async fn gather_macro_re_raises_a_panic() {
    let parent = asyncio::create_task(async {
        asyncio::gather!(async { 1 }, async {
            sleep(1.0).await;
            panic!("second")
        })
        .await
    });
    assert!(parent.await.unwrap_err().is_panic());
}

#[asyncio::test(virtual_time)]
async fn many_children_finish_in_linear_time() {
    let n = 10_000;
    let futs = (0..n).map(|i| async move {
        sleep((i % 7) as f64).await;
        i
    });
    let out = gather(futs).await;
    assert_eq!(out.len(), n);
    assert!(out.iter().enumerate().all(|(i, v)| i == *v));
    assert_eq!(now(), 6.0);
}

#[asyncio::test(virtual_time)]
async fn children_are_created_at_the_callers_line() {
    let line = line!() + 1;
    let g = gather(vec![sleep(1.0)]);
    let child = asyncio::all_tasks()
        .into_iter()
        .find(|t| t.id() != asyncio::current_task().unwrap().id())
        .unwrap();
    assert_eq!(child.location().file(), file!());
    assert_eq!(child.location().line(), line);
    g.await;
}

#[asyncio::test(virtual_time)]
async fn gather_tasks_waits_for_running_tasks_in_input_order() {
    use asyncio::gather_tasks;
    let d = DropCount::default();
    let tasks = vec![
        asyncio::create_task(after(2.0, "a", d.clone())),
        asyncio::create_task(after(1.0, "b", d.clone())),
    ];
    assert_eq!(gather_tasks(tasks).await, ["a", "b"]);
    assert_eq!(now(), 2.0);

    // Dropping it cancels the tasks, as cancelling asyncio's gather does.
    let slow = asyncio::create_task(after(9.0, "slow", d.clone()));
    assert!(
        asyncio::wait_for(gather_tasks(vec![slow.clone()]), 1.0)
            .await
            .is_err()
    );
    assert!(slow.await.unwrap_err().is_cancelled());
    assert_eq!(d.get(), 3);
    assert_eq!(others_pending(), 0);
}

#[asyncio::test(virtual_time)]
async fn gather_tasks_raises_a_cancelled_task() {
    let victim = asyncio::create_task(sleep(5.0));
    let other = asyncio::create_task(sleep(6.0));
    let (v, o) = (victim.clone(), other.clone());
    let parent = asyncio::create_task(async move { asyncio::gather_tasks(vec![v, o]).await });
    sleep(1.0).await;
    victim.cancel();
    match parent.await {
        Err(asyncio::TaskError::Panicked(p)) => {
            let payload = p.into_panic();
            let error = payload.downcast::<asyncio::TaskError>().unwrap();
            assert!(error.is_cancelled());
        }
        other => panic!("{other:?}"),
    }
    sleep(0).await;
    assert!(!other.done(), "the others run on, as in asyncio");
    other.await.unwrap();
    assert_eq!(now(), 6.0);
}
