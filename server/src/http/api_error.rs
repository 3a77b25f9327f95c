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
        ErrorCode::ServerBusy | ErrorCode::StorageUnavailable | ErrorCode::ShuttingDown => {
            StatusCode::SERVICE_UNAVAILABLE
        }
        // No route refuses a request with these; a room's refusal that carries one (an export
        // of a meeting live on another server: `room_elsewhere`) is the server's failure.
        ErrorCode::Internal
        | ErrorCode::UnsupportedVersion
        | ErrorCode::UnknownType
        | ErrorCode::RateLimited
        | ErrorCode::NotJoined
        | ErrorCode::AlreadyJoined
        | ErrorCode::Conflict
        | ErrorCode::RoomFull
        | ErrorCode::RoomElsewhere
        | ErrorCode::LimitReached => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, message) = match self {
            ApiError::Refused { code, message } => (status_of(code), code, message),
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
            );
            assert_eq!(
                status.is_client_error(),
                request_fault,
                "{code:?}: {status}"
            );
        }
    }
}
