//! Why a command was refused: [`RoomError`], a wire error code and a message for the person
//! who asked. Every rule returns it; nothing else about a refusal is kept.

use roundtable_protocol::ErrorCode;

/// Why a command was refused. Maps one to one onto a wire error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code:?}: {message}")]
pub struct RoomError {
    pub code: ErrorCode,
    pub message: String,
}

impl RoomError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        RoomError {
            code,
            message: message.into(),
        }
    }
}
