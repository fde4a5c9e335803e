//! A worker that catches its cancellation, says goodbye on its socket, and lets the
//! cancellation go on (`tests/oracle/cancel_goodbye.py`, asyncio's
//! `except CancelledError: ...; raise`): same output, line for line.
//!
//! `cargo run --example cancel_goodbye`

use asyncio::{Event, StreamAddr, StreamReader, StreamWriter, create_task, on_cancel, sleep};
use std::cell::RefCell;
use std::rc::Rc;

mod repr {
    include!("support/py_repr.rs");
}
use repr::py_repr;

async fn worker(writer: StreamWriter, started: Event) -> std::io::Result<()> {
    writer.write(b"hello\n");
    writer.drain().await?;
    started.set();
    let goodbye = {
        let writer = writer.clone();
        async move {
            println!("worker: cancelled, saying goodbye");
            writer.write(b"goodbye\n");
            let _ = writer.drain().await;
            writer.close();
            let _ = writer.wait_closed().await;
            println!("worker: goodbye sent");
        }
    };
    on_cancel(sleep(3600.0), goodbye).await;
    Ok(())
}

#[asyncio::main]
async fn main() -> std::io::Result<()> {
    let received = Rc::new(RefCell::new(Vec::new()));
    let closed = Event::new();
    let serve = {
        let (received, closed) = (received.clone(), closed.clone());
        move |mut reader: StreamReader, writer: StreamWriter| {
            let (received, closed) = (received.clone(), closed.clone());
            async move {
                while let Ok(line) = reader.readline().await {
                    if line.is_empty() {
                        break;
                    }
                    let line = String::from_utf8_lossy(&line).trim().to_string();
                    received.borrow_mut().push(line);
                }
                writer.close();
                closed.set();
            }
        }
    };
    let server = asyncio::start_server(serve, "127.0.0.1", 0).await?;
    let StreamAddr::Inet(addr) = server.sockets()[0].clone() else {
        unreachable!("a TCP server")
    };
    let (_reader, writer) = asyncio::open_connection("127.0.0.1", addr.port()).await?;
    let started = Event::new();
    let task = create_task(worker(writer, started.clone()));
    started.wait().await;
    task.cancel();
    if let Err(e) = task.clone().await {
        assert!(e.is_cancelled());
        let cancelled = if task.cancelled() { "True" } else { "False" };
        println!("main: worker cancelled: {cancelled}");
    }
    closed.wait().await;
    let received: Vec<String> = received.borrow().iter().map(|l| py_repr(l)).collect();
    println!("server received: [{}]", received.join(", "));
    server.close();
    server.wait_closed().await;
    Ok(())
}
