//! `start_server(..).hosts([..])`: every address of every host bound once, served by one
//! server, and nothing left bound when one of them fails (asyncio's `host` as a sequence).

use asyncio::{Server, StreamReader, StreamWriter, open_connection, start_server};
use std::io::ErrorKind;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};

async fn idle(_r: StreamReader, _w: StreamWriter) {
    asyncio::sleep(3600).await;
}

fn addrs_of(server: &Server) -> Vec<SocketAddr> {
    server
        .sockets()
        .iter()
        .map(|a| a.as_inet().unwrap())
        .collect()
}

/// Whether this machine can listen on `::1`; the IPv6 tests skip themselves where not.
fn has_ipv6_loopback() -> bool {
    let ok = std::net::TcpListener::bind("[::1]:0").is_ok();
    if !ok {
        eprintln!("skipped: cannot listen on ::1");
    }
    ok
}

#[asyncio::test]
async fn one_server_accepts_on_every_host() {
    if !has_ipv6_loopback() {
        return;
    }
    let server = start_server(|_r, w: StreamWriter| async move { w.write(b"hi") }, None, 0)
        .hosts(["127.0.0.1", "::1"])
        .await
        .unwrap();
    let addrs = addrs_of(&server);
    let ips: Vec<IpAddr> = addrs.iter().map(SocketAddr::ip).collect();
    let loopbacks: [IpAddr; 2] = [Ipv4Addr::LOCALHOST.into(), Ipv6Addr::LOCALHOST.into()];
    assert_eq!(ips, loopbacks);
    for addr in addrs {
        let (mut r, _w) = open_connection(addr.ip().to_string().as_str(), addr.port())
            .await
            .unwrap();
        assert_eq!(r.read(10).await.unwrap(), b"hi", "on {addr}");
    }
}

#[asyncio::test]
async fn hosts_replace_the_host() {
    // The name is never resolved: `hosts` replaced it.
    let server = start_server(idle, "no-such-host.invalid", 0)
        .hosts(vec![String::from("127.0.0.1")])
        .await
        .unwrap();
    let addrs = addrs_of(&server);
    assert_eq!(addrs.len(), 1);
    assert_eq!(addrs[0].ip(), Ipv4Addr::LOCALHOST);
}

#[asyncio::test]
async fn an_address_listed_twice_is_bound_once() {
    // With port 0, a second bind of 127.0.0.1 would succeed on another port.
    let server = start_server(idle, None, 0)
        .hosts(["127.0.0.1", "127.0.0.1"])
        .await
        .unwrap();
    assert_eq!(addrs_of(&server).len(), 1);
}

#[asyncio::test]
async fn a_name_and_its_address_are_bound_once() {
    let mut expected: Vec<IpAddr> = vec![Ipv4Addr::LOCALHOST.into()];
    for addr in ("localhost", 0).to_socket_addrs().unwrap() {
        if !expected.contains(&addr.ip()) {
            expected.push(addr.ip());
        }
    }
    let server = start_server(idle, None, 0)
        .hosts(["127.0.0.1", "localhost", "127.0.0.1"])
        .await
        .unwrap();
    let mut ips: Vec<IpAddr> = addrs_of(&server).iter().map(SocketAddr::ip).collect();
    assert_eq!(ips.remove(0), expected[0]);
    ips.sort();
    expected.remove(0);
    expected.sort();
    assert_eq!(ips, expected);
}

#[asyncio::test]
async fn a_failed_bind_closes_the_others_and_names_its_address() {
    if !has_ipv6_loopback() {
        return;
    }
    // A port taken on ::1 and free on 127.0.0.1.
    let (_taken, port) = loop {
        let taken = start_server(idle, "::1", 0).await.unwrap();
        let port = addrs_of(&taken)[0].port();
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            break (taken, port);
        }
    };
    let err = start_server(idle, None, port)
        .hosts(["127.0.0.1", "::1"])
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AddrInUse);
    let text = err.to_string();
    assert!(
        text.contains(&format!("on address ('::1', {port}, 0, 0)")),
        "{text}"
    );
    // 127.0.0.1 was bound first, then closed: a socket without SO_REUSEADDR can bind it.
    let again = start_server(idle, "127.0.0.1", port)
        .reuse_address(false)
        .await
        .unwrap();
    assert_eq!(addrs_of(&again)[0].port(), port);
}

#[asyncio::test]
async fn an_empty_list_binds_nothing() {
    // As asyncio: a server with no sockets, not an error.
    let server = start_server(idle, "127.0.0.1", 0)
        .hosts(Vec::<&str>::new())
        .await
        .unwrap();
    assert!(server.sockets().is_empty());
    assert!(server.is_serving());
    server.close();
    server.wait_closed().await;
}
