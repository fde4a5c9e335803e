//! Helpers shared by the combinator tests.
#![allow(dead_code)]

use std::cell::Cell;
use std::rc::Rc;

/// Counts drops: put one inside a future to see when the future is dropped.
#[derive(Clone, Default)]
pub struct DropCount(Rc<Cell<u32>>);

pub struct Probe(Rc<Cell<u32>>);

impl Drop for Probe {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}

impl DropCount {
    pub fn probe(&self) -> Probe {
        Probe(self.0.clone())
    }

    pub fn get(&self) -> u32 {
        self.0.get()
    }
}

/// The loop's time now.
pub fn now() -> f64 {
    asyncio::get_running_loop().time()
}

/// Tasks still pending other than the current one.
pub fn others_pending() -> usize {
    let me = asyncio::current_task().map(|t| t.id());
    asyncio::all_tasks()
        .iter()
        .filter(|t| Some(t.id()) != me)
        .count()
}

/// Sleeps `secs`, then returns `value`, counting its own drop in `drops`.
pub async fn after<T>(secs: f64, value: T, drops: DropCount) -> T {
    let _probe = drops.probe();
    asyncio::sleep(secs).await;
    value
}

/// Records lines, to check output order.
#[derive(Clone, Default)]
pub struct Log(Rc<std::cell::RefCell<Vec<String>>>);

impl Log {
    pub fn push(&self, line: impl Into<String>) {
        self.0.borrow_mut().push(line.into());
    }

    pub fn lines(&self) -> Vec<String> {
        self.0.borrow().clone()
    }
}
