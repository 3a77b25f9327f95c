//! Whether this node can forward, for readiness (`/healthz` on the admin listener): once a
//! second the node proves its own internal listener (a handshake with itself, as another node
//! would make it) and holds a working link to every other live node in the registry. A node
//! whose listener does not answer, or that cannot reach a node the registry says is live (a
//! wrong `--internal-advertise`, a firewall, a secret that differs), cannot take part in
//! forwarding, and a load balancer should send its clients elsewhere.

use std::time::Duration;

use super::Fleet;
use super::link::{ConnectError, Link};

/// Time between two probes.
pub const PROBE_INTERVAL: Duration = Duration::from_secs(1);

impl Fleet {
    /// One probe of forwarding. Answers what failed, if anything. The links it opens to other
    /// nodes are the ones forwarding uses, kept for it; the link to itself is closed at once.
    pub async fn probe(&self) -> Result<(), String> {
        let own = self.advertise.to_string();
        match Link::connect(
            &self.node_id,
            &own,
            &self.node_id,
            &self.secret,
            &self.config,
        )
        .await
        {
            Ok(link) => link.break_link(),
            Err(ConnectError::Refused) => {
                return Err(format!(
                    "this node's internal listener at {own} refused this node's own proof"
                ));
            }
            Err(ConnectError::Failed(why) | ConnectError::Gone(why)) => {
                return Err(format!(
                    "this node's internal listener at {own} (--internal-advertise) does not \
                     answer: {why}"
                ));
            }
        }
        for node in self.live_nodes() {
            if node.id == *self.node_id {
                continue;
            }
            if self.link_to(&node).await.is_none() {
                return Err(format!(
                    "no link to the live node at {} (internal address {})",
                    node.client_url, node.internal_addr
                ));
            }
        }
        Ok(())
    }
}
