//! Heap held by idle connections, counted by this binary's allocator (issue 20, point 4):
//! a connection whose reader waits holds no read buffer, however large its reads were; and a
//! read buffer the allocator refuses closes that connection with `OutOfMemory` instead of
//! aborting the process.

use asyncio::{StreamReader, StreamWriter, start_server};
use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// The system allocator, counting live bytes, and refusing byte buffers of 4 KiB or more
/// (read buffers: `Vec<u8>` is the only large allocation aligned to 1) while `REFUSE` is set.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static REFUSE: AtomicBool = AtomicBool::new(false);

/// The tests of this binary run one at a time: each counts, or refuses, every allocation of
/// the process.
static ALONE: std::sync::Mutex<()> = std::sync::Mutex::new(());

// SAFETY: forwards to the system allocator, which upholds `GlobalAlloc`'s contract; a refusal
// is a null return, which the contract allows.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.align() == 1 && layout.size() >= 4096 && REFUSE.load(Ordering::Relaxed) {
            return std::ptr::null_mut();
        }
        LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        // SAFETY: the caller's layout, as given.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if layout.align() == 1 && new_size >= 4096 && REFUSE.load(Ordering::Relaxed) {
            return std::ptr::null_mut();
        }
        // SAFETY: `ptr` came from `System` with `layout`; the caller checked `new_size`.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            LIVE.fetch_add(new_size, Ordering::Relaxed);
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The echo handler of the seed, as a server would write it.
async fn echo(mut r: StreamReader, w: StreamWriter) {
    while let Ok(data) = r.read(65536).await {
        if data.is_empty() {
            break;
        }
        w.write(&data);
        if w.drain().await.is_err() {
            break;
        }
    }
}

const CLIENTS: usize = 200;

/// 200 connections that each sent one byte, and one that sent a 64 KiB burst, then went
/// idle: the server holds no read buffer for any of them. Before the fix each held the
/// 64 KiB its first read reserved (over 65,000 bytes per connection).
#[test]
fn idle_connections_hold_no_read_buffer() {
    let _alone = ALONE.lock().unwrap_or_else(|e| e.into_inner());
    asyncio::run(idle_connections_hold_no_read_buffer_on_a_loop());
}

async fn idle_connections_hold_no_read_buffer_on_a_loop() {
    let server = start_server(echo, "127.0.0.1", 0).await.unwrap();
    let port = server.sockets()[0].as_inet().unwrap().port();
    let clients = std::thread::spawn(move || {
        let mut clients = Vec::new();
        for i in 0..=CLIENTS {
            let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
            let sent = if i == CLIENTS {
                vec![9u8; 64 * 1024]
            } else {
                vec![i as u8]
            };
            c.write_all(&sent).unwrap();
            let mut got = vec![0u8; sent.len()];
            c.read_exact(&mut got).unwrap();
            assert_eq!(got, sent);
            clients.push(c);
        }
        clients
    });
    // The first connections warm the loop up (its slab, its queues); count from one that
    // every later connection is measured against.
    while !clients.is_finished() {
        asyncio::sleep(0.005).await;
    }
    asyncio::sleep(0.05).await;
    let held = LIVE.load(Ordering::Relaxed);
    let clients = clients.join().unwrap();
    // Open as many again, each sending one byte, and see what they add.
    let more = std::thread::spawn(move || {
        (0..CLIENTS)
            .map(|i| {
                let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
                c.write_all(&[i as u8]).unwrap();
                let mut got = [0u8];
                c.read_exact(&mut got).unwrap();
                c
            })
            .collect::<Vec<_>>()
    });
    while !more.is_finished() {
        asyncio::sleep(0.005).await;
    }
    asyncio::sleep(0.05).await;
    let per_conn = (LIVE.load(Ordering::Relaxed).saturating_sub(held)) / CLIENTS;
    drop((clients, more.join().unwrap()));
    // A connection's task, its registration and its writer's state: a few KiB at most; no
    // 64 KiB read buffer.
    assert!(per_conn < 8 * 1024, "{per_conn} bytes per idle connection");
}

/// A read buffer the allocator refuses: that connection's read fails with `OutOfMemory` and
/// the connection is closed; the process and the server go on.
#[test]
fn a_connection_whose_buffer_cannot_be_had_is_closed_with_an_error() {
    let _alone = ALONE.lock().unwrap_or_else(|e| e.into_inner());
    asyncio::run(a_connection_whose_buffer_cannot_be_had_is_closed_with_an_error_on_a_loop());
}

async fn a_connection_whose_buffer_cannot_be_had_is_closed_with_an_error_on_a_loop() {
    let outcome = std::rc::Rc::new(std::cell::RefCell::new(None));
    let seen = outcome.clone();
    let server = start_server(
        move |mut r: StreamReader, w: StreamWriter| {
            let seen = seen.clone();
            async move {
                let read = r.read(100).await;
                if let Ok(data) = &read {
                    w.write(data);
                }
                seen.borrow_mut().replace(read.map_err(|e| e.kind()));
            }
        },
        "127.0.0.1",
        0,
    )
    .await
    .unwrap();
    let port = server.sockets()[0].as_inet().unwrap().port();
    REFUSE.store(true, Ordering::Relaxed);
    let refused = std::thread::spawn(move || {
        let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
        c.write_all(b"hello").unwrap();
        let mut buf = [0u8; 16];
        c.read(&mut buf).map_err(|e| e.kind())
    });
    while outcome.borrow().is_none() {
        asyncio::sleep(0.005).await;
    }
    REFUSE.store(false, Ordering::Relaxed);
    assert_eq!(
        outcome.borrow_mut().take(),
        Some(Err(ErrorKind::OutOfMemory))
    );
    while !refused.is_finished() {
        asyncio::sleep(0.005).await;
    }
    let closed = refused.join().unwrap();
    assert!(
        matches!(closed, Ok(0) | Err(ErrorKind::ConnectionReset)),
        "the peer sees the connection closed: {closed:?}"
    );
    // The next connection is served.
    let served = std::thread::spawn(move || {
        let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
        c.write_all(b"again").unwrap();
        let mut buf = [0u8; 5];
        c.read_exact(&mut buf).map(|()| buf)
    });
    while !served.is_finished() {
        asyncio::sleep(0.005).await;
    }
    assert_eq!(&served.join().unwrap().unwrap(), b"again");
}
