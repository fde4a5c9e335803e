//! `communicate` under load and when the child goes away; broken stdin pipes are errors, never
//! `SIGPIPE`.

use asyncio::create_subprocess_exec;
use asyncio::subprocess::{NO_ARGS, PIPE};
use std::io::ErrorKind;

const MIB: usize = 1024 * 1024;

fn pattern(len: usize) -> Vec<u8> {
    // Not periodic in any small power of two, so a lost or repeated chunk shows.
    (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
}

#[asyncio::test]
async fn fifty_mib_each_way_without_deadlock() {
    // `tee /dev/stderr` echoes stdin to stdout and to stderr: 50 MiB in, 50 MiB on each pipe.
    // A communicate that fed stdin before reading, or read one pipe after the other, would
    // deadlock on full pipes.
    let input = pattern(50 * MIB);
    let mut proc = create_subprocess_exec("tee", ["/dev/stderr"])
        .stdin(PIPE)
        .stdout(PIPE)
        .stderr(PIPE)
        .await
        .unwrap();
    let (out, err) = proc.communicate(Some(&input)).await.unwrap();
    assert_eq!(proc.returncode(), Some(0));
    assert_eq!(out.len(), input.len());
    assert!(out == input, "stdout bytes match");
    assert!(err == input, "stderr bytes match");
    assert!(proc.stdin.is_none() && proc.stdout.is_none() && proc.stderr.is_none());
}

#[asyncio::test]
async fn child_exiting_at_once_does_not_fail_communicate() {
    let input = pattern(8 * MIB);
    let mut proc = create_subprocess_exec("true", NO_ARGS)
        .stdin(PIPE)
        .stdout(PIPE)
        .await
        .unwrap();
    let (out, err) = proc.communicate(Some(&input)).await.unwrap();
    assert!(out.is_empty() && err.is_empty());
    assert_eq!(proc.returncode(), Some(0));
}

#[asyncio::test]
async fn child_reading_part_of_the_input() {
    let input = pattern(8 * MIB);
    let mut proc = create_subprocess_exec("head", ["-c", "10"])
        .stdin(PIPE)
        .stdout(PIPE)
        .await
        .unwrap();
    let (out, _) = proc.communicate(Some(&input)).await.unwrap();
    assert_eq!(out, &input[..10]);
    assert_eq!(proc.returncode(), Some(0));
}

#[asyncio::test]
async fn write_and_drain_report_broken_pipe() {
    let proc = create_subprocess_exec("true", NO_ARGS)
        .stdin(PIPE)
        .await
        .unwrap();
    assert_eq!(proc.wait().await, 0);
    let stdin = proc.stdin.as_ref().unwrap();
    stdin.write(&pattern(4 * MIB));
    let err = stdin.drain().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BrokenPipe);
    // It stays broken; later writes are dropped, and the error is reported again.
    stdin.write(b"more");
    assert_eq!(
        stdin.drain().await.unwrap_err().kind(),
        ErrorKind::BrokenPipe
    );
    assert!(stdin.is_closing());
}

#[asyncio::test]
async fn broken_pipe_while_buffered() {
    // The child reads a little, then exits while our buffer is still being flushed.
    let mut proc = create_subprocess_exec("head", ["-c", "1"])
        .stdin(PIPE)
        .stdout(PIPE)
        .await
        .unwrap();
    let stdin = proc.stdin.take().unwrap();
    let mut result = Ok(());
    for _ in 0..64 {
        stdin.write(&pattern(MIB));
        result = stdin.drain().await;
        if result.is_err() {
            break;
        }
    }
    assert_eq!(result.unwrap_err().kind(), ErrorKind::BrokenPipe);
    assert_eq!(proc.wait().await, 0);
}

#[asyncio::test]
async fn a_cancelled_communicate_loses_nothing_and_a_later_one_finishes() {
    let mut proc = asyncio::create_subprocess_shell("sleep 0.3; echo hi")
        .stdout(asyncio::subprocess::PIPE)
        .await
        .unwrap();
    let first = asyncio::wait_for(proc.communicate(None), 0.05).await;
    assert!(first.is_err(), "the first communicate timed out");
    let (out, _) = proc.communicate(None).await.unwrap();
    assert_eq!(out, b"hi\n");
    assert_eq!(
        proc.returncode(),
        Some(0),
        "the child was not killed by a closed pipe"
    );
}
