//! hyper 1.x on the loop (feature `hyper`): I/O, an executor, a timer.
//!
//! - [`TcpStream`](crate::net::TcpStream) and [`UnixStream`](crate::net::UnixStream) (and
//!   `&` of each) implement hyper's `rt::Read` (into uninitialised memory) and `rt::Write`
//!   (vectored): give them to hyper's `serve_connection` or `handshake` as they are.
//! - [`LocalExec`] runs what hyper spawns as tasks of the running loop, `!Send` futures
//!   included: HTTP/2 serves on one loop with handlers that hold `Rc`s.
//! - [`LoopTimer`] is hyper's `Timer` on the loop's clock (virtual in tests), with sleeps
//!   that reset in place: hyper's header and keep-alive timeouts allocate nothing per
//!   request.
//!
//! # Serving
//! ```
//! use asyncio::hyper::LoopTimer;
//! use asyncio::net::{TcpListener, TcpStream};
//! use hyper::{body::Incoming, server::conn::http1, service::service_fn, Request, Response};
//! use std::{cell::Cell, convert::Infallible, rc::Rc};
//! # asyncio::run(async {
//! let listener = TcpListener::bind("127.0.0.1:0".parse().unwrap())?;
//! let addr = listener.local_addr()?;
//! let hits = Rc::new(Cell::new(0)); // shared by the handlers, not Send
//! let _server = asyncio::create_task(async move {
//!     loop {
//!         let (stream, _) = listener.accept().await.unwrap();
//!         let hits = hits.clone();
//!         let service = service_fn(move |_req: Request<Incoming>| {
//!             hits.set(hits.get() + 1);
//!             let n = hits.get();
//!             async move { Ok::<_, Infallible>(Response::new(format!("hit {n}"))) }
//!         });
//!         let _conn = asyncio::create_task(async move {
//!             let _ = http1::Builder::new().timer(LoopTimer::new()).serve_connection(stream, service).await;
//!         });
//!     }
//! });
//! // A client, on the same loop.
//! let stream = TcpStream::connect(addr).await?;
//! let (mut sender, conn) = hyper::client::conn::http1::handshake::<_, String>(stream).await.unwrap();
//! let _conn = asyncio::create_task(conn);
//! let req = Request::get("/").header("host", "x").body(String::new()).unwrap();
//! let res = sender.send_request(req).await.unwrap();
//! assert_eq!(res.status(), 200);
//! # std::io::Result::Ok(())
//! # }).unwrap();
//! ```
//! For HTTP/2 on one loop, `hyper::server::conn::http2::Builder::new(LocalExec)`; for
//! both on one port, hyper-util's `server::conn::auto::Builder::new(LocalExec)` (see the
//! `hyper_server` example).
//!
//! # Upgrades (WebSocket) without `Send`
//! hyper's `upgrade::on` needs a `Send` socket (`with_upgrades` boxes it as
//! `dyn Io + Send`), and the loop's sockets are not `Send`. Take the socket back from hyper
//! instead: serve the connection with `http1::Builder::serve_connection(..)
//! .without_shutdown()`, whose output, once the `101 Switching Protocols` response is
//! sent, is hyper's `Parts { io, read_buf, .. }`: the very `TcpStream`, and the bytes the
//! client sent after its request. Speak the new protocol on them, in the same task
//! (`without_shutdown` wants the service and its future `Unpin`: box the handler's future).
//! ```
//! use asyncio::hyper::LoopTimer;
//! use asyncio::net::{TcpListener, TcpStream};
//! use hyper::{server::conn::http1, service::service_fn, Response, StatusCode};
//! use std::{cell::Cell, convert::Infallible, rc::Rc};
//! # asyncio::run(async {
//! let listener = TcpListener::bind("127.0.0.1:0".parse().unwrap())?;
//! let addr = listener.local_addr()?;
//! let _server = asyncio::create_task(async move {
//!     let (stream, _) = listener.accept().await.unwrap();
//!     let upgraded = Rc::new(Cell::new(false));
//!     let flag = upgraded.clone();
//!     let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
//!         let wants = req.headers().get("upgrade").is_some();
//!         flag.set(wants);
//!         Box::pin(async move {
//!             let mut res = Response::new(String::new());
//!             if wants {
//!                 *res.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
//!                 res.headers_mut().insert("upgrade", "echo".parse().unwrap());
//!                 res.headers_mut().insert("connection", "upgrade".parse().unwrap());
//!             }
//!             Ok::<_, Infallible>(res)
//!         })
//!     });
//!     let conn = http1::Builder::new().timer(LoopTimer::new()).serve_connection(stream, service);
//!     let parts = conn.without_shutdown().await.unwrap();
//!     if upgraded.get() {
//!         // The upgraded protocol, here an echo, on the same socket.
//!         let mut buf = [0; 64];
//!         let first = parts.read_buf.to_vec(); // sent along with the request
//!         parts.io.write_all(&first).await.unwrap();
//!         let n = parts.io.read(&mut buf).await.unwrap();
//!         parts.io.write_all(&buf[..n]).await.unwrap();
//!     }
//! });
//! let client = TcpStream::connect(addr).await?;
//! client.write_all(b"GET / HTTP/1.1\r\nhost: x\r\nupgrade: echo\r\nconnection: upgrade\r\n\r\n").await?;
//! let mut head = Vec::new();
//! while !head.ends_with(b"\r\n\r\n") {
//!     let mut b = [0; 1];
//!     client.read_exact(&mut b).await?;
//!     head.push(b[0]);
//! }
//! assert!(head.starts_with(b"HTTP/1.1 101"));
//! client.write_all(b"ping").await?;
//! let mut echo = [0; 4];
//! client.read_exact(&mut echo).await?;
//! assert_eq!(&echo, b"ping");
//! # std::io::Result::Ok(())
//! # }).unwrap();
//! ```

mod exec;
mod io;
mod timer;

pub use exec::LocalExec;
pub use timer::{LoopSleep, LoopTimer};
