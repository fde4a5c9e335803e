//! Closing a loop, and the cross-thread door under it: nothing hangs, nothing is lost.
#![allow(clippy::async_yields_async)] // sleeps armed on one loop are handed out to another

mod support;

use asyncio::{Runner, Runtime, TaskError, get_running_loop, run_coroutine_threadsafe, sleep};
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::task::Poll;
use std::time::Duration;
use support::ends_within;

#[test]
fn back_to_back_jobs_do_not_queue_behind_one_idle_thread() {
    asyncio::run(async {
        let lp = get_running_loop();
        lp.run_in_executor(|| ()).await.unwrap();
        sleep(0.05).await; // one thread, idle
        let (tx, rx) = mpsc::channel::<()>();
        let a = lp.run_in_executor(move || rx.recv_timeout(Duration::from_secs(10)).is_ok());
        let b = lp.run_in_executor(move || tx.send(()).unwrap());
        assert!(a.await.unwrap(), "the second job waited behind the first");
        b.await.unwrap();
    });
}

#[test]
fn run_returns_when_a_pool_job_calls_back_into_the_loop_while_it_closes() {
    let ended = ends_within(Duration::from_secs(30), || {
        asyncio::run(async {
            let lp = get_running_loop();
            let handle = lp.clone();
            drop(lp.run_in_executor(move || {
                std::thread::sleep(Duration::from_millis(50));
                run_coroutine_threadsafe(async { 1 }, &handle).result(None::<f64>)
            }));
        });
    });
    assert!(ended, "asyncio::run did not return");
}

#[test]
fn run_returns_despite_a_callback_that_reschedules_itself() {
    fn tick(lp: asyncio::LoopHandle) {
        let again = lp.clone();
        lp.call_soon(move || tick(again));
    }
    let ended = ends_within(Duration::from_secs(30), || {
        asyncio::run(async {
            tick(get_running_loop());
            sleep(0.01).await;
        });
    });
    assert!(ended, "asyncio::run did not return");
}

#[test]
fn a_submission_to_a_loop_that_closes_before_running_it_ends_cancelled() {
    let mut runner = Runner::new();
    let lp = runner.get_loop();
    let fut = run_coroutine_threadsafe(async { 1 }, &lp);
    runner.close();
    assert!(fut.result(Some(10.0)).unwrap_err().is_cancelled());
}

#[test]
fn a_panic_while_making_the_future_comes_back_as_panicked() {
    let runtime = Runtime::builder().loops(1).build().unwrap();
    let fut = runtime.spawn_on(&runtime.loops()[0], || -> std::future::Ready<u32> {
        panic!("make failed")
    });
    match fut.result(Some(10.0)) {
        Err(TaskError::Panicked(p)) => assert_eq!(p.message(), Some("make failed")),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_cancel_while_the_future_is_being_made_is_not_lost() {
    let runtime = Runtime::builder().loops(1).build().unwrap();
    let ran = Arc::new(AtomicUsize::new(0));
    let (made_tx, made_rx) = mpsc::channel::<()>();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let r = ran.clone();
    let fut = runtime.spawn_on(&runtime.loops()[0], move || {
        made_tx.send(()).unwrap();
        go_rx.recv().unwrap(); // hold `make` until the cancel has come
        async move {
            sleep(0.01).await;
            r.fetch_add(1, Ordering::SeqCst);
        }
    });
    made_rx.recv().unwrap();
    assert!(fut.cancel());
    go_tx.send(()).unwrap();
    runtime.shutdown();
    assert_eq!(
        ran.load(Ordering::SeqCst),
        0,
        "the cancelled future ran to its end"
    );
}

#[test]
fn a_sleep_armed_on_one_loop_refuses_another() {
    let runtime = Runtime::builder().loops(1).build().unwrap();
    let armed = runtime
        .spawn_on(&runtime.loops()[0], || async {
            let mut s = Box::pin(sleep(3600.0));
            std::future::poll_fn(|cx| {
                let _ = s.as_mut().poll(cx);
                Poll::Ready(())
            })
            .await;
            s
        })
        .result(None::<f64>)
        .unwrap();
    let on_another = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        asyncio::run(async move {
            let mut s = armed;
            std::future::poll_fn(|cx| Poll::Ready(s.as_mut().poll(cx).is_ready())).await
        })
    }));
    assert!(
        on_another.is_err(),
        "a one-hour sleep armed elsewhere must not complete here"
    );
}

#[test]
fn a_sleep_whose_loop_closed_completes() {
    let mut runner = Runner::new();
    let mut armed = runner.run(async {
        let mut s = Box::pin(sleep(3600.0));
        std::future::poll_fn(|cx| {
            let _ = s.as_mut().poll(cx);
            Poll::Ready(())
        })
        .await;
        s
    });
    runner.close();
    let done = asyncio::run(async move {
        std::future::poll_fn(|cx| Poll::Ready(armed.as_mut().poll(cx).is_ready())).await
    });
    assert!(done);
}

#[asyncio::test]
async fn a_stale_timer_handle_never_cancels_a_newer_timer() {
    let lp = get_running_loop();
    let old = lp.call_later(1.0, || {});
    old.cancel();
    let fired = Arc::new(AtomicUsize::new(0));
    let f = fired.clone();
    let _new = lp.call_later(0.01, move || {
        f.fetch_add(1, Ordering::SeqCst);
    });
    old.cancel(); // the same slot, a newer generation
    sleep(0.05).await;
    assert_eq!(fired.load(Ordering::SeqCst), 1);
}
