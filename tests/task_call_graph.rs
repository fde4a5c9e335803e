//! The call graph (asyncio 3.14's `capture_call_graph` / `format_call_graph`): its shape and
//! names through a gather inside a TaskGroup, direct awaits, and a cycle-free walk.

use asyncio::{
    TaskGroup, TaskRef, capture_call_graph, create_task, current_task, format_call_graph, sleep,
};
use std::cell::RefCell;
use std::rc::Rc;

/// A leaf that, once every task is waiting, captures the call graph from itself.
async fn leaf(seen: Rc<RefCell<Option<(asyncio::FutureCallGraph, String)>>>, first: bool) {
    sleep(1.0).await;
    if first {
        let me: TaskRef = current_task().unwrap();
        *seen.borrow_mut() = Some((capture_call_graph(&me), format_call_graph(&me)));
    }
}

#[asyncio::test(virtual_time)]
async fn a_gather_inside_a_task_group_is_awaited_by_its_worker_and_the_worker_by_the_group() {
    let seen = Rc::new(RefCell::new(None));
    let s = seen.clone();
    let main = create_task(async move {
        TaskGroup::<()>::run(|tg| async move {
            let s2 = s.clone();
            tg.create_task(async move {
                let leaves = vec![
                    create_task(leaf(s2.clone(), true)).with_name("leaf-a"),
                    create_task(leaf(s2, false)).with_name("leaf-b"),
                ];
                asyncio::gather_tasks(leaves).await;
                Ok(())
            })
            .set_name("worker");
            Ok(())
        })
        .await
        .unwrap();
    })
    .with_name("main");
    main.await.unwrap();
    let (graph, text) = seen.borrow_mut().take().expect("captured");
    assert_eq!(graph.task.name, "leaf-a");
    let names: Vec<&str> = graph
        .awaited_by
        .iter()
        .map(|g| g.task.name.as_str())
        .collect();
    assert_eq!(names, ["worker"]);
    let worker = &graph.awaited_by[0];
    let names: Vec<&str> = worker
        .awaited_by
        .iter()
        .map(|g| g.task.name.as_str())
        .collect();
    assert_eq!(names, ["main"]);
    // `main` is awaited by the test's own task, which nobody awaits.
    let top = &worker.awaited_by[0].awaited_by;
    assert_eq!(top.len(), 1);
    assert!(top[0].awaited_by.is_empty());
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with("* Task(name='leaf-a', id=0x"),
        "{text}"
    );
    assert_eq!(lines[1], "  + Call stack:");
    assert!(
        lines[2].starts_with("  |   File 'tests/task_call_graph.rs', line "),
        "{text}"
    );
    assert_eq!(lines[3], "  + Awaited by:");
    assert!(
        lines[4].starts_with("    * Task(name='worker', id=0x"),
        "{text}"
    );
    assert!(
        text.contains("\n        * Task(name='main', id=0x"),
        "{text}"
    );
}

#[asyncio::test(virtual_time)]
async fn a_direct_await_is_an_edge_both_ways_and_ends_with_the_wait() {
    let leaf = create_task(sleep(2.0)).with_name("awaited");
    let waiter = create_task({
        let leaf = leaf.clone();
        async move { leaf.await.unwrap() }
    })
    .with_name("awaiting");
    sleep(1.0).await;
    let graph = capture_call_graph(&leaf.as_ref());
    assert_eq!(graph.awaited_by.len(), 1);
    assert_eq!(graph.awaited_by[0].task.name, "awaiting");
    assert_eq!(
        graph.awaited_by[0]
            .awaiting
            .as_ref()
            .map(|t| t.name.as_str()),
        Some("awaited")
    );
    waiter.clone().await.unwrap();
    let after = create_task(sleep(1.0)).with_name("later");
    sleep(0).await;
    assert!(capture_call_graph(&after.as_ref()).awaited_by.is_empty());
    after.await.unwrap();
}
