//! Placement: where a group's room is run ([`Route`]), and the rendezvous hashing that names a
//! node for a group nobody holds the lease of.

use roundtable_protocol::GroupId;
use sha2::{Digest, Sha256};

use crate::store::NodeEntry;

/// Where a group's room is run.
#[derive(Debug)]
pub enum Route {
    /// Here (or nowhere yet: this node loads it, or waits for the lease like a single node).
    Local,
    /// On this live node, which holds the group's lease.
    Remote(NodeEntry),
    /// On this live node, which placement names (nobody holds the lease, or a node that is
    /// not live does).
    Placed(NodeEntry),
}

/// The node among `nodes` that rendezvous hashing places `group_id` on: the one with the
/// highest weight, a hash of the group id and the node id (ties, which need equal hashes, go
/// to the smaller id). `None` when there is no node.
pub fn rendezvous<'a>(
    group_id: GroupId,
    nodes: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    nodes
        .into_iter()
        .map(|node| (weight(group_id, node), node))
        .max_by(|(a, a_node), (b, b_node)| a.cmp(b).then_with(|| b_node.cmp(a_node)))
        .map(|(_, node)| node)
}

fn weight(group_id: GroupId, node: &str) -> u64 {
    let digest = Sha256::new()
        .chain_update(group_id.to_string().as_bytes())
        .chain_update([0])
        .chain_update(node.as_bytes())
        .finalize();
    u64::from_be_bytes(digest[..8].try_into().expect("eight bytes"))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn group(n: u128) -> GroupId {
        serde_json::from_value(serde_json::json!(uuid::Uuid::from_u128(n).to_string()))
            .expect("a group id")
    }

    #[test]
    fn placement_is_the_same_whatever_the_order_and_moves_only_what_the_leaver_won() {
        let nodes = ["node-a", "node-b", "node-c"];
        let reversed = ["node-c", "node-b", "node-a"];
        let mut per_node: HashMap<&str, usize> = HashMap::new();
        for n in 0..3_000 {
            let placed = rendezvous(group(n), nodes).expect("a node");
            assert_eq!(
                Some(placed),
                rendezvous(group(n), reversed),
                "order matters not"
            );
            *per_node.entry(placed).or_default() += 1;
            let without_c = rendezvous(group(n), ["node-a", "node-b"]).expect("a node");
            if placed != "node-c" {
                assert_eq!(without_c, placed, "a group not on the leaver stays put");
            }
        }
        for node in nodes {
            let share = per_node[node];
            assert!((800..1_200).contains(&share), "{node} got {share} of 3000");
        }
        assert_eq!(rendezvous(group(1), []), None);
    }
}
