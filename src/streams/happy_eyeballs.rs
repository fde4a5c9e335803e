//! Happy eyeballs (RFC 8305, asyncio's `staggered_race`): connection attempts started a
//! stagger apart, the first to connect winning.

use crate::net::TcpStream;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

type Attempt = Pin<Box<dyn Future<Output = Result<TcpStream, (SocketAddr, io::Error)>>>>;

/// Happy eyeballs (asyncio's `staggered_race`): start the next attempt when the stagger
/// passes or the last one fails; the first success wins and the others are dropped. When
/// all fail, their errors in the order they ended.
pub(super) async fn staggered(
    addrs: Vec<SocketAddr>,
    local: Option<SocketAddr>,
    delay: Duration,
) -> Result<TcpStream, Vec<(SocketAddr, io::Error)>> {
    let mut pending = addrs.into_iter();
    let mut running: Vec<Attempt> = Vec::new();
    let mut errors = Vec::new();
    let mut timer = Box::pin(crate::sleep(delay));
    let start = |addr: SocketAddr| -> Attempt {
        Box::pin(async move {
            TcpStream::connect_from(addr, local)
                .await
                .map_err(|e| (addr, e))
        })
    };
    if let Some(addr) = pending.next() {
        running.push(start(addr));
    }
    std::future::poll_fn(|cx| {
        loop {
            let mut i = 0;
            let mut failed = false;
            while i < running.len() {
                match running[i].as_mut().poll(cx) {
                    Poll::Ready(Ok(stream)) => return Poll::Ready(Ok(stream)),
                    Poll::Ready(Err(e)) => {
                        errors.push(e);
                        drop(running.swap_remove(i));
                        failed = true;
                    }
                    Poll::Pending => i += 1,
                }
            }
            let due = timer.as_mut().poll(cx).is_ready();
            if failed || due {
                if let Some(addr) = pending.next() {
                    running.push(start(addr));
                    timer.set(crate::sleep(delay));
                    continue;
                }
            }
            if running.is_empty() {
                return Poll::Ready(Err(std::mem::take(&mut errors)));
            }
            return Poll::Pending;
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::streams::resolve::combine;

    #[test]
    fn happy_eyeballs_starts_the_next_attempt_when_one_hangs() {
        crate::run(async {
            // A listener whose accept queue is full drops new SYNs: connecting to it hangs.
            let full = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            crate::net::sys::listen(&full, 0).unwrap();
            let full_addr = full.local_addr().unwrap();
            let mut fillers = Vec::new();
            for _ in 0..8 {
                match std::net::TcpStream::connect_timeout(&full_addr, Duration::from_millis(50)) {
                    Ok(s) => fillers.push(s),
                    Err(_) => break,
                }
            }
            let good = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let good_addr = good.local_addr().unwrap();
            let stream = staggered(vec![full_addr, good_addr], None, Duration::from_millis(50))
                .await
                .unwrap();
            assert_eq!(stream.peer_addr().unwrap(), good_addr);
        });
    }

    #[test]
    fn every_address_failing_gives_one_error() {
        crate::run(async {
            let closed = |_| {
                let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
                l.local_addr().unwrap()
            };
            let addrs: Vec<SocketAddr> = (0..3).map(closed).collect();
            let errors = staggered(addrs.clone(), None, Duration::from_millis(50))
                .await
                .unwrap_err();
            assert_eq!(errors.len(), 3);
            for (addr, e) in &errors {
                assert!(addrs.contains(addr));
                assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused);
            }
            let err = combine(errors.into_iter().map(|(_, e)| e).collect());
            assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
        });
    }
}
