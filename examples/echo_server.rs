//! The seed's TCP echo server (`echo_server.py`): same output, line for line.
//!
//! `cargo run --example echo_server [PORT]` (default 8888; 0 picks a free port).

use asyncio::{StreamReader, StreamWriter};

/// Python's `repr` of a string, for output identical to the original's.
fn py_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::from(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

async fn handle_echo(mut reader: StreamReader, writer: StreamWriter) -> std::io::Result<()> {
    let data = reader.read(100).await?;
    let message = String::from_utf8_lossy(&data);
    let addr = writer.peername().expect("a TCP peer has an address");

    println!("Received {} from {addr}", py_repr(&message));

    println!("Send: {}", py_repr(&message));
    writer.write(&data);
    writer.drain().await?;

    println!("Close the connection");
    writer.close();
    Ok(())
}

#[asyncio::main]
async fn main() -> std::io::Result<()> {
    let port = std::env::args()
        .nth(1)
        .map_or(8888, |p| p.parse().expect("PORT must be a number"));
    let server = asyncio::start_server(handle_echo, "127.0.0.1", port).await?;

    let addr = &server.sockets()[0];
    println!("Serving on {addr}");

    server.serve_forever().await
}
