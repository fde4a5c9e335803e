//! shutdown and shutdown(immediate), with Python 3.13's QueueShutDown rules.

use asyncio::{GetNowaitError, PutNowaitError, Queue, QueueShutDown, create_task, sleep};

async fn settle() {
    for _ in 0..10 {
        sleep(0).await;
    }
}

#[asyncio::test]
async fn after_shutdown_puts_fail_and_give_the_item_back() {
    let q = Queue::new(0);
    q.shutdown(false);
    assert!(q.is_shut_down());
    assert_eq!(q.put("x").await.unwrap_err(), QueueShutDown("x"));
    assert!(matches!(
        q.put_nowait("y"),
        Err(PutNowaitError::ShutDown(QueueShutDown("y")))
    ));
}

#[asyncio::test]
async fn plain_shutdown_still_serves_items_left_then_fails_gets() {
    let q = Queue::new(0);
    q.put_nowait(1).unwrap();
    q.put_nowait(2).unwrap();
    q.shutdown(false);
    assert_eq!(q.get().await, Ok(1));
    assert_eq!(q.get_nowait(), Ok(2));
    assert_eq!(q.get().await, Err(QueueShutDown(())));
    assert_eq!(
        q.get_nowait(),
        Err(GetNowaitError::ShutDown(QueueShutDown(())))
    );
}

#[asyncio::test]
async fn shutdown_wakes_blocked_getters_and_putters() {
    let empty: Queue<u8> = Queue::new(0);
    let getters: Vec<_> = (0..2).map(|_| create_task(empty.get())).collect();
    let full = Queue::new(1);
    full.put_nowait(0).unwrap();
    let putter = create_task(full.put(1));
    settle().await;
    empty.shutdown(false);
    full.shutdown(false);
    for g in getters {
        assert_eq!(g.await.unwrap(), Err(QueueShutDown(())));
    }
    assert_eq!(putter.await.unwrap(), Err(QueueShutDown(1)));
    assert_eq!(full.get_nowait(), Ok(0), "items already in stay gettable");
}

#[asyncio::test]
async fn immediate_shutdown_drops_items_counts_them_done_and_unblocks_join() {
    let q = Queue::new(0);
    for n in 0..3 {
        q.put_nowait(n).unwrap();
    }
    q.get_nowait().unwrap(); // one taken, not done yet
    let joiner = create_task(q.join());
    settle().await;
    q.shutdown(true);
    assert!(q.empty());
    assert_eq!(
        q.get_nowait(),
        Err(GetNowaitError::ShutDown(QueueShutDown(())))
    );
    settle().await;
    assert!(!joiner.done(), "the item taken is still unfinished");
    q.task_done().unwrap();
    joiner.await.unwrap();
    assert!(q.task_done().is_err());
}

#[asyncio::test]
async fn immediate_shutdown_with_nothing_taken_unblocks_join_at_once() {
    let q = Queue::new(0);
    q.put_nowait(()).unwrap();
    let joiner = create_task(q.join());
    settle().await;
    q.shutdown(true);
    joiner.await.unwrap();
}

#[asyncio::test]
async fn items_dropped_by_immediate_shutdown_may_use_the_queue_in_drop() {
    struct Noisy(Queue<Noisy>);
    impl Drop for Noisy {
        fn drop(&mut self) {
            // The queue is borrowed by nobody while items are dropped.
            assert!(self.0.empty());
            assert!(self.0.get_nowait().is_err());
        }
    }
    let q = Queue::new(0);
    q.put_nowait(Noisy(q.clone())).unwrap();
    q.shutdown(true);
    assert!(q.empty());
}
