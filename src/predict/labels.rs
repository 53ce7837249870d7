//! Labels without leakage: features come from events up to the cutoff, labels from the outcome window
//! after it. **churned** = no event in (cutoff, cutoff + horizon]; **converted** = a purchase in that
//! window (or, with a revenue threshold, revenue in the window above it).

use std::collections::HashMap;

use polars::prelude::*;

use crate::data::{Loaded, Shape, cols};
use crate::error::PredictError;
use crate::features::EventKind;

pub const DAY_US: i64 = 86_400_000_000;

pub use persona_lab_runtime::scores::Target;

fn perr(e: PolarsError) -> PredictError {
    PredictError::Invalid(format!("outcome labels: {e}"))
}

fn date(us: i64) -> String {
    chrono::DateTime::from_timestamp_micros(us)
        .map(|d| d.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|| us.to_string())
}

/// First and last event time of an events export (µs, UTC).
/// Models read the events in memory (labels after a cutoff): a streamed export is refused, named.
pub fn in_memory(loaded: &Loaded) -> Result<(), PredictError> {
    if loaded.spill.is_some() {
        return Err(PredictError::Invalid(format!(
            "{}: this export was streamed (it does not fit in the memory budget); churn and \
             conversion models read its events in memory: load a shorter period, or compute the \
             profile in the warehouse (`persona-lab sql features`) and train on that table",
            loaded.path.display()
        )));
    }
    Ok(())
}

pub fn span(loaded: &Loaded) -> Result<(i64, i64), PredictError> {
    in_memory(loaded)?;
    if loaded.shape != Shape::Events {
        return Err(PredictError::Invalid(
            "a cutoff needs an event export; for a per-user table, name its label column \
             (--label-col)"
                .into(),
        ));
    }
    let ts = loaded.table.column(cols::TS).map_err(perr)?;
    let ts = ts.i64().map_err(perr)?;
    match (ts.min(), ts.max()) {
        (Some(a), Some(b)) => Ok((a, b)),
        _ => Err(PredictError::Invalid("the export has no events".into())),
    }
}

/// Check a cutoff against the export: some history before it, the whole outcome window after it.
/// Without one, the latest possible cutoff: the last event minus the horizon.
pub fn cutoff(
    span: (i64, i64),
    cutoff: Option<i64>,
    horizon_days: u32,
) -> Result<i64, PredictError> {
    if horizon_days == 0 {
        return Err(PredictError::Invalid(
            "the outcome window must be at least 1 day (--horizon-days)".into(),
        ));
    }
    let horizon = i64::from(horizon_days) * DAY_US;
    let c = cutoff.unwrap_or(span.1 - horizon);
    let (first, last) = (date(span.0), date(span.1));
    if c - span.0 < 7 * DAY_US {
        return Err(PredictError::NoCutoff(format!(
            "the export runs from {first} to {last}; a cutoff at {} leaves less than 7 days of \
             history before it to compute features from",
            date(c)
        )));
    }
    if c + horizon > span.1 {
        return Err(PredictError::NoCutoff(format!(
            "the export runs from {first} to {last}; the {horizon_days}-day outcome window after a \
             cutoff at {} would run past its end, so users would look churned only because the data \
             stops",
            date(c)
        )));
    }
    Ok(c)
}

/// One label per user id (true = churned / converted) from the outcome window.
pub fn outcome_labels(
    loaded: &Loaded,
    users: &[String],
    target: Target,
    cutoff: i64,
    horizon_days: u32,
    revenue_threshold: Option<f64>,
) -> Result<Vec<bool>, PredictError> {
    let end = cutoff + i64::from(horizon_days) * DAY_US;
    let has_value = loaded.table.column(cols::VALUE).is_ok();
    let mut sel = vec![col(cols::USER), col(cols::EVENT).cast(DataType::String)];
    if has_value {
        sel.push(col(cols::VALUE));
    }
    let window = loaded
        .table
        .clone()
        .lazy()
        .filter(
            col(cols::TS)
                .gt(lit(cutoff))
                .and(col(cols::TS).lt_eq(lit(end))),
        )
        .select(sel)
        .collect()
        .map_err(perr)?;
    let u = window
        .column(cols::USER)
        .map_err(perr)?
        .str()
        .map_err(perr)?;
    let e = window
        .column(cols::EVENT)
        .map_err(perr)?
        .str()
        .map_err(perr)?;
    let v: Vec<Option<f64>> = if has_value {
        window
            .column(cols::VALUE)
            .map_err(perr)?
            .f64()
            .map_err(perr)?
            .iter()
            .collect()
    } else {
        vec![None; window.height()]
    };
    // Per user in the window: (active, purchased, revenue).
    let mut seen: HashMap<&str, (bool, bool, f64)> = HashMap::new();
    let mut kinds: HashMap<&str, bool> = HashMap::new();
    for ((user, event), value) in u.iter().zip(e.iter()).zip(v) {
        let (Some(user), Some(event)) = (user, event) else {
            continue;
        };
        let purchase = *kinds
            .entry(event)
            .or_insert_with(|| EventKind::classify(event) == Some(EventKind::Purchase));
        let s = seen.entry(user).or_insert((false, false, 0.0));
        s.0 = true;
        s.1 |= purchase;
        if let Some(x) = value.filter(|x| x.is_finite()) {
            s.2 += x;
        }
    }
    Ok(users
        .iter()
        .map(|id| {
            let (active, purchased, revenue) = seen.get(id.as_str()).copied().unwrap_or_default();
            match target {
                Target::Churn => !active,
                Target::Convert => match revenue_threshold {
                    Some(t) => revenue > t,
                    None => purchased || revenue > 0.0,
                },
            }
        })
        .collect())
}
