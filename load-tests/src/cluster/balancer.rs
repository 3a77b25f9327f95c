//! The load balancer the `cluster` scenario's members reconnect through: which node a member
//! that lost its connection tries first, and next when that one refuses.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How long a node that refused a connection is left out of least-connections picks (as
/// nginx's `fail_timeout`): a killed node's port refuses until it is started again.
const DOWN_FOR: Duration = Duration::from_secs(1);

/// How a reconnecting member picks its node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Balancer {
    /// Its home node, then the next ones in turn: a killed node's members all land on the next
    /// node, and stay there (the model of the runs before the server spread its clients).
    HomeFirst,
    /// The node with the fewest of the tool's connections (those being made included), as a
    /// least-connections balancer (nginx `least_conn`, HAProxy `balance leastconn`) does; a
    /// node that refused a connection is left out for a second (nginx's `fail_timeout`),
    /// and a node tried is not tried again in the same reconnection until every node was.
    LeastConnections,
}

/// The balancer and the connections it counts per node.
#[derive(Debug)]
pub struct Balance {
    pub kind: Balancer,
    /// Per node: members connected to it, or connecting (counted from the pick).
    connected: Vec<AtomicUsize>,
    /// Per node: until when it is left out, in ms from `since` (0: it is not).
    down_until_ms: Vec<AtomicU64>,
    since: Instant,
}

impl Balance {
    pub fn new(kind: Balancer, nodes: usize) -> Balance {
        Balance {
            kind,
            connected: (0..nodes).map(|_| AtomicUsize::new(0)).collect(),
            down_until_ms: (0..nodes).map(|_| AtomicU64::new(0)).collect(),
            since: Instant::now(),
        }
    }

    /// The node for attempt `attempt` of a member whose home is `home`, given the nodes
    /// `tried` (one flag per node) in this reconnection; counts it as connecting there.
    pub fn pick(&self, home: usize, attempt: u32, tried: &mut [bool]) -> usize {
        let nodes = self.connected.len().max(1);
        let node = match self.kind {
            Balancer::HomeFirst => (home + attempt as usize) % nodes,
            Balancer::LeastConnections => {
                if tried.iter().all(|&was| was) {
                    tried.fill(false);
                }
                let now = self.since.elapsed().as_millis() as u64;
                let untried = |node: &usize| !tried.get(*node).copied().unwrap_or(false);
                let up = |node: &usize| self.down_until_ms[*node].load(Ordering::Relaxed) <= now;
                // Ties go to the first from the member's home on, so that they spread.
                let fewest = |up_only: bool| {
                    (0..nodes)
                        .map(|step| (home + step) % nodes)
                        .filter(untried)
                        .filter(|node| !up_only || up(node))
                        .min_by_key(|&node| self.connected[node].load(Ordering::Relaxed))
                };
                fewest(true)
                    .or_else(|| fewest(false))
                    .unwrap_or(home % nodes)
            }
        };
        if let Some(was) = tried.get_mut(node) {
            *was = true;
        }
        self.connected[node].fetch_add(1, Ordering::Relaxed);
        node
    }

    /// A member connected to `node` directly (its first join), not through [`Balance::pick`].
    pub fn joined(&self, node: usize) {
        self.connected[node].fetch_add(1, Ordering::Relaxed);
    }

    /// An attempt at `node` failed; when the node `refused` the connection, it is left out of
    /// the picks for [`DOWN_FOR`].
    pub fn failed(&self, node: usize, refused: bool) {
        self.left(node);
        if refused {
            self.refused(node);
        }
    }

    /// `node` refused a connection: it is left out of the picks for [`DOWN_FOR`].
    pub fn refused(&self, node: usize) {
        let until = (self.since.elapsed() + DOWN_FOR).as_millis() as u64;
        self.down_until_ms[node].store(until, Ordering::Relaxed);
    }

    /// A member's connection to `node`, or its attempt there, ended.
    pub fn left(&self, node: usize) {
        let _ = self.connected[node].fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
            Some(n.saturating_sub(1))
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn least_connections_fills_the_emptiest_node_and_skips_one_that_refused() {
        let balance = Balance::new(Balancer::LeastConnections, 3);
        for _ in 0..4 {
            balance.joined(0);
        }
        for _ in 0..2 {
            balance.joined(1);
        }
        // Node 2 has none: picks go there until it has as many as node 1.
        let mut tried = vec![false; 3];
        assert_eq!(balance.pick(0, 0, &mut tried), 2);
        let mut tried = vec![false; 3];
        assert_eq!(balance.pick(0, 0, &mut tried), 2);
        // Now 4, 2, 2: a tie between 1 and 2 goes to the first from the member's home on.
        let mut tried = vec![false; 3];
        assert_eq!(balance.pick(2, 0, &mut tried), 2);
        // Node 1 refused this member: its next attempt goes elsewhere, then all are tried again.
        balance.left(2);
        let mut tried = vec![false; 3];
        assert_eq!(balance.pick(1, 0, &mut tried), 1);
        balance.left(1);
        assert_eq!(balance.pick(1, 1, &mut tried), 2);
        balance.left(2);
        assert_eq!(balance.pick(1, 2, &mut tried), 0);
        balance.left(0);
        assert_eq!(
            balance.pick(1, 3, &mut tried),
            1,
            "every node was tried: from the start"
        );
    }

    #[test]
    fn a_node_that_refused_is_left_out_while_another_is_up() {
        let balance = Balance::new(Balancer::LeastConnections, 3);
        balance.joined(1);
        balance.joined(2);
        // Node 0 has fewest, but refused: the others are picked meanwhile.
        balance.refused(0);
        let mut tried = vec![false; 3];
        assert_eq!(balance.pick(0, 0, &mut tried), 1);
        // With every other node tried, the one left out is tried all the same.
        assert_eq!(balance.pick(0, 1, &mut tried), 2);
        assert_eq!(balance.pick(0, 2, &mut tried), 0);
    }

    #[test]
    fn home_first_goes_round_from_home() {
        let balance = Balance::new(Balancer::HomeFirst, 3);
        let mut tried = vec![false; 3];
        let picks: Vec<usize> = (0..4).map(|a| balance.pick(1, a, &mut tried)).collect();
        assert_eq!(picks, [1, 2, 0, 1]);
    }
}
