//! The markdown table of the echo benchmarks, and `target/echo-results.tsv` for the chart.

use crate::{Sample, Server};
use std::fmt::Write as _;

/// Our servers' rows, summed up against tokio ct and raw epoll: the Python pattern
/// (`read(n)`) and the allocation-free read (`read_into` a kept buffer).
const OURS: [&str; 2] = ["asyncio", "asyncio read_into"];

pub struct Table {
    pub reps: usize,
    tsv: String,
    summary: Vec<String>,
}

/// Median, min and max of `xs` (sorted in place).
fn stats(xs: &mut [f64]) -> (f64, f64, f64) {
    xs.sort_by(f64::total_cmp);
    (xs[xs.len() / 2], xs[0], xs[xs.len() - 1])
}

fn rate(x: f64) -> String {
    if x >= 10_000.0 {
        format!("{:.0}k", x / 1000.0)
    } else {
        format!("{x:.0}")
    }
}

/// Our CPU per operation against another server's, taken repetition by repetition (the two
/// ran back to back) rather than median against median: the host's slow drifts, which move
/// every server's CPU per operation by tens of percent between runs, cancel out in each
/// pair. Median, min and max of the per-repetition ratios.
fn paired_ratio(ours: &[Sample], base: &[Sample]) -> (f64, f64, f64) {
    let mut ratios: Vec<f64> = ours
        .iter()
        .zip(base)
        .map(|(o, b)| o.cpu_ns / b.cpu_ns)
        .collect();
    stats(&mut ratios)
}

fn percent((median, min, max): (f64, f64, f64)) -> String {
    let p = |x: f64| (x - 1.0) * 100.0;
    format!("{:+.1}% ({:+.0}% to {:+.0}%)", p(median), p(min), p(max))
}

impl Table {
    pub fn new(reps: usize) -> Table {
        println!(
            "| workload | server | client ops/s median (min–max) | ×tokio ct | server CPU µs/op median (min–max) | ×tokio ct | vs raw epoll |"
        );
        println!("|---|---|---|---|---|---|---|");
        Table {
            reps,
            tsv: "workload\tserver\tops_per_s\tcpu_us_per_op\n".into(),
            summary: Vec::new(),
        }
    }

    /// Rows of one workload; `servers[0]` is the baseline (tokio current-thread).
    pub fn rows(&mut self, workload: &str, servers: &[&Server], samples: Vec<Vec<Sample>>) {
        let stats: Vec<_> = samples
            .iter()
            .map(|s| {
                let r = stats(&mut s.iter().map(|x| x.rate).collect::<Vec<_>>());
                let c = stats(&mut s.iter().map(|x| x.cpu_ns / 1000.0).collect::<Vec<_>>());
                (r, c)
            })
            .collect();
        let (base_rate, base_cpu) = (stats[0].0.0, stats[0].1.0);
        let epoll_cpu = servers
            .iter()
            .position(|s| s.name == "raw epoll")
            .map(|i| stats[i].1.0);
        let mut ours = Vec::new();
        for (s, ((r, rmin, rmax), (c, cmin, cmax))) in servers.iter().zip(&stats) {
            let vs_epoll =
                epoll_cpu.map_or(String::new(), |e| format!("{:+.0}%", (c / e - 1.0) * 100.0));
            println!(
                "| {workload} | {} | {} ({}–{}) | ×{:.2} | {c:.2} ({cmin:.2}–{cmax:.2}) | ×{:.2} | {vs_epoll} |",
                s.name,
                rate(*r),
                rate(*rmin),
                rate(*rmax),
                r / base_rate,
                base_cpu / c,
            );
            writeln!(self.tsv, "{workload}\t{}\t{r:.1}\t{c:.3}", s.name).unwrap();
            if OURS.contains(&s.name) {
                ours.push((
                    s.name,
                    r / base_rate,
                    base_cpu / c,
                    epoll_cpu.map(|e| c / e),
                ));
            }
        }
        for (name, r, c, e) in ours {
            let e = e.map_or(String::new(), |e| {
                format!(", CPU/op vs raw epoll {:+.1}%", (e - 1.0) * 100.0)
            });
            self.summary.push(format!(
                "{name} vs tokio ct, {workload}: ops/s ×{r:.2}, CPU/op ×{c:.2} (above 1 is better){e}"
            ));
            let paired = |base: &str| {
                let at = |name: &str| servers.iter().position(|s| s.name == name);
                let (ours, base) = (at(name)?, at(base)?);
                Some(paired_ratio(&samples[ours], &samples[base]))
            };
            if let (Some(e), Some(t)) = (paired("raw epoll"), paired("tokio ct")) {
                self.summary.push(format!(
                    "  paired, {workload}: CPU/op vs raw epoll {}, vs tokio ct {}",
                    percent(e),
                    percent(t)
                ));
            }
        }
    }

    pub fn finish(self) {
        println!();
        for line in &self.summary {
            println!("{line}");
        }
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/target/echo-results.tsv");
        if std::fs::write(path, &self.tsv).is_ok() {
            println!("\n(raw medians in {path})");
        }
    }
}
