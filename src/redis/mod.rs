//! Queues on Redis, with asyncio's `Queue` API, for work that outgrows one machine (feature
//! `redis`): [`RedisQueue`] on a Redis stream with a consumer group, [`RedisPriorityQueue`]
//! on a sorted set, and `put(item).delay(seconds)` for scheduled work.
//!
//! Moving a producer/worker program from one process to many machines changes one line:
//! `Queue::new(0)` becomes `RedisQueue::connect(url, "jobs").await?`. Every call that talks
//! to Redis is `async` and may fail with a [`RedisError`]; the queue's own errors are the
//! same types as [`Queue`](crate::Queue)'s, inside [`QueueError::Queue`].
//!
//! It needs Redis 6.2 or later (`XAUTOCLAIM`, `XTRIM MINID`, `BLMOVE`).
//!
//! # How it works
//! - `put` is one Lua script: check the shut-down flag and `maxsize`, `XADD` the item's JSON,
//!   count it in the queue's unfinished counter. The puts a process starts in one turn of
//!   its loop go together, in one script call; `put_all` puts a whole batch in one. The
//!   items of one call go into the stream as entries of up to `entry_items` (64) items each
//!   (a lone put is an entry of one): Redis's work is per entry, so a batch costs it a
//!   fraction per item. A worker reads whole entries: for long jobs put in batches, set
//!   [`entry_items(1)`](Connect::entry_items) so that they spread over the workers.
//! - `get` reads with `XREADGROUP … COUNT prefetch BLOCK` on a connection of its own, into a
//!   buffer of the handle; the item is then pending on this worker (its consumer) until
//!   `task_done` acks it. Items read ahead and not handed out yet are pending too, so they
//!   are delivered again if the process dies. The items of one entry are handed out one by
//!   one, to whichever handles of the process call `get`; the entry is acked when all of
//!   them are `task_done`, which counts all its items done at once (so `join` sees them
//!   done together). `task_done` does not wait: the acks of a moment go to Redis together,
//!   in one script (`XACK` of their entries, the counter's decrement). `join` waits for the counter to reach 0, blocking on a list the last ack
//!   fills, so it works across processes and does not poll.
//! - Acked entries are not deleted one by one: the ack script trims the stream below the
//!   oldest entry still pending (or, with none pending, below the last one delivered), so
//!   nothing undelivered or unacked is ever trimmed (see `scripts.rs` for the argument).
//! - Every poll interval a waiting worker runs `XAUTOCLAIM` on items idle longer than the
//!   visibility timeout (30 s by default): the items of a worker that died are delivered
//!   again. Each delivery of an entry is counted; past `max_deliveries` (5) its items go to
//!   the dead-letter stream `{name}:dead`, a letter each. An item that does not deserialize
//!   goes there alone, with its error, and the other items of its entry are served. Both
//!   count as done for `join`.
//! - Connections are pooled on the loop: four pipelined connections for commands, one per
//!   waiting `get` or `join` for the blocking reads; the commands of one turn go in one
//!   write; a broken connection is replaced, with back-off, until the reconnect timeout.
//!
//! # Where duplicates can happen, and idempotent handlers
//! Delivery is *at least once*. An item is delivered again, after the visibility timeout,
//! when:
//! - the worker died (or lost Redis for good) after taking it and before its ack reached
//!   Redis: `task_done` sends acks in the background, so a process that exits right after
//!   `task_done` without [`flush`](RedisQueue::flush) or [`join`](RedisQueue::join) loses
//!   its last acks;
//! - the job ran longer than the visibility timeout: another worker takes it while the first
//!   still runs (set the timeout above the longest job);
//! - a `put` was retried after the connection broke with the command sent but no answer:
//!   the item may be in the queue twice;
//! - the item came in an entry of several (puts of one turn, `put_all`): the entry is
//!   acked once all its items are done, so a worker that dies after finishing some of them
//!   has them all delivered again, the finished ones with the rest (and a bad item of it is
//!   dead-lettered again). A worker that must not redo finished items should use lone,
//!   awaited puts, or the idempotent handler below.
//!
//! Make the handler idempotent: give each item an id of its own (put it in the item), and
//! have the handler record the ids it finished where its effect is stored, in the same
//! transaction as the effect (`INSERT … ON CONFLICT DO NOTHING`, `SET id NX` in Redis), and
//! skip an id already recorded. Effects that cannot be undone or checked (an email) need that
//! record checked before and written right after.
//!
//! # Examples
//! ```no_run
//! use asyncio::redis::RedisQueue;
//!
//! # asyncio::run(async {
//! let queue = RedisQueue::<String>::connect("redis://127.0.0.1:6379", "emails").await?;
//! queue.put("hello@example.com".to_owned()).await.unwrap();
//! // In a worker process:
//! let address = queue.get().await.unwrap();
//! println!("sending to {address}");
//! queue.task_done().unwrap();
//! queue.join().await?;
//! # Ok::<(), asyncio::redis::RedisError>(())
//! # }).unwrap();
//! ```
#![forbid(unsafe_code)]

mod connection;
mod core;
mod delay;
mod errors;
mod options;
mod pool;
mod priority;
mod priority_core;
mod priority_put;
mod priority_scripts;
mod queue;
mod reply;
mod scripts;

pub use delay::Put;
pub use errors::{QueueError, RedisError};
pub use options::Connect;
pub use priority::RedisPriorityQueue;
pub use priority_put::PriorityPut;
pub use queue::RedisQueue;
pub use reply::DeadLetter;
