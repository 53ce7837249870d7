//! Timestamp parsing: ISO-8601 with or without zone, `YYYY-MM-DD HH:MM:SS`, `YYYYMMDD`, epoch seconds /
//! milliseconds / microseconds / nanoseconds (by magnitude), or an explicit strftime format.
//! Everything becomes microseconds since the Unix epoch, UTC.

use chrono::{DateTime, NaiveDate, NaiveDateTime};
use polars::prelude::*;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// How a timestamp column was read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TimeEncoding {
    EpochSeconds,
    EpochMillis,
    EpochMicros,
    EpochNanos,
    /// Integers such as 20240131.
    YyyyMmDd,
    /// RFC 3339 / ISO-8601 with a zone offset or `Z`.
    Iso8601Zoned,
    /// A strftime format (naive times are taken as UTC).
    Format(String),
}

impl std::fmt::Display for TimeEncoding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TimeEncoding::EpochSeconds => f.write_str("epoch seconds"),
            TimeEncoding::EpochMillis => f.write_str("epoch milliseconds"),
            TimeEncoding::EpochMicros => f.write_str("epoch microseconds"),
            TimeEncoding::EpochNanos => f.write_str("epoch nanoseconds"),
            TimeEncoding::YyyyMmDd => f.write_str("YYYYMMDD"),
            TimeEncoding::Iso8601Zoned => f.write_str("ISO-8601 with zone"),
            TimeEncoding::Format(s) => write!(f, "format {s:?}"),
        }
    }
}

/// Result of parsing a timestamp column.
pub struct ParsedTimes {
    /// Microseconds since the epoch, UTC; null where the value was missing or could not be parsed.
    pub micros: Int64Chunked,
    pub encoding: TimeEncoding,
    /// Positions (0-based) whose value was present but unparseable.
    pub failed: Vec<usize>,
    /// Positions (0-based) whose value was missing.
    pub missing: Vec<usize>,
    /// Epoch numbers in more than one unit (seconds beside microseconds: two systems' exports
    /// appended): how many values each unit read, each value in the unit its size implies. Empty
    /// when the column has one unit.
    pub mixed_units: Vec<(TimeEncoding, usize)>,
}

/// Naive formats tried in order when no format is given (naive times are UTC).
const NAIVE_FORMATS: &[&str] = &[
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S%.f UTC",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y-%m-%d",
    "%Y/%m/%d",
    "%Y%m%d",
];

/// Parse one text value with a given encoding.
fn parse_text(s: &str, enc: &TimeEncoding) -> Option<i64> {
    let s = s.trim();
    match enc {
        TimeEncoding::Iso8601Zoned => DateTime::parse_from_rfc3339(s)
            .or_else(|_| DateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f%#z"))
            .or_else(|_| DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%#z"))
            .ok()
            .map(|d| d.timestamp_micros()),
        TimeEncoding::Format(fmt) => {
            if let Ok(d) = DateTime::parse_from_str(s, fmt) {
                return Some(d.timestamp_micros());
            }
            if let Ok(d) = NaiveDateTime::parse_from_str(s, fmt) {
                return Some(d.and_utc().timestamp_micros());
            }
            NaiveDate::parse_from_str(s, fmt)
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|d| d.and_utc().timestamp_micros())
        }
        TimeEncoding::YyyyMmDd => s.parse::<i64>().ok().and_then(yyyymmdd_to_micros),
        _ => s.parse::<f64>().ok().and_then(|v| epoch_to_micros(v, enc)),
    }
}

fn yyyymmdd_to_micros(v: i64) -> Option<i64> {
    let (y, m, d) = (
        (v / 10_000) as i32,
        (v / 100 % 100) as u32,
        (v % 100) as u32,
    );
    NaiveDate::from_ymd_opt(y, m, d)?
        .and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc().timestamp_micros())
}

/// The epoch unit a value's size implies. The bands of plausible dates (1973..5138) do not overlap:
/// seconds below 1e11, milliseconds below 1e14, microseconds below 1e17, nanoseconds above.
fn unit_of(v: f64) -> TimeEncoding {
    let v = v.abs();
    if v >= 1e17 {
        TimeEncoding::EpochNanos
    } else if v >= 1e14 {
        TimeEncoding::EpochMicros
    } else if v >= 1e11 {
        TimeEncoding::EpochMillis
    } else {
        TimeEncoding::EpochSeconds
    }
}

fn is_epoch(enc: &TimeEncoding) -> bool {
    matches!(
        enc,
        TimeEncoding::EpochSeconds
            | TimeEncoding::EpochMillis
            | TimeEncoding::EpochMicros
            | TimeEncoding::EpochNanos
    )
}

/// An epoch number in microseconds. Each value is read in the unit its own size implies, so a
/// column where two exports with different units were appended reads right (with the column's unit,
/// the minority would land in 1970 or in the year 56,000).
fn epoch_to_micros(v: f64, enc: &TimeEncoding) -> Option<i64> {
    if !v.is_finite() {
        return None;
    }
    let own;
    let enc = if is_epoch(enc) {
        own = unit_of(v);
        &own
    } else {
        enc
    };
    let micros = match enc {
        TimeEncoding::EpochSeconds => v * 1e6,
        TimeEncoding::EpochMillis => v * 1e3,
        TimeEncoding::EpochMicros => v,
        TimeEncoding::EpochNanos => v / 1e3,
        TimeEncoding::YyyyMmDd => return yyyymmdd_to_micros(v as i64),
        _ => return None,
    };
    Some(micros.round() as i64)
}

fn looks_like_yyyymmdd(values: &[f64]) -> bool {
    !values.is_empty()
        && values.iter().all(|&v| {
            v.fract() == 0.0
                && (19_000_101.0..=21_001_231.0).contains(&v)
                && yyyymmdd_to_micros(v as i64).is_some()
        })
}

/// Decide the epoch unit from the magnitude of the values (median of a sample).
fn epoch_unit(sample: &[f64]) -> TimeEncoding {
    if looks_like_yyyymmdd(sample) {
        return TimeEncoding::YyyyMmDd;
    }
    let mut v: Vec<f64> = sample.iter().map(|x| x.abs()).collect();
    v.sort_by(f64::total_cmp);
    let median = v.get(v.len() / 2).copied().unwrap_or(0.0);
    unit_of(median)
}

/// How many of `values` each epoch unit reads, when there is more than one.
fn units_in(values: impl Iterator<Item = f64>) -> Vec<(TimeEncoding, usize)> {
    let mut counts = [0usize; 4];
    for v in values {
        counts[match unit_of(v) {
            TimeEncoding::EpochSeconds => 0,
            TimeEncoding::EpochMillis => 1,
            TimeEncoding::EpochMicros => 2,
            _ => 3,
        }] += 1;
    }
    if counts.iter().filter(|&&c| c > 0).count() < 2 {
        return Vec::new();
    }
    [
        TimeEncoding::EpochSeconds,
        TimeEncoding::EpochMillis,
        TimeEncoding::EpochMicros,
        TimeEncoding::EpochNanos,
    ]
    .into_iter()
    .zip(counts)
    .filter(|(_, c)| *c > 0)
    .collect()
}

/// An integer epoch in microseconds, exactly, in the unit its size implies (see `epoch_to_micros`).
fn int_epoch_to_micros(i: i64) -> i64 {
    match unit_of(i as f64) {
        TimeEncoding::EpochSeconds => i.saturating_mul(1_000_000),
        TimeEncoding::EpochMillis => i.saturating_mul(1_000),
        TimeEncoding::EpochNanos => i / 1_000,
        _ => i,
    }
}

/// Choose how to read text timestamps from a sample of values.
fn detect_text_encoding(sample: &[&str]) -> Option<TimeEncoding> {
    let numeric: Vec<f64> = sample
        .iter()
        .filter_map(|s| s.trim().parse::<f64>().ok())
        .collect();
    if !sample.is_empty() && numeric.len() == sample.len() {
        return Some(epoch_unit(&numeric));
    }
    let mut candidates = vec![TimeEncoding::Iso8601Zoned];
    candidates.extend(
        NAIVE_FORMATS
            .iter()
            .map(|f| TimeEncoding::Format(f.to_string())),
    );
    let mut best: Option<(TimeEncoding, usize)> = None;
    for enc in candidates {
        let ok = sample
            .iter()
            .filter(|s| parse_text(s, &enc).is_some())
            .count();
        if ok > 0 && best.as_ref().is_none_or(|(_, b)| ok > *b) {
            best = Some((enc, ok));
        }
    }
    best.map(|(e, _)| e)
}

/// The encoding of numeric times, from a sample of values (YYYYMMDD, else the epoch unit by
/// magnitude).
pub fn epoch_encoding(sample: &[f64]) -> TimeEncoding {
    epoch_unit(sample)
}

/// A numeric time in microseconds since the epoch, read with `enc`.
pub fn epoch_micros(v: f64, enc: &TimeEncoding) -> Option<i64> {
    epoch_to_micros(v, enc)
}

/// The encoding that reads most of a sample of text times, if any reads one.
pub fn text_encoding(sample: &[&str]) -> Option<TimeEncoding> {
    detect_text_encoding(sample)
}

/// One text time read with `enc`, in microseconds since the epoch.
pub fn parse_with(s: &str, enc: &TimeEncoding) -> Option<i64> {
    parse_text(s, enc)
}

/// Parse a whole timestamp column. `format` is an explicit strftime format, if the user gave one.
pub fn parse_column(col: &Column, format: Option<&str>) -> PolarsResult<Option<ParsedTimes>> {
    let s = col.as_materialized_series();
    let mut mixed_units = Vec::new();
    let (micros, encoding): (Int64Chunked, TimeEncoding) = if s.dtype().is_primitive_numeric() {
        let f = s.cast(&DataType::Float64)?;
        let ca = f.f64()?;
        let sample: Vec<f64> = ca.iter().flatten().take(1000).collect();
        let enc = match format {
            Some(_) => TimeEncoding::YyyyMmDd,
            None => epoch_unit(&sample),
        };
        if is_epoch(&enc) {
            mixed_units = units_in(ca.iter().flatten().filter(|v| v.is_finite()));
        }
        let out: Int64Chunked = if s.dtype().is_integer() && enc != TimeEncoding::YyyyMmDd {
            // Integer epochs stay exact: scale with integer arithmetic, per value.
            let i = s.cast(&DataType::Int64)?;
            i.i64()?.apply_values(int_epoch_to_micros)
        } else {
            let vals: Vec<Option<f64>> = ca.iter().collect();
            let v: Vec<Option<i64>> = vals
                .par_iter()
                .map(|v| v.and_then(|v| epoch_to_micros(v, &enc)))
                .collect();
            v.into_iter().collect()
        };
        (out, enc)
    } else if s.dtype() == &DataType::String {
        let ca = s.str()?;
        let sample: Vec<&str> = ca
            .iter()
            .flatten()
            .filter(|v| !v.trim().is_empty())
            .take(1000)
            .collect();
        let enc = match format {
            Some(f) => TimeEncoding::Format(f.to_string()),
            None => match detect_text_encoding(&sample) {
                Some(e) => e,
                None => {
                    return Ok(None);
                }
            },
        };
        if is_epoch(&enc) {
            mixed_units = units_in(
                ca.iter()
                    .flatten()
                    .filter_map(|v| v.trim().parse::<f64>().ok())
                    .filter(|v| v.is_finite()),
            );
        }
        let vals: Vec<Option<&str>> = ca.iter().collect();
        let v: Vec<Option<i64>> = vals
            .par_iter()
            .map(|v| v.and_then(|v| parse_text(v, &enc)))
            .collect();
        (v.into_iter().collect(), enc)
    } else if matches!(s.dtype(), DataType::Datetime(_, _)) {
        let us = s.cast(&DataType::Datetime(TimeUnit::Microseconds, None))?;
        let phys = us.to_physical_repr();
        (
            phys.i64()?.clone(),
            TimeEncoding::Format("native datetime".into()),
        )
    } else if s.dtype() == &DataType::Date {
        let days = s.cast(&DataType::Int64)?;
        (
            days.i64()? * 86_400_000_000i64,
            TimeEncoding::Format("native date".into()),
        )
    } else {
        return Ok(None);
    };
    let mut failed = Vec::new();
    let mut missing = Vec::new();
    if micros.null_count() > 0 {
        let present = s.is_not_null();
        for (i, (m, p)) in micros.iter().zip(present.iter()).enumerate() {
            if m.is_none() {
                if p == Some(true) {
                    failed.push(i);
                } else {
                    missing.push(i);
                }
            }
        }
    }
    Ok(Some(ParsedTimes {
        micros: micros.with_name("ts".into()),
        encoding,
        failed,
        missing,
        mixed_units,
    }))
}

/// Parse one date or date-time given by the user (`2024-11-30`, `2024-11-30T12:00:00Z`, ...).
pub fn parse_instant(s: &str) -> Option<i64> {
    let enc = detect_text_encoding(&[s])?;
    parse_text(s, &enc)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn micros(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> i64 {
        NaiveDate::from_ymd_opt(y, mo, d)
            .unwrap()
            .and_hms_opt(h, mi, s)
            .unwrap()
            .and_utc()
            .timestamp_micros()
    }

    fn parse_strs(v: &[&str], fmt: Option<&str>) -> ParsedTimes {
        let col = Column::new("t".into(), v.iter().map(|s| Some(*s)).collect::<Vec<_>>());
        parse_column(&col, fmt).unwrap().unwrap()
    }

    #[test]
    fn iso_with_and_without_zone() {
        let p = parse_strs(&["2024-03-01T10:00:00Z", "2024-03-01T12:30:00+02:00"], None);
        assert_eq!(p.encoding, TimeEncoding::Iso8601Zoned);
        assert_eq!(p.micros.get(0), Some(micros(2024, 3, 1, 10, 0, 0)));
        assert_eq!(p.micros.get(1), Some(micros(2024, 3, 1, 10, 30, 0)));
        let p = parse_strs(&["2024-03-01T10:00:00.250", "2024-03-02T00:00:00"], None);
        assert_eq!(
            p.micros.get(0),
            Some(micros(2024, 3, 1, 10, 0, 0) + 250_000)
        );
        let p = parse_strs(&["2024-03-01 10:00:00", "2024-03-02 11:00:00"], None);
        assert_eq!(p.micros.get(1), Some(micros(2024, 3, 2, 11, 0, 0)));
    }

    #[test]
    fn epoch_units_by_magnitude() {
        let base = micros(2024, 3, 1, 10, 0, 0);
        for (scale, enc) in [
            (1_000_000i64, TimeEncoding::EpochSeconds),
            (1_000, TimeEncoding::EpochMillis),
            (1, TimeEncoding::EpochMicros),
        ] {
            let v = base / scale;
            let col = Column::new("t".into(), vec![v, v + 1]);
            let p = parse_column(&col, None).unwrap().unwrap();
            assert_eq!(p.encoding, enc);
            assert_eq!(p.micros.get(0), Some(v * scale));
        }
        let col = Column::new("t".into(), vec![20240131i64, 20240201]);
        let p = parse_column(&col, None).unwrap().unwrap();
        assert_eq!(p.encoding, TimeEncoding::YyyyMmDd);
        assert_eq!(p.micros.get(0), Some(micros(2024, 1, 31, 0, 0, 0)));
    }

    /// Two systems' exports appended: seconds, milliseconds and nanoseconds in one column, as
    /// integers, floats and text. Each value reads in its own unit, and the mix is counted.
    #[test]
    fn mixed_epoch_units_read_per_value() {
        let base = micros(2024, 3, 1, 10, 0, 0);
        let ints = vec![
            base / 1_000_000,
            base / 1_000,
            base * 1_000,
            base / 1_000_000 + 1,
        ];
        let p = parse_column(&Column::new("t".into(), ints), None)
            .unwrap()
            .unwrap();
        let got: Vec<Option<i64>> = p.micros.iter().collect();
        assert_eq!(
            got,
            vec![Some(base), Some(base), Some(base), Some(base + 1_000_000)]
        );
        assert_eq!(
            p.mixed_units,
            vec![
                (TimeEncoding::EpochSeconds, 2),
                (TimeEncoding::EpochMillis, 1),
                (TimeEncoding::EpochNanos, 1)
            ]
        );
        let floats = vec![(base / 1_000_000) as f64, (base / 1_000) as f64 + 0.5];
        let p = parse_column(&Column::new("t".into(), floats), None)
            .unwrap()
            .unwrap();
        assert_eq!(p.micros.get(1), Some(base + 500));
        let text = [format!("{}", base / 1_000_000), format!("{base}")];
        let p = parse_strs(&[text[0].as_str(), text[1].as_str()], None);
        assert_eq!(p.micros.get(0), p.micros.get(1));
        assert_eq!(p.mixed_units.len(), 2);
        // One unit: nothing to report.
        let p = parse_column(&Column::new("t".into(), vec![base, base + 1]), None)
            .unwrap()
            .unwrap();
        assert!(p.mixed_units.is_empty());
    }

    #[test]
    fn explicit_format_and_failures_are_reported() {
        let p = parse_strs(
            &["01/03/2024 10:00", "garbage", "02/03/2024 11:00"],
            Some("%d/%m/%Y %H:%M"),
        );
        assert_eq!(p.micros.get(0), Some(micros(2024, 3, 1, 10, 0, 0)));
        assert_eq!(p.failed, vec![1]);
    }
}
