//! Name resolution on the blocking pool, and the order addresses are tried in.

use std::io;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};

/// Resolves `host` (a name or a literal address) and `port`, on the loop's blocking pool for
/// names (asyncio's `getaddrinfo` in the default executor). Literal addresses skip the pool.
///
/// # Errors
/// The resolver's error; `NotFound` if it returned nothing.
pub(crate) async fn resolve(host: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
    let literal = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = literal.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let name = host.to_owned();
    let addrs = crate::to_thread(move || {
        (name.as_str(), port)
            .to_socket_addrs()
            .map(|it| it.collect::<Vec<_>>())
    })
    .await
    .map_err(|e| io::Error::other(e.to_string()))??;
    if addrs.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            "getaddrinfo() returned empty list",
        ));
    }
    Ok(addrs)
}

/// Alternates address families, first family first (asyncio's `_interleave_addrinfos`, used
/// with happy eyeballs), so a broken family costs one stagger, not one per address.
pub(crate) fn interleave(addrs: Vec<SocketAddr>) -> Vec<SocketAddr> {
    let Some(first) = addrs.first().copied() else {
        return addrs;
    };
    let (mut same, mut other): (Vec<_>, Vec<_>) = addrs
        .into_iter()
        .partition(|a| a.is_ipv4() == first.is_ipv4());
    same.reverse();
    other.reverse();
    let mut out = Vec::with_capacity(same.len() + other.len());
    loop {
        match (same.pop(), other.pop()) {
            (None, None) => return out,
            (a, b) => out.extend(a.into_iter().chain(b)),
        }
    }
}

/// One error for a failed set of attempts, as asyncio's `create_connection` makes it: the
/// error itself if there was one or all are alike, else "Multiple exceptions" with the first
/// one's kind.
pub(crate) fn combine(mut errors: Vec<io::Error>) -> io::Error {
    if errors.is_empty() {
        return io::Error::new(io::ErrorKind::NotFound, "no address to connect to");
    }
    let first = errors[0].to_string();
    if errors.len() == 1 || errors.iter().all(|e| e.to_string() == first) {
        return errors.swap_remove(0);
    }
    let text: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
    io::Error::new(
        errors[0].kind(),
        format!("Multiple exceptions: {}", text.join(", ")),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interleaves_families() {
        let a: SocketAddr = "[::1]:1".parse().unwrap();
        let b: SocketAddr = "[::2]:1".parse().unwrap();
        let c: SocketAddr = "1.1.1.1:1".parse().unwrap();
        assert_eq!(interleave(vec![a, b, c]), vec![a, c, b]);
    }

    #[test]
    fn combines_errors() {
        let e = combine(vec![io::ErrorKind::ConnectionRefused.into()]);
        assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused);
        let e = combine(vec![
            io::Error::from_raw_os_error(libc::ECONNREFUSED),
            io::Error::from_raw_os_error(libc::ENETUNREACH),
        ]);
        assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused);
        assert!(e.to_string().starts_with("Multiple exceptions"));
    }
}
