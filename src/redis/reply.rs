//! Reading Redis's replies: integers, strings, and the entries of a stream read.

use super::errors::RedisError;
use redis_protocol::resp2::types::OwnedFrame as Frame;
use std::collections::VecDeque;

/// One stream entry delivered to this consumer: its id, the JSON of its items not handed
/// out yet, its item count, and how many times it has been delivered, this time included.
#[derive(Debug)]
pub(crate) struct Delivery {
    pub id: Vec<u8>,
    pub payloads: VecDeque<Vec<u8>>,
    pub items: usize,
    pub deliveries: i64,
}

impl Delivery {
    fn new(id: Vec<u8>, mut payloads: VecDeque<Vec<u8>>, deliveries: i64) -> Delivery {
        // A deleted entry still pending has no fields: one empty item, dead-lettered.
        if payloads.is_empty() {
            payloads.push_back(Vec::new());
        }
        Delivery {
            id,
            items: payloads.len(),
            payloads,
            deliveries,
        }
    }
}

fn unexpected(what: &str, frame: &Frame) -> RedisError {
    RedisError::Protocol(format!("expected {what}, got {frame:?}"))
}

pub(crate) fn int(frame: &Frame) -> Result<i64, RedisError> {
    match frame {
        Frame::Integer(n) => Ok(*n),
        Frame::Null => Ok(0),
        Frame::BulkString(b) | Frame::SimpleString(b) => std::str::from_utf8(b)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| unexpected("an integer", frame)),
        f => Err(unexpected("an integer", f)),
    }
}

pub(crate) fn bytes(frame: Frame) -> Result<Vec<u8>, RedisError> {
    match frame {
        Frame::BulkString(b) | Frame::SimpleString(b) => Ok(b),
        Frame::Null => Ok(Vec::new()),
        f => Err(unexpected("a string", &f)),
    }
}

pub(crate) fn array(frame: Frame) -> Result<Vec<Frame>, RedisError> {
    match frame {
        Frame::Array(items) => Ok(items),
        Frame::Null => Ok(Vec::new()),
        f => Err(unexpected("an array", &f)),
    }
}

/// The field `name` of an entry's flat field list.
pub(crate) fn field(fields: &[Frame], name: &[u8]) -> Option<Vec<u8>> {
    fields.chunks(2).find_map(|kv| match kv {
        [Frame::BulkString(k), Frame::BulkString(v)] if k == name => Some(v.clone()),
        _ => None,
    })
}

/// The entries of an `XREADGROUP` reply (one stream): `[[stream, [[id, [f, v, …]], …]]]`.
pub(crate) fn read_entries(frame: Frame, deliveries: i64) -> Result<Vec<Delivery>, RedisError> {
    let mut out = Vec::new();
    for stream in array(frame)? {
        let mut parts = array(stream)?.into_iter();
        let entries = parts.nth(1).map(array).transpose()?.unwrap_or_default();
        for entry in entries {
            let mut parts = array(entry)?.into_iter();
            let id = bytes(parts.next().unwrap_or(Frame::Null))?;
            let fields = parts.next().map(array).transpose()?.unwrap_or_default();
            let payloads = fields
                .chunks(2)
                .filter_map(|kv| match kv {
                    [Frame::BulkString(k), Frame::BulkString(v)] if k == b"d" => Some(v.clone()),
                    _ => None,
                })
                .collect();
            out.push(Delivery::new(id, payloads, deliveries));
        }
    }
    Ok(out)
}

/// The cursor and the `{id, deliveries, payload, …}` entries the `MAINTAIN` script returns.
pub(crate) fn claimed(frame: Frame) -> Result<(Vec<u8>, Vec<Delivery>), RedisError> {
    let mut parts = array(frame)?.into_iter();
    let cursor = bytes(parts.next().unwrap_or(Frame::Null))?;
    let claimed = parts
        .map(|entry| {
            let mut parts = array(entry)?.into_iter();
            let id = bytes(parts.next().unwrap_or(Frame::Null))?;
            let deliveries = int(&parts.next().unwrap_or(Frame::Null))?;
            let payloads = parts.map(bytes).collect::<Result<_, _>>()?;
            Ok(Delivery::new(id, payloads, deliveries))
        })
        .collect::<Result<_, RedisError>>()?;
    Ok((cursor, claimed))
}

/// An item the queue gave up on, read back from the dead-letter stream.
///
/// # Examples
/// ```no_run
/// # asyncio::run(async {
/// # let queue = asyncio::redis::RedisQueue::<u32>::connect("redis://127.0.0.1", "jobs").await?;
/// for dead in queue.dead_letters().await? {
///     eprintln!("{}: {} ({})", dead.id, dead.error, dead.data);
/// }
/// # Ok::<(), asyncio::redis::RedisError>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// The item's id in the queue's stream.
    pub id: String,
    /// The item as it was put (JSON), or as it was found when it did not deserialize.
    pub data: String,
    /// Why: the deserialization error, or how many deliveries went without `task_done`.
    pub error: String,
    /// How many times it was delivered.
    pub deliveries: u32,
}

pub(crate) fn dead_letters(frame: Frame) -> Result<Vec<DeadLetter>, RedisError> {
    let text = |v: Option<Vec<u8>>| String::from_utf8_lossy(&v.unwrap_or_default()).into_owned();
    array(frame)?
        .into_iter()
        .map(|entry| {
            let mut parts = array(entry)?.into_iter();
            parts.next();
            let fields = parts.next().map(array).transpose()?.unwrap_or_default();
            Ok(DeadLetter {
                id: text(field(&fields, b"id")),
                data: text(field(&fields, b"data")),
                error: text(field(&fields, b"error")),
                deliveries: text(field(&fields, b"deliveries")).parse().unwrap_or(0),
            })
        })
        .collect()
}
