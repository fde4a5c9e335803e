//! The addresses a TCP server listens on, as asyncio's `create_server` binds them for `host`
//! `None`, one host, or a sequence of hosts: every address of every host, each once, and
//! none at all if one of them fails.

use super::addr::StreamAddr;
use super::resolve::resolve;
use crate::net::sys::{BindOptions, bind_tcp};
use std::collections::HashSet;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener};

/// What a TCP server binds.
pub(super) enum Hosts {
    /// Every interface, IPv4 and IPv6 (`host` `None` or `""`).
    All,
    /// Every address of each of these hosts (names or literal addresses); none for an empty
    /// list.
    Each(Vec<String>),
}

impl Hosts {
    /// `start_server`'s `host`.
    pub(super) fn one(host: Option<&str>) -> Hosts {
        match host {
            None | Some("") => Hosts::All,
            Some(host) => Hosts::Each(vec![host.to_owned()]),
        }
    }

    /// Binds every address (listening only if `opts.listen`), in the order of the hosts and,
    /// within a host, of the resolver's answer, each address once.
    ///
    /// # Errors
    /// The first resolver error; or the first bind error, its message naming the address,
    /// after closing every socket already bound (asyncio closes them too).
    pub(super) async fn bind(&self, port: u16, opts: BindOptions) -> io::Result<Vec<TcpListener>> {
        let addrs = match self {
            Hosts::All => vec![
                SocketAddr::from((Ipv4Addr::UNSPECIFIED, port)),
                SocketAddr::from((Ipv6Addr::UNSPECIFIED, port)),
            ],
            Hosts::Each(hosts) => resolve_each(hosts, port).await?,
        };
        let mut listeners = Vec::with_capacity(addrs.len());
        for addr in addrs {
            match bind_tcp(addr, opts) {
                Ok(listener) => listeners.push(listener),
                // A machine without IPv6 still serves on IPv4 when asked for every interface.
                Err(e) if matches!(self, Hosts::All) && no_ipv6(addr, &e) => {}
                // Returning drops, and so closes, what was bound before.
                Err(e) => {
                    return Err(io::Error::new(
                        e.kind(),
                        format!(
                            "error while attempting to bind on address {}: {e}",
                            StreamAddr::Inet(addr)
                        ),
                    ));
                }
            }
        }
        Ok(listeners)
    }
}

/// Every address of every host, first seen first, without repeats. Several hosts are
/// resolved concurrently, as asyncio gathers its `getaddrinfo` calls.
async fn resolve_each(hosts: &[String], port: u16) -> io::Result<Vec<SocketAddr>> {
    let answers = match hosts {
        [] => Vec::new(),
        [host] => vec![resolve(host, port).await?],
        _ => {
            crate::try_gather(hosts.iter().map(|host| {
                let host = host.clone();
                async move { resolve(&host, port).await }
            }))
            .await?
        }
    };
    let mut seen = HashSet::new();
    Ok(answers
        .into_iter()
        .flatten()
        .filter(|addr| seen.insert(*addr))
        .collect())
}

/// `e`, binding `addr`, says the machine has no IPv6.
fn no_ipv6(addr: SocketAddr, e: &io::Error) -> bool {
    addr.is_ipv6()
        && matches!(
            e.raw_os_error(),
            Some(libc::EADDRNOTAVAIL | libc::EAFNOSUPPORT)
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_none_or_empty_means_every_interface() {
        assert!(matches!(Hosts::one(None), Hosts::All));
        assert!(matches!(Hosts::one(Some("")), Hosts::All));
        assert!(matches!(Hosts::one(Some("::1")), Hosts::Each(h) if h == ["::1"]));
    }
}
