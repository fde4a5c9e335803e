//! A line chat server on streams: every line a client sends goes to every other client.
//!
//! `cargo run --example chat_server [PORT]` (default 8888), then `nc 127.0.0.1 8888` twice.
//! `cargo run --example chat_server -- --demo` serves on a free port, runs three clients
//! against it, prints what each one saw, and exits.

use asyncio::{StreamReader, StreamWriter};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

/// The connected clients, by id.
type Room = Rc<RefCell<BTreeMap<u64, StreamWriter>>>;

async fn client(room: Room, id: u64, mut reader: StreamReader, writer: StreamWriter) {
    let name = writer
        .peername()
        .map_or_else(|| format!("client {id}"), |a| a.to_string());
    broadcast(&room, id, format!("* {name} joined\n").as_bytes());
    room.borrow_mut().insert(id, writer.clone());
    while let Ok(Some(line)) = reader.next_line().await {
        let mut message = format!("{name}: ").into_bytes();
        message.extend_from_slice(&line);
        if !message.ends_with(b"\n") {
            message.push(b'\n');
        }
        broadcast(&room, id, &message);
        // A slow client slows its own sender, not the room: drain only our own writer.
        if writer.drain().await.is_err() {
            break;
        }
    }
    room.borrow_mut().remove(&id);
    broadcast(&room, id, format!("* {name} left\n").as_bytes());
    writer.close();
}

fn broadcast(room: &Room, from: u64, message: &[u8]) {
    // Clone the writers out first: writing never calls back into the room, but keeping the
    // borrow short is the habit that keeps RefCell panics away.
    let writers: Vec<StreamWriter> = room
        .borrow()
        .iter()
        .filter(|(id, _)| **id != from)
        .map(|(_, w)| w.clone())
        .collect();
    for w in writers {
        w.write(message);
    }
}

async fn serve(port: u16) -> std::io::Result<asyncio::Server> {
    let room: Room = Rc::default();
    let next_id = Rc::new(std::cell::Cell::new(0u64));
    asyncio::start_server(
        move |reader, writer| {
            let id = next_id.get();
            next_id.set(id + 1);
            client(room.clone(), id, reader, writer)
        },
        "127.0.0.1",
        port,
    )
    .await
}

/// Three clients talk; each prints the lines it received, in order.
async fn demo() -> std::io::Result<()> {
    let server = serve(0).await?;
    let port = server.sockets()[0].as_inet().unwrap().port();
    let mut clients = Vec::new();
    for _ in 0..3 {
        clients.push(asyncio::open_connection("127.0.0.1", port).await?);
        asyncio::sleep(0.01).await;
    }
    for (i, (_, w)) in clients.iter().enumerate() {
        w.write(format!("hello from client {i}\n").as_bytes());
        asyncio::sleep(0.01).await;
    }
    for (_, w) in &clients {
        w.write_eof();
    }
    asyncio::sleep(0.05).await;
    for (i, (r, w)) in clients.iter_mut().enumerate() {
        w.close();
        let mut seen = 0;
        while let Ok(Some(line)) = r.next_line().await {
            let line = String::from_utf8_lossy(&line);
            // Ports differ from run to run; show who spoke by their message instead.
            if let Some(text) = line.split(": ").nth(1) {
                print!("client {i} got: {text}");
                seen += 1;
            }
        }
        println!("client {i} saw {seen} messages");
    }
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
    let port = arg.map_or(8888, |p| p.parse().expect("PORT must be a number"));
    let server = serve(port).await?;
    println!("Chat on {}", server.sockets()[0]);
    server.serve_forever().await
}
