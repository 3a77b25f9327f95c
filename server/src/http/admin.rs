//! The admin listener's routes (`--admin-listen`): `/metrics` in the Prometheus text format,
//! `/healthz` with details, and `POST /admin/drain`. Nothing else is served there, and neither is served on the public
//! listener (whose `/healthz` says only that the process runs; see SECURITY.md).

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::app::App;

/// The content type of the OpenMetrics text format (Prometheus's text format, as prometheus-client
/// writes it).
const METRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The admin listener's routes.
pub fn router(context: Arc<App>) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(health))
        .route("/admin/drain", post(drain))
        .fallback(|| async { (StatusCode::NOT_FOUND, "no such page\n") })
        .with_state(context)
}

async fn metrics(State(context): State<Arc<App>>) -> Response {
    let metrics = crate::metrics::metrics();
    metrics.live_rooms.set(context.rooms.live_rooms() as i64);
    (
        [(header::CONTENT_TYPE, METRICS_CONTENT_TYPE)],
        metrics.encode(),
    )
        .into_response()
}

/// 200 when the node is ready, 503 when not, with a JSON body saying what failed.
async fn health(State(context): State<Arc<App>>) -> Response {
    let mut report = context.health.report(context.shutdown.is_cancelled());
    if context.rooms.is_draining() {
        report.ready = false;
        report.failed.push("draining");
    }
    let status = if report.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(report)).into_response()
}

/// The longest `POST /admin/drain` waits for the rooms to be handed over before it answers.
const DRAIN_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// What `POST /admin/drain` answers.
#[derive(Debug, serde::Serialize)]
struct DrainReport {
    /// Whether every room was handed over within the wait.
    drained: bool,
    /// Rooms still live here.
    live_rooms: usize,
    /// Seconds until the last client connected here is let go (closed with 1012 to reconnect
    /// elsewhere; see `room/fleet.rs`, "release"): stopping the node before then closes the
    /// rest at once.
    release_seconds: f64,
}

/// `POST /admin/drain`: hands this node's rooms to the other nodes (see
/// `room/fleet.rs`) and answers once none is live here (200), or when the wait ran out (503).
/// The node stays up, not ready, and sends every join for a meeting elsewhere; its clients are
/// let go over the next `release_seconds`; stop it then.
/// On a store no other node shares there is nowhere to go: 409, and nothing changes.
async fn drain(State(context): State<Arc<App>>) -> Response {
    if !context.store.shared() {
        return (
            StatusCode::CONFLICT,
            "this node's store is its own; there is no other node to hand its rooms to\n",
        )
            .into_response();
    }
    if let Some(fleet) = context.fleet.get() {
        // Placement leaves this node out from its next heartbeat on.
        fleet.set_draining(true);
    }
    context.rooms.drain();
    // A task of its own: the wait ends the drain's handover (the clients connected here are
    // let go then) even if the caller goes away before the answer.
    let rooms = context.rooms.clone();
    let clients = context.clients.clone();
    let waited =
        tokio::spawn(async move { rooms.wait_drained(DRAIN_WAIT, move || clients.len()).await })
            .await;
    let (drained, released) = waited.unwrap_or((false, tokio::time::Instant::now()));
    let status = if drained {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let report = DrainReport {
        drained,
        live_rooms: context.rooms.live_rooms(),
        release_seconds: released
            .saturating_duration_since(tokio::time::Instant::now())
            .as_secs_f64(),
    };
    (status, axum::Json(report)).into_response()
}
