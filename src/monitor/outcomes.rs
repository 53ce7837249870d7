//! The outcomes export: one row per exposure of a user to a rule (as production logs the decisions of
//! `decide`): user, rule id, variant, whether the user was in the holdout, when, and what followed
//! (clicked, converted, revenue), optionally the persona. Columns are found by their usual names or
//! set explicitly; CSV (gzip too), Parquet and NDJSON are read as for any export.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use polars::prelude::*;
use serde::Serialize;

use crate::data::format::{self, CsvPlan, FileFormat};
use crate::data::timestamp;
use crate::error::MonitorError;

/// Which column holds what; None: detected by name.
#[derive(Debug, Clone, Default)]
pub struct OutcomeColumns {
    pub user: Option<String>,
    pub rule: Option<String>,
    pub variant: Option<String>,
    pub holdout: Option<String>,
    pub time: Option<String>,
    pub clicked: Option<String>,
    pub converted: Option<String>,
    pub revenue: Option<String>,
    pub persona: Option<String>,
}

/// The arm of a rule a user was in.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Arm {
    /// The holdout (control): matched the rule, saw the default content.
    Control,
    /// Treated, with this variant ("" when the rule has no variants).
    Variant(String),
}

impl std::fmt::Display for Arm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Arm::Control => write!(f, "control"),
            Arm::Variant(v) if v.is_empty() => write!(f, "treated"),
            Arm::Variant(v) => write!(f, "variant {v}"),
        }
    }
}

/// One user under one rule, all of their exposures to it together.
#[derive(Debug, Clone, PartialEq)]
pub struct UserOutcome {
    pub user: String,
    pub arm: Arm,
    /// First exposure, µs since epoch (None when the export has no time column).
    pub first: Option<i64>,
    pub clicked: bool,
    pub converted: bool,
    pub revenue: f64,
    pub persona: Option<String>,
}

/// Outcomes by rule id.
#[derive(Debug, Clone, Default)]
pub struct Outcomes {
    pub path: PathBuf,
    pub rows: usize,
    pub by_rule: BTreeMap<String, Vec<UserOutcome>>,
    /// Users seen in two arms of one rule (kept in their first arm).
    pub arm_conflicts: usize,
    pub columns: Vec<(String, String)>,
}

const NAMES: [(&str, &[&str]); 9] = [
    (
        "user",
        &[
            "user_id",
            "userid",
            "user",
            "user_pseudo_id",
            "distinct_id",
            "anonymous_id",
        ],
    ),
    ("rule", &["rule", "rule_id", "ruleid"]),
    ("variant", &["variant", "variant_id", "arm"]),
    (
        "holdout",
        &["holdout", "in_holdout", "control", "is_control"],
    ),
    (
        "time",
        &["exposed_at", "time", "timestamp", "ts", "exposure_time"],
    ),
    ("clicked", &["clicked", "click", "clicks"]),
    (
        "converted",
        &["converted", "conversion", "conversions", "purchased"],
    ),
    ("revenue", &["revenue", "value", "amount"]),
    ("persona", &["persona", "segment", "persona_id"]),
];

fn read_text(path: &Path) -> Result<DataFrame, MonitorError> {
    let sniffed = format::sniff(path, None, None)?;
    let df = match sniffed.format {
        FileFormat::Csv => format::read_csv(
            path,
            &sniffed,
            &CsvPlan {
                columns: None,
                dtypes: vec![],
                infer_all_rows: false,
                n_rows: None,
                all_text: true,
            },
        )?,
        FileFormat::Parquet => format::read_parquet(path, None)?,
        FileFormat::Ndjson => format::read_ndjson(path, &sniffed)?.0,
        FileFormat::Avro => format::read_avro(path, None)?,
    };
    Ok(df)
}

fn flag(v: Option<&str>) -> Option<bool> {
    let v = v?.trim().to_ascii_lowercase();
    match v.as_str() {
        "" => None,
        "1" | "true" | "yes" | "y" | "t" | "1.0" => Some(true),
        "0" | "false" | "no" | "n" | "f" | "0.0" => Some(false),
        _ => v.parse::<f64>().ok().map(|x| x > 0.0),
    }
}

pub fn read(path: &Path, cols: &OutcomeColumns) -> Result<Outcomes, MonitorError> {
    let df = read_text(path)?;
    let header: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|s| s.to_string())
        .collect();
    let given = [
        &cols.user,
        &cols.rule,
        &cols.variant,
        &cols.holdout,
        &cols.time,
        &cols.clicked,
        &cols.converted,
        &cols.revenue,
        &cols.persona,
    ];
    let mut found: Vec<Option<String>> = Vec::new();
    for ((role, names), g) in NAMES.iter().zip(given) {
        let c = match g {
            Some(c) if c.is_empty() => None,
            Some(c) => {
                if !header.contains(c) {
                    return Err(MonitorError::Column {
                        path: path.to_path_buf(),
                        message: format!(
                            "column {c:?} given for {role} does not exist; columns are [{}]",
                            header.join(", ")
                        ),
                    });
                }
                Some(c.clone())
            }
            None => header
                .iter()
                .find(|h| names.contains(&h.to_ascii_lowercase().as_str()))
                .cloned(),
        };
        found.push(c);
    }
    for (i, role) in [(0, "user"), (1, "rule")] {
        if found[i].is_none() {
            return Err(MonitorError::Column {
                path: path.to_path_buf(),
                message: format!(
                    "no {role} column among [{}]; name it with --{role}-col",
                    header.join(", ")
                ),
            });
        }
    }
    // Columns that may each be missing, but not both.
    for (a, b, message) in [
        (
            2,
            3,
            "neither a variant nor a holdout column: the arms cannot be told apart \
             (--variant-col, --holdout-col)",
        ),
        (
            5,
            6,
            "neither a clicked nor a converted column: there is no outcome to measure \
             (--clicked-col, --converted-col)",
        ),
    ] {
        if found[a].is_none() && found[b].is_none() {
            return Err(MonitorError::Column {
                path: path.to_path_buf(),
                message: message.into(),
            });
        }
    }
    let text = |i: usize| -> Result<Option<Vec<Option<String>>>, MonitorError> {
        let Some(name) = &found[i] else {
            return Ok(None);
        };
        let s = df
            .column(name)
            .and_then(|c| c.cast(&DataType::String))
            .map_err(|e| MonitorError::Column {
                path: path.to_path_buf(),
                message: format!("column {name:?}: {e}"),
            })?;
        let ca = s.str().map_err(|e| MonitorError::Column {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        Ok(Some(ca.iter().map(|v| v.map(String::from)).collect()))
    };
    let cols_text: Vec<Option<Vec<Option<String>>>> = (0..9).map(text).collect::<Result<_, _>>()?;
    let n = df.height();
    let get = |i: usize, r: usize| cols_text[i].as_ref().and_then(|c| c[r].as_deref());
    let bad = |row: usize, col: usize, what: &str, v: &str| MonitorError::Row {
        path: path.to_path_buf(),
        row: row + 1,
        column: found[col].clone().unwrap_or_default(),
        message: format!("{what}, got {v:?}"),
    };
    let mut by_rule: BTreeMap<String, BTreeMap<String, UserOutcome>> = BTreeMap::new();
    let mut conflicts = 0;
    for r in 0..n {
        let (Some(user), Some(rule)) = (get(0, r), get(1, r)) else {
            continue;
        };
        if user.is_empty() || rule.is_empty() {
            continue;
        }
        let variant = get(2, r).unwrap_or("").trim().to_string();
        let holdout = match get(3, r) {
            Some(v) if !v.trim().is_empty() => {
                flag(Some(v)).ok_or_else(|| bad(r, 3, "expected true/false or 1/0", v))?
            }
            _ => matches!(variant.to_ascii_lowercase().as_str(), "holdout" | "control"),
        };
        let arm = if holdout {
            Arm::Control
        } else {
            Arm::Variant(variant)
        };
        let time = match get(4, r) {
            Some(t) if !t.trim().is_empty() => Some(
                timestamp::parse_instant(t.trim())
                    .ok_or_else(|| bad(r, 4, "expected a date or time", t))?,
            ),
            _ => None,
        };
        let clicked = match get(5, r) {
            Some(v) if !v.trim().is_empty() => {
                flag(Some(v)).ok_or_else(|| bad(r, 5, "expected true/false or 1/0", v))?
            }
            _ => false,
        };
        let converted = match get(6, r) {
            Some(v) if !v.trim().is_empty() => {
                flag(Some(v)).ok_or_else(|| bad(r, 6, "expected true/false or 1/0", v))?
            }
            _ => false,
        };
        let revenue = match get(7, r) {
            Some(v) if !v.trim().is_empty() => {
                let x: f64 = v
                    .trim()
                    .parse()
                    .map_err(|_| bad(r, 7, "expected a number", v))?;
                if !x.is_finite() {
                    return Err(bad(r, 7, "expected a finite number", v));
                }
                x
            }
            _ => 0.0,
        };
        let persona = get(8, r).map(String::from).filter(|p| !p.is_empty());
        let users = by_rule.entry(rule.to_string()).or_default();
        match users.get_mut(user) {
            Some(u) => {
                if u.arm != arm {
                    conflicts += 1;
                }
                u.clicked |= clicked;
                u.converted |= converted;
                u.revenue += revenue;
                u.first = match (u.first, time) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
            }
            None => {
                users.insert(
                    user.to_string(),
                    UserOutcome {
                        user: user.to_string(),
                        arm,
                        first: time,
                        clicked,
                        converted,
                        revenue,
                        persona,
                    },
                );
            }
        }
    }
    if by_rule.is_empty() {
        return Err(MonitorError::Column {
            path: path.to_path_buf(),
            message: "no exposures (no row with both a user and a rule)".into(),
        });
    }
    let columns = NAMES
        .iter()
        .zip(&found)
        .filter_map(|((role, _), c)| c.as_ref().map(|c| (role.to_string(), c.clone())))
        .collect();
    Ok(Outcomes {
        path: path.to_path_buf(),
        rows: n,
        by_rule: by_rule
            .into_iter()
            .map(|(k, v)| (k, v.into_values().collect()))
            .collect(),
        arm_conflicts: conflicts,
        columns,
    })
}
