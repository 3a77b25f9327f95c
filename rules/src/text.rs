//! The one check of text that people type, used by every feature and by the HTTP API.
//!
//! Text is trimmed, then counted in characters (Unicode scalar values) against its limit.
//! A *line* (a name, a title) holds no control character at all; a *block* (notes, a comment,
//! a description) may hold line breaks (`\n`, `\r`) and tabs, and no other control character.
//! The answer is the trimmed text, or an `invalid` error that names the field.

use roundtable_protocol::ErrorCode;

use crate::error::RoomError;

/// A required line of text: a name or a title.
pub fn line(what: &str, text: &str, chars_max: usize) -> Result<String, RoomError> {
    required(what, check(what, text, chars_max, is_allowed_in_line)?)
}

/// A required block of free text.
pub fn required_block(what: &str, text: &str, chars_max: usize) -> Result<String, RoomError> {
    required(what, check(what, text, chars_max, is_allowed_in_block)?)
}

/// An optional block of free text: empty is fine.
pub fn block(what: &str, text: &str, chars_max: usize) -> Result<String, RoomError> {
    check(what, text, chars_max, is_allowed_in_block)
}

fn is_allowed_in_line(c: char) -> bool {
    !c.is_control()
}

fn is_allowed_in_block(c: char) -> bool {
    !c.is_control() || matches!(c, '\n' | '\r' | '\t')
}

fn check(
    what: &str,
    text: &str,
    chars_max: usize,
    allowed: fn(char) -> bool,
) -> Result<String, RoomError> {
    let trimmed = text.trim();
    let chars = trimmed.chars().count();
    if chars > chars_max {
        return Err(invalid(format!(
            "{what} has {chars} characters; at most {chars_max} are allowed"
        )));
    }
    if !trimmed.chars().all(allowed) {
        return Err(invalid(format!(
            "{what} must not contain control characters"
        )));
    }
    Ok(trimmed.to_string())
}

fn required(what: &str, text: String) -> Result<String, RoomError> {
    if text.is_empty() {
        return Err(invalid(format!("{what} must not be empty")));
    }
    Ok(text)
}

fn invalid(message: String) -> RoomError {
    RoomError::new(ErrorCode::Invalid, message)
}

/// The longest time zone name accepted; IANA names are far shorter.
pub const TIME_ZONE_CHARS_MAX: usize = 64;

/// Checks the form of an IANA time zone name ("Europe/Berlin", "America/Argentina/Salta",
/// "UTC", "Etc/GMT+5"): ASCII letters, digits and `_ + - /`, parts not empty. Whether the name
/// is a known zone is for whoever holds a time zone database.
pub fn time_zone(name: &str) -> Result<String, RoomError> {
    let well_formed = !name.is_empty()
        && name.len() <= TIME_ZONE_CHARS_MAX
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '+' | '-' | '/'))
        && name.split('/').all(|part| !part.is_empty());
    if !well_formed {
        return Err(RoomError::new(
            ErrorCode::Invalid,
            format!(
                "{:?} is not a time zone name (an IANA name such as Europe/Berlin)",
                name.chars().take(TIME_ZONE_CHARS_MAX).collect::<String>()
            ),
        ));
    }
    Ok(name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(result: Result<String, RoomError>) -> String {
        result.expect_err("refused").message
    }

    #[test]
    fn lines_and_blocks_are_trimmed_counted_and_checked_alike() {
        assert_eq!(line("name", "  Ann  ", 3).unwrap(), "Ann");
        assert_eq!(
            message(line("name", "Anne", 3)),
            "name has 4 characters; at most 3 are allowed"
        );
        assert_eq!(message(line("name", "  ", 3)), "name must not be empty");
        assert_eq!(
            message(line("name", "A\nB", 3)),
            "name must not contain control characters"
        );
        assert_eq!(block("notes", " a\r\n\tb ", 6).unwrap(), "a\r\n\tb");
        assert_eq!(block("notes", "   ", 6).unwrap(), "");
        assert_eq!(
            message(required_block("notes", " ", 6)),
            "notes must not be empty"
        );
        assert_eq!(
            message(block("notes", "a\u{7}b", 6)),
            "notes must not contain control characters"
        );
        // Characters, not bytes: four accented letters fit a limit of four.
        assert_eq!(line("name", "Émié", 4).unwrap(), "Émié");
    }

    #[test]
    fn time_zone_names_have_the_iana_form() {
        for good in [
            "UTC",
            "Europe/Berlin",
            "America/Argentina/Salta",
            "Etc/GMT+5",
            "America/Port-au-Prince",
        ] {
            assert_eq!(time_zone(good).unwrap(), good);
        }
        for bad in [
            "",
            "Europe//Berlin",
            "/UTC",
            "Europe/Berlin/",
            "Europe/Ber lin",
            "Europe\\Berlin",
            "Zone\u{0}",
            &"A".repeat(65),
        ] {
            assert_eq!(
                time_zone(bad).unwrap_err().code,
                ErrorCode::Invalid,
                "{bad:?}"
            );
        }
    }
}
