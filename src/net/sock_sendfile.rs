//! asyncio's `loop.sock_sendfile`: a file to a socket with `sendfile(2)`, or by reads and
//! sends where the kernel cannot.

use crate::reactor::Direction;
use crate::reactor::watch::Waiter;
use crate::runtime::LoopHandle;
use std::fs::File;
use std::future::poll_fn;
use std::io::{self, Seek, SeekFrom};
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::fs::FileExt;

/// The most one `sendfile` moves (Linux's own limit, a little under 2 GiB).
pub(crate) const MAX_CHUNK: u64 = 0x7fff_f000;
/// The buffer of the read-and-send fallback (asyncio's is 256 KiB at most).
const FALLBACK_CHUNK: u64 = 256 * 1024;

/// Whether `sendfile` failed because the kernel cannot do it for these fds, as asyncio's
/// `_sendfile_native` gives up on (then the fallback copies instead).
pub(crate) fn unsupported(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EINVAL | libc::ENOSYS | libc::EOPNOTSUPP | libc::ENOTSOCK)
    )
}

/// One `sendfile(2)` from `file` at `*offset` to `sock`, advancing `*offset`.
pub(crate) fn sendfile(
    sock: &impl AsRawFd,
    file: &File,
    offset: &mut u64,
    len: u64,
) -> io::Result<u64> {
    let mut off = libc::off_t::try_from(*offset)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "offset too large"))?;
    let len = len.min(MAX_CHUNK) as usize;
    // SAFETY: both fds are open while borrowed for the call, and `off` is a live `off_t` the
    // kernel reads and updates; no user memory is involved otherwise.
    let n = unsafe { libc::sendfile(sock.as_raw_fd(), file.as_raw_fd(), &mut off, len) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    *offset = off as u64;
    Ok(n as u64)
}

impl LoopHandle {
    /// Sends `file` from `offset`, `count` bytes or to its end when `None`, on the stream
    /// socket `sock` (asyncio's `loop.sock_sendfile`); the number of bytes sent.
    ///
    /// Uses `sendfile(2)`, which copies in the kernel; where it cannot be used for these
    /// fds, reads the file and sends what it read (asyncio's `fallback=True`). As in
    /// asyncio, the file's position is left just after the last byte sent, even on error.
    ///
    /// # Errors
    /// `InvalidInput` for a blocking socket (`sendfile` has no non-blocking flag); what the
    /// sends say (`BrokenPipe`, `ConnectionReset` when the peer goes away mid-way); what
    /// reading the file says; `AlreadyExists` when the socket is one of the loop's own.
    ///
    /// # Panics
    /// If awaited on another thread than the loop's.
    ///
    /// # Cancel safety
    /// Not cancel safe: when dropped part of the file may have been sent, and how much is
    /// lost (the file's position is not updated).
    ///
    /// # Examples
    /// ```
    /// use std::io::Read;
    /// # asyncio::run(async {
    /// let path = std::env::temp_dir().join(format!("sock_sendfile_doc_{}", std::process::id()));
    /// std::fs::write(&path, b"0123456789")?;
    /// let file = std::fs::File::open(&path)?;
    /// let (mut peer, sock) = std::os::unix::net::UnixStream::pair()?;
    /// sock.set_nonblocking(true)?;
    /// let lp = asyncio::get_running_loop();
    /// assert_eq!(lp.sock_sendfile(&sock, &file, 2, Some(5)).await?, 5);
    /// let mut buf = [0; 5];
    /// peer.read_exact(&mut buf)?;
    /// assert_eq!(&buf, b"23456");
    /// # std::fs::remove_file(&path)?;
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub async fn sock_sendfile(
        &self,
        sock: &impl AsFd,
        file: &File,
        offset: u64,
        count: Option<u64>,
    ) -> io::Result<u64> {
        self.watch_loop_id("sock_sendfile");
        let s = socket2::SockRef::from(sock);
        if !s.nonblocking()? {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "sock_sendfile: the socket must be non-blocking (call set_nonblocking(true) first)",
            ));
        }
        let mut position = offset;
        let result = self.send_file_from(sock, file, &mut position, count).await;
        // asyncio leaves the file just after what was sent, whatever happened.
        (&*file).seek(SeekFrom::Start(position))?;
        result.map(|()| position - offset)
    }

    async fn send_file_from(
        &self,
        sock: &impl AsFd,
        file: &File,
        position: &mut u64,
        count: Option<u64>,
    ) -> io::Result<()> {
        let end = count.map(|c| position.saturating_add(c));
        let fd = sock.as_fd().as_raw_fd();
        let mut waiter: Option<Waiter> = None;
        loop {
            let want = end.map_or(MAX_CHUNK, |end| end - *position);
            if want == 0 {
                return Ok(());
            }
            match sendfile(&sock.as_fd(), file, position, want) {
                Ok(0) => return Ok(()), // end of file
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if waiter.as_ref().is_none_or(Waiter::is_closed) {
                        waiter = Some(Waiter::new(fd, Direction::Write)?);
                    }
                    let w = waiter.as_ref().expect("made above");
                    w.clear();
                    poll_fn(|cx| w.poll_ready(cx)).await?;
                }
                Err(e) if unsupported(&e) => {
                    drop(waiter);
                    return self.copy_file(sock, file, position, end).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// The fallback: reads a chunk at `*position` and sends it, until `end` or end of file.
    async fn copy_file(
        &self,
        sock: &impl AsFd,
        file: &File,
        position: &mut u64,
        end: Option<u64>,
    ) -> io::Result<()> {
        let mut buf = vec![0; FALLBACK_CHUNK as usize];
        loop {
            let want = end.map_or(FALLBACK_CHUNK, |end| (end - *position).min(FALLBACK_CHUNK));
            if want == 0 {
                return Ok(());
            }
            let n = match file.read_at(&mut buf[..want as usize], *position) {
                Ok(0) => return Ok(()),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            self.sock_sendall(sock, &buf[..n]).await?;
            *position += n as u64;
        }
    }
}
