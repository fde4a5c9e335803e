//! `add_signal_handler` / `remove_signal_handler`. Signals are process-wide and the tests of a
//! binary run in parallel, so each test uses its own signal.

use asyncio::{get_running_loop, sleep};
use std::cell::Cell;
use std::io::ErrorKind;
use std::rc::Rc;
use std::time::{Duration, Instant};

fn raise(sig: i32) {
    // SAFETY: raising a signal this test has a handler for.
    unsafe { libc::raise(sig) };
}

fn is_default(sig: i32) -> bool {
    // SAFETY: a query of the disposition; nothing is changed.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        libc::sigaction(sig, std::ptr::null(), &mut old);
        old.sa_sigaction == libc::SIG_DFL
    }
}

/// Runs the loop until `done` or a generous deadline (the signal crosses a thread).
async fn until(done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "timed out");
        sleep(0.001).await;
    }
}

#[asyncio::test]
async fn handler_runs_on_the_loop_each_time() {
    let lp = get_running_loop();
    let count = Rc::new(Cell::new(0));
    let c = count.clone();
    let thread = std::thread::current().id();
    lp.add_signal_handler(libc::SIGUSR1, move || {
        assert_eq!(std::thread::current().id(), thread, "on the loop's thread");
        c.set(c.get() + 1);
    })
    .unwrap();
    raise(libc::SIGUSR1);
    until(|| count.get() == 1).await;
    raise(libc::SIGUSR1);
    until(|| count.get() == 2).await;
    assert!(lp.remove_signal_handler(libc::SIGUSR1));
    assert!(!lp.remove_signal_handler(libc::SIGUSR1));
    assert!(is_default(libc::SIGUSR1), "the default is restored");
}

#[asyncio::test]
async fn second_add_replaces_the_callback() {
    let lp = get_running_loop();
    let which = Rc::new(Cell::new(""));
    let (a, b) = (which.clone(), which.clone());
    lp.add_signal_handler(libc::SIGUSR2, move || a.set("first"))
        .unwrap();
    lp.add_signal_handler(libc::SIGUSR2, move || b.set("second"))
        .unwrap();
    raise(libc::SIGUSR2);
    until(|| !which.get().is_empty()).await;
    assert_eq!(which.get(), "second");
    assert!(lp.remove_signal_handler(libc::SIGUSR2));
    assert!(is_default(libc::SIGUSR2), "one removal undoes both adds");
}

#[asyncio::test]
async fn bad_signals_are_invalid_input() {
    let lp = get_running_loop();
    for sig in [0, -1, 1000, libc::SIGKILL, libc::SIGSTOP] {
        let err = lp.add_signal_handler(sig, || {}).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "signal {sig}");
    }
}

#[test]
fn handlers_go_when_the_loop_closes() {
    asyncio::run(async {
        get_running_loop()
            .add_signal_handler(libc::SIGWINCH, || {})
            .unwrap();
        assert!(!is_default(libc::SIGWINCH));
    });
    assert!(is_default(libc::SIGWINCH), "loop close removed the handler");
}

#[test]
fn every_listening_loop_gets_the_signal() {
    let sig = libc::SIGURG;
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let ready = ready_tx.clone();
            std::thread::spawn(move || {
                asyncio::run(async move {
                    let got = Rc::new(Cell::new(false));
                    let g = got.clone();
                    let lp = get_running_loop();
                    lp.add_signal_handler(sig, move || g.set(true)).unwrap();
                    ready.send(()).unwrap();
                    until(|| got.get()).await;
                    lp.remove_signal_handler(sig);
                })
            })
        })
        .collect();
    ready_rx.recv().unwrap();
    ready_rx.recv().unwrap();
    raise(sig);
    for t in threads {
        t.join().unwrap();
    }
}

#[test]
#[should_panic(expected = "must be called from the loop's own thread")]
fn outside_the_loop_panics() {
    let lp = asyncio::Runner::new().get_loop();
    let _ = lp.add_signal_handler(libc::SIGUSR1, || {});
}
