//! The load balancer the `cluster` scenario's members reconnect through: which node a member
//! that lost its connection tries first, and next when that one refuses.

use std::sync::atomic::{AtomicUsize, Ordering};

/// How a reconnecting member picks its node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Balancer {
    /// Its home node, then the next ones in turn: a killed node's members all land on the next
    /// node, and stay there (the model of the runs before the server spread its clients).
    HomeFirst,
    /// The node with the fewest of the tool's connections (those being made included), as a
    /// least-connections balancer (nginx `least_conn`, HAProxy `balance leastconn`) does; a
    /// node that refused is not tried again in the same reconnection until every node was.
    LeastConnections,
}

/// The balancer and the connections it counts per node.
#[derive(Debug)]
pub struct Balance {
    pub kind: Balancer,
    /// Per node: members connected to it, or connecting (counted from the pick).
    connected: Vec<AtomicUsize>,
}

impl Balance {
    pub fn new(kind: Balancer, nodes: usize) -> Balance {
        Balance {
            kind,
            connected: (0..nodes).map(|_| AtomicUsize::new(0)).collect(),
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
                // Ties go to the first from the member's home on, so that they spread.
                (0..nodes)
                    .map(|step| (home + step) % nodes)
                    .filter(|&node| !tried.get(node).copied().unwrap_or(false))
                    .min_by_key(|&node| self.connected[node].load(Ordering::Relaxed))
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
    fn home_first_goes_round_from_home() {
        let balance = Balance::new(Balancer::HomeFirst, 3);
        let mut tried = vec![false; 3];
        let picks: Vec<usize> = (0..4).map(|a| balance.pick(1, a, &mut tried)).collect();
        assert_eq!(picks, [1, 2, 0, 1]);
    }
}
