//! Accept under EMFILE: in a child process with a low RLIMIT_NOFILE, the server keeps its
//! connections, does not spin while at the limit, and serves again once fds are freed.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

const CHILD_ENV: &str = "ASYNCIO_EMFILE_CHILD";

/// The child: an echo-lines server with few fds to spare. Does nothing in a normal run.
#[test]
fn emfile_child() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    let open = std::fs::read_dir("/proc/self/fd").unwrap().count() as u64;
    let limit = libc::rlimit {
        rlim_cur: open + 24,
        rlim_max: open + 24,
    };
    // SAFETY: setrlimit reads the struct we pass; no memory is shared with it afterwards.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) }, 0);
    asyncio::run(async {
        let server = asyncio::start_server(
            |mut r: asyncio::StreamReader, w: asyncio::StreamWriter| async move {
                while let Ok(Some(line)) = r.next_line().await {
                    w.write(&line);
                    if w.drain().await.is_err() {
                        break;
                    }
                }
            },
            "127.0.0.1",
            0,
        )
        .backlog(512)
        .await
        .unwrap();
        println!("PORT {}", server.sockets()[0].as_inet().unwrap().port());
        server.serve_forever().await.unwrap();
    });
}

fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after_name = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after the name.
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

fn echoes(s: &mut TcpStream, timeout: Duration) -> bool {
    s.set_read_timeout(Some(timeout)).unwrap();
    let mut buf = [0u8; 3];
    s.read_exact(&mut buf).is_ok() && &buf == b"hi\n"
}

#[test]
fn accept_pauses_at_the_fd_limit_and_resumes() {
    if !std::path::Path::new("/proc/self/stat").exists() {
        eprintln!("skipped: no /proc");
        return;
    }
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["emfile_child", "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let port: u16 = loop {
        let line = lines.next().expect("child exited").unwrap();
        if let Some(p) = line.split("PORT ").nth(1) {
            break p.trim().parse().unwrap();
        }
    };

    let mut conns: Vec<TcpStream> = (0..60)
        .map(|_| TcpStream::connect(("127.0.0.1", port)).unwrap())
        .collect();
    for c in &mut conns {
        c.write_all(b"hi\n").unwrap();
    }
    // Accepted in order: the first ones are served, then the server is out of fds.
    let mut served = 0;
    while served < conns.len() && echoes(&mut conns[served], Duration::from_secs(3)) {
        served += 1;
    }
    assert!(served > 0, "nothing served");
    assert!(served < conns.len(), "the fd limit was never reached");

    // At the limit, the server waits rather than spins.
    let before = cpu_ticks(pid);
    std::thread::sleep(Duration::from_secs(1));
    let spent = cpu_ticks(pid) - before;
    assert!(
        spent < 50,
        "the server used {spent} ticks in 1 s at the fd limit"
    );

    // The connections it holds still work.
    conns[0].write_all(b"hi\n").unwrap();
    assert!(echoes(&mut conns[0], Duration::from_secs(3)));

    // Free fds: the waiting connections get served (after asyncio's 1 s retry delay).
    let waiting = conns.split_off(served);
    drop(conns);
    let mut waiting = waiting;
    assert!(echoes(&mut waiting[0], Duration::from_secs(10)));
    if waiting.len() > 1 {
        assert!(echoes(&mut waiting[1], Duration::from_secs(10)));
    }
    child.kill().unwrap();
    child.wait().unwrap();
}
