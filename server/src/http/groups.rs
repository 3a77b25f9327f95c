//! `POST /api/groups`: creating a group.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use roundtable_protocol::{CreateGroupRequest, CreateGroupResponse, ErrorCode, GroupId, MeetingId};
use tracing::{info, warn};

use super::HTTP_BODY_BYTES_MAX;
use super::api_error::ApiError;
use crate::admission::address::Peer;
use crate::admission::group_creation::CreationRefused;
use crate::app::App;
use crate::secrets::new_secret;
use crate::store::{Snapshot, StoreError};
use crate::time_zone;
use roundtable_rules::state::Group;
use roundtable_rules::text;

/// Creates a group and answers its two links.
pub async fn create_group(
    State(context): State<Arc<App>>,
    peer: Option<Extension<Peer>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    // Only JSON: a form a page on another site could submit is not even read.
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"));
    if !json {
        return Err(ApiError::NotJson);
    }
    let request = parse_request(body)?;
    let name = text::line(
        "group name",
        &request.name,
        context.config.limits.group_name_chars_max,
    )?;
    if let Some(time_zone) = &request.time_zone {
        time_zone::check(time_zone)
            .map_err(|message| ApiError::new(ErrorCode::Invalid, message))?;
    }
    // Counted only for a valid request, before anything is stored.
    let client = context.client_address(peer.map(|Extension(peer)| peer), &headers);
    admit(&context, client)?;
    let (facilitator_secret, facilitator_secret_hash) = new_secret();
    let (invite_secret, invite_secret_hash) = new_secret();
    let group_id = GroupId::random();
    let meeting_id = MeetingId::random();
    let now_ms = context.clock.now_ms();
    let snapshot = Snapshot::of_new_group(
        Group {
            id: group_id,
            name,
            facilitator_secret_hash,
            invite_secret_hash,
            created_at_ms: now_ms,
            time_zone: request.time_zone,
            call_url: None,
        },
        meeting_id,
        now_ms,
    );
    match context.store.create_group(group_id, &snapshot).await {
        Ok(()) => {}
        Err(StoreError::Unavailable(reason)) => {
            warn!(%reason, "could not create a group");
            return Err(ApiError::new(
                ErrorCode::StorageUnavailable,
                "the group could not be saved; nothing was created, please try again",
            ));
        }
        Err(other) => {
            warn!(error = %other, "could not create a group");
            return Err(ApiError::new(
                ErrorCode::Internal,
                "the group could not be created",
            ));
        }
    }
    info!(group = %group_id, "group created");
    // Without it the group is never found abandoned; it was created all the same.
    if let Err(error) = context
        .store
        .record_group_activity(group_id, now_ms, false)
        .await
    {
        warn!(group = %group_id, %error, "could not record the new group's activity");
    }
    let base = &context.public_base;
    let response = CreateGroupResponse {
        group_id,
        meeting_id,
        facilitator_url: format!("{base}/g/{group_id}#facilitator={facilitator_secret}"),
        invite_url: format!("{base}/g/{group_id}#invite={invite_secret}"),
    };
    Ok((StatusCode::CREATED, axum::Json(response)).into_response())
}

/// Counts the creation against the client's and the server's limits, or refuses it.
fn admit(context: &App, client: IpAddr) -> Result<(), ApiError> {
    match context.group_creations.admit(client, Instant::now()) {
        Ok(()) => Ok(()),
        Err(CreationRefused::Address { retry_after }) => {
            info!("group creation refused: the address's limit");
            crate::metrics::admission_refused("group_creations_per_address");
            Err(ApiError::Later {
                code: ErrorCode::RateLimited,
                message: format!(
                    "this address created {} groups recently; try again in {} s",
                    context.config.limits.group_creations_per_address_burst,
                    retry_after.as_secs().max(1)
                ),
                retry_after,
            })
        }
        Err(CreationRefused::Server { retry_after }) => {
            warn!("group creation refused: the server's limit");
            crate::metrics::admission_refused("group_creations_per_server");
            Err(ApiError::Later {
                code: ErrorCode::ServerBusy,
                message: format!(
                    "the server creates at most {} groups an hour; try again in {} s",
                    context.config.limits.group_creations_per_hour,
                    retry_after.as_secs().max(1)
                ),
                retry_after,
            })
        }
    }
}

/// The request body, as a [`CreateGroupRequest`].
fn parse_request(body: Result<Bytes, BytesRejection>) -> Result<CreateGroupRequest, ApiError> {
    let body = match body {
        Ok(body) => body,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return Err(ApiError::new(
                ErrorCode::TooLarge,
                format!("the request body exceeds {HTTP_BODY_BYTES_MAX} bytes"),
            ));
        }
        Err(rejection) => {
            return Err(ApiError::new(ErrorCode::Invalid, rejection.body_text()));
        }
    };
    serde_json::from_slice(&body).map_err(|parse| {
        ApiError::new(
            ErrorCode::Invalid,
            format!("expected {{\"name\": \"...\"}}: {parse}"),
        )
    })
}
