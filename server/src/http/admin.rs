//! The admin listener's routes (`--admin-listen`): `/metrics` in the Prometheus text format and
//! `/healthz` with details. Nothing else is served there, and neither is served on the public
//! listener (whose `/healthz` says only that the process runs; see SECURITY.md).

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::app::App;

/// The content type of the OpenMetrics text format (Prometheus's text format, as prometheus-client
/// writes it).
const METRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The admin listener's routes.
pub fn router(context: Arc<App>) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(health))
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
    let report = context.health.report(context.shutdown.is_cancelled());
    let status = if report.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(report)).into_response()
}
