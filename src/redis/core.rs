//! The state one process keeps for a stream queue: the keys, the connections, the items read
//! ahead, the puts of this turn and the acks waiting to be sent (`task_done` does not wait
//! for Redis: the acks of a moment go together, in one script call, by a flusher task).

use super::delay::PutBatch;
use super::errors::RedisError;
use super::options::Options;
use super::pool::{Pool, Script};
use super::reply::{self, Delivery};
use super::scripts;
use redis_protocol::resp2::types::OwnedFrame as Frame;
use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::rc::Rc;

/// The queue's keys in Redis; `{name}` is a cluster hash tag, so all of them live together.
pub(crate) struct Keys {
    pub stream: String,
    pub unfinished: String,
    pub shutdown: String,
    pub dead: String,
    pub delayed: String,
    pub stats: String,
    /// A list holding one element while nothing is unfinished: `join` waits on it.
    pub idle: String,
    /// The count of items ever added to the stream (see the scripts).
    pub added: String,
    pub group: String,
}

impl Keys {
    pub fn new(name: &str) -> Keys {
        let key = |suffix: &str| format!("{{{name}}}:{suffix}");
        Keys {
            stream: key("stream"),
            unfinished: key("unfinished"),
            shutdown: key("shutdown"),
            dead: key("dead"),
            delayed: key("delayed"),
            stats: key("stats"),
            idle: key("idle"),
            added: key("added"),
            group: "workers".to_owned(),
        }
    }

    pub fn all(&self) -> [&[u8]; 8] {
        [
            self.stream.as_bytes(),
            self.unfinished.as_bytes(),
            self.shutdown.as_bytes(),
            self.dead.as_bytes(),
            self.delayed.as_bytes(),
            self.stats.as_bytes(),
            self.idle.as_bytes(),
            self.added.as_bytes(),
        ]
    }
}

pub(crate) struct Shared {
    pub pool: Pool,
    pub keys: Keys,
    pub opts: Options,
    pub consumer: String,
    pub prefetched: RefCell<VecDeque<Delivery>>,
    /// For each entry read and not acked yet: its items not done yet (not handed out, or
    /// handed out and not `task_done`), and its item count. An entry is acked when the
    /// first reaches 0.
    open: RefCell<HashMap<Vec<u8>, (usize, usize)>>,
    acks: RefCell<Vec<(Vec<u8>, usize)>>,
    /// The puts of this turn, not sent yet.
    pub put_batch: RefCell<Option<Rc<PutBatch>>>,
    flushing: Cell<bool>,
    ack_error: RefCell<Option<RedisError>>,
    next_maintenance: Cell<f64>,
    /// Where the next `XAUTOCLAIM` goes on scanning the pending entries: each call scans a
    /// few hundred, so a long list is scanned over several calls, all of it in turn.
    claim_cursor: RefCell<Vec<u8>>,
    /// Until the first read, this consumer's own pending items (from a run before, under the
    /// same name) are read back first.
    own_history: Cell<bool>,
    uid: Cell<u64>,
}

impl Shared {
    pub fn new(pool: Pool, keys: Keys, opts: Options) -> Shared {
        let named = opts.consumer.clone();
        let consumer = named.clone().unwrap_or_else(unique_name);
        Shared {
            pool,
            keys,
            own_history: Cell::new(named.is_some()),
            opts,
            consumer,
            prefetched: RefCell::new(VecDeque::new()),
            open: RefCell::new(HashMap::new()),
            put_batch: RefCell::new(None),
            acks: RefCell::new(Vec::new()),
            flushing: Cell::new(false),
            ack_error: RefCell::new(None),
            next_maintenance: Cell::new(f64::NEG_INFINITY),
            claim_cursor: RefCell::new(b"0-0".to_vec()),
            uid: Cell::new(0),
        }
    }

    /// A member name unique to this put, for the delayed set.
    pub fn next_uid(&self) -> String {
        self.uid.set(self.uid.get() + 1);
        format!("{}-{}", self.consumer, self.uid.get())
    }

    /// Creates the consumer group (and the stream) if missing.
    pub async fn ensure_group(&self) -> Result<(), RedisError> {
        let args: [&[u8]; 6] = [
            b"XGROUP",
            b"CREATE",
            self.keys.stream.as_bytes(),
            self.keys.group.as_bytes(),
            b"0",
            b"MKSTREAM",
        ];
        match self.pool.call(&args).await {
            Err(RedisError::Server(m)) if m.starts_with("BUSYGROUP") => Ok(()),
            r => r.map(drop),
        }
    }

    /// Runs a queue script; when Redis lost the group (restarted without its data), makes
    /// it again and runs the script once more.
    pub async fn eval(&self, script: &Script, args: &[&[u8]]) -> Result<Frame, RedisError> {
        match self.pool.eval(script, &self.keys.all(), args).await {
            Err(RedisError::Server(m)) if m.contains("NOGROUP") => {
                self.ensure_group().await?;
                self.pool.eval(script, &self.keys.all(), args).await
            }
            r => r,
        }
    }

    /// Reclaims idle items and moves delayed items that are due, at most once per poll
    /// interval; the claimed items join `prefetched`.
    pub async fn maintain_if_due(&self) -> Result<(), RedisError> {
        let lp = crate::get_running_loop();
        if lp.time() < self.next_maintenance.get() {
            return Ok(());
        }
        self.next_maintenance
            .set(lp.time() + self.opts.poll_interval);
        let idle = ((self.opts.visibility_timeout * 1000.0) as u64).to_string();
        // XAUTOCLAIM scans up to ten times COUNT pending entries: keep each call short.
        let count = self.opts.prefetch.min(64).to_string();
        let max = self.opts.max_deliveries.to_string();
        let cursor = self.claim_cursor.borrow().clone();
        let args: [&[u8]; 6] = [
            self.keys.group.as_bytes(),
            self.consumer.as_bytes(),
            idle.as_bytes(),
            count.as_bytes(),
            max.as_bytes(),
            &cursor,
        ];
        let (next, claimed) = reply::claimed(self.eval(&scripts::MAINTAIN, &args).await?)?;
        *self.claim_cursor.borrow_mut() = next;
        self.receive(claimed);
        Ok(())
    }

    /// Reads new items into `prefetched`, waiting up to `block` seconds for one; how many.
    pub async fn read(&self, block: Option<f64>) -> Result<usize, RedisError> {
        let count = self.opts.prefetch.to_string();
        let own = self.own_history.get();
        let start: &[u8] = if own { b"0" } else { b">" };
        let mut args: Vec<&[u8]> = vec![
            b"XREADGROUP",
            b"GROUP",
            self.keys.group.as_bytes(),
            self.consumer.as_bytes(),
            b"COUNT",
            count.as_bytes(),
        ];
        let ms = block.map(|s| ((s * 1000.0) as u64).max(1).to_string());
        if let (Some(ms), false) = (&ms, own) {
            args.extend([b"BLOCK".as_slice(), ms.as_bytes()]);
        }
        args.extend([b"STREAMS".as_slice(), self.keys.stream.as_bytes(), start]);
        let reply = match self.read_once(&args, ms.is_some() && !own).await {
            Err(RedisError::Server(m)) if m.starts_with("NOGROUP") => {
                self.ensure_group().await?;
                self.read_once(&args, ms.is_some() && !own).await?
            }
            r => r?,
        };
        // Items read back from our own history were delivered before: at least twice now.
        let got = reply::read_entries(reply, if own { 2 } else { 1 })?;
        if own && got.is_empty() {
            self.own_history.set(false);
        }
        let n = got.len();
        self.receive(got);
        Ok(n)
    }

    /// Keeps entries read for `next_item`, each counted open until its items are done.
    fn receive(&self, got: Vec<Delivery>) {
        let mut open = self.open.borrow_mut();
        for d in &got {
            // An entry already open here (claimed back by this consumer while a handle still
            // holds its items) is acked once, when both deliveries' items are done.
            let entry = open.entry(d.id.clone()).or_insert((0, d.items));
            entry.0 += d.items;
        }
        self.prefetched.borrow_mut().extend(got);
    }

    /// The next item read ahead: its entry's id, its JSON and its entry's delivery count.
    pub fn next_item(&self) -> Option<(Vec<u8>, Vec<u8>, i64)> {
        let mut prefetched = self.prefetched.borrow_mut();
        loop {
            let front = prefetched.front_mut()?;
            if let Some(payload) = front.payloads.pop_front() {
                return Some((front.id.clone(), payload, front.deliveries));
            }
            prefetched.pop_front();
        }
    }

    /// Counts one item of the entry `id` done; acks the entry once all its items are.
    pub fn item_done(self: &Rc<Self>, id: Vec<u8>) {
        let mut open = self.open.borrow_mut();
        let Some(entry) = open.get_mut(&id) else {
            return;
        };
        entry.0 -= 1;
        if entry.0 == 0 {
            let items = entry.1;
            open.remove(&id);
            drop(open);
            self.ack(id, items);
        }
    }

    /// Forgets the entries read (the queue was deleted).
    pub fn forget(&self) {
        self.prefetched.borrow_mut().clear();
        self.open.borrow_mut().clear();
    }

    async fn read_once(&self, args: &[&[u8]], blocking: bool) -> Result<Frame, RedisError> {
        if blocking {
            self.pool.call_blocking(args).await
        } else {
            self.pool.call(args).await
        }
    }

    pub async fn is_shut_down(&self) -> Result<bool, RedisError> {
        let args: [&[u8]; 2] = [b"EXISTS", self.keys.shutdown.as_bytes()];
        Ok(reply::int(&self.pool.call(&args).await?)? == 1)
    }

    /// Records an item of the entry `id` in the dead letters with why; the caller then
    /// counts it done with [`item_done`](Self::item_done).
    pub async fn dead_letter(
        &self,
        id: &[u8],
        payload: &[u8],
        deliveries: i64,
        error: &str,
    ) -> Result<(), RedisError> {
        let n = deliveries.to_string();
        let args: [&[u8]; 4] = [id, payload, error.as_bytes(), n.as_bytes()];
        self.eval(&scripts::DEAD, &args).await.map(drop)
    }

    /// Queues the ack of an entry of `items` items; a flusher task sends the acks of a
    /// moment together.
    fn ack(self: &Rc<Self>, id: Vec<u8>, items: usize) {
        self.acks.borrow_mut().push((id, items));
        if !self.flushing.replace(true) {
            let _flusher = crate::create_task(flush_acks(self.clone()));
        }
    }

    /// Waits until every ack queued has been sent; the error of the last that failed.
    pub async fn flush(&self) -> Result<(), RedisError> {
        while self.flushing.get() {
            crate::sleep(0.0005).await;
        }
        match self.ack_error.borrow_mut().take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

async fn flush_acks(shared: Rc<Shared>) {
    loop {
        let ids = std::mem::take(&mut *shared.acks.borrow_mut());
        if ids.is_empty() {
            shared.flushing.set(false);
            return;
        }
        let counts: Vec<String> = ids.iter().map(|(_, n)| n.to_string()).collect();
        let mut args: Vec<&[u8]> = vec![shared.keys.group.as_bytes()];
        for ((id, _), n) in ids.iter().zip(&counts) {
            args.extend([id.as_slice(), n.as_bytes()]);
        }
        if let Err(e) = shared.eval(&scripts::ACK, &args).await {
            // The items stay pending, and are delivered again after the visibility timeout.
            log::error!("redis queue: {} entry acks not sent: {e}", ids.len());
            *shared.ack_error.borrow_mut() = Some(e);
        }
    }
}

fn unique_name() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static HANDLES: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    format!(
        "{}-{}-{}-{nanos:x}",
        host.trim(),
        std::process::id(),
        HANDLES.fetch_add(1, Ordering::Relaxed)
    )
}
