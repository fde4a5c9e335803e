//! Transports and protocols over TLS: our server and client, a Python `ssl` client, and the
//! TLS accessors of the transport.
#![cfg(feature = "tls")]

mod protocols;
mod tls_certs;

use asyncio::{Event, Protocol, Transport, get_running_loop, wait_for};
use protocols::{Log, Recorder, has_python, python};

struct Echo {
    t: Option<Transport>,
}

impl Protocol for Echo {
    fn connection_made(&mut self, t: Transport) {
        self.t = Some(t);
    }
    fn data_received(&mut self, data: &[u8]) {
        self.t.as_ref().unwrap().write(data);
    }
}

#[asyncio::test]
async fn tls_echo_between_our_client_and_server_protocols() {
    let c = tls_certs::certs();
    let lp = get_running_loop();
    let server = lp
        .create_server(|| Echo { t: None }, "127.0.0.1", 0)
        .ssl(c.server)
        .await
        .unwrap();
    let port = server.sockets()[0].as_inet().unwrap().port();
    let (log, lost) = (Log::default(), Event::new());
    let proto = Recorder::new(&log, &lost);
    let (t, p) = wait_for(
        lp.create_connection(move || proto, "127.0.0.1", port)
            .ssl(c.client)
            .server_hostname("localhost"),
        10.0,
    )
    .await
    .unwrap()
    .unwrap();
    assert!(!t.can_write_eof());
    assert!(t.cipher().unwrap().starts_with("TLS"), "{:?}", t.cipher());
    assert!(t.peercert().is_some());
    assert_eq!(t.selected_alpn_protocol(), None);
    let big = vec![b'x'; 300_000];
    t.write(b"hello over tls\n");
    t.write(&big);
    while p.borrow().got.len() < big.len() + 15 {
        wait_for(asyncio::sleep(0.01), 10.0).await.unwrap();
    }
    assert!(p.borrow().got.starts_with(b"hello over tls\n"));
    t.close();
    wait_for(lost.wait(), 10.0).await.unwrap();
    assert_eq!(log.get().last().unwrap(), "lost None");
    server.close();
    wait_for(server.wait_closed(), 10.0).await.unwrap();
}

#[asyncio::test]
async fn python_ssl_client_against_our_tls_protocol_server() {
    if !has_python() {
        eprintln!("skipped: no python3");
        return;
    }
    let c = tls_certs::certs();
    let dir = std::env::temp_dir().join(format!("asyncio-proto-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca = dir.join("cert.pem");
    std::fs::write(&ca, &c.cert_pem).unwrap();
    let server = get_running_loop()
        .create_server(|| Echo { t: None }, "127.0.0.1", 0)
        .ssl(c.server)
        .await
        .unwrap();
    let port = server.sockets()[0].as_inet().unwrap().port();
    let script = format!(
        r#"
import asyncio, ssl

class Client(asyncio.Protocol):
    def __init__(self, done):
        self.done, self.got = done, b''
    def connection_made(self, t):
        self.t = t
        t.write(b'Hello TLS!')
    def data_received(self, data):
        self.got += data
        if self.got == b'Hello TLS!':
            self.t.close()
    def connection_lost(self, exc):
        self.done.set_result(self.got)

async def main():
    ctx = ssl.create_default_context(cafile={ca:?})
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    await loop.create_connection(lambda: Client(done), '127.0.0.1', {port}, ssl=ctx, server_hostname='localhost')
    print((await done).decode())

asyncio.run(main())
"#,
        ca = ca.to_str().unwrap()
    );
    let output = wait_for(asyncio::to_thread(move || python(&script).output()), 10.0)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert_eq!(output.stdout, b"Hello TLS!\n");
    let _ = std::fs::remove_dir_all(&dir);
}
