//! The examples' binaries for the tests that run them: `cargo test` builds every example
//! beside the tests (target/<profile>/examples), with the same features, so a run of the whole
//! suite uses those and builds nothing. A run of one test file alone may find one missing or
//! older than the sources; it is built then, never tested stale.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

/// target/<profile>/examples, beside this test binary (target/<profile>/deps/NAME-HASH).
pub fn examples_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().join("examples")
}

/// The path of example `name`, built first if it is missing or older than the sources.
pub fn example(name: &str) -> PathBuf {
    let path = examples_dir().join(name);
    if is_stale(&path) {
        build(name);
    }
    path
}

fn is_stale(binary: &Path) -> bool {
    let Ok(built) = binary.metadata().and_then(|m| m.modified()) else {
        return true;
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let sources = [
        root.join("src"),
        root.join("examples"),
        root.join("Cargo.toml"),
    ];
    sources.iter().any(|p| newest(p) > built)
}

fn newest(path: &Path) -> SystemTime {
    let Ok(meta) = path.metadata() else {
        return SystemTime::UNIX_EPOCH;
    };
    let own = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
    if !meta.is_dir() {
        return own;
    }
    std::fs::read_dir(path)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| newest(&entry.path()))
        .fold(own, SystemTime::max)
}

/// Builds one example with the features this test binary has, so that cargo reuses what
/// `cargo test` built.
fn build(name: &str) {
    let features: Vec<&str> = [
        ("tls", cfg!(feature = "tls")),
        ("futures-io", cfg!(feature = "futures-io")),
        ("tokio-io", cfg!(feature = "tokio-io")),
        ("stream", cfg!(feature = "stream")),
        ("hyper", cfg!(feature = "hyper")),
        ("redis", cfg!(feature = "redis")),
    ]
    .into_iter()
    .filter_map(|(f, on)| on.then_some(f))
    .collect();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "--example", name, "--no-default-features"])
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    if !features.is_empty() {
        cmd.arg("--features").arg(features.join(","));
    }
    if examples_dir()
        .components()
        .any(|c| c.as_os_str() == "release")
    {
        cmd.arg("--release");
    }
    assert!(
        cmd.status().unwrap().success(),
        "building example {name} failed"
    );
}
