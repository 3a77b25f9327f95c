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
    let Some(kind) = value.get("type").and_then(serde_json::Value::as_str) else {
        return Err(FrameError {
            id,
            code: ErrorCode::Invalid,
            message: "every frame needs a \"type\" naming the request".into(),
        });
    };
    // Only the request's own type: an unknown value of a field (a reaction, a role) is a bad
    // field.
    if error
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
        message: bad_field(&value, kind)
            .unwrap_or_else(|| format!("the request \"{kind}\" is malformed: {error}")),
    })
}

/// Says which field of a known request is wrong, and how. serde's error for a request does not
/// name the field whose value it refused (the envelope is flattened, and the request is tagged
/// by its `type`, so the value reaches the field's type without its name), so each field is
/// tried alone: the one that fails for a reason other than the others' absence is the one.
/// `None` when no single field is to blame.
fn bad_field(frame: &serde_json::Value, kind: &str) -> Option<String> {
    let fields = frame.as_object()?;
    let all: serde_json::Map<String, serde_json::Value> = fields
        .iter()
        .filter(|(name, _)| !matches!(name.as_str(), "v" | "id"))
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect();
    let whole = serde_json::from_value::<Request>(serde_json::Value::Object(all)).err()?;
    let whole = whole.to_string();
    if let Some(missing) = quoted_after(&whole, "missing field `") {
        return Some(format!(
            "the request \"{kind}\" needs the field \"{missing}\""
        ));
    }
    if let Some(unknown) = quoted_after(&whole, "unknown field `") {
        return Some(format!(
            "the request \"{kind}\" has no field \"{unknown}\" ({whole})"
        ));
    }
    fields
        .iter()
        .filter(|(name, _)| !matches!(name.as_str(), "v" | "id" | "type"))
        .find_map(|(name, value)| {
            let alone = serde_json::json!({ "type": kind, name.as_str(): value });
            let error = serde_json::from_value::<Request>(alone).err()?.to_string();
            (!error.starts_with("missing field"))
                .then(|| format!("the field \"{name}\" of \"{kind}\" is invalid: {error}"))
        })
}

/// The text between `prefix` and the next backquote in `text`.
fn quoted_after<'t>(text: &'t str, prefix: &str) -> Option<&'t str> {
    let rest = &text[text.find(prefix)? + prefix.len()..];
    rest.split('`').next()
}

/// What a frame's types cannot say: a time zone name must be one the server's database knows.
fn checked(frame: ClientFrame) -> Result<ClientFrame, FrameError> {
    let time_zone = match &frame.request {
        Request::SetTimeZone { time_zone } => Some(time_zone),
        Request::SetSchedule {
            schedule: Some(schedule),
        } => Some(&schedule.time_zone),
        _ => None,
    };
    if let Some(time_zone) = time_zone
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
        assert!(missing.message.contains("\"name\""), "{}", missing.message);

        let bad_value =
            parse_frame(r#"{"v":1,"id":9,"type":"react","reaction":"boo"}"#).unwrap_err();
        assert_eq!(
            (bad_value.id, bad_value.code),
            (Some(9), ErrorCode::Invalid)
        );
        assert!(bad_value.message.contains("boo"), "{}", bad_value.message);

        let no_type = parse_frame(r#"{"v":1,"id":10,"type":5}"#).unwrap_err();
        assert_eq!((no_type.id, no_type.code), (Some(10), ErrorCode::Invalid));
        assert!(no_type.message.contains("\"type\""), "{}", no_type.message);

        let no_id = parse_frame(r#"{"v":1,"type":"raise_hand"}"#).unwrap_err();
        assert_eq!((no_id.id, no_id.code), (None, ErrorCode::Invalid));

        let good = parse_frame(r#"{"v":1,"id":8,"type":"raise_hand"}"#).expect("valid frame");
        assert_eq!(good.request, Request::RaiseHand);
    }

    #[test]
    fn a_known_request_with_a_bad_value_is_invalid_and_names_the_field() {
        for (frame, field, also) in [
            (
                r#"{"v":1,"id":1,"type":"extend_timer","delta_ms":"ten"}"#,
                "delta_ms",
                "\"ten\"",
            ),
            (
                r#"{"v":1,"id":1,"type":"start_round","auto_advance":true,"speaker_time_box_ms":-5}"#,
                "speaker_time_box_ms",
                "-5",
            ),
            (
                r#"{"v":1,"id":1,"type":"start_round","speaker_time_box_ms":60000,"auto_advance":"yes"}"#,
                "auto_advance",
                "yes",
            ),
            (
                r#"{"v":1,"id":1,"type":"react","reaction":"boo"}"#,
                "reaction",
                "boo",
            ),
            (
                r#"{"v":1,"id":1,"type":"remove_member","member_id":"nope"}"#,
                "member_id",
                "UUID",
            ),
            (
                r#"{"v":1,"id":1,"type":"ping","client_time_ms":"now"}"#,
                "client_time_ms",
                "now",
            ),
            (
                r#"{"v":1,"id":1,"type":"extend_timer"}"#,
                "delta_ms",
                "needs",
            ),
            (
                r#"{"v":1,"id":1,"type":"extend_timer","delta_ms":5,"minutes":1}"#,
                "minutes",
                "no field",
            ),
        ] {
            let error = parse_frame(frame).unwrap_err();
            assert_eq!(
                (error.id, error.code),
                (Some(1), ErrorCode::Invalid),
                "{frame}"
            );
            assert!(
                error.message.contains(&format!("\"{field}\"")) && error.message.contains(also),
                "{frame}: {}",
                error.message
            );
        }
    }
}
