//! Canonicalise a per-user table: the user id as text, every numeric column as a Float64 feature, the
//! categorical attributes as text (`attr:NAME`).

use std::collections::HashSet;

use polars::prelude::*;

use super::columns;
use super::{Canonical, Context, LeftOut, Warning, cols, describe_rows, rows_of};
use crate::error::LoadError;

pub fn canonicalize(ctx: &Context, df: DataFrame) -> Result<Canonical, LoadError> {
    let m = ctx.mapping;
    let n = df.height();
    let mut keep = vec![true; n];
    let mut warnings = Vec::new();
    let mut left_out = Vec::new();
    let mut rows_dropped = Vec::new();
    let user_col = m.user_id.as_deref().unwrap_or_default();

    if let Some(denied) = columns::without_consent(ctx, &df)? {
        for &i in &denied {
            keep[i] = false;
        }
        rows_dropped.push(("no consent".to_string(), denied.len()));
    }

    let user = columns::user_ids(ctx, &df)?;
    let mut seen = HashSet::new();
    let mut missing = Vec::new();
    let mut dups = Vec::new();
    for (i, v) in user.str().map_err(|e| ctx.polars(e))?.iter().enumerate() {
        match v {
            None => missing.push(i),
            Some(v) if v.trim().is_empty() => missing.push(i),
            Some(v) => {
                if !seen.insert(v.to_string()) {
                    dups.push(i);
                }
            }
        }
    }
    for (list, what, reason) in [
        (&missing, "have no user id; dropped", "no user id"),
        (
            &dups,
            "repeat a user id already seen; the first row of each user is kept",
            "duplicate user id",
        ),
    ] {
        if list.is_empty() {
            continue;
        }
        let mut count = 0;
        for &p in list.iter() {
            if keep[p] {
                keep[p] = false;
                count += 1;
            }
        }
        warnings.push(Warning {
            column: Some(user_col.into()),
            message: format!(
                "{} row(s) {what} ({})",
                list.len(),
                describe_rows(&rows_of(list))
            ),
        });
        rows_dropped.push((reason.to_string(), count));
    }

    let mut columns: Vec<Column> = vec![user.with_name(cols::USER.into()).into_column()];
    let skip: Vec<&str> = [
        Some(user_col),
        m.user_id_fallback.as_deref(),
        m.consent.as_deref(),
    ]
    .into_iter()
    .flatten()
    .collect();
    for c in df.columns() {
        let name = c.name().as_str();
        if skip.contains(&name) {
            continue;
        }
        let kept = ctx.opts.keep_columns.iter().any(|k| k == name);
        if let Some((_, kind)) = ctx.pii.iter().find(|(p, _)| p == name)
            && !kept
        {
            left_out.push(LeftOut {
                column: name.into(),
                reason: format!(
                    "looks like {kind} (personal data); {}",
                    crate::hints::how(crate::hints::Setting::KeepColumn)
                ),
            });
            continue;
        }
        let s = c.as_materialized_series();
        // Values read as missing, said with the rows they were on.
        let treated_missing = |bad: &[usize], what: &str| Warning {
            column: Some(name.into()),
            message: format!(
                "{} value(s) are {what} ({}); treated as missing",
                bad.len(),
                describe_rows(&rows_of(bad))
            ),
        };
        let numeric = match s.dtype() {
            dt if dt.is_primitive_numeric() || dt.is_bool() => {
                Some(s.cast(&DataType::Float64).map_err(|e| ctx.polars(e))?)
            }
            DataType::String => {
                let s = &columns::null_tokens_to_null(s.clone());
                let f = s.cast(&DataType::Float64).map_err(|e| ctx.polars(e))?;
                let present = s.len() - s.null_count();
                let parsed = f.len() - f.null_count();
                // Mostly numbers with a few stray texts: keep as a feature and say so.
                if present > 0 && parsed * 100 >= present * 95 {
                    if parsed < present {
                        let bad: Vec<usize> = s
                            .is_not_null()
                            .iter()
                            .zip(f.is_null().iter())
                            .enumerate()
                            .filter(|(_, (p, fnull))| *p == Some(true) && *fnull == Some(true))
                            .map(|(i, _)| i)
                            .collect();
                        warnings.push(treated_missing(&bad, "not numbers"));
                    }
                    Some(f)
                } else {
                    None
                }
            }
            _ => None,
        };
        match numeric {
            Some(f) => {
                let ca = f.f64().map_err(|e| ctx.polars(e))?;
                let bad: Vec<usize> = ca
                    .iter()
                    .enumerate()
                    .filter(|(_, v)| v.is_some_and(|x| !x.is_finite()))
                    .map(|(i, _)| i)
                    .collect();
                let f = if bad.is_empty() {
                    f
                } else {
                    warnings.push(treated_missing(&bad, "NaN or infinite"));
                    let cleaned: Float64Chunked =
                        ca.iter().map(|v| v.filter(|x| x.is_finite())).collect();
                    cleaned.with_name(name.into()).into_series()
                };
                columns.push(f.with_name(name.into()).into_column());
            }
            None if kept => columns.push(s.clone().into_column()),
            // A categorical attribute (a warehouse profile's `device.category`): each user's value,
            // shown per persona as shares, as for an events export.
            None if m.attributes.iter().any(|a| a == name) && s.dtype() == &DataType::String => {
                let s = columns::null_tokens_to_null(s.clone());
                columns.push(
                    s.with_name(format!("{}{name}", cols::ATTR_PREFIX).into())
                        .into_column(),
                );
            }
            None => left_out.push(LeftOut {
                column: name.into(),
                reason: "not numeric".into(),
            }),
        }
    }
    // Attributes describe personas but are not features: a table of only text is still unusable.
    let features = columns
        .iter()
        .filter(|c| !c.name().starts_with(cols::ATTR_PREFIX))
        .count();
    if features == 1 {
        return Err(LoadError::NoFeatureColumns {
            path: ctx.path.to_path_buf(),
            user_column: user_col.into(),
        });
    }
    let mut table = DataFrame::new(n, columns).map_err(|e| ctx.polars(e))?;
    if keep.iter().any(|k| !k) {
        let mask = BooleanChunked::from_slice("keep".into(), &keep);
        table = table.filter(&mask).map_err(|e| ctx.polars(e))?;
    }
    if table.height() == 0 {
        return Err(LoadError::NothingLeft {
            path: ctx.path.to_path_buf(),
            step: "dropping rows without consent or user id".into(),
        });
    }
    columns::hash_user_ids(ctx, &mut table)?;
    rows_dropped.retain(|(_, c)| *c > 0);
    Ok(Canonical {
        table,
        time_encoding: None,
        duration_unit: None,
        rows_dropped,
        left_out,
        warnings,
        scroll_fraction: None,
    })
}
