//! Differential test: a request id in a context variable, through `create_task`, `gather`,
//! `call_soon`, `call_later`, `to_thread` and `Context::run`, prints what
//! `tests/oracle/contextvars_request_id.py` prints on CPython.

mod common;

use asyncio::contextvars::{ContextVar, copy_context};
use common::Log;

static REQUEST_ID: ContextVar<u64> = ContextVar::with_default("request_id", || 0);

fn show(log: &Log, what: &str) {
    log.push(format!("{what} {}", REQUEST_ID.get().unwrap()));
}

async fn child(log: Log, n: u64) -> u64 {
    show(&log, &format!("child {n} start"));
    REQUEST_ID.set(REQUEST_ID.get().unwrap() * 10 + n);
    asyncio::sleep(0).await;
    show(&log, &format!("child {n} end"));
    REQUEST_ID.get().unwrap()
}

async fn handle(log: Log, rid: u64) -> u64 {
    REQUEST_ID.set(rid);
    let lp = asyncio::get_running_loop();
    let l = log.clone();
    lp.call_soon(move || show(&l, &format!("call_soon in {rid}")));
    let l = log.clone();
    lp.call_later(0.5, move || show(&l, &format!("call_later in {rid}")));
    let t = asyncio::create_task(child(log.clone(), 1));
    let r = asyncio::gather(vec![child(log.clone(), 2), child(log.clone(), 3)]).await;
    log.push(format!("handle {rid} gather {r:?}"));
    log.push(format!("handle {rid} task {}", t.await.unwrap()));
    show(&log, &format!("handle {rid} after"));
    asyncio::sleep(1.0).await;
    rid
}

async fn program(log: Log) {
    show(&log, "main start");
    let handled = asyncio::gather(vec![handle(log.clone(), 1), handle(log.clone(), 2)]).await;
    log.push(format!("handled {handled:?}"));
    show(&log, "main end");
    let ctx = copy_context();
    ctx.run(|| REQUEST_ID.set(99));
    log.push(format!(
        "ctx {} outside {}",
        ctx.get(&REQUEST_ID).unwrap(),
        REQUEST_ID.get().unwrap()
    ));
    let token = REQUEST_ID.set(5);
    let t = asyncio::create_task(child(log.clone(), 4));
    REQUEST_ID.reset(token).unwrap();
    let saw = t.await.unwrap();
    log.push(format!(
        "task saw {saw} main now {}",
        REQUEST_ID.get().unwrap()
    ));
    let seen = asyncio::to_thread(|| REQUEST_ID.get().unwrap())
        .await
        .unwrap();
    log.push(format!("to_thread {seen}"));
    REQUEST_ID.set(7);
    let seen = asyncio::to_thread(|| REQUEST_ID.get().unwrap())
        .await
        .unwrap();
    log.push(format!("to_thread {seen}"));
}

#[test]
fn a_request_id_follows_tasks_and_callbacks_as_in_cpython() {
    // Run on a thread of its own: the variable set before `run` is that thread's.
    let ours = std::thread::spawn(move || {
        let l = Log::default();
        REQUEST_ID.set(3);
        let inner = l.clone();
        asyncio::Runner::new()
            .virtual_time(true)
            .run(async move { program(inner).await });
        show(&l, "after run");
        l.lines()
    });
    let ours = ours.join().unwrap();

    let Some(theirs) = common::cpython_lines("contextvars_request_id.py") else {
        return;
    };
    assert_eq!(ours, theirs);
}
