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
