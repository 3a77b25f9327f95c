//! The one error answer of every HTTP route: an [`ApiError`], answered as
//! `{"error": {"code", "message"}}` with the status [`status_of`] gives its code.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use roundtable_protocol::{ErrorBody, ErrorCode, HttpError};

use roundtable_rules::state::RoomError;

/// Why an HTTP request is refused.
#[derive(Debug)]
pub enum ApiError {
    /// Refused for the reason `code` names, with a sentence for the person; the status is the
    /// code's ([`status_of`]).
    Refused { code: ErrorCode, message: String },
    /// A WebSocket request on a connection that cannot be upgraded: `426 Upgrade Required`,
    /// code `invalid`.
    UpgradeRequired,
    /// A body that is not `application/json`: `415 Unsupported Media Type`, code `invalid`.
    NotJson,
    /// Refused for now (`rate_limited`: 429, `server_busy`: 503), with a `Retry-After` of
    /// `retry_after` rounded up to whole seconds.
    Later {
        code: ErrorCode,
        message: String,
        retry_after: std::time::Duration,
    },
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError::Refused {
            code,
            message: message.into(),
        }
    }
}

/// A room's refusal (no such group, the server busy or stopping, the store unreachable) is
/// the request's.
impl From<RoomError> for ApiError {
    fn from(refused: RoomError) -> ApiError {
        ApiError::new(refused.code, refused.message)
    }
}

/// The HTTP status of each error code, the one table of them.
pub fn status_of(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::Invalid => StatusCode::BAD_REQUEST,
        ErrorCode::Unauthorized => StatusCode::UNAUTHORIZED,
        ErrorCode::Forbidden => StatusCode::FORBIDDEN,
        ErrorCode::NotFound => StatusCode::NOT_FOUND,
        ErrorCode::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::ServerBusy | ErrorCode::StorageUnavailable | ErrorCode::ShuttingDown => {
            StatusCode::SERVICE_UNAVAILABLE
        }
        // No route refuses a request with these; a room's refusal that carries one (an export
        // of a meeting live on another server: `room_elsewhere`) is the server's failure.
        ErrorCode::Internal
        | ErrorCode::UnsupportedVersion
        | ErrorCode::UnknownType
        | ErrorCode::NotJoined
        | ErrorCode::AlreadyJoined
        | ErrorCode::Conflict
        | ErrorCode::RoomFull
        | ErrorCode::RoomElsewhere
        | ErrorCode::LimitReached
        | ErrorCode::MeetingNotLive
        | ErrorCode::ConnectionLost => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, message) = match self {
            ApiError::Refused { code, message } => (status_of(code), code, message),
            ApiError::Later {
                code,
                message,
                retry_after,
            } => {
                let seconds = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
                let body = HttpError {
                    error: ErrorBody { code, message },
                };
                return (
                    status_of(code),
                    [(axum::http::header::RETRY_AFTER, seconds.max(1).to_string())],
                    axum::Json(body),
                )
                    .into_response();
            }
            ApiError::UpgradeRequired => (
                StatusCode::UPGRADE_REQUIRED,
                ErrorCode::Invalid,
                "this connection cannot be upgraded to a WebSocket".to_string(),
            ),
            ApiError::NotJson => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                ErrorCode::Invalid,
                "send the request as JSON, with Content-Type: application/json".to_string(),
            ),
        };
        let body = HttpError {
            error: ErrorBody { code, message },
        };
        (status, axum::Json(body)).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_a_status_and_refusals_of_the_request_are_4xx() {
        for code in ErrorCode::ALL {
            let status = status_of(code);
            let request_fault = matches!(
                code,
                ErrorCode::Invalid
                    | ErrorCode::Unauthorized
                    | ErrorCode::Forbidden
                    | ErrorCode::NotFound
                    | ErrorCode::TooLarge
                    | ErrorCode::RateLimited
            );
            assert_eq!(
                status.is_client_error(),
                request_fault,
                "{code:?}: {status}"
            );
        }
    }
}
