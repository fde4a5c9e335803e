//! A panic in user code that the loop runs (callbacks, done callbacks, signal handlers, drops
//! of user values, blocking-pool jobs) is logged and never stops the loop or one of its
//! services, as asyncio's loop logs "Exception in callback ..." and goes on.

mod logs;
mod support;

use asyncio::{Runner, create_task, get_running_loop, run, sleep};
use std::cell::Cell;
use std::rc::Rc;
use std::sync::mpsc;
use std::time::{Duration, Instant};
use support::ends_within;

fn capture_logs() {
    logs::capture();
}

/// Whether an error-level line containing every one of `needles` was logged.
fn logged_error(needles: &[&str]) -> bool {
    logs::count(&[&["ERROR "], needles].concat()) > 0
}

/// Panics with its message when dropped.
struct PanicOnDrop(&'static str);

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        panic!("{}", self.0);
    }
}

#[test]
fn a_panicking_done_callback_is_logged_and_the_others_still_run() {
    capture_logs();
    let ran = Runner::new().run(async {
        let task = create_task(async {});
        let ran = Rc::new(Cell::new(0));
        let r = ran.clone();
        task.add_done_callback(|_| panic!("done callback broke"));
        task.add_done_callback(move |_| r.set(r.get() + 1));
        task.clone().await.unwrap();
        sleep(0).await;
        sleep(0).await;
        ran.get()
    });
    assert_eq!(ran, 1);
    assert!(logged_error(&[
        "Exception in callback",
        "done callback broke"
    ]));
}

#[test]
fn a_panicking_threadsafe_callback_is_logged_and_the_loop_goes_on() {
    capture_logs();
    let got = Runner::new().run(async {
        let lp = get_running_loop();
        let (tx, rx) = mpsc::channel();
        let remote = lp.clone();
        std::thread::spawn(move || {
            remote
                .call_soon_threadsafe(|| panic!("threadsafe callback broke"))
                .unwrap();
            remote
                .call_soon_threadsafe(move || tx.send(5).unwrap())
                .unwrap();
        })
        .join()
        .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(v) = rx.try_recv() {
                break v;
            }
            assert!(Instant::now() < deadline, "timed out");
            sleep(0.001).await;
        }
    });
    assert_eq!(got, 5);
    assert!(logged_error(&[
        "Exception in callback",
        "threadsafe callback broke"
    ]));
}

#[test]
fn a_panicking_timer_callback_is_logged_and_the_other_timers_of_its_turn_fire() {
    capture_logs();
    let fired = Runner::new().virtual_time(true).run(async {
        let lp = get_running_loop();
        let fired = Rc::new(Cell::new(0));
        lp.call_later(1.0, || panic!("timer callback broke"));
        let f = fired.clone();
        lp.call_later(1.0, move || f.set(f.get() + 1));
        sleep(2.0).await;
        fired.get()
    });
    assert_eq!(fired, 1);
    assert!(logged_error(&[
        "Exception in callback",
        "timer callback broke"
    ]));
}

#[test]
fn a_panicking_signal_handler_is_logged_and_stays_installed() {
    capture_logs();
    Runner::new().run(async {
        let lp = get_running_loop();
        let calls = Rc::new(Cell::new(0));
        let c = calls.clone();
        lp.add_signal_handler(libc::SIGVTALRM, move || {
            c.set(c.get() + 1);
            panic!("signal handler broke");
        })
        .unwrap();
        for round in 1..=2 {
            // SAFETY: raising a signal this test has a handler for.
            unsafe { libc::raise(libc::SIGVTALRM) };
            let deadline = Instant::now() + Duration::from_secs(10);
            while calls.get() < round {
                assert!(Instant::now() < deadline, "timed out in round {round}");
                sleep(0.001).await;
            }
        }
        assert!(lp.remove_signal_handler(libc::SIGVTALRM));
    });
    assert!(logged_error(&["signal handler broke"]));
}

#[test]
fn a_pending_tasks_panicking_drop_at_close_ends_that_task_only() {
    capture_logs();
    let dropped = Rc::new(Cell::new(false));
    let d = dropped.clone();
    let after = run(async move {
        drop(create_task(async {
            let _guard = PanicOnDrop("pending task drop at close");
            std::future::pending::<()>().await;
        }));
        drop(create_task(async move {
            struct Flag(Rc<Cell<bool>>);
            impl Drop for Flag {
                fn drop(&mut self) {
                    self.0.set(true);
                }
            }
            let _flag = Flag(d);
            std::future::pending::<()>().await;
        }));
        sleep(0).await;
        "closed"
    });
    assert_eq!(after, "closed");
    assert!(dropped.get(), "the other pending task was dropped too");
    assert!(logged_error(&["pending task drop at close"]));
}

#[test]
fn a_condition_predicate_that_panics_releases_the_lock() {
    let got = run(async {
        let cond = asyncio::Condition::new();
        let c = cond.clone();
        let waiter = create_task(async move {
            let guard = c.acquire().await;
            let _guard = c.wait_for(guard, || panic!("predicate broke")).await;
        });
        assert!(waiter.await.unwrap_err().is_panic());
        // The lock was released by the panic: another task gets it.
        let guard = asyncio::wait_for(cond.acquire(), 1.0).await;
        guard.is_ok()
    });
    assert!(got);
}

#[test]
fn a_detached_tasks_output_that_panics_when_dropped_is_logged_and_the_loop_goes_on() {
    capture_logs();
    let after = Runner::new().run(async {
        drop(create_task(async { PanicOnDrop("detached output drop") }));
        let other = create_task(async {
            sleep(0).await;
            7
        });
        sleep(0).await;
        sleep(0).await;
        other.await.unwrap()
    });
    assert_eq!(after, 7);
    assert!(logged_error(&["detached output drop"]));
}

#[test]
fn a_cancelled_callback_whose_drop_panics_is_logged_and_the_loop_goes_on() {
    capture_logs();
    let after = Runner::new().run(async {
        let guard = PanicOnDrop("cancelled callback drop");
        let handle = get_running_loop().call_soon(move || drop(guard));
        handle.cancel();
        let ran = Rc::new(Cell::new(false));
        let r = ran.clone();
        get_running_loop().call_soon(move || r.set(true));
        sleep(0).await;
        sleep(0).await;
        ran.get()
    });
    assert!(after, "the callback queued after it still ran");
    assert!(logged_error(&["cancelled callback drop"]));
}

#[test]
fn a_timer_callback_that_panics_when_dropped_at_close_is_logged() {
    capture_logs();
    let after = run(async {
        let guard = PanicOnDrop("timer callback drop at close");
        get_running_loop().call_later(3600.0, move || drop(guard));
        "closed"
    });
    assert_eq!(after, "closed");
    assert!(logged_error(&["timer callback drop at close"]));
}

#[test]
fn a_pool_job_whose_unclaimed_result_panics_when_dropped_does_not_hang_the_close() {
    capture_logs();
    let ended = ends_within(Duration::from_secs(30), || {
        let after = run(async {
            let lp = get_running_loop();
            drop(lp.run_in_executor(|| {
                std::thread::sleep(Duration::from_millis(20));
                PanicOnDrop("unclaimed pool result drop")
            }));
            sleep(0.1).await;
            // The pool still serves the next job.
            lp.run_in_executor(|| 3).await.unwrap()
        });
        assert_eq!(after, 3);
    });
    assert!(ended, "asyncio::run did not return");
    assert!(logged_error(&["unclaimed pool result drop"]));
}
