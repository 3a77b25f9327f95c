// Generated from the roundtable-protocol crate by protocol/tests/typescript_bindings.rs.
// Do not edit by hand: run `UPDATE_BINDINGS=1 cargo test -p roundtable-protocol --test typescript_bindings`.

export type GroupId = string;

export type MeetingId = string;

export type MemberId = string;

export type RolePlayId = string;

export type LogEpoch = string;

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
client_time_ms: number, } | { "type": "set_time_zone", time_zone: string, } | { "type": "set_call_link", url: string | null, } | { "type": "rename_group", name: string, } | { "type": "remove_member", member_id: MemberId, } | { "type": "set_role", member_id: MemberId, role: Role, } | { "type": "hand_over_facilitator", member_id: MemberId, } | { "type": "raise_hand" } | { "type": "lower_hand" } | { "type": "add_commitment", text: string, owner?: MemberId | null, due_meeting?: number | null, due_date?: string | null, } | { "type": "update_commitment", commitment_id: number, status: CommitmentStatus, note?: string | null, } | { "type": "set_metrics", metrics: Array<Metric>, } | { "type": "submit_numbers", values: { [key in string]: number }, sharing: Sharing, } | { "type": "get_my_benchmarks" } | { "type": "post_practice", title: string, description: string, tags: Array<string>, outcome: PracticeOutcome, } | { "type": "upvote_practice", practice_id: number, up: boolean, } | { "type": "comment_on_practice", practice_id: number, text: string, } | { "type": "start_next_meeting" } | { "type": "start_meeting" } | { "type": "search_practices", text: string, tag?: string | null, } | { "type": "role_play", action: RolePlayRequest, } | { "type": "add_agenda_item", item: AgendaItemDraft, position?: number | null, } | { "type": "edit_agenda_item", item_id: number, item: AgendaItemDraft, } | { "type": "remove_agenda_item", item_id: number, } | { "type": "reorder_agenda", order: Array<number>, } | { "type": "set_current_agenda_item", item_id: number, } | { "type": "mark_agenda_item_done", item_id: number, } | { "type": "next_agenda_item" } | { "type": "previous_agenda_item" } | { "type": "end_meeting" } | { "type": "propose_agenda_item", item: AgendaItemDraft, } | { "type": "accept_proposal", proposal_id: number, position?: number | null, } | { "type": "decline_proposal", proposal_id: number, } | { "type": "save_agenda_as_template" } | { "type": "start_round", speaker_time_box_ms: number, auto_advance: boolean, speakers?: Array<MemberId> | null, item_id?: number | null, } | { "type": "reorder_speakers", order: Array<MemberId>, } | { "type": "shuffle_speakers" } | { "type": "next_speaker" } | { "type": "skip_speaker", member_id?: MemberId | null, } | { "type": "previous_speaker" } | { "type": "restore_speaker", member_id: MemberId, } | { "type": "end_round" } | { "type": "set_auto_advance", auto_advance: boolean, } | { "type": "pause_timer" } | { "type": "resume_timer" } | { "type": "extend_timer", delta_ms: number, } | { "type": "call_next_speaker", time_box_ms?: number | null, member_id?: MemberId | null, } | { "type": "end_turn" } | { "type": "clear_hands" } | { "type": "lower_hand_of", member_id: MemberId, } | { "type": "start_problem_phase", item_id: number, phase: ProblemPhase, time_box_ms?: number | null, } | { "type": "add_suggestion", item_id: number, text: string, } | { "type": "choose_suggestions", item_id: number, choices?: Array<SuggestionChoice> | null, suggestion_ids?: Array<number> | null, } | { "type": "react", reaction: Reaction, } | { "type": "vote_suggestion", item_id: number, suggestion_id: number, vote: boolean, } | { "type": "rotate_link", link: LinkKind, } | { "type": "list_sessions" } | { "type": "revoke_session", member_id: MemberId, session_id: number, } | { "type": "delete_group", confirm_name: string, } | { "type": "leave_group", commitments: ErasureChoice, numbers: ErasureChoice, practices: ErasureChoice, } | { "type": "get_my_history" } | { "type": "set_schedule", schedule: ScheduleDraft | null, } | { "type": "move_meeting", occurrence: string, to: string, } | { "type": "clear_move", occurrence: string, } | { "type": "get_next_meeting" } | { "type": "renew_calendar_feed" } | { "type": "revoke_calendar_feed", member_id?: MemberId | null, } | { "type": "save_check_in", win: string, challenge: string, ask: string, } | { "type": "request_hot_seat", problem: string, priority: HotSeatPriority, minutes: number, } | { "type": "withdraw_hot_seat" } | { "type": "withdraw_report_back", commitment_id: number, });

export type Request = { "type": "join", group_id: GroupId, credential: Credential, 
/**
 * Where the client left off, to receive exactly the events it missed.
 */
resume?: ResumePoint | null, } | { "type": "ping", 
/**
 * The client's own clock when it sent the ping.
 */
client_time_ms: number, } | { "type": "set_time_zone", time_zone: string, } | { "type": "set_call_link", url: string | null, } | { "type": "rename_group", name: string, } | { "type": "remove_member", member_id: MemberId, } | { "type": "set_role", member_id: MemberId, role: Role, } | { "type": "hand_over_facilitator", member_id: MemberId, } | { "type": "raise_hand" } | { "type": "lower_hand" } | { "type": "add_commitment", text: string, owner?: MemberId | null, due_meeting?: number | null, due_date?: string | null, } | { "type": "update_commitment", commitment_id: number, status: CommitmentStatus, note?: string | null, } | { "type": "set_metrics", metrics: Array<Metric>, } | { "type": "submit_numbers", values: { [key in string]: number }, sharing: Sharing, } | { "type": "get_my_benchmarks" } | { "type": "post_practice", title: string, description: string, tags: Array<string>, outcome: PracticeOutcome, } | { "type": "upvote_practice", practice_id: number, up: boolean, } | { "type": "comment_on_practice", practice_id: number, text: string, } | { "type": "start_next_meeting" } | { "type": "start_meeting" } | { "type": "search_practices", text: string, tag?: string | null, } | { "type": "role_play", action: RolePlayRequest, } | { "type": "add_agenda_item", item: AgendaItemDraft, position?: number | null, } | { "type": "edit_agenda_item", item_id: number, item: AgendaItemDraft, } | { "type": "remove_agenda_item", item_id: number, } | { "type": "reorder_agenda", order: Array<number>, } | { "type": "set_current_agenda_item", item_id: number, } | { "type": "mark_agenda_item_done", item_id: number, } | { "type": "next_agenda_item" } | { "type": "previous_agenda_item" } | { "type": "end_meeting" } | { "type": "propose_agenda_item", item: AgendaItemDraft, } | { "type": "accept_proposal", proposal_id: number, position?: number | null, } | { "type": "decline_proposal", proposal_id: number, } | { "type": "save_agenda_as_template" } | { "type": "start_round", speaker_time_box_ms: number, auto_advance: boolean, speakers?: Array<MemberId> | null, item_id?: number | null, } | { "type": "reorder_speakers", order: Array<MemberId>, } | { "type": "shuffle_speakers" } | { "type": "next_speaker" } | { "type": "skip_speaker", member_id?: MemberId | null, } | { "type": "previous_speaker" } | { "type": "restore_speaker", member_id: MemberId, } | { "type": "end_round" } | { "type": "set_auto_advance", auto_advance: boolean, } | { "type": "pause_timer" } | { "type": "resume_timer" } | { "type": "extend_timer", delta_ms: number, } | { "type": "call_next_speaker", time_box_ms?: number | null, member_id?: MemberId | null, } | { "type": "end_turn" } | { "type": "clear_hands" } | { "type": "lower_hand_of", member_id: MemberId, } | { "type": "start_problem_phase", item_id: number, phase: ProblemPhase, time_box_ms?: number | null, } | { "type": "add_suggestion", item_id: number, text: string, } | { "type": "choose_suggestions", item_id: number, choices?: Array<SuggestionChoice> | null, suggestion_ids?: Array<number> | null, } | { "type": "react", reaction: Reaction, } | { "type": "vote_suggestion", item_id: number, suggestion_id: number, vote: boolean, } | { "type": "rotate_link", link: LinkKind, } | { "type": "list_sessions" } | { "type": "revoke_session", member_id: MemberId, session_id: number, } | { "type": "delete_group", confirm_name: string, } | { "type": "leave_group", commitments: ErasureChoice, numbers: ErasureChoice, practices: ErasureChoice, } | { "type": "get_my_history" } | { "type": "set_schedule", schedule: ScheduleDraft | null, } | { "type": "move_meeting", occurrence: string, to: string, } | { "type": "clear_move", occurrence: string, } | { "type": "get_next_meeting" } | { "type": "renew_calendar_feed" } | { "type": "revoke_calendar_feed", member_id?: MemberId | null, } | { "type": "save_check_in", win: string, challenge: string, ask: string, } | { "type": "request_hot_seat", problem: string, priority: HotSeatPriority, minutes: number, } | { "type": "withdraw_hot_seat" } | { "type": "withdraw_report_back", commitment_id: number, };

export type Credential = { "kind": "facilitator", secret: string, display_name: string, member_token?: string | null, } | { "kind": "invite", secret: string, display_name: string, observer?: boolean, } | { "kind": "member_token", token: string, };

export type ResumePoint = { meeting_id: MeetingId, seq: number, 
/**
 * The log epoch of the join that gave the client its state (`Joined::log_epoch`). A resume
 * without one, or from an epoch the room does not hold, is answered with a snapshot.
 */
log_epoch?: LogEpoch | null, };

export type Role = "facilitator" | "member" | "observer";

export type ServerMessage = { "type": "hello" } & Hello | { "type": "ack", id: number, result: Reply, } | { "type": "error", id?: number | null, code: ErrorCode, message: string, } | { "type": "snapshot" } & Snapshot | { "type": "event" } & EventFrame | { "type": "closing", reason: CloseReason, message: string, } | { "type": "reaction" } & ReactionFrame | { "type": "presence" } & PresenceFrame;

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

export type Reply = { "kind": "done" } | { "kind": "joined" } & Joined | { "kind": "pong", client_time_ms: number, server_time_ms: number, } | { "kind": "created", id: number, } | { "kind": "my_benchmarks" } & MyBenchmarks | { "kind": "practices", practices: Array<Practice>, total_matches: number, } | { "kind": "link_rotated", link: LinkKind, version: number, url: string, } | { "kind": "sessions", sessions: Array<SessionInfo>, } | { "kind": "my_history" } & MyHistory | { "kind": "next_meeting", next_meeting: NextMeeting | null, } | { "kind": "calendar_feed", url: string, };

export type Joined = { member_id: MemberId, role: Role, meeting_id: MeetingId, 
/**
 * Present when the server issued a new member token: keep it to rejoin as the same member.
 */
member_token?: string | null, 
/**
 * How the client catches up: the missed events follow, or a fresh snapshot follows.
 */
catch_up: CatchUp, 
/**
 * The room's log epoch: keep it with the seq of the events applied and send both back in
 * the next join's `resume`. Seqs mean the same history only within one epoch.
 */
log_epoch: LogEpoch, };

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
hands: Array<MemberId>, 
/**
 * The commitment board: every open commitment and those resolved in recent meetings.
 */
commitments: Array<Commitment>, 
/**
 * Per member, how they keep their commitments.
 */
accountability: Array<MemberAccountability>, 
/**
 * This meeting's benchmarks as everyone sees them.
 */
benchmarks: BenchmarkView, 
/**
 * The newest practices of the library (search for older ones).
 */
practices: Array<Practice>, 
/**
 * Practices in the library in all.
 */
practice_count: number, 
/**
 * Role play and scoring, as this member sees it.
 */
role_play: RolePlayView, flow: FlowInfo, 
/**
 * Members who have a calendar feed turned on.
 */
calendar_feeds?: Array<MemberId>, 
/**
 * Prep for this meeting, as this member sees it (their own prep, how many prepared, and
 * once the meeting started everyone's check-ins and the ranked hot-seat requests); absent
 * when there is nothing to say (prep closed, nothing prepared).
 */
prep?: PrepView, };

export type GroupInfo = { group_id: GroupId, name: string, 
/**
 * The time zone the group's minutes are written in (an IANA name); UTC when absent.
 */
time_zone?: string | null, 
/**
 * The group's video call link (https), which everyone can open from the room; absent
 * when none is set.
 */
call_url?: string | null, 
/**
 * The current version of each link, so a facilitator's page knows whether a link it
 * remembers still works. Never a secret.
 */
links?: LinkVersions, 
/**
 * When the group meets; absent when no schedule is set.
 */
schedule?: Schedule | null, };

export type MeetingInfo = { meeting_id: MeetingId, 
/**
 * 1 for the group's first meeting, then counting up.
 */
number: number, 
/**
 * When the meeting went live; while it is upcoming, when it became the group's current
 * meeting (the group was created or the previous meeting ended).
 */
started_at_ms: number, 
/**
 * Upcoming (prep open, the lobby) or live (the facilitator started it). Ended meetings
 * are the past meetings' minutes.
 */
phase: MeetingPhase, };

export type MeetingPhase = "upcoming" | "live";

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

export type Event = { "kind": "member_added", member: MemberInfo, } | { "kind": "presence_changed", member_id: MemberId, online: boolean, reason: PresenceReason, } | { "kind": "group_renamed", name: string, } | { "kind": "time_zone_set", time_zone: string, } | { "kind": "call_link_set", url: string | null, } | { "kind": "member_removed", member_id: MemberId, } | { "kind": "role_changed", member_id: MemberId, role: Role, } | { "kind": "hand_raised", member_id: MemberId, } | { "kind": "hand_lowered", member_id: MemberId, } | { "kind": "commitment_added", commitment: Commitment, owner_accountability: MemberAccountability, } | { "kind": "commitment_updated", commitment: Commitment, owner_accountability: MemberAccountability, } | { "kind": "benchmarks_changed", view: BenchmarkView, } | { "kind": "practice_posted", practice: Practice, } | { "kind": "practice_upvoted", practice_id: number, member_id: MemberId, up: boolean, } | { "kind": "practice_commented", practice_id: number, comment: PracticeComment, } | { "kind": "next_meeting_started", meeting: MeetingInfo, } | { "kind": "meeting_started", started_at_ms: number, } | { "kind": "next_meeting_opened", meeting: MeetingInfo, } | { "kind": "role_play", change: RolePlayEvent, } | { "kind": "agenda_item_added", item: AgendaItem, position: number, } | { "kind": "agenda_item_edited", item: AgendaItem, } | { "kind": "agenda_item_removed", item_id: number, } | { "kind": "agenda_reordered", order: Array<number>, } | { "kind": "agenda_item_status_changed", item_id: number, status: AgendaItemStatus, } | { "kind": "agenda_item_proposed", proposal: Proposal, } | { "kind": "proposal_closed", proposal_id: number, accepted: boolean, } | { "kind": "agenda_template_saved", items: Array<TemplateItem>, } | { "kind": "round_started", round: RoundInfo, } | { "kind": "round_speakers_reordered", order: Array<MemberId>, } | { "kind": "round_speaker_changed", member_id: MemberId, status: SpeakerStatus, } | { "kind": "round_auto_advance_set", auto_advance: boolean, } | { "kind": "round_ended" } | { "kind": "meeting_ended" } | { "kind": "timer_set", timer: TimerInfo | null, } | { "kind": "time_up", subject: TimerSubject, deadline_ms: number, } | { "kind": "turn_ended", member_id: MemberId, talk_ms: number, time_box_ms?: number | null, in_round: boolean, } | { "kind": "floor_given", floor: FloorInfo | null, } | { "kind": "problem_phase_started", item_id: number, presenter: MemberId, phase: ProblemPhase, } | { "kind": "suggestion_added", item_id: number, suggestion: Suggestion, } | { "kind": "suggestions_chosen", item_id: number, suggestion_ids: Array<number>, } | { "kind": "suggestion_votes_counted", item_id: number, suggestion_id: number, votes: number, } | { "kind": "your_vote_set", item_id: number, suggestion_id: number, voted: boolean, } | { "kind": "link_rotated", link: LinkKind, version: number, } | { "kind": "session_revoked", member_id: MemberId, session_id: number, } | { "kind": "session_started", member_id: MemberId, session_id: number, } | { "kind": "member_erased", member_id: MemberId, } | { "kind": "schedule_set", schedule: Schedule | null, } | { "kind": "calendar_feed_changed", member_id: MemberId, active: boolean, } | { "kind": "check_in_saved", member_id: MemberId, check_in: CheckIn, } | { "kind": "hot_seat_saved", member_id: MemberId, hot_seat: RankedHotSeat | null, } | { "kind": "prepared_count_changed", prepared: number, } | { "kind": "prep_revealed", check_ins: Array<MemberCheckIn>, hot_seat: Array<RankedHotSeat>, benchmarks: BenchmarkView, } | { "kind": "member_attended", member_id: MemberId, } | { "kind": "report_back_held", member_id: MemberId, commitment_id: number, report_back: ReportBack | null, };

export type PresenceReason = "joined" | "left" | "connection_lost" | "removed" | "server_restart";

export type CloseReason = "slow_consumer" | "server_shutdown" | "removed" | "policy_violation" | "join_timeout" | "unsupported_version" | "room_moved" | "session_revoked" | "group_deleted" | "left" | "draining";

export type ErrorCode = "unsupported_version" | "invalid" | "unknown_type" | "too_large" | "rate_limited" | "not_joined" | "already_joined" | "unauthorized" | "forbidden" | "not_found" | "conflict" | "room_full" | "server_busy" | "storage_unavailable" | "room_elsewhere" | "shutting_down" | "internal" | "limit_reached" | "meeting_not_live" | "connection_lost";

export type CreateGroupRequest = { name: string, 
/**
 * The group's time zone, an IANA name (the creating browser's); UTC when absent.
 */
time_zone?: string | null, };

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

export type Commitment = { commitment_id: number, 
/**
 * Whose commitment it is.
 */
owner: MemberId, text: string, 
/**
 * The meeting number at which it is due (the next meeting unless said otherwise).
 */
due_meeting: number, 
/**
 * An optional calendar date, `YYYY-MM-DD`.
 */
due_date?: string | null, status: CommitmentStatus, 
/**
 * Why it is partial, missed or dropped, or how it went.
 */
note: string, 
/**
 * The meeting number it was made in.
 */
made_in_meeting: number, source: CommitmentSource, created_at_ms: number, updated_at_ms: number, };

export type CommitmentStatus = "open" | "done" | "partial" | "missed" | "dropped";

export type CommitmentSource = { "kind": "own" } | { "kind": "facilitator", by: MemberId, } | { "kind": "problem" };

export type MemberAccountability = { member_id: MemberId, 
/**
 * Done counts 1, partial one half, missed 0, over commitments due in the last
 * `meetings_counted` meetings and resolved; `None` before any such commitment.
 */
completion_rate_percent: number | null, 
/**
 * Resolved commitments counted in the rate.
 */
resolved_count: number, 
/**
 * Commitments done in a row, most recent first, up to the first partial or missed.
 */
streak: number, 
/**
 * Open commitments due at or before the current meeting.
 */
overdue_count: number, meetings_counted: number, };

export type Metric = { 
/**
 * A short stable key: lowercase letters, digits and underscores.
 */
key: string, name: string, 
/**
 * What one unit is, e.g. "calls" or "USD".
 */
unit: string, };

export type Sharing = "named" | "anonymous";

export type Quartiles = { q1: number, median: number, q3: number, };

export type NamedValue = { member_id: MemberId, value: number, };

export type MetricView = { key: string, 
/**
 * Members who submitted a value for this metric.
 */
count: number, 
/**
 * Present once the aggregates may be shown (see [`BenchmarkView::aggregates_shown`]).
 */
quartiles?: Quartiles | null, 
/**
 * Values of members who share by name.
 */
named: Array<NamedValue>, };

export type RatioView = { numerator: string, denominator: string, count: number, median?: number | null, };

export type BenchmarkView = { metrics: Array<Metric>, submitted_count: number, 
/**
 * Aggregates are shown once at least three members submitted and, if any of them shares
 * anonymously, at least three do (one or two could be worked out).
 */
aggregates_shown: boolean, per_metric: Array<MetricView>, ratios: Array<RatioView>, };

export type MyBenchmarks = { 
/**
 * This meeting's numbers, if submitted.
 */
current?: MySubmission | null, 
/**
 * Per metric key, the share of submitted values below the member's (0 to 100), when
 * aggregates are shown; the others' anonymous values count by range.
 */
percentile_by_metric: { [key in string]: number }, 
/**
 * Past meetings, oldest first: the member's numbers (if any) and the group medians.
 */
trend: Array<TrendPoint>, };

export type MySubmission = { values: { [key in string]: number }, sharing: Sharing, };

export type TrendPoint = { meeting_number: number, mine: { [key in string]: number }, 
/**
 * Group medians of the metrics whose aggregates were shown that meeting.
 */
group_median: { [key in string]: number }, };

export type PracticeOutcome = "worked" | "did_not_work";

export type Practice = { practice_id: number, title: string, description: string, 
/**
 * Lowercase tags, e.g. "discovery", "lead-source".
 */
tags: Array<string>, outcome: PracticeOutcome, author: MemberId, 
/**
 * The meeting it was shared in.
 */
meeting_id: MeetingId, meeting_number: number, created_at_ms: number, 
/**
 * Members who upvoted it.
 */
upvoters: Array<MemberId>, comments: Array<PracticeComment>, };

export type PracticeComment = { author: MemberId, text: string, at_ms: number, };

export type Minutes = { group_name: string, meeting_id: MeetingId, meeting_number: number, started_at_ms: number, 
/**
 * When a facilitator ended the meeting (or started the next one without ending it first);
 * `None` while it goes on.
 */
ended_at_ms?: number | null, 
/**
 * The group's time zone when the minutes were written (an IANA name); the Markdown gives
 * times in it. UTC when absent.
 */
time_zone?: string | null, 
/**
 * Members who were in the room at some point, in the order they first came.
 */
attendees: Array<Attendee>, 
/**
 * The agenda with each item's outcome; problem items carry their suggestions and the
 * presenter's choice.
 */
agenda: Array<AgendaItem>, 
/**
 * Each member's talk time in this meeting's rounds and turns.
 */
talk_times: Array<TalkTime>, 
/**
 * Role plays revealed in this meeting: aggregates and anonymous comments only.
 */
role_plays: Array<RolePlayResults>, 
/**
 * Commitments made in this meeting.
 */
commitments_made: Array<Commitment>, 
/**
 * Commitments that were due at this meeting, with the status they were reported with.
 */
commitments_reported: Array<Commitment>, 
/**
 * This meeting's benchmarks as the group saw them.
 */
benchmarks: BenchmarkView, 
/**
 * Practices shared in this meeting.
 */
practices: Array<Practice>, };

export type Attendee = { member_id: MemberId, display_name: string, };

export type MeetingList = { meetings: Array<MeetingSummary>, };

export type MeetingSummary = { meeting_id: MeetingId, number: number, started_at_ms: number, ended_at_ms?: number | null, };

export type Criterion = { name: string, 
/**
 * What a good score looks like, shown to scorers next to the scale.
 */
description: string, scale_min: number, scale_max: number, 
/**
 * Relative weight in the overall score (1 to 100).
 */
weight: number, };

export type Rubric = { name: string, criteria: Array<Criterion>, 
/**
 * Whether the form asks for "one thing to do differently".
 */
one_thing_differently: boolean, };

export type RubricTemplate = { rubric: Rubric, 
/**
 * Built-in templates cannot be replaced or deleted.
 */
built_in: boolean, };

export type RolePlayPhase = "setup" | "scoring" | "closed" | "revealed";

export type RolePlayInfo = { role_play_id: RolePlayId, seller: MemberId, buyer?: MemberId | null, 
/**
 * The situation, visible to everyone.
 */
scenario: string, rubric: Rubric, 
/**
 * The reveal is refused below this many submissions (at least 3).
 */
reveal_threshold: number, phase: RolePlayPhase, 
/**
 * How many members have submitted; never who.
 */
submission_count: number, };

export type RolePlayRequest = { "kind": "set_up", seller: MemberId, buyer?: MemberId | null, scenario: string, 
/**
 * Sent only to the buyer.
 */
buyer_brief?: string | null, rubric: Rubric, 
/**
 * Default 3, never below 2.
 */
reveal_threshold?: number | null, } | { "kind": "open_scoring", role_play_id: RolePlayId, } | { "kind": "submit", role_play_id: RolePlayId, 
/**
 * One score per criterion, in the rubric's order, each within its scale.
 */
scores: Array<number>, comment: string, one_thing_differently?: string | null, } | { "kind": "close_scoring", role_play_id: RolePlayId, } | { "kind": "reveal", role_play_id: RolePlayId, } | { "kind": "cancel", role_play_id: RolePlayId, } | { "kind": "save_template", rubric: Rubric, } | { "kind": "delete_template", name: string, };

export type RolePlayEvent = { "kind": "set_up", role_play: RolePlayInfo, } | { "kind": "buyer_brief", role_play_id: RolePlayId, buyer: MemberId, brief: string, } | { "kind": "scoring_opened", role_play_id: RolePlayId, } | { "kind": "submission_count", role_play_id: RolePlayId, count: number, } | { "kind": "scoring_closed", role_play_id: RolePlayId, } | { "kind": "revealed", results: RolePlayResults, } | { "kind": "cancelled", role_play_id: RolePlayId, } | { "kind": "template_saved", rubric: Rubric, } | { "kind": "template_deleted", name: string, };

export type CriterionResult = { name: string, scale_min: number, scale_max: number, weight: number, mean: number, median: number, min: number, max: number, 
/**
 * How many scorers gave each value, from `scale_min` to `scale_max`.
 */
distribution: Array<number>, };

export type RolePlayResults = { role_play_id: RolePlayId, seller: MemberId, buyer?: MemberId | null, scenario: string, rubric_name: string, meeting_number: number, revealed_at_ms: number, submission_count: number, criteria: Array<CriterionResult>, 
/**
 * The weighted mean of each criterion's mean, each placed on its scale as 0 (lowest) to
 * 100 (highest).
 */
overall_percent: number, 
/**
 * The non-empty comments, shuffled.
 */
comments: Array<string>, 
/**
 * The non-empty "one thing to do differently" answers, shuffled.
 */
one_thing_differently: Array<string>, };

export type SellerTrendPoint = { role_play_id: RolePlayId, meeting_number: number, revealed_at_ms: number, rubric_name: string, overall_percent: number, };

export type SellerTrend = { seller: MemberId, points: Array<SellerTrendPoint>, };

export type RolePlayView = { 
/**
 * The current role play, if one is set up.
 */
current?: RolePlayInfo | null, 
/**
 * Present only in the buyer's own snapshot.
 */
buyer_brief?: string | null, 
/**
 * Results revealed in this group, oldest first (the most recent ones).
 */
revealed: Array<RolePlayResults>, 
/**
 * Built-in templates first, then the group's own.
 */
templates: Array<RubricTemplate>, 
/**
 * Every current member's history as a seller, for members who have been one.
 */
seller_trends: Array<SellerTrend>, 
/**
 * Whether the member this snapshot is for has a submission in the role play being scored
 * (so that after a reload their page says so instead of showing a blank form). Computed
 * for each connection from the member token it joined with, sent only in that
 * connection's own snapshot, never stored: `true` only while scoring is open, the same
 * before and after a server restart (PROTOCOL.md, "Role play and anonymous scoring").
 */
you_submitted: boolean, };

export type AgendaItemKind = "round" | "report_back" | "problem" | "role_play" | "benchmarks" | "best_practices" | "commitments" | "discussion";

export type AgendaItemStatus = "pending" | "current" | "done";

export type AgendaItemOrigin = "template" | "added" | "proposed" | "carried";

export type AgendaItemDraft = { title: string, kind: AgendaItemKind, 
/**
 * The time planned for the item, in milliseconds (more than 0).
 */
time_box_ms: number, 
/**
 * The member who owns the item; for a `problem`, the presenter.
 */
owner?: MemberId | null, notes?: string, };

export type AgendaItem = { item_id: number, title: string, kind: AgendaItemKind, time_box_ms: number, 
/**
 * May name a member who has since left the group.
 */
owner?: MemberId | null, notes?: string, status: AgendaItemStatus, 
/**
 * Time the item was current before, in milliseconds, not counting the stretch since
 * `current_since_ms`. With it, what is left of the time box is
 * `time_box_ms - spent_ms - (now - current_since_ms)`, by the server's clock.
 */
spent_ms?: number, 
/**
 * While the item is current: when it last became current, by the server's clock (the
 * `at_ms` of the `agenda_item_status_changed` frame that made it current).
 */
current_since_ms?: number | null, origin: AgendaItemOrigin, 
/**
 * The bring-a-problem protocol's state, once a `problem` item's first phase started.
 */
problem?: ProblemInfo | null, };

export type Proposal = { proposal_id: number, proposed_by: MemberId, item: AgendaItemDraft, };

export type TemplateItem = { title: string, kind: AgendaItemKind, time_box_ms: number, notes?: string, };

export type ProblemPhase = "present" | "clarify" | "suggest" | "decide";

export type ProblemInfo = { presenter: MemberId, phase: ProblemPhase, suggestions: Array<Suggestion>, 
/**
 * The suggestions the presenter chose to act on, in the order they chose them.
 */
chosen: Array<number>, };

export type Suggestion = { suggestion_id: number, by: MemberId, text: string, };

export type SuggestionChoice = { suggestion_id: number, text?: string | null, };

export type RoundInfo = { 
/**
 * The agenda item the round belongs to, if any.
 */
item_id?: number | null, 
/**
 * Each speaker's time box, in milliseconds.
 */
speaker_time_box_ms: number, 
/**
 * Whether the server moves to the next speaker by itself at time-up.
 */
auto_advance: boolean, 
/**
 * Everyone in the round, in speaking order.
 */
speakers: Array<RoundSpeaker>, };

export type RoundSpeaker = { member_id: MemberId, status: SpeakerStatus, 
/**
 * Time they actually had the floor in this round so far, paused time excluded.
 */
talk_ms: number, };

export type SpeakerStatus = "waiting" | "speaking" | "done" | "skipped";

export type TimerSubject = { "kind": "round_speaker", member_id: MemberId, } | { "kind": "called_speaker", member_id: MemberId, } | { "kind": "problem_phase", item_id: number, phase: ProblemPhase, };

export type TimerInfo = { subject: TimerSubject, 
/**
 * The time box the timer started with, in milliseconds (extensions not included).
 */
time_box_ms: number, state: TimerState, 
/**
 * Whether the deadline has passed and `time_up` was sent for it.
 */
time_up: boolean, };

export type TimerState = { "status": "running", deadline_ms: number, } | { "status": "paused", remaining_ms: number, };

export type FloorInfo = { member_id: MemberId, since_ms: number, 
/**
 * The time box they were given, if any (then the timer runs for them).
 */
time_box_ms?: number | null, };

export type TalkTime = { member_id: MemberId, talk_ms: number, turns: number, 
/**
 * Time talked beyond the time boxes of time-boxed turns.
 */
overrun_ms: number, };

export type FlowInfo = { agenda: Array<AgendaItem>, 
/**
 * Members' proposals waiting for a facilitator.
 */
proposals: Array<Proposal>, 
/**
 * The group's agenda template, from which the next meeting's agenda starts.
 */
agenda_template: Array<TemplateItem>, round?: RoundInfo | null, timer?: TimerInfo | null, floor?: FloorInfo | null, 
/**
 * Talk time per member so far, for members who have had a turn.
 */
talk_times: Array<TalkTime>, 
/**
 * When a facilitator ended this meeting, if they did (see `end_meeting`).
 */
ended_at_ms?: number | null, 
/**
 * Dot votes, per problem item that has any (each member has [`DOTS_PER_PROBLEM`] dots
 * per problem).
 */
votes?: Array<ProblemVotes>, };

export type ProblemVotes = { item_id: number, 
/**
 * The suggestions with at least one dot.
 */
counts: Array<SuggestionVotes>, 
/**
 * The suggestions the viewer put a dot on.
 */
yours: Array<number>, };

export type SuggestionVotes = { suggestion_id: number, votes: number, };

export type Reaction = "applause" | "plus_one" | "laugh" | "idea" | "heart";

export type ReactionFrame = { member_id: MemberId, reaction: Reaction, 
/**
 * When the server received it, by its clock.
 */
at_ms: number, };

export type PresenceFrame = { 
/**
 * Every member online now, in the order they joined the group. A member not listed is
 * offline.
 */
online: Array<MemberId>, 
/**
 * The change this frame announces; none in the frame that ends a catch-up.
 */
change?: PresenceChange, };

export type PresenceChange = { member_id: MemberId, online: boolean, reason: PresenceReason, };

export type LinkKind = "invite" | "facilitator";

export type LinkVersions = { invite: number, facilitator: number, };

export type SessionInfo = { member_id: MemberId, session_id: number, 
/**
 * When the session began (the member's join with a link).
 */
started_at_ms: number, 
/**
 * When a connection of the session last joined or left; now, when one is open.
 */
last_seen_ms: number, 
/**
 * The session's connections open now (tabs, or a reconnecting page).
 */
connections: number, };

export type ErasureChoice = "remove" | "anonymize";

export type MyHistory = { member_id: MemberId, summary: HistorySummary, 
/**
 * The minutes of the kept past meetings held since the member joined, newest first (the
 * same minutes facilitators read; the current meeting is not among them).
 */
meetings: Array<Minutes>, 
/**
 * The member's commitments meeting by meeting.
 */
commitments: CommitmentHistory, 
/**
 * The member's numbers against the group's medians, one entry per current metric.
 */
benchmarks: Array<MetricTrend>, 
/**
 * The revealed role plays where the member was the seller, oldest first.
 */
role_plays: Array<RolePlayScores>, };

export type HistorySummary = { 
/**
 * Meetings held since the member joined among the kept ones (the current one included).
 */
meetings_held: number, 
/**
 * Of those, the meetings the member was in the room for.
 */
meetings_attended: number, 
/**
 * Done counts 1, partial one half, missed 0, over every resolved commitment of the member
 * that the board still keeps; `None` before any.
 */
completion_rate_percent?: number | null, 
/**
 * The rate, streak and overdue count as the board shows them (the recent meetings).
 */
recent: MemberAccountability, };

export type CommitmentHistory = { 
/**
 * One row per meeting from the member's first commitment (or the oldest kept meeting) to
 * the current one, oldest first.
 */
per_meeting: Array<CommitmentMeeting>, 
/**
 * The member's commitments, newest first, at most 100.
 */
commitments: Array<Commitment>, };

export type CommitmentMeeting = { meeting_number: number, 
/**
 * Made in this meeting.
 */
made: number, 
/**
 * Due at this meeting and reported done.
 */
done: number, 
/**
 * Due at this meeting and reported partly done.
 */
partial: number, 
/**
 * Due at this meeting and reported missed.
 */
missed: number, 
/**
 * Due at this meeting and dropped on purpose.
 */
dropped: number, 
/**
 * Due at this (past) meeting and still open: carried on to later meetings.
 */
carried: number, };

export type MetricTrend = { key: string, name: string, unit: string, 
/**
 * Kept past meetings, oldest first, where the member or the group has a value.
 */
points: Array<MetricTrendPoint>, 
/**
 * The member's last value against their one before; `None` with fewer than two.
 */
direction?: TrendDirection | null, };

export type MetricTrendPoint = { meeting_number: number, 
/**
 * The member's own number, whether shared by name or anonymously.
 */
mine?: number | null, 
/**
 * The group's median, when the benchmark rules showed aggregates that meeting.
 */
group_median?: number | null, };

export type TrendDirection = "up" | "down" | "flat";

export type RolePlayScores = { role_play_id: RolePlayId, meeting_number: number, revealed_at_ms: number, scenario: string, rubric_name: string, submission_count: number, overall_percent: number, criteria: Array<CriterionResult>, };

export type Weekday = "monday" | "tuesday" | "wednesday" | "thursday" | "friday" | "saturday" | "sunday";

export type Cadence = { "every": "week", weekday: Weekday, } | { "every": "two_weeks", weekday: Weekday, } | { "every": "month_weekday", week: number, weekday: Weekday, } | { "every": "month_day", day: number, };

export type Schedule = { cadence: Cadence, 
/**
 * The first day the series may meet (`YYYY-MM-DD`, the group's zone): its first meeting
 * is the first day on or after it that fits the cadence.
 */
starts_on: string, 
/**
 * The local start time, `HH:MM`.
 */
start_time: string, 
/**
 * The planned length of a meeting, 15 to 480 minutes.
 */
duration_minutes: number, 
/**
 * The group's time zone (an IANA name) the dates and times are in.
 */
time_zone: string, 
/**
 * Single meetings moved away from their regular time, by date.
 */
moves?: Array<MovedMeeting>, };

export type MovedMeeting = { 
/**
 * The regular date of the moved meeting (`YYYY-MM-DD`).
 */
occurrence: string, 
/**
 * Where it moved to: a local moment `YYYY-MM-DDTHH:MM` in the group's zone.
 */
to: string, };

export type NextMeeting = { 
/**
 * The regular date of this meeting in the series (its id for a move).
 */
occurrence: string, 
/**
 * When it starts and ends.
 */
starts_at_ms: number, ends_at_ms: number, 
/**
 * Its local start in the group's zone, `YYYY-MM-DDTHH:MM`.
 */
local_start: string, time_zone: string, 
/**
 * Whether it was moved from its regular time.
 */
moved: boolean, };

export type ScheduleDraft = { cadence: Cadence, starts_on: string, start_time: string, duration_minutes: number, time_zone: string, };

export type CheckIn = { win: string, challenge: string, 
/**
 * What the member wants from the group.
 */
ask: string, };

export type HotSeatPriority = "a" | "b" | "c";

export type HotSeatRequest = { problem: string, priority: HotSeatPriority, minutes: number, };

export type MemberCheckIn = { member_id: MemberId, check_in: CheckIn, };

export type RankedHotSeat = { member_id: MemberId, request: HotSeatRequest, 
/**
 * When the member first asked (an edit keeps the time; withdrawing and asking again does
 * not).
 */
requested_at_ms: number, };

export type ReportBack = { status: CommitmentStatus, note: string, };

export type HeldReportBack = { commitment_id: number, status: CommitmentStatus, note: string, };

export type MyPrep = { check_in?: CheckIn | null, hot_seat?: RankedHotSeat | null, 
/**
 * The viewer's report backs held until the start, by commitment id. Empty once the
 * meeting started (they are on the board then).
 */
report_backs?: Array<HeldReportBack>, };

export type PrepView = { 
/**
 * Members may prepare now: the meeting is upcoming. False once it started (and while no
 * meeting is upcoming).
 */
open: boolean, 
/**
 * How many current members have a saved check-in for this meeting (a member counts as
 * prepared once their check-in is saved; a hot-seat request, numbers or report-backs
 * alone do not count). The group's size is the members' count.
 */
prepared: number, 
/**
 * The viewer's own check-in, hot-seat request and held report backs.
 */
mine: MyPrep, 
/**
 * Once the meeting started: every member's check-in, in the members' order. Empty before.
 */
check_ins?: Array<MemberCheckIn>, 
/**
 * Once the meeting started: the hot-seat requests, ranked. Empty before.
 */
hot_seat?: Array<RankedHotSeat>, };
