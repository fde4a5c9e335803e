//! [`RedisQueue`]: asyncio's `Queue` API on a Redis stream with a consumer group.

use super::connection::ConnInfo;
use super::core::{Keys, Shared};
use super::delay::{Put, put_once};
use super::errors::{QueueError, RedisError};
use super::options::Connect;
use super::pool::Pool;
use super::reply::{self, DeadLetter};
use super::scripts;
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

/// A first-in, first-out queue on Redis, shared by many processes on many machines, with
/// [`Queue`](crate::Queue)'s API. Items are `serde` values, stored as JSON.
///
/// Delivery is at least once: an item taken by a worker that dies before
/// [`task_done`](Self::task_done) is delivered again after the visibility timeout. See the
/// [module docs](super) for where duplicates can happen.
///
/// `task_done` marks done the oldest item that *this handle* took and has not marked done
/// yet: give each worker task its own handle ([`clone`](Clone::clone) makes one; clones share
/// the connections).
///
/// # Examples
/// ```no_run
/// # asyncio::run(async {
/// use asyncio::redis::RedisQueue;
/// let queue = RedisQueue::<u32>::connect("redis://127.0.0.1:6379", "jobs").await?;
/// queue.put(7).await.unwrap();
/// let job = queue.get().await.unwrap();
/// queue.task_done().unwrap();
/// queue.join().await?;
/// # let _ = job;
/// # Ok::<(), asyncio::redis::RedisError>(())
/// # }).unwrap();
/// ```
pub struct RedisQueue<T> {
    shared: Rc<Shared>,
    /// The ids this handle took and has not marked done, oldest first.
    held: RefCell<VecDeque<Vec<u8>>>,
    _item: PhantomData<fn(T) -> T>,
}

impl<T> Clone for RedisQueue<T> {
    /// Another handle to the same queue, on the same connections, holding no item yet.
    fn clone(&self) -> Self {
        RedisQueue {
            shared: self.shared.clone(),
            held: RefCell::new(VecDeque::new()),
            _item: PhantomData,
        }
    }
}

impl<T> fmt::Debug for RedisQueue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisQueue")
            .field("stream", &self.shared.keys.stream)
            .field("consumer", &self.shared.consumer)
            .field("held", &self.held.borrow().len())
            .finish()
    }
}

impl<T: 'static> IntoFuture for Connect<RedisQueue<T>> {
    type Output = Result<RedisQueue<T>, RedisError>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output>>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            let info = ConnInfo::parse(&self.url)?;
            let pool = Pool::connect(info, self.opts.reconnect_timeout).await?;
            let shared = Shared::new(pool, Keys::new(&self.name), self.opts);
            shared.ensure_group().await?;
            Ok(RedisQueue {
                shared: Rc::new(shared),
                held: RefCell::new(VecDeque::new()),
                _item: PhantomData,
            })
        })
    }
}

impl<T: Serialize + DeserializeOwned + 'static> RedisQueue<T> {
    /// Connects to the queue `name` on the Redis at `url`
    /// (`redis://[user:password@]host[:port][/db]`), making it if it is new. Settings are
    /// builder methods on [`Connect`]; see there for the errors.
    ///
    /// # Examples
    /// ```no_run
    /// # asyncio::run(async {
    /// let queue = asyncio::redis::RedisQueue::<String>::connect("redis://127.0.0.1", "q")
    ///     .visibility_timeout(5.0)
    ///     .await?;
    /// # let _ = queue;
    /// # Ok::<(), asyncio::redis::RedisError>(())
    /// # }).unwrap();
    /// ```
    pub fn connect(url: &str, name: &str) -> Connect<RedisQueue<T>> {
        Connect::new(url, name)
    }

    /// The most items the queue holds waiting; 0 means no limit.
    ///
    /// # Examples
    /// ```no_run
    /// # asyncio::run(async {
    /// # let queue = asyncio::redis::RedisQueue::<u32>::connect("redis://127.0.0.1", "jobs").await?;
    /// # let _ = &queue;
    /// let queue = asyncio::redis::RedisQueue::<u32>::connect("redis://127.0.0.1", "jobs")
    ///     .maxsize(100)
    ///     .await?;
    /// assert_eq!(queue.maxsize(), 100);
    /// # Ok::<(), asyncio::redis::RedisError>(())
    /// # }).unwrap();
    /// ```
    pub fn maxsize(&self) -> usize {
        self.shared.opts.maxsize
    }

    /// How many items wait in Redis, not yet delivered to any worker.
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
    /// # let queue = asyncio::redis::RedisQueue::<u32>::connect("redis://127.0.0.1", "jobs").await?;
    /// println!("{} jobs waiting", queue.qsize().await?);
    /// # Ok::<(), asyncio::redis::RedisError>(())
    /// # }).unwrap();
    /// ```
    pub async fn qsize(&self) -> Result<usize, RedisError> {
        let args: [&[u8]; 1] = [self.shared.keys.group.as_bytes()];
        let reply = self.shared.eval(&scripts::QSIZE, &args).await?;
        Ok(reply::int(&reply)?.max(0) as usize)
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
    /// # let queue = asyncio::redis::RedisQueue::<u32>::connect("redis://127.0.0.1", "jobs").await?;
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
    /// # let queue = asyncio::redis::RedisQueue::<u32>::connect("redis://127.0.0.1", "jobs").await?;
    /// if queue.full().await? {
    ///     println!("the workers are behind");
    /// }
    /// # Ok::<(), asyncio::redis::RedisError>(())
    /// # }).unwrap();
    /// ```
    pub async fn full(&self) -> Result<bool, RedisError> {
        let max = self.maxsize();
        Ok(max > 0 && self.qsize().await? >= max)
    }

    /// Puts an item, waiting for room while the queue is full; `.delay(seconds)` on the
    /// returned [`Put`] schedules it for later. See [`Put`] for errors and cancellation.
    ///
    /// # Examples
    /// ```no_run
    /// # asyncio::run(async {
    /// # let queue = asyncio::redis::RedisQueue::<u32>::connect("redis://127.0.0.1", "jobs").await?;
    /// queue.put(7).await.unwrap();
    /// queue.put(8).delay(60.0).await.unwrap(); // a minute from now
    /// # Ok::<(), asyncio::redis::RedisError>(())
    /// # }).unwrap();
    /// ```
    pub fn put(&self, item: T) -> Put<T> {
        Put {
            shared: self.shared.clone(),
            item,
            delay: 0.0,
        }
    }

    /// Puts many items in one command (all of them, or none while there is no room for
    /// all), waiting for room while the queue is full: the fast way to fill a queue.
    ///
    /// # Errors
    /// `QueueError::Queue(QueueShutDown(items))` once the queue is shut down, with the items;
    /// `QueueError::Redis` (the items are dropped).
    ///
    /// # Cancel safety
    /// Dropping the future drops the items, which may have been put already.
    ///
    /// # Examples
    /// ```no_run
    /// # asyncio::run(async {
    /// # let queue = asyncio::redis::RedisQueue::<u32>::connect("redis://127.0.0.1", "jobs").await?;
    /// queue.put_all((0..1000).collect()).await.unwrap();
    /// # Ok::<(), asyncio::redis::RedisError>(())
    /// # }).unwrap();
    /// ```
    pub async fn put_all(&self, items: Vec<T>) -> Result<(), QueueError<QueueShutDown<Vec<T>>>> {
        let mut args: Vec<Vec<u8>> = vec![
            self.shared.keys.group.clone().into_bytes(),
            self.maxsize().to_string().into_bytes(),
            self.shared.opts.entry_items.to_string().into_bytes(),
        ];
        for item in &items {
            args.push(serde_json::to_vec(item).map_err(RedisError::Encode)?);
        }
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
        let mut wait: f64 = 0.005;
        loop {
            let reply = reply::bytes(self.shared.eval(&scripts::PUT_ALL, &args).await?)?;
            match reply.as_slice() {
                b"OK" => return Ok(()),
                b"FULL" => {
                    crate::sleep(wait).await;
                    wait = (wait * 2.0).min(self.shared.opts.poll_interval);
                }
                _ => return Err(QueueError::Queue(QueueShutDown(items))),
            }
        }
    }

    /// Puts an item without waiting for room.
    ///
    /// # Errors
    /// `QueueError::Queue(PutNowaitError::Full)` when the queue is full,
    /// `…::ShutDown` once it is shut down (both give the item back); `QueueError::Redis`.
    ///
    /// # Cancel safety
    /// Dropping the future drops the item, which may have been put already.
    ///
    /// # Examples
    /// ```no_run
    /// # asyncio::run(async {
    /// # let queue = asyncio::redis::RedisQueue::<u32>::connect("redis://127.0.0.1", "jobs").await?;
    /// use asyncio::redis::QueueError;
    /// use asyncio::{PutNowaitError, QueueFull};
    /// match queue.put_nowait(7).await {
    ///     Ok(()) => {}
    ///     Err(QueueError::Queue(PutNowaitError::Full(QueueFull(item)))) => println!("no room for {item}"),
    ///     Err(e) => eprintln!("{e}"),
    /// }
    /// # Ok::<(), asyncio::redis::RedisError>(())
    /// # }).unwrap();
    /// ```
    pub async fn put_nowait(&self, item: T) -> Result<(), QueueError<PutNowaitError<T>>> {
        put_once(&self.shared, item, 0.0).await
    }

    /// Takes the next item, waiting while the queue is empty; fails with [`QueueShutDown`]
    /// once the queue is shut down and empty. An item that does not deserialize as `T` goes
    /// to the dead letters, with its error, and the next is taken.
    ///
    /// # Errors
    /// `QueueError::Queue(QueueShutDown(()))`; `QueueError::Redis`.
    ///
    /// # Cancel safety
    /// Dropping the future loses no item; an item Redis delivered as it was dropped is
    /// delivered again after the visibility timeout.
    ///
    /// # Examples
    /// ```no_run
    /// # asyncio::run(async {
    /// # let queue = asyncio::redis::RedisQueue::<u32>::connect("redis://127.0.0.1", "jobs").await?;
    /// // A worker: until the queue is shut down and drained.
    /// while let Ok(job) = queue.get().await {
    ///     println!("job {job}");
    ///     queue.task_done().unwrap();
    /// }
    /// # Ok::<(), asyncio::redis::RedisError>(())
    /// # }).unwrap();
    /// ```
    pub async fn get(&self) -> Result<T, QueueError<QueueShutDown>> {
        loop {
            if let Some(item) = self.next_prefetched().await? {
                return Ok(item);
            }
            self.shared.maintain_if_due().await?;
            if !self.shared.prefetched.borrow().is_empty() {
                continue;
            }
            let wait = self.shared.opts.poll_interval;
            if self.shared.read(Some(wait)).await? == 0 && self.shared.is_shut_down().await? {
                return Err(QueueError::Queue(QueueShutDown(())));
            }
        }
    }

    /// Takes the next item if one waits.
    ///
    /// # Errors
    /// `QueueError::Queue(GetNowaitError::Empty)` when none waits, `…::ShutDown` when the
    /// queue is also shut down; `QueueError::Redis`.
    ///
    /// # Cancel safety
    /// Dropping the future loses no item; an item Redis delivered as it was dropped is
    /// delivered again after the visibility timeout.
    ///
    /// # Examples
    /// ```no_run
    /// # asyncio::run(async {
    /// # let queue = asyncio::redis::RedisQueue::<u32>::connect("redis://127.0.0.1", "jobs").await?;
    /// match queue.get_nowait().await {
    ///     Ok(job) => {
    ///         println!("job {job}");
    ///         queue.task_done().unwrap();
    ///     }
    ///     Err(e) => println!("nothing now: {e}"),
    /// }
    /// # Ok::<(), asyncio::redis::RedisError>(())
    /// # }).unwrap();
    /// ```
    pub async fn get_nowait(&self) -> Result<T, QueueError<GetNowaitError>> {
        loop {
            if let Some(item) = self.next_prefetched().await? {
                return Ok(item);
            }
            self.shared.maintain_if_due().await?;
            if self.shared.prefetched.borrow().is_empty() && self.shared.read(None).await? == 0 {
                let why = if self.shared.is_shut_down().await? {
                    GetNowaitError::ShutDown(QueueShutDown(()))
                } else {
                    GetNowaitError::Empty(QueueEmpty)
                };
                return Err(QueueError::Queue(why));
            }
        }
    }

    /// The next item read ahead that deserializes; the others go to the dead letters (the
    /// other items of their entry are served).
    async fn next_prefetched(&self) -> Result<Option<T>, RedisError> {
        loop {
            let Some((id, payload, deliveries)) = self.shared.next_item() else {
                return Ok(None);
            };
            match serde_json::from_slice(&payload) {
                Ok(item) => {
                    self.held.borrow_mut().push_back(id);
                    return Ok(Some(item));
                }
                Err(e) => {
                    // Not counted done if this fails: the entry is delivered again.
                    let why = e.to_string();
                    self.shared
                        .dead_letter(&id, &payload, deliveries, &why)
                        .await?;
                    self.shared.item_done(id);
                }
            }
        }
    }

    /// Marks the oldest item this handle took and has not marked yet as processed. The ack
    /// is sent to Redis in the background, with those of the moment; [`join`](Self::join)
    /// and [`flush`](Self::flush) wait for it. An item whose ack was lost (the process died
    /// first) is delivered again.
    ///
    /// # Errors
    /// asyncio's `ValueError` when this handle holds no item.
    ///
    /// # Examples
    /// ```no_run
    /// # asyncio::run(async {
    /// # let queue = asyncio::redis::RedisQueue::<u32>::connect("redis://127.0.0.1", "jobs").await?;
    /// let job = queue.get().await.unwrap();
    /// println!("job {job}");
    /// queue.task_done().unwrap();
    /// # Ok::<(), asyncio::redis::RedisError>(())
    /// # }).unwrap();
    /// ```
    pub fn task_done(&self) -> Result<(), ValueError> {
        let id = self.held.borrow_mut().pop_front().ok_or(ValueError {
            msg: "task_done() called too many times",
        })?;
        self.shared.item_done(id);
        Ok(())
    }

    /// Waits until the acks of every `task_done` so far have reached Redis.
    ///
    /// # Errors
    /// The last error sending acks (those items will be delivered again).
    ///
    /// # Cancel safety
    /// Dropping it loses nothing: the acks go on being sent.
    ///
    /// # Examples
    /// ```no_run
    /// # asyncio::run(async {
    /// # let queue = asyncio::redis::RedisQueue::<u32>::connect("redis://127.0.0.1", "jobs").await?;
    /// let job = queue.get().await.unwrap();
    /// queue.task_done().unwrap();
    /// queue.flush().await?; // the ack is in Redis: the process may exit
    /// # let _ = job;
    /// # Ok::<(), asyncio::redis::RedisError>(())
    /// # }).unwrap();
    /// ```
    pub async fn flush(&self) -> Result<(), RedisError> {
        self.shared.flush().await
    }

    /// Waits until every item put, by any process, has been marked done by some worker (or
    /// sent to the dead letters): the count of puts minus acks, kept in Redis, is 0.
    ///
    /// # Errors
    /// Redis could not be reached.
    ///
    /// # Cancel safety
    /// Dropping it loses nothing (the connection it was waiting on is closed).
    ///
    /// # Examples
    /// ```no_run
    /// # asyncio::run(async {
    /// # let queue = asyncio::redis::RedisQueue::<u32>::connect("redis://127.0.0.1", "jobs").await?;
    /// queue.put_all((0..100).collect()).await.unwrap();
    /// queue.join().await?; // every job done, by whichever workers took them
    /// queue.shutdown(false).await?; // the workers' gets now fail: they stop
    /// # Ok::<(), asyncio::redis::RedisError>(())
    /// # }).unwrap();
    /// ```
    pub async fn join(&self) -> Result<(), RedisError> {
        self.flush().await?;
        let keys = &self.shared.keys;
        // Waits on the idle list (see the scripts), looking again each poll interval in case
        // Redis lost it.
        let timeout = format!("{:.3}", self.shared.opts.poll_interval);
        loop {
            let args: [&[u8]; 2] = [b"GET", keys.unfinished.as_bytes()];
            if reply::int(&self.shared.pool.call(&args).await?)? <= 0 {
                return Ok(());
            }
            let idle = keys.idle.as_bytes();
            let args: [&[u8]; 6] = [b"BLMOVE", idle, idle, b"RIGHT", b"LEFT", timeout.as_bytes()];
            self.shared.pool.call_blocking(&args).await?;
        }
    }

    /// Shuts the queue down for every process: puts fail from now on, and gets once the
    /// queue is empty (a waiting get sees it within the poll interval). With `immediate`,
    /// the items not yet delivered, and the delayed ones, are dropped and counted done.
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
    /// # let queue = asyncio::redis::RedisQueue::<u32>::connect("redis://127.0.0.1", "jobs").await?;
    /// queue.shutdown(false).await?;
    /// assert!(queue.put(1).await.is_err());
    /// # Ok::<(), asyncio::redis::RedisError>(())
    /// # }).unwrap();
    /// ```
    pub async fn shutdown(&self, immediate: bool) -> Result<(), RedisError> {
        let flag: &[u8] = if immediate { b"1" } else { b"0" };
        let args: [&[u8]; 2] = [self.shared.keys.group.as_bytes(), flag];
        self.shared.eval(&scripts::SHUTDOWN, &args).await.map(drop)
    }

    /// Whether the queue was shut down (by any process).
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
    /// # let queue = asyncio::redis::RedisQueue::<u32>::connect("redis://127.0.0.1", "jobs").await?;
    /// if queue.is_shut_down().await? {
    ///     println!("no more work will come");
    /// }
    /// # Ok::<(), asyncio::redis::RedisError>(())
    /// # }).unwrap();
    /// ```
    pub async fn is_shut_down(&self) -> Result<bool, RedisError> {
        self.shared.is_shut_down().await
    }

    /// The items given up on: those that did not deserialize, and those delivered
    /// `max_deliveries` times without `task_done`; oldest first.
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
    /// # let queue = asyncio::redis::RedisQueue::<u32>::connect("redis://127.0.0.1", "jobs").await?;
    /// for dead in queue.dead_letters().await? {
    ///     eprintln!("gave up on {}: {}", dead.data, dead.error);
    /// }
    /// # Ok::<(), asyncio::redis::RedisError>(())
    /// # }).unwrap();
    /// ```
    pub async fn dead_letters(&self) -> Result<Vec<DeadLetter>, RedisError> {
        let args: [&[u8]; 4] = [b"XRANGE", self.shared.keys.dead.as_bytes(), b"-", b"+"];
        reply::dead_letters(self.shared.pool.call(&args).await?)
    }

    /// Deletes the queue from Redis: its items, counts, dead letters and shut-down flag.
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
    /// # let queue = asyncio::redis::RedisQueue::<u32>::connect("redis://127.0.0.1", "jobs").await?;
    /// queue.delete().await?; // a fresh, empty queue under the same name
    /// # Ok::<(), asyncio::redis::RedisError>(())
    /// # }).unwrap();
    /// ```
    pub async fn delete(&self) -> Result<(), RedisError> {
        let mut args: Vec<&[u8]> = vec![b"DEL"];
        args.extend(self.shared.keys.all());
        self.shared.pool.call(&args).await?;
        self.shared.forget();
        self.shared.ensure_group().await
    }
}
