//! The seed's TCP echo client (`echo_client.py`): same output, line for line.
//!
//! `cargo run --example echo_client [PORT]` (default 8888), against `echo_server`.

mod repr {
    include!("support/py_repr.rs");
}
use repr::py_repr;

async fn tcp_echo_client(message: &str, port: u16) -> std::io::Result<()> {
    let (mut reader, writer) = asyncio::open_connection("127.0.0.1", port).await?;

    println!("Send: {}", py_repr(message));
    writer.write(message.as_bytes());

    let data = reader.read(100).await?;
    println!("Received: {}", py_repr(&String::from_utf8_lossy(&data)));

    println!("Close the connection");
    writer.close();
    writer.wait_closed().await
}

fn main() -> std::io::Result<()> {
    let port = std::env::args()
        .nth(1)
        .map_or(8888, |p| p.parse().expect("PORT must be a number"));
    asyncio::run(tcp_echo_client("Hello World!", port))
}
