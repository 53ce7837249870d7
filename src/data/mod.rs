//! Reading exports: formats, column roles and presets, timestamps, privacy, and the canonical tables
//! (events or users) that the feature step consumes.

pub mod avro_header;
mod chunks;
pub mod columns;
pub mod detect;
pub mod events;
pub mod flatten;
pub mod format;
pub mod ga4_tables;
pub mod json_lines;
pub mod memory;
pub mod parquet_footer;
pub mod privacy;
pub mod roles;
pub mod source;
pub mod stream;
pub mod timestamp;
pub mod timezone;
pub mod users;
pub mod zip;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use polars::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::LoadError;
use crate::hints::{Setting, how};
pub use format::FileFormat;
use format::{CsvPlan, Sniffed};
pub use privacy::PiiKind;
pub use roles::{Preset, Role, RoleMapping};
pub use timestamp::TimeEncoding;

/// Canonical column names of the events table.
pub mod cols {
    pub const USER: &str = "user_id";
    /// Microseconds since the epoch, UTC.
    pub const TS: &str = "ts";
    pub const EVENT: &str = "event";
    pub const SESSION: &str = "session";
    pub const VALUE: &str = "value";
    /// Seconds.
    pub const DURATION: &str = "duration_s";
    /// Percent, 0..=100.
    pub const SCROLL: &str = "scroll";
    /// Prefix of the attribute columns (`attr:device.category`), text.
    pub const ATTR_PREFIX: &str = "attr:";
    /// Prefix of the optional measure columns (`num:event_params.quantity`), Float64.
    pub const NUM_PREFIX: &str = "num:";
    /// A streamed export's vendor deduplication key, hashed to 128 bits (two UInt64 halves; null
    /// where the key is incomplete): the duplicates are dropped part by part (`stream.rs`).
    pub const KEY_A: &str = "__key_a";
    pub const KEY_B: &str = "__key_b";
}

/// One row per event, or one row per user with its features already aggregated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Shape {
    Events,
    Users,
}

impl std::fmt::Display for Shape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Shape::Events => "events (one row per event)",
            Shape::Users => "users (one row per user)",
        })
    }
}

/// Unit of the duration column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DurationUnit {
    Seconds,
    Milliseconds,
}

/// Everything the user can choose about loading. `Default` is "detect everything".
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LoadOptions {
    pub format: Option<FileFormat>,
    pub delimiter: Option<u8>,
    pub shape: Option<Shape>,
    /// Explicit role columns; `Some("")` unmaps a role that was detected.
    pub roles: RoleMapping,
    /// strftime format of the timestamp column, when detection is not enough.
    pub time_format: Option<String>,
    /// The time zone times without one are written in (an IANA name, UTC or an offset; see
    /// [`timezone`]); None: UTC.
    #[serde(default)]
    pub time_zone: Option<String>,
    /// Unit of the duration column (default: milliseconds when the name says so, else seconds).
    pub duration_unit: Option<DurationUnit>,
    /// Salt for hashing user ids; hashing is on when this is set. Never written to any output.
    #[serde(skip)]
    pub hash_salt: Option<String>,
    /// Columns detected as personal data that the user chose to keep.
    pub keep_columns: Vec<String>,
    /// Stream the export with this cut whatever its size (tests, benches); None: stream only what
    /// does not fit in the memory budget.
    #[serde(skip)]
    pub streaming: Option<stream::Streaming>,
}

/// Something the analysis can go on with, but the analyst should know.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Warning {
    pub column: Option<String>,
    pub message: String,
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.column {
            Some(c) => write!(f, "column {c:?}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// A column of the export that does not reach the analysis, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeftOut {
    pub column: String,
    pub reason: String,
}

/// What was loaded, how, and what happened on the way.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub path: PathBuf,
    pub format: FileFormat,
    /// Whether the file, or any file of the export, is gzipped.
    pub gzip: bool,
    pub source: source::SourceKind,
    /// The files read, as the user knows them (relative to the folder, or inside the archive).
    pub files: Vec<String>,
    /// Files of the folder or archive that are not exports, left alone.
    pub skipped_files: Vec<String>,
    /// Why roles and the shape were chosen from the values, where the names did not tell.
    pub reasons: Vec<detect::Reason>,
    /// Every column of the export (the union over its files, flattened), in the order first seen:
    /// what a role can be given.
    pub columns: Vec<String>,
    pub delimiter: Option<u8>,
    pub preset: Preset,
    pub shape: Shape,
    pub mapping: RoleMapping,
    pub time_encoding: Option<TimeEncoding>,
    /// The zone the times were read in when they did not say theirs (`LoadOptions::time_zone`).
    pub time_zone: Option<String>,
    pub duration_unit: Option<DurationUnit>,
    /// Rows in the file (data rows, header excluded).
    pub rows_read: usize,
    /// Rows dropped, by reason.
    pub rows_dropped: Vec<(String, usize)>,
    pub hashed_ids: bool,
    /// The canonical table: events (see [`cols`]) or users (user id + numeric feature columns).
    /// Empty when the export was streamed: its events are in `spill`.
    pub table: DataFrame,
    /// A streamed export's events, on disk by user (see [`stream`]).
    pub spill: Option<Arc<stream::Spill>>,
    pub left_out: Vec<LeftOut>,
    pub warnings: Vec<Warning>,
}

impl Loaded {
    /// The first rows of the canonical table (the whole table unless streamed).
    pub fn preview(&self) -> &DataFrame {
        match &self.spill {
            Some(s) => &s.preview,
            None => &self.table,
        }
    }

    /// Canonical rows kept.
    pub fn rows_kept(&self) -> usize {
        match &self.spill {
            Some(s) => s.rows,
            None => self.table.height(),
        }
    }

    pub fn n_users(&self) -> usize {
        if let Some(s) = &self.spill {
            return s.n_users();
        }
        self.table
            .column(cols::USER)
            .and_then(|c| c.n_unique())
            .unwrap_or(0)
    }

    /// First and last event time (microseconds), events shape only.
    pub fn time_span(&self) -> Option<(i64, i64)> {
        if let Some(s) = &self.spill {
            return s.span;
        }
        let ts = self.table.column(cols::TS).ok()?.i64().ok()?;
        Some((ts.min()?, ts.max()?))
    }
}

/// Column names for a message: at most 30, each at most 60 characters (a header of 100,000 columns or
/// a 10 MB "name" must not become a 10 MB message), control characters escaped (a header holding a
/// terminal escape sequence must not drive the terminal that prints the error).
pub fn column_list(columns: &[String]) -> String {
    const SHOW: usize = 30;
    const LEN: usize = 60;
    let clean = crate::terminal::clean_line;
    let short = |c: &String| {
        if c.chars().count() > LEN {
            format!(
                "{}… ({} characters)",
                clean(&c.chars().take(LEN).collect::<String>()),
                c.chars().count()
            )
        } else {
            clean(c)
        }
    };
    let shown: Vec<String> = columns.iter().take(SHOW).map(short).collect();
    if columns.len() > SHOW {
        format!("{} and {} more", shown.join(", "), columns.len() - SHOW)
    } else {
        shown.join(", ")
    }
}

/// Format a list of 1-based data rows for a message: "rows 3, 9, 12 and 40 more".
pub fn describe_rows(rows: &[u64]) -> String {
    const SHOW: usize = 5;
    let shown: Vec<String> = rows.iter().take(SHOW).map(|r| r.to_string()).collect();
    let word = if rows.len() == 1 { "row" } else { "rows" };
    if rows.len() > SHOW {
        format!("{word} {} and {} more", shown.join(", "), rows.len() - SHOW)
    } else {
        format!("{word} {}", shown.join(", "))
    }
}

/// One file of the export: how it reads, its columns, and (NDJSON, nested Parquet) its table read
/// whole.
struct Part {
    path: PathBuf,
    sniffed: Sniffed,
    columns: Vec<String>,
    full: Option<DataFrame>,
    /// A streamed export's file not opened yet (one read whole: NDJSON, Avro, nested Parquet): its
    /// columns are found when its turn comes.
    deferred: bool,
    /// A streamed JSON-lines file larger than the budget: its columns (and `full`) are its first
    /// chunk's; its rows are read chunk by chunk when its turn comes.
    chunked: bool,
}

/// A list column met while flattening, noted once as left out.
fn list_left_out(left_out: &mut Vec<LeftOut>, name: String) {
    if !left_out.iter().any(|l| l.column == name) {
        left_out.push(LeftOut {
            column: name,
            reason: "a list, not a value".into(),
        });
    }
}

/// A chunk of whole lines of a JSON-lines file as a flat table, with the lists it left out
/// (`lines_before`: the file's lines before the chunk, for messages).
fn ndjson_chunk(
    path: &Path,
    chunk: Vec<u8>,
    lines_before: usize,
) -> Result<(DataFrame, Vec<String>), LoadError> {
    let (raw, lists) = format::read_ndjson_chunk(path, chunk, lines_before)?;
    let (df, more) = flatten::flatten_structs(raw).map_err(|e| LoadError::Parse {
        path: path.to_path_buf(),
        format: "NDJSON".into(),
        message: e.to_string(),
    })?;
    Ok((df, lists.into_iter().chain(more).collect()))
}

/// The columns of one file; NDJSON (no header) and nested Parquet (GA4's parameters in lists) are
/// read whole and flattened to find them.
fn open_part(
    path: &Path,
    sniffed: Sniffed,
    left_out: &mut Vec<LeftOut>,
) -> Result<Part, LoadError> {
    let mut list_left_out = |name: String| list_left_out(left_out, name);
    let mut full: Option<DataFrame> = None;
    let columns: Vec<String> = match sniffed.format {
        FileFormat::Csv => sniffed.header.clone(),
        FileFormat::Parquet | FileFormat::Avro => {
            let format = sniffed.format;
            let schema = match format {
                FileFormat::Avro => format::avro_schema(path)?,
                _ => format::parquet_schema(path)?,
            };
            // Avro is read whole however it is shaped: its rows are records, with no column chunks
            // to pick from later.
            if format == FileFormat::Avro || schema.iter_values().any(|d| d.is_nested()) {
                // Other lists (GA4's `items`) are not read at all.
                let mut wanted = Vec::new();
                for (name, dtype) in schema.iter() {
                    if matches!(dtype, DataType::List(_)) && !flatten::is_key_value_list(dtype) {
                        list_left_out(name.to_string());
                    } else {
                        wanted.push(name.to_string());
                    }
                }
                let raw = match format {
                    FileFormat::Avro => format::read_avro(path, Some(wanted))?,
                    _ => format::read_parquet(path, Some(wanted))?,
                };
                let (df, more) = flatten::flatten_structs(raw).map_err(|e| LoadError::Parse {
                    path: path.to_path_buf(),
                    format: format.to_string(),
                    message: e.to_string(),
                })?;
                more.into_iter().for_each(&mut list_left_out);
                full = Some(df);
                vec![]
            } else {
                schema.iter_names().map(|n| n.to_string()).collect()
            }
        }
        FileFormat::Ndjson => {
            let (raw, lists) = format::read_ndjson(path, &sniffed)?;
            let (df, more) = flatten::flatten_structs(raw).map_err(|e| LoadError::Parse {
                path: path.to_path_buf(),
                format: "NDJSON".into(),
                message: e.to_string(),
            })?;
            lists.into_iter().chain(more).for_each(&mut list_left_out);
            full = Some(df);
            vec![]
        }
    };
    let columns = match &full {
        Some(df) => df
            .get_column_names()
            .iter()
            .map(|s| s.to_string())
            .collect(),
        None => columns,
    };
    Ok(Part {
        path: path.to_path_buf(),
        sniffed,
        columns,
        full,
        deferred: false,
        chunked: false,
    })
}

/// An export's files opened: how each reads, and the union of their columns.
struct Opened {
    src: source::Source,
    parts: Vec<Part>,
    /// In the order first seen.
    columns: Vec<String>,
    /// Lists found while flattening (left out of the analysis).
    left_out: Vec<LeftOut>,
    /// The export is streamed, with this cut.
    streaming: Option<stream::Streaming>,
    /// The in-memory load's estimated peak.
    need: u64,
}

/// Whether a file is read whole to find its columns (NDJSON, Avro, nested Parquet).
fn read_whole(path: &Path, sniffed: &Sniffed) -> Result<bool, LoadError> {
    Ok(match sniffed.format {
        FileFormat::Csv => false,
        FileFormat::Ndjson | FileFormat::Avro => true,
        FileFormat::Parquet => format::parquet_schema(path)?
            .iter_values()
            .any(|d| d.is_nested()),
    })
}

fn open_export(path: &Path, opts: &LoadOptions) -> Result<Opened, LoadError> {
    let src = source::open(path)?;
    // Every file sniffed and the whole export held against the memory budget before any is read.
    let mut sniffs = Vec::with_capacity(src.files.len());
    let mut need = 0u64;
    for f in &src.files {
        let sniffed = format::sniff(f, opts.format, opts.delimiter)?;
        need = need.saturating_add(memory::estimate(f, &sniffed)?);
        sniffs.push(sniffed);
    }
    // What does not fit is streamed (events only: a per-user table is refused when its shape is
    // known).
    let streaming = match opts.streaming {
        Some(s) => Some(s),
        None => match memory::budget().map_err(|message| LoadError::MemoryBudget { message })? {
            Some(b) if need > b.bytes => Some(stream::Streaming::for_budget(need, b.bytes)),
            _ => None,
        },
    };
    let mut left_out: Vec<LeftOut> = Vec::new();
    let mut parts = Vec::with_capacity(sniffs.len());
    for (i, (f, sniffed)) in src.files.iter().zip(sniffs).enumerate() {
        // Streamed, a file read whole must fit by itself; only the first is kept in memory.
        if let Some(cut) = streaming
            && sniffed.format == FileFormat::Ndjson
            && (memory::check(f, &sniffed).is_err()
                // A forced cut (tests, benches) chunks any file larger than a batch.
                || (opts.streaming.is_some()
                    && std::fs::metadata(f).is_ok_and(|m| m.len() > cut.batch_bytes as u64)))
        {
            // Too large to read whole: read chunk by chunk twice, once here for its columns (a key
            // such as a revenue may first appear far into the file, and names the roles), once for
            // its rows when its turn comes. Only the first chunk's table is kept.
            let mut chunks = chunks::CsvChunks::open_lines(f, sniffed.gzip, cut.batch_bytes)?;
            let mut first: Option<DataFrame> = None;
            let mut names: Vec<String> = Vec::new();
            let mut lines = 0usize;
            while let Some(chunk) = chunks.next_chunk()? {
                let n_lines = memchr::memchr_iter(b'\n', &chunk).count();
                let (df, lists) = ndjson_chunk(f, chunk, lines)?;
                lines += n_lines;
                for name in lists {
                    list_left_out(&mut left_out, name);
                }
                for c in df.get_column_names() {
                    if !names.iter().any(|n| n == c.as_str()) {
                        names.push(c.to_string());
                    }
                }
                if first.is_none() && i == 0 {
                    first = Some(df);
                }
            }
            parts.push(Part {
                path: f.clone(),
                sniffed,
                columns: names,
                full: first,
                deferred: false,
                chunked: true,
            });
            continue;
        }
        if streaming.is_some() && read_whole(f, &sniffed)? {
            // Its columns (the parameters of its rows) count for the roles like any file's; the
            // table is dropped and read again when its turn comes.
            memory::check(f, &sniffed)?;
            if i > 0 {
                let p = open_part(f, sniffed, &mut left_out)?;
                parts.push(Part {
                    full: None,
                    deferred: true,
                    ..p
                });
                continue;
            }
        }
        parts.push(open_part(f, sniffed, &mut left_out)?);
    }
    let mut columns: Vec<String> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for p in &parts {
        for c in &p.columns {
            if seen.insert(c.clone()) {
                columns.push(c.clone());
            }
        }
    }
    Ok(Opened {
        src,
        parts,
        columns,
        left_out,
        streaming,
        need,
    })
}

/// The columns of an export (every file's, flattened), without mapping or reading the rows of a
/// CSV or flat Parquet file: what the app offers in its role drop-downs when a load failed for a
/// role it could not find.
pub fn columns_of(path: &Path, opts: &LoadOptions) -> Result<Vec<String>, LoadError> {
    Ok(open_export(path, opts)?.columns)
}

/// Load an export: detect format, shape and roles (explicit choices win), read, clean and canonicalise.
/// The export is a file, a folder of files, a glob or a zip archive (see [`source`]); the files of
/// one export are unioned by column name.
pub fn load(path: &Path, opts: &LoadOptions) -> Result<Loaded, LoadError> {
    load_with(path, opts, &crate::job::Job::silent())
}

/// [`load`], reporting progress to `job` and stopping when it is cancelled (a streamed export is
/// read batch by batch; a whole one in one step).
pub fn load_with(
    path: &Path,
    opts: &LoadOptions,
    job: &crate::job::Job,
) -> Result<Loaded, LoadError> {
    if opts.hash_salt.as_deref() == Some("") {
        return Err(LoadError::MissingSalt);
    }
    // A zone that names none is refused before the work, whatever the times turn out to be.
    if let Some(z) = &opts.time_zone {
        timezone::parse(z).map_err(|message| LoadError::TimeZone { message })?;
    }
    let mut timer = crate::timing::Timer::start();
    let Opened {
        src,
        parts,
        columns,
        mut left_out,
        streaming,
        need,
    } = open_export(path, opts)?;
    let first = &parts[0];
    let sniffed = first.sniffed.clone();
    if columns.is_empty() {
        return Err(LoadError::Empty {
            path: path.to_path_buf(),
        });
    }
    let (preset, mut mapping) = roles::auto_map(&columns);
    roles::apply_overrides(&mut mapping, &opts.roles).map_err(|c| LoadError::BadColumn {
        path: path.to_path_buf(),
        role: c.second.label().into(),
        column: c.column.clone(),
        message: format!(
            "this column is already the {}; a column can have one role",
            c.first.label()
        ),
    })?;
    roles::logged_in_identity(preset, &mut mapping, &columns);
    for role in Role::ALL {
        if let Some(c) = mapping.get(role)
            && !columns.iter().any(|x| x == c)
        {
            return Err(LoadError::UnknownColumn {
                path: path.to_path_buf(),
                role: role.label().into(),
                column: c.into(),
                columns: column_list(&columns),
            });
        }
    }
    if mapping.user_id.is_none() {
        let hint = if columns.len() == 1 && sniffed.format == FileFormat::Csv {
            format!(
                " (the header split into a single column with delimiter {:?}: is the delimiter right? {})",
                sniffed.delimiter.map(char::from).unwrap_or(','),
                how(Setting::Delimiter)
            )
        } else {
            String::new()
        };
        return Err(LoadError::NoUserColumn {
            path: path.to_path_buf(),
            columns: column_list(&columns),
            how: how(Setting::Role(Role::UserId)),
            hint,
        });
    }
    // Roles and shape the names left open, from the first rows' values (an order log).
    // A CSV's first rows as text, read once: for these values and for the personal-data scan (a
    // CSV of 100,000 columns takes seconds per read).
    let mut csv_prefix: Option<DataFrame> = None;
    let sample = match &first.full {
        Some(df) => df.head(Some(1000)),
        // Names told everything values could: nothing to read.
        None if mapping.timestamp.is_some() && mapping.value.is_some() => DataFrame::empty(),
        None => match sniffed.format {
            FileFormat::Csv => {
                let prefix = format::read_csv_prefix(&sniffed).unwrap_or_default();
                csv_prefix = Some(prefix.clone());
                prefix
            }
            _ => format::read_parquet_head(&first.path, 1000)?,
        },
    };
    let (shape, reasons) =
        detect::from_values(&columns, &sample, &mut mapping, &opts.roles, opts.shape);
    if shape == Shape::Events {
        mapping.measures = detect::numeric_params(&columns, &sample, &mapping);
    }
    let gzip = parts.iter().any(|p| p.sniffed.gzip);
    // A per-user table is read whole: one that does not fit is refused as before.
    let streaming = match streaming {
        Some(_) if shape == Shape::Users && opts.streaming.is_none() => {
            memory::check_need(path, need)?;
            None
        }
        Some(_) if shape == Shape::Users => None,
        s => s,
    };
    let (mut out, pii, rows_read, spill) = if let Some(settings) = streaming {
        let preview = match (&first.full, sniffed.format) {
            (Some(df), _) => Some(df.head(Some(1000))),
            (None, FileFormat::Csv) => csv_prefix.or_else(|| format::read_csv_prefix(&sniffed)),
            (None, _) => Some(format::read_parquet_head(&first.path, 1000)?),
        };
        drop(sample);
        let pii = detect_pii_columns(preview, &columns, &mapping)?;
        let s = stream::spill(path, parts, shape, &mapping, opts, &pii, settings, job)?;
        timer.lap("read (streamed)");
        let out = Canonical {
            table: s.spill.preview.clone(),
            time_encoding: s.time_encoding,
            duration_unit: s.duration_unit,
            rows_dropped: s.rows_dropped,
            left_out: Vec::new(),
            warnings: s.warnings,
            scroll_fraction: None,
        };
        (out, pii, s.rows_read, Some(Arc::new(s.spill)))
    } else {
        drop(sample);
        let mut frames = Vec::with_capacity(parts.len());
        for p in parts {
            frames.push(match p.full {
                Some(df) => df,
                None if p.deferred => open_part(&p.path, p.sniffed, &mut left_out)?
                    .full
                    .unwrap_or_default(),
                None => read_table(
                    &p.path,
                    &p.sniffed,
                    shape,
                    &mapping.restricted_to(&p.columns),
                    &opts.keep_columns,
                    None,
                )?,
            });
        }
        let single_csv = frames.len() == 1 && sniffed.format == FileFormat::Csv;
        let df = if frames.len() == 1 {
            frames.pop().unwrap_or_default()
        } else {
            union_frames(frames).map_err(|e| LoadError::Parse {
                path: path.to_path_buf(),
                format: "export".into(),
                message: format!("the files do not make one table: {e}"),
            })?
        };
        if df.height() == 0 {
            return Err(LoadError::HeaderOnly {
                path: path.to_path_buf(),
            });
        }
        let rows_read = df.height();
        timer.lap("read");
        let preview = match (single_csv, csv_prefix) {
            (true, Some(prefix)) => Some(prefix),
            (true, None) => format::read_csv_prefix(&sniffed),
            (false, _) => Some(df.head(Some(1000))),
        };
        let pii = detect_pii_columns(preview, &columns, &mapping)?;
        timer.lap("personal-data scan");
        let ctx = Context {
            path,
            opts,
            mapping: &mapping,
            pii: &pii,
            first_row: 0,
            streamed: false,
            scroll_fraction: None,
        };
        let out = match shape {
            Shape::Events => events::canonicalize(&ctx, df)?,
            Shape::Users => users::canonicalize(&ctx, df)?,
        };
        (out, pii, rows_read, None)
    };
    timer.lap("canonicalise");
    // Columns of the export that are not in the canonical table, with the reason.
    let used = mapping.columns();
    for c in &columns {
        if used.contains(c) || out.table.get_column_index(c).is_some() {
            continue;
        }
        if out.left_out.iter().any(|l| &l.column == c) {
            continue;
        }
        let reason = match pii.iter().find(|(name, _)| name == c) {
            Some((_, kind)) => {
                format!(
                    "looks like {kind} (personal data); {}",
                    how(Setting::KeepColumn)
                )
            }
            None if shape == Shape::Events => "no role in the analysis".into(),
            None => "not numeric".into(),
        };
        left_out.push(LeftOut {
            column: c.clone(),
            reason,
        });
    }
    left_out.append(&mut out.left_out);
    // Mixpanel's raw export writes epoch times in the project's zone (projects made before 2023).
    if preset == Preset::Mixpanel
        && opts.time_zone.is_none()
        && out
            .time_encoding
            .as_ref()
            .is_some_and(|e| !timezone::says_zone(e))
    {
        out.warnings.push(Warning {
            column: mapping.timestamp.clone(),
            message: format!(
                "Mixpanel's raw export gives times in the project's time zone, not UTC, for \
                 projects made before 2023 (US/Pacific unless changed); they are read as UTC: if \
                 the project is such, {} (e.g. America/Los_Angeles)",
                how(Setting::TimeZone)
            ),
        });
    }
    if !src.superseded.is_empty() {
        out.warnings.push(Warning {
            column: None,
            message: ga4_tables::describe(&src.superseded),
        });
    }
    if let Some(user_col) = &mapping.user_id
        && let Some((_, kind)) = pii.iter().find(|(n, _)| n == user_col)
        && opts.hash_salt.is_none()
    {
        out.warnings.push(Warning {
            column: Some(user_col.clone()),
            message: format!(
                "user ids look like {kind}; {} so raw identifiers never leave the app",
                how(Setting::HashIds)
            ),
        });
    }
    Ok(Loaded {
        path: path.to_path_buf(),
        format: sniffed.format,
        gzip,
        source: src.kind,
        files: src.names,
        skipped_files: src.skipped,
        reasons,
        columns,
        delimiter: sniffed.delimiter,
        preset,
        shape,
        mapping,
        time_zone: opts.time_zone.clone().filter(|_| {
            out.time_encoding
                .as_ref()
                .is_some_and(|e| !timezone::says_zone(e))
        }),
        time_encoding: out.time_encoding,
        duration_unit: out.duration_unit,
        rows_read,
        rows_dropped: out.rows_dropped,
        hashed_ids: opts.hash_salt.is_some(),
        table: if spill.is_some() {
            DataFrame::empty()
        } else {
            out.table
        },
        spill,
        left_out,
        warnings: out.warnings,
    })
}

/// Shared inputs of the canonicalisation steps.
pub struct Context<'a> {
    pub path: &'a Path,
    pub opts: &'a LoadOptions,
    pub mapping: &'a RoleMapping,
    /// Columns that look like personal data.
    pub pii: &'a [(String, PiiKind)],
    /// Data rows of the file before this table (a batch of a streamed export), for row numbers.
    pub first_row: u64,
    /// A batch of a streamed export: the vendor's duplicates are marked (`cols::KEY_A`), not
    /// dropped, since their first copy may be in another batch.
    pub streamed: bool,
    /// Whether scroll depth is a fraction (0..1), when an earlier batch of the export decided it.
    pub scroll_fraction: Option<bool>,
}

impl Context<'_> {
    /// The 1-based data row numbers of positions in this table (before any row was dropped).
    pub fn rows_of(&self, positions: &[usize]) -> Vec<u64> {
        positions
            .iter()
            .map(|&p| self.first_row + p as u64 + 1)
            .collect()
    }

    pub fn bad_column(&self, role: Role, column: &str, message: impl Into<String>) -> LoadError {
        LoadError::BadColumn {
            path: self.path.to_path_buf(),
            role: role.label().into(),
            column: column.into(),
            message: message.into(),
        }
    }

    pub fn polars(&self, e: PolarsError) -> LoadError {
        LoadError::Parse {
            path: self.path.to_path_buf(),
            format: "table".into(),
            message: e.to_string(),
        }
    }
}

/// What a canonicalisation step hands back.
pub struct Canonical {
    pub table: DataFrame,
    pub time_encoding: Option<TimeEncoding>,
    pub duration_unit: Option<DurationUnit>,
    pub rows_dropped: Vec<(String, usize)>,
    pub left_out: Vec<LeftOut>,
    pub warnings: Vec<Warning>,
    /// Whether scroll depth was read as a fraction (None: no scroll values to tell).
    pub scroll_fraction: Option<bool>,
}

/// Read the table: only the role columns (and kept ones) for events, everything for users.
/// Role columns are read by role (ids as text, so `user_pseudo_id` is never parsed as a float).
fn read_table(
    path: &Path,
    sniffed: &Sniffed,
    shape: Shape,
    mapping: &RoleMapping,
    keep: &[String],
    chunk: Option<&[u8]>,
) -> Result<DataFrame, LoadError> {
    let read_csv = |plan: &CsvPlan| match chunk {
        Some(c) => format::read_csv_chunk(path, sniffed, plan, c),
        None => format::read_csv(path, sniffed, plan),
    };
    let mut wanted = mapping.columns();
    for k in keep {
        if !wanted.contains(k) {
            wanted.push(k.clone());
        }
    }
    let columns = match shape {
        Shape::Events => Some(wanted),
        Shape::Users => None,
    };
    match sniffed.format {
        FileFormat::Parquet => format::read_parquet(path, columns),
        FileFormat::Csv => {
            // Event names straight into a categorical (when there is no fallback column to fill
            // them from): the reader encodes them in parallel, and they never take the memory of text.
            let event_as_category = shape == Shape::Events && mapping.event_fallback.is_none();
            let text_roles = [
                mapping.user_id.as_ref(),
                mapping.user_id_fallback.as_ref(),
                mapping.session.as_ref(),
                mapping.event.as_ref().filter(|_| !event_as_category),
                mapping.event_fallback.as_ref(),
                mapping.consent.as_ref(),
            ];
            let mut dtypes: Vec<(String, DataType)> = text_roles
                .into_iter()
                .flatten()
                .map(|c| (c.clone(), DataType::String))
                .collect();
            if let Some(e) = mapping.event.as_ref().filter(|_| event_as_category) {
                dtypes.push((e.clone(), events::event_dtype()));
            }
            for c in [&mapping.value, &mapping.duration, &mapping.scroll]
                .into_iter()
                .flatten()
                .chain(&mapping.value_fallback)
            {
                dtypes.push((c.clone(), DataType::Float64));
            }
            let plan = CsvPlan {
                columns: columns.clone(),
                dtypes: dtypes.clone(),
                infer_all_rows: shape == Shape::Users,
                n_rows: None,
                all_text: false,
            };
            match read_csv(&plan) {
                Ok(df) => Ok(df),
                Err(LoadError::Parse { .. }) => {
                    // A value did not fit its column's type: read the role columns as text so the
                    // canonicalisation can name the rows that are wrong.
                    let mut text = dtypes;
                    for d in text.iter_mut() {
                        d.1 = DataType::String;
                    }
                    if let Some(t) = &mapping.timestamp {
                        text.push((t.clone(), DataType::String));
                    }
                    let plan = CsvPlan {
                        dtypes: text,
                        all_text: shape == Shape::Events,
                        ..plan
                    };
                    read_csv(&plan)
                }
                Err(e) => Err(e),
            }
        }
        FileFormat::Ndjson | FileFormat::Avro => {
            unreachable!("NDJSON and Avro are read whole before mapping")
        }
    }
}

/// The tables of an export's files as one, by column name: a column missing from a file is null
/// there; a column whose type differs between files takes one both fit (integers and floats make
/// Float64; anything else, text). Categorical columns become text (each file's categories differ).
fn union_frames(frames: Vec<DataFrame>) -> PolarsResult<DataFrame> {
    let mut names: Vec<PlSmallStr> = Vec::new();
    let mut types: Vec<Option<DataType>> = Vec::new();
    for df in &frames {
        for c in df.columns() {
            let d = c.dtype();
            let i = match names.iter().position(|n| n == c.name()) {
                Some(i) => i,
                None => {
                    names.push(c.name().clone());
                    types.push(None);
                    names.len() - 1
                }
            };
            if d == &DataType::Null {
                continue;
            }
            types[i] = Some(match &types[i] {
                None if d.is_categorical() => DataType::String,
                None => d.clone(),
                Some(t) if t == d => t.clone(),
                Some(t) if t.is_primitive_numeric() && d.is_primitive_numeric() => {
                    if t.is_integer() && d.is_integer() {
                        DataType::Int64
                    } else {
                        DataType::Float64
                    }
                }
                Some(_) => DataType::String,
            });
        }
    }
    let mut out: Option<DataFrame> = None;
    for df in frames {
        let h = df.height();
        let cols = names
            .iter()
            .zip(&types)
            .map(|(n, t)| {
                let t = t.clone().unwrap_or(DataType::String);
                match df.column(n) {
                    Ok(c) if c.dtype() == &t => Ok(c.clone()),
                    Ok(c) => c.cast(&t),
                    Err(_) => Ok(Column::full_null(n.clone(), h, &t)),
                }
            })
            .collect::<PolarsResult<Vec<_>>>()?;
        let df = DataFrame::new(h, cols)?;
        match &mut out {
            None => out = Some(df),
            Some(o) => {
                o.vstack_mut(&df)?;
            }
        }
    }
    let mut out = out.unwrap_or_default();
    out.rechunk_mut_par();
    Ok(out)
}

/// Find columns that look like personal data, from the first rows of the file read as text.
/// `preview`: the first rows (a single CSV's as text, for other exports of the table read).
fn detect_pii_columns(
    preview: Option<DataFrame>,
    columns: &[String],
    mapping: &RoleMapping,
) -> Result<Vec<(String, PiiKind)>, LoadError> {
    let Some(preview) = preview else {
        return Ok(vec![]);
    };
    let mut found = Vec::new();
    for c in columns {
        // Measures and times are never personal data in this sense.
        if [
            &mapping.timestamp,
            &mapping.value,
            &mapping.duration,
            &mapping.scroll,
        ]
        .iter()
        .any(|m| m.as_deref() == Some(c.as_str()))
        {
            continue;
        }
        let Ok(col) = preview.column(c) else { continue };
        let Ok(s) = col.as_materialized_series().cast(&DataType::String) else {
            continue;
        };
        let Ok(ca) = s.str() else { continue };
        let values: Vec<&str> = ca.iter().flatten().take(1000).collect();
        if let Some(kind) = privacy::detect_pii_named(c, values.iter().copied()) {
            found.push((c.clone(), kind));
        }
    }
    Ok(found)
}

/// The 1-based data row numbers of positions in the table as read (before any row was dropped).
pub fn rows_of(positions: &[usize]) -> Vec<u64> {
    positions.iter().map(|&p| p as u64 + 1).collect()
}
