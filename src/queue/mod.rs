//! Queues for the tasks of one loop: `Queue` (first in, first out), `LifoQueue` (last in,
//! first out) and `PriorityQueue` (smallest first), as in asyncio.
//!
//! All three are one [`core::Core`] with a different order of items; their methods are
//! written once, by `queue_methods!`.
#![forbid(unsafe_code)]

pub(crate) mod core;
mod error;

pub use self::core::{Get, Join, Put};
pub use error::{GetNowaitError, PutNowaitError, QueueEmpty, QueueFull, QueueShutDown};

use self::core::{Core, Store};
use crate::sync::ValueError;
use std::fmt;
use std::rc::Rc;

macro_rules! queue_methods {
    ($name:ident) => {
        impl<T> $name<T> {
            /// The most items the queue holds; 0 means no limit.
            ///
            /// # Examples
            /// ```
            #[doc = concat!("let queue = asyncio::", stringify!($name), "::<u32>::new(10);")]
            /// assert_eq!(queue.maxsize(), 10);
            /// ```
            pub fn maxsize(&self) -> usize {
                self.core.maxsize()
            }

            /// How many items are in the queue.
            ///
            /// # Examples
            /// ```
            #[doc = concat!("let queue = asyncio::", stringify!($name), "::new(0);")]
            /// queue.put_nowait(1).unwrap();
            /// assert_eq!(queue.qsize(), 1);
            /// ```
            pub fn qsize(&self) -> usize {
                self.core.qsize()
            }

            /// Whether the queue holds no item.
            ///
            /// # Examples
            /// ```
            #[doc = concat!("let queue = asyncio::", stringify!($name), "::<u32>::new(0);")]
            /// assert!(queue.empty());
            /// ```
            pub fn empty(&self) -> bool {
                self.core.qsize() == 0
            }

            /// Whether the queue holds `maxsize` items (never, when `maxsize` is 0).
            ///
            /// # Examples
            /// ```
            #[doc = concat!("let queue = asyncio::", stringify!($name), "::new(1);")]
            /// queue.put_nowait(1).unwrap();
            /// assert!(queue.full());
            /// ```
            pub fn full(&self) -> bool {
                self.core.full()
            }

            /// Puts an item, waiting for room while the queue is full.
            ///
            /// The future fails with [`QueueShutDown`], holding the item, once the queue is
            /// shut down.
            ///
            /// # Cancel safety
            /// Dropping the future before it completes drops the item, which was not put. See [`Put`].
            ///
            /// # Examples
            /// ```
            /// # asyncio::run(async {
            #[doc = concat!("let queue = asyncio::", stringify!($name), "::new(1);")]
            /// queue.put(1).await.unwrap();
            /// let second = asyncio::create_task(queue.put(2)); // waits for room
            /// assert_eq!(queue.get().await, Ok(1));
            /// second.await.unwrap().unwrap();
            /// assert_eq!(queue.get().await, Ok(2));
            /// # });
            /// ```
            pub fn put(&self, item: T) -> Put<T> {
                Put {
                    core: self.core.clone(),
                    item: Some(item),
                    waiter: None,
                }
            }

            /// Puts an item without waiting.
            ///
            /// # Errors
            /// [`PutNowaitError::Full`] when the queue is full, [`PutNowaitError::ShutDown`]
            /// once it is shut down; both give the item back.
            ///
            /// # Examples
            /// ```
            #[doc = concat!("let queue = asyncio::", stringify!($name), "::new(1);")]
            /// queue.put_nowait(1).unwrap();
            /// assert!(matches!(queue.put_nowait(2), Err(asyncio::PutNowaitError::Full(_))));
            /// ```
            pub fn put_nowait(&self, item: T) -> Result<(), PutNowaitError<T>> {
                self.core.put_nowait(item)
            }

            /// Takes the next item, waiting while the queue is empty.
            ///
            /// The future fails with [`QueueShutDown`] once the queue is shut down and empty:
            /// after a plain `shutdown`, the items already in it can still be taken.
            ///
            /// # Cancel safety
            /// Dropping the future before it completes loses no item. See [`Get`].
            ///
            /// # Examples
            /// ```
            /// # asyncio::run(async {
            #[doc = concat!("let queue = asyncio::", stringify!($name), "::new(0);")]
            /// let getter = asyncio::create_task(queue.get());
            /// queue.put_nowait("job").unwrap();
            /// assert_eq!(getter.await.unwrap(), Ok("job"));
            /// # });
            /// ```
            pub fn get(&self) -> Get<T> {
                Get {
                    core: self.core.clone(),
                    waiter: None,
                }
            }

            /// Takes the next item without waiting.
            ///
            /// # Errors
            /// [`GetNowaitError::Empty`] when the queue is empty, [`GetNowaitError::ShutDown`]
            /// when it is also shut down.
            ///
            /// # Examples
            /// ```
            #[doc = concat!("let queue = asyncio::", stringify!($name), "::new(0);")]
            /// queue.put_nowait(1).unwrap();
            /// assert_eq!(queue.get_nowait(), Ok(1));
            /// assert!(queue.get_nowait().is_err());
            /// ```
            pub fn get_nowait(&self) -> Result<T, GetNowaitError> {
                self.core.get_nowait()
            }

            /// Marks one item taken from the queue as processed, for [`join`](Self::join).
            ///
            /// Every put counts one unfinished task; each `task_done` counts one down, and
            /// `join` returns when none is left.
            ///
            /// # Errors
            /// asyncio's `ValueError` when called more times than items were put.
            ///
            /// # Examples
            /// ```
            #[doc = concat!("let queue = asyncio::", stringify!($name), "::new(0);")]
            /// queue.put_nowait(1).unwrap();
            /// queue.get_nowait().unwrap();
            /// assert!(queue.task_done().is_ok());
            /// assert!(queue.task_done().is_err());
            /// ```
            pub fn task_done(&self) -> Result<(), ValueError> {
                self.core.task_done()
            }

            /// Waits until every item put has been marked done with
            /// [`task_done`](Self::task_done); returns at once if none is unfinished.
            ///
            /// # Cancel safety
            /// Dropping the future loses nothing. See [`Join`].
            ///
            /// # Examples
            /// ```
            /// # asyncio::run(async {
            #[doc = concat!("let queue = asyncio::", stringify!($name), "::new(0);")]
            /// queue.put_nowait(1).unwrap();
            /// let worker = {
            ///     let queue = queue.clone();
            ///     asyncio::create_task(async move {
            ///         queue.get().await.unwrap();
            ///         queue.task_done().unwrap();
            ///     })
            /// };
            /// queue.join().await;
            /// assert!(worker.done());
            /// # });
            /// ```
            pub fn join(&self) -> Join {
                self.core.join()
            }

            /// Shuts the queue down (asyncio 3.13's `shutdown`): puts fail from now on, and so
            /// do gets once the queue is empty; every blocked `put` and `get` is woken to see
            /// it. With `immediate`, the items still in the queue are dropped and counted as
            /// done, so `join` returns once the items already taken are done; gets then fail
            /// at once.
            ///
            /// # Examples
            /// ```
            /// # asyncio::run(async {
            #[doc = concat!("let queue = asyncio::", stringify!($name), "::new(0);")]
            /// queue.put_nowait(1).unwrap();
            /// queue.shutdown(false);
            /// assert_eq!(queue.get().await, Ok(1)); // items left are still served
            /// assert!(queue.get().await.is_err());
            /// # });
            /// ```
            pub fn shutdown(&self, immediate: bool) {
                self.core.shutdown(immediate)
            }

            /// Whether [`shutdown`](Self::shutdown) was called.
            ///
            /// # Examples
            /// ```
            #[doc = concat!("let queue = asyncio::", stringify!($name), "::<u32>::new(0);")]
            /// queue.shutdown(true);
            /// assert!(queue.is_shut_down());
            /// ```
            pub fn is_shut_down(&self) -> bool {
                self.core.is_shut_down()
            }
        }

        impl<T> Clone for $name<T> {
            fn clone(&self) -> Self {
                $name {
                    core: self.core.clone(),
                }
            }
        }

        impl<T> fmt::Debug for $name<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name))
                    .field("maxsize", &self.core.maxsize())
                    .field("qsize", &self.core.qsize())
                    .field("getters", &self.core.waiting_getters())
                    .field("putters", &self.core.waiting_putters())
                    .field("tasks", &self.core.unfinished())
                    .field("shut_down", &self.core.is_shut_down())
                    .finish()
            }
        }
    };
}

/// A first-in, first-out queue for tasks (asyncio's `Queue`). Clones are handles to the same
/// queue.
///
/// # Examples
/// ```
/// # asyncio::run(async {
/// let queue = asyncio::Queue::new(100); // maxsize; 0 = unbounded
/// queue.put("job").await.unwrap();
/// let job = queue.get().await.unwrap();
/// assert_eq!(job, "job");
/// queue.task_done().unwrap();
/// queue.join().await;
/// # });
/// ```
pub struct Queue<T> {
    core: Rc<Core<T>>,
}

impl<T> Queue<T> {
    /// A queue holding at most `maxsize` items; 0 means no limit.
    ///
    /// # Examples
    /// ```
    /// let queue: asyncio::Queue<String> = asyncio::Queue::new(0);
    /// assert!(!queue.full());
    /// ```
    pub fn new(maxsize: usize) -> Self {
        Queue {
            core: Core::new(maxsize, Store::fifo()),
        }
    }
}

queue_methods!(Queue);

/// A last-in, first-out queue for tasks (asyncio's `LifoQueue`): `get` takes the item put
/// last. Clones are handles to the same queue.
///
/// # Examples
/// ```
/// let stack = asyncio::LifoQueue::new(0);
/// for n in 1..=3 {
///     stack.put_nowait(n).unwrap();
/// }
/// assert_eq!(stack.get_nowait(), Ok(3));
/// ```
pub struct LifoQueue<T> {
    core: Rc<Core<T>>,
}

impl<T> LifoQueue<T> {
    /// A LIFO queue holding at most `maxsize` items; 0 means no limit.
    ///
    /// # Examples
    /// ```
    /// let stack: asyncio::LifoQueue<u8> = asyncio::LifoQueue::new(2);
    /// assert_eq!(stack.maxsize(), 2);
    /// ```
    pub fn new(maxsize: usize) -> Self {
        LifoQueue {
            core: Core::new(maxsize, Store::lifo()),
        }
    }
}

queue_methods!(LifoQueue);

/// A priority queue for tasks (asyncio's `PriorityQueue`): `get` takes the smallest item. Use
/// tuples `(priority, data)` as in Python. Items that compare equal come out in no set order.
/// Clones are handles to the same queue.
///
/// # Examples
/// ```
/// let queue = asyncio::PriorityQueue::new(0);
/// queue.put_nowait((2, "later")).unwrap();
/// queue.put_nowait((1, "first")).unwrap();
/// assert_eq!(queue.get_nowait(), Ok((1, "first")));
/// ```
pub struct PriorityQueue<T> {
    core: Rc<Core<T>>,
}

impl<T: Ord> PriorityQueue<T> {
    /// A priority queue holding at most `maxsize` items; 0 means no limit.
    ///
    /// # Examples
    /// ```
    /// let queue: asyncio::PriorityQueue<(u8, String)> = asyncio::PriorityQueue::new(0);
    /// assert!(queue.empty());
    /// ```
    pub fn new(maxsize: usize) -> Self {
        PriorityQueue {
            core: Core::new(maxsize, Store::priority()),
        }
    }
}

queue_methods!(PriorityQueue);
