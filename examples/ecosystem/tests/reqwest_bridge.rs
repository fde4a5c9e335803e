//! reqwest through async-compat, awaited from asyncio tasks, against hyper served on
//! asyncio's loop in the same process: the bridge the README recommends for crates that need
//! tokio's reactor.

use async_compat::Compat;
use bytes::Bytes;
use http_body_util::Full;
use hyper::{body::Incoming, server::conn::http1, service::service_fn, Request, Response};
use std::cell::Cell;
use std::convert::Infallible;
use std::rc::Rc;

/// Serves `hello N PATH` (N counts requests, in a `!Send` cell) until the task is cancelled;
/// `/hang` never answers.
async fn serve(listener: asyncio::net::TcpListener, hits: Rc<Cell<u32>>) {
    loop {
        let (stream, _) = listener.accept().await.unwrap();
        let hits = hits.clone();
        let _conn = asyncio::create_task(async move {
            let service = service_fn(move |req: Request<Incoming>| {
                hits.set(hits.get() + 1);
                let path = req.uri().path().to_owned();
                let body = format!("hello {} {path}", hits.get());
                async move {
                    if path == "/hang" {
                        asyncio::sleep(3600.0).await;
                    }
                    Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(body))))
                }
            });
            let _ = http1::Builder::new()
                .timer(asyncio::hyper::LoopTimer::new())
                .serve_connection(stream, service)
                .await;
        });
    }
}

#[test]
fn reqwest_through_async_compat_fetches_from_hyper_on_our_loop() {
    asyncio::run(async {
        let listener = asyncio::net::TcpListener::bind(([127, 0, 0, 1], 0).into()).unwrap();
        let port = listener.local_addr().unwrap().port();
        let hits = Rc::new(Cell::new(0));
        let server = asyncio::create_task(serve(listener, hits.clone()));

        let client = Compat::new(async { reqwest::Client::new() }).await;
        for n in 1..=3 {
            let url = format!("http://127.0.0.1:{port}/item/{n}");
            let response = Compat::new(async { client.get(&url).send().await })
                .await
                .unwrap();
            assert_eq!(response.status(), 200);
            let body = Compat::new(response.text()).await.unwrap();
            assert_eq!(body, format!("hello {n} /item/{n}"));
        }
        // The server's handler ran on this loop, between our awaits.
        assert_eq!(hits.get(), 3);
        // A timeout of reqwest's runs on tokio's clock, and still ends our await. The future is
        // made inside `Compat` too: `send()` arms the timer when it is called.
        let url = format!("http://127.0.0.1:{port}/hang");
        let slow = Compat::new(async {
            let request = client
                .get(url)
                .timeout(std::time::Duration::from_millis(50));
            request.send().await
        })
        .await;
        assert!(slow.unwrap_err().is_timeout());
        server.cancel();
    });
}
