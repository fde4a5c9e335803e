//! `asyncio::Future`: setting, awaiting, cancelling, done callbacks, the RPC pattern of
//! pending futures by id, and `wrap_future` of another thread's `ConcurrentFuture`.

mod logs;

#[macro_use]
#[path = "support/auto_traits.rs"]
mod auto_traits;

use asyncio::{
    Future, FutureError, Queue, TaskError, create_task, get_running_loop, run,
    run_coroutine_threadsafe, sleep, wait_for, wrap_future,
};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};

#[test]
fn a_future_is_a_clone_handle_bound_to_its_loop() {
    auto_traits::is_clone::<Future<u32>>();
    assert_not_send!(Future<u32>);
    auto_traits::is_send::<FutureError>();
    auto_traits::is_sync::<FutureError>();
}

#[asyncio::test(virtual_time)]
async fn an_awaiter_wakes_when_the_result_is_set() {
    let lp = get_running_loop();
    let fut: Future<u32> = lp.create_future();
    let waiter = create_task(fut.clone());
    let setter = fut.clone();
    lp.call_later(1.5, move || setter.set_result(7).unwrap());
    assert_eq!(waiter.await.unwrap().unwrap(), 7);
    assert_eq!(lp.time(), 1.5);
    assert!(fut.done() && !fut.cancelled());
    assert_eq!(fut.result().unwrap(), 7);
}

#[asyncio::test(virtual_time)]
async fn every_awaiter_gets_the_value_and_it_stays_readable() {
    let fut: Future<String> = Future::new();
    let waiters: Vec<_> = (0..3).map(|_| create_task(fut.clone())).collect();
    sleep(1.0).await;
    assert!(
        waiters.iter().all(|w| !w.done()),
        "they wait until it is set"
    );
    fut.set_result("reply".to_string()).unwrap();
    for w in waiters {
        assert_eq!(w.await.unwrap().unwrap(), "reply");
    }
    // Awaiting a done future returns at once, as often as asked.
    assert_eq!(fut.clone().await.unwrap(), "reply");
    assert_eq!(fut.result().unwrap(), "reply");
}

#[asyncio::test]
async fn cancel_gives_every_awaiter_cancelled_error_with_its_message() {
    let fut: Future<u32> = Future::new();
    let waiters: Vec<_> = (0..2).map(|_| create_task(fut.clone())).collect();
    sleep(0).await;
    assert!(fut.cancel_with("shutting down"));
    assert!(fut.cancelled() && fut.done());
    for w in waiters {
        match w.await.unwrap() {
            Err(FutureError::Cancelled(e)) => assert_eq!(e.msg.as_deref(), Some("shutting down")),
            other => panic!("{other:?}"),
        }
    }
    assert!(fut.result().unwrap_err().is_cancelled());
    assert!(fut.exception().unwrap_err().is_cancelled());
}

#[asyncio::test]
async fn completing_a_done_future_is_invalid_state_and_keeps_the_first_outcome() {
    let fut: Future<u32> = Future::new();
    fut.set_result(1).unwrap();
    assert!(fut.set_result(2).is_err());
    assert!(fut.set_exception("late").is_err());
    assert!(!fut.cancel(), "cancel of a done future does nothing");
    assert_eq!(fut.result().unwrap(), 1);

    let cancelled: Future<u32> = Future::new();
    cancelled.cancel();
    assert!(cancelled.set_result(3).is_err());
    assert!(cancelled.cancelled());

    let failed: Future<u32> = Future::new();
    failed
        .set_exception(std::io::Error::other("first"))
        .unwrap();
    assert!(failed.set_exception("second").is_err());
    assert_eq!(failed.exception().unwrap().unwrap().to_string(), "first");
}

#[asyncio::test]
async fn reading_a_pending_future_is_invalid_state() {
    let fut: Future<u32> = Future::new();
    assert!(matches!(fut.result(), Err(FutureError::InvalidState(_))));
    assert!(matches!(fut.exception(), Err(FutureError::InvalidState(_))));
    fut.set_exception(std::io::Error::new(std::io::ErrorKind::BrokenPipe, "gone"))
        .unwrap();
    match fut.result() {
        Err(FutureError::Exception(e)) => {
            let io = e.downcast_ref::<std::io::Error>().unwrap();
            assert_eq!(io.kind(), std::io::ErrorKind::BrokenPipe);
        }
        other => panic!("{other:?}"),
    }
    let ok: Future<u32> = Future::new();
    ok.set_result(5).unwrap();
    assert!(ok.exception().unwrap().is_none());
}

#[asyncio::test]
async fn done_callbacks_are_scheduled_with_call_soon_in_order() {
    let lp = get_running_loop();
    let seen = Rc::new(RefCell::new(Vec::new()));
    let fut: Future<u32> = lp.create_future();
    for name in ["cb1", "cb2", "removed", "cb3"] {
        let s = seen.clone();
        let id = fut.add_done_callback(move |f| {
            s.borrow_mut()
                .push(format!("{name}={}", f.result().unwrap()))
        });
        if name == "removed" {
            assert!(fut.remove_done_callback(id));
        }
    }
    let s = seen.clone();
    lp.call_soon(move || s.borrow_mut().push("before".into()));
    fut.set_result(4).unwrap();
    assert!(seen.borrow().is_empty(), "none runs inside set_result");
    let s = seen.clone();
    lp.call_soon(move || s.borrow_mut().push("after".into()));
    // As asyncio: set_result call_soon's each callback, so they run in this turn between the
    // callbacks scheduled before and after it.
    sleep(0).await;
    assert_eq!(
        *seen.borrow(),
        ["before", "cb1=4", "cb2=4", "cb3=4", "after"]
    );

    // Added to a done future: scheduled at once, still not called inside the call.
    let s = seen.clone();
    fut.add_done_callback(move |_| s.borrow_mut().push("late".into()));
    assert_eq!(seen.borrow().len(), 5);
    sleep(0).await;
    assert_eq!(seen.borrow().last().unwrap(), "late");
}

#[asyncio::test]
async fn a_panicking_done_callback_is_logged_and_the_others_still_run() {
    logs::capture();
    let fut: Future<()> = Future::new();
    let ran = Rc::new(RefCell::new(0));
    fut.add_done_callback(|_| panic!("future callback broke"));
    let r = ran.clone();
    fut.add_done_callback(move |_| *r.borrow_mut() += 1);
    fut.set_result(()).unwrap();
    sleep(0).await;
    assert_eq!(*ran.borrow(), 1);
    assert_eq!(
        logs::count(&["ERROR", "Exception in callback", "future callback broke"]),
        1
    );
}

#[asyncio::test]
async fn an_exception_nobody_read_is_logged_when_the_future_drops() {
    logs::capture();
    let unread: Future<()> = Future::new();
    unread.set_exception("nobody looked at me").unwrap();
    drop(unread);
    let read: Future<()> = Future::new();
    read.set_exception("somebody looked at me").unwrap();
    assert!(read.clone().await.is_err());
    drop(read);
    let never = ["ERROR", "Future exception was never retrieved"];
    assert_eq!(logs::count(&[&never[..], &["nobody looked"]].concat()), 1);
    assert_eq!(logs::count(&[&never[..], &["somebody looked"]].concat()), 0);
}

#[asyncio::test(virtual_time)]
async fn a_waiter_that_gives_up_leaves_the_future_pending_and_settable() {
    let fut: Future<u32> = Future::new();
    assert!(wait_for(fut.clone(), 1.0).await.is_err(), "timed out");
    let task = create_task(fut.clone());
    sleep(0).await;
    task.cancel();
    assert!(task.await.unwrap_err().is_cancelled());
    // Unlike asyncio, neither the timeout nor the cancelled awaiter cancelled the future.
    assert!(!fut.done());
    let late = create_task(fut.clone());
    fut.set_result(9).unwrap();
    assert_eq!(late.await.unwrap().unwrap(), 9);
}

/// A reply on the wire: the id of the request it answers, and its payload.
type Reply = (u64, String);

/// asyncio's RPC client pattern: a map of pending futures by request id, a reader task that
/// completes them as replies arrive (in any order), and callers that await theirs.
#[asyncio::test(virtual_time)]
async fn pending_requests_by_id_are_completed_by_a_reader_task() {
    let pending: Rc<RefCell<HashMap<u64, Future<String>>>> = Rc::default();
    let requests: Queue<u64> = Queue::new(0);
    let wire: Queue<Reply> = Queue::new(0);

    // The server answers later requests sooner: replies arrive out of order.
    let (reqs, out) = (requests.clone(), wire.clone());
    let server = create_task(async move {
        while let Ok(id) = reqs.get().await {
            let out = out.clone();
            let _answer = create_task(async move {
                sleep(10.0 - id as f64).await;
                out.put((id, format!("reply to {id}"))).await.unwrap();
            });
        }
    });
    let (replies, map) = (wire.clone(), pending.clone());
    let reader = create_task(async move {
        let mut unclaimed = 0;
        while let Ok((id, payload)) = replies.get().await {
            // A caller that gave up removed its entry; its reply has nowhere to go.
            match map.borrow_mut().remove(&id) {
                Some(fut) => fut.set_result(payload).unwrap(),
                None => unclaimed += 1,
            }
        }
        unclaimed
    });

    let call = |id: u64, patience: f64| {
        let (map, requests) = (pending.clone(), requests.clone());
        create_task(async move {
            let fut = get_running_loop().create_future();
            map.borrow_mut().insert(id, fut.clone());
            requests.put_nowait(id).unwrap();
            let outcome = wait_for(fut, patience).await;
            if outcome.is_err() {
                map.borrow_mut().remove(&id);
            }
            outcome.map(|r| r.unwrap())
        })
    };
    let callers: Vec<_> = (1..=5).map(|id| call(id, 100.0)).collect();
    let impatient = call(0, 5.0); // its reply takes 10 s

    for (id, caller) in (1..=5).zip(callers) {
        assert_eq!(caller.await.unwrap().unwrap(), format!("reply to {id}"));
    }
    assert!(impatient.await.unwrap().is_err(), "timed out");
    sleep(10.0).await;
    assert!(pending.borrow().is_empty());
    requests.shutdown(false);
    wire.shutdown(false);
    server.await.unwrap();
    assert_eq!(reader.await.unwrap(), 1, "the impatient caller's reply");
}

/// Runs a loop on a new thread until told to stop; gives its handle.
fn other_loop() -> (
    asyncio::LoopHandle,
    mpsc::Sender<()>,
    std::thread::JoinHandle<()>,
) {
    let (tx, rx) = mpsc::channel();
    let (stop_tx, stop_rx) = mpsc::channel::<()>();
    let thread = std::thread::spawn(move || {
        run(async move {
            tx.send(get_running_loop()).unwrap();
            while stop_rx.try_recv().is_err() {
                sleep(0.001).await;
            }
        })
    });
    (rx.recv().unwrap(), stop_tx, thread)
}

#[test]
fn wrap_future_follows_a_coroutine_on_another_threads_loop() {
    let (handle, stop, thread) = other_loop();
    let (value, seen_by_callback, failure, cancelled) = run(async move {
        let me = std::thread::current().id();
        let remote = run_coroutine_threadsafe(
            async move {
                sleep(0.01).await;
                std::thread::current().id() != me
            },
            &handle,
        );
        let fut = wrap_future(remote);
        let seen_done = Rc::new(RefCell::new(false));
        let s = seen_done.clone();
        fut.add_done_callback(move |f| *s.borrow_mut() = f.result().unwrap());
        let value = fut.clone().await.unwrap();
        sleep(0).await;
        let elsewhere = *seen_done.borrow();

        let panicked = wrap_future(run_coroutine_threadsafe(
            async { panic!("remote boom") },
            &handle,
        ));
        let failure = match panicked.await {
            Err(FutureError::Exception(e)) => match e.downcast_ref::<TaskError>() {
                Some(TaskError::Panicked(p)) => p.message().map(str::to_owned),
                other => panic!("{other:?}"),
            },
            other => panic!("{other:?}"),
        };

        let self_cancelling = wrap_future(run_coroutine_threadsafe(
            async {
                asyncio::current_task().unwrap().cancel_with("gave up");
                sleep(3600.0).await
            },
            &handle,
        ));
        let cancelled = match self_cancelling.await {
            Err(FutureError::Cancelled(e)) => e.msg,
            other => panic!("{other:?}"),
        };
        (value, elsewhere, failure, cancelled)
    });
    stop.send(()).unwrap();
    thread.join().unwrap();
    assert!(value, "it ran on the other loop's thread");
    assert!(seen_by_callback, "the done callback saw the result");
    assert_eq!(failure.as_deref(), Some("remote boom"));
    assert_eq!(cancelled.as_deref(), Some("gave up"));
}

/// Drops its flag to true when the future holding it is dropped (a cancelled task's future).
struct SetOnDrop(Arc<AtomicBool>);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[test]
fn cancelling_the_wrapped_future_cancels_the_remote_coroutine() {
    let (handle, stop, thread) = other_loop();
    let dropped = Arc::new(AtomicBool::new(false));
    let flag = dropped.clone();
    let remote_ended = run(async move {
        let remote = run_coroutine_threadsafe(
            async move {
                let _guard = SetOnDrop(flag);
                sleep(3600.0).await
            },
            &handle,
        );
        let fut = wrap_future(remote);
        sleep(0.02).await;
        assert!(fut.cancel());
        assert!(fut.clone().await.unwrap_err().is_cancelled());
        for _ in 0..2000 {
            if dropped.load(Ordering::SeqCst) {
                return true;
            }
            sleep(0.001).await;
        }
        false
    });
    stop.send(()).unwrap();
    thread.join().unwrap();
    assert!(
        remote_ended,
        "the remote task was cancelled and its future dropped"
    );
}
