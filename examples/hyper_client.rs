//! A hyper 1.x client on asyncio's loop: a few requests over one HTTP/1.1 keep-alive
//! connection, then over one HTTP/2 connection (its streams are tasks of the loop, through
//! `LocalExec`).
//!
//! `cargo run --features hyper --example hyper_client [HOST:PORT]` (default
//! 127.0.0.1:3000), against the `hyper_server` example.

use asyncio::hyper::LocalExec;
use asyncio::net::TcpStream;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use std::net::SocketAddr;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// One answer: status, `x-hits` if any, body.
#[derive(Debug)]
pub struct Answer {
    /// The response's status code.
    pub status: u16,
    /// The HTTP version it came in.
    pub version: hyper::Version,
    /// The body.
    pub body: Bytes,
}

fn request(
    addr: SocketAddr,
    path: &str,
    body: Option<Bytes>,
) -> Result<Request<Full<Bytes>>, BoxError> {
    let method = if body.is_some() { "POST" } else { "GET" };
    Ok(Request::builder()
        .method(method)
        .uri(format!("http://{addr}{path}"))
        .header("host", addr.to_string())
        .body(Full::new(body.unwrap_or_default()))?)
}

/// Sends each `(path, body)` in turn on one connection: HTTP/2 if `h2`, else HTTP/1.1
/// keep-alive.
///
/// # Errors
/// The connection's or hyper's error.
pub async fn fetch_all(
    addr: SocketAddr,
    h2: bool,
    requests: &[(&str, Option<Bytes>)],
) -> Result<Vec<Answer>, BoxError> {
    let stream = TcpStream::connect(addr).await?;
    let mut answers = Vec::new();
    if h2 {
        let (mut sender, conn) = hyper::client::conn::http2::handshake(LocalExec, stream).await?;
        let _conn = asyncio::create_task(conn);
        for (path, body) in requests {
            let res = sender
                .send_request(request(addr, path, body.clone())?)
                .await?;
            answers.push(collect(res).await?);
        }
    } else {
        let (mut sender, conn) = hyper::client::conn::http1::handshake(stream).await?;
        let _conn = asyncio::create_task(conn);
        for (path, body) in requests {
            sender.ready().await?;
            let res = sender
                .send_request(request(addr, path, body.clone())?)
                .await?;
            answers.push(collect(res).await?);
        }
    }
    Ok(answers)
}

async fn collect(res: hyper::Response<hyper::body::Incoming>) -> Result<Answer, BoxError> {
    let status = res.status().as_u16();
    let version = res.version();
    let body = res.into_body().collect().await?.to_bytes();
    Ok(Answer {
        status,
        version,
        body,
    })
}

#[allow(dead_code)] // a test compiles this file for `fetch_all`, without calling `main`
fn main() -> Result<(), BoxError> {
    let addr: SocketAddr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3000".into())
        .parse()?;
    asyncio::run(async move {
        let requests = [
            ("/", None),
            ("/echo", Some(Bytes::from_static(b"echoed"))),
            ("/hits", None),
        ];
        for h2 in [false, true] {
            for a in fetch_all(addr, h2, &requests).await? {
                println!(
                    "{:?} {} {}",
                    a.version,
                    a.status,
                    String::from_utf8_lossy(&a.body)
                );
            }
        }
        Ok(())
    })
}
