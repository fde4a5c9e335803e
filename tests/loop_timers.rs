//! `call_soon`, `call_later`, `call_at` and the timer wheel under them.

use asyncio::{get_running_loop, sleep};
use std::cell::RefCell;
use std::rc::Rc;

type Log = Rc<RefCell<Vec<(f64, &'static str)>>>;

fn record(log: &Log, what: &'static str) -> impl FnOnce() + 'static {
    let log = log.clone();
    move || log.borrow_mut().push((get_running_loop().time(), what))
}

#[asyncio::test(virtual_time)]
async fn call_soon_runs_callbacks_in_order_at_the_next_turn() {
    let log: Log = Default::default();
    let lp = get_running_loop();
    lp.call_soon(record(&log, "a"));
    let cancelled = lp.call_soon(record(&log, "never"));
    lp.call_soon(record(&log, "b"));
    cancelled.cancel();
    assert!(log.borrow().is_empty());
    sleep(0).await;
    assert_eq!(*log.borrow(), vec![(0.0, "a"), (0.0, "b")]);
}

#[asyncio::test(virtual_time)]
async fn call_later_and_call_at_fire_at_exact_virtual_times() {
    let log: Log = Default::default();
    let lp = get_running_loop();
    lp.call_later(2.0, record(&log, "later 2"));
    lp.call_at(1.5, record(&log, "at 1.5"));
    lp.call_later(
        std::time::Duration::from_millis(250),
        record(&log, "later 0.25"),
    );
    let cancelled = lp.call_later(1.0, record(&log, "never"));
    cancelled.cancel();
    assert!(cancelled.cancelled());
    lp.call_later(f64::INFINITY, record(&log, "infinite never fires"));
    sleep(10.0).await;
    assert_eq!(
        *log.borrow(),
        vec![(0.25, "later 0.25"), (1.5, "at 1.5"), (2.0, "later 2")]
    );
}

#[asyncio::test(virtual_time)]
async fn timers_due_at_the_same_time_fire_in_the_order_they_were_set() {
    let log: Log = Default::default();
    let lp = get_running_loop();
    for name in ["first", "second", "third"] {
        lp.call_later(1.0, record(&log, name));
    }
    sleep(2.0).await;
    let names: Vec<_> = log.borrow().iter().map(|(_, n)| *n).collect();
    assert_eq!(names, ["first", "second", "third"]);
}

#[asyncio::test(virtual_time)]
async fn a_callback_in_the_past_runs_at_the_next_turn() {
    let log: Log = Default::default();
    let lp = get_running_loop();
    sleep(5.0).await;
    lp.call_at(1.0, record(&log, "overdue"));
    sleep(0).await;
    sleep(0).await;
    assert_eq!(*log.borrow(), vec![(5.0, "overdue")]);
}

#[asyncio::test(virtual_time)]
async fn sleeps_never_end_early() {
    let lp = get_running_loop();
    for delay in [0.0004, 0.001, 0.0015, 0.999, 1.0001] {
        let start = lp.time();
        sleep(delay).await;
        assert!(
            lp.time() - start >= delay - 1e-12,
            "slept {} for {delay}",
            lp.time() - start
        );
    }
}

#[asyncio::test]
async fn a_million_timers_armed_then_cancelled_give_their_memory_back() {
    let lp = get_running_loop();
    let timers: Vec<_> = (0..1_000_000u64)
        .map(|i| lp.call_later(1.0 + (i % 1000) as f64, || unreachable!("cancelled")))
        .collect();
    assert_eq!(lp.stats().timers, 1_000_000);
    for t in &timers {
        t.cancel();
    }
    let stats = lp.stats();
    assert_eq!(stats.timers, 0);
    assert_eq!(
        stats.timer_capacity, 0,
        "the wheel keeps no memory for cancelled timers"
    );
    sleep(0).await;
}

#[asyncio::test(virtual_time)]
async fn mostly_cancelled_timers_leave_the_rest_on_time() {
    let lp = get_running_loop();
    let fired: Rc<RefCell<Vec<u64>>> = Default::default();
    let timers: Vec<_> = (0..100_000u64)
        .map(|i| {
            let fired = fired.clone();
            lp.call_later(0.001 * (1 + i % 5000) as f64, move || {
                fired.borrow_mut().push(i)
            })
        })
        .collect();
    for (i, t) in timers.iter().enumerate() {
        if i % 100 != 0 {
            t.cancel();
        }
    }
    sleep(6.0).await;
    let fired = fired.borrow();
    assert_eq!(fired.len(), 1000);
    assert!(fired.iter().all(|i| i % 100 == 0));
    assert!(
        fired
            .windows(2)
            .all(|w| (1 + w[0] % 5000) <= (1 + w[1] % 5000)),
        "in deadline order"
    );
    assert_eq!(lp.stats().timer_capacity, 0);
}

#[asyncio::test(virtual_time)]
async fn virtual_deadlines_round_up_to_whole_milliseconds() {
    let lp = get_running_loop();
    sleep(0.0004).await;
    assert_eq!(lp.time(), 0.001);
    sleep(0.0015).await;
    assert_eq!(lp.time(), 0.003);
    sleep(std::time::Duration::from_nanos(1)).await;
    assert_eq!(lp.time(), 0.004);
    sleep(1.0).await;
    assert_eq!(lp.time(), 1.004);
}

#[asyncio::test(virtual_time)]
async fn virtual_timers_due_in_one_millisecond_fire_in_the_order_they_were_set() {
    let log: Log = Default::default();
    let lp = get_running_loop();
    lp.call_later(0.0009, record(&log, "0.9 ms"));
    lp.call_later(0.0001, record(&log, "0.1 ms"));
    lp.call_later(0.0011, record(&log, "1.1 ms"));
    sleep(0.01).await;
    assert_eq!(
        *log.borrow(),
        vec![(0.001, "0.9 ms"), (0.001, "0.1 ms"), (0.002, "1.1 ms")]
    );
}

// The real clock: what is checked is that nothing ends early, which holds however late the
// machine runs; how late they are is the lateness bench's business.

#[asyncio::test]
async fn short_sleeps_on_the_real_clock_never_end_early() {
    let lp = get_running_loop();
    // Around a tick (50 µs), around the precise window (4 ms), and past it.
    for delay in [
        0.000_001, 0.000_049, 0.000_05, 0.000_051, 0.000_3, 0.001, 0.003_9, 0.004_1, 0.007,
    ] {
        for _ in 0..3 {
            let instant = std::time::Instant::now();
            let start = lp.time();
            sleep(delay).await;
            let slept = lp.time() - start;
            assert!(slept >= delay - 1e-12, "slept {slept} for {delay}");
            assert!(instant.elapsed() >= std::time::Duration::from_secs_f64(delay));
        }
    }
}

#[asyncio::test]
async fn real_clock_timers_fire_not_before_their_time_and_in_order() {
    let log: Log = Default::default();
    let lp = get_running_loop();
    let now = lp.time();
    let mut handles = Vec::new();
    for (delay, name) in [
        (0.002, "a"),
        (0.000_5, "early"),
        (0.002, "b"),
        (0.005, "late"),
        (0.002, "c"),
    ] {
        handles.push(lp.call_at(now + delay, record(&log, name)));
    }
    sleep(0.01).await;
    let log = log.borrow();
    let names: Vec<_> = log.iter().map(|(_, n)| *n).collect();
    assert_eq!(names, ["early", "a", "b", "c", "late"]);
    for ((at, name), handle) in log.iter().zip([
        &handles[1],
        &handles[0],
        &handles[2],
        &handles[4],
        &handles[3],
    ]) {
        assert!(
            *at >= handle.when() - 1e-9,
            "{name} at {at}, due {}",
            handle.when()
        );
    }
}

#[asyncio::test]
async fn other_threads_reach_the_loop_during_precise_waits() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let lp = get_running_loop();
    let calls = Arc::new(AtomicUsize::new(0));
    let (remote, counter) = (lp.clone(), calls.clone());
    let thread = std::thread::spawn(move || {
        for _ in 0..100 {
            let counter = counter.clone();
            remote
                .call_soon_threadsafe(move || {
                    counter.fetch_add(1, Ordering::Relaxed);
                })
                .unwrap();
            std::thread::sleep(std::time::Duration::from_micros(100));
        }
    });
    for _ in 0..100 {
        let start = lp.time();
        sleep(0.000_3).await;
        assert!(lp.time() - start >= 0.000_3 - 1e-12);
    }
    while !thread.is_finished() {
        sleep(0.000_2).await;
    }
    thread.join().unwrap();
    sleep(0).await;
    sleep(0).await;
    assert_eq!(calls.load(Ordering::Relaxed), 100);
}

/// asyncio's `_run_once` moves every timer whose `when` is reached to the ready queue before
/// it runs that queue: a timer already due when it is made (`call_later(0)`, `call_at(now)`)
/// runs in the next turn, after the callbacks queued before that turn and before those they
/// queue. `a` queues `b`; a timer made after `a` runs between them.
async fn due_timers_run_at_the_next_turn() {
    let lp = get_running_loop();
    // Several rounds: on the real clock, one round could end up right on a tick's edge.
    for round in 0..10 {
        let log: Log = Default::default();
        let queued_by_a = log.clone();
        lp.call_soon(move || {
            queued_by_a.borrow_mut().push((0.0, "a"));
            get_running_loop().call_soon(record(&queued_by_a, "b"));
        });
        if round % 2 == 0 {
            lp.call_later(std::time::Duration::ZERO, record(&log, "timer"));
        } else {
            lp.call_at(lp.time(), record(&log, "timer"));
        }
        sleep(0.01).await;
        let order: Vec<_> = log.borrow().iter().map(|(_, what)| *what).collect();
        assert_eq!(order, ["a", "timer", "b"], "round {round}");
    }
}

#[asyncio::test(virtual_time)]
async fn a_due_timer_runs_at_the_next_turn_on_the_virtual_clock() {
    due_timers_run_at_the_next_turn().await;
}

#[asyncio::test]
async fn a_due_timer_runs_at_the_next_turn_on_the_real_clock() {
    due_timers_run_at_the_next_turn().await;
}
