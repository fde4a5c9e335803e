//! Property test: tasks wait on a Condition, `notify(k)` wakes some, and random tasks are
//! cancelled at random turns: while queued, just after being notified, or while taking the
//! lock back. A model tracks who is queued and who holds a notification; a notified task that
//! is cancelled must pass it to the next queued task. After the loop settles, exactly the
//! notified tasks have finished and exactly the queued ones still wait.

use asyncio::{Condition, Runner, Task, create_task, sleep};
use proptest::prelude::*;
use std::collections::VecDeque;

#[derive(Debug, Clone)]
enum Op {
    Spawn,
    Notify(usize),
    Cancel(usize),
    Yield(u8),
    Settle,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => Just(Op::Spawn),
        2 => (0usize..3).prop_map(Op::Notify),
        3 => any::<usize>().prop_map(Op::Cancel),
        3 => (0u8..3).prop_map(Op::Yield),
        1 => Just(Op::Settle),
    ]
}

async fn settle() {
    // More turns than a case can have waiters (cases have under 60 operations): a chain of
    // hand-offs, one a turn, always ends within them.
    for _ in 0..80 {
        sleep(0).await;
    }
}

#[derive(Default)]
struct Model {
    queued: VecDeque<usize>,
    notified: Vec<usize>,
}

impl Model {
    fn notify(&mut self, k: usize) {
        for _ in 0..k {
            match self.queued.pop_front() {
                Some(t) => self.notified.push(t),
                None => break,
            }
        }
    }

    fn cancel(&mut self, t: usize) {
        if let Some(at) = self.queued.iter().position(|&q| q == t) {
            self.queued.remove(at);
        } else if let Some(at) = self.notified.iter().position(|&n| n == t) {
            self.notified.remove(at);
            self.notify(1); // passed on
        }
    }
}

fn check(tasks: &[Task<()>], model: &mut Model) {
    for &t in &model.notified {
        assert!(tasks[t].done(), "notified task {t} did not run");
        assert!(!tasks[t].cancelled());
    }
    model.notified.clear();
    for &t in &model.queued {
        assert!(
            !tasks[t].done(),
            "queued task {t} finished without a notification"
        );
    }
}

fn run_case(ops: Vec<Op>) {
    Runner::new().virtual_time(true).run(async move {
        let cond = Condition::new();
        let mut tasks: Vec<Task<()>> = Vec::new();
        let mut model = Model::default();
        for op in ops {
            match op {
                Op::Spawn => {
                    let cond2 = cond.clone();
                    tasks.push(create_task(async move {
                        let guard = cond2.acquire().await;
                        let _guard = cond2.wait(guard).await;
                    }));
                    // Let it queue, so the model knows the order.
                    settle().await;
                    check(&tasks, &mut model);
                    model.queued.push_back(tasks.len() - 1);
                }
                Op::Notify(k) => {
                    let guard = cond.acquire().await;
                    cond.notify(k).unwrap();
                    model.notify(k);
                    drop(guard);
                }
                Op::Cancel(i) => {
                    let live: Vec<usize> = (0..tasks.len()).filter(|&t| !tasks[t].done()).collect();
                    if !live.is_empty() {
                        let t = live[i % live.len()];
                        tasks[t].cancel();
                        model.cancel(t);
                    }
                }
                Op::Yield(turns) => {
                    for _ in 0..turns {
                        sleep(0).await;
                    }
                    // A notified task that already finished can no longer be cancelled.
                    model.notified.retain(|&t| !tasks[t].done());
                }
                Op::Settle => {
                    settle().await;
                    check(&tasks, &mut model);
                }
            }
        }
        settle().await;
        check(&tasks, &mut model);
        assert!(!cond.locked());
        for t in &tasks {
            t.cancel();
        }
    });
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn condition_passes_notifications_on_under_random_cancellation(
        ops in prop::collection::vec(op(), 1..60),
    ) {
        run_case(ops);
    }
}
