//! Where logs go and which lines are written. Logs go to standard error, so standard output
//! carries only what the binary prints for people (its address); they are text or one JSON
//! object per line (`--log-format json`).
//!
//! Text is coloured only when standard error is a terminal and the `NO_COLOR` environment
//! variable is unset or empty (<https://no-color.org>); a log redirected to a file or a pipe
//! never holds escape codes. JSON lines never do: each is one object with `timestamp`, `level`,
//! `target`, `message` and the event's fields beside them (flattened, not nested), plus `span`
//! and `spans` when the event happened inside one (a connection's id, group and member).
//!
//! `RUST_LOG` chooses the levels, with one exception: crates that print whole WebSocket frames
//! at trace level (tungstenite's "Received message ...") are held at `info` whatever `RUST_LOG`
//! says. Those lines would put a scorer's submission, unencrypted, next to the connection's
//! span, which names the member: the one pairing the anonymity promise rules out. Tests build
//! their log capture with this same filter.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Installs the process's log subscriber: `RUST_LOG`'s levels through [`env_filter`], written
/// to standard error in `format`.
pub fn init(format: LogFormat) {
    let filter = env_filter(&std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => {
            let no_color = std::env::var_os("NO_COLOR");
            builder
                .with_ansi(colour(std::io::stderr().is_terminal(), no_color.as_deref()))
                .init();
        }
        LogFormat::Json => builder
            .json()
            .with_ansi(false)
            .flatten_event(true)
            .with_target(true)
            .with_current_span(true)
            .with_span_list(true)
            .init(),
    }
}

/// Whether text logs are coloured: only on a terminal, and not when `NO_COLOR` (its value is
/// `no_color`) is set to anything but the empty string.
fn colour(terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    terminal && no_color.is_none_or(std::ffi::OsStr::is_empty)
}

/// Crates that log frame or command payloads below `info`, and are capped at `info`.
pub const PAYLOAD_LOGGING_CRATES: [&str; 3] = ["tungstenite", "tokio_tungstenite", "redis"];

/// The filter for `spec` (a `RUST_LOG` value; `info` when it does not parse), with the payload
/// logging crates capped at `info`.
pub fn env_filter(spec: &str) -> EnvFilter {
    let mut filter = EnvFilter::try_new(spec).unwrap_or_else(|_| EnvFilter::new("info"));
    for target in PAYLOAD_LOGGING_CRATES {
        let directive = format!("{target}=info")
            .parse()
            .expect("a crate name and a level form a directive");
        filter = filter.add_directive(directive);
    }
    filter
}
