//! Shared by the integration tests: a log of what a program "prints", with the loop time.
#![allow(dead_code)]

use std::cell::RefCell;
use std::rc::Rc;

/// Lines printed by a program under test, each with the loop time it was printed at.
#[derive(Clone, Default)]
pub struct Transcript(Rc<RefCell<Vec<(f64, String)>>>);

impl Transcript {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn print(&self, line: impl Into<String>) {
        let now = asyncio::get_running_loop().time();
        self.0.borrow_mut().push((now, line.into()));
    }

    pub fn lines(&self) -> Vec<String> {
        self.0.borrow().iter().map(|(_, l)| l.clone()).collect()
    }

    pub fn timed(&self) -> Vec<(f64, String)> {
        self.0.borrow().clone()
    }
}

/// Counts drops, to prove when a future was dropped.
pub struct DropFlag(pub Rc<RefCell<u32>>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        *self.0.borrow_mut() += 1;
    }
}

/// Runs `f` on a thread and says whether it ended within `limit`: a hang fails the test
/// instead of stalling the suite.
pub fn ends_within(limit: std::time::Duration, f: impl FnOnce() + Send + 'static) -> bool {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        f();
        let _ = tx.send(());
    });
    rx.recv_timeout(limit).is_ok()
}
