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

/// What `tests/oracle/<script>` prints on CPython, line by line; `None` without python3.
pub fn cpython_lines(script: &str) -> Option<Vec<String>> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/oracle")
        .join(script);
    let Ok(out) = std::process::Command::new("python3").arg(path).output() else {
        eprintln!("python3 is not available: nothing to compare");
        return None;
    };
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    Some(text.lines().map(str::to_string).collect())
}
