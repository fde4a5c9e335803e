//! A broken stdin pipe is an error even when the host program has `SIGPIPE` at its default
//! (which would kill it). Alone in its binary: it changes a process-wide disposition.

use asyncio::create_subprocess_exec;
use asyncio::subprocess::{NO_ARGS, PIPE};
use std::io::ErrorKind;

#[asyncio::test]
async fn broken_pipe_with_sigpipe_at_default() {
    // A host program that did not ignore SIGPIPE: the write must still be an error.
    // SAFETY: sets SIGPIPE's disposition back to the default, for this test binary only.
    let old = unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    let proc = create_subprocess_exec("true", NO_ARGS)
        .stdin(PIPE)
        .await
        .unwrap();
    proc.wait().await;
    let stdin = proc.stdin.as_ref().unwrap();
    stdin.write(b"into a closed pipe");
    let err = stdin.drain().await.unwrap_err();
    // SAFETY: restores what was there.
    unsafe { libc::signal(libc::SIGPIPE, old) };
    assert_eq!(err.kind(), ErrorKind::BrokenPipe);
}
