//! hyper 1.x on asyncio's loop: HTTP/1.1 (keep-alive) and HTTP/2 on one port, with a
//! `!Send` counter (`Rc<Cell>`) shared by every handler.
//!
//! `cargo run --release --features hyper --example hyper_server [PORT]` (default 3000), then
//! `curl http://127.0.0.1:3000/`, `curl --http2-prior-knowledge http://127.0.0.1:3000/`,
//! `curl --data-binary @file http://127.0.0.1:3000/echo`, or the `hyper_client` example.
//!
//! - `GET /` answers `Hello, World!` with the request's number in header `x-hits`;
//! - `POST /echo` streams the request's body back as it arrives;
//! - `GET /hits` answers how many requests came so far.
//!
//! A client that sends no complete request head for `header_timeout` is disconnected
//! (hyper's `header_read_timeout`, on the loop's clock through `LoopTimer`).

use asyncio::hyper::{LocalExec, LoopTimer};
use asyncio::net::TcpListener;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, combinators::UnsyncBoxBody};
use hyper::{Method, Request, Response, StatusCode, body::Incoming, service::service_fn};
use hyper_util::server::conn::auto;
use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Body = UnsyncBoxBody<Bytes, BoxError>;

/// What the server is told.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// How long a client may take to send a request head.
    pub header_timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            header_timeout: Duration::from_secs(30),
        }
    }
}

fn full(body: impl Into<Bytes>) -> Body {
    Full::new(body.into())
        .map_err(|e| match e {})
        .boxed_unsync()
}

/// One request. `hits` is an `Rc<Cell>`: the handler's future is not `Send`, which
/// `LocalExec` allows, HTTP/2 included.
async fn handle(req: Request<Incoming>, hits: Rc<Cell<u64>>) -> Result<Response<Body>, BoxError> {
    hits.set(hits.get() + 1);
    let res = match (req.method(), req.uri().path()) {
        (&Method::GET, "/") => Response::builder()
            .header("content-type", "text/plain")
            .header("x-hits", hits.get())
            .body(full(&b"Hello, World!"[..]))?,
        (&Method::GET, "/hits") => Response::new(full(hits.get().to_string())),
        // The body streams back frame by frame: a 10 MiB upload is never held whole.
        (&Method::POST, "/echo") => {
            Response::new(req.into_body().map_err(Into::into).boxed_unsync())
        }
        _ => Response::builder()
            .status(StatusCode::NOT_FOUND)
            .body(full(""))?,
    };
    Ok(res)
}

/// Serves every connection `listener` accepts, each in a task of its own, until the
/// listener fails.
///
/// # Errors
/// The listener's error.
pub async fn serve(listener: TcpListener, opts: Options) -> std::io::Result<()> {
    let hits = Rc::new(Cell::new(0u64));
    let mut builder = auto::Builder::new(LocalExec);
    builder
        .http1()
        .timer(LoopTimer::new())
        .header_read_timeout(opts.header_timeout)
        .keep_alive(true);
    builder.http2().timer(LoopTimer::new());
    let builder = Rc::new(builder);
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        let (hits, builder) = (hits.clone(), builder.clone());
        let service = service_fn(move |req| handle(req, hits.clone()));
        // The task runs on without its handle, as asyncio's tasks do.
        let _conn = asyncio::create_task(async move {
            if let Err(e) = builder.serve_connection(stream, service).await {
                log_error(&*e);
            }
        });
    }
}

fn log_error(e: &(dyn std::error::Error + 'static)) {
    // A client that goes away or is timed out is no news.
    if let Some(h) = e.downcast_ref::<hyper::Error>() {
        if h.is_incomplete_message() || h.is_timeout() || h.is_canceled() {
            return;
        }
    }
    if std::env::var_os("HYPER_SERVER_QUIET").is_none() {
        eprintln!("connection: {e}");
    }
}

#[allow(dead_code)] // a test compiles this file for `serve`, without calling `main`
fn main() -> std::io::Result<()> {
    let port: u16 = std::env::args()
        .nth(1)
        .map(|p| p.parse().expect("PORT is a number"))
        .unwrap_or(3000);
    asyncio::run(async move {
        let listener = TcpListener::bind(([127, 0, 0, 1], port).into())?;
        println!("listening on http://{}", listener.local_addr()?);
        serve(listener, Options::default()).await
    })
}
