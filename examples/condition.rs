//! Condition variables: a consumer waits with `wait_for` until a producer made items, then a
//! bounded buffer whose two Conditions, `not_empty` and `not_full`, share one Lock.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

/// A buffer of at most `CAPACITY` items: producers wait on `not_full`, consumers on
/// `not_empty`, both under the same lock that guards `items`.
#[derive(Clone)]
struct BoundedBuffer {
    lock: asyncio::Lock,
    not_empty: asyncio::Condition,
    not_full: asyncio::Condition,
    items: Rc<RefCell<VecDeque<u32>>>,
}

const CAPACITY: usize = 2;

impl BoundedBuffer {
    fn new() -> Self {
        let lock = asyncio::Lock::new();
        BoundedBuffer {
            not_empty: asyncio::Condition::with_lock(lock.clone()),
            not_full: asyncio::Condition::with_lock(lock.clone()),
            lock,
            items: Rc::default(),
        }
    }

    async fn put(&self, item: u32) {
        let guard = self.lock.acquire().await;
        let _guard = self
            .not_full
            .wait_for(guard, || self.items.borrow().len() < CAPACITY)
            .await;
        self.items.borrow_mut().push_back(item);
        self.not_empty.notify(1).unwrap();
    }

    async fn get(&self) -> u32 {
        let guard = self.lock.acquire().await;
        let _guard = self
            .not_empty
            .wait_for(guard, || !self.items.borrow().is_empty())
            .await;
        let item = self.items.borrow_mut().pop_front().unwrap();
        self.not_full.notify(1).unwrap();
        item
    }
}

async fn wait_for_items() {
    let cond = asyncio::Condition::new();
    let ready = Rc::new(RefCell::new(Vec::new()));

    let consumer = {
        let (cond, ready) = (cond.clone(), ready.clone());
        asyncio::create_task(async move {
            let guard = cond.acquire().await;
            println!("consumer: waiting for 3 items");
            let _guard = cond.wait_for(guard, || ready.borrow().len() >= 3).await;
            println!("consumer: got {:?}", ready.borrow());
        })
    };

    for n in 1..=3 {
        asyncio::sleep(0.1).await;
        let _guard = cond.acquire().await;
        ready.borrow_mut().push(n);
        println!("producer: made item {n}");
        cond.notify_all().unwrap();
    }
    consumer.await.unwrap();
}

async fn bounded_buffer() {
    let buffer = BoundedBuffer::new();
    let producer = {
        let buffer = buffer.clone();
        asyncio::create_task(async move {
            for n in 1..=5 {
                buffer.put(n).await;
                println!("put {n} (buffer holds {})", buffer.items.borrow().len());
            }
        })
    };
    for _ in 0..5 {
        asyncio::sleep(0.05).await;
        println!("got {}", buffer.get().await);
    }
    producer.await.unwrap();
}

#[asyncio::main]
async fn main() {
    wait_for_items().await;
    println!("----");
    bounded_buffer().await;
}
