//! Flatten nested JSON objects (Segment's and Mixpanel's `properties`, `context`, ...) into dotted columns.

use polars::prelude::*;

/// Replace every struct column by its fields, named `parent.field`, recursively.
/// List columns cannot be features and are dropped; their names are returned.
pub fn flatten_structs(df: DataFrame) -> PolarsResult<(DataFrame, Vec<String>)> {
    let height = df.height();
    let mut out: Vec<Column> = Vec::with_capacity(df.width());
    let mut dropped = Vec::new();
    for c in df.columns() {
        flatten_into(c.as_materialized_series().clone(), &mut out, &mut dropped)?;
    }
    Ok((DataFrame::new(height, out)?, dropped))
}

fn flatten_into(s: Series, out: &mut Vec<Column>, dropped: &mut Vec<String>) -> PolarsResult<()> {
    match s.dtype() {
        DataType::Struct(_) => {
            let prefix = s.name().to_string();
            for field in s.struct_()?.fields_as_series() {
                let mut f = field.clone();
                f.rename(format!("{prefix}.{}", field.name()).into());
                flatten_into(f, out, dropped)?;
            }
        }
        DataType::List(_) => dropped.push(s.name().to_string()),
        DataType::Null => {
            // A key that is null on every record: keep it as an empty text column.
            out.push(s.cast(&DataType::String)?.into_column())
        }
        _ => out.push(s.into_column()),
    }
    Ok(())
}
