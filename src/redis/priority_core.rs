//! The state one process keeps for a priority queue: the keys, the connections, the acks
//! waiting to be sent (the acks of a moment go together, in one script call); and one try at
//! taking an item.

use super::connection::ConnInfo;
use super::errors::RedisError;
use super::options::Options;
use super::pool::{Pool, Script};
use super::priority_scripts as scripts;
use super::reply;
use redis_protocol::resp2::types::OwnedFrame as Frame;
use serde::de::DeserializeOwned;
use std::cell::{Cell, RefCell};
use std::rc::Rc;

/// What one try at a get found.
pub(super) enum Taken<T> {
    /// The priority, the item, and its member in the sorted sets (for its ack).
    Item(f64, T, Vec<u8>),
    /// Nothing waits; in how many ms something may (a delayed item, a timed-out delivery).
    Empty(Option<i64>),
    ShutDown,
}

pub(super) struct Shared {
    pub(super) pool: Pool,
    /// The keys, in the order of `priority_scripts.rs`.
    pub(super) keys: [String; 11],
    pub(super) opts: Options,
    /// The acks not sent yet, and whether a task is sending them.
    acks: RefCell<Vec<Vec<u8>>>,
    flushing: Cell<bool>,
    ack_error: RefCell<Option<RedisError>>,
}

impl Shared {
    pub(super) async fn connect(
        url: &str,
        name: &str,
        opts: Options,
    ) -> Result<Shared, RedisError> {
        let info = ConnInfo::parse(url)?;
        let pool = Pool::connect(info, opts.reconnect_timeout).await?;
        let keys = [
            "pq",
            "unfinished",
            "shutdown",
            "dead",
            "running",
            "stats",
            "seq",
            "deliveries",
            "delayed",
            "ready",
            "idle",
        ]
        .map(|suffix| format!("{{{name}}}:{suffix}"));
        Ok(Shared {
            pool,
            keys,
            opts,
            acks: RefCell::new(Vec::new()),
            flushing: Cell::new(false),
            ack_error: RefCell::new(None),
        })
    }

    pub(super) async fn eval(&self, script: &Script, args: &[&[u8]]) -> Result<Frame, RedisError> {
        let keys: Vec<&[u8]> = self.keys.iter().map(|k| k.as_bytes()).collect();
        self.pool.eval(script, &keys, args).await
    }

    /// One try at taking an item; items that do not deserialize go to the dead letters.
    pub(super) async fn take<T: DeserializeOwned>(&self) -> Result<Taken<T>, RedisError> {
        let vis = ((self.opts.visibility_timeout * 1000.0) as u64).to_string();
        let max = self.opts.max_deliveries.to_string();
        loop {
            let args: [&[u8]; 2] = [vis.as_bytes(), max.as_bytes()];
            let popped = match self.eval(&scripts::GET, &args).await? {
                Frame::Integer(-2) => return Ok(Taken::ShutDown),
                Frame::Integer(ms) => return Ok(Taken::Empty((ms >= 0).then_some(ms))),
                frame => reply::array(frame)?,
            };
            let mut parts = popped.into_iter();
            let member = reply::bytes(parts.next().unwrap_or(Frame::Null))?;
            let priority = reply::bytes(parts.next().unwrap_or(Frame::Null))?;
            let deliveries = reply::int(&parts.next().unwrap_or(Frame::Null))?.to_string();
            let priority: f64 = String::from_utf8_lossy(&priority).parse().unwrap_or(0.0);
            let json = member.splitn(2, |&b| b == b'|').nth(1).unwrap_or_default();
            match serde_json::from_slice(json) {
                Ok(item) => return Ok(Taken::Item(priority, item, member)),
                Err(e) => {
                    let error = e.to_string();
                    let args: [&[u8]; 3] = [&member, error.as_bytes(), deliveries.as_bytes()];
                    self.eval(&scripts::DEAD, &args).await?;
                }
            }
        }
    }

    /// Queues an ack; a task sends the acks of a moment together.
    pub(super) fn ack(self: &Rc<Self>, member: Vec<u8>) {
        self.acks.borrow_mut().push(member);
        if !self.flushing.replace(true) {
            let _flusher = crate::create_task(send_acks(self.clone()));
        }
    }

    /// Waits until every ack queued has been sent; the error of the last that failed.
    pub(super) async fn flush(&self) -> Result<(), RedisError> {
        while self.flushing.get() {
            crate::sleep(0.0005).await;
        }
        self.ack_error.borrow_mut().take().map_or(Ok(()), Err)
    }
}

async fn send_acks(shared: Rc<Shared>) {
    loop {
        let members = std::mem::take(&mut *shared.acks.borrow_mut());
        if members.is_empty() {
            shared.flushing.set(false);
            return;
        }
        let args: Vec<&[u8]> = members.iter().map(|m| m.as_slice()).collect();
        if let Err(e) = shared.eval(&scripts::ACK, &args).await {
            // The items come back after the visibility timeout.
            log::error!("redis priority queue: {} acks not sent: {e}", members.len());
            *shared.ack_error.borrow_mut() = Some(e);
        }
    }
}
