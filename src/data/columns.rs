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

/// The user id as text, with the fallback column (Segment's anonymousId) where it is empty.
pub fn user_ids(ctx: &Context, df: &DataFrame) -> Result<Series, LoadError> {
    let m = ctx.mapping;
    let mut user = text(ctx, df, m.user_id.as_deref().unwrap_or_default())?;
    if let Some(fb) = &m.user_id_fallback {
        let fb = text(ctx, df, fb)?;
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
    Ok(Some(
        ca.iter()
            .enumerate()
            .filter(|(_, v)| !v.is_some_and(privacy::consent_granted))
            .map(|(i, _)| i)
            .collect(),
    ))
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
