//! A tiny HTTP/1.1 keep-alive "hello" server on streams, for load tests with `wrk`.
//!
//! `cargo run --release --example http_hello [PORT]` (default 8080), then
//! `wrk -t1 -c100 -d10s http://127.0.0.1:8080/`.
//! `cargo run --example http_hello -- --demo` serves on a free port, sends three requests on
//! one keep-alive connection, prints the answers' status lines and bodies, and exits.

use asyncio::{ReadError, StreamReader, StreamWriter};

const BODY: &[u8] = b"Hello, World!";

async fn handle(mut reader: StreamReader, writer: StreamWriter) {
    loop {
        // The request head; a body (rare for this server) is skipped by Content-Length.
        let head = match reader.readuntil(b"\r\n\r\n").await {
            Ok(head) => head,
            Err(ReadError::IncompleteRead(_)) => break, // the client closed
            Err(_) => {
                writer.write(
                    b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
                break;
            }
        };
        let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
        let http10 = head.lines().next().is_some_and(|l| l.ends_with("http/1.0"));
        let close = head.contains("\r\nconnection: close")
            || (http10 && !head.contains("\r\nconnection: keep-alive"));
        if let Some(len) = head
            .split("\r\ncontent-length:")
            .nth(1)
            .and_then(|v| v.split("\r\n").next())
            .and_then(|v| v.trim().parse::<usize>().ok())
        {
            if reader.readexactly(len).await.is_err() {
                break;
            }
        }
        let mut answer = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n{}\r\n",
            BODY.len(),
            if close { "Connection: close\r\n" } else { "" }
        )
        .into_bytes();
        answer.extend_from_slice(BODY);
        writer.write(&answer);
        if close || writer.drain().await.is_err() {
            break;
        }
    }
    writer.close();
}

async fn demo() -> std::io::Result<()> {
    let server = asyncio::start_server(handle, "127.0.0.1", 0).await?;
    let port = server.sockets()[0].as_inet().unwrap().port();
    let (mut reader, writer) = asyncio::open_connection("127.0.0.1", port).await?;
    for i in 0..3 {
        let last = i == 2;
        writer.write(
            format!(
                "GET /{i} HTTP/1.1\r\nHost: localhost\r\n{}\r\n",
                if last { "Connection: close\r\n" } else { "" }
            )
            .as_bytes(),
        );
        let status = reader.readline().await?;
        let head = reader.readuntil(b"\r\n\r\n").await?;
        let head = String::from_utf8_lossy(&head);
        let len: usize = head
            .split("Content-Length: ")
            .nth(1)
            .and_then(|v| v.split("\r\n").next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let body = reader.readexactly(len).await?;
        println!(
            "{} {}",
            String::from_utf8_lossy(&status).trim_end(),
            String::from_utf8_lossy(&body)
        );
    }
    assert!(reader.read(1).await?.is_empty(), "Connection: close closes");
    server.close();
    server.wait_closed().await;
    Ok(())
}

#[asyncio::main]
async fn main() -> std::io::Result<()> {
    let arg = std::env::args().nth(1);
    if arg.as_deref() == Some("--demo") {
        return demo().await;
    }
    let port = arg.map_or(8080, |p| p.parse().expect("PORT must be a number"));
    let server = asyncio::start_server(handle, "127.0.0.1", port)
        .backlog(1024)
        .await?;
    println!("Serving HTTP on {}", server.sockets()[0]);
    server.serve_forever().await
}
