//! The endpoint's answer, parsed (its wire format is documented in the `asyncio` crate's
//! `introspection` module).

/// One task of the live process.
#[derive(Clone, Debug, PartialEq)]
pub struct Task {
    pub loop_id: u64,
    pub id: u64,
    pub name: String,
    pub state: String,
    /// What it is parked on (`Queue.get`, ...), or `-`.
    pub waiting_on: String,
    /// Seconds, or `-` when its loop did not record it.
    pub age: String,
    pub polls: u64,
    /// Seconds, or `-` outside debug mode.
    pub busy: String,
    /// Where it was created.
    pub site: String,
    /// The ids of the tasks it waits on.
    pub awaits: Vec<u64>,
}

/// A loop of the live process.
#[derive(Clone, Debug, PartialEq)]
pub struct Loop {
    pub id: u64,
    /// Its thread: name and OS id.
    pub thread: String,
    /// False when it did not answer in time (stuck in a step).
    pub answered: bool,
}

/// Everything the process answered.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Snapshot {
    pub loops: Vec<Loop>,
    pub tasks: Vec<Task>,
}

/// Parses an answer; an error names what was wrong with it.
pub fn parse(text: &str) -> Result<Snapshot, String> {
    let mut lines = text.lines();
    match lines.next() {
        Some("asyncio-ps 1") => {}
        other => return Err(format!("not an asyncio-ps answer (first line {other:?})")),
    }
    let mut snapshot = Snapshot::default();
    let mut ended = false;
    for line in lines {
        let fields: Vec<String> = line.split('\t').map(unescape).collect();
        let number = |i: usize| -> Result<u64, String> {
            fields
                .get(i)
                .and_then(|f| f.parse().ok())
                .ok_or_else(|| format!("bad field {i} in {line:?}"))
        };
        let text = |i: usize| -> Result<String, String> {
            fields
                .get(i)
                .cloned()
                .ok_or_else(|| format!("missing field {i} in {line:?}"))
        };
        match fields[0].as_str() {
            "loop" | "silent" => snapshot.loops.push(Loop {
                id: number(1)?,
                thread: text(2)?,
                answered: fields[0] == "loop",
            }),
            "task" => snapshot.tasks.push(Task {
                loop_id: number(1)?,
                id: number(2)?,
                name: text(3)?,
                state: text(4)?,
                waiting_on: text(5)?,
                age: text(6)?,
                polls: number(7)?,
                busy: text(8)?,
                site: text(9)?,
                awaits: text(10)?
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(|s| s.parse().map_err(|_| format!("bad task id in {line:?}")))
                    .collect::<Result<_, _>>()?,
            }),
            "error" => return Err(format!("the process answered: {}", text(1)?)),
            "end" => ended = true,
            // A newer endpoint's lines this client does not know.
            _ => {}
        }
    }
    if !ended {
        return Err("the answer was cut short".to_owned());
    }
    Ok(snapshot)
}

fn unescape(field: &str) -> String {
    let mut out = String::with_capacity(field.len());
    let mut chars = field.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_parses_into_loops_and_tasks() {
        let text = "asyncio-ps 1\nloop\t1\tmain (42)\n\
            task\t1\t7\ta\\tb\twaiting\tQueue.get\t1.500\t3\t-\tsrc/main.rs:3:5\t8,9\n\
            silent\t2\tworker (43)\nend\n";
        let s = parse(text).unwrap();
        assert_eq!(s.loops.len(), 2);
        assert!(!s.loops[1].answered);
        assert_eq!(s.tasks[0].name, "a\tb");
        assert_eq!(s.tasks[0].awaits, [8, 9]);
        assert!(parse("asyncio-ps 1\nloop\t1\tx\n").is_err(), "cut short");
        assert!(parse("HTTP/1.1 200 OK\n").is_err());
    }
}
