//! Property test: tasks acquire a Lock / Semaphore / BoundedSemaphore, hold it for a while and
//! are cancelled at random turns, waiting or holding, just before or just after they were
//! handed the resource. After every step no more than the limit hold it; once the loop has
//! settled nobody waits while a permit is free; and at the end every permit is back.

use asyncio::{BoundedSemaphore, Event, Lock, Runner, Semaphore, Task, create_task, sleep};
use proptest::prelude::*;
use std::any::Any;
use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

#[derive(Debug, Clone)]
enum Op {
    /// A new task starts acquiring.
    Spawn,
    /// Cancel the task at this index (mod the number spawned).
    Cancel(usize),
    /// Tell the task at this index to release what it holds.
    Release(usize),
    /// Let the loop run this many turns.
    Yield(u8),
    /// Run until nothing moves, then check that nobody waits for a free permit.
    Settle,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => Just(Op::Spawn),
        2 => any::<usize>().prop_map(Op::Cancel),
        2 => any::<usize>().prop_map(Op::Release),
        3 => (0u8..3).prop_map(Op::Yield),
        1 => Just(Op::Settle),
    ]
}

type Guard = Box<dyn Any>;
type AcquireFn = Rc<dyn Fn() -> Pin<Box<dyn Future<Output = Guard>>>>;

#[derive(Clone)]
enum Prim {
    Lock(Lock),
    Sem(Semaphore),
    Bounded(BoundedSemaphore),
}

impl Prim {
    fn limit(&self, n: usize) -> usize {
        match self {
            Prim::Lock(_) => 1,
            _ => n,
        }
    }

    fn acquire_fn(&self) -> AcquireFn {
        match self.clone() {
            Prim::Lock(l) => Rc::new(move || {
                let a = l.acquire();
                Box::pin(async move { Box::new(a.await) as Guard })
            }),
            Prim::Sem(s) => Rc::new(move || {
                let a = s.acquire();
                Box::pin(async move { Box::new(a.await) as Guard })
            }),
            Prim::Bounded(s) => Rc::new(move || {
                let a = s.acquire();
                Box::pin(async move { Box::new(a.await) as Guard })
            }),
        }
    }

    fn locked(&self) -> bool {
        match self {
            Prim::Lock(l) => l.locked(),
            Prim::Sem(s) => s.locked(),
            Prim::Bounded(s) => s.locked(),
        }
    }

    /// Takes every free permit without waiting, and counts them.
    fn count_free(&self) -> usize {
        let mut held: Vec<Guard> = Vec::new();
        loop {
            let got: Option<Guard> = match self {
                Prim::Lock(l) => l.try_acquire().map(|g| Box::new(g) as Guard),
                Prim::Sem(s) => s.try_acquire().map(|g| Box::new(g) as Guard),
                Prim::Bounded(s) => s.try_acquire().map(|g| Box::new(g) as Guard),
            };
            match got {
                Some(g) => held.push(g),
                None => return held.len(),
            }
        }
    }
}

/// Decrements the holder count when the holding task ends, however it ends.
struct Holding(Rc<Cell<usize>>);

impl Drop for Holding {
    fn drop(&mut self) {
        self.0.set(self.0.get() - 1);
    }
}

struct Waiter {
    task: Task<()>,
    release: Event,
    holding: Rc<Cell<bool>>,
}

async fn settle() {
    // More turns than a case can have waiters (cases have under 60 operations): a chain of
    // hand-offs, one a turn, always ends within them.
    for _ in 0..80 {
        sleep(0).await;
    }
}

fn run_case(prim: Prim, n: usize, ops: Vec<Op>) {
    Runner::new().virtual_time(true).run(async move {
        let limit = prim.limit(n);
        let acquire = prim.acquire_fn();
        let holders = Rc::new(Cell::new(0usize));
        let mut waiters: Vec<Waiter> = Vec::new();
        let waiting = |waiters: &[Waiter]| {
            waiters
                .iter()
                .filter(|w| !w.task.done() && !w.holding.get())
                .count()
        };
        for op in ops {
            match op {
                Op::Spawn => {
                    let (acquire, holders) = (acquire.clone(), holders.clone());
                    let release = Event::new();
                    let holding = Rc::new(Cell::new(false));
                    let (rel, hold) = (release.clone(), holding.clone());
                    let task = create_task(async move {
                        let guard = acquire().await;
                        holders.set(holders.get() + 1);
                        hold.set(true);
                        let _holding = Holding(holders);
                        rel.wait().await;
                        drop(guard);
                    });
                    waiters.push(Waiter {
                        task,
                        release,
                        holding,
                    });
                }
                Op::Cancel(i) => {
                    let live: Vec<_> = waiters.iter().filter(|w| !w.task.done()).collect();
                    if !live.is_empty() {
                        live[i % live.len()].task.cancel();
                    }
                }
                Op::Release(i) if !waiters.is_empty() => {
                    waiters[i % waiters.len()].release.set();
                }
                Op::Yield(turns) => {
                    for _ in 0..turns {
                        sleep(0).await;
                    }
                }
                Op::Settle => {
                    settle().await;
                    if holders.get() < limit {
                        assert_eq!(waiting(&waiters), 0, "a task waits while a permit is free");
                    }
                    assert_eq!(prim.locked(), holders.get() == limit);
                }
                Op::Release(_) => {}
            }
            assert!(
                holders.get() <= limit,
                "{} holders, limit {limit}",
                holders.get()
            );
        }
        for w in &waiters {
            w.release.set();
        }
        // Each hand-off of the lock takes a turn: give every waiter its turns, however many
        // were spawned.
        for _ in 0..waiters.len() * 2 {
            sleep(0).await;
        }
        settle().await;
        assert!(waiters.iter().all(|w| w.task.done()));
        assert_eq!(holders.get(), 0);
        assert_eq!(prim.count_free(), limit, "permits leaked or duplicated");
        if let Prim::Bounded(s) = &prim {
            assert!(s.release().is_err());
        }
    });
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn lock_never_leaks_under_random_cancellation(ops in prop::collection::vec(op(), 1..60)) {
        run_case(Prim::Lock(Lock::new()), 1, ops);
    }

    #[test]
    fn semaphore_never_leaks_under_random_cancellation(
        n in 1usize..4,
        ops in prop::collection::vec(op(), 1..60),
    ) {
        run_case(Prim::Sem(Semaphore::new(n)), n, ops);
    }

    #[test]
    fn bounded_semaphore_never_leaks_under_random_cancellation(
        n in 1usize..4,
        ops in prop::collection::vec(op(), 1..60),
    ) {
        run_case(Prim::Bounded(BoundedSemaphore::new(n)), n, ops);
    }
}
