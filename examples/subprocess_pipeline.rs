//! Two processes connected through the loop, as `printf .. | sort -r` with the loop in the
//! middle: the first one's stdout is read line by line and written to the second
//! one's stdin, while the second one's output is read at the same time.

use asyncio::subprocess::PIPE;
use asyncio::{create_subprocess_exec, create_task};

#[asyncio::main]
async fn main() -> std::io::Result<()> {
    let mut producer = create_subprocess_exec("printf", ["cherry\\napple\\nbanana\\n"])
        .stdout(PIPE)
        .await?;
    let mut consumer = create_subprocess_exec("sort", ["-r"])
        .stdin(PIPE)
        .stdout(PIPE)
        .await?;

    // The copy runs as its own task, so the consumer's output is read while it is fed.
    let mut lines = producer.stdout.take().expect("piped");
    let into = consumer.stdin.take().expect("piped");
    let copy = create_task(async move {
        let mut n = 0;
        loop {
            let line = lines.readline().await?;
            if line.is_empty() {
                break;
            }
            n += 1;
            into.write(&line);
            into.drain().await?;
        }
        into.close(); // the consumer sees end of file
        std::io::Result::Ok(n)
    });

    let (sorted, _) = consumer.communicate(None).await?;
    let copied = copy.await.expect("the copy task finished")?;
    println!("copied {copied} lines through the loop");
    print!("{}", String::from_utf8_lossy(&sorted));
    println!(
        "producer exited with {}, consumer with {}",
        producer.wait().await,
        consumer.returncode().expect("communicate waited")
    );
    Ok(())
}
