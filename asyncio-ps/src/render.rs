//! The two views: the flat table (`python -m asyncio ps`) and the await tree
//! (`python -m asyncio pstree`).

use crate::snapshot::{Snapshot, Task};
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

/// What a task waits on: the primitive it is parked on, then the tasks it awaits.
fn awaiting(task: &Task, by_id: &HashMap<u64, &Task>) -> String {
    let mut parts = Vec::new();
    if task.waiting_on != "-" {
        parts.push(task.waiting_on.clone());
    }
    for id in &task.awaits {
        match by_id.get(id) {
            Some(t) => parts.push(format!("{} ({id})", t.name)),
            None => parts.push(format!("task {id}")),
        }
    }
    if parts.is_empty() {
        "-".to_owned()
    } else {
        parts.join(", ")
    }
}

fn seconds(field: &str) -> String {
    if field == "-" {
        field.to_owned()
    } else {
        format!("{field}s")
    }
}

/// The flat table: one row per task, under a header.
pub fn table(snapshot: &Snapshot) -> String {
    let by_id: HashMap<u64, &Task> = snapshot.tasks.iter().map(|t| (t.id, t)).collect();
    let threads: HashMap<u64, &str> = snapshot
        .loops
        .iter()
        .map(|l| (l.id, l.thread.as_str()))
        .collect();
    let header = [
        "loop thread",
        "task id",
        "task name",
        "state",
        "awaiting",
        "age",
        "polls",
        "busy",
    ]
    .map(str::to_owned);
    let mut rows = vec![header.to_vec()];
    for task in &snapshot.tasks {
        rows.push(vec![
            threads.get(&task.loop_id).unwrap_or(&"?").to_string(),
            task.id.to_string(),
            task.name.clone(),
            task.state.clone(),
            awaiting(task, &by_id),
            seconds(&task.age),
            task.polls.to_string(),
            seconds(&task.busy),
        ]);
    }
    let widths: Vec<usize> = (0..header.len())
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in &rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        let _ = writeln!(out, "{}", cells.join("  ").trim_end());
    }
    out.push_str(&silent_loops(snapshot));
    out
}

fn silent_loops(snapshot: &Snapshot) -> String {
    let mut out = String::new();
    for lp in snapshot.loops.iter().filter(|l| !l.answered) {
        let _ = writeln!(
            out,
            "loop thread {}: did not answer within a second (a step is running long, or it is blocked)",
            lp.thread
        );
    }
    out
}

/// The await tree of each loop, in `pstree`'s layout: a task, then the tasks it awaits
/// under it. A cycle is shown where it closes and listed at the end; it is not followed.
pub fn tree(snapshot: &Snapshot) -> String {
    let mut out = String::new();
    let mut cycles = Vec::new();
    for lp in snapshot.loops.iter().filter(|l| l.answered) {
        let tasks: Vec<&Task> = snapshot
            .tasks
            .iter()
            .filter(|t| t.loop_id == lp.id)
            .collect();
        let by_id: HashMap<u64, &Task> = tasks.iter().map(|t| (t.id, *t)).collect();
        let awaited: HashSet<u64> = tasks.iter().flat_map(|t| t.awaits.clone()).collect();
        let _ = writeln!(out, "loop thread {}", lp.thread);
        let mut drawn = HashSet::new();
        let mut walk = Walk {
            by_id: &by_id,
            path: Vec::new(),
            drawn: &mut drawn,
            cycles: &mut cycles,
            out: &mut out,
        };
        let roots: Vec<&Task> = tasks
            .iter()
            .filter(|t| !awaited.contains(&t.id))
            .copied()
            .collect();
        for (i, root) in roots.iter().enumerate() {
            walk.node(root, "", i + 1 == roots.len());
        }
        // What no root reaches waits in a cycle with no way in: drawn from its first task.
        while let Some(start) = tasks.iter().find(|t| !walk.drawn.contains(&t.id)) {
            walk.node(start, "", true);
        }
    }
    for cycle in &cycles {
        let _ = writeln!(out, "cycle: {}", cycle.join(" -> "));
    }
    out.push_str(&silent_loops(snapshot));
    out
}

struct Walk<'a> {
    by_id: &'a HashMap<u64, &'a Task>,
    /// The tasks from the root down to the one being drawn.
    path: Vec<u64>,
    drawn: &'a mut HashSet<u64>,
    cycles: &'a mut Vec<Vec<String>>,
    out: &'a mut String,
}

impl Walk<'_> {
    fn node(&mut self, task: &Task, prefix: &str, last: bool) {
        let branch = if last { "└── " } else { "├── " };
        let mut line = format!("{prefix}{branch}(T) {} [{}]", task.name, task.id);
        if task.waiting_on != "-" {
            let _ = write!(line, " awaiting {}", task.waiting_on);
        }
        if let Some(at) = self.path.iter().position(|id| *id == task.id) {
            let _ = writeln!(self.out, "{line} (cycle: awaits a task above)");
            let mut cycle: Vec<String> = self.path[at..].iter().map(|id| self.label(*id)).collect();
            cycle.push(self.label(task.id));
            self.cycles.push(cycle);
            return;
        }
        let _ = writeln!(self.out, "{line}  {}", task.site);
        self.drawn.insert(task.id);
        self.path.push(task.id);
        let child_prefix = format!("{prefix}{}", if last { "    " } else { "│   " });
        let children: Vec<&Task> = task
            .awaits
            .iter()
            .filter_map(|id| self.by_id.get(id).copied())
            .collect();
        for (i, child) in children.iter().enumerate() {
            self.node(child, &child_prefix, i + 1 == children.len());
        }
        self.path.pop();
    }

    fn label(&self, id: u64) -> String {
        match self.by_id.get(&id) {
            Some(t) => format!("{} [{id}]", t.name),
            None => format!("[{id}]"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::parse;

    const ANSWER: &str = "asyncio-ps 1\nloop\t1\tmain (42)\n\
        task\t1\t1\tmain\twaiting\t-\t2.000\t3\t-\ta.rs:1:1\t2\n\
        task\t1\t2\tworker\twaiting\t-\t1.000\t2\t-\ta.rs:2:1\t3,4\n\
        task\t1\t3\tleaf-a\twaiting\tQueue.get\t1.000\t1\t-\ta.rs:3:1\t\n\
        task\t1\t4\tleaf-b\tready\t-\t1.000\t1\t-\ta.rs:4:1\t\n\
        task\t1\t5\tping\twaiting\t-\t-\t1\t-\ta.rs:5:1\t6\n\
        task\t1\t6\tpong\twaiting\t-\t-\t1\t-\ta.rs:6:1\t5\n\
        end\n";

    #[test]
    fn the_tree_nests_awaited_tasks_and_reports_a_cycle_once() {
        let text = tree(&parse(ANSWER).unwrap());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "loop thread main (42)");
        assert_eq!(lines[1], "└── (T) main [1]  a.rs:1:1");
        assert_eq!(lines[2], "    └── (T) worker [2]  a.rs:2:1");
        assert_eq!(
            lines[3],
            "        ├── (T) leaf-a [3] awaiting Queue.get  a.rs:3:1"
        );
        assert_eq!(lines[4], "        └── (T) leaf-b [4]  a.rs:4:1");
        assert_eq!(lines[5], "└── (T) ping [5]  a.rs:5:1");
        assert_eq!(lines[6], "    └── (T) pong [6]  a.rs:6:1");
        assert_eq!(
            lines[7],
            "        └── (T) ping [5] (cycle: awaits a task above)"
        );
        assert_eq!(lines[8], "cycle: ping [5] -> pong [6] -> ping [5]");
        assert_eq!(lines.len(), 9);
    }

    #[test]
    fn the_table_has_a_row_per_task() {
        let text = table(&parse(ANSWER).unwrap());
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("loop thread  task id  task name  state"));
        assert!(lines[2].contains("worker"));
        assert!(lines[2].contains("leaf-a (3), leaf-b (4)"));
        assert!(lines[3].contains("Queue.get"));
        assert!(lines[3].ends_with("1.000s  1      -"), "{:?}", lines[3]);
        assert_eq!(lines.len(), 7);
    }
}
