//! [`RedisPriorityQueue`]: asyncio's `PriorityQueue` API on a Redis sorted set.

use super::errors::{QueueError, RedisError};
use super::options::Connect;
use super::priority_core::{Shared, Taken};
use super::priority_put::PriorityPut;
use super::priority_scripts as scripts;
use super::reply::{self, DeadLetter};
use crate::{GetNowaitError, PutNowaitError, QueueEmpty, QueueShutDown, ValueError};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::pin::Pin;
use std::rc::Rc;

/// A priority queue on Redis, shared by many processes (asyncio's `PriorityQueue`): items
/// are `(priority, item)` pairs, and `get` takes the one with the smallest priority; equal
/// priorities come out first in, first out. Items are `serde` values, stored as JSON.
///
/// Delivery is at least once, as for [`RedisQueue`](super::RedisQueue): an item not
/// `task_done` within the visibility timeout goes back in the queue with its priority (to
/// the dead letters after `max_deliveries`). A waiting `get` blocks in Redis and wakes for
/// a put, a delayed item now due or a visibility timeout that ended: it does not poll.
/// `put(..).delay(seconds)` schedules an item. `task_done` marks done the oldest item this
/// handle took.
///
/// # Examples
/// ```no_run
/// # asyncio::run(async {
/// use asyncio::redis::RedisPriorityQueue;
/// let queue = RedisPriorityQueue::<String>::connect("redis://127.0.0.1", "urgent").await?;
/// queue.put((2.0, "later".to_owned())).await.unwrap();
/// queue.put((1.0, "first".to_owned())).await.unwrap();
/// assert_eq!(queue.get().await.unwrap(), (1.0, "first".to_owned()));
/// queue.task_done().unwrap();
/// # Ok::<(), asyncio::redis::RedisError>(())
/// # }).unwrap();
/// ```
pub struct RedisPriorityQueue<T> {
    shared: Rc<Shared>,
    held: RefCell<VecDeque<Vec<u8>>>,
    _item: PhantomData<fn(T) -> T>,
}

impl<T> Clone for RedisPriorityQueue<T> {
    /// Another handle to the same queue, on the same connections, holding no item yet.
    fn clone(&self) -> Self {
        RedisPriorityQueue {
            shared: self.shared.clone(),
            held: RefCell::new(VecDeque::new()),
            _item: PhantomData,
        }
    }
}

impl<T> fmt::Debug for RedisPriorityQueue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisPriorityQueue")
            .field("key", &self.shared.keys[0])
            .field("held", &self.held.borrow().len())
            .finish()
    }
}

impl<T: 'static> IntoFuture for Connect<RedisPriorityQueue<T>> {
    type Output = Result<RedisPriorityQueue<T>, RedisError>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output>>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            let shared = Shared::connect(&self.url, &self.name, self.opts).await?;
            Ok(RedisPriorityQueue {
                shared: Rc::new(shared),
                held: RefCell::new(VecDeque::new()),
                _item: PhantomData,
            })
        })
    }
}

impl<T: Serialize + DeserializeOwned + 'static> RedisPriorityQueue<T> {
    /// Connects to the priority queue `name` on the Redis at `url`; settings and errors as
    /// for [`Connect`].
    ///
    /// # Examples
    /// See [`RedisPriorityQueue`].
    pub fn connect(url: &str, name: &str) -> Connect<RedisPriorityQueue<T>> {
        Connect::new(url, name)
    }

    /// How many items wait, not yet delivered.
    ///
    /// # Errors
    /// Redis could not be reached.
    ///
    /// # Cancel safety
    /// Dropping the future loses nothing: it only reads.
    ///
    /// # Examples
    /// ```no_run
    /// # asyncio::run(async {
    /// # let queue = asyncio::redis::RedisPriorityQueue::<String>::connect("redis://127.0.0.1", "pq").await?;
    /// println!("{} jobs waiting", queue.qsize().await?);
    /// # Ok::<(), asyncio::redis::RedisError>(())
    /// # }).unwrap();
    /// ```
    pub async fn qsize(&self) -> Result<usize, RedisError> {
        let args: [&[u8]; 2] = [b"ZCARD", self.shared.keys[0].as_bytes()];
        Ok(reply::int(&self.shared.pool.call(&args).await?)?.max(0) as usize)
    }

    /// Whether no item waits.
    ///
    /// # Errors
    /// Redis could not be reached.
    ///
    /// # Cancel safety
    /// Dropping the future loses nothing: it only reads.
    ///
    /// # Examples
    /// ```no_run
    /// # asyncio::run(async {
    /// # let queue = asyncio::redis::RedisPriorityQueue::<String>::connect("redis://127.0.0.1", "pq").await?;
    /// if queue.empty().await? {
    ///     println!("nothing to do");
    /// }
    /// # Ok::<(), asyncio::redis::RedisError>(())
    /// # }).unwrap();
    /// ```
    pub async fn empty(&self) -> Result<bool, RedisError> {
        Ok(self.qsize().await? == 0)
    }

    /// Whether `maxsize` items wait (never, when `maxsize` is 0).
    ///
    /// # Errors
    /// Redis could not be reached.
    ///
    /// # Cancel safety
    /// Dropping the future loses nothing: it only reads.
    ///
    /// # Examples
    /// ```no_run
    /// # asyncio::run(async {
    /// # let queue = asyncio::redis::RedisPriorityQueue::<String>::connect("redis://127.0.0.1", "pq").await?;
    /// if queue.full().await? {
    ///     println!("the workers are behind");
    /// }
    /// # Ok::<(), asyncio::redis::RedisError>(())
    /// # }).unwrap();
    /// ```
    pub async fn full(&self) -> Result<bool, RedisError> {
        let max = self.shared.opts.maxsize;
        Ok(max > 0 && self.qsize().await? >= max)
    }

    /// Puts `(priority, item)`, waiting for room while the queue is full; `.delay(seconds)`
    /// on the returned [`PriorityPut`] schedules it for later. See [`PriorityPut`] for errors
    /// and cancellation.
    ///
    /// # Examples
    /// ```no_run
    /// # asyncio::run(async {
    /// # let queue = asyncio::redis::RedisPriorityQueue::<String>::connect("redis://127.0.0.1", "pq").await.unwrap();
    /// queue.put((1.0, "urgent".to_owned())).await.unwrap();
    /// queue.put((5.0, "tomorrow".to_owned())).delay(86_400.0).await.unwrap();
    /// # });
    /// ```
    pub fn put(&self, item: (f64, T)) -> PriorityPut<T> {
        PriorityPut {
            shared: self.shared.clone(),
            item,
            delay: 0.0,
        }
    }

    /// Puts `(priority, item)` without waiting for room.
    ///
    /// # Errors
    /// `PutNowaitError::Full` / `::ShutDown` with the item; `QueueError::Redis`.
    ///
    /// # Cancel safety
    /// Dropping the future drops the item, which may have been put already.
    ///
    /// # Examples
    /// ```no_run
    /// # asyncio::run(async {
    /// # let queue = asyncio::redis::RedisPriorityQueue::<String>::connect("redis://127.0.0.1", "pq").await?;
    /// if queue.put_nowait((1.0, "now".to_owned())).await.is_err() {
    ///     println!("full, or shut down");
    /// }
    /// # Ok::<(), asyncio::redis::RedisError>(())
    /// # }).unwrap();
    /// ```
    pub async fn put_nowait(
        &self,
        item: (f64, T),
    ) -> Result<(), QueueError<PutNowaitError<(f64, T)>>> {
        self.shared.put_once(item, 0.0).await
    }

    /// Takes the item with the smallest priority, waiting while the queue is empty. The wait
    /// does not poll: it blocks in Redis (`BLPOP` on a list that each put pushes to), and
    /// wakes when an item is put, when a delayed item is due or an item's visibility timeout
    /// ends, and at the latest after the poll interval (when a shutdown is seen).
    ///
    /// # Errors
    /// `QueueError::Queue(QueueShutDown(()))` once shut down and empty; `QueueError::Redis`.
    ///
    /// # Cancel safety
    /// Dropping the future loses no item (one popped as it was dropped comes back after the
    /// visibility timeout); the connection it was waiting on is closed.
    ///
    /// # Examples
    /// ```no_run
    /// # asyncio::run(async {
    /// # let queue = asyncio::redis::RedisPriorityQueue::<String>::connect("redis://127.0.0.1", "pq").await.unwrap();
    /// while let Ok((priority, job)) = queue.get().await {
    ///     println!("{priority}: {job}");
    ///     queue.task_done().unwrap();
    /// }
    /// # });
    /// ```
    pub async fn get(&self) -> Result<(f64, T), QueueError<QueueShutDown>> {
        loop {
            let wait_ms = match self.shared.take().await? {
                Taken::Item(priority, item, member) => {
                    self.held.borrow_mut().push_back(member);
                    return Ok((priority, item));
                }
                Taken::ShutDown => return Err(QueueError::Queue(QueueShutDown(()))),
                Taken::Empty(wait_ms) => wait_ms,
            };
            let poll = self.shared.opts.poll_interval;
            let wait = wait_ms.map_or(poll, |ms| (ms as f64 / 1000.0).clamp(0.001, poll));
            let timeout = format!("{wait:.3}");
            let args: [&[u8]; 3] = [b"BLPOP", self.shared.keys[9].as_bytes(), timeout.as_bytes()];
            self.shared.pool.call_blocking(&args).await?;
        }
    }

    /// Takes the item with the smallest priority if one waits. An item that does not
    /// deserialize goes to the dead letters with its error, and the next is taken.
    ///
    /// # Errors
    /// `GetNowaitError::Empty` / `::ShutDown`; `QueueError::Redis`.
    ///
    /// # Cancel safety
    /// Dropping the future loses no item (one popped as it was dropped comes back after the
    /// visibility timeout).
    ///
    /// # Examples
    /// ```no_run
    /// # asyncio::run(async {
    /// # let queue = asyncio::redis::RedisPriorityQueue::<String>::connect("redis://127.0.0.1", "pq").await.unwrap();
    /// match queue.get_nowait().await {
    ///     Ok((_, job)) => println!("{job}"),
    ///     Err(e) => println!("nothing to do: {e}"),
    /// }
    /// # });
    /// ```
    pub async fn get_nowait(&self) -> Result<(f64, T), QueueError<GetNowaitError>> {
        match self.shared.take().await? {
            Taken::Item(priority, item, member) => {
                self.held.borrow_mut().push_back(member);
                Ok((priority, item))
            }
            Taken::ShutDown => Err(QueueError::Queue(GetNowaitError::ShutDown(QueueShutDown(
                (),
            )))),
            Taken::Empty(_) => Err(QueueError::Queue(GetNowaitError::Empty(QueueEmpty))),
        }
    }

    /// Marks the oldest item this handle took and has not marked yet as processed; the ack
    /// is sent in the background ([`join`](Self::join) and [`flush`](Self::flush) wait).
    ///
    /// # Errors
    /// asyncio's `ValueError` when this handle holds no item.
    ///
    /// # Examples
    /// ```no_run
    /// # asyncio::run(async {
    /// # let queue = asyncio::redis::RedisPriorityQueue::<String>::connect("redis://127.0.0.1", "pq").await?;
    /// let (_, job) = queue.get().await.unwrap();
    /// println!("{job}");
    /// queue.task_done().unwrap();
    /// # Ok::<(), asyncio::redis::RedisError>(())
    /// # }).unwrap();
    /// ```
    pub fn task_done(&self) -> Result<(), ValueError> {
        let member = self.held.borrow_mut().pop_front().ok_or(ValueError {
            msg: "task_done() called too many times",
        })?;
        self.shared.ack(member);
        Ok(())
    }

    /// Waits until the acks of every `task_done` so far have reached Redis.
    ///
    /// # Errors
    /// The last error sending acks (those items will be delivered again).
    ///
    /// # Cancel safety
    /// Dropping it loses nothing.
    ///
    /// # Examples
    /// ```no_run
    /// # asyncio::run(async {
    /// # let queue = asyncio::redis::RedisPriorityQueue::<String>::connect("redis://127.0.0.1", "pq").await?;
    /// queue.get().await.unwrap();
    /// queue.task_done().unwrap();
    /// queue.flush().await?; // the ack is in Redis: the process may exit
    /// # Ok::<(), asyncio::redis::RedisError>(())
    /// # }).unwrap();
    /// ```
    pub async fn flush(&self) -> Result<(), RedisError> {
        self.shared.flush().await
    }

    /// Waits until every item put, by any process, is done (or dead-lettered).
    ///
    /// # Errors
    /// Redis could not be reached.
    ///
    /// # Cancel safety
    /// Dropping it loses nothing.
    ///
    /// # Examples
    /// ```no_run
    /// # asyncio::run(async {
    /// # let queue = asyncio::redis::RedisPriorityQueue::<String>::connect("redis://127.0.0.1", "pq").await?;
    /// queue.put((1.0, "a".to_owned())).await.unwrap();
    /// queue.join().await?; // done by whichever worker took it
    /// # Ok::<(), asyncio::redis::RedisError>(())
    /// # }).unwrap();
    /// ```
    pub async fn join(&self) -> Result<(), RedisError> {
        self.flush().await?;
        let keys = &self.shared.keys;
        let timeout = format!("{:.3}", self.shared.opts.poll_interval);
        loop {
            let args: [&[u8]; 2] = [b"GET", keys[1].as_bytes()];
            if reply::int(&self.shared.pool.call(&args).await?)? <= 0 {
                return Ok(());
            }
            let idle = keys[10].as_bytes();
            let args: [&[u8]; 6] = [b"BLMOVE", idle, idle, b"RIGHT", b"LEFT", timeout.as_bytes()];
            self.shared.pool.call_blocking(&args).await?;
        }
    }

    /// Shuts the queue down for every process, as [`RedisQueue::shutdown`](super::RedisQueue::shutdown).
    ///
    /// # Errors
    /// Redis could not be reached.
    ///
    /// # Cancel safety
    /// Dropping the future after the command was sent does not undo it: the queue may be
    /// shut down.
    ///
    /// # Examples
    /// ```no_run
    /// # asyncio::run(async {
    /// # let queue = asyncio::redis::RedisPriorityQueue::<String>::connect("redis://127.0.0.1", "pq").await?;
    /// queue.shutdown(false).await?;
    /// # Ok::<(), asyncio::redis::RedisError>(())
    /// # }).unwrap();
    /// ```
    pub async fn shutdown(&self, immediate: bool) -> Result<(), RedisError> {
        let flag: &[u8] = if immediate { b"1" } else { b"0" };
        self.shared
            .eval(&scripts::SHUTDOWN, &[flag])
            .await
            .map(drop)
    }

    /// The items given up on, oldest first.
    ///
    /// # Errors
    /// Redis could not be reached.
    ///
    /// # Cancel safety
    /// Dropping the future loses nothing: it only reads.
    ///
    /// # Examples
    /// ```no_run
    /// # asyncio::run(async {
    /// # let queue = asyncio::redis::RedisPriorityQueue::<String>::connect("redis://127.0.0.1", "pq").await?;
    /// for dead in queue.dead_letters().await? {
    ///     eprintln!("gave up on {}: {}", dead.data, dead.error);
    /// }
    /// # Ok::<(), asyncio::redis::RedisError>(())
    /// # }).unwrap();
    /// ```
    pub async fn dead_letters(&self) -> Result<Vec<DeadLetter>, RedisError> {
        let args: [&[u8]; 4] = [b"XRANGE", self.shared.keys[3].as_bytes(), b"-", b"+"];
        reply::dead_letters(self.shared.pool.call(&args).await?)
    }

    /// Deletes the queue from Redis.
    ///
    /// # Errors
    /// Redis could not be reached.
    ///
    /// # Cancel safety
    /// Dropping the future after the command was sent does not undo it: the queue may be
    /// deleted.
    ///
    /// # Examples
    /// ```no_run
    /// # asyncio::run(async {
    /// # let queue = asyncio::redis::RedisPriorityQueue::<String>::connect("redis://127.0.0.1", "pq").await?;
    /// queue.delete().await?;
    /// # Ok::<(), asyncio::redis::RedisError>(())
    /// # }).unwrap();
    /// ```
    pub async fn delete(&self) -> Result<(), RedisError> {
        let mut args: Vec<&[u8]> = vec![b"DEL"];
        args.extend(self.shared.keys.iter().map(|k| k.as_bytes()));
        self.shared.pool.call(&args).await.map(drop)
    }
}
