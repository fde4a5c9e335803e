//! `asyncio-ps` against a live child process: this test binary, run again as the child, with
//! tasks parked on a queue, a lock, a gather in a TaskGroup and a cycle of awaits.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

const CHILD_ENV: &str = "ASYNCIO_PS_CHILD";

/// The child's body: does nothing unless run as the child. Its loop serves `asyncio-ps` in
/// debug mode, prints READY once its tasks wait, and ends when its standard input closes.
#[test]
fn child_process() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    asyncio::Runner::new().debug(true).run(async {
        let queue = asyncio::Queue::<u32>::new(0);
        let _consumer = asyncio::create_task({
            let queue = queue.clone();
            async move { queue.get().await }
        })
        .with_name("consumer");
        let lock = asyncio::Lock::new();
        let _held = lock.acquire().await;
        let _locker = asyncio::create_task({
            let lock = lock.clone();
            async move { drop(lock.acquire().await) }
        })
        .with_name("locker");
        let _group = asyncio::create_task(asyncio::TaskGroup::<()>::run(|tg| async move {
            tg.create_task(async {
                let leaves = vec![
                    asyncio::create_task(asyncio::sleep(3600.0)).with_name("leaf-a"),
                    asyncio::create_task(asyncio::sleep(3600.0)).with_name("leaf-b"),
                ];
                asyncio::gather_tasks(leaves).await;
                Ok(())
            })
            .set_name("worker");
            Ok(())
        }))
        .with_name("group");
        let pong_handle = asyncio::get_running_loop().create_future::<asyncio::Task<()>>();
        let ping = asyncio::create_task({
            let pong_handle = pong_handle.clone();
            async move {
                let pong = pong_handle.await.unwrap();
                let _ = pong.await;
            }
        })
        .with_name("ping");
        let pong = asyncio::create_task({
            let ping = ping.clone();
            async move {
                let _ = ping.await;
            }
        })
        .with_name("pong");
        pong_handle.set_result(pong).unwrap();
        asyncio::sleep(0.05).await;
        println!("READY");
        std::io::stdout().flush().unwrap();
        asyncio::to_thread(|| std::io::stdin().lines().count())
            .await
            .unwrap();
    });
}

fn ps(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_asyncio-ps"))
        .args(args)
        .output()
        .expect("asyncio-ps runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn row<'a>(table: &'a str, name: &str) -> &'a str {
    table
        .lines()
        .find(|l| l.split("  ").any(|cell| cell.trim() == name))
        .unwrap_or_else(|| panic!("no row for {name} in\n{table}"))
}

#[test]
fn ps_shows_a_live_process_as_a_table_and_a_tree() {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_process",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while !line.contains("READY") {
        line.clear();
        assert!(stdout.read_line(&mut line).unwrap() > 0, "the child ended");
    }
    let pid = child.id().to_string();
    let socket = asyncio::introspection::socket_path(child.id());
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&socket).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);

    let (ok, table, err) = ps(&[&pid]);
    assert!(ok, "{err}");
    assert!(table.starts_with("loop thread"), "{table}");
    assert!(row(&table, "consumer").contains("Queue.get"), "{table}");
    assert!(row(&table, "locker").contains("Lock.acquire"), "{table}");
    let worker = row(&table, "worker");
    assert!(
        worker.contains("leaf-a (") && worker.contains("leaf-b ("),
        "{table}"
    );
    let leaf = row(&table, "leaf-a");
    assert!(
        leaf.contains("sleep") && leaf.contains("waiting"),
        "{table}"
    );
    // Debug mode records ages: seconds, not `-`.
    assert!(
        leaf.split_whitespace()
            .any(|c| c.ends_with('s') && c.starts_with("0.")),
        "{leaf}"
    );

    let (ok, tree, err) = ps(&["--tree", &pid]);
    assert!(ok, "{err}");
    let lines: Vec<&str> = tree.lines().collect();
    assert!(
        lines[0].starts_with("loop thread child_process ("),
        "{tree}"
    );
    let at = lines
        .iter()
        .position(|l| l.contains("(T) worker ["))
        .unwrap_or_else(|| panic!("{tree}"));
    let indent = lines[at].find("(T)").unwrap();
    assert!(
        lines[at - 1].contains("(T) group ["),
        "the group awaits its worker:\n{tree}"
    );
    for leaf in &lines[at + 1..at + 3] {
        assert_eq!(leaf.find("(T)"), Some(indent + 4), "{tree}");
        assert!(
            leaf.contains("(T) leaf-") && leaf.contains("awaiting sleep"),
            "{tree}"
        );
    }
    assert!(
        lines
            .iter()
            .any(|l| l.contains("(T) ping [") && l.ends_with("(cycle: awaits a task above)")),
        "{tree}"
    );
    let cycle = lines
        .iter()
        .find(|l| l.starts_with("cycle: "))
        .expect("the cycle is listed");
    assert!(
        cycle.contains("ping [") && cycle.contains("pong ["),
        "{cycle}"
    );

    drop(child.stdin.take());
    assert!(child.wait().unwrap().success());
    assert!(
        !socket.exists(),
        "the socket is removed when the runtime ends"
    );
}

#[test]
fn a_process_that_did_not_opt_in_or_does_not_exist_is_a_clear_error() {
    let (ok, _, err) = ps(&[&std::process::id().to_string()]);
    assert!(!ok);
    assert!(err.contains("does not serve asyncio-ps"), "{err}");
    assert!(err.contains("ASYNCIO_DEBUG=1"), "{err}");

    let mut gone = Command::new("true").spawn().unwrap();
    let pid = gone.id().to_string();
    gone.wait().unwrap();
    let (ok, _, err) = ps(&[&pid]);
    assert!(!ok);
    assert_eq!(err.trim(), format!("asyncio-ps: no process with pid {pid}"));

    let (ok, _, err) = ps(&["--tree"]);
    assert!(!ok);
    assert!(err.contains("usage: asyncio-ps [--tree] PID"), "{err}");
}
