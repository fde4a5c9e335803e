//! A protocol that records its callbacks, and a Python runner, for the protocol tests.
#![allow(dead_code)]

use asyncio::{Event, Protocol, Transport};
use std::cell::RefCell;
use std::process::Command;
use std::rc::Rc;

/// The callbacks one protocol saw, in order, as short strings (`made`, `data 'abc'`, `eof`,
/// `pause`, `resume`, `lost None` / `lost Some(..)`).
#[derive(Clone, Default)]
pub struct Log(pub Rc<RefCell<Vec<String>>>);

impl Log {
    pub fn push(&self, s: impl Into<String>) {
        self.0.borrow_mut().push(s.into());
    }
    pub fn get(&self) -> Vec<String> {
        self.0.borrow().clone()
    }
    pub fn count(&self, prefix: &str) -> usize {
        self.0
            .borrow()
            .iter()
            .filter(|e| e.starts_with(prefix))
            .count()
    }
}

/// Records every callback; echoes if `echo`; `eof_received` returns `keep_open`.
pub struct Recorder {
    pub log: Log,
    pub transport: Option<Transport>,
    pub echo: bool,
    pub keep_open: bool,
    pub lost: Event,
    pub got: Vec<u8>,
}

impl Recorder {
    pub fn new(log: &Log, lost: &Event) -> Recorder {
        Recorder {
            log: log.clone(),
            transport: None,
            echo: false,
            keep_open: false,
            lost: lost.clone(),
            got: Vec::new(),
        }
    }
}

impl Protocol for Recorder {
    fn connection_made(&mut self, t: Transport) {
        self.log.push("made");
        self.transport = Some(t);
    }
    fn data_received(&mut self, data: &[u8]) {
        self.log
            .push(format!("data {:?}", String::from_utf8_lossy(data)));
        self.got.extend_from_slice(data);
        if self.echo {
            self.transport.as_ref().unwrap().write(data);
        }
    }
    fn eof_received(&mut self) -> bool {
        self.log.push("eof");
        self.keep_open
    }
    fn connection_lost(&mut self, exc: Option<std::io::Error>) {
        self.log.push(match exc {
            None => "lost None".to_owned(),
            Some(e) => format!("lost Some({:?}: {e})", e.kind()),
        });
        self.lost.set();
    }
    fn pause_writing(&mut self) {
        self.log.push("pause");
    }
    fn resume_writing(&mut self) {
        self.log.push("resume");
    }
}

pub fn has_python() -> bool {
    Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

pub fn python(source: &str) -> Command {
    let mut cmd = Command::new("python3");
    cmd.arg("-u").arg("-c").arg(source);
    cmd
}

/// asyncio's documented `EchoClientProtocol` (Python docs, "TCP Echo Client"), connecting
/// with `CONNECT` (a `loop.create_...connection(factory, ...)` call's arguments after the
/// factory).
pub fn python_echo_client(connect: &str) -> String {
    format!(
        r#"
import asyncio

class EchoClientProtocol(asyncio.Protocol):
    def __init__(self, message, on_con_lost):
        self.message = message
        self.on_con_lost = on_con_lost

    def connection_made(self, transport):
        transport.write(self.message.encode())
        print('Data sent: {{!r}}'.format(self.message))

    def data_received(self, data):
        print('Data received: {{!r}}'.format(data.decode()))

    def connection_lost(self, exc):
        print('The server closed the connection')
        self.on_con_lost.set_result(True)

async def main():
    loop = asyncio.get_running_loop()
    on_con_lost = loop.create_future()
    message = 'Hello World!'
    transport, protocol = await loop.create_{connect})
    try:
        await on_con_lost
    finally:
        transport.close()

asyncio.run(main())
"#,
        connect = connect.replace(
            "FACTORY",
            "lambda: EchoClientProtocol(message, on_con_lost)"
        )
    )
}
