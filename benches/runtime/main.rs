//! Side-by-side benchmarks of the runtimes: asyncio, tokio's current-thread runtime, tokio's
//! multi-thread runtime with 2 workers, and smol (`LocalExecutor` + async-io), interleaved in
//! one run so that their ratios are measured under the same load.
//!
//! `cargo bench --bench runtime [FILTER]` prints a markdown table: the median time per
//! operation over `REPS` repetitions, its min–max, and the ratio of tokio current-thread's
//! median to each runtime's (above 1 is faster than tokio current-thread). A second table gives
//! the lateness of `sleep(1 ms)` (see `lateness.rs`), with the same ratio convention. FILTER
//! picks workloads by name; `lateness` picks only the second table.

mod lateness;
mod ours;
mod smol_rt;
mod tokio_rt;

use std::time::{Duration, Instant};

const REPS: usize = 7;

/// One workload: its name, how many operations one run does, and a run per runtime, each
/// returning the time it measured (setup excluded where the runtime allows).
pub struct Workload {
    pub name: &'static str,
    pub ops: u64,
    pub runs: [fn() -> Duration; 4],
}

pub const RUNTIMES: [&str; 4] = ["asyncio", "tokio ct", "tokio mt(2)", "smol"];

pub fn timed(f: impl FnOnce()) -> Duration {
    let start = Instant::now();
    f();
    start.elapsed()
}

macro_rules! workload {
    ($name:expr, $ops:expr, $f:ident) => {
        Workload {
            name: $name,
            ops: $ops,
            runs: [ours::$f, tokio_rt::ct::$f, tokio_rt::mt::$f, smol_rt::$f],
        }
    };
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this binary without it,
    // and a benchmark is no test, so it does nothing then.
    if !std::env::args().any(|a| a == "--bench") {
        return println!("runtime: a benchmark; run it with `cargo bench --bench runtime`");
    }
    let filter = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let workloads = [
        workload!("spawn_many 100k", 100_000, spawn_many),
        workload!("chained_spawn 1k", 1_000, chained_spawn_1k),
        workload!("chained_spawn 100k", 100_000, chained_spawn_100k),
        workload!("yield_many 200x1000", 200_000, yield_many),
        workload!("ping_pong 1000", 1_000, ping_pong),
        workload!("channel bounded(100) 5x1000", 5_000, channel_bounded),
        workload!("channel unbounded 5x1000", 5_000, channel_unbounded),
        workload!("ring 300 bounded(1) x300", 90_000, ring),
        workload!("timers arm 100k, cancel 90%", 100_000, timers_arm_cancel),
        workload!("time() in the loop", 100_000, clock_reads),
        workload!("remote spawn 1000", 1_000, remote_spawn),
    ];
    let chosen: Vec<&Workload> = workloads
        .iter()
        .filter(|w| filter.as_deref().is_none_or(|f| w.name.contains(f)))
        .collect();
    let ratios = ns_per_op(&chosen);
    lateness::table(filter.as_deref());
    for (name, r) in ratios {
        println!("asyncio vs tokio current-thread, {name}: {r:.2}×");
    }
}

/// Prints the ns/op table; returns tokio ct's median / asyncio's per workload.
fn ns_per_op(workloads: &[&Workload]) -> Vec<(&'static str, f64)> {
    let mut ratios = Vec::new();
    if workloads.is_empty() {
        return ratios;
    }
    println!(
        "| workload | {} |",
        RUNTIMES.map(|r| format!("{r} ns/op (min–max)")).join(" | ")
    );
    println!("|---|{}", "---|".repeat(RUNTIMES.len()));
    for w in workloads {
        let mut times: [Vec<Duration>; 4] = Default::default();
        for run in w.runs {
            run(); // warm-up
        }
        for _ in 0..REPS {
            for (i, run) in w.runs.iter().enumerate() {
                times[i].push(run());
            }
        }
        let per_op = |d: Duration| d.as_nanos() as f64 / w.ops as f64;
        let medians: Vec<f64> = times
            .iter_mut()
            .map(|t| {
                t.sort();
                per_op(t[REPS / 2])
            })
            .collect();
        let cells: Vec<String> = times
            .iter()
            .zip(&medians)
            .map(|(t, m)| {
                format!(
                    "{m:.1} ({:.1}–{:.1}) ×{:.2}",
                    per_op(t[0]),
                    per_op(t[REPS - 1]),
                    medians[1] / m
                )
            })
            .collect();
        println!("| {} | {} |", w.name, cells.join(" | "));
        ratios.push((w.name, medians[1] / medians[0]));
    }
    println!();
    ratios
}
