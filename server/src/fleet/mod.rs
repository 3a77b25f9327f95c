//! Several nodes as one fleet on one Redis (see ARCHITECTURE.md, "Several server nodes"): the
//! node registry, placement, and routing a client to the node that runs its room.
//!
//! - [`Fleet`]: this node's part. Every `--node-heartbeat-ms` it writes its entry in the node
//!   registry (its id, client URL, internal address, load, draining flag) and reads the live
//!   nodes back; [`Fleet::route`] says where a group's room is run: here, or on another live
//!   node (the lease holder, or with no holder the node placement names).
//! - [`rendezvous`] (in `placement`): placement by rendezvous (highest random weight) hashing of the group id
//!   over the live nodes that are not draining: every node computes the same answer from the
//!   same registry, and a node coming or going moves only the groups it wins or won.
//! - [`link`]: the internal link between two nodes, which carries forwarded clients.
//! - [`rebalance`]: rooms go back to the node placement names for them once it is live again.
//! - [`spread`]: a node holding more than its share of the fleet's clients lets some go, to
//!   reconnect to the others.
//!
//! The lease stays the truth: whoever holds a group's lease runs its room, and placement is
//! only asked when nobody does.

pub mod link;
mod placement;
mod probe;
pub mod rebalance;
pub mod spread;

pub use placement::{Route, rendezvous};
pub use probe::PROBE_INTERVAL;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use roundtable_protocol::GroupId;
use tracing::{debug, warn};

use crate::config::FleetConfig;
use crate::store::{NodeEntry, Store};
use crate::transport::outbox::Outbox;
use link::{ConnectError, EdgeStream, Link};

/// This node's part in a fleet.
#[derive(Debug)]
pub struct Fleet {
    node_id: Arc<str>,
    /// Where other nodes reach this node's internal listener.
    advertise: SocketAddr,
    client_url: String,
    secret: Arc<[u8]>,
    config: FleetConfig,
    store: Arc<dyn Store>,
    /// The live nodes as last read, and when.
    nodes: Mutex<(Instant, Vec<NodeEntry>)>,
    /// When this node's heartbeat first read each node of the registry live (since it last
    /// did not), by node id, for the [`rebalance`]: bounded by the registry.
    first_seen: Mutex<HashMap<String, Instant>>,
    /// This node's links to owners, by node id (at most one per node; each opened under its
    /// own lock, so a node that cannot be reached holds up only the clients bound for it).
    links: Mutex<HashMap<String, LinkSlot>>,
    /// When this node last found another node unreachable (its link broke, or a connect to
    /// it failed), by node id: such a node counts as not live until a heartbeat of its own
    /// newer than that (see [`Fleet::live_nodes`]). Bounded by the registry: a mark is
    /// forgotten once older than a registry entry's life.
    unreachable: Arc<Mutex<HashMap<String, Instant>>>,
    /// When a connect to another node was last refused (nothing listens at its internal
    /// address: its process is gone), by node id: marks like `unreachable`'s, read by
    /// [`Fleet::holder_gone`].
    gone: Mutex<HashMap<String, Instant>>,
    /// When [`Fleet::holder_gone`] last tried to connect to a node, by node id, so that the
    /// joins waiting for its leases try at most once per [`GONE_CHECK_INTERVAL`].
    gone_checks: Mutex<HashMap<String, Instant>>,
    /// Per node this node has a link to, the link's drain notice (see [`link`], "Drain
    /// notice"): cancelled once the node said it drains, and placement leaves it out from
    /// then on, before its heartbeat says so. Read where the link's reader cancels it, so a
    /// client the node closes after its notice is routed with the notice known. Bounded by
    /// the registry, like `links`.
    draining_peers: Mutex<HashMap<String, tokio_util::sync::CancellationToken>>,
    /// The write queues of the links this node serves as owner, for the drain notice; the
    /// flag beside them is this node's draining flag, set under the same lock, so that every
    /// link hears of the drain once: by a [`link::Kind::Draining`] frame, or in its welcome.
    served: Mutex<(bool, Vec<tokio::sync::mpsc::Sender<link::LinkFrame>>)>,
    draining: AtomicBool,
    /// The last warning per peer about a link that could not be opened (see
    /// [`Fleet::link_to`]).
    link_warnings: Mutex<LinkWarnings>,
    /// The clients connected to this node itself, which the [`spread`] may let go.
    pub clients: Arc<spread::Clients>,
    /// The rooms running here that the [`rebalance`] is to move, as of its last look (0 when
    /// it moves none): the spread waits for them.
    rooms_to_move: std::sync::atomic::AtomicUsize,
}

/// When to warn about links to other nodes that cannot be opened: an edge tries a node it
/// cannot reach again and again (every client bound for it, every probe), and a warning per
/// try would flood the log. So the first failure to reach a peer is logged, then at most one
/// per [`LINK_WARNING_INTERVAL`] per peer with the count of those not logged; a link that
/// opens again resets it (the next failure is news again).
#[derive(Debug, Default)]
struct LinkWarnings {
    /// Per peer: when its last warning was logged, and the failures since, not logged.
    peers: HashMap<String, (Instant, u64)>,
}

impl LinkWarnings {
    /// Counts a failure to link to `peer` at `now`; `Some(failures not logged since the last
    /// warning)` when this one is to be logged. At most `max` peers are tracked (the fleet's
    /// size): past that, peers quiet for longer than the interval are forgotten, and failures
    /// of an untracked peer are all logged.
    fn failed(&mut self, peer: &str, now: Instant, max: usize) -> Option<u64> {
        if let Some((logged, unlogged)) = self.peers.get_mut(peer) {
            if now.saturating_duration_since(*logged) < LINK_WARNING_INTERVAL {
                *unlogged += 1;
                return None;
            }
            *logged = now;
            return Some(std::mem::take(unlogged));
        }
        if self.peers.len() >= max {
            self.peers.retain(|_, (logged, _)| {
                now.saturating_duration_since(*logged) < LINK_WARNING_INTERVAL
            });
        }
        if self.peers.len() < max {
            self.peers.insert(peer.to_string(), (now, 0));
        }
        Some(0)
    }

    /// A link to `peer` opened; answers the failures not logged since its last warning.
    fn recovered(&mut self, peer: &str) -> Option<u64> {
        self.peers.remove(peer).map(|(_, unlogged)| unlogged)
    }
}

/// The least time between two connects of [`Fleet::holder_gone`] to the same node.
const GONE_CHECK_INTERVAL: std::time::Duration = std::time::Duration::from_millis(100);
/// The longest [`Fleet::holder_gone`] waits for its connect: a refused one answers at once.
const GONE_CHECK_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(250);

/// The least time between two warnings about failing links to the same peer.
const LINK_WARNING_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);

type LinkSlot = Arc<tokio::sync::Mutex<Option<Arc<Link>>>>;

impl Fleet {
    pub fn new(
        node_id: Arc<str>,
        advertise: SocketAddr,
        client_url: String,
        config: FleetConfig,
        store: Arc<dyn Store>,
    ) -> Fleet {
        let secret: Arc<[u8]> =
            Arc::from(config.fleet_secret.clone().unwrap_or_default().as_bytes());
        Fleet {
            node_id,
            advertise,
            client_url,
            secret,
            config,
            store,
            nodes: Mutex::new((Instant::now(), Vec::new())),
            first_seen: Mutex::default(),
            links: Mutex::new(HashMap::new()),
            unreachable: Arc::new(Mutex::new(HashMap::new())),
            gone: Mutex::new(HashMap::new()),
            gone_checks: Mutex::new(HashMap::new()),
            draining_peers: Mutex::new(HashMap::new()),
            served: Mutex::new((false, Vec::new())),
            draining: AtomicBool::new(false),
            link_warnings: Mutex::new(LinkWarnings::default()),
            clients: Arc::default(),
            rooms_to_move: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    /// The fleet secret, for the internal listener.
    pub fn secret(&self) -> Arc<[u8]> {
        Arc::clone(&self.secret)
    }

    /// Marks this node as draining: placement leaves it out from its next heartbeat on, and
    /// at once on every node linked to it, which it tells now (a [`link::Kind::Draining`]
    /// frame on every link it serves, queued before any room hands itself over).
    pub fn set_draining(&self, draining: bool) {
        self.draining.store(draining, Ordering::Relaxed);
        let mut served = lock(&self.served);
        let newly = draining && !served.0;
        served.0 = draining;
        served.1.retain(|queue| !queue.is_closed());
        if !newly {
            return;
        }
        for queue in &served.1 {
            let notice = link::LinkFrame::new(link::Kind::Draining, 0, bytes::Bytes::new());
            if let Err(tokio::sync::mpsc::error::TrySendError::Full(notice)) =
                queue.try_send(notice)
            {
                let queue = queue.clone();
                tokio::spawn(async move {
                    let _ = queue.send(notice).await;
                });
            }
        }
    }

    /// Notes a link this node serves (as owner), whose writer takes frames from `queue`, for
    /// the drain notice. Answers whether this node drains already (the welcome then says so,
    /// and no notice follows). Bounded: the queues of links that ended are dropped here.
    pub fn serve_link(&self, queue: tokio::sync::mpsc::Sender<link::LinkFrame>) -> bool {
        let mut served = lock(&self.served);
        served.1.retain(|queue| !queue.is_closed());
        if !served.0 {
            served.1.push(queue);
        }
        served.0
    }

    /// Whether `node` said over its link that it drains.
    fn peer_drains(&self, node: &str) -> bool {
        lock(&self.draining_peers)
            .get(node)
            .is_some_and(tokio_util::sync::CancellationToken::is_cancelled)
    }

    /// How long an entry stays in the registry after its last heartbeat.
    fn entry_ttl_ms(&self) -> u64 {
        (self.config.node_live_ms * 5).max(10_000)
    }

    /// Writes this node's entry with its load, then reads the live nodes back.
    pub async fn heartbeat(&self, live_rooms: u64, connections: u64) {
        let entry = NodeEntry {
            id: self.node_id.to_string(),
            client_url: self.client_url.clone(),
            internal_addr: self.advertise.to_string(),
            live_rooms,
            connections,
            draining: self.draining.load(Ordering::Relaxed),
            heartbeat_age_ms: 0,
        };
        if let Err(error) = self.store.publish_node(&entry, self.entry_ttl_ms()).await {
            warn!(%error, "could not write this node's heartbeat");
        }
        let max = usize::try_from(self.config.fleet_nodes_max).unwrap_or(usize::MAX);
        match self.store.live_nodes(self.config.node_live_ms, max).await {
            Ok(nodes) => {
                let now = Instant::now();
                {
                    let mut first_seen = lock(&self.first_seen);
                    first_seen.retain(|id, _| nodes.iter().any(|node| node.id == *id));
                    for node in &nodes {
                        first_seen.entry(node.id.clone()).or_insert(now);
                    }
                }
                *self.lock_nodes() = (now, nodes);
            }
            Err(error) => warn!(%error, "could not read the node registry"),
        }
    }

    /// Removes this node from the registry (a clean shutdown).
    pub async fn deregister(&self) {
        if let Err(error) = self.store.remove_node(&self.node_id).await {
            warn!(%error, "could not remove this node from the node registry");
        }
        let slots: Vec<LinkSlot> = self.lock_links().values().cloned().collect();
        for slot in slots {
            // A slot whose link is being opened is left: waiting for a connect to a peer that
            // does not answer would hold the shutdown up, and the process's exit ends it.
            if let Ok(open) = slot.try_lock()
                && let Some(link) = &*open
            {
                link.break_link();
            }
        }
    }

    fn lock_links(&self) -> std::sync::MutexGuard<'_, HashMap<String, LinkSlot>> {
        self.links
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn lock_nodes(&self) -> std::sync::MutexGuard<'_, (Instant, Vec<NodeEntry>)> {
        self.nodes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The nodes whose heartbeat is fresh now (as last read, aged since), without those this
    /// node found unreachable since their last heartbeat: a node killed with `kill -9` keeps
    /// a fresh heartbeat for up to `--node-live-ms`, but its broken link or refused connect
    /// tells at once, and a client is not sent towards it meanwhile.
    pub fn live_nodes(&self) -> Vec<NodeEntry> {
        let unreachable = lock(&self.unreachable).clone();
        let (read_at, nodes) = &*self.lock_nodes();
        let since = read_at.elapsed().as_millis() as u64;
        nodes
            .iter()
            .filter(|node| node.heartbeat_age_ms.saturating_add(since) <= self.config.node_live_ms)
            .filter(|node| !superseded(node, nodes))
            .filter(|node| {
                unreachable.get(&node.id).is_none_or(|marked| {
                    let heartbeat = read_at
                        .checked_sub(std::time::Duration::from_millis(node.heartbeat_age_ms));
                    heartbeat.is_some_and(|heartbeat| heartbeat > *marked)
                })
            })
            .cloned()
            .collect()
    }

    /// Whether the process of `node_id`, another node that holds a lease this node waits
    /// for, is gone: another node's registry entry took over its internal address (see
    /// [`superseded`]), or a connect to its internal address was refused since its last heartbeat
    /// (nothing listens there, or another node answers: a process restarted there under a new
    /// id; a node cut off by the network usually times out instead, but a
    /// firewall that rejects, or a wrong `--internal-advertise`, looks the same: see
    /// ARCHITECTURE.md, "Several server nodes", for what that costs). If no
    /// connect told so yet, tries one (at most once per [`GONE_CHECK_INTERVAL`] per node, for
    /// at most [`GONE_CHECK_TIMEOUT`]). A node no longer in the registry as last read cannot
    /// be asked: `false`, and its lease runs out by itself.
    pub async fn holder_gone(&self, node_id: &str) -> bool {
        if node_id == &*self.node_id {
            return false;
        }
        let (node, replaced) = {
            let nodes = &self.lock_nodes().1;
            let Some(node) = nodes.iter().find(|node| node.id == node_id).cloned() else {
                return false;
            };
            let replaced = superseded(&node, nodes);
            (node, replaced)
        };
        if replaced || self.marked_gone(&node) {
            return true;
        }
        {
            let now = Instant::now();
            let mut checks = lock(&self.gone_checks);
            if checks
                .get(node_id)
                .is_some_and(|at| now.saturating_duration_since(*at) < GONE_CHECK_INTERVAL)
            {
                return false;
            }
            checks.retain(|_, at| now.saturating_duration_since(*at) < GONE_CHECK_INTERVAL);
            checks.insert(node_id.to_string(), now);
        }
        let _ = tokio::time::timeout(GONE_CHECK_TIMEOUT, self.link_to(&node)).await;
        self.marked_gone(&node)
    }

    /// Forgets that `node_id` was found gone: it holds a lease again after this node ended it
    /// (it renewed in between: alive after all), so joins wait for it, or reach it, as usual.
    pub fn holder_alive(&self, node_id: &str) {
        lock(&self.gone).remove(node_id);
    }

    /// Whether a connect marked `node` gone (refused, or answered by another node) after its
    /// last heartbeat (as last read).
    fn marked_gone(&self, node: &NodeEntry) -> bool {
        let Some(marked) = lock(&self.gone).get(&node.id).copied() else {
            return false;
        };
        let read_at = self.lock_nodes().0;
        let heartbeat =
            read_at.checked_sub(std::time::Duration::from_millis(node.heartbeat_age_ms));
        heartbeat.is_none_or(|heartbeat| heartbeat < marked)
    }

    /// Notes that `node` could not be reached just now.
    fn mark_unreachable(marks: &Mutex<HashMap<String, Instant>>, node: &str, forget_ms: u64) {
        let mut marks = lock(marks);
        let forget = std::time::Duration::from_millis(forget_ms);
        marks.retain(|_, marked| marked.elapsed() < forget);
        marks.insert(node.to_string(), Instant::now());
    }

    /// Whether `node` is another live node this node can reach, as far as it knows: a holder
    /// for whose lease a join need not wait here (the client is forwarded to it instead).
    pub fn reaches(&self, node: &str) -> bool {
        node != &*self.node_id && self.live_nodes().iter().any(|live| live.id == node)
    }

    /// Where `group_id`'s room is run: by its lease's holder when it is a live node, else by
    /// placement. A holder that is not a live node (its heartbeat is stale, or it was found
    /// unreachable or gone: killed, most likely) is not forwarded to, and counts as no holder:
    /// the node placement names waits for its lease (or ends it, the holder being gone) and
    /// takes the room over. So a killed owner's rooms are taken over where placement puts
    /// them, not wherever a member's reconnection lands first, and the rebalance need not move
    /// them again a moment later.
    pub async fn route(&self, group_id: GroupId) -> Route {
        let holder = match self.store.lease_holder(group_id).await {
            Ok(holder) => holder,
            Err(error) => {
                debug!(%error, "could not read a lease's holder; serving locally");
                return Route::Local;
            }
        };
        let nodes = self.live_nodes();
        if let Some(holder) = holder {
            if *holder == *self.node_id {
                return Route::Local;
            }
            if let Some(node) = nodes.iter().find(|node| node.id == holder) {
                return Route::Remote(node.clone());
            }
        }
        match self.placed_elsewhere(group_id, &nodes) {
            Some(node) => Route::Placed(node.clone()),
            None => Route::Local,
        }
    }

    /// The node among `nodes` that placement names for `group_id` when that is another node:
    /// placement over the live nodes that do not drain, as the registry says, as their links
    /// said, or this one (which knows before its own next heartbeat says so).
    fn placed_elsewhere<'a>(
        &self,
        group_id: GroupId,
        nodes: &'a [NodeEntry],
    ) -> Option<&'a NodeEntry> {
        let draining_here = self.draining.load(Ordering::Relaxed);
        let candidates = nodes
            .iter()
            .filter(|node| !node.draining && !self.peer_drains(&node.id))
            .filter(|node| !(draining_here && *node.id == *self.node_id))
            .map(|node| node.id.as_str());
        let placed = rendezvous(group_id, candidates)?;
        if placed == &*self.node_id {
            return None;
        }
        nodes.iter().find(|node| node.id == placed)
    }

    /// `group_id`'s room has given its lease up (this node drains, or moves the room away):
    /// asks the node placement names for it now to load it at once (see [`link`], "Handover"). Never waits:
    /// the take is queued now on an open link to that node, or else by a task that opens one,
    /// which gives up after [`link::HANDOVER_LINK_WAIT`] (the members' joins load the room
    /// then, as without a take).
    pub fn hand_over(self: Arc<Self>, group_id: GroupId) {
        let nodes = self.live_nodes();
        let Some(node) = self.placed_elsewhere(group_id, &nodes).cloned() else {
            return;
        };
        let slot = self.lock_links().get(&node.id).cloned();
        if let Some(slot) = slot
            && let Ok(open) = slot.try_lock()
            && let Some(link) = open.as_ref().filter(|link| link.is_alive())
        {
            if !link.take(group_id) {
                debug!(node = %node.id, group = %group_id, "a handover's take was not sent");
            }
            return;
        }
        tokio::spawn(async move {
            let link = tokio::time::timeout(link::HANDOVER_LINK_WAIT, self.link_to(&node)).await;
            if !matches!(link, Ok(Some(link)) if link.take(group_id)) {
                debug!(node = %node.id, group = %group_id, "a handover's take was not sent");
            }
        });
    }

    /// Opens a stream to `node` for a client at `client` whose frames from the owner go to
    /// `outbox`, sending `join` (the client's join frame) first. `None` when the node cannot
    /// be reached, or when `placed` (placement named the node; no live node holds the lease)
    /// and the node said, when its link opened just now, that it drains: the caller routes
    /// the join again (see `Connection::forward_join`).
    pub async fn open_stream(
        &self,
        node: &NodeEntry,
        placed: bool,
        client: IpAddr,
        outbox: Outbox,
        attachment: Arc<link::Attachment>,
        join: &str,
    ) -> Option<EdgeStream> {
        let link = self.link_to(node).await?;
        if placed && link.peer_draining().is_cancelled() {
            debug!(node = %node.id, "placement named a node that drains; serving here");
            return None;
        }
        let stream = link.open(client, outbox, attachment, join).await;
        if stream.is_none() {
            debug!(node = %node.id, "a link took no new stream");
            if !link.is_alive() {
                // It broke meanwhile: marked now, not once its watcher task runs, so a join
                // routed again at once passes the node over.
                Fleet::mark_unreachable(&self.unreachable, &node.id, self.entry_ttl_ms());
            }
        }
        stream
    }

    /// The live link to `node`, opened if there is none.
    async fn link_to(&self, node: &NodeEntry) -> Option<Arc<Link>> {
        let slot = {
            let mut links = self.lock_links();
            if !links.contains_key(&node.id) {
                // Forget the slots of nodes that left the registry (bounded by the registry).
                let live = self.live_nodes();
                links.retain(|id, _| live.iter().any(|node| node.id == *id));
                lock(&self.draining_peers).retain(|id, _| live.iter().any(|node| node.id == *id));
            }
            Arc::clone(links.entry(node.id.clone()).or_default())
        };
        let mut link = slot.lock().await;
        if let Some(open) = &*link
            && open.is_alive()
        {
            return Some(Arc::clone(open));
        }
        *link = None;
        match Link::connect(
            &node.id,
            &node.internal_addr,
            &self.node_id,
            &self.secret,
            &self.config,
        )
        .await
        {
            Ok(opened) => {
                crate::metrics::forwarding::link_connect("connected");
                lock(&self.unreachable).remove(&node.id);
                lock(&self.gone).remove(&node.id);
                self.link_recovered(&node.id);
                lock(&self.draining_peers).insert(node.id.clone(), opened.peer_draining());
                // A link that breaks (the peer died, or nothing came on it for a long while) marks its node.
                let broken = opened.broken();
                let marks = Arc::clone(&self.unreachable);
                let (id, forget_ms) = (node.id.clone(), self.entry_ttl_ms());
                tokio::spawn(async move {
                    broken.cancelled().await;
                    Fleet::mark_unreachable(&marks, &id, forget_ms);
                });
                *link = Some(Arc::clone(&opened));
                Some(opened)
            }
            Err(ConnectError::Refused) => {
                Fleet::mark_unreachable(&self.unreachable, &node.id, self.entry_ttl_ms());
                crate::metrics::forwarding::link_connect("refused_by_peer");
                if let Some(since) = self.link_failed(&node.id) {
                    warn!(node = %node.id, failures_not_logged = since, "another node refused this node's link: are the fleet secrets the same?");
                }
                None
            }
            Err(ConnectError::Gone(why)) => {
                Fleet::mark_unreachable(&self.unreachable, &node.id, self.entry_ttl_ms());
                Fleet::mark_unreachable(&self.gone, &node.id, self.entry_ttl_ms());
                crate::metrics::forwarding::link_connect("gone");
                if let Some(since) = self.link_failed(&node.id) {
                    warn!(node = %node.id, %why, failures_not_logged = since, "another node's internal address refuses connections, or another node answers there: its process is gone");
                }
                None
            }
            Err(ConnectError::Failed(why)) => {
                Fleet::mark_unreachable(&self.unreachable, &node.id, self.entry_ttl_ms());
                crate::metrics::forwarding::link_connect("failed");
                if let Some(since) = self.link_failed(&node.id) {
                    warn!(node = %node.id, %why, failures_not_logged = since, "could not open a link to another node");
                }
                None
            }
        }
    }

    /// Counts a failed link to `peer`; answers `Some(failures not logged since the last
    /// warning)` when this one is to be logged (see [`LinkWarnings`]).
    fn link_failed(&self, peer: &str) -> Option<u64> {
        let max = usize::try_from(self.config.fleet_nodes_max).unwrap_or(usize::MAX);
        lock(&self.link_warnings).failed(peer, Instant::now(), max)
    }

    /// A link to `peer` opened: its next failure is logged at once (a change of state).
    fn link_recovered(&self, peer: &str) {
        if let Some(unlogged) = lock(&self.link_warnings).recovered(peer)
            && unlogged > 0
        {
            debug!(node = %peer, failures_not_logged = unlogged, "a link to another node opened again");
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Whether another registry entry has `node`'s internal address and a newer heartbeat. One
/// process at a time listens at an address, so `node`'s process is gone: another took its
/// place (a node restarted where it ran, by its supervisor, under a new id). A link to the
/// address would reach that other process, so `node` can neither be forwarded to nor waited
/// for.
fn superseded(node: &NodeEntry, nodes: &[NodeEntry]) -> bool {
    nodes.iter().any(|other| {
        other.id != node.id
            && other.internal_addr == node.internal_addr
            && other.heartbeat_age_ms < node.heartbeat_age_ms
    })
}

/// The rooms ask whether a lease's holder can be forwarded to (see `room::fleet`).
#[async_trait::async_trait]
impl crate::room::fleet::Reach for Fleet {
    fn reaches(&self, node_id: &str) -> bool {
        Fleet::reaches(self, node_id)
    }

    async fn holder_gone(&self, node_id: &str) -> bool {
        Fleet::holder_gone(self, node_id).await
    }

    fn holder_alive(&self, node_id: &str) {
        Fleet::holder_alive(self, node_id);
    }

    fn hand_over(self: Arc<Self>, group_id: GroupId) {
        Fleet::hand_over(self, group_id);
    }

    fn placed_elsewhere(&self, group_id: GroupId) -> bool {
        self.placed_elsewhere(group_id, &self.live_nodes())
            .is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An unreachable peer is warned about once, then at most once a minute with the count
    /// of the failures in between; a link that opens again makes the next failure news.
    #[test]
    fn failing_links_are_warned_about_once_a_minute_per_peer_with_a_count() {
        let mut warnings = LinkWarnings::default();
        let start = Instant::now();
        let at = |ms: u64| start + std::time::Duration::from_millis(ms);
        assert_eq!(
            warnings.failed("a", at(0), 10),
            Some(0),
            "the first is logged"
        );
        // One a second for a minute, as the probe and the clients try: none logged.
        for second in 1..60 {
            assert_eq!(warnings.failed("a", at(second * 1_000), 10), None);
        }
        assert_eq!(
            warnings.failed("b", at(30_000), 10),
            Some(0),
            "another peer's first is logged"
        );
        assert_eq!(
            warnings.failed("a", at(60_000), 10),
            Some(59),
            "a minute on: logged, with the count"
        );
        assert_eq!(warnings.failed("a", at(61_000), 10), None);
        assert_eq!(warnings.recovered("a"), Some(1));
        assert_eq!(
            warnings.failed("a", at(62_000), 10),
            Some(0),
            "after a link worked, the next failure is news"
        );
        // Bounded: past `max` peers, quiet ones are forgotten, and an untracked one is logged.
        assert_eq!(warnings.failed("c", at(63_000), 2), Some(0));
        assert_eq!(warnings.peers.len(), 2);
        assert_eq!(warnings.failed("d", at(200_000), 2), Some(0));
        assert!(warnings.peers.len() <= 2);
    }
}
