//! `EmbeddedLoop::run` tells its caller when a signal interrupted the loop's wait for I/O: an
//! interpreter that embeds the loop (the Python front) runs its signal handlers then, as
//! Python's `selectors` do on `EINTR`, instead of looking for pending signals after every wait.

use asyncio::embed::EmbeddedLoop;
use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

extern "C" fn ignore(_: libc::c_int) {}

#[test]
fn a_signal_that_interrupts_the_wait_is_reported_to_the_next_turn_only() {
    // SAFETY: the handler does nothing (async-signal-safe), and this test binary has no other
    // use of SIGUSR2. No SA_RESTART: as a Python handler's, the wait fails with EINTR.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = ignore as extern "C" fn(libc::c_int) as libc::sighandler_t;
        libc::sigemptyset(&mut action.sa_mask);
        assert_eq!(
            libc::sigaction(libc::SIGUSR2, &action, std::ptr::null_mut()),
            0
        );
    }
    let lp = EmbeddedLoop::new().unwrap();
    // Nothing to do but a far timer, so each turn waits until a signal comes.
    let gave_up = Rc::new(Cell::new(false));
    let flag = gave_up.clone();
    lp.call_at(lp.handle().time() + 30.0, move || flag.set(true));
    // A signal sent before the loop waits interrupts nothing: keep sending until it is seen.
    // SAFETY: pthread_self has no preconditions.
    let target = unsafe { libc::pthread_self() } as usize;
    let done = Arc::new(AtomicBool::new(false));
    let stop = done.clone();
    let sender = std::thread::spawn(move || {
        while !stop.load(Ordering::Acquire) {
            std::thread::sleep(Duration::from_millis(20));
            // SAFETY: the loop's thread outlives this one, which it joins.
            unsafe { libc::pthread_kill(target as libc::pthread_t, libc::SIGUSR2) };
        }
    });
    let mut seen = Vec::new();
    lp.run(None, |interrupted| {
        seen.push(interrupted);
        (!interrupted && !gave_up.get()).then_some(true)
    });
    done.store(true, Ordering::Release);
    sender.join().unwrap();
    lp.close();
    let turns = seen.len();
    assert!(
        !gave_up.get(),
        "no interruption reported in 30 s of {turns} turns"
    );
    // Told once, at the turn after the interrupted wait; never before a turn waited.
    assert_eq!(seen.first(), Some(&false));
    assert_eq!(seen.iter().filter(|&&i| i).count(), 1, "{seen:?}");
}
