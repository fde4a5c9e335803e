//! A Redis for the tests: `ASYNCIO_REDIS_URL` when set; otherwise a `redis-server` of our own
//! on a free loopback port, in a temp dir, killed when dropped. Without `redis-server` the
//! tests print SKIPPED (naming Debian's package), and fail instead when
//! `ASYNCIO_REQUIRE_REDIS=1`.
#![allow(dead_code)]

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Redis {
    pub url: String,
    pub port: u16,
    pub dir: Option<PathBuf>,
    args: Vec<String>,
    child: Option<Child>,
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.stop();
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

fn installed() -> bool {
    Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok()
}

fn skip(test: &str) -> Option<Redis> {
    if std::env::var("ASYNCIO_REQUIRE_REDIS").as_deref() == Ok("1") {
        panic!(
            "{test}: redis-server is not installed (apt-get install -y redis-server) and ASYNCIO_REQUIRE_REDIS=1"
        );
    }
    eprintln!("SKIPPED {test}: redis-server is not installed (apt-get install -y redis-server)");
    None
}

/// The shared Redis for a test: the environment's, or one of our own.
pub fn redis(test: &str) -> Option<Redis> {
    if let Ok(url) = std::env::var("ASYNCIO_REDIS_URL") {
        return Some(Redis {
            url,
            port: 0,
            dir: None,
            args: Vec::new(),
            child: None,
        });
    }
    own_redis(test, &[])
}

/// A `redis-server` of our own, with extra arguments (`--requirepass`, `--appendonly`).
pub fn own_redis(test: &str, extra: &[&str]) -> Option<Redis> {
    if !installed() {
        return skip(test);
    }
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = std::env::temp_dir().join(format!("asyncio-redis-{}-{port}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut args: Vec<String> = [
        "--port",
        &port.to_string(),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(["--dir".to_owned(), dir.display().to_string()]);
    args.extend(extra.iter().map(|s| s.to_string()));
    let mut redis = Redis {
        url: format!("redis://127.0.0.1:{port}"),
        port,
        dir: Some(dir),
        args,
        child: None,
    };
    redis.start();
    Some(redis)
}

impl Redis {
    /// Whether this test owns the server (and so may restart it, or give it a password).
    pub fn owned(&self) -> bool {
        self.dir.is_some()
    }

    pub fn start(&mut self) {
        let child = Command::new("redis-server")
            .args(&self.args)
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not listen");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Stops the server as a shutdown does (`SIGTERM`: it writes its AOF and exits).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SAFETY: kill(2) on the pid of a child we spawned and have not reaped.
            unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
            let _ = child.wait();
        }
    }

    /// Runs `redis-cli` against the server; its output.
    pub fn cli(&self, args: &[&str]) -> String {
        let out = Command::new("redis-cli")
            .arg("-u")
            .arg(&self.url)
            .args(args)
            .output()
            .expect("redis-cli runs");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }
}

/// A key prefix of the test's own, unique across runs on a shared server.
pub fn prefix(test: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("test-{test}-{}-{nanos:x}", std::process::id())
}
