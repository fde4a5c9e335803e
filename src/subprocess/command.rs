//! `Command`: the builder that `create_subprocess_exec` / `create_subprocess_shell` return;
//! awaiting it starts the child.

use super::child::ChildState;
use super::pipe::PipeIo;
use super::process::Process;
use super::stdio::{self, Kind, Stdio};
use std::ffi::OsStr;
use std::future::{Future, IntoFuture};
use std::io;
use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll};

/// The default buffer limit of a child's stdout and stderr readers: 64 KiB, as asyncio's.
pub const DEFAULT_LIMIT: usize = 64 * 1024;

/// A child process to start: its program and arguments, where its standard streams go, its
/// working directory and environment. Await it to start the child and get its
/// [`Process`] (asyncio's `await create_subprocess_exec(...)`).
///
/// Defaults: the standard streams are inherited, the environment is the parent's, the pipe
/// buffer limit is 64 KiB, and a dropped `Process` leaves its child running (it is still
/// reaped when it exits).
///
/// # Examples
/// ```
/// use asyncio::subprocess::PIPE;
/// # asyncio::run(async {
/// let mut proc = asyncio::create_subprocess_exec("sh", ["-c", "echo $GREETING from $PWD"])
///     .env("GREETING", "hello")
///     .cwd("/")
///     .stdout(PIPE)
///     .await?;
/// let (out, _) = proc.communicate(None).await?;
/// assert_eq!(out, b"hello from /\n");
/// # std::io::Result::Ok(())
/// # }).unwrap();
/// ```
#[derive(Debug)]
#[must_use = "a Command does nothing until awaited"]
pub struct Command {
    std: std::process::Command,
    stdin: Kind,
    stdout: Kind,
    stderr: Kind,
    limit: usize,
    kill_on_drop: bool,
}

impl Command {
    pub(crate) fn new(program: impl AsRef<OsStr>) -> Command {
        Command {
            std: std::process::Command::new(program),
            stdin: Kind::Inherit,
            stdout: Kind::Inherit,
            stderr: Kind::Inherit,
            limit: DEFAULT_LIMIT,
            kill_on_drop: false,
        }
    }

    /// Appends one argument.
    ///
    /// # Examples
    /// ```
    /// use asyncio::subprocess::{NO_ARGS, PIPE};
    /// # asyncio::run(async {
    /// let mut proc = asyncio::create_subprocess_exec("echo", NO_ARGS).arg("hi").stdout(PIPE).await?;
    /// assert_eq!(proc.communicate(None).await?.0, b"hi\n");
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Command {
        self.std.arg(arg);
        self
    }

    /// Appends arguments.
    ///
    /// # Examples
    /// ```
    /// use asyncio::subprocess::PIPE;
    /// # asyncio::run(async {
    /// let mut proc = asyncio::create_subprocess_exec("echo", ["a"]).args(["b", "c"]).stdout(PIPE).await?;
    /// assert_eq!(proc.communicate(None).await?.0, b"a b c\n");
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn args<I, S>(mut self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.std.args(args);
        self
    }

    /// Where the child's stdin comes from.
    ///
    /// # Examples
    /// ```
    /// use asyncio::subprocess::{NO_ARGS, PIPE};
    /// # asyncio::run(async {
    /// let mut proc = asyncio::create_subprocess_exec("cat", NO_ARGS).stdin(PIPE).stdout(PIPE).await?;
    /// let stdin = proc.stdin.take().unwrap();
    /// stdin.write(b"meow");
    /// stdin.drain().await?;
    /// stdin.close();
    /// assert_eq!(proc.stdout.as_mut().unwrap().read_to_end().await?, b"meow");
    /// assert_eq!(proc.wait().await, 0);
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn stdin(mut self, stdio: impl Into<Stdio>) -> Command {
        self.stdin = stdio.into().0;
        self
    }

    /// Where the child's stdout goes.
    ///
    /// # Examples
    /// See [`Command`].
    pub fn stdout(mut self, stdio: impl Into<Stdio>) -> Command {
        self.stdout = stdio.into().0;
        self
    }

    /// Where the child's stderr goes; [`STDOUT`](super::STDOUT) merges it into stdout.
    ///
    /// # Examples
    /// ```
    /// use asyncio::subprocess::{PIPE, STDOUT};
    /// # asyncio::run(async {
    /// let mut proc = asyncio::create_subprocess_shell("echo out; echo err >&2")
    ///     .stdout(PIPE)
    ///     .stderr(STDOUT)
    ///     .await?;
    /// let (out, err) = proc.communicate(None).await?;
    /// assert_eq!(out, b"out\nerr\n");
    /// assert!(err.is_empty());
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn stderr(mut self, stdio: impl Into<Stdio>) -> Command {
        self.stderr = stdio.into().0;
        self
    }

    /// The child's working directory.
    ///
    /// # Examples
    /// See [`Command`].
    pub fn cwd(mut self, dir: impl AsRef<Path>) -> Command {
        self.std.current_dir(dir);
        self
    }

    /// Sets one environment variable for the child.
    ///
    /// # Examples
    /// See [`Command`].
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Command {
        self.std.env(key, value);
        self
    }

    /// Sets several environment variables for the child.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let proc = asyncio::create_subprocess_shell("test \"$A$B\" = 12")
    ///     .envs([("A", "1"), ("B", "2")])
    ///     .await?;
    /// assert_eq!(proc.wait().await, 0);
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn envs<I, K, V>(mut self, vars: I) -> Command
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        self.std.envs(vars);
        self
    }

    /// Removes one variable from the child's environment.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let proc = asyncio::create_subprocess_shell("test -z \"$HOME\"").env_remove("HOME").await?;
    /// assert_eq!(proc.wait().await, 0);
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn env_remove(mut self, key: impl AsRef<OsStr>) -> Command {
        self.std.env_remove(key);
        self
    }

    /// Starts the child with an empty environment (plus what [`env`](Self::env) adds).
    ///
    /// # Examples
    /// ```
    /// use asyncio::subprocess::{NO_ARGS, PIPE};
    /// # asyncio::run(async {
    /// let mut proc = asyncio::create_subprocess_exec("/usr/bin/env", NO_ARGS)
    ///     .env_clear()
    ///     .env("ONLY", "me")
    ///     .stdout(PIPE)
    ///     .await?;
    /// assert_eq!(proc.communicate(None).await?.0, b"ONLY=me\n");
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn env_clear(mut self) -> Command {
        self.std.env_clear();
        self
    }

    /// The buffer limit of the stdout and stderr readers (asyncio's `limit`, 64 KiB by
    /// default).
    ///
    /// # Panics
    /// If `limit` is 0.
    ///
    /// # Examples
    /// ```
    /// use asyncio::subprocess::{NO_ARGS, PIPE};
    /// # asyncio::run(async {
    /// let proc = asyncio::create_subprocess_exec("true", NO_ARGS).stdout(PIPE).limit(10).await?;
    /// assert_eq!(proc.stdout.as_ref().unwrap().limit(), 10);
    /// # proc.wait().await;
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn limit(mut self, limit: usize) -> Command {
        assert!(limit > 0, "Limit cannot be <= 0");
        self.limit = limit;
        self
    }

    /// Whether dropping the [`Process`] kills a child that still runs (`SIGKILL`). Off by
    /// default, as in asyncio, where a child outlives its `Process` object.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let proc = asyncio::create_subprocess_exec("sleep", ["100"]).kill_on_drop(true).await?;
    /// drop(proc); // the child is killed, then reaped
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn kill_on_drop(mut self, kill: bool) -> Command {
        self.kill_on_drop = kill;
        self
    }

    /// Starts the child now, without awaiting.
    ///
    /// # Errors
    /// `NotFound` if the program does not exist, `PermissionDenied` if it cannot be run,
    /// `InvalidInput` for [`STDOUT`](super::STDOUT) anywhere but stderr, what `fork`/`exec`
    /// report otherwise.
    ///
    /// # Panics
    /// Outside a running loop.
    ///
    /// # Examples
    /// ```
    /// use asyncio::subprocess::NO_ARGS;
    /// # asyncio::run(async {
    /// let err = asyncio::create_subprocess_exec("/no/such/program", NO_ARGS).spawn().unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    /// # });
    /// ```
    pub fn spawn(self) -> io::Result<Process> {
        assert!(
            crate::try_get_running_loop().is_ok(),
            "create_subprocess: no running event loop"
        );
        let Command {
            mut std,
            stdin,
            stdout,
            stderr,
            limit,
            kill_on_drop,
        } = self;
        let merge = matches!(stderr, Kind::Stdout);
        let stdin = stdio::stdin(stdin)?;
        let stdout = stdio::output(stdout, merge)?;
        let stderr = if merge {
            stdio::Plan {
                child: stdout.dup.expect("made for the merge"),
                parent: None,
                dup: None,
            }
        } else {
            stdio::output(stderr, false)?
        };
        std.stdin(stdin.child)
            .stdout(stdout.child)
            .stderr(stderr.child);
        let child = std.spawn();
        // The Command holds the child's ends of the pipes: close ours now, or the readers
        // would never see end of file.
        drop(std);
        let child = child?;
        let pid = child.id();
        // std's handle owns nothing we need: the pipes are ours, and reaping is the reaper's.
        drop(child);
        let state = ChildState::watch(pid);
        Ok(Process {
            state,
            kill_on_drop,
            stdin: stdin
                .parent
                .map(|tx| Ok::<_, io::Error>(crate::streams::pipe_writer(PipeIo::writer(tx)?)))
                .transpose()?,
            stdout: stdout
                .parent
                .map(|rx| {
                    Ok::<_, io::Error>(crate::streams::pipe_reader(PipeIo::reader(rx)?, limit))
                })
                .transpose()?,
            stderr: stderr
                .parent
                .map(|rx| {
                    Ok::<_, io::Error>(crate::streams::pipe_reader(PipeIo::reader(rx)?, limit))
                })
                .transpose()?,
        })
    }
}

impl IntoFuture for Command {
    type Output = io::Result<Process>;
    type IntoFuture = Spawn;

    fn into_future(self) -> Spawn {
        Spawn(Some(self))
    }
}

/// The future of an awaited [`Command`]: starts the child when first polled.
///
/// # Cancel safety
/// Dropped before its first poll, no child is started; after that it is complete.
///
/// # Examples
/// ```
/// use asyncio::subprocess::NO_ARGS;
/// # asyncio::run(async {
/// let spawn: asyncio::subprocess::Spawn =
///     std::future::IntoFuture::into_future(asyncio::create_subprocess_exec("true", NO_ARGS));
/// assert_eq!(spawn.await?.wait().await, 0);
/// # std::io::Result::Ok(())
/// # }).unwrap();
/// ```
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct Spawn(Option<Command>);

impl Future for Spawn {
    type Output = io::Result<Process>;

    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<Process>> {
        let cmd = self.0.take().expect("Spawn polled after completion");
        Poll::Ready(cmd.spawn())
    }
}
