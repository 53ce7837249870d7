//! `persona-lab sql`: print the SQL that runs Persona Lab's per-user work in a warehouse.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use persona_lab::features::FeatureConfig;
use persona_lab::features::aggregate::ONE_HOT_PREFIX;
use persona_lab::ruleset::RuleSet;
use persona_lab::sql::features::{EventsTable, TimeUnit};
use persona_lab::sql::{Dialect, assign, features};

#[derive(Debug, Args)]
pub struct SqlCmd {
    #[command(subcommand)]
    pub what: SqlWhat,
}

#[derive(Debug, Subcommand)]
pub enum SqlWhat {
    /// The query that puts every user of a profile table into a segment as `assign` does, with the
    /// persona and every model's score and band
    Assign(SqlAssign),
    /// The query that computes every user's profile features from an events table (one row per event)
    Features(Box<SqlFeatures>),
}

#[derive(Debug, Args)]
pub struct SqlFeatures {
    /// duckdb, spark, bigquery or snowflake
    #[arg(long, default_value = "duckdb")]
    pub dialect: String,
    /// The events table, as the engine names it (for GA4's export, a wildcard table such as
    /// `project.analytics_123.events_*` in BigQuery)
    #[arg(long, value_name = "NAME")]
    pub table: String,
    /// `events`: a flat table, one column per role (the column flags below); `ga4`: GA4's BigQuery
    /// export schema, parameters read out of the nested `event_params`
    #[arg(long, default_value = "events")]
    pub schema: String,
    /// Take the feature settings (event names, kinds, half-life, reference time) from this rule set,
    /// so the profile has the columns its model needs
    #[arg(long, value_name = "FILE")]
    pub rules: Option<PathBuf>,
    #[arg(long, default_value = "user_id", value_name = "COLUMN")]
    pub user_col: String,
    #[arg(long, default_value = "ts", value_name = "COLUMN")]
    pub ts_col: String,
    /// How the time column is written: timestamp, us, ms or s since the epoch
    #[arg(long, default_value = "timestamp")]
    pub ts_unit: String,
    #[arg(long, default_value = "event", value_name = "COLUMN")]
    pub event_col: String,
    /// Session ids (without: sessions split after --session-gap-minutes of inactivity)
    #[arg(long, value_name = "COLUMN")]
    pub session_col: Option<String>,
    #[arg(long, value_name = "COLUMN")]
    pub value_col: Option<String>,
    #[arg(long, value_name = "COLUMN")]
    pub duration_col: Option<String>,
    /// The duration column is in milliseconds (else seconds)
    #[arg(long)]
    pub duration_ms: bool,
    #[arg(long, value_name = "COLUMN")]
    pub scroll_col: Option<String>,
    /// Count only rows whose value here grants consent (yes, true, 1, granted, ...)
    #[arg(long, value_name = "COLUMN")]
    pub consent_col: Option<String>,
    /// Per-name counts (`count:NAME`, and `count:other`) for these event names, comma-separated
    #[arg(long, value_delimiter = ',', value_name = "NAMES")]
    pub event_names: Vec<String>,
    /// Numeric columns with sum, mean and max features per user (`sum:NAME`), comma-separated; for
    /// `--schema ga4` the event parameters as the app names them: `event_params.quantity`
    #[arg(long, value_delimiter = ',', value_name = "COLUMNS")]
    pub measure_cols: Vec<String>,
    /// Categorical columns given out per user as their most frequent value, comma-separated; for
    /// `--schema ga4` as the app names them: `device.category`, `geo.country`, `platform`
    #[arg(long, value_delimiter = ',', value_name = "COLUMNS")]
    pub attribute_cols: Vec<String>,
    /// One-hot features to compute, comma-separated: `is:device.category=mobile` (their attribute
    /// columns are added to --attribute-cols)
    #[arg(long, value_delimiter = ',', value_name = "FEATURES")]
    pub one_hot_values: Vec<String>,
    #[arg(long, default_value_t = 14.0, value_name = "DAYS")]
    pub half_life_days: f64,
    #[arg(long, default_value_t = 30.0, value_name = "MINUTES")]
    pub session_gap_minutes: f64,
    /// Write the query to this file instead of printing it
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct SqlAssign {
    /// The rule set (RON or JSON)
    #[arg(long, value_name = "FILE")]
    pub rules: PathBuf,
    /// duckdb, spark, bigquery or snowflake
    #[arg(long, default_value = "duckdb")]
    pub dialect: String,
    /// The profile table (one row per user, Persona Lab's feature names as columns), as the engine
    /// names it: `project.dataset.profiles`, or in DuckDB `read_parquet('profiles.parquet')`
    #[arg(long, value_name = "NAME")]
    pub table: String,
    /// The user id column
    #[arg(long, default_value = "user_id", value_name = "COLUMN")]
    pub id_col: String,
    /// Write the query to this file instead of printing it
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

pub fn run(cmd: &SqlCmd) -> Result<(), String> {
    match &cmd.what {
        SqlWhat::Assign(a) => {
            let dialect: Dialect = a.dialect.parse()?;
            let rs = RuleSet::read(&a.rules).map_err(|e| e.to_string())?;
            super::rules::refuse_errors(&rs, &a.rules)?;
            emit(&assign::query(&rs, dialect, &a.table, &a.id_col), &a.out)
        }
        SqlWhat::Features(f) => {
            let dialect: Dialect = f.dialect.parse()?;
            let rs = match &f.rules {
                Some(p) => Some(RuleSet::read(p).map_err(|e| e.to_string())?),
                None => None,
            };
            let one_hot: Vec<String> = f
                .one_hot_values
                .iter()
                .map(|v| match v.starts_with(ONE_HOT_PREFIX) {
                    true => v.clone(),
                    false => format!("{ONE_HOT_PREFIX}{v}"),
                })
                .collect();
            if let Some(bad) = one_hot
                .iter()
                .find(|v| features::one_hot_parts(v).is_none())
            {
                return Err(format!(
                    "--one-hot-values: {bad:?} is not ATTRIBUTE=VALUE (is:device.category=mobile)"
                ));
            }
            let cfg = match &rs {
                Some(rs) => rs.features.config.clone(),
                None => FeatureConfig {
                    half_life_days: f.half_life_days,
                    session_gap_minutes: f.session_gap_minutes,
                    event_names: (!f.event_names.is_empty()).then(|| f.event_names.clone()),
                    one_hot_attributes: !one_hot.is_empty(),
                    one_hot_values: (!one_hot.is_empty()).then(|| one_hot.clone()),
                    ..FeatureConfig::default()
                },
            };
            if !(cfg.half_life_days > 0.0 && cfg.session_gap_minutes > 0.0) {
                return Err("--half-life-days and --session-gap-minutes must be positive".into());
            }
            // The columns named, then those the rule set's features or the one-hot values need.
            let mut wanted: Vec<String> = one_hot.clone();
            if let Some(rs) = &rs {
                wanted.extend(rs.features.profile_features.iter().cloned());
                wanted.extend(rs.features.transform.features.iter().map(|x| x.id.clone()));
                wanted.extend(cfg.one_hot_values.iter().flatten().cloned());
            }
            let (need_m, need_a) = features::needed_columns(&wanted);
            let union = |given: &[String], needed: Vec<String>| {
                let mut all = given.to_vec();
                all.extend(needed.into_iter().filter(|n| !given.contains(n)));
                all
            };
            let measures = union(&f.measure_cols, need_m);
            let attributes = union(&f.attribute_cols, need_a);
            let (from, table) = match f.schema.as_str() {
                "ga4" => {
                    if let Some(note) = features::ga4_wildcard_note(&f.table) {
                        eprintln!("note: {}", persona_lab::terminal::clean_line(&note));
                    }
                    features::ga4_source(dialect, &f.table, &measures, &attributes)
                }
                "events" => (
                    f.table.clone(),
                    EventsTable {
                        user: f.user_col.clone(),
                        ts: f.ts_col.clone(),
                        ts_unit: f.ts_unit.parse::<TimeUnit>()?,
                        event: f.event_col.clone(),
                        session: f.session_col.clone(),
                        value: f.value_col.clone(),
                        duration: f.duration_col.clone(),
                        duration_ms: f.duration_ms,
                        scroll: f.scroll_col.clone(),
                        consent: f.consent_col.clone(),
                        measures,
                        attributes,
                    },
                ),
                other => return Err(format!("unknown schema {other:?}; use events or ga4")),
            };
            let q = features::query(&cfg, &table, dialect, &from).map_err(|e| e.to_string())?;
            if let (Some(rs), Some(p)) = (&rs, &f.rules) {
                q.check_covers(rs)
                    .map_err(|e| format!("{}: {e} (map their columns)", p.display()))?;
            }
            emit(&q.sql, &f.out)
        }
    }
}

fn emit(sql: &str, out: &Option<PathBuf>) -> Result<(), String> {
    match out {
        Some(p) => persona_lab::output::write_bytes(p, sql.as_bytes()).map_err(|e| e.to_string()),
        None => {
            // Piped or redirected, the query is a data product and goes out exactly; on a terminal,
            // a name holding an escape sequence is shown, not obeyed.
            if std::io::IsTerminal::is_terminal(&std::io::stdout()) {
                say_part!("{sql}");
            } else {
                print!("{sql}");
            }
            Ok(())
        }
    }
}
