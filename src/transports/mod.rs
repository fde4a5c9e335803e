//! Transports and protocols: asyncio's callback style for stream connections (TCP, Unix,
//! TLS over either).
//!
//! A [`Protocol`] is told what happens on its connection; a [`Transport`] is its handle on
//! the connection. A [`BufferedProtocol`] (run as [`Buffered`]) has the loop read into its
//! own buffer instead. The connection is the streams' (`streams::conn::Conn`), with the same
//! write semantics (buffering, water marks, `close` after the flush, `abort`, TLS); what
//! differs from the streams is reading: eager, by a driver task per connection (see
//! `driver.rs`), as asyncio's transports read.
//!
//! Made by [`LoopHandle::create_connection`](crate::LoopHandle::create_connection),
//! [`create_unix_connection`](crate::LoopHandle::create_unix_connection),
//! [`connect_accepted_socket`](crate::LoopHandle::connect_accepted_socket) (each gives the
//! transport and the protocol, as `Rc<RefCell<P>>`), and by the servers of
//! [`create_server`](crate::LoopHandle::create_server) and
//! [`create_unix_server`](crate::LoopHandle::create_unix_server), which are the streams'
//! [`Server`](crate::Server).

mod buffered;
mod connect;
mod driver;
mod protocol;
mod sendfile;
mod server;
mod transport;

pub use buffered::{AnyProtocol, Buffered, BufferedProtocol};
pub use connect::{ConnectAcceptedSocket, CreateConnection, CreateUnixConnection};
pub use protocol::Protocol;
pub use server::{CreateServer, CreateUnixServer};
pub use transport::Transport;
