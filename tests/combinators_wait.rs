//! `wait` and its `return_when` / `timeout` options.

mod common;

use asyncio::{ALL_COMPLETED, FIRST_COMPLETED, FIRST_EXCEPTION, create_task, sleep, wait};
use common::{now, others_pending};
use std::future::IntoFuture;

fn ids<T: 'static>(tasks: &[asyncio::Task<T>]) -> Vec<String> {
    tasks.iter().map(|t| t.name()).collect()
}

fn sleeper(name: &str, secs: f64) -> asyncio::Task<f64> {
    create_task(async move {
        sleep(secs).await;
        secs
    })
    .with_name(name)
}

#[asyncio::test(virtual_time)]
async fn all_completed_is_the_default() {
    let tasks = vec![sleeper("a", 2.0), sleeper("b", 1.0)];
    let (done, pending) = wait(tasks).await;
    assert_eq!(ids(&done), ["a", "b"], "input order");
    assert!(pending.is_empty());
    assert_eq!(now(), 2.0);
    // Outcomes were not taken.
    assert_eq!(done[0].result().unwrap(), 2.0);
}

#[asyncio::test(virtual_time)]
async fn first_completed_returns_at_the_first_end() {
    let tasks = vec![sleeper("a", 3.0), sleeper("b", 1.0), sleeper("c", 1.0)];
    let (done, pending) = wait(tasks).return_when(FIRST_COMPLETED).await;
    assert_eq!(ids(&done), ["b", "c"], "both ended in the same turn");
    assert_eq!(ids(&pending), ["a"]);
    assert_eq!(now(), 1.0);
    assert!(!pending[0].cancelled());
    let (done, _) = wait(pending).return_when(ALL_COMPLETED).await;
    assert_eq!(ids(&done), ["a"]);
    assert_eq!(now(), 3.0);
}

#[asyncio::test(virtual_time)]
async fn first_completed_with_a_done_task_returns_without_waiting() {
    let quick = create_task(async { 0.0 });
    sleep(0).await;
    let (done, pending) = wait(vec![quick, sleeper("slow", 5.0)])
        .return_when(FIRST_COMPLETED)
        .await;
    assert_eq!((done.len(), pending.len()), (1, 1));
    assert_eq!(now(), 0.0);
    pending[0].cancel();
}

#[asyncio::test(virtual_time)]
async fn first_exception_returns_at_the_first_panic() {
    let ok = sleeper("ok", 1.0);
    let slow = sleeper("slow", 5.0);
    let cancelled = sleeper("cancelled", 5.0);
    cancelled.cancel();
    let boom = create_task(async {
        sleep(2.0).await;
        if true {
            panic!("boom")
        }
        0.0
    })
    .with_name("boom");
    let (done, pending) = wait(vec![ok, boom, slow, cancelled])
        .return_when(FIRST_EXCEPTION)
        .await;
    // A cancelled task does not count as an exception: the wait went on until the panic.
    assert_eq!(ids(&done), ["ok", "boom", "cancelled"]);
    assert_eq!(ids(&pending), ["slow"]);
    assert_eq!(now(), 2.0);
    assert!(done[1].result().unwrap_err().is_panic());
    pending[0].cancel();
}

#[asyncio::test(virtual_time)]
async fn first_exception_counts_err_outputs_when_asked() {
    let mk = |secs: f64, fail: bool| {
        create_task(async move {
            sleep(secs).await;
            if fail {
                Err(format!("failed at {secs}"))
            } else {
                Ok(secs)
            }
        })
    };
    let tasks = vec![mk(1.0, false), mk(2.0, true), mk(3.0, false)];
    let (done, pending) = wait(tasks.clone())
        .return_when(FIRST_EXCEPTION)
        .exception_if(Result::is_err)
        .await;
    assert_eq!((done.len(), pending.len()), (2, 1));
    assert_eq!(now(), 2.0);
    // Without exception_if an Err is an ordinary output: as ALL_COMPLETED.
    let (done, pending) = wait(tasks).return_when(FIRST_EXCEPTION).await;
    assert_eq!((done.len(), pending.len()), (3, 0));
    assert_eq!(now(), 3.0);
}

#[asyncio::test(virtual_time)]
async fn timeout_returns_pending_tasks_without_cancelling_them() {
    let tasks = vec![sleeper("a", 1.0), sleeper("b", 10.0)];
    let (done, pending) = wait(tasks).timeout(2.5).await;
    assert_eq!(ids(&done), ["a"]);
    assert_eq!(ids(&pending), ["b"]);
    assert_eq!(now(), 2.5);
    assert!(!pending[0].done());
    assert_eq!(pending[0].clone().await.unwrap(), 10.0);
    assert_eq!(now(), 10.0);
    assert_eq!(others_pending(), 0);
}

#[asyncio::test(virtual_time)]
async fn dropping_a_wait_cancels_nothing() {
    let task = sleeper("a", 5.0);
    assert!(
        asyncio::wait_for(wait(vec![task.clone()]).into_future(), 1.0)
            .await
            .is_err()
    );
    assert!(!task.done());
    assert_eq!(task.await.unwrap(), 5.0);
}

#[asyncio::test(virtual_time)]
async fn empty_wait_returns_at_once() {
    let (done, pending) = wait(Vec::<asyncio::Task<()>>::new()).await;
    assert!(done.is_empty() && pending.is_empty());
}
