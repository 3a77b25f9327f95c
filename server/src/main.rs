//! The `roundtable` binary: parses the configuration, starts the server, and stops it on
//! Ctrl-C or SIGTERM.

use clap::Parser;
use roundtable_server::{Config, Server, logging};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    logging::init(config.log_format);
    raise_open_files_limit();
    let server = Server::bind(config).await?;
    let stop = stop_signal();
    println!(
        "Roundtable is running. Open {}/ in a browser.",
        server.public_base()
    );
    server.run(stop).await
}

/// Every connection is a file descriptor, and the soft limit is often 1,024: it goes up to the
/// hard limit before the server accepts anything.
fn raise_open_files_limit() {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => tracing::info!(open_files_max = limit, "open files limit"),
        Err(error) => tracing::warn!(%error, "could not raise the open files limit"),
    }
}

/// A future that completes on Ctrl-C (SIGINT) or SIGTERM. On Unix the handlers are installed
/// when this is called, not when the future is first polled, so a signal that arrives once the
/// server has printed its address already stops it gracefully.
#[cfg(unix)]
fn stop_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{SignalKind, signal};
    let interrupt = signal(SignalKind::interrupt());
    let terminate = signal(SignalKind::terminate());
    async move {
        let next = |signal: std::io::Result<tokio::signal::unix::Signal>| async move {
            match signal {
                Ok(mut signal) => {
                    signal.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            () = next(interrupt) => {}
            () = next(terminate) => {}
        }
    }
}

/// A future that completes on Ctrl-C.
#[cfg(not(unix))]
fn stop_signal() -> impl std::future::Future<Output = ()> {
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}
