//! The real binary writes its logs to standard error, never to standard output (which carries
//! only the line for people with its address), with no colour codes when standard error is not
//! a terminal, and as one JSON object per line with `--log-format json`.

mod support;

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
        assert!(record["target"].is_string(), "{record}");
        assert!(record["message"].is_string(), "{record}");
    }
    assert!(
        records.iter().any(
            |record| record["message"] == "storing in the embedded store"
                && record["data_dir"].is_string()
        ),
        "an event's fields stand beside its message: {stderr:?}"
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

/// A binary started with `args` and `RUST_LOG=trace` whose standard error is read as it comes
/// (a trace log fills a pipe quickly), with the address it printed.
struct TracedBinary {
    child: tokio::process::Child,
    addr: std::net::SocketAddr,
    stderr: tokio::task::JoinHandle<String>,
    _dir: tempfile::TempDir,
}

impl TracedBinary {
    async fn start(args: &[&str]) -> TracedBinary {
        let dir = tempfile::tempdir().unwrap();
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_roundtable"))
            .args(["--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir.path())
            .args(args)
            .env("RUST_LOG", "trace")
            .env_remove("NO_COLOR")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start the roundtable binary");
        let mut stderr_pipe = child.stderr.take().unwrap();
        let stderr = tokio::spawn(async move {
            let mut all = String::new();
            stderr_pipe.read_to_string(&mut all).await.unwrap();
            all
        });
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        tokio::time::timeout(Duration::from_secs(10), stdout.read_line(&mut first))
            .await
            .expect("the server prints its address within 10 s")
            .unwrap();
        let addr = first
            .split_whitespace()
            .find_map(|word| word.strip_prefix("http://"))
            .and_then(|rest| rest.trim_end_matches(['/', '.']).parse().ok())
            .unwrap_or_else(|| panic!("no address in {first:?}"));
        // Nothing more may come on standard output; it is read to its end after the stop.
        tokio::spawn(async move {
            let mut rest = String::new();
            stdout.read_to_string(&mut rest).await.unwrap();
            assert_eq!(rest, "", "standard output holds only the address");
        });
        TracedBinary {
            child,
            addr,
            stderr,
            _dir: dir,
        }
    }

    /// Stops the server with SIGTERM and returns its whole standard error.
    async fn stop(mut self) -> String {
        let pid = self.child.id().expect("running");
        let status = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let status = tokio::time::timeout(Duration::from_secs(10), self.child.wait())
            .await
            .expect("the server stops within 10 s of SIGTERM")
            .unwrap();
        assert!(status.success(), "a graceful stop exits with 0: {status}");
        self.stderr.await.unwrap()
    }
}

/// A meeting as clients drive it (joins, an anonymous number, refused requests, a refused join),
/// logged at trace level in JSON: every line is one flat JSON object with the event's fields
/// beside its message, the joins and refusals are there with their group, and no line holds a
/// link's secret, a member's token or the anonymous number.
#[tokio::test]
async fn a_meetings_json_log_is_flat_objects_with_no_secret_and_no_anonymous_number() {
    use roundtable_protocol::{Credential, ErrorCode, Request, Sharing};

    let server = TracedBinary::start(&["--log-format", "json"]).await;
    let group = support::create_group(server.addr, "Logged").await;
    let mut fran = support::TestClient::joined_as_facilitator(server.addr, &group, "Fran").await;
    let mut ann = support::TestClient::joined_as_member(server.addr, &group, "Ann").await;
    fran.start_meeting().await;
    let anonymous = 7777.25;
    ann.ok(Request::SubmitNumbers {
        values: std::collections::BTreeMap::from([("calls".to_string(), anonymous)]),
        sharing: Sharing::Anonymous,
    })
    .await;
    // A request a member may not make, and a join with a wrong secret.
    ann.fails(Request::EndMeeting, ErrorCode::Forbidden).await;
    let mut intruder = support::TestClient::connect(server.addr).await;
    let refused = intruder
        .join(
            group.group_id,
            Credential::Invite {
                secret: "not-the-invite-secret".into(),
                display_name: "Mallory".into(),
                observer: false,
            },
            None,
        )
        .await
        .expect_err("a wrong secret is refused");
    let tokens = [
        fran.member_token.clone().expect("Fran's token"),
        ann.member_token.clone().expect("Ann's token"),
    ];
    let (ann_id, group_id) = (ann.member_id.expect("Ann's id"), group.group_id);
    fran.close().await;
    ann.close().await;
    intruder.close().await;
    let stderr = server.stop().await;

    let mut records = Vec::new();
    for line in stderr.lines() {
        let record: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|error| panic!("not a JSON line ({error}): {line:?}"));
        for key in ["timestamp", "level", "target", "message"] {
            assert!(record[key].is_string(), "{key} missing: {line}");
        }
        assert!(
            record.get("fields").is_none(),
            "fields are flattened: {line}"
        );
        records.push(record);
    }
    let find = |message: &str| {
        records
            .iter()
            .filter(|record| record["message"] == message)
            .collect::<Vec<_>>()
    };
    let joined = find("joined");
    assert_eq!(joined.len(), 2, "both joins are logged: {joined:?}");
    assert!(
        joined
            .iter()
            .all(|record| record["group"] == group_id.to_string()
                && record["target"] == "roundtable_server::room::actor::join"
                && record["level"] == "INFO")
    );
    assert!(
        joined
            .iter()
            .any(|record| record["member"] == ann_id.to_string()),
        "{joined:?}"
    );
    let refused_requests = find("request refused");
    assert!(
        refused_requests
            .iter()
            .any(|record| record["code"] == "forbidden" && record["level"] == "DEBUG"),
        "the member's refused request: {refused_requests:?}"
    );
    assert!(
        find("join refused")
            .iter()
            .any(|record| record["code"] == refused.0.as_str()),
        "the refused join, with its code: {refused:?}"
    );
    assert!(
        records
            .iter()
            .any(|record| record["span"]["name"] == "connection"),
        "events in a connection carry its span"
    );

    let secrets = [
        group.facilitator_secret.as_str(),
        group.invite_secret.as_str(),
        "not-the-invite-secret",
        tokens[0].as_str(),
        tokens[1].as_str(),
    ];
    for line in stderr.lines() {
        for secret in secrets {
            assert!(!line.contains(secret), "a secret in the log: {line}");
        }
        assert!(
            !line.contains("7777.25"),
            "the anonymous number in the log: {line}"
        );
    }
}

/// Runs the binary in a pseudo-terminal (util-linux `script`) for two seconds, with `NO_COLOR`
/// set to `no_color` or unset, and returns everything the terminal showed.
fn on_a_terminal(args: &str, no_color: Option<&str>) -> String {
    let dir = tempfile::tempdir().unwrap();
    let command = format!(
        "timeout -s TERM 2 {} --listen 127.0.0.1:0 --data-dir {} {args}",
        env!("CARGO_BIN_EXE_roundtable"),
        dir.path().display()
    );
    let mut script = std::process::Command::new("script");
    script
        .args(["--quiet", "--return", "--command", &command, "/dev/null"])
        .env("RUST_LOG", "info")
        .env_remove("NO_COLOR")
        .stdin(Stdio::null());
    if let Some(value) = no_color {
        script.env("NO_COLOR", value);
    }
    let output = script
        .output()
        .expect("util-linux `script` runs (Debian package bsdutils)");
    let shown = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(
        shown.contains("storing in the embedded store"),
        "the server logged its start on the terminal: {shown:?} {}",
        String::from_utf8_lossy(&output.stderr)
    );
    shown
}

#[test]
fn text_logs_are_coloured_on_a_terminal_unless_no_color_is_set() {
    assert!(
        on_a_terminal("", None).contains('\u{1b}'),
        "a terminal shows colours"
    );
    assert!(
        !on_a_terminal("", Some("1")).contains('\u{1b}'),
        "NO_COLOR=1 turns them off"
    );
    assert!(
        on_a_terminal("", Some("")).contains('\u{1b}'),
        "an empty NO_COLOR is as if unset (no-color.org)"
    );
    assert!(
        !on_a_terminal("--log-format json", None).contains('\u{1b}'),
        "JSON never holds colour codes, even on a terminal"
    );
}

/// A Redis URL carries its password; when that Redis does not answer, neither the error nor
/// any log line repeats it.
#[tokio::test]
async fn a_redis_password_is_never_in_the_output() {
    // A listener that takes connections and never answers: the server's connection times out.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = silent.local_addr().unwrap().port();
    let held = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            held.push(socket);
            if held.len() > 16 {
                break;
            }
        }
    });
    let output = tokio::time::timeout(
        Duration::from_secs(20),
        tokio::process::Command::new(env!("CARGO_BIN_EXE_roundtable"))
            .args(["--listen", "127.0.0.1:0", "--redis-url"])
            .arg(format!(
                "redis://roundtable:hunter2-in-the-url@127.0.0.1:{port}/0"
            ))
            .env("RUST_LOG", "trace")
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("the server gives up on a silent Redis within 20 s")
    .unwrap();
    held.abort();
    assert!(!output.status.success(), "no store, no server");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("did not answer") && stderr.contains(&format!("127.0.0.1:{port}")),
        "the error says which Redis did not answer: {stderr}"
    );
    assert!(
        !stderr.contains("hunter2-in-the-url"),
        "the password is in the output: {stderr}"
    );
    assert!(output.stdout.is_empty());
}
