//! Every combinator takes an `IntoFuture`, so asyncio's idioms compile as written:
//! `wait_for(open_connection(host, port), 5.0)`, `gather(..)` of builders,
//! `create_task(open_connection(..))`. Before the bounds were `IntoFuture`, none of these
//! compiled: the builders (`OpenConnection`, `StartServer`, `Command`, …) are not futures.

use asyncio::subprocess::{NO_ARGS, PIPE};
use asyncio::{
    Server, StreamReader, StreamWriter, TaskGroup, Timeout, create_eager_task,
    create_subprocess_exec, create_task, gather, open_connection, open_unix_connection, shield,
    start_server, start_unix_server, timeout, timeout_at, try_gather, wait_for,
};
use std::future::{Future, IntoFuture};
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

async fn echo(mut reader: StreamReader, writer: StreamWriter) {
    while let Ok(Some(line)) = reader.next_line().await {
        writer.write(&line);
    }
}

/// An echo server, started through `wait_for` of its builder.
async fn server() -> (Server, u16) {
    let server = wait_for(start_server(echo, "127.0.0.1", 0), 5.0)
        .await
        .expect("start_server timed out")
        .unwrap();
    let port = server.sockets()[0].as_inet().unwrap().port();
    (server, port)
}

async fn ping(reader: &mut StreamReader, writer: &StreamWriter) {
    writer.write(b"ping\n");
    let line = wait_for(reader.readline(), 10.0).await.unwrap().unwrap();
    assert_eq!(line, b"ping\n");
}

#[asyncio::test]
async fn wait_for_open_connection() {
    let (_server, port) = server().await;
    let (mut r, w) = wait_for(open_connection("127.0.0.1", port), 5.0)
        .await
        .unwrap()
        .unwrap();
    ping(&mut r, &w).await;
}

#[asyncio::test]
async fn timeout_and_timeout_at_and_timeout_run_take_builders() {
    let (_server, port) = server().await;
    let (mut r, w) = timeout(5.0, open_connection("127.0.0.1", port))
        .await
        .unwrap()
        .unwrap();
    ping(&mut r, &w).await;
    let deadline = asyncio::get_running_loop().time() + 5.0;
    let (mut r, w) = timeout_at(deadline, open_connection("127.0.0.1", port))
        .await
        .unwrap()
        .unwrap();
    ping(&mut r, &w).await;
    let (mut r, w) = Timeout::new(None)
        .run(open_connection("127.0.0.1", port))
        .await
        .unwrap()
        .unwrap();
    ping(&mut r, &w).await;
}

#[asyncio::test]
async fn gather_and_try_gather_of_builders() {
    let (_server, port) = server().await;
    let both = gather(vec![
        open_connection("127.0.0.1", port),
        open_connection("127.0.0.1", port),
    ])
    .await;
    assert_eq!(both.len(), 2);
    for streams in both {
        let (mut r, w) = streams.unwrap();
        ping(&mut r, &w).await;
    }
    let both = try_gather(vec![
        open_connection("127.0.0.1", port),
        open_connection("127.0.0.1", port),
    ])
    .await
    .unwrap();
    assert_eq!(both.len(), 2);
}

#[asyncio::test]
async fn the_gather_macro_takes_builders_of_different_types() {
    let (_server, port) = server().await;
    let (streams, child) = asyncio::gather!(
        open_connection("127.0.0.1", port),
        create_subprocess_exec("echo", ["hi"]).stdout(PIPE),
    )
    .await;
    let (mut r, w) = streams.unwrap();
    ping(&mut r, &w).await;
    let mut child = child.unwrap();
    let (out, _) = wait_for(child.communicate(None), 10.0)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(out, b"hi\n");
}

#[asyncio::test]
async fn create_task_and_eager_task_and_shield_take_builders() {
    let (_server, port) = server().await;
    let task = create_task(open_connection("127.0.0.1", port));
    let (mut r, w) = task.await.unwrap().unwrap();
    ping(&mut r, &w).await;
    let task = create_eager_task(open_connection("127.0.0.1", port));
    let (mut r, w) = task.await.unwrap().unwrap();
    ping(&mut r, &w).await;
    let (mut r, w) = shield(open_connection("127.0.0.1", port))
        .await
        .unwrap()
        .unwrap();
    ping(&mut r, &w).await;
    // A Task is a Future, so it still goes where a builder goes.
    let task = create_task(create_subprocess_exec("true", NO_ARGS));
    let child = wait_for(task, 10.0).await.unwrap().unwrap().unwrap();
    assert_eq!(wait_for(child.wait(), 10.0).await.unwrap(), 0);
}

#[asyncio::test]
async fn as_completed_of_builders() {
    let (_server, port) = server().await;
    let mut n = 0;
    for next in asyncio::as_completed(vec![
        open_connection("127.0.0.1", port),
        open_connection("127.0.0.1", port),
    ]) {
        let (mut r, w) = next.await.unwrap().unwrap();
        ping(&mut r, &w).await;
        n += 1;
    }
    assert_eq!(n, 2);
}

#[asyncio::test]
async fn task_group_takes_builders() {
    let (_server, port) = server().await;
    let streams = TaskGroup::run(|tg| async move {
        let a = tg.create_task(open_connection("127.0.0.1", port));
        let b = tg.create_eager_task(open_connection("127.0.0.1", port));
        Ok::<_, io::Error>((a, b))
    })
    .await
    .unwrap();
    let (mut r, w) = streams.0.await.unwrap();
    ping(&mut r, &w).await;
    let (mut r, w) = streams.1.await.unwrap();
    ping(&mut r, &w).await;
    // The body itself may be a builder.
    let (mut r, w) = TaskGroup::run(|_tg| open_connection("127.0.0.1", port))
        .await
        .unwrap();
    ping(&mut r, &w).await;
}

#[asyncio::test]
async fn unix_and_subprocess_builders() {
    let path = std::env::temp_dir().join(format!("asyncio-cif-{}.sock", std::process::id()));
    let server = wait_for(start_unix_server(echo, &path), 5.0)
        .await
        .unwrap()
        .unwrap();
    let (mut r, w) = wait_for(open_unix_connection(&path), 5.0)
        .await
        .unwrap()
        .unwrap();
    ping(&mut r, &w).await;
    server.close();
    let mut child = wait_for(create_subprocess_exec("echo", ["sub"]).stdout(PIPE), 5.0)
        .await
        .unwrap()
        .unwrap();
    let (out, _) = wait_for(child.communicate(None), 10.0)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(out, b"sub\n");
}

#[test]
fn run_and_runner_run_take_builders() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // The kernel completes the handshake from the listen backlog; nobody needs to accept.
    let streams = asyncio::run(open_connection("127.0.0.1", port));
    assert!(streams.is_ok());
    let mut runner = asyncio::Runner::new();
    let server = runner.run(start_server(echo, "127.0.0.1", 0)).unwrap();
    let port = server.sockets()[0].as_inet().unwrap().port();
    let (mut r, w) = runner.run(open_connection("127.0.0.1", port)).unwrap();
    runner.run(async move { ping(&mut r, &w).await });
    assert!(runner.try_run(open_connection("127.0.0.1", port)).is_ok());
}

/// `Send` itself, but its future holds an `Rc`: `run_coroutine_threadsafe` must call
/// `into_future` on the loop's thread, never the caller's.
struct LocalWork(u32);

struct LocalFuture(Rc<u32>);

impl Future for LocalFuture {
    type Output = u32;
    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<u32> {
        Poll::Ready(*self.0 * 2)
    }
}

impl IntoFuture for LocalWork {
    type Output = u32;
    type IntoFuture = LocalFuture;
    fn into_future(self) -> LocalFuture {
        LocalFuture(Rc::new(self.0))
    }
}

#[asyncio::test]
async fn run_coroutine_threadsafe_takes_a_send_into_future_with_a_local_future() {
    let lp = asyncio::get_running_loop();
    let worker = std::thread::spawn(move || {
        asyncio::run_coroutine_threadsafe(LocalWork(21), &lp)
            .result(Some(5.0))
            .unwrap()
    });
    while !worker.is_finished() {
        asyncio::sleep(0.001).await;
    }
    assert_eq!(worker.join().unwrap(), 42);
}

#[test]
fn spawn_on_takes_a_closure_making_an_into_future() {
    let runtime = asyncio::Runtime::builder().loops(1).build().unwrap();
    let fut = runtime.spawn_on(&runtime.loops()[0], || LocalWork(4));
    assert_eq!(fut.result(Some(5.0)).unwrap(), 8);
}
