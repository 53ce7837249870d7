//! Turn a raw events table into the canonical one: typed role columns, bad rows named and dropped,
//! consent applied, ids hashed on request.

use polars::prelude::*;
use rayon::prelude::*;

use super::columns::{self, series, text};
use super::timestamp;
use super::{Canonical, Context, DurationUnit, Role, Warning, cols, describe_rows};
use crate::error::LoadError;
use crate::hints::{Setting, how};

/// Values of Segment's `type` that are calls, not events.
const NOT_EVENTS: [&str; 3] = ["identify", "group", "alias"];

/// The columns of `key` as text.
fn key_columns(ctx: &Context, df: &DataFrame, key: &[String]) -> Result<Vec<Series>, LoadError> {
    key.iter().map(|c| text(ctx, df, c)).collect()
}

/// Every row's key from its text columns (None where a part is missing).
fn key_rows<'a>(
    ctx: &Context,
    cols: &'a [Series],
    height: usize,
) -> Result<impl Iterator<Item = Option<Vec<&'a str>>>, LoadError> {
    let cas: Vec<&StringChunked> = cols
        .iter()
        .map(|s| s.str())
        .collect::<PolarsResult<_>>()
        .map_err(|e| ctx.polars(e))?;
    let mut iters: Vec<_> = cas.into_iter().map(|c| c.iter()).collect();
    // Every column advances on every row, whatever is missing.
    Ok((0..height).map(move |_| {
        iters
            .iter_mut()
            .map(|it| it.next().flatten())
            .collect::<Option<Vec<&str>>>()
    }))
}

/// Positions of rows whose key (every column of `key`, as text, none missing) repeats an earlier
/// row's.
fn duplicates(ctx: &Context, df: &DataFrame, key: &[String]) -> Result<Vec<usize>, LoadError> {
    let cols = key_columns(ctx, df, key)?;
    let mut seen: PlHashSet<Vec<&str>> = PlHashSet::with_capacity(df.height());
    let mut out = Vec::new();
    for (i, row) in key_rows(ctx, &cols, df.height())?.enumerate() {
        if let Some(row) = row
            && !seen.insert(row)
        {
            out.push(i);
        }
    }
    Ok(out)
}

/// The vendor's deduplication key of every row as a 128-bit hash in two UInt64 columns
/// (`cols::KEY_A`, `cols::KEY_B`), null where a part of the key is missing. Two SipHash-1-3 runs
/// with different keys: a collision between two events of one user needs 2^64 of them.
fn key_hashes(ctx: &Context, df: &DataFrame, key: &[String]) -> Result<Vec<Column>, LoadError> {
    use std::hash::{Hash, Hasher};
    let (mut a, mut b) = (
        Vec::with_capacity(df.height()),
        Vec::with_capacity(df.height()),
    );
    let cols = key_columns(ctx, df, key)?;
    for row in key_rows(ctx, &cols, df.height())? {
        match row {
            Some(parts) => {
                let mut h1 = std::hash::DefaultHasher::new();
                let mut h2 = std::hash::DefaultHasher::new();
                0xa5u8.hash(&mut h2);
                parts.hash(&mut h1);
                parts.hash(&mut h2);
                a.push(Some(h1.finish()));
                b.push(Some(h2.finish()));
            }
            None => {
                a.push(None);
                b.push(None);
            }
        }
    }
    Ok(vec![
        Column::new(cols::KEY_A.into(), a),
        Column::new(cols::KEY_B.into(), b),
    ])
}

/// The type of the canonical event name column: a categorical with its own categories.
pub fn event_dtype() -> DataType {
    DataType::from_categories(Categories::random(
        cols::EVENT.into(),
        CategoricalPhysical::U32,
    ))
}

fn sample_values(s: &Series, positions: &[usize]) -> String {
    positions
        .iter()
        .take(3)
        .filter_map(|&p| {
            s.get(p).ok().map(|v| {
                let v = v.to_string();
                let v = v.trim_matches('"');
                // A 100 KB value must not make a 100 KB message.
                if v.chars().count() > 60 {
                    format!("{:?}…", v.chars().take(60).collect::<String>())
                } else {
                    format!("{v:?}")
                }
            })
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// True when a Float64 column has no NaN or infinity (and, if asked, no negative value): the common case,
/// checked on the raw buffers without building anything.
fn clean_floats(s: &Series, non_negative: bool) -> bool {
    let Ok(ca) = s.f64() else { return false };
    ca.downcast_iter().all(|arr| {
        // Null slots hold arbitrary-but-finite filler; checking them too is harmless. No early exit
        // within a block of values, so the loop vectorises.
        arr.values().chunks(1024).all(|block| {
            block.iter().fold(true, |ok, v| {
                ok & v.is_finite() & (!non_negative | (*v >= 0.0))
            })
        })
    })
}

/// Read a measure (value, duration, scroll) as Float64: text that is not a number, NaN and infinity
/// become missing, with a warning that names the rows.
pub fn measure(
    ctx: &Context,
    df: &DataFrame,
    name: &str,
    role: Role,
    warnings: &mut Vec<Warning>,
) -> Result<Series, LoadError> {
    let raw = columns::null_tokens_to_null(series(ctx, df, name)?);
    let non_negative = matches!(role, Role::Duration | Role::Scroll);
    if raw.dtype() == &DataType::Float64 && clean_floats(&raw, non_negative) {
        return Ok(raw);
    }
    let f = raw
        .cast(&DataType::Float64)
        .map_err(|e| ctx.bad_column(role, name, format!("cannot be read as numbers ({e})")))?;
    let ca = f.f64().map_err(|e| ctx.polars(e))?;
    let present = raw.is_not_null();
    let mut not_number = Vec::new();
    let mut not_finite = Vec::new();
    let mut negative = Vec::new();
    let mut out: Vec<Option<f64>> = Vec::with_capacity(ca.len());
    for (i, (v, p)) in ca.iter().zip(present.iter()).enumerate() {
        match v {
            None => {
                if p == Some(true) {
                    not_number.push(i);
                }
                out.push(None);
            }
            Some(x) if !x.is_finite() => {
                not_finite.push(i);
                out.push(None);
            }
            Some(x) if non_negative && x < 0.0 => {
                negative.push(i);
                out.push(None);
            }
            Some(x) => out.push(Some(x)),
        }
    }
    let n_present = present.sum().unwrap_or(0) as usize;
    if n_present > 0 && not_number.len() == n_present {
        return Err(ctx.bad_column(
            role,
            name,
            format!(
                "no value is a number (for example {}); map another column or none",
                sample_values(&raw, &not_number)
            ),
        ));
    }
    let mut warn = |list: &[usize], what: &str| {
        if !list.is_empty() {
            warnings.push(Warning {
                column: Some(name.to_string()),
                message: format!(
                    "{} value(s) {what} ({}); treated as missing",
                    list.len(),
                    describe_rows(&ctx.rows_of(list))
                ),
            });
        }
    };
    warn(&not_number, "are not numbers");
    warn(&not_finite, "are NaN or infinite");
    warn(&negative, "are negative");
    Ok(Series::new(name.into(), out))
}

fn duration_unit(name: &str, explicit: Option<DurationUnit>) -> DurationUnit {
    if let Some(u) = explicit {
        return u;
    }
    let n = name.to_ascii_lowercase();
    if n.contains("msec") || n.ends_with("_ms") || n.contains("millis") {
        DurationUnit::Milliseconds
    } else {
        DurationUnit::Seconds
    }
}

pub fn canonicalize(ctx: &Context, df: DataFrame) -> Result<Canonical, LoadError> {
    let m = ctx.mapping;
    let n = df.height();
    let mut timer = crate::timing::Timer::start();
    let mut keep = vec![true; n];
    let mut rows_dropped: Vec<(String, usize)> = Vec::new();
    let mut warnings: Vec<Warning> = Vec::new();
    let drop_rows = |positions: &[usize], keep: &mut Vec<bool>| {
        let mut count = 0;
        for &p in positions {
            if keep[p] {
                keep[p] = false;
                count += 1;
            }
        }
        count
    };

    // Consent gates everything else: rows without it never reach features.
    if let Some(denied) = columns::without_consent(ctx, &df)? {
        let count = drop_rows(&denied, &mut keep);
        rows_dropped.push(("no consent".into(), count));
    }

    // The vendor sent some events twice: the first of each key is kept. A streamed batch marks them
    // with the key's hash instead: the first copy may be in another batch.
    let mut key_columns: Vec<Column> = Vec::new();
    if !m.dedup_key.is_empty() && ctx.streamed {
        key_columns = key_hashes(ctx, &df, &m.dedup_key)?;
    } else if !m.dedup_key.is_empty() {
        let dups = duplicates(ctx, &df, &m.dedup_key)?;
        let count = drop_rows(&dups, &mut keep);
        rows_dropped.push((
            format!("duplicate event (same {})", m.dedup_key.join(" + ")),
            count,
        ));
    }
    timer.lap("  consent");
    // User id: always text; a fallback column fills empty ids.
    let user_col = m.user_id.as_deref().unwrap_or_default();
    let raw_user = series(ctx, &df, user_col)?;
    if raw_user.dtype().is_float() {
        warnings.push(Warning {
            column: Some(user_col.into()),
            message: "user ids are stored as floating-point numbers in the file; distinct ids may \
                      already have been merged by the tool that wrote it"
                .into(),
        });
    }
    let user = columns::user_ids(ctx, &df)?;
    // Blank ids and null tokens are nulls by now (`user_ids`).
    let missing_user: Vec<usize> = if user.null_count() == 0 {
        Vec::new()
    } else {
        user.is_null()
            .iter()
            .enumerate()
            .filter(|(_, v)| *v == Some(true))
            .map(|(i, _)| i)
            .collect()
    };
    if !missing_user.is_empty() {
        let rows = ctx.rows_of(&missing_user);
        let count = drop_rows(&missing_user, &mut keep);
        warnings.push(Warning {
            column: Some(user_col.into()),
            message: format!(
                "{} row(s) have no user id ({}); dropped",
                missing_user.len(),
                describe_rows(&rows)
            ),
        });
        rows_dropped.push(("no user id".into(), count));
    }

    timer.lap("  user id");
    // Timestamp: required for events.
    let Some(tcol) = m.timestamp.as_deref() else {
        return Err(ctx.bad_column(
            Role::Timestamp,
            "(none)",
            format!(
                "an events table needs a timestamp column: {}, or {}",
                how(Setting::Role(Role::Timestamp)),
                how(Setting::ShapeUsers)
            ),
        ));
    };
    let raw_ts = columns::null_tokens_to_null(series(ctx, &df, tcol)?);
    let parsed = timestamp::parse_column(
        &raw_ts.clone().into_column(),
        ctx.opts.time_format.as_deref(),
    )
    .map_err(|e| ctx.polars(e))?;
    let Some(mut parsed) = parsed else {
        let sample: Vec<usize> = (0..n.min(3)).collect();
        return Err(ctx.bad_column(
            Role::Timestamp,
            tcol,
            format!(
                "values such as {} are not timestamps in any known format; {} (strftime, e.g. \
                 \"%d/%m/%Y %H:%M\")",
                sample_values(&raw_ts, &sample),
                how(Setting::TimeFormat)
            ),
        ));
    };
    let present = n - parsed.missing.len();
    if present > 0 && parsed.failed.len() == present {
        return Err(ctx.bad_column(
            Role::Timestamp,
            tcol,
            format!(
                "no value could be read as {} (for example {}); {}",
                parsed.encoding,
                sample_values(&raw_ts, &parsed.failed),
                how(Setting::TimeFormat)
            ),
        ));
    }
    // Many unreadable times are not noise: the column mixes formats (two exports appended, a
    // locale change), and dropping them would quietly analyse a fraction of the export.
    if !parsed.failed.is_empty() {
        let failed_sample: Vec<String> = parsed
            .failed
            .iter()
            .take(200)
            .filter_map(|&i| raw_ts.str().ok().and_then(|c| c.get(i)).map(str::to_string))
            .collect();
        let refs: Vec<&str> = failed_sample.iter().map(String::as_str).collect();
        let other = timestamp::text_encoding(&refs).filter(|e| *e != parsed.encoding);
        let share = parsed.failed.len() as f64 / present as f64;
        let mixed = other.is_some() && share > 0.01;
        if mixed || share > 0.5 {
            let rows = ctx.rows_of(&parsed.failed);
            let what = match &other {
                Some(o) => format!("they read as {o}: the column mixes two formats"),
                None => "that is over half the column".into(),
            };
            return Err(ctx.bad_column(
                Role::Timestamp,
                tcol,
                format!(
                    "{} of {present} timestamps ({:.0}%) cannot be read as {} ({}, e.g. {}); {what}, \
                     and dropping them would analyse a part of the export; convert the column to \
                     one format, or {}",
                    parsed.failed.len(),
                    share * 100.0,
                    parsed.encoding,
                    describe_rows(&rows),
                    sample_values(&raw_ts, &parsed.failed),
                    how(Setting::TimeFormat)
                ),
            ));
        }
    }
    if !parsed.mixed_units.is_empty() {
        let units: Vec<String> = parsed
            .mixed_units
            .iter()
            .map(|(u, n)| format!("{n} in {}", u.to_string().trim_start_matches("epoch ")))
            .collect();
        warnings.push(Warning {
            column: Some(tcol.into()),
            message: format!(
                "the epoch numbers mix units ({}): each value was read in the unit its size \
                 implies",
                units.join(", ")
            ),
        });
    }
    // Local times (the export's time zone): to UTC instants, with the offset in force at each.
    if let Some(z) = &ctx.opts.time_zone
        && !super::timezone::says_zone(&parsed.encoding)
    {
        let zone = super::timezone::parse(z).map_err(|message| LoadError::TimeZone { message })?;
        parsed.micros = parsed.micros.apply_values(|v| zone.to_utc(v).unwrap_or(v));
    }
    for (list, what, reason) in [
        (
            &parsed.failed,
            "are not readable timestamps",
            "unreadable timestamp",
        ),
        (&parsed.missing, "have no timestamp", "no timestamp"),
    ] {
        if list.is_empty() {
            continue;
        }
        let rows = ctx.rows_of(list);
        let count = drop_rows(list, &mut keep);
        let example = if reason == "unreadable timestamp" {
            format!(", e.g. {}", sample_values(&raw_ts, list))
        } else {
            String::new()
        };
        warnings.push(Warning {
            column: Some(tcol.into()),
            message: format!(
                "{} row(s) {what} ({}{example}); dropped",
                list.len(),
                describe_rows(&rows)
            ),
        });
        rows_dropped.push((reason.into(), count));
    }
    // Times outside the era of web analytics usually mean a wrong unit or format: say so.
    let (lo, hi) = (parsed.micros.min(), parsed.micros.max());
    const Y1995: i64 = 788_918_400_000_000;
    const Y2100: i64 = 4_102_444_800_000_000;
    if let (Some(lo), Some(hi)) = (lo, hi)
        && (lo < Y1995 || hi > Y2100)
    {
        let date = |us: i64| {
            chrono::DateTime::from_timestamp_micros(us)
                .map(|d| d.format("%Y-%m-%d").to_string())
                .unwrap_or_else(|| us.to_string())
        };
        warnings.push(Warning {
            column: Some(tcol.into()),
            message: format!(
                "timestamps run from {} to {}, outside 1995..2100; check the unit or {}",
                date(lo),
                date(hi),
                how(Setting::TimeFormat)
            ),
        });
    }
    let ts = parsed.micros.with_name(cols::TS.into()).into_series();
    timer.lap("  timestamp");

    // Event name: a fallback column (Segment's `type`) fills empty names, then "(unknown)".
    let event = match &m.event {
        // Read as a categorical, and nothing to fill in.
        Some(e)
            if m.event_fallback.is_none()
                && df
                    .column(e)
                    .is_ok_and(|c| c.dtype().is_categorical() && c.null_count() == 0) =>
        {
            series(ctx, &df, e)?
        }
        Some(e) => {
            let mut s = text(ctx, &df, e)?;
            if let Some(fb) = &m.event_fallback {
                let fb = text(ctx, &df, fb)?;
                let mask = s.is_not_null();
                s = s.zip_with(&mask, &fb).map_err(|e| ctx.polars(e))?;
                // Segment's identify, group and alias calls set traits: they are not events.
                let calls: Vec<usize> = s
                    .str()
                    .map_err(|e| ctx.polars(e))?
                    .iter()
                    .zip(mask.iter())
                    .enumerate()
                    .filter(|(_, (v, named))| {
                        *named == Some(false)
                            && v.is_some_and(|v| {
                                NOT_EVENTS.iter().any(|n| v.eq_ignore_ascii_case(n))
                            })
                    })
                    .map(|(i, _)| i)
                    .collect();
                if !calls.is_empty() {
                    let count = drop_rows(&calls, &mut keep);
                    rows_dropped.push((
                        "identify / group / alias calls (traits, not events)".into(),
                        count,
                    ));
                }
            }
            let missing = s.null_count();
            if missing > 0 {
                warnings.push(Warning {
                    column: Some(e.clone()),
                    message: format!(
                        "{missing} row(s) have no event name; counted as \"(unknown)\""
                    ),
                });
                let filled: StringChunked = s
                    .str()
                    .map_err(|e| ctx.polars(e))?
                    .iter()
                    .map(|v| Some(v.unwrap_or("(unknown)")))
                    .collect();
                filled.into_series()
            } else {
                s
            }
        }
        None => Series::new(
            cols::EVENT.into(),
            vec![m.every_row.as_deref().unwrap_or("event"); n],
        ),
    };

    // Event names repeat endlessly: as a categorical they take 4 bytes a row instead of 16+, and
    // comparisons with a name become integer comparisons. The CSV reader usually makes the
    // categorical already (`event_dtype`); casting to a new one would encode every row again.
    let event = if event.dtype().is_categorical() {
        event
    } else {
        event.cast(&event_dtype()).map_err(|e| ctx.polars(e))?
    };
    let event = redact_event_emails(ctx, event, &mut warnings)?;
    timer.lap("  event");
    let mut columns: Vec<Column> = vec![
        user.with_name(cols::USER.into()).into_column(),
        ts.into_column(),
        event.with_name(cols::EVENT.into()).into_column(),
    ];
    if let Some(s) = &m.session {
        let mut ids = text(ctx, &df, s)?;
        // Amplitude writes -1 for events outside any session.
        let ca = ids.str().map_err(|e| ctx.polars(e))?;
        if ca.iter().any(|v| v == Some("-1")) {
            let cleaned: StringChunked = ca.iter().map(|v| v.filter(|v| *v != "-1")).collect();
            ids = cleaned.into_series();
        }
        columns.push(ids.with_name(cols::SESSION.into()).into_column());
    }
    if let Some(v) = &m.value {
        let mut s = measure(ctx, &df, v, Role::Value, &mut warnings)?;
        for fb in &m.value_fallback {
            let fb = measure(ctx, &df, fb, Role::Value, &mut warnings)?;
            let mask = s.is_not_null();
            s = s.zip_with(&mask, &fb).map_err(|e| ctx.polars(e))?;
        }
        columns.push(s.with_name(cols::VALUE.into()).into_column());
    }
    let mut unit = None;
    if let Some(d) = &m.duration {
        let u = duration_unit(d, ctx.opts.duration_unit);
        unit = Some(u);
        let s = measure(ctx, &df, d, Role::Duration, &mut warnings)?;
        let s = match u {
            DurationUnit::Milliseconds => &s / 1000.0,
            DurationUnit::Seconds => s,
        };
        columns.push(s.with_name(cols::DURATION.into()).into_column());
    }
    let mut scroll_fraction = None;
    if let Some(sc) = &m.scroll {
        let s = measure(ctx, &df, sc, Role::Scroll, &mut warnings)?;
        let max = s.max::<f64>().ok().flatten().unwrap_or(0.0);
        let fraction = ctx.scroll_fraction.unwrap_or(max > 0.0 && max <= 1.0);
        if max > 0.0 {
            scroll_fraction = Some(fraction);
        }
        if fraction && max > 1.0 {
            // A streamed export decided from its first rows that depth is a fraction.
            return Err(ctx.bad_column(
                Role::Scroll,
                sc,
                format!(
                    "scroll depth was a fraction (0..1) in the export's first rows but reaches \
                     {max} from row {} on; the export mixes scales",
                    ctx.first_row + 1
                ),
            ));
        }
        let s = if fraction {
            warnings.push(Warning {
                column: Some(sc.clone()),
                message: "scroll depth is a fraction (0..1); converted to percent".into(),
            });
            &s * 100.0
        } else if max > 100.0 {
            warnings.push(Warning {
                column: Some(sc.clone()),
                message: format!("scroll depth goes up to {max}; values above 100% capped at 100"),
            });
            let capped: Float64Chunked = s
                .f64()
                .map_err(|e| ctx.polars(e))?
                .iter()
                .map(|v| v.map(|x| x.min(100.0)))
                .collect();
            capped.into_series()
        } else {
            s
        };
        columns.push(s.with_name(cols::SCROLL.into()).into_column());
    }
    // Other measures (GA4's numeric event parameters) for optional features.
    for c in &m.measures {
        let s = measure(ctx, &df, c, Role::Value, &mut warnings)?;
        columns.push(
            s.with_name(format!("{}{c}", cols::NUM_PREFIX).into())
                .into_column(),
        );
    }
    // Attributes as text, one column each (`attr:platform`): what a persona's users are like.
    for a in &m.attributes {
        let s = columns::null_tokens_to_null(text(ctx, &df, a)?);
        columns.push(
            s.with_name(format!("{}{a}", cols::ATTR_PREFIX).into())
                .into_column(),
        );
    }
    for k in &ctx.opts.keep_columns {
        if df.get_column_index(k).is_some() && !columns.iter().any(|c| c.name() == k.as_str()) {
            columns.push(series(ctx, &df, k)?.into_column());
        }
    }
    columns.append(&mut key_columns);
    timer.lap("  measures");
    // Free the raw columns (consent, originals of converted columns) before filtering, and filter one
    // column at a time: peak memory stays near one copy of the table.
    drop((df, raw_user, raw_ts));
    if keep.iter().any(|k| !k) {
        let mask = BooleanChunked::from_slice("keep".into(), &keep);
        // One column per thread at a time: as fast as a frame-wide filter on two cores, with only a
        // couple of columns copied at once.
        columns
            .par_iter_mut()
            .with_max_len(1)
            .try_for_each(|c| -> PolarsResult<()> {
                *c = c.filter(&mask)?;
                Ok(())
            })
            .map_err(|e| ctx.polars(e))?;
    }
    let height = columns.first().map_or(0, |c| c.len());
    let mut table = DataFrame::new(height, columns).map_err(|e| ctx.polars(e))?;
    // A streamed batch may lose every row (no consent in it): the export goes on.
    if table.height() == 0 && !ctx.streamed {
        return Err(LoadError::NothingLeft {
            path: ctx.path.to_path_buf(),
            step: rows_dropped
                .iter()
                .filter(|(_, c)| *c > 0)
                .map(|(r, c)| format!("dropping {c} row(s): {r}"))
                .collect::<Vec<_>>()
                .join("; "),
        });
    }
    columns::hash_user_ids(ctx, &mut table)?;
    timer.lap("  filter + hash");
    rows_dropped.retain(|(_, c)| *c > 0);
    Ok(Canonical {
        table,
        time_encoding: Some(parsed.encoding),
        duration_unit: unit,
        rows_dropped,
        left_out: Vec::new(),
        warnings,
        scroll_fraction,
    })
}

/// Event names that carry an email address (`newsletter_signup:ann@corp.example`) would become
/// feature names (`count:...`) and names pinned in the rule set, hashing on or off: the address is
/// replaced by `<email>` (so those events still count together), with a warning. `event` is the
/// categorical column: only its distinct names are looked at, and the rows only when one has an
/// address.
fn redact_event_emails(
    ctx: &Context,
    event: Series,
    warnings: &mut Vec<Warning>,
) -> Result<Series, LoadError> {
    let names = event
        .unique()
        .and_then(|u| u.cast(&DataType::String))
        .map_err(|e| ctx.polars(e))?;
    let names = names.str().map_err(|e| ctx.polars(e))?;
    let redacted: std::collections::HashMap<String, String> = names
        .iter()
        .flatten()
        .filter_map(|n| super::privacy::redact_emails(n).map(|r| (n.to_string(), r)))
        .collect();
    if redacted.is_empty() {
        return Ok(event);
    }
    let text = event.cast(&DataType::String).map_err(|e| ctx.polars(e))?;
    let out: StringChunked = text
        .str()
        .map_err(|e| ctx.polars(e))?
        .iter()
        .map(|v| v.map(|n| redacted.get(n).map_or(n, String::as_str)))
        .collect();
    warnings.push(Warning {
        column: ctx.mapping.event.clone(),
        message: format!(
            "{} event name(s) contain an email address; it is replaced by <email> so that no \
             address becomes a feature name or reaches the rule set",
            redacted.len()
        ),
    });
    out.into_series()
        .with_name(event.name().clone())
        .cast(&event_dtype())
        .map_err(|e| ctx.polars(e))
}
