//! Starting and stopping the server: binds, serves HTTP and WebSocket, and shuts down
//! gracefully (stop accepting, close every socket with a reason, write final snapshots).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::app::App;
use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::fleet::Fleet;
use crate::store::{EmbeddedOptions, EmbeddedStore, RedisOptions, RedisStore, Store};

/// The most time shutdown waits for rooms to write their snapshots and sockets to close.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// After a drain, the longest the process waits for its clients' closing handshakes before it
/// exits (otherwise 3 s): each client has been told to reconnect elsewhere already (`draining`,
/// or `server_shutdown`), so waiting helps none of them, and a drained node that lingers holds
/// its meetings' reconnections back (see BENCHMARKS.md, "Kills and drains at 200 rooms").
const DRAINED_CLOSE_WAIT: Duration = Duration::from_millis(300);

/// Time between two retention passes, which trim the logs of meetings ended longer ago than the
/// retention and delete abandoned groups. The first pass runs when the server starts.
const RETENTION_PASS_INTERVAL: Duration = Duration::from_secs(10 * 60);

/// The most meetings' logs one retention pass trims, so that a backlog (after a long stop, or
/// a shortened retention) is worked off over several passes instead of in one long burst.
const RETENTION_MEETINGS_PER_PASS_MAX: usize = 100;

/// The most abandoned groups one retention pass deletes.
const RETENTION_GROUPS_PER_PASS_MAX: usize = 200;

/// How long the retention pass holds a group's lease while it deletes it (a deletion that
/// hangs gives the group back after this).
const RETENTION_LEASE_MS: u64 = 60_000;

/// A bound, not yet serving server.
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    /// The admin listener (`--admin-listen`): `/metrics` and the detailed `/healthz`.
    admin: Option<TcpListener>,
    context: Arc<App>,
}

/// Whether the configuration names a Redis store, one server or a Redis Cluster (as
/// [`open_store`] reads it).
fn uses_redis(config: &Config) -> bool {
    config.redis_url.is_some()
        || config
            .redis_cluster
            .iter()
            .any(|seed| !seed.trim().is_empty())
}

/// Opens the store the configuration names: Redis with `--redis-url`, a Redis Cluster with
/// `--redis-cluster`, else the embedded one.
pub async fn open_store(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    // An empty `ROUNDTABLE_REDIS_CLUSTER=` names no seed, as if unset.
    let seeds: Vec<String> = config
        .redis_cluster
        .iter()
        .map(|seed| seed.trim())
        .filter(|seed| !seed.is_empty())
        .map(String::from)
        .collect();
    if !seeds.is_empty() {
        let options = RedisOptions {
            key_prefix: config.redis_prefix.clone(),
            ..RedisOptions::default()
        };
        let store = RedisStore::connect_cluster(&seeds, options).await?;
        info!(seeds = seeds.len(), "storing in a Redis Cluster");
        return Ok(Arc::new(store));
    }
    match &config.redis_url {
        Some(url) => {
            let options = RedisOptions {
                key_prefix: config.redis_prefix.clone(),
                append_batch_max: config.redis_append_batch_max as usize,
                append_queue_max: config.redis_append_queue_max as usize,
                ..RedisOptions::default()
            };
            let store = RedisStore::connect(url, options).await?;
            info!("storing in Redis");
            Ok(Arc::new(store))
        }
        None => {
            let options = EmbeddedOptions {
                sync: config.store_sync,
                cache_bytes: config.store_cache_mib as usize * 1024 * 1024,
                ..EmbeddedOptions::default()
            };
            let store = EmbeddedStore::open_with(&config.data_dir, options)?;
            info!(
                data_dir = %config.data_dir.display(),
                sync = ?config.store_sync,
                cache_mib = config.store_cache_mib,
                "storing in the embedded store"
            );
            Ok(Arc::new(store))
        }
    }
}

/// The public listener's accept queue: connections the kernel has completed but the server has
/// not accepted yet. The kernel caps it at `net.core.somaxconn` (4096 by default since Linux
/// 5.4). When a node's clients all reconnect at once (a drain or a kill sends thousands to the
/// other nodes within moments), a full queue drops their SYNs, and each client's kernel sends
/// its SYN again only after 1 s (then 3 s): the 1,024 that `TcpListener::bind` asks for
/// overflowed in the load tool's drains at 200 rooms (BENCHMARKS.md, "Kills and drains at 200
/// rooms").
const ACCEPT_BACKLOG: u32 = 8192;

/// Binds the public listener with [`ACCEPT_BACKLOG`] (otherwise as `TcpListener::bind` does).
fn bind_public(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(ACCEPT_BACKLOG)
}

impl Server {
    /// Binds the configured address and opens the store.
    pub async fn bind(config: Config) -> anyhow::Result<Server> {
        let admin_listen = config.checked_admin_listen()?;
        config.fleet.checked(uses_redis(&config))?;
        let store = open_store(&config).await?;
        let listener = bind_public(config.listen)?;
        let admin = match admin_listen {
            Some(addr) => Some(TcpListener::bind(addr).await.map_err(|error| {
                anyhow::anyhow!("cannot listen on --admin-listen {addr}: {error}")
            })?),
            None => None,
        };
        let server = Server::with_parts(config, listener, store, Arc::new(SystemClock));
        Ok(match admin {
            Some(admin) => server.with_admin_listener(admin),
            None => server,
        })
    }

    /// Serves `/metrics` and the detailed `/healthz` on `admin` too.
    pub fn with_admin_listener(mut self, admin: TcpListener) -> Server {
        self.admin = Some(admin);
        self
    }

    /// The admin listener's address, if it has one.
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin
            .as_ref()
            .and_then(|admin| admin.local_addr().ok())
    }

    /// A server from ready parts, for tests and tools.
    pub fn with_parts(
        config: Config,
        listener: TcpListener,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
    ) -> Server {
        let bound = listener
            .local_addr()
            .expect("a bound listener has an address");
        let shutdown = CancellationToken::new();
        let context = Arc::new(App::new(config, bound, store, clock, shutdown));
        Server {
            listener,
            admin: None,
            context,
        }
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// The URL a person opens to use this server.
    pub fn public_base(&self) -> &str {
        &self.context.public_base
    }

    /// Serves until `shutdown` completes, then stops gracefully: no new connections, every
    /// socket closed with `server_shutdown`, every room's final snapshot written.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let Server {
            listener,
            admin,
            context,
        } = self;
        let fleet = start_fleet(&context).await?;
        let app = crate::http::router(Arc::clone(&context));
        let serving = tokio::spawn(crate::transport::listener::serve_http(
            listener,
            app,
            Arc::clone(&context),
        ));
        let abort = serving.abort_handle();
        let retention = tokio::spawn(trim_ended_logs_periodically(Arc::clone(&context)));
        let canaries = CancellationToken::new();
        let canary = tokio::spawn(write_canaries(Arc::clone(&context), canaries.clone()));
        // Renews the rooms' leases until every room has stopped (final snapshots included).
        let renewing = CancellationToken::new();
        let renewals = tokio::spawn(crate::room::fleet::renew_leases_periodically(
            Arc::clone(&context.rooms.fleet().renewals),
            Arc::clone(&context.store),
            Arc::clone(&context.node_id),
            context.config.limits.clone(),
            renewing.clone(),
        ));
        let admin = admin.map(|admin| {
            if let Ok(addr) = admin.local_addr() {
                info!(%addr, "admin listener: /metrics and /healthz");
            }
            let routes = crate::http::admin::router(Arc::clone(&context));
            let stop = context.shutdown.clone();
            tokio::spawn(async move {
                let serving = axum::serve(admin, routes)
                    .with_graceful_shutdown(async move { stop.cancelled().await });
                if let Err(error) = serving.await {
                    warn!(%error, "the admin listener failed");
                }
            })
        });
        shutdown.await;
        retention.abort();
        if let Some((fleet, _)) = &fleet {
            // Placement leaves this node out from its next heartbeat on.
            fleet.set_draining(true);
        }
        if context.store.shared() {
            // Other processes can run the meetings: hand them over first, so that members
            // move to another process at once and resume there.
            info!("shutting down: handing the rooms to other servers");
            context.rooms.drain();
            let clients = context.clients.clone();
            let (drained, released) = context
                .rooms
                .wait_drained(SHUTDOWN_GRACE, move || clients.len())
                .await;
            if !drained {
                warn!("some rooms were not handed over in time");
            }
            // The clients connected here are let go over the release window (see
            // `room/fleet.rs`); those that have not closed by its end are closed below.
            info!(
                clients = context.clients.len(),
                seconds = released
                    .saturating_duration_since(tokio::time::Instant::now())
                    .as_secs_f64(),
                "shutting down: letting the clients go to other servers"
            );
            while tokio::time::Instant::now() < released && !context.clients.is_empty() {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        if let Some((fleet, heartbeat)) = fleet {
            heartbeat.abort();
            fleet.deregister().await;
        }
        info!("shutting down: closing connections and saving rooms");
        context.shutdown.cancel();
        if !context.rooms.wait_stopped(SHUTDOWN_GRACE).await {
            warn!("some rooms did not stop in time");
        }
        renewing.cancel();
        let _ = renewals.await;
        context.connections.close();
        let handed_over = context.store.shared();
        let close_wait = if handed_over {
            DRAINED_CLOSE_WAIT
        } else {
            Duration::from_secs(3)
        };
        let closed = tokio::time::timeout(close_wait, context.connections.wait())
            .await
            .is_ok();
        // After a drain, the connections still closing are dropped at once.
        let serve_wait = if handed_over && !closed {
            Duration::ZERO
        } else {
            SHUTDOWN_GRACE
        };
        match tokio::time::timeout(serve_wait, serving).await {
            Ok(Ok(result)) => result?,
            Ok(Err(join_error)) => return Err(join_error.into()),
            Err(_) if handed_over => {
                info!("dropping the connections still closing after the drain");
                abort.abort();
            }
            Err(_) => {
                warn!("HTTP connections did not finish in time; dropping them");
                abort.abort();
            }
        }
        canaries.cancel();
        let _ = canary.await;
        if let Some(admin) = admin {
            admin.abort();
        }
        // Every room has written its final snapshot: make it all durable against power loss.
        if let Err(error) = context.store.flush().await {
            warn!(%error, "could not flush the store; its next start recovers the writes");
        }
        info!("stopped");
        Ok(())
    }
}

/// Binds the internal listener when the fleet is on (`--internal-listen`), registers this node
/// and keeps its heartbeat. Answers the fleet and its heartbeat task.
async fn start_fleet(
    context: &Arc<App>,
) -> anyhow::Result<Option<(Arc<Fleet>, tokio::task::JoinHandle<()>)>> {
    let fleet_config = &context.config.fleet;
    let Some((listen, advertise)) = fleet_config.checked(uses_redis(&context.config))? else {
        return Ok(None);
    };
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|error| anyhow::anyhow!("cannot listen on --internal-listen {listen}: {error}"))?;
    // A port 0 (tests) is advertised as the port it got.
    let advertise = match (fleet_config.internal_advertise, listener.local_addr()) {
        (None, Ok(bound)) => bound,
        _ => advertise,
    };
    let fleet = Arc::new(Fleet::new(
        Arc::clone(&context.node_id),
        advertise,
        context.public_base.clone(),
        fleet_config.clone(),
        Arc::clone(&context.store),
    ));
    let _ = context.fleet.set(Arc::clone(&fleet));
    let reach: Arc<dyn crate::room::fleet::Reach> = Arc::clone(&fleet) as _;
    let _ = context.rooms.fleet().nodes.set(reach);
    tokio::spawn(crate::transport::internal::serve_internal(
        listener,
        Arc::clone(context),
        fleet.secret(),
    ));
    // The first heartbeat before the first client: placement sees this node at once.
    fleet
        .heartbeat(context.rooms.live_rooms() as u64, fleet.clients.count())
        .await;
    let heartbeat = tokio::spawn({
        let (fleet, context) = (Arc::clone(&fleet), Arc::clone(context));
        async move {
            let mut beats = tokio::time::interval(context.config.fleet.node_heartbeat());
            beats.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                beats.tick().await;
                fleet
                    .heartbeat(context.rooms.live_rooms() as u64, fleet.clients.count())
                    .await;
            }
        }
    });
    tokio::spawn(crate::fleet::rebalance::run(
        Arc::clone(&fleet),
        context.rooms.clone(),
        fleet_config.rebalance_rooms_per_second,
        context.shutdown.clone(),
    ));
    tokio::spawn(crate::fleet::spread::run(
        Arc::clone(&fleet),
        fleet_config.rebalance_connections_per_second,
        context.shutdown.clone(),
    ));
    // Readiness includes forwarding from now on: a probe once a second (see `health`).
    context.health.forwarding_on();
    tokio::spawn({
        let (fleet, context) = (Arc::clone(&fleet), Arc::clone(context));
        async move {
            let mut probes = tokio::time::interval(crate::fleet::PROBE_INTERVAL);
            probes.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    () = context.shutdown.cancelled() => return,
                    _ = probes.tick() => {}
                }
                let outcome = fleet.probe().await;
                if let Err(why) = &outcome
                    && context.health.forwarding_ok()
                {
                    warn!(%why, "forwarding's probe failed");
                }
                context.health.forwarding_probed(outcome);
            }
        }
    });
    info!(%advertise, "in the fleet: forwarding clients to their rooms' nodes");
    Ok(Some((fleet, heartbeat)))
}

/// Writes the store canary until `stop` (see [`crate::health`]).
async fn write_canaries(context: Arc<App>, stop: CancellationToken) {
    crate::health::write_canaries(
        &context.health,
        context.store.as_ref(),
        &context.node_id,
        context.clock.as_ref(),
        stop,
    )
    .await;
}

/// Every [`RETENTION_PASS_INTERVAL`], trims the logs of up to
/// [`RETENTION_MEETINGS_PER_PASS_MAX`] meetings that ended more than `log_retention_hours` ago.
/// Several processes sharing one store may run passes at the same time: trimming is idempotent.
async fn trim_ended_logs_periodically(context: Arc<App>) {
    let mut passes = tokio::time::interval(RETENTION_PASS_INTERVAL);
    passes.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        passes.tick().await;
        let retention_ms = context.config.limits.log_retention_ms();
        let ended_through_ms = context.clock.now_ms().saturating_sub(retention_ms);
        match context
            .store
            .trim_ended_logs(ended_through_ms, RETENTION_MEETINGS_PER_PASS_MAX)
            .await
        {
            Ok(0) => {}
            Ok(trimmed) => info!(trimmed, "trimmed the logs of ended meetings"),
            // The meetings stay due; the next pass tries again.
            Err(error) => warn!(%error, "could not trim the logs of ended meetings"),
        }
        delete_abandoned_groups(&context).await;
    }
}

/// Deletes up to [`RETENTION_GROUPS_PER_PASS_MAX`] abandoned groups: nobody joined them within
/// `--unjoined-group-retention-days` of their creation, or nobody joined them for
/// `--inactive-group-retention-days`. A group whose room is live (here or, by its lease, on
/// another server) is left: someone has just joined it, and its room records that.
async fn delete_abandoned_groups(context: &App) {
    let limits = &context.config.limits;
    let now_ms = context.clock.now_ms();
    let through = |retention_ms: Option<u64>| retention_ms.map(|ms| now_ms.saturating_sub(ms));
    let (unjoined, inactive) = (
        through(limits.unjoined_group_retention_ms()),
        through(limits.inactive_group_retention_ms()),
    );
    if unjoined.is_none() && inactive.is_none() {
        return;
    }
    // With unjoined groups kept, none of them is ever older than 0.
    let due = match context
        .store
        .abandoned_groups(
            unjoined.unwrap_or(0),
            inactive,
            RETENTION_GROUPS_PER_PASS_MAX,
        )
        .await
    {
        Ok(due) => due,
        Err(error) => {
            warn!(%error, "could not find abandoned groups");
            return;
        }
    };
    // The pass holds each group's ownership lease while it deletes it, so that no server
    // loads its room meanwhile (a join then waits with `room_elsewhere`, and finds no group);
    // a group whose room is live anywhere holds its lease, and is left alone.
    let owner = format!("retention-{}", uuid::Uuid::new_v4().simple());
    let mut deleted = 0;
    for group_id in due {
        if context.rooms.is_live(group_id) {
            continue;
        }
        let epoch = match context
            .store
            .take_lease_reporting(group_id, &owner, RETENTION_LEASE_MS)
            .await
        {
            Ok(take) if take.held => take.epoch,
            Ok(_) => continue,
            Err(error) => {
                warn!(group = %group_id, %error, "could not take an abandoned group's lease");
                continue;
            }
        };
        // The deletion takes the lease with it.
        match context.store.delete_group(group_id).await {
            Ok(_) => deleted += 1,
            Err(error) => {
                warn!(group = %group_id, %error, "could not delete an abandoned group");
                let _ = context.store.release_lease(group_id, &owner, epoch).await;
            }
        }
    }
    if deleted > 0 {
        info!(deleted, "deleted abandoned groups");
    }
}
