//! task_done and join.

use asyncio::{Queue, create_task, get_running_loop, sleep};

#[asyncio::test]
async fn join_returns_at_once_when_nothing_is_unfinished() {
    let q: Queue<u8> = Queue::new(0);
    q.join().await;
}

#[asyncio::test]
async fn task_done_more_than_items_put_is_a_value_error() {
    let q = Queue::new(0);
    assert_eq!(
        q.task_done().unwrap_err().msg,
        "task_done() called too many times"
    );
    q.put_nowait(1).unwrap();
    q.get_nowait().unwrap();
    q.task_done().unwrap();
    assert!(q.task_done().is_err());
}

#[asyncio::test(virtual_time)]
async fn join_waits_for_every_task_done() {
    let q = Queue::new(0);
    for n in 1..=3 {
        q.put_nowait(n).unwrap();
    }
    let worker = {
        let q = q.clone();
        create_task(async move {
            loop {
                let n = q.get().await.unwrap();
                sleep(n).await;
                q.task_done().unwrap();
            }
        })
    };
    q.join().await;
    assert_eq!(get_running_loop().time(), 6.0);
    assert!(q.empty());
    worker.cancel();
    assert!(worker.await.unwrap_err().is_cancelled());
}

#[asyncio::test(virtual_time)]
async fn join_counts_items_taken_but_not_done() {
    let q = Queue::new(0);
    q.put_nowait(()).unwrap();
    q.get_nowait().unwrap(); // taken, not done
    let joiner = create_task(q.join());
    sleep(1).await;
    assert!(!joiner.done());
    q.task_done().unwrap();
    joiner.await.unwrap();
}

#[asyncio::test(virtual_time)]
async fn three_workers_drain_the_queue_in_parallel() {
    let q = Queue::new(0);
    for d in [1.0, 2.0, 3.0, 1.0, 2.0, 3.0] {
        q.put_nowait(d).unwrap();
    }
    let workers: Vec<_> = (0..3)
        .map(|_| {
            let q = q.clone();
            create_task(async move {
                loop {
                    let d = q.get().await.unwrap();
                    sleep(d).await;
                    q.task_done().unwrap();
                }
            })
        })
        .collect();
    q.join().await;
    // Worker 0: 1 then 1 (t=2) then 3 (t=5)? No: each takes the next job when free.
    // t=0: w0←1, w1←2, w2←3; t=1: w0←1; t=2: w0←2, w1←3; t=4: (w0 done) ... end at 5.
    assert_eq!(get_running_loop().time(), 5.0);
    for w in &workers {
        w.cancel();
    }
    for w in workers {
        assert!(w.await.unwrap_err().is_cancelled());
    }
}

/// `join` keeps working across rounds: once every item is done it returns, a new put makes
/// it wait again, and an immediate shutdown counts the dropped items as done.
#[asyncio::test(virtual_time)]
async fn join_waits_again_after_new_puts() {
    let q = Queue::new(0);
    q.join().await;
    q.put_nowait(1).unwrap();
    let joiner = create_task(q.join());
    sleep(1).await;
    assert!(!joiner.done());
    q.get_nowait().unwrap();
    q.task_done().unwrap();
    joiner.await.unwrap();

    q.put_nowait(2).unwrap();
    q.put_nowait(3).unwrap();
    let joiner = create_task(q.join());
    sleep(1).await;
    assert!(!joiner.done(), "the new items are not done");
    q.shutdown(true);
    joiner.await.unwrap();
}

/// A join made before any put and awaited after them waits for them (as asyncio's join,
/// whose check runs when awaited).
#[asyncio::test(virtual_time)]
async fn join_made_before_puts_waits_for_them() {
    let q = Queue::new(0);
    let j = q.join();
    q.put_nowait(1).unwrap();
    let joiner = create_task(j);
    sleep(1).await;
    assert!(!joiner.done());
    q.get_nowait().unwrap();
    q.task_done().unwrap();
    joiner.await.unwrap();
}
