//! `RedisQueue` across processes: worker processes (this test binary, run again as
//! `child_worker`) on one Redis; one is killed with SIGKILL while it holds items; Redis is
//! restarted while they work. Every item is still processed, and the acks equal the puts.

mod redis_support;

use asyncio::redis::{QueueError, RedisQueue};
use redis_support::{Redis, own_redis, prefix, redis};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const ITEMS: u32 = 60;

/// The worker, when run as a child (`REDIS_CHILD_URL` set): takes items until the queue is
/// shut down, printing `processed N` for each before its `task_done`. Run as a plain test it
/// does nothing.
#[test]
fn child_worker() {
    let Ok(url) = std::env::var("REDIS_CHILD_URL") else {
        return;
    };
    let name = std::env::var("REDIS_CHILD_QUEUE").unwrap();
    asyncio::run(async move {
        let q = RedisQueue::<u32>::connect(&url, &name)
            .visibility_timeout(0.5)
            .poll_interval(0.05)
            .prefetch(4)
            .reconnect_timeout(20.0)
            .await
            .unwrap();
        loop {
            match q.get().await {
                Ok(n) => {
                    asyncio::sleep(0.02).await;
                    println!("processed {n}");
                    q.task_done().unwrap();
                }
                Err(QueueError::Queue(_)) => break, // shut down
                Err(e) => panic!("worker: {e}"),
            }
        }
        q.flush().await.unwrap();
    });
}

struct Worker {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
}

fn spawn_worker(url: &str, name: &str) -> Worker {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["child_worker", "--exact", "--nocapture", "--test-threads=1"])
        .env("REDIS_CHILD_URL", url)
        .env("REDIS_CHILD_QUEUE", name)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = Arc::new(Mutex::new(Vec::new()));
    let out = child.stdout.take().unwrap();
    let sink = lines.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            sink.lock().unwrap().push(line);
        }
    });
    Worker { child, lines }
}

impl Worker {
    fn processed(&self) -> Vec<u32> {
        let lines = self.lines.lock().unwrap();
        lines
            .iter()
            // libtest's "test child_worker ... " may start the first line.
            .filter_map(|l| l.split("processed ").nth(1)?.trim().parse().ok())
            .collect()
    }

    fn wait_processed(&self, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.processed().len() < n {
            assert!(Instant::now() < deadline, "the worker processed nothing");
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

/// Puts the items one at a time (an entry each), or with `batch`, `put_all` of `batch` at
/// a time (entries of several items).
fn put_items(url: &str, name: &str, batch: Option<u32>) {
    let (url, name) = (url.to_owned(), name.to_owned());
    asyncio::run(async move {
        let q = RedisQueue::<u32>::connect(&url, &name).await.unwrap();
        match batch {
            None => {
                for n in 0..ITEMS {
                    q.put(n).await.unwrap();
                }
            }
            Some(size) => {
                for first in (0..ITEMS).step_by(size as usize) {
                    q.put_all((first..ITEMS.min(first + size)).collect())
                        .await
                        .unwrap();
                }
            }
        }
    });
}

/// Joins (reconnecting if need be), shuts down, and checks: every item processed by some
/// worker, acks == puts, nothing dead.
fn join_and_check(server: &Redis, name: &str, workers: Vec<Worker>) {
    let (url, queue) = (server.url.clone(), name.to_owned());
    asyncio::run(async move {
        let q = RedisQueue::<u32>::connect(&url, &queue)
            .reconnect_timeout(20.0)
            .await
            .unwrap();
        asyncio::wait_for(q.join(), 60.0)
            .await
            .expect("join returns")
            .unwrap();
        q.shutdown(false).await.unwrap();
        assert!(q.dead_letters().await.unwrap().is_empty());
    });
    let mut seen = vec![0u32; ITEMS as usize];
    for mut w in workers {
        let _ = w.child.wait();
        std::thread::sleep(Duration::from_millis(20)); // the reader thread's last lines
        for n in w.processed() {
            seen[n as usize] += 1;
        }
    }
    let missing: Vec<_> = (0..ITEMS).filter(|&n| seen[n as usize] == 0).collect();
    assert!(missing.is_empty(), "never processed: {missing:?}");
    let stats = format!("{{{name}}}:stats");
    assert_eq!(server.cli(&["HGET", &stats, "acked"]), ITEMS.to_string());
    let unfinished = format!("{{{name}}}:unfinished");
    assert_eq!(server.cli(&["GET", &unfinished]), "0");
}

#[test]
fn a_worker_killed_holding_items_loses_none_and_acks_equal_puts() {
    let Some(server) = redis("sigkill") else {
        return;
    };
    let name = prefix("sigkill");
    put_items(&server.url, &name, None);
    let mut workers: Vec<Worker> = (0..3).map(|_| spawn_worker(&server.url, &name)).collect();
    workers[0].wait_processed(3);
    workers[0].child.kill().unwrap(); // SIGKILL, holding its prefetched items
    join_and_check(&server, &name, workers);
    server.cli(&["DEL", &format!("{{{name}}}:stream")]);
}

#[test]
fn a_worker_killed_in_the_middle_of_a_batched_entry_loses_none_of_its_items() {
    let Some(server) = redis("sigkill_batch") else {
        return;
    };
    let name = prefix("sigkill-batch");
    // Entries of 10 items; each worker reads ahead 4 entries.
    put_items(&server.url, &name, Some(10));
    let mut workers: Vec<Worker> = (0..3).map(|_| spawn_worker(&server.url, &name)).collect();
    // Whichever worker read entries first (one may read all of them, in 4-entry reads).
    let deadline = Instant::now() + Duration::from_secs(30);
    let busy = loop {
        if let Some(i) = (0..3).find(|&i| workers[i].processed().len() >= 3) {
            break i;
        }
        assert!(Instant::now() < deadline, "no worker processed anything");
        std::thread::sleep(Duration::from_millis(5));
    };
    workers[busy].child.kill().unwrap(); // SIGKILL, three items into an entry of ten
    join_and_check(&server, &name, workers);
    server.cli(&["DEL", &format!("{{{name}}}:stream")]);
}

#[test]
fn redis_restarted_while_workers_run_loses_nothing_it_kept() {
    // appendonly with fsync always: every write Redis acknowledged survives its restart.
    let args = ["--appendonly", "yes", "--appendfsync", "always"];
    let Some(mut server) = own_redis("restart", &args) else {
        return;
    };
    let name = prefix("restart");
    put_items(&server.url, &name, None);
    let workers: Vec<Worker> = (0..3).map(|_| spawn_worker(&server.url, &name)).collect();
    workers[1].wait_processed(3);
    let done: usize = workers.iter().map(|w| w.processed().len()).sum();
    assert!(done < ITEMS as usize, "Redis stops while items remain");
    server.stop();
    std::thread::sleep(Duration::from_millis(300));
    server.start();
    join_and_check(&server, &name, workers);
}
