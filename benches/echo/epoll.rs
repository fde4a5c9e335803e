//! Workload 10, the physical reference: a minimal hand-written echo loop on one thread —
//! non-blocking std sockets, level-triggered `epoll_wait`, read, write. What is left is the
//! kernel's TCP work and the syscalls no readiness-based runtime can avoid.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::{AsRawFd, RawFd};

const LISTENER: u64 = u64::MAX;

struct Conn {
    sock: TcpStream,
    /// Bytes read but not yet written back; while any are left the connection waits for
    /// EPOLLOUT and does not read.
    pending: Vec<u8>,
    /// The connection's own read buffer, when each has one (as the runtimes' servers do);
    /// empty when all share the loop's.
    own: Vec<u8>,
    /// Lines of per-connection state in allocations of their own, each written once per
    /// wake-up (`epoll-cold`): what a runtime's scattered per-request state costs.
    #[allow(clippy::vec_box)] // the allocations of their own are the point
    cold: Vec<Box<[u64; 8]>>,
}

fn ctl(ep: RawFd, op: i32, fd: RawFd, events: u32, token: u64) {
    let mut ev = libc::epoll_event { events, u64: token };
    // SAFETY: `ep` is our epoll fd and `fd` a socket we own; `ev` outlives the call.
    let rc = unsafe { libc::epoll_ctl(ep, op, fd, &mut ev) };
    assert!(
        rc == 0 || op == libc::EPOLL_CTL_DEL,
        "epoll_ctl: {}",
        io::Error::last_os_error()
    );
}

/// Writes what is pending: `Some(true)` once all of it is written, `Some(false)` if the
/// socket is full, `None` if the connection failed.
fn write_pending(c: &mut Conn) -> Option<bool> {
    while !c.pending.is_empty() {
        match c.sock.write(&c.pending) {
            Ok(n) => drop(c.pending.drain(..n)),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Some(false),
            Err(_) => return None,
        }
    }
    Some(true)
}

/// Reads once and writes it back, keeping what the socket did not take as pending: the
/// bytes read (0 at the end), `Ok(None)` if nothing was there, `Err` if the connection failed.
fn read_and_echo(c: &mut Conn, buf: &mut [u8]) -> Result<Option<usize>, ()> {
    let n = match c.sock.read(buf) {
        Ok(0) => return Ok(Some(0)),
        Ok(n) => n,
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
        Err(_) => return Err(()),
    };
    match c.sock.write(&buf[..n]) {
        Ok(w) => c.pending.extend_from_slice(&buf[w..n]),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => c.pending.extend_from_slice(&buf[..n]),
        Err(_) => return Err(()),
    }
    Ok(Some(n))
}

/// Echoes what it can; returns false when the connection is done.
fn service(ep: RawFd, c: &mut Conn, buf: &mut [u8]) -> bool {
    let fd = c.sock.as_raw_fd();
    if !c.pending.is_empty() {
        match write_pending(c) {
            None => return false,
            Some(false) => return true,
            Some(true) => ctl(ep, libc::EPOLL_CTL_MOD, fd, libc::EPOLLIN as u32, fd as u64),
        }
    }
    match read_and_echo(c, buf) {
        Err(()) | Ok(Some(0)) => false,
        // Level-triggered: more input wakes us again.
        Ok(None) => true,
        Ok(Some(_)) if c.pending.is_empty() => true,
        Ok(Some(_)) => {
            ctl(
                ep,
                libc::EPOLL_CTL_MOD,
                fd,
                libc::EPOLLOUT as u32,
                fd as u64,
            );
            true
        }
    }
}

/// `service` for an edge-triggered registration of both directions, as mio registers
/// sockets: writes what is pending, then echoes until a read comes up short (the socket is
/// drained, and the next bytes bring a new edge) or would block.
fn service_edge(c: &mut Conn, buf: &mut [u8]) -> bool {
    loop {
        if !c.pending.is_empty() {
            match write_pending(c) {
                None => return false,
                Some(false) => return true,
                Some(true) => {}
            }
        }
        match read_and_echo(c, buf) {
            Err(()) | Ok(Some(0)) => return false,
            Ok(None) => return true,
            Ok(Some(n)) if c.pending.is_empty() && n < buf.len() => return true,
            Ok(Some(_)) => {}
        }
    }
}

/// How the epoll loop departs from the plainest one, to measure what each difference costs
/// (`Variant::default()` is the reference).
#[derive(Clone, Copy, Default)]
pub struct Variant {
    /// Each connection reads into a 64 KiB buffer of its own instead of the loop's one, as
    /// every runtime's server does (the kernel then copies into as many buffers).
    pub per_conn: bool,
    /// Sockets are registered edge-triggered for both directions, as mio registers them,
    /// instead of level-triggered for reading (and for writing only while a write is
    /// pending).
    pub edge: bool,
    /// Each connection's wake-up also writes that many cache lines of its own state, each in
    /// an allocation of its own, as a runtime's per-connection state is spread over its
    /// reactor entry, task, streams and socket (at 64 connections they are cold by the next
    /// request).
    pub cold_lines: usize,
}

/// Serves on a fresh port, announced by `announce`, until the process ends.
pub fn serve(announce: fn(u16), variant: Variant) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    // SAFETY: plain syscall; the result is checked.
    let ep = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
    assert!(ep >= 0, "epoll_create1: {}", io::Error::last_os_error());
    ctl(
        ep,
        libc::EPOLL_CTL_ADD,
        listener.as_raw_fd(),
        libc::EPOLLIN as u32,
        LISTENER,
    );
    announce(listener.local_addr().unwrap().port());

    let mut conns: HashMap<u64, Conn> = HashMap::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; 256];
    loop {
        // SAFETY: `events` is a live buffer of `events.len()` entries.
        let n = unsafe { libc::epoll_wait(ep, events.as_mut_ptr(), events.len() as i32, -1) };
        if n < 0 {
            assert_eq!(
                io::Error::last_os_error().kind(),
                io::ErrorKind::Interrupted
            );
            continue;
        }
        for ev in &events[..n as usize] {
            let token = ev.u64;
            if token == LISTENER {
                while let Ok((sock, _)) = listener.accept() {
                    sock.set_nonblocking(true).unwrap();
                    sock.set_nodelay(true).unwrap();
                    let fd = sock.as_raw_fd();
                    let interest = if variant.edge {
                        (libc::EPOLLIN | libc::EPOLLOUT | libc::EPOLLRDHUP | libc::EPOLLET) as u32
                    } else {
                        libc::EPOLLIN as u32
                    };
                    ctl(ep, libc::EPOLL_CTL_ADD, fd, interest, fd as u64);
                    conns.insert(
                        fd as u64,
                        Conn {
                            sock,
                            pending: Vec::new(),
                            cold: (0..variant.cold_lines).map(|_| Box::new([0; 8])).collect(),
                            own: if variant.per_conn {
                                vec![0u8; 64 * 1024]
                            } else {
                                Vec::new()
                            },
                        },
                    );
                }
            } else if let Some(c) = conns.get_mut(&token) {
                for line in &mut c.cold {
                    line[0] = std::hint::black_box(line[0]).wrapping_add(1);
                }
                let mut own = std::mem::take(&mut c.own);
                let buf = if own.is_empty() { &mut buf } else { &mut own };
                let open = if variant.edge {
                    service_edge(c, buf)
                } else {
                    service(ep, c, buf)
                };
                c.own = own;
                if !open {
                    ctl(ep, libc::EPOLL_CTL_DEL, c.sock.as_raw_fd(), 0, 0);
                    conns.remove(&token); // closes the socket
                }
            }
        }
    }
}
