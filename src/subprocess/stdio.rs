//! `Stdio`: where a child's stdin, stdout or stderr goes, and the pipes made for it.

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, OwnedFd};

/// Where a child's standard stream goes: [`PIPE`], [`DEVNULL`], [`STDOUT`] (for stderr),
/// [`Stdio::inherit`] (the default, asyncio's `None`), or a file (`From<File>`,
/// `From<OwnedFd>`).
///
/// # Examples
/// ```
/// use asyncio::subprocess::{Stdio, DEVNULL, PIPE, STDOUT};
/// # asyncio::run(async {
/// let log = std::fs::File::create(std::env::temp_dir().join("asyncio-stdio-doc.log"))?;
/// let proc = asyncio::create_subprocess_shell("echo hi; echo oops >&2")
///     .stdin(DEVNULL)
///     .stdout(Stdio::from(log))
///     .stderr(STDOUT)
///     .await?;
/// assert_eq!(proc.wait().await, 0);
/// # let _ = PIPE;
/// # std::io::Result::Ok(())
/// # }).unwrap();
/// ```
#[derive(Debug)]
pub struct Stdio(pub(crate) Kind);

#[derive(Debug)]
pub(crate) enum Kind {
    Inherit,
    Pipe,
    DevNull,
    /// stderr only: wherever stdout goes.
    Stdout,
    Fd(OwnedFd),
}

/// A new pipe between the child and the loop (asyncio's `subprocess.PIPE`).
pub const PIPE: Stdio = Stdio(Kind::Pipe);
/// `/dev/null` (asyncio's `subprocess.DEVNULL`).
pub const DEVNULL: Stdio = Stdio(Kind::DevNull);
/// For stderr: into the same place as stdout (asyncio's `subprocess.STDOUT`).
pub const STDOUT: Stdio = Stdio(Kind::Stdout);

impl Stdio {
    /// The parent's own stream, inherited (asyncio's `None`, the default).
    ///
    /// # Examples
    /// ```
    /// use asyncio::subprocess::NO_ARGS;
    /// # asyncio::run(async {
    /// let proc = asyncio::create_subprocess_exec("true", NO_ARGS)
    ///     .stdout(asyncio::subprocess::Stdio::inherit())
    ///     .await?;
    /// assert_eq!(proc.wait().await, 0);
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn inherit() -> Stdio {
        Stdio(Kind::Inherit)
    }
}

impl From<File> for Stdio {
    fn from(f: File) -> Stdio {
        Stdio(Kind::Fd(f.into()))
    }
}

impl From<OwnedFd> for Stdio {
    fn from(fd: OwnedFd) -> Stdio {
        Stdio(Kind::Fd(fd))
    }
}

/// What the child gets for one stream, and the parent's end when it is a pipe.
pub(crate) struct Plan<P> {
    pub(crate) child: std::process::Stdio,
    pub(crate) parent: Option<P>,
    /// A copy of the child's end, for stderr going to stdout.
    pub(crate) dup: Option<std::process::Stdio>,
}

fn dup_fd(fd: impl AsFd) -> io::Result<std::process::Stdio> {
    Ok(fd.as_fd().try_clone_to_owned()?.into())
}

fn invalid(msg: &'static str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

/// The child's stdin.
pub(crate) fn stdin(kind: Kind) -> io::Result<Plan<mio::unix::pipe::Sender>> {
    Ok(match kind {
        Kind::Pipe => {
            let (tx, rx) = mio::unix::pipe::new()?;
            // The child's end must block: it shares nothing with ours but must not surprise
            // a child that expects an ordinary blocking stdin.
            rx.set_nonblocking(false)?;
            Plan {
                child: OwnedFd::from(rx).into(),
                parent: Some(tx),
                dup: None,
            }
        }
        Kind::Stdout => return Err(invalid("STDOUT is only for stderr")),
        other => Plan {
            child: simple(other)?,
            parent: None,
            dup: None,
        },
    })
}

/// The child's stdout (or stderr); `want_dup` keeps a copy of the child's end for stderr.
pub(crate) fn output(kind: Kind, want_dup: bool) -> io::Result<Plan<mio::unix::pipe::Receiver>> {
    Ok(match kind {
        Kind::Pipe => {
            let (tx, rx) = mio::unix::pipe::new()?;
            tx.set_nonblocking(false)?;
            let child = OwnedFd::from(tx);
            let dup = if want_dup {
                Some(dup_fd(&child)?)
            } else {
                None
            };
            Plan {
                child: child.into(),
                parent: Some(rx),
                dup,
            }
        }
        Kind::Stdout => return Err(invalid("STDOUT is only for stderr")),
        Kind::Inherit => Plan {
            child: std::process::Stdio::inherit(),
            parent: None,
            dup: if want_dup {
                Some(dup_fd(io::stdout())?)
            } else {
                None
            },
        },
        Kind::DevNull => Plan {
            child: std::process::Stdio::null(),
            parent: None,
            dup: want_dup.then(std::process::Stdio::null),
        },
        Kind::Fd(fd) => {
            let dup = if want_dup { Some(dup_fd(&fd)?) } else { None };
            Plan {
                child: fd.into(),
                parent: None,
                dup,
            }
        }
    })
}

fn simple(kind: Kind) -> io::Result<std::process::Stdio> {
    Ok(match kind {
        Kind::Inherit => std::process::Stdio::inherit(),
        Kind::DevNull => std::process::Stdio::null(),
        Kind::Fd(fd) => fd.into(),
        Kind::Pipe | Kind::Stdout => unreachable!("handled by the callers"),
    })
}
