//! `LoopHandle::getaddrinfo` / `getnameinfo`: the C resolver on the blocking pool. No network:
//! names are "localhost", numeric, or under `.invalid` (RFC 6761: never resolves).

use asyncio::net::GaiError;
use std::io::ErrorKind;
use std::net::{IpAddr, Ipv4Addr};

#[asyncio::test]
async fn localhost_resolves_to_loopback() {
    let lp = asyncio::get_running_loop();
    let addrs = lp
        .getaddrinfo("localhost", 8080)
        .socktype(libc::SOCK_STREAM)
        .await
        .unwrap();
    assert!(!addrs.is_empty());
    for a in &addrs {
        assert!(a.addr.ip().is_loopback(), "{a:?}");
        assert_eq!(a.addr.port(), 8080);
        assert_eq!(a.socktype, libc::SOCK_STREAM);
        let family = if a.addr.is_ipv4() {
            libc::AF_INET
        } else {
            libc::AF_INET6
        };
        assert_eq!(a.family, family);
    }
}

#[asyncio::test]
async fn a_numeric_host_with_ai_numerichost() {
    let lp = asyncio::get_running_loop();
    let addrs = lp
        .getaddrinfo("127.0.0.1", 53)
        .family(libc::AF_INET)
        .socktype(libc::SOCK_DGRAM)
        .flags(libc::AI_NUMERICHOST | libc::AI_CANONNAME)
        .await
        .unwrap();
    assert_eq!(addrs.len(), 1);
    assert_eq!(addrs[0].addr, "127.0.0.1:53".parse().unwrap());
    assert_eq!(addrs[0].protocol, libc::IPPROTO_UDP);
    assert_eq!(addrs[0].canonname.as_deref(), Some("127.0.0.1"));
    // A name is refused under AI_NUMERICHOST, without a lookup.
    let err = lp
        .getaddrinfo("localhost", 53)
        .flags(libc::AI_NUMERICHOST)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
}

#[asyncio::test]
async fn a_passive_lookup_without_a_host() {
    let lp = asyncio::get_running_loop();
    let addrs = lp
        .getaddrinfo(None, 9000)
        .family(libc::AF_INET)
        .socktype(libc::SOCK_STREAM)
        .flags(libc::AI_PASSIVE)
        .await
        .unwrap();
    assert_eq!(addrs[0].addr.ip(), IpAddr::V4(Ipv4Addr::UNSPECIFIED));
}

#[asyncio::test]
async fn an_unknown_name_is_a_gai_error() {
    let lp = asyncio::get_running_loop();
    let err = asyncio::wait_for(lp.getaddrinfo("no-such-host.invalid", 80), 30.0)
        .await
        .unwrap()
        .unwrap_err();
    let gai = err
        .get_ref()
        .and_then(|e| e.downcast_ref::<GaiError>())
        .expect("the inner error is a GaiError");
    assert_ne!(gai.code(), 0);
    assert!(
        err.to_string()
            .starts_with(&format!("[Errno {}] ", gai.code())),
        "{err}"
    );
    // EAI_NONAME where there is no DNS at all; EAI_AGAIN and friends are possible too.
    if gai.code() == libc::EAI_NONAME {
        assert_eq!(err.kind(), ErrorKind::NotFound);
    }
}

#[asyncio::test]
async fn bad_hints_and_a_nul_byte_are_invalid_input() {
    let lp = asyncio::get_running_loop();
    let err = lp
        .getaddrinfo("127.0.0.1", 1)
        .family(12345)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    let err = lp.getaddrinfo("a\0b", 1).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

#[asyncio::test]
async fn getnameinfo_numeric() {
    let lp = asyncio::get_running_loop();
    let flags = libc::NI_NUMERICHOST | libc::NI_NUMERICSERV;
    let (host, port) = lp
        .getnameinfo("127.0.0.1:8080".parse().unwrap(), flags)
        .await
        .unwrap();
    assert_eq!((host.as_str(), port.as_str()), ("127.0.0.1", "8080"));
    let (host, port) = lp
        .getnameinfo("[::1]:443".parse().unwrap(), flags)
        .await
        .unwrap();
    assert_eq!((host.as_str(), port.as_str()), ("::1", "443"));
}

/// asyncio's `port` may be a service name, looked up as CPython's `socket.getaddrinfo` does.
#[asyncio::test]
async fn service_names_resolve_as_in_cpython() {
    let lp = asyncio::get_running_loop();
    let tcp = |port: asyncio::net::Service| {
        lp.getaddrinfo("127.0.0.1", port)
            .socktype(libc::SOCK_STREAM)
    };
    let has_services = std::path::Path::new("/etc/services").exists();
    if has_services {
        assert_eq!(tcp("http".into()).await.unwrap()[0].addr.port(), 80);
        assert_eq!(tcp("https".into()).await.unwrap()[0].addr.port(), 443);
        let python = std::process::Command::new("python3")
            .args([
                "-c",
                "import socket; print(socket.getservbyname('domain', 'tcp'))",
            ])
            .output();
        if let Some(out) = python.ok().filter(|o| o.status.success()) {
            let theirs: u16 = String::from_utf8(out.stdout)
                .unwrap()
                .trim()
                .parse()
                .unwrap();
            assert_eq!(tcp("domain".into()).await.unwrap()[0].addr.port(), theirs);
        }
    }
    assert_eq!(tcp("8080".into()).await.unwrap()[0].addr.port(), 8080);
    assert_eq!(tcp(None.into()).await.unwrap()[0].addr.port(), 0);
    let none = lp.getaddrinfo("127.0.0.1", None).await.unwrap();
    assert_eq!(none[0].addr.port(), 0);
    let err = tcp("no-such-service-xyz".into()).await.unwrap_err();
    assert!(err.get_ref().is_some_and(|e| e.is::<GaiError>()), "{err:?}");
    let err = tcp("ht\0tp".into()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}
