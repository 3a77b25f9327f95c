//! Parsing a client's frame, telling its errors apart.

use roundtable_protocol::{ClientFrame, ErrorCode, PROTOCOL_VERSION, Request, RequestId};

/// A parse failure, with the request id when the frame had one.
#[derive(Debug, PartialEq)]
pub struct FrameError {
    pub id: Option<RequestId>,
    pub code: ErrorCode,
    pub message: String,
}

/// Parses a client frame, telling apart bad JSON, a wrong version, an unknown type and a bad
/// field, so the client gets the most useful error code.
pub fn parse_frame(text: &str) -> Result<ClientFrame, FrameError> {
    let error = match serde_json::from_str::<ClientFrame>(text) {
        Ok(frame) if frame.v == PROTOCOL_VERSION => return checked(frame),
        Ok(frame) => {
            return Err(FrameError {
                id: Some(frame.id),
                code: ErrorCode::UnsupportedVersion,
                message: format!(
                    "this server speaks protocol version {PROTOCOL_VERSION}, not {}",
                    frame.v
                ),
            });
        }
        Err(error) => error,
    };
    let value: serde_json::Value = match serde_json::from_str(text) {
        Ok(value) => value,
        Err(parse) => {
            return Err(FrameError {
                id: None,
                code: ErrorCode::Invalid,
                message: format!("the frame is not valid JSON: {parse}"),
            });
        }
    };
    let id = value.get("id").and_then(serde_json::Value::as_u64);
    match value.get("v").and_then(serde_json::Value::as_u64) {
        Some(v) if v == u64::from(PROTOCOL_VERSION) => {}
        Some(v) => {
            return Err(FrameError {
                id,
                code: ErrorCode::UnsupportedVersion,
                message: format!("this server speaks protocol version {PROTOCOL_VERSION}, not {v}"),
            });
        }
        None => {
            return Err(FrameError {
                id,
                code: ErrorCode::Invalid,
                message: format!(
                    "every frame needs \"v\": {PROTOCOL_VERSION} (the protocol version)"
                ),
            });
        }
    }
    if id.is_none() {
        return Err(FrameError {
            id,
            code: ErrorCode::Invalid,
            message: "every frame needs a numeric \"id\" chosen by the client".into(),
        });
    }
    // Only the request's own type: an unknown value of a field (a reaction, a role) is a bad
    // field.
    if let Some(kind) = value.get("type").and_then(serde_json::Value::as_str)
        && error
            .to_string()
            .contains(&format!("unknown variant `{kind}`"))
    {
        return Err(FrameError {
            id,
            code: ErrorCode::UnknownType,
            message: format!("there is no request of type \"{kind}\""),
        });
    }
    Err(FrameError {
        id,
        code: ErrorCode::Invalid,
        message: format!("the request is malformed: {error}"),
    })
}

/// What a frame's types cannot say: a time zone name must be one the server's database knows.
fn checked(frame: ClientFrame) -> Result<ClientFrame, FrameError> {
    if let Request::SetTimeZone { time_zone } = &frame.request
        && let Err(message) = crate::time_zone::check(time_zone)
    {
        return Err(FrameError {
            id: Some(frame.id),
            code: ErrorCode::Invalid,
            message,
        });
    }
    Ok(frame)
}

pub fn peek_id(text: &str) -> Option<RequestId> {
    serde_json::from_str::<serde_json::Value>(text)
        .ok()?
        .get("id")?
        .as_u64()
}

#[cfg(test)]
mod tests {
    use roundtable_protocol::Request;

    use super::*;

    #[test]
    fn parse_tells_errors_apart() {
        let bad_json = parse_frame("{not json").unwrap_err();
        assert_eq!((bad_json.id, bad_json.code), (None, ErrorCode::Invalid));

        let version =
            parse_frame(r#"{"v":2,"id":5,"type":"ping","client_time_ms":1}"#).unwrap_err();
        assert_eq!(
            (version.id, version.code),
            (Some(5), ErrorCode::UnsupportedVersion)
        );

        let unknown = parse_frame(r#"{"v":1,"id":6,"type":"dance"}"#).unwrap_err();
        assert_eq!(
            (unknown.id, unknown.code),
            (Some(6), ErrorCode::UnknownType)
        );

        let missing = parse_frame(r#"{"v":1,"id":7,"type":"rename_group"}"#).unwrap_err();
        assert_eq!((missing.id, missing.code), (Some(7), ErrorCode::Invalid));
        assert!(missing.message.contains("name"), "{}", missing.message);

        let bad_value =
            parse_frame(r#"{"v":1,"id":9,"type":"react","reaction":"boo"}"#).unwrap_err();
        assert_eq!(
            (bad_value.id, bad_value.code),
            (Some(9), ErrorCode::Invalid)
        );
        assert!(bad_value.message.contains("boo"), "{}", bad_value.message);

        let no_id = parse_frame(r#"{"v":1,"type":"raise_hand"}"#).unwrap_err();
        assert_eq!((no_id.id, no_id.code), (None, ErrorCode::Invalid));

        let good = parse_frame(r#"{"v":1,"id":8,"type":"raise_hand"}"#).expect("valid frame");
        assert_eq!(good.request, Request::RaiseHand);
    }
}
