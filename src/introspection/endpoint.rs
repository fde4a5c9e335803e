//! The endpoint: the loops that answer, the socket, and the helper thread that serves it.

use super::snapshot;
use crate::LoopHandle;
use crate::runtime::core::Core;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How long a loop has to answer: one stuck in a step is reported as silent after it.
const ANSWER_WITHIN: Duration = Duration::from_secs(1);

/// `serve` was called: every loop made from now on answers too.
static SERVE_ALL: AtomicBool = AtomicBool::new(false);

static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    loops: Vec::new(),
    server: None,
});

struct Registry {
    /// Each loop that answers: its id, a handle, and its thread (`snapshot::thread_label`).
    loops: Vec<(usize, LoopHandle, String)>,
    server: Option<Server>,
}

struct Server {
    path: PathBuf,
    stop: Arc<AtomicBool>,
}

fn registry() -> MutexGuard<'static, Registry> {
    // A panic while it was held left it consistent: every change is one push or remove.
    REGISTRY.lock().unwrap_or_else(|e| e.into_inner())
}

/// The socket a process with id `pid` answers `asyncio-ps` on:
/// `$XDG_RUNTIME_DIR/asyncio-PID.sock`, or `/tmp/asyncio-PID.sock` without that variable.
///
/// # Examples
/// ```
/// let path = asyncio::introspection::socket_path(4242);
/// assert!(path.ends_with("asyncio-4242.sock"));
/// ```
pub fn socket_path(pid: u32) -> PathBuf {
    let dir = std::env::var_os("XDG_RUNTIME_DIR")
        .filter(|d| !d.is_empty())
        .map_or_else(|| PathBuf::from("/tmp"), PathBuf::from);
    dir.join(format!("asyncio-{pid}.sock"))
}

/// Opts this process in to `asyncio-ps`: the running loop, if any, answers from now on, and so
/// does every loop made after this call. Debug mode does the same for its loop. Returns the
/// socket's path ([`socket_path`] of this process).
///
/// The socket is made (mode 0600) when the first loop starts answering, and removed when the
/// last one ends.
///
/// # Errors
/// Inside a running loop, when the socket cannot be made (its directory is not writable, say).
/// A loop made later that cannot make it logs a warning and runs on.
///
/// # Examples
/// ```
/// asyncio::run(async {
///     let path = asyncio::introspection::serve().unwrap();
///     assert!(path.exists());
/// });
/// ```
pub fn serve() -> std::io::Result<PathBuf> {
    SERVE_ALL.store(true, Ordering::Relaxed);
    match crate::runtime::context::current_core() {
        Some(core) => register(&core),
        None => Ok(socket_path(std::process::id())),
    }
}

pub(crate) fn serving_all() -> bool {
    SERVE_ALL.load(Ordering::Relaxed)
}

/// `core`'s loop answers from now on (debug mode, or a loop made after `serve`).
pub(crate) fn join(core: &Rc<Core>) {
    if cfg!(miri) {
        return;
    }
    if let Err(e) = register(core) {
        log::warn!(
            "asyncio-ps: cannot open {}: {e}",
            socket_path(std::process::id()).display()
        );
    }
}

fn register(core: &Rc<Core>) -> std::io::Result<PathBuf> {
    if cfg!(miri) {
        // Miri runs no sockets; the task-core suites it checks include debug mode.
        return Err(std::io::ErrorKind::Unsupported.into());
    }
    let path = socket_path(std::process::id());
    let mut registry = registry();
    if registry.server.is_none() {
        registry.server = Some(start(path.clone())?);
    }
    if core.debug.set_served() {
        let handle = LoopHandle {
            shared: core.shared.clone(),
        };
        let thread = snapshot::escape(&snapshot::thread_label());
        registry.loops.push((core.shared.id, handle, thread));
    }
    Ok(path)
}

/// The loop `loop_id` ends: the last one to go closes the socket and removes its file.
pub(crate) fn leave(loop_id: usize) {
    let mut registry = registry();
    registry.loops.retain(|(id, _, _)| *id != loop_id);
    if !registry.loops.is_empty() {
        return;
    }
    if let Some(server) = registry.server.take() {
        server.stop.store(true, Ordering::Relaxed);
        // Wakes the helper thread's `accept`, so that it sees the flag and ends.
        drop(UnixStream::connect(&server.path));
        let _ = std::fs::remove_file(&server.path);
    }
}

/// Binds the socket, 0600 before it listens (so no one else can connect in between), and
/// starts the helper thread.
fn start(path: PathBuf) -> std::io::Result<Server> {
    // A file left by a process that had this pid before and did not end cleanly.
    if std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_socket()) {
        std::fs::remove_file(&path)?;
    }
    let socket = socket2::Socket::new(socket2::Domain::UNIX, socket2::Type::STREAM, None)?;
    socket.bind(&socket2::SockAddr::unix(&path)?)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    socket.listen(16)?;
    let listener: UnixListener = socket.into();
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    std::thread::Builder::new()
        .name("asyncio-ps".to_owned())
        .spawn(move || accept_loop(listener, flag))?;
    Ok(Server { path, stop })
}

fn accept_loop(listener: UnixListener, stop: Arc<AtomicBool>) {
    for stream in listener.incoming() {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        if let Ok(stream) = stream {
            if let Err(e) = answer(stream) {
                log::debug!("asyncio-ps: a client went away: {e}");
            }
        }
    }
}

/// Reads the request line and writes every loop's snapshot.
fn answer(stream: UnixStream) -> std::io::Result<()> {
    stream.set_read_timeout(Some(ANSWER_WITHIN))?;
    stream.set_write_timeout(Some(ANSWER_WITHIN))?;
    let mut request = String::new();
    BufReader::new(&stream).read_line(&mut request)?;
    let mut out = String::from("asyncio-ps 1\n");
    if request.trim_end() == "ps" {
        out.push_str(&snapshots());
    } else {
        out.push_str("error\tunknown request\n");
    }
    out.push_str("end\n");
    (&stream).write_all(out.as_bytes())
}

/// Asks every loop at once, then gathers the answers that come within `ANSWER_WITHIN`.
fn snapshots() -> String {
    let loops = registry().loops.clone();
    let asked: Vec<_> = loops
        .into_iter()
        .map(|(id, handle, thread)| {
            let (tx, rx) = mpsc::channel();
            let sent = handle.call_soon_threadsafe(move || {
                let text = crate::runtime::context::with_core(snapshot::of_loop);
                let _ = tx.send(text.unwrap_or_default());
            });
            (id, thread, sent.is_ok().then_some(rx))
        })
        .collect();
    let deadline = Instant::now() + ANSWER_WITHIN;
    let mut out = String::new();
    for (id, thread, rx) in asked {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.map(|rx| rx.recv_timeout(left)) {
            Some(Ok(text)) => out.push_str(&text),
            // Closed meanwhile: it has no tasks to show.
            None | Some(Err(mpsc::RecvTimeoutError::Disconnected)) => {}
            Some(Err(mpsc::RecvTimeoutError::Timeout)) => {
                out.push_str(&format!("silent\t{id}\t{thread}\n"));
            }
        }
    }
    out
}
