//! Column helpers shared by the events and users canonicalisation: typed access, the user id with its
//! fallback, consent, and id hashing, so both shapes apply exactly the same rules.

use polars::prelude::*;

use super::{Context, cols, privacy};
use crate::error::LoadError;

/// A column of the raw table.
pub fn series(ctx: &Context, df: &DataFrame, name: &str) -> Result<Series, LoadError> {
    df.column(name)
        .map(|c| c.as_materialized_series().clone())
        .map_err(|e| ctx.polars(e))
}

/// A column as text (no copy when it already is).
pub fn text(ctx: &Context, df: &DataFrame, name: &str) -> Result<Series, LoadError> {
    let s = series(ctx, df, name)?;
    if s.dtype() == &DataType::String {
        return Ok(s);
    }
    s.cast(&DataType::String).map_err(|e| ctx.polars(e))
}

/// Text that means "no value" in exports (BigQuery writes `\N`, databases `NULL`).
pub fn is_null_token(v: &str) -> bool {
    // Fast path, taken by nearly every value: longer than any token and starting and ending with a
    // visible ASCII character (Unicode spaces start and end with bytes >= 0x80), so trimming would
    // change nothing.
    let b = v.as_bytes();
    let visible = |c: u8| c.is_ascii_graphic();
    if b.len() > 4 && visible(b[0]) && visible(b[b.len() - 1]) {
        return false;
    }
    let v = v.trim();
    v.is_empty() || v == "NULL" || v == "null" || v == "\\N"
}

/// A text column with its null tokens turned into nulls (other columns are returned as they are).
pub fn null_tokens_to_null(s: Series) -> Series {
    let Ok(ca) = s.str() else { return s };
    if !ca.iter().flatten().any(is_null_token) {
        return s;
    }
    let cleaned: StringChunked = ca.iter().map(|v| v.filter(|v| !is_null_token(v))).collect();
    cleaned.with_name(s.name().clone()).into_series()
}

/// The user id as text, with the fallback column (Segment's anonymousId) where it is empty.
pub fn user_ids(ctx: &Context, df: &DataFrame) -> Result<Series, LoadError> {
    let m = ctx.mapping;
    let mut user = null_tokens_to_null(text(ctx, df, m.user_id.as_deref().unwrap_or_default())?);
    if let Some(fb) = &m.user_id_fallback {
        let fb = null_tokens_to_null(text(ctx, df, fb)?);
        let mask = user.is_not_null();
        user = user.zip_with(&mask, &fb).map_err(|e| ctx.polars(e))?;
    }
    Ok(user)
}

/// Positions of rows without consent, when a consent column is mapped.
pub fn without_consent(ctx: &Context, df: &DataFrame) -> Result<Option<Vec<usize>>, LoadError> {
    let Some(c) = &ctx.mapping.consent else {
        return Ok(None);
    };
    let s = text(ctx, df, c)?;
    let ca = s.str().map_err(|e| ctx.polars(e))?;
    // A consent column holds a handful of distinct values: remember the last one's verdict.
    let mut last: Option<(&str, bool)> = None;
    let mut denied = Vec::new();
    for (i, v) in ca.iter().enumerate() {
        let granted = match (v, last) {
            (None, _) => false,
            (Some(v), Some((l, g))) if l == v => g,
            (Some(v), _) => {
                let g = privacy::consent_granted(v);
                last = Some((v, g));
                g
            }
        };
        if !granted {
            denied.push(i);
        }
    }
    Ok(Some(denied))
}

/// Replace the canonical user ids by their salted hashes, when hashing is on.
pub fn hash_user_ids(ctx: &Context, table: &mut DataFrame) -> Result<(), LoadError> {
    let Some(salt) = &ctx.opts.hash_salt else {
        return Ok(());
    };
    let ids = table.column(cols::USER).map_err(|e| ctx.polars(e))?;
    let hashed = privacy::hash_ids(salt, ids.str().map_err(|e| ctx.polars(e))?.iter());
    table
        .replace(cols::USER, Column::new(cols::USER.into(), hashed))
        .map_err(|e| ctx.polars(e))?;
    Ok(())
}
