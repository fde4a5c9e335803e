//! Starting children: exec and shell, exit codes, signals, stdio choices, cwd and environment,
//! errors.

use asyncio::subprocess::{DEVNULL, NO_ARGS, PIPE, STDOUT, Stdio};
use asyncio::{ReadError, create_subprocess_exec, create_subprocess_shell};
use std::io::ErrorKind;

#[asyncio::test]
async fn exec_and_shell_report_exit_codes() {
    let ok = create_subprocess_exec("true", NO_ARGS).await.unwrap();
    assert_eq!(ok.wait().await, 0);
    let shell = create_subprocess_shell("exit 7").await.unwrap();
    assert_eq!(shell.returncode(), None, "still running or not yet reaped");
    assert_eq!(shell.wait().await, 7);
    assert_eq!(shell.returncode(), Some(7));
    assert_eq!(shell.exit_status().unwrap().code(), Some(7));
}

#[asyncio::test]
async fn ls_zzz_is_the_seed_program() {
    let mut proc = create_subprocess_shell("ls /zzz")
        .stdout(PIPE)
        .stderr(PIPE)
        .await
        .unwrap();
    let (out, err) = proc.communicate(None).await.unwrap();
    assert_eq!(proc.returncode(), Some(2));
    assert!(out.is_empty());
    assert!(String::from_utf8_lossy(&err).contains("'/zzz'"));
}

#[asyncio::test]
async fn killed_child_has_negative_returncode_and_is_not_signalled_again() {
    let proc = create_subprocess_exec("sleep", ["30"]).await.unwrap();
    assert!(proc.pid() > 0);
    proc.terminate().unwrap();
    assert_eq!(proc.wait().await, -libc::SIGTERM);
    // Reaped: its pid may be someone else's now, so nothing is sent.
    let err = proc.kill().unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::ESRCH));
    let err = proc.send_signal(libc::SIGUSR1).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::ESRCH));
}

#[asyncio::test]
async fn missing_program_is_not_found() {
    let err = create_subprocess_exec("asyncio-no-such-program", NO_ARGS)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    let err = create_subprocess_exec("/nonexistent/dir/prog", ["x"])
        .stdout(PIPE)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    // The shell itself exists: a missing command is its exit status 127.
    let proc = create_subprocess_shell("asyncio-no-such-program 2>/dev/null")
        .await
        .unwrap();
    assert_eq!(proc.wait().await, 127);
}

#[asyncio::test]
async fn stdout_stderr_merge_devnull_and_file() {
    let mut merged = create_subprocess_shell("echo out; echo err >&2")
        .stdout(PIPE)
        .stderr(STDOUT)
        .await
        .unwrap();
    assert!(merged.stderr.is_none());
    let (out, err) = merged.communicate(None).await.unwrap();
    assert_eq!(out, b"out\nerr\n");
    assert!(err.is_empty());

    let mut quiet = create_subprocess_shell("echo out; echo err >&2; cat")
        .stdin(DEVNULL)
        .stdout(DEVNULL)
        .stderr(PIPE)
        .await
        .unwrap();
    assert!(quiet.stdin.is_none() && quiet.stdout.is_none());
    let (out, err) = quiet.communicate(None).await.unwrap();
    assert!(out.is_empty());
    assert_eq!(err, b"err\n");
    assert_eq!(
        quiet.returncode(),
        Some(0),
        "cat read end of file from /dev/null"
    );

    let path = std::env::temp_dir().join(format!("asyncio-sp-{}.txt", std::process::id()));
    let file = std::fs::File::create(&path).unwrap();
    let proc = create_subprocess_shell("echo to-file; echo also >&2")
        .stdout(Stdio::from(file))
        .stderr(STDOUT)
        .await
        .unwrap();
    assert_eq!(proc.wait().await, 0);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "to-file\nalso\n");
    let _ = std::fs::remove_file(&path);

    let inherit = create_subprocess_exec("true", NO_ARGS)
        .stdout(Stdio::inherit())
        .stderr(STDOUT)
        .await
        .unwrap();
    assert_eq!(inherit.wait().await, 0);
}

#[asyncio::test]
async fn stdout_cannot_be_stdout() {
    let err = create_subprocess_exec("true", NO_ARGS)
        .stdout(STDOUT)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    let err = create_subprocess_exec("true", NO_ARGS)
        .stdin(STDOUT)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

#[asyncio::test]
async fn cwd_env_and_env_clear() {
    let mut proc = create_subprocess_shell("pwd; echo \"$A-$B\"")
        .cwd("/tmp")
        .env("A", "1")
        .envs([("B", "2")])
        .stdout(PIPE)
        .await
        .unwrap();
    let (out, _) = proc.communicate(None).await.unwrap();
    let tmp = std::fs::canonicalize("/tmp").unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        format!("{}\n1-2\n", tmp.display())
    );

    let mut bare = create_subprocess_exec("/usr/bin/env", NO_ARGS)
        .env_clear()
        .env("ONLY", "this")
        .stdout(PIPE)
        .await
        .unwrap();
    assert_eq!(bare.communicate(None).await.unwrap().0, b"ONLY=this\n");

    // SAFETY: std takes its environment lock for this write and for every spawn's read of
    // the environment, and no test in this binary reads it through libc (getaddrinfo, say).
    unsafe { std::env::set_var("ASYNCIO_SP_REMOVED", "x") };
    let mut removed = create_subprocess_shell("echo \"[$ASYNCIO_SP_REMOVED]\"")
        .env_remove("ASYNCIO_SP_REMOVED")
        .stdout(PIPE)
        .await
        .unwrap();
    assert_eq!(removed.communicate(None).await.unwrap().0, b"[]\n");
}

#[asyncio::test]
async fn child_starts_with_default_sigpipe() {
    // This test process ignores SIGPIPE (Rust's runtime does); the child must not inherit it.
    let mut proc = create_subprocess_exec("cat", ["/proc/self/status"])
        .stdout(PIPE)
        .await
        .unwrap();
    let (out, _) = proc.communicate(None).await.unwrap();
    let status = String::from_utf8(out).unwrap();
    let ignored = status
        .lines()
        .find_map(|l| l.strip_prefix("SigIgn:"))
        .map(|m| u64::from_str_radix(m.trim(), 16).unwrap())
        .expect("SigIgn line");
    assert_eq!(
        ignored & (1 << (libc::SIGPIPE - 1)),
        0,
        "SIGPIPE is default"
    );
    // So `yes | head -1` ends: yes dies of SIGPIPE instead of looping on EPIPE.
    let proc = create_subprocess_shell("yes | head -1 >/dev/null; echo done")
        .stdout(PIPE)
        .await;
    let mut proc = proc.unwrap();
    assert_eq!(proc.communicate(None).await.unwrap().0, b"done\n");
}

#[asyncio::test]
async fn readers_readline_readexactly_limit() {
    let mut proc = create_subprocess_shell("printf 'one\\ntwo\\nlonger line here\\nend'")
        .stdout(PIPE)
        .limit(8)
        .await
        .unwrap();
    let out = proc.stdout.as_mut().unwrap();
    assert_eq!(out.limit(), 8);
    assert_eq!(out.readline().await.unwrap(), b"one\n");
    assert_eq!(out.readexactly(2).await.unwrap(), b"tw");
    assert_eq!(out.read(2).await.unwrap(), b"o\n");
    let err = out.readline().await.unwrap_err();
    assert!(matches!(err, ReadError::LimitOverrun(_)), "{err}");
    assert_eq!(out.readline().await.unwrap(), b"end");
    assert_eq!(out.readline().await.unwrap(), b"");
    assert!(out.at_eof());
    let err = out.readexactly(1).await.unwrap_err();
    assert!(matches!(err, ReadError::IncompleteRead(_)), "{err}");
    assert_eq!(proc.wait().await, 0);
}

#[asyncio::test]
async fn stdin_write_drain_close() {
    let mut proc = create_subprocess_exec("cat", NO_ARGS)
        .stdin(PIPE)
        .stdout(PIPE)
        .await
        .unwrap();
    let stdin = proc.stdin.take().unwrap();
    stdin.writelines([&b"a"[..], b"b"]);
    stdin.write(b"c");
    stdin.drain().await.unwrap();
    assert!(!stdin.is_closing());
    stdin.close();
    assert!(stdin.is_closing());
    stdin.wait_closed().await.unwrap();
    stdin.write(b"dropped after close");
    assert_eq!(
        proc.stdout.as_mut().unwrap().read_to_end().await.unwrap(),
        b"abc"
    );
    assert_eq!(proc.wait().await, 0);
}

#[asyncio::test]
async fn dropping_stdin_gives_the_child_eof() {
    let mut proc = create_subprocess_exec("wc", ["-c"])
        .stdin(PIPE)
        .stdout(PIPE)
        .await
        .unwrap();
    let stdin = proc.stdin.take().unwrap();
    stdin.write(&[b'x'; 100_000]); // more than the pipe takes at once: the rest is flushed
    drop(stdin);
    let out = proc.stdout.as_mut().unwrap().read_to_end().await.unwrap();
    assert_eq!(String::from_utf8(out).unwrap().trim(), "100000");
}

#[asyncio::test]
async fn input_without_a_stdin_pipe_is_ignored() {
    let mut proc = create_subprocess_exec("cat", NO_ARGS)
        .stdin(DEVNULL)
        .stdout(PIPE)
        .await
        .unwrap();
    let (out, err) = proc.communicate(Some(b"nobody reads this")).await.unwrap();
    assert!(out.is_empty() && err.is_empty());
    assert_eq!(proc.returncode(), Some(0));
}

#[asyncio::test]
async fn stdio_from_an_owned_fd() {
    let (reader, writer) = std::os::unix::net::UnixStream::pair().unwrap();
    let fd = std::os::fd::OwnedFd::from(writer);
    let proc = create_subprocess_exec("echo", ["via fd"])
        .stdout(Stdio::from(fd))
        .await
        .unwrap();
    assert_eq!(proc.wait().await, 0);
    let mut got = String::new();
    reader.set_nonblocking(true).unwrap();
    std::io::Read::read_to_string(&mut &reader, &mut got).ok();
    assert_eq!(got, "via fd\n");
}

#[cfg(target_os = "linux")]
#[asyncio::test]
async fn linux_children_are_watched_by_pidfd_not_threads() {
    let proc = create_subprocess_exec("sleep", ["0.1"]).await.unwrap();
    // The fallback's threads are named asyncio-waitpid-PID (15 characters shown by the kernel).
    let fallback_threads = std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.unwrap().path().join("comm")).ok())
        .filter(|name| name.trim() == "asyncio-waitpid")
        .count();
    assert_eq!(fallback_threads, 0);
    assert_eq!(proc.wait().await, 0);
}
