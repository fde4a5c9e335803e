//! Items per second through one Redis with `RedisQueue`: 1 producer × 4 consumers (each its
//! own handle, consumer and connections), against `redis-benchmark`'s pipelined `XADD` rate
//! on the same server, measured in the same run.
//!
//! Two producers, each its own run: `put_all` batches (16 batches of 64 pipelined), and plain
//! `put`s from 256 tasks at once (the puts of a turn go to Redis in one script call).
//!
//! `cargo bench --features redis --bench redis_queue` (uses `ASYNCIO_REDIS_URL`'s port, or
//! starts a `redis-server` on a free port). `ITEMS=200000` sets the count; `PROFILE=1` prints
//! Redis's own time per command (`INFO commandstats`) for each queue run.

use asyncio::redis::RedisQueue;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Batches the producer keeps pipelined, items per batch, and stream entries each consumer
/// reads at once (up to 64 items each: 1024 items).
const IN_FLIGHT: usize = 16;
const BATCH: usize = 64;
const PREFETCH: usize = 16;
/// Tasks putting one item at a time, in the `put` producer.
const PUTTERS: usize = 256;

#[derive(Clone, Copy, PartialEq)]
enum Producer {
    PutAll,
    Put,
}

fn start_redis() -> (Option<Child>, u16) {
    if let Ok(url) = std::env::var("ASYNCIO_REDIS_URL") {
        let port = url
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or(6379);
        return (None, port);
    }
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .args(["--dir", &std::env::temp_dir().display().to_string()])
        .stdout(Stdio::null())
        .spawn()
        .expect("redis-server (apt-get install -y redis-server)");
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        std::thread::sleep(Duration::from_millis(10));
    }
    (Some(child), port)
}

/// Seconds of CPU the Redis server has used (user + system): Redis is the bottleneck, and its
/// CPU per item does not depend on how loaded the machine is, where items per second does.
fn redis_cpu(port: u16) -> f64 {
    let info = redis_cli(port, &["INFO", "cpu"]);
    let field = |name: &str| -> f64 {
        info.lines()
            .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
            .unwrap_or(0.0)
    };
    field("used_cpu_user:") + field("used_cpu_sys:")
}

/// `redis-benchmark`'s XADD rate, pipelined 16 deep, in requests per second.
fn xadd_rate(port: u16, n: usize) -> f64 {
    let out = Command::new("redis-benchmark")
        .args([
            "-p",
            &port.to_string(),
            "-n",
            &n.to_string(),
            "-P",
            "16",
            "-q",
        ])
        .args(["XADD", "bench:xadd", "*", "f", "v"])
        .output()
        .expect("redis-benchmark runs");
    let text = String::from_utf8_lossy(&out.stdout);
    // "XADD bench:xadd * f v: 512820.53 requests per second, p50=…"; the last \r-separated part.
    let last = text
        .rsplit('\r')
        .find(|s| s.contains("requests per second"))
        .unwrap_or(&text);
    last.split(": ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("redis-benchmark said {text:?}"))
}

fn redis_cli(port: u16, args: &[&str]) -> String {
    let out = Command::new("redis-cli")
        .args(["-p", &port.to_string()])
        .args(args)
        .output()
        .expect("redis-cli runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Redis's time per command since the last `CONFIG RESETSTAT`, the costliest first.
fn print_commandstats(port: u16) {
    let stats = redis_cli(port, &["INFO", "commandstats"]);
    let mut rows: Vec<(u64, &str)> = stats
        .lines()
        .filter_map(|l| {
            let usec = l.split("usec=").nth(1)?.split(',').next()?.parse().ok()?;
            Some((usec, l.trim()))
        })
        .collect();
    rows.sort_by_key(|r| std::cmp::Reverse(r.0));
    for (_, line) in rows.iter().take(8) {
        println!("    {line}");
    }
}

async fn queue_rate(url: String, items: usize, producer_kind: Producer) -> f64 {
    let name = format!("bench-{}", std::process::id());
    let producer = RedisQueue::<u64>::connect(&url, &name).await.unwrap();
    producer.delete().await.unwrap();
    let mut consumers = Vec::new();
    for _ in 0..4 {
        let q = RedisQueue::<u64>::connect(&url, &name)
            .prefetch(PREFETCH)
            .await
            .unwrap();
        consumers.push(asyncio::create_task(async move {
            let (mut sum, mut count) = (0u64, 0usize);
            while let Ok(item) = q.get().await {
                sum += item;
                count += 1;
                q.task_done().unwrap();
            }
            q.flush().await.unwrap();
            (sum, count)
        }));
    }
    let started = Instant::now();
    let mut puts = Vec::new();
    if producer_kind == Producer::PutAll {
        // Batches of BATCH items, IN_FLIGHT batches pipelined at a time.
        for lane in 0..IN_FLIGHT {
            let q = producer.clone();
            puts.push(asyncio::create_task(async move {
                let mut start = lane * BATCH;
                while start < items {
                    let end = (start + BATCH).min(items);
                    q.put_all((start as u64..end as u64).collect())
                        .await
                        .unwrap();
                    start += IN_FLIGHT * BATCH;
                }
            }));
        }
    } else {
        // PUTTERS tasks, each awaiting one put after another.
        for lane in 0..PUTTERS {
            let q = producer.clone();
            puts.push(asyncio::create_task(async move {
                for n in (lane..items).step_by(PUTTERS) {
                    q.put(n as u64).await.unwrap();
                }
            }));
        }
    }
    for p in puts {
        p.await.unwrap();
    }
    producer.join().await.unwrap();
    let elapsed = started.elapsed().as_secs_f64();
    producer.shutdown(false).await.unwrap();
    let (mut sum, mut counts) = (0, Vec::new());
    for c in consumers {
        let (s, n) = c.await.unwrap();
        sum += s;
        counts.push(n);
    }
    assert_eq!(sum, (0..items as u64).sum::<u64>(), "every item once");
    println!("  items per consumer: {counts:?}");
    producer.delete().await.unwrap();
    items as f64 / elapsed
}

fn main() {
    let items: usize = std::env::var("ITEMS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    let (child, port) = start_redis();
    let url = std::env::var("ASYNCIO_REDIS_URL").unwrap_or(format!("redis://127.0.0.1:{port}"));
    let profile = std::env::var("PROFILE").is_ok_and(|v| v == "1");
    for (kind, label) in [(Producer::PutAll, "put_all"), (Producer::Put, "put")] {
        let mut rows = Vec::new();
        for round in 0..3 {
            let cpu0 = redis_cpu(port);
            let xadd = xadd_rate(port, items);
            let cpu1 = redis_cpu(port);
            if profile {
                redis_cli(port, &["CONFIG", "RESETSTAT"]);
            }
            let ours = asyncio::run(queue_rate(url.clone(), items, kind));
            let cpu2 = redis_cpu(port);
            let us = |cpu: f64| cpu * 1e6 / items as f64;
            println!(
                "{label} round {round}: redis-benchmark XADD -P 16: {xadd:.0}/s; RedisQueue 1 producer ({label}) x 4 consumers: {ours:.0} items/s; ratio {:.2}; Redis CPU per XADD {:.1} us, per item {:.1} us: CPU ratio {:.2}",
                ours / xadd,
                us(cpu1 - cpu0),
                us(cpu2 - cpu1),
                (cpu1 - cpu0) / (cpu2 - cpu1),
            );
            if profile {
                print_commandstats(port);
            }
            rows.push((ours / xadd, (cpu1 - cpu0) / (cpu2 - cpu1)));
        }
        let median = |mut v: Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v[1]
        };
        println!(
            "{label}: median ratio {:.2}; median CPU ratio {:.2}",
            median(rows.iter().map(|r| r.0).collect()),
            median(rows.iter().map(|r| r.1).collect())
        );
    }
    if let Some(mut child) = child {
        let _ = child.kill();
        let _ = child.wait();
    }
}
