//! Timer lateness (issue 7, workload 6): how long after its 1 ms a `sleep(1 ms)` gives control
//! back to its task. Each sleep is timed with `Instant` around the await, so the number covers
//! the whole path: arming the timer, the runtime's tick rounding, the poll timeout, and
//! waking and running the task. Negative values would mean a timer fired early.
//!
//! Two shapes per runtime: many tasks sleeping at once (their timers share ticks and one
//! wake-up serves many), and one task sleeping in a chain (every wake-up serves one timer).

use super::{RUNTIMES, ours, smol_rt, tokio_rt};
use std::time::{Duration, Instant};

/// Fewer than the ns/op workloads: one run of a shape takes 0.1–0.5 s.
const REPS: usize = 5;

pub const SLEEP: Duration = Duration::from_millis(1);

/// How far past `SLEEP` since `start` it is now, in µs.
pub fn late_us(start: Instant) -> f64 {
    (start.elapsed().as_secs_f64() - SLEEP.as_secs_f64()) * 1e6
}

/// `tasks` concurrent tasks, each doing `sleeps` sleeps in a row; every sleep's lateness in µs.
type Run = fn(usize, usize) -> Vec<f64>;

const RUNS: [Run; 4] = [
    ours::sleep_lateness,
    tokio_rt::ct::sleep_lateness,
    tokio_rt::mt::sleep_lateness,
    smol_rt::sleep_lateness,
];

struct Shape {
    name: &'static str,
    tasks: usize,
    sleeps: usize,
}

const SHAPES: [Shape; 2] = [
    Shape {
        name: "100 tasks × 100 sleeps",
        tasks: 100,
        sleeps: 100,
    },
    Shape {
        name: "1 task × 300 sleeps",
        tasks: 1,
        sleeps: 300,
    },
];

/// The value at quantile `q` of sorted `xs` (nearest rank).
fn quantile(xs: &[f64], q: f64) -> f64 {
    let rank = (q * xs.len() as f64).ceil() as usize;
    xs[rank.clamp(1, xs.len()) - 1]
}

fn cell(per_rep: &mut [f64], tokio_ct: f64) -> String {
    per_rep.sort_by(f64::total_cmp);
    let m = per_rep[per_rep.len() / 2];
    // A lateness at or below zero has no meaningful ratio.
    let ratio = if m > 0.0 && tokio_ct > 0.0 {
        format!("×{:.2}", tokio_ct / m)
    } else {
        "×–".into()
    };
    let (lo, hi) = (per_rep[0], per_rep[per_rep.len() - 1]);
    format!("{m:.0} ({lo:.0}–{hi:.0}) {ratio}")
}

/// Prints the lateness table for the shapes whose name contains `filter`.
pub fn table(filter: Option<&str>) {
    let shapes: Vec<&Shape> = SHAPES
        .iter()
        .filter(|s| filter.is_none_or(|f| format!("lateness {}", s.name).contains(f)))
        .collect();
    if shapes.is_empty() {
        return;
    }
    println!(
        "| lateness of sleep(1 ms), µs, {REPS} repetitions | {} |",
        RUNTIMES.map(|r| format!("{r} (min–max)")).join(" | ")
    );
    println!("|---|{}", "---|".repeat(RUNTIMES.len()));
    for shape in shapes {
        // [runtime][statistic: median, p99][repetition]
        let mut stats: [[Vec<f64>; 2]; 4] = Default::default();
        for run in RUNS {
            run(shape.tasks, shape.sleeps); // warm-up
        }
        for _ in 0..REPS {
            for (i, run) in RUNS.iter().enumerate() {
                let mut late = run(shape.tasks, shape.sleeps);
                assert_eq!(late.len(), shape.tasks * shape.sleeps);
                late.sort_by(f64::total_cmp);
                stats[i][0].push(quantile(&late, 0.5));
                stats[i][1].push(quantile(&late, 0.99));
            }
        }
        for (k, label) in ["median", "p99"].iter().enumerate() {
            let mut tokio = stats[1][k].clone();
            tokio.sort_by(f64::total_cmp);
            let base = tokio[tokio.len() / 2];
            let cells: Vec<String> = stats.iter_mut().map(|s| cell(&mut s[k], base)).collect();
            println!("| {}, {label} | {} |", shape.name, cells.join(" | "));
        }
    }
    println!();
}
