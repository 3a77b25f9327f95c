//! Joining and membership: who may join with which link, a member's token, a meeting's attendance,
//! and the facilitators' changes to the group and its members.

use roundtable_protocol::{self as wire, Credential, ErrorCode, MemberId, Role, SessionId, UnixMs};

use crate::access::{Session, session_id_of};
use crate::activity::Me;

use crate::command::{Erasure, MembershipCommand};
use crate::error::RoomError;
use crate::event::RoomEvent;
use crate::flow;
use crate::limits::RoomLimits;
use crate::room::RoomState;
use crate::roster::{Member, require_facilitator};
use crate::secret::{PseudonymKey, SecretHash, hash_secret};
use crate::text;

/// The values a join needs if it creates a member, made by the caller so the machine stays
/// pure.
#[derive(Debug, Clone)]
pub struct FreshMember {
    pub member_id: MemberId,
    pub token: String,
    pub token_hash: SecretHash,
}

/// The outcome of an accepted join.
#[derive(Debug, Clone, PartialEq)]
pub struct JoinDecision {
    pub member_id: MemberId,
    /// The session the connection joins as: the one of its token, or the one the join begins.
    pub session_id: SessionId,
    /// The new member token, when the join began a session.
    pub issued_token: Option<String>,
    pub events: Vec<RoomEvent>,
}

/// Decides a join: checks the credential and returns the member who joins, with the events
/// that add or promote them. Presence is no event ([`RoomState::set_online`]); attendance is
/// decided separately, by [`decide_attendance`].
pub fn decide_join(
    state: &RoomState,
    credential: &Credential,
    fresh: FreshMember,
    limits: &RoomLimits,
) -> Result<JoinDecision, RoomError> {
    let fresh_session = session_id_of(fresh.token_hash);
    if state
        .access
        .sessions
        .iter()
        .any(|session| session.session_id == fresh_session)
    {
        // Four bytes of a fresh token's hash equal to another session's: about once in four
        // billion joins. Nothing changes; the next attempt draws another token.
        return Err(RoomError::new(
            ErrorCode::StorageUnavailable,
            "the join could not be completed; please try again",
        ));
    }
    match credential {
        Credential::Facilitator {
            secret,
            display_name,
            member_token,
        } => {
            require_secret(
                secret,
                state.group.facilitator_secret_hash,
                "the facilitator link no longer works (it was made anew, or is not this \
                 group's); ask a facilitator of the group for the current one",
            )?;
            let existing = member_token
                .as_deref()
                .and_then(|token| session_by_token(state, token));
            match existing {
                Some(session) => Ok(rejoin_as_facilitator(state, session)),
                None => match sessionless_namesake(state, display_name, limits)? {
                    Some(member) => Ok(come_back(member, fresh, Role::Facilitator)),
                    None => add_member(state, fresh, display_name, Role::Facilitator, limits),
                },
            }
        }
        Credential::Invite {
            secret,
            display_name,
            observer,
        } => {
            require_secret(
                secret,
                state.group.invite_secret_hash,
                "the invite link no longer works (a facilitator made a new one, or it is not \
                 this group's); ask the facilitator for the current invite link",
            )?;
            let role = if *observer {
                Role::Observer
            } else {
                Role::Member
            };
            match sessionless_namesake(state, display_name, limits)? {
                Some(member) if member.role == Role::Facilitator => Err(RoomError::new(
                    ErrorCode::Forbidden,
                    "a facilitator comes back through the facilitator link, not the invite link",
                )),
                Some(member) => Ok(come_back(member, fresh, member.role)),
                None => add_member(state, fresh, display_name, role, limits),
            }
        }
        Credential::MemberToken { token } => match session_by_token(state, token) {
            Some(session) => Ok(JoinDecision {
                member_id: session.member_id,
                session_id: session.session_id,
                issued_token: None,
                events: Vec::new(),
            }),
            None => Err(RoomError::new(
                ErrorCode::Unauthorized,
                "this member token is not valid in this group (the member may have been \
                 removed, or a facilitator ended this device's session)",
            )),
        },
    }
}

/// The member called `display_name` (as [`text::same_name`] compares names) when every session
/// of theirs was revoked: a join under their name through a link is them coming back.
fn sessionless_namesake<'a>(
    state: &'a RoomState,
    display_name: &str,
    limits: &RoomLimits,
) -> Result<Option<&'a Member>, RoomError> {
    let display_name = text::line("display name", display_name, limits.display_name_chars_max)?;
    let form = text::same_name(&display_name);
    Ok(state.members.iter().find(|member| {
        text::same_name(&member.display_name) == form && !state.access.has_session(member.id)
    }))
}

/// A member without a session comes back: a new session (and token) of the same member, a
/// facilitator again when they came through the facilitator link.
fn come_back(member: &Member, fresh: FreshMember, role: Role) -> JoinDecision {
    let session_id = session_id_of(fresh.token_hash);
    let mut events = vec![RoomEvent::SessionStarted {
        member_id: member.id,
        session_id,
        token_hash: fresh.token_hash,
    }];
    if member.role != role {
        events.push(RoomEvent::RoleChanged {
            member_id: member.id,
            role,
        });
    }
    JoinDecision {
        member_id: member.id,
        session_id,
        issued_token: Some(fresh.token),
        events,
    }
}

/// A join that adds a member with `role`, when the group has room for one.
fn add_member(
    state: &RoomState,
    fresh: FreshMember,
    display_name: &str,
    role: Role,
    limits: &RoomLimits,
) -> Result<JoinDecision, RoomError> {
    let display_name = text::line("display name", display_name, limits.display_name_chars_max)?;
    // Nobody joins as "fran" or "Fran\u{200d}" next to Fran.
    let form = text::same_name(&display_name);
    if let Some(taken) = state
        .members
        .iter()
        .find(|member| text::same_name(&member.display_name) == form)
    {
        return Err(RoomError::new(
            ErrorCode::Conflict,
            format!(
                "someone in this group is called {:?} already; add an initial or a last name \
                 (if that is you, open the group on the device you joined from)",
                taken.display_name
            ),
        ));
    }
    if state.members.len() >= limits.members_per_room_max {
        return Err(RoomError::new(
            ErrorCode::RoomFull,
            format!(
                "the group has {} members, the most it may have",
                state.members.len()
            ),
        ));
    }
    Ok(JoinDecision {
        member_id: fresh.member_id,
        // The fold numbers the member's first session the same way.
        session_id: session_id_of(fresh.token_hash),
        issued_token: Some(fresh.token),
        events: vec![RoomEvent::MemberAdded {
            member_id: fresh.member_id,
            display_name,
            role,
            token_hash: fresh.token_hash,
        }],
    })
}

/// A member who comes back with the facilitator link is (or becomes) a facilitator.
fn rejoin_as_facilitator(state: &RoomState, session: &Session) -> JoinDecision {
    let is_facilitator = state.role_of(session.member_id) == Some(Role::Facilitator);
    let events = if is_facilitator {
        Vec::new()
    } else {
        vec![RoomEvent::RoleChanged {
            member_id: session.member_id,
            role: Role::Facilitator,
        }]
    };
    JoinDecision {
        member_id: session.member_id,
        session_id: session.session_id,
        issued_token: None,
        events,
    }
}

/// Refuses with `refusal` unless `secret` is the one whose hash is `stored`.
fn require_secret(secret: &str, stored: SecretHash, refusal: &str) -> Result<(), RoomError> {
    if hash_secret(secret) == stored {
        Ok(())
    } else {
        Err(RoomError::new(ErrorCode::Unauthorized, refusal))
    }
}

/// The session whose token this is: the one lookup of a member token, for joins and for the
/// HTTP exports.
pub fn session_by_token<'a>(state: &'a RoomState, token: &str) -> Option<&'a Session> {
    state.access.by_token(hash_secret(token))
}

/// The member whose token this is ([`session_by_token`]).
pub fn member_by_token<'a>(state: &'a RoomState, token: &str) -> Option<&'a Member> {
    session_by_token(state, token).and_then(|session| state.member(session.member_id))
}

/// The `member_attended` event for a member who is here and not yet among the meeting's
/// attendees, if they are a member. Presence itself is no event ([`RoomState::set_online`]):
/// a meeting's attendance is its history, who is online now is not.
pub fn decide_attendance(state: &RoomState, member_id: MemberId) -> Option<RoomEvent> {
    // An upcoming meeting has no attendance yet: its start records everyone here.
    if state.meeting.phase != wire::MeetingPhase::Live
        || state.member(member_id).is_none()
        || state.meeting.attended.contains(&member_id)
    {
        return None;
    }
    Some(RoomEvent::MemberAttended { member_id })
}

/// The attendance of everyone online who has not attended the meeting yet, in the order they
/// joined the group: for a meeting that has just started, everyone here.
pub fn decide_attendance_of_everyone_online(state: &RoomState) -> Vec<RoomEvent> {
    state
        .online_members()
        .into_iter()
        .filter_map(|member_id| decide_attendance(state, member_id))
        .collect()
}

/// Decides a change to the group and its members.
pub(crate) fn decide_membership(
    state: &RoomState,
    by: MemberId,
    role: Role,
    command: &MembershipCommand,
    limits: &RoomLimits,
    now_ms: UnixMs,
) -> Result<Vec<RoomEvent>, RoomError> {
    require_facilitator(role)?;
    match command {
        MembershipCommand::RenameGroup { name } => rename_group(state, name, limits),
        MembershipCommand::SetTimeZone { time_zone } => set_time_zone(state, time_zone),
        MembershipCommand::SetCallLink { url } => set_call_link(state, url.as_deref()),
        MembershipCommand::RemoveMember { member_id } => {
            remove_member(state, by, *member_id, now_ms)
        }
        MembershipCommand::SetRole { member_id, role } => set_role(state, *member_id, *role),
        MembershipCommand::HandOverFacilitator { member_id } => {
            hand_over_facilitator(state, by, *member_id)
        }
    }
}

fn rename_group(
    state: &RoomState,
    name: &str,
    limits: &RoomLimits,
) -> Result<Vec<RoomEvent>, RoomError> {
    let name = text::line("group name", name, limits.group_name_chars_max)?;
    if name == state.group.name {
        return Ok(Vec::new());
    }
    Ok(vec![RoomEvent::GroupRenamed { name }])
}

/// The group's time zone. The rules check the name's form (what an IANA name can be); the
/// server checks that its time zone database knows it before the request reaches the room.
fn set_time_zone(state: &RoomState, time_zone: &str) -> Result<Vec<RoomEvent>, RoomError> {
    let time_zone = text::time_zone(time_zone)?;
    if state.group.time_zone.as_deref() == Some(time_zone.as_str()) {
        return Ok(Vec::new());
    }
    Ok(vec![RoomEvent::TimeZoneSet { time_zone }])
}

/// The group's video call link: a checked https URL, or none. Setting the link it already has
/// changes nothing.
fn set_call_link(state: &RoomState, url: Option<&str>) -> Result<Vec<RoomEvent>, RoomError> {
    let url = url.map(text::call_url).transpose()?;
    if state.group.call_url == url {
        return Ok(Vec::new());
    }
    Ok(vec![RoomEvent::CallLinkSet { url }])
}

fn remove_member(
    state: &RoomState,
    by: MemberId,
    member_id: MemberId,
    now_ms: UnixMs,
) -> Result<Vec<RoomEvent>, RoomError> {
    state.roster().require_member(member_id)?;
    if member_id == by {
        return Err(RoomError::new(
            ErrorCode::Conflict,
            "you cannot remove yourself; hand over the facilitator role first",
        ));
    }
    // They go offline with it (not an event: the room's presence frame says so).
    let mut events = vec![RoomEvent::MemberRemoved { member_id }];
    // Their numbers leave the group's view: everyone gets the view without them (the metrics
    // are unchanged), so no page keeps showing a removed member's values or old quartiles.
    if state.activity.current.contains_key(&member_id) {
        let mut without = state.activity.clone();
        without.remove_member(member_id);
        events.push(RoomEvent::MetricsSet {
            metrics: without.metrics.clone(),
            view: without.view(),
        });
    }
    let ended = flow::on_member_removed(&state.flow, member_id, now_ms);
    events.extend(ended.into_iter().map(RoomEvent::from));
    Ok(events)
}

fn set_role(
    state: &RoomState,
    member_id: MemberId,
    new_role: Role,
) -> Result<Vec<RoomEvent>, RoomError> {
    let target = state.roster().require_member(member_id)?;
    if target.role == new_role {
        return Ok(Vec::new());
    }
    if target.role == Role::Facilitator && state.facilitator_count() == 1 {
        return Err(RoomError::new(
            ErrorCode::Conflict,
            "the group's last facilitator cannot be demoted; hand over the role instead",
        ));
    }
    Ok(vec![RoomEvent::RoleChanged {
        member_id,
        role: new_role,
    }])
}

fn hand_over_facilitator(
    state: &RoomState,
    by: MemberId,
    member_id: MemberId,
) -> Result<Vec<RoomEvent>, RoomError> {
    let target = state.roster().require_member(member_id)?;
    if member_id == by {
        return Err(RoomError::new(
            ErrorCode::Conflict,
            "you are the facilitator already; name another member",
        ));
    }
    let mut events = Vec::new();
    if target.role != Role::Facilitator {
        events.push(RoomEvent::RoleChanged {
            member_id,
            role: Role::Facilitator,
        });
    }
    events.push(RoomEvent::RoleChanged {
        member_id: by,
        role: Role::Member,
    });
    Ok(events)
}

/// Decides a facilitator's deletion of the group: allowed when `confirm_name` is the group's
/// name as it is now (the person typed it, so a slip of the mouse deletes nothing). Nothing
/// is recorded: the room deletes the group from the store and stops.
pub fn decide_delete_group(
    state: &RoomState,
    by: MemberId,
    confirm_name: &str,
) -> Result<(), RoomError> {
    let role = state.roster().require_member_role(by)?;
    require_facilitator(role)?;
    if confirm_name.trim() != state.group.name {
        return Err(RoomError::new(
            ErrorCode::Invalid,
            format!(
                "confirm_name: type the group's name, {:?}, exactly to delete it",
                state.group.name
            ),
        ));
    }
    Ok(())
}

/// Decides a member's leaving with the erasure of their data: they go offline, their turn
/// ends, and [`RoomEvent::MemberErased`] takes them and what they chose to remove out of the
/// room. The group's last facilitator cannot leave (the group would have nobody to run it):
/// they hand the role over first, or delete the group.
///
/// `key` is the pseudonym key of the connection they leave on: with it, a member who removes
/// their numbers also takes their past anonymous numbers out of the trends, in an event that
/// names nobody. This meeting's anonymous numbers stay, in the aggregates others have seen,
/// tied to nobody once the member's connections are gone.
pub fn decide_leave(
    state: &RoomState,
    by: MemberId,
    key: Option<PseudonymKey>,
    erasure: Erasure,
    now_ms: UnixMs,
) -> Result<Vec<RoomEvent>, RoomError> {
    let role = state.roster().require_member_role(by)?;
    if role == Role::Facilitator && state.facilitator_count() == 1 {
        return Err(RoomError::new(
            ErrorCode::Conflict,
            "you are the group's only facilitator: hand the role over first, or delete the group",
        ));
    }
    // They go offline with it (not an event: the room's presence frame says so).
    let mut events = Vec::new();
    let ended = flow::on_member_removed(&state.flow, by, now_ms);
    events.extend(ended.into_iter().map(RoomEvent::from));
    if erasure.numbers == wire::ErasureChoice::Remove {
        let places = state.activity.my_past_places(&Me { member_id: by, key });
        if !places.is_empty() {
            events.push(RoomEvent::PastAnonymousNumbersRemoved {
                places,
                view: state.activity.view(),
            });
        }
    }
    events.push(RoomEvent::MemberErased {
        member_id: by,
        erasure,
    });
    Ok(events)
}
