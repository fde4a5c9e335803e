//! A loop's answer to `asyncio-ps`: its tasks as lines of the wire format (see the module
//! above), taken on the loop's thread between two steps.

use crate::TaskRef;
use crate::runtime::core::Core;
use crate::task::call_graph::{awaited_ids, waiting_on};
use std::fmt::Write as _;
use std::time::Instant;

/// A field of a line, its separators escaped.
pub(super) fn escape(field: &str) -> String {
    field
        .replace('\\', "\\\\")
        .replace('\t', "\\t")
        .replace('\n', "\\n")
}

/// The thread running this code, for the `THREAD` field: its name and its OS id.
pub(super) fn thread_label() -> String {
    let name = std::thread::current()
        .name()
        .unwrap_or("unnamed")
        .to_owned();
    format!("{name} ({})", os_thread_id())
}

#[cfg(target_os = "linux")]
fn os_thread_id() -> i64 {
    // SAFETY: gettid has no preconditions and cannot fail.
    i64::from(unsafe { libc::gettid() })
}

#[cfg(not(target_os = "linux"))]
fn os_thread_id() -> i64 {
    0
}

/// The `loop` line and one `task` line per pending task of `core`'s loop.
pub(super) fn of_loop(core: &Core) -> String {
    let now = Instant::now();
    let mut out = String::new();
    let loop_id = core.shared.id;
    let _ = writeln!(out, "loop\t{loop_id}\t{}", escape(&thread_label()));
    let tasks = core.all_tasks();
    let edges = awaited_ids(&tasks);
    for task in &tasks {
        let common = task.common();
        let awaits: Vec<String> = edges
            .get(&task.id())
            .map_or(&[][..], Vec::as_slice)
            .iter()
            .map(u64::to_string)
            .collect();
        let age = common
            .born()
            .map_or_else(|| "-".to_owned(), |b| secs(now - b));
        // Steps before the loop began serving were not timed.
        let busy = match common.born() {
            Some(_) => secs(task.busy_time()),
            None => "-".to_owned(),
        };
        let _ = writeln!(
            out,
            "task\t{loop_id}\t{}\t{}\t{}\t{}\t{age}\t{}\t{busy}\t{}\t{}",
            task.id(),
            escape(&task.name()),
            state(task),
            escape(waiting_on(task).as_deref().unwrap_or("-")),
            task.poll_count(),
            escape(&task.location().to_string()),
            awaits.join(",")
        );
    }
    out
}

fn secs(d: std::time::Duration) -> String {
    format!("{:.3}", d.as_secs_f64())
}

/// `ready` (queued to run), `cancelling` (a cancel asked for), or `waiting`.
fn state(task: &TaskRef) -> &'static str {
    if task.cancelling() > 0 {
        "cancelling"
    } else if task.scheduled() {
        "ready"
    } else {
        "waiting"
    }
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn separators_inside_a_field_are_escaped() {
        assert_eq!(escape("a\tb\nc\\d"), "a\\tb\\nc\\\\d");
    }
}
