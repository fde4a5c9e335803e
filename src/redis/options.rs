//! [`Connect`]: the builder `RedisQueue::connect(url, name)` returns, with the queue's
//! settings; awaiting it connects.

use std::marker::PhantomData;

/// The settings of a queue handle.
#[derive(Clone, Debug)]
pub(crate) struct Options {
    pub maxsize: usize,
    pub visibility_timeout: f64,
    pub max_deliveries: u32,
    pub poll_interval: f64,
    pub prefetch: usize,
    pub entry_items: usize,
    pub reconnect_timeout: f64,
    pub consumer: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            maxsize: 0,
            visibility_timeout: 30.0,
            max_deliveries: 5,
            poll_interval: 1.0,
            prefetch: 1,
            entry_items: 64,
            reconnect_timeout: 30.0,
            consumer: None,
        }
    }
}

/// Connects a queue handle to Redis: made by
/// [`RedisQueue::connect`](super::RedisQueue::connect) and
/// [`RedisPriorityQueue::connect`](super::RedisPriorityQueue::connect); the settings are
/// builder methods, and awaiting it connects.
///
/// # Errors
/// Awaiting it fails with [`RedisError::BadUrl`](super::RedisError::BadUrl) for a URL it
/// cannot read, [`RedisError::Connect`](super::RedisError::Connect) when nothing answers at
/// the address (it tries once), [`RedisError::Auth`](super::RedisError::Auth) when Redis
/// wants a password the URL does not give.
///
/// # Cancel safety
/// Dropping it before it completes closes the connection it was making; nothing is written.
///
/// # Examples
/// ```no_run
/// # asyncio::run(async {
/// use asyncio::redis::RedisQueue;
/// let queue = RedisQueue::<String>::connect("redis://127.0.0.1:6379", "emails")
///     .maxsize(1000)
///     .visibility_timeout(60.0)
///     .max_deliveries(3)
///     .await?;
/// # let _ = queue;
/// # Ok::<(), asyncio::redis::RedisError>(())
/// # }).unwrap();
/// ```
#[must_use = "a Connect does nothing until awaited"]
pub struct Connect<Q> {
    pub(crate) url: String,
    pub(crate) name: String,
    pub(crate) opts: Options,
    pub(crate) _queue: PhantomData<fn() -> Q>,
}

impl<Q> Connect<Q> {
    pub(crate) fn new(url: &str, name: &str) -> Self {
        Connect {
            url: url.to_owned(),
            name: name.to_owned(),
            opts: Options::default(),
            _queue: PhantomData,
        }
    }

    /// The most items waiting in the queue (not yet delivered to a worker); 0, the default,
    /// means no limit. A put waits (`put_nowait` fails with `QueueFull`) while the queue
    /// holds that many.
    ///
    /// # Examples
    /// ```no_run
    /// # asyncio::run(async {
    /// let queue = asyncio::redis::RedisQueue::<String>::connect("redis://127.0.0.1", "q")
    ///     .maxsize(1000)
    ///     .await?;
    /// # let _ = queue;
    /// # Ok::<(), asyncio::redis::RedisError>(())
    /// # }).unwrap();
    /// ```
    pub fn maxsize(mut self, maxsize: usize) -> Self {
        self.opts.maxsize = maxsize;
        self
    }

    /// How long, in seconds, a worker may hold an item without `task_done` before the item
    /// may be delivered to another worker (30 s by default). Set it longer than the longest
    /// job: a job still running past it is run twice.
    ///
    /// # Examples
    /// ```no_run
    /// # asyncio::run(async {
    /// let queue = asyncio::redis::RedisQueue::<String>::connect("redis://127.0.0.1", "q")
    ///     .visibility_timeout(600.0) // jobs take up to 5 minutes
    ///     .await?;
    /// # let _ = queue;
    /// # Ok::<(), asyncio::redis::RedisError>(())
    /// # }).unwrap();
    /// ```
    pub fn visibility_timeout(mut self, seconds: f64) -> Self {
        self.opts.visibility_timeout = seconds.max(0.001);
        self
    }

    /// How many times an item is delivered before it goes to the dead-letter stream instead
    /// (5 by default).
    ///
    /// # Examples
    /// ```no_run
    /// # asyncio::run(async {
    /// let queue = asyncio::redis::RedisQueue::<String>::connect("redis://127.0.0.1", "q")
    ///     .max_deliveries(3)
    ///     .await?;
    /// # let _ = queue;
    /// # Ok::<(), asyncio::redis::RedisError>(())
    /// # }).unwrap();
    /// ```
    pub fn max_deliveries(mut self, n: u32) -> Self {
        self.opts.max_deliveries = n.max(1);
        self
    }

    /// How often, in seconds, a waiting `get` looks for items to reclaim, delayed items now
    /// due, and a shutdown; also how often a waiting `put` or `join` looks at most
    /// (1 s by default).
    ///
    /// # Examples
    /// ```no_run
    /// # asyncio::run(async {
    /// let queue = asyncio::redis::RedisQueue::<String>::connect("redis://127.0.0.1", "q")
    ///     .poll_interval(0.25)
    ///     .await?;
    /// # let _ = queue;
    /// # Ok::<(), asyncio::redis::RedisError>(())
    /// # }).unwrap();
    /// ```
    pub fn poll_interval(mut self, seconds: f64) -> Self {
        self.opts.poll_interval = seconds.max(0.001);
        self
    }

    /// How many stream entries one read takes from Redis for this handle (1 by default);
    /// an entry holds 1 to 64 items (the puts of one call go together). More is faster; the
    /// items taken wait in the process, and their visibility timeout runs.
    ///
    /// # Examples
    /// ```no_run
    /// # asyncio::run(async {
    /// let queue = asyncio::redis::RedisQueue::<String>::connect("redis://127.0.0.1", "q")
    ///     .prefetch(16) // short jobs: fewer round trips
    ///     .await?;
    /// # let _ = queue;
    /// # Ok::<(), asyncio::redis::RedisError>(())
    /// # }).unwrap();
    /// ```
    pub fn prefetch(mut self, n: usize) -> Self {
        self.opts.prefetch = n.max(1);
        self
    }

    /// The most items of one put call (the puts of one turn, a `put_all`) that go into one
    /// stream entry (64 by default; at most 1024). A consumer reads a whole entry, so an
    /// entry's items go to one worker: set 1 for long jobs put in batches, so that they
    /// spread over the workers; keep it high for short jobs, where Redis's work per entry
    /// is the cost. Only the putting handle's setting counts. `RedisQueue` only.
    ///
    /// # Examples
    /// ```no_run
    /// # asyncio::run(async {
    /// let queue = asyncio::redis::RedisQueue::<String>::connect("redis://127.0.0.1", "q")
    ///     .entry_items(1) // long jobs: each its own entry, for any worker
    ///     .await?;
    /// # let _ = queue;
    /// # Ok::<(), asyncio::redis::RedisError>(())
    /// # }).unwrap();
    /// ```
    pub fn entry_items(mut self, n: usize) -> Self {
        self.opts.entry_items = n.clamp(1, 1024);
        self
    }

    /// How long, in seconds, a command keeps reconnecting after Redis went away before it
    /// fails (30 s by default).
    ///
    /// # Examples
    /// ```no_run
    /// # asyncio::run(async {
    /// let queue = asyncio::redis::RedisQueue::<String>::connect("redis://127.0.0.1", "q")
    ///     .reconnect_timeout(300.0)
    ///     .await?;
    /// # let _ = queue;
    /// # Ok::<(), asyncio::redis::RedisError>(())
    /// # }).unwrap();
    /// ```
    pub fn reconnect_timeout(mut self, seconds: f64) -> Self {
        self.opts.reconnect_timeout = seconds.max(0.0);
        self
    }

    /// This handle's consumer name in the group (by default unique to the process and
    /// handle). A worker that restarts under the same name takes back its own unacked
    /// items at once.
    ///
    /// # Examples
    /// ```no_run
    /// # asyncio::run(async {
    /// let queue = asyncio::redis::RedisQueue::<String>::connect("redis://127.0.0.1", "q")
    ///     .consumer("worker-3")
    ///     .await?;
    /// # let _ = queue;
    /// # Ok::<(), asyncio::redis::RedisError>(())
    /// # }).unwrap();
    /// ```
    pub fn consumer(mut self, name: &str) -> Self {
        self.opts.consumer = Some(name.to_owned());
        self
    }
}
