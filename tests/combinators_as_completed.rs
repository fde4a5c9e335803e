//! `as_completed`.

mod common;

use asyncio::{TaskError, as_completed, sleep};
use common::{DropCount, after, now, others_pending};

#[asyncio::test(virtual_time)]
async fn outcomes_come_in_completion_order_at_their_times() {
    let d = DropCount::default();
    let mut seen = Vec::new();
    for next in as_completed(vec![
        after(3.0, "c", d.clone()),
        after(1.0, "a", d.clone()),
        after(2.0, "b", d.clone()),
    ]) {
        seen.push((next.await.unwrap(), now()));
    }
    assert_eq!(seen, [("a", 1.0), ("b", 2.0), ("c", 3.0)]);
    assert_eq!(others_pending(), 0);
}

#[asyncio::test(virtual_time)]
async fn the_iterator_has_one_awaitable_per_future() {
    let it = as_completed((1..=2).map(|i| async move { i }));
    assert_eq!(it.len(), 2);
    let nexts: Vec<_> = it.collect();
    // Awaited in any order, each gives the earliest outcome not given yet.
    let mut got = Vec::new();
    for next in nexts.into_iter().rev() {
        got.push(next.await.unwrap());
    }
    got.sort();
    assert_eq!(got, [1, 2]);
}

#[asyncio::test(virtual_time)]
async fn overall_timeout_ends_the_rest_without_cancelling() {
    let d = DropCount::default();
    let mut it = as_completed(vec![
        after(1.0, 1, d.clone()),
        after(5.0, 5, d.clone()),
        after(9.0, 9, d.clone()),
    ])
    .timeout(3.0);
    let first = it.next().unwrap().await;
    assert_eq!(first.unwrap(), 1);
    let second = it.next().unwrap().await;
    assert!(matches!(second, Err(TaskError::Timeout(_))));
    assert_eq!(now(), 3.0);
    let third = it.next().unwrap().await;
    assert!(matches!(third, Err(TaskError::Timeout(_))));
    assert!(it.next().is_none());
    assert_eq!(
        others_pending(),
        2,
        "the tasks still run while the iterator lives"
    );
    drop(it);
    sleep(0).await;
    assert_eq!(others_pending(), 0, "dropping it cancels them");
    assert_eq!(d.get(), 3);
}

#[asyncio::test(virtual_time)]
async fn the_stream_gives_finished_tasks() {
    let d = DropCount::default();
    let mut it = as_completed(vec![
        after(2.0, "slow", d.clone()),
        after(1.0, "quick", d.clone()),
    ]);
    let mut names = Vec::new();
    while let Some(task) = it.next_task().await {
        let task = task.unwrap();
        assert!(task.done());
        names.push(task.await.unwrap());
    }
    assert_eq!(names, ["quick", "slow"]);
    assert_eq!(now(), 2.0);
}

#[asyncio::test(virtual_time)]
async fn the_stream_times_out() {
    let d = DropCount::default();
    let mut it =
        as_completed(vec![after(1.0, 1, d.clone()), after(5.0, 5, d.clone())]).timeout(2.0);
    assert!(it.next_task().await.unwrap().is_ok());
    assert!(it.next_task().await.unwrap().is_err());
    assert_eq!(now(), 2.0);
    assert!(it.next_task().await.is_none());
}

#[asyncio::test(virtual_time)]
async fn a_panicking_child_gives_its_error_in_place() {
    let mut it = as_completed(vec![
        Box::pin(async {
            sleep(1.0).await;
            if true {
                panic!("boom");
            }
            1u8
        }) as std::pin::Pin<Box<dyn std::future::Future<Output = u8>>>,
        Box::pin(async {
            sleep(2.0).await;
            2
        }),
    ]);
    assert!(it.next().unwrap().await.unwrap_err().is_panic());
    assert_eq!(it.next().unwrap().await.unwrap(), 2);
}

#[asyncio::test(virtual_time)]
async fn dropping_it_early_cancels_unfinished_tasks() {
    let d = DropCount::default();
    let it = as_completed(vec![after(1.0, 1, d.clone()), after(5.0, 5, d.clone())]);
    sleep(0).await;
    assert_eq!(others_pending(), 2);
    drop(it);
    sleep(0).await;
    assert_eq!(others_pending(), 0);
    assert_eq!(d.get(), 2);
}
