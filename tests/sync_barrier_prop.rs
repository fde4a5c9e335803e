//! Property test: tasks wait at a Barrier and random ones are cancelled at random turns, some
//! just after the barrier released them; the barrier is sometimes aborted and reset. After the
//! loop settles, the barrier counts exactly the tasks still waiting, fewer than `parties`, and
//! a round that fills lets its tasks through.

use asyncio::{Barrier, BrokenBarrierError, Runner, Task, create_task, sleep};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Spawn,
    Cancel(usize),
    Yield(u8),
    Settle,
    AbortAndReset,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => Just(Op::Spawn),
        2 => any::<usize>().prop_map(Op::Cancel),
        3 => (0u8..3).prop_map(Op::Yield),
        1 => Just(Op::Settle),
        1 => Just(Op::AbortAndReset),
    ]
}

async fn settle() {
    // More turns than a case can have waiters (cases have under 60 operations): a chain of
    // hand-offs, one a turn, always ends within them.
    for _ in 0..80 {
        sleep(0).await;
    }
}

type Outcome = Result<usize, BrokenBarrierError>;

fn check(barrier: &Barrier, tasks: &[Task<Outcome>]) {
    let live = tasks.iter().filter(|t| !t.done()).count();
    assert_eq!(
        barrier.n_waiting(),
        live,
        "the barrier miscounts its waiters"
    );
    assert!(live < barrier.parties(), "a full barrier did not open");
    assert!(!barrier.broken());
}

fn run_case(parties: usize, ops: Vec<Op>) {
    Runner::new().virtual_time(true).run(async move {
        let barrier = Barrier::new(parties);
        let mut tasks: Vec<Task<Outcome>> = Vec::new();
        for op in ops {
            match op {
                Op::Spawn => tasks.push(create_task(barrier.wait())),
                Op::Cancel(i) => {
                    let live: Vec<_> = tasks.iter().filter(|t| !t.done()).collect();
                    if !live.is_empty() {
                        live[i % live.len()].cancel();
                    }
                }
                Op::Yield(turns) => {
                    for _ in 0..turns {
                        sleep(0).await;
                    }
                }
                Op::Settle => {
                    settle().await;
                    check(&barrier, &tasks);
                }
                Op::AbortAndReset => {
                    settle().await;
                    let live: Vec<_> = tasks.iter().filter(|t| !t.done()).cloned().collect();
                    barrier.abort();
                    settle().await;
                    for t in live {
                        assert_eq!(t.result().unwrap(), Err(BrokenBarrierError));
                    }
                    barrier.reset();
                    check(&barrier, &tasks);
                }
            }
        }
        settle().await;
        check(&barrier, &tasks);
        // Fill the round: everyone waiting passes. (An index is the count inside at arrival,
        // as in asyncio, so after cancellations two tasks of a round may share one.)
        let waiting: Vec<_> = tasks.iter().filter(|t| !t.done()).cloned().collect();
        let rest = (waiting.len()..parties).map(|_| create_task(barrier.wait()));
        let round: Vec<_> = waiting.into_iter().chain(rest).collect();
        settle().await;
        for t in round {
            assert!(t.result().unwrap().unwrap() < parties);
        }
        assert_eq!(barrier.n_waiting(), 0);
    });
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn barrier_counts_right_under_random_cancellation(
        parties in 1usize..4,
        ops in prop::collection::vec(op(), 1..60),
    ) {
        run_case(parties, ops);
    }
}
