//! `asyncio-ps PID` and `asyncio-ps --tree PID`: the tasks of a live process that runs the
//! `asyncio` crate, as Python's `python -m asyncio ps PID` and `pstree PID` show a Python
//! process's.
//!
//! The process must opt in: debug mode (`ASYNCIO_DEBUG=1`, `Runner::debug(true)`) or
//! `asyncio::introspection::serve()` opens the Unix socket this reads,
//! `$XDG_RUNTIME_DIR/asyncio-PID.sock` (or `/tmp/asyncio-PID.sock`).

mod render;
mod snapshot;

use std::io::{ErrorKind, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

const USAGE: &str = "usage: asyncio-ps [--tree] PID\n\n\
    Shows the tasks of a running process that uses the asyncio crate: a table (like\n\
    `python -m asyncio ps`), or with --tree the await tree (like `python -m asyncio pstree`).\n\
    The process opts in with debug mode (ASYNCIO_DEBUG=1) or asyncio::introspection::serve().";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut tree = false;
    let mut pid = None;
    for arg in &args {
        match arg.as_str() {
            "--tree" | "-t" => tree = true,
            "--help" | "-h" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            other => match other.parse::<u32>() {
                Ok(n) if pid.is_none() && n > 0 => pid = Some(n),
                _ => return usage_error(&format!("unexpected argument {other:?}")),
            },
        }
    }
    let Some(pid) = pid else {
        return usage_error("a PID is needed");
    };
    match ask(pid) {
        Ok(snapshot) => {
            let text = if tree {
                render::tree(&snapshot)
            } else {
                render::table(&snapshot)
            };
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("asyncio-ps: {message}");
            ExitCode::FAILURE
        }
    }
}

fn usage_error(message: &str) -> ExitCode {
    eprintln!("asyncio-ps: {message}\n\n{USAGE}");
    ExitCode::from(2)
}

/// Whether a process with this id exists (one of another user's counts).
fn process_exists(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: signal 0 only checks that the process exists and may be signalled.
    let alive = unsafe { libc::kill(pid, 0) } == 0;
    alive || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Where the process may have put its socket: under its runtime directory, which is ours too
/// when it is our user's, or under /tmp.
fn candidates(pid: u32) -> Vec<PathBuf> {
    let name = format!("asyncio-{pid}.sock");
    let mut dirs = Vec::new();
    if let Some(dir) = std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        dirs.push(PathBuf::from(dir));
    }
    dirs.push(PathBuf::from("/tmp"));
    dirs.into_iter().map(|d| d.join(&name)).collect()
}

fn not_serving(pid: u32) -> String {
    format!(
        "process {pid} does not serve asyncio-ps (no socket {}); it opts in with debug mode \
         (ASYNCIO_DEBUG=1, Runner::debug(true)) or asyncio::introspection::serve()",
        candidates(pid)[0].display()
    )
}

fn ask(pid: u32) -> Result<snapshot::Snapshot, String> {
    if !process_exists(pid) {
        return Err(format!("no process with pid {pid}"));
    }
    let Some(path) = candidates(pid).into_iter().find(|p| p.exists()) else {
        return Err(not_serving(pid));
    };
    let mut stream = match UnixStream::connect(&path) {
        Ok(stream) => stream,
        Err(e) if e.kind() == ErrorKind::PermissionDenied => {
            return Err(format!(
                "{}: permission denied (the socket is its user's only)",
                path.display()
            ))
        }
        // A socket left by an earlier process with this pid, or one closing.
        Err(e) if e.kind() == ErrorKind::ConnectionRefused => return Err(not_serving(pid)),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let timeout = Some(Duration::from_secs(5));
    let io = |e: std::io::Error| format!("{}: {e}", path.display());
    stream.set_read_timeout(timeout).map_err(io)?;
    stream.set_write_timeout(timeout).map_err(io)?;
    stream.write_all(b"ps\n").map_err(io)?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).map_err(io)?;
    snapshot::parse(&answer)
}
