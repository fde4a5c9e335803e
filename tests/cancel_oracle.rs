//! Differential test of catchable cancellation: each example prints what CPython prints for
//! its Python original in `tests/oracle/`, line for line.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// (example, Python original in tests/oracle)
const PAIRS: &[(&str, &str)] = &[
    ("cancel_goodbye", "cancel_goodbye.py"),
    ("cancel_carry_on", "cancel_carry_on.py"),
];

fn examples_dir() -> PathBuf {
    // target/<profile>/deps/cancel_oracle-HASH → target/<profile>/examples
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().join("examples")
}

fn stdout(out: Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn catching_cancellation_prints_what_cpython_prints() {
    let python = Command::new("python3").arg("--version").output();
    assert!(
        python.is_ok_and(|o| o.status.success()),
        "python3 is needed as the oracle"
    );
    ensure_built();
    let oracle = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oracle");
    for (example, original) in PAIRS {
        let ours = Command::new(examples_dir().join(example)).output();
        let theirs = Command::new("python3").arg(oracle.join(original)).output();
        let ours = stdout(ours.expect("the example runs"), example);
        let theirs = stdout(theirs.expect("python3 runs"), original);
        assert_eq!(ours, theirs, "example {example} differs from CPython");
    }
}

/// `cargo test` builds the examples; a run of this test alone may not have.
fn ensure_built() {
    if PAIRS.iter().all(|(e, _)| examples_dir().join(e).exists()) {
        return;
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "--examples"])
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    if examples_dir()
        .components()
        .any(|c| c.as_os_str() == "release")
    {
        cmd.arg("--release");
    }
    assert!(
        cmd.status().unwrap().success(),
        "building the examples failed"
    );
}
