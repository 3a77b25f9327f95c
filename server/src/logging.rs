//! Where logs go and which lines are written. Logs go to standard error, so standard output
//! carries only what the binary prints for people (its address); they are text (coloured only
//! when standard error is a terminal) or one JSON object per line (`--log-format json`).
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
        LogFormat::Text => builder.with_ansi(std::io::stderr().is_terminal()).init(),
        LogFormat::Json => builder.json().with_current_span(true).init(),
    }
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
