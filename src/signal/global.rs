//! The process-wide half of signal handling: the `sigaction` handlers, the self-pipe, and the
//! thread that forwards each signal to the loops that asked for it.
//!
//! # Design
//! A signal handler may do almost nothing: ours sets the signal's pending flag and writes one
//! byte to a self-pipe (both async-signal-safe). A dispatcher thread, started with the first
//! registration, blocks reading that pipe and sends "signal N arrived" to every loop registered
//! for N through `call_soon_threadsafe`; the loop then runs its callbacks on its own thread
//! (asyncio does the same with `signal.set_wakeup_fd` and its self-pipe).
//!
//! Registrations are counted per (signal, loop). The first one for a signal installs our
//! handler and saves the previous disposition; the last one removed restores it, so Ctrl-C
//! kills the process again once nobody listens (asyncio's `remove_signal_handler` restores the
//! default too).

use crate::runtime::LoopHandle;
use std::collections::HashMap;
use std::collections::hash_map::Entry::{Occupied, Vacant};
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Mutex, OnceLock};

/// Signals are 1..NSIG; 65 covers Linux's real-time signals.
const NSIG: usize = 65;

static PENDING: [AtomicBool; NSIG] = [const { AtomicBool::new(false) }; NSIG];
/// The write end of the self-pipe (non-blocking), or -1 before the dispatcher starts.
static WAKE_FD: AtomicI32 = AtomicI32::new(-1);

struct SigEntry {
    /// The disposition before ours, restored when the last registration goes.
    saved: libc::sigaction,
    /// (loop id, loop, registrations)
    loops: Vec<(usize, LoopHandle, usize)>,
}

// SAFETY: `libc::sigaction` is plain data (a handler address, flags, a mask); it is only
// passed back to `sigaction(2)`.
unsafe impl Send for SigEntry {}

fn registry() -> &'static Mutex<HashMap<i32, SigEntry>> {
    static REGISTRY: OnceLock<Mutex<HashMap<i32, SigEntry>>> = OnceLock::new();
    REGISTRY.get_or_init(|| Mutex::new(HashMap::new()))
}

/// Checks that `sig` is a signal a handler can be installed for.
///
/// # Errors
/// `InvalidInput` for a number that is not a signal, or for `SIGKILL` / `SIGSTOP`.
pub(crate) fn check(sig: i32) -> io::Result<()> {
    if sig <= 0 || sig as usize >= NSIG {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("sig {sig} out of range(1, {NSIG})"),
        ));
    }
    if sig == libc::SIGKILL || sig == libc::SIGSTOP {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("sig {sig} cannot be caught"),
        ));
    }
    Ok(())
}

/// Adds one registration of `lp` for `sig`, installing our handler if it is the first.
///
/// # Errors
/// As [`check`]; what `sigaction` or starting the dispatcher report.
pub(crate) fn acquire(sig: i32, lp: &LoopHandle) -> io::Result<()> {
    check(sig)?;
    start_dispatcher()?;
    let mut reg = registry().lock().unwrap_or_else(|e| e.into_inner());
    let entry = match reg.entry(sig) {
        Occupied(o) => o.into_mut(),
        Vacant(v) => v.insert(SigEntry {
            saved: install(sig)?,
            loops: Vec::new(),
        }),
    };
    let id = lp.shared.id;
    match entry.loops.iter_mut().find(|(l, _, _)| *l == id) {
        Some((_, _, n)) => *n += 1,
        None => entry.loops.push((id, lp.clone(), 1)),
    }
    Ok(())
}

/// Removes one registration of loop `id` for `sig`; the last one restores the disposition.
pub(crate) fn release(sig: i32, id: usize) {
    let mut reg = registry().lock().unwrap_or_else(|e| e.into_inner());
    let Some(entry) = reg.get_mut(&sig) else {
        return;
    };
    if let Some(i) = entry.loops.iter().position(|(l, _, _)| *l == id) {
        entry.loops[i].2 -= 1;
        if entry.loops[i].2 == 0 {
            entry.loops.swap_remove(i);
        }
    }
    if entry.loops.is_empty() {
        let entry = reg.remove(&sig).expect("found above");
        // SAFETY: restores a disposition that sigaction itself gave us.
        unsafe { libc::sigaction(sig, &entry.saved, std::ptr::null_mut()) };
    }
}

/// Whether our handler is installed for `sig`.
pub(crate) fn is_ours(sig: i32) -> bool {
    registry()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .contains_key(&sig)
}

/// Whether `sig` has its default disposition now.
pub(crate) fn is_default(sig: i32) -> bool {
    // SAFETY: a query: a null new action changes nothing; `old` is written.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        libc::sigaction(sig, std::ptr::null(), &mut old) == 0 && old.sa_sigaction == libc::SIG_DFL
    }
}

fn install(sig: i32) -> io::Result<libc::sigaction> {
    // SAFETY: installs `on_signal`, which only stores to atomics and calls write(2), both
    // async-signal-safe; the structs are zeroed plain data, then filled.
    unsafe {
        let mut new: libc::sigaction = std::mem::zeroed();
        new.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
        new.sa_flags = libc::SA_RESTART;
        libc::sigemptyset(&mut new.sa_mask);
        let mut old: libc::sigaction = std::mem::zeroed();
        if libc::sigaction(sig, &new, &mut old) != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(old)
    }
}

extern "C" fn on_signal(sig: libc::c_int) {
    let errno = errno::get();
    if let Some(flag) = PENDING.get(sig as usize) {
        flag.store(true, Ordering::SeqCst);
    }
    let fd = WAKE_FD.load(Ordering::SeqCst);
    if fd >= 0 {
        let byte = 0u8;
        // SAFETY: write(2) is async-signal-safe; a full pipe (EAGAIN) is fine: a wake-up is
        // already pending then.
        unsafe { libc::write(fd, (&byte as *const u8).cast(), 1) };
    }
    errno::set(errno);
}

/// Saving errno around the handler, so the interrupted code does not see ours.
mod errno {
    #[cfg(target_os = "linux")]
    fn location() -> *mut libc::c_int {
        // SAFETY: returns this thread's errno slot; always valid.
        unsafe { libc::__errno_location() }
    }

    #[cfg(any(target_os = "macos", target_os = "ios", target_os = "freebsd"))]
    fn location() -> *mut libc::c_int {
        // SAFETY: returns this thread's errno slot; always valid.
        unsafe { libc::__error() }
    }

    #[cfg(not(any(
        target_os = "linux",
        target_os = "macos",
        target_os = "ios",
        target_os = "freebsd"
    )))]
    fn location() -> *mut libc::c_int {
        std::ptr::null_mut()
    }

    pub(super) fn get() -> libc::c_int {
        let p = location();
        if p.is_null() {
            0
        } else {
            // SAFETY: this thread's errno slot, valid for the thread's life.
            unsafe { *p }
        }
    }

    pub(super) fn set(v: libc::c_int) {
        let p = location();
        if !p.is_null() {
            // SAFETY: as in `get`.
            unsafe { *p = v };
        }
    }
}

fn start_dispatcher() -> io::Result<()> {
    static STARTED: OnceLock<Result<(), String>> = OnceLock::new();
    STARTED
        .get_or_init(|| {
            let (tx, rx) = mio::unix::pipe::new().map_err(|e| e.to_string())?;
            rx.set_nonblocking(false).map_err(|e| e.to_string())?;
            let rx = OwnedFd::from(rx);
            let tx = OwnedFd::from(tx);
            // The write end lives as long as the process: the handler may run at any time.
            WAKE_FD.store(tx.as_raw_fd(), Ordering::SeqCst);
            std::mem::forget(tx);
            std::thread::Builder::new()
                .name("asyncio-signals".into())
                .spawn(move || dispatch(rx))
                .map(drop)
                .map_err(|e| e.to_string())
        })
        .clone()
        .map_err(io::Error::other)
}

/// The dispatcher thread: waits on the self-pipe, forwards pending signals to their loops.
fn dispatch(rx: OwnedFd) {
    let mut rx = std::fs::File::from(rx);
    let mut buf = [0u8; 64];
    loop {
        use std::io::Read;
        match rx.read(&mut buf) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                log::error!("signal self-pipe failed: {e}");
                return;
            }
        }
        for (sig, flag) in PENDING.iter().enumerate() {
            if !flag.swap(false, Ordering::SeqCst) {
                continue;
            }
            let sig = sig as i32;
            if sig == libc::SIGINT {
                super::interrupt::on_sigint_dispatched();
            }
            let loops: Vec<(usize, LoopHandle)> = {
                let reg = registry().lock().unwrap_or_else(|e| e.into_inner());
                reg.get(&sig)
                    .map(|e| e.loops.iter().map(|(id, l, _)| (*id, l.clone())).collect())
                    .unwrap_or_default()
            };
            for (id, lp) in loops {
                // A closed loop is skipped: its registrations go when its guards drop.
                let _ = lp.call_soon_threadsafe(move || super::local::deliver(sig, id));
            }
        }
    }
}
