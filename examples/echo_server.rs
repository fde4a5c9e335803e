//! The seed's TCP echo server (`echo_server.py`): same output, line for line.
//!
//! `cargo run --example echo_server [PORT]` (default 8888; 0 picks a free port).

use asyncio::{StreamReader, StreamWriter};

mod repr {
    include!("support/py_repr.rs");
}
use repr::py_repr;

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
