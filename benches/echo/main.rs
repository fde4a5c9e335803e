//! Network benchmarks (issue 7, workloads 7, 8, 10 and 11): TCP echo over 127.0.0.1 against
//! our streams server (reading with `read(n)`, the Python pattern, and with `read_into` a kept
//! buffer), tokio (current-thread; multi-thread with 2 workers), smol on one thread, a raw
//! epoll loop, and the seed's Python server on CPython asyncio and uvloop. One fixed load
//! client — this
//! binary run as `echo client ..`, blocking std sockets — runs in its own process pinned to
//! core 0; the single-threaded servers are pinned to core 1. Each row reports the client's
//! rate and the server's CPU time per operation (all its threads' `/proc/PID/task/*/schedstat`
//! over the measured window). Servers are interleaved, `reps` repetitions each.
//!
//! `cargo bench --bench echo [-- GROUP.. secs=1 reps=5]`, GROUP one of pingpong, multi,
//! churn, bulk (default all). Needs `taskset`; uvloop is used from `target/pyvenv` when there.

mod client;
mod epoll;
mod servers;
mod table;

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Command, Stdio};

const CLIENT_CORE: &str = "0";
const SERVER_CORE: &str = "1";

pub struct Server {
    pub name: &'static str,
    child: Child,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn exe() -> String {
    std::env::current_exe().unwrap().display().to_string()
}

/// Starts `argv` under `taskset` (on `core`, or on every core) and reads the port it prints.
fn start(name: &'static str, argv: &[&str], core: Option<&str>) -> Option<Server> {
    let cores = core.unwrap_or("0-1023");
    let mut child = Command::new("taskset")
        .args(["-c", cores])
        .args(argv)
        .stdout(Stdio::piped())
        .spawn()
        .ok()?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .ok()?;
    match line.trim().parse() {
        Ok(port) => Some(Server { name, child, port }),
        Err(_) => {
            eprintln!("{name}: did not start; skipped");
            let _ = child.kill();
            let _ = child.wait();
            None
        }
    }
}

fn start_rust(name: &'static str, kind: &str, pinned: bool) -> Option<Server> {
    let exe = exe();
    start(name, &[&exe, "server", kind], pinned.then_some(SERVER_CORE))
}

fn start_python(name: &'static str, uvloop: bool) -> Option<Server> {
    let dir = env!("CARGO_MANIFEST_DIR");
    let script = format!("{dir}/benches/echo/echo_server.py");
    if uvloop {
        let py = format!("{dir}/target/pyvenv/bin/python");
        if !std::path::Path::new(&py).exists() {
            eprintln!("{name}: no target/pyvenv (scripts/bench.sh makes it); skipped");
            return None;
        }
        start(name, &[&py, &script, "uvloop"], Some(SERVER_CORE))
    } else {
        start(name, &["python3", &script], Some(SERVER_CORE))
    }
}

/// CPU time of all of `pid`'s threads, in nanoseconds.
fn cpu_ns(pid: u32) -> u64 {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).expect("/proc");
    tasks
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

/// One sample: the client's operations per second and the server's CPU ns per operation.
pub struct Sample {
    pub rate: f64,
    pub cpu_ns: f64,
}

fn next_line(out: &mut BufReader<ChildStdout>) -> String {
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    line
}

/// Runs the client (`client MODE ADDR ARGS..`) against `server` once.
fn sample(server: &Server, mode: &str, args: &[String]) -> Sample {
    let addr = format!("127.0.0.1:{}", server.port);
    let mut child = Command::new("taskset")
        .args(["-c", CLIENT_CORE, &exe(), "client", mode, &addr])
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .expect("taskset");
    let pid = server.child.id();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    assert_eq!(next_line(&mut out).trim(), "start");
    let c0 = cpu_ns(pid);
    let done = next_line(&mut out);
    let c1 = cpu_ns(pid);
    assert!(child.wait().unwrap().success(), "client failed");
    let f: Vec<f64> = done
        .split_whitespace()
        .skip(1)
        .map(|x| x.parse().unwrap())
        .collect();
    Sample {
        rate: f[0] / f[1],
        cpu_ns: (c1 - c0) as f64 / f[0],
    }
}

/// Measures every server, interleaved, `reps` times, and prints the rows of one workload.
fn measure(t: &mut table::Table, workload: &str, servers: &[&Server], mode: &str, args: &[String]) {
    let mut samples: Vec<Vec<Sample>> = servers.iter().map(|_| Vec::new()).collect();
    for _ in 0..t.reps {
        for (s, out) in servers.iter().zip(&mut samples) {
            out.push(sample(s, mode, args));
        }
    }
    t.rows(workload, servers, samples);
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    match args.first().map(String::as_str) {
        Some("client") => return client::main(&args[1..]),
        Some("server") => return servers::main(&args[1]),
        // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this binary without
        // it, and a benchmark is no test, so it does nothing then.
        _ if !std::env::args().any(|a| a == "--bench") => {
            return println!("echo: a benchmark; run it with `cargo bench --bench echo`");
        }
        _ => {}
    }
    let opt = |key: &str, default: f64| {
        let prefix = format!("{key}=");
        args.iter()
            .find_map(|a| a.strip_prefix(&prefix)?.parse().ok())
            .unwrap_or(default)
    };
    let (secs, reps) = (opt("secs", 1.0), opt("reps", 5.0) as usize);
    let groups: Vec<&str> = args
        .iter()
        .filter(|a| !a.contains('='))
        .map(String::as_str)
        .collect();
    let want = |g: &str| groups.is_empty() || groups.contains(&g);

    let tokio_ct = start_rust("tokio ct", "tokio-ct", true).expect("tokio server");
    let ours = start_rust("asyncio", "asyncio", true).expect("asyncio server");
    let ours_into = start_rust("asyncio read_into", "asyncio-into", true).expect("server");
    let epoll = start_rust("raw epoll", "epoll", true).expect("epoll server");
    let smol = start_rust("smol", "smol", true).expect("smol server");
    let mut t = table::Table::new(reps);

    if want("pingpong") {
        let cpython = start_python("CPython asyncio", false);
        let uvloop = start_python("uvloop", true);
        let mut all = vec![&tokio_ct, &ours, &ours_into, &epoll, &smol];
        all.extend(cpython.iter().chain(&uvloop));
        for conns in [1, 64] {
            for size in [64, 1024, 16384] {
                let name = format!("echo {conns} conn × {size} B");
                let a = [conns.to_string(), size.to_string(), secs.to_string()];
                measure(&mut t, &name, &all, "pingpong", &a);
            }
        }
    }
    if want("multi") {
        let ours2 = start_rust("asyncio 2 loops", "asyncio2", false).expect("server");
        let mt2 = start_rust("tokio mt(2)", "tokio-mt2", false).expect("server");
        let all = [&tokio_ct, &ours, &ours2, &mt2];
        for size in [64, 1024] {
            let name = format!("echo 64 conn × {size} B, 2 cores");
            let a = ["64".to_string(), size.to_string(), secs.to_string()];
            measure(&mut t, &name, &all, "pingpong", &a);
        }
    }
    if want("churn") {
        let a = ["10000".to_string(), "8".to_string()];
        measure(
            &mut t,
            "churn 10k conns, 8 at a time",
            &[&tokio_ct, &ours, &epoll, &smol],
            "churn",
            &a,
        );
    }
    if want("bulk") {
        let a = [(1u64 << 30).to_string()];
        measure(
            &mut t,
            "bulk 1 GiB, 64 KiB chunks",
            &[&tokio_ct, &ours, &ours_into, &epoll, &smol],
            "bulk",
            &a,
        );
    }
    t.finish();
}
