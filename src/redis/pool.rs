//! The connections of one queue handle, on our loop: a few shared, pipelined connections
//! (round robin) for ordinary commands, and a few of their own for blocking reads (`XREADGROUP BLOCK` holds
//! its connection until it answers). A broken connection is replaced on the next command,
//! after a back-off that doubles (50 ms up to 2 s) until the reconnect deadline.

use super::connection::{Conn, ConnInfo, check};
use super::errors::RedisError;
use redis_protocol::resp2::types::OwnedFrame as Frame;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

const FIRST_BACKOFF: f64 = 0.05;
const MAX_BACKOFF: f64 = 2.0;
/// Pipelined connections for ordinary commands: Redis reads at most 16 KiB of a client's
/// commands per turn of its loop, so several connections let it take more per turn.
const SHARED_CONNECTIONS: usize = 4;

/// A Lua script, run by `EVALSHA`; loaded again when Redis forgot it (`NOSCRIPT`, after a
/// restart).
pub(crate) struct Script(pub &'static str);

impl Script {
    fn key(&self) -> usize {
        self.0.as_ptr() as usize
    }
}

pub(crate) struct Pool {
    info: ConnInfo,
    shared: RefCell<[Option<Rc<Conn>>; SHARED_CONNECTIONS]>,
    next: Cell<usize>,
    blocking: RefCell<Vec<Conn>>,
    /// The SHA1 of each script loaded, by the script's address.
    shas: RefCell<HashMap<usize, Vec<u8>>>,
    /// How long a command keeps trying to reconnect before it fails, in seconds.
    pub reconnect_timeout: f64,
}

impl Pool {
    /// Connects once, so that a wrong address or password is a clear error now.
    /// A Redis still loading its data (`LOADING`) is waited for, up to the reconnect timeout.
    pub async fn connect(info: ConnInfo, reconnect_timeout: f64) -> Result<Pool, RedisError> {
        let lp = crate::get_running_loop();
        let deadline = lp.time() + reconnect_timeout;
        let conn = loop {
            match Conn::open(&info).await {
                Err(RedisError::Server(m)) if m.starts_with("LOADING") && lp.time() < deadline => {
                    crate::sleep(FIRST_BACKOFF).await;
                }
                r => break r?,
            }
        };
        Ok(Pool {
            info,
            shared: RefCell::new([Some(Rc::new(conn)), None, None, None]),
            next: Cell::new(0),
            blocking: RefCell::new(Vec::new()),
            shas: RefCell::new(HashMap::new()),
            reconnect_timeout,
        })
    }

    /// The next of the shared connections, round robin, opened (again) if need be.
    async fn shared(&self) -> Result<Rc<Conn>, RedisError> {
        let i = self.next.get();
        self.next.set((i + 1) % SHARED_CONNECTIONS);
        if let Some(conn) = &self.shared.borrow()[i] {
            if !conn.is_broken() {
                return Ok(conn.clone());
            }
        }
        let conn = Rc::new(Conn::open(&self.info).await?);
        // Another task may have reconnected meanwhile: keep one of the two.
        let slot = &mut self.shared.borrow_mut()[i];
        match slot {
            Some(c) if !c.is_broken() => Ok(c.clone()),
            _ => {
                *slot = Some(conn.clone());
                Ok(conn)
            }
        }
    }

    /// Runs `attempt` until it succeeds, fails for good, or the reconnect deadline passes.
    async fn retrying<R, F, Fut>(&self, mut attempt: F) -> Result<R, RedisError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<R, RedisError>>,
    {
        let lp = crate::get_running_loop();
        let deadline = lp.time() + self.reconnect_timeout;
        let mut backoff = FIRST_BACKOFF;
        loop {
            match attempt().await {
                Err(e) if e.is_transient() && lp.time() < deadline => {
                    log::debug!("redis: {e}; retrying in {backoff} s");
                    crate::sleep(backoff.min((deadline - lp.time()).max(0.0))).await;
                    backoff = (backoff * 2.0).min(MAX_BACKOFF);
                }
                r => return r,
            }
        }
    }

    /// One command on the shared connection; error replies become `RedisError::Server`.
    pub async fn call(&self, args: &[&[u8]]) -> Result<Frame, RedisError> {
        self.retrying(|| async { check(self.shared().await?.request(args).await?) })
            .await
    }

    /// Runs a script with `EVALSHA` (loading it first when needed).
    pub async fn eval(
        &self,
        script: &Script,
        keys: &[&[u8]],
        args: &[&[u8]],
    ) -> Result<Frame, RedisError> {
        self.retrying(|| async {
            let conn = self.shared().await?;
            let sha = self.sha(&conn, script).await?;
            let numkeys = keys.len().to_string();
            let mut cmd: Vec<&[u8]> = vec![b"EVALSHA", &sha, numkeys.as_bytes()];
            cmd.extend_from_slice(keys);
            cmd.extend_from_slice(args);
            let reply = check(conn.request(&cmd).await?);
            if matches!(&reply, Err(RedisError::Server(m)) if m.starts_with("NOSCRIPT")) {
                self.shas.borrow_mut().remove(&script.key());
            }
            reply
        })
        .await
    }

    async fn sha(&self, conn: &Conn, script: &Script) -> Result<Vec<u8>, RedisError> {
        if let Some(sha) = self.shas.borrow().get(&script.key()) {
            return Ok(sha.clone());
        }
        let args: [&[u8]; 3] = [b"SCRIPT", b"LOAD", script.0.as_bytes()];
        match check(conn.request(&args).await?)? {
            Frame::BulkString(sha) | Frame::SimpleString(sha) => {
                self.shas.borrow_mut().insert(script.key(), sha.clone());
                Ok(sha)
            }
            other => Err(RedisError::Protocol(format!(
                "SCRIPT LOAD answered {other:?}"
            ))),
        }
    }

    /// One blocking command on a connection of its own, returned to the pool after.
    ///
    /// Dropping the future closes that connection.
    pub async fn call_blocking(&self, args: &[&[u8]]) -> Result<Frame, RedisError> {
        self.retrying(|| async {
            let idle = self.blocking.borrow_mut().pop();
            let conn = match idle {
                Some(c) if !c.is_broken() => c,
                _ => Conn::open(&self.info).await?,
            };
            let reply = conn.request(args).await?;
            self.blocking.borrow_mut().push(conn);
            check(reply)
        })
        .await
    }
}
