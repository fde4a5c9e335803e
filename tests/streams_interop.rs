//! Interop with a real peer that is not ours: the seed's Python echo client against our echo
//! server, and our echo client against the seed's Python echo server. The Python programs
//! hardcode port 8888; the tests run them with an ephemeral port substituted.

use asyncio::{StreamReader, StreamWriter, open_connection, start_server};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

const SEED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/seed/programs");

/// The seed program's source with its port replaced, or `None` (test skipped) when the seed
/// or `python3` is not there.
fn seed_program(name: &str, port: u16) -> Option<String> {
    let source = std::fs::read_to_string(format!("{SEED}/{name}"))
        .or_else(|_| std::fs::read_to_string(format!("/work/shared/seed/programs/{name}")))
        .ok()?;
    let python = Command::new("python3").arg("--version").output().ok()?;
    if !python.status.success() {
        return None;
    }
    Some(source.replace("8888", &port.to_string()))
}

fn python(source: &str) -> Command {
    let mut cmd = Command::new("python3");
    cmd.arg("-u").arg("-c").arg(source);
    cmd
}

/// Python's repr of a str, as the seed programs print.
fn py_repr(s: &str) -> String {
    format!("'{s}'")
}

async fn handle_echo(mut reader: StreamReader, writer: StreamWriter) {
    let data = reader.read(100).await.unwrap();
    let message = String::from_utf8_lossy(&data).into_owned();
    let addr = writer.peername().unwrap();
    println!("Received {} from {addr}", py_repr(&message));
    writer.write(&data);
    writer.drain().await.unwrap();
    writer.close();
}

#[asyncio::test]
async fn python_echo_client_against_our_server() {
    let server = start_server(handle_echo, "127.0.0.1", 0).await.unwrap();
    let port = server.sockets()[0].as_inet().unwrap().port();
    let Some(client) = seed_program("echo_client.py", port) else {
        eprintln!("skipped: python3 or the seed's echo_client.py is missing");
        return;
    };
    let output = asyncio::to_thread(move || python(&client).output())
        .await
        .unwrap()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        "Send: 'Hello World!'\nReceived: 'Hello World!'\nClose the connection\n"
    );
}

#[asyncio::test]
async fn our_echo_client_against_python_server() {
    let Some(server) = seed_program("echo_server.py", 0) else {
        eprintln!("skipped: python3 or the seed's echo_server.py is missing");
        return;
    };
    let mut child = python(&server)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (first, lines) = asyncio::to_thread(move || {
        let mut lines = BufReader::new(stdout).lines();
        let first = lines.next().unwrap().unwrap();
        (first, lines)
    })
    .await
    .unwrap();
    // "Serving on ('127.0.0.1', PORT)"
    assert!(first.starts_with("Serving on ('127.0.0.1', "), "{first}");
    let port: u16 = first
        .trim_end_matches(')')
        .rsplit(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();

    let (mut reader, writer) = open_connection("127.0.0.1", port).await.unwrap();
    writer.write(b"Hello World!");
    let data = reader.read(100).await.unwrap();
    assert_eq!(data, b"Hello World!");
    writer.close();
    writer.wait_closed().await.unwrap();

    let local_port = {
        // The server printed our address as Python's repr of the peer tuple.
        let mut lines = lines;
        let got: Vec<String> =
            asyncio::to_thread(move || (0..3).map(|_| lines.next().unwrap().unwrap()).collect())
                .await
                .unwrap();
        assert!(
            got[0].starts_with("Received 'Hello World!' from ('127.0.0.1', "),
            "{got:?}"
        );
        assert_eq!(got[1], "Send: 'Hello World!'");
        assert_eq!(got[2], "Close the connection");
        got[0].clone()
    };
    assert!(!local_port.is_empty());
    child.kill().unwrap();
    child.wait().unwrap();
}

#[asyncio::test]
async fn python_asyncio_streams_line_protocol_against_our_server() {
    // A second real peer: a Python asyncio client that sends many lines and half-closes; our
    // server answers each line upper-cased, then closes at EOF.
    let server = start_server(
        |mut r: StreamReader, w: StreamWriter| async move {
            while let Some(line) = r.next_line().await.unwrap() {
                w.write(&line.to_ascii_uppercase());
                w.drain().await.unwrap();
            }
            w.close();
        },
        "127.0.0.1",
        0,
    )
    .await
    .unwrap();
    let port = server.sockets()[0].as_inet().unwrap().port();
    if Command::new("python3").arg("--version").output().is_err() {
        eprintln!("skipped: no python3");
        return;
    }
    let script = format!(
        r#"
import asyncio
async def main():
    r, w = await asyncio.open_connection('127.0.0.1', {port})
    for i in range(1000):
        w.write(b'line %d\n' % i)
    await w.drain()
    w.write_eof()
    data = await r.read()
    lines = data.split(b'\n')
    assert lines[-1] == b''
    assert len(lines) == 1001, len(lines)
    assert lines[999] == b'LINE 999'
    w.close()
    await w.wait_closed()
    print('ok')
asyncio.run(main())
"#
    );
    let output = asyncio::to_thread(move || python(&script).output())
        .await
        .unwrap()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert_eq!(output.stdout, b"ok\n");
}
