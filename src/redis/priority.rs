//! [`RedisPriorityQueue`]: asyncio's `PriorityQueue` API on a Redis sorted set.

use super::connection::ConnInfo;
use super::errors::{QueueError, RedisError};
use super::options::{Connect, Options};
use super::pool::{Pool, Script};
use super::priority_scripts as scripts;
use super::reply::{self, DeadLetter};
use crate::{GetNowaitError, PutNowaitError, QueueEmpty, QueueFull, QueueShutDown, ValueError};
use redis_protocol::resp2::types::OwnedFrame as Frame;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::pin::Pin;
use std::rc::Rc;

struct Shared {
    pool: Pool,
    keys: [String; 8],
    opts: Options,
    acks_in_flight: Cell<usize>,
    ack_error: RefCell<Option<RedisError>>,
}

impl Shared {
    async fn eval(&self, script: &Script, args: &[&[u8]]) -> Result<Frame, RedisError> {
        let keys: Vec<&[u8]> = self.keys.iter().map(|k| k.as_bytes()).collect();
        self.pool.eval(script, &keys, args).await
    }
}

/// A priority queue on Redis, shared by many processes (asyncio's `PriorityQueue`): items
/// are `(priority, item)` pairs, and `get` takes the one with the smallest priority; equal
/// priorities come out first in, first out. Items are `serde` values, stored as JSON.
///
/// Delivery is at least once, as for [`RedisQueue`](super::RedisQueue): an item not
/// `task_done` within the visibility timeout goes back in the queue with its priority (to
/// the dead letters after `max_deliveries`). A waiting `get` polls Redis, backing off up to
/// the poll interval. `task_done` marks done the oldest item this handle took.
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
            let info = ConnInfo::parse(&self.url)?;
            let pool = Pool::connect(info, self.opts.reconnect_timeout).await?;
            let name = &self.name;
            let keys = [
                "pq",
                "unfinished",
                "shutdown",
                "dead",
                "running",
                "stats",
                "seq",
                "deliveries",
            ]
            .map(|suffix| format!("{{{name}}}:{suffix}"));
            Ok(RedisPriorityQueue {
                shared: Rc::new(Shared {
                    pool,
                    keys,
                    opts: self.opts,
                    acks_in_flight: Cell::new(0),
                    ack_error: RefCell::new(None),
                }),
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
    pub async fn qsize(&self) -> Result<usize, RedisError> {
        let args: [&[u8]; 2] = [b"ZCARD", self.shared.keys[0].as_bytes()];
        Ok(reply::int(&self.shared.pool.call(&args).await?)?.max(0) as usize)
    }

    /// Whether no item waits.
    ///
    /// # Errors
    /// Redis could not be reached.
    pub async fn empty(&self) -> Result<bool, RedisError> {
        Ok(self.qsize().await? == 0)
    }

    /// Whether `maxsize` items wait (never, when `maxsize` is 0).
    ///
    /// # Errors
    /// Redis could not be reached.
    pub async fn full(&self) -> Result<bool, RedisError> {
        let max = self.shared.opts.maxsize;
        Ok(max > 0 && self.qsize().await? >= max)
    }

    /// Puts `(priority, item)`, waiting for room while the queue is full.
    ///
    /// # Errors
    /// `QueueError::Queue(QueueShutDown((priority, item)))` once shut down; `QueueError::Redis`.
    ///
    /// # Cancel safety
    /// Dropping the future drops the item, which may have been put already.
    pub async fn put(&self, item: (f64, T)) -> Result<(), QueueError<QueueShutDown<(f64, T)>>> {
        let mut wait: f64 = 0.005;
        let mut item = item;
        loop {
            match self.put_nowait(item).await {
                Ok(()) => return Ok(()),
                Err(QueueError::Queue(PutNowaitError::Full(QueueFull(back)))) => {
                    item = back;
                    crate::sleep(wait).await;
                    wait = (wait * 2.0).min(self.shared.opts.poll_interval);
                }
                Err(QueueError::Queue(PutNowaitError::ShutDown(e))) => {
                    return Err(QueueError::Queue(e))
                }
                Err(QueueError::Redis(e)) => return Err(QueueError::Redis(e)),
            }
        }
    }

    /// Puts `(priority, item)` without waiting for room.
    ///
    /// # Errors
    /// `PutNowaitError::Full` / `::ShutDown` with the item; `QueueError::Redis`.
    ///
    /// # Cancel safety
    /// As [`put`](Self::put).
    pub async fn put_nowait(
        &self,
        item: (f64, T),
    ) -> Result<(), QueueError<PutNowaitError<(f64, T)>>> {
        let payload = serde_json::to_vec(&item.1).map_err(RedisError::Encode)?;
        let maxsize = self.shared.opts.maxsize.to_string();
        let priority = item.0.to_string();
        let args: [&[u8]; 3] = [maxsize.as_bytes(), priority.as_bytes(), &payload];
        let reply = reply::bytes(self.shared.eval(&scripts::PUT, &args).await?)?;
        match reply.as_slice() {
            b"OK" => Ok(()),
            b"FULL" => Err(QueueError::Queue(PutNowaitError::Full(QueueFull(item)))),
            _ => Err(QueueError::Queue(PutNowaitError::ShutDown(QueueShutDown(
                item,
            )))),
        }
    }

    /// Takes the item with the smallest priority, waiting while the queue is empty.
    ///
    /// # Errors
    /// `QueueError::Queue(QueueShutDown(()))` once shut down and empty; `QueueError::Redis`.
    ///
    /// # Cancel safety
    /// Dropping the future loses no item (one popped as it was dropped comes back after the
    /// visibility timeout).
    pub async fn get(&self) -> Result<(f64, T), QueueError<QueueShutDown>> {
        let mut wait: f64 = 0.002;
        loop {
            match self.get_nowait().await {
                Ok(item) => return Ok(item),
                Err(QueueError::Queue(GetNowaitError::ShutDown(e))) => {
                    return Err(QueueError::Queue(e))
                }
                Err(QueueError::Queue(GetNowaitError::Empty(_))) => {
                    crate::sleep(wait).await;
                    wait = (wait * 2.0).min(self.shared.opts.poll_interval);
                }
                Err(QueueError::Redis(e)) => return Err(QueueError::Redis(e)),
            }
        }
    }

    /// Takes the item with the smallest priority if one waits. An item that does not
    /// deserialize goes to the dead letters with its error, and the next is taken.
    ///
    /// # Errors
    /// `GetNowaitError::Empty` / `::ShutDown`; `QueueError::Redis`.
    ///
    /// # Cancel safety
    /// As [`get`](Self::get).
    pub async fn get_nowait(&self) -> Result<(f64, T), QueueError<GetNowaitError>> {
        loop {
            let vis = ((self.shared.opts.visibility_timeout * 1000.0) as u64).to_string();
            let max = self.shared.opts.max_deliveries.to_string();
            let args: [&[u8]; 2] = [vis.as_bytes(), max.as_bytes()];
            let popped = reply::array(self.shared.eval(&scripts::GET, &args).await?)?;
            if popped.is_empty() {
                let args: [&[u8]; 2] = [b"EXISTS", self.shared.keys[2].as_bytes()];
                let shut = reply::int(&self.shared.pool.call(&args).await?)? == 1;
                return Err(QueueError::Queue(if shut {
                    GetNowaitError::ShutDown(QueueShutDown(()))
                } else {
                    GetNowaitError::Empty(QueueEmpty)
                }));
            }
            let mut parts = popped.into_iter();
            let member = reply::bytes(parts.next().unwrap_or(Frame::Null))?;
            let priority = reply::bytes(parts.next().unwrap_or(Frame::Null))?;
            let deliveries = reply::int(&parts.next().unwrap_or(Frame::Null))?.to_string();
            let priority: f64 = String::from_utf8_lossy(&priority).parse().unwrap_or(0.0);
            let json = member.splitn(2, |&b| b == b'|').nth(1).unwrap_or_default();
            match serde_json::from_slice(json) {
                Ok(item) => {
                    self.held.borrow_mut().push_back(member);
                    return Ok((priority, item));
                }
                Err(e) => {
                    let error = e.to_string();
                    let args: [&[u8]; 3] = [&member, error.as_bytes(), deliveries.as_bytes()];
                    self.shared.eval(&scripts::DEAD, &args).await?;
                }
            }
        }
    }

    /// Marks the oldest item this handle took and has not marked yet as processed; the ack
    /// is sent in the background ([`join`](Self::join) and [`flush`](Self::flush) wait).
    ///
    /// # Errors
    /// asyncio's `ValueError` when this handle holds no item.
    pub fn task_done(&self) -> Result<(), ValueError> {
        let member = self.held.borrow_mut().pop_front().ok_or(ValueError {
            msg: "task_done() called too many times",
        })?;
        let shared = self.shared.clone();
        shared.acks_in_flight.set(shared.acks_in_flight.get() + 1);
        let _ack = crate::create_task(async move {
            if let Err(e) = shared.eval(&scripts::ACK, &[&member]).await {
                log::error!("redis priority queue: ack not sent: {e}");
                *shared.ack_error.borrow_mut() = Some(e);
            }
            shared.acks_in_flight.set(shared.acks_in_flight.get() - 1);
        });
        Ok(())
    }

    /// Waits until the acks of every `task_done` so far have reached Redis.
    ///
    /// # Errors
    /// The last error sending acks (those items will be delivered again).
    ///
    /// # Cancel safety
    /// Dropping it loses nothing.
    pub async fn flush(&self) -> Result<(), RedisError> {
        while self.shared.acks_in_flight.get() > 0 {
            crate::sleep(0.0005).await;
        }
        self.shared
            .ack_error
            .borrow_mut()
            .take()
            .map_or(Ok(()), Err)
    }

    /// Waits until every item put, by any process, is done (or dead-lettered).
    ///
    /// # Errors
    /// Redis could not be reached.
    ///
    /// # Cancel safety
    /// Dropping it loses nothing.
    pub async fn join(&self) -> Result<(), RedisError> {
        self.flush().await?;
        let mut wait: f64 = 0.002;
        loop {
            let args: [&[u8]; 2] = [b"GET", self.shared.keys[1].as_bytes()];
            if reply::int(&self.shared.pool.call(&args).await?)? <= 0 {
                return Ok(());
            }
            crate::sleep(wait).await;
            wait = (wait * 2.0).min(self.shared.opts.poll_interval);
        }
    }

    /// Shuts the queue down for every process, as [`RedisQueue::shutdown`](super::RedisQueue::shutdown).
    ///
    /// # Errors
    /// Redis could not be reached.
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
    pub async fn dead_letters(&self) -> Result<Vec<DeadLetter>, RedisError> {
        let args: [&[u8]; 4] = [b"XRANGE", self.shared.keys[3].as_bytes(), b"-", b"+"];
        reply::dead_letters(self.shared.pool.call(&args).await?)
    }

    /// Deletes the queue from Redis.
    ///
    /// # Errors
    /// Redis could not be reached.
    pub async fn delete(&self) -> Result<(), RedisError> {
        let mut args: Vec<&[u8]> = vec![b"DEL"];
        args.extend(self.shared.keys.iter().map(|k| k.as_bytes()));
        self.shared.pool.call(&args).await.map(drop)
    }
}
