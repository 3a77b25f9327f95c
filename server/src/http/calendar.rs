//! The schedule as iCalendar files ([`crate::calendar`]):
//!
//! - `GET /api/groups/{group_id}/calendar/{secret}.ics`: a member's calendar feed. Calendar
//!   apps cannot send headers, so the URL carries the member's own feed secret (kept as a hash
//!   only); a wrong, revoked or malformed secret, or an unknown group, is the same `404`.
//! - `GET /api/groups/{group_id}/next-meeting.ics`: the next meeting alone, for a member with
//!   `Authorization: Bearer <member token>` (the room's "Download .ics").
//!
//! Neither loads a room: the group is read as exports read it (the live room's state when it
//! is live, else the stored group, with no lease and no slot). Answers are `no-store`: a feed's
//! URL is a secret, and neither file should sit in a shared cache.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use roundtable_protocol::{ErrorCode, GroupId};
use tracing::debug;

use super::api_error::ApiError;
use crate::app::App;
use crate::calendar::{self, Details};
use crate::secrets::hash_secret;
use roundtable_rules::schedule::feed_owner;
use roundtable_rules::state::member_by_token;

/// Characters of a secret as [`crate::secrets::new_secret`] writes it (32 bytes, base64url).
const SECRET_CHARS: usize = 43;

fn no_such_feed() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "no such calendar")
}

fn ics(body: String, attachment: Option<&'static str>) -> Response {
    let mut response = (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/calendar; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        body,
    )
        .into_response();
    if let Some(name) = attachment {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, HeaderValue::from_static(name));
    }
    response
}

/// `GET /api/groups/{group_id}/calendar/{secret}.ics`.
pub async fn feed(
    State(context): State<Arc<App>>,
    Path((group_id, file)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let secret = file.strip_suffix(".ics").unwrap_or_default();
    let well_formed = secret.len() == SECRET_CHARS
        && secret
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_');
    let Ok(group_id) = group_id.parse::<GroupId>() else {
        return Err(no_such_feed());
    };
    if !well_formed {
        return Err(no_such_feed());
    }
    let state = match context.rooms.read(group_id).await {
        Ok(state) => state,
        Err(error) if error.code == ErrorCode::NotFound => return Err(no_such_feed()),
        Err(error) => return Err(error.into()),
    };
    // Every feed's hash is compared with the presented one's: the hashes are of random
    // secrets, so how far a comparison gets tells nothing about a secret.
    let Some(member_id) = feed_owner(&state.calendar_feeds, hash_secret(secret)) else {
        debug!(group = %group_id, "calendar feed refused");
        return Err(no_such_feed());
    };
    debug!(group = %group_id, member = %member_id, "calendar feed read");
    let now_ms = context.clock.now_ms();
    let room_url = format!("{}/g/{group_id}", context.public_base);
    Ok(ics(
        calendar::feed(
            &state,
            &Details {
                room_url: &room_url,
                now_ms,
            },
        ),
        None,
    ))
}

/// `GET /api/groups/{group_id}/next-meeting.ics`, for a member.
pub async fn next_meeting(
    State(context): State<Arc<App>>,
    Path(group_id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Ok(group_id) = group_id.parse::<GroupId>() else {
        return Err(ApiError::new(ErrorCode::NotFound, "no such group"));
    };
    let credential = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|credential| !credential.is_empty());
    let Some(credential) = credential else {
        return Err(ApiError::new(
            ErrorCode::Unauthorized,
            "send your member token as `Authorization: Bearer ...`",
        ));
    };
    let state = context.rooms.read(group_id).await?;
    if member_by_token(&state, credential).is_none() {
        return Err(ApiError::new(
            ErrorCode::Unauthorized,
            "this credential is not valid for this group",
        ));
    }
    let now_ms = context.clock.now_ms();
    let Some(next) = calendar::next_meeting(&state, now_ms) else {
        return Err(ApiError::new(
            ErrorCode::NotFound,
            "the group has no meeting scheduled",
        ));
    };
    let room_url = format!("{}/g/{group_id}", context.public_base);
    Ok(ics(
        calendar::single(
            &state,
            &next,
            &Details {
                room_url: &room_url,
                now_ms,
            },
        ),
        Some("attachment; filename=\"next-meeting.ics\""),
    ))
}
