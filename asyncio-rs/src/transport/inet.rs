//! IPv4 datagrams with the system calls: `sendto(2)` and `recvfrom(2)` on a `sockaddr_in`,
//! and the numeric `(host, port)` tuples Python's socket gives and takes for it.

use pyo3::prelude::*;
use pyo3::types::{PyString, PyTuple};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::RawFd;

/// A numeric IPv4 `(host, port)`, or `None` for what Python's socket must parse.
pub(crate) fn inet_target(addr: &Bound<'_, PyAny>) -> Option<SocketAddrV4> {
    let t = addr.cast::<PyTuple>().ok()?;
    if t.len() != 2 {
        return None;
    }
    let host = t.get_item(0).ok()?;
    let ip: Ipv4Addr = host.cast::<PyString>().ok()?.to_str().ok()?.parse().ok()?;
    let port: u16 = t.get_item(1).ok()?.extract().ok()?;
    Some(SocketAddrV4::new(ip, port))
}

fn sockaddr(addr: &SocketAddrV4) -> libc::sockaddr_in {
    libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: addr.port().to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from(*addr.ip()).to_be(),
        },
        sin_zero: [0; 8],
    }
}

pub(crate) fn sendto(fd: RawFd, data: &[u8], to: &SocketAddrV4) -> std::io::Result<usize> {
    let sa = sockaddr(to);
    loop {
        // SAFETY: `data` is valid for reads of its length and `sa` is a `sockaddr_in` of the
        // size given, both for the call's duration.
        let n = unsafe {
            libc::sendto(
                fd,
                data.as_ptr().cast(),
                data.len(),
                0,
                (&sa as *const libc::sockaddr_in).cast(),
                std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
            )
        };
        if n >= 0 {
            return Ok(n as usize);
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// `recvfrom(2)` into `buf`: the length read and the sender, if an IPv4 one.
pub(crate) fn recvfrom(
    fd: RawFd,
    buf: &mut [u8],
) -> std::io::Result<(usize, Option<SocketAddrV4>)> {
    loop {
        // SAFETY: all-zero is a valid `sockaddr_in` (a plain C struct).
        let mut sa: libc::sockaddr_in = unsafe { std::mem::zeroed() };
        let mut len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        // SAFETY: `buf` is valid for writes of its length, `sa` for `len` bytes, and `len`
        // for the kernel's write of the address length, for the call's duration.
        let n = unsafe {
            libc::recvfrom(
                fd,
                buf.as_mut_ptr().cast(),
                buf.len(),
                0,
                (&mut sa as *mut libc::sockaddr_in).cast(),
                &mut len,
            )
        };
        if n >= 0 {
            let from = (sa.sin_family == libc::AF_INET as libc::sa_family_t).then(|| {
                SocketAddrV4::new(
                    Ipv4Addr::from(u32::from_be(sa.sin_addr.s_addr)),
                    u16::from_be(sa.sin_port),
                )
            });
            return Ok((n as usize, from));
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}
