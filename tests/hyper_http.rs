//! hyper on the loop (feature `hyper`), through the `hyper_server` and `hyper_client`
//! examples: curl over HTTP/1.1 keep-alive and HTTP/2, a 10 MiB body both ways, hyper's
//! header timeout on our timer, and our client against our server.
#![cfg(feature = "hyper")]

#[path = "../examples/hyper_client.rs"]
mod client;
#[path = "../examples/hyper_server.rs"]
mod server;

use asyncio::net::{TcpListener, TcpStream};
use bytes::Bytes;
use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

fn start(opts: server::Options) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = listener.local_addr().unwrap();
    let _server = asyncio::create_task(server::serve(listener, opts));
    addr
}

/// Whether curl is here; says so when it is not (the curl tests then pass without it:
/// `apt-get install -y curl` to run them).
fn have_curl() -> bool {
    let ok = Command::new("curl")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("SKIPPED: curl is not installed (apt-get install -y curl)");
    }
    ok
}

/// Runs curl with `args` on a thread of the pool, so the loop serves meanwhile.
async fn curl(args: Vec<String>) -> String {
    let out = asyncio::to_thread(move || {
        Command::new("curl")
            .args(["-s", "--max-time", "60"])
            .args(args)
            .output()
    })
    .await
    .unwrap()
    .unwrap();
    assert!(
        out.status.success(),
        "curl failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[asyncio::test]
async fn curl_http1_keeps_one_connection_for_several_requests() {
    if !have_curl() {
        return;
    }
    let addr = start(server::Options::default());
    let url = format!("http://{addr}/");
    // `num_connects` is 1 for the transfer that connected, 0 for one that reused it.
    let fmt = "[%{http_version} %{num_connects}]\n".to_string();
    let out = curl(vec![
        "-w".into(),
        fmt.clone(),
        url.clone(),
        "-w".into(),
        fmt.clone(),
        url.clone(),
        "-w".into(),
        fmt,
        url,
    ])
    .await;
    assert_eq!(
        out, "Hello, World![1.1 1]\nHello, World![1.1 0]\nHello, World![1.1 0]\n",
        "three answers over one HTTP/1.1 connection"
    );
}

#[asyncio::test]
async fn curl_http2_prior_knowledge() {
    if !have_curl() {
        return;
    }
    let addr = start(server::Options::default());
    let url = format!("http://{addr}/");
    // One URL per run: curl 7.88 (Debian 12's) fails to reuse a prior-knowledge HTTP/2
    // connection (curl issue 10634, fixed in 8.0); our client sends several requests on one
    // HTTP/2 connection in `hyper_client_against_hyper_server_on_both_versions`.
    for hit in 1..=2 {
        let out = curl(vec![
            "--http2-prior-knowledge".into(),
            "-i".into(),
            url.clone(),
        ])
        .await;
        assert!(out.starts_with("HTTP/2 200"), "{out}");
        assert!(
            out.contains(&format!("x-hits: {hit}\r\n")),
            "the Rc counter counted: {out}"
        );
        assert!(out.ends_with("Hello, World!"), "{out}");
    }
}

/// 10 MiB that are not all alike.
fn big_body() -> Vec<u8> {
    let mut x = 0x2545_f491_4f6c_dd1du64;
    (0..10 << 20)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

#[asyncio::test]
async fn curl_echoes_ten_mebibytes_over_both_versions() {
    if !have_curl() {
        return;
    }
    let addr = start(server::Options::default());
    let body = big_body();
    let dir = std::env::temp_dir();
    let input = dir.join(format!("asyncio-hyper-in-{}", std::process::id()));
    std::fs::write(&input, &body).unwrap();
    for (i, version) in ["--http1.1", "--http2-prior-knowledge"]
        .into_iter()
        .enumerate()
    {
        let output = dir.join(format!("asyncio-hyper-out-{}-{i}", std::process::id()));
        curl(vec![
            version.into(),
            "--data-binary".into(),
            format!("@{}", input.display()),
            "-o".into(),
            output.display().to_string(),
            format!("http://{addr}/echo"),
        ])
        .await;
        let got = std::fs::read(&output).unwrap();
        std::fs::remove_file(&output).unwrap();
        assert_eq!(got.len(), body.len(), "{version}");
        assert!(got == body, "{version}: the echo differs");
    }
    std::fs::remove_file(&input).unwrap();
}

#[asyncio::test(virtual_time)]
async fn a_client_that_stops_mid_headers_is_timed_out() {
    let timeout = Duration::from_secs(7);
    let addr = start(server::Options {
        header_timeout: timeout,
    });
    let lp = asyncio::get_running_loop();
    // A complete request is answered...
    let answers = client::fetch_all(addr, false, &[("/", None)])
        .await
        .unwrap();
    assert_eq!(answers[0].status, 200);
    // ...one whose head never ends is cut off after the header timeout, on the loop's clock.
    let slow = TcpStream::connect(addr).await.unwrap();
    slow.write_all(b"GET / HTTP/1.1\r\nhost: x\r\nx-slow: ")
        .await
        .unwrap();
    let start = lp.time();
    let mut got = Vec::new();
    let mut buf = [0; 1024];
    let read_all = async {
        loop {
            match slow.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    };
    asyncio::wait_for(read_all, 60.0)
        .await
        .expect("the server never closed the slow connection");
    let waited = lp.time() - start;
    assert!(
        (waited - 7.0).abs() < 0.01,
        "cut off after {waited} s, not 7"
    );
    let text = String::from_utf8_lossy(&got);
    assert!(got.is_empty() || text.starts_with("HTTP/1.1 408"), "{text}");
}

#[asyncio::test]
async fn hyper_client_against_hyper_server_on_both_versions() {
    let addr = start(server::Options::default());
    let requests = [
        ("/", None),
        ("/echo", Some(Bytes::from(big_body()))),
        ("/nowhere", None),
        ("/hits", None),
    ];
    let h1 = client::fetch_all(addr, false, &requests).await.unwrap();
    let h2 = client::fetch_all(addr, true, &requests).await.unwrap();
    for (answers, version, hits) in [
        (h1, hyper::Version::HTTP_11, "4"),
        (h2, hyper::Version::HTTP_2, "8"),
    ] {
        assert!(answers.iter().all(|a| a.version == version));
        let status: Vec<_> = answers.iter().map(|a| a.status).collect();
        assert_eq!(status, [200, 200, 404, 200]);
        assert_eq!(answers[0].body, "Hello, World!");
        assert!(answers[1].body == big_body(), "the 10 MiB echo differs");
        assert_eq!(answers[3].body, hits, "one counter for both versions");
    }
}

/// Reads one answer to `GET /` (it ends with the 13-byte body).
async fn read_hello(s: &TcpStream) -> String {
    let mut got = Vec::new();
    let mut buf = [0; 512];
    while !got.ends_with(b"Hello, World!") {
        let n = s.read(&mut buf).await.unwrap();
        assert!(n > 0, "closed early: {}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&buf[..n]);
    }
    String::from_utf8(got).unwrap()
}

#[asyncio::test(virtual_time)]
async fn the_header_timeout_restarts_for_each_request_of_a_keep_alive_connection() {
    let addr = start(server::Options {
        header_timeout: Duration::from_secs(7),
    });
    let lp = asyncio::get_running_loop();
    let s = TcpStream::connect(addr).await.unwrap();
    let start = lp.time();
    // Three requests 5 s apart: 10 s in all, past one timeout, never past one per request.
    for i in 0..3 {
        if i > 0 {
            asyncio::sleep(5.0).await;
        }
        s.write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
            .await
            .unwrap();
        let answer = read_hello(&s).await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    }
    // Then idle: cut off 7 s after the last answer.
    let mut buf = [0; 64];
    while s.read(&mut buf).await.is_ok_and(|n| n > 0) {}
    assert!(
        (lp.time() - start - 17.0).abs() < 0.01,
        "closed at {}",
        lp.time() - start
    );
}
