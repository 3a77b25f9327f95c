//! The `roundtable` binary: parses the configuration, starts the server, and stops it on
//! Ctrl-C or SIGTERM.

use clap::Parser;
use roundtable_server::{Config, Server, logging};

/// How many tasks the runtime's thread runs before it looks at its sockets and timers again
/// (tokio's `event_interval`, 61 by default). A room on the Redis store waits for Redis's answer
/// on a socket, which only such a look notices; with a thousand busy connections on the
/// thread, 61 tasks between two looks kept the answer waiting behind other work. At 8, the
/// Redis store's deliveries had a lower p99 at 6,500 actions/s in five alternating runs of five,
/// and its ramp held 0.81 to 0.87× the embedded store's round by round instead of 0.53 to 0.93×
/// (BENCHMARKS.md, "The Redis store's ramp"). The embedded store's answers come from its writer
/// thread, which wakes the room itself; its ramp did not move.
const RUNTIME_EVENT_INTERVAL: u32 = 8;

/// The server allocates with jemalloc on Linux. With glibc's allocator, a `kill -9` of one node
/// of three at 1,000 rooms spent about a tenth of the fleet's core in `malloc`, `free` and their
/// consolidation of freed chunks while the killed node's members came back (snapshots, join
/// frames and connections made and dropped by the thousand); with jemalloc, every member was
/// back and caught up 0.3 to 0.5 s sooner at p99 in alternating runs, for 0.1 to 0.2 KiB more
/// per idle connection (BENCHMARKS.md, "The allocator and presence in a kill's wave").
#[cfg(target_os = "linux")]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .event_interval(RUNTIME_EVENT_INTERVAL)
        .build()?
        .block_on(serve(config))
}

async fn serve(config: Config) -> anyhow::Result<()> {
    logging::init(config.log_format);
    raise_open_files_limit();
    let server = Server::bind(config).await?;
    let stop = stop_signal();
    println!(
        "Roundtable is running. Open {}/ in a browser.",
        server.public_base()
    );
    if let Some(admin) = server.admin_addr() {
        println!("Metrics at http://{admin}/metrics, health at http://{admin}/healthz.");
    }
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
