//! The spread of clients: each node holds about an even share of the fleet's client
//! connections, as the [`super::rebalance`] keeps each room on the node placement names.
//!
//! A client's WebSocket stays on the node it reached for as long as it lives, wherever its
//! room runs (the node forwards it). So the clients of a node that left (killed, drained,
//! restarted) reconnect to the others and stay there: the node that came back holds none, and
//! the next failure of a crowded node makes most of the fleet's clients reconnect at once
//! (each a WebSocket handshake, a join and a resume), which is what a failover takes longer
//! with (BENCHMARKS.md, "The rebalance, and what a kill costs once the rooms stay spread").
//!
//! So each node compares, every [`LOOK_INTERVAL`], its client connections with an even share
//! of the fleet's (every count as the nodes' heartbeats last wrote them in the registry), and
//! once it holds more than its share plus a slack ([`over_share`]) at two looks in a row while
//! the fleet's count holds steady (see [`run`]), it lets clients go down to the share, at most `--rebalance-connections-per-second`: each,
//! closed with 1012 `draining` as in a drain's release, reconnects through the load balancer
//! at once and resumes by replay. It does so only while every live node has been live for
//! `--node-live-ms` and none drains (a node just started, or one that comes and goes, is not
//! sent clients yet, and a drain moves clients of its own), and once the rebalance has moved
//! this node's rooms that placement names another node for. Each look sets
//! `roundtable_connections_over_share` to what it found to let go.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_util::sync::{CancellationToken, WaitForCancellationFuture};
use tracing::info;

use super::Fleet;

/// How often the node compares its clients with its share.
pub const LOOK_INTERVAL: Duration = Duration::from_millis(500);

/// The least excess a node lets go: a hundred clients more than the share are not worth a
/// reconnection each, and a small fleet's clients stay where they connected.
pub const SLACK_MIN: u64 = 100;

/// The client connections of this node that the spread may let go: those on a WebSocket of
/// their own here (not the ones other nodes forward here), each with the token that closes it.
/// Bounded by the node's connections.
#[derive(Debug, Default)]
pub struct Clients {
    open: Mutex<HashMap<u64, CancellationToken>>,
}

/// A client connection's place among [`Clients`], given back when it is dropped.
#[derive(Debug)]
pub struct ClientPlace {
    clients: Arc<Clients>,
    id: u64,
    released: CancellationToken,
}

impl ClientPlace {
    /// Completes when the spread lets this client go.
    pub fn released(&self) -> WaitForCancellationFuture<'_> {
        self.released.cancelled()
    }
}

/// Completes when the spread lets the client of `place` go; never without a place.
pub async fn released(place: Option<&ClientPlace>) {
    match place {
        Some(place) => place.released().await,
        None => std::future::pending().await,
    }
}

impl Drop for ClientPlace {
    fn drop(&mut self) {
        self.clients.lock().remove(&self.id);
    }
}

impl Clients {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, CancellationToken>> {
        self.open
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Counts the client connection `id` (unique in the process) until its place is dropped.
    pub fn enter(self: &Arc<Self>, id: u64) -> ClientPlace {
        let released = CancellationToken::new();
        self.lock().insert(id, released.clone());
        ClientPlace {
            clients: Arc::clone(self),
            id,
            released,
        }
    }

    /// The client connections counted now (those let go no longer are).
    pub fn count(&self) -> u64 {
        self.lock().len() as u64
    }

    /// Lets `most` client connections go (any of them: nothing tells a client that will stay
    /// from one that will not); answers how many it let go.
    pub fn release(&self, most: usize) -> usize {
        let mut open = self.lock();
        let chosen: Vec<u64> = open.keys().take(most).copied().collect();
        for id in &chosen {
            if let Some(released) = open.remove(id) {
                released.cancel();
            }
        }
        chosen.len()
    }
}

/// How many of its `own` client connections a node is to let go, when the other live nodes
/// hold `others`: what it holds over an even share of them all (rounded up), once that is more
/// than a tenth of the share and at least [`SLACK_MIN`]; else none. The node then lets go down
/// to that share, as reckoned now (see [`run`]): not to share plus slack, which would leave it
/// the most crowded node still.
pub fn over_share(own: u64, others: &[u64]) -> u64 {
    let nodes = others.len() as u64 + 1;
    let total = others
        .iter()
        .fold(own, |sum, count| sum.saturating_add(*count));
    let share = total.div_ceil(nodes);
    let slack = (share / 10).max(SLACK_MIN);
    if own > share.saturating_add(slack) {
        own - share
    } else {
        0
    }
}

impl Fleet {
    /// This node's clients, how many it holds over its share, and the fleet's, by the counts
    /// of the registry as last read (its own too, so that every count is about as old:
    /// reckoning its live count against the others' a heartbeat old, a node would find itself
    /// over its share whenever clients are connecting everywhere); its live count when its own
    /// entry was not read. `None` while it is not to let any go: a live node is not settled or drains,
    /// this node drains, or the rebalance has rooms here to move (their members are joined
    /// again in place where the room goes, in a new log epoch: a client let go after that
    /// resumes by replay, where one let go before it would need a snapshot).
    pub fn connections_over_share(&self) -> Option<Reckoning> {
        if self
            .rooms_to_move
            .load(std::sync::atomic::Ordering::Relaxed)
            > 0
        {
            return None;
        }
        let live = self.live_nodes();
        let nodes = self.candidates(&live);
        if nodes.iter().any(|node| !node.settled || node.draining) {
            return None;
        }
        let (mut own, mut others) = (None, Vec::with_capacity(live.len()));
        for node in &live {
            if *node.id == *self.node_id {
                own = Some(node.connections);
            } else {
                others.push(node.connections);
            }
        }
        let own = own.unwrap_or_else(|| self.clients.count());
        Some(Reckoning {
            own,
            over: over_share(own, &others),
            total: others
                .iter()
                .fold(own, |sum, count| sum.saturating_add(*count)),
        })
    }
}

/// What a look of the spread found (see [`Fleet::connections_over_share`]).
#[derive(Debug, Clone, Copy)]
pub struct Reckoning {
    /// This node's clients.
    pub own: u64,
    /// How many of them it holds over its share.
    pub over: u64,
    /// The fleet's clients.
    pub total: u64,
}

/// Lets the client connections this node holds over its share go, at most `per_second` a
/// second (none when 0: what it holds over is still counted), until `stop`.
///
/// Two looks in a row that find the node over its share, with the fleet's clients steady
/// between them (fewer than [`SLACK_MIN`] more or less: while clients connect everywhere, as at
/// the start of the day's meetings, or reconnect after a failure, the counts of nodes whose
/// heartbeats are a moment apart differ by what arrived meanwhile), start the letting go, and
/// fix the share as the count to let go down to: the clients go step by step until the node
/// holds no more. The others' counts lag behind the clients reconnecting to them, so reckoning the
/// share again meanwhile would see them still short and let too many go. Every look checks
/// again that the node is still to let clients go at all; if not, it stops.
pub async fn run(fleet: Arc<Fleet>, per_second: u32, stop: CancellationToken) {
    let (batch, every) = super::rebalance::pace(per_second);
    let mut steps = tokio::time::interval(every);
    steps.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // While the node lets clients go: the count it lets go down to.
    let mut down_to: Option<u64> = None;
    // What the last look found.
    let mut before: Option<Reckoning> = None;
    let mut looked: Option<tokio::time::Instant> = None;
    // Clients let go since the last log line, which says how many.
    let mut released = 0usize;
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = steps.tick() => {}
        }
        if looked.is_none_or(|at| at.elapsed() >= LOOK_INTERVAL) {
            looked = Some(tokio::time::Instant::now());
            let reckoned = fleet.connections_over_share();
            match (reckoned, before) {
                (None, _) => down_to = None,
                (Some(now), Some(then))
                    if now.over > 0
                        && then.over > 0
                        && now.total.abs_diff(then.total) < SLACK_MIN
                        && down_to.is_none() =>
                {
                    down_to = Some(now.own - now.over);
                }
                _ => {}
            }
            before = reckoned;
            let over = match down_to {
                Some(share) => fleet.clients.count().saturating_sub(share),
                None => reckoned.map_or(0, |now| now.over),
            };
            crate::metrics::forwarding::connections_over_share(over);
            if down_to.is_some() && over == 0 {
                down_to = None;
                info!(
                    clients = released,
                    "spread: client connections let go to reconnect to less crowded nodes"
                );
                released = 0;
            }
        }
        let Some(share) = down_to else { continue };
        let now = fleet
            .clients
            .count()
            .saturating_sub(share)
            .min(batch as u64);
        if now > 0 {
            let gone = fleet.clients.release(now as usize);
            crate::metrics::forwarding::connections_released(gone);
            released += gone;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A node lets go what it holds over an even share, and only once that is worth it.
    #[test]
    fn a_node_lets_go_what_it_holds_over_its_share() {
        // Three nodes, 12,000 clients, the restarted one with none: the two crowded ones each
        // let go what they hold over 4,000.
        assert_eq!(over_share(8_000, &[4_000, 0]), 4_000);
        assert_eq!(over_share(4_000, &[8_000, 0]), 0);
        assert_eq!(over_share(0, &[8_000, 4_000]), 0);
        // Even, or near enough: nothing moves.
        assert_eq!(over_share(4_000, &[4_000, 4_000]), 0);
        assert_eq!(
            over_share(4_400, &[3_800, 3_800]),
            0,
            "within a tenth of the share"
        );
        assert_eq!(over_share(4_500, &[3_750, 3_750]), 500);
        // A hundred over a small share are not worth a reconnection each.
        assert_eq!(over_share(200, &[0]), 0);
        assert_eq!(over_share(300, &[0]), 150);
        // Alone, a node holds its share whatever it holds.
        assert_eq!(over_share(100_000, &[]), 0);
        // Counts too large to add up saturate rather than overflow.
        assert!(over_share(u64::MAX, &[u64::MAX]) < u64::MAX);
    }

    #[test]
    fn letting_go_closes_the_chosen_clients_once_and_counts_them_no_more() {
        let clients = Arc::new(Clients::default());
        let places: Vec<ClientPlace> = (0..10).map(|id| clients.enter(id)).collect();
        assert_eq!(clients.count(), 10);
        assert_eq!(clients.release(4), 4);
        assert_eq!(clients.count(), 6);
        let gone = places
            .iter()
            .filter(|place| place.released.is_cancelled())
            .count();
        assert_eq!(gone, 4, "exactly the clients let go are told");
        // More than are left: all of them, once.
        assert_eq!(clients.release(100), 6);
        assert_eq!(clients.release(1), 0);
        drop(places);
        assert_eq!(clients.count(), 0);
        // A place dropped before it was let go is no longer counted.
        let place = clients.enter(11);
        drop(place);
        assert_eq!(clients.count(), 0);
    }
}
