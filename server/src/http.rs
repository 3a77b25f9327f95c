//! HTTP routes: health, group creation, the WebSocket upgrade and the web client's files.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use roundtable_protocol::{
    CreateGroupRequest, CreateGroupResponse, ErrorBody, ErrorCode, GroupId, Health, HttpError,
    MeetingId, PROTOCOL_VERSION,
};
use tower_http::services::{ServeDir, ServeFile};
use tracing::{debug, info, warn};

use crate::room::state::{Group, RoomState, valid_name};
use crate::secrets::new_secret;
use crate::server::ServerContext;
use crate::store::{Snapshot, StoreError};
use crate::transport::upgrade::{self, UpgradeRefusal, check_upgrade};

/// Largest HTTP request body accepted.
const HTTP_BODY_BYTES_MAX: usize = 16 * 1024;

/// Builds every route.
pub fn router(context: Arc<ServerContext>) -> Router {
    let web_dir = context.config.web_dir.clone();
    let index = ServeFile::new(web_dir.join("index.html"));
    Router::new()
        .route("/healthz", get(health))
        .route("/api/groups", post(create_group))
        .route(
            "/api/groups/{group_id}/meetings",
            get(crate::export::meetings),
        )
        .route(
            "/api/groups/{group_id}/minutes",
            get(crate::export::minutes),
        )
        .route(
            "/api/groups/{group_id}/commitments.csv",
            get(crate::export::commitments_csv),
        )
        .route(
            "/api/groups/{group_id}/benchmarks.csv",
            get(crate::export::benchmarks_csv),
        )
        .route(upgrade::PATH, get(websocket))
        .route_service("/", index.clone())
        .route_service("/g/{group_id}", index)
        // Only the client's own files are public: not its tests, tools or node_modules.
        .nest_service("/css", ServeDir::new(web_dir.join("css")))
        .nest_service("/js", ServeDir::new(web_dir.join("js")))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(HTTP_BODY_BYTES_MAX))
        .with_state(context)
}

async fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, ErrorCode::NotFound, "no such page")
}

/// A typed error answer: status plus `{"error": {"code", "message"}}`.
pub fn error(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Response {
    let body = HttpError {
        error: ErrorBody {
            code,
            message: message.into(),
        },
    };
    (status, axum::Json(body)).into_response()
}

async fn health(State(context): State<Arc<ServerContext>>) -> Response {
    axum::Json(Health {
        status: "ok".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        protocol: PROTOCOL_VERSION,
        live_rooms: context.rooms.live_rooms() as u64,
        connections: context.open_connections(),
    })
    .into_response()
}

async fn create_group(
    State(context): State<Arc<ServerContext>>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match body {
        Ok(body) => body,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return error(
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorCode::TooLarge,
                format!("the request body exceeds {HTTP_BODY_BYTES_MAX} bytes"),
            );
        }
        Err(rejection) => {
            return error(
                StatusCode::BAD_REQUEST,
                ErrorCode::Invalid,
                rejection.body_text(),
            );
        }
    };
    let request: CreateGroupRequest = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(parse) => {
            return error(
                StatusCode::BAD_REQUEST,
                ErrorCode::Invalid,
                format!("expected {{\"name\": \"...\"}}: {parse}"),
            );
        }
    };
    let name = match valid_name(
        "group name",
        &request.name,
        context.config.limits.group_name_chars_max,
    ) {
        Ok(name) => name,
        Err(invalid) => return error(StatusCode::BAD_REQUEST, invalid.code, invalid.message),
    };
    let (facilitator_secret, facilitator_secret_hash) = new_secret();
    let (invite_secret, invite_secret_hash) = new_secret();
    let group_id = GroupId::random();
    let meeting_id = MeetingId::random();
    let now_ms = context.clock.now_ms();
    let state = RoomState::new_group(
        Group {
            id: group_id,
            name,
            facilitator_secret_hash,
            invite_secret_hash,
            created_at_ms: now_ms,
        },
        meeting_id,
        now_ms,
    );
    let snapshot = Snapshot {
        meeting_id,
        seq: 0,
        bytes: serde_json::to_vec(&state).expect("room state always serializes"),
    };
    match context.store.create_group(group_id, &snapshot).await {
        Ok(()) => {}
        Err(StoreError::Unavailable(reason)) => {
            warn!(%reason, "could not create a group");
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::StorageUnavailable,
                "the group could not be saved; nothing was created, please try again",
            );
        }
        Err(other) => {
            warn!(error = %other, "could not create a group");
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                ErrorCode::Internal,
                "the group could not be created",
            );
        }
    }
    info!(group = %group_id, "group created");
    let base = &context.public_base;
    let response = CreateGroupResponse {
        group_id,
        meeting_id,
        facilitator_url: format!("{base}/g/{group_id}#facilitator={facilitator_secret}"),
        invite_url: format!("{base}/g/{group_id}#invite={invite_secret}"),
    };
    (StatusCode::CREATED, axum::Json(response)).into_response()
}

/// Answers a WebSocket upgrade that came through hyper: one that [`upgrade::upgrade_directly`] did not
/// take directly, because it is refused here, or arrived in pieces, or followed another
/// request on its connection.
async fn websocket(
    State(context): State<Arc<ServerContext>>,
    mut request: axum::extract::Request,
) -> Response {
    let accept = match check_upgrade(&context, request.method(), request.headers()) {
        Ok(accept) => accept,
        Err(UpgradeRefusal::ForeignOrigin(origin)) => {
            warn!(%origin, "refused a WebSocket from a foreign origin");
            return error(
                StatusCode::FORBIDDEN,
                ErrorCode::Forbidden,
                format!("origin {origin} may not connect; set --allowed-origins to allow it"),
            );
        }
        Err(UpgradeRefusal::ShuttingDown) => {
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::ShuttingDown,
                "the server is shutting down",
            );
        }
        Err(UpgradeRefusal::NotAnUpgrade(problem)) => {
            return error(StatusCode::BAD_REQUEST, ErrorCode::Invalid, problem);
        }
    };
    let Some(on_upgrade) = request
        .extensions_mut()
        .remove::<hyper::upgrade::OnUpgrade>()
    else {
        return error(
            StatusCode::UPGRADE_REQUIRED,
            ErrorCode::Invalid,
            "this connection cannot be upgraded to a WebSocket",
        );
    };
    let hard_limit = context.config.limits.frame_bytes_hard_max();
    tokio::spawn(async move {
        match on_upgrade.await {
            Ok(upgraded) => match upgrade::from_upgraded(upgraded, hard_limit).await {
                Some(socket) => crate::transport::connection::serve(socket, context, None).await,
                None => warn!("an upgraded connection is not a TCP stream; closed"),
            },
            Err(failure) => debug!(error = %failure, "WebSocket upgrade failed"),
        }
    });
    Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header(header::CONNECTION, "upgrade")
        .header(header::UPGRADE, "websocket")
        .header(header::SEC_WEBSOCKET_ACCEPT, accept)
        .body(axum::body::Body::empty())
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}
