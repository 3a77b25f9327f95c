//! The flags of a node in a fleet (see README, "Several nodes behind one address").

use std::net::SocketAddr;
use std::time::Duration;

/// Running several nodes as one fleet on one Redis (see README, "Several nodes behind one
/// address"): the internal listener other nodes forward clients' frames to, the shared secret
/// of the links, the node registry's heartbeat and the links' limits.
#[derive(Debug, Clone, clap::Args)]
pub struct FleetConfig {
    /// Address of the internal listener, where other nodes of the fleet open their links to
    /// forward clients whose room this node runs (e.g. 127.0.0.1:7001). Off when unset: the
    /// node then neither forwards nor is forwarded to, and is not in the node registry. Needs
    /// `--redis-url` or `--redis-cluster`. An address that is not loopback needs `--fleet-secret`.
    #[arg(long, env = "ROUNDTABLE_INTERNAL_LISTEN")]
    pub internal_listen: Option<SocketAddr>,

    /// The address other nodes reach the internal listener at, as written in the node registry;
    /// default: the address it is bound to (which must then not be unspecified, like 0.0.0.0).
    #[arg(long, env = "ROUNDTABLE_INTERNAL_ADVERTISE")]
    pub internal_advertise: Option<SocketAddr>,

    /// The secret every node of the fleet shares: a link proves it knows it (an HMAC of a
    /// fresh challenge) before it may forward anything. Required when `--internal-listen` is
    /// not a loopback address.
    #[arg(long, env = "ROUNDTABLE_FLEET_SECRET", hide_env_values = true)]
    pub fleet_secret: Option<String>,

    /// Milliseconds between two heartbeats of this node in the node registry.
    #[arg(long, env = "ROUNDTABLE_NODE_HEARTBEAT_MS", default_value_t = FleetConfig::NODE_HEARTBEAT_MS,
          value_parser = clap::value_parser!(u64).range(50..=60_000))]
    pub node_heartbeat_ms: u64,

    /// Milliseconds a node counts as live after its last heartbeat: a node whose heartbeat is
    /// older is not forwarded to, and placement leaves it out.
    #[arg(long, env = "ROUNDTABLE_NODE_LIVE_MS", default_value_t = FleetConfig::NODE_LIVE_MS,
          value_parser = clap::value_parser!(u64).range(100..=600_000))]
    pub node_live_ms: u64,

    /// Most rooms this node moves a second to the node placement names for them (the
    /// rebalance: once a node has been live for `--node-live-ms`, the others hand it the rooms
    /// placement gives it, each as in a drain). 0: rooms stay where they run.
    #[arg(long, env = "ROUNDTABLE_REBALANCE_ROOMS_PER_SECOND", default_value_t = FleetConfig::REBALANCE_ROOMS_PER_SECOND,
          value_parser = clap::value_parser!(u32).range(0..=10_000))]
    pub rebalance_rooms_per_second: u32,

    /// Most client connections this node lets go a second while it holds more than its share
    /// of the fleet's clients (the spread: each is closed with `draining` and reconnects
    /// through the load balancer at once, resuming by replay). 0: clients stay where they
    /// connected.
    #[arg(long, env = "ROUNDTABLE_REBALANCE_CONNECTIONS_PER_SECOND", default_value_t = FleetConfig::REBALANCE_CONNECTIONS_PER_SECOND,
          value_parser = clap::value_parser!(u32).range(0..=100_000))]
    pub rebalance_connections_per_second: u32,

    /// Most nodes read from the node registry (placement and forwarding consider these).
    #[arg(long, env = "ROUNDTABLE_FLEET_NODES_MAX", default_value_t = FleetConfig::FLEET_NODES_MAX,
          value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub fleet_nodes_max: u64,

    /// Client streams one link between two nodes may carry at once; a further forwarded
    /// client is served locally instead (the edge tries its own path).
    #[arg(long, env = "ROUNDTABLE_LINK_STREAMS_MAX", default_value_t = FleetConfig::LINK_STREAMS_MAX)]
    pub link_streams_max: usize,

    /// Frames queued to be written on one link; a stream waits (at most
    /// `--write-stall-seconds`) while it is full.
    #[arg(long, env = "ROUNDTABLE_LINK_QUEUE_FRAMES_MAX", default_value_t = FleetConfig::LINK_QUEUE_FRAMES_MAX)]
    pub link_queue_frames_max: usize,

    /// A client's frames queued on the owner for its connection to read; a client whose
    /// frames pile up past this is closed (`policy_violation`).
    #[arg(long, env = "ROUNDTABLE_LINK_STREAM_INBOUND_MAX", default_value_t = FleetConfig::LINK_STREAM_INBOUND_MAX)]
    pub link_stream_inbound_max: usize,

    /// Connections to the internal listener still in their handshake at once (each has 3 s to
    /// prove the fleet secret); further ones are closed at once.
    #[arg(long, env = "ROUNDTABLE_LINK_HANDSHAKES_MAX", default_value_t = FleetConfig::LINK_HANDSHAKES_MAX)]
    pub link_handshakes_max: usize,

    /// Largest frame a link carries, in bytes (a server message such as a snapshot, owner to
    /// edge; a client's frames are held to the client limits as well). A larger one breaks
    /// the link.
    #[arg(long, env = "ROUNDTABLE_LINK_FRAME_BYTES_MAX", default_value_t = FleetConfig::LINK_FRAME_BYTES_MAX)]
    pub link_frame_bytes_max: usize,
}

impl FleetConfig {
    pub const NODE_HEARTBEAT_MS: u64 = 500;
    pub const NODE_LIVE_MS: u64 = 2_000;
    pub const REBALANCE_ROOMS_PER_SECOND: u32 = 50;
    pub const REBALANCE_CONNECTIONS_PER_SECOND: u32 = 200;
    pub const FLEET_NODES_MAX: u64 = 256;
    pub const LINK_STREAMS_MAX: usize = 20_000;
    pub const LINK_QUEUE_FRAMES_MAX: usize = 8_192;
    pub const LINK_STREAM_INBOUND_MAX: usize = 64;
    pub const LINK_FRAME_BYTES_MAX: usize = 32 * 1024 * 1024;
    pub const LINK_HANDSHAKES_MAX: usize = 64;

    /// The internal listener's address and the address advertised for it, checked: `None`
    /// when the fleet is off; refused when it cannot work or would be an open door.
    pub fn checked(&self, redis: bool) -> anyhow::Result<Option<(SocketAddr, SocketAddr)>> {
        let Some(listen) = self.internal_listen else {
            return Ok(None);
        };
        if !redis {
            anyhow::bail!(
                "--internal-listen needs --redis-url or --redis-cluster: the nodes of a fleet \
                 share one Redis"
            );
        }
        let secret_missing = self.fleet_secret.as_deref().is_none_or(str::is_empty);
        if !listen.ip().is_loopback() && secret_missing {
            anyhow::bail!(
                "--internal-listen {listen} is not a loopback address: give --fleet-secret \
                 (the same on every node), or other machines could forward as a node"
            );
        }
        let advertise = self.internal_advertise.unwrap_or(listen);
        if advertise.ip().is_unspecified() {
            anyhow::bail!(
                "--internal-listen {listen} is not an address other nodes can reach: give \
                 --internal-advertise with this node's address"
            );
        }
        Ok(Some((listen, advertise)))
    }

    pub fn node_heartbeat(&self) -> Duration {
        Duration::from_millis(self.node_heartbeat_ms)
    }
}

impl Default for FleetConfig {
    fn default() -> Self {
        FleetConfig {
            internal_listen: None,
            internal_advertise: None,
            fleet_secret: None,
            node_heartbeat_ms: Self::NODE_HEARTBEAT_MS,
            node_live_ms: Self::NODE_LIVE_MS,
            rebalance_rooms_per_second: Self::REBALANCE_ROOMS_PER_SECOND,
            rebalance_connections_per_second: Self::REBALANCE_CONNECTIONS_PER_SECOND,
            fleet_nodes_max: Self::FLEET_NODES_MAX,
            link_streams_max: Self::LINK_STREAMS_MAX,
            link_queue_frames_max: Self::LINK_QUEUE_FRAMES_MAX,
            link_stream_inbound_max: Self::LINK_STREAM_INBOUND_MAX,
            link_frame_bytes_max: Self::LINK_FRAME_BYTES_MAX,
            link_handshakes_max: Self::LINK_HANDSHAKES_MAX,
        }
    }
}
