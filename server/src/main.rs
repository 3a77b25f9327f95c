//! The `roundtable` binary: parses the configuration, starts the server, and stops it on
//! Ctrl-C or SIGTERM.

use clap::Parser;
use roundtable_server::{Config, Server, logging};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    tracing_subscriber::fmt()
        .with_env_filter(logging::env_filter(
            &std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()),
        ))
        .init();
    raise_open_files_limit();
    let server = Server::bind(config).await?;
    println!(
        "Roundtable is running. Open {}/ in a browser.",
        server.public_base()
    );
    server.run(stop_signal()).await
}

/// Every connection is a file descriptor, and the soft limit is often 1,024: it goes up to the
/// hard limit before the server accepts anything.
fn raise_open_files_limit() {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => tracing::info!(open_files_max = limit, "open files limit"),
        Err(error) => tracing::warn!(%error, "could not raise the open files limit"),
    }
}

/// Completes on Ctrl-C or SIGTERM.
async fn stop_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
