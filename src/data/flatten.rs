//! Flatten nested columns (Segment's and Mixpanel's `properties`, GA4's `device`, `ecommerce`,
//! `privacy_info` records in Parquet) into dotted columns, and turn key/value lists (GA4's
//! `event_params` and `user_properties`) into one column per key, as `json_lines` does for NDJSON.

use std::collections::HashMap;

use polars::prelude::*;

/// Replace every struct column by its fields, named `parent.field`, recursively, and every
/// key/value list by a column per key, named `list.key`. Other list columns cannot be features
/// and are dropped; their names are returned.
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
        DataType::List(_) => match pivot_key_values(&s)? {
            Some(columns) => out.extend(columns),
            None => dropped.push(s.name().to_string()),
        },
        // BigQuery NUMERIC / BIGNUMERIC: numbers to every role and feature.
        DataType::Decimal(..) => out.push(s.cast(&DataType::Float64)?.into_column()),
        DataType::Null => {
            // A key that is null on every record: keep it as an empty text column.
            out.push(s.cast(&DataType::String)?.into_column())
        }
        _ => out.push(s.into_column()),
    }
    Ok(())
}

/// Whether a column's type is a list of `{key, value}` records (made into a column per key).
pub fn is_key_value_list(dtype: &DataType) -> bool {
    let DataType::List(inner) = dtype else {
        return false;
    };
    let DataType::Struct(fields) = inner.as_ref() else {
        return false;
    };
    let has = |n: &str| fields.iter().any(|f| f.name().as_str() == n);
    has("key") && has("value")
}

/// A value of a key/value list: its row, its element in the list's values, and the value field
/// that is set.
type Cell = (usize, usize, usize);

/// One value field of a key/value list, typed.
enum Part {
    Int(Int64Chunked),
    Float(Float64Chunked),
    Text(StringChunked),
}

impl Part {
    fn new(s: &Series) -> PolarsResult<Part> {
        Ok(if s.dtype().is_integer() {
            Part::Int(s.cast(&DataType::Int64)?.i64()?.clone())
        } else if s.dtype().is_float() {
            Part::Float(s.cast(&DataType::Float64)?.f64()?.clone())
        } else {
            Part::Text(s.cast(&DataType::String)?.str()?.clone())
        })
    }

    fn is_set(&self, j: usize) -> bool {
        match self {
            Part::Int(c) => c.get(j).is_some(),
            Part::Float(c) => c.get(j).is_some(),
            Part::Text(c) => c.get(j).is_some(),
        }
    }
}

/// A list of `{key, value}` records (GA4's `event_params`: `value` a record of `string_value`,
/// `int_value`, `float_value`, `double_value`, or a plain value) as one column per key, holding the
/// value field that is set. A column's type is the one the NDJSON reader gives the same values:
/// integers stay Int64, integers and floats make Float64, any text makes the column text. `None`:
/// not such a list. A key repeated in one list keeps its first value.
fn pivot_key_values(s: &Series) -> PolarsResult<Option<Vec<Column>>> {
    if !is_key_value_list(s.dtype()) {
        return Ok(None);
    }
    let list = s.list()?;
    let list = list.rechunk();
    let offsets = list.offsets()?;
    let offsets = offsets.as_slice();
    let present = list.is_not_null();
    let inner = list.get_inner();
    let inner = inner.struct_()?;
    let keys = inner.field_by_name("key")?.cast(&DataType::String)?;
    let keys = keys.str()?;
    let value = inner.field_by_name("value")?;
    // The value fields in the order they are taken: the first one set wins (BigQuery sets one).
    let fields: Vec<Series> = match value.dtype() {
        DataType::Struct(_) => value
            .struct_()?
            .fields_as_series()
            .into_iter()
            .filter(|f| f.name().ends_with("_value"))
            .collect(),
        _ => vec![value.clone()],
    };
    if fields.iter().any(|p| p.dtype().is_nested()) {
        return Ok(None);
    }
    let parts = fields
        .iter()
        .map(Part::new)
        .collect::<PolarsResult<Vec<_>>>()?;
    // Per key, the (row, element, value field) of each value set: memory in proportion to the
    // values, not to keys x rows.
    let mut index: HashMap<&str, usize> = HashMap::new();
    let mut found: Vec<(String, Vec<Cell>)> = Vec::new();
    let height = list.len();
    for row in 0..height {
        if present.get(row) != Some(true) {
            continue;
        }
        for j in offsets[row] as usize..offsets[row + 1] as usize {
            let Some(key) = keys.get(j) else { continue };
            let c = *index.entry(key).or_insert_with(|| {
                found.push((key.to_string(), Vec::new()));
                found.len() - 1
            });
            let cells = &mut found[c].1;
            if cells.last().is_some_and(|l| l.0 == row) {
                continue;
            }
            let Some(p) = parts.iter().position(|p| p.is_set(j)) else {
                continue;
            };
            cells.push((row, j, p));
        }
    }
    let prefix = s.name().to_string();
    Ok(Some(
        found
            .into_iter()
            .map(|(key, cells)| typed_column(&format!("{prefix}.{key}"), height, &cells, &parts))
            .collect(),
    ))
}

fn typed_column(name: &str, height: usize, cells: &[Cell], parts: &[Part]) -> Column {
    let uses = |f: fn(&Part) -> bool| cells.iter().any(|c| f(&parts[c.2]));
    let text = uses(|p| matches!(p, Part::Text(_)));
    let float = uses(|p| matches!(p, Part::Float(_)));
    let int = uses(|p| matches!(p, Part::Int(_)));
    if text {
        let mut v: Vec<Option<String>> = vec![None; height];
        for &(row, j, p) in cells {
            v[row] = match &parts[p] {
                Part::Int(c) => c.get(j).map(|x| x.to_string()),
                Part::Float(c) => c.get(j).map(|x| x.to_string()),
                Part::Text(c) => c.get(j).map(str::to_string),
            };
        }
        Column::new(name.into(), v)
    } else if float {
        let mut v: Vec<Option<f64>> = vec![None; height];
        for &(row, j, p) in cells {
            v[row] = match &parts[p] {
                Part::Int(c) => c.get(j).map(|x| x as f64),
                Part::Float(c) => c.get(j),
                Part::Text(_) => None,
            };
        }
        Column::new(name.into(), v)
    } else if int {
        let mut v: Vec<Option<i64>> = vec![None; height];
        for &(row, j, p) in cells {
            if let Part::Int(c) = &parts[p] {
                v[row] = c.get(j);
            }
        }
        Column::new(name.into(), v)
    } else {
        Column::full_null(name.into(), height, &DataType::String)
    }
}
