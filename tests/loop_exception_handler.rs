//! The loop's exception handler: each error nobody else catches reaches it with asyncio's
//! context keys; without one, the default handler logs it; a handler that panics is logged and
//! the loop goes on.

mod logs;

use asyncio::{
    ExceptionContext, LoopHandle, Protocol, Runner, StreamReader, StreamWriter, Transport,
    create_task, get_running_loop, sleep, start_server,
};
use std::cell::RefCell;
use std::rc::Rc;

/// What the handler saw: one line per report, `message | exception | task name`.
#[derive(Clone, Default)]
struct Seen(Rc<RefCell<Vec<ExceptionContext>>>);

impl Seen {
    fn handler(&self) -> impl Fn(&LoopHandle, &ExceptionContext) + 'static {
        let seen = self.0.clone();
        move |_, ctx| seen.borrow_mut().push(ctx.clone())
    }

    fn messages(&self) -> Vec<String> {
        self.0.borrow().iter().map(|c| c.message.clone()).collect()
    }

    fn only(&self) -> ExceptionContext {
        let seen = self.0.borrow();
        assert_eq!(seen.len(), 1, "{seen:?}");
        seen[0].clone()
    }
}

fn exception_text(ctx: &ExceptionContext) -> String {
    ctx.exception.as_ref().expect("an exception").to_string()
}

#[test]
fn a_panicking_callback_reaches_the_handler_with_its_panic() {
    let seen = Seen::default();
    Runner::new().exception_handler(seen.handler()).run(async {
        get_running_loop().call_soon(|| panic!("callback broke"));
        get_running_loop().call_later(0.0, || panic!("timer broke"));
        sleep(0.01).await;
    });
    assert_eq!(
        seen.messages(),
        ["Exception in callback", "Exception in callback"]
    );
    let texts: Vec<String> = seen.0.borrow().iter().map(exception_text).collect();
    assert_eq!(texts, ["panicked: callback broke", "panicked: timer broke"]);
}

#[test]
fn a_task_panic_nobody_retrieved_reaches_the_handler_with_the_task() {
    let seen = Seen::default();
    Runner::new().exception_handler(seen.handler()).run(async {
        drop(create_task(async { panic!("nobody looked") }).with_name("forgotten"));
        sleep(0).await;
        sleep(0).await;
    });
    let ctx = seen.only();
    assert_eq!(ctx.message, "Task exception was never retrieved");
    assert_eq!(exception_text(&ctx), "panicked: nobody looked");
    let task = ctx.task.expect("the task");
    assert_eq!(task.name, "forgotten");
    assert!(task.location.file().ends_with("loop_exception_handler.rs"));
}

#[test]
fn a_retrieved_task_panic_is_not_reported() {
    let seen = Seen::default();
    Runner::new().exception_handler(seen.handler()).run(async {
        let task = create_task(async { panic!("seen by its awaiter") });
        assert!(task.await.is_err());
    });
    assert!(seen.messages().is_empty());
}

#[asyncio::test]
async fn a_server_handler_panic_reaches_the_handler() {
    let seen = Seen::default();
    get_running_loop().set_exception_handler(seen.handler());
    let server = start_server(
        |_r: StreamReader, _w: StreamWriter| -> std::future::Ready<()> { panic!("handler broke") },
        "127.0.0.1",
        0,
    )
    .await
    .unwrap();
    let port = server.sockets()[0].as_inet().unwrap().port();
    let (mut r, _w) = asyncio::open_connection("127.0.0.1", port).await.unwrap();
    assert_eq!(r.read(10).await.unwrap(), b"", "the connection is closed");
    let ctx = seen.only();
    assert_eq!(ctx.message, "Unhandled exception in client_connected_cb");
    assert_eq!(exception_text(&ctx), "panicked: handler broke");
    server.close();
}

struct Breaks;

impl Protocol for Breaks {
    fn connection_made(&mut self, _t: Transport) {}
    fn data_received(&mut self, _data: &[u8]) {
        panic!("protocol broke");
    }
}

#[asyncio::test]
async fn a_protocol_callback_panic_reaches_the_handler() {
    let seen = Seen::default();
    get_running_loop().set_exception_handler(seen.handler());
    let (a, b) = asyncio::net::UnixStream::pair().unwrap();
    let (_t, _p) = get_running_loop()
        .connect_accepted_socket(|| Breaks, a)
        .await
        .unwrap();
    let (mut r, w) = asyncio::open_socket(b);
    w.write(b"x");
    assert_eq!(r.read(10).await.unwrap(), b"", "the connection is aborted");
    let ctx = seen.only();
    assert_eq!(ctx.message, "Exception in Protocol.data_received");
    assert_eq!(exception_text(&ctx), "panicked: protocol broke");
}

#[test]
fn a_handler_that_panics_is_logged_by_the_default_handler_and_the_loop_goes_on() {
    logs::capture();
    let after = Runner::new().run(async {
        let lp = get_running_loop();
        lp.set_exception_handler(|_, _| panic!("the handler itself broke"));
        lp.call_soon(|| panic!("first-of-two"));
        sleep(0).await;
        sleep(0).await;
        "the loop went on"
    });
    assert_eq!(after, "the loop went on");
    assert_eq!(
        logs::count(&[
            "ERROR Unhandled error in exception handler: panicked: the handler itself broke",
            "context: Exception in callback: panicked: first-of-two",
        ]),
        1
    );
}

#[test]
fn without_a_handler_the_default_keeps_the_loops_wording() {
    logs::capture();
    Runner::new().run(async {
        get_running_loop().call_soon(|| panic!("default-wording"));
        sleep(0).await;
    });
    assert_eq!(
        logs::count(&["ERROR Exception in callback: panicked: default-wording"]),
        1
    );
}

#[test]
fn call_exception_handler_reaches_the_handler_and_the_default_lists_the_keys() {
    logs::capture();
    let seen = Seen::default();
    let handler = seen.handler();
    Runner::new().run(async move {
        let lp = get_running_loop();
        let ctx = ExceptionContext::new("custom-report")
            .with_exception(std::io::Error::other("disk full"))
            .with_transport("<Transport fd=7>");
        lp.call_exception_handler(&ctx); // default: logged
        lp.set_exception_handler(handler);
        assert!(lp.get_exception_handler().is_some());
        lp.call_exception_handler(&ctx);
        // A handler can hand what it does not want to the default one.
        lp.get_exception_handler()
            .unwrap()
            .call(&lp, &ExceptionContext::new("by-hand"));
        lp.reset_exception_handler();
        assert!(lp.get_exception_handler().is_none());
    });
    assert_eq!(seen.messages(), ["custom-report", "by-hand"]);
    assert_eq!(
        logs::count(&["ERROR custom-report\nexception: disk full\ntransport: <Transport fd=7>"]),
        1
    );
}

#[test]
fn a_panicking_add_reader_callback_reaches_the_handler() {
    use std::os::fd::AsRawFd;
    let seen = Seen::default();
    Runner::new().exception_handler(seen.handler()).run(async {
        let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        let lp = get_running_loop();
        lp.add_reader(a.as_raw_fd(), || panic!("reader broke"))
            .unwrap();
        std::io::Write::write_all(&mut &b, b"x").unwrap();
        sleep(0.05).await;
        lp.remove_reader(a.as_raw_fd());
    });
    let messages = seen.messages();
    assert!(!messages.is_empty());
    assert!(messages[0].starts_with("Exception in callback add_reader(fd="));
}
