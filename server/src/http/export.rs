//! Exports for facilitators over HTTP: meeting minutes (JSON and Markdown), the commitment
//! board and the benchmarks (CSV). Every route needs `Authorization: Bearer <credential>`,
//! where the credential is the group's facilitator secret or the member token of one of its
//! facilitators. Credentials travel in a header, never in the URL, so they stay out of logs.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use roundtable_protocol::{ErrorCode, GroupId, MeetingId, MeetingList, MeetingSummary, Role};
use serde::Deserialize;

use super::api_error::ApiError;
use crate::app::App;
use crate::secrets::hash_secret;
use crate::time_zone::Zone;
use roundtable_rules::minutes;
use roundtable_rules::state::{RoomState, member_by_token};

/// Loads the group's state and checks that the request carries a facilitator's credential.
async fn authorized(
    context: &App,
    group_id: &str,
    headers: &HeaderMap,
) -> Result<Box<RoomState>, ApiError> {
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
            "send the facilitator secret or a facilitator's member token as `Authorization: Bearer ...`",
        ));
    };
    // Never loads a room: an export with a wrong credential costs one read and holds nothing.
    let state = context.rooms.read(group_id).await?;
    if hash_secret(credential) == state.group.facilitator_secret_hash {
        return Ok(state);
    }
    match member_by_token(&state, credential) {
        Some(member) if member.role == Role::Facilitator => Ok(state),
        Some(_) => Err(ApiError::new(
            ErrorCode::Forbidden,
            "only a facilitator may export",
        )),
        None => Err(ApiError::new(
            ErrorCode::Unauthorized,
            "this credential is not valid for this group",
        )),
    }
}

fn download(content_type: &'static str, file_name: String, body: String) -> Response {
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{file_name}\""))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment"));
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response()
}

/// `GET /api/groups/{group_id}/meetings`: the current meeting and the kept past ones.
pub async fn meetings(
    State(context): State<Arc<App>>,
    Path(group_id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let state = authorized(&context, &group_id, &headers).await?;
    let mut meetings = vec![MeetingSummary {
        meeting_id: state.meeting.id,
        number: state.meeting.number,
        started_at_ms: state.meeting.started_at_ms,
        ended_at_ms: state.flow.ended_at_ms,
    }];
    meetings.extend(state.past_meetings.iter().rev().map(|past| MeetingSummary {
        meeting_id: past.meeting_id,
        number: past.meeting_number,
        started_at_ms: past.started_at_ms,
        ended_at_ms: past.ended_at_ms,
    }));
    Ok(axum::Json(MeetingList { meetings }).into_response())
}

/// Query of the minutes route.
#[derive(Debug, Deserialize)]
pub struct MinutesQuery {
    /// A meeting id, or absent for the current meeting.
    meeting: Option<String>,
    /// `json` (the default) or `md`.
    format: Option<String>,
}

/// `GET /api/groups/{group_id}/minutes?meeting=<id>&format=md|json`.
pub async fn minutes(
    State(context): State<Arc<App>>,
    Path(group_id): Path<String>,
    Query(query): Query<MinutesQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let state = authorized(&context, &group_id, &headers).await?;
    let wanted = match query.meeting.as_deref() {
        None | Some("current") => None,
        Some(text) => match text.parse::<MeetingId>() {
            Ok(meeting_id) => Some(meeting_id),
            Err(_) => {
                return Err(ApiError::new(
                    ErrorCode::Invalid,
                    "meeting must be a meeting id or `current`",
                ));
            }
        },
    };
    let found = match wanted {
        None => Some(minutes::build(&state, None)),
        Some(meeting_id) if meeting_id == state.meeting.id => Some(minutes::build(&state, None)),
        Some(meeting_id) => state
            .past_meetings
            .iter()
            .find(|past| past.meeting_id == meeting_id)
            .cloned(),
    };
    let Some(found) = found else {
        return Err(ApiError::new(
            ErrorCode::NotFound,
            format!(
                "no minutes of that meeting (the last {} meetings are kept)",
                minutes::PAST_MEETINGS_KEPT
            ),
        ));
    };
    let base_name = format!("minutes-meeting-{}", found.meeting_number);
    match query.format.as_deref() {
        None | Some("json") => Ok(axum::Json(found).into_response()),
        Some("md") | Some("markdown") => Ok(download(
            "text/markdown; charset=utf-8",
            format!("{base_name}.md"),
            minutes::to_markdown(&found, &state, &Zone::named(found.time_zone.as_deref())),
        )),
        Some(other) => Err(ApiError::new(
            ErrorCode::Invalid,
            format!("format {other:?} is not `json` or `md`"),
        )),
    }
}

/// `GET /api/groups/{group_id}/commitments.csv` and `.../benchmarks.csv`: the commitment
/// board and the activity numbers as CSV. The file's name is checked before the credential, so
/// a wrong name costs nothing.
pub async fn csv(
    State(context): State<Arc<App>>,
    Path((group_id, file)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let table: fn(&RoomState) -> String = match file.as_str() {
        "commitments.csv" => |state| {
            let zone = Zone::named(state.group.time_zone.as_deref());
            minutes::commitments_csv(state, &zone)
        },
        "benchmarks.csv" => minutes::benchmarks_csv,
        _ => return Err(ApiError::new(ErrorCode::NotFound, "no such page")),
    };
    let state = authorized(&context, &group_id, &headers).await?;
    Ok(download("text/csv; charset=utf-8", file, table(&state)))
}
