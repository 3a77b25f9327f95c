//! The real binary raises its own limit of open files: started with a soft limit of 256, it
//! runs with the soft limit at the hard one (each connection is a file descriptor).

mod support;

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};

/// The soft and hard "Max open files" of a running process, from /proc.
fn open_files_limits(pid: u32) -> (String, String) {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).expect("read /proc limits");
    let line = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))
        .expect("a Max open files line");
    let fields: Vec<&str> = line.split_whitespace().collect();
    (fields[3].to_string(), fields[4].to_string())
}

#[tokio::test]
async fn the_server_raises_its_soft_open_files_limit_to_the_hard_one() {
    let dir = tempfile::tempdir().unwrap();
    // The shell lowers the soft limit, then becomes the server.
    let mut child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg("ulimit -S -n 256 && exec \"$0\" --listen 127.0.0.1:0 --data-dir \"$1\"")
        .arg(env!("CARGO_BIN_EXE_roundtable"))
        .arg(dir.path())
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start the server through sh");
    let stdout = child.stdout.take().unwrap();
    let line = tokio::time::timeout(
        Duration::from_secs(10),
        BufReader::new(stdout).lines().next_line(),
    )
    .await
    .expect("the server starts within 10 s")
    .unwrap()
    .expect("it prints its address");
    assert!(line.contains("http://127.0.0.1:"), "{line}");
    let (soft, hard) = open_files_limits(child.id().expect("running"));
    assert_ne!(soft, "256", "the soft limit was raised");
    assert_eq!(soft, hard, "to the hard limit");
    child.kill().await.unwrap();
}
