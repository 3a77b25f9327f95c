//! The typed error answer of every HTTP route.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use roundtable_protocol::{ErrorBody, ErrorCode, HttpError};

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
