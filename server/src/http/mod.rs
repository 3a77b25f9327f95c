//! HTTP routes: health, group creation, the WebSocket upgrade through hyper, the exports and the
//! web client's files.
//!
//! - [`admin`]: the admin listener's `/metrics` and detailed `/healthz`.
//! - [`api_error`]: the typed error answer every route gives.
//! - [`groups`]: creating a group.
//! - [`calendar`]: the schedule as iCalendar: members' feeds and the next meeting's file.
//! - [`export`]: facilitators' exports.
//! - [`static_files`]: the web client.
//! - [`headers`]: the security headers every answer carries.

pub mod admin;
pub mod api_error;
pub mod calendar;
pub mod export;
pub mod groups;
pub mod headers;
pub mod static_files;

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use roundtable_protocol::{ErrorCode, Health, PROTOCOL_VERSION};
use tracing::{debug, warn};

use self::api_error::ApiError;
use crate::admission::address::Peer;
use crate::app::App;
use crate::transport::upgrade::{self, UpgradeRefusal, check_upgrade};

/// Largest HTTP request body accepted.
pub const HTTP_BODY_BYTES_MAX: usize = 16 * 1024;

/// Builds every route.
pub fn router(context: Arc<App>) -> Router {
    let web_dir = context.config.web_dir.clone();
    let security = Arc::new(headers::SecurityHeaders::new(&context.public_base));
    let router = Router::new()
        .route("/healthz", get(health))
        .route("/api/groups", post(groups::create_group))
        .route("/api/groups/{group_id}/meetings", get(export::meetings))
        .route("/api/groups/{group_id}/minutes", get(export::minutes))
        .route(
            "/api/groups/{group_id}/next-meeting.ics",
            get(calendar::next_meeting),
        )
        .route(
            "/api/groups/{group_id}/calendar/{file}",
            get(calendar::feed),
        )
        .route("/api/groups/{group_id}/{file}", get(export::csv))
        .route(upgrade::PATH, get(websocket));
    static_files::routes(router, &web_dir)
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(HTTP_BODY_BYTES_MAX))
        .layer(axum::middleware::from_fn_with_state(security, headers::add))
        .with_state(context)
}

async fn not_found() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "no such page")
}

/// 200 with `status: "ok"`; 503 with `status: "draining"` while the node hands its rooms to
/// other nodes. Only a connection taken before the drain began can ask then: the drain
/// closes the public listener (`transport/listener.rs`), so a load balancer's next check is
/// refused.
async fn health(State(context): State<Arc<App>>) -> Response {
    let draining = context.rooms.is_draining();
    let status = if draining {
        axum::http::StatusCode::SERVICE_UNAVAILABLE
    } else {
        axum::http::StatusCode::OK
    };
    let body = axum::Json(Health {
        status: if draining { "draining" } else { "ok" }.into(),
        version: env!("CARGO_PKG_VERSION").into(),
        protocol: PROTOCOL_VERSION,
        live_rooms: context.rooms.live_rooms() as u64,
        connections: context.open_connections(),
    });
    (status, body).into_response()
}

/// Answers a WebSocket upgrade that came through hyper: one that [`upgrade::upgrade_directly`]
/// did not take, because it is refused here, or arrived in pieces, or followed another request
/// on its connection.
async fn websocket(
    State(context): State<Arc<App>>,
    peer: Option<axum::Extension<Peer>>,
    mut request: axum::extract::Request,
) -> Result<Response, ApiError> {
    let accept = match check_upgrade(&context, request.method(), request.headers()) {
        Ok(accept) => accept,
        Err(UpgradeRefusal::ForeignOrigin(origin)) => {
            warn!(%origin, "refused a WebSocket from a foreign origin");
            return Err(ApiError::new(
                ErrorCode::Forbidden,
                format!("origin {origin} may not connect; set --allowed-origins to allow it"),
            ));
        }
        Err(UpgradeRefusal::ShuttingDown) => {
            return Err(ApiError::new(
                ErrorCode::ShuttingDown,
                "the server is shutting down",
            ));
        }
        Err(UpgradeRefusal::Draining) => {
            return Err(ApiError::new(
                ErrorCode::ShuttingDown,
                "this server is handing its meetings to other servers; connect to another one",
            ));
        }
        Err(UpgradeRefusal::NotAnUpgrade(problem)) => {
            return Err(ApiError::new(ErrorCode::Invalid, problem));
        }
    };
    let client = context.client_address(peer.map(|axum::Extension(peer)| peer), request.headers());
    let Some(admitted) = context.admit_websocket(client) else {
        crate::metrics::admission_refused("unjoined_websockets_per_address");
        return Err(ApiError::Later {
            code: ErrorCode::RateLimited,
            message: format!(
                "this address holds {} WebSocket connections that have not joined a room, the \
                 most it may; join with those first",
                context.config.limits.unjoined_websockets_per_address_max
            ),
            retry_after: std::time::Duration::from_secs(1),
        });
    };
    let Some(on_upgrade) = request
        .extensions_mut()
        .remove::<hyper::upgrade::OnUpgrade>()
    else {
        return Err(ApiError::UpgradeRequired);
    };
    let hard_limit = context.config.limits.frame_bytes_hard_max();
    tokio::spawn(async move {
        match on_upgrade.await {
            Ok(upgraded) => match upgrade::from_upgraded(upgraded, hard_limit).await {
                Some(socket) => {
                    crate::transport::connection::serve(socket, context, None, admitted).await;
                }
                None => warn!("an upgraded connection is not a TCP stream; closed"),
            },
            Err(failure) => debug!(error = %failure, "WebSocket upgrade failed"),
        }
    });
    Ok(Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header(header::CONNECTION, "upgrade")
        .header(header::UPGRADE, "websocket")
        .header(header::SEC_WEBSOCKET_ACCEPT, accept)
        .body(axum::body::Body::empty())
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response()))
}
