//! `sendfile` on a transport, a stream writer and the loop (asyncio's `loop.sendfile`); the
//! work is the connection's (`streams::conn::sendfile`).

use super::Transport;
use crate::StreamWriter;
use crate::runtime::LoopHandle;
use std::fs::File;
use std::io;

impl Transport {
    /// Sends `count` bytes of `file` from `offset`, or to its end with `None`, on this
    /// connection (asyncio's `loop.sendfile(transport, file, offset, count)`); the number of
    /// bytes sent.
    ///
    /// What was written before is sent first. On TCP, Unix sockets and pipes the file goes
    /// by `sendfile(2)`, from the page cache to the socket without a copy through user
    /// memory; over TLS, or where the kernel cannot (`EINVAL`, `ENOSYS`), it is read and
    /// written in chunks, the buffer draining in between (asyncio's `fallback=True`).
    /// Meanwhile, as in asyncio, reading is paused (no `data_received`), the protocol hears
    /// no `pause_writing` / `resume_writing` for the file's bytes, and
    /// [`write`](Self::write) is refused: an error is logged and the data dropped (asyncio
    /// raises `RuntimeError`). A [`close`](Self::close) meanwhile waits for the file.
    /// The file's position is left just after the last byte sent.
    ///
    /// # Errors
    /// `NotConnected` if the transport is closing; `ResourceBusy` if another sendfile runs
    /// on it; `InvalidInput` for `count == Some(0)`; what the sends say (`BrokenPipe`,
    /// `ConnectionReset` when the peer goes away mid-way), which also loses the connection
    /// (the socket is closed, [`connection_lost`](crate::Protocol::connection_lost) gets the
    /// error); what reading the file says.
    ///
    /// # Cancel safety
    /// Dropping the future stops the sending; how much of the file went is lost, and the
    /// stream is then cut in an unknown place (close the transport).
    ///
    /// # Examples
    /// ```
    /// # struct Quiet;
    /// # impl asyncio::Protocol for Quiet {}
    /// # asyncio::run(async {
    /// let path = std::env::temp_dir().join(format!("transport_sendfile_doc_{}", std::process::id()));
    /// std::fs::write(&path, b"0123456789")?;
    /// let file = std::fs::File::open(&path)?;
    /// let (a, b) = asyncio::net::UnixStream::pair()?;
    /// let (transport, _p) = asyncio::get_running_loop().connect_accepted_socket(|| Quiet, a).await?;
    /// transport.write(b"head:");
    /// assert_eq!(transport.sendfile(&file, 2, Some(5)).await?, 5);
    /// transport.close();
    /// let (mut reader, _w) = asyncio::open_socket(b);
    /// assert_eq!(reader.read_to_end().await?, b"head:23456");
    /// # std::fs::remove_file(&path)?;
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub async fn sendfile(&self, file: &File, offset: u64, count: Option<u64>) -> io::Result<u64> {
        let resume = self.is_reading();
        self.pause_reading();
        let _resume = ResumeOnDrop(resume.then_some(self));
        self.shared.conn.sendfile(file, offset, count).await
    }
}

/// Reads again once the file is sent, if the transport was reading before.
struct ResumeOnDrop<'a>(Option<&'a Transport>);

impl Drop for ResumeOnDrop<'_> {
    fn drop(&mut self) {
        if let Some(t) = self.0 {
            t.resume_reading();
        }
    }
}

impl StreamWriter {
    /// Sends `count` bytes of `file` from `offset`, or to its end with `None`, after what
    /// was written before (asyncio's `loop.sendfile(writer.transport, file, offset,
    /// count)`); the number of bytes sent. `sendfile(2)` on TCP, Unix sockets and pipes, reads
    /// and writes over TLS; see [`Transport::sendfile`] for the details, the errors and what
    /// dropping the future loses.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let path = std::env::temp_dir().join(format!("writer_sendfile_doc_{}", std::process::id()));
    /// std::fs::write(&path, b"hello from a file\n")?;
    /// let file = std::fs::File::open(&path)?;
    /// let (a, b) = asyncio::net::UnixStream::pair()?;
    /// let (_r, writer) = asyncio::open_socket(a);
    /// assert_eq!(writer.sendfile(&file, 0, None).await?, 18);
    /// writer.close();
    /// let (mut reader, _w) = asyncio::open_socket(b);
    /// assert_eq!(reader.read_to_end().await?, b"hello from a file\n");
    /// # std::fs::remove_file(&path)?;
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub async fn sendfile(&self, file: &File, offset: u64, count: Option<u64>) -> io::Result<u64> {
        self.conn().sendfile(file, offset, count).await
    }
}

impl LoopHandle {
    /// asyncio's `loop.sendfile(transport, file, offset, count)`: the same as
    /// [`transport.sendfile(file, offset, count)`](Transport::sendfile), which see (errors,
    /// what dropping the future loses).
    ///
    /// # Examples
    /// ```
    /// # struct Quiet;
    /// # impl asyncio::Protocol for Quiet {}
    /// # asyncio::run(async {
    /// let path = std::env::temp_dir().join(format!("loop_sendfile_doc_{}", std::process::id()));
    /// std::fs::write(&path, b"abc")?;
    /// let file = std::fs::File::open(&path)?;
    /// let lp = asyncio::get_running_loop();
    /// let (a, _b) = asyncio::net::UnixStream::pair()?;
    /// let (transport, _p) = lp.connect_accepted_socket(|| Quiet, a).await?;
    /// assert_eq!(lp.sendfile(&transport, &file, 0, None).await?, 3);
    /// # std::fs::remove_file(&path)?;
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub async fn sendfile(
        &self,
        transport: &Transport,
        file: &File,
        offset: u64,
        count: Option<u64>,
    ) -> io::Result<u64> {
        transport.sendfile(file, offset, count).await
    }
}
