//! Captures what the library logs, for tests that assert an error was reported.
#![allow(dead_code)]

use std::sync::{Mutex, Once};

static LOGS: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct Capture;

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata) -> bool {
        true
    }
    fn log(&self, record: &log::Record) {
        let line = format!("{} {}", record.level(), record.args());
        LOGS.lock().unwrap_or_else(|e| e.into_inner()).push(line);
    }
    fn flush(&self) {}
}

/// Installs the capturing logger (once per test binary).
pub fn capture() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        log::set_logger(&Capture).unwrap();
        log::set_max_level(log::LevelFilter::Trace);
    });
}

/// How many captured lines contain every one of `needles`.
pub fn count(needles: &[&str]) -> usize {
    let logs = LOGS.lock().unwrap_or_else(|e| e.into_inner());
    logs.iter()
        .filter(|l| needles.iter().all(|n| l.contains(n)))
        .count()
}
