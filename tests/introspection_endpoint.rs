//! The `asyncio-ps` endpoint of `asyncio::introspection::serve`: a 0600 Unix socket named
//! after the pid that answers with the loop's tasks, removed when the runtime ends.

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;

/// Asks the endpoint at `path` as `asyncio-ps` does, from another thread (the loop must keep
/// running to answer).
async fn ask(path: std::path::PathBuf) -> String {
    asyncio::to_thread(move || {
        let mut stream = UnixStream::connect(&path).unwrap();
        stream.write_all(b"ps\n").unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        answer
    })
    .await
    .unwrap()
}

#[test]
fn serve_answers_with_each_task_and_removes_its_socket_at_the_end() {
    let path = asyncio::run(async {
        let path = asyncio::introspection::serve().unwrap();
        assert_eq!(
            path,
            asyncio::introspection::socket_path(std::process::id())
        );
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "only its user may connect");

        let queue = asyncio::Queue::<u8>::new(0);
        let getter = asyncio::create_task({
            let queue = queue.clone();
            async move { queue.get().await }
        })
        .with_name("tab\tgetter");
        let waiter = asyncio::create_task(getter.clone()).with_name("waiter");
        asyncio::sleep(0.01).await;

        let answer = ask(path.clone()).await;
        let lines: Vec<&str> = answer.lines().collect();
        assert_eq!(lines[0], "asyncio-ps 1");
        assert!(lines[1].starts_with("loop\t"), "{answer}");
        assert_eq!(lines.last(), Some(&"end"));
        let task = |name: &str| -> Vec<&str> {
            lines
                .iter()
                .map(|l| l.split('\t').collect::<Vec<_>>())
                .find(|f| f[0] == "task" && f[3] == name)
                .unwrap_or_else(|| panic!("no task {name:?} in {answer}"))
        };
        let getter_row = task("tab\\tgetter");
        assert_eq!(getter_row[2], getter.id().to_string());
        assert_eq!(getter_row[4], "waiting");
        assert_eq!(getter_row[5], "Queue.get");
        assert_ne!(getter_row[6], "-", "serving loops record ages");
        assert!(getter_row[9].starts_with("tests/introspection_endpoint.rs:"));
        let waiter_row = task("waiter");
        assert_eq!(
            waiter_row[10],
            getter.id().to_string(),
            "waiter awaits getter"
        );

        queue.put_nowait(1).unwrap();
        waiter.await.unwrap().unwrap().unwrap();
        path
    });
    assert!(
        !path.exists(),
        "the socket is removed when the runtime ends"
    );
}
