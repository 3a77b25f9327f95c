//! The log filter. `RUST_LOG` chooses the levels, with one exception: crates that print whole
//! WebSocket frames at trace level (tungstenite's "Received message ...") are held at `info`
//! whatever `RUST_LOG` says. Those lines would put a scorer's submission, unencrypted, next to
//! the connection's span, which names the member: the one pairing the anonymity promise rules
//! out. Tests build their log capture with this same filter.

use tracing_subscriber::EnvFilter;

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
