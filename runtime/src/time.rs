//! Times in profiles, sessions and rule dates: the three forms the contract allows, parsed by hand
//! (no date library), to microseconds since the Unix epoch, UTC.
//!
//! 1. RFC 3339 with a zone: `2026-11-25T10:00:00Z`, `2026-11-25 10:00:00.25+01:00` (`T`, `t` or a
//!    space between date and time; `Z`, `z` or `±HH:MM`; a fraction of any length, cut to
//!    microseconds; second 60 is read as the next second's start).
//! 2. `YYYY-MM-DDTHH:MM:SS`, no zone, read as UTC.
//! 3. `YYYY-MM-DD`, midnight UTC.
//!
//! Leading and trailing white space is ignored. Every field has exactly its number of digits (the
//! year four); anything else is not a time.

use crate::error::RuleError;

/// Parse a time field; `field` names it in the error.
pub fn parse_time(field: &str, text: &str) -> Result<i64, RuleError> {
    parse_micros(text.trim()).ok_or_else(|| RuleError::BadTime {
        field: field.into(),
        value: text.into(),
    })
}

/// Whether `text` is an RFC 3339 time with a zone (form 1), as `created` must be.
pub fn is_rfc3339(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() > 19 && parse_micros(text).is_some()
}

/// The current time, µs since the epoch.
pub fn now_micros() -> i64 {
    match std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => d.as_micros() as i64,
        Err(e) => -(e.duration().as_micros() as i64),
    }
}

/// µs since the epoch as RFC 3339 UTC with microseconds (`2026-11-25T10:00:00.000000Z`): form 1, so
/// `parse_time` reads it back to the same value.
pub fn format_micros(us: i64) -> String {
    let (days, rem) = (us.div_euclid(86_400_000_000), us.rem_euclid(86_400_000_000));
    let (y, m, d) = civil_from_days(days);
    let secs = rem / 1_000_000;
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:06}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60,
        rem % 1_000_000
    )
}

/// The date (year, month, day) of a day number since 1970-01-01 (Howard Hinnant's
/// `civil_from_days`).
pub fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn digits(b: &[u8], at: usize, n: usize) -> Option<i64> {
    let s = b.get(at..at + n)?;
    let mut v = 0i64;
    for &c in s {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + i64::from(c - b'0');
    }
    Some(v)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

fn parse_micros(t: &str) -> Option<i64> {
    let b = t.as_bytes();
    let (y, m, d) = (digits(b, 0, 4)?, digits(b, 5, 2)?, digits(b, 8, 2)?);
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return None;
    }
    if !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
        return None;
    }
    let day_us = days_from_civil(y, m, d) * 86_400_000_000;
    if b.len() == 10 {
        return Some(day_us);
    }
    if !matches!(b.get(10), Some(b'T' | b't' | b' ')) {
        return None;
    }
    let (hh, mm, ss) = (digits(b, 11, 2)?, digits(b, 14, 2)?, digits(b, 17, 2)?);
    if b.get(13) != Some(&b':') || b.get(16) != Some(&b':') || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    let mut us = day_us + ((hh * 60 + mm) * 60 + ss) * 1_000_000;
    if b.len() == 19 {
        // Form 2 (no zone) takes a `T` only, like form 1 takes a zone.
        return (b[10] == b'T').then_some(us);
    }
    let mut i = 19;
    if b[i] == b'.' {
        i += 1;
        let start = i;
        let mut frac = 0i64;
        while i < b.len() && b[i].is_ascii_digit() {
            if i - start < 6 {
                frac = frac * 10 + i64::from(b[i] - b'0');
            }
            i += 1;
        }
        if i == start {
            return None;
        }
        for _ in (i - start)..6 {
            frac *= 10;
        }
        us += frac;
    }
    match b.get(i..)? {
        [b'Z' | b'z'] => Some(us),
        [sign @ (b'+' | b'-'), rest @ ..] if rest.len() == 5 && rest[2] == b':' => {
            let (oh, om) = (digits(rest, 0, 2)?, digits(rest, 3, 2)?);
            if oh > 23 || om > 59 {
                return None;
            }
            let off = (oh * 60 + om) * 60_000_000;
            Some(if *sign == b'+' { us - off } else { us + off })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(t: &str) -> Option<i64> {
        parse_time("t", t).ok()
    }

    #[test]
    fn the_three_forms() {
        assert_eq!(p("1970-01-01"), Some(0));
        assert_eq!(p("1970-01-02T00:00:00"), Some(86_400_000_000));
        assert_eq!(p("2026-11-25T10:00:00Z"), Some(1_795_600_800_000_000));
        assert_eq!(
            p(" 2026-11-25T11:00:00+01:00 "),
            Some(1_795_600_800_000_000)
        );
        assert_eq!(p("2026-11-25 10:00:00.5z"), Some(1_795_600_800_500_000));
        assert_eq!(
            p("2026-11-25t10:00:00.1234567Z"),
            Some(1_795_600_800_123_456)
        );
        assert_eq!(p("1969-12-31T23:59:59Z"), Some(-1_000_000));
        assert_eq!(p("2024-02-29"), Some(19_782 * 86_400_000_000));
    }

    #[test]
    fn refused() {
        for t in [
            "",
            "2026-11-25T10:00Z",
            "2026-13-01",
            "2023-02-29",
            "2026-1-5",
            "26-11-25",
            "2026-11-25T24:00:00Z",
            "2026-11-25T10:00:00+1:00",
            "2026-11-25T10:00:00.Z",
            "2026-11-25 10:00:00",
            "2026-11-25T10:00:00+01:00x",
            "yesterday",
            "2026-11-25T",
        ] {
            assert_eq!(p(t), None, "{t:?}");
        }
        assert!(is_rfc3339("2026-11-25T10:00:00Z"));
        for us in [
            0,
            1,
            -1,
            1_795_600_800_123_456,
            -62_135_596_800_000_000,
            253_402_300_799_999_999,
        ] {
            assert_eq!(p(&format_micros(us)), Some(us), "{}", format_micros(us));
        }
        assert_eq!(
            format_micros(1_795_600_800_500_000),
            "2026-11-25T10:00:00.500000Z"
        );
        assert!(!is_rfc3339("2026-11-25"));
        assert!(!is_rfc3339("2026-11-25T10:00:00"));
    }
}
