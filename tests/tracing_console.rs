//! Tasks seen through `tracing` as tokio-console sees them (feature `tracing`): a small
//! hand-written subscriber records spans, enters, exits, closes and events, and the tests check
//! the shapes console-subscriber reads.
#![cfg(feature = "tracing")]

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

/// A field's value, as the console's visitors receive it.
#[derive(Clone, Debug, PartialEq)]
enum Value {
    U64(u64),
    Str(String),
}

#[derive(Default)]
struct Fields(HashMap<&'static str, Value>);

impl Visit for Fields {
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name(), Value::U64(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name(), Value::U64(value as u64));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name(), Value::Str(value.to_owned()));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0
            .insert(field.name(), Value::Str(format!("{value:?}")));
    }
}

struct SpanRecord {
    name: &'static str,
    parent: Option<u64>,
    fields: HashMap<&'static str, Value>,
    refs: usize,
    enters: usize,
    exits: usize,
    /// How many events were logged when the span closed.
    closed_at: Option<usize>,
}

#[derive(Default)]
struct Log {
    spans: HashMap<u64, SpanRecord>,
    /// (target, fields) of each event.
    events: Vec<(String, HashMap<&'static str, Value>)>,
}

/// Records everything; counts a span's handles as the registry does, to tell when it closes.
#[derive(Clone, Default)]
struct Recorder {
    log: Arc<Mutex<Log>>,
    next: Arc<AtomicU64>,
}

impl Subscriber for Recorder {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, attrs: &Attributes<'_>) -> Id {
        let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        let parent = attrs.parent().map(Id::into_u64);
        let record = SpanRecord {
            name: attrs.metadata().name(),
            parent: if attrs.is_contextual() {
                Some(0)
            } else {
                parent
            },
            fields: fields.0,
            refs: 1,
            enters: 0,
            exits: 0,
            closed_at: None,
        };
        self.log.lock().unwrap().spans.insert(id, record);
        Id::from_u64(id)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let target = event.metadata().target().to_owned();
        self.log.lock().unwrap().events.push((target, fields.0));
    }
    fn enter(&self, span: &Id) {
        self.log
            .lock()
            .unwrap()
            .spans
            .get_mut(&span.into_u64())
            .unwrap()
            .enters += 1;
    }
    fn exit(&self, span: &Id) {
        self.log
            .lock()
            .unwrap()
            .spans
            .get_mut(&span.into_u64())
            .unwrap()
            .exits += 1;
    }
    fn clone_span(&self, id: &Id) -> Id {
        self.log
            .lock()
            .unwrap()
            .spans
            .get_mut(&id.into_u64())
            .unwrap()
            .refs += 1;
        id.clone()
    }
    fn try_close(&self, id: Id) -> bool {
        let mut log = self.log.lock().unwrap();
        let events = log.events.len();
        let span = log.spans.get_mut(&id.into_u64()).unwrap();
        span.refs -= 1;
        if span.refs == 0 {
            span.closed_at = Some(events);
        }
        span.refs == 0
    }
}

impl Recorder {
    /// The id of the `runtime.spawn` span of the task named `name`.
    fn span_of(&self, name: &str) -> Option<u64> {
        let log = self.log.lock().unwrap();
        log.spans
            .iter()
            .find(|(_, s)| {
                s.name == "runtime.spawn" && s.fields.get("task.name") == Some(&text(name))
            })
            .map(|(&id, _)| id)
    }

    /// The `op`s of the waker events of span `id`, with their places in the log.
    fn waker_ops(&self, id: u64) -> Vec<(usize, String)> {
        let log = self.log.lock().unwrap();
        log.events
            .iter()
            .enumerate()
            .filter(|(_, (target, f))| {
                target == "runtime::waker" && f.get("task.id") == Some(&Value::U64(id))
            })
            .map(|(i, (_, f))| match &f["op"] {
                Value::Str(op) => (i, op.clone()),
                other => panic!("op is a string, not {other:?}"),
            })
            .collect()
    }

    /// Wakers of span `id` alive now as the console counts them: clones less drops and wakes
    /// (`wake` consumes its waker).
    fn live_wakers(&self, id: u64) -> i64 {
        self.waker_ops(id)
            .iter()
            .map(|(_, op)| match op.as_str() {
                "waker.clone" => 1,
                "waker.drop" | "waker.wake" => -1,
                _ => 0,
            })
            .sum()
    }
}

fn text(v: &str) -> Value {
    Value::Str(v.to_owned())
}

#[test]
fn a_named_task_has_a_runtime_spawn_span_with_its_name_id_and_creation_site() {
    let recorder = Recorder::default();
    let (id, line, col) = tracing::subscriber::with_default(recorder.clone(), || {
        let recorder = recorder.clone();
        asyncio::run(async move {
            let ready = asyncio::Event::new();
            let wait = ready.clone();
            let line = line!() + 1;
            let worker = asyncio::create_task(async move {
                wait.wait().await;
                7
            })
            .with_name("worker");
            let (id, loc) = (worker.id(), worker.location());
            assert_eq!((loc.file(), loc.line()), (file!(), line));
            asyncio::sleep(0).await; // the worker's first step: it waits
            let span = recorder.span_of("worker").expect("made at the first step");
            // The event holds the worker's waker: the console sees one, not a lost waker.
            assert_eq!(
                recorder.live_wakers(span),
                1,
                "{:?}",
                recorder.waker_ops(span)
            );
            ready.set(); // its waker wakes it
            assert_eq!(worker.await.unwrap(), 7);
            (id, loc.line(), loc.column())
        })
    });

    let log = recorder.log.lock().unwrap();
    let spawns: Vec<_> = log
        .spans
        .iter()
        .filter(|(_, s)| s.name == "runtime.spawn")
        .collect();
    assert_eq!(spawns.len(), 2, "the main task and the worker");
    let &(&span_id, span) = spawns
        .iter()
        .find(|(_, s)| s.fields.get("task.name") == Some(&text("worker")))
        .expect("the worker's span carries the name it was given");
    assert_eq!(span.parent, None, "a task's span has no parent, as tokio's");
    let f = &span.fields;
    assert_eq!(f["kind"], text("local"));
    assert_eq!(f["task.id"], Value::U64(id));
    assert_eq!(f["loc.file"], text(file!()));
    assert_eq!(f["loc.line"], Value::U64(line.into()));
    assert_eq!(f["loc.col"], Value::U64(col.into()));
    assert!(matches!(f["size.bytes"], Value::U64(n) if n > 0));
    // Two polls (the wait, then the result), each inside the span; closed once complete.
    assert_eq!((span.enters, span.exits), (2, 2));
    let closed_at = span
        .closed_at
        .expect("the span closes when the task completes");
    // The main task's span is named by asyncio's default name.
    let main = spawns.iter().find(|&&(&i, _)| i != span_id).unwrap().1;
    assert!(matches!(&main.fields["task.name"], Value::Str(n) if n.starts_with("Task-")));
    drop(log);

    // The worker's waker: cloned by the event it waited on, then woken by `set`. Each event
    // names the task by its span's id, as the console looks it up.
    let ops = recorder.waker_ops(span_id);
    let names: Vec<&str> = ops.iter().map(|(_, op)| op.as_str()).collect();
    assert_eq!(names.first(), Some(&"waker.clone"), "{ops:?}");
    assert!(
        names.contains(&"waker.wake") || names.contains(&"waker.wake_by_ref"),
        "{ops:?}"
    );
    // None after the span closed: its id may name another span by then.
    assert!(
        ops.iter().all(|(i, _)| *i < closed_at),
        "{ops:?} closed at {closed_at}"
    );
}
