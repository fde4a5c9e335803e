//! Reaping: no zombie is left whatever happens to the `Process` handles and their waits, and
//! other code's children are left to their owners.

use asyncio::subprocess::NO_ARGS;
use asyncio::{create_subprocess_exec, create_task, sleep};
use std::time::{Duration, Instant};

/// Whether `pid` is a zombie child of this process.
fn is_our_zombie(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false; // gone: reaped
    };
    // "pid (comm) S ppid ...": comm may hold spaces, so split after the last ')'.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let mut fields = rest.split(' ');
    let state = fields.next().unwrap();
    let ppid: u32 = fields.next().unwrap().parse().unwrap();
    state == "Z" && ppid == std::process::id()
}

/// Whether `pid` still runs as a child of this process (not a zombie).
fn is_our_live_child(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let mut fields = rest.split(' ');
    let state = fields.next().unwrap();
    let ppid: u32 = fields.next().unwrap().parse().unwrap();
    state != "Z" && ppid == std::process::id()
}

#[asyncio::test]
async fn two_thousand_children_no_zombies() {
    let started = Instant::now();
    let mut pids = Vec::new();
    let mut kept = Vec::new();
    for i in 0..2000 {
        let proc = create_subprocess_exec("true", NO_ARGS).await.unwrap();
        pids.push(proc.pid());
        if i % 2 == 0 {
            drop(proc); // half the handles dropped at once
        } else {
            kept.push(proc);
        }
        if i % 64 == 0 {
            sleep(0).await; // let the reapers run now and then, as a real program would
        }
    }
    // Waits cancelled on the rest.
    let kept: Vec<_> = kept.into_iter().map(std::rc::Rc::new).collect();
    let waits: Vec<_> = kept
        .iter()
        .map(|p| {
            let p = p.clone();
            create_task(async move { p.wait().await })
        })
        .collect();
    sleep(0).await;
    for w in &waits {
        w.cancel();
    }
    sleep(1.0).await;
    let zombies: Vec<u32> = pids.iter().copied().filter(|p| is_our_zombie(*p)).collect();
    assert!(zombies.is_empty(), "zombies a second later: {zombies:?}");
    // A wait after a cancelled wait still gives the status.
    for p in &kept {
        assert_eq!(p.wait().await, 0);
    }
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "took {:?}",
        started.elapsed()
    );
}

#[asyncio::test]
async fn wait_after_cancelled_wait() {
    let proc = std::rc::Rc::new(create_subprocess_exec("sleep", ["0.1"]).await.unwrap());
    let p = proc.clone();
    let waiter = create_task(async move { p.wait().await });
    sleep(0.01).await;
    assert!(waiter.cancel());
    assert!(waiter.await.unwrap_err().is_cancelled());
    assert_eq!(proc.returncode(), None);
    assert_eq!(proc.wait().await, 0);
    // Two waits at once both get it.
    let again = create_subprocess_exec("sleep", ["0.05"]).await.unwrap();
    let again = std::rc::Rc::new(again);
    let (a, b) = (again.clone(), again.clone());
    let t1 = create_task(async move { a.wait().await });
    let t2 = create_task(async move { b.wait().await });
    assert_eq!(t1.await.unwrap(), 0);
    assert_eq!(t2.await.unwrap(), 0);
}

#[asyncio::test]
async fn other_threads_children_are_theirs() {
    // Our children exit all the time while another thread runs std's Command::status(): if we
    // reaped with waitpid(-1), its status() would fail with ECHILD or get a wrong code.
    let other = std::thread::spawn(|| {
        (0..30)
            .map(|_| {
                std::process::Command::new("sh")
                    .args(["-c", "exit 3"])
                    .status()
                    .map(|s| s.code())
            })
            .collect::<Vec<_>>()
    });
    let mut ours = Vec::new();
    while !other.is_finished() {
        ours.push(create_subprocess_exec("true", NO_ARGS).await.unwrap());
        sleep(0.001).await;
    }
    for status in other.join().unwrap() {
        assert_eq!(status.unwrap(), Some(3));
    }
    for p in ours {
        assert_eq!(p.wait().await, 0);
    }
}

#[asyncio::test]
async fn kill_on_drop_kills_and_reaps() {
    let proc = create_subprocess_exec("sleep", ["30"])
        .kill_on_drop(true)
        .await
        .unwrap();
    let pid = proc.pid();
    assert!(is_our_live_child(pid));
    drop(proc);
    let deadline = Instant::now() + Duration::from_secs(5);
    while is_our_live_child(pid) || is_our_zombie(pid) {
        assert!(Instant::now() < deadline, "child {pid} still there");
        sleep(0.01).await;
    }
}

#[asyncio::test]
async fn dropped_handle_leaves_the_child_running_then_reaps_it() {
    let proc = create_subprocess_exec("sleep", ["0.5"]).await.unwrap();
    let pid = proc.pid();
    drop(proc);
    sleep(0.05).await;
    assert!(is_our_live_child(pid), "not killed: kill_on_drop is off");
    let deadline = Instant::now() + Duration::from_secs(5);
    while is_our_live_child(pid) || is_our_zombie(pid) {
        assert!(Instant::now() < deadline, "child {pid} still there");
        sleep(0.01).await;
    }
}

#[test]
fn child_outliving_its_loop_is_reaped() {
    let pid = asyncio::run(async {
        let proc = create_subprocess_exec("sleep", ["0.2"]).await.unwrap();
        proc.pid()
    });
    // The loop is closed; a thread took the child over.
    let deadline = Instant::now() + Duration::from_secs(5);
    while is_our_live_child(pid) || is_our_zombie(pid) {
        assert!(Instant::now() < deadline, "child {pid} still there");
        std::thread::sleep(Duration::from_millis(10));
    }
}
