//! Transports and protocols over Unix-domain sockets: our server against asyncio's documented
//! `EchoClientProtocol` in Python, and our client against our server.

mod protocols;

use asyncio::{Event, Protocol, Transport, get_running_loop, wait_for};
use protocols::{Log, Recorder, has_python, python, python_echo_client};

fn socket_path(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("asyncio-{name}-{}.sock", std::process::id()))
}

/// Echoes what arrives, then closes (asyncio's documented `EchoServerProtocol`).
struct EchoOnce {
    t: Option<Transport>,
    log: Log,
}

impl Protocol for EchoOnce {
    fn connection_made(&mut self, t: Transport) {
        self.log.push("made");
        self.t = Some(t);
    }
    fn data_received(&mut self, data: &[u8]) {
        self.log
            .push(format!("data {:?}", String::from_utf8_lossy(data)));
        let t = self.t.as_ref().unwrap();
        t.write(data);
        t.close();
    }
    fn connection_lost(&mut self, exc: Option<std::io::Error>) {
        self.log.push(format!("lost {}", exc.is_some()));
    }
}

#[asyncio::test]
async fn python_echo_client_protocol_against_our_unix_server() {
    if !has_python() {
        eprintln!("skipped: no python3");
        return;
    }
    let path = socket_path("proto-py");
    let log = Log::default();
    let server_log = log.clone();
    let server = get_running_loop()
        .create_unix_server(
            move || EchoOnce {
                t: None,
                log: server_log.clone(),
            },
            &path,
        )
        .await
        .unwrap();
    let client = python_echo_client(&format!(
        "unix_connection(FACTORY, {:?}",
        path.to_str().unwrap()
    ));
    let output = wait_for(asyncio::to_thread(move || python(&client).output()), 10.0)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        "Data sent: 'Hello World!'\nData received: 'Hello World!'\nThe server closed the connection\n"
    );
    server.close();
    wait_for(server.wait_closed(), 10.0).await.unwrap();
    assert_eq!(log.get(), ["made", "data \"Hello World!\"", "lost false"]);
    assert!(!path.exists(), "the socket file is removed on close");
}

#[asyncio::test]
async fn our_unix_client_against_our_unix_server() {
    let path = socket_path("proto-ours");
    let server_log = Log::default();
    let for_server = server_log.clone();
    let server = get_running_loop()
        .create_unix_server(
            move || EchoOnce {
                t: None,
                log: for_server.clone(),
            },
            &path,
        )
        .await
        .unwrap();
    let (log, lost) = (Log::default(), Event::new());
    let proto = Recorder::new(&log, &lost);
    let (t, p) = get_running_loop()
        .create_unix_connection(move || proto, &path)
        .await
        .unwrap();
    assert_eq!(
        t.peername(),
        Some(asyncio::StreamAddr::Unix(Some(path.clone())))
    );
    t.write(b"over unix");
    wait_for(lost.wait(), 10.0).await.unwrap();
    assert_eq!(p.borrow().got, b"over unix");
    assert_eq!(log.get().first().unwrap(), "made");
    assert_eq!(log.get().last().unwrap(), "lost None");
    server.close();
    wait_for(server.wait_closed(), 10.0).await.unwrap();
    assert_eq!(server_log.get().last().unwrap(), "lost false");
}
