//! The hyper "hello" server of the wrk benchmark (`scripts/bench_hyper.sh`), on asyncio's
//! loop or on tokio's current-thread runtime: the same hyper HTTP/1.1 service (keep-alive,
//! a 13-byte body, a header-read timer from each runtime), so the difference is the
//! runtime under it.
//!
//! `hyper_bench asyncio PORT` or `hyper_bench tokio PORT`; serves until killed.

use http_body_util::Full;
use hyper::{body::Incoming, server::conn::http1, service::service_fn, Request, Response};
use std::convert::Infallible;

type Body = Full<bytes::Bytes>;

async fn hello(_req: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    let mut res = Response::new(Full::new(bytes::Bytes::from_static(b"Hello, World!")));
    res.headers_mut().insert(
        "content-type",
        hyper::header::HeaderValue::from_static("text/plain"),
    );
    Ok(res)
}

fn on_asyncio(port: u16) {
    use asyncio::hyper::LoopTimer;
    asyncio::run(async move {
        let listener = asyncio::net::TcpListener::bind(([127, 0, 0, 1], port).into()).unwrap();
        let mut builder = http1::Builder::new();
        builder.timer(LoopTimer::new());
        let builder = std::rc::Rc::new(builder);
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let _ = stream.set_nodelay(true);
            let builder = builder.clone();
            let _conn = asyncio::create_task(async move {
                let _ = builder.serve_connection(stream, service_fn(hello)).await;
            });
        }
    });
}

fn on_tokio(port: u16) {
    use hyper_util::rt::{TokioIo, TokioTimer};
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async move {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap();
        let mut builder = http1::Builder::new();
        builder.timer(TokioTimer::new());
        let builder = std::rc::Rc::new(builder);
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let _ = stream.set_nodelay(true);
            let builder = builder.clone();
            tokio::task::spawn_local(async move {
                let _ = builder
                    .serve_connection(TokioIo::new(stream), service_fn(hello))
                    .await;
            });
        }
    });
}

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    let which = args.next().unwrap_or_default();
    let port: u16 = args.next().and_then(|p| p.parse().ok()).unwrap_or(3100);
    match which.as_str() {
        "asyncio" => on_asyncio(port),
        "tokio" => on_tokio(port),
        _ => eprintln!("usage: hyper_bench asyncio|tokio PORT (run by scripts/bench_hyper.sh)"),
    }
}
