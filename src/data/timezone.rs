//! The time zone an export writes its times in, when the times do not say it: Mixpanel's raw export
//! gives epoch seconds in the project's time zone (projects made before 2023; US/Pacific by
//! default), and shop or CRM exports write naive local times. Read as UTC they shift every event
//! by hours, and with them the calendar days (`active_days`) and recency.
//!
//! A zone is an IANA name (`America/Los_Angeles`: its daylight-saving rules apply per time), `UTC`,
//! or a fixed offset (`+02:00`, `-0700`). A local time is converted with the offset in force at that
//! time; in the hour that repeats when clocks go back the earlier reading is taken, and a time that
//! does not exist (clocks went forward) is read with the offset before the change.

use chrono::{NaiveDateTime, Offset, TimeZone as _};

use super::timestamp::TimeEncoding;

/// A time zone an export's local times are read in.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Zone {
    /// Seconds east of UTC.
    Fixed(i32),
    Named(chrono_tz::Tz),
}

/// The zone named `s`; the error says what is accepted.
pub fn parse(s: &str) -> Result<Zone, String> {
    let t = s.trim();
    if t.eq_ignore_ascii_case("utc") || t.eq_ignore_ascii_case("z") {
        return Ok(Zone::Fixed(0));
    }
    if let Some(secs) = fixed_offset(t) {
        return Ok(Zone::Fixed(secs));
    }
    t.parse::<chrono_tz::Tz>().map(Zone::Named).map_err(|_| {
        format!(
            "{s:?} is not a time zone: give an IANA name such as America/Los_Angeles or \
             Europe/Berlin, UTC, or an offset such as +02:00"
        )
    })
}

/// `+02:00`, `-0700`, `+5`: seconds east of UTC (at most 14 hours).
fn fixed_offset(t: &str) -> Option<i32> {
    let (sign, rest) = match t.as_bytes().first()? {
        b'+' => (1, &t[1..]),
        b'-' => (-1, &t[1..]),
        _ => return None,
    };
    let digits: String = rest.chars().filter(|c| *c != ':').collect();
    if digits.is_empty() || digits.len() > 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (h, m) = match digits.len() {
        1 | 2 => (digits.parse::<i32>().ok()?, 0),
        3 => (digits[..1].parse().ok()?, digits[1..].parse().ok()?),
        _ => (digits[..2].parse().ok()?, digits[2..].parse().ok()?),
    };
    (h <= 14 && m < 60).then_some(sign * (h * 3600 + m * 60))
}

impl Zone {
    /// Seconds east of UTC in force at the local time `local`.
    fn offset_at(&self, local: &NaiveDateTime) -> i32 {
        match self {
            Zone::Fixed(s) => *s,
            Zone::Named(tz) => {
                let at = |l: &NaiveDateTime| {
                    tz.offset_from_local_datetime(l)
                        .earliest()
                        .map(|o| o.fix().local_minus_utc())
                };
                // A skipped local time: the offset an hour before it (before the change).
                at(local)
                    .or_else(|| at(&(*local - chrono::Duration::hours(1))))
                    .unwrap_or(0)
            }
        }
    }

    /// The UTC instant of a local time given as microseconds since the epoch read as if UTC.
    pub fn to_utc(&self, local_micros: i64) -> Option<i64> {
        let local = chrono::DateTime::from_timestamp_micros(local_micros)?.naive_utc();
        let off = i64::from(self.offset_at(&local));
        local_micros.checked_sub(off * 1_000_000)
    }
}

/// Whether times read with `enc` already say their zone (then a zone setting leaves them alone).
pub fn says_zone(enc: &TimeEncoding) -> bool {
    match enc {
        TimeEncoding::Iso8601Zoned => true,
        TimeEncoding::Format(f) => {
            f.contains("%z")
                || f.contains("%:z")
                || f.contains("%#z")
                || f.contains("%Z")
                || f.trim_end().ends_with("UTC")
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn micros(s: &str) -> i64 {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S")
            .unwrap()
            .and_utc()
            .timestamp_micros()
    }

    #[test]
    fn local_times_become_utc_with_the_offset_in_force() {
        let la = parse("America/Los_Angeles").unwrap();
        // Summer (PDT, UTC-7) and winter (PST, UTC-8).
        assert_eq!(
            la.to_utc(micros("2024-07-01 12:00:00")),
            Some(micros("2024-07-01 19:00:00"))
        );
        assert_eq!(
            la.to_utc(micros("2024-01-15 12:00:00")),
            Some(micros("2024-01-15 20:00:00"))
        );
        // Clocks go back on 2024-11-03 at 02:00 PDT: 01:30 happens twice; the first (PDT) is taken.
        assert_eq!(
            la.to_utc(micros("2024-11-03 01:30:00")),
            Some(micros("2024-11-03 08:30:00"))
        );
        // Clocks go forward on 2024-03-10 at 02:00: 02:30 does not exist; read with PST.
        assert_eq!(
            la.to_utc(micros("2024-03-10 02:30:00")),
            Some(micros("2024-03-10 10:30:00"))
        );
        let berlin = parse(" Europe/Berlin ").unwrap();
        assert_eq!(
            berlin.to_utc(micros("2024-07-01 12:00:00")),
            Some(micros("2024-07-01 10:00:00"))
        );
    }

    #[test]
    fn fixed_offsets_and_utc_are_read() {
        assert_eq!(parse("UTC"), Ok(Zone::Fixed(0)));
        assert_eq!(parse("+02:00"), Ok(Zone::Fixed(7200)));
        assert_eq!(parse("-0700"), Ok(Zone::Fixed(-25200)));
        assert_eq!(parse("+5"), Ok(Zone::Fixed(18000)));
        assert_eq!(parse("+0530"), Ok(Zone::Fixed(19800)));
        let m = micros("2024-07-01 12:00:00");
        assert_eq!(
            parse("+02:00").unwrap().to_utc(m),
            Some(micros("2024-07-01 10:00:00"))
        );
        for bad in ["Mars/Olympus", "+25:00", "+02:75", "", "CET+1"] {
            let e = parse(bad).unwrap_err();
            assert!(e.contains("is not a time zone"), "{bad}: {e}");
        }
    }

    #[test]
    fn times_that_say_their_zone_are_left_alone() {
        assert!(says_zone(&TimeEncoding::Iso8601Zoned));
        assert!(says_zone(&TimeEncoding::Format(
            "%Y-%m-%d %H:%M:%S%.f UTC".into()
        )));
        assert!(says_zone(&TimeEncoding::Format("%d/%m/%Y %H:%M %z".into())));
        assert!(!says_zone(&TimeEncoding::Format("%d/%m/%Y %H:%M".into())));
        assert!(!says_zone(&TimeEncoding::EpochSeconds));
    }
}
