//! CSV cells a spreadsheet would run as a formula (CSV injection, OWASP): a text cell that starts
//! with `=`, `@`, a tab or a carriage return, or with `+` / `-` and is not a plain number, is written
//! with a leading `'`, which Excel, LibreOffice and Google Sheets show as text and do not evaluate.
//! An export's event names, persona names and ids are data from outside; a `=HYPERLINK(...)` among
//! them must not become a live link (or worse) when an analyst opens the file.
//!
//! Only CSV gets this: Parquet, NDJSON and Avro keep every value exactly, and the writers say so
//! when cells were changed, so a join that needs the raw ids can use those formats.

use std::borrow::Cow;

use polars::prelude::*;

/// Would a spreadsheet read this text as a formula?
pub fn is_formula(s: &str) -> bool {
    match s.as_bytes().first() {
        Some(b'=' | b'@' | b'\t' | b'\r') => true,
        Some(b'+' | b'-') => !is_plain_number(s),
        _ => false,
    }
}

/// `-5`, `+1.5e3`: a spreadsheet reads these as numbers, which is harmless (and what they are).
fn is_plain_number(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
        && s.parse::<f64>().is_ok()
}

/// The text as a CSV writer should put it: with a leading `'` when it would run as a formula.
pub fn cell(s: &str) -> Cow<'_, str> {
    if is_formula(s) {
        Cow::Owned(format!("'{s}"))
    } else {
        Cow::Borrowed(s)
    }
}

/// What `defuse` changed: how many cells, and the first (column, row counted from 1 under the
/// header; 0 is the header itself) for the message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Defused {
    pub cells: usize,
    pub first: Option<(String, usize)>,
}

impl Defused {
    /// The warning a front end prints for the file it wrote; None when nothing changed.
    pub fn note(&self, path: &std::path::Path) -> Option<String> {
        let (column, row) = self.first.as_ref()?;
        let place = if *row == 0 {
            format!("the header's {column}")
        } else {
            format!("column {column} row {row}")
        };
        Some(format!(
            "{}: {} text cell(s) start like a spreadsheet formula (= + - @), the first in {place}; \
             they were written with a leading ' so a spreadsheet shows them as text. Write .parquet \
             or .ndjson to keep them exactly",
            path.display(),
            self.cells
        ))
    }
}

/// Prefix every text cell of `df` that would run as a formula (see the module comment).
pub fn defuse(df: &mut DataFrame) -> PolarsResult<Defused> {
    let mut out = Defused::default();
    // Column names are cells of the header row: a per-user table's own numeric column can be
    // called anything.
    let renames: Vec<(PlSmallStr, String)> = df
        .get_column_names()
        .into_iter()
        .filter(|n| is_formula(n))
        .map(|n| (n.clone(), cell(n).into_owned()))
        .collect();
    for (old, new) in renames {
        out.cells += 1;
        out.first.get_or_insert((new.clone(), 0));
        df.rename(&old, new.into())?;
    }
    let names: Vec<PlSmallStr> = df
        .columns()
        .iter()
        .filter(|c| c.dtype() == &DataType::String)
        .map(|c| c.name().clone())
        .collect();
    for name in names {
        let ca = df.column(&name)?.str()?.clone();
        let mut first = None;
        let mut n = 0usize;
        for (row, v) in ca.iter().enumerate() {
            if v.is_some_and(is_formula) {
                n += 1;
                first.get_or_insert(row + 1);
            }
        }
        if n == 0 {
            continue;
        }
        let fixed: StringChunked = ca.apply_values(|v| cell(v).into_owned().into());
        df.replace(&name, fixed.into_series().into_column())?;
        out.cells += n;
        if out.first.is_none() {
            out.first = first.map(|r| (name.to_string(), r));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_prefixed_and_numbers_are_not() {
        for s in [
            "=1+1",
            "@SUM(A1)",
            "+cmd|' /C calc'!A0",
            "-2+3",
            "\t=x",
            "=HYPERLINK(\"x\")",
        ] {
            assert!(is_formula(s), "{s}");
            assert_eq!(cell(s), format!("'{s}"));
        }
        for s in ["-5", "+1.5e3", "u1", "", "a=b", "1-2", "'=x"] {
            assert!(!is_formula(s), "{s}");
            assert_eq!(cell(s), s);
        }
    }

    #[test]
    fn a_frame_has_its_text_cells_defused_and_numbers_kept() {
        let mut df = df!(
            "user_id" => ["u1", "=cmd", "u3"],
            "persona" => ["Buyers", "Buyers", "@evil"],
            "x" => [-1.0, 2.0, 3.0],
        )
        .unwrap();
        let d = defuse(&mut df).unwrap();
        assert_eq!(d.cells, 2);
        assert_eq!(d.first, Some(("user_id".into(), 2)));
        let texts = |c: &str| -> Vec<String> {
            let col = df.column(c).unwrap().str().unwrap().clone();
            col.iter().map(|v| v.unwrap().to_string()).collect()
        };
        assert_eq!(texts("user_id"), ["u1", "'=cmd", "u3"]);
        assert_eq!(texts("persona"), ["Buyers", "Buyers", "'@evil"]);
        assert_eq!(df.column("x").unwrap().f64().unwrap().get(0), Some(-1.0));
        let mut df = df!("=cmd" => [1.0], "u" => ["a"]).unwrap();
        let d = defuse(&mut df).unwrap();
        assert_eq!(d.first, Some(("'=cmd".into(), 0)));
        assert!(
            d.note(std::path::Path::new("o.csv"))
                .unwrap()
                .contains("header")
        );
        assert!(df.column("'=cmd").is_ok());
    }
}
