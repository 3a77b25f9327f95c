//! The two ways of reaching Redis behind one type: one server (or a proxy in front of several),
//! or a Redis Cluster spoken to directly.
//!
//! [`Connection`] is what the rest of the store sends commands and scripts on; it does not care
//! which kind it is, except for the one command that names no key and must still reach the node
//! holding a key: the `SCAN` of a group's keys ([`Connection::scan_near`]).
//!
//! - A single server goes through a [`ConnectionManager`], which reconnects by itself.
//! - A cluster goes through the `redis` crate's [`ClusterConnection`], which learns the slot
//!   map from the seed nodes, sends each command to the master holding its keys' slot, follows
//!   `MOVED` and `ASK` redirections, and refreshes the slot map when a node goes away or a
//!   redirection says it changed (a failover promoting a replica, a resharding). A command whose
//!   keys are all in one slot goes to one node; every script of the store touches keys of one
//!   hash slot only (see [`keys`](super::keys)). `DEL` of keys in several slots (the deletion's
//!   meeting index keys) is split by the cluster connection into one `DEL` per node, which is
//!   not atomic over the whole; the deletion does not rely on that (see
//!   [`delete`](super::delete)).

use redis::aio::{ConnectionLike, ConnectionManager};
use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::{Route, RoutingInfo, SingleNodeRoutingInfo, SlotAddr};
use redis::{Cmd, FromRedisValue, Pipeline, RedisFuture, RedisResult, Value};

/// A connection to one Redis server or to a Redis Cluster. Cheap to clone; clones share it.
#[derive(Clone)]
pub(super) enum Connection {
    /// One server, by `redis://` URL.
    Single(ConnectionManager),
    /// A Redis Cluster, found from one or more seed nodes.
    Cluster(ClusterConnection),
}

impl Connection {
    /// Runs `command`, which names no key (such as `SCAN`), on the server holding `key`: on a
    /// single server that is the server; on a cluster, the master of `key`'s hash slot.
    pub(super) async fn scan_near<T: FromRedisValue>(
        &mut self,
        key: &str,
        command: &Cmd,
    ) -> RedisResult<T> {
        match self {
            Connection::Single(connection) => command.query_async(connection).await,
            Connection::Cluster(connection) => {
                let routing = RoutingInfo::SingleNode(SingleNodeRoutingInfo::SpecificNode(
                    Route::with_key(key.as_bytes(), SlotAddr::Master),
                ));
                let value = connection.route_command(command.clone(), routing).await?;
                T::from_redis_value(value).map_err(Into::into)
            }
        }
    }
}

impl ConnectionLike for Connection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Connection::Single(connection) => connection.req_packed_command(cmd),
            Connection::Cluster(connection) => connection.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Connection::Single(connection) => {
                connection.req_packed_commands(pipeline, offset, count)
            }
            Connection::Cluster(connection) => {
                connection.req_packed_commands(pipeline, offset, count)
            }
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Connection::Single(connection) => connection.get_db(),
            Connection::Cluster(connection) => connection.get_db(),
        }
    }
}
