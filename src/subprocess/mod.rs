//! Child processes on the loop (asyncio's `asyncio.subprocess`): start a program, talk to it
//! through non-blocking pipes registered in the reactor, wait for it without blocking the loop.
//!
//! [`create_subprocess_exec`] runs a program with arguments, [`create_subprocess_shell`] a
//! command line through `/bin/sh -c`. Both return a [`Command`] builder; awaiting it starts the
//! child and gives its [`Process`], whose pipes are a [`StreamWriter`](crate::StreamWriter)
//! (stdin) and [`StreamReader`](crate::StreamReader)s (stdout, stderr), as in asyncio.
//!
//! Children are watched with a pidfd in the reactor on Linux (a thread per child elsewhere),
//! reaped as soon as they exit with `waitpid(pid)` on their own pid only, so no zombie is left
//! and other code's children (`std::process::Command::status()` on another thread) are not
//! touched. The child starts with `SIGPIPE` at its default disposition and an empty signal
//! mask.
//!
//! # Examples
//! ```
//! use asyncio::subprocess::PIPE;
//! # asyncio::run(async {
//! let mut proc = asyncio::create_subprocess_shell("ls /zzz")
//!     .stdout(PIPE)
//!     .stderr(PIPE)
//!     .await?;
//! let (stdout, stderr) = proc.communicate(None).await?;
//! assert_eq!(proc.returncode(), Some(2));
//! assert!(stdout.is_empty());
//! assert!(String::from_utf8_lossy(&stderr).contains("/zzz"));
//! # std::io::Result::Ok(())
//! # }).unwrap();
//! ```

mod child;
mod command;
mod pipe;
mod process;
mod protocol;
mod sigpipe;
mod stdio;
mod thread_watch;

pub(crate) use child::{ChildState, returncode};
pub(crate) use pipe::PipeIo;

/// Watches a child spawned outside this module (the Python front's subprocesses).
pub(crate) fn watch_child(pid: u32) -> std::rc::Rc<ChildState> {
    ChildState::watch(pid)
}

pub use command::{Command, DEFAULT_LIMIT, Spawn};
pub use process::Process;
pub use protocol::{SubprocessProtocol, SubprocessSpawn, SubprocessTransport};
pub use stdio::{DEVNULL, PIPE, STDOUT, Stdio};

use std::ffi::OsStr;

/// No arguments, for [`create_subprocess_exec`] (`create_subprocess_exec("true", NO_ARGS)`):
/// an empty array whose element type is known.
pub const NO_ARGS: [&str; 0] = [];

/// Runs `program` with `args` as a child process; await the returned [`Command`] (after
/// setting its options) to start it (asyncio's `create_subprocess_exec`). The program is
/// looked up in `PATH` when it has no `/`.
///
/// # Errors
/// Awaiting gives `NotFound` if the program does not exist; see [`Command::spawn`].
///
/// # Examples
/// ```
/// use asyncio::subprocess::{NO_ARGS, PIPE};
/// # asyncio::run(async {
/// let mut proc = asyncio::create_subprocess_exec("echo", ["hello", "world"]).stdout(PIPE).await?;
/// assert_eq!(proc.communicate(None).await?.0, b"hello world\n");
/// let missing = asyncio::create_subprocess_exec("no-such-program-xyz", NO_ARGS).await;
/// assert_eq!(missing.unwrap_err().kind(), std::io::ErrorKind::NotFound);
/// # std::io::Result::Ok(())
/// # }).unwrap();
/// ```
pub fn create_subprocess_exec<I, S>(program: impl AsRef<OsStr>, args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    Command::new(program).args(args)
}

/// Runs `cmd` through the shell, `/bin/sh -c cmd` (asyncio's `create_subprocess_shell`).
/// As with any shell, quote what comes from users (or use [`create_subprocess_exec`]).
///
/// # Examples
/// ```
/// use asyncio::subprocess::PIPE;
/// # asyncio::run(async {
/// let mut proc = asyncio::create_subprocess_shell("echo $((6 * 7))").stdout(PIPE).await?;
/// assert_eq!(proc.communicate(None).await?.0, b"42\n");
/// # std::io::Result::Ok(())
/// # }).unwrap();
/// ```
pub fn create_subprocess_shell(cmd: impl AsRef<OsStr>) -> Command {
    Command::new("/bin/sh").args([OsStr::new("-c"), cmd.as_ref()])
}
