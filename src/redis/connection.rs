//! One connection to Redis: the URL, the handshake (`AUTH`, `SELECT`), and pipelined requests
//! over our own TCP streams, with `redis-protocol`'s RESP2 codec.
//!
//! Requests are answered in order (Redis answers a connection's commands in the order sent),
//! so many tasks share one connection, pipelined, with no round trip each: a reader task
//! matches each reply to the oldest waiting request. The commands of one turn of the loop are
//! written together, in one `write` at the end of the turn: one segment, one read for Redis.

use super::errors::RedisError;
use crate::{StreamReader, StreamWriter};
use redis_protocol::resp2::decode::decode;
use redis_protocol::resp2::encode::encode;
use redis_protocol::resp2::types::{OwnedFrame as Frame, Resp2Frame};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::poll_fn;
use std::io;
use std::rc::Rc;
use std::task::{Poll, Waker};

/// Where and as whom to connect: `redis://[user:password@]host[:port][/db]`.
#[derive(Clone, Debug)]
pub(crate) struct ConnInfo {
    pub host: String,
    pub port: u16,
    pub username: Option<String>,
    pub password: Option<String>,
    pub db: u32,
}

impl ConnInfo {
    pub fn parse(url: &str) -> Result<ConnInfo, RedisError> {
        let bad = |why: &str| RedisError::BadUrl(format!("{why} in {url:?}"));
        let rest = url
            .strip_prefix("redis://")
            .ok_or_else(|| bad("expected redis://host[:port][/db]"))?;
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
        };
        let (username, password) = match userinfo {
            None => (None, None),
            Some(u) => match u.split_once(':') {
                Some((user, pass)) => {
                    let user = (!user.is_empty()).then(|| percent_decode(user));
                    (user, Some(percent_decode(pass)))
                }
                None => (Some(percent_decode(u)), None),
            },
        };
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || hostport.starts_with('[') => {
                (h, p.parse().map_err(|_| bad("bad port"))?)
            }
            _ => (hostport, 6379),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() {
            return Err(bad("no host"));
        }
        let db = match path {
            "" => 0,
            p => p.parse().map_err(|_| bad("bad database number"))?,
        };
        Ok(ConnInfo {
            host: host.to_owned(),
            port,
            username,
            password,
            db,
        })
    }

    pub fn addr(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// One request's reply, filled in by the reader task.
#[derive(Default)]
struct Slot {
    reply: RefCell<Option<Result<Frame, RedisError>>>,
    waker: RefCell<Option<Waker>>,
}

impl Slot {
    fn fill(&self, reply: Result<Frame, RedisError>) {
        *self.reply.borrow_mut() = Some(reply);
        if let Some(w) = self.waker.borrow_mut().take() {
            w.wake();
        }
    }
}

#[derive(Default)]
struct Pending {
    slots: RefCell<VecDeque<Rc<Slot>>>,
    /// Set once the connection is gone: why, for every later request.
    broken: RefCell<Option<io::Error>>,
}

impl Pending {
    fn break_with(&self, err: io::Error) {
        let kind = err.kind();
        let msg = err.to_string();
        self.broken.borrow_mut().get_or_insert(err);
        for slot in self.slots.borrow_mut().drain(..) {
            slot.fill(Err(RedisError::Connect {
                addr: String::new(),
                source: io::Error::new(kind, msg.clone()),
            }));
        }
    }
}

/// The commands of this turn, written together by a callback at the end of the turn.
struct Outbox {
    writer: StreamWriter,
    buf: RefCell<Vec<u8>>,
}

impl Outbox {
    fn flush(&self) {
        let buf = std::mem::take(&mut *self.buf.borrow_mut());
        if !buf.is_empty() {
            self.writer.write(&buf);
        }
    }
}

/// A connection to Redis; requests on it are pipelined.
pub(crate) struct Conn {
    outbox: Rc<Outbox>,
    pending: Rc<Pending>,
    addr: String,
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.outbox.flush();
        self.outbox.writer.close();
    }
}

impl Conn {
    /// Connects and authenticates: `AUTH` with the URL's password, `SELECT` its database,
    /// and a `PING` so that a server that wants a password says so now.
    pub async fn open(info: &ConnInfo) -> Result<Conn, RedisError> {
        let addr = info.addr();
        let (reader, writer) = crate::open_connection(&info.host, info.port)
            .await
            .map_err(|source| RedisError::Connect {
                addr: addr.clone(),
                source,
            })?;
        let pending = Rc::new(Pending::default());
        let _reader = crate::create_task(read_replies(reader, pending.clone()));
        let conn = Conn {
            outbox: Rc::new(Outbox {
                writer,
                buf: RefCell::new(Vec::new()),
            }),
            pending,
            addr,
        };
        if let Some(password) = &info.password {
            let mut auth: Vec<&[u8]> = vec![b"AUTH"];
            if let Some(user) = &info.username {
                auth.push(user.as_bytes());
            }
            auth.push(password.as_bytes());
            if let Frame::Error(e) = conn.request(&auth).await? {
                return Err(RedisError::Auth(e));
            }
        }
        if info.db != 0 {
            let db = info.db.to_string();
            check(conn.request(&[b"SELECT", db.as_bytes()]).await?)?;
        }
        match conn.request(&[b"PING"]).await? {
            Frame::Error(e) if e.starts_with("NOAUTH") || e.starts_with("WRONGPASS") => {
                Err(RedisError::Auth(format!(
                    "{e} (put the password in the URL: redis://:PASSWORD@{})",
                    conn.addr
                )))
            }
            Frame::Error(e) => Err(RedisError::Server(e)),
            _ => Ok(conn),
        }
    }

    pub fn is_broken(&self) -> bool {
        self.pending.broken.borrow().is_some()
    }

    /// Sends one command; the reply, with `-ERR` replies as `Frame::Error` (see [`check`]).
    ///
    /// Dropping the future leaves the command sent; its reply is read and dropped.
    pub async fn request(&self, args: &[&[u8]]) -> Result<Frame, RedisError> {
        let slot = self.send(args)?;
        self.wait(slot).await
    }

    fn send(&self, args: &[&[u8]]) -> Result<Rc<Slot>, RedisError> {
        let mut buf = self.outbox.buf.borrow_mut();
        let first = buf.is_empty();
        let slot = self.queue(args, &mut buf)?;
        if first {
            let outbox = self.outbox.clone();
            crate::get_running_loop().call_soon(move || outbox.flush());
        }
        Ok(slot)
    }

    fn queue(&self, args: &[&[u8]], out: &mut Vec<u8>) -> Result<Rc<Slot>, RedisError> {
        if let Some(err) = &*self.pending.broken.borrow() {
            return Err(self.lost(io::Error::new(err.kind(), err.to_string())));
        }
        let frame = Frame::Array(args.iter().map(|a| Frame::BulkString(a.to_vec())).collect());
        let start = out.len();
        out.resize(start + frame.encode_len(false), 0);
        if let Err(e) = encode(&mut out[start..], &frame, false) {
            out.truncate(start);
            return Err(RedisError::Protocol(e.to_string()));
        }
        let slot = Rc::new(Slot::default());
        self.pending.slots.borrow_mut().push_back(slot.clone());
        Ok(slot)
    }

    async fn wait(&self, slot: Rc<Slot>) -> Result<Frame, RedisError> {
        let reply = poll_fn(|cx| match slot.reply.borrow_mut().take() {
            Some(reply) => Poll::Ready(reply),
            None => {
                *slot.waker.borrow_mut() = Some(cx.waker().clone());
                Poll::Pending
            }
        })
        .await;
        reply.map_err(|e| match e {
            RedisError::Connect { source, .. } => self.lost(source),
            e => e,
        })
    }

    fn lost(&self, source: io::Error) -> RedisError {
        RedisError::Connect {
            addr: self.addr.clone(),
            source,
        }
    }
}

/// Turns an error reply into [`RedisError::Server`] (or `Auth` for `NOAUTH`).
pub(crate) fn check(frame: Frame) -> Result<Frame, RedisError> {
    match frame {
        Frame::Error(e) if e.starts_with("NOAUTH") || e.starts_with("WRONGPASS") => {
            Err(RedisError::Auth(e))
        }
        Frame::Error(e) => Err(RedisError::Server(e)),
        f => Ok(f),
    }
}

/// The reader task: decodes replies as they arrive and hands each to the oldest request.
async fn read_replies(mut reader: StreamReader, pending: Rc<Pending>) {
    let mut buf: Vec<u8> = Vec::with_capacity(16 * 1024);
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let mut used = 0;
        loop {
            match decode(&buf[used..]) {
                Ok(Some((frame, n))) => {
                    used += n;
                    let slot = pending.slots.borrow_mut().pop_front();
                    match slot {
                        Some(slot) => slot.fill(Ok(frame)),
                        None => {
                            let err =
                                io::Error::new(io::ErrorKind::InvalidData, "unexpected reply");
                            return pending.break_with(err);
                        }
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    let err = io::Error::new(io::ErrorKind::InvalidData, e.to_string());
                    return pending.break_with(err);
                }
            }
        }
        buf.drain(..used);
        match reader.read_into(&mut chunk).await {
            Ok(0) => {
                let err = io::Error::new(
                    io::ErrorKind::ConnectionReset,
                    "Redis closed the connection",
                );
                return pending.break_with(err);
            }
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) => return pending.break_with(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ConnInfo;

    #[test]
    fn urls_are_read_with_their_defaults() {
        let i = ConnInfo::parse("redis://localhost").unwrap();
        assert_eq!((i.host.as_str(), i.port, i.db), ("localhost", 6379, 0));
        let i = ConnInfo::parse("redis://:s%40cret@127.0.0.1:7000/3").unwrap();
        assert_eq!((i.host.as_str(), i.port, i.db), ("127.0.0.1", 7000, 3));
        assert_eq!(i.password.as_deref(), Some("s@cret"));
        assert_eq!(i.username, None);
        let i = ConnInfo::parse("redis://bob:pw@[::1]:7001").unwrap();
        assert_eq!((i.host.as_str(), i.port), ("::1", 7001));
        assert_eq!(i.username.as_deref(), Some("bob"));
        assert!(ConnInfo::parse("http://localhost").is_err());
        assert!(ConnInfo::parse("redis://host:notaport").is_err());
        assert!(ConnInfo::parse("redis://host/x").is_err());
    }
}
