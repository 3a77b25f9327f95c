// Generated from the roundtable-protocol crate by protocol/tests/typescript_bindings.rs.
// Do not edit by hand: run `UPDATE_BINDINGS=1 cargo test -p roundtable-protocol --test typescript_bindings`.

export type GroupId = string;

export type MeetingId = string;

export type MemberId = string;

export type ClientFrame = { 
/**
 * Protocol version; must equal [`PROTOCOL_VERSION`].
 */
v: number, 
/**
 * Client-chosen id, echoed in the single ack or error that answers this frame.
 */
id: number, } & ({ "type": "join", group_id: GroupId, credential: Credential, 
/**
 * Where the client left off, to receive exactly the events it missed.
 */
resume?: ResumePoint | null, } | { "type": "ping", 
/**
 * The client's own clock when it sent the ping.
 */
client_time_ms: number, } | { "type": "rename_group", name: string, } | { "type": "remove_member", member_id: MemberId, } | { "type": "set_role", member_id: MemberId, role: Role, } | { "type": "hand_over_facilitator", member_id: MemberId, } | { "type": "raise_hand" } | { "type": "lower_hand" });

export type Request = { "type": "join", group_id: GroupId, credential: Credential, 
/**
 * Where the client left off, to receive exactly the events it missed.
 */
resume?: ResumePoint | null, } | { "type": "ping", 
/**
 * The client's own clock when it sent the ping.
 */
client_time_ms: number, } | { "type": "rename_group", name: string, } | { "type": "remove_member", member_id: MemberId, } | { "type": "set_role", member_id: MemberId, role: Role, } | { "type": "hand_over_facilitator", member_id: MemberId, } | { "type": "raise_hand" } | { "type": "lower_hand" };

export type Credential = { "kind": "facilitator", secret: string, display_name: string, member_token?: string | null, } | { "kind": "invite", secret: string, display_name: string, observer?: boolean, } | { "kind": "member_token", token: string, };

export type ResumePoint = { meeting_id: MeetingId, seq: number, };

export type Role = "facilitator" | "member" | "observer";

export type ServerMessage = { "type": "hello" } & Hello | { "type": "ack", id: number, result: Reply, } | { "type": "error", id?: number | null, code: ErrorCode, message: string, } | { "type": "snapshot" } & Snapshot | { "type": "event" } & EventFrame | { "type": "closing", reason: CloseReason, message: string, };

export type Hello = { v: number, server_time_ms: number, limits: LimitsInfo, };

export type LimitsInfo = { 
/**
 * Largest accepted frame, in bytes.
 */
frame_bytes_max: number, 
/**
 * Sustained requests per second per connection (bursts of twice this pass).
 */
requests_per_second: number, 
/**
 * Longest display name, in characters.
 */
display_name_chars_max: number, 
/**
 * Longest group name, in characters.
 */
group_name_chars_max: number, };

export type Reply = { "kind": "done" } | { "kind": "joined" } & Joined | { "kind": "pong", client_time_ms: number, server_time_ms: number, };

export type Joined = { member_id: MemberId, role: Role, meeting_id: MeetingId, 
/**
 * Present when the server issued a new member token: keep it to rejoin as the same member.
 */
member_token?: string | null, 
/**
 * How the client catches up: the missed events follow, or a fresh snapshot follows.
 */
catch_up: CatchUp, };

export type CatchUp = "snapshot" | "replay";

export type Snapshot = { 
/**
 * The seq of the last event included; events that follow have a higher seq.
 */
seq: number, group: GroupInfo, meeting: MeetingInfo, 
/**
 * Current members of the group (removed members are gone), in the order they joined.
 */
members: Array<MemberInfo>, 
/**
 * The speaker queue: members with a raised hand, first raised first.
 */
hands: Array<MemberId>, };

export type GroupInfo = { group_id: GroupId, name: string, };

export type MeetingInfo = { meeting_id: MeetingId, 
/**
 * 1 for the group's first meeting, then counting up.
 */
number: number, started_at_ms: number, };

export type MemberInfo = { member_id: MemberId, display_name: string, role: Role, 
/**
 * Whether at least one connection of this member is in the room now.
 */
online: boolean, };

export type EventFrame = { seq: number, 
/**
 * When the server recorded the event.
 */
at_ms: number, event: Event, };

export type Event = { "kind": "member_added", member: MemberInfo, } | { "kind": "presence_changed", member_id: MemberId, online: boolean, reason: PresenceReason, } | { "kind": "group_renamed", name: string, } | { "kind": "member_removed", member_id: MemberId, } | { "kind": "role_changed", member_id: MemberId, role: Role, } | { "kind": "hand_raised", member_id: MemberId, } | { "kind": "hand_lowered", member_id: MemberId, };

export type PresenceReason = "joined" | "left" | "connection_lost" | "removed" | "server_restart";

export type CloseReason = "slow_consumer" | "server_shutdown" | "removed" | "policy_violation" | "join_timeout" | "unsupported_version" | "room_moved";

export type ErrorCode = "unsupported_version" | "invalid" | "unknown_type" | "too_large" | "rate_limited" | "not_joined" | "already_joined" | "unauthorized" | "forbidden" | "not_found" | "conflict" | "room_full" | "server_busy" | "storage_unavailable" | "room_elsewhere" | "shutting_down" | "internal";

export type CreateGroupRequest = { name: string, };

export type CreateGroupResponse = { group_id: GroupId, meeting_id: MeetingId, 
/**
 * Open to run the meeting as facilitator. Keep it private.
 */
facilitator_url: string, 
/**
 * Share with the members of the group.
 */
invite_url: string, };

export type HttpError = { error: ErrorBody, };

export type ErrorBody = { code: ErrorCode, message: string, };

export type Health = { status: string, version: string, protocol: number, live_rooms: number, connections: number, };
