//! The real binary writes its logs to standard error, never to standard output (which carries
//! only the line for people with its address), with no colour codes when standard error is not
//! a terminal, and as one JSON object per line with `--log-format json`.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};

/// Runs the binary with `args` until it has printed its address and logged its start, stops it
/// with SIGTERM, and returns what it wrote to standard output and to standard error.
async fn run_briefly(args: &[&str]) -> (String, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_roundtable"))
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .args(args)
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start the roundtable binary");
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    tokio::time::timeout(Duration::from_secs(10), stdout.read_line(&mut first))
        .await
        .expect("the server prints its address within 10 s")
        .unwrap();
    let pid = child.id().expect("running");
    // SIGTERM: the server stops gracefully and logs that it does.
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("the server stops within 10 s of SIGTERM")
        .unwrap();
    assert!(status.success(), "a graceful stop exits with 0: {status}");
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).await.unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .await
        .unwrap();
    (first + &rest, stderr)
}

#[tokio::test]
async fn logs_go_to_standard_error_as_plain_text_when_it_is_not_a_terminal() {
    let (stdout, stderr) = run_briefly(&[]).await;
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "standard output holds only the address: {stdout:?}"
    );
    assert!(lines[0].starts_with("Roundtable is running. Open http://127.0.0.1:"));
    assert!(
        stderr.contains("INFO") && stderr.contains("storing in the embedded store"),
        "the start is logged to standard error: {stderr:?}"
    );
    assert!(
        stderr.contains("shutting down"),
        "so is the stop: {stderr:?}"
    );
    assert!(
        !stderr.contains('\u{1b}'),
        "no terminal colour codes in a redirected log: {stderr:?}"
    );
}

#[tokio::test]
async fn json_logs_are_one_object_per_line() {
    let (stdout, stderr) = run_briefly(&["--log-format", "json"]).await;
    assert_eq!(stdout.lines().count(), 1, "{stdout:?}");
    let records: Vec<serde_json::Value> = stderr
        .lines()
        .map(|line| {
            serde_json::from_str(line)
                .unwrap_or_else(|error| panic!("not a JSON line ({error}): {line:?}"))
        })
        .collect();
    assert!(records.len() >= 2, "{stderr:?}");
    for record in &records {
        assert!(record["timestamp"].is_string(), "{record}");
        assert!(record["level"].is_string(), "{record}");
        assert!(record["fields"]["message"].is_string(), "{record}");
    }
    assert!(
        records.iter().any(
            |record| record["fields"]["message"] == "storing in the embedded store"
                && record["fields"]["data_dir"].is_string()
        ),
        "fields are JSON fields: {stderr:?}"
    );
}

#[tokio::test]
async fn an_unknown_log_format_is_refused_with_the_choices() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_roundtable"))
        .args(["--log-format", "xml"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("text") && stderr.contains("json"),
        "{stderr}"
    );
}
