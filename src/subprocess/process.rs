//! `Process`: a started child (asyncio's `asyncio.subprocess.Process`).

use super::child::{self, ChildState};
use crate::{StreamReader, StreamWriter};
use std::future::{Future, poll_fn};
use std::io;
use std::os::unix::process::ExitStatusExt;
use std::pin::pin;
use std::process::ExitStatus;
use std::rc::Rc;
use std::task::Poll;

/// A child process started by [`create_subprocess_exec`](crate::create_subprocess_exec) or
/// [`create_subprocess_shell`](crate::create_subprocess_shell).
///
/// The pipes asked for with [`PIPE`](super::PIPE) are in `stdin`, `stdout` and `stderr`
/// (`None` otherwise); take them out (`proc.stdout.take()`) to use them in other tasks.
///
/// The child is reaped as soon as it exits, whether or not anyone awaits
/// [`wait`](Self::wait): no zombie is left, even when the `Process` is dropped. Dropping it
/// does not stop the child unless the builder asked for
/// [`kill_on_drop`](super::Command::kill_on_drop).
///
/// # Examples
/// ```
/// use asyncio::subprocess::PIPE;
/// # asyncio::run(async {
/// let mut proc = asyncio::create_subprocess_exec("tr", ["a-z", "A-Z"])
///     .stdin(PIPE)
///     .stdout(PIPE)
///     .await?;
/// let (out, _) = proc.communicate(Some(b"shout")).await?;
/// assert_eq!(out, b"SHOUT");
/// assert_eq!(proc.returncode(), Some(0));
/// # std::io::Result::Ok(())
/// # }).unwrap();
/// ```
#[derive(Debug)]
pub struct Process {
    pub(crate) state: Rc<ChildState>,
    pub(crate) kill_on_drop: bool,
    /// The child's stdin, if it is [`PIPE`](super::PIPE).
    pub stdin: Option<StreamWriter>,
    /// The child's stdout, if it is [`PIPE`](super::PIPE).
    pub stdout: Option<StreamReader>,
    /// The child's stderr, if it is [`PIPE`](super::PIPE).
    pub stderr: Option<StreamReader>,
}

impl Process {
    /// The child's process id.
    ///
    /// # Examples
    /// ```
    /// use asyncio::subprocess::NO_ARGS;
    /// # asyncio::run(async {
    /// let proc = asyncio::create_subprocess_exec("true", NO_ARGS).await?;
    /// assert!(proc.pid() > 0);
    /// # proc.wait().await;
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn pid(&self) -> u32 {
        self.state.pid
    }

    /// The exit code once the child has exited and been reaped: `None` while it runs, minus
    /// the signal number if a signal killed it (asyncio's `returncode`).
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let proc = asyncio::create_subprocess_exec("sleep", ["10"]).await?;
    /// assert_eq!(proc.returncode(), None);
    /// proc.kill()?;
    /// proc.wait().await;
    /// assert_eq!(proc.returncode(), Some(-9));
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn returncode(&self) -> Option<i32> {
        self.state.status().map(child::returncode)
    }

    /// The child's status as std's `ExitStatus`, once it has been reaped.
    ///
    /// # Examples
    /// ```
    /// use asyncio::subprocess::NO_ARGS;
    /// # asyncio::run(async {
    /// let proc = asyncio::create_subprocess_exec("false", NO_ARGS).await?;
    /// proc.wait().await;
    /// assert_eq!(proc.exit_status().unwrap().code(), Some(1));
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn exit_status(&self) -> Option<ExitStatus> {
        self.state.status().map(ExitStatus::from_raw)
    }

    /// Waits for the child to exit and returns its [`returncode`](Self::returncode).
    ///
    /// As in asyncio, waiting while the child writes to a pipe nobody reads can deadlock:
    /// the child blocks on the full pipe. Read the pipes, or use
    /// [`communicate`](Self::communicate).
    ///
    /// # Cancel safety
    /// Cancel safe: the child is reaped anyway, and a later `wait` returns the status.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let proc = asyncio::create_subprocess_shell("exit 3").await?;
    /// assert_eq!(proc.wait().await, 3);
    /// assert_eq!(proc.wait().await, 3);
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub async fn wait(&self) -> i32 {
        child::returncode(self.state.wait().await)
    }

    /// Sends `input` (if any) to stdin and closes it, while reading stdout and stderr to the
    /// end, all at once; then waits for the child to exit (asyncio's `communicate`). Returns
    /// what the child wrote to stdout and stderr: empty for a stream that is not a pipe.
    ///
    /// A child that exits without reading all its input is not an error: as asyncio does,
    /// `communicate` ignores the broken pipe. The pipes are used up: `stdin`, `stdout` and
    /// `stderr` are `None` afterwards.
    ///
    /// # Errors
    /// A read error on stdout or stderr.
    ///
    /// # Cancel safety
    /// Cancel safe: what was read stays buffered in `stdout`/`stderr`, and a later
    /// `communicate` returns it with the rest (and writes its own input again, as asyncio does).
    ///
    /// # Examples
    /// See [`Process`].
    pub async fn communicate(&mut self, input: Option<&[u8]>) -> io::Result<(Vec<u8>, Vec<u8>)> {
        // The pipes stay in `self` until everything is read: a cancelled `communicate` loses
        // nothing (bytes read so far stay buffered) and a later one goes on, as in asyncio.
        let stdin = self.stdin.clone();
        let feed = async {
            if let Some(stdin) = stdin {
                if let Some(input) = input {
                    stdin.write(input);
                    // communicate() ignores BrokenPipeError and ConnectionResetError.
                    let _ = stdin.drain().await;
                }
                stdin.close();
                let _ = stdin.wait_closed().await;
            }
        };
        let out = read_all(self.stdout.as_mut());
        let err = read_all(self.stderr.as_mut());
        let (_, out, err) = join3(feed, out, err).await;
        let (out, err) = (out?, err?);
        self.stdin = None;
        self.stdout = None;
        self.stderr = None;
        self.wait().await;
        Ok((out, err))
    }

    /// Sends signal `sig` to the child (asyncio's `send_signal`).
    ///
    /// # Errors
    /// `ESRCH` (Python's `ProcessLookupError`) once the child has exited and been reaped: no
    /// signal is ever sent to a reaped pid, which may belong to another process by now.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let proc = asyncio::create_subprocess_exec("sleep", ["10"]).await?;
    /// proc.send_signal(libc::SIGINT)?;
    /// assert_eq!(proc.wait().await, -libc::SIGINT);
    /// assert_eq!(proc.send_signal(libc::SIGINT).unwrap_err().raw_os_error(), Some(libc::ESRCH));
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn send_signal(&self, sig: i32) -> io::Result<()> {
        self.state.send_signal(sig)
    }

    /// Sends `SIGTERM` (asyncio's `terminate`).
    ///
    /// # Errors
    /// As [`send_signal`](Self::send_signal).
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let proc = asyncio::create_subprocess_exec("sleep", ["10"]).await?;
    /// proc.terminate()?;
    /// assert_eq!(proc.wait().await, -15);
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn terminate(&self) -> io::Result<()> {
        self.send_signal(libc::SIGTERM)
    }

    /// Sends `SIGKILL` (asyncio's `kill`).
    ///
    /// # Errors
    /// As [`send_signal`](Self::send_signal).
    ///
    /// # Examples
    /// See [`returncode`](Self::returncode).
    pub fn kill(&self) -> io::Result<()> {
        self.send_signal(libc::SIGKILL)
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if self.kill_on_drop && self.state.status().is_none() {
            let _ = self.state.send_signal(libc::SIGKILL);
        }
    }
}

async fn read_all(pipe: Option<&mut StreamReader>) -> io::Result<Vec<u8>> {
    match pipe {
        Some(p) => p.read_to_end().await,
        None => Ok(Vec::new()),
    }
}

/// Polls three futures together until all are done.
async fn join3<A, B, C>(a: A, b: B, c: C) -> (A::Output, B::Output, C::Output)
where
    A: Future,
    B: Future,
    C: Future,
{
    let (mut a, mut b, mut c) = (pin!(a), pin!(b), pin!(c));
    let (mut ra, mut rb, mut rc) = (None, None, None);
    poll_fn(|cx| {
        if ra.is_none() {
            if let Poll::Ready(v) = a.as_mut().poll(cx) {
                ra = Some(v);
            }
        }
        if rb.is_none() {
            if let Poll::Ready(v) = b.as_mut().poll(cx) {
                rb = Some(v);
            }
        }
        if rc.is_none() {
            if let Poll::Ready(v) = c.as_mut().poll(cx) {
                rc = Some(v);
            }
        }
        if ra.is_some() && rb.is_some() && rc.is_some() {
            Poll::Ready((ra.take().unwrap(), rb.take().unwrap(), rc.take().unwrap()))
        } else {
            Poll::Pending
        }
    })
    .await
}
