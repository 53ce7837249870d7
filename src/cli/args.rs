//! Command-line arguments shared by the subcommands that read an export.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use persona_lab::data::{DurationUnit, FileFormat, LoadOptions, RoleMapping, Shape};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ShapeArg {
    Events,
    Users,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FormatArg {
    Csv,
    Parquet,
    Ndjson,
    Avro,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum DurationUnitArg {
    S,
    Ms,
}

/// How to read the input: every role can be set explicitly; anything not set is detected.
#[derive(Debug, Clone, Args)]
pub struct MappingArgs {
    /// The export to read (CSV, optionally gzip; Parquet; NDJSON / JSON lines)
    pub input: PathBuf,
    /// Column with the user id (read as text, never as a number)
    #[arg(long, value_name = "COL")]
    pub user_col: Option<String>,
    /// Column with the event time
    #[arg(long, value_name = "COL")]
    pub time_col: Option<String>,
    /// Column with the event name
    #[arg(long, value_name = "COL")]
    pub event_col: Option<String>,
    /// Column with the session id (without one, sessions are split by the inactivity gap)
    #[arg(long, value_name = "COL")]
    pub session_col: Option<String>,
    /// Column with the value / revenue
    #[arg(long, value_name = "COL")]
    pub value_col: Option<String>,
    /// Column with the duration / engagement time
    #[arg(long, value_name = "COL")]
    pub duration_col: Option<String>,
    /// Column with the scroll depth (percent, or a 0..1 fraction)
    #[arg(long, value_name = "COL")]
    pub scroll_col: Option<String>,
    /// Column with the consent flag; rows without consent are dropped
    #[arg(long, value_name = "COL")]
    pub consent_col: Option<String>,
    /// strftime format of the timestamps, e.g. "%d/%m/%Y %H:%M" (default: detected)
    #[arg(long, value_name = "FMT")]
    pub time_format: Option<String>,
    /// The time zone of times that do not say theirs (Mixpanel's raw export: the project's zone;
    /// naive text times): an IANA name such as America/Los_Angeles, UTC, or +02:00 (default: UTC)
    #[arg(long, value_name = "ZONE")]
    pub time_zone: Option<String>,
    /// Unit of the duration column (default: ms when its name says msec/ms, else seconds)
    #[arg(long, value_enum)]
    pub duration_unit: Option<DurationUnitArg>,
    /// One row per event, or one row per user (default: detected)
    #[arg(long, value_enum)]
    pub shape: Option<ShapeArg>,
    /// File format (default: from the extension and content)
    #[arg(long, value_enum)]
    pub format: Option<FormatArg>,
    /// CSV field delimiter, one character; `\t` for tab (default: detected)
    #[arg(long, value_name = "CHAR")]
    pub delimiter: Option<String>,
    /// Replace user ids by salted SHA-256 hashes on load
    #[arg(long)]
    pub hash_ids: bool,
    /// Salt for --hash-ids (or set PERSONA_LAB_SALT); it is never written to any output
    #[arg(long, env = "PERSONA_LAB_SALT", hide_env_values = true)]
    pub salt: Option<String>,
    /// Keep a column that was detected as personal data (repeatable)
    #[arg(long = "keep-col", value_name = "COL")]
    pub keep_col: Vec<String>,
}

impl MappingArgs {
    pub fn load_options(&self) -> Result<LoadOptions, String> {
        let delimiter = match self.delimiter.as_deref() {
            None => None,
            Some("\\t") | Some("tab") => Some(b'\t'),
            Some(d) if d.len() == 1 => Some(d.as_bytes()[0]),
            Some(d) => return Err(format!("--delimiter must be one character, got {d:?}")),
        };
        let hash_salt = if self.hash_ids {
            match &self.salt {
                Some(s) if !s.is_empty() => Some(s.clone()),
                _ => {
                    return Err(
                        "--hash-ids needs a salt: pass --salt or set PERSONA_LAB_SALT".into(),
                    );
                }
            }
        } else {
            None
        };
        Ok(LoadOptions {
            format: self.format.map(|f| match f {
                FormatArg::Csv => FileFormat::Csv,
                FormatArg::Parquet => FileFormat::Parquet,
                FormatArg::Ndjson => FileFormat::Ndjson,
                FormatArg::Avro => FileFormat::Avro,
            }),
            delimiter,
            shape: self.shape.map(|s| match s {
                ShapeArg::Events => Shape::Events,
                ShapeArg::Users => Shape::Users,
            }),
            roles: RoleMapping {
                user_id: self.user_col.clone(),
                user_id_fallback: None,
                timestamp: self.time_col.clone(),
                event: self.event_col.clone(),
                event_fallback: None,
                session: self.session_col.clone(),
                value: self.value_col.clone(),
                value_fallback: Vec::new(),
                duration: self.duration_col.clone(),
                scroll: self.scroll_col.clone(),
                consent: self.consent_col.clone(),
                dedup_key: Vec::new(),
                every_row: None,
                attributes: Vec::new(),
                measures: Vec::new(),
            },
            time_format: self.time_format.clone(),
            time_zone: self.time_zone.clone(),
            duration_unit: self.duration_unit.map(|u| match u {
                DurationUnitArg::S => DurationUnit::Seconds,
                DurationUnitArg::Ms => DurationUnit::Milliseconds,
            }),
            hash_salt,
            keep_columns: self.keep_col.clone(),
            streaming: None,
        })
    }
}

/// Feature settings shared by subcommands that compute profiles.
#[derive(Debug, Clone, Args)]
pub struct FeatureArgs {
    /// Features that make the engagement score (comma-separated ids; default: the default set)
    #[arg(long, value_delimiter = ',', value_name = "IDS")]
    pub features: Vec<String>,
    /// Weights, e.g. `sessions=1,scroll_mean=2,time_per_session=3` (default 1)
    #[arg(long, value_delimiter = ',', value_name = "ID=W")]
    pub weights: Vec<String>,
    /// Scaler: standard, robust, minmax or none
    #[arg(long, default_value = "standard")]
    pub scaler: String,
    /// Features to keep on their raw scale (no log1p), comma-separated; bare `--no-log` means all
    #[arg(long, value_delimiter = ',', value_name = "IDS", num_args = 0..=1, default_missing_value = "*")]
    pub no_log: Vec<String>,
    /// Features to log1p-transform, comma-separated
    #[arg(long, value_delimiter = ',', value_name = "IDS")]
    pub log: Vec<String>,
    /// Per-event-name counts for the N most frequent event names
    #[arg(long, default_value_t = 10)]
    pub top_events: usize,
    /// Half-life of the time-decayed event count, in days
    #[arg(long, default_value_t = 14.0)]
    pub half_life: f64,
    /// Inactivity gap that splits sessions when there is no session column, in minutes
    #[arg(long, default_value_t = 30.0)]
    pub session_gap: f64,
    /// Reference date for recency and decay (default: the export's last event); later events are ignored
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<String>,
    /// One 0/1 feature per common value of each categorical attribute (device category, platform,
    /// country): `is:device.category=mobile`, used for clustering
    #[arg(long)]
    pub one_hot_attributes: bool,
}
