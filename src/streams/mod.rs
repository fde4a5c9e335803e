//! Streams: high-level connections with buffered readers and writers (asyncio's streams).
//!
//! [`open_connection`] and [`start_server`] (and their Unix twins) hand out a
//! [`StreamReader`] and a [`StreamWriter`] per connection. The reader reads lazily from the
//! socket in its own task; the writer sends at once when it can and leaves the rest to a
//! background flush, with [`StreamWriter::drain`] as the flow control. See `conn.rs` for the
//! states of a connection.

pub(crate) mod accept;
mod addr;
mod buffer;
pub(crate) mod conn;
pub(crate) mod connect;
mod connect_errors;
mod connected_sock;
mod error;
mod happy_eyeballs;
mod hosts;
mod reader;
mod resolve;
mod separator;
mod server;
mod sock;
pub(crate) mod start;
pub(crate) mod start_unix;
#[cfg(feature = "tls")]
pub(crate) mod tls;
mod writer;

pub use addr::StreamAddr;
pub use connect::{
    OpenConnection, OpenUnixConnection, StreamSocket, Streams, open_connection, open_socket,
    open_unix_connection,
};
pub use connect_errors::ConnectErrors;
pub use error::{IncompleteReadError, LimitOverrunError, ReadError};
pub use reader::StreamReader;
pub use separator::Separators;
pub use server::Server;
pub use start::{HandlerOutput, StartServer, start_server};
pub use start_unix::{StartUnixServer, start_unix_server};
#[cfg(feature = "tls")]
pub use writer::StartTls;
pub use writer::StreamWriter;

/// TLS for streams with rustls (feature `tls`): the [`TlsContext`](crate::tls::TlsContext) given to
/// `open_connection(..).ssl(..)`, `start_server(..).ssl(..)` and
/// [`StreamWriter::start_tls`], and the `rustls` crate to build it with.
#[cfg(feature = "tls")]
pub mod tls_api {
    pub use super::tls::TlsContext;
    pub use rustls;
}

/// A reader over a child's stdout or stderr (for `subprocess`).
pub(crate) fn pipe_reader(pipe: crate::subprocess::PipeIo, limit: usize) -> StreamReader {
    let conn = conn::Conn::new(conn::Sock::Pipe(pipe));
    StreamReader::from_source(reader::Source::Conn(conn), limit)
}

/// A writer over a child's stdin (for `subprocess`).
pub(crate) fn pipe_writer(pipe: crate::subprocess::PipeIo) -> StreamWriter {
    StreamWriter::new(conn::Conn::new(conn::Sock::Pipe(pipe)))
}

#[cfg(test)]
mod tests;

#[cfg(feature = "tls")]
pub(crate) use tls::TlsSetup;

/// Without the `tls` feature there are no TLS options: `Option<TlsSetup>` is always `None`,
/// and the code that would run a handshake needs no `cfg` of its own.
#[cfg(not(feature = "tls"))]
#[derive(Clone, Debug)]
pub(crate) enum TlsSetup {}

#[cfg(not(feature = "tls"))]
impl TlsSetup {
    pub(crate) async fn handshake(&self, _conn: &conn::Conn) -> std::io::Result<()> {
        match *self {}
    }
}

/// The connection under a pipe's stream, kept by the pipe's transport handle (in `net::pipe`)
/// so that it can close the pipe while the stream lives.
#[derive(Clone)]
pub(crate) struct PipeConn(std::rc::Rc<conn::Conn>);

impl PipeConn {
    pub(crate) fn close(&self) {
        self.0.close();
    }

    pub(crate) fn is_closing(&self) -> bool {
        self.0.is_closing()
    }
}

/// A reader over any pipe the loop took (`connect_read_pipe`), with its connection.
pub(crate) fn pipe_read_stream(pipe: crate::subprocess::PipeIo) -> (StreamReader, PipeConn) {
    let conn = conn::Conn::new(conn::Sock::Pipe(pipe));
    let reader =
        StreamReader::from_source(reader::Source::Conn(conn.clone()), reader::DEFAULT_LIMIT);
    (reader, PipeConn(conn))
}
