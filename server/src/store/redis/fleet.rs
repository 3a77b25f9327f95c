//! The node registry of a fleet (see ARCHITECTURE.md, "Several server nodes"), and who holds a
//! group's lease.
//!
//! Each node writes its entry with [`Store::publish_node`] every heartbeat: a hash
//! `rt:{fleet}:node:<id>` (its addresses, load and draining flag, with an expiry) and its id in
//! the sorted set `rt:{fleet}:nodes` scored by the heartbeat's time. Both the time and the
//! freshness test use Redis's clock (`TIME` inside the scripts), so the nodes' clocks need not
//! agree. The keys share the hash tag `{fleet}`, so both scripts touch one hash slot (Redis
//! Cluster). The live nodes script reads the nodes' hashes through their prefix, not as
//! declared keys (it learns the ids as it runs); a Redis Cluster allows that because they are
//! in the slot of the declared set, on the same master
//! (`two_nodes_with_forwarding_on_the_cluster_share_a_room_and_renew_its_lease` in
//! `tests/redis_cluster_server.rs` runs a fleet on a real cluster). A publish also drops the ids whose heartbeat is older than the entry's expiry, so
//! the set holds no more than the nodes of the last expiry period.

use std::sync::LazyLock;

use redis::Script;
use roundtable_protocol::GroupId;

use super::RedisStore;
#[cfg(doc)]
use crate::store::Store;
use crate::store::{NodeEntry, StoreError};

/// Writes one node's entry and heartbeat.
///
/// `KEYS[1]`: the set of nodes; `KEYS[2]`: the node's hash. ARGV: the node id, the entry's
/// time to live in ms, its client URL, internal address, live rooms, connections and draining
/// flag (`1` or `0`).
const PUBLISH_NODE_LUA: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('HSET', KEYS[2], 'client', ARGV[3], 'internal', ARGV[4], 'rooms', ARGV[5],
  'connections', ARGV[6], 'draining', ARGV[7], 'heartbeat', now)
redis.call('PEXPIRE', KEYS[2], ARGV[2])
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
return now
";

/// The nodes heard from lately, freshest first: for each, its id, the age of its heartbeat in
/// ms, and its client URL, internal address, rooms, connections and draining flag.
///
/// `KEYS[1]`: the set of nodes. ARGV: how old a heartbeat may be (ms), the most nodes, and the
/// prefix of the nodes' hashes (`rt:{fleet}:node:`, the same hash slot).
const LIVE_NODES_LUA: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ids = redis.call('ZREVRANGEBYSCORE', KEYS[1], '+inf', now - tonumber(ARGV[1]),
  'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[2]))
local out = {}
for i = 1, #ids, 2 do
  local fields = redis.call('HMGET', ARGV[3] .. ids[i], 'client', 'internal', 'rooms',
    'connections', 'draining')
  if fields[2] then
    table.insert(out, ids[i])
    table.insert(out, tostring(now - tonumber(ids[i + 1])))
    for j = 1, 5 do table.insert(out, fields[j] or '') end
  end
end
return out
";

static PUBLISH_NODE: LazyLock<Script> = LazyLock::new(|| Script::new(PUBLISH_NODE_LUA));
static LIVE_NODES: LazyLock<Script> = LazyLock::new(|| Script::new(LIVE_NODES_LUA));

/// Values per node in the live nodes script's answer.
const FIELDS_PER_NODE: usize = 7;

impl RedisStore {
    fn fleet_tag(&self) -> String {
        format!("{}{{fleet}}", self.options.key_prefix)
    }

    fn nodes_key(&self) -> String {
        format!("{}:nodes", self.fleet_tag())
    }

    fn node_key_prefix(&self) -> String {
        format!("{}:node:", self.fleet_tag())
    }

    pub(super) async fn publish_node_unbounded(
        &self,
        node: &NodeEntry,
        ttl_ms: u64,
    ) -> Result<(), StoreError> {
        let mut invocation = PUBLISH_NODE.prepare_invoke();
        invocation
            .key(self.nodes_key())
            .key(format!("{}{}", self.node_key_prefix(), node.id))
            .arg(&node.id)
            .arg(ttl_ms.max(1))
            .arg(&node.client_url)
            .arg(&node.internal_addr)
            .arg(node.live_rooms)
            .arg(node.connections)
            .arg(if node.draining { "1" } else { "0" });
        self.run_script::<i64>(&invocation).await?;
        Ok(())
    }

    pub(super) async fn live_nodes_unbounded(
        &self,
        live_ms: u64,
        max: usize,
    ) -> Result<Vec<NodeEntry>, StoreError> {
        let mut invocation = LIVE_NODES.prepare_invoke();
        invocation
            .key(self.nodes_key())
            .arg(live_ms)
            .arg(max)
            .arg(self.node_key_prefix());
        let flat: Vec<String> = self.run_script(&invocation).await?;
        if !flat.len().is_multiple_of(FIELDS_PER_NODE) {
            return Err(StoreError::Corrupt(
                "redis: the node registry answered a partial entry".into(),
            ));
        }
        Ok(flat
            .chunks(FIELDS_PER_NODE)
            .map(|fields| NodeEntry {
                id: fields[0].clone(),
                heartbeat_age_ms: fields[1].parse().unwrap_or(u64::MAX),
                client_url: fields[2].clone(),
                internal_addr: fields[3].clone(),
                live_rooms: fields[4].parse().unwrap_or(0),
                connections: fields[5].parse().unwrap_or(0),
                draining: fields[6] == "1",
            })
            .collect())
    }

    pub(super) async fn remove_node_unbounded(&self, id: &str) -> Result<(), StoreError> {
        let mut remove = redis::cmd("ZREM");
        remove.arg(self.nodes_key()).arg(id);
        self.query::<i64>(&remove).await?;
        let mut delete = redis::cmd("DEL");
        delete.arg(format!("{}{id}", self.node_key_prefix()));
        self.query::<i64>(&delete).await?;
        Ok(())
    }

    /// The lease's holder: the first word of the lease key's value (the owner id).
    pub(super) async fn lease_holder_unbounded(
        &self,
        group_id: GroupId,
    ) -> Result<Option<String>, StoreError> {
        let mut get = redis::cmd("GET");
        get.arg(self.lease_key(group_id));
        let value: Option<String> = self.query(&get).await?;
        Ok(value.and_then(|value| value.split_whitespace().next().map(str::to_string)))
    }
}
