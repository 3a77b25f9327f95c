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
//! this node's rooms that placement names another node for (a wait of a minute or more for
//! those is logged, see [`HeldBack`]). Each look sets `roundtable_connections_over_share` to
//! what it found to let go.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_util::sync::{CancellationToken, WaitForCancellationFuture};
use tracing::{info, warn};

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
    open: Mutex<HashMap<u64, Open>>,
}

/// One of [`Clients`].
#[derive(Debug)]
struct Open {
    released: CancellationToken,
    /// Its join was answered (it is in a room here, or forwarded to one): only such a client
    /// is let go, not one whose join is under way, which would be let go the moment it is in.
    settled: bool,
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

    /// The client's join was answered: from now on the spread may let it go.
    pub fn settle(&self) {
        if let Some(open) = self.clients.lock().get_mut(&self.id) {
            open.settled = true;
        }
    }
}

/// Completes when the spread lets the client of `place` go (never without a place) and, for
/// a client forwarded to another node over `attachment`, once its join there (or one made
/// again) has its answer, which the client would otherwise miss.
pub async fn released(place: Option<&ClientPlace>, attachment: Option<&super::link::Attachment>) {
    let Some(place) = place else {
        return std::future::pending().await;
    };
    place.released().await;
    if let Some(attachment) = attachment {
        while !attachment.settled() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

impl Drop for ClientPlace {
    fn drop(&mut self) {
        self.clients.lock().remove(&self.id);
    }
}

impl Clients {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Open>> {
        self.open
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Counts the client connection `id` (unique in the process) until its place is dropped.
    pub fn enter(self: &Arc<Self>, id: u64) -> ClientPlace {
        let released = CancellationToken::new();
        self.lock().insert(
            id,
            Open {
                released: released.clone(),
                settled: false,
            },
        );
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

    /// Lets `most` client connections go, of those whose join was answered (any of them:
    /// nothing tells a client that will stay from one that will not); answers how many it let
    /// go.
    pub fn release(&self, most: usize) -> usize {
        let mut open = self.lock();
        let chosen: Vec<u64> = open
            .iter()
            .filter(|(_, client)| client.settled)
            .map(|(&id, _)| id)
            .take(most)
            .collect();
        for id in &chosen {
            if let Some(client) = open.remove(id) {
                client.released.cancel();
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
    /// entry was not read. `None` while there is no share to reckon: a live node (this one
    /// included) is not settled or drains. Whether it may let clients go now is
    /// [`Fleet::may_let_go`]'s to say.
    pub fn connections_over_share(&self) -> Option<Reckoning> {
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

    /// Whether the spread may let a client go now: the node does not drain, and the rebalance
    /// has no room here to move (their members are joined again in place where the room goes,
    /// in a new log epoch: a client let go after that resumes by replay, where one let go
    /// before it would need a snapshot). Meanwhile the clients over its share are still
    /// counted (`roundtable_connections_over_share`): they are to be let go once it may.
    fn may_let_go(&self) -> bool {
        !self.draining.load(std::sync::atomic::Ordering::Relaxed)
            && self
                .rooms_to_move
                .load(std::sync::atomic::Ordering::Relaxed)
                == 0
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
/// heartbeats are a moment apart differ by what arrived meanwhile), start a round: the share
/// is fixed as the count to let go down to, and at most the excess found is let go, step by
/// step. The others' counts lag behind the clients reconnecting to them, so reckoning the share
/// again meanwhile would see them still short and let too many go; and a client the balancer
/// sends back here is not let go again in the same round. The round ends once the node holds
/// its share or has let the excess go, or when a look finds the node no longer to let clients
/// go or the fleet's count moved since the round began ([`Round::steady_at`]: but for the
/// clients the round let go, which may not have reconnected yet); the next round needs two
/// looks again. Every step checks first
/// that the node does not drain and has no room to move.
pub async fn run(fleet: Arc<Fleet>, per_second: u32, stop: CancellationToken) {
    let (batch, every) = super::rebalance::pace(per_second);
    let mut steps = tokio::time::interval(every);
    steps.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut round: Option<Round> = None;
    // The last round, once ended, and the futile rounds in a row (see [`Futility`]).
    let mut futility = Futility::default();
    // What the last look found.
    let mut before: Option<Reckoning> = None;
    let mut looked: Option<tokio::time::Instant> = None;
    let mut held_back = HeldBack::default();
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = steps.tick() => {}
        }
        if looked.is_none_or(|at| at.elapsed() >= LOOK_INTERVAL) {
            looked = Some(tokio::time::Instant::now());
            let reckoned = fleet.connections_over_share();
            let now = reckoned.filter(|_| fleet.may_let_go());
            let steady = match (now, before) {
                (Some(now), Some(then)) => now.total.abs_diff(then.total) < SLACK_MIN,
                _ => false,
            };
            match (&round, now, before) {
                (Some(current), _, _) if !now.is_some_and(|now| current.steady_at(now.total)) => {
                    futility.ended(round.take(), tokio::time::Instant::now())
                }
                (None, Some(now), Some(then))
                    if now.over > 0
                        && then.over > 0
                        && steady
                        && futility.may_start(now.own, tokio::time::Instant::now()) =>
                {
                    round = Some(Round {
                        own: now.own,
                        down_to: now.own - now.over,
                        left: now.over,
                        total: now.total,
                        released: 0,
                    });
                }
                _ => {}
            }
            before = now;
            let to_move = fleet
                .rooms_to_move
                .load(std::sync::atomic::Ordering::Relaxed);
            if let Some(held) = held_back.look(to_move, tokio::time::Instant::now()) {
                warn!(
                    rooms = to_move,
                    seconds = held.as_secs(),
                    "the spread of clients waits: rooms here are still to move to the nodes \
                     placement names (see roundtable_rooms_misplaced)"
                );
            }
            let over = match &round {
                Some(round) => fleet
                    .clients
                    .count()
                    .saturating_sub(round.down_to)
                    .min(round.left),
                // While it may not let clients go yet, those it is to let go once it may.
                None => reckoned.map_or(0, |reckoned| reckoned.over),
            };
            crate::metrics::forwarding::connections_over_share(over);
        }
        let Some(current) = &mut round else { continue };
        if !fleet.may_let_go() {
            futility.ended(round.take(), tokio::time::Instant::now());
            continue;
        }
        let now = fleet
            .clients
            .count()
            .saturating_sub(current.down_to)
            .min(current.left)
            .min(batch as u64);
        if now > 0 {
            let gone = fleet.clients.release(now as usize);
            crate::metrics::forwarding::connections_released(gone);
            current.released += gone as u64;
            current.left = current.left.saturating_sub(gone as u64);
        }
        if current.left == 0 || fleet.clients.count() <= current.down_to {
            futility.ended(round.take(), tokio::time::Instant::now());
        }
    }
}

/// How long the spread waits for the rebalance before it says so: a room the rebalance cannot
/// move (its new node keeps refusing it) holds the spread back for as long, and only a log
/// line tells an operator why the node keeps more than its share.
const HELD_BACK_NOTICE: Duration = Duration::from_secs(60);

/// Whether the spread has waited for rooms still to move long enough to say so: once it has
/// for [`HELD_BACK_NOTICE`], and again every [`HELD_BACK_NOTICE`] while it still does.
#[derive(Debug, Default)]
struct HeldBack {
    since: Option<tokio::time::Instant>,
    said: Option<tokio::time::Instant>,
}

impl HeldBack {
    /// A look that found `to_move` rooms still to move here at `now`: how long the spread has
    /// waited, when that is to be said now.
    fn look(&mut self, to_move: usize, now: tokio::time::Instant) -> Option<Duration> {
        if to_move == 0 {
            *self = HeldBack::default();
            return None;
        }
        let since = *self.since.get_or_insert(now);
        let due = self.said.unwrap_or(since) + HELD_BACK_NOTICE;
        if now < due {
            return None;
        }
        self.said = Some(now);
        Some(now - since)
    }
}

/// A round of the spread (see [`run`]).
#[derive(Debug)]
struct Round {
    /// The node's clients when the round began.
    own: u64,
    /// The share: the count the node lets go down to.
    down_to: u64,
    /// Clients the round may still let go.
    left: u64,
    /// The fleet's clients when the round began.
    total: u64,
    released: u64,
}

impl Round {
    /// Whether the fleet's clients, `total` as counted now, are about what they were when the
    /// round began (less than [`SLACK_MIN`] more or fewer), but for the clients the round let
    /// go: until they reconnect elsewhere they count nowhere, and the fleet seems to shrink by
    /// what the round does. (Before, a look compared with the look before it, and a round that
    /// let 100 go between two looks, before the balancer brought them back, ended itself.)
    fn steady_at(&self, total: u64) -> bool {
        let least = self.total.saturating_sub(self.released);
        total.saturating_add(SLACK_MIN) > least && total < self.total.saturating_add(SLACK_MIN)
    }
}

/// The longest wait between two futile rounds.
const FUTILE_WAIT_MAX: Duration = Duration::from_secs(600);

/// Whether the rounds achieve anything. A round is futile when the node holds, once it is
/// over, about as many clients as before it (less than half of those it let go fewer): the
/// balancer sends them back (sticky balancing by address, say). After each futile round the
/// next waits twice as long (from 2 s, at most [`FUTILE_WAIT_MAX`]), so a fleet the spread
/// cannot even out is not made to reconnect for nothing, over and over.
#[derive(Debug, Default)]
struct Futility {
    /// The last round, and when it ended.
    last: Option<(Round, tokio::time::Instant)>,
    /// Futile rounds in a row.
    in_a_row: u32,
}

impl Futility {
    /// Notes the end of `round` (if one was under way) at `at`, saying what it did.
    fn ended(&mut self, round: Option<Round>, at: tokio::time::Instant) {
        let Some(ended) = round else { return };
        info!(
            clients = ended.released,
            fleet_clients = ended.total,
            share = ended.down_to,
            "spread: client connections let go to reconnect to less crowded nodes"
        );
        self.last = Some((ended, at));
    }

    /// Whether a round may start at `now`, the node holding `own` clients.
    fn may_start(&mut self, own: u64, now: tokio::time::Instant) -> bool {
        let Some((last, ended_at)) = &self.last else {
            return true;
        };
        if own.saturating_add(last.released / 2) <= last.own {
            self.in_a_row = 0;
            return true;
        }
        let wait = Duration::from_secs(2)
            .saturating_mul(1 << self.in_a_row.min(16))
            .min(FUTILE_WAIT_MAX);
        if now.saturating_duration_since(*ended_at) < wait {
            return false;
        }
        self.in_a_row += 1;
        true
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

    /// A rebalance that cannot move its rooms holds the spread back: said after a minute, and
    /// each minute after while it lasts.
    #[test]
    fn a_spread_held_back_by_rooms_to_move_says_so_each_minute() {
        let start = tokio::time::Instant::now();
        let at = |seconds: u64| start + Duration::from_secs(seconds);
        let mut held = HeldBack::default();
        // Nothing to move: nothing to say, however long.
        assert_eq!(held.look(0, at(0)), None);
        assert_eq!(held.look(0, at(120)), None);
        // Rooms to move from 130 s on: said at 190 s, again at 250 s, not in between.
        assert_eq!(held.look(3, at(130)), None);
        assert_eq!(held.look(3, at(189)), None);
        assert_eq!(held.look(2, at(190)), Some(Duration::from_secs(60)));
        assert_eq!(held.look(2, at(200)), None);
        assert_eq!(held.look(2, at(250)), Some(Duration::from_secs(120)));
        // Moved at last: the next wait counts afresh.
        assert_eq!(held.look(0, at(251)), None);
        assert_eq!(held.look(1, at(300)), None);
        assert_eq!(held.look(1, at(359)), None);
        assert_eq!(held.look(1, at(360)), Some(Duration::from_secs(60)));
    }

    /// A round after which the node holds as many clients as before (the balancer sent them
    /// back) makes the next wait, twice as long each time; one that helped does not.
    #[test]
    fn a_round_goes_on_while_the_fleet_shrinks_by_no_more_than_what_it_let_go() {
        let mut round = Round {
            own: 240,
            down_to: 120,
            left: 120,
            total: 240,
            released: 0,
        };
        assert!(round.steady_at(240));
        assert!(round.steady_at(141) && round.steady_at(339));
        assert!(!round.steady_at(140), "100 fewer, none let go: others left");
        assert!(!round.steady_at(340), "100 more: clients arrive everywhere");
        // 100 let go and not back yet: the fleet counts 140.
        round.released = 100;
        assert!(round.steady_at(140));
        assert!(round.steady_at(41));
        assert!(!round.steady_at(40), "100 fewer than the round explains");
        assert!(!round.steady_at(340));
    }

    #[test]
    fn futile_rounds_wait_longer_and_longer() {
        let round = |own, released| Round {
            own,
            down_to: own / 2,
            left: 0,
            total: own,
            released,
        };
        let start = tokio::time::Instant::now();
        let at = |seconds: f64| start + Duration::from_secs_f64(seconds);
        let mut futility = Futility::default();
        assert!(
            futility.may_start(240, at(0.0)),
            "the first round starts at once"
        );
        futility.ended(Some(round(240, 120)), at(1.0));
        // It helped: the node holds 120 now. The next may start at once.
        assert!(futility.may_start(120, at(1.0)));
        // The clients came back: 2 s after the round, then 4, then 8.
        futility.ended(Some(round(240, 120)), at(2.0));
        assert!(!futility.may_start(240, at(3.9)));
        assert!(futility.may_start(240, at(4.0)));
        futility.ended(Some(round(240, 120)), at(5.0));
        assert!(!futility.may_start(240, at(8.9)));
        assert!(futility.may_start(240, at(9.0)));
        futility.ended(Some(round(240, 120)), at(10.0));
        assert!(!futility.may_start(230, at(17.9)));
        assert!(futility.may_start(230, at(18.0)));
        // Then one that helps: back to no wait.
        futility.ended(Some(round(230, 120)), at(19.0));
        assert!(futility.may_start(150, at(19.0)));
        futility.ended(Some(round(150, 40)), at(20.0));
        assert!(
            futility.may_start(200, at(22.0)),
            "a futile round after a useful one waits 2 s"
        );
        // The longest wait is bounded.
        let mut futility = Futility {
            in_a_row: 40,
            ..Futility::default()
        };
        futility.ended(Some(round(240, 120)), at(0.0));
        assert!(futility.may_start(240, at(600.0)));
    }

    #[test]
    fn letting_go_closes_the_chosen_clients_once_and_counts_them_no_more() {
        let clients = Arc::new(Clients::default());
        let places: Vec<ClientPlace> = (0..10).map(|id| clients.enter(id)).collect();
        places.iter().for_each(ClientPlace::settle);
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

    #[test]
    fn a_client_whose_join_is_under_way_is_not_let_go() {
        let clients = Arc::new(Clients::default());
        let places: Vec<ClientPlace> = (0..3).map(|id| clients.enter(id)).collect();
        places[0].settle();
        places[2].settle();
        assert_eq!(clients.count(), 3, "a client joining is counted");
        assert_eq!(
            clients.release(3),
            2,
            "only the clients in a room are let go"
        );
        assert!(!places[1].released.is_cancelled());
        places[1].settle();
        assert_eq!(clients.release(3), 1, "once in, it may be let go");
        assert!(places[1].released.is_cancelled());
    }
}
