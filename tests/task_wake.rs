//! The wake path: a wake on the loop's own thread queues the task directly (`Header::queued`),
//! one from anywhere else goes through the loop's cross-thread queue (the `REMOTE` bit). Each
//! test checks that a wake leads to a poll, once, whatever thread it comes from and whatever
//! the loop is doing then. Lost wakes would hang, so the waits are bounded by timeouts on the
//! virtual clock (which jumps once nothing else can happen) or by `recv_timeout`.

use asyncio::{Runner, Task, create_eager_task, create_task, sleep, wait_for};
use std::cell::Cell;
use std::future::{Future, poll_fn};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::task::{Poll, Waker};
use std::time::Duration;

/// A future that stays pending until `open` is called, and hands out its task's waker.
#[derive(Clone, Default)]
struct Gate(Arc<GateInner>);

#[derive(Default)]
struct GateInner {
    open: AtomicBool,
    waker: Mutex<Option<Waker>>,
    polls: AtomicUsize,
}

impl Gate {
    fn open(&self) {
        self.0.open.store(true, Ordering::Release);
    }

    fn waker(&self) -> Waker {
        self.0.waker.lock().unwrap().clone().expect("polled once")
    }

    fn polls(&self) -> usize {
        self.0.polls.load(Ordering::SeqCst)
    }

    fn wait(&self) -> impl Future<Output = ()> + 'static {
        let gate = self.clone();
        poll_fn(move |cx| {
            gate.0.polls.fetch_add(1, Ordering::SeqCst);
            *gate.0.waker.lock().unwrap() = Some(cx.waker().clone());
            if gate.0.open.load(Ordering::Acquire) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
    }
}

/// A future whose first poll calls `first` with its waker and stays pending, and whose next
/// poll finishes; and how many times it was polled.
fn pending_once(first: impl FnOnce(&Waker) + 'static) -> (Rc<Cell<u32>>, impl Future<Output = ()>) {
    let polls = Rc::new(Cell::new(0));
    let (p, mut first) = (polls.clone(), Some(first));
    let fut = poll_fn(move |cx| {
        p.set(p.get() + 1);
        match first.take() {
            Some(first) => {
                first(cx.waker());
                Poll::Pending
            }
            None => Poll::Ready(()),
        }
    });
    (polls, fut)
}

/// A wake on the loop's own thread between two runs, when no loop runs there: it goes through
/// the cross-thread queue, and the next run polls the task.
#[test]
#[allow(clippy::async_yields_async)] // the first run hands the pending task out
fn a_wake_between_runs_on_the_loops_thread_is_seen_by_the_next_run() {
    let mut runner = Runner::new().virtual_time(true);
    let gate = Gate::default();
    let g = gate.clone();
    let task: Task<()> = runner.run(async move {
        let task = create_task(g.wait());
        sleep(0).await;
        task
    });
    assert_eq!(gate.polls(), 1);
    gate.open();
    gate.waker().wake();
    let done = runner.run(async move { wait_for(task, 10.0).await });
    assert!(done.is_ok(), "the wake between runs was lost: {done:?}");
    assert_eq!(gate.polls(), 2);
}

/// The same wake, twice, and a wake of a task that is queued already (it finished its first
/// run in the ready queue): the next run polls each task once.
#[test]
fn wakes_between_runs_of_a_queued_task_poll_it_once() {
    let mut runner = Runner::new().virtual_time(true);
    let gate = Gate::default();
    let g = gate.clone();
    let (task, other): (Task<()>, Task<()>) = runner.run(async move {
        let task = create_task(g.wait());
        sleep(0).await;
        // Queued when this run ends: it runs at the next.
        let other = create_task(async {});
        (task, other)
    });
    gate.open();
    gate.waker().wake();
    gate.waker().wake_by_ref();
    runner.run(async move {
        wait_for(task, 10.0).await.unwrap().unwrap();
        other.await.unwrap();
    });
    assert_eq!(gate.polls(), 2);
}

/// A waker of loop A, woken on a thread that runs loop B: it must not touch B's queue, and A's
/// task runs.
#[test]
fn a_waker_of_one_loop_woken_on_a_thread_running_another_loop() {
    let (to_b, from_a) = mpsc::channel::<Waker>();
    let gate = Gate::default();
    let g = gate.clone();
    let a = std::thread::spawn(move || {
        Runner::new().run(async move {
            let task = create_task(g.wait());
            sleep(0).await;
            to_b.send(g.waker()).unwrap();
            // Bounded: a lost wake ends this on the real clock after 10 s.
            wait_for(task, 10.0).await
        })
    });
    let b = std::thread::spawn(move || {
        Runner::new().virtual_time(true).run(async move {
            let waker = from_a.recv_timeout(Duration::from_secs(10)).unwrap();
            // B has a task of its own with the same slab key as A's (both loops made two
            // tasks): the wake must not reach it.
            let mine = create_task(async { sleep(1.0).await });
            sleep(0).await;
            gate.open();
            waker.wake();
            mine.clone().await.unwrap();
            assert_eq!(mine.poll_count(), 2, "B polled its own task for A's wake");
        })
    });
    b.join().unwrap();
    assert!(a.join().unwrap().is_ok());
}

/// A task that wakes itself during its poll is polled again at the next turn, once.
#[asyncio::test(virtual_time)]
#[allow(clippy::waker_clone_wake)] // `wake` and `wake_by_ref` both
async fn a_wake_during_the_tasks_own_poll_polls_it_once_next_turn() {
    let (polls, fut) = pending_once(|waker| {
        waker.wake_by_ref();
        waker.wake_by_ref();
        waker.clone().wake();
    });
    let task = create_task(fut);
    sleep(0).await; // first poll
    assert_eq!(polls.get(), 1);
    sleep(0).await; // the second
    assert!(task.done());
    assert_eq!(task.poll_count(), 2);
}

/// A wake from another thread while the task is polled (the thread is joined inside the poll,
/// so the wake lands mid-poll): the task is polled again.
#[asyncio::test(virtual_time)]
async fn a_remote_wake_during_the_tasks_own_poll_polls_it_again() {
    let (polls, fut) = pending_once(|waker| {
        let waker = waker.clone();
        std::thread::spawn(move || waker.wake()).join().unwrap();
    });
    let task = create_task(fut);
    wait_for(task, 10.0).await.unwrap().unwrap();
    assert_eq!(polls.get(), 2);
}

/// Woken on the loop's thread and from another thread in the same turn: one poll.
#[asyncio::test(virtual_time)]
async fn a_local_and_a_remote_wake_in_one_turn_poll_the_task_once() {
    let gate = Gate::default();
    let task = create_task(gate.wait());
    sleep(0).await;
    assert_eq!(gate.polls(), 1);
    gate.open();
    let waker = gate.waker();
    std::thread::spawn(move || waker.wake()).join().unwrap();
    gate.waker().wake();
    for _ in 0..3 {
        sleep(0).await;
    }
    assert!(task.done());
    assert_eq!(gate.polls(), 2);
}

/// A task woken from another thread just as it finishes: the wake is dropped, and the task is
/// never run after it completed (its poll count would rise).
#[test]
fn remote_wakes_racing_with_completion_never_poll_a_finished_task() {
    let rounds = if cfg!(miri) { 5 } else { 300 };
    Runner::new().run(async move {
        for _ in 0..rounds {
            let gate = Gate::default();
            let g = gate.clone();
            let finished = Rc::new(Cell::new(false));
            let f = finished.clone();
            let wait = g.wait();
            let task = create_task(async move {
                wait.await;
                f.set(true);
            });
            // Poll a finished task's future again and the gate's poll count rises.
            sleep(0).await;
            let waker = gate.waker();
            let stop = Arc::new(AtomicBool::new(false));
            let s = stop.clone();
            let spammer = std::thread::spawn(move || {
                let mut n = 0;
                while !s.load(Ordering::Relaxed) && n < if cfg!(miri) { 100 } else { 100_000 } {
                    waker.wake_by_ref();
                    n += 1;
                }
                waker
            });
            gate.open();
            gate.waker().wake();
            wait_for(task.clone(), 10.0).await.unwrap().unwrap();
            let polls_at_end = task.poll_count();
            for _ in 0..3 {
                sleep(0).await;
            }
            stop.store(true, Ordering::Relaxed);
            let waker = spammer.join().unwrap();
            waker.wake();
            sleep(0).await;
            assert!(finished.get());
            assert_eq!(task.poll_count(), polls_at_end, "run after it finished");
        }
    });
}

/// What a waker on another thread wrote before it woke the task, with no synchronisation of
/// its own, is visible to the poll that the wake causes (Miri reports a data race otherwise).
#[test]
fn a_remote_wakers_writes_are_visible_to_the_poll_it_causes() {
    struct Shared(std::cell::UnsafeCell<u64>);
    // SAFETY: written by one thread before the wake, read by the loop after it; the test
    // checks the wake path orders the two.
    unsafe impl Sync for Shared {}
    Runner::new().run(async {
        for round in 0..if cfg!(miri) { 3 } else { 100 } {
            let data = Arc::new(Shared(std::cell::UnsafeCell::new(0)));
            let thread = Rc::new(Cell::new(None));
            let (d, t) = (data.clone(), thread.clone());
            let mut polls = 0;
            let got = wait_for(
                poll_fn(move |cx| {
                    polls += 1;
                    if polls == 1 {
                        let (d, waker) = (d.clone(), cx.waker().clone());
                        t.set(Some(std::thread::spawn(move || {
                            // SAFETY: see `Shared`.
                            unsafe { *d.0.get() = round + 1 };
                            waker.wake();
                        })));
                        return Poll::Pending;
                    }
                    // Only the wake polls the task again.
                    // SAFETY: see `Shared`.
                    Poll::Ready(unsafe { *d.0.get() })
                }),
                10.0,
            )
            .await
            .unwrap();
            assert_eq!(got, round + 1);
            thread.take().unwrap().join().unwrap();
        }
    });
}

/// A task cancelled before its first poll is never polled, and its future is dropped.
#[asyncio::test(virtual_time)]
async fn cancel_before_the_first_poll_never_polls() {
    let polled = Rc::new(Cell::new(false));
    let p = polled.clone();
    let task = create_task(async move { p.set(true) });
    assert!(task.cancel());
    assert!(
        task.cancel(),
        "still pending: a second cancel is accepted too"
    );
    let err = task.clone().await.unwrap_err();
    assert!(err.is_cancelled());
    assert!(!polled.get());
    assert_eq!(task.poll_count(), 0);
}

/// An eager task's first step runs without it being queued; a wake during that step, and a
/// cancel right after it, each lead to one more run.
#[asyncio::test(virtual_time)]
async fn an_eager_task_woken_during_its_first_step_runs_once_more() {
    let task = create_eager_task(poll_fn(|cx| {
        cx.waker().wake_by_ref();
        Poll::<()>::Pending
    }));
    assert_eq!(task.poll_count(), 1);
    assert_eq!(asyncio::get_running_loop().stats().ready, 1);
    sleep(0).await;
    assert_eq!(task.poll_count(), 2);
    // It keeps waking itself; a cancel now is the next run.
    assert!(task.cancel());
    assert!(task.clone().await.unwrap_err().is_cancelled());
    assert_eq!(task.poll_count(), 2, "the cancelled run does not poll");

    let gate = Gate::default();
    let task = create_eager_task(gate.wait());
    assert_eq!(gate.polls(), 1);
    assert!(task.cancel());
    assert!(task.await.unwrap_err().is_cancelled());
    assert_eq!(gate.polls(), 1);
}

/// A task cancelled while the loop closes wakes another in its cleanup: both finish, on the
/// loop's own thread, before `close` returns.
#[test]
fn wakes_during_close_reach_the_tasks_being_cancelled() {
    let log = Rc::new(std::cell::RefCell::new(Vec::new()));
    let mut runner = Runner::new().virtual_time(true);
    let l = log.clone();
    runner.run(async move {
        let gate = Gate::default();
        let g = gate.clone();
        let (l1, l2) = (l.clone(), l.clone());
        drop(create_task(async move {
            g.wait().await;
            l1.borrow_mut().push("waiter woken");
        }));
        struct OnDrop(Gate, Rc<std::cell::RefCell<Vec<&'static str>>>);
        impl Drop for OnDrop {
            fn drop(&mut self) {
                self.1.borrow_mut().push("cancelled");
                // Not this one: cancelled as well, so it ends cancelled, not woken.
                self.0.open();
                self.0.waker().wake();
            }
        }
        drop(create_task(async move {
            let _d = OnDrop(gate, l2);
            std::future::pending::<()>().await
        }));
        sleep(0).await;
    });
    runner.close();
    assert_eq!(*log.borrow(), ["cancelled"]);
}

/// `sleep(0)` is done at its second poll, whatever woke it; `sleep(f64::INFINITY)` and a delay
/// too long for a `Duration` never finish; a finished `Sleep` stays finished.
#[asyncio::test(virtual_time)]
async fn sleep_states() {
    let lp = asyncio::get_running_loop();
    // A yield does not touch the clock or the wheel.
    let mut s = Box::pin(sleep(0));
    let polled = poll_fn(|cx| Poll::Ready(s.as_mut().poll(cx))).await;
    assert!(polled.is_pending());
    assert_eq!(lp.stats().timers, 0);
    s.as_mut().await;
    assert!(
        poll_fn(|cx| Poll::Ready(s.as_mut().poll(cx)))
            .await
            .is_ready()
    );
    // Forever.
    for forever in [sleep(f64::INFINITY), sleep(1e300)] {
        let r = wait_for(forever, 3600.0).await;
        assert!(r.is_err(), "an infinite sleep ended");
        assert_eq!(
            lp.stats().timers,
            0,
            "the timeout's timer is gone, and no other"
        );
    }
    assert_eq!(lp.time(), 7200.0);
    // An armed sleep dropped unfinished removes its timer.
    let mut s = Box::pin(sleep(5.0));
    assert!(
        poll_fn(|cx| Poll::Ready(s.as_mut().poll(cx)))
            .await
            .is_pending()
    );
    assert_eq!(lp.stats().timers, 1);
    drop(s);
    assert_eq!(lp.stats().timers, 0);
    // Done after its deadline, and again when polled after that.
    let mut s = Box::pin(sleep(0.5));
    s.as_mut().await;
    assert_eq!(lp.time(), 7200.5);
    assert!(
        poll_fn(|cx| Poll::Ready(s.as_mut().poll(cx)))
            .await
            .is_ready()
    );
}

/// A task queued behind the running one and woken from another thread before its turn comes:
/// the poll it is queued for sees the wake, and the wake does not queue it once more.
#[asyncio::test(virtual_time)]
async fn a_remote_wake_of_a_task_already_queued_this_turn_polls_it_once() {
    let gate = Gate::default();
    let task = create_task(gate.wait());
    sleep(0).await;
    assert_eq!(gate.polls(), 1);
    // The next turn runs this task, then the gate's.
    let waker = gate.waker();
    let mut first = true;
    poll_fn(|cx| {
        if std::mem::take(&mut first) {
            cx.waker().wake_by_ref();
            waker.wake_by_ref();
            return Poll::Pending;
        }
        Poll::Ready(())
    })
    .await;
    // The gate's task is queued, behind this one: wake it from another thread.
    std::thread::spawn(move || waker.wake()).join().unwrap();
    for _ in 0..3 {
        sleep(0).await;
    }
    assert_eq!(gate.polls(), 2, "one wake-up, one poll");
    gate.open();
    gate.waker().wake();
    task.await.unwrap();
}
