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
//! of the fleet's (its own count now, the others' as their heartbeats last wrote them in the
//! registry), and while it holds more than its share plus a slack ([`over_share`]) it lets
//! the excess go, at most `--rebalance-connections-per-second`: each closed with 1012
//! `draining`, as in a drain's release, reconnects through the load balancer at once and
//! resumes by replay. It does so only while every live node has been live for
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
    /// How many client connections this node holds over its share now (see [`over_share`]), or
    /// `None` while it is not to let any go: a live node is not settled or drains, this node
    /// drains, or the rebalance has rooms here to move (their members are joined again in
    /// place where the room goes, in a new log epoch: a client let go after that resumes by
    /// replay, where one let go before it would need a snapshot).
    pub fn connections_over_share(&self) -> Option<u64> {
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
        let others: Vec<u64> = live
            .iter()
            .filter(|node| *node.id != *self.node_id)
            .map(|node| node.connections)
            .collect();
        Some(over_share(self.clients.count(), &others))
    }
}

/// Lets the client connections this node holds over its share go, at most `per_second` a
/// second (none when 0: what it holds over is still counted), until `stop`.
///
/// A look that finds the node over its share fixes the share as the count to let go down to,
/// and the clients go step by step until the node holds no more: the others' counts, read
/// from their heartbeats, lag behind the clients reconnecting to them, so reckoning the share
/// again meanwhile would see them still short and let too many go. Every look checks again
/// that the node is still to let clients go at all; if not, it stops.
pub async fn run(fleet: Arc<Fleet>, per_second: u32, stop: CancellationToken) {
    let (batch, every) = super::rebalance::pace(per_second);
    let mut steps = tokio::time::interval(every);
    steps.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // While the node lets clients go: the count it lets go down to.
    let mut down_to: Option<u64> = None;
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
            match fleet.connections_over_share() {
                None => down_to = None,
                Some(over) if over > 0 && down_to.is_none() => {
                    down_to = Some(fleet.clients.count().saturating_sub(over));
                }
                Some(_) => {}
            }
            let over = down_to.map_or(0, |share| fleet.clients.count().saturating_sub(share));
            crate::metrics::forwarding::connections_over_share(over);
            if over == 0 {
                down_to = None;
                if released > 0 {
                    info!(
                        clients = released,
                        "spread: client connections let go to reconnect to less crowded nodes"
                    );
                    released = 0;
                }
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
