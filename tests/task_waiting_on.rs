//! The call graph and `get_stack` name the primitive a task is parked on: a queue, a lock, an
//! event, a condition, a semaphore, a barrier, a future, a timer, under `wait_for`/`timeout`.

use asyncio::{
    Barrier, Condition, Event, Lock, Queue, Semaphore, Task, capture_call_graph, create_task,
    format_call_graph, sleep,
};

/// What `task` is parked on, as the call graph says.
fn waiting_on<T: 'static>(task: &Task<T>) -> Option<String> {
    capture_call_graph(&task.as_ref()).waiting_on
}

#[asyncio::test(virtual_time)]
async fn a_task_blocked_on_a_queue_or_a_lock_shows_it() {
    let queue = Queue::<u32>::new(1);
    let getter = create_task({
        let queue = queue.clone();
        async move { queue.get().await.unwrap() }
    })
    .with_name("getter");
    let lock = Lock::new();
    let held = lock.acquire().await;
    let locker = create_task({
        let lock = lock.clone();
        async move { drop(lock.acquire().await) }
    })
    .with_name("locker");
    sleep(0).await;
    assert_eq!(waiting_on(&getter).as_deref(), Some("Queue.get"));
    assert_eq!(waiting_on(&locker).as_deref(), Some("Lock.acquire"));
    let text = format_call_graph(&getter.as_ref());
    assert!(text.contains("\n  |   awaiting Queue.get"), "{text}");

    // Woken and done: nothing is left recorded.
    queue.put(7).await.unwrap();
    drop(held);
    assert_eq!(getter.clone().await.unwrap(), 7);
    locker.clone().await.unwrap();

    // A put into a full queue parks too; a put that finds room records nothing.
    queue.put_nowait(1).unwrap();
    let putter = create_task({
        let queue = queue.clone();
        async move { queue.put(2).await.unwrap() }
    });
    sleep(0).await;
    assert_eq!(waiting_on(&putter).as_deref(), Some("Queue.put"));
    assert_eq!(queue.get().await.unwrap(), 1);
    putter.await.unwrap();
}

#[asyncio::test(virtual_time)]
async fn every_primitive_names_itself_and_time_limits_wrap_it() {
    let event = Event::new();
    let cond = Condition::new();
    let sem = Semaphore::new(0);
    let barrier = Barrier::new(2);
    let fut = asyncio::get_running_loop().create_future::<u8>();
    let queue = Queue::<u8>::new(0);
    let tasks = vec![
        (
            create_task({
                let e = event.clone();
                async move { e.wait().await }
            })
            .as_ref(),
            "Event.wait",
        ),
        (
            create_task({
                let c = cond.clone();
                async move { drop(c.wait(c.acquire().await).await) }
            })
            .as_ref(),
            "Condition.wait",
        ),
        (
            create_task({
                let s = sem.clone();
                async move { drop(s.acquire().await) }
            })
            .as_ref(),
            "Semaphore.acquire",
        ),
        (
            create_task({
                let b = barrier.clone();
                async move {
                    let _ = b.wait().await;
                }
            })
            .as_ref(),
            "Barrier.wait",
        ),
        (
            create_task({
                let f = fut.clone();
                async move { drop(f.await) }
            })
            .as_ref(),
            "Future",
        ),
        (create_task(sleep(10.0)).as_ref(), "sleep"),
        (
            create_task({
                let q = queue.clone();
                async move { drop(asyncio::wait_for(q.get(), 5.0).await) }
            })
            .as_ref(),
            "wait_for(Queue.get)",
        ),
        (
            create_task({
                let e = event.clone();
                async move { drop(asyncio::timeout(5.0, e.wait()).await) }
            })
            .as_ref(),
            "timeout(Event.wait)",
        ),
    ];
    sleep(0).await;
    for (task, expected) in &tasks {
        let graph = capture_call_graph(task);
        assert_eq!(graph.waiting_on.as_deref(), Some(*expected));
    }
    for (task, _) in &tasks {
        task.cancel();
    }
    sleep(0).await;
}

#[asyncio::test(virtual_time)]
async fn get_stack_follows_the_awaited_task_down_to_its_primitive() {
    let lock = Lock::new();
    let held = lock.acquire().await;
    let inner = create_task({
        let lock = lock.clone();
        async move { drop(lock.acquire().await) }
    })
    .with_name("inner");
    let outer = create_task({
        let inner = inner.clone();
        async move { inner.await.unwrap() }
    })
    .with_name("outer");
    sleep(0).await;
    let stack = outer.get_stack();
    let chain: Vec<(&str, Option<&str>)> = stack
        .iter()
        .map(|f| (f.task.name.as_str(), f.waiting_on.as_deref()))
        .collect();
    assert_eq!(chain, [("outer", None), ("inner", Some("Lock.acquire"))]);
    assert_eq!(stack[0].awaits.len(), 1);
    assert_eq!(stack[0].task.location.file(), "tests/task_waiting_on.rs");
    drop(held);
    outer.clone().await.unwrap();
    assert!(outer.get_stack().is_empty(), "a done task has no stack");
}

#[asyncio::test]
async fn a_task_blocked_on_a_socket_or_an_executor_job_shows_it() {
    let (ours, theirs) = asyncio::net::UnixStream::pair().unwrap();
    let reader = create_task(async move {
        let mut buf = [0u8; 8];
        theirs.read(&mut buf).await.unwrap()
    });
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let job = create_task(asyncio::to_thread(move || rx.recv().is_ok()));
    sleep(0.01).await;
    assert_eq!(waiting_on(&reader).as_deref(), Some("I/O read"));
    assert_eq!(waiting_on(&job).as_deref(), Some("to_thread"));
    ours.write_all(b"hi").await.unwrap();
    assert_eq!(reader.await.unwrap(), 2);
    tx.send(()).unwrap();
    assert!(job.await.unwrap().unwrap());
}
