//! The seed's subprocess program: run `ls /zzz` through the shell, print how it exited and
//! what it wrote. Prints what CPython prints for `subprocess_ls.py`.

use asyncio::subprocess::PIPE;

async fn run(cmd: &str) -> std::io::Result<()> {
    let mut proc = asyncio::create_subprocess_shell(cmd)
        .stdout(PIPE)
        .stderr(PIPE)
        .await?;
    let (stdout, stderr) = proc.communicate(None).await?;
    // Python's f'{cmd!r}' quotes with single quotes.
    println!("['{cmd}' exited with {}]", proc.returncode().unwrap());
    if !stdout.is_empty() {
        println!("[stdout]\n{}", String::from_utf8_lossy(&stdout));
    }
    if !stderr.is_empty() {
        println!("[stderr]\n{}", String::from_utf8_lossy(&stderr));
    }
    Ok(())
}

fn main() -> std::io::Result<()> {
    asyncio::run(run("ls /zzz"))
}
