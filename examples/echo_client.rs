//! The seed's TCP echo client (`echo_client.py`): same output, line for line.
//!
//! `cargo run --example echo_client [PORT]` (default 8888), against `echo_server`.

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
