//! The one check of text that people type, used by every feature and by the HTTP API.
//!
//! Text is trimmed, then counted in characters (Unicode scalar values) against its limit.
//! A *line* (a name, a title) holds no control character at all; a *block* (notes, a comment,
//! a description) may hold line breaks (`\n`, `\r`) and tabs, and no other control character.
//! Neither holds what makes text look like something else: bidirectional overrides and
//! isolates (U+202A–U+202E, U+2066–U+2069), invisible zero-width spaces (U+200B, U+2060,
//! U+FEFF, U+180E) and the Unicode line and paragraph separators (U+2028, U+2029). The
//! zero-width joiner and non-joiner stay: Persian and Hindi words and emoji sequences need them
//! ([`same_name`] ignores them instead). The answer is the trimmed text, or an `invalid` error
//! that names the field.

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
    !c.is_control() && !is_deceptive(c)
}

fn is_allowed_in_block(c: char) -> bool {
    (!c.is_control() || matches!(c, '\n' | '\r' | '\t')) && !is_deceptive(c)
}

/// Characters that make text look like other text: bidi overrides and isolates, invisible
/// spaces, line and paragraph separators.
fn is_deceptive(c: char) -> bool {
    matches!(
        c,
        '\u{202A}'..='\u{202E}'
            | '\u{2066}'..='\u{2069}'
            | '\u{200B}'
            | '\u{2060}'
            | '\u{FEFF}'
            | '\u{180E}'
            | '\u{2028}'
            | '\u{2029}'
    )
}

/// The form two names are compared in: compatibility-normalized (NFKC: "ｆｒａｎ" is "fran"),
/// lowercased, without the characters that do not show (joiners, direction marks, soft
/// hyphens, variation selectors) and with runs of spaces as one. Two names with the same form
/// read the same to the people in a group.
pub fn same_name(name: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    let shown: String = name
        .nfkc()
        .filter(|c| {
            !matches!(
                c,
                '\u{200C}'
                    | '\u{200D}'
                    | '\u{200E}'
                    | '\u{200F}'
                    | '\u{00AD}'
                    | '\u{034F}'
                    | '\u{FE00}'..='\u{FE0F}'
            ) && !is_deceptive(*c)
        })
        .flat_map(char::to_lowercase)
        .collect();
    shown.split_whitespace().collect::<Vec<_>>().join(" ")
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
    if let Some(bad) = trimmed.chars().find(|c| !allowed(*c)) {
        if bad.is_control() {
            return Err(invalid(format!(
                "{what} must not contain control characters"
            )));
        }
        return Err(invalid(format!(
            "{what} must not contain invisible or direction-changing characters (U+{:04X})",
            u32::from(bad)
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

/// Longest video call link: meeting links with passcodes are well under 200 characters.
pub const CALL_URL_CHARS_MAX: usize = 500;

/// A video call link: an `https` URL of any video service (Zoom, Meet, Teams, Jitsi, ...),
/// trimmed, with a host, without user credentials, in printable ASCII (a browser copies a link
/// percent-encoded, and non-ASCII hosts in their `xn--` form). Anything else could be a script
/// (`javascript:`), a page that is not encrypted, or text that looks like another address.
pub fn call_url(url: &str) -> Result<String, RoomError> {
    let refuse = |why: &str| {
        Err(RoomError::new(
            ErrorCode::Invalid,
            format!("the call link {why}"),
        ))
    };
    let url = url.trim();
    if url.chars().count() > CALL_URL_CHARS_MAX {
        return refuse(&format!(
            "is too long (at most {CALL_URL_CHARS_MAX} characters)"
        ));
    }
    let Some(rest) = url
        .get(..8)
        .filter(|scheme| scheme.eq_ignore_ascii_case("https://"))
        .map(|_| &url[8..])
    else {
        return refuse("must start with https://");
    };
    if let Some(bad) = rest.chars().find(|c| {
        !c.is_ascii_graphic() || matches!(c, '"' | '<' | '>' | '\\' | '^' | '`' | '{' | '|' | '}')
    }) {
        return refuse(&format!(
            "cannot hold {bad:?} (paste it as the video service gives it)"
        ));
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return refuse("must not hold a user name or password");
    }
    let host = match authority.strip_prefix('[') {
        Some(bracketed) => bracketed.split(']').next().unwrap_or_default(),
        None => authority.split(':').next().unwrap_or_default(),
    };
    let port = authority
        .rsplit_once(']')
        .map_or(authority, |(_, after)| after);
    let port_ok = match port.rsplit_once(':') {
        Some((_, digits)) if !authority.starts_with('[') || port.starts_with(':') => {
            !digits.is_empty() && digits.len() <= 5 && digits.bytes().all(|b| b.is_ascii_digit())
        }
        _ => true,
    };
    let host_ok = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'));
    if !host_ok || !port_ok {
        return refuse("has no valid host (such as https://meet.example.com/abc)");
    }
    Ok(format!("https://{rest}"))
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

    #[test]
    fn text_that_looks_like_other_text_is_refused() {
        for bad in [
            "Fran\u{200B}",
            "\u{202E}narF",
            "Fr\u{2066}an\u{2069}",
            "Fran\u{2028}Admin",
            "\u{FEFF}Fran",
        ] {
            let error = line("display name", bad, 60).unwrap_err();
            assert_eq!(error.code, ErrorCode::Invalid, "{bad:?}");
            assert!(
                error.message.contains("invisible or direction-changing"),
                "{}",
                error.message
            );
        }
        assert!(block("notes", "Deal \u{202E}reversed", 100).is_err());
        // Joiners stay: a Persian name and an emoji family are fine.
        assert!(line("display name", "Mehr\u{200C}nush", 60).is_ok());
        assert!(
            line(
                "practice title",
                "Team \u{1F468}\u{200D}\u{1F469}\u{200D}\u{1F467}",
                60
            )
            .is_ok()
        );
    }

    #[test]
    fn names_that_read_the_same_have_the_same_form() {
        let fran = same_name("Fran");
        for alike in [
            "fran",
            "FRAN",
            " Fran ",
            "\u{FF26}\u{FF52}\u{FF41}\u{FF4E}",
            "Fr\u{200D}an",
            "Fran\u{FE0F}",
            "Fr\u{00AD}an",
        ] {
            assert_eq!(same_name(alike), fran, "{alike:?}");
        }
        assert_eq!(same_name("Ann  Lee"), same_name("ann lee"));
        assert_ne!(same_name("Fran"), same_name("Frank"));
    }
    #[test]
    fn call_links_are_https_urls_of_any_service() {
        for good in [
            "https://us02web.zoom.us/j/85412345678?pwd=aBcD1234",
            "https://meet.google.com/abc-defg-hij",
            "https://teams.microsoft.com/l/meetup-join/19%3ameeting_x%40thread.v2/0",
            "https://meet.jit.si/FridaySalesPeers",
            "https://video.example.com:8443/room#lobby",
            "https://[2001:db8::1]:443/call",
        ] {
            assert_eq!(call_url(good).unwrap(), good);
        }
        assert_eq!(
            call_url("  HTTPS://Meet.Example.com/x ").unwrap(),
            "https://Meet.Example.com/x"
        );
        let refused = |url: &str| message(call_url(url));
        assert_eq!(
            refused("http://meet.example.com/x"),
            "the call link must start with https://"
        );
        assert_eq!(
            refused("javascript:alert(1)"),
            "the call link must start with https://"
        );
        assert_eq!(
            refused("meet.example.com"),
            "the call link must start with https://"
        );
        assert!(refused("https://").contains("no valid host"));
        assert!(refused("https:///path").contains("no valid host"));
        assert!(refused("https://exa mple.com").contains("' '"));
        assert!(refused("https://example.com/\u{202e}gpj").contains("cannot hold"));
        assert!(refused("https://münchen.de/call").contains("cannot hold"));
        assert!(refused("https://example.com/<script>").contains("cannot hold"));
        assert!(refused("https://user:pass@evil.example/").contains("user name or password"));
        assert!(refused("https://example.com:99999999/").contains("no valid host"));
        assert!(refused("https://example.com:/").contains("no valid host"));
        let long = format!("https://example.com/{}", "a".repeat(CALL_URL_CHARS_MAX));
        assert_eq!(
            refused(&long),
            "the call link is too long (at most 500 characters)"
        );
    }
}
