//! The subprocess protocol form against real children (`cat`, `sh -c`): data, the order of
//! the callbacks (asyncio's `base_subprocess`), signals, `close`, a panicking callback.

use asyncio::subprocess::{NO_ARGS, SubprocessProtocol, SubprocessTransport};
use asyncio::{Event, get_running_loop, wait_for};
use std::cell::RefCell;
use std::rc::Rc;

#[derive(Clone, Default)]
struct Log(Rc<RefCell<Vec<String>>>);

impl Log {
    fn push(&self, s: String) {
        self.0.borrow_mut().push(s);
    }
    fn get(&self) -> Vec<String> {
        self.0.borrow().clone()
    }
}

struct Recorder {
    log: Log,
    done: Event,
    panic_on_data: bool,
}

impl SubprocessProtocol for Recorder {
    fn connection_made(&mut self, t: SubprocessTransport) {
        assert!(t.get_pid() > 0);
        self.log.push("made".into());
    }
    fn pipe_data_received(&mut self, fd: i32, data: &[u8]) {
        self.log
            .push(format!("data {fd} {}", String::from_utf8_lossy(data)));
        assert!(!self.panic_on_data, "a panicking pipe_data_received");
    }
    fn pipe_connection_lost(&mut self, fd: i32, exc: Option<std::io::Error>) {
        self.log
            .push(format!("pipe lost {fd} {:?}", exc.map(|e| e.kind())));
    }
    fn process_exited(&mut self) {
        self.log.push("exited".into());
    }
    fn connection_lost(&mut self, exc: Option<std::io::Error>) {
        self.log.push(format!("lost {:?}", exc.map(|e| e.kind())));
        self.done.set();
    }
}

fn recorder(log: &Log, done: &Event) -> Recorder {
    Recorder {
        log: log.clone(),
        done: done.clone(),
        panic_on_data: false,
    }
}

/// asyncio's guarantees: `made` first and `lost` last, once each; `exited` once; each pipe
/// lost once, after its data.
fn check_order(log: &[String], pipes: &[i32]) {
    assert_eq!(log.first().map(String::as_str), Some("made"), "{log:?}");
    assert_eq!(log.last().map(String::as_str), Some("lost None"), "{log:?}");
    assert_eq!(log.iter().filter(|e| *e == "exited").count(), 1, "{log:?}");
    assert_eq!(log.iter().filter(|e| e.starts_with("lost")).count(), 1);
    for fd in pipes {
        let lost = format!("pipe lost {fd} ");
        let at = log.iter().position(|e| e.starts_with(&lost));
        let at = at.unwrap_or_else(|| panic!("pipe {fd} lost: {log:?}"));
        let data = format!("data {fd} ");
        assert!(log[at..].iter().all(|e| !e.starts_with(&data)), "{log:?}");
    }
}

#[asyncio::test]
async fn cat_echoes_stdin_and_the_callbacks_come_in_asyncio_order() {
    let (log, done) = (Log::default(), Event::new());
    let proto = recorder(&log, &done);
    let lp = get_running_loop();
    let (t, _p) = lp
        .subprocess_exec(move || proto, "cat", NO_ARGS)
        .await
        .unwrap();
    let stdin = t.stdin().unwrap();
    stdin.write(b"hello");
    stdin.close();
    wait_for(done.wait(), 10.0).await.unwrap();
    let log = log.get();
    check_order(&log, &[0, 1, 2]);
    assert!(log.contains(&"data 1 hello".to_owned()), "{log:?}");
    assert!(log.contains(&"pipe lost 0 None".to_owned()), "{log:?}");
    assert_eq!(t.get_returncode(), Some(0));
    assert!(t.stdin().is_none(), "stdin is closed");
}

#[asyncio::test]
async fn a_shell_child_writes_both_pipes_and_exits_with_its_code() {
    let (log, done) = (Log::default(), Event::new());
    let proto = recorder(&log, &done);
    let lp = get_running_loop();
    let (t, _p) = lp
        .subprocess_shell(move || proto, "echo out; echo err >&2; exit 3")
        .await
        .unwrap();
    wait_for(done.wait(), 10.0).await.unwrap();
    let log = log.get();
    check_order(&log, &[0, 1, 2]);
    assert!(log.contains(&"data 1 out\n".to_owned()), "{log:?}");
    assert!(log.contains(&"data 2 err\n".to_owned()), "{log:?}");
    assert_eq!(t.get_returncode(), Some(3));
    assert!(t.kill().is_err(), "a reaped child cannot be signalled");
}

#[asyncio::test]
async fn kill_terminate_and_close_end_a_running_child() {
    let lp = get_running_loop();
    for (how, code) in [("kill", -9), ("terminate", -15), ("close", -9)] {
        let (log, done) = (Log::default(), Event::new());
        let proto = recorder(&log, &done);
        let (t, _p) = lp
            .subprocess_shell(move || proto, "exec sleep 30")
            .await
            .unwrap();
        match how {
            "kill" => t.kill().unwrap(),
            "terminate" => t.terminate().unwrap(),
            _ => t.close(),
        }
        wait_for(done.wait(), 10.0).await.unwrap();
        check_order(&log.get(), &[0, 1, 2]);
        assert_eq!(t.get_returncode(), Some(code), "{how}");
    }
}

#[asyncio::test]
async fn a_panicking_callback_is_logged_and_the_others_still_come() {
    let (log, done) = (Log::default(), Event::new());
    let mut proto = recorder(&log, &done);
    proto.panic_on_data = true;
    let lp = get_running_loop();
    let (t, _p) = lp
        .subprocess_shell(move || proto, "echo one")
        .command(|c| c.stdin(asyncio::subprocess::DEVNULL))
        .await
        .unwrap();
    assert!(t.stdin().is_none());
    wait_for(done.wait(), 10.0).await.unwrap();
    let log = log.get();
    check_order(&log, &[1, 2]);
    assert!(log.contains(&"data 1 one\n".to_owned()));
    assert_eq!(t.get_returncode(), Some(0));
}

#[asyncio::test]
async fn a_missing_program_fails_to_start_and_no_callback_runs() {
    let (log, done) = (Log::default(), Event::new());
    let proto = recorder(&log, &done);
    let lp = get_running_loop();
    let started = lp
        .subprocess_exec(move || proto, "/no/such/program", NO_ARGS)
        .await;
    let err = started.err().expect("no such program");
    assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    assert!(log.get().is_empty());
}

/// The same child under CPython's `loop.subprocess_shell`: the same callbacks (their order
/// between pipes varies from run to run, there as here) and the same return code.
#[asyncio::test]
async fn the_callbacks_are_cpythons() {
    let python = std::process::Command::new("python3")
        .arg("-c")
        .arg(
            r#"
import asyncio
class P(asyncio.SubprocessProtocol):
    def __init__(s, done): s.done = done; s.log = []
    def connection_made(s, t): s.log.append("made")
    def pipe_data_received(s, fd, d): s.log.append(f"data {fd} {d.decode()}")
    def pipe_connection_lost(s, fd, e): s.log.append(f"pipe lost {fd} {e!r}")
    def process_exited(s): s.log.append("exited")
    def connection_lost(s, e): s.log.append(f"lost {e!r}"); s.done.set_result(None)
async def main():
    loop = asyncio.get_running_loop(); done = loop.create_future()
    t, p = await loop.subprocess_shell(lambda: P(done), "echo out; echo err >&2; exit 3")
    await done
    print("\0".join(p.log + [str(t.get_returncode())]), end="")
asyncio.run(main())
"#,
        )
        .output();
    let Some(out) = python.ok().filter(|o| o.status.success()) else {
        eprintln!("skipped: no python3");
        return;
    };
    let mut theirs: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .split('\0')
        .map(str::to_owned)
        .collect();
    let code: i32 = theirs.pop().unwrap().parse().unwrap();
    check_order(&theirs, &[0, 1, 2]);
    let (log, done) = (Log::default(), Event::new());
    let proto = recorder(&log, &done);
    let lp = get_running_loop();
    let (t, _p) = lp
        .subprocess_shell(move || proto, "echo out; echo err >&2; exit 3")
        .await
        .unwrap();
    wait_for(done.wait(), 10.0).await.unwrap();
    let mut ours = log.get();
    assert_eq!(t.get_returncode(), Some(code));
    ours.sort();
    theirs.sort();
    assert_eq!(ours, theirs);
}
