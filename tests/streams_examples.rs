//! The echo examples print what the seed's Python programs print: each side is run against
//! the Python original of the other, and its output compared with the original's own.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

const SEED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/seed/programs");

fn example(name: &str) -> Option<PathBuf> {
    // Tests live in target/<profile>/deps; `cargo test` builds examples beside them.
    let exe = std::env::current_exe().ok()?;
    let path = exe.parent()?.parent()?.join("examples").join(name);
    path.exists().then_some(path)
}

fn seed(name: &str, port: u16) -> Option<String> {
    let source = std::fs::read_to_string(format!("{SEED}/{name}"))
        .or_else(|_| std::fs::read_to_string(format!("/work/shared/seed/programs/{name}")))
        .ok()?;
    Command::new("python3").arg("--version").output().ok()?;
    Some(source.replace("8888", &port.to_string()))
}

/// Starts a server process and returns it with its port, read from "Serving on (…, PORT)".
fn serve(
    mut cmd: Command,
) -> (
    Child,
    u16,
    std::io::Lines<BufReader<std::process::ChildStdout>>,
) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let port = first
        .trim_end_matches(')')
        .rsplit(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(first, format!("Serving on ('127.0.0.1', {port})"));
    (child, port, lines)
}

/// Hides the client's ephemeral port, which differs between runs.
fn mask_port(line: &str) -> String {
    match line.rfind(", ") {
        Some(i) if line.ends_with(')') => format!("{}, PORT)", &line[..i]),
        _ => line.to_owned(),
    }
}

#[test]
fn echo_client_prints_what_the_python_client_prints() {
    let (Some(ours), Some(server)) = (example("echo_client"), seed("echo_server.py", 0)) else {
        eprintln!("skipped: example, python3 or seed missing");
        return;
    };
    let mut cmd = Command::new("python3");
    cmd.args(["-u", "-c", &server]);
    let (mut child, port, _lines) = serve(cmd);
    let python_client = seed("echo_client.py", port).unwrap();
    let theirs = Command::new("python3")
        .args(["-c", &python_client])
        .output()
        .unwrap();
    let mine = Command::new(ours).arg(port.to_string()).output().unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(mine.status.success());
    assert_eq!(
        String::from_utf8(mine.stdout).unwrap(),
        String::from_utf8(theirs.stdout).unwrap()
    );
}

#[test]
fn echo_server_prints_what_the_python_server_prints() {
    let (Some(ours), Some(python_server)) = (example("echo_server"), seed("echo_server.py", 0))
    else {
        eprintln!("skipped: example, python3 or seed missing");
        return;
    };
    let mut transcripts = Vec::new();
    for mut cmd in [Command::new(ours), Command::new("python3")] {
        if cmd.get_program() == "python3" {
            cmd.args(["-u", "-c", &python_server]);
        } else {
            cmd.arg("0");
        }
        let (mut child, port, mut lines) = serve(cmd);
        let client = seed("echo_client.py", port).unwrap();
        let out = Command::new("python3")
            .args(["-c", &client])
            .output()
            .unwrap();
        assert!(out.status.success());
        let served: Vec<String> = (0..3)
            .map(|_| mask_port(&lines.next().unwrap().unwrap()))
            .collect();
        child.kill().unwrap();
        child.wait().unwrap();
        transcripts.push(served);
    }
    assert_eq!(transcripts[0], transcripts[1]);
    assert_eq!(
        transcripts[0][0],
        "Received 'Hello World!' from ('127.0.0.1', PORT)"
    );
}
