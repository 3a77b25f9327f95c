//! What the HTTP routes and the connections share: the configuration, the store, the live
//! rooms, the clock and the shutdown signal, in one [`App`].

use std::net::SocketAddr;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::clock::Clock;
use crate::config::Config;
use crate::room::actor::RoomContext;
use crate::room::registry::Registry;
use crate::store::Store;

/// Everything request handlers and connections share.
#[derive(Debug)]
pub struct App {
    pub config: Config,
    /// The base of every link handed out, without a trailing slash.
    pub public_base: String,
    /// Origins allowed to open a WebSocket (the public URL's, plus the configured ones).
    pub allowed_origins: Vec<String>,
    pub store: Arc<dyn Store>,
    pub rooms: Registry,
    pub clock: Arc<dyn Clock>,
    /// Cancelled when the server shuts down.
    pub shutdown: CancellationToken,
    /// Every open WebSocket connection (each holds a token of it while it is open); shutdown
    /// waits for them to close.
    pub connections: TaskTracker,
}

impl App {
    /// The shared state of a server bound to `bound`, which stops when `shutdown` is cancelled.
    pub fn new(
        config: Config,
        bound: SocketAddr,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        shutdown: CancellationToken,
    ) -> App {
        let public_base = config.public_base(bound);
        let mut allowed_origins = vec![origin_of(&public_base)];
        allowed_origins.extend(
            config
                .allowed_origins
                .iter()
                .map(|origin| origin.trim_end_matches('/').to_string()),
        );
        let rooms = Registry::new(RoomContext {
            store: Arc::clone(&store),
            limits: config.limits.clone(),
            clock: Arc::clone(&clock),
            shutdown: shutdown.clone(),
            lease_owner: new_lease_owner(),
            public_base: Arc::from(public_base.as_str()),
        });
        App {
            config,
            public_base,
            allowed_origins,
            store,
            rooms,
            clock,
            shutdown,
            connections: TaskTracker::new(),
        }
    }

    /// WebSocket connections open now.
    pub fn open_connections(&self) -> u64 {
        self.connections.len() as u64
    }
}

/// A fresh random id for this process as a holder of room leases. A restarted process gets
/// another one, so it cannot mistake a lease of its dead predecessor for its own.
fn new_lease_owner() -> Arc<str> {
    Arc::from(uuid::Uuid::new_v4().simple().to_string())
}

/// The origin (`scheme://host[:port]`) of a URL.
fn origin_of(url: &str) -> String {
    let after_scheme = url.find("://").map_or(0, |index| index + 3);
    match url[after_scheme..].find('/') {
        Some(slash) => url[..after_scheme + slash].to_string(),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::origin_of;

    #[test]
    fn origin_drops_the_path() {
        assert_eq!(
            origin_of("https://meet.example.com/rt"),
            "https://meet.example.com"
        );
        assert_eq!(origin_of("http://127.0.0.1:8080"), "http://127.0.0.1:8080");
    }
}
