//! Time zones, from the time zone database built into the binary (jiff's bundled copy, so a
//! machine without system zone files gives the same answers): which names exist, and the
//! offset from UTC the minutes print for a moment.

use jiff::Timestamp;
use jiff::tz::TimeZone;
use roundtable_protocol::UnixMs;
use roundtable_rules::minutes::LocalTime;
use roundtable_rules::text;

/// Checks a time zone name: its form (the rules' check) and that the database knows it.
pub fn check(name: &str) -> Result<(), String> {
    text::time_zone(name).map_err(|error| error.message)?;
    TimeZone::get(name).map(|_| ()).map_err(|_| {
        format!(
            "{name:?} is not a time zone this server knows (an IANA name such as Europe/Berlin)"
        )
    })
}

/// A named zone the minutes are written in.
#[derive(Debug, Clone)]
pub struct Zone {
    name: String,
    zone: TimeZone,
}

impl Zone {
    /// The zone of that name; UTC when there is none (or, for a record older than a database
    /// update, when the database no longer knows it).
    pub fn named(name: Option<&str>) -> Zone {
        name.and_then(|name| {
            TimeZone::get(name).ok().map(|zone| Zone {
                name: name.to_string(),
                zone,
            })
        })
        .unwrap_or_else(|| Zone {
            name: "UTC".into(),
            zone: TimeZone::UTC,
        })
    }
}

impl roundtable_rules::schedule::Offsets for Zone {
    fn offset_seconds(&self, ms: UnixMs) -> i32 {
        LocalTime::offset_seconds(self, ms)
    }
}

impl Zone {
    /// The zone's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// jiff's zone, for the calendar's VTIMEZONE.
    pub fn zone(&self) -> &TimeZone {
        &self.zone
    }
}

impl LocalTime for Zone {
    fn zone_name(&self) -> &str {
        &self.name
    }

    fn offset_seconds(&self, ms: UnixMs) -> i32 {
        let Ok(at) = Timestamp::from_millisecond(ms.min(i64::MAX as u64) as i64) else {
            return 0;
        };
        self.zone.to_offset(at).seconds()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use roundtable_rules::minutes::local_minute;

    #[test]
    fn names_are_checked_against_the_database() {
        assert!(check("Europe/Berlin").is_ok());
        assert!(check("America/Argentina/Salta").is_ok());
        assert!(check("UTC").is_ok());
        assert!(
            check("Mars/Olympus_Mons")
                .unwrap_err()
                .contains("not a time zone this server knows")
        );
        assert!(
            check("../etc/passwd")
                .unwrap_err()
                .contains("not a time zone name")
        );
        assert!(check("").is_err());
    }

    #[test]
    fn the_minutes_name_the_wall_clock_with_its_offset_summer_and_winter() {
        let berlin = Zone::named(Some("Europe/Berlin"));
        // 2026-12-05 09:30 UTC is 10:30 in Berlin (winter); 2026-07-01 09:30 UTC is 11:30.
        assert_eq!(
            local_minute(1_796_463_000_000, &berlin),
            "2026-12-05 10:30 Europe/Berlin (UTC+01:00)"
        );
        assert_eq!(
            local_minute(1_782_898_200_000, &berlin),
            "2026-07-01 11:30 Europe/Berlin (UTC+02:00)"
        );
        let new_york = Zone::named(Some("America/New_York"));
        assert_eq!(
            local_minute(1_796_463_000_000, &new_york),
            "2026-12-05 04:30 America/New_York (UTC-05:00)"
        );
        assert_eq!(
            local_minute(1_796_463_000_000, &Zone::named(None)),
            "2026-12-05 09:30 UTC"
        );
        assert_eq!(
            local_minute(1_796_463_000_000, &Zone::named(Some("Nowhere/Known"))),
            "2026-12-05 09:30 UTC"
        );
    }
}
