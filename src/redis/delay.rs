//! [`Put`]: the future of [`RedisQueue::put`](super::RedisQueue::put), with
//! [`delay`](Put::delay) for scheduled work. A delayed item waits in a sorted set (score: when
//! it is due) and is moved into the stream by whichever worker looks first after it is due.

use super::core::Shared;
use super::errors::{QueueError, RedisError};
use super::reply;
use super::scripts;
use crate::{PutNowaitError, QueueFull, QueueShutDown};
use serde::Serialize;
use std::cell::RefCell;
use std::future::{Future, IntoFuture, poll_fn};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Poll, Waker};

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
    /// interval). A delayed item counts as unfinished for `join`, but neither in `qsize` nor
    /// against `maxsize`.
    ///
    /// # Examples
    /// See [`Put`].
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
                        return Err(QueueError::Queue(e));
                    }
                    Err(QueueError::Redis(e)) => return Err(QueueError::Redis(e)),
                }
            }
        })
    }
}

/// The puts of one turn of the loop, sent together in one script call by a task of their
/// own: a producer that starts many puts at once pays one round trip and one script run for
/// all of them, not one each.
#[derive(Default)]
pub(crate) struct PutBatch {
    /// For each put: its JSON, its delay in ms, and its uid (delayed items only).
    args: RefCell<Vec<Vec<u8>>>,
    /// Each put's status (`OK`, `FULL`, `SHUTDOWN`), or the error of the call.
    outcome: RefCell<Option<Result<Vec<Vec<u8>>, RedisError>>>,
    wakers: RefCell<Vec<Waker>>,
}

/// The most puts one script call carries: a longer script would hold Redis up.
const MAX_BATCH: usize = 512;

/// Adds a put to the current batch (starting one, and the task that sends it, if need be);
/// the batch and the put's place in it.
fn enqueue(shared: &Rc<Shared>, payload: Vec<u8>, delay_ms: u64) -> (Rc<PutBatch>, usize) {
    let current = shared.put_batch.borrow().clone();
    let batch = match current {
        Some(b) if b.args.borrow().len() < 3 * MAX_BATCH => b,
        _ => {
            let b = Rc::new(PutBatch::default());
            *shared.put_batch.borrow_mut() = Some(b.clone());
            let _sender = crate::create_task(send(shared.clone(), b.clone()));
            b
        }
    };
    let uid = if delay_ms > 0 {
        shared.next_uid()
    } else {
        String::new()
    };
    let mut args = batch.args.borrow_mut();
    let place = args.len() / 3;
    args.extend([payload, delay_ms.to_string().into_bytes(), uid.into_bytes()]);
    drop(args);
    (batch, place)
}

/// Sends a batch, on the task's first step: the puts made before it ran are in it.
async fn send(shared: Rc<Shared>, batch: Rc<PutBatch>) {
    {
        let mut current = shared.put_batch.borrow_mut();
        if current.as_ref().is_some_and(|b| Rc::ptr_eq(b, &batch)) {
            *current = None;
        }
    }
    let items = std::mem::take(&mut *batch.args.borrow_mut());
    let maxsize = shared.opts.maxsize.to_string();
    let per_entry = shared.opts.entry_items.to_string();
    let mut args: Vec<&[u8]> = vec![
        shared.keys.group.as_bytes(),
        maxsize.as_bytes(),
        per_entry.as_bytes(),
    ];
    args.extend(items.iter().map(|a| a.as_slice()));
    let outcome = match shared.eval(&scripts::PUT, &args).await {
        Ok(frame) => reply::array(frame).and_then(|statuses| {
            statuses
                .into_iter()
                .map(reply::bytes)
                .collect::<Result<Vec<_>, _>>()
        }),
        Err(e) => Err(e),
    };
    *batch.outcome.borrow_mut() = Some(outcome);
    for waker in batch.wakers.borrow_mut().drain(..) {
        waker.wake();
    }
}

/// One try at a put: checks the shut-down flag and the size, adds, counts, in one script
/// call with the other puts of this turn.
pub(crate) async fn put_once<T: Serialize>(
    shared: &Rc<Shared>,
    item: T,
    delay: f64,
) -> Result<(), QueueError<PutNowaitError<T>>> {
    let payload = serde_json::to_vec(&item).map_err(RedisError::Encode)?;
    let delay_ms = (delay * 1000.0).ceil() as u64;
    let (batch, place) = enqueue(shared, payload, delay_ms);
    let status = poll_fn(|cx| match &*batch.outcome.borrow() {
        Some(Ok(statuses)) => Poll::Ready(Ok(statuses.get(place).cloned().unwrap_or_default())),
        Some(Err(e)) => Poll::Ready(Err(e.duplicate())),
        None => {
            batch.wakers.borrow_mut().push(cx.waker().clone());
            Poll::Pending
        }
    })
    .await?;
    match status.as_slice() {
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
