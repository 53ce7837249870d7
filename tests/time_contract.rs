//! The runtime parses times by hand (it has no date library). chrono, which the analysis uses, is the
//! oracle: on 20,000 seeded strings in and around the contract's three forms, both accept the same
//! strings and give the same microseconds.

use persona_lab::rules::parse_time;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn chrono_time(t: &str) -> Option<i64> {
    let t = t.trim();
    if let Ok(d) = chrono::DateTime::parse_from_rfc3339(t) {
        return Some(d.timestamp_micros());
    }
    if let Ok(d) = chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S") {
        return Some(d.and_utc().timestamp_micros());
    }
    chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc().timestamp_micros())
}

#[test]
fn hand_parsed_times_equal_chronos() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut accepted = 0;
    for _ in 0..20_000 {
        let date = format!(
            "{:04}-{:02}-{:02}",
            rng.random_range(1600..2400),
            rng.random_range(0..14),
            rng.random_range(0..33)
        );
        let time = format!(
            "{:02}:{:02}:{:02}",
            rng.random_range(0..25),
            rng.random_range(0..61),
            rng.random_range(0..62)
        );
        let sep = ["T", "t", " ", "_"][rng.random_range(0..4)];
        let frac = match rng.random_range(0..4) {
            0 => String::new(),
            1 => ".".into(),
            _ => format!(
                ".{}",
                "123456789012".get(..rng.random_range(1..12)).unwrap()
            ),
        };
        let zone = match rng.random_range(0..6) {
            0 => String::new(),
            1 => "Z".into(),
            2 => "z".into(),
            3 => format!(
                "+{:02}:{:02}",
                rng.random_range(0..25),
                rng.random_range(0..61)
            ),
            4 => format!(
                "-{:02}:{:02}",
                rng.random_range(0..25),
                rng.random_range(0..61)
            ),
            _ => "+0100".into(),
        };
        let text = match rng.random_range(0..5) {
            0 => date,
            1 => format!("{date}T{time}"),
            _ => format!("{date}{sep}{time}{frac}{zone}"),
        };
        let ours = parse_time("t", &text).ok();
        assert_eq!(ours, chrono_time(&text), "{text:?}");
        accepted += usize::from(ours.is_some());
    }
    // Both outcomes are exercised, not only refusals.
    assert!(accepted > 3_000, "{accepted}");
}
