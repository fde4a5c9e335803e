//! The subprocess examples: `subprocess` prints what CPython prints for the seed's
//! `subprocess_ls.py`; `subprocess_pipeline` connects two processes through the loop.

use std::path::Path;
use std::process::Command;

#[path = "built_examples/mod.rs"]
mod built_examples;
use built_examples::example;

#[test]
fn subprocess_prints_what_cpython_prints() {
    let ours = Command::new(example("subprocess")).output().unwrap();
    assert!(ours.status.success());
    let ours = String::from_utf8(ours.stdout).unwrap();
    let seed =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/seed/programs/subprocess_ls.py");
    let python = Command::new("python3").arg(&seed).output();
    match python {
        Ok(theirs) if seed.exists() && theirs.status.success() => {
            assert_eq!(ours, String::from_utf8(theirs.stdout).unwrap());
        }
        _ => {
            // No oracle here: compare with what it printed when it was there.
            eprintln!("python3 or the seed is missing: checking the known output");
            assert!(ours.starts_with("['ls /zzz' exited with 2]\n[stderr]\nls: "));
        }
    }
}

#[test]
fn pipeline_connects_two_processes() {
    let out = Command::new(example("subprocess_pipeline"))
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "copied 3 lines through the loop\ncherry\nbanana\napple\n\
         producer exited with 0, consumer with 0\n"
    );
}
