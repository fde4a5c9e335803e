//! `loop.connect_read_pipe` / `loop.connect_write_pipe`: streams over pipes, FIFOs, ttys and
//! sockets the caller already has (stdin, a child's stdout, `mkfifo`).
//!
//! The loop takes the file descriptor over, as asyncio's pipe transports take the file
//! object: it is made non-blocking, registered with the reactor, and closed with the stream.
//! Underneath is the subprocess module's `PipeIo`, the same path a child's pipes take.

#![forbid(unsafe_code)]

use crate::runtime::LoopHandle;
use crate::streams::{PipeConn, pipe_read_stream, pipe_writer};
use crate::subprocess::PipeIo;
use crate::{StreamReader, StreamWriter};
use std::fmt;
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::FileTypeExt;
use std::process::{ChildStderr, ChildStdin, ChildStdout};

/// A file descriptor the loop can take over for a pipe stream: what
/// [`LoopHandle::connect_read_pipe`] and [`LoopHandle::connect_write_pipe`] accept.
///
/// Owned descriptors ([`OwnedFd`], [`File`], a child's pipes, a Unix socket) are moved in and
/// closed with the stream, as asyncio closes the pipe it was given. The standard streams
/// ([`io::Stdin`], [`io::Stdout`], [`io::Stderr`]) are duplicated instead, so closing the
/// stream leaves the process's fd 0/1/2 open; the duplicate shares the open file, so the
/// standard stream becomes non-blocking too, as it does in asyncio.
///
/// # Examples
/// ```
/// use asyncio::net::IntoPipe;
/// let fd = std::io::stdin().into_pipe_fd().unwrap(); // a duplicate of fd 0
/// # drop(fd);
/// ```
pub trait IntoPipe {
    /// The descriptor the loop will own.
    ///
    /// # Errors
    /// When duplicating a standard stream fails (`EMFILE`, …).
    fn into_pipe_fd(self) -> io::Result<OwnedFd>;
}

macro_rules! owned_pipe {
    ($($ty:ty),*) => {$(
        impl IntoPipe for $ty {
            fn into_pipe_fd(self) -> io::Result<OwnedFd> {
                Ok(self.into())
            }
        }
    )*};
}
owned_pipe!(
    OwnedFd,
    File,
    ChildStdin,
    ChildStdout,
    ChildStderr,
    std::os::unix::net::UnixStream
);

macro_rules! std_stream {
    ($($ty:ty),*) => {$(
        impl IntoPipe for $ty {
            fn into_pipe_fd(self) -> io::Result<OwnedFd> {
                self.as_fd().try_clone_to_owned()
            }
        }
    )*};
}
std_stream!(io::Stdin, io::Stdout, io::Stderr);

/// The transport of [`LoopHandle::connect_read_pipe`] (asyncio's read pipe transport): closes
/// the pipe while its reader lives on.
///
/// # Examples
/// ```
/// # asyncio::run(async {
/// let child = std::process::Command::new("true")
///     .stdout(std::process::Stdio::piped())
///     .spawn()?;
/// let lp = asyncio::get_running_loop();
/// let (_reader, transport) = lp.connect_read_pipe(child.stdout.unwrap()).await?;
/// transport.close();
/// assert!(transport.is_closing());
/// # std::io::Result::Ok(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct ReadPipeTransport {
    conn: PipeConn,
}

impl ReadPipeTransport {
    /// Stops reading and closes the pipe (asyncio's `transport.close()`); the reader then
    /// sees end of file once its buffer is read.
    ///
    /// # Examples
    /// See [`ReadPipeTransport`].
    pub fn close(&self) {
        self.conn.close();
    }

    /// Whether the pipe is closed or closing.
    ///
    /// # Examples
    /// See [`ReadPipeTransport`].
    pub fn is_closing(&self) -> bool {
        self.conn.is_closing()
    }
}

impl fmt::Debug for ReadPipeTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadPipeTransport")
            .field("closing", &self.is_closing())
            .finish()
    }
}

/// Refuses what asyncio refuses (a regular file, a directory, a block device: they are always
/// "ready", so the reactor could not wait on them) and makes the rest non-blocking.
fn take_pipe(pipe: impl IntoPipe) -> io::Result<OwnedFd> {
    let file = File::from(pipe.into_pipe_fd()?);
    let kind = file.metadata()?.file_type();
    if !(kind.is_fifo() || kind.is_socket() || kind.is_char_device()) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "Pipe transport is for pipes/sockets only.",
        ));
    }
    Ok(file.into())
}

fn check_loop(handle: &LoopHandle, what: &str) {
    let running = crate::try_get_running_loop();
    assert!(
        running.is_ok_and(|lp| lp.same_loop(handle)),
        "{what} must be called from the loop's own thread while it runs"
    );
}

impl LoopHandle {
    /// Reads a pipe through a [`StreamReader`] (asyncio's `connect_read_pipe` with a
    /// `StreamReaderProtocol`): stdin, a child's stdout, a FIFO, a tty or a socket. The loop
    /// takes `pipe` over (see [`IntoPipe`]) and closes it with the reader or the transport.
    /// The reader sees end of file when every writer has closed its end.
    ///
    /// # Errors
    /// `InvalidInput` "Pipe transport is for pipes/sockets only." for a regular file, a
    /// directory or a block device; the OS error when the descriptor cannot be made
    /// non-blocking or registered (`/dev/null`, which epoll refuses).
    ///
    /// # Panics
    /// Off the loop's own thread, or when the loop is not running.
    ///
    /// # Cancel safety
    /// Dropping the future before it finishes closes the pipe (it owns it).
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let child = std::process::Command::new("echo")
    ///     .arg("hello")
    ///     .stdout(std::process::Stdio::piped())
    ///     .spawn()?;
    /// let lp = asyncio::get_running_loop();
    /// let (mut reader, _transport) = lp.connect_read_pipe(child.stdout.unwrap()).await?;
    /// assert_eq!(reader.read_to_end().await?, b"hello\n");
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub async fn connect_read_pipe(
        &self,
        pipe: impl IntoPipe,
    ) -> io::Result<(StreamReader, ReadPipeTransport)> {
        check_loop(self, "connect_read_pipe");
        let rx = mio::unix::pipe::Receiver::from(take_pipe(pipe)?);
        rx.set_nonblocking(true)?;
        let (reader, conn) = pipe_read_stream(PipeIo::reader(rx)?);
        Ok((reader, ReadPipeTransport { conn }))
    }

    /// Writes to a pipe through a [`StreamWriter`] (asyncio's `connect_write_pipe`): stdout,
    /// a child's stdin, a FIFO, a tty or a socket. The loop takes `pipe` over (see
    /// [`IntoPipe`]); [`StreamWriter::close`] closes it, and the reader at the other end then
    /// sees end of file. Writing after the reader went away fails with `BrokenPipe` (from
    /// [`drain`](StreamWriter::drain)), never `SIGPIPE`.
    ///
    /// # Errors
    /// As [`connect_read_pipe`](LoopHandle::connect_read_pipe).
    ///
    /// # Panics
    /// Off the loop's own thread, or when the loop is not running.
    ///
    /// # Cancel safety
    /// Dropping the future before it finishes closes the pipe (it owns it).
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let mut child = std::process::Command::new("cat")
    ///     .stdin(std::process::Stdio::piped())
    ///     .stdout(std::process::Stdio::null())
    ///     .spawn()?;
    /// let lp = asyncio::get_running_loop();
    /// let writer = lp.connect_write_pipe(child.stdin.take().unwrap()).await?;
    /// writer.write(b"to cat\n");
    /// writer.drain().await?;
    /// writer.close();
    /// writer.wait_closed().await?;
    /// # let _ = child.wait();
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub async fn connect_write_pipe(&self, pipe: impl IntoPipe) -> io::Result<StreamWriter> {
        check_loop(self, "connect_write_pipe");
        let tx = mio::unix::pipe::Sender::from(take_pipe(pipe)?);
        tx.set_nonblocking(true)?;
        Ok(pipe_writer(PipeIo::writer(tx)?))
    }
}
