//! Property test: getters and putters on a bounded or unbounded queue are cancelled at random
//! turns. Every item put is got exactly once or is still in the queue (none lost, none
//! duplicated); once the loop has settled no getter sleeps while items wait and no putter
//! sleeps while there is room.

use asyncio::{LifoQueue, PriorityQueue, Queue, Runner, Task, create_task, sleep};
use proptest::prelude::*;
use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

#[derive(Debug, Clone)]
enum Op {
    SpawnGetter,
    SpawnPutter,
    PutNowait,
    GetNowait,
    Cancel(usize),
    Yield(u8),
    Settle,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => Just(Op::SpawnGetter),
        3 => Just(Op::SpawnPutter),
        1 => Just(Op::PutNowait),
        1 => Just(Op::GetNowait),
        3 => any::<usize>().prop_map(Op::Cancel),
        3 => (0u8..3).prop_map(Op::Yield),
        1 => Just(Op::Settle),
    ]
}

/// The three queues behind one face, for the test.
#[derive(Clone)]
enum AnyQueue {
    Fifo(Queue<u32>),
    Lifo(LifoQueue<u32>),
    Prio(PriorityQueue<u32>),
}

type Fut<T> = Pin<Box<dyn Future<Output = T>>>;

impl AnyQueue {
    fn new(kind: u8, maxsize: usize) -> Self {
        match kind {
            0 => AnyQueue::Fifo(Queue::new(maxsize)),
            1 => AnyQueue::Lifo(LifoQueue::new(maxsize)),
            _ => AnyQueue::Prio(PriorityQueue::new(maxsize)),
        }
    }
    fn put(&self, item: u32) -> Fut<bool> {
        match self {
            AnyQueue::Fifo(q) => {
                let f = q.put(item);
                Box::pin(async move { f.await.is_ok() })
            }
            AnyQueue::Lifo(q) => {
                let f = q.put(item);
                Box::pin(async move { f.await.is_ok() })
            }
            AnyQueue::Prio(q) => {
                let f = q.put(item);
                Box::pin(async move { f.await.is_ok() })
            }
        }
    }
    fn get(&self) -> Fut<Option<u32>> {
        match self {
            AnyQueue::Fifo(q) => {
                let f = q.get();
                Box::pin(async move { f.await.ok() })
            }
            AnyQueue::Lifo(q) => {
                let f = q.get();
                Box::pin(async move { f.await.ok() })
            }
            AnyQueue::Prio(q) => {
                let f = q.get();
                Box::pin(async move { f.await.ok() })
            }
        }
    }
    fn put_nowait(&self, item: u32) -> bool {
        match self {
            AnyQueue::Fifo(q) => q.put_nowait(item).is_ok(),
            AnyQueue::Lifo(q) => q.put_nowait(item).is_ok(),
            AnyQueue::Prio(q) => q.put_nowait(item).is_ok(),
        }
    }
    fn get_nowait(&self) -> Option<u32> {
        match self {
            AnyQueue::Fifo(q) => q.get_nowait().ok(),
            AnyQueue::Lifo(q) => q.get_nowait().ok(),
            AnyQueue::Prio(q) => q.get_nowait().ok(),
        }
    }
    fn qsize(&self) -> usize {
        match self {
            AnyQueue::Fifo(q) => q.qsize(),
            AnyQueue::Lifo(q) => q.qsize(),
            AnyQueue::Prio(q) => q.qsize(),
        }
    }
    fn full(&self) -> bool {
        match self {
            AnyQueue::Fifo(q) => q.full(),
            AnyQueue::Lifo(q) => q.full(),
            AnyQueue::Prio(q) => q.full(),
        }
    }
}

async fn settle() {
    // More turns than a case can have waiters (cases have under 60 operations): a chain of
    // hand-offs, one a turn, always ends within them.
    for _ in 0..80 {
        sleep(0).await;
    }
}

async fn check_settled(q: &AnyQueue, getters: &[Task<()>], putters: &[Task<()>]) {
    settle().await;
    if q.qsize() > 0 {
        assert!(
            getters.iter().all(|t| t.done()),
            "a getter sleeps by an item"
        );
    }
    if !q.full() {
        assert!(putters.iter().all(|t| t.done()), "a putter sleeps by room");
    }
}

fn run_case(kind: u8, maxsize: usize, ops: Vec<Op>) {
    Runner::new().virtual_time(true).run(async move {
        let q = AnyQueue::new(kind, maxsize);
        let put = Rc::new(RefCell::new(Vec::<u32>::new()));
        let got = Rc::new(RefCell::new(Vec::<u32>::new()));
        let mut getters: Vec<Task<()>> = Vec::new();
        let mut putters: Vec<Task<()>> = Vec::new();
        let mut next_item = 0u32;
        for op in ops {
            match op {
                Op::SpawnGetter => {
                    let (f, got) = (q.get(), got.clone());
                    getters.push(create_task(async move {
                        let item = f.await.expect("never shut down");
                        got.borrow_mut().push(item);
                    }));
                }
                Op::SpawnPutter => {
                    next_item += 1;
                    let (item, f, put) = (next_item, q.put(next_item), put.clone());
                    putters.push(create_task(async move {
                        assert!(f.await);
                        put.borrow_mut().push(item);
                    }));
                }
                Op::PutNowait => {
                    next_item += 1;
                    if q.put_nowait(next_item) {
                        put.borrow_mut().push(next_item);
                    }
                }
                Op::GetNowait => {
                    if let Some(item) = q.get_nowait() {
                        got.borrow_mut().push(item);
                    }
                }
                Op::Cancel(i) => {
                    let all: Vec<_> = getters
                        .iter()
                        .chain(&putters)
                        .filter(|t| !t.done())
                        .collect();
                    if !all.is_empty() {
                        all[i % all.len()].cancel();
                    }
                }
                Op::Yield(turns) => {
                    for _ in 0..turns {
                        sleep(0).await;
                    }
                }
                Op::Settle => check_settled(&q, &getters, &putters).await,
            }
            if maxsize > 0 {
                assert!(q.qsize() <= maxsize);
            }
        }
        check_settled(&q, &getters, &putters).await;
        for t in getters.iter().chain(&putters) {
            t.cancel();
        }
        settle().await;
        let mut seen = got.borrow().clone();
        while let Some(item) = q.get_nowait() {
            seen.push(item);
        }
        seen.sort_unstable();
        let mut expected = put.borrow().clone();
        expected.sort_unstable();
        assert_eq!(seen, expected, "items lost or duplicated");
    });
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn queues_lose_no_item_under_random_cancellation(
        kind in 0u8..3,
        maxsize in 0usize..4,
        ops in prop::collection::vec(op(), 1..80),
    ) {
        run_case(kind, maxsize, ops);
    }
}
