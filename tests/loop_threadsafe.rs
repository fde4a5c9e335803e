//! The cross-thread door: `call_soon_threadsafe`, `run_coroutine_threadsafe`,
//! `ConcurrentFuture`, `to_thread` and `run_in_executor`.

use asyncio::{
    Runner, TaskError, create_task, get_running_loop, run, run_coroutine_threadsafe, sleep,
    to_thread,
};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Duration;

/// Waits on the loop, without blocking it, until a thread ends.
async fn join<T>(thread: std::thread::JoinHandle<T>) -> T {
    while !thread.is_finished() {
        sleep(0.001).await;
    }
    thread.join().unwrap()
}

#[asyncio::test]
async fn call_soon_threadsafe_runs_on_the_loop_thread() {
    let lp = get_running_loop();
    let loop_thread = std::thread::current().id();
    let (tx, rx) = mpsc::channel();
    let remote = lp.clone();
    join(std::thread::spawn(move || {
        remote
            .call_soon_threadsafe(move || tx.send(std::thread::current().id()).unwrap())
            .unwrap()
    }))
    .await;
    // The callback was queued before the thread ended; the loop takes it at its next turn,
    // behind this task, and runs it that turn.
    sleep(0).await;
    sleep(0).await;
    assert_eq!(rx.try_recv().unwrap(), loop_thread);
}

#[asyncio::test]
async fn many_sends_before_the_loop_wakes_cost_one_wakeup() {
    let lp = get_running_loop();
    let count = Arc::new(AtomicUsize::new(0));
    let before = lp.stats().remote_wakeups;
    let (remote, c) = (lp.clone(), count.clone());
    // The loop is blocked in join() below, so it takes nothing until all 1000 are sent.
    std::thread::spawn(move || {
        for _ in 0..1000 {
            let c = c.clone();
            remote
                .call_soon_threadsafe(move || {
                    c.fetch_add(1, Ordering::Relaxed);
                })
                .unwrap();
        }
    })
    .join()
    .unwrap();
    sleep(0).await;
    sleep(0).await;
    assert_eq!(count.load(Ordering::Relaxed), 1000);
    assert_eq!(lp.stats().remote_wakeups - before, 1);
}

#[test]
fn run_coroutine_threadsafe_result_blocks_with_a_timeout() {
    run(async {
        let handle = get_running_loop();
        let outcome = join(std::thread::spawn(move || {
            let quick = run_coroutine_threadsafe(
                async {
                    sleep(0.01).await;
                    3
                },
                &handle,
            );
            let slow = run_coroutine_threadsafe(sleep(3600.0), &handle);
            let quick = quick.result(Some(5.0)).unwrap();
            let timed_out = matches!(
                slow.result(Some(Duration::from_millis(20))),
                Err(TaskError::Timeout(_))
            );
            assert!(!slow.done(), "a timed-out wait leaves the future running");
            assert!(slow.cancel());
            assert!(!slow.cancel());
            let cancelled = slow.result(None::<f64>).unwrap_err().is_cancelled();
            (quick, timed_out, cancelled)
        }))
        .await;
        assert_eq!(outcome, (3, true, true));
        // `cancel` reaches the task through `call_soon_threadsafe`, and the loop may see the
        // thread end first (when its timer and the callback come due in one turn): give it the
        // turns to run the callback, then the cancelled step.
        for _ in 0..5 {
            if asyncio::all_tasks().len() == 1 {
                break;
            }
            sleep(0).await;
        }
        assert_eq!(
            asyncio::all_tasks().len(),
            1,
            "the cancelled task is gone from the loop"
        );
    });
}

#[test]
fn a_panic_in_the_submitted_future_comes_back_as_task_error() {
    run(async {
        let handle = get_running_loop();
        let panicked = join(std::thread::spawn(move || {
            let fut = run_coroutine_threadsafe(async { panic!("remote boom") }, &handle);
            matches!(fut.result(None::<f64>), Err(TaskError::Panicked(p)) if p.message() == Some("remote boom"))
        }))
        .await;
        assert!(panicked);
    });
}

#[test]
fn a_concurrent_future_is_awaitable_from_another_loop() {
    let (tx, rx) = mpsc::channel();
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let server = std::thread::spawn(move || {
        run(async move {
            tx.send(get_running_loop()).unwrap();
            while done_rx.try_recv().is_err() {
                sleep(0.001).await;
            }
        })
    });
    let handle = rx.recv().unwrap();
    let got = run(async move {
        let fut = run_coroutine_threadsafe(
            async {
                sleep(0.01).await;
                std::thread::current().name().map(str::to_owned)
            },
            &handle,
        );
        fut.await.unwrap()
    });
    done_tx.send(()).unwrap();
    server.join().unwrap();
    assert_ne!(
        got.as_deref(),
        std::thread::current().name(),
        "it ran on the other loop's thread"
    );
}

#[test]
fn submitting_to_a_closed_loop_gives_a_cancelled_future() {
    let handle = run(async { get_running_loop() });
    let fut = run_coroutine_threadsafe(async { 1 }, &handle);
    assert!(fut.done());
    assert!(fut.result(None::<f64>).unwrap_err().is_cancelled());
}

#[asyncio::test]
async fn to_thread_runs_off_the_loop_and_reports_panics() {
    let loop_thread = std::thread::current().id();
    let worker = to_thread(move || std::thread::current().id())
        .await
        .unwrap();
    assert_ne!(worker, loop_thread);
    match to_thread(|| -> u8 { panic!("in the pool") }).await {
        Err(TaskError::Panicked(p)) => assert_eq!(p.message(), Some("in the pool")),
        other => panic!("{other:?}"),
    }
    let v = get_running_loop().run_in_executor(|| 7).await.unwrap();
    assert_eq!(v, 7);
}

#[asyncio::test]
async fn the_pool_runs_jobs_in_parallel_up_to_its_limit() {
    let running = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let release_rx = Arc::new(std::sync::Mutex::new(release_rx));
    let jobs: Vec<_> = (0..4)
        .map(|_| {
            let (running, peak, rx) = (running.clone(), peak.clone(), release_rx.clone());
            create_task(to_thread(move || {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                let _ = rx.lock().unwrap().recv();
                running.fetch_sub(1, Ordering::SeqCst);
            }))
        })
        .collect();
    while running.load(Ordering::SeqCst) < 4 {
        sleep(0.001).await;
    }
    assert_eq!(get_running_loop().stats().blocking_in_flight, 4);
    for _ in 0..4 {
        release_tx.send(()).unwrap();
    }
    for j in jobs {
        j.await.unwrap().unwrap();
    }
    assert_eq!(
        peak.load(Ordering::SeqCst),
        4,
        "four jobs ran at once on four threads"
    );
}

#[test]
fn the_virtual_clock_does_not_jump_while_blocking_work_is_out() {
    Runner::new().virtual_time(true).run(async {
        let lp = get_running_loop();
        let sleeper = create_task(sleep(10.0));
        let remote = lp.clone();
        let seen = to_thread(move || {
            std::thread::sleep(Duration::from_millis(30));
            remote.time()
        })
        .await
        .unwrap();
        assert_eq!(seen, 0.0, "the clock stood still while the job ran");
        assert_eq!(lp.time(), 0.0);
        sleeper.await.unwrap();
        assert_eq!(lp.time(), 10.0);
    });
}

#[test]
fn run_waits_for_blocking_jobs_when_it_closes() {
    let finished = Arc::new(AtomicUsize::new(0));
    let f = finished.clone();
    run(async move {
        drop(create_task(to_thread(move || {
            std::thread::sleep(Duration::from_millis(20));
            f.fetch_add(1, Ordering::SeqCst);
        })));
        sleep(0).await;
    });
    assert_eq!(
        finished.load(Ordering::SeqCst),
        1,
        "the pool was shut down, waiting for its job"
    );
}
