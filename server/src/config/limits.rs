//! Every limit the server enforces, as flags with named defaults.

use std::time::Duration;

use roundtable_rules::{FlowLimits, PrepLimits, RoomLimits};

/// Every limit the server enforces. Each has a named default and gives a typed error when
/// exceeded.
#[derive(Debug, Clone, clap::Args)]
pub struct Limits {
    /// Largest WebSocket frame accepted, in bytes; larger ones get `too_large`.
    #[arg(long, env = "ROUNDTABLE_FRAME_BYTES_MAX", default_value_t = Limits::FRAME_BYTES_MAX)]
    pub frame_bytes_max: usize,

    /// Sustained requests per second per connection; bursts of twice this pass.
    #[arg(long, env = "ROUNDTABLE_REQUESTS_PER_SECOND", default_value_t = Limits::REQUESTS_PER_SECOND)]
    pub requests_per_second: u32,

    /// Members a group may have (observers included).
    #[arg(long, env = "ROUNDTABLE_MEMBERS_PER_ROOM_MAX", default_value_t = Limits::MEMBERS_PER_ROOM_MAX)]
    pub members_per_room_max: usize,

    /// Connections one room holds at once (a member may have several tabs open).
    #[arg(long, env = "ROUNDTABLE_CONNECTIONS_PER_ROOM_MAX", default_value_t = Limits::CONNECTIONS_PER_ROOM_MAX)]
    pub connections_per_room_max: usize,

    /// Rooms live in memory at once; joining another room gets `server_busy`.
    #[arg(long, env = "ROUNDTABLE_LIVE_ROOMS_MAX", default_value_t = Limits::LIVE_ROOMS_MAX)]
    pub live_rooms_max: usize,

    /// Longest group name, in characters.
    #[arg(long, env = "ROUNDTABLE_GROUP_NAME_CHARS_MAX", default_value_t = Limits::GROUP_NAME_CHARS_MAX)]
    pub group_name_chars_max: usize,

    /// Longest display name, in characters.
    #[arg(long, env = "ROUNDTABLE_DISPLAY_NAME_CHARS_MAX", default_value_t = Limits::DISPLAY_NAME_CHARS_MAX)]
    pub display_name_chars_max: usize,

    /// Meetings of a group's schedule moved away from their regular time at once.
    #[arg(long, env = "ROUNDTABLE_SCHEDULE_MOVES_MAX", default_value_t = Limits::SCHEDULE_MOVES_MAX)]
    pub schedule_moves_max: usize,

    /// Frames waiting to be written to one connection; a client that falls this far behind is
    /// disconnected with `slow_consumer` and may resume.
    #[arg(long, env = "ROUNDTABLE_OUTBOUND_QUEUE_MAX", default_value_t = Limits::OUTBOUND_QUEUE_MAX)]
    pub outbound_queue_max: usize,

    /// Events of the current meeting kept in memory for fast resume.
    #[arg(long, env = "ROUNDTABLE_RECENT_EVENTS_MAX", default_value_t = Limits::RECENT_EVENTS_MAX)]
    pub recent_events_max: usize,

    /// Missed events replayed on resume; a client further behind gets a fresh snapshot.
    #[arg(long, env = "ROUNDTABLE_REPLAY_EVENTS_MAX", default_value_t = Limits::REPLAY_EVENTS_MAX)]
    pub replay_events_max: usize,

    /// Bad frames in a row after which a connection is closed with `policy_violation`
    /// (`rate_limited` answers do not count).
    #[arg(long, env = "ROUNDTABLE_ERRORS_IN_A_ROW_MAX", default_value_t = Limits::ERRORS_IN_A_ROW_MAX)]
    pub errors_in_a_row_max: u32,

    /// Seconds a new connection has to join before it is closed.
    #[arg(long, env = "ROUNDTABLE_JOIN_TIMEOUT_SECONDS", default_value_t = Limits::JOIN_TIMEOUT_SECONDS)]
    pub join_timeout_seconds: u64,

    /// Seconds a room with nobody connected stays in memory before it is unloaded.
    #[arg(long, env = "ROUNDTABLE_ROOM_IDLE_SECONDS", default_value_t = Limits::ROOM_IDLE_SECONDS)]
    pub room_idle_seconds: u64,

    /// Milliseconds a member whose last connection dropped without a close is still shown
    /// online: one who is back within it (a network blip, the node they came through going
    /// down while their meeting's node lives) was never shown gone. A clean close, a removal
    /// or a revoked session shows at once; 0 shows a dropped connection at once too; at most
    /// 60,000.
    #[arg(long, env = "ROUNDTABLE_PRESENCE_GRACE_MS", default_value_t = Limits::PRESENCE_GRACE_MS,
          value_parser = clap::value_parser!(u64).range(0..=60_000))]
    pub presence_grace_ms: u64,

    /// Most events between two snapshots of a room, whatever their size: bounds the log replayed
    /// when a room loads. Snapshots are otherwise taken by cost (`--snapshot-cost-ratio`).
    #[arg(long, env = "ROUNDTABLE_SNAPSHOT_EVERY_EVENTS", default_value_t = Limits::SNAPSHOT_EVERY_EVENTS)]
    pub snapshot_every_events: u64,

    /// Milliseconds a room's ownership lease lasts; the process renews all its rooms' leases
    /// together every third of this. After a crash (kill -9), another process takes the
    /// room over once the lease expires.
    #[arg(long, env = "ROUNDTABLE_ROOM_LEASE_MS", default_value_t = Limits::ROOM_LEASE_MS)]
    pub room_lease_ms: u64,

    /// Milliseconds between two tries of a join that finds the room's lease held by another
    /// process: the join waits on the server and takes the room over as soon as the lease
    /// expires.
    #[arg(long, env = "ROUNDTABLE_LEASE_WAIT_POLL_MS", default_value_t = Limits::LEASE_WAIT_POLL_MS)]
    pub lease_wait_poll_ms: u64,

    /// Milliseconds a join waits for another process's lease beyond `--room-lease-ms` (the
    /// longest the lease can still run) before it answers `room_elsewhere`; 0 answers at once.
    #[arg(long, env = "ROUNDTABLE_LEASE_WAIT_MARGIN_MS", default_value_t = Limits::LEASE_WAIT_MARGIN_MS)]
    pub lease_wait_margin_ms: u64,

    /// Leases renewed in one pipelined store call; a process with more live rooms renews
    /// them in several calls of this many.
    #[arg(long, env = "ROUNDTABLE_LEASE_RENEWAL_BATCH_MAX", default_value_t = Limits::LEASE_RENEWAL_BATCH_MAX)]
    pub lease_renewal_batch_max: usize,

    /// Rooms a draining process (SIGTERM on a shared store, or `POST /admin/drain`) hands
    /// over at the same time, each until its clients on the process are joined again where
    /// it went (at most `room::fleet::HANDOVER_HOLD_MAX`).
    #[arg(long, env = "ROUNDTABLE_DRAIN_CONCURRENCY", default_value_t = Limits::DRAIN_CONCURRENCY)]
    pub drain_concurrency: usize,
    /// Clients per second a drained process of a fleet (`--internal-listen`) lets go once its
    /// rooms are handed over: until then they stay, joined again to their meetings on other
    /// nodes through it, and are closed (1012) spread over `clients / rate` seconds, at most
    /// 10, so that their reconnections do not all land on the others at once. (Without a
    /// fleet each room's handover closes its clients.)
    #[arg(long, env = "ROUNDTABLE_DRAIN_RELEASE_PER_SECOND", default_value_t = Limits::DRAIN_RELEASE_PER_SECOND,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub drain_release_per_second: u32,

    /// Hours an ended meeting's event log is kept before it is trimmed (group data and
    /// snapshots are kept).
    #[arg(long, env = "ROUNDTABLE_LOG_RETENTION_HOURS", default_value_t = Limits::LOG_RETENTION_HOURS)]
    pub log_retention_hours: u64,
    /// Agenda items one meeting may have (also the longest agenda template).
    #[arg(long, env = "ROUNDTABLE_AGENDA_ITEMS_MAX", default_value_t = Limits::AGENDA_ITEMS_MAX)]
    pub agenda_items_max: usize,

    /// Longest agenda item title, in characters.
    #[arg(long, env = "ROUNDTABLE_AGENDA_TITLE_CHARS_MAX", default_value_t = Limits::AGENDA_TITLE_CHARS_MAX)]
    pub agenda_title_chars_max: usize,

    /// Longest agenda item notes, in characters.
    #[arg(long, env = "ROUNDTABLE_AGENDA_NOTES_CHARS_MAX", default_value_t = Limits::AGENDA_NOTES_CHARS_MAX)]
    pub agenda_notes_chars_max: usize,

    /// Members' agenda proposals waiting for a facilitator at once.
    #[arg(long, env = "ROUNDTABLE_AGENDA_PROPOSALS_OPEN_MAX", default_value_t = Limits::AGENDA_PROPOSALS_OPEN_MAX)]
    pub agenda_proposals_open_max: usize,

    /// Suggestions one problem may collect.
    #[arg(long, env = "ROUNDTABLE_SUGGESTIONS_PER_PROBLEM_MAX", default_value_t = Limits::SUGGESTIONS_PER_PROBLEM_MAX)]
    pub suggestions_per_problem_max: usize,

    /// Longest suggestion, in characters.
    #[arg(long, env = "ROUNDTABLE_SUGGESTION_CHARS_MAX", default_value_t = Limits::SUGGESTION_CHARS_MAX)]
    pub suggestion_chars_max: usize,

    /// Longest win, challenge or ask of a member's check-in before a meeting, in characters.
    #[arg(long, env = "ROUNDTABLE_CHECK_IN_FIELD_CHARS_MAX", default_value_t = Limits::CHECK_IN_FIELD_CHARS_MAX)]
    pub check_in_field_chars_max: usize,

    /// Longest problem statement of a hot-seat request, in characters.
    #[arg(long, env = "ROUNDTABLE_HOT_SEAT_PROBLEM_CHARS_MAX", default_value_t = Limits::HOT_SEAT_PROBLEM_CHARS_MAX)]
    pub hot_seat_problem_chars_max: usize,

    /// Most minutes a member may ask for in the hot seat.
    #[arg(long, env = "ROUNDTABLE_HOT_SEAT_MINUTES_MAX", default_value_t = Limits::HOT_SEAT_MINUTES_MAX)]
    pub hot_seat_minutes_max: u32,

    /// Speakers one round may have.
    #[arg(long, env = "ROUNDTABLE_SPEAKERS_PER_ROUND_MAX", default_value_t = Limits::SPEAKERS_PER_ROUND_MAX)]
    pub speakers_per_round_max: usize,

    /// Longest time box (agenda item, speaker, problem phase), in seconds.
    #[arg(long, env = "ROUNDTABLE_TIME_BOX_SECONDS_MAX", default_value_t = Limits::TIME_BOX_SECONDS_MAX)]
    pub time_box_seconds_max: u64,

    /// Most time one extend may add or take away, in seconds.
    #[arg(long, env = "ROUNDTABLE_TIMER_EXTEND_SECONDS_MAX", default_value_t = Limits::TIMER_EXTEND_SECONDS_MAX)]
    pub timer_extend_seconds_max: u64,

    /// Seconds a connection may go without its socket taking a single byte of what the server
    /// has to write (events, answers, pongs) before it is closed and its room slot freed,
    /// joined or not. The web client itself gives a link up after 4 s without a pong, so a
    /// socket that takes nothing for this long belongs to no working client.
    #[arg(long, env = "ROUNDTABLE_WRITE_STALL_SECONDS", default_value_t = Limits::WRITE_STALL_SECONDS,
          value_parser = clap::value_parser!(u64).range(1..=3_600))]
    pub write_stall_seconds: u64,

    /// Seconds a new connection has, from its accept, to send a whole request head (the
    /// WebSocket upgrade included); then it is closed. On a kept-alive connection, each next
    /// request's head has as long, counted from the previous response.
    #[arg(long, env = "ROUNDTABLE_REQUEST_HEAD_SECONDS", default_value_t = Limits::REQUEST_HEAD_SECONDS,
          value_parser = clap::value_parser!(u64).range(1..=3_600))]
    pub request_head_seconds: u64,
    /// Groups one client address may create at once (an IPv6 address counts by its /64);
    /// further ones get 429 `rate_limited` with `Retry-After`.
    #[arg(long, env = "ROUNDTABLE_GROUP_CREATIONS_PER_ADDRESS_BURST", default_value_t = Limits::GROUP_CREATIONS_PER_ADDRESS_BURST)]
    pub group_creations_per_address_burst: u32,

    /// Groups one client address may create per hour after its burst.
    #[arg(long, env = "ROUNDTABLE_GROUP_CREATIONS_PER_ADDRESS_PER_HOUR", default_value_t = Limits::GROUP_CREATIONS_PER_ADDRESS_PER_HOUR)]
    pub group_creations_per_address_per_hour: u32,

    /// Groups the whole server creates per hour, from all addresses together (at most a tenth
    /// of this at once); further ones get 503 `server_busy` with `Retry-After`.
    #[arg(long, env = "ROUNDTABLE_GROUP_CREATIONS_PER_HOUR", default_value_t = Limits::GROUP_CREATIONS_PER_HOUR)]
    pub group_creations_per_hour: u32,

    /// Days after which a group nobody ever joined is deleted (counted from its creation);
    /// 0 keeps them.
    #[arg(long, env = "ROUNDTABLE_UNJOINED_GROUP_RETENTION_DAYS", default_value_t = Limits::UNJOINED_GROUP_RETENTION_DAYS)]
    pub unjoined_group_retention_days: u64,

    /// Days after which a group nobody joined any more is deleted with all its data (counted
    /// from the last join); 0 keeps them.
    #[arg(long, env = "ROUNDTABLE_INACTIVE_GROUP_RETENTION_DAYS", default_value_t = Limits::INACTIVE_GROUP_RETENTION_DAYS)]
    pub inactive_group_retention_days: u64,

    /// Connections one member may have open in their room at once (a laptop and a phone, a
    /// few tabs); a further join gets `limit_reached`.
    #[arg(long, env = "ROUNDTABLE_CONNECTIONS_PER_MEMBER_MAX", default_value_t = Limits::CONNECTIONS_PER_MEMBER_MAX)]
    pub connections_per_member_max: usize,

    /// New members a group takes per minute, through its links (at most this many at once);
    /// further joins that would add a member get `rate_limited`.
    #[arg(long, env = "ROUNDTABLE_NEW_MEMBERS_PER_MINUTE", default_value_t = Limits::NEW_MEMBERS_PER_MINUTE)]
    pub new_members_per_minute: u32,

    /// Requests that change the room one member may make per second, over all their
    /// connections together (bursts of twice this pass); reads, pings and reactions are not
    /// counted. Further ones get `rate_limited`.
    #[arg(long, env = "ROUNDTABLE_WRITES_PER_MEMBER_PER_SECOND", default_value_t = Limits::WRITES_PER_MEMBER_PER_SECOND)]
    pub writes_per_member_per_second: u32,

    /// Bytes a room's state may take, as stored; past it a change that would grow it gets
    /// `limit_reached` (changes that keep or shrink it still pass).
    #[arg(long, env = "ROUNDTABLE_ROOM_STATE_BYTES_MAX", default_value_t = Limits::ROOM_STATE_BYTES_MAX)]
    pub room_state_bytes_max: usize,

    /// WebSocket connections one client address may hold open before they join; a further
    /// upgrade gets 429 `rate_limited`.
    #[arg(long, env = "ROUNDTABLE_UNJOINED_WEBSOCKETS_PER_ADDRESS_MAX", default_value_t = Limits::UNJOINED_WEBSOCKETS_PER_ADDRESS_MAX)]
    pub unjoined_websockets_per_address_max: usize,

    /// Joins one client address may make per minute (at most this many at once), whatever
    /// their groups; further ones get `rate_limited`.
    #[arg(long, env = "ROUNDTABLE_JOINS_PER_ADDRESS_PER_MINUTE", default_value_t = Limits::JOINS_PER_ADDRESS_PER_MINUTE)]
    pub joins_per_address_per_minute: u32,

    /// Connections one client address (the TCP peer's; trusted proxies are not counted) may
    /// hold open before their first request's head is complete; further ones are closed at
    /// once.
    #[arg(long, env = "ROUNDTABLE_UNFINISHED_REQUESTS_PER_ADDRESS_MAX", default_value_t = Limits::UNFINISHED_REQUESTS_PER_ADDRESS_MAX)]
    pub unfinished_requests_per_address_max: usize,

    /// Client addresses each limit per address keeps count of; past it, the counts that
    /// filled up again are forgotten first, then the least recently used.
    #[arg(long, env = "ROUNDTABLE_ADDRESSES_TRACKED_MAX", default_value_t = Limits::ADDRESSES_TRACKED_MAX)]
    pub addresses_tracked_max: usize,
    /// A room stores a new snapshot once the events it logged since the last one add up to this
    /// many times that snapshot's size in bytes (and at least `--snapshot-bytes-min`): what
    /// snapshots write then stays within this multiple of what the log writes.
    #[arg(long, env = "ROUNDTABLE_SNAPSHOT_COST_RATIO", default_value_t = Limits::SNAPSHOT_COST_RATIO,
          value_parser = parse_cost_ratio)]
    pub snapshot_cost_ratio: f64,

    /// Bytes of logged events a room writes at least between two snapshots (unless
    /// `--snapshot-every-events` comes first), so that a small room does not store a snapshot
    /// every few events.
    #[arg(long, env = "ROUNDTABLE_SNAPSHOT_BYTES_MIN", default_value_t = Limits::SNAPSHOT_BYTES_MIN)]
    pub snapshot_bytes_min: u64,
}

/// A `--snapshot-cost-ratio`: a finite number from 0.01 to 1000.
fn parse_cost_ratio(text: &str) -> Result<f64, String> {
    let ratio: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number"))?;
    if !(0.01..=1000.0).contains(&ratio) {
        return Err(format!("{ratio} is outside 0.01..=1000"));
    }
    Ok(ratio)
}

impl Limits {
    pub const FRAME_BYTES_MAX: usize = 16 * 1024;
    pub const REQUESTS_PER_SECOND: u32 = 20;
    pub const MEMBERS_PER_ROOM_MAX: usize = RoomLimits::MEMBERS_PER_ROOM_MAX;
    pub const CONNECTIONS_PER_ROOM_MAX: usize = 200;
    pub const LIVE_ROOMS_MAX: usize = 10_000;
    pub const GROUP_NAME_CHARS_MAX: usize = RoomLimits::GROUP_NAME_CHARS_MAX;
    pub const DISPLAY_NAME_CHARS_MAX: usize = RoomLimits::DISPLAY_NAME_CHARS_MAX;
    pub const SCHEDULE_MOVES_MAX: usize = RoomLimits::SCHEDULE_MOVES_MAX;
    pub const OUTBOUND_QUEUE_MAX: usize = 512;
    pub const RECENT_EVENTS_MAX: usize = 1024;
    pub const REPLAY_EVENTS_MAX: usize = 10_000;
    pub const ERRORS_IN_A_ROW_MAX: u32 = 20;
    pub const JOIN_TIMEOUT_SECONDS: u64 = 10;
    pub const ROOM_IDLE_SECONDS: u64 = 60;
    /// Longer than most reconnections after a server is killed take (BENCHMARKS.md, "A
    /// dropped member's grace").
    pub const PRESENCE_GRACE_MS: u64 = 3_000;
    pub const SNAPSHOT_EVERY_EVENTS: u64 = 5_000;
    pub const SNAPSHOT_COST_RATIO: f64 = 1.0;
    pub const SNAPSHOT_BYTES_MIN: u64 = 64 * 1024;
    pub const ROOM_LEASE_MS: u64 = 1_200;
    pub const LEASE_WAIT_POLL_MS: u64 = 100;
    pub const LEASE_WAIT_MARGIN_MS: u64 = 500;
    pub const LEASE_RENEWAL_BATCH_MAX: usize = 1_000;
    /// Few, so that each room's own pause is short: in a fleet, where the clients stay through
    /// the handover, a room frozen for its handover is what members can notice, and the
    /// handovers share the node's core (BENCHMARKS.md, "A drain that keeps its clients").
    pub const DRAIN_CONCURRENCY: usize = 8;
    pub const DRAIN_RELEASE_PER_SECOND: u32 = 1_000;
    pub const LOG_RETENTION_HOURS: u64 = 30 * 24;
    pub const AGENDA_ITEMS_MAX: usize = FlowLimits::AGENDA_ITEMS_MAX;
    pub const AGENDA_TITLE_CHARS_MAX: usize = FlowLimits::AGENDA_TITLE_CHARS_MAX;
    pub const AGENDA_NOTES_CHARS_MAX: usize = FlowLimits::AGENDA_NOTES_CHARS_MAX;
    pub const AGENDA_PROPOSALS_OPEN_MAX: usize = FlowLimits::AGENDA_PROPOSALS_OPEN_MAX;
    pub const SUGGESTIONS_PER_PROBLEM_MAX: usize = FlowLimits::SUGGESTIONS_PER_PROBLEM_MAX;
    pub const SUGGESTION_CHARS_MAX: usize = FlowLimits::SUGGESTION_CHARS_MAX;
    pub const SPEAKERS_PER_ROUND_MAX: usize = FlowLimits::SPEAKERS_PER_ROUND_MAX;
    pub const CHECK_IN_FIELD_CHARS_MAX: usize = PrepLimits::CHECK_IN_FIELD_CHARS_MAX;
    pub const HOT_SEAT_PROBLEM_CHARS_MAX: usize = PrepLimits::HOT_SEAT_PROBLEM_CHARS_MAX;
    pub const HOT_SEAT_MINUTES_MAX: u32 = PrepLimits::HOT_SEAT_MINUTES_MAX;
    pub const TIME_BOX_SECONDS_MAX: u64 = FlowLimits::TIME_BOX_SECONDS_MAX;
    pub const TIMER_EXTEND_SECONDS_MAX: u64 = FlowLimits::TIMER_EXTEND_SECONDS_MAX;
    pub const WRITE_STALL_SECONDS: u64 = 10;
    pub const REQUEST_HEAD_SECONDS: u64 = 10;
    pub const GROUP_CREATIONS_PER_ADDRESS_BURST: u32 = 5;
    pub const GROUP_CREATIONS_PER_ADDRESS_PER_HOUR: u32 = 10;
    pub const GROUP_CREATIONS_PER_HOUR: u32 = 600;
    pub const ADDRESSES_TRACKED_MAX: usize = 100_000;
    pub const UNJOINED_GROUP_RETENTION_DAYS: u64 = 7;
    pub const CONNECTIONS_PER_MEMBER_MAX: usize = 4;
    pub const UNJOINED_WEBSOCKETS_PER_ADDRESS_MAX: usize = 20;
    pub const JOINS_PER_ADDRESS_PER_MINUTE: u32 = 60;
    pub const UNFINISHED_REQUESTS_PER_ADDRESS_MAX: usize = 16;
    pub const NEW_MEMBERS_PER_MINUTE: u32 = 20;
    pub const WRITES_PER_MEMBER_PER_SECOND: u32 = 20;
    pub const ROOM_STATE_BYTES_MAX: usize = 4 * 1024 * 1024;
    pub const INACTIVE_GROUP_RETENTION_DAYS: u64 = 365;

    /// The limits the room's rules enforce, from these flags.
    pub fn rules(&self) -> RoomLimits {
        RoomLimits {
            members_per_room_max: self.members_per_room_max,
            group_name_chars_max: self.group_name_chars_max,
            display_name_chars_max: self.display_name_chars_max,
            schedule_moves_max: self.schedule_moves_max,
            flow: FlowLimits {
                agenda_items_max: self.agenda_items_max,
                agenda_title_chars_max: self.agenda_title_chars_max,
                agenda_notes_chars_max: self.agenda_notes_chars_max,
                agenda_proposals_open_max: self.agenda_proposals_open_max,
                suggestions_per_problem_max: self.suggestions_per_problem_max,
                suggestion_chars_max: self.suggestion_chars_max,
                speakers_per_round_max: self.speakers_per_round_max,
                time_box_seconds_max: self.time_box_seconds_max,
                timer_extend_seconds_max: self.timer_extend_seconds_max,
            },
            prep: PrepLimits {
                check_in_field_chars_max: self.check_in_field_chars_max,
                hot_seat_problem_chars_max: self.hot_seat_problem_chars_max,
                hot_seat_minutes_max: self.hot_seat_minutes_max,
            },
        }
    }

    pub fn join_timeout(&self) -> Duration {
        Duration::from_secs(self.join_timeout_seconds)
    }

    /// The size past which the WebSocket layer itself cuts a frame off and closes the
    /// connection: frames up to [`Limits::frame_bytes_max`] get a typed `too_large` error, and
    /// those up to four times that are still read to say so.
    pub fn frame_bytes_hard_max(&self) -> usize {
        self.frame_bytes_max * 4
    }

    pub fn room_idle(&self) -> Duration {
        Duration::from_secs(self.room_idle_seconds)
    }

    pub fn presence_grace(&self) -> Duration {
        Duration::from_millis(self.presence_grace_ms)
    }

    /// How often the process renews its live rooms' leases: a third of the lease, so that two
    /// renewals can fail (a short storage hiccup) before it expires.
    pub fn room_lease_renewal(&self) -> Duration {
        Duration::from_millis((self.room_lease_ms / 3).max(1))
    }

    /// The longest a join waits for another process's lease to expire: the longest the lease
    /// can still run, plus the margin.
    pub fn lease_wait(&self) -> Duration {
        Duration::from_millis(self.room_lease_ms.saturating_add(self.lease_wait_margin_ms))
    }

    /// Time between two tries of a join that waits for another process's lease.
    pub fn lease_wait_poll(&self) -> Duration {
        Duration::from_millis(self.lease_wait_poll_ms.max(1))
    }

    /// The longest a connection's socket may take no byte of a pending write.
    pub fn write_stall(&self) -> Duration {
        Duration::from_secs(self.write_stall_seconds)
    }

    /// The longest a request's head may take to arrive.
    pub fn request_head(&self) -> Duration {
        Duration::from_secs(self.request_head_seconds)
    }
    /// The retention of groups nobody joined, in ms; `None` keeps them.
    pub fn unjoined_group_retention_ms(&self) -> Option<u64> {
        days_ms(self.unjoined_group_retention_days)
    }

    /// The retention of groups nobody joins any more, in ms; `None` keeps them.
    pub fn inactive_group_retention_ms(&self) -> Option<u64> {
        days_ms(self.inactive_group_retention_days)
    }

    /// Bytes of events logged since a snapshot of `snapshot_bytes` after which the next is due.
    pub fn snapshot_due_bytes(&self, snapshot_bytes: u64) -> u64 {
        let by_cost = (snapshot_bytes as f64 * self.snapshot_cost_ratio) as u64;
        by_cost.max(self.snapshot_bytes_min)
    }

    pub fn log_retention_ms(&self) -> u64 {
        self.log_retention_hours.saturating_mul(60 * 60 * 1000)
    }
}

fn days_ms(days: u64) -> Option<u64> {
    (days > 0).then(|| days.saturating_mul(24 * 60 * 60 * 1000))
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            frame_bytes_max: Self::FRAME_BYTES_MAX,
            requests_per_second: Self::REQUESTS_PER_SECOND,
            members_per_room_max: Self::MEMBERS_PER_ROOM_MAX,
            connections_per_room_max: Self::CONNECTIONS_PER_ROOM_MAX,
            live_rooms_max: Self::LIVE_ROOMS_MAX,
            group_name_chars_max: Self::GROUP_NAME_CHARS_MAX,
            display_name_chars_max: Self::DISPLAY_NAME_CHARS_MAX,
            schedule_moves_max: Self::SCHEDULE_MOVES_MAX,
            outbound_queue_max: Self::OUTBOUND_QUEUE_MAX,
            recent_events_max: Self::RECENT_EVENTS_MAX,
            replay_events_max: Self::REPLAY_EVENTS_MAX,
            errors_in_a_row_max: Self::ERRORS_IN_A_ROW_MAX,
            join_timeout_seconds: Self::JOIN_TIMEOUT_SECONDS,
            room_idle_seconds: Self::ROOM_IDLE_SECONDS,
            presence_grace_ms: Self::PRESENCE_GRACE_MS,
            snapshot_every_events: Self::SNAPSHOT_EVERY_EVENTS,
            room_lease_ms: Self::ROOM_LEASE_MS,
            lease_wait_poll_ms: Self::LEASE_WAIT_POLL_MS,
            lease_wait_margin_ms: Self::LEASE_WAIT_MARGIN_MS,
            lease_renewal_batch_max: Self::LEASE_RENEWAL_BATCH_MAX,
            drain_concurrency: Self::DRAIN_CONCURRENCY,
            drain_release_per_second: Self::DRAIN_RELEASE_PER_SECOND,
            log_retention_hours: Self::LOG_RETENTION_HOURS,
            agenda_items_max: Self::AGENDA_ITEMS_MAX,
            agenda_title_chars_max: Self::AGENDA_TITLE_CHARS_MAX,
            agenda_notes_chars_max: Self::AGENDA_NOTES_CHARS_MAX,
            agenda_proposals_open_max: Self::AGENDA_PROPOSALS_OPEN_MAX,
            suggestions_per_problem_max: Self::SUGGESTIONS_PER_PROBLEM_MAX,
            suggestion_chars_max: Self::SUGGESTION_CHARS_MAX,
            speakers_per_round_max: Self::SPEAKERS_PER_ROUND_MAX,
            check_in_field_chars_max: Self::CHECK_IN_FIELD_CHARS_MAX,
            hot_seat_problem_chars_max: Self::HOT_SEAT_PROBLEM_CHARS_MAX,
            hot_seat_minutes_max: Self::HOT_SEAT_MINUTES_MAX,
            time_box_seconds_max: Self::TIME_BOX_SECONDS_MAX,
            timer_extend_seconds_max: Self::TIMER_EXTEND_SECONDS_MAX,
            write_stall_seconds: Self::WRITE_STALL_SECONDS,
            request_head_seconds: Self::REQUEST_HEAD_SECONDS,
            group_creations_per_address_burst: Self::GROUP_CREATIONS_PER_ADDRESS_BURST,
            group_creations_per_address_per_hour: Self::GROUP_CREATIONS_PER_ADDRESS_PER_HOUR,
            group_creations_per_hour: Self::GROUP_CREATIONS_PER_HOUR,
            addresses_tracked_max: Self::ADDRESSES_TRACKED_MAX,
            unjoined_group_retention_days: Self::UNJOINED_GROUP_RETENTION_DAYS,
            connections_per_member_max: Self::CONNECTIONS_PER_MEMBER_MAX,
            unjoined_websockets_per_address_max: Self::UNJOINED_WEBSOCKETS_PER_ADDRESS_MAX,
            joins_per_address_per_minute: Self::JOINS_PER_ADDRESS_PER_MINUTE,
            unfinished_requests_per_address_max: Self::UNFINISHED_REQUESTS_PER_ADDRESS_MAX,
            new_members_per_minute: Self::NEW_MEMBERS_PER_MINUTE,
            writes_per_member_per_second: Self::WRITES_PER_MEMBER_PER_SECOND,
            room_state_bytes_max: Self::ROOM_STATE_BYTES_MAX,
            inactive_group_retention_days: Self::INACTIVE_GROUP_RETENTION_DAYS,
            snapshot_cost_ratio: Self::SNAPSHOT_COST_RATIO,
            snapshot_bytes_min: Self::SNAPSHOT_BYTES_MIN,
        }
    }
}
