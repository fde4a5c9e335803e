//! The hyper "hello" server of the wrk benchmark (`scripts/bench_hyper.sh`), on asyncio's
//! loop or on tokio's current-thread runtime: the same hyper HTTP/1.1 service (keep-alive,
//! a 13-byte body, a header-read timer from each runtime), so the difference is the
//! runtime under it.
//!
//! `hyper_bench asyncio PORT` or `hyper_bench tokio PORT`; serves until killed. On two
//! threads: `asyncio2` (two of our loops, each with its own `SO_REUSEPORT` listener on the
//! port, the kernel spreading connections over them) against `tokio-mt2` (tokio's
//! multi-thread runtime with 2 workers, one listener, work stealing).

use http_body_util::Full;
use hyper::{Request, Response, body::Incoming, server::conn::http1, service::service_fn};
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
    asyncio::run(async move {
        let listener = asyncio::net::TcpListener::bind(([127, 0, 0, 1], port).into()).unwrap();
        serve_asyncio(listener).await
    });
}

/// A listener with `SO_REUSEPORT`, so that each loop binds its own on the same port.
fn reuse_port_listener(port: u16) -> asyncio::net::TcpListener {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    socket.set_reuse_address(true).unwrap();
    socket.set_reuse_port(true).unwrap();
    let addr: std::net::SocketAddr = ([127, 0, 0, 1], port).into();
    socket.bind(&addr.into()).unwrap();
    socket.listen(1024).unwrap();
    socket.set_nonblocking(true).unwrap();
    asyncio::net::TcpListener::from_std(socket.into()).unwrap()
}

fn on_asyncio_loops(port: u16, loops: usize) {
    let runtime = asyncio::Runtime::builder().loops(loops).build().unwrap();
    let servers: Vec<_> = runtime
        .loops()
        .iter()
        .map(|lp| runtime.spawn_on(lp, move || serve_asyncio(reuse_port_listener(port))))
        .collect();
    for server in servers {
        let _ = server.result(None::<f64>);
    }
}

async fn serve_asyncio(listener: asyncio::net::TcpListener) {
    use asyncio::hyper::LoopTimer;
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

fn on_tokio_mt(port: u16, workers: usize) {
    use hyper_util::rt::{TokioIo, TokioTimer};
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap();
        let mut builder = http1::Builder::new();
        builder.timer(TokioTimer::new());
        let builder = std::sync::Arc::new(builder);
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let _ = stream.set_nodelay(true);
            let builder = builder.clone();
            tokio::spawn(async move {
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
        "asyncio2" => on_asyncio_loops(port, 2),
        "tokio-mt2" => on_tokio_mt(port, 2),
        _ => eprintln!(
            "usage: hyper_bench asyncio|tokio|asyncio2|tokio-mt2 PORT (run by scripts/bench_hyper.sh)"
        ),
    }
}
