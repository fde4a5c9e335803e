//! [`Put`]: the future of [`RedisQueue::put`](super::RedisQueue::put), with
//! [`delay`](Put::delay) for scheduled work. A delayed item waits in a sorted set (score: when
//! it is due) and is moved into the stream by whichever worker looks first after it is due.

use super::core::Shared;
use super::errors::{QueueError, RedisError};
use super::scripts;
use crate::{PutNowaitError, QueueFull, QueueShutDown};
use serde::Serialize;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::rc::Rc;

/// Puts an item on a [`RedisQueue`](super::RedisQueue), waiting for room while the queue is
/// full; made by [`put`](super::RedisQueue::put). Await it.
///
/// # Errors
/// [`QueueError::Queue`] holding [`QueueShutDown`] with the item once the queue is shut
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
/// # let queue = asyncio::redis::RedisQueue::<String>::connect("redis://127.0.0.1", "mail").await.unwrap();
/// queue.put("now".to_owned()).await.unwrap();
/// queue.put("in an hour".to_owned()).delay(3600.0).await.unwrap();
/// # });
/// ```
#[must_use = "a Put does nothing until awaited"]
pub struct Put<T> {
    pub(crate) shared: Rc<Shared>,
    pub(crate) item: T,
    pub(crate) delay: f64,
}

impl<T> Put<T> {
    /// Delivers the item no sooner than `seconds` from now (to within the workers' poll
    /// interval). A delayed item counts as unfinished for `join`, but not in `qsize`.
    pub fn delay(mut self, seconds: f64) -> Self {
        self.delay = seconds.max(0.0);
        self
    }
}

impl<T: Serialize + 'static> IntoFuture for Put<T> {
    type Output = Result<(), QueueError<QueueShutDown<T>>>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output>>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            let mut wait: f64 = 0.005;
            let mut item = self.item;
            loop {
                match put_once(&self.shared, item, self.delay).await {
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
        })
    }
}

/// One try at a put: checks the shut-down flag and the size, adds, counts, in one script.
pub(crate) async fn put_once<T: Serialize>(
    shared: &Shared,
    item: T,
    delay: f64,
) -> Result<(), QueueError<PutNowaitError<T>>> {
    let payload = serde_json::to_vec(&item).map_err(RedisError::Encode)?;
    let maxsize = shared.opts.maxsize.to_string();
    let delay_ms = ((delay * 1000.0).ceil() as u64).to_string();
    let uid = if delay > 0.0 {
        shared.next_uid()
    } else {
        String::new()
    };
    let args: [&[u8]; 5] = [
        shared.keys.group.as_bytes(),
        maxsize.as_bytes(),
        &payload,
        delay_ms.as_bytes(),
        uid.as_bytes(),
    ];
    let reply = super::reply::bytes(shared.eval(&scripts::PUT, &args).await?)?;
    match reply.as_slice() {
        b"OK" => Ok(()),
        b"FULL" => Err(QueueError::Queue(PutNowaitError::Full(QueueFull(item)))),
        b"SHUTDOWN" => Err(QueueError::Queue(PutNowaitError::ShutDown(QueueShutDown(
            item,
        )))),
        other => Err(QueueError::Redis(RedisError::Protocol(format!(
            "PUT answered {:?}",
            String::from_utf8_lossy(other)
        )))),
    }
}
