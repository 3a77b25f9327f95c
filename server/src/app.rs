//! What the HTTP routes and the connections share: the configuration, the store, the live
//! rooms, the clock and the shutdown signal, in one [`App`].

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::admission::address::{AddressKey, Peer, client_address};
use crate::admission::buckets::{KeyedBuckets, Rate};
use crate::admission::counts::AddressCounts;
use crate::admission::group_creation::GroupCreationLimits;
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
    /// The connections of this node's own clients, among them (not those another node
    /// forwards here): the ones a drain lets go.
    pub clients: TaskTracker,
    /// How many groups each client address, and the whole server, may create now.
    pub group_creations: GroupCreationLimits,
    /// WebSockets not joined yet, per client address.
    pub unjoined_websockets: AddressCounts,
    /// Joins per client address.
    pub joins: Mutex<KeyedBuckets<AddressKey>>,
    /// Connections whose first request's head is not complete yet, per TCP peer address.
    pub unfinished_requests: AddressCounts,
    /// The store canary's record, for `/healthz`.
    pub health: crate::health::Health,
    /// This process's random id: the holder of its leases, and the writer of its canary.
    pub node_id: Arc<str>,
    /// This node's part in a fleet, set once its internal listener is bound (`--internal-listen`);
    /// unset, every client is served here.
    pub fleet: std::sync::OnceLock<Arc<crate::fleet::Fleet>>,
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
        let node_id = new_lease_owner();
        let health = crate::health::Health::new(store.kind());
        let rooms = Registry::new(RoomContext {
            store: Arc::clone(&store),
            limits: config.limits.clone(),
            clock: Arc::clone(&clock),
            shutdown: shutdown.clone(),
            lease_owner: Arc::clone(&node_id),
            public_base: Arc::from(public_base.as_str()),
            fleet: crate::room::fleet::Fleet::new(&config.limits),
        });
        let limits = &config.limits;
        let group_creations = GroupCreationLimits::new(
            limits.group_creations_per_address_burst,
            limits.group_creations_per_address_per_hour,
            limits.group_creations_per_hour,
            limits.addresses_tracked_max,
        );
        let unjoined_websockets = AddressCounts::new(limits.unjoined_websockets_per_address_max);
        let per_minute = limits.joins_per_address_per_minute;
        let joins = Mutex::new(KeyedBuckets::new(
            Rate::per_minute(per_minute, per_minute),
            limits.addresses_tracked_max,
        ));
        let unfinished_requests = AddressCounts::new(limits.unfinished_requests_per_address_max);
        App {
            health,
            node_id,
            group_creations,
            unjoined_websockets,
            joins,
            unfinished_requests,
            config,
            public_base,
            allowed_origins,
            store,
            rooms,
            clock,
            shutdown,
            connections: TaskTracker::new(),
            clients: TaskTracker::new(),
            fleet: std::sync::OnceLock::new(),
        }
    }

    /// The client's address for a request from `peer` with `headers` (see
    /// [`client_address`]); an unknown peer counts as the unspecified address.
    pub fn client_address(
        &self,
        peer: Option<Peer>,
        headers: &axum::http::HeaderMap,
    ) -> std::net::IpAddr {
        let peer = peer.map_or(std::net::IpAddr::from([0, 0, 0, 0]), |Peer(peer)| peer.ip());
        client_address(peer, headers, &self.config.trusted_proxies)
    }

    /// A connection's place among the unfinished requests of its TCP peer's address: `Ok(None)`
    /// for a trusted proxy (not counted: it speaks for many clients), `Err` when the address
    /// holds as many as it may.
    pub fn hold_unfinished_request(
        &self,
        peer: std::net::IpAddr,
    ) -> Result<Option<crate::admission::counts::Slot>, AddressFull> {
        if self
            .config
            .trusted_proxies
            .iter()
            .any(|network| network.contains(peer))
        {
            return Ok(None);
        }
        self.unfinished_requests
            .acquire(AddressKey::of(peer))
            .map(Some)
            .ok_or(AddressFull)
    }

    /// Admits a WebSocket from `client`: one more among the address's WebSockets that have not
    /// joined, or `None` when it holds as many as it may.
    pub fn admit_websocket(&self, client: std::net::IpAddr) -> Option<AdmittedWebSocket> {
        let key = AddressKey::of(client);
        let unjoined = self.unjoined_websockets.acquire(key)?;
        Some(AdmittedWebSocket {
            client,
            key,
            unjoined: Some(unjoined),
            join_counts: true,
        })
    }

    /// Admits a stream an edge opened to join its client again (see
    /// [`crate::fleet::link::MADE_AGAIN`]): outside the address's WebSockets that have not
    /// joined, and its join outside the address's joins a minute. The client asked for
    /// neither: it made its join once, where it was counted (unless its owner died before
    /// reading it), and a kill would otherwise spend the limits of an office behind one
    /// address on joins its members never made again. The link carrying it is bounded
    /// (`--link-streams-max`), and only a node that proved the fleet secret opens one.
    pub fn admit_made_again(&self, client: std::net::IpAddr) -> AdmittedWebSocket {
        AdmittedWebSocket {
            client,
            key: AddressKey::of(client),
            unjoined: None,
            join_counts: false,
        }
    }

    /// Counts a join from `key`, or answers how long until one may pass.
    pub fn admit_join(&self, key: AddressKey) -> Result<(), std::time::Duration> {
        self.joins
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take(key, std::time::Instant::now())
    }

    /// WebSocket connections open now.
    pub fn open_connections(&self) -> u64 {
        self.connections.len() as u64
    }
}

/// The address holds as many as it may.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddressFull;

/// A WebSocket's place among its client address's: what its limits per address count under,
/// and its slot among the address's WebSockets that have not joined (given back on joining).
#[derive(Debug)]
pub struct AdmittedWebSocket {
    /// The client's address (what a forwarded stream tells the owner, for its limits).
    pub client: std::net::IpAddr,
    pub key: AddressKey,
    pub unjoined: Option<crate::admission::counts::Slot>,
    /// Whether its next join counts against the address's joins a minute: not the first join
    /// of a stream opened for a join made again ([`App::admit_made_again`]).
    pub join_counts: bool,
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
