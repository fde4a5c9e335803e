//! Queue, LifoQueue, PriorityQueue: order, limits, the nowait forms and blocking put/get.

use asyncio::{
    GetNowaitError, LifoQueue, PriorityQueue, PutNowaitError, Queue, QueueEmpty, create_task,
    get_running_loop, sleep,
};

async fn settle() {
    for _ in 0..10 {
        sleep(0).await;
    }
}

#[test]
fn fifo_lifo_and_priority_orders() {
    let fifo = Queue::new(0);
    let lifo = LifoQueue::new(0);
    let prio = PriorityQueue::new(0);
    for n in [3, 1, 2] {
        fifo.put_nowait(n).unwrap();
        lifo.put_nowait(n).unwrap();
        prio.put_nowait(n).unwrap();
    }
    let drain = |get: &dyn Fn() -> Result<i32, GetNowaitError>| {
        std::iter::from_fn(|| get().ok()).collect::<Vec<_>>()
    };
    assert_eq!(drain(&|| fifo.get_nowait()), [3, 1, 2]);
    assert_eq!(drain(&|| lifo.get_nowait()), [2, 1, 3]);
    assert_eq!(drain(&|| prio.get_nowait()), [1, 2, 3]);
}

#[test]
fn priority_queue_takes_tuples_smallest_first() {
    let q = PriorityQueue::new(0);
    q.put_nowait((5, "low")).unwrap();
    q.put_nowait((1, "urgent")).unwrap();
    q.put_nowait((3, "normal")).unwrap();
    assert_eq!(q.get_nowait().unwrap(), (1, "urgent"));
    assert_eq!(q.get_nowait().unwrap(), (3, "normal"));
    assert_eq!(q.get_nowait().unwrap(), (5, "low"));
}

#[test]
fn sizes_and_nowait_errors() {
    let q = Queue::new(2);
    assert_eq!(q.maxsize(), 2);
    assert!(q.empty() && !q.full());
    assert_eq!(q.get_nowait(), Err(GetNowaitError::Empty(QueueEmpty)));
    q.put_nowait("a").unwrap();
    q.put_nowait("b").unwrap();
    assert_eq!(q.qsize(), 2);
    assert!(q.full());
    match q.put_nowait("c") {
        Err(PutNowaitError::Full(full)) => assert_eq!(full.0, "c"),
        other => panic!("{other:?}"),
    }
    assert_eq!(q.get_nowait(), Ok("a"));
    assert!(!q.full());
}

#[test]
fn unbounded_queue_is_never_full() {
    let q = Queue::new(0);
    for n in 0..10_000 {
        q.put_nowait(n).unwrap();
    }
    assert!(!q.full());
    assert_eq!(q.qsize(), 10_000);
}

#[asyncio::test(virtual_time)]
async fn get_waits_for_a_put() {
    let q = Queue::new(0);
    let getter = {
        let q = q.clone();
        create_task(async move {
            let item = q.get().await.unwrap();
            (item, get_running_loop().time())
        })
    };
    sleep(2).await;
    q.put(42).await.unwrap();
    assert_eq!(getter.await.unwrap(), (42, 2.0));
}

#[asyncio::test(virtual_time)]
async fn put_waits_for_room() {
    let q = Queue::new(1);
    q.put(1).await.unwrap();
    let putter = {
        let q = q.clone();
        create_task(async move {
            q.put(2).await.unwrap();
            get_running_loop().time()
        })
    };
    sleep(1.5).await;
    assert_eq!(q.qsize(), 1);
    assert_eq!(q.get().await, Ok(1));
    assert_eq!(putter.await.unwrap(), 1.5);
    assert_eq!(q.get_nowait(), Ok(2));
}

#[asyncio::test]
async fn blocked_getters_are_served_in_order() {
    let q = Queue::new(0);
    let getters: Vec<_> = (0..3).map(|_| create_task(q.get())).collect();
    settle().await;
    for n in 0..3 {
        q.put_nowait(n).unwrap();
    }
    let mut got = Vec::new();
    for g in getters {
        got.push(g.await.unwrap().unwrap());
    }
    assert_eq!(got, [0, 1, 2]);
}

#[asyncio::test]
async fn blocked_putters_are_served_in_order() {
    let q = Queue::new(1);
    q.put_nowait(0).unwrap();
    let putters: Vec<_> = (1..4).map(|n| create_task(q.put(n))).collect();
    settle().await;
    let mut got = Vec::new();
    for _ in 0..4 {
        got.push(q.get().await.unwrap());
        settle().await;
    }
    assert_eq!(got, [0, 1, 2, 3]);
    for p in putters {
        p.await.unwrap().unwrap();
    }
}

#[asyncio::test]
async fn lifo_and_priority_queues_block_like_queue() {
    let lifo = LifoQueue::new(1);
    let prio = PriorityQueue::new(1);
    let lg = create_task(lifo.get());
    let pg = create_task(prio.get());
    settle().await;
    lifo.put(1).await.unwrap();
    prio.put(1).await.unwrap();
    assert_eq!(lg.await.unwrap(), Ok(1));
    assert_eq!(pg.await.unwrap(), Ok(1));
}
