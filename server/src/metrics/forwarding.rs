//! The fleet's forwarding metrics, registered in the process's registry ([`super`]) by
//! [`register`]: frames forwarded between nodes (by direction), forwarded streams open (by
//! side), the hop's latency (a link's ping to its pong), link connections, handover takes and
//! re-attached clients (by outcome), how long a drained room held its place (by outcome), rooms moved by the rebalance and rooms it has yet to move,
//! and the live nodes as the rebalance sees them (by state). No label carries a node, group or
//! member id.

use std::sync::LazyLock;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

type Label = [(&'static str, &'static str); 1];

/// The bounds of the buckets of the moves' histograms ([`reattach_gap`], [`handed_over`]), in
/// seconds: 0.5 s, a drain's target for the gap at p99, is one of them.
const GAP_BUCKETS: [f64; 20] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1.0, 1.5,
    2.0, 3.0, 5.0, 10.0,
];

fn gap_histogram() -> Histogram {
    Histogram::new(GAP_BUCKETS)
}

#[derive(Debug)]
struct FleetMetrics {
    forwarded_frames: Family<Label, Counter>,
    forwarded_streams: Family<Label, Gauge>,
    hop_seconds: Histogram,
    link_connects: Family<Label, Counter>,
    handover_takes: Family<Label, Counter>,
    reattaches: Family<Label, Counter>,
    reattach_seconds: Family<Label, Histogram, fn() -> Histogram>,
    handover_seconds: Histogram,
    handover_hold_seconds: Family<Label, Histogram, fn() -> Histogram>,
    rooms_moved: Counter,
    rooms_misplaced: Gauge,
    fleet_nodes: Family<Label, Gauge>,
    connections_released: Counter,
    connections_over_share: Gauge,
}

static FLEET: LazyLock<FleetMetrics> = LazyLock::new(|| FleetMetrics {
    forwarded_frames: Family::default(),
    forwarded_streams: Family::default(),
    // 20 µs to about 0.3 s.
    hop_seconds: Histogram::new(exponential_buckets(0.000_02, 2.0, 15)),
    link_connects: Family::default(),
    handover_takes: Family::default(),
    reattaches: Family::default(),
    reattach_seconds: Family::new_with_constructor(gap_histogram),
    handover_seconds: gap_histogram(),
    handover_hold_seconds: Family::new_with_constructor(gap_histogram),
    rooms_moved: Counter::default(),
    rooms_misplaced: Gauge::default(),
    fleet_nodes: Family::default(),
    connections_released: Counter::default(),
    connections_over_share: Gauge::default(),
});

/// Registers the fleet's metrics in the process's registry.
pub fn register(registry: &mut Registry) {
    registry.register(
        "forwarded_frames",
        "Frames forwarded over links between nodes, by direction (to_owner, to_client)",
        FLEET.forwarded_frames.clone(),
    );
    registry.register(
        "forwarded_streams",
        "Client streams open on links, by side (edge: this node forwards them; owner: it serves them)",
        FLEET.forwarded_streams.clone(),
    );
    registry.register(
        "link_hop_seconds",
        "Round trip of a link's ping to its pong, edge to owner and back",
        FLEET.hop_seconds.clone(),
    );
    registry.register(
        "link_connects",
        "Links between nodes opened or refused, by outcome (connected, failed, gone, refused_by_peer on the edge; accepted, refused on the owner)",
        FLEET.link_connects.clone(),
    );
    registry.register(
        "handover_takes",
        "Rooms another node handed over and asked this one to load at once, by outcome (loaded: live here after it, whichever take or join started the load; not_loaded, live_already, busy, malformed)",
        FLEET.handover_takes.clone(),
    );
    registry.register(
        "edge_reattaches",
        "Forwarded clients whose room went away from the node they were forwarded to, and in a drain this node's own clients whose room it handed over, by outcome (forwarded: joined again on another node; here: joined again on this one; closed: closed to reconnect)",
        FLEET.reattaches.clone(),
    );
    registry.register(
        "edge_reattach_seconds",
        "Clients joined again over their connection (see edge_reattaches) and answered, by why their room went away (handed_over: its node closed their stream, or in this node's drain handed the room over; link_lost: the link to its node broke): from then (for this node's own clients following a room it handed over, from the room no longer taking requests) to the answer of the join made again, where the room runs now",
        FLEET.reattach_seconds.clone(),
    );
    registry.register(
        "handover_seconds",
        "Rooms this node handed over (a drain, a rebalance): from the room no longer taking requests to its clients closed, once the requests queued before were answered, the final snapshot written and the lease released",
        FLEET.handover_seconds.clone(),
    );
    registry.register(
        "handover_hold_seconds",
        "Rooms this node handed over in its drain that held their place among the drain's handovers (--drain-concurrency) after their clients here were closed, until those clients were joined again where the room went, by outcome (followed: the last of them was answered, or went; ran_out: the hold's time ran out; once as many ran out as there are places, or 5 s into the drain, its rooms hold none)",
        FLEET.handover_hold_seconds.clone(),
    );
    registry.register(
        "rooms_moved",
        "Rooms this node handed to the node placement names for them while it runs on (a rebalance, once a node joined the fleet)",
        FLEET.rooms_moved.clone(),
    );
    registry.register(
        "rooms_misplaced",
        "Rooms running here that placement names another live node for, as of the rebalance's last look: rooms it is to move (once that node has been live for --node-live-ms) or moves now",
        FLEET.rooms_misplaced.clone(),
    );
    registry.register(
        "fleet_nodes",
        "Live nodes of the fleet, this one included, as of the rebalance's last look, by state (settled: placement hands them rooms; settling: live for less than --node-live-ms; draining)",
        FLEET.fleet_nodes.clone(),
    );
    registry.register(
        "connections_released",
        "Client connections this node let go (closed with draining) because it held more than its share of the fleet's clients",
        FLEET.connections_released.clone(),
    );
    registry.register(
        "connections_over_share",
        "Client connections this node holds over its share of the fleet's, as of the spread's last look: clients it is to let go, or lets go now",
        FLEET.connections_over_share.clone(),
    );
}

/// The rebalance found `rooms` running here that placement names another node for.
pub fn rooms_misplaced(rooms: usize) {
    FLEET
        .rooms_misplaced
        .set(i64::try_from(rooms).unwrap_or(i64::MAX));
}

/// The rebalance's look counted the live nodes: `settled`, `settling` and `draining` ones.
pub fn fleet_nodes(settled: usize, settling: usize, draining: usize) {
    for (state, count) in [
        ("settled", settled),
        ("settling", settling),
        ("draining", draining),
    ] {
        FLEET
            .fleet_nodes
            .get_or_create(&[("state", state)])
            .set(i64::try_from(count).unwrap_or(i64::MAX));
    }
}

/// The spread found this node holding `clients` over its share of the fleet's.
pub fn connections_over_share(clients: u64) {
    FLEET
        .connections_over_share
        .set(i64::try_from(clients).unwrap_or(i64::MAX));
}

/// The spread let `clients` client connections go.
pub fn connections_released(clients: usize) {
    FLEET.connections_released.inc_by(clients as u64);
}

/// A room was asked to move to the node placement names for it.
pub fn room_moved() {
    FLEET.rooms_moved.inc();
}

/// A forwarded client's room went away from its node: `outcome`.
pub fn reattached(outcome: &'static str) {
    FLEET
        .reattaches
        .get_or_create(&[("outcome", outcome)])
        .inc();
}

/// A client joined again had no room for `gap`, since its room went away for `cause`
/// (`handed_over`, `link_lost`).
pub fn reattach_gap(cause: &'static str, gap: std::time::Duration) {
    FLEET
        .reattach_seconds
        .get_or_create(&[("cause", cause)])
        .observe(gap.as_secs_f64());
}

/// A room stopped taking requests `took` before it closed its clients to hand itself over.
pub fn handed_over(took: std::time::Duration) {
    FLEET.handover_seconds.observe(took.as_secs_f64());
}

/// A room handed over in a drain held its place among the handovers for `held`, until
/// `outcome` (`followed`, `ran_out`).
pub fn handover_hold(outcome: &'static str, held: std::time::Duration) {
    FLEET
        .handover_hold_seconds
        .get_or_create(&[("outcome", outcome)])
        .observe(held.as_secs_f64());
}

/// A room handed over by another node was asked for: `outcome`.
pub fn handover_take(outcome: &'static str) {
    FLEET
        .handover_takes
        .get_or_create(&[("outcome", outcome)])
        .inc();
}

/// A frame forwarded `to_owner` or `to_client`.
pub fn forwarded_frame(direction: &'static str) {
    FLEET
        .forwarded_frames
        .get_or_create(&[("direction", direction)])
        .inc();
}

/// A stream opened (`+1`) or ended (`-1`) on this node's `side` (`edge` or `owner`).
pub fn forwarded_stream(side: &'static str, delta: i64) {
    FLEET
        .forwarded_streams
        .get_or_create(&[("side", side)])
        .inc_by(delta);
}

/// A link's ping came back after `micros`.
pub fn link_hop(micros: u64) {
    FLEET.hop_seconds.observe(micros as f64 / 1_000_000.0);
}

/// A link was opened or refused: `outcome`.
pub fn link_connect(outcome: &'static str) {
    FLEET
        .link_connects
        .get_or_create(&[("outcome", outcome)])
        .inc();
}
