//! [`PriorityPut`]: the future of [`RedisPriorityQueue::put`](super::RedisPriorityQueue::put),
//! with [`delay`](PriorityPut::delay) for scheduled work. A delayed item waits in a sorted set
//! of its own (score: when it is due) and joins the queue, with its priority, at the first
//! `get` after it is due; a waiting `get` wakes for it.

use super::errors::{QueueError, RedisError};
use super::priority_core::Shared;
use super::priority_scripts as scripts;
use super::reply;
use crate::{PutNowaitError, QueueFull, QueueShutDown};
use serde::Serialize;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::rc::Rc;

/// Puts `(priority, item)` on a [`RedisPriorityQueue`](super::RedisPriorityQueue), waiting for
/// room while the queue is full; made by [`put`](super::RedisPriorityQueue::put). Await it.
///
/// # Errors
/// [`QueueError::Queue`] holding [`QueueShutDown`] with the pair once the queue is shut
/// down; [`QueueError::Redis`] when Redis cannot be reached within the reconnect timeout, or
/// the item cannot be turned into JSON (the item is then dropped).
///
/// # Cancel safety
/// Dropping it before it completes drops the item; it may have been put already (the
/// command was sent and Redis ran it).
///
/// # Examples
/// ```no_run
/// # asyncio::run(async {
/// # let queue = asyncio::redis::RedisPriorityQueue::<String>::connect("redis://127.0.0.1", "pq").await.unwrap();
/// queue.put((0.0, "now, first".to_owned())).await.unwrap();
/// queue.put((0.0, "in a minute".to_owned())).delay(60.0).await.unwrap();
/// # });
/// ```
#[must_use = "a PriorityPut does nothing until awaited"]
pub struct PriorityPut<T> {
    pub(super) shared: Rc<Shared>,
    pub(super) item: (f64, T),
    pub(super) delay: f64,
}

impl<T> PriorityPut<T> {
    /// Makes the item ready no sooner than `seconds` from now; it then comes out by its
    /// priority. A delayed item counts as unfinished for `join`, but neither in `qsize` nor
    /// against `maxsize` until it is due.
    ///
    /// # Examples
    /// See [`PriorityPut`].
    pub fn delay(mut self, seconds: f64) -> Self {
        self.delay = seconds.max(0.0);
        self
    }
}

impl<T: Serialize + 'static> IntoFuture for PriorityPut<T> {
    type Output = Result<(), QueueError<QueueShutDown<(f64, T)>>>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output>>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            let mut wait: f64 = 0.005;
            let mut item = self.item;
            loop {
                match self.shared.put_once(item, self.delay).await {
                    Ok(()) => return Ok(()),
                    Err(QueueError::Queue(PutNowaitError::Full(QueueFull(back)))) => {
                        item = back;
                        crate::sleep(wait).await;
                        wait = (wait * 2.0).min(self.shared.opts.poll_interval);
                    }
                    Err(QueueError::Queue(PutNowaitError::ShutDown(e))) => {
                        return Err(QueueError::Queue(e));
                    }
                    Err(QueueError::Redis(e)) => return Err(QueueError::Redis(e)),
                }
            }
        })
    }
}

impl Shared {
    /// One try at a put: checks the shut-down flag and the size, adds, counts, in one script.
    pub(super) async fn put_once<T: Serialize>(
        &self,
        item: (f64, T),
        delay: f64,
    ) -> Result<(), QueueError<PutNowaitError<(f64, T)>>> {
        let payload = serde_json::to_vec(&item.1).map_err(RedisError::Encode)?;
        let maxsize = self.opts.maxsize.to_string();
        let priority = item.0.to_string();
        let delay_ms = ((delay * 1000.0).ceil() as u64).to_string();
        let args: [&[u8]; 4] = [
            maxsize.as_bytes(),
            priority.as_bytes(),
            &payload,
            delay_ms.as_bytes(),
        ];
        let reply = reply::bytes(self.eval(&scripts::PUT, &args).await?)?;
        match reply.as_slice() {
            b"OK" => Ok(()),
            b"FULL" => Err(QueueError::Queue(PutNowaitError::Full(QueueFull(item)))),
            _ => Err(QueueError::Queue(PutNowaitError::ShutDown(QueueShutDown(
                item,
            )))),
        }
    }
}
