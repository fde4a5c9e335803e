//! A connection over a socket the user connected already (asyncio's
//! `create_connection(sock=sock)`): checked, then wrapped as TCP or Unix by its family.

use super::conn::Sock;
use crate::net::{TcpStream, UnixStream};
use std::io;
use std::os::fd::OwnedFd;

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

/// Takes `fd` as a connection: a connected stream socket of family `AF_INET`, `AF_INET6` or
/// `AF_UNIX`.
///
/// # Errors
/// `InvalidInput` for a datagram socket (asyncio's "A Stream Socket was expected"), a
/// listening socket, another family, or an fd that is not a socket; `NotConnected` for a
/// socket not connected (or whose connection failed: its pending error is returned then).
pub(crate) fn adopt(fd: OwnedFd) -> io::Result<Sock> {
    let sock = socket2::Socket::from(fd);
    let ty = sock
        .r#type()
        .map_err(|e| invalid(format!("sock is not a socket: {e}")))?;
    if ty != socket2::Type::STREAM {
        return Err(invalid(format!(
            "A Stream Socket was expected, got a socket of type {ty:?}"
        )));
    }
    #[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
    if sock.is_listener()? {
        return Err(invalid(
            "A connected socket was expected, got a listening socket".to_owned(),
        ));
    }
    if let Err(e) = sock.peer_addr() {
        if let Some(pending) = sock.take_error()? {
            return Err(pending);
        }
        return Err(io::Error::new(
            io::ErrorKind::NotConnected,
            format!("A connected socket was expected: {e}"),
        ));
    }
    let family = sock.local_addr()?.family();
    match i32::from(family) {
        libc::AF_INET | libc::AF_INET6 => {
            TcpStream::from_std(std::net::TcpStream::from(sock)).map(Sock::Tcp)
        }
        libc::AF_UNIX => {
            UnixStream::from_std(std::os::unix::net::UnixStream::from(sock)).map(Sock::Unix)
        }
        other => Err(invalid(format!(
            "sock's family {other} is neither AF_INET, AF_INET6 nor AF_UNIX"
        ))),
    }
}
